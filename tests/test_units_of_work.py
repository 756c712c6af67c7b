"""Units of work over the backend matrix (DESIGN.md decision 9), and what calls outside any unit may do.

Inside a unit every call shares one session and one pooled connection; between atomic blocks each
statement is durable when it returns and no transaction stays open; at the end the connection goes
back and objects stay readable but detached. Outside any unit a call never writes (or drops)
another object's unsaved change, and a lazy load leaves nothing behind. Committed state is always
read through a new connection (see ``db_checks``).
"""

# ruff: noqa: PT012

from __future__ import annotations

import asyncio
import functools
import re
import sqlite3
import threading
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.orm.exc import DetachedInstanceError

from archipy_lite import atomic, on_commit, unit_of_work
from archipy_lite.models.errors import (
    DatabaseConnectionError,
    DatabaseReadOnlyError,
    InvalidArgumentError,
    LazyLoadError,
    PendingChangesError,
    UniqueViolationError,
    UnsavedChangesWarning,
)

from backends import Backend
from db_checks import backend_params, committed_rows, committed_usernames, plain_dsn
from models import Post, User

FILE_BACKED = ("pg-psycopg", "pg-asyncpg", "pg-psycopg-async", "sqlite-file", "aiosqlite-file")


def user(name: str, **fields: Any) -> User:
    return User(username=name, email=f"{name}@example.com", **fields)


async def full_names(db: Backend) -> dict[str, str | None]:
    return dict(await committed_rows(db, "SELECT username, full_name FROM users"))


async def with_posts(db: Backend, name: str, titles: list[str]) -> User:
    author = await db.call(db.adapter.create, user(name))
    for title in titles:
        await db.call(db.adapter.create, Post(title=title, content="c", author_id=author.uuid))
    return author


