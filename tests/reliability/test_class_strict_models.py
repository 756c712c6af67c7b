"""Class 9: every DTO and every configuration model refuses fields it does not know, naming them.

The models are discovered, not listed: every Pydantic model the package defines (a new DTO or config
section is covered the day it is added). DTOs raise ``InvalidArgumentError``, configuration models
``ConfigurationError``; the message and ``details["fields"]`` name each unknown field; nothing falls
back to a default. ``SortDTO(column=...)`` (ArchiPy's name) sorts by that column on every backend.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import archipy_lite
from archipy_lite.models.dtos.base_dto import BaseDTO
from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.errors import BaseError, ConfigurationError, InvalidArgumentError
from archipy_lite.models.types.base_types import SortOrderType
from archipy_lite.models.validation import ConfigurationMeta

from . import figures
from backends import Backend
from models import User

OPTIONAL = {"fastapi", "starlette", "alembic", "opentelemetry", "httpx", "testcontainers"}


def package_models() -> list[type[BaseModel]]:
    """Every public Pydantic model class defined in archipy_lite (modules of missing extras skipped)."""
    for module in pkgutil.walk_packages(archipy_lite.__path__, "archipy_lite."):
        if module.name.startswith("archipy_lite.cli"):  # no models; its demo entities would join BaseEntity.metadata
            continue
        try:
            importlib.import_module(module.name)
        except ImportError as error:
            if (error.name or "").split(".")[0] not in OPTIONAL:
                raise
    found: dict[str, type[BaseModel]] = {}
    pending: list[type[Any]] = [BaseModel]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        public = not cls.__name__.startswith("_") and not any(k.__name__.startswith("_") for k in cls.__mro__[1:-1])
        if cls.__module__.startswith("archipy_lite.") and public and cls.__module__ != "archipy_lite.configs.sources":
            found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


MODELS = package_models()
UNKNOWN_ARGUMENTS = [
    pytest.param({"no_such_field": 1}, id="invented"),
    pytest.param({"unknown_one": 1, "unknown_two": 2}, id="two-unknown"),
    pytest.param({"colum": "x"}, id="typo"),
]
_cases = 0


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith(("POSTGRES_SQLALCHEMY", "SQLITE_SQLALCHEMY", "ARCHIPY_LITE_DATASETS")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_the_models_were_found() -> None:
    names = {cls.__name__ for cls in MODELS}
    assert {"PaginationDTO", "SortDTO", "BaseConfig", "PostgresSQLAlchemyConfig", "SQLiteSQLAlchemyConfig"} <= names
    assert {"DataSetSource", "DataSetSettings"} <= names


@pytest.mark.parametrize("model", MODELS, ids=[cls.__name__ for cls in MODELS])
def test_every_model_reports_typed_errors(model: type[BaseModel]) -> None:
    assert isinstance(model, ConfigurationMeta), f"{model.__name__} would raise pydantic's ValidationError"
    global _cases
    _cases += 1


@pytest.mark.parametrize("arguments", UNKNOWN_ARGUMENTS)
@pytest.mark.parametrize("model", MODELS, ids=[cls.__name__ for cls in MODELS])
def test_unknown_fields_are_refused_and_named(model: type[BaseModel], arguments: dict[str, Any]) -> None:
    expected = InvalidArgumentError if issubclass(model, BaseDTO) else ConfigurationError
    with pytest.raises(BaseError) as caught:
        model(**arguments)
    error = caught.value
    assert type(error) is expected, f"{type(error).__name__}: {error}"
    for name in arguments:
        assert name in error.details["fields"] or any(str(f).endswith(name) for f in error.details["fields"])
        assert name in str(error)
    global _cases
    _cases += 1


@pytest.mark.parametrize("route", ["model_validate", "model_validate_json"])
@pytest.mark.parametrize("model", MODELS, ids=[cls.__name__ for cls in MODELS])
def test_model_validate_routes_raise_the_same_typed_errors(model: type[BaseModel], route: str) -> None:
    expected = InvalidArgumentError if issubclass(model, BaseDTO) else ConfigurationError
    arguments = {"no_such_field": "Zq9-not-echoed"}

    def validate(given: dict[str, Any]) -> Any:
        if route == "model_validate":
            return model.model_validate(given)
        return model.model_validate_json(json.dumps(given))

    with pytest.raises(BaseError) as caught:
        validate(arguments)
    error = caught.value
    assert type(error) is expected, f"{type(error).__name__}: {error}"
    assert "no_such_field" in error.details["fields"]
    assert "Zq9" not in f"{error} {error.details}"
    global _cases
    _cases += 1


@pytest.mark.parametrize("model", [cls for cls in MODELS if issubclass(cls, BaseDTO)], ids=lambda cls: cls.__name__)
def test_dto_subclasses_inherit_the_rule(model: type[BaseModel]) -> None:
    subclass = type(f"My{model.__name__}", (model,), {"__module__": __name__})
    with pytest.raises(InvalidArgumentError, match="unknown field"):
        subclass(extra_thing=1)
    global _cases
    _cases += 1


def test_nested_unknown_fields_name_their_path() -> None:
    from archipy_lite.configs import BaseConfig

    with pytest.raises(ConfigurationError) as caught:
        BaseConfig(POSTGRES_SQLALCHEMY={"HOTS": "x"}, POSTGRES_SQLALCHEM={"HOST": "y"})
    assert caught.value.details["fields"] == ["POSTGRES_SQLALCHEM"]
    with pytest.raises(ConfigurationError) as caught:
        BaseConfig(POSTGRES_SQLALCHEMY={"HOTS": "x"})
    assert caught.value.details["fields"] == ["POSTGRES_SQLALCHEMY.HOTS"]
    global _cases
    _cases += 1


def test_pagination_is_not_silently_page_one() -> None:
    with pytest.raises(InvalidArgumentError, match=r"offset: unknown field; limit: unknown field"):
        PaginationDTO(offset=1, limit=1)
    assert PaginationDTO(page=3, page_size=5).offset == 10
    global _cases
    _cases += 1


async def test_sort_by_column_alias_sorts_by_that_column(db: Backend) -> None:
    users = [User(username=f"s{i}", email=f"{9 - i}@x.org") for i in range(4)]
    await db.call(db.adapter.bulk_create, users)
    sort = SortDTO(column="email", order=SortOrderType.ASCENDING)
    assert sort.field == sort.column == "email"
    from sqlalchemy import select

    rows, total = await db.call(db.adapter.execute_search_query, User, select(User), None, sort)
    assert [user.email for user in rows] == sorted(user.email for user in users)
    assert total == 4
    with pytest.raises(InvalidArgumentError, match="column"):
        SortDTO(column="email", field="username")
    global _cases
    _cases += 1


def test_figures() -> None:
    figures.record_class(
        9,
        "DTOs and configuration models refuse unknown fields",
        cases=_cases,
        varies=f"{len(MODELS)} models discovered x {len(UNKNOWN_ARGUMENTS)} kinds of unknown field; SortDTO(column=)",
        backends="models: no database; the column= search on all seven",
    )
