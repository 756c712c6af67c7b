"""End to end: units of work and atomic blocks routed between the primary and a replica (issue 16).

Skipped until ``unit_of_work(..., read_only=True)`` exists (issue 11 wires the replica sets of
``archipy_lite.adapters.postgres.sqlalchemy.replicas`` into it). The four calls below are the only
places that name that API: adjust them when the wiring lands, and these tests become the acceptance.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator
from typing import Any

import pytest
from replicas_support import DATABASE, DRIVERS, primary_query
from sqlalchemy import func, select, text

import archipy_lite
from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.configs import PostgresSQLAlchemyConfig
from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic
from archipy_lite.models.errors import DatabaseConnectionError, DatabaseReadOnlyError
from archipy_lite.testing import ReplicatedCluster

_unit_of_work: Any = getattr(archipy_lite, "unit_of_work", None)
ROUTING_WIRED = _unit_of_work is not None and "read_only" in inspect.signature(_unit_of_work).parameters
pytestmark = [
    pytest.mark.replication,
    pytest.mark.skipif(not ROUTING_WIRED, reason="unit_of_work(read_only=True) is not wired to replicas (issue 11)"),
]


# --- the routing API (the only lines to adjust when the wiring lands) ---------------------------------


def read_only_unit(adapter: Any, token: str | None = None) -> Any:
    """A read-only unit of work: a replica that has replayed ``token``, else the primary."""
    return _unit_of_work(adapter, read_only=True, consistency_token=token)


def writing_unit(adapter: Any) -> Any:
    """A unit of work that may write (the primary throughout)."""
    return _unit_of_work(adapter)


def token_of(unit: Any) -> str:
    """The consistency token of a unit that committed writes, available once it has ended."""
    token: str = unit.consistency_token
    return token


def read_only_atomic(adapter: Any) -> Any:
    """A read-only transaction on a replica."""
    return atomic(adapter, read_only=True)


# --- helpers --------------------------------------------------------------------------------------------


class Client:
    """One adapter (sync or async) behind async helpers."""

    def __init__(self, adapter: Any, *, is_async: bool) -> None:
        self.adapter = adapter
        self.is_async = is_async

    async def select_one(self, statement: Any) -> Any:
        """A select() statement's one value (a plain read, unlike text())."""
        if self.is_async:
            return (await self.adapter.execute(statement)).scalar_one()
        return self.adapter.execute(statement).scalar_one()

    async def scalar(self, sql: str, **params: Any) -> Any:
        if self.is_async:
            result = await self.adapter.execute(text(sql), params)
        else:
            result = self.adapter.execute(text(sql), params)
        return result.scalar() if getattr(result, "returns_rows", True) else None

    @contextlib.asynccontextmanager
    async def enter(self, block: Any) -> AsyncIterator[Any]:
        if self.is_async:
            async with block:
                yield block
        else:
            with block:
                yield block

    async def close(self) -> None:
        outcome = self.adapter.session_manager.dispose()
        if inspect.isawaitable(outcome):
            await outcome


def client(cluster: ReplicatedCluster, driver: str, *, dsn: str | None = None, **overrides: Any) -> Client:
    standby = cluster.standby
    assert standby is not None
    fields: dict[str, Any] = {
        "POSTGRES_DSN": dsn or cluster.primary.dsn(DATABASE),
        "READ_REPLICA_DSNS": [standby.dsn(DATABASE)],
        "READ_REPLICA_CHECK_SECONDS": 0,
        "CONNECT_TIMEOUT": 2,
        **overrides,
    }
    async_driver = DRIVERS[driver]
    if async_driver is not None:
        fields["ASYNC_DRIVER_NAME"] = async_driver
    config = PostgresSQLAlchemyConfig(**fields)
    if async_driver is None:
        return Client(PostgresSQLAlchemyAdapter(config), is_async=False)
    return Client(AsyncPostgresSQLAlchemyAdapter(config), is_async=True)


ON_STANDBY = "SELECT pg_is_in_recovery()"


# --- acceptance -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("driver", DRIVERS)
async def test_a_replica_read_misses_a_fresh_row_while_a_sticky_read_and_a_token_read_find_it(
    healthy_cluster: ReplicatedCluster, driver: str
) -> None:
    app = client(healthy_cluster, driver)
    try:
        with healthy_cluster.replay_paused():
            unit = writing_unit(app.adapter)
            async with app.enter(unit):
                await app.scalar("INSERT INTO items (name) VALUES ('fresh')")
                assert await app.scalar("SELECT count(*) FROM items") == 1  # sticky: this unit wrote
                assert await app.scalar(ON_STANDBY) is False
            token = token_of(unit)
            healthy_cluster.wait_for_receipt()
            async with app.enter(read_only_unit(app.adapter)):
                assert await app.scalar(ON_STANDBY) is True
                assert await app.scalar("SELECT count(*) FROM items") == 0  # the replica has not replayed it
            async with app.enter(read_only_unit(app.adapter, token)):
                assert await app.scalar(ON_STANDBY) is False  # the token sends it to the primary
                assert await app.scalar("SELECT count(*) FROM items") == 1
            async with app.enter(read_only_atomic(app.adapter)):
                assert await app.scalar(ON_STANDBY) is True
    finally:
        await app.close()


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO items (name) VALUES ('text write')",
        "SELECT count(*) FROM (SELECT id FROM items FOR UPDATE) AS locked",
        "SELECT pg_advisory_xact_lock(16)",
        "SELECT nextval('tickets')",
    ],
    ids=["text-write", "for-update", "advisory-lock", "nextval"],
)
async def test_writes_locks_and_sequences_run_on_the_primary(
    healthy_cluster: ReplicatedCluster, driver: str, statement: str
) -> None:
    app = client(healthy_cluster, driver)
    try:
        async with app.enter(atomic(app.adapter)):
            await app.scalar(statement)
            assert await app.scalar(ON_STANDBY) is False
        async with app.enter(writing_unit(app.adapter)):
            await app.scalar(statement)
            assert await app.scalar(ON_STANDBY) is False
        if "advisory" not in statement:  # a standby would take it silently: it must never get there
            with pytest.raises(DatabaseReadOnlyError):
                async with app.enter(read_only_unit(app.adapter)):
                    await app.scalar(statement)
    finally:
        await app.close()


