"""Error translation (DESIGN.md decision 3): every mapping triggered for real against the database.

Driver errors become typed errors by SQLSTATE / SQLite result code, the original exception is
chained as ``__cause__``, and no message, repr or traceback carries a password.
"""

# Tests here assert on exceptions leaving whole atomic blocks, so pytest.raises wraps several lines.
# ruff: noqa: PT012

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import CheckConstraint, Column, Integer, MetaData, Table, create_engine, insert, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import AsyncSQLiteSQLAlchemyAdapter, SQLiteSQLAlchemyAdapter
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic
from archipy_lite.models.errors import (
    AlreadyExistsError,
    BaseError,
    DatabaseConnectionError,
    DatabaseConstraintError,
    DatabaseError,
    DatabaseIntegrityError,
    DatabaseQueryError,
    DatabaseReadOnlyError,
    DatabaseResourceExhaustedError,
    DatabaseSerializationError,
    DatabaseTimeoutError,
    NotFoundError,
    UniqueViolationError,
)

from backends import Backend, make_backend
from db_checks import backend_params, committed_usernames, free_port, plain_dsn
from models import BaseEntity, Post, User

PG_DRIVERS = [
    pytest.param(name, marks=pytest.mark.postgres, id=name) for name in ("pg-psycopg", "pg-asyncpg", "pg-psycopg-async")
]
SECRET = "Sup3r-Secret/pa ss@word"  # a fake password that must never leak


def user(name: str) -> User:
    return User(username=name, email=f"{name}@example.com")


def chained_code(error: BaseException) -> object:
    """The SQLSTATE or SQLite code of the driver exception chained under ``error``."""
    cause = error.__cause__
    assert cause is not None, "the original exception is not chained"
    assert not isinstance(cause, BaseError)
    while cause is not None:
        code = getattr(cause, "sqlstate", None) or getattr(cause, "sqlite_errorcode", None)
        if code:
            return code
        cause = cause.__cause__ or getattr(cause, "orig", None)
    return None


async def raises(error_class: type[BaseException], call: Awaitable[Any]) -> Any:
    with pytest.raises(error_class) as caught:
        await call
    return caught.value


@pytest.fixture
async def build(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Callable[..., Backend]]:
    """Make extra matrix backends with config overrides; disposed after the test."""
    made: list[Backend] = []

    def factory(name: str, **overrides: Any) -> Backend:
        dsn = request.getfixturevalue("postgres_dsn") if name.startswith("pg-") else None
        backend = make_backend(name, postgres_dsn=dsn, tmp_dir=tmp_path, **overrides)
        made.append(backend)
        return backend

    yield factory
    for backend in made:
        await backend.dispose()


@asynccontextmanager
async def connection_held(backend: Backend) -> AsyncIterator[None]:
    """Keep one pooled connection checked out by an atomic block in another thread or task."""
    adapter = backend.adapter
    if backend.is_async:
        held, release = asyncio.Event(), asyncio.Event()

        async def holder() -> None:
            async with atomic(adapter):
                await adapter.execute(text("SELECT 1"))
                held.set()
                await release.wait()

        task = asyncio.create_task(holder())
        await asyncio.wait_for(held.wait(), 10)
        try:
            yield
        finally:
            release.set()
            await task
        return
    thread_held, thread_release = threading.Event(), threading.Event()

    def sync_holder() -> None:
        with atomic(adapter):
            adapter.execute(text("SELECT 1"))
            thread_held.set()
            thread_release.wait(10)

    thread = threading.Thread(target=sync_holder)
    thread.start()
    assert thread_held.wait(10)
    try:
        yield
    finally:
        thread_release.set()
        thread.join(10)


# --- integrity: unique, foreign key, not null, check ---------------------------------------------


async def test_unique_violation(db: Backend) -> None:
    await db.call(db.adapter.create, user("alice"))
    error = await raises(UniqueViolationError, db.call(db.adapter.create, User(username="alice", email="b@x.org")))
    assert isinstance(error, AlreadyExistsError)
    assert isinstance(error, DatabaseIntegrityError)
    assert isinstance(error, DatabaseError)
    assert not error.retryable
    assert chained_code(error) == ("23505" if db.is_postgres else 2067)
    assert error.details["constraint_type"] == "unique"
    if db.is_postgres:
        assert error.details["sqlstate"] == "23505"
        assert error.details["constraint"] == "uq_users_username"
        assert "uq_users_username" in error.message
    else:
        assert error.details["sqlite_code"] == 2067
    assert "alice" not in error.message  # bound values never reach messages
    # The same inside an atomic block, caught by a nested block.
    async with db.atomic():
        with pytest.raises(AlreadyExistsError):
            async with db.atomic():
                await db.call(db.adapter.create, User(username="bob", email="alice@example.com"))
    assert await committed_usernames(db) == {"alice"}


