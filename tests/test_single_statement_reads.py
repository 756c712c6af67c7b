"""One-statement reads outside atomic blocks run without BEGIN/COMMIT around them.

A lone SELECT is atomic by itself, so ``get_by_uuid`` and ``Store.get/exists/count`` outside an
atomic block skip the transaction: two fewer round trips on PostgreSQL, and on SQLite a read that
no longer takes ``BEGIN IMMEDIATE`` and so no longer queues behind a writer. These tests pin the
effect, and that the pooled connection comes back exactly as configured for the next block.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import ForeignKey, event, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from test_crud import new_user

from archipy_lite.adapters.base.sqlalchemy.query_building import loads_in_one_statement
from archipy_lite.stores.store import AsyncStore, Store

from backends import Backend, make_backend
from db_checks import backend_params, committed_rows
from models import User


@pytest.fixture
async def build(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Callable[..., Backend]]:
    """Extra matrix backends with config overrides, their tables created; disposed after the test."""
    made: list[Backend] = []

    async def factory(name: str, **overrides: Any) -> Backend:
        dsn = request.getfixturevalue("postgres_dsn") if name.startswith("pg-") else None
        backend = make_backend(name, postgres_dsn=dsn, tmp_dir=tmp_path, **overrides)
        made.append(backend)
        await backend.create_schema()
        await backend.clear_tables()
        return backend

    yield factory
    for backend in made:
        await backend.clear_tables()
        await backend.dispose()


def _store(db: Backend) -> Any:
    return AsyncStore(db.adapter, User) if db.is_async else Store(db.adapter, User)


def _autocommit_flags(db: Backend) -> tuple[list[bool], Callable[[], None]]:
    """Record, per statement, whether the driver connection ran it outside a transaction block."""
    flags: list[bool] = []

    def record(conn: Any, *_: Any) -> None:
        flags.append(conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT")

    event.listen(db.sync_engine, "before_cursor_execute", record)
    return flags, lambda: event.remove(db.sync_engine, "before_cursor_execute", record)


@pytest.mark.parametrize("name", ["sqlite-file", "aiosqlite-file"])
async def test_reads_outside_atomic_do_not_wait_for_a_sqlite_writer(build: Any, name: str) -> None:
    db = await build(name, BUSY_TIMEOUT=3000)
    saved = await db.call(db.adapter.create, new_user("reader"))
    store = _store(db)
    writer = sqlite3.connect(str(db.config.DATABASE), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process is writing and holds the write lock
        writer.execute("UPDATE users SET full_name = 'uncommitted' WHERE uuid IS NOT NULL")

        found = await db.call(db.adapter.get_by_uuid, User, saved.uuid)  # the committed row, at once
        assert found is not None
        assert found.full_name is None
        assert (await db.call(store.get, saved.uuid)).full_name is None
        assert await db.call(store.exists, saved.uuid)
        assert await db.call(store.count) == 1
        assert db.checked_out() == 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@pytest.mark.parametrize("db", backend_params(kind="postgres"), indirect=True)
async def test_lookups_outside_atomic_skip_the_transaction_and_blocks_keep_theirs(db: Backend) -> None:
    saved = await db.call(db.adapter.create, new_user("someone"))
    flags, stop = _autocommit_flags(db)
    try:
        await db.call(db.adapter.get_by_uuid, User, saved.uuid)
        await db.call(_store(db).get, saved.uuid)
        lookups = list(flags)
        async with db.atomic():
            await db.call(db.adapter.get_by_uuid, User, saved.uuid)
        await db.call(db.adapter.execute, text("SELECT 1"))  # a lone statement outside blocks, too
    finally:
        stop()
    assert lookups == [True, True]
    assert flags[2:] == [False, True]


@pytest.mark.parametrize("db", backend_params(), indirect=True)
async def test_lookups_inside_atomic_blocks_answer_as_session_get_does(db: Backend) -> None:
    """Inside a block a lookup reads the row once; an object the block holds is the answer, unsaved changes kept."""
    first = await db.call(db.adapter.create, new_user("first"))
    second = await db.call(db.adapter.create, new_user("second"))
    gone = await db.call(db.adapter.create, new_user("gone"))
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.sync_engine, "before_cursor_execute", record)
    try:
        async with db.atomic():
            loaded = await db.call(db.adapter.get_by_uuid, User, first.uuid)
            assert loaded is not None
            assert loaded.username == first.username
            assert len(statements) == 1  # one SELECT for a row the block has not loaded
            loaded.full_name = "changed, not saved yet"
            again = await db.call(db.adapter.get_by_uuid, User, first.uuid)
            assert again is loaded
            assert again.full_name == "changed, not saved yet"
            assert len(statements) == 1  # the block's own object, no query and no refresh
            assert (await db.call(db.adapter.get_by_uuid, User, second.uuid)).username == second.username
            await db.call(db.adapter.delete, await db.call(db.adapter.get_by_uuid, User, gone.uuid))
            assert await db.call(db.adapter.get_by_uuid, User, gone.uuid) is None  # deleted in this block
            assert await db.call(db.adapter.get_by_uuid, User, uuid4()) is None
    finally:
        event.remove(db.sync_engine, "before_cursor_execute", record)
    stored = await db.call(db.adapter.get_by_uuid, User, first.uuid)
    assert stored.full_name == "changed, not saved yet"  # the block saved the change at commit
    assert await db.call(db.adapter.get_by_uuid, User, gone.uuid) is None


@pytest.mark.parametrize("name", ["pg-psycopg", "pg-asyncpg", "pg-psycopg-async"])
async def test_the_pooled_connection_returns_to_its_configured_isolation(build: Any, name: str) -> None:
    db = await build(name, POOL_SIZE=1, POOL_MAX_OVERFLOW=0, ISOLATION_LEVEL="REPEATABLE READ")
    saved = await db.call(db.adapter.create, new_user("someone"))
    await db.call(db.adapter.get_by_uuid, User, saved.uuid)  # autocommit on the only pooled connection

    with pytest.raises(RuntimeError):
        await _check_isolation_then_roll_back(db)

    assert await db.call(_store(db).count) == 1


async def _check_isolation_then_roll_back(db: Backend) -> None:
    async with db.atomic():
        level = await db.call(db.adapter.execute, text("SHOW transaction_isolation"))
        assert level.scalar_one() == "repeatable read"
        await db.call(db.adapter.create, new_user("rolled back"))
        raise RuntimeError("roll the block back")


@pytest.mark.parametrize("db", backend_params(kind="postgres"), indirect=True)
async def test_a_read_neither_writes_nor_drops_a_pending_change(db: Backend) -> None:
    saved = await db.call(db.adapter.create, new_user("someone"))
    flags, stop = _autocommit_flags(db)
    try:
        saved.full_name = "pending change"  # never saved
        found = await db.call(db.adapter.get_by_uuid, User, saved.uuid)
    finally:
        stop()
    assert flags == [True]  # only the SELECT, alone: no UPDATE was flushed before it
    assert found is saved
    assert saved.full_name == "pending change"  # the refresh kept the unsaved value
    assert (await db.call(_store(db).get, saved.uuid)).full_name == "pending change"
    rows = await committed_rows(db, "SELECT full_name FROM users")
    assert rows == [(None,)]


class _Base(DeclarativeBase):
    """Mappings of this module only: never created in a database."""


class Tag(_Base):
    __tablename__ = "one_statement_tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("one_statement_notes.id"))


class Note(_Base):
    __tablename__ = "one_statement_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    tags: Mapped[list[Tag]] = relationship(lazy="selectin")


class Folder(_Base):
    __tablename__ = "one_statement_folders"
    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("one_statement_notes.id"))
    note: Mapped[Note] = relationship(lazy="joined")  # joined, but Note brings its tags in a second query


class Plain(_Base):
    __tablename__ = "one_statement_plain"
    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("one_statement_notes.id"))
    note: Mapped[Note] = relationship()  # lazy: loaded later, if ever


def test_loads_with_a_second_query_are_not_single_statement_reads() -> None:
    assert loads_in_one_statement(sa_inspect(User))  # tutorial entities: lazy relationships
    assert loads_in_one_statement(sa_inspect(Plain))
    assert not loads_in_one_statement(sa_inspect(Note))
    assert not loads_in_one_statement(sa_inspect(Folder))
