"""``POOLER_MODE="transaction"`` keeps the library's semantics, checked directly on PostgreSQL.

Behind a transaction pooler asyncpg cannot autocommit safely, so with this setting its autocommit
is a transaction per statement (``transaction_pooler``). Between atomic blocks every statement must
still be durable when it returns, a failed statement must not spoil the next one, and an atomic
block must stay one transaction. (tests/test_pgbouncer.py runs the load behind a real PgBouncer.)
"""

# ruff: noqa: PT012

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from archipy_lite import unit_of_work
from archipy_lite.models.errors import AlreadyExistsError

from backends import Backend, make_backend
from db_checks import raw_query

pytestmark = pytest.mark.postgres

INSERT = text("INSERT INTO pooled (name) VALUES (:name)")


@pytest.fixture(params=["pg-asyncpg", "pg-psycopg-async", "pg-psycopg"])
async def pooled(request: pytest.FixtureRequest, postgres_dsn: str, tmp_path: Path) -> AsyncIterator[Backend]:
    backend = make_backend(request.param, postgres_dsn=postgres_dsn, tmp_dir=tmp_path, POOLER_MODE="transaction")
    await backend.call(backend.adapter.execute, text("DROP TABLE IF EXISTS pooled"))
    await backend.call(backend.adapter.execute, text("CREATE TABLE pooled (name text PRIMARY KEY)"))
    yield backend
    await backend.call(backend.adapter.execute, text("DROP TABLE pooled"))
    await backend.dispose()


def names(db: Backend) -> list[str]:
    return [row[0] for row in raw_query(db, "SELECT name FROM pooled ORDER BY name")]


async def work(db: Backend) -> None:
    """Statements between atomic blocks, a failed one, and an atomic block that fails as a whole."""
    await db.call(db.adapter.execute, INSERT, {"name": "a"})
    assert names(db) == ["a"]  # durable when the call returned, seen from another connection
    with pytest.raises(AlreadyExistsError):
        await db.call(db.adapter.execute, INSERT, {"name": "a"})
    await db.call(db.adapter.execute, INSERT, {"name": "b"})  # the failure left nothing open
    with pytest.raises(RuntimeError):
        async with db.atomic():
            await db.call(db.adapter.execute, INSERT, {"name": "c"})
            await db.call(db.adapter.execute, INSERT, {"name": "d"})
            assert names(db) == ["a", "b"]  # not committed statement by statement
            raise RuntimeError("roll the block back")
    async with db.atomic():
        await db.call(db.adapter.execute, INSERT, {"name": "e"})
    await db.call(db.adapter.execute, INSERT, {"name": "f"})
    assert names(db) == ["a", "b", "e", "f"]


async def test_outside_units_of_work(pooled: Backend) -> None:
    await work(pooled)


async def test_inside_a_unit_of_work(pooled: Backend) -> None:
    if pooled.is_async:
        async with unit_of_work(pooled.adapter):
            await work(pooled)
    else:
        with unit_of_work(pooled.adapter):
            await work(pooled)
    assert names(pooled) == ["a", "b", "e", "f"]
