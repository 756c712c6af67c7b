"""Scenario 8: a shipped (read-only) data set refuses every write path, and its bytes never change.

A data set file is built with ``DataSetBuilder`` and configured as shipped (read-only). Every write
path of the table below, sync and async, adapter, store, raw session and raw SQL, must fail with a
typed error; afterwards the file's SHA-256 is unchanged, no journal or WAL file appeared next to it,
and reads still work. (``tests/test_datasets.py`` covers the data set features; this is the fault table.)
"""

# An attempt may be a coroutine to await as well: two statements inside pytest.raises.
# ruff: noqa: PT012

from __future__ import annotations

import hashlib
import inspect
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Column, Integer, String, Uuid, delete, insert, text, update

from archipy_lite.datasets import DataSet, DataSetBuilder
from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic
from archipy_lite.models.errors import BaseError, DatabaseReadOnlyError
from archipy_lite.stores import AsyncStore, Store

from . import figures

NAME = f"rel_shipped_{uuid4().hex[:8]}"
Base: Any = DataSet.create(NAME)


class Entry(Base):  # type: ignore[misc,valid-type]
    __tablename__ = "entries"
    uuid = Column(Uuid, primary_key=True, default=uuid4)
    name = Column(String(50), nullable=False, unique=True)
    score = Column(Integer, nullable=False, default=0)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Shipped:
    path: Path
    digest: str
    adapter: Any
    async_adapter: Any
    store: Store[Any]
    async_store: AsyncStore[Any]
    key: UUID
    existing: Any


@pytest.fixture(scope="module")
async def shipped(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shipped]:
    folder = tmp_path_factory.mktemp("shipped")
    path = folder / "shipped.sqlite3"
    key = uuid4()
    with DataSetBuilder(Base, path) as builder:
        builder.load_rows(Entry, [{"uuid": key, "name": "a", "score": 1}, {"uuid": uuid4(), "name": "b", "score": 2}])
    DataSet.configure({NAME: str(path)})  # a configured file is shipped: read-only
    dataset = Base.dataset
    adapter, async_adapter = dataset.adapter(), dataset.async_adapter()
    assert adapter.session_manager.config.READ_ONLY
    assert async_adapter.session_manager.config.READ_ONLY
    store = Store(adapter, Entry)
    existing = store.retrieve(key)
    try:
        yield Shipped(
            path, sha256(path), adapter, async_adapter, store, AsyncStore(async_adapter, Entry), key, existing
        )
    finally:
        await dataset.async_dispose()
        DataSet.unconfigure(NAME)
        DataSet.forget(NAME)


def session_insert(s: Shipped) -> None:
    session = s.adapter.get_session()
    session.add(Entry(name="raw"))
    session.flush()


def session_dirty(s: Shipped) -> None:
    session = s.adapter.get_session()
    entry = session.get(Entry, s.key)
    entry.score = 100
    session.flush()


def in_atomic(s: Shipped) -> None:
    with atomic(s.adapter):
        s.adapter.create(Entry(name="atomic"))


async def in_async_atomic(s: Shipped) -> None:
    async with atomic(s.async_adapter):
        await s.async_adapter.create(Entry(name="atomic"))


def query_only_off(s: Shipped) -> None:
    s.adapter.execute(text("PRAGMA query_only = OFF"))  # the mode=ro file still refuses
    s.adapter.execute(insert(Entry).values(uuid=uuid4(), name="sneaky"))


def create_all_new_table(s: Shipped) -> None:
    class Extra(Base):  # type: ignore[misc,valid-type]
        __tablename__ = f"extras_{uuid4().hex[:6]}"
        id = Column(Integer, primary_key=True)

    Base.dataset.create_all()


def attach_and_write(s: Shipped) -> None:
    other = s.path.with_name("attached.sqlite3")
    s.adapter.execute(text(f"ATTACH DATABASE '{other}' AS other"))
    s.adapter.execute(text("CREATE TABLE other.t (x INTEGER)"))


