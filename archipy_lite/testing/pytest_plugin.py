"""pytest fixtures for PostgreSQL and SQLite tests.

Enable with ``pytest_plugins = ["archipy_lite.testing.pytest_plugin"]`` in your top-level ``conftest.py``.
PostgreSQL is only provisioned when a test requests ``postgres_server_dsn`` or ``postgres_dsn``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from archipy_lite.testing.postgres import postgres_server, temporary_database

__all__ = ["postgres_dsn", "postgres_server_dsn", "sqlite_file_path"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``postgres`` marker so ``--strict-markers`` accepts it."""
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (provided by archipy_lite.testing)")


@pytest.fixture(scope="session")
def postgres_server_dsn() -> Iterator[str]:
    """Server DSN (maintenance database) from :func:`archipy_lite.testing.postgres_server`, one per session."""
    with postgres_server() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def postgres_dsn(postgres_server_dsn: str) -> Iterator[str]:
    """Plain ``postgresql://`` DSN of a temporary database created for this test session and dropped after it."""
    with temporary_database(postgres_server_dsn) as dsn:
        yield dsn


@pytest.fixture
def sqlite_file_path(tmp_path: Path) -> Path:
    """Path of a not-yet-existing SQLite database file inside the test's ``tmp_path``."""
    return tmp_path / "archipy_lite_test.sqlite3"
