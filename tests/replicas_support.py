"""Shared pieces of the replica, failover and routing tests (fixtures registered in conftest.py): a database
on the replicated cluster, and one async API over the sync and async replica sets of each PostgreSQL driver.

The cluster is session-scoped and may fail over during the session (tests/test_failover.py), so
every address is read from the cluster when a test asks, never kept from an earlier test.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from archipy_lite.adapters.base.sqlalchemy.replica_routing import ReplicaStatus
from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.adapters.postgres.sqlalchemy.replicas import AsyncPostgresReplicaSet, PostgresReplicaSet
from archipy_lite.configs import PostgresSQLAlchemyConfig
from archipy_lite.testing import ReplicatedCluster

# id -> ASYNC_DRIVER_NAME (None: the sync adapter, psycopg)
DRIVERS: dict[str, str | None] = {
    "psycopg": None,
    "psycopg-async": "postgresql+psycopg",
    "asyncpg": "postgresql+asyncpg",
}
DATABASE = "archipy_replicas"
SCHEMA = """
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);
CREATE SEQUENCE tickets;
"""


@pytest.fixture(scope="session")
def replica_cluster(postgres_replicated_cluster: ReplicatedCluster) -> ReplicatedCluster:
    """The session's cluster, with the tests' database; replay running and a standby in place after each use."""
    with psycopg.connect(postgres_replicated_cluster.primary_dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {DATABASE}")
    with psycopg.connect(postgres_replicated_cluster.primary.dsn(DATABASE), autocommit=True) as connection:
        connection.execute(SCHEMA)
    postgres_replicated_cluster.wait_for_replay()
    return postgres_replicated_cluster


@pytest.fixture
def healthy_cluster(replica_cluster: ReplicatedCluster) -> Iterator[ReplicatedCluster]:
    """The cluster with both servers up and replaying, empty tables; put back the same way afterwards."""
    restore(replica_cluster)
    yield replica_cluster
    restore(replica_cluster)


def restore(cluster: ReplicatedCluster) -> None:
    if cluster.standby is None:
        cluster.rebuild_standby()
    elif not cluster.standby.running:
        cluster.start_standby()
    cluster.resume_replay()
    with psycopg.connect(cluster.primary.dsn(DATABASE), autocommit=True) as connection:
        connection.execute("TRUNCATE items")
    cluster.wait_for_replay()


def primary_query(cluster: ReplicatedCluster, sql: str) -> Any:
    """One value from the current primary, on a connection of its own."""
    with psycopg.connect(cluster.primary.dsn(DATABASE), autocommit=True) as connection:
        cursor = connection.execute(sql)  # type: ignore[call-overload]
        row = cursor.fetchone() if cursor.description is not None else None
    return row[0] if row else None


def settings(cluster: ReplicatedCluster, driver: str, **overrides: Any) -> PostgresSQLAlchemyConfig:
    """Settings for the current primary with the current standby as the one replica."""
    standby = cluster.standby
    fields: dict[str, Any] = {
        "POSTGRES_DSN": cluster.primary.dsn(DATABASE),
        "READ_REPLICA_DSNS": [standby.dsn(DATABASE)] if standby is not None else [],
        "POOL_SIZE": 5,
        "POOL_MAX_OVERFLOW": 5,
        "READ_REPLICA_CHECK_SECONDS": 0,  # measure on every pick: tests change the standby under it
        **overrides,
    }
    async_driver = DRIVERS[driver]
    if async_driver is not None:
        fields["ASYNC_DRIVER_NAME"] = async_driver
    return PostgresSQLAlchemyConfig(**fields)


async def _await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


@dataclass
class Routing:
    """A primary adapter and a replica set of one driver, behind async methods."""

    driver: str
    adapter: Any
    replicas: PostgresReplicaSet | AsyncPostgresReplicaSet

    @property
    def is_async(self) -> bool:
        return isinstance(self.replicas, AsyncPostgresReplicaSet)

    @property
    def primary(self) -> Engine | AsyncEngine:
        engine: Engine | AsyncEngine = self.adapter.session_manager.engine
        return engine

    async def pick(self, token: str | None = None) -> Engine | AsyncEngine | None:
        engine: Engine | AsyncEngine | None = await _await(self.replicas.pick(token))
        return engine

    async def status(self) -> list[ReplicaStatus]:
        statuses: list[ReplicaStatus] = await _await(self.replicas.status())
        return statuses

    async def token(self, engine: Engine | AsyncEngine | None = None) -> str:
        """A token from ``engine`` (the primary by default)."""
        token: str = await _await(self.replicas.token_after_commit(engine or self.primary))  # type: ignore[arg-type]
        return token

    async def run(self, engine: Engine | AsyncEngine | None, sql: str, **params: Any) -> Any:
        """Run one statement in a transaction of its own on ``engine`` (the primary for None)."""
        engine = engine or self.primary
        if isinstance(engine, AsyncEngine):
            async with engine.begin() as connection:
                result = await connection.execute(text(sql), params)
                return result.scalar() if result.returns_rows else None
        with engine.begin() as sync_connection:
            sync_result = sync_connection.execute(text(sql), params)
            return sync_result.scalar() if sync_result.returns_rows else None

    async def insert(self, name: str) -> str:
        """Commit one row on the primary; returns the consistency token for it."""
        await self.run(None, "INSERT INTO items (name) VALUES (:name)", name=name)
        return await self.token()

    async def close(self) -> None:
        await _await(self.replicas.dispose())
        await _await(self.adapter.session_manager.dispose())


def make_routing(cluster: ReplicatedCluster, driver: str, **overrides: Any) -> Routing:
    config = settings(cluster, driver, **overrides)
    if DRIVERS[driver] is None:
        return Routing(driver, PostgresSQLAlchemyAdapter(config), PostgresReplicaSet(config))
    return Routing(driver, AsyncPostgresSQLAlchemyAdapter(config), AsyncPostgresReplicaSet(config))


def wait_until(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


async def eventually(condition: Any, seconds: float = 10) -> None:
    """``wait_until`` for async tests: the event loop keeps running meanwhile."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)