R = DatabaseReadOnlyError
WRITES: dict[str, tuple[Callable[[Shipped], Any], type[BaseError]]] = {
    "adapter.create": (lambda s: s.adapter.create(Entry(name="new")), R),
    "adapter.bulk_create": (lambda s: s.adapter.bulk_create([Entry(name="x"), Entry(name="y")]), R),
    "adapter.delete": (lambda s: s.adapter.delete(s.existing), R),
    "adapter.bulk_delete": (lambda s: s.adapter.bulk_delete([s.existing]), R),
    "execute(INSERT)": (lambda s: s.adapter.execute(insert(Entry).values(uuid=uuid4(), name="i")), R),
    "execute(UPDATE)": (lambda s: s.adapter.execute(update(Entry).values(score=5)), R),
    "execute(DELETE)": (lambda s: s.adapter.execute(delete(Entry)), R),
    "execute(CREATE TABLE)": (lambda s: s.adapter.execute(text("CREATE TABLE intruder (id INTEGER)")), R),
    "execute(CREATE INDEX)": (lambda s: s.adapter.execute(text("CREATE INDEX ix_score ON entries (score)")), R),
    "execute(DROP TABLE)": (lambda s: s.adapter.execute(text("DROP TABLE entries")), R),
    "execute(CREATE TEMP TABLE)": (lambda s: s.adapter.execute(text("CREATE TEMP TABLE scratch (x)")), R),
    "execute(PRAGMA user_version)": (lambda s: s.adapter.execute(text("PRAGMA user_version = 7")), R),
    "execute(ANALYZE)": (lambda s: s.adapter.execute(text("ANALYZE")), R),
    "execute(VACUUM)": (lambda s: s.adapter.execute(text("VACUUM")), BaseError),
    "execute(PRAGMA journal_mode = WAL)": (lambda s: s.adapter.execute(text("PRAGMA journal_mode = WAL")), BaseError),
    "ATTACH, then write there": (attach_and_write, R),
    "Store.create": (lambda s: s.store.create(Entry(name="s")), R),
    "Store.update": (lambda s: s.store.update(s.key, score=9), R),
    "Store.update_with_diff": (lambda s: s.store.update_with_diff(s.key, score=9), R),
    "Store.delete": (lambda s: s.store.delete(s.key), R),
    "Store.hard_delete": (lambda s: s.store.hard_delete(s.key), R),
    "Store.upsert": (lambda s: s.store.upsert(Entry(uuid=s.key, name="a", score=3)), R),
    "Store.bulk_upsert": (lambda s: s.store.bulk_upsert([Entry(name="u1"), Entry(uuid=s.key, name="a")]), R),
    "Store.replace": (lambda s: s.store.replace(s.key, Entry(name="a2")), R),
    "Store.get(for_update) + update in a block": (
        lambda s: atomic(s.adapter)(lambda: s.store.update(s.store.retrieve(s.key, for_update=True).uuid, score=4))(),
        R,
    ),
    "session.add + flush": (session_insert, R),
    "session dirty + flush": (session_dirty, R),
    "atomic block": (in_atomic, R),
    "PRAGMA query_only = OFF, then INSERT": (query_only_off, R),
    "DataSet.create_all (new table)": (create_all_new_table, R),
    "async adapter.create": (lambda s: s.async_adapter.create(Entry(name="async")), R),
    "async execute(UPDATE)": (lambda s: s.async_adapter.execute(update(Entry).values(score=1)), R),
    "async Store.create": (lambda s: s.async_store.create(Entry(name="async-store")), R),
    "async Store.update": (lambda s: s.async_store.update(s.key, score=10), R),
    "async Store.upsert": (lambda s: s.async_store.upsert(Entry(uuid=s.key, name="a")), R),
    "async Store.delete": (lambda s: s.async_store.delete(s.key), R),
    "async atomic block": (in_async_atomic, R),
}
_refused: list[str] = []


@pytest.mark.parametrize("path", list(WRITES))
async def test_write_is_refused(shipped: Shipped, path: str) -> None:
    attempt, expected = WRITES[path]
    with pytest.raises(BaseError) as caught:
        outcome = attempt(shipped)
        if inspect.isawaitable(outcome):
            await outcome
    assert isinstance(caught.value, expected), f"{type(caught.value).__name__}: {caught.value}"
    assert sha256(shipped.path) == shipped.digest
    _refused.append(f"{path}: {type(caught.value).__name__}")


async def test_file_is_unchanged_and_still_readable(shipped: Shipped) -> None:
    assert sha256(shipped.path) == shipped.digest
    leftovers = sorted(p.name for p in shipped.path.parent.iterdir() if p.name.startswith("shipped"))
    assert leftovers == ["shipped.sqlite3"], leftovers  # no -journal, -wal or -shm
    assert shipped.store.count() == 2
    assert sorted(entry.score for entry in await shipped.async_store.search()) == [1, 2]
    read_only_errors = sum(line.endswith("DatabaseReadOnlyError") for line in _refused)
    figures.record(
        "8",
        dataset={
            "write paths tried": len(WRITES),
            "refused with a typed error": len(_refused),
            "of which DatabaseReadOnlyError": read_only_errors,
            "others": sorted(line for line in _refused if not line.endswith("DatabaseReadOnlyError")),
            "sha256 before == after": True,
            "journal/WAL files left": 0,
        },
    )
