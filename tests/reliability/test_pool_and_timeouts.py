"""Scenarios 3 and 4: pool exhaustion, statement timeouts and cancellation.

3. POOL_SIZE=2, POOL_MAX_OVERFLOW=0, POOL_TIMEOUT=1: two holders keep their atomic blocks open, the
   third gets ``DatabaseTimeoutError`` after about one second (no hang), and the pool works afterwards.
4. STATEMENT_TIMEOUT turns a slow statement into ``DatabaseTimeoutError``; an asyncio task cancelled
   inside an atomic block (or timed out by ``asyncio.wait_for``) rolls back, its statement stops on the
   server, and the pool's checked-out count returns to 0.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic
from archipy_lite.models.errors import DatabaseTimeoutError
from archipy_lite.stores import AsyncStore, Store

from . import figures
from .conftest import AdapterFactory, checked_out, query, truncate
from .entities import Item

pytestmark = pytest.mark.postgres

SLEEP = "SELECT pg_sleep(20)"


def labels(dsn: str) -> set[str]:
    return {row[0] for row in query(dsn, "SELECT label FROM rel_items")}


def active_sleeps(dsn: str, application_name: str) -> int:
    rows = query(
        dsn,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND query = %s AND state = 'active'",
        (application_name, SLEEP),
    )
    return int(rows[0][0])


async def eventually(check: Callable[[], bool], message: str = "timed out", *, blocking: bool = False) -> None:
    """Poll ``check`` until it holds, for up to 10 s; ``blocking`` checks run in a worker thread.

    Pool checks must run on the loop: an async manager's engine belongs to the running loop.
    """
    deadline = time.monotonic() + 10
    while True:
        if await asyncio.to_thread(check) if blocking else check():
            return
        assert time.monotonic() < deadline, message
        await asyncio.sleep(0.02)


# --- 3. pool exhaustion ----------------------------------------------------------------------------------


def test_pool_exhaustion_threads(make_adapter: AdapterFactory, rel_dsn: str) -> None:
    truncate(rel_dsn, "rel_items")
    adapter = make_adapter("pg", POOL_SIZE=2, POOL_MAX_OVERFLOW=0, POOL_TIMEOUT=1)
    store = Store(adapter, Item)
    holding = threading.Barrier(3)
    release = threading.Event()
    errors: list[BaseException] = []

    def holder(index: int) -> None:
        try:
            with atomic(adapter):
                store.create(Item(label=f"holder-{index}"))  # the block now owns a connection
                holding.wait(timeout=10)
                release.wait(timeout=30)
        except BaseException as exc:
            errors.append(exc)

    holders = [threading.Thread(target=holder, args=(i,)) for i in range(2)]
    for thread in holders:
        thread.start()
    try:
        holding.wait(timeout=10)
        assert checked_out(adapter) == 2
        began = time.monotonic()
        with pytest.raises(DatabaseTimeoutError) as caught, atomic(adapter):
            store.create(Item(label="third"))
        waited = time.monotonic() - began
    finally:
        release.set()
        for thread in holders:
            thread.join(timeout=30)
    assert not errors
    assert 0.8 <= waited <= 3, waited
    error = caught.value
    assert error.retryable
    assert error.details["reason"] == "pool_timeout"
    assert isinstance(error.__cause__, sa_exc.TimeoutError)
    assert "POOL_SIZE" in error.message  # says what to change
    assert checked_out(adapter) == 0
    # The pool works afterwards: both connections in use at once, then sequential calls.
    workers = [threading.Thread(target=lambda i=i: store.create(Item(label=f"after-{i}"))) for i in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=10)
    assert store.count() == 4
    assert labels(rel_dsn) == {"holder-0", "holder-1", "after-0", "after-1"}  # the third wrote nothing
    figures.record(
        "3",
        threads={
            "pool": "POOL_SIZE=2, POOL_MAX_OVERFLOW=0, POOL_TIMEOUT=1",
            "holders": 2,
            "third caller": f"{type(error).__name__} (retryable, reason pool_timeout)",
            "waited (s)": round(waited, 2),
            "holders committed": 2,
            "pool usable afterwards": True,
        },
    )


async def test_pool_exhaustion_tasks(make_adapter: AdapterFactory, rel_dsn: str) -> None:
    truncate(rel_dsn, "rel_items")
    adapter = make_adapter("pg-async", POOL_SIZE=2, POOL_MAX_OVERFLOW=0, POOL_TIMEOUT=1)
    store = AsyncStore(adapter, Item)
    release = asyncio.Event()
    holding = [asyncio.Event(), asyncio.Event()]

    async def holder(index: int) -> None:
        async with atomic(adapter):
            await store.create(Item(label=f"holder-{index}"))
            holding[index].set()
            await release.wait()

    holders = [asyncio.create_task(holder(i)) for i in range(2)]
    try:
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in holding)), 10)
        began = time.monotonic()
        with pytest.raises(DatabaseTimeoutError) as caught:
            async with atomic(adapter):
                await store.create(Item(label="third"))
        waited = time.monotonic() - began
    finally:
        release.set()
        await asyncio.gather(*holders)
    assert 0.8 <= waited <= 3, waited
    assert caught.value.retryable
    assert checked_out(adapter) == 0
    await asyncio.gather(*(store.create(Item(label=f"after-{i}")) for i in range(2)))
    assert labels(rel_dsn) == {"holder-0", "holder-1", "after-0", "after-1"}
    figures.record(
        "3",
        tasks={
            "pool": "POOL_SIZE=2, POOL_MAX_OVERFLOW=0, POOL_TIMEOUT=1",
            "holders": 2,
            "third caller": f"{type(caught.value).__name__} (retryable, reason pool_timeout)",
            "waited (s)": round(waited, 2),
            "holders committed": 2,
            "pool usable afterwards": True,
        },
    )


# --- 4. statement timeout ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pg", "pg-async"])
async def test_statement_timeout(make_adapter: AdapterFactory, rel_dsn: str, kind: str) -> None:
    truncate(rel_dsn, "rel_items")
    adapter = make_adapter(kind, STATEMENT_TIMEOUT=200)

    async def run(statement: str) -> Any:
        if kind == "pg":
            return await asyncio.to_thread(lambda: adapter.execute(text(statement)).scalar_one())
        return (await adapter.execute(text(statement))).scalar_one()

    began = time.monotonic()
    with pytest.raises(DatabaseTimeoutError) as caught:
        await run(SLEEP)
    took = time.monotonic() - began
    error = caught.value
    assert error.details["sqlstate"] == "57014"
    assert error.retryable
    assert took < 1.5
    assert checked_out(adapter) == 0

    # Inside an atomic block: the whole block rolls back, the adapter keeps working.
    def block() -> None:
        with atomic(adapter):
            adapter.create(Item(label="in-block"))
            adapter.execute(text(SLEEP))

    async def async_block() -> None:
        async with atomic(adapter):
            await adapter.create(Item(label="in-block"))
            await adapter.execute(text(SLEEP))

    with pytest.raises(DatabaseTimeoutError):
        await (asyncio.to_thread(block) if kind == "pg" else async_block())
    assert labels(rel_dsn) == set()
    assert checked_out(adapter) == 0
    assert await run("SELECT 41 + 1") == 42
    driver = "psycopg" if kind == "pg" else "asyncpg"
    figures.record(
        "4",
        **{
            f"statement timeout/{driver}": {
                "STATEMENT_TIMEOUT (ms)": 200,
                "statement": "pg_sleep(20)",
                "raised": f"{type(error).__name__} (SQLSTATE 57014, retryable)",
                "after (s)": round(took, 2),
                "atomic block": "rolled back, nothing committed",
            }
        },
    )


# --- 4. cancellation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("driver", ["postgresql+asyncpg", "postgresql+psycopg"])
async def test_cancelled_task_rolls_back_and_returns_its_connection(
    make_adapter: AdapterFactory, rel_dsn: str, driver: str
) -> None:
    truncate(rel_dsn, "rel_items")
    adapter = make_adapter("pg-async", ASYNC_DRIVER_NAME=driver, POOL_SIZE=2)
    name = adapter.session_manager.config.APPLICATION_NAME
    store = AsyncStore(adapter, Item)
    inside = asyncio.Event()

    async def work(label: str) -> None:
        async with atomic(adapter):
            await store.create(Item(label=label))
            inside.set()
            await adapter.execute(text(SLEEP))

    # 1. task.cancel() while the statement runs on the server
    task = asyncio.create_task(work("cancelled"))
    await asyncio.wait_for(inside.wait(), 10)
    await eventually(lambda: active_sleeps(rel_dsn, name) > 0, blocking=True)
    assert checked_out(adapter) == 1
    began = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cancel_seconds = time.monotonic() - began
    assert checked_out(adapter) == 0

    # 2. asyncio.wait_for timing the block out
    inside.clear()
    began = time.monotonic()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(work("timed-out"), 0.5)
    wait_for_seconds = time.monotonic() - began - 0.5
    assert checked_out(adapter) == 0

    # 3. cancelled while waiting for a pooled connection
    release = asyncio.Event()

    async def hold() -> None:
        async with atomic(adapter):
            await store.create(Item(label=f"holder-{id(asyncio.current_task())}"))
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(2)]
    try:
        await eventually(lambda: checked_out(adapter) == 2)
        waiter = asyncio.create_task(work("waiting-for-pool"))
        await asyncio.sleep(0.2)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    finally:
        release.set()
        await asyncio.gather(*holders)
    assert checked_out(adapter) == 0

    # Nothing from a cancelled block was committed; the statements stopped on the server.
    committed = labels(rel_dsn)
    assert not committed & {"cancelled", "timed-out", "waiting-for-pool"}
    assert len(committed) == 2
    await eventually(lambda: active_sleeps(rel_dsn, name) == 0, "a cancelled statement still runs", blocking=True)
    await store.create(Item(label="next"))
    assert await store.count() == 3
    short = driver.split("+")[1]
    figures.record(
        "4",
        **{
            f"cancellation/{short}": {
                "task.cancel() during pg_sleep": f"rolled back in {cancel_seconds * 1000:.0f} ms",
                "asyncio.wait_for(0.5 s)": f"rolled back {max(wait_for_seconds, 0) * 1000:.0f} ms after the deadline",
                "cancelled while waiting for the pool": "no connection leaked",
                "committed by cancelled blocks": 0,
                "checked out afterwards": 0,
            }
        },
    )
