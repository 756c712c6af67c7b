"""Scenario 9: SQLite under concurrency.

Several threads (and, separately, asyncio tasks plus a thread) write to one WAL-mode file through
several engines, as separate processes would, with a short BUSY_TIMEOUT so that lock waits really run
out, and one engine using BEGIN DEFERRED so that read-to-write lock upgrades really fail. Every error
must be typed (a ``BaseError``; lock trouble is ``DatabaseTimeoutError``, never a raw "database is
locked"), and the file must hold exactly the rows of the operations that reported success: each
successful insert, and a counter equal to the number of successful increments.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import Counter as Tally
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text

from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic
from archipy_lite.models.errors import BaseError, DatabaseTimeoutError
from archipy_lite.stores import AsyncStore, Store

from . import figures
from .conftest import AdapterFactory, checked_out
from .entities import Counter, Item, ReliabilityBase

THREADS, OPERATIONS = 8, 40
BUSY_TIMEOUT_MS = 60


class Ledger:
    """What the workers report as committed, and every error they saw."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.labels: set[str] = set()
        self.increments = 0
        self.attempts = 0
        self.errors: Tally[str] = Tally()
        self.untyped: list[str] = []

    def ok(self, labels: list[str], increments: int = 0) -> None:
        with self.lock:
            self.attempts += 1
            self.labels.update(labels)
            self.increments += increments

    def failed(self, error: BaseException) -> None:
        with self.lock:
            self.attempts += 1
            if isinstance(error, BaseError):
                self.errors[type(error).__name__] += 1
            else:
                self.untyped.append(f"{type(error).__module__}.{type(error).__name__}: {error}")


def prepare(path: Path, make_adapter: AdapterFactory) -> UUID:
    setup = make_adapter("sqlite", DATABASE=str(path), JOURNAL_MODE="WAL")
    ReliabilityBase.metadata.create_all(setup.session_manager.engine)
    key = uuid4()
    Store(setup, Counter).create(Counter(uuid=key, name="hits", value=0))
    return key


def committed(path: Path, key: UUID) -> tuple[set[str], int, str]:
    connection = sqlite3.connect(path)
    try:
        labels = {row[0] for row in connection.execute("SELECT label FROM rel_items")}
        value = connection.execute("SELECT value FROM rel_counters WHERE uuid = ?", (key.hex,)).fetchone()[0]
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        connection.close()
    return labels, int(value), str(mode)


def sync_operation(adapter: Any, key: UUID, worker: int, number: int) -> tuple[list[str], int]:
    """One of four kinds of write; returns (labels written, increments) once it has committed."""
    items, counters = Store(adapter, Item), Store(adapter, Counter)
    label = f"s{worker}-{number}"
    kind = number % 4
    if kind == 0:  # autocommit insert
        items.create(Item(label=label, writer=worker))
        return [label], 0
    if kind == 1:  # a block: two inserts and a read
        with atomic(adapter):
            items.create(Item(label=label + "a", writer=worker))
            items.count()
            items.create(Item(label=label + "b", writer=worker))
        return [label + "a", label + "b"], 0
    if kind == 2:  # read-modify-write of the shared counter
        with atomic(adapter):
            counter = counters.retrieve(key, for_update=True)
            counters.update(key, value=counter.value + 1)
        return [], 1
    adapter.bulk_create([Item(label=f"{label}-{n}", writer=worker) for n in range(3)])
    return [f"{label}-{n}" for n in range(3)], 0


