"""Scenario 1: no lost updates.

8 threads x 100 and 64 asyncio tasks x 25 increments of one counter row, each a read-modify-write
through a store inside ``@atomic(adapter, retries=N)``:

* (a) SERIALIZABLE: a plain read; conflicts surface as serialization failures and are retried;
* (b) REPEATABLE READ with ``store.retrieve(..., for_update=True)``: the row lock orders writers, and a
  writer whose snapshot predates the last commit gets a serialization failure and is retried;
* (c) READ COMMITTED with ``for_update=True``, for contrast: writers queue on the lock, nothing to retry.

The final value must be exact; every attempt is counted, so retries = attempts - increments.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID, uuid4

import pytest

from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic
from archipy_lite.models.errors import InvalidArgumentError
from archipy_lite.stores import AsyncStore, Store

from . import figures
from .conftest import AdapterFactory, checked_out, query, truncate
from .entities import Counter

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

THREADS, PER_THREAD = 8, 100
TASKS, PER_TASK = 64, 25
RETRIES = 1000  # generous: the bound is the backoff (at most 2 s a wait), not the count

MODES = {
    "serializable": ("SERIALIZABLE", False),
    "repeatable-read-for-update": ("REPEATABLE READ", True),
    "read-committed-for-update": ("READ COMMITTED", True),
}


class Attempts:
    """A thread-safe count of how often the atomic function body ran."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def bump(self) -> None:
        with self._lock:
            self.value += 1


def new_counter(dsn: str) -> UUID:
    truncate(dsn, "rel_counters")
    key = uuid4()
    query(dsn, "INSERT INTO rel_counters (uuid, name, value) VALUES (%s, 'hits', 0) RETURNING uuid", (key,))
    return key


def final_value(dsn: str, key: UUID) -> int:
    return int(query(dsn, "SELECT value FROM rel_counters WHERE uuid = %s", (key,))[0][0])


@pytest.mark.parametrize("mode", list(MODES))
def test_threads_lose_no_update(make_adapter: AdapterFactory, rel_dsn: str, mode: str) -> None:
    isolation, for_update = MODES[mode]
    adapter = make_adapter("pg", ISOLATION_LEVEL=isolation, POOL_SIZE=THREADS)
    store = Store(adapter, Counter)
    key = new_counter(rel_dsn)
    attempts = Attempts()

    @atomic(adapter, retries=RETRIES)
    def increment() -> None:
        attempts.bump()
        counter = store.retrieve(key, for_update=for_update)
        store.update(key, value=counter.value + 1)

    start = threading.Barrier(THREADS)

    def worker(_: int) -> None:
        start.wait(timeout=10)
        for _ in range(PER_THREAD):
            increment()

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(worker, range(THREADS)))
    elapsed = time.monotonic() - began

    expected = THREADS * PER_THREAD
    assert final_value(rel_dsn, key) == expected
    retries = attempts.value - expected
    if mode == "read-committed-for-update":
        assert retries == 0  # the lock queues writers; READ COMMITTED re-reads the newest row
    assert checked_out(adapter) == 0
    figures.record(
        "1",
        **{
            f"threads/{mode}": {
                "workers": f"{THREADS} threads x {PER_THREAD}",
                "increments": expected,
                "final": expected,
                "attempts": attempts.value,
                "retries": retries,
                "seconds": round(elapsed, 2),
            }
        },
    )


@pytest.mark.parametrize("mode", list(MODES))
async def test_tasks_lose_no_update(make_adapter: AdapterFactory, rel_dsn: str, mode: str) -> None:
    isolation, for_update = MODES[mode]
    adapter = make_adapter("pg-async", ISOLATION_LEVEL=isolation, POOL_SIZE=8, POOL_TIMEOUT=120)
    store = AsyncStore(adapter, Counter)
    key = new_counter(rel_dsn)
    attempts = Attempts()

    @atomic(adapter, retries=RETRIES)
    async def increment() -> None:
        attempts.bump()
        counter = await store.retrieve(key, for_update=for_update)
        await store.update(key, value=counter.value + 1)

    async def worker() -> None:
        for _ in range(PER_TASK):
            await increment()

    began = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(TASKS)))
    elapsed = time.monotonic() - began

    expected = TASKS * PER_TASK
    assert final_value(rel_dsn, key) == expected
    retries = attempts.value - expected
    if mode == "read-committed-for-update":
        assert retries == 0
    assert checked_out(adapter) == 0
    figures.record(
        "1",
        **{
            f"tasks/{mode}": {
                "workers": f"{TASKS} tasks x {PER_TASK}",
                "increments": expected,
                "final": expected,
                "attempts": attempts.value,
                "retries": retries,
                "seconds": round(elapsed, 2),
            }
        },
    )


async def test_for_update_is_refused_outside_an_atomic_block(make_adapter: AdapterFactory, rel_dsn: str) -> None:
    """Outside a block the lock would end with the read: a typed refusal, sync and async."""
    key = new_counter(rel_dsn)
    sync_store = Store(make_adapter("pg"), Counter)
    async_store = AsyncStore(make_adapter("pg-async"), Counter)
    for attempt in (
        lambda: sync_store.get(key, for_update=True),
        lambda: sync_store.retrieve(key, for_update=True),
    ):
        with pytest.raises(InvalidArgumentError, match="atomic block"):
            attempt()
    with pytest.raises(InvalidArgumentError, match="atomic block"):
        await async_store.retrieve(key, for_update=True)
    assert sync_store.retrieve(key).value == 0  # plain reads still work


async def test_for_update_really_locks_the_row(make_adapter: AdapterFactory, rel_dsn: str) -> None:
    """While one block holds the row, another connection's NOWAIT lock attempt fails at once."""
    key = new_counter(rel_dsn)
    adapter = make_adapter("pg")
    store = Store(adapter, Counter)
    outcome: dict[str, Any] = {}
    with atomic(adapter):
        store.retrieve(key, for_update=True)

        def other() -> None:
            try:
                query(rel_dsn, "SELECT value FROM rel_counters WHERE uuid = %s FOR UPDATE NOWAIT", (key,))
                outcome["locked"] = False
            except Exception as exc:  # psycopg's LockNotAvailable, read from outside the library
                outcome["locked"] = type(exc).__name__ == "LockNotAvailable"

        await asyncio.to_thread(other)
    assert outcome == {"locked": True}
