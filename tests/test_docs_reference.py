"""The API reference publishes the public API, all of it, and nothing internal."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from archipy_lite.adapters.base.sqlalchemy.adapters import AsyncBaseSQLAlchemyAdapter, BaseSQLAlchemyAdapter
from archipy_lite.adapters.base.sqlalchemy.ports import AsyncSQLAlchemyPort, SQLAlchemyPort

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "reference"
DIRECTIVES = sorted(
    (page.name, target)
    for page in REFERENCE.glob("*.md")
    for target in re.findall(r"^::: ([\w.]+)$", page.read_text(), flags=re.MULTILINE)
)
# Internal modules: how the library works, not what callers use; free to change in any release.
INTERNAL = {
    "archipy_lite.compat",
    "archipy_lite.adapters.base.sqlalchemy.operations",
    "archipy_lite.adapters.base.sqlalchemy.query_building",
    "archipy_lite.adapters.base.sqlalchemy.sorting",
    "archipy_lite.adapters.base.sqlalchemy.error_translation",
    "archipy_lite.adapters.base.sqlalchemy.engine_options",
    "archipy_lite.adapters.base.sqlalchemy.entity_rows",
    "archipy_lite.adapters.postgres.sqlalchemy.dialect",
    "archipy_lite.adapters.postgres.sqlalchemy.copy",
    "archipy_lite.adapters.sqlite.sqlalchemy.dialect",
    "archipy_lite.datasets.conversion",
    "archipy_lite.datasets.integrity",
}


@pytest.mark.parametrize(("page", "target"), DIRECTIVES)
def test_the_reference_documents_no_internal_module(page: str, target: str) -> None:
    assert not any(part.startswith("_") for part in target.split(".")), f"{page}: {target}"
    assert target not in INTERNAL, f"{page} publishes the internal module {target}"
    assert not target.startswith("archipy_lite.cli."), f"{page}: the command's modules are not a Python API"
    importlib.import_module(target)


@pytest.mark.parametrize("port", [SQLAlchemyPort, AsyncSQLAlchemyPort])
def test_every_port_method_says_what_it_does(port: type) -> None:
    methods = [name for name, _ in inspect.getmembers(port, inspect.isfunction) if not name.startswith("_")]
    assert len(methods) >= 9
    assert [name for name in methods if not inspect.getdoc(getattr(port, name))] == []


@pytest.mark.parametrize(
    ("adapter", "port"), [(BaseSQLAlchemyAdapter, SQLAlchemyPort), (AsyncBaseSQLAlchemyAdapter, AsyncSQLAlchemyPort)]
)
def test_adapters_are_documented_with_the_ports_methods(adapter: type, port: type) -> None:
    port_methods = {name for name, _ in inspect.getmembers(port, inspect.isfunction) if not name.startswith("_")}
    assert port_methods <= set(dir(adapter))
    page = (REFERENCE / "adapters-base.md").read_text()
    block = page[page.index("::: archipy_lite.adapters.base.sqlalchemy.adapters") :].split(":::")[1]
    assert adapter.__module__ == "archipy_lite.adapters.base.sqlalchemy.adapters"
    assert "members:" not in block or f"- {adapter.__name__}" in block
    assert "show_if_no_docstring: true" in block  # methods without docstrings are listed too