async def test_foreign_key_violation(db: Backend) -> None:
    orphan = Post(title="orphan", content="c", author_id=uuid.uuid4())
    error = await raises(DatabaseConstraintError, db.call(db.adapter.create, orphan))
    assert not isinstance(error, UniqueViolationError | AlreadyExistsError)
    assert chained_code(error) == ("23503" if db.is_postgres else 787)
    assert error.details["constraint_type"] == "foreign_key"
    if db.is_postgres:
        assert error.details["sqlstate"] == "23503"
        assert error.details["constraint"] == "fk_posts_author_id_users"
        assert "fk_posts_author_id_users" in error.message
    else:
        assert error.details["sqlite_code"] == 787
    assert db.checked_out() == 0


async def test_not_null_violation(db: Backend) -> None:
    error = await raises(DatabaseConstraintError, db.call(db.adapter.create, User(username=None, email="n@x.org")))
    assert chained_code(error) == ("23502" if db.is_postgres else 1299)
    assert error.details["constraint_type"] == "not_null"
    if db.is_postgres:
        assert error.details["sqlstate"] == "23502"
        assert error.details["column"] == "username"
        assert error.details["table"] == "users"
    else:
        assert error.details["sqlite_code"] == 1299


async def test_check_violation(db: Backend) -> None:
    metadata = MetaData()
    checked = Table(
        "err_checks",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("value", Integer, nullable=False),
        CheckConstraint("value > 0", name="err_checks_value_positive"),
    )
    if db.is_async:
        async with db.manager.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
    else:
        metadata.create_all(db.manager.engine)
    try:
        await db.call(db.adapter.execute, insert(checked).values(id=1, value=5))
        error = await raises(
            DatabaseConstraintError, db.call(db.adapter.execute, insert(checked).values(id=2, value=-1))
        )
        assert chained_code(error) == ("23514" if db.is_postgres else 275)
        assert error.details["constraint_type"] == "check"
        if db.is_postgres:
            assert error.details["sqlstate"] == "23514"
            assert error.details["constraint"] == "err_checks_value_positive"
        else:
            assert error.details["sqlite_code"] == 275
        assert (await db.call(db.adapter.scalars, select(checked.c.id))).all() == [1]
    finally:
        if db.is_async:
            async with db.manager.engine.begin() as connection:
                await connection.run_sync(metadata.drop_all)
        else:
            metadata.drop_all(db.manager.engine)


async def test_other_statement_errors_are_query_errors(db: Backend) -> None:
    error = await raises(DatabaseQueryError, db.call(db.adapter.execute, text("SELECT * FROM no_such_table")))
    assert type(error) is DatabaseQueryError
    assert error.__cause__ is not None
    if db.is_postgres:
        assert error.details["sqlstate"] == "42P01"
    else:
        assert error.details["sqlite_code"] == 1
    assert db.checked_out() == 0


async def test_business_exceptions_are_not_translated(db: Backend) -> None:
    class OutOfStockError(ValueError):
        pass

    class MissingError(NotFoundError):
        pass

    for error in (OutOfStockError("none left"), MissingError("gone"), LookupError("plain")):
        with pytest.raises(type(error)) as caught:
            async with db.atomic():
                await db.call(db.adapter.create, user("buyer"))
                async with db.atomic():
                    raise error
        assert caught.value is error
        assert caught.value.__cause__ is None
    assert await committed_usernames(db) == set()


# --- PostgreSQL: serialization failure (deterministic, no threads) --------------------------------


