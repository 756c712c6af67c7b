"""Classes 12, 13 and 14: store writes that must change exactly what they say, on every backend.

12. An upsert with nothing to update (``update_fields=[]``, or no column besides the key) inserts new
    rows only: existing rows keep every column, ``updated_at`` included. ``bulk_upsert`` returns the
    rows it inserted; ``upsert`` returns the stored row (the existing one, untouched).
13. Every key method (``get``, ``retrieve``, ``exists``, ``update``, ``update_with_diff``, ``replace``,
    ``delete``, ``hard_delete``) works with any primary key: integer, text, UUID and composite (as a
    tuple or a mapping). A key of the wrong type or arity is ``InvalidArgumentError`` before any SQL.
    ``one()`` returns the single match, ``NotFoundError`` for none, ``MultipleResultsError`` for several.
14. An upsert or replace onto a soft-deleted row restores it (visible again, ``deleted_at`` cleared);
    with ``update_fields=[]`` the deleted row is left as it is and returned as stored.

Every case runs on the seven backends of the matrix, sync stores on sync adapters, async on async.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Date, Integer, MetaData, String, event, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from archipy_lite.models.entities.sqlalchemy.base_entities import UpdatableDeletableEntity, UpdatableEntity
from archipy_lite.models.errors import InvalidArgumentError, MultipleResultsError, NotFoundError
from archipy_lite.stores import AsyncStore, Store

from . import figures
from backends import Backend


class KeysBase(DeclarativeBase):
    metadata = MetaData()


class Counter(KeysBase):
    __tablename__ = "cls_int_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(50))


class Currency(KeysBase):
    __tablename__ = "cls_str_keys"
    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class Office(KeysBase):
    __tablename__ = "cls_composite_keys"
    region: Mapped[str] = mapped_column(String(10), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(50))


class Holiday(KeysBase):
    __tablename__ = "cls_date_keys"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class Member(UpdatableDeletableEntity):
    __tablename__ = "cls_members"
    email: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(50))


class Profile(UpdatableEntity):
    __tablename__ = "cls_profiles"
    handle: Mapped[str] = mapped_column(String(50), unique=True)
    bio: Mapped[str] = mapped_column(String(100))


# model -> (a key of row 1, the same key spelled otherwise, a key of a missing row, keys of the wrong type)
KEY_CASES: dict[str, tuple[type[Any], Callable[[int], Any], list[Any]]] = {
    "integer": (Counter, lambda i: i, ["1", 1.0, True, None, uuid4(), (1, 2), 2**63, -(2**70)]),
    "date": (
        Holiday,
        lambda i: date(2024, 1, 1) + timedelta(days=i),
        [datetime(2024, 1, 2), datetime(2024, 1, 2, tzinfo=UTC), "2024-01-02"],
    ),
    "text": (Currency, lambda i: f"C{i:02d}", [1, None, b"C01", ("C01", "x")]),
    "composite": (Office, lambda i: ("eu", i), ["eu", ("eu",), ("eu", "1"), (1, 1), {"region": "eu"}, None]),
    "uuid": (Member, lambda i: UUID(int=i), ["not-a-uuid", 7, None, (UUID(int=1), 2)]),
}
_cases: dict[str, int] = {}
_prepared: set[str] = set()


def count(item: str) -> None:
    _cases[item] = _cases.get(item, 0) + 1


def row(model: type[Any], i: int, **fields: Any) -> Any:
    if model is Counter:
        return Counter(id=i, name=f"n{i}", **fields)
    if model is Currency:
        return Currency(code=f"C{i:02d}", name=f"n{i}", **fields)
    if model is Office:
        return Office(region="eu", number=i, name=f"n{i}", **fields)
    if model is Holiday:
        return Holiday(day=date(2024, 1, 1) + timedelta(days=i), name=f"n{i}", **fields)
    return Member(uuid=UUID(int=i), email=f"m{i}@x.org", name=f"n{i}", **fields)


@pytest.fixture
async def db_with_keys(db: Backend) -> Backend:
    if db.name not in _prepared:
        if db.is_async:
            async with db.manager.engine.begin() as connection:
                await connection.run_sync(KeysBase.metadata.create_all)
        else:
            KeysBase.metadata.create_all(db.manager.engine)
        _prepared.add(db.name)
    for table in KeysBase.metadata.sorted_tables:
        await db.call(db.adapter.execute, text(f"DELETE FROM {table.name}"))
    return db


def store(db: Backend, model: type[Any]) -> Any:
    return AsyncStore(db.adapter, model) if db.is_async else Store(db.adapter, model)


def statements(db: Backend) -> list[str]:
    seen: list[str] = []
    event.listen(db.sync_engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


# --- 13. key methods over every key type ------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KEY_CASES))
async def test_key_methods_work_with_any_primary_key(db_with_keys: Backend, kind: str) -> None:
    db = db_with_keys
    model, key, _ = KEY_CASES[kind]
    things = store(db, model)
    for i in (1, 2, 3):
        await db.call(things.create, row(model, i))

    assert (await db.call(things.get, key(1))).name == "n1"
    assert (await db.call(things.retrieve, key(2))).name == "n2"
    assert await db.call(things.exists, key(3))
    assert await db.call(things.get, key(99)) is None
    assert not await db.call(things.exists, key(99))
    with pytest.raises(NotFoundError):
        await db.call(things.retrieve, key(99))
    if kind == "composite":  # a mapping names the parts
        assert (await db.call(things.get, {"region": "eu", "number": 1})).name == "n1"

    assert (await db.call(things.update, key(1), name="renamed")).name == "renamed"
    diff = await db.call(things.update_with_diff, key(2), name="changed")
    assert diff.changes["name"].after == "changed"
    with pytest.raises(NotFoundError):
        await db.call(things.update, key(99), name="ghost")

    replaced = await db.call(things.replace, key(3), row(model, 50))
    assert replaced.name == "n50"
    assert (await db.call(things.retrieve, key(3))).name == "n50"  # the key given wins over the entity's
    created = await db.call(things.replace, key(4), row(model, 4))
    assert (await db.call(things.retrieve, key(4))).name == created.name == "n4"

    await db.call(things.hard_delete, key(4))
    assert await db.call(things.get, key(4), include_deleted=True) is None
    await db.call(things.delete, key(1))
    assert await db.call(things.get, key(1)) is None
    with pytest.raises(NotFoundError):
        await db.call(things.delete, key(1))
    count("13")


@pytest.mark.parametrize("kind", list(KEY_CASES))
async def test_a_key_of_the_wrong_type_is_a_typed_error_before_any_sql(db_with_keys: Backend, kind: str) -> None:
    db = db_with_keys
    model, _, wrong_keys = KEY_CASES[kind]
    things = store(db, model)
    sent = statements(db)
    for wrong in wrong_keys:
        for method, arguments in (
            (things.get, ()),
            (things.retrieve, ()),
            (things.exists, ()),
            (things.update, ()),
            (things.delete, ()),
            (things.hard_delete, ()),
            (things.replace, (row(model, 9),)),
        ):
            with pytest.raises(InvalidArgumentError) as caught:
                await db.call(method, wrong, *arguments)
            assert caught.value.details.get("field") or caught.value.details.get("fields")
    assert sent == []
    count("13")


async def test_one_returns_the_single_match(db_with_keys: Backend) -> None:
    db = db_with_keys
    offices = store(db, Office)
    for i in (1, 2):
        await db.call(offices.create, Office(region="eu", number=i, name="same" if i else "x"))
    await db.call(offices.create, Office(region="us", number=1, name="solo"))
    assert (await db.call(offices.one, filters={"name": "solo"})).region == "us"
    assert (await db.call(offices.one, Office.number == 2)).name == "same"
    with pytest.raises(NotFoundError):
        await db.call(offices.one, filters={"name": "nobody"})
    with pytest.raises(MultipleResultsError) as caught:
        await db.call(offices.one, filters={"name": "same"})
    assert caught.value.http_status == 409
    count("13")


# --- 12. an upsert with nothing to update changes nothing ---------------------------------------------

UPSERT_SHAPES = {
    "conflict on a unique column": ["handle"],
    "conflict on the primary key": None,
}


@pytest.mark.parametrize("model", [Profile, Member], ids=["UpdatableEntity", "UpdatableDeletableEntity"])
@pytest.mark.parametrize("bulk", [False, True], ids=["upsert", "bulk_upsert"])
@pytest.mark.parametrize("shape", list(UPSERT_SHAPES))
async def test_update_fields_empty_leaves_existing_rows_untouched(
    db_with_keys: Backend, shape: str, bulk: bool, model: type[Any]
) -> None:
    db = db_with_keys
    unique = "handle" if model is Profile else "email"
    conflict = [unique] if UPSERT_SHAPES[shape] else None
    things = store(db, model)
    old = datetime(2020, 1, 1, tzinfo=UTC)

    def make(name: str, value: str, **fields: Any) -> Any:
        extra = {"bio": value} if model is Profile else {"name": value}
        return model(**{unique: name}, **extra, **fields)

    existing = await db.call(things.create, make("ann", "original", created_at=old, updated_at=old + timedelta(1)))
    same_key = {} if conflict else {"uuid": existing.uuid}
    again, fresh = make("ann", "changed", **same_key), make("bob", "new")
    if bulk:
        written = await db.call(things.bulk_upsert, [again, fresh], conflict=conflict, update_fields=[])
        assert [getattr(p, unique) for p in written] == ["bob"]  # only what was inserted
    else:
        stored = await db.call(things.upsert, again, conflict=conflict, update_fields=[])
        assert (stored.uuid, stored.updated_at) == (existing.uuid, existing.updated_at)
        assert (await db.call(things.upsert, fresh, conflict=conflict, update_fields=[])).uuid == fresh.uuid
    after = await db.call(things.retrieve, existing.uuid)
    value = after.bio if model is Profile else after.name
    assert (value, after.updated_at, after.created_at) == ("original", existing.updated_at, old)
    assert await db.call(things.exists, fresh.uuid)
    count("12")


@pytest.mark.parametrize("conflict", [["email"], None], ids=["a unique column", "the primary key"])
async def test_bulk_upsert_refuses_one_key_twice_in_a_batch(db_with_keys: Backend, conflict: list[str] | None) -> None:
    db = db_with_keys
    things = store(db, Member)
    existing = await db.call(things.create, Member(email="ann@x.org", name="original"))
    twice = {"email": "ann@x.org"} if conflict else {"uuid": existing.uuid, "email": "other@x.org"}
    batch = [Member(**twice, name="first"), Member(email="new@x.org", name="new"), Member(**twice, name="second")]
    with pytest.raises(InvalidArgumentError) as caught:
        await db.call(things.bulk_upsert, batch, conflict=conflict)
    assert caught.value.details == {"fields": conflict or ["uuid"]}
    assert (await db.call(things.retrieve, existing.uuid)).name == "original"  # nothing was written
    assert not await db.call(things.exists, batch[1].uuid)
    count("12")


# --- 14. upsert and replace onto a soft-deleted row ----------------------------------------------------

RESTORING = {
    "upsert on the primary key": lambda s, m: s.upsert(m),
    "upsert on a unique column": lambda s, m: s.upsert(Member(email=m.email, name=m.name), conflict=["email"]),
    "upsert with update_fields": lambda s, m: s.upsert(m, update_fields=["name"]),
    "bulk_upsert": lambda s, m: s.bulk_upsert([m]),
    "replace": lambda s, m: s.replace(m.uuid, Member(email=m.email, name=m.name)),
}


@pytest.mark.parametrize("write", list(RESTORING))
async def test_upsert_or_replace_onto_a_soft_deleted_row_restores_it(db_with_keys: Backend, write: str) -> None:
    db = db_with_keys
    members = store(db, Member)
    member = await db.call(members.create, row(Member, 1))
    await db.call(members.delete, member.uuid)
    assert await db.call(members.get, member.uuid) is None

    outcome = await db.call(RESTORING[write], members, Member(uuid=member.uuid, email=member.email, name="back"))
    stored = outcome[0] if isinstance(outcome, list) else outcome
    assert stored.uuid == member.uuid
    assert stored.is_deleted is False
    assert stored.deleted_at is None
    visible = await db.call(members.retrieve, member.uuid)  # visible again
    assert visible.name == "back"
    assert await db.call(members.count) == 1
    count("14")


async def test_insert_only_upsert_leaves_a_soft_deleted_row_deleted(db_with_keys: Backend) -> None:
    db = db_with_keys
    members = store(db, Member)
    member = await db.call(members.create, row(Member, 1))
    await db.call(members.delete, member.uuid)
    stored = await db.call(members.upsert, Member(uuid=member.uuid, email=member.email, name="x"), update_fields=[])
    assert (stored.uuid, stored.is_deleted, stored.name) == (member.uuid, True, "n1")
    assert await db.call(members.get, member.uuid) is None
    count("14")


def test_figures() -> None:
    seven = "all seven (psycopg, asyncpg, psycopg-async, sqlite file/memory, aiosqlite file/memory)"
    figures.record_class(
        12,
        "upserts that update nothing change nothing",
        cases=_cases.get("12", 0),
        varies="upsert / bulk_upsert x conflict on a unique column / the key x UpdatableEntity / soft-deletable",
        backends=seven,
    )
    figures.record_class(
        13,
        "store key methods with any primary key; one()",
        cases=_cases.get("13", 0),
        varies="integer, text, UUID, composite keys x every key method; wrong types and arity",
        backends=seven,
    )
    figures.record_class(
        14,
        "upsert and replace onto soft-deleted rows",
        cases=_cases.get("14", 0),
        varies="upsert on the key / a unique column / with update_fields, bulk_upsert, replace, insert-only",
        backends=seven,
    )
