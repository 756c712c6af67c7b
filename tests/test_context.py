"""Contexts in the manner of polydatum: DataManager, services, meta, lazy resources, middleware.

Everything runs for real: the README examples on a SQLite file, the ready-made atomic
middleware and session resource on SQLite and PostgreSQL, sync and async.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import ForeignKey, String, create_engine, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import AsyncSQLiteSQLAlchemyAdapter, SQLiteSQLAlchemyAdapter
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.context import (
    Context,
    ContextError,
    DataManager,
    Meta,
    ResourceTeardownError,
    Service,
    UnknownResourceError,
    UnknownServiceError,
    atomic_middleware,
    session_resource,
)
from archipy_lite.models.errors import AlreadyExistsError, InvalidArgumentError, NotFoundError
from archipy_lite.testing.postgres import with_driver

# --------------------------------------------------------------------------- the polydatum README


class UserService(Service):
    def get_user(self) -> Any:
        return self._ctx.meta.user


def test_readme_meta_example() -> None:
    dm = DataManager()
    dm.register_services(test=UserService())

    with dm.context(meta={"user": "bob"}) as ctx:
        assert ctx.dal.test.get_user() == "bob"
    with dm.context(meta={"user": "alice"}) as ctx:
        assert ctx.dal.test.get_user() == "alice"


class ItemService(Service):
    def get_item(self, item_id: int) -> Any:
        """A getter: None when there is no such item."""
        return self._data_manager.db.execute(
            text("SELECT id, name FROM ctx_items WHERE id = :id"), {"id": item_id}
        ).first()

    def add_item(self, name: str) -> None:
        self._data_manager.db.execute(text("INSERT INTO ctx_items (name) VALUES (:name)"), {"name": name})


@pytest.fixture
def items_engine(tmp_path: Path) -> Iterator[Any]:
    engine = create_engine(f"sqlite:///{tmp_path / 'items.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE ctx_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"))
        connection.execute(text("INSERT INTO ctx_items (name) VALUES ('first')"))
    yield engine
    engine.dispose()


def test_readme_resource_example(items_engine: Any) -> None:
    def db_pool(context: Context) -> Iterator[Any]:
        conn = items_engine.connect()  # checked out of the pool on first access ...
        yield conn
        conn.close()  # ... and checked back in when the context ends

    dm = DataManager()
    dm.register_services(items=ItemService())
    dm.register_resources(db=db_pool)

    with dm.dal() as dal:
        assert items_engine.pool.checkedout() == 0  # lazy: nothing checked out yet
        item = dal.items.get_item(1)
        assert item.name == "first"
        assert dal.items.get_item(99) is None
        assert items_engine.pool.checkedout() == 1
    assert items_engine.pool.checkedout() == 0


def test_readme_transaction_middleware_example(items_engine: Any) -> None:
    def db_pool(context: Context) -> Iterator[Any]:
        conn = items_engine.connect()
        yield conn
        conn.close()

    def transaction_middleware(context: Context) -> Iterator[Any]:
        with context.db.begin() as trans:  # commits on success, rolls back when the body fails
            yield trans

    dm = DataManager()
    dm.register_services(items=ItemService())
    dm.register_resources(db=db_pool)
    dm.register_context_middleware(transaction_middleware)

    with dm.dal() as dal:
        dal.items.add_item("kept")
    with pytest.raises(RuntimeError, match="boom"), dm.dal() as dal:  # noqa: PT012
        dal.items.add_item("lost")
        raise RuntimeError("boom")

    with items_engine.connect() as conn:
        names = conn.execute(text("SELECT name FROM ctx_items ORDER BY id")).scalars().all()
    assert names == ["first", "kept"]
    assert items_engine.pool.checkedout() == 0


# --------------------------------------------------------------------------- services and the DAL


class ProfileService(Service):
    def get(self, name: str) -> str | None:
        return f"profile of {name}" if name != "nobody" else None


class AccountService(Service):
    def __init__(self) -> None:  # no super().__init__(): allowed
        self.calls = 0

    def whoami(self) -> Any:
        self.calls += 1
        return self._ctx.meta.user


def test_nested_services_by_attribute_and_dotted_path() -> None:
    dm = DataManager()
    users = AccountService()
    users.register_services(profiles=ProfileService())  # before the parent is registered
    dm.register_services(users=users)
    users.profiles.register_services(extra=ProfileService())  # after: attached all the same

    with dm.context(meta={"user": "bob"}) as ctx:
        dal = ctx.dal
        assert dal.users.profiles.get("bob") == "profile of bob"
        assert dal["users.profiles.get"]("bob") == "profile of bob"
        assert dal["users.profiles.extra"] is users.profiles.extra
        assert dal["users.whoami"]() == "bob"
        assert dal.users.profiles.extra._ctx is ctx
        assert dal.users.profiles._data_manager is dm
        assert "users.profiles.get" in dal
        assert "users.nope" not in dal


def test_unknown_service_names_raise_typed_errors() -> None:
    dm = DataManager()
    users = AccountService()
    users.register_services(profiles=ProfileService())
    dm.register_services(users=users)
    dal = dm.context().dal

    with pytest.raises(UnknownServiceError, match=r"'nope'.*users"):
        _ = dal.nope
    with pytest.raises(KeyError):
        dal["users.profilez.get"]
    with pytest.raises(AttributeError, match="profilez"):
        _ = dal.users.profilez
    with pytest.raises(UnknownServiceError):
        dal["users.profiles.get.extra"]
    with pytest.raises(UnknownServiceError):
        dal["users._Service__children"]
    assert not hasattr(dal, "nope")
    assert not hasattr(dal.users, "nope")


def test_service_registration_is_validated() -> None:
    dm = DataManager()
    dm.register_services(users=AccountService())
    with pytest.raises(InvalidArgumentError, match="already"):
        dm.register_services(users=AccountService())
    with pytest.raises(InvalidArgumentError, match="identifier"):
        dm.register_services(_hidden=AccountService())
    with pytest.raises(InvalidArgumentError, match="Service instance"):
        dm.register_services(thing=object())  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="clashes"):
        AccountService().register_services(whoami=ProfileService())
    shared = ProfileService()
    dm.register_services(profiles=shared)
    with pytest.raises(InvalidArgumentError, match="another DataManager"):
        DataManager().register_services(profiles=shared)


def test_service_outside_a_context_or_manager_fails_clearly() -> None:
    dm = DataManager()
    dm.register_services(users=AccountService())
    with pytest.raises(ContextError, match="no active context"):
        dm.context().dal.users.whoami()
    with pytest.raises(InvalidArgumentError, match="not registered"):
        AccountService().whoami()


# --------------------------------------------------------------------------- meta


def test_meta_is_read_only_all_the_way_down() -> None:
    source: dict[str, Any] = {"user": {"name": "bob", "roles": ["admin", "dev"], "flags": {"beta"}}, "ids": [1, [2]]}
    dm = DataManager()
    with dm.context(meta=source) as ctx:
        meta = ctx.meta
        assert meta.user.name == "bob"
        assert meta["user"]["roles"] == ("admin", "dev")
        assert meta.user.flags == frozenset({"beta"})
        assert meta.ids == (1, (2,))
        assert meta == {"user": {"name": "bob", "roles": ("admin", "dev"), "flags": {"beta"}}, "ids": (1, (2,))}

        with pytest.raises(TypeError):
            meta.user = "eve"
        with pytest.raises(TypeError):
            meta["user"] = "eve"  # type: ignore[index]
        with pytest.raises(TypeError):
            meta.user["name"] = "eve"
        with pytest.raises(TypeError):
            meta.user.roles[0] = "root"
        with pytest.raises(TypeError):
            del meta.user
        with pytest.raises(TypeError):
            ctx.meta = {"user": "eve"}  # type: ignore[assignment]
        with pytest.raises(AttributeError):
            meta.user.roles.append("root")
        assert meta.nope is None  # an unset key reads as None, as in polydatum
        with pytest.raises(KeyError):
            meta["nope"]

        source["user"]["name"] = "eve"  # the caller's dict is copied, not shared
        source["user"]["roles"].append("root")
        assert meta.user.name == "bob"
        assert meta.user.roles == ("admin", "dev")

    assert pickle.loads(pickle.dumps(meta)) == meta
    assert Meta(a=1).a == 1
    assert dict(DataManager().context().meta) == {}


# --------------------------------------------------------------------------- resources


def test_resources_are_created_lazily_and_cached() -> None:
    created: list[str] = []

    def make(name: str) -> Any:
        def resource(context: Context) -> Iterator[str]:
            created.append(name)
            yield f"{name}-value"

        return resource

    dm = DataManager()
    dm.register_resources(cache=make("cache"), db=make("db"), blobs=make("blobs"))
    with dm.context() as ctx:
        assert created == []
        assert ctx.db == "db-value"
        assert ctx.resources["db"] == "db-value"
        assert dm.db == "db-value"
        assert created == ["db"]
        assert ctx.resources.set_up == ("db",)
    assert created == ["db"]  # cache and blobs were never needed, so never created

    with pytest.raises(ContextError, match="ended"):
        _ = ctx.db
    with pytest.raises(ContextError, match="enter"):
        _ = dm.context().db
    with pytest.raises(UnknownResourceError, match="nope"), dm.context() as ctx:
        _ = ctx.nope


def test_resource_registration_is_validated() -> None:
    def resource(context: Context) -> Iterator[int]:
        yield 1

    dm = DataManager()
    dm.register_resources(db=resource)
    with pytest.raises(InvalidArgumentError, match="already"):
        dm.register_resources(db=resource)
    for bad in ("meta", "dal", "resources", "context", "_private"):
        with pytest.raises(InvalidArgumentError, match="clashes"):
            dm.register_resources(**{bad: resource})
    dm.register_resources(notgen=lambda context: 42)  # type: ignore[arg-type,return-value]
    with pytest.raises(InvalidArgumentError, match="generator function"), dm.context() as ctx:
        _ = ctx.notgen


def test_a_resource_that_needs_itself_is_refused() -> None:
    def loop(context: Context) -> Iterator[Any]:
        yield context.loop

    dm = DataManager()
    dm.register_resources(loop=loop)
    with pytest.raises(ContextError, match="needs itself"), dm.context() as ctx:
        _ = ctx.loop


def _recorder(events: list[str], *, fail_teardown: set[str] | None = None) -> dict[str, Any]:
    def make(name: str) -> Any:
        def resource(context: Context) -> Iterator[str]:
            events.append(f"{name} up")
            try:
                yield name
            finally:  # the context's error is thrown in at the yield: clean up in finally
                events.append(f"{name} down")
                if fail_teardown and name in fail_teardown:
                    raise RuntimeError(f"{name} broke")

        return resource

    return {name: make(name) for name in ("a", "b", "c")}


def test_resources_are_torn_down_in_reverse_order_after_middleware() -> None:
    events: list[str] = []

    def middleware(context: Context) -> Iterator[None]:
        events.append("middleware up")
        _ = context.a  # middleware may use resources; they outlive it
        yield
        events.append("middleware down")

    dm = DataManager()
    dm.register_resources(**_recorder(events))
    dm.register_context_middleware(middleware)
    with dm.context() as ctx:
        _ = ctx.c, ctx.b, ctx.a, ctx.c
    assert events == ["middleware up", "a up", "c up", "b up", "middleware down", "b down", "c down", "a down"]


def test_teardown_errors_never_mask_the_original_error(caplog: pytest.LogCaptureFixture) -> None:
    events: list[str] = []
    dm = DataManager()
    dm.register_resources(**_recorder(events, fail_teardown={"a", "c"}))

    with (  # noqa: PT012
        caplog.at_level(logging.ERROR, logger="archipy_lite.context"),
        pytest.raises(ValueError) as info,
        dm.context() as ctx,
    ):
        _ = ctx.a, ctx.b, ctx.c
        raise ValueError("the real problem")

    assert str(info.value) == "the real problem"
    assert events[-3:] == ["c down", "b down", "a down"]  # every resource still torn down
    notes = info.value.__notes__
    assert len(notes) == 2
    assert notes[0] == "resource 'c' also failed to tear down: RuntimeError('c broke')"
    assert notes[1] == "resource 'a' also failed to tear down: RuntimeError('a broke')"
    logged = [record for record in caplog.records if record.name == "archipy_lite.context.context"]
    assert [record.exc_info[1].args[0] for record in logged if record.exc_info] == ["c broke", "a broke"]


def test_teardown_errors_are_raised_as_a_group_when_nothing_else_failed() -> None:
    events: list[str] = []
    dm = DataManager()
    dm.register_resources(**_recorder(events, fail_teardown={"a", "c"}))

    with pytest.raises(ResourceTeardownError) as info, dm.context() as ctx:
        _ = ctx.a, ctx.b, ctx.c
    assert [str(error) for error in info.value.exceptions] == ["c broke", "a broke"]
    assert "c, a" in str(info.value)
    assert events[-3:] == ["c down", "b down", "a down"]
    with pytest.raises(ContextError, match="no active context"):
        dm.current_context()


# --------------------------------------------------------------------------- middleware


def _tracing(name: str, events: list[str]) -> Any:
    def middleware(context: Context) -> Iterator[None]:
        events.append(f"{name} up")
        try:
            yield
        except BaseException as exc:
            events.append(f"{name} saw {type(exc).__name__}")
            raise
        finally:
            events.append(f"{name} down")

    return middleware


def test_middleware_runs_in_order_and_sees_the_error_innermost_first() -> None:
    events: list[str] = []
    dm = DataManager()
    dm.register_context_middleware(_tracing("m1", events), _tracing("m2", events))
    dm.register_context_middleware(_tracing("m3", events))

    with dm.context():
        events.append("body")
    assert events == ["m1 up", "m2 up", "m3 up", "body", "m3 down", "m2 down", "m1 down"]

    events.clear()
    with pytest.raises(KeyError), dm.context():
        raise KeyError("x")
    assert events == [
        *("m1 up", "m2 up", "m3 up"),
        *("m3 saw KeyError", "m3 down", "m2 saw KeyError", "m2 down", "m1 saw KeyError", "m1 down"),
    ]


def test_middleware_can_translate_an_error() -> None:
    events: list[str] = []

    def translate(context: Context) -> Iterator[None]:
        try:
            yield
        except LookupError as exc:
            raise NotFoundError(f"missing: {exc}") from exc

    dm = DataManager()
    dm.register_context_middleware(_tracing("outer", events), translate)
    with pytest.raises(NotFoundError, match="missing") as info, dm.context():
        raise KeyError("user 7")
    assert isinstance(info.value.__cause__, KeyError)
    assert "outer saw NotFoundError" in events


def test_middleware_suppression_really_suppresses() -> None:
    events: list[str] = []

    def swallow_value_errors(context: Context) -> Iterator[None]:
        try:
            yield
        except ValueError:
            events.append("swallowed")

    dm = DataManager()
    dm.register_resources(**_recorder(events))
    dm.register_context_middleware(_tracing("outer", events), swallow_value_errors)

    def run() -> str:
        with dm.context() as ctx:
            _ = ctx.a
            raise ValueError("ignored")
        return "after the with block"  # reached: the with statement exited normally

    assert run() == "after the with block"
    assert events == ["outer up", "a up", "swallowed", "outer down", "a down"]  # outer saw no error
    with pytest.raises(TypeError), dm.context():
        raise TypeError("not swallowed")


def test_failed_middleware_setup_unwinds_what_was_set_up() -> None:
    events: list[str] = []

    def broken(context: Context) -> Iterator[None]:
        _ = context.a
        raise ConnectionError("cannot start")
        yield  # pragma: no cover

    dm = DataManager()
    dm.register_resources(**_recorder(events))
    dm.register_context_middleware(_tracing("m1", events), broken, _tracing("never", events))
    with pytest.raises(ConnectionError, match="cannot start"), dm.context():
        events.append("body")  # pragma: no cover
    assert events == ["m1 up", "a up", "m1 saw ConnectionError", "m1 down", "a down"]
    with pytest.raises(ContextError):
        dm.current_context()


# --------------------------------------------------------------------------- context lifecycle


def test_a_context_is_single_use() -> None:
    dm = DataManager()
    ctx = dm.context()
    with ctx, pytest.raises(ContextError, match="only once"), ctx:
        pass  # pragma: no cover
    with pytest.raises(ContextError, match="only once"), ctx:
        pass  # pragma: no cover


async def test_an_async_context_is_single_use() -> None:
    dm = DataManager()
    ctx = dm.context()
    async with ctx:
        pass
    with pytest.raises(ContextError, match="only once"):
        async with ctx:
            pass  # pragma: no cover


def test_nested_contexts_restore_the_outer_one() -> None:
    created: list[str] = []

    def tag(context: Context) -> Iterator[str]:
        created.append(context.meta.user)
        yield f"tag of {context.meta.user}"

    dm = DataManager()
    dm.register_services(users=AccountService())
    dm.register_resources(tag=tag)
    with dm.context(meta={"user": "outer"}) as outer:
        assert dm.tag == "tag of outer"
        with dm.context(meta={"user": "inner"}) as inner:
            assert dm.current_context() is inner
            assert inner.dal.users.whoami() == "inner"
            assert dm.tag == "tag of inner"
        assert dm.current_context() is outer
        assert outer.dal.users.whoami() == "outer"
        assert dm.tag == "tag of outer"
    with pytest.raises(ContextError):
        dm.current_context()
    assert created == ["outer", "inner"]


async def test_nested_async_contexts_restore_the_outer_one() -> None:
    dm = DataManager()
    dm.register_services(users=AccountService())
    async with dm.context(meta={"user": "outer"}) as outer:
        with pytest.raises(ValueError):  # noqa: PT012
            async with dm.context(meta={"user": "inner"}):
                assert dm.current_context().meta.user == "inner"
                raise ValueError
        assert dm.current_context() is outer
    with pytest.raises(ContextError):
        dm.current_context()


def test_two_managers_have_separate_current_contexts() -> None:
    first, second = DataManager(), DataManager()
    with first.context(meta={"n": 1}) as one:
        with pytest.raises(ContextError):
            second.current_context()
        with second.context(meta={"n": 2}) as two:
            assert first.current_context() is one
            assert second.current_context() is two


# --------------------------------------------------------------------------- async pieces


async def test_async_resources_and_middleware() -> None:
    events: list[str] = []

    async def remote(context: Context) -> AsyncIterator[str]:
        await asyncio.sleep(0)
        events.append("remote up")
        try:
            yield f"remote for {context.meta.user}"
        finally:
            await asyncio.sleep(0)
            events.append("remote down")

    def local(context: Context) -> Iterator[str]:
        events.append("local up")
        try:
            yield "local"
        except KeyError:  # the body's error, even though middleware swallowed it
            events.append("local saw KeyError")
            raise

    async def audit(context: Context) -> AsyncIterator[None]:
        events.append("audit up")
        try:
            yield
        except LookupError:
            events.append("audit swallowed")
        finally:
            await asyncio.sleep(0)
            events.append("audit down")

    dm = DataManager()
    dm.register_resources(remote=remote, local=local)
    dm.register_context_middleware(audit, _tracing("sync", events))
    async with dm.context(meta={"user": "bob"}) as ctx:
        assert ctx.local == "local"
        first, second = await asyncio.gather(ctx.remote, ctx.resources.aget("remote"))
        assert first == second == "remote for bob"
        assert await dm.remote == "remote for bob"
        assert await ctx.resources.aget("local") == "local"
        raise KeyError("swallowed by async middleware")
    assert events == [
        *("audit up", "sync up", "local up", "remote up"),
        *("sync saw KeyError", "sync down", "audit swallowed", "audit down", "remote down", "local saw KeyError"),
    ]

    async with dm.dal(meta={"user": "x"}) as dal:
        assert dal is ctx.dal


async def test_async_pieces_need_async_with() -> None:
    async def remote(context: Context) -> AsyncIterator[int]:
        yield 1

    async def middleware(context: Context) -> AsyncIterator[None]:
        yield  # pragma: no cover

    only_resource = DataManager()
    only_resource.register_resources(remote=remote)
    with pytest.raises(ContextError, match="async with"), only_resource.context() as ctx:
        _ = ctx.remote

    with_middleware = DataManager()
    with_middleware.register_context_middleware(middleware)
    with pytest.raises(ContextError, match="async with"), with_middleware.context():
        pass  # pragma: no cover
    with pytest.raises(ContextError):
        with_middleware.current_context()


# --------------------------------------------------------------------------- isolation across threads and tasks


def test_twenty_threads_each_see_their_own_context() -> None:
    threads_count = 20
    barrier = threading.Barrier(threads_count, timeout=10)
    setups: list[int] = []
    errors: list[BaseException] = []
    results: dict[int, tuple[Any, ...]] = {}

    def connection(context: Context) -> Iterator[tuple[int, int]]:
        setups.append(context.meta.n)
        yield (context.meta.n, threading.get_ident())

    dm = DataManager()
    dm.register_services(users=AccountService())
    dm.register_resources(connection=connection)

    def worker(n: int) -> None:
        try:
            with dm.context(meta={"n": n, "user": f"user-{n}"}) as ctx:
                barrier.wait()  # every thread is inside its own context now
                seen_first = (ctx.dal.users.whoami(), dm.connection, dm.current_context() is ctx)
                barrier.wait()
                seen_second = (ctx.dal.users.whoami(), ctx.connection[0], ctx.meta.n)
            results[n] = (*seen_first, *seen_second)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            barrier.abort()

    with dm.context(meta={"user": "main"}):
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert dm.current_context().meta.user == "main"

    assert errors == []
    assert sorted(setups) == list(range(threads_count))
    for n, (user, (conn_n, _ident), same, user_again, conn_again, meta_n) in results.items():
        assert (user, conn_n, same, user_again, conn_again, meta_n) == (f"user-{n}", n, True, f"user-{n}", n, n)
    assert len({ident for (_, (_, ident), *_rest) in results.values()}) == threads_count


async def test_fifty_tasks_each_see_their_own_context() -> None:
    tasks_count = 50
    barrier = asyncio.Barrier(tasks_count)
    setups: list[int] = []

    async def connection(context: Context) -> AsyncIterator[int]:
        await asyncio.sleep(0)
        setups.append(context.meta.n)
        yield context.meta.n

    async def middleware(context: Context) -> AsyncIterator[None]:
        await barrier.wait()  # all tasks are setting up middleware at once
        yield
        assert context.meta.n == dm.current_context().meta.n

    dm = DataManager()
    dm.register_services(users=AccountService())
    dm.register_resources(connection=connection)
    dm.register_context_middleware(middleware)

    async def one(n: int) -> tuple[Any, ...]:
        async with dm.context(meta={"n": n, "user": f"user-{n}"}) as ctx:
            await barrier.wait()
            first = (ctx.dal.users.whoami(), await ctx.connection)
            await barrier.wait()
            second = (dm.current_context().meta.n, await dm.connection)
        return (*first, *second)

    results = await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(tasks_count))), timeout=10)
    assert results == [(f"user-{n}", n, n, n) for n in range(tasks_count)]
    assert sorted(setups) == list(range(tasks_count))
    with pytest.raises(ContextError):
        dm.current_context()


# --------------------------------------------------------------------------- atomic middleware on real databases


class CtxBase(DeclarativeBase):
    pass


class Folder(CtxBase):
    __tablename__ = "ctx_folders"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Note(CtxBase):
    __tablename__ = "ctx_notes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("ctx_folders.id"))
    body: Mapped[str] = mapped_column(String(200))


class FolderService(Service):
    """Getters return None when nothing matches."""

    def get(self, folder_id: int) -> Folder | None:
        session: Session = self._ctx.session
        return session.get(Folder, folder_id)

    def create(self, name: str) -> Folder:
        session: Session = self._ctx.session
        folder = Folder(name=name)
        session.add(folder)
        session.flush()
        return folder


class NoteService(Service):
    """Operations that need a parent raise NotFoundError when it is missing."""

    def add(self, folder_id: int, body: str) -> Note:
        if self._ctx.dal.folders.get(folder_id) is None:
            raise NotFoundError(f"folder {folder_id} does not exist")
        session: Session = self._ctx.session
        note = Note(folder_id=folder_id, body=body)
        session.add(note)
        session.flush()
        return note


class AsyncFolderService(Service):
    async def get(self, folder_id: int) -> Folder | None:
        session: AsyncSession = self._ctx.session
        return await session.get(Folder, folder_id)

    async def create(self, name: str) -> Folder:
        session: AsyncSession = self._ctx.session
        folder = Folder(name=name)
        session.add(folder)
        await session.flush()
        return folder


class AsyncNoteService(Service):
    async def add(self, folder_id: int, body: str) -> Note:
        if await self._ctx.dal.folders.get(folder_id) is None:
            raise NotFoundError(f"folder {folder_id} does not exist")
        session: AsyncSession = self._ctx.session
        note = Note(folder_id=folder_id, body=body)
        session.add(note)
        await session.flush()
        return note


@dataclass
class Databases:
    sync: Any
    asynchronous: Any

    def rows(self) -> tuple[list[str], int]:
        """Folder names and note count, read on a fresh connection (what is committed)."""
        with self.sync.session_manager.engine.connect() as connection:
            names = connection.execute(select(Folder.name).order_by(Folder.name)).scalars().all()
            notes = connection.execute(select(func.count()).select_from(Note)).scalar_one()
        return list(names), notes


def _sqlite_databases(path: Path) -> Databases:
    config = SQLiteSQLAlchemyConfig(DATABASE=str(path))
    return Databases(SQLiteSQLAlchemyAdapter(orm_config=config), AsyncSQLiteSQLAlchemyAdapter(orm_config=config))


def _postgres_databases(dsn: str) -> Databases:
    config = PostgresSQLAlchemyConfig(POSTGRES_DSN=with_driver(dsn, "psycopg"))
    return Databases(PostgresSQLAlchemyAdapter(orm_config=config), AsyncPostgresSQLAlchemyAdapter(orm_config=config))


@pytest.fixture(params=[pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)])
async def databases(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Databases]:
    if request.param == "postgres":
        dbs = _postgres_databases(request.getfixturevalue("postgres_dsn"))
    else:
        dbs = _sqlite_databases(tmp_path / "context.sqlite3")
    engine = dbs.sync.session_manager.engine
    CtxBase.metadata.drop_all(engine)
    CtxBase.metadata.create_all(engine)
    yield dbs
    await dbs.asynchronous.session_manager.engine.dispose()
    with engine.begin() as connection:
        if request.param == "postgres":  # fail, rather than hang, if a test left a transaction open
            connection.execute(text("SET LOCAL lock_timeout = '5s'"))
        CtxBase.metadata.drop_all(connection)
    dbs.sync.session_manager.dispose()


def _manager(adapter: Any, folders: Service, notes: Service) -> DataManager:
    dm = DataManager()
    dm.register_services(folders=folders, notes=notes)
    dm.register_resources(session=session_resource(adapter))
    dm.register_context_middleware(atomic_middleware(adapter))
    return dm


def test_atomic_middleware_commits_and_rolls_back(databases: Databases) -> None:
    dm = _manager(databases.sync, FolderService(), NoteService())

    with dm.dal() as dal:
        inbox = dal.folders.create("inbox")
        dal.notes.add(inbox.id, "hello")
        assert dal.folders.get(inbox.id + 1000) is None  # a getter: None, not an error
    assert databases.rows() == (["inbox"], 1)

    with pytest.raises(NotFoundError, match="does not exist"), dm.dal() as dal:  # noqa: PT012
        dal.folders.create("drafts")
        dal.notes.add(inbox.id + 1000, "orphan")  # the parent is missing: NotFoundError
    with pytest.raises(RuntimeError, match="after the writes"), dm.dal() as dal:  # noqa: PT012
        dal.notes.add(inbox.id, "lost")
        raise RuntimeError("failed after the writes")
    with pytest.raises(AlreadyExistsError), dm.dal() as dal:  # noqa: PT012
        dal.folders.create("spam")
        dal.folders.create("inbox")  # unique violation: typed, and the whole context rolls back
    assert databases.rows() == (["inbox"], 1)


def test_session_resource_is_the_contexts_transaction(databases: Databases) -> None:
    adapter = databases.sync
    dm = _manager(adapter, FolderService(), NoteService())
    with dm.context() as ctx:
        assert ctx.session is adapter.get_session()
        assert adapter.session_manager.in_atomic_block()
        session = ctx.session
    assert not adapter.session_manager.in_atomic_block()
    assert session is not adapter.get_session()  # the transaction's session is gone, not reused


async def test_async_atomic_middleware_commits_and_rolls_back(databases: Databases) -> None:
    dm = _manager(databases.asynchronous, AsyncFolderService(), AsyncNoteService())

    async with dm.dal() as dal:
        inbox = await dal.folders.create("inbox")
        await dal.notes.add(inbox.id, "hello")
        assert await dal.folders.get(inbox.id + 1000) is None
    assert databases.rows() == (["inbox"], 1)

    with pytest.raises(NotFoundError):  # noqa: PT012
        async with dm.dal() as dal:
            await dal.folders.create("drafts")
            await dal.notes.add(inbox.id + 1000, "orphan")
    with pytest.raises(RuntimeError, match="after the writes"):  # noqa: PT012
        async with dm.dal() as dal:
            await dal.notes.add(inbox.id, "lost")
            raise RuntimeError("failed after the writes")
    with pytest.raises(AlreadyExistsError):  # noqa: PT012
        async with dm.dal() as dal:
            await dal.folders.create("spam")
            await dal.folders.create("inbox")
    assert databases.rows() == (["inbox"], 1)


async def test_suppression_outside_the_transaction_still_rolls_it_back(databases: Databases) -> None:
    """A middleware outside the transaction that swallows an error sees it after the rollback."""

    async def swallow(context: Context) -> AsyncIterator[None]:
        with contextlib.suppress(NotFoundError):
            yield

    dm = DataManager()
    dm.register_services(folders=AsyncFolderService(), notes=AsyncNoteService())
    dm.register_resources(session=session_resource(databases.asynchronous))
    dm.register_context_middleware(swallow, atomic_middleware(databases.asynchronous))

    async with dm.dal() as dal:
        await dal.folders.create("kept-out")
        await dal.notes.add(-1, "orphan")
    assert databases.rows() == ([], 0)  # rolled back by the inner atomic middleware, then swallowed