@pytest.mark.parametrize("driver", DRIVERS)
async def test_with_the_standby_stopped_reads_succeed_on_the_primary(
    healthy_cluster: ReplicatedCluster, driver: str
) -> None:
    app = client(healthy_cluster, driver)
    try:
        healthy_cluster.stop_standby()
        for _ in range(3):
            async with app.enter(read_only_unit(app.adapter)):
                assert await app.scalar(ON_STANDBY) is False
                assert await app.scalar("SELECT count(*) FROM items") == 0
    finally:
        await app.close()


@pytest.mark.parametrize("driver", DRIVERS)
async def test_after_a_crash_and_promotion_work_resumes_on_the_new_primary(
    healthy_cluster: ReplicatedCluster, driver: str
) -> None:
    app = client(healthy_cluster, driver, dsn=healthy_cluster.failover_dsn(DATABASE))
    try:
        for number in range(10):
            async with app.enter(writing_unit(app.adapter)):
                await app.scalar("INSERT INTO items (name) VALUES (:name)", name=f"row {number}")
        healthy_cluster.crash_primary()
        with pytest.raises(DatabaseConnectionError):
            async with app.enter(writing_unit(app.adapter)):
                await app.scalar("INSERT INTO items (name) VALUES ('during the outage')")
        healthy_cluster.promote()
        async with app.enter(writing_unit(app.adapter)):
            await app.scalar("INSERT INTO items (name) VALUES ('after')")
        async with app.enter(read_only_unit(app.adapter)):  # the old standby is the primary now
            assert await app.scalar(ON_STANDBY) is False
            assert await app.scalar("SELECT count(*) FROM items WHERE name LIKE 'row %'") == 10
        assert primary_query(healthy_cluster, "SELECT count(*) FROM items") == 11
    finally:
        await app.close()


@pytest.mark.parametrize("driver", DRIVERS)
async def test_with_autocommit_reads_a_unit_reads_a_replica_until_it_writes_then_stays_on_the_primary(
    healthy_cluster: ReplicatedCluster, driver: str
) -> None:
    app = client(healthy_cluster, driver, READ_REPLICA_AUTOCOMMIT_READS=True)
    on_standby = select(func.pg_is_in_recovery())
    try:
        with healthy_cluster.replay_paused():
            unit = writing_unit(app.adapter)
            async with app.enter(unit):
                assert await app.select_one(on_standby) is True  # a read before any write: the replica
                await app.scalar("INSERT INTO items (name) VALUES ('sticky')")  # a write: the primary
                assert await app.select_one(on_standby) is False  # and every read after it
                assert await app.select_one(select(func.count()).select_from(text("items"))) == 1
            assert token_of(unit) is not None
            async with app.enter(writing_unit(app.adapter)):  # a new unit starts on the replica again
                assert await app.select_one(on_standby) is True
    finally:
        await app.close()


# --- the web boundary carries the token -----------------------------------------------------------------


async def test_a_web_client_reads_its_own_writes_through_the_consistency_header(
    healthy_cluster: ReplicatedCluster,
) -> None:
    import httpx
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from archipy_lite.integrations.asgi import UnitOfWorkMiddleware

    app_client = client(healthy_cluster, "asyncpg")
    adapter = app_client.adapter

    async def add(request: Request) -> JSONResponse:
        await adapter.execute(text("INSERT INTO items (name) VALUES ('from the web')"))
        return JSONResponse({"added": 1}, status_code=201)

    async def count(request: Request) -> JSONResponse:
        rows = (await adapter.execute(select(func.count()).select_from(text("items")))).scalar_one()
        standby = (await adapter.execute(select(func.pg_is_in_recovery()))).scalar_one()
        return JSONResponse({"items": rows, "standby": standby})

    app = UnitOfWorkMiddleware(
        Starlette(routes=[Route("/items", add, methods=["POST"]), Route("/items", count, methods=["GET"])]),
        [adapter],
        atomic=True,
        read_only_methods=("GET",),
        consistency_header="X-Consistency-Token",
    )
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop") as web:
            with healthy_cluster.replay_paused():
                written = await web.post("/items")
                assert written.status_code == 201
                token = written.headers["x-consistency-token"]
                healthy_cluster.wait_for_receipt()
                assert (await web.get("/items")).json() == {"items": 0, "standby": True}  # not replayed yet
                mine = await web.get("/items", headers={"X-Consistency-Token": token})
                assert mine.json() == {"items": 1, "standby": False}  # read-your-writes: the primary
                forged = await web.get("/items", headers={"X-Consistency-Token": token[:-2] + "xx"})
                assert (forged.status_code, forged.json()["code"]) == (400, "INVALID_ARGUMENT")
            healthy_cluster.wait_for_replay()
            replayed = await web.get("/items", headers={"X-Consistency-Token": token})
            assert replayed.json() == {"items": 1, "standby": True}  # once replayed, the replica serves it
    finally:
        await app_client.close()
