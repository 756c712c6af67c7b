"""Scenario 2: killed connections and a restarted server.

* ``pg_terminate_backend`` on every pooled backend while a load runs, with ``POOL_PRE_PING=True``:
  the calls in flight raise ``DatabaseConnectionError`` (retryable), every call started afterwards
  succeeds, with no restart or dispose; rows committed are exactly the successful writes (plus, at
  most, writes whose COMMIT was in flight and whose outcome the client cannot know). With the default
  (only connections idle longer than ``POOL_PRE_PING_IDLE_SECONDS`` are checked) a connection killed
  while busy fails its next call once, retryably, as in HikariCP: the pre-ping is what turns that
  into no failure at all, so these tests turn it on.
* A test-owned cluster is stopped and started again on the same port and data directory: calls fail
  fast with ``DatabaseConnectionError`` while it is down, and the same adapters recover once it is back.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic
from archipy_lite.models.errors import DatabaseConnectionError
from archipy_lite.stores import AsyncStore, Store

from . import figures
from .conftest import AdapterFactory, backends_of, checked_out, libpq_dsn, query, terminate_backends, truncate
from .entities import Item, ReliabilityBase

pytestmark = pytest.mark.postgres

WORKERS = 4
LOAD_SECONDS_BEFORE, LOAD_SECONDS_AFTER = 0.4, 0.8
SLEEP = "SELECT pg_sleep(30)"


@dataclass
class Call:
    label: str
    started: float
    ended: float
    error: BaseException | None = None


def check_error(error: BaseException | None) -> BaseException:
    assert isinstance(error, DatabaseConnectionError), repr(error)
    assert error.retryable
    assert error.__cause__ is not None  # the driver's exception stays chained
    return error


def sleeping(server_dsn: str, application_name: str) -> int:
    rows = query(
        server_dsn,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND query = %s AND state = 'active'",
        (application_name, SLEEP),
    )
    return int(rows[0][0])


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def summarise(calls: list[Call], kill_started: float, kill_done: float) -> dict[str, Any]:
    """Check the load around a kill and return its figures."""
    failed = [call for call in calls if call.error is not None]
    for call in failed:
        check_error(call.error)
        assert call.started < kill_done, f"{call.label} started after the kill and still failed"
    after = [call for call in calls if call.started >= kill_done]
    assert after, "the load did not continue after the kill"
    first_ok_after = min(call.ended for call in after if call.error is None)
    return {
        "calls (writes and reads)": len(calls),
        "failed (all DatabaseConnectionError)": len(failed),
        "calls started after the kill": len(after),
        "failed after the kill": 0,
        "first success after kill (ms)": round((first_ok_after - kill_done) * 1000, 1),
        "kill took (ms)": round((kill_done - kill_started) * 1000, 1),
    }


def check_rows(dsn: str, calls: list[Call]) -> int:
    """Committed labels are the successful writes, plus at most the failed ones (COMMIT in flight)."""
    committed = {row[0] for row in query(dsn, "SELECT label FROM rel_items")}
    writes = [call for call in calls if call.label]  # the others are reads (count)
    succeeded = {call.label for call in writes if call.error is None}
    failed = {call.label for call in writes if call.error is not None}
    assert succeeded <= committed, "a write reported as committed is missing"
    assert committed <= succeeded | failed | {"warm-up"}, "rows appeared that nobody wrote"
    assert "in-block" not in committed, "the killed atomic block was committed"
    return len(committed & failed)


def test_terminated_backends_sync(make_adapter: AdapterFactory, rel_dsn: str, postgres_server_dsn: str) -> None:
    truncate(rel_dsn, "rel_items")
    adapter = make_adapter("pg", POOL_SIZE=WORKERS + 2, POOL_PRE_PING=True)
    name = adapter.session_manager.config.APPLICATION_NAME
    store = Store(adapter, Item)
    store.create(Item(label="warm-up"))
    in_flight: dict[str, BaseException | None] = {}

    def long_call() -> None:
        try:
            adapter.execute(text(SLEEP))
            in_flight["execute"] = None
        except BaseException as exc:
            in_flight["execute"] = exc

    def long_block() -> None:
        try:
            with atomic(adapter):
                store.create(Item(label="in-block"))
                adapter.execute(text(SLEEP))
            in_flight["atomic"] = None
        except BaseException as exc:
            in_flight["atomic"] = exc

    calls: list[Call] = []
    stop = threading.Event()

    def worker(index: int) -> None:
        number = 0
        while not stop.is_set():
            for call in (Call(f"w{index}-{number}", time.monotonic(), 0.0), Call("", time.monotonic(), 0.0)):
                call.started = time.monotonic()
                try:
                    store.create(Item(label=call.label, writer=index)) if call.label else store.count()
                except BaseException as exc:
                    call.error = exc
                call.ended = time.monotonic()
                calls.append(call)
            number += 1

    threads = [threading.Thread(target=long_call), threading.Thread(target=long_block)]
    threads += [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: sleeping(postgres_server_dsn, name) == 2)
        time.sleep(LOAD_SECONDS_BEFORE)
        pooled = backends_of(postgres_server_dsn, name)
        kill_started = time.monotonic()
        killed = terminate_backends(postgres_server_dsn, name)
        kill_done = time.monotonic()
        time.sleep(LOAD_SECONDS_AFTER)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    check_error(in_flight["execute"])
    check_error(in_flight["atomic"])
    result = summarise(calls, kill_started, kill_done)
    ambiguous = check_rows(rel_dsn, calls)
    assert len(killed) == pooled >= 2
    assert checked_out(adapter) == 0
    assert store.count() == len(query(rel_dsn, "SELECT uuid FROM rel_items"))  # same pool, no restart
    figures.record(
        "2",
        **{
            "kill/psycopg (threads)": {
                "backends killed": len(killed),
                "in-flight calls": "2 of 2 raised DatabaseConnectionError (retryable); atomic block rolled back",
                **result,
                "failed writes found committed (COMMIT in flight)": ambiguous,
            }
        },
    )


async def test_terminated_backends_async(make_adapter: AdapterFactory, rel_dsn: str, postgres_server_dsn: str) -> None:
    truncate(rel_dsn, "rel_items")
    adapter = make_adapter("pg-async", POOL_SIZE=WORKERS + 2, POOL_PRE_PING=True)
    name = adapter.session_manager.config.APPLICATION_NAME
    store = AsyncStore(adapter, Item)
    await store.create(Item(label="warm-up"))

    async def long_block() -> None:
        async with atomic(adapter):
            await store.create(Item(label="in-block"))
            await adapter.execute(text(SLEEP))

    calls: list[Call] = []
    stop = asyncio.Event()

    async def worker(index: int) -> None:
        number = 0
        while not stop.is_set():
            for call in (Call(f"t{index}-{number}", time.monotonic(), 0.0), Call("", time.monotonic(), 0.0)):
                call.started = time.monotonic()
                try:
                    await (store.create(Item(label=call.label, writer=index)) if call.label else store.count())
                except BaseException as exc:
                    call.error = exc
                call.ended = time.monotonic()
                calls.append(call)
            number += 1

    long_call = asyncio.create_task(adapter.execute(text(SLEEP)))
    block = asyncio.create_task(long_block())
    workers = [asyncio.create_task(worker(i)) for i in range(WORKERS)]
    try:
        await asyncio.to_thread(wait_for, lambda: sleeping(postgres_server_dsn, name) == 2)
        await asyncio.sleep(LOAD_SECONDS_BEFORE)
        pooled = await asyncio.to_thread(backends_of, postgres_server_dsn, name)
        kill_started = time.monotonic()
        killed = await asyncio.to_thread(terminate_backends, postgres_server_dsn, name)
        kill_done = time.monotonic()
        await asyncio.sleep(LOAD_SECONDS_AFTER)
    finally:
        stop.set()
        outcomes = await asyncio.wait_for(asyncio.gather(long_call, block, *workers, return_exceptions=True), 60)
    check_error(outcomes[0])
    check_error(outcomes[1])
    result = summarise(calls, kill_started, kill_done)
    ambiguous = check_rows(rel_dsn, calls)
    assert len(killed) == pooled >= 2
    assert checked_out(adapter) == 0
    assert await store.count() == len(query(rel_dsn, "SELECT uuid FROM rel_items"))
    figures.record(
        "2",
        **{
            "kill/asyncpg (tasks)": {
                "backends killed": len(killed),
                "in-flight calls": "2 of 2 raised DatabaseConnectionError (retryable); atomic block rolled back",
                **result,
                "failed writes found committed (COMMIT in flight)": ambiguous,
            }
        },
    )


# --- the whole server goes away and comes back ----------------------------------------------------------


async def call(adapter: Any, statement: str = "SELECT 1") -> Any:
    result = adapter.execute(text(statement))
    if isinstance(result, Awaitable):
        result = await result
    return result.scalar_one()


async def attempt(adapter: Any) -> tuple[BaseException | None, float]:
    began = time.monotonic()
    try:
        if adapter.session_manager.is_async:
            await call(adapter)
        else:
            await asyncio.to_thread(lambda: adapter.execute(text("SELECT 1")).scalar_one())
    except BaseException as exc:
        return exc, time.monotonic() - began
    return None, time.monotonic() - began


@pytest.mark.slow
async def test_server_restart(make_adapter: AdapterFactory, cluster: Any) -> None:
    engine = create_engine(libpq_dsn(cluster.dsn).replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool)
    ReliabilityBase.metadata.create_all(engine)
    engine.dispose()
    options = {"dsn": cluster.dsn, "CONNECT_TIMEOUT": 2, "POOL_SIZE": 3}
    adapters = {"psycopg": make_adapter("pg", **options), "asyncpg": make_adapter("pg-async", **options)}
    sync_store, async_store = Store(adapters["psycopg"], Item), AsyncStore(adapters["asyncpg"], Item)
    sync_store.create(Item(label="before-sync"))
    await async_store.create(Item(label="before-async"))

    # One statement in flight on each adapter when the server shuts down.
    in_flight = [
        asyncio.create_task(asyncio.to_thread(lambda: adapters["psycopg"].execute(text(SLEEP)))),
        asyncio.create_task(call(adapters["asyncpg"], SLEEP)),
    ]
    await asyncio.to_thread(
        wait_for,
        lambda: query(cluster.dsn, "SELECT count(*) FROM pg_stat_activity WHERE query = %s", (SLEEP,))[0][0] == 2,
    )
    stop_seconds = await asyncio.to_thread(cluster.stop, "fast")
    for outcome in await asyncio.gather(*in_flight, return_exceptions=True):
        check_error(outcome)

    down: Tally[str] = Tally()
    slowest_failure = 0.0
    for _ in range(3):
        for adapter in adapters.values():
            error, seconds = await attempt(adapter)
            down[type(check_error(error)).__name__] += 1
            slowest_failure = max(slowest_failure, seconds)
    with pytest.raises(DatabaseConnectionError), atomic(adapters["psycopg"]):
        sync_store.create(Item(label="while-down"))
    with pytest.raises(DatabaseConnectionError):
        async with atomic(adapters["asyncpg"]):
            await async_store.create(Item(label="while-down-async"))
    assert slowest_failure < 2.5, "a call against a stopped server should fail fast (connection refused)"

    start_seconds = await asyncio.to_thread(cluster.start)
    ready = time.monotonic()
    recovery: dict[str, dict[str, Any]] = {}
    for name, adapter in adapters.items():
        tries = 0
        while True:
            tries += 1
            error, _ = await attempt(adapter)
            if error is None:
                break
            check_error(error)
            assert time.monotonic() - ready < 30, f"{name} never recovered"
            await asyncio.sleep(0.05)
        recovery[name] = {"tries": tries, "ms after ready": round((time.monotonic() - ready) * 1000, 1)}
    assert all(entry["tries"] == 1 for entry in recovery.values()), recovery  # no extra failure once back

    labels = {row[0] for row in query(cluster.dsn, "SELECT label FROM rel_items")}
    assert labels == {"before-sync", "before-async"}
    sync_store.create(Item(label="after-sync"))
    await async_store.create(Item(label="after-async"))
    for adapter in adapters.values():
        assert checked_out(adapter) == 0
    figures.record(
        "2",
        restart={
            "in-flight statements": "2 of 2 raised DatabaseConnectionError when the server stopped",
            "server stop (s)": round(stop_seconds, 2),
            "calls while down": sum(down.values()),
            "errors while down": dict(down),
            "slowest failure while down (ms)": round(slowest_failure * 1000, 1),
            "server start, same port and data (s)": round(start_seconds, 2),
            "recovery after ready (ms)": {name: entry["ms after ready"] for name, entry in recovery.items()},
            "failed calls after ready": sum(entry["tries"] - 1 for entry in recovery.values()),
        },
    )
