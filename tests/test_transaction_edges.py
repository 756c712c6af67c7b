"""Transaction edges found by independent testing, over the backend matrix: retries never re-run
committed work, generators cannot be decorated, an abandoned block rolls back whoever finalises it,
and pooled connections are checked only after sitting idle."""

from __future__ import annotations

import asyncio
import gc
import inspect
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from archipy_lite import atomic, on_commit
from archipy_lite.models.errors import DatabaseConnectionError, DatabaseSerializationError, DatabaseTransactionError

from backends import Backend, make_backend
from db_checks import backend_params, committed_usernames, plain_dsn
from models import User

FILE_BACKED = ("pg-psycopg", "pg-asyncpg", "pg-psycopg-async", "sqlite-file", "aiosqlite-file")


def user(name: str) -> User:
    return User(username=name, email=f"{name}@example.com")


def conflict() -> None:
    raise DatabaseSerializationError("a conflict reported after the commit")


# --- retries cover the transaction only ---------------------------------------------------------


async def test_a_failing_on_commit_callback_never_reruns_the_committed_transaction(db: Backend) -> None:
    runs: list[int] = []

    def body() -> None:
        runs.append(1)
        on_commit(conflict)

    if db.is_async:

        @atomic(db.adapter, retries=3)
        async def work() -> None:
            await db.adapter.create(user(f"row{len(runs)}"))
            body()

        with pytest.raises(DatabaseSerializationError):
            await work()
    else:

        @atomic(db.adapter, retries=3)
        def work_sync() -> None:
            db.adapter.create(user(f"row{len(runs)}"))
            body()

        with pytest.raises(DatabaseSerializationError):
            work_sync()
    assert runs == [1]
    assert await committed_usernames(db) == {"row0"}


async def test_callbacks_of_a_retried_attempt_are_dropped_and_the_final_ones_run_once(db: Backend) -> None:
    called: list[str] = []
    attempts: list[int] = []

    def register(attempt: int) -> None:
        on_commit(lambda: called.append(f"after attempt {attempt}"))
        if attempt == 1:
            raise DatabaseSerializationError("the first attempt conflicts")

    if db.is_async:

        @atomic(db.adapter, retries=2)
        async def work() -> None:
            attempts.append(1)
            await db.adapter.create(user(f"attempt{len(attempts)}"))
            register(len(attempts))

        await work()
    else:

        @atomic(db.adapter, retries=2)
        def work_sync() -> None:
            attempts.append(1)
            db.adapter.create(user(f"attempt{len(attempts)}"))
            register(len(attempts))

        work_sync()
    assert called == ["after attempt 2"]
    assert await committed_usernames(db) == {"attempt2"}


COMMITS = {
    "session.commit()": lambda db: db.adapter.get_session().commit(),
    "text('COMMIT')": lambda db: db.adapter.execute(text("COMMIT")),
    "text('end;')": lambda db: db.adapter.execute(text("  end;")),
    "text('ROLLBACK')": lambda db: db.adapter.execute(text("ROLLBACK")),
    "text('BEGIN')": lambda db: db.adapter.execute(text("BEGIN")),
    "a comment before COMMIT": lambda db: db.adapter.execute(text("/* done */ -- really\n commit work")),
    "a second statement": lambda db: db.adapter.execute(text("SELECT 1; COMMIT")),
    "exec_driver_sql": lambda db: _on_connection(db, lambda connection: connection.exec_driver_sql("COMMIT")),
    "the connection's commit()": lambda db: _on_connection(db, lambda connection: connection.commit()),
    "SQLAlchemy's transaction commit()": lambda db: _sync_session(db).get_transaction().commit(),
}
LEGITIMATE = [
    "SELECT 1 AS commit_id",
    "SELECT 'COMMIT; now' AS note",
    "SAVEPOINT mine",
    "ROLLBACK /* undo */ TO SAVEPOINT mine",
    "RELEASE SAVEPOINT mine",
]


def _sync_session(db: Backend) -> Any:
    session = db.adapter.get_session()
    return getattr(session, "sync_session", session)


def _on_connection(db: Backend, use: Any) -> Any:
    """``use`` the block's connection: the session's, awaited for async adapters."""
    session = db.adapter.get_session()
    if not db.is_async:
        return use(session.connection())

    async def run() -> Any:
        outcome = use(await session.connection())
        return await outcome if inspect.isawaitable(outcome) else outcome

    return run()


@pytest.mark.parametrize("db", backend_params(is_async=False), indirect=True)
async def test_savepoints_and_words_that_look_like_commits_still_run_in_a_block(db: Backend) -> None:
    async with db.atomic():
        await db.call(db.adapter.create, user("kept"))
        for sql in LEGITIMATE:
            await db.call(db.adapter.execute, text(sql))
    assert await committed_usernames(db) == {"kept"}


