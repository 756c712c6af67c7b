"""Transactions over the backend matrix (DESIGN.md decision 1): commit, rollback, savepoints,
on_commit, decorator and context-manager forms, autocommit, pool hygiene and cancellation.

Every check of "committed" reads through a new connection (see ``db_checks``).
"""

# Tests here assert on exceptions leaving whole atomic blocks, so pytest.raises wraps several lines.
# ruff: noqa: PT012

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, insert, select, text

from archipy_lite.helpers.decorators.sqlalchemy_atomic import Atomic, atomic, on_commit
from archipy_lite.models.errors import (
    DatabaseQueryError,
    DatabaseTransactionError,
    InvalidArgumentError,
    NotFoundError,
    UniqueViolationError,
)

from backends import Backend, make_backend
from db_checks import backend_params, committed_rows, committed_usernames, plain_dsn
from models import Post, User

FILE_BACKED = ("pg-psycopg", "pg-asyncpg", "pg-psycopg-async", "sqlite-file", "aiosqlite-file")


class BusinessError(Exception):
    """An application error that has nothing to do with the database."""


class BusinessNotFoundError(NotFoundError):
    """An application error that happens to derive from the library's own BaseError."""


def user(name: str, **fields: Any) -> User:
    return User(username=name, email=f"{name}@example.com", **fields)


async def count_users(db: Backend) -> int:
    result = await db.call(db.adapter.execute, select(func.count()).select_from(User))
    return int(result.scalar_one())


# --- commit and rollback -------------------------------------------------------------------------


async def test_commit_is_visible_from_a_new_connection(db: Backend) -> None:
    async with db.atomic():
        await db.call(db.adapter.create, user("alice"))
        await db.call(db.adapter.create, user("bob"))
        assert db.manager.in_atomic_block()
    assert not db.manager.in_atomic_block()
    assert db.checked_out() == 0
    assert await committed_usernames(db) == {"alice", "bob"}


@pytest.mark.parametrize("db", backend_params(names=FILE_BACKED), indirect=True)
async def test_uncommitted_work_is_invisible_to_other_connections(db: Backend) -> None:
    async with db.atomic():
        await db.call(db.adapter.create, user("pending"))
        assert await committed_usernames(db) == set()
    assert await committed_usernames(db) == {"pending"}


async def test_exception_rolls_everything_back(db: Backend) -> None:
    with pytest.raises(BusinessError):
        async with db.atomic():
            await db.call(db.adapter.create, user("alice"))
            await db.call(db.adapter.create, user("bob"))
            raise BusinessError
    assert db.checked_out() == 0
    assert await committed_usernames(db) == set()


async def test_caught_nested_failure_keeps_outer_work(db: Backend) -> None:
    async with db.atomic():
        await db.call(db.adapter.create, user("outer-before"))
        with pytest.raises(BusinessError):
            async with db.atomic():
                await db.call(db.adapter.create, user("inner"))
                raise BusinessError
        await db.call(db.adapter.create, user("outer-after"))
        # Inside the block the inner row is already gone.
        assert await count_users(db) == 2
    assert await committed_usernames(db) == {"outer-before", "outer-after"}


async def test_caught_nested_database_failure_keeps_outer_work(db: Backend) -> None:
    async with db.atomic():
        await db.call(db.adapter.create, user("alice"))
        with pytest.raises(UniqueViolationError):
            async with db.atomic():
                await db.call(db.adapter.create, user("inner-ok"))
                await db.call(db.adapter.create, User(username="alice", email="other@example.com"))
        await db.call(db.adapter.create, user("carol"))
    assert await committed_usernames(db) == {"alice", "carol"}


async def test_successful_nested_blocks_commit_with_the_outer_block(db: Backend) -> None:
    async with db.atomic():
        await db.call(db.adapter.create, user("a"))
        async with db.atomic():
            await db.call(db.adapter.create, user("b"))
            async with db.atomic():
                await db.call(db.adapter.create, user("c"))
    assert await committed_usernames(db) == {"a", "b", "c"}


async def test_uncaught_nested_failure_rolls_everything_back(db: Backend) -> None:
    with pytest.raises(BusinessError):
        async with db.atomic():
            await db.call(db.adapter.create, user("outer"))
            async with db.atomic():
                await db.call(db.adapter.create, user("inner"))
                raise BusinessError
    assert await committed_usernames(db) == set()


