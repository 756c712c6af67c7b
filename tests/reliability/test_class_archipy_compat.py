"""Class 11: code written for ArchiPy finds what it uses, and every deliberate difference is documented.

ArchiPy's registry classes work on every backend (sync and async managers of each kind, the
kind-specific atomic decorators see what they set, a manager of the wrong kind or flavour is
refused); ArchiPy's error names and fields exist on every error class; and the "Coming from
ArchiPy" guide names every difference the issue lists (its examples run in test_docs_examples).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from archipy_lite.adapters.base.sqlalchemy.registry import reset_default_session_managers
from archipy_lite.adapters.postgres.sqlalchemy.session_manager_registry import PostgresSessionManagerRegistry
from archipy_lite.adapters.sqlite.sqlalchemy.session_manager_registry import SQLiteSessionManagerRegistry
from archipy_lite.helpers.decorators import sqlalchemy_atomic as decorators
from archipy_lite.models import errors
from archipy_lite.models.errors import InvalidArgumentError

from . import figures
from backends import Backend

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "coming-from-archipy.md"
_cases: list[str] = []

REGISTRIES = {"postgres": PostgresSessionManagerRegistry, "sqlite": SQLiteSessionManagerRegistry}
DECORATORS = {
    ("postgres", False): decorators.postgres_sqlalchemy_atomic_decorator,
    ("postgres", True): decorators.async_postgres_sqlalchemy_atomic_decorator,
    ("sqlite", False): decorators.sqlite_sqlalchemy_atomic_decorator,
    ("sqlite", True): decorators.async_sqlite_sqlalchemy_atomic_decorator,
}


async def test_archipy_registry_classes_on_every_backend(db: Backend) -> None:
    registry = REGISTRIES[db.kind]
    other = REGISTRIES["sqlite" if db.kind == "postgres" else "postgres"]
    setter = registry.set_async_manager if db.is_async else registry.set_sync_manager
    getter = registry.get_async_manager if db.is_async else registry.get_sync_manager
    try:
        setter(db.adapter)  # an adapter or its manager, as ArchiPy users pass either
        assert getter() is db.manager

        # The kind-specific decorator opens its block on the manager the registry class set.
        if db.is_async:

            async def probe_async() -> Any:
                return db.adapter.get_session().in_transaction()

            in_block = await DECORATORS[(db.kind, True)](probe_async)()
        else:
            in_block = DECORATORS[(db.kind, False)](lambda: db.adapter.get_session().in_transaction())()
        assert in_block is True
        wrong_flavour = registry.set_sync_manager if db.is_async else registry.set_async_manager
        with pytest.raises(InvalidArgumentError):
            wrong_flavour(db.manager)
        with pytest.raises(InvalidArgumentError):
            (other.set_async_manager if db.is_async else other.set_sync_manager)(db.manager)
        with pytest.raises(InvalidArgumentError):
            setter(object())
    finally:
        registry.reset()
    _cases.append(f"registry {db.name}")


@pytest.mark.parametrize("name", errors.__all__)
def test_archipy_error_fields_on_every_class(name: str) -> None:
    cls = getattr(errors, name)
    error = cls(details={"key": "value"})
    assert isinstance(cls.grpc_status_code, int)
    assert 0 <= error.grpc_status_code <= 16
    assert error.additional_data == {"key": "value"}
    _cases.append(name)


DIFFERENCES = {
    "nested blocks are savepoints": "SAVEPOINT",
    "business exceptions are not wrapped": "InternalError",
    "timestamps are timezone-aware": "timezone-aware",
    "ASYNC_DRIVER_NAME": "ASYNC_DRIVER_NAME",
    "registries are functions": "set_default_session_manager",
    "registry class names": "PostgresSessionManagerRegistry",
    "clear_global": "BaseConfig.clear_global()",
    "error fields": "additional_data",
    "numeric grpc status": "grpc_status_code",
    "UnknownError": "UnknownError",
    "configuration precedence": "arguments beat the environment",
    "strict DTOs and column=": "SortDTO(column=",
    "entity keys": "uuid = None",
}


@pytest.mark.parametrize("difference", list(DIFFERENCES))
def test_the_guide_names_every_difference(difference: str) -> None:
    assert DIFFERENCES[difference] in GUIDE.read_text(encoding="utf-8")
    _cases.append(difference)


def test_figures() -> None:
    reset_default_session_managers()
    figures.record_class(
        11,
        "coming from ArchiPy: shims and the guide",
        cases=len(_cases),
        varies="registry classes, error fields on every class, every listed difference in the guide",
        backends="registries on all seven",
    )
