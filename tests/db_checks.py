"""Helpers shared by the transaction, concurrency and error-translation tests.

They look at the database from *outside* the adapter under test (a new driver connection),
so a test only passes when the work really is committed.
"""

from __future__ import annotations

import socket
import sqlite3
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from backends import BACKENDS, Backend


def backend_params(*, kind: str | None = None, is_async: bool | None = None, names: tuple[str, ...] = ()) -> list[Any]:
    """``pytest.param`` entries for the ``db`` fixture, restricted by kind / flavour / name."""
    params = []
    for name, (backend_kind, backend_async, _) in BACKENDS.items():
        if kind is not None and backend_kind != kind:
            continue
        if is_async is not None and backend_async != is_async:
            continue
        if names and name not in names:
            continue
        marks = [pytest.mark.postgres] if backend_kind == "postgres" else []
        params.append(pytest.param(name, marks=marks, id=name))
    return params


def plain_dsn(db_or_dsn: Backend | str) -> str:
    """A libpq ``postgresql://`` DSN (password included) for a raw psycopg connection."""
    if isinstance(db_or_dsn, Backend):
        secret = db_or_dsn.config.POSTGRES_DSN  # type: ignore[union-attr]
        assert secret is not None
        raw = secret.get_secret_value()
    else:
        raw = db_or_dsn
    return make_url(raw).set(drivername="postgresql").render_as_string(hide_password=False)


def raw_query(db: Backend, sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` on a brand-new driver connection that shares nothing with the adapter.

    Not available for ``:memory:`` databases (a new connection would see another database);
    use :func:`committed_rows` there.
    """
    if db.is_postgres:
        with psycopg.connect(plain_dsn(db), autocommit=True) as connection:
            return list(connection.execute(sql).fetchall())  # type: ignore[arg-type]
    assert db.config.DATABASE != ":memory:"
    connection = sqlite3.connect(str(db.config.DATABASE))
    try:
        return list(connection.execute(sql).fetchall())
    finally:
        connection.close()


async def committed_rows(db: Backend, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` as committed: a new connection, or for ``:memory:`` the idle pooled one."""
    if db.config.DATABASE != ":memory:":
        return raw_query(db, sql)
    # The in-memory database lives in the pool's only connection: it must be idle (nothing
    # uncommitted can hide there), and a fresh engine-level transaction reads it.
    assert db.checked_out() == 0
    if db.is_async:
        async with db.manager.engine.connect() as connection:
            return [tuple(row) for row in (await connection.execute(text(sql))).all()]
    with db.manager.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql)).all()]


async def committed_usernames(db: Backend) -> set[str]:
    rows = await committed_rows(db, "SELECT username FROM users")
    return {row[0] for row in rows}


def free_port() -> int:
    """A TCP port on 127.0.0.1 with nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