async def test_outer_failure_discards_released_savepoints(db: Backend) -> None:
    with pytest.raises(BusinessError):
        async with db.atomic():
            async with db.atomic():
                await db.call(db.adapter.create, user("inner"))
            raise BusinessError
    assert await committed_usernames(db) == set()


@pytest.mark.parametrize("via", ["create", "execute"])
async def test_failed_statement_without_savepoint_makes_commit_fail(db: Backend, via: str) -> None:
    """A statement error swallowed inside a block without a nested block cannot be committed."""
    await db.call(db.adapter.create, user("taken"))
    with pytest.raises(DatabaseTransactionError) as caught:
        async with db.atomic():
            await db.call(db.adapter.create, user("newcomer"))
            with pytest.raises(UniqueViolationError):
                if via == "create":
                    await db.call(db.adapter.create, User(username="taken", email="x@example.com"))
                else:
                    await db.call(db.adapter.execute, insert(User).values(username="taken", email="y@example.com"))
    assert not caught.value.retryable
    assert db.checked_out() == 0
    assert not db.manager.in_atomic_block()
    assert await committed_usernames(db) == {"taken"}
    # The adapter is usable afterwards.
    await db.call(db.adapter.create, user("later"))
    assert await committed_usernames(db) == {"taken", "later"}


async def test_failed_statement_caught_inside_nested_block_rolls_that_block_back(db: Backend) -> None:
    await db.call(db.adapter.create, user("taken"))
    async with db.atomic():
        await db.call(db.adapter.create, user("outer"))
        with pytest.raises(DatabaseTransactionError):
            async with db.atomic():
                await db.call(db.adapter.create, user("inner"))
                with pytest.raises(UniqueViolationError):
                    await db.call(db.adapter.execute, insert(User).values(username="taken", email="t@example.com"))
        await db.call(db.adapter.create, user("outer-after"))
    assert await committed_usernames(db) == {"taken", "outer", "outer-after"}


async def test_bulk_delete_is_all_or_nothing(db: Backend) -> None:
    async with db.atomic():
        keep = await db.call(db.adapter.create, user("keep"))
        gone = await db.call(db.adapter.create, user("gone"))
    await db.call(db.adapter.execute, text("DELETE FROM users WHERE username = 'gone'"))
    with pytest.raises(NotFoundError):
        await db.call(db.adapter.bulk_delete, [keep, gone])
    assert db.checked_out() == 0
    assert await committed_usernames(db) == {"keep"}
    # Inside a block too: the failed call leaves nothing behind that a later commit would write.
    async with db.atomic():
        with pytest.raises(NotFoundError):
            await db.call(db.adapter.bulk_delete, [keep, gone])
    assert await committed_usernames(db) == {"keep"}


# --- business exceptions -------------------------------------------------------------------------


@pytest.mark.parametrize("error_class", [BusinessError, BusinessNotFoundError, KeyError])
async def test_business_exceptions_pass_through_unchanged(db: Backend, error_class: type[Exception]) -> None:
    error = error_class("the original")
    with pytest.raises(error_class) as caught:
        async with db.atomic():
            await db.call(db.adapter.create, user("alice"))
            async with db.atomic():
                raise error
    assert caught.value is error
    assert caught.value.__cause__ is None
    assert await committed_usernames(db) == set()


async def test_business_exception_from_decorated_function_is_unchanged(db: Backend) -> None:
    error = BusinessError("boom")
    if db.is_async:

        @atomic(db.adapter)
        async def work() -> None:
            await db.adapter.create(user("alice"))
            raise error

        with pytest.raises(BusinessError) as caught:
            await work()
    else:

        @atomic(db.adapter)
        def sync_work() -> None:
            db.adapter.create(user("alice"))
            raise error

        with pytest.raises(BusinessError) as caught:
            sync_work()
    assert caught.value is error
    assert await committed_usernames(db) == set()


# --- on_commit -----------------------------------------------------------------------------------


async def test_on_commit_runs_after_commit_only(db: Backend) -> None:
    seen: list[set[str]] = []
    calls: list[str] = []

    async with db.atomic():
        await db.call(db.adapter.create, user("alice"))
        on_commit(lambda: calls.append("outer"))
        async with db.atomic():
            on_commit(lambda: calls.append("inner-released"))
        assert calls == []
    assert calls == ["outer", "inner-released"]

    # The callback sees the committed data (it runs after COMMIT, not before).
    if db.config.DATABASE != ":memory:":
        snapshot: list[set[str]] = []

        async with db.atomic():
            await db.call(db.adapter.create, user("bob"))
            on_commit(lambda: snapshot.append(_committed_now(db)))
        seen = snapshot
        assert seen == [{"alice", "bob"}]


