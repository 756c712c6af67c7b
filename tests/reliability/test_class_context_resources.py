"""Class 15: a request-context resource sees how the context ended, as in polydatum.

The error raised inside a context is thrown into every resource's generator at teardown, so a
resource written ``try: yield / except: rollback / else: commit`` commits exactly when the context
succeeded. Checked with a real transaction per resource on every backend (sync generators on sync
adapters, async generators on async ones), for every way a context ends: success, an error from the
body, an error middleware swallows, and an error middleware raises on the way out; entered as
``context()`` and as ``dal()``. Plus the polydatum-test details: ``register_services`` chains,
``replace_service`` / ``replace_resource`` swap fakes in, an unset meta key reads as None.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import insert, text

from archipy_lite.context import Context, DataManager, Service, UnknownResourceError, UnknownServiceError
from archipy_lite.models.errors import InvalidArgumentError

from . import figures
from backends import Backend
from models import User


class BodyError(Exception):
    pass


class MiddlewareError(Exception):
    pass


def transactional(db: Backend, seen: list[str]) -> Any:
    """A resource in the style the issue names: its own transaction, committed only on success."""
    engine = db.manager.engine
    if db.is_async:

        async def async_resource(context: Context) -> AsyncIterator[Any]:
            async with engine.connect() as connection:
                await connection.begin()
                try:
                    yield connection
                except BaseException as error:
                    seen.append(type(error).__name__)
                    await connection.rollback()
                    raise
                else:
                    seen.append("success")
                    await connection.commit()

        return async_resource

    def resource(context: Context) -> Iterator[Any]:
        with engine.connect() as connection:
            connection.begin()
            try:
                yield connection
            except BaseException as error:
                seen.append(type(error).__name__)
                connection.rollback()
                raise
            else:
                seen.append("success")
                connection.commit()

    return resource


def swallowing(context: Context) -> Iterator[None]:
    with contextlib.suppress(BodyError):
        yield


def failing_on_exit(context: Context) -> Iterator[None]:
    yield
    raise MiddlewareError("middleware failed on the way out")


ENDINGS: dict[str, tuple[Any, type[BaseException] | None, bool, str]] = {
    # ending -> (middleware, the error the caller sees, raise in the body, what the resource sees)
    "success": (None, None, False, "success"),
    "an error from the body": (None, BodyError, True, "BodyError"),
    "a body error middleware swallows": (swallowing, None, True, "BodyError"),
    "middleware fails on exit": (failing_on_exit, MiddlewareError, False, "MiddlewareError"),
}
_cases: dict[str, int] = {}


def count(name: str) -> None:
    _cases[name] = _cases.get(name, 0) + 1


async def rows(db: Backend) -> list[str]:
    result = await db.call(db.adapter.execute, text("SELECT username FROM users ORDER BY username"))
    return [row[0] for row in result.all()]


async def run_context(db: Backend, dm: DataManager, entry: str, fail: bool) -> None:
    statement = insert(User).values(username="written", email="w@x.org")
    scope = dm.context() if entry == "context()" else dm.dal()
    if db.is_async:
        async with scope as opened:
            ctx = opened if entry == "context()" else dm.current_context()
            await (await ctx.resources.aget("db")).execute(statement)
            if fail:
                raise BodyError("the body failed")
    else:
        with scope as opened:
            ctx = opened if entry == "context()" else dm.current_context()
            ctx.db.execute(statement)
            if fail:
                raise BodyError("the body failed")


@pytest.mark.parametrize("entry", ["context()", "dal()"])
@pytest.mark.parametrize("ending", list(ENDINGS))
async def test_the_resource_commits_only_when_the_context_succeeded(db: Backend, ending: str, entry: str) -> None:
    middleware, raised, fail, expected_seen = ENDINGS[ending]
    seen: list[str] = []
    dm = DataManager()
    dm.register_resources(db=transactional(db, seen))
    if middleware is not None:
        dm.register_context_middleware(middleware)
    if raised is None:
        await run_context(db, dm, entry, fail)
    else:
        with pytest.raises(raised):
            await run_context(db, dm, entry, fail)
    assert seen == [expected_seen]
    assert await rows(db) == (["written"] if expected_seen == "success" else [])
    count("15. resources see how the context ended")


def test_a_resource_cannot_suppress_or_replace_the_error() -> None:
    dm = DataManager()

    def swallow(context: Context) -> Iterator[str]:
        with contextlib.suppress(BodyError):  # swallowed: the error still leaves the context
            yield "x"

    def fail(ctx: Context) -> None:
        _ = ctx.x
        raise BodyError("still raised")

    dm.register_resources(x=swallow)
    with pytest.raises(BodyError), dm.context() as ctx:
        fail(ctx)
    count("15. resources see how the context ended")


class Users(Service):
    def name(self) -> str:
        return "real"


class Profiles(Service):
    def name(self) -> str:
        return "real profiles"


class FakeUsers(Service):
    def name(self) -> str:
        return "fake"


class FakeProfiles(Service):
    def name(self) -> str:
        return "fake profiles"


def test_register_services_chains() -> None:
    dm = DataManager()
    users = Users()
    assert users.register_services(profiles=Profiles()) is users
    assert dm.register_services(users=users) is dm
    chained = DataManager().register_services(users=Users().register_services(profiles=Profiles()))
    with chained.dal() as dal:
        assert dal.users.profiles.name() == "real profiles"
    count("15. polydatum details: chaining, replacing, meta")


def test_replace_service_and_resource_for_tests() -> None:
    dm = DataManager().register_services(users=Users().register_services(profiles=Profiles()))

    def real(context: Context) -> Iterator[str]:
        yield "real resource"

    def fake(context: Context) -> Iterator[str]:
        yield "fake resource"

    dm.register_resources(thing=real)
    before = dm.context()  # exists already: keeps its resources
    previous_profiles = dm.replace_service("users.profiles", FakeProfiles())
    with dm.dal() as dal:
        assert dal.users.profiles.name() == "fake profiles"
    previous = dm.replace_service("users", FakeUsers())
    assert dm.replace_resource("thing", fake) is real
    with dm.context() as ctx:
        assert ctx.dal.users.name() == "fake"
        assert ctx.thing == "fake resource"
    with before as ctx:
        assert ctx.thing == "real resource"
    assert isinstance(previous, Users)
    assert previous_profiles.name() == "real profiles"
    dm.replace_service("users", previous)
    dm.replace_service("users.profiles", previous_profiles)
    with dm.dal() as dal:
        assert dal.users.profiles.name() == "real profiles"
    with pytest.raises(UnknownServiceError):
        dm.replace_service("nobody", FakeUsers())
    with pytest.raises(UnknownServiceError):
        dm.replace_service("users.nobody", FakeUsers())
    with pytest.raises(UnknownResourceError):
        dm.replace_resource("nothing", fake)
    with pytest.raises(InvalidArgumentError):
        dm.replace_service("users", object())  # type: ignore[arg-type]
    count("15. polydatum details: chaining, replacing, meta")


def test_an_unset_meta_key_reads_as_none() -> None:
    dm = DataManager()
    with dm.context(meta={"user": "bob"}) as ctx:
        assert ctx.meta.user == "bob"
        assert ctx.meta.request_id is None
        with pytest.raises(KeyError):
            ctx.meta["request_id"]
    with dm.context() as ctx:
        assert ctx.meta.user is None
    count("15. polydatum details: chaining, replacing, meta")


def test_figures() -> None:
    figures.record_class(
        15,
        "context resources see how the context ended; polydatum details",
        cases=sum(_cases.values()),
        varies=f"{len(ENDINGS)} endings x context() / dal(); chaining, replace_service/resource, unset meta",
        backends="a transaction per resource on all seven",
    )
