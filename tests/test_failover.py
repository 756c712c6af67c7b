"""Failover with a multi-host configuration, for psycopg, psycopg async and asyncpg.

One adapter is configured with both servers (``target_session_attrs=read-write``). While a writer
commits row after row and an atomic block sits in ``pg_sleep``, the primary is killed without a
shutdown (``pg_ctl stop -m immediate``). The work in flight must fail with a typed, retryable
error; new work fails the same way until the standby is promoted, then succeeds on the promoted
server through the same adapter, without a restart or dispose; every row reported committed is
there (replication is synchronous in the test cluster: with asynchronous replication PostgreSQL
itself can lose the last commits in a crash, whatever the client does).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable
from typing import Any

import pytest
from replicas_support import DATABASE, DRIVERS, eventually, primary_query
from sqlalchemy import text

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.configs import PostgresSQLAlchemyConfig
from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic
from archipy_lite.models.errors import DatabaseConnectionError
from archipy_lite.testing import ReplicatedCluster

pytestmark = pytest.mark.replication

SLEEP = "SELECT pg_sleep(30)"
INSERT = text("INSERT INTO items (name) VALUES (:name)")


class Worker:
    """Runs the same steps through a sync adapter (in threads) or an async one (as tasks)."""

    def __init__(self, adapter: Any, *, is_async: bool) -> None:
        self.adapter = adapter
        self.is_async = is_async

    async def execute(self, statement: Any, params: dict[str, Any] | None = None) -> Any:
        if self.is_async:
            return await self.adapter.execute(statement, params)
        return await asyncio.to_thread(self.adapter.execute, statement, params)

    async def in_atomic_block(self, name: str) -> None:
        """Insert a row, then sleep on the server inside the same transaction."""
        if self.is_async:
            async with atomic(self.adapter):
                await self.adapter.execute(INSERT, {"name": name})
                await self.adapter.execute(text(SLEEP))
            return

        def block() -> None:
            with atomic(self.adapter):
                self.adapter.execute(INSERT, {"name": name})
                self.adapter.execute(text(SLEEP))

        await asyncio.to_thread(block)

    async def write_until_failure(self, committed: list[str], unknown: list[str], stop: threading.Event) -> None:
        """Commit one row per call until a call fails; that call's outcome is unknown to the client."""
        for number in range(100_000):
            if stop.is_set():
                return
            name = f"writer {number}"
            try:
                await self.execute(INSERT, {"name": name})
            except DatabaseConnectionError:
                unknown.append(name)
                raise
            committed.append(name)


async def outcome(awaitable: Awaitable[Any]) -> BaseException | None:
    try:
        await asyncio.wait_for(awaitable, timeout=30)
    except BaseException as error:
        return error
    return None


def check_typed_and_retryable(error: BaseException | None) -> None:
    assert isinstance(error, DatabaseConnectionError), repr(error)
    assert error.retryable
    assert error.__cause__ is not None


def sleeping(cluster: ReplicatedCluster) -> bool:
    sql = f"SELECT count(*) FROM pg_stat_activity WHERE query = '{SLEEP}' AND state = 'active'"
    return bool(primary_query(cluster, sql))


@pytest.mark.parametrize("driver", DRIVERS)
async def test_after_a_crash_and_promotion_work_resumes_on_the_new_primary_with_no_committed_row_lost(
    healthy_cluster: ReplicatedCluster, driver: str
) -> None:
    cluster = healthy_cluster
    fields: dict[str, Any] = {"POSTGRES_DSN": cluster.failover_dsn(DATABASE), "POOL_SIZE": 4, "CONNECT_TIMEOUT": 2}
    async_driver = DRIVERS[driver]
    config = PostgresSQLAlchemyConfig(**fields, **({"ASYNC_DRIVER_NAME": async_driver} if async_driver else {}))
    adapter: Any = AsyncPostgresSQLAlchemyAdapter(config) if async_driver else PostgresSQLAlchemyAdapter(config)
    worker = Worker(adapter, is_async=async_driver is not None)
    old, new = cluster.primary, cluster.standby
    assert new is not None
    try:
        assert (await worker.execute(text("SELECT inet_server_port()"))).scalar() == old.port

        committed: list[str] = []
        unknown: list[str] = []
        stop = threading.Event()
        writer = asyncio.create_task(outcome(worker.write_until_failure(committed, unknown, stop)))
        in_flight = asyncio.create_task(outcome(worker.in_atomic_block("in flight")))
        await eventually(lambda: len(committed) >= 20 and sleeping(cluster))

        cluster.crash_primary()
        check_typed_and_retryable(await in_flight)
        check_typed_and_retryable(await writer)
        stop.set()
        before_promotion = await outcome(worker.execute(INSERT, {"name": "before promotion"}))
        check_typed_and_retryable(before_promotion)  # the standby refuses to be the read-write server

        began = time.monotonic()
        cluster.promote()
        row = (await worker.execute(text("SELECT inet_server_port(), pg_is_in_recovery()"))).one()
        assert tuple(row) == (new.port, False)
        await worker.execute(INSERT, {"name": "after promotion"})
        resumed_in = time.monotonic() - began
        assert resumed_in < 15

        present = set(primary_query_rows(cluster, "SELECT name FROM items"))
        assert set(committed) <= present, "a committed row was lost"
        assert present <= {*committed, *unknown, "after promotion"}  # nothing else, in particular not "in flight"
        assert "in flight" not in present
        assert "before promotion" not in present
    finally:
        disposed = adapter.session_manager.dispose()
        if asyncio.iscoroutine(disposed):
            await disposed


def primary_query_rows(cluster: ReplicatedCluster, sql: str) -> list[Any]:
    import psycopg

    with psycopg.connect(cluster.primary.dsn(DATABASE), autocommit=True) as connection:
        return [row[0] for row in connection.execute(sql).fetchall()]  # type: ignore[call-overload]