def _committed_now(db: Backend) -> set[str]:
    if db.is_postgres:
        with psycopg.connect(plain_dsn(db)) as connection:
            return {row[0] for row in connection.execute("SELECT username FROM users")}
    connection = sqlite3.connect(str(db.config.DATABASE))
    try:
        return {row[0] for row in connection.execute("SELECT username FROM users")}
    finally:
        connection.close()


async def test_on_commit_never_runs_after_rollback(db: Backend) -> None:
    calls: list[str] = []
    with pytest.raises(BusinessError):
        async with db.atomic():
            await db.call(db.adapter.create, user("alice"))
            on_commit(lambda: calls.append("outer"))
            async with db.atomic():
                on_commit(lambda: calls.append("inner"))
            raise BusinessError
    assert calls == []


async def test_on_commit_of_rolled_back_savepoint_is_discarded(db: Backend) -> None:
    calls: list[str] = []
    async with db.atomic():
        on_commit(lambda: calls.append("outer"))
        try:
            async with db.atomic():
                on_commit(lambda: calls.append("inner"))
                async with db.atomic():
                    on_commit(lambda: calls.append("innermost"))
                raise BusinessError
        except BusinessError:
            pass
        async with db.atomic():
            on_commit(lambda: calls.append("second-inner"))
    assert calls == ["outer", "second-inner"]


async def test_on_commit_outside_atomic_runs_immediately(db: Backend) -> None:
    calls: list[str] = []
    on_commit(lambda: calls.append("now"))
    assert calls == ["now"]
    on_commit(lambda: calls.append("using"), using=db.adapter)
    assert calls == ["now", "using"]


async def test_on_commit_not_run_when_commit_fails(db: Backend) -> None:
    calls: list[str] = []
    await db.call(db.adapter.create, user("taken"))
    with pytest.raises(DatabaseTransactionError):
        async with db.atomic():
            on_commit(lambda: calls.append("never"))
            with pytest.raises(UniqueViolationError):
                await db.call(db.adapter.create, User(username="taken", email="z@example.com"))
    assert calls == []


@pytest.mark.parametrize("db", backend_params(is_async=True), indirect=True)
async def test_async_on_commit_awaits_coroutine_callbacks(db: Backend) -> None:
    calls: list[str] = []

    async def notify() -> None:
        await asyncio.sleep(0)
        calls.append("awaited")

    async with db.atomic():
        await db.adapter.create(user("alice"))
        on_commit(notify)
    assert calls == ["awaited"]


# --- forms: decorator and context manager ---------------------------------------------------------


async def test_decorator_forms(db: Backend) -> None:
    """``@atomic(adapter)`` and ``@Atomic(adapter)``, sync or async as the adapter requires."""
    if db.is_async:

        @atomic(db.adapter)
        async def add_two(prefix: str) -> list[User]:
            assert db.manager.in_atomic_block()
            return [await db.adapter.create(user(f"{prefix}-1")), await db.adapter.create(user(f"{prefix}-2"))]

        @Atomic(db.adapter)
        async def add_then_fail() -> None:
            await db.adapter.create(user("fail-1"))
            raise BusinessError

        created = await add_two("a")
        with pytest.raises(BusinessError):
            await add_then_fail()
    else:

        @atomic(db.adapter)
        def sync_add_two(prefix: str) -> list[User]:
            assert db.manager.in_atomic_block()
            return [db.adapter.create(user(f"{prefix}-1")), db.adapter.create(user(f"{prefix}-2"))]

        @Atomic(db.adapter)
        def sync_add_then_fail() -> None:
            db.adapter.create(user("fail-1"))
            raise BusinessError

        created = sync_add_two("a")
        with pytest.raises(BusinessError):
            sync_add_then_fail()
    assert [u.username for u in created] == ["a-1", "a-2"]
    assert not db.manager.in_atomic_block()
    assert await committed_usernames(db) == {"a-1", "a-2"}


