"""Class 1: no route through the library's connections can write a read-only data set.

A hostile user tries every statement known to change a SQLite database or a pooled connection's
state (``PRAGMA query_only = OFF`` then ``ATTACH 'file:<same path>?mode=rw'``, ``VACUUM INTO``,
``writable_schema``, temporary objects, extensions...) through every way the library hands out a
connection, sync (sqlite3) and async (aiosqlite). Every statement must be refused; the shipped file's
bytes must not change, no file may appear next to it, and the next user of the pool must get a
connection in its shipped state. A connection changed behind the library's back (authorizer removed
through the raw driver) must be discarded when it returns to the pool.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import Column, Integer, String, Uuid, text

from archipy_lite.datasets import DataSet, DataSetBuilder
from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic
from archipy_lite.models.errors import BaseError, DatabaseReadOnlyError

from . import figures

NAME = f"rel_routes_{uuid4().hex[:8]}"
Base: Any = DataSet.create(NAME)


class Item(Base):  # type: ignore[misc,valid-type]
    __tablename__ = "items"
    uuid = Column(Uuid, primary_key=True, default=uuid4)
    name = Column(String(50), nullable=False, unique=True)
    score = Column(Integer, nullable=False, default=0)


@dataclass
class Shipped:
    path: Path
    digest: str
    files: list[str]
    adapter: Any
    async_adapter: Any


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
async def shipped(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shipped]:
    path = tmp_path_factory.mktemp("routes") / "shipped.sqlite3"
    with DataSetBuilder(Base, path) as builder:
        builder.load_rows(Item, [{"name": "a", "score": 1}, {"name": "b", "score": 2}])
    DataSet.configure({NAME: str(path)})
    dataset = Base.dataset
    try:
        files = sorted(p.name for p in path.parent.iterdir())
        yield Shipped(path, sha256(path), files, dataset.adapter(), dataset.async_adapter())
    finally:
        await dataset.async_dispose()
        DataSet.unconfigure(NAME)
        DataSet.forget(NAME)


# --- the attacks: each a sequence of statements, every one of which must be refused -----------------

ATTACKS: dict[str, list[str]] = {
    "query_only off, ATTACH the same file mode=rw, INSERT": [
        "PRAGMA query_only = OFF",
        "ATTACH DATABASE 'file:{path}?mode=rw' AS w",
        "INSERT INTO w.items (uuid, name, score) VALUES (x'00112233445566778899aabbccddeeff', 'w', 1)",
    ],
    "ATTACH the same file by plain path": ["ATTACH DATABASE '{path}' AS w", "DELETE FROM w.items"],
    "ATTACH a new file (mode=rwc URI)": ["ATTACH DATABASE 'file:{dir}/new.sqlite3?mode=rwc' AS n"],
    "ATTACH :memory:": ["ATTACH DATABASE ':memory:' AS m"],
    "DETACH": ["DETACH DATABASE temp"],
    "VACUUM INTO another file": ["VACUUM INTO '{dir}/copy.sqlite3'"],
    "VACUUM": ["VACUUM"],
    "PRAGMA query_only = 0 (schema-qualified)": ["PRAGMA main.query_only = 0"],
    "PRAGMA writable_schema, then edit the schema": [
        "PRAGMA writable_schema = ON",
        "UPDATE sqlite_master SET sql = 'CREATE TABLE items (x)' WHERE name = 'items'",
    ],
    "PRAGMA journal_mode = WAL": ["PRAGMA journal_mode = WAL"],
    "PRAGMA journal_mode = DELETE": ["PRAGMA journal_mode = DELETE"],
    "PRAGMA user_version": ["PRAGMA user_version = 7"],
    "PRAGMA foreign_keys off (the next user's state)": ["PRAGMA foreign_keys = OFF"],
    "PRAGMA case_sensitive_like off (the next user's state)": ["PRAGMA case_sensitive_like = OFF"],
    "PRAGMA optimize": ["PRAGMA optimize"],
    "load_extension()": ["SELECT load_extension('/nonexistent/extension')"],
    "CREATE TEMP TABLE": ["CREATE TEMP TABLE scratch (x)"],
    "CREATE TEMP VIEW": ["CREATE TEMP VIEW v AS SELECT 1"],
    "CREATE TEMP TRIGGER": ["CREATE TEMP TRIGGER trg BEFORE UPDATE ON items BEGIN SELECT 1; END"],
    "ALTER TABLE": ["ALTER TABLE items ADD COLUMN extra TEXT"],
    "CREATE INDEX": ["CREATE INDEX ix_score ON items (score)"],
    "REINDEX": ["REINDEX items"],
    "ANALYZE": ["ANALYZE"],
    "INSERT": ["INSERT INTO items (uuid, name) VALUES (x'ffeeddccbbaa99887766554433221100', 'x')"],
}

# --- the routes: every way the library hands out a connection ----------------------------------------

Route = Callable[[Shipped, str], Awaitable[None]]


async def adapter_execute(s: Shipped, sql: str) -> None:
    s.adapter.execute(text(sql))


async def atomic_session(s: Shipped, sql: str) -> None:
    with atomic(s.adapter) as session:
        session.execute(text(sql))


async def engine_connection(s: Shipped, sql: str) -> None:
    with s.adapter.session_manager.engine.connect() as connection:
        connection.exec_driver_sql(sql)
        connection.commit()


async def dbapi_cursor(s: Shipped, sql: str) -> None:
    raw = s.adapter.session_manager.engine.raw_connection()
    try:
        raw.cursor().execute(sql)
    finally:
        raw.close()


async def async_adapter_execute(s: Shipped, sql: str) -> None:
    await s.async_adapter.execute(text(sql))


async def async_atomic_session(s: Shipped, sql: str) -> None:
    async with atomic(s.async_adapter) as session:
        await session.execute(text(sql))


async def async_engine_connection(s: Shipped, sql: str) -> None:
    async with s.async_adapter.session_manager.engine.connect() as connection:
        await connection.exec_driver_sql(sql)
        await connection.commit()


async def async_dbapi_cursor(s: Shipped, sql: str) -> None:
    async with s.async_adapter.session_manager.engine.connect() as connection:
        await connection.run_sync(lambda sync: sync.connection.dbapi_connection.cursor().execute(sql))


ROUTES: dict[str, Route] = {
    "sqlite3 adapter.execute": adapter_execute,
    "sqlite3 atomic block session": atomic_session,
    "sqlite3 engine connection": engine_connection,
    "sqlite3 DB-API cursor from the pool": dbapi_cursor,
    "aiosqlite adapter.execute": async_adapter_execute,
    "aiosqlite atomic block session": async_atomic_session,
    "aiosqlite engine connection": async_engine_connection,
    "aiosqlite DB-API cursor from the pool": async_dbapi_cursor,
}
RAW_ROUTES = {"sqlite3 DB-API cursor from the pool", "aiosqlite DB-API cursor from the pool"}


def connection_state(dbapi_connection: Any) -> tuple[Any, ...]:
    cursor = dbapi_connection.cursor()
    try:
        states = []
        for pragma in ("query_only", "foreign_keys", "database_list", "journal_mode"):
            cursor.execute(f"PRAGMA {pragma}")
            states.append(tuple(tuple(row) for row in cursor.fetchall()))
        cursor.execute("SELECT count(*) FROM temp.sqlite_master")
        states.append(cursor.fetchone()[0])
    finally:
        cursor.close()
    return tuple(states)


async def pooled_states(s: Shipped) -> list[tuple[Any, ...]]:
    """The state of the connection the next user of each pool gets (the pools are LIFO)."""
    raw = s.adapter.session_manager.engine.raw_connection()
    try:
        states = [connection_state(raw.dbapi_connection)]
    finally:
        raw.close()
    async with s.async_adapter.session_manager.engine.connect() as connection:
        states.append(await connection.run_sync(lambda sync: connection_state(sync.connection.dbapi_connection)))
    return states


_cases: list[str] = []


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_every_statement_is_refused(shipped: Shipped, attack: str, route: str) -> None:
    for template in ATTACKS[attack]:
        sql = template.format(path=shipped.path, dir=shipped.path.parent)
        expected = (sqlite3.Error,) if route in RAW_ROUTES else (BaseError,)
        with pytest.raises(expected) as caught:
            await ROUTES[route](shipped, sql)
        if route not in RAW_ROUTES:
            assert isinstance(caught.value, BaseError)
    assert sha256(shipped.path) == shipped.digest
    assert sorted(p.name for p in shipped.path.parent.iterdir()) == shipped.files
    for query_only, foreign_keys, databases, journal_mode, temp_objects in await pooled_states(shipped):
        assert (query_only, foreign_keys, journal_mode, temp_objects) == (((1,),), ((1,),), (("delete",),), 0)
        assert [row[1] for row in databases] in (["main"], ["main", "temp"])  # temp: SQLite's own, empty
    _cases.append(route)


def tamper(dbapi_connection: sqlite3.Connection) -> None:
    dbapi_connection.set_authorizer(None)  # only the raw driver can do this, not SQL
    dbapi_connection.execute("PRAGMA query_only = OFF")


async def test_a_connection_changed_behind_the_library_is_discarded_when_returned(shipped: Shipped) -> None:
    engine = shipped.adapter.session_manager.engine
    raw = engine.raw_connection()
    tampered = raw.dbapi_connection
    tamper(tampered)
    raw.close()  # back to the pool: verified, found changed, closed
    again = engine.raw_connection()
    try:
        assert again.dbapi_connection is not tampered
        assert connection_state(again.dbapi_connection)[0] == ((1,),)
    finally:
        again.close()

    async_engine = shipped.async_adapter.session_manager.engine
    async with async_engine.connect() as connection:
        adapted = (await connection.get_raw_connection()).dbapi_connection
        driver = adapted.driver_connection
        await driver._execute(tamper, driver._conn)
    async with async_engine.connect() as connection:
        fresh = (await connection.get_raw_connection()).dbapi_connection
        assert fresh is not adapted
        assert (await connection.exec_driver_sql("PRAGMA query_only")).scalar() == 1
    _cases.append("tampered connection discarded")


def remove_authorizer(dbapi_connection: sqlite3.Connection) -> None:
    dbapi_connection.set_authorizer(None)  # nothing else changed: the pragmas still look right


def reopen_writable(shipped: Shipped) -> str:
    return f"ATTACH DATABASE 'file:{shipped.path}?mode=rw' AS w"


async def test_a_connection_whose_authorizer_was_removed_gets_it_back_when_returned(shipped: Shipped) -> None:
    engine = shipped.adapter.session_manager.engine
    raw = engine.raw_connection()
    remove_authorizer(raw.dbapi_connection)
    raw.close()
    with engine.connect() as connection, pytest.raises(BaseError):  # the next user of that connection
        connection.exec_driver_sql("PRAGMA query_only = OFF")
    with engine.connect() as connection, pytest.raises(BaseError):
        connection.exec_driver_sql(reopen_writable(shipped))

    async_engine = shipped.async_adapter.session_manager.engine
    async with async_engine.connect() as connection:
        driver = (await connection.get_raw_connection()).dbapi_connection.driver_connection
        await driver._execute(remove_authorizer, driver._conn)
    async with async_engine.connect() as connection:
        with pytest.raises(BaseError):
            await connection.exec_driver_sql("PRAGMA query_only = OFF")
    async with async_engine.connect() as connection:
        with pytest.raises(BaseError):
            await connection.exec_driver_sql(reopen_writable(shipped))
    assert sha256(shipped.path) == shipped.digest
    _cases.append("removed authorizer restored")


async def test_reads_and_introspection_still_work(shipped: Shipped) -> None:
    assert shipped.adapter.execute(text("SELECT count(*) FROM items")).scalar() == 2
    assert shipped.adapter.execute(text("PRAGMA query_only")).scalar() == 1
    assert len(shipped.adapter.execute(text("SELECT * FROM pragma_table_info('items')")).all()) == 3
    # Transactions and savepoints are reads' business too.
    with atomic(shipped.adapter) as session, atomic(shipped.adapter):
        assert session.execute(text("SELECT max(score) FROM items")).scalar() == 2
    assert (await shipped.async_adapter.execute(text("SELECT count(*) FROM items"))).scalar() == 2
    Base.dataset.create_all()  # every table exists: reflection reads only, nothing to create
    with pytest.raises(DatabaseReadOnlyError):
        shipped.adapter.execute(text("PRAGMA query_only = ON"))  # even setting it to what it is
    assert sha256(shipped.path) == shipped.digest
    _cases.append("reads and introspection")


def test_figures() -> None:
    figures.record_class(
        1,
        "read-only data sets: no route writes",
        cases=len(_cases),
        varies=f"{len(ATTACKS)} hostile statements x {len(ROUTES)} connection routes; a tampered pooled connection",
        backends="sqlite3, aiosqlite",
    )
