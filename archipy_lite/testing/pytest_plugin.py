"""pytest fixtures for PostgreSQL and SQLite tests.

Enable with ``pytest_plugins = ["archipy_lite.testing.pytest_plugin"]`` in your top-level ``conftest.py``.
PostgreSQL is only provisioned when a test requests ``postgres_server_dsn`` or ``postgres_dsn``; a replicated
cluster only for ``postgres_replicated_cluster``, PgBouncer only for ``pgbouncer_server_dsn``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from archipy_lite.testing.pgbouncer import PgBouncerUnavailableError, find_pgbouncer, pgbouncer
from archipy_lite.testing.postgres import postgres_server, temporary_database
from archipy_lite.testing.replication import ReplicatedCluster, replicated_cluster

__all__ = [
    "pgbouncer_server_dsn",
    "postgres_dsn",
    "postgres_replicated_cluster",
    "postgres_server_dsn",
    "sqlite_file_path",
]


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers so ``--strict-markers`` accepts them."""
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (provided by archipy_lite.testing)")
    config.addinivalue_line("markers", "replication: needs a primary and a streaming standby (archipy_lite.testing)")
    config.addinivalue_line("markers", "pgbouncer: needs PgBouncer in front of the test server (archipy_lite.testing)")


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


@pytest.fixture(scope="session")
def postgres_replicated_cluster() -> Iterator[ReplicatedCluster]:
    """A primary and a streaming standby (:mod:`archipy_lite.testing.replication`), one per session."""
    with replicated_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def pgbouncer_server_dsn(postgres_server_dsn: str) -> Iterator[str]:
    """PgBouncer in transaction-pooling mode in front of the test server; its maintenance-database DSN.

    Skips when PgBouncer is not installed, except under ``CI`` (where that is a failure).
    """
    try:
        find_pgbouncer()
    except PgBouncerUnavailableError as missing:
        if os.environ.get("CI"):
            pytest.fail(str(missing))
        pytest.skip(str(missing))
    with pgbouncer(postgres_server_dsn, pool_mode="transaction") as dsn:
        yield dsn