async def test_decorated_function_nested_in_a_block_is_a_savepoint(db: Backend) -> None:
    if db.is_async:

        @atomic(db.adapter)
        async def failing_inner() -> None:
            await db.adapter.create(user("inner"))
            raise BusinessError

        async with db.atomic():
            await db.adapter.create(user("outer"))
            with pytest.raises(BusinessError):
                await failing_inner()
    else:

        @atomic(db.adapter)
        def sync_failing_inner() -> None:
            db.adapter.create(user("inner"))
            raise BusinessError

        async with db.atomic():
            db.adapter.create(user("outer"))
            with pytest.raises(BusinessError):
                sync_failing_inner()
    assert await committed_usernames(db) == {"outer"}


async def test_context_manager_yields_the_block_session(db: Backend) -> None:
    async with db.atomic() as session:
        assert db.adapter.get_session() is session
        async with db.atomic() as inner:
            assert inner is session
    assert db.adapter.get_session() is not session


async def test_one_atomic_instance_is_reusable(db: Backend) -> None:
    block = Atomic(db.adapter)
    for name in ("one", "two"):
        if db.is_async:
            async with block:
                await db.adapter.create(user(name))
        else:
            with block:
                db.adapter.create(user(name))
    assert await committed_usernames(db) == {"one", "two"}


async def test_retries_with_a_with_block_is_refused(db: Backend) -> None:
    with pytest.raises(InvalidArgumentError):
        async with db.atomic(retries=2):
            await db.call(db.adapter.create, user("never"))
    assert not db.manager.in_atomic_block()
    assert db.checked_out() == 0
    async with db.atomic():
        await db.call(db.adapter.create, user("fine"))
    assert await committed_usernames(db) == {"fine"}


async def test_negative_retries_is_refused(db: Backend) -> None:
    with pytest.raises(InvalidArgumentError):
        atomic(db.adapter, retries=-1)


async def test_durable_block_cannot_be_nested(db: Backend) -> None:
    async with db.atomic(durable=True):
        await db.call(db.adapter.create, user("durable"))
    with pytest.raises(DatabaseTransactionError):
        async with db.atomic():
            await db.call(db.adapter.create, user("outer"))
            async with db.atomic(durable=True):
                await db.call(db.adapter.create, user("never"))
    assert not db.manager.in_atomic_block()
    assert db.checked_out() == 0
    assert await committed_usernames(db) == {"durable"}


async def test_sync_atomic_refuses_async_adapter_and_vice_versa(db: Backend) -> None:
    with pytest.raises(InvalidArgumentError):
        if db.is_async:
            with atomic(db.adapter):
                pass
        else:
            async with atomic(db.adapter):
                pass


# --- two databases in one block ------------------------------------------------------------------


@pytest.fixture
async def sqlite_and_postgres(
    request: pytest.FixtureRequest, postgres_dsn: str, tmp_path: Path
) -> AsyncIterator[tuple[Backend, Backend]]:
    is_async: bool = request.param
    pair = (
        make_backend("aiosqlite-file" if is_async else "sqlite-file", postgres_dsn=None, tmp_dir=tmp_path),
        make_backend("pg-asyncpg" if is_async else "pg-psycopg", postgres_dsn=postgres_dsn, tmp_dir=tmp_path),
    )
    for backend in pair:
        await backend.create_schema()
        await backend.clear_tables()
    yield pair
    for backend in pair:
        await backend.clear_tables()
        await backend.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("sqlite_and_postgres", [False, True], ids=["sync", "async"], indirect=True)
async def test_two_databases_in_one_block(sqlite_and_postgres: tuple[Backend, Backend]) -> None:
    lite, pg = sqlite_and_postgres
    a, b = lite.adapter, pg.adapter

    async def both(action: str) -> None:
        if lite.is_async:
            async with atomic(a), atomic(b):
                assert a.get_session() is not b.get_session()
                await a.create(user(f"lite-{action}"))
                await b.create(user(f"pg-{action}"))
                if action == "fail":
                    raise BusinessError
        else:
            with atomic(a), atomic(b):
                assert a.get_session() is not b.get_session()
                a.create(user(f"lite-{action}"))
                b.create(user(f"pg-{action}"))
                if action == "fail":
                    raise BusinessError

    await both("ok")
    with pytest.raises(BusinessError):
        await both("fail")
    assert await committed_usernames(lite) == {"lite-ok"}
    assert await committed_usernames(pg) == {"pg-ok"}
    assert lite.checked_out() == 0
    assert pg.checked_out() == 0

    # on_commit(using=...) picks the database; without it, the innermost block.
    calls: list[str] = []
    if lite.is_async:
        async with atomic(a):
            async with atomic(b):
                on_commit(lambda: calls.append("pg"))
                on_commit(lambda: calls.append("lite"), using=a)
            assert calls == ["pg"]
    else:
        with atomic(a):
            with atomic(b):
                on_commit(lambda: calls.append("pg"))
                on_commit(lambda: calls.append("lite"), using=a)
            assert calls == ["pg"]
    assert calls == ["pg", "lite"]