def idle_in_transaction(db: Backend) -> int:
    with psycopg.connect(plain_dsn(db), autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state LIKE 'idle in transaction%'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def sqlite_write_lock_is_free(db: Backend) -> bool:
    other = sqlite3.connect(str(db.config.DATABASE), timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


# --- one unit, one session, one connection --------------------------------------------------------


async def test_calls_in_a_unit_share_one_session_and_one_checkout(db: Backend) -> None:
    alice = await db.call(db.adapter.create, user("alice"))
    checkouts, stop = db.count_checkouts()
    try:
        async with db.unit() as session:
            assert db.adapter.get_session() is session
            for _ in range(5):
                assert (await db.call(db.adapter.get_by_uuid, User, alice.uuid)).username == "alice"
            await db.call(db.adapter.create, user("bob"))
            (await db.call(db.adapter.scalars, select(User.username))).all()
            await db.call(db.adapter.execute_search_query, User, select(User), None, None)
            async with db.atomic() as block_session:
                assert block_session is session
                await db.call(db.adapter.create, user("carol"))
            assert db.checked_out() == 1
    finally:
        stop()
    assert checkouts[0] == 1
    assert db.checked_out() == 0
    assert await committed_usernames(db) == {"alice", "bob", "carol"}


@pytest.mark.parametrize("db", backend_params(names=FILE_BACKED), indirect=True)
async def test_each_call_in_a_unit_is_durable_when_it_returns(db: Backend) -> None:
    async with db.unit():
        await db.call(db.adapter.create, user("alice"))
        assert await committed_usernames(db) == {"alice"}  # seen from another connection, unit still open
        await db.call(db.adapter.execute, text("UPDATE users SET full_name = 'A' WHERE username = 'alice'"))
        assert await full_names(db) == {"alice": "A"}
        if db.is_postgres:
            assert idle_in_transaction(db) == 0
        else:
            assert sqlite_write_lock_is_free(db)


async def test_objects_stay_readable_but_detached_after_the_unit(db: Backend) -> None:
    author = await with_posts(db, "alice", ["p1"])
    async with db.unit():
        loaded = await db.call(db.adapter.get_by_uuid, User, author.uuid)
    assert (loaded.username, loaded.email) == ("alice", "alice@example.com")
    with pytest.raises(LazyLoadError) as caught:
        _ = loaded.posts
    assert not isinstance(caught.value, DetachedInstanceError)  # a typed error, SQLAlchemy's chained
    assert isinstance(caught.value.__cause__, DetachedInstanceError)
    assert "selectinload" in caught.value.message
    assert db.checked_out() == 0


@pytest.mark.parametrize("db", backend_params(is_async=False), indirect=True)
async def test_lazy_loads_inside_a_sync_unit_work_and_leave_no_transaction(db: Backend) -> None:
    author = await with_posts(db, "alice", ["p1", "p2"])
    async with db.unit():
        loaded = await db.call(db.adapter.get_by_uuid, User, author.uuid)
        assert sorted(post.title for post in loaded.posts) == ["p1", "p2"]
        assert loaded.posts[0].author is loaded
        if db.is_postgres:
            assert idle_in_transaction(db) == 0
        elif db.config.DATABASE != ":memory:":
            assert sqlite_write_lock_is_free(db)
        await db.call(db.adapter.create, Post(title="p3", content="c", author_id=author.uuid))
    assert db.checked_out() == 0
    assert sorted(row[0] for row in await committed_rows(db, "SELECT title FROM posts")) == ["p1", "p2", "p3"]


@pytest.mark.parametrize("db", backend_params(is_async=True), indirect=True)
async def test_async_lazy_loads_raise_a_typed_error_with_a_hint(db: Backend) -> None:
    author = await with_posts(db, "alice", ["p1"])
    async with db.unit():
        loaded = await db.call(db.adapter.get_by_uuid, User, author.uuid)
        with pytest.raises(LazyLoadError) as caught:
            _ = loaded.posts
        assert not isinstance(caught.value, MissingGreenlet)
        assert "selectinload" in caught.value.message
        await db.adapter.get_session().refresh(loaded, ["posts"])  # the awaited way works
        assert [post.title for post in loaded.posts] == ["p1"]
        await db.call(db.adapter.create, user("after"))  # the session is still usable
    assert await committed_usernames(db) == {"alice", "after"}


async def test_a_nested_unit_joins_the_outer_one(db: Backend) -> None:
    async with db.unit() as outer, db.unit() as inner:
        assert inner is outer
        await db.call(db.adapter.create, user("alice"))
        assert db.checked_out() == 1
    assert db.checked_out() == 0
    assert await committed_usernames(db) == {"alice"}


async def test_atomic_inside_a_unit_rolls_back_on_the_same_connection(db: Backend) -> None:
    checkouts, stop = db.count_checkouts()
    try:
        async with db.unit():
            await db.call(db.adapter.create, user("kept"))
            with pytest.raises(RuntimeError):
                async with db.atomic():
                    await db.call(db.adapter.create, user("rolled-back"))
                    async with db.atomic():  # a savepoint
                        await db.call(db.adapter.create, user("inner"))
                    raise RuntimeError("roll the block back")
            await db.call(db.adapter.create, user("after"))
    finally:
        stop()
    assert checkouts[0] == 1
    assert await committed_usernames(db) == {"kept", "after"}


async def test_atomic_unit_is_one_transaction(db: Backend) -> None:
    ran: list[str] = []
    with pytest.raises(UniqueViolationError):
        async with db.unit(atomic=True):
            await db.call(db.adapter.create, user("alice"))
            on_commit(lambda: ran.append("never"))
            await db.call(db.adapter.create, user("alice"))
    assert ran == []
    assert await committed_usernames(db) == set()
    async with db.unit(atomic=True):
        await db.call(db.adapter.create, user("bob"))
        on_commit(lambda: ran.append("committed"))
        assert db.manager.in_atomic_block()
    assert ran == ["committed"]
    assert await committed_usernames(db) == {"bob"}


@asynccontextmanager
async def joined_on_demand(db: Backend, **options: Any) -> AsyncIterator[Any]:
    """A unit of work naming no database: ``db`` joins it at its first call (as under the web middleware)."""
    unit = unit_of_work(every_database=True, **options)
    if db.is_async:
        async with unit:
            yield unit
    else:
        with unit:
            yield unit


async def test_on_commit_waits_for_the_commit_of_a_database_that_joined_on_demand(db: Backend) -> None:
    ran: list[str] = []
    with pytest.raises(RuntimeError):
        async with joined_on_demand(db, atomic=True):
            await db.call(db.adapter.create, user("alice"))
            on_commit(lambda: ran.append("never"))
            raise RuntimeError("roll the unit back")
    assert ran == []
    async with joined_on_demand(db, atomic=True):
        on_commit(lambda: ran.append("before any database"))  # nothing joined yet: waits for the commit
        await db.call(db.adapter.create, user("bob"))
        on_commit(lambda: ran.append("committed"))
        async with db.atomic():  # a block inside the unit: the same transaction
            on_commit(lambda: ran.append("committed too"))
        assert ran == []
    assert ran == ["before any database", "committed", "committed too"]
    assert await committed_usernames(db) == {"bob"}


async def test_a_nested_unit_first_to_use_a_database_joins_the_outer_on_demand_unit(db: Backend) -> None:
    ran: list[str] = []

    async def service() -> None:  # a service that opens its own unit, as @unit_of_work(adapter) does
        async with db.unit():
            await db.call(db.adapter.create, user("nested"))
            on_commit(lambda: ran.append("nested committed"))

    with pytest.raises(RuntimeError):
        async with joined_on_demand(db, atomic=True):
            on_commit(lambda: ran.append("never"))
            await service()
            raise RuntimeError("the outer unit rolls back, the nested one with it")
    assert ran == []
    assert await committed_usernames(db) == set()
    async with joined_on_demand(db, atomic=True):
        await service()
    assert ran == ["nested committed"]
    assert await committed_usernames(db) == {"nested"}


async def test_a_database_joining_a_read_only_unit_on_demand_is_read_only(db: Backend) -> None:
    alice = await db.call(db.adapter.create, user("alice"))
    async with joined_on_demand(db, read_only=True):
        assert (await db.call(db.adapter.get_by_uuid, User, alice.uuid)).username == "alice"
        with pytest.raises(DatabaseReadOnlyError):
            await db.call(db.adapter.create, user("bob"))
    assert await committed_usernames(db) == {"alice"}


@pytest.mark.parametrize("db", backend_params(names=FILE_BACKED), indirect=True)  # read from another connection
async def test_after_an_early_commit_a_database_joining_on_demand_autocommits(db: Backend) -> None:
    unit = unit_of_work(every_database=True, atomic=True)
    with pytest.raises(RuntimeError):
        if db.is_async:
            async with unit:
                await unit.commit_async()  # what the middleware does before the response leaves
                await _first_use_after_the_commit(db)
        else:
            with unit:
                unit.commit()
                await _first_use_after_the_commit(db)
    assert await committed_usernames(db) == {"background"}


async def _first_use_after_the_commit(db: Backend) -> None:
    """A background task's first call on ``db``: durable when it returns, whatever follows."""
    await db.call(db.adapter.create, user("background"))
    assert not db.manager.in_atomic_block()
    assert await committed_usernames(db) == {"background"}
    raise RuntimeError("the task fails later")


async def test_atomic_without_a_target_binds_to_the_unit(db: Backend) -> None:
    async with db.unit():
        block = atomic()
        if db.is_async:
            async with block:
                await db.call(db.adapter.create, user("alice"))
                assert db.manager.in_atomic_block()
        else:
            with block:
                await db.call(db.adapter.create, user("alice"))
                assert db.manager.in_atomic_block()
    assert await committed_usernames(db) == {"alice"}


# --- changes nobody saved ------------------------------------------------------------------------


async def test_an_unsaved_change_is_discarded_with_a_warning_and_never_written_later(db: Backend) -> None:
    alice = await db.call(db.adapter.create, user("alice"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with db.unit():
            loaded = await db.call(db.adapter.get_by_uuid, User, alice.uuid)
            loaded.full_name = "never saved"
    [warning] = [w for w in caught if issubclass(w.category, UnsavedChangesWarning)]
    assert re.search(r"User\(.*\) \[full_name\]", str(warning.message))
    assert "never saved" not in str(warning.message)
    async with db.unit():
        await db.call(db.adapter.create, user("bob"))
        again = await db.call(db.adapter.get_by_uuid, User, alice.uuid)
        assert again.full_name is None
        await db.flush()
    assert await full_names(db) == {"alice": None, "bob": None}


async def test_a_saved_change_gives_no_warning(db: Backend) -> None:
    alice = await db.call(db.adapter.create, user("alice"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsavedChangesWarning)
        async with db.unit():
            loaded = await db.call(db.adapter.get_by_uuid, User, alice.uuid)
            loaded.full_name = "saved"
            await db.flush()
            loaded.full_name = "saved"  # the same value again: not a change
    assert await full_names(db) == {"alice": "saved"}


async def test_a_write_call_refuses_to_save_another_objects_change(db: Backend) -> None:
    alice = await db.call(db.adapter.create, user("alice"))
    async with db.unit():
        loaded = await db.call(db.adapter.get_by_uuid, User, alice.uuid)
        loaded.full_name = "pending"
        with pytest.raises(PendingChangesError) as caught:
            await db.call(db.adapter.create, user("bob"))
        assert "User(" in caught.value.message
        assert "full_name" in caught.value.message
        assert "pending" not in caught.value.message  # names attributes, never values
        await db.call(db.adapter.get_by_uuid, User, alice.uuid)  # reads neither write nor drop it
        assert loaded.full_name == "pending"
        await db.flush()  # saving it explicitly works, and then the create does
        await db.call(db.adapter.create, user("bob"))
    assert await full_names(db) == {"alice": "pending", "bob": None}


async def test_a_write_call_saves_what_its_objects_cascade_to(db: Backend) -> None:
    author = await db.call(db.adapter.create, user("alice"))
    async with db.unit():
        loaded = await db.call(db.adapter.get_by_uuid, User, author.uuid)
        post = Post(title="t", content="c")
        post.author = loaded  # the post reaches its author: handing the post over covers both
        loaded.full_name = "Alice"
        await db.call(db.adapter.create, post)
    assert await full_names(db) == {"alice": "Alice"}


async def test_an_atomic_block_saves_the_units_pending_changes(db: Backend) -> None:
    alice = await db.call(db.adapter.create, user("alice"))
    async with db.unit():
        loaded = await db.call(db.adapter.get_by_uuid, User, alice.uuid)
        loaded.full_name = "changed before the block"
        async with db.atomic():
            await db.call(db.adapter.create, user("bob"))
    assert await full_names(db) == {"alice": "changed before the block", "bob": None}


@pytest.mark.parametrize("db", backend_params(is_async=False), indirect=True)
async def test_one_worker_thread_two_requests_the_first_change_is_never_written(db: Backend) -> None:
    alice = await db.call(db.adapter.create, user("alice"))
    bob = await db.call(db.adapter.create, user("bob"))
    errors: list[BaseException] = []

    def request_one() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnsavedChangesWarning)
            with unit_of_work(db.adapter):
                db.adapter.get_by_uuid(User, alice.uuid).full_name = "leaked"

    def request_two() -> None:
        with unit_of_work(db.adapter):
            db.adapter.get_by_uuid(User, bob.uuid)
            db.adapter.create(user("carol"))
            db.adapter.get_session().flush()

    def worker() -> None:
        try:
            request_one()
            request_two()
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert errors == []
    assert await full_names(db) == {"alice": None, "bob": None, "carol": None}


# --- outside any unit ------------------------------------------------------------------------------


async def test_outside_a_unit_an_unrelated_read_or_create_never_commits_a_pending_change(db: Backend) -> None:
    alice = await db.call(db.adapter.create, user("alice"))
    bob = await db.call(db.adapter.create, user("bob"))
    loaded = await db.call(db.adapter.get_by_uuid, User, alice.uuid)
    loaded.full_name = "pending"
    await db.call(db.adapter.get_by_uuid, User, bob.uuid)
    (await db.call(db.adapter.scalars, select(User))).all()
    await db.call(db.adapter.execute_search_query, User, select(User), None, None)
    with pytest.raises(PendingChangesError):
        await db.call(db.adapter.create, user("carol"))
    assert await full_names(db) == {"alice": None, "bob": None}
    assert loaded.full_name == "pending"
    await db.flush()  # the tutorial's update: load, change, get_session().flush()
    assert await full_names(db) == {"alice": "pending", "bob": None}
    await db.call(db.adapter.create, user("carol"))
    assert db.checked_out() == 0


@pytest.mark.parametrize("db", backend_params(is_async=False), indirect=True)
async def test_outside_a_unit_a_lazy_load_leaves_nothing_behind(db: Backend) -> None:
    author = await with_posts(db, "alice", ["p1"])
    loaded = await db.call(db.adapter.get_by_uuid, User, author.uuid)
    assert [post.title for post in loaded.posts] == ["p1"]
    assert db.checked_out() == 0
    assert db.adapter.get_session().get_transaction() is None
    if db.is_postgres:
        assert idle_in_transaction(db) == 0
    elif db.config.DATABASE != ":memory:":
        assert sqlite_write_lock_is_free(db)


@pytest.mark.parametrize("db", backend_params(names=FILE_BACKED), indirect=True)
async def test_outside_a_unit_reads_after_a_lazy_load_see_other_connections_commits(db: Backend) -> None:
    author = await with_posts(db, "alice", ["p1"])
    loaded = await db.call(db.adapter.get_by_uuid, User, author.uuid)
    if not db.is_async:
        assert len(loaded.posts) == 1
    if db.is_postgres:
        with psycopg.connect(plain_dsn(db), autocommit=True) as other:
            other.execute("UPDATE users SET full_name = 'from elsewhere'")
    else:
        other = sqlite3.connect(str(db.config.DATABASE), isolation_level=None)
        other.execute("UPDATE users SET full_name = 'from elsewhere'")
        other.close()
    again = await db.call(db.adapter.get_by_uuid, User, author.uuid)
    assert again.full_name == "from elsewhere"


@pytest.mark.parametrize("db", backend_params(is_async=True), indirect=True)
async def test_outside_a_unit_async_lazy_loads_raise_a_typed_error(db: Backend) -> None:
    author = await with_posts(db, "alice", ["p1"])
    loaded = await db.call(db.adapter.get_by_uuid, User, author.uuid)
    with pytest.raises(LazyLoadError):
        _ = loaded.posts
    assert db.checked_out() == 0


async def test_a_direct_statement_on_the_session_between_blocks_commits_by_itself(db: Backend) -> None:
    await db.call(db.adapter.create, user("alice"))
    session = db.adapter.get_session()
    await db.call(session.execute, text("UPDATE users SET full_name = 'direct'"))
    assert session.get_transaction() is None
    assert db.checked_out() == 0
    assert await full_names(db) == {"alice": "direct"}


# --- concurrency and tasks ---------------------------------------------------------------------------


@pytest.mark.parametrize("db", backend_params(is_async=True), indirect=True)
async def test_gather_inside_an_async_unit_takes_turns_on_the_session(db: Backend) -> None:
    async with db.unit():
        created = await asyncio.gather(*(db.adapter.create(user(f"u{i}")) for i in range(10)))
        found = await asyncio.gather(*(db.adapter.get_by_uuid(User, item.uuid) for item in created))
    assert [item.username for item in found] == [f"u{i}" for i in range(10)]
    assert await committed_usernames(db) == {f"u{i}" for i in range(10)}


@pytest.mark.parametrize("db", backend_params(is_async=True), indirect=True)
async def test_a_tasks_atomic_block_never_takes_in_another_tasks_calls(db: Backend) -> None:
    """Task A's block rolls back; task B, started before it, writes meanwhile: B's row is durable."""
    opened, written = asyncio.Event(), asyncio.Event()

    async def a() -> None:
        with pytest.raises(RuntimeError):
            async with atomic(db.adapter):
                await db.adapter.create(user("a-in-block"))
                opened.set()
                await asyncio.sleep(0.05)  # B's write is queued behind the block meanwhile
                assert not written.is_set()
                raise RuntimeError("A rolls back")

    async def b() -> None:
        await opened.wait()
        await db.adapter.create(user("b-autocommit"))
        written.set()
        async with atomic(db.adapter):  # a block of its own, after A's
            await db.adapter.create(user("b-in-block"))

    async def inner() -> None:  # started inside A's block: it joins it
        async with atomic(db.adapter):
            await asyncio.gather(*(db.adapter.create(user(f"child{i}")) for i in range(3)))

    async with db.unit():
        await asyncio.gather(a(), b())
        await inner()
    assert await committed_usernames(db) == {"b-autocommit", "b-in-block", "child0", "child1", "child2"}


@pytest.mark.parametrize("db", backend_params(is_async=False), indirect=True)
async def test_threads_sharing_a_unit_take_turns_with_atomic_blocks(db: Backend) -> None:
    import contextvars

    def work(i: int) -> None:
        created = db.adapter.create(user(f"t{i}"))
        assert db.adapter.get_by_uuid(User, created.uuid) is not None  # durable, not in someone's block
        try:
            with atomic(db.adapter):
                db.adapter.create(user(f"block{i}"))
                if i % 3 == 0:
                    raise RuntimeError("this thread's block rolls back, and only its own work")
        except RuntimeError:
            pass

    async with db.unit():
        threads = [threading.Thread(target=contextvars.copy_context().run, args=(work, i)) for i in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    expected = {f"t{i}" for i in range(12)} | {f"block{i}" for i in range(12) if i % 3}
    assert await committed_usernames(db) == expected


@pytest.mark.parametrize("db", backend_params(is_async=False), indirect=True)
async def test_a_thread_started_with_the_units_context_shares_the_unit(db: Backend) -> None:
    import contextvars

    seen: list[Any] = []
    async with db.unit() as session:
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(lambda: seen.append(db.adapter.get_session()),))
        thread.start()
        thread.join()
    assert seen == [session]


# --- decorators ----------------------------------------------------------------------------------


def test_decorators_refuse_generator_functions() -> None:
    def sync_gen() -> Any:
        yield 1

    async def async_gen() -> Any:
        yield 1

    for decorator in (atomic(kind="sqlite"), unit_of_work(kind="sqlite")):
        for function in (sync_gen, async_gen):
            with pytest.raises(InvalidArgumentError, match="generator"):
                decorator(function)


def _passed_through(function: Any) -> Any:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return wrapper


class _Feed:
    def __call__(self) -> Any:
        yield 1


def test_decorators_refuse_generator_functions_behind_wrappers() -> None:
    def sync_gen() -> Any:
        yield 1

    async def async_gen() -> Any:
        yield 1

    hidden = [_passed_through(sync_gen), _passed_through(async_gen), staticmethod(sync_gen), _Feed()]
    for decorator in (atomic(kind="sqlite"), unit_of_work(kind="sqlite")):
        for function in hidden:
            with pytest.raises(InvalidArgumentError, match="generator"):
                decorator(function)


@pytest.mark.parametrize("db", backend_params(is_async=False), indirect=True)
async def test_a_decorated_function_that_returns_a_generator_is_refused_when_called(db: Backend) -> None:
    def rows() -> Any:
        db.adapter.create(user("never"))  # a generator body: runs only when iterated
        yield 1

    def hands_out_a_generator() -> Any:  # not a generator function: nothing to see when decorating
        return rows()

    for decorated in (atomic(db.adapter)(hands_out_a_generator), unit_of_work(db.adapter)(hands_out_a_generator)):
        with pytest.raises(InvalidArgumentError, match="generator"):
            decorated()
    assert await committed_usernames(db) == set()


@pytest.mark.parametrize("db", backend_params(is_async=True), indirect=True)
async def test_a_coroutine_function_that_returns_a_generator_is_refused_when_awaited(db: Backend) -> None:
    async def rows() -> Any:
        await db.adapter.create(user("never"))
        yield 1

    async def hands_out_a_generator() -> Any:
        return rows()

    for decorated in (atomic(db.adapter)(hands_out_a_generator), unit_of_work(db.adapter)(hands_out_a_generator)):
        with pytest.raises(InvalidArgumentError, match="generator"):
            await decorated()
    assert await committed_usernames(db) == set()


@pytest.mark.parametrize("db", backend_params(is_async=False), indirect=True)
async def test_unit_of_work_decorates_a_task_function(db: Backend) -> None:
    @unit_of_work(db.adapter)
    def task(name: str) -> int:
        db.adapter.create(user(name))
        assert db.checked_out() == 1
        return len(db.adapter.scalars(select(User)).all())

    assert task("alice") == 1
    assert task("bob") == 2
    assert db.checked_out() == 0


@pytest.mark.parametrize("db", backend_params(is_async=True), indirect=True)
async def test_unit_of_work_decorates_an_async_task_function(db: Backend) -> None:
    @unit_of_work(db.adapter, atomic=True)
    async def task(name: str) -> None:
        await db.adapter.create(user(name))
        if name == "bad":
            raise RuntimeError("the job failed")

    await task("alice")
    with pytest.raises(RuntimeError):
        await task("bad")
    assert await committed_usernames(db) == {"alice"}


# --- a connection that dies inside a unit -----------------------------------------------------------


@pytest.mark.parametrize("db", backend_params(kind="postgres"), indirect=True)
async def test_a_unit_whose_connection_dies_goes_on_with_a_new_one_in_autocommit(db: Backend) -> None:
    async with db.unit():
        pid = (await db.call(db.adapter.execute, text("SELECT pg_backend_pid()"))).scalar_one()
        with psycopg.connect(plain_dsn(db), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(DatabaseConnectionError):
            await db.call(db.adapter.execute, text("SELECT 1"))
        await db.call(
            db.adapter.execute,
            text(
                "INSERT INTO users (uuid, created_at, updated_at, username, email) "
                "VALUES (gen_random_uuid(), now(), now(), 'raw', 'raw@example.com')"
            ),
        )
        assert await committed_usernames(db) == {"raw"}  # durable while the unit is open
        await db.call(db.adapter.create, user("after-the-crash"))
        assert await committed_usernames(db) == {"raw", "after-the-crash"}
        await db.call(db.adapter.execute, text("UPDATE users SET full_name = 'set'"))
        assert await full_names(db) == {"raw": "set", "after-the-crash": "set"}
        new_pid = (await db.call(db.adapter.execute, text("SELECT pg_backend_pid()"))).scalar_one()
        assert new_pid != pid
        assert idle_in_transaction(db) == 0
    assert db.checked_out() == 0


async def test_a_unit_opened_inside_an_atomic_block_joins_the_block(db: Backend) -> None:
    with pytest.raises(RuntimeError):
        async with db.atomic() as block_session:
            async with db.unit() as unit_session:
                assert unit_session is block_session
                await db.call(db.adapter.create, user("rolled-back-with-the-block"))
            raise RuntimeError("the block fails after the unit ended")
    assert await committed_usernames(db) == set()


# --- read-only units without replicas ------------------------------------------------------------------


async def test_a_read_only_unit_reads_and_refuses_writes_then_gives_back_a_writable_connection(db: Backend) -> None:
    alice = await db.call(db.adapter.create, user("alice"))
    async with db.unit(read_only=True):
        assert (await db.call(db.adapter.get_by_uuid, User, alice.uuid)).username == "alice"
        with pytest.raises(DatabaseReadOnlyError):
            await db.call(db.adapter.create, user("bob"))
        with pytest.raises(DatabaseReadOnlyError):
            await db.call(db.adapter.execute, text("UPDATE users SET full_name = 'no'"))
    await db.call(db.adapter.create, user("carol"))  # the pooled connection is writable again
    async with db.unit():
        await db.call(db.adapter.create, user("dave"))
    assert await committed_usernames(db) == {"alice", "carol", "dave"}


@pytest.mark.parametrize("db", backend_params(kind="postgres"), indirect=True)  # SQLite has no READ ONLY
async def test_a_read_only_atomic_block_refuses_writes(db: Backend) -> None:
    with pytest.raises(DatabaseReadOnlyError):
        async with db.atomic(read_only=True):
            await db.call(db.adapter.create, user("bob"))
    async with db.atomic(read_only=True):
        assert (await db.call(db.adapter.scalars, select(User))).all() == []
    await db.call(db.adapter.create, user("carol"))
    assert await committed_usernames(db) == {"carol"}