@pytest.mark.parametrize("db", backend_params(kind="postgres"), indirect=True)
async def test_serialization_failure(db: Backend) -> None:
    """REPEATABLE READ: another connection commits a change to a row this block has read, then this block writes it."""
    alice = await db.call(db.adapter.create, user("alice"))
    with pytest.raises(DatabaseSerializationError) as caught:
        async with db.atomic():
            await db.call(db.adapter.execute, select(User.full_name).where(User.uuid == alice.uuid))  # snapshot
            with psycopg.connect(plain_dsn(db), autocommit=True) as other:
                other.execute("UPDATE users SET full_name = 'other' WHERE username = 'alice'")
            await db.call(db.adapter.execute, text("UPDATE users SET full_name = 'mine' WHERE username = 'alice'"))
    error = caught.value
    assert error.retryable
    assert error.details["sqlstate"] == "40001"
    assert chained_code(error) == "40001"
    assert db.checked_out() == 0
    rows = await db.call(db.adapter.execute, select(User.full_name))
    assert rows.scalars().all() == ["other"]


# --- PostgreSQL: timeouts ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", PG_DRIVERS)
async def test_statement_timeout(build: Callable[..., Backend], name: str) -> None:
    backend = build(name, STATEMENT_TIMEOUT=100)
    began = time.monotonic()
    error = await raises(DatabaseTimeoutError, backend.call(backend.adapter.execute, text("SELECT pg_sleep(2)")))
    assert time.monotonic() - began < 1.5
    assert error.details["sqlstate"] == "57014"
    assert error.retryable
    assert error.__cause__ is not None
    assert backend.checked_out() == 0
    # Inside an atomic block too; the block rolls back and the adapter keeps working.
    with pytest.raises(DatabaseTimeoutError):
        async with backend.atomic():
            await backend.call(backend.adapter.execute, text("SELECT pg_sleep(2)"))
    assert backend.checked_out() == 0
    assert (await backend.call(backend.adapter.execute, text("SELECT 7"))).scalar_one() == 7


async def test_pool_timeout(build: Callable[..., Backend], db: Backend) -> None:
    backend = build(db.name, POOL_SIZE=1, POOL_MAX_OVERFLOW=0, POOL_TIMEOUT=0.2)
    async with connection_held(backend):
        assert backend.checked_out() == 1
        began = time.monotonic()
        if backend.is_async:
            error = await raises(DatabaseTimeoutError, backend.adapter.execute(text("SELECT 1")))
        else:
            # The sync call blocks while it waits; run it off the event loop thread like any other thread would.
            error = await raises(DatabaseTimeoutError, asyncio.to_thread(backend.adapter.execute, text("SELECT 1")))
        waited = time.monotonic() - began
    assert 0.15 < waited < 2
    assert error.details["reason"] == "pool_timeout"
    assert error.retryable
    assert isinstance(error.__cause__, sa_exc.TimeoutError)
    assert backend.checked_out() == 0
    assert (await backend.call(backend.adapter.execute, text("SELECT 1"))).scalar_one() == 1


# --- PostgreSQL: lost connections ----------------------------------------------------------------------