def test_threads_on_one_wal_file(make_adapter: AdapterFactory, tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite3"
    key = prepare(path, make_adapter)
    # Four engines (as four processes would have); one begins DEFERRED, so its upgrades can fail.
    adapters = [
        make_adapter(
            "sqlite",
            DATABASE=str(path),
            JOURNAL_MODE="WAL",
            BUSY_TIMEOUT=BUSY_TIMEOUT_MS,
            BEGIN_MODE="DEFERRED" if index == 3 else "IMMEDIATE",
        )
        for index in range(4)
    ]
    ledger = Ledger()
    start = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        adapter = adapters[index % len(adapters)]
        start.wait(timeout=10)
        for number in range(OPERATIONS):
            try:
                ledger.ok(*sync_operation(adapter, key, index, number))
            except Exception as exc:
                ledger.failed(exc)

    began = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.monotonic() - began
    assert not ledger.untyped, ledger.untyped[:5]
    assert set(ledger.errors) <= {"DatabaseTimeoutError"}, ledger.errors
    labels, value, mode = committed(path, key)
    assert mode == "wal"
    assert labels == ledger.labels, "committed rows differ from the operations that reported success"
    assert value == ledger.increments
    for adapter in adapters:
        assert checked_out(adapter) == 0
    figures.record(
        "9",
        threads={
            "writers": f"{THREADS} threads over 4 engines (one BEGIN DEFERRED), BUSY_TIMEOUT={BUSY_TIMEOUT_MS} ms",
            "operations": ledger.attempts,
            "succeeded": ledger.attempts - sum(ledger.errors.values()),
            "errors by type": dict(ledger.errors),
            "untyped errors": 0,
            "rows committed = rows reported": f"{len(labels)} = {len(ledger.labels)}",
            "counter = successful increments": f"{value} = {ledger.increments}",
            "seconds": round(elapsed, 2),
        },
    )


async def test_tasks_and_a_thread_on_one_wal_file(make_adapter: AdapterFactory, tmp_path: Path) -> None:
    path = tmp_path / "busy-async.sqlite3"
    key = prepare(path, make_adapter)
    async_adapter = make_adapter("sqlite-async", DATABASE=str(path), JOURNAL_MODE="WAL", BUSY_TIMEOUT=BUSY_TIMEOUT_MS)
    sync_adapter = make_adapter("sqlite", DATABASE=str(path), JOURNAL_MODE="WAL", BUSY_TIMEOUT=BUSY_TIMEOUT_MS)
    ledger = Ledger()
    items, counters = AsyncStore(async_adapter, Item), AsyncStore(async_adapter, Counter)

    async def task(index: int) -> None:
        for number in range(OPERATIONS // 2):
            label = f"a{index}-{number}"
            try:
                if number % 2:
                    async with atomic(async_adapter):
                        counter = await counters.retrieve(key, for_update=True)
                        await counters.update(key, value=counter.value + 1)
                        await items.create(Item(label=label, writer=100 + index))
                    ledger.ok([label], 1)
                else:
                    await items.create(Item(label=label, writer=100 + index))
                    ledger.ok([label])
            except Exception as exc:
                ledger.failed(exc)

    def thread_worker() -> None:
        for number in range(OPERATIONS):
            try:
                ledger.ok(*sync_operation(sync_adapter, key, 99, number))
            except Exception as exc:
                ledger.failed(exc)
            try:  # and a read: SQLite transactions begin IMMEDIATE, so reads queue for the lock too
                sync_adapter.execute(text("SELECT count(*) FROM rel_items")).scalar_one()
                ledger.ok([])
            except Exception as exc:
                ledger.failed(exc)

    began = time.monotonic()
    thread = threading.Thread(target=thread_worker)
    thread.start()
    await asyncio.wait_for(asyncio.gather(*(task(i) for i in range(8))), 120)
    await asyncio.to_thread(thread.join, 120)
    elapsed = time.monotonic() - began
    assert not ledger.untyped, ledger.untyped[:5]
    assert set(ledger.errors) <= {"DatabaseTimeoutError"}, ledger.errors
    labels, value, _ = committed(path, key)
    assert labels == ledger.labels
    assert value == ledger.increments
    assert checked_out(async_adapter) == 0
    assert checked_out(sync_adapter) == 0
    figures.record(
        "9",
        tasks={
            "writers": f"8 aiosqlite tasks + 1 thread (writes and reads), BUSY_TIMEOUT={BUSY_TIMEOUT_MS} ms",
            "operations": ledger.attempts,
            "succeeded": ledger.attempts - sum(ledger.errors.values()),
            "errors by type": dict(ledger.errors),
            "untyped errors": 0,
            "rows committed = rows reported": f"{len(labels)} = {len(ledger.labels)}",
            "counter = successful increments": f"{value} = {ledger.increments}",
            "seconds": round(elapsed, 2),
        },
    )


def test_lock_timeout_is_typed(make_adapter: AdapterFactory, tmp_path: Path) -> None:
    """A writer blocked by another connection's write lock gets DatabaseTimeoutError after BUSY_TIMEOUT."""
    path = tmp_path / "locked.sqlite3"
    prepare(path, make_adapter)
    adapter = make_adapter("sqlite", DATABASE=str(path), JOURNAL_MODE="WAL", BUSY_TIMEOUT=200)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        began = time.monotonic()
        with pytest.raises(DatabaseTimeoutError) as caught:
            Store(adapter, Item).create(Item(label="blocked"))
        waited = time.monotonic() - began
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert caught.value.retryable
    assert caught.value.details["sqlite_code"] & 0xFF == 5  # SQLITE_BUSY
    assert 0.15 < waited < 2
    Store(adapter, Item).create(Item(label="after"))
    figures.record(
        "9",
        lock_timeout={
            "BUSY_TIMEOUT (ms)": 200,
            "waited (ms)": round(waited * 1000),
            "error": "DatabaseTimeoutError (SQLITE_BUSY, retryable)",
        },
    )
