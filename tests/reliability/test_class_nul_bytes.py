"""Class 17 (NUL part): every driver refuses a NUL character in a string the same way.

PostgreSQL cannot store ``\\x00`` in text; psycopg refused it before sending, asyncpg sent it and got a
server error (which also aborted the transaction), SQLite stored it. Now every backend raises
``InvalidArgumentError`` naming the NUL character, before anything is sent: nothing is stored, and an
atomic block that catches the error can carry on and commit. Checked through every write and read
route (adapter create and bulk create, stores, Core and raw SQL statements, filters) on the seven
backends of the matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import insert, select, text, update

from archipy_lite.models.errors import InvalidArgumentError
from archipy_lite.stores import AsyncStore, Store

from . import figures
from backends import Backend
from db_checks import backend_params
from models import User

BAD = "nul\x00inside"


def store(db: Backend) -> Any:
    return AsyncStore(db.adapter, User) if db.is_async else Store(db.adapter, User)


ROUTES: dict[str, Callable[[Backend], Any]] = {
    "adapter.create": lambda db: db.adapter.create(User(username=BAD, email="a@x.org")),
    "adapter.bulk_create": lambda db: db.adapter.bulk_create(
        [User(username="fine", email="f@x.org"), User(username="u2", email=BAD)]
    ),
    "adapter.bulk_create, a COPY-sized batch": lambda db: db.adapter.bulk_create(
        [User(username=f"b{i}", email=BAD if i == 149 else f"b{i}@x.org") for i in range(150)]
    ),
    "Store.create": lambda db: store(db).create(User(username=BAD, email="s@x.org")),
    "Store.upsert": lambda db: store(db).upsert(User(username="u3", email=BAD)),
    "Store.update": lambda db: store(db).update(db.seed.uuid, full_name=BAD),
    "Store.search filter": lambda db: store(db).search(filters={"username": BAD}),
    "Core insert": lambda db: db.adapter.execute(insert(User).values(username=BAD, email="c@x.org")),
    "Core update": lambda db: db.adapter.execute(update(User).values(full_name=BAD)),
    "raw SQL parameter": lambda db: db.adapter.execute(text("SELECT :v AS v"), {"v": BAD}),
    "select where": lambda db: db.adapter.scalars(select(User).where(User.username == BAD)),
    "a literal in the SQL text": lambda db: db.adapter.execute(text(f"SELECT '{BAD}' AS v")),
    "a literal in an UPDATE's text": lambda db: db.adapter.execute(text(f"UPDATE users SET full_name = '{BAD}'")),
}
_cases: list[str] = []


@pytest.mark.parametrize("route", list(ROUTES))
async def test_a_nul_character_is_refused_the_same_way_everywhere(db: Backend, route: str) -> None:
    db.seed = await db.call(db.adapter.create, User(username="seed", email="seed@x.org"))  # type: ignore[attr-defined]
    with pytest.raises(InvalidArgumentError, match="NUL character") as caught:
        await db.call(ROUTES[route], db)
    assert caught.value.details["reason"] == "nul_character"
    names = await db.call(db.adapter.scalars, select(User.username).order_by(User.username))
    assert names.all() == ["seed"]  # nothing was stored
    full_names = await db.call(db.adapter.scalars, select(User.full_name))
    assert full_names.all() == [None]
    _cases.append(route)


@pytest.mark.parametrize("db", backend_params(kind="postgres"), indirect=True)
async def test_a_character_the_server_cannot_store_is_an_invalid_argument(db: Backend) -> None:
    """Inside JSON a NUL is an escape (``\\u0000``) the driver sends; PostgreSQL refuses it (22P05)."""
    with pytest.raises(InvalidArgumentError) as caught:
        await db.call(db.adapter.execute, text("SELECT CAST(:j AS jsonb) ->> 'k'"), {"j": '{"k": "a\\u0000b"}'})
    assert caught.value.details == {"sqlstate": "22P05", "reason": "unstorable_character"}
    _cases.append("a character the server cannot store")


@pytest.mark.parametrize("nested", [False, True], ids=["statement in the block", "ORM write in a savepoint"])
async def test_an_atomic_block_that_catches_it_carries_on(db: Backend, nested: bool) -> None:
    """Nothing reached the server, so the transaction is intact (asyncpg's used to be aborted)."""

    async def write_bad_row() -> None:
        if nested:  # an ORM flush that fails ends its transaction: a savepoint keeps the block
            async with db.atomic():
                await db.call(db.adapter.create, User(username=BAD, email="x@x.org"))
        else:
            await db.call(db.adapter.execute, insert(User).values(username=BAD, email="x@x.org"))

    async with db.atomic():
        with pytest.raises(InvalidArgumentError):
            await write_bad_row()
        await db.call(db.adapter.create, User(username="after", email="after@x.org"))  # same transaction
    names = await db.call(db.adapter.scalars, select(User.username))
    assert names.all() == ["after"]
    _cases.append("atomic block carries on")


def test_figures() -> None:
    figures.record_class(
        17,
        "a NUL character is refused alike by every driver",
        cases=len(_cases),
        varies=f"{len(ROUTES)} write and read routes (SQL text too); JSON on PostgreSQL; an atomic block carries on",
        backends="all seven",
    )
