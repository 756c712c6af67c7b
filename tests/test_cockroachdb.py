"""Opt-in: retries against a real CockroachDB, given by ``ARCHIPY_LITE_TEST_COCKROACH_DSN``.

CockroachDB runs every transaction SERIALIZABLE and reports conflicts as SQLSTATE 40001, often at
COMMIT, expecting the client to re-run the whole transaction. ``@atomic(adapter, retries=N)`` does.
No CockroachDB can be installed where this project's CI runs, so these tests are skipped there;
tests/test_commit_time_retries.py proves the same retry path on PostgreSQL.

    ARCHIPY_LITE_TEST_COCKROACH_DSN=postgresql://root@127.0.0.1:26257/defaultdb?sslmode=disable \\
        uv run pytest tests/test_cockroachdb.py
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.configs import PostgresSQLAlchemyConfig
from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic

COCKROACH_DSN = os.environ.get("ARCHIPY_LITE_TEST_COCKROACH_DSN", "")
pytestmark = pytest.mark.skipif(
    not COCKROACH_DSN, reason="set ARCHIPY_LITE_TEST_COCKROACH_DSN to a CockroachDB server to run these"
)

THREADS, TASKS, INCREMENTS = 8, 16, 10


def config(**overrides: Any) -> PostgresSQLAlchemyConfig:
    fields: dict[str, Any] = {"ISOLATION_LEVEL": "SERIALIZABLE", "POOL_SIZE": 20, **overrides}
    return PostgresSQLAlchemyConfig(POSTGRES_DSN=COCKROACH_DSN, **fields)


@pytest.fixture
def counter() -> Iterator[str]:
    """A one-row counter table of the test's own."""
    table = f"archipy_counter_{secrets.token_hex(4)}"
    adapter = PostgresSQLAlchemyAdapter(config())
    adapter.execute(text(f"CREATE TABLE {table} (id INT PRIMARY KEY, value INT NOT NULL)"))
    adapter.execute(text(f"INSERT INTO {table} VALUES (1, 0)"))
    yield table
    adapter.execute(text(f"DROP TABLE {table}"))
    adapter.session_manager.dispose()


def test_threads_incrementing_one_row_get_an_exact_count(counter: str) -> None:
    adapter = PostgresSQLAlchemyAdapter(config())
    attempts: list[int] = []

    @atomic(adapter, retries=100)
    def increment() -> None:
        attempts.append(1)
        value = adapter.execute(text(f"SELECT value FROM {counter} WHERE id = 1")).scalar_one()
        adapter.execute(text(f"UPDATE {counter} SET value = :value WHERE id = 1"), {"value": value + 1})

    def worker() -> None:
        for _ in range(INCREMENTS):
            increment()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert adapter.execute(text(f"SELECT value FROM {counter}")).scalar_one() == THREADS * INCREMENTS
        assert len(attempts) >= THREADS * INCREMENTS
    finally:
        adapter.session_manager.dispose()


@pytest.mark.parametrize("driver", ["postgresql+asyncpg", "postgresql+psycopg"])
async def test_tasks_incrementing_one_row_get_an_exact_count(counter: str, driver: str) -> None:
    adapter = AsyncPostgresSQLAlchemyAdapter(config(ASYNC_DRIVER_NAME=driver))

    @atomic(adapter, retries=100)
    async def increment() -> None:
        value = (await adapter.execute(text(f"SELECT value FROM {counter} WHERE id = 1"))).scalar_one()
        await adapter.execute(text(f"UPDATE {counter} SET value = :value WHERE id = 1"), {"value": value + 1})

    async def worker() -> None:
        for _ in range(INCREMENTS):
            await increment()

    try:
        await asyncio.gather(*(worker() for _ in range(TASKS)))
        assert (await adapter.execute(text(f"SELECT value FROM {counter}"))).scalar_one() == TASKS * INCREMENTS
    finally:
        await adapter.session_manager.dispose()
