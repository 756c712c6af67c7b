"""Soak mode: N minutes of mixed sync/async load with periodic connection kills. Not run in CI.

    ARCHIPY_LITE_SOAK_MINUTES=10 uv run pytest tests/reliability/test_soak.py -s

Four threads (psycopg) and eight asyncio tasks (asyncpg) insert rows, increment a shared counter with
``SELECT ... FOR UPDATE`` inside ``@atomic(retries=5)``, and read pages, while every few seconds every
backend of both pools is terminated. Every 10 s it prints operations per second and errors by type; at
the end it checks that all errors were typed and that the database holds exactly what was reported
committed (give or take writes whose COMMIT was cut off, which the client cannot know about).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter as Tally
from uuid import UUID, uuid4

import pytest

from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic
from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.errors import BaseError
from archipy_lite.stores import AsyncStore, Store

from . import figures
from .conftest import AdapterFactory, query, terminate_backends, truncate
from .entities import Counter, Item

MINUTES = float(os.environ.get("ARCHIPY_LITE_SOAK_MINUTES", "0") or 0)
KILL_EVERY_SECONDS = 5.0
REPORT_EVERY_SECONDS = 10.0

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(MINUTES <= 0, reason="soak mode: set ARCHIPY_LITE_SOAK_MINUTES=N to run it"),
]


class Tallies:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ops = 0
        self.errors: Tally[str] = Tally()
        self.untyped: list[str] = []
        self.inserted: set[str] = set()
        self.insert_failed: set[str] = set()
        self.increments = 0
        self.increments_failed = 0

    def error(self, exc: BaseException) -> None:
        with self.lock:
            self.ops += 1
            if isinstance(exc, BaseError):
                self.errors[type(exc).__name__] += 1
            else:
                self.untyped.append(f"{type(exc).__module__}.{type(exc).__name__}: {exc}")

    def done(self) -> None:
        with self.lock:
            self.ops += 1


def seed_counter(dsn: str) -> UUID:
    truncate(dsn, "rel_items", "rel_counters")
    key = uuid4()
    query(dsn, "INSERT INTO rel_counters (uuid, name, value) VALUES (%s, 'soak', 0) RETURNING 1", (key,))
    return key


async def test_soak(make_adapter: AdapterFactory, rel_dsn: str, postgres_server_dsn: str) -> None:
    key = seed_counter(rel_dsn)
    options = {"ISOLATION_LEVEL": "READ COMMITTED", "POOL_SIZE": 6, "POOL_TIMEOUT": 30}
    sync_adapter, async_adapter = make_adapter("pg", **options), make_adapter("pg-async", **options)
    names = [a.session_manager.config.APPLICATION_NAME for a in (sync_adapter, async_adapter)]
    tallies = Tallies()
    deadline = time.monotonic() + MINUTES * 60
    kills = 0
    killed_backends = 0

    sync_items, sync_counters = Store(sync_adapter, Item), Store(sync_adapter, Counter)

    @atomic(sync_adapter, retries=5)
    def sync_increment() -> None:
        counter = sync_counters.retrieve(key, for_update=True)
        sync_counters.update(key, value=counter.value + 1)

    def thread_worker(index: int) -> None:
        number = 0
        while time.monotonic() < deadline:
            number += 1
            label = f"s{index}-{number}"
            kind = number % 3
            try:
                if kind == 0:
                    sync_items.create(Item(label=label, writer=index))
                    with tallies.lock:
                        tallies.inserted.add(label)
                elif kind == 1:
                    sync_increment()
                    with tallies.lock:
                        tallies.increments += 1
                else:
                    sync_items.search(pagination=PaginationDTO(page=1, page_size=20))
                tallies.done()
            except Exception as exc:
                with tallies.lock:
                    if kind == 0:
                        tallies.insert_failed.add(label)
                    elif kind == 1:
                        tallies.increments_failed += 1
                tallies.error(exc)

    async_items, async_counters = AsyncStore(async_adapter, Item), AsyncStore(async_adapter, Counter)

    @atomic(async_adapter, retries=5)
    async def async_increment() -> None:
        counter = await async_counters.retrieve(key, for_update=True)
        await async_counters.update(key, value=counter.value + 1)

    async def task_worker(index: int) -> None:
        number = 0
        while time.monotonic() < deadline:
            number += 1
            label = f"a{index}-{number}"
            kind = number % 3
            try:
                if kind == 0:
                    await async_items.create(Item(label=label, writer=100 + index))
                    with tallies.lock:
                        tallies.inserted.add(label)
                elif kind == 1:
                    await async_increment()
                    with tallies.lock:
                        tallies.increments += 1
                else:
                    await async_items.count()
                tallies.done()
            except Exception as exc:
                with tallies.lock:
                    if kind == 0:
                        tallies.insert_failed.add(label)
                    elif kind == 1:
                        tallies.increments_failed += 1
                tallies.error(exc)

    async def killer() -> None:
        nonlocal kills, killed_backends
        while time.monotonic() + KILL_EVERY_SECONDS < deadline:
            await asyncio.sleep(KILL_EVERY_SECONDS)
            for name in names:
                killed_backends += len(await asyncio.to_thread(terminate_backends, postgres_server_dsn, name))
            kills += 1

    async def reporter() -> None:
        last_ops, last_time = 0, time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(min(REPORT_EVERY_SECONDS, max(0.1, deadline - time.monotonic())))
            now = time.monotonic()
            with tallies.lock:
                ops, errors = tallies.ops, dict(tallies.errors)
            print(
                f"[soak] {ops - last_ops} ops in {now - last_time:.1f} s = {(ops - last_ops) / (now - last_time):.0f} "
                f"ops/s; total {ops}; kills {kills} ({killed_backends} backends); errors {errors}",
                flush=True,
            )
            last_ops, last_time = ops, now

    began = time.monotonic()
    threads = [threading.Thread(target=thread_worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    await asyncio.gather(*(task_worker(i) for i in range(8)), killer(), reporter())
    for thread in threads:
        await asyncio.to_thread(thread.join, 60)
    elapsed = time.monotonic() - began

    assert not tallies.untyped, tallies.untyped[:5]
    labels = {row[0] for row in query(rel_dsn, "SELECT label FROM rel_items")}
    value = int(query(rel_dsn, "SELECT value FROM rel_counters WHERE uuid = %s", (key,))[0][0])
    assert tallies.inserted <= labels, "a write reported as committed is missing"
    assert labels <= tallies.inserted | tallies.insert_failed, "rows appeared that nobody wrote"
    ambiguous_inserts = len(labels & tallies.insert_failed)
    assert tallies.increments <= value <= tallies.increments + tallies.increments_failed
    ambiguous_increments = value - tallies.increments
    summary = {
        "minutes": MINUTES,
        "operations": tallies.ops,
        "ops/s": round(tallies.ops / elapsed),
        "connection kills": kills,
        "backends killed": killed_backends,
        "errors by type": dict(tallies.errors),
        "untyped errors": 0,
        "rows committed": len(labels),
        "failed inserts found committed (COMMIT cut off)": ambiguous_inserts,
        "counter": value,
        "successful increments": tallies.increments,
        "failed increments found committed (COMMIT cut off)": ambiguous_increments,
    }
    print(f"[soak] final: {summary}", flush=True)
    figures.record("soak", run=summary)