# --- autocommit outside atomic -------------------------------------------------------------------


async def test_autocommit_create_is_durable_at_once(db: Backend) -> None:
    await db.call(db.adapter.create, user("alice"))
    assert db.checked_out() == 0
    assert await committed_usernames(db) == {"alice"}


async def test_loaded_changed_flushed_object_is_durable(db: Backend) -> None:
    created = await db.call(db.adapter.create, user("alice"))
    loaded = await db.call(db.adapter.get_by_uuid, User, created.uuid)
    assert loaded is not None
    loaded.full_name = "Alice Liddell"
    await db.flush()
    assert db.checked_out() == 0
    rows = await _full_names(db)
    assert rows == {"alice": "Alice Liddell"}
    # And a later read through the adapter sees it too.
    again = await db.call(db.adapter.get_by_uuid, User, created.uuid)
    assert again.full_name == "Alice Liddell"


async def _full_names(db: Backend) -> dict[str, str | None]:
    return dict(await committed_rows(db, "SELECT username, full_name FROM users"))


async def test_failed_autocommit_flush_rolls_back_and_releases(db: Backend) -> None:
    await db.call(db.adapter.create, user("alice"))
    bob = await db.call(db.adapter.create, user("bob"))
    bob.username = "alice"
    with pytest.raises(UniqueViolationError):
        await db.flush()
    assert db.checked_out() == 0
    assert await committed_usernames(db) == {"alice", "bob"}
    await db.call(db.adapter.create, user("carol"))
    assert await committed_usernames(db) == {"alice", "bob", "carol"}


async def test_bulk_create_is_all_or_nothing(db: Backend) -> None:
    await db.call(db.adapter.create, user("existing"))
    batch = [user("new-1"), user("new-2"), User(username="existing", email="dup@example.com"), user("new-3")]
    with pytest.raises(UniqueViolationError):
        await db.call(db.adapter.bulk_create, batch)
    assert db.checked_out() == 0
    assert await committed_usernames(db) == {"existing"}
    created = await db.call(db.adapter.bulk_create, [user("ok-1"), user("ok-2")])
    assert len(created) == 2
    assert await committed_usernames(db) == {"existing", "ok-1", "ok-2"}


async def test_bulk_create_with_duplicate_inside_the_batch_is_all_or_nothing(db: Backend) -> None:
    batch = [user("x"), user("y"), User(username="x", email="x2@example.com")]
    with pytest.raises(UniqueViolationError):
        await db.call(db.adapter.bulk_create, batch)
    assert await committed_usernames(db) == set()


async def test_no_connection_stays_checked_out_outside_atomic(db: Backend) -> None:
    adapter = db.adapter
    assert db.checked_out() == 0
    alice = await db.call(adapter.create, user("alice"))
    assert db.checked_out() == 0
    await db.call(adapter.bulk_create, [user("b1"), user("b2")])
    assert db.checked_out() == 0
    assert await db.call(adapter.get_by_uuid, User, alice.uuid) is not None
    assert db.checked_out() == 0
    await db.call(adapter.execute, select(User).where(User.username == "alice"))
    assert db.checked_out() == 0
    (await db.call(adapter.scalars, select(User.username))).all()
    assert db.checked_out() == 0
    await db.call(adapter.execute_search_query, User, select(User), None, None)
    assert db.checked_out() == 0
    post = await db.call(adapter.create, Post(title="t", content="c", author_id=alice.uuid))
    await db.call(adapter.delete, post)
    assert db.checked_out() == 0
    b1_b2 = (await db.call(adapter.scalars, select(User).where(User.username.in_(["b1", "b2"])))).all()
    await db.call(adapter.bulk_delete, b1_b2)
    assert db.checked_out() == 0
    # ... and after errors of every stage: a failed statement, bad SQL, bad input, a missing row.
    with pytest.raises(UniqueViolationError):
        await db.call(adapter.create, User(username="alice", email="again@example.com"))
    assert db.checked_out() == 0
    with pytest.raises(DatabaseQueryError):
        await db.call(adapter.execute, text("SELECT * FROM no_such_table"))
    assert db.checked_out() == 0
    with pytest.raises(InvalidArgumentError):
        await db.call(adapter.get_by_uuid, User, "not-a-uuid")
    assert db.checked_out() == 0
    await db.call(adapter.delete, alice)
    with pytest.raises(NotFoundError):
        await db.call(adapter.delete, alice)
    assert db.checked_out() == 0
    assert await committed_usernames(db) == set()