def terminate(dsn: str, pid: int) -> None:
    """Kill the backend ``pid`` from another connection and wait until it is gone."""
    with psycopg.connect(dsn, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        for _ in range(100):
            if admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() == (0,):
                return
            time.sleep(0.02)
    raise AssertionError(f"backend {pid} did not exit")


async def backend_pid(backend: Backend) -> int:
    return int((await backend.call(backend.adapter.execute, text("SELECT pg_backend_pid()"))).scalar_one())


@pytest.mark.parametrize("name", PG_DRIVERS)
async def test_terminated_connection_is_replaced_by_pre_ping(build: Callable[..., Backend], name: str) -> None:
    backend = build(name, POOL_SIZE=1, POOL_MAX_OVERFLOW=0, POOL_PRE_PING=True)
    pid = await backend_pid(backend)
    terminate(plain_dsn(backend), pid)
    assert await backend_pid(backend) != pid  # no error at all: the pool noticed and reconnected
    assert backend.checked_out() == 0


@pytest.mark.parametrize("name", PG_DRIVERS)
async def test_terminated_connection_without_pre_ping(build: Callable[..., Backend], name: str) -> None:
    backend = build(name, POOL_SIZE=1, POOL_MAX_OVERFLOW=0, POOL_PRE_PING=False)
    pid = await backend_pid(backend)
    terminate(plain_dsn(backend), pid)
    error = await raises(DatabaseConnectionError, backend_pid(backend))
    assert error.retryable
    assert error.__cause__ is not None
    assert backend.checked_out() == 0
    new_pid = await backend_pid(backend)  # the broken connection was dropped, not pooled again
    assert new_pid != pid
    # Killed in the middle of an atomic block: the block fails with the same error, nothing leaks.
    with pytest.raises(DatabaseConnectionError):
        async with backend.atomic():
            await backend.call(backend.adapter.create, user("lost"))
            terminate(plain_dsn(backend), await backend_pid(backend))
            await backend.call(backend.adapter.create, user("lost-too"))
    assert backend.checked_out() == 0
    assert await backend_pid(backend) not in (pid, new_pid)


# --- PostgreSQL: cannot connect ------------------------------------------------------------------------


def _adapter_for(name: str, config: PostgresSQLAlchemyConfig) -> Any:
    if name == "pg-psycopg":
        return PostgresSQLAlchemyAdapter(orm_config=config)
    driver = "postgresql+asyncpg" if name == "pg-asyncpg" else "postgresql+psycopg"
    return AsyncPostgresSQLAlchemyAdapter(orm_config=config.model_copy(update={"ASYNC_DRIVER_NAME": driver}))


async def _call(adapter: Any, statement: Any) -> Any:
    result = adapter.execute(statement)
    if asyncio.iscoroutine(result):
        result = await result
    return result


async def _dispose(adapter: Any) -> None:
    result = adapter.session_manager.dispose()
    if asyncio.iscoroutine(result):
        await result


def assert_no_secret(error: BaseException, *things: object) -> None:
    rendered = "".join(traceback.format_exception(error))
    texts = [rendered, str(error), repr(error), *(repr(thing) for thing in things), *(str(thing) for thing in things)]
    if isinstance(error, BaseError):
        texts.append(repr(error.to_dict()))
    for value in texts:
        for form in (SECRET, "Sup3r-Secret", "pa%20ss", "pa ss@word"):
            assert form not in value


@pytest.mark.parametrize("name", PG_DRIVERS)
@pytest.mark.parametrize("given_as", ["fields", "dsn"])
async def test_connection_refused_fast_and_without_password(name: str, given_as: str) -> None:
    port = free_port()
    if given_as == "fields":
        config = PostgresSQLAlchemyConfig(
            HOST="127.0.0.1", PORT=port, USERNAME="app", PASSWORD=SECRET, DATABASE="app", CONNECT_TIMEOUT=2
        )
    else:
        config = PostgresSQLAlchemyConfig(
            POSTGRES_DSN=f"postgresql://app:Sup3r-Secret%2Fpa%20ss%40word@127.0.0.1:{port}/app", CONNECT_TIMEOUT=2
        )
    assert config.PASSWORD is not None
    assert config.PASSWORD.get_secret_value() == SECRET
    adapter = _adapter_for(name, config)
    began = time.monotonic()
    error = await raises(DatabaseConnectionError, _call(adapter, text("SELECT 1")))
    assert time.monotonic() - began < 2
    assert error.retryable
    assert error.__cause__ is not None
    assert_no_secret(error, config, adapter, adapter.session_manager)
    # Inside an atomic block as well.
    block = atomic(adapter)
    with pytest.raises(DatabaseConnectionError) as in_block:
        if name == "pg-psycopg":
            with block:
                adapter.execute(text("SELECT 1"))
        else:
            async with block:
                await adapter.execute(text("SELECT 1"))
    assert_no_secret(in_block.value)
    await _dispose(adapter)


@pytest.mark.parametrize("name", PG_DRIVERS)
async def test_unknown_database(name: str, postgres_dsn: str) -> None:
    config = PostgresSQLAlchemyConfig(POSTGRES_DSN=postgres_dsn).model_copy(
        update={"DATABASE": f"archipy_lite_missing_{uuid.uuid4().hex[:8]}"}
    )
    adapter = _adapter_for(name, config)
    error = await raises(DatabaseConnectionError, _call(adapter, text("SELECT 1")))
    assert error.__cause__ is not None
    if name == "pg-asyncpg":  # libpq (psycopg) does not report a SQLSTATE for connection failures
        assert error.details["sqlstate"] == "3D000"
    await _dispose(adapter)


@contextmanager
def limited_role(postgres_dsn: str) -> Iterator[str]:
    """A throw-away login role allowed one connection at a time (dropped afterwards)."""
    role = f"archipy_lite_limited_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 1')  # type: ignore[arg-type]
    try:
        yield role
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
        wait_until_disconnected(postgres_dsn, role)
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute(f'DROP ROLE "{role}"')  # type: ignore[arg-type]


def wait_until_disconnected(postgres_dsn: str, role: str) -> None:
    """Wait (2 s at most) until the server has let go of every backend of ``role``.

    A backend leaves pg_stat_activity (and frees its connection slot) a moment after its client hung up.
    """
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        for _ in range(100):
            if admin.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", (role,)).fetchone() == (0,):
                return
            time.sleep(0.02)


@pytest.mark.parametrize("name", PG_DRIVERS)
async def test_too_many_connections(name: str, postgres_dsn: str) -> None:
    with limited_role(postgres_dsn) as role:
        config = PostgresSQLAlchemyConfig(POSTGRES_DSN=postgres_dsn).model_copy(update={"USERNAME": role})
        adapter = _adapter_for(name, config)
        role_dsn = make_url(postgres_dsn).set(username=role).render_as_string(hide_password=False)
        with psycopg.connect(role_dsn) as occupying:  # the role's only connection slot
            occupying.execute("SELECT 1")
            if name == "pg-asyncpg":
                error = await raises(DatabaseResourceExhaustedError, _call(adapter, text("SELECT 1")))
                assert error.details["sqlstate"] == "53300"
            else:
                # libpq reports connection failures without a SQLSTATE; the error stays a retryable
                # connection error instead of being guessed from the message text.
                error = await raises(DatabaseError, _call(adapter, text("SELECT 1")))
                assert isinstance(error, DatabaseResourceExhaustedError | DatabaseConnectionError)
            assert error.retryable
            assert error.__cause__ is not None
        wait_until_disconnected(postgres_dsn, role)  # the slot is free again once the server says so
        assert (await _call(adapter, text("SELECT current_user"))).scalar_one() == role
        await _dispose(adapter)


# --- SQLite: busy and read-only ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sqlite-file", "aiosqlite-file"])
async def test_sqlite_busy_is_a_timeout(build: Callable[..., Backend], name: str) -> None:
    backend = build(name, BUSY_TIMEOUT=50)
    await backend.create_schema()
    blocker = sqlite3.connect(str(backend.config.DATABASE), isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # holds the write lock
        began = time.monotonic()
        error = await raises(DatabaseTimeoutError, backend.call(backend.adapter.create, user("waiting")))
        assert time.monotonic() - began < 2
        assert error.details["sqlite_code"] & 0xFF == 5  # SQLITE_BUSY
        assert error.retryable
        assert chained_code(error) == 5
        assert "database is locked" not in error.message
        with pytest.raises(DatabaseTimeoutError):
            async with backend.atomic():
                await backend.call(backend.adapter.create, user("waiting-in-block"))
        assert backend.checked_out() == 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    await backend.call(backend.adapter.create, user("after"))
    assert await committed_usernames(backend) == {"after"}


@pytest.mark.parametrize("is_async", [False, True], ids=["sqlite", "aiosqlite"])
async def test_sqlite_read_only(tmp_path: Path, is_async: bool) -> None:
    path = tmp_path / "shipped.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    BaseEntity.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(User).values(username="shipped", email="s@x.org"))
    engine.dispose()
    before = directory_state(tmp_path)

    config = SQLiteSQLAlchemyConfig(DATABASE=str(path), READ_ONLY=True)
    adapter: Any = (
        AsyncSQLiteSQLAlchemyAdapter(orm_config=config) if is_async else SQLiteSQLAlchemyAdapter(orm_config=config)
    )

    async def call(function: Callable[..., Any], *args: Any) -> Any:
        result = function(*args)
        return await result if asyncio.iscoroutine(result) else result

    assert (await call(adapter.scalars, select(User.username))).all() == ["shipped"]
    error = await raises(DatabaseReadOnlyError, call(adapter.create, user("intruder")))
    # The read-only engine's authorizer refuses the statement before mode=ro would (SQLITE_READONLY, 8).
    assert error.details["sqlite_code"] == 23  # SQLITE_AUTH
    assert chained_code(error) == 23
    with pytest.raises(DatabaseReadOnlyError):
        await call(adapter.execute, text("UPDATE users SET full_name = 'x'"))
    with pytest.raises(DatabaseReadOnlyError):
        if is_async:
            async with atomic(adapter):
                await adapter.create(user("intruder-in-block"))
        else:
            with atomic(adapter):
                adapter.create(user("intruder-in-block"))
    assert (await call(adapter.scalars, select(User.username))).all() == ["shipped"]
    await _dispose(adapter)
    assert directory_state(tmp_path) == before  # same files, same bytes: nothing was written


def directory_state(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}