@pytest.mark.parametrize("route", list(COMMITS))
async def test_a_commit_inside_a_retried_block_is_refused_so_nothing_runs_twice(db: Backend, route: str) -> None:
    runs: list[int] = []

    async def body() -> None:
        runs.append(1)
        await db.call(db.adapter.create, user(f"row{len(runs)}"))
        await db.call(COMMITS[route], db)  # would commit the block's work early
        conflict()  # and a retry would then store it a second time

    if db.is_async:

        @atomic(db.adapter, retries=3)
        async def work() -> None:
            await body()

        with pytest.raises(DatabaseTransactionError) as caught:
            await work()
    else:

        @atomic(db.adapter, retries=3)
        def work_sync() -> None:
            _run_sync(body)

        with pytest.raises(DatabaseTransactionError) as caught:
            work_sync()
    assert caught.value.details["reason"] == "transaction_control_in_block"
    assert runs == [1]
    assert await committed_usernames(db) == set()  # the block rolled back
    async with db.atomic():  # the connection is fine for the next block
        await db.call(db.adapter.create, user("after"))
    assert await committed_usernames(db) == {"after"}


def _run_sync(body: Any) -> None:
    """Drive a coroutine whose awaits are all of plain values (the sync adapter returns at once)."""
    coroutine = body()
    try:
        coroutine.send(None)
    except StopIteration:
        return
    raise AssertionError("the body awaited something asynchronous")


OWN_ERRORS = [TimeoutError("an upstream call timed out"), ConnectionResetError("peer reset"), FileNotFoundError("x")]


async def _write_then_fail(db: Backend, error: OSError) -> None:
    async with db.atomic():
        await db.call(db.adapter.create, user("rolled back"))
        raise error


@pytest.mark.parametrize("error", OWN_ERRORS)
async def test_the_blocks_own_network_and_file_errors_leave_it_unchanged(db: Backend, error: OSError) -> None:
    with pytest.raises(type(error)) as caught:
        await _write_then_fail(db, error)
    assert caught.value is error  # not a DatabaseConnectionError: the database was fine
    assert await committed_usernames(db) == set()


# --- a block abandoned inside a generator ---------------------------------------------------------


@pytest.mark.parametrize("db", backend_params(is_async=True, names=FILE_BACKED), indirect=True)
async def test_an_abandoned_async_generator_block_rolls_back_and_frees_everything(db: Backend) -> None:
    async def numbers() -> AsyncIterator[int]:
        async with atomic(db.adapter):
            await db.adapter.create(user("inside-generator"))
            yield 1
            yield 2

    generator = numbers()
    assert await generator.__anext__() == 1
    del generator  # abandoned mid-iteration: the event loop finalises it from another task
    gc.collect()
    for _ in range(20):
        await asyncio.sleep(0.01)
        if db.checked_out() == 0:
            break
    assert db.checked_out() == 0
    await db.adapter.create(user("after"))  # not swallowed by the dead block
    assert not db.manager.in_atomic_block()
    assert await committed_usernames(db) == {"after"}
    if not db.is_postgres:
        other = sqlite3.connect(str(db.config.DATABASE), timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the write lock is free
        other.execute("ROLLBACK")
        other.close()


@pytest.mark.parametrize("db", backend_params(is_async=False, names=FILE_BACKED), indirect=True)
async def test_an_abandoned_sync_generator_block_rolls_back(db: Backend) -> None:
    def numbers() -> Iterator[int]:
        with atomic(db.adapter):
            db.adapter.create(user("inside-generator"))
            yield 1
            yield 2

    generator = numbers()
    assert next(generator) == 1
    del generator
    gc.collect()
    assert db.checked_out() == 0
    db.adapter.create(user("after"))
    assert await committed_usernames(db) == {"after"}


# --- idle checks instead of a ping per checkout -------------------------------------------------


@pytest.fixture
def pinged(postgres_dsn: str, tmp_path: Any) -> Iterator[tuple[Backend, list[int]]]:
    backend = make_backend(
        "pg-psycopg", postgres_dsn=postgres_dsn, tmp_dir=tmp_path, POOL_SIZE=1, POOL_PRE_PING_IDLE_SECONDS=0.2
    )
    dialect = backend.sync_engine.dialect
    pings: list[int] = []
    original = dialect.do_ping

    def counting_ping(connection: Any) -> bool:
        pings.append(1)
        return original(connection)

    dialect.do_ping = counting_ping  # type: ignore[method-assign]
    yield backend, pings
    backend.sync_engine.dispose()


@pytest.mark.postgres
def test_busy_connections_are_not_pinged_and_idle_ones_are(pinged: tuple[Backend, list[int]]) -> None:
    backend, pings = pinged
    for _ in range(10):
        backend.adapter.execute(text("SELECT 1"))
    assert pings == []  # a busy connection costs no extra round trip
    time.sleep(0.3)
    backend.adapter.execute(text("SELECT 1"))
    assert pings == [1]


@pytest.mark.postgres
def test_a_connection_that_died_while_idle_is_replaced_transparently(
    pinged: tuple[Backend, list[int]], postgres_dsn: str
) -> None:
    backend, _ = pinged
    pid = backend.adapter.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with psycopg.connect(plain_dsn(postgres_dsn), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.3)
    assert backend.adapter.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid


@pytest.mark.postgres
def test_without_the_idle_check_a_dead_connection_fails_the_call(postgres_dsn: str, tmp_path: Any) -> None:
    backend = make_backend(
        "pg-psycopg", postgres_dsn=postgres_dsn, tmp_dir=tmp_path, POOL_SIZE=1, POOL_PRE_PING_IDLE_SECONDS=None
    )
    try:
        pid = backend.adapter.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(plain_dsn(postgres_dsn), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        time.sleep(0.3)
        with pytest.raises(DatabaseConnectionError):
            backend.adapter.execute(text("SELECT 1"))
    finally:
        backend.sync_engine.dispose()