async def test_entities_stay_readable_after_commit(db: Backend) -> None:
    async with db.atomic():
        alice = await db.call(db.adapter.create, user("alice", full_name="Alice"))
        post = await db.call(db.adapter.create, Post(title="hello", content="world", author_id=alice.uuid))
        loaded = await db.call(db.adapter.get_by_uuid, User, alice.uuid)
    # Attribute access after the block: no expiry, no lazy load, no MissingGreenlet.
    assert (alice.username, alice.email, alice.full_name) == ("alice", "alice@example.com", "Alice")
    assert alice.uuid is not None
    assert alice.created_at is not None
    assert alice.updated_at is not None
    assert (post.title, post.content, post.author_id, post.is_deleted) == ("hello", "world", alice.uuid, False)
    assert loaded is alice
    outside = await db.call(db.adapter.get_by_uuid, User, alice.uuid)
    assert outside.username == "alice"
    assert outside.created_at is not None
    results = (await db.call(db.adapter.scalars, select(User))).all()
    assert [u.full_name for u in results] == ["Alice"]


# --- async cancellation --------------------------------------------------------------------------


@pytest.mark.parametrize("db", backend_params(is_async=True), indirect=True)
async def test_cancelling_a_task_inside_atomic_rolls_back(db: Backend) -> None:
    started = asyncio.Event()

    async def work() -> None:
        async with atomic(db.adapter):
            await db.adapter.create(user("cancelled"))
            started.set()
            if db.is_postgres:
                await db.adapter.execute(text("SELECT pg_sleep(5)"))
            else:
                await asyncio.sleep(5)

    task = asyncio.create_task(work())
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.sleep(0.2)  # let the statement reach the server
    began = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - began < 2
    assert db.checked_out() == 0
    assert await committed_usernames(db) == set()
    await db.adapter.create(user("next"))
    assert await committed_usernames(db) == {"next"}
    if db.is_postgres:
        await asyncio.sleep(0.1)
        busy = await db.adapter.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE 'SELECT pg_sleep(5)%' AND state = 'active'"
            )
        )
        assert busy.scalar_one() == 0, "the cancelled statement is still running on the server"


async def test_cancelling_tasks_waiting_for_a_sqlite_lock(tmp_path: Path) -> None:
    """aiosqlite: tasks blocked on another connection's write lock are cancelled cleanly.

    The driver finishes the statement in flight (it waits at most BUSY_TIMEOUT) before the
    rollback, so cancellation completes within that bound and leaves no lock behind.
    """
    db = make_backend("aiosqlite-file", postgres_dsn=None, tmp_dir=tmp_path, BUSY_TIMEOUT=400)
    await db.create_schema()
    blocker = sqlite3.connect(str(db.config.DATABASE), isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        blocker.execute(
            "INSERT INTO users (uuid, created_at, updated_at, username, email) "
            "VALUES ('00000000000000000000000000000009', '2024-01-01', '2024-01-01', 'blocker', 'b@x')"
        )
        waiting = asyncio.create_task(db.adapter.create(user("waiter")))
        in_block = asyncio.create_task(_in_atomic_waiting(db))
        await asyncio.sleep(0.1)
        began = time.monotonic()
        for task in (waiting, in_block):
            task.cancel()
        for task in (waiting, in_block):
            with pytest.raises(asyncio.CancelledError):
                await task
        assert time.monotonic() - began < 2
        assert db.checked_out() == 0
        blocker.execute("ROLLBACK")
    finally:
        blocker.close()
    assert await committed_usernames(db) == set()
    await db.adapter.create(user("next"))
    assert await committed_usernames(db) == {"next"}
    await db.dispose()


async def _in_atomic_waiting(db: Backend) -> None:
    async with atomic(db.adapter):
        await db.adapter.create(user("in-block"))
