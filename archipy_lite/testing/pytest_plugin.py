"""pytest fixtures for PostgreSQL and SQLite tests (install ``archipy-lite[testing]``).

Enable with ``pytest_plugins = ["archipy_lite.testing.pytest_plugin"]`` in your top-level ``conftest.py``.
PostgreSQL is only provisioned when a test asks for a fixture that needs it; a replicated cluster only
for ``postgres_replicated_cluster``, PgBouncer only for ``pgbouncer_server_dsn``. Each run works in a
database of its own, named ``<prefix>_<pid>_<random>``; the prefix comes from ``--archipy-db-prefix``,
else ``$ARCHIPY_LITE_TEST_DB_PREFIX``, else the ``archipy_lite_db_prefix`` ini option.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig
from archipy_lite.testing.isolation import truncate_tables
from archipy_lite.testing.pgbouncer import PgBouncerUnavailableError, find_pgbouncer, pgbouncer
from archipy_lite.testing.pinning import pinned
from archipy_lite.testing.postgres import postgres_server, temporary_database, with_driver
from archipy_lite.testing.replication import ReplicatedCluster, replicated_cluster

__all__ = [
    "archipy_lite_db_prefix",
    "async_postgres_adapter",
    "async_postgres_transaction",
    "migrated_postgres_dsn",
    "pgbouncer_server_dsn",
    "postgres_adapter",
    "postgres_config",
    "postgres_dsn",
    "postgres_replicated_cluster",
    "postgres_server_dsn",
    "postgres_transaction",
    "postgres_truncation",
    "sqlite_file_path",
]

PREFIX_ENV_VAR: Final = "ARCHIPY_LITE_TEST_DB_PREFIX"
PREFIX_INI: Final = "archipy_lite_db_prefix"
DEFAULT_PREFIX: Final = "archipy_lite_test"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--archipy-db-prefix`` and the ``archipy_lite_db_prefix`` ini option."""
    group = parser.getgroup("archipy-lite")
    group.addoption(
        "--archipy-db-prefix",
        dest="archipy_lite_db_prefix",
        default=None,
        help=f"name prefix of the run's PostgreSQL database (default: ${PREFIX_ENV_VAR}, the ini option, "
        f"or {DEFAULT_PREFIX})",
    )
    parser.addini(PREFIX_INI, f"name prefix of the run's PostgreSQL database (default {DEFAULT_PREFIX})", default="")


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers so ``--strict-markers`` accepts them."""
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (provided by archipy_lite.testing)")
    config.addinivalue_line("markers", "replication: needs a primary and a streaming standby (archipy_lite.testing)")
    config.addinivalue_line("markers", "pgbouncer: needs PgBouncer in front of the test server (archipy_lite.testing)")


@pytest.fixture(scope="session")
def archipy_lite_db_prefix(pytestconfig: pytest.Config) -> str:
    """The database name prefix: command line, then environment, then ini file, then the default."""
    option = pytestconfig.getoption("archipy_lite_db_prefix")
    ini = pytestconfig.getini(PREFIX_INI)
    return str(option or os.environ.get(PREFIX_ENV_VAR) or ini or DEFAULT_PREFIX)


@pytest.fixture(scope="session")
def postgres_server_dsn() -> Iterator[str]:
    """Server DSN (maintenance database) from :func:`archipy_lite.testing.postgres_server`, one per session."""
    with postgres_server() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def postgres_dsn(postgres_server_dsn: str, archipy_lite_db_prefix: str) -> Iterator[str]:
    """Plain ``postgresql://`` DSN of a temporary database created for this test session and dropped after it."""
    with temporary_database(postgres_server_dsn, archipy_lite_db_prefix) as dsn:
        yield dsn


@pytest.fixture(scope="session")
def postgres_config(postgres_dsn: str) -> PostgresSQLAlchemyConfig:
    """Configuration of the run's database (psycopg sync, asyncpg async), small pools, no pre-ping (a local server)."""
    dsn = with_driver(postgres_dsn, "psycopg")
    return PostgresSQLAlchemyConfig(POSTGRES_DSN=dsn, POOL_SIZE=5, POOL_MAX_OVERFLOW=10, POOL_PRE_PING=False)


@pytest.fixture(scope="session")
def postgres_adapter(postgres_config: PostgresSQLAlchemyConfig) -> Iterator[PostgresSQLAlchemyAdapter]:
    """A sync adapter on the run's database, shared by the session (the schema is yours to create)."""
    adapter = PostgresSQLAlchemyAdapter(orm_config=postgres_config)
    yield adapter
    adapter.session_manager.dispose()


@pytest.fixture(scope="session")
def async_postgres_adapter(postgres_config: PostgresSQLAlchemyConfig) -> AsyncPostgresSQLAlchemyAdapter:
    """An async (asyncpg) adapter on the run's database; each event loop gets its own engine and pool."""
    return AsyncPostgresSQLAlchemyAdapter(orm_config=postgres_config)


@pytest.fixture(scope="session")
def migrated_postgres_dsn(
    postgres_dsn: str, postgres_config: PostgresSQLAlchemyConfig, pytestconfig: pytest.Config
) -> str:
    """The run's database, upgraded to head once with the project's migrations (``archipy-lite db``).

    The migrations are found through ``[tool.archipy-lite]`` in the pyproject.toml of pytest's root directory.
    """
    from archipy_lite import migrations

    migrations.upgrade(postgres_config, "head", project_dir=pytestconfig.rootpath)
    return postgres_dsn


@pytest.fixture
def postgres_truncation(postgres_adapter: PostgresSQLAlchemyAdapter) -> PostgresSQLAlchemyAdapter:
    """``postgres_adapter``, with every table of the run's database (but ``alembic_version``) emptied first.

    For tests whose code commits on connections of its own (threads, other processes, async and
    sync adapters together); slower than a rolled-back transaction.
    """
    with postgres_adapter.session_manager.engine.begin() as connection:
        truncate_tables(connection)
    return postgres_adapter


@pytest.fixture
def postgres_transaction(postgres_adapter: PostgresSQLAlchemyAdapter) -> Iterator[PostgresSQLAlchemyAdapter]:
    """``postgres_adapter`` inside a transaction that is rolled back after the test: the fast isolation.

    The code under test commits and rolls back as usual (its transactions become savepoints of the
    outer one), but only through this adapter's sessions: work committed on other connections (threads
    with adapters of their own, other processes) escapes it; use ``postgres_truncation`` there.
    """
    with postgres_adapter.session_manager.engine.connect() as connection:
        transaction = connection.begin()
        try:
            with pinned(postgres_adapter.session_manager, connection):
                yield postgres_adapter
        finally:
            transaction.rollback()


try:
    from archipy_lite.testing._async_fixtures import async_postgres_transaction
except ImportError:  # pragma: no cover - the testing extra brings pytest-asyncio

    @pytest.fixture
    def async_postgres_transaction() -> None:
        """Needs pytest-asyncio (``pip install 'archipy-lite[testing]'``)."""
        raise pytest.UsageError("async_postgres_transaction needs pytest-asyncio: pip install 'archipy-lite[testing]'")


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
