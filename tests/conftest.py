"""Shared pytest configuration for the archipy_lite test suite."""

from collections.abc import AsyncIterator

import pytest

from backends import BACKENDS, Backend, make_backend

pytest_plugins = ["archipy_lite.testing.pytest_plugin", "replicas_support"]
collect_ignore = ["isolation_project"]  # an application's test suite, run by test_isolation.py in its own process

_backend_cache: dict[str, Backend] = {}


def _backend_params() -> list[object]:
    marks = {name: [pytest.mark.postgres] if spec[0] == "postgres" else [] for name, spec in BACKENDS.items()}
    return [pytest.param(name, marks=marks[name], id=name) for name in BACKENDS]


@pytest.fixture(params=_backend_params())
async def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Backend]:
    """Every backend of the matrix, with the tutorial's tables created and emptied before each test.

    Adapters (and their engines) are built once per backend and session; tables are cleared
    between tests, so each test starts from empty ``users`` and ``posts`` tables.
    """
    name: str = request.param
    backend = _backend_cache.get(name)
    if backend is None:
        postgres_dsn = request.getfixturevalue("postgres_dsn") if name.startswith("pg-") else None
        backend = make_backend(name, postgres_dsn=postgres_dsn, tmp_dir=tmp_path_factory.mktemp(name))
        await backend.create_schema()
        _backend_cache[name] = backend
    await backend.clear_tables()
    yield backend
    await backend.clear_tables()
