"""Behind a real PgBouncer in transaction-pooling mode, with ``POOLER_MODE="transaction"``.

PgBouncer hands each transaction whichever server connection is free, so nothing a driver keeps
on a server connection between transactions (a prepared statement above all) may be relied on.
Ten server connections serve every client here: 50 concurrent tasks or 8 threads share them.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from archipy_lite import unit_of_work
from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.errors import AlreadyExistsError, DatabaseError
from archipy_lite.testing import temporary_database

from backends import Backend, make_backend
from db_checks import raw_query
from models import Post, User

pytestmark = pytest.mark.pgbouncer

POSTGRES = ["pg-psycopg", "pg-asyncpg", "pg-psycopg-async"]
TASKS, THREADS, ROUNDS = 50, 8, 3
# invalid_sql_statement_name, duplicate_prepared_statement, protocol_violation
PREPARED_STATEMENT_STATES = {"26000", "42P05", "08P01"}


@pytest.fixture(scope="module")
def bouncer_dsn(postgres_server_dsn: str, pgbouncer_server_dsn: str) -> Iterator[str]:
    """A database of this module's own, reached through PgBouncer."""
    with temporary_database(postgres_server_dsn, prefix="archipy_bouncer") as direct:
        yield (
            make_url(pgbouncer_server_dsn).set(database=make_url(direct).database).render_as_string(hide_password=False)
        )


async def open_backend(name: str, dsn: str, tmp_path: Path, **overrides: Any) -> Backend:
    backend = make_backend(name, postgres_dsn=dsn, tmp_dir=tmp_path, **overrides)
    await backend.create_schema()
    await backend.clear_tables()
    return backend


@pytest.fixture(params=POSTGRES)
async def bounced(request: pytest.FixtureRequest, bouncer_dsn: str, tmp_path: Path) -> AsyncIterator[Backend]:
    backend = await open_backend(request.param, bouncer_dsn, tmp_path, POOLER_MODE="transaction")
    yield backend
    await backend.clear_tables()
    await backend.dispose()


def user(name: str) -> User:
    return User(username=name, email=f"{name}@example.com")


async def one_round(db: Backend, name: str, *, in_unit: bool = False) -> None:
    """CRUD, an atomic block whose failed savepoint is rolled back alone, and a search page.

    ``in_unit``: all of it in one unit of work, which holds one connection in autocommit between blocks.
    """
    if in_unit:
        block = unit_of_work(db.adapter)
        if db.is_async:
            async with block:
                await one_round(db, name)
        else:
            with block:
                await one_round(db, name)
        return
    adapter = db.adapter
    await db.call(adapter.execute, text("SELECT :name"), {"name": name})  # a lone statement: autocommit
    created = await db.call(adapter.create, user(name))
    found = await db.call(adapter.get_by_uuid, User, created.uuid)
    assert found is not None
    assert found.username == name
    async with db.atomic():
        await db.call(adapter.create, Post(title=name, content="kept", author_id=created.uuid))
        with pytest.raises(AlreadyExistsError):
            async with db.atomic():
                await db.call(adapter.create, user(name))  # a duplicate: this savepoint only rolls back
        await db.call(adapter.create, Post(title=name, content="also kept", author_id=created.uuid))
    page, total = await db.call(
        adapter.execute_search_query, User, select(User).where(User.username == name), PaginationDTO(page_size=5)
    )
    assert [row.username for row in page] == [name]
    assert total == 1
    removed = await db.call(adapter.create, user(f"{name} removed"))
    await db.call(adapter.delete, removed)


async def test_crud_savepoints_bulk_and_search(bounced: Backend) -> None:
    await one_round(bounced, "solo")
    await bounced.call(
        bounced.adapter.execute,
        text(
            "INSERT INTO users (uuid, username, email, created_at, updated_at) "
            "VALUES (gen_random_uuid(), 'raw', 'raw@example.com', now(), now())"
        ),
    )
    assert raw_query(bounced, "SELECT count(*) FROM users WHERE username = 'raw'") == [(1,)]  # durable
    await bounced.call(bounced.adapter.bulk_create, [user(f"bulk {number}") for number in range(150)])  # COPY
    changed = await bounced.call(bounced.adapter.get_by_uuid, User, (await one_user(bounced, "bulk 7")).uuid)
    changed.full_name = "Renamed"
    await bounced.flush()
    assert raw_query(bounced, "SELECT full_name FROM users WHERE username = 'bulk 7'") == [("Renamed",)]
    assert raw_query(bounced, "SELECT count(*) FROM users") == [(152,)]
    assert raw_query(bounced, "SELECT count(*) FROM posts") == [(2,)]


async def one_user(db: Backend, name: str) -> User:
    result = await db.call(db.adapter.scalars, select(User).where(User.username == name))
    found: User = result.one()
    return found


@pytest.mark.parametrize("in_unit", [False, True], ids=["per-call", "unit-of-work"])
@pytest.mark.parametrize("bounced", ["pg-asyncpg", "pg-psycopg-async"], indirect=True)
async def test_fifty_concurrent_tasks_get_exact_counts(bounced: Backend, in_unit: bool) -> None:
    async def task(number: int) -> None:
        for round_ in range(ROUNDS):
            await one_round(bounced, f"task {number} round {round_}", in_unit=in_unit)

    await asyncio.gather(*(task(number) for number in range(TASKS)))
    assert raw_query(bounced, "SELECT count(*) FROM users") == [(TASKS * ROUNDS,)]
    assert raw_query(bounced, "SELECT count(*) FROM posts") == [(2 * TASKS * ROUNDS,)]
    users = await bounced.call(bounced.adapter.execute, select(func.count()).select_from(User))
    assert users.scalar() == TASKS * ROUNDS


@pytest.mark.parametrize("in_unit", [False, True], ids=["per-call", "unit-of-work"])
@pytest.mark.parametrize("bounced", ["pg-psycopg"], indirect=True)
async def test_eight_threads_get_exact_counts(bounced: Backend, in_unit: bool) -> None:
    start = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def thread(number: int) -> None:
        start.wait(timeout=10)
        try:
            for round_ in range(ROUNDS * 3):
                asyncio.run(one_round(bounced, f"thread {number} round {round_}", in_unit=in_unit))
        except BaseException as failure:
            failures.append(failure)

    workers = [threading.Thread(target=thread, args=(number,)) for number in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert raw_query(bounced, "SELECT count(*) FROM users") == [(THREADS * ROUNDS * 3,)]
    assert raw_query(bounced, "SELECT count(*) FROM posts") == [(2 * THREADS * ROUNDS * 3,)]


async def test_without_the_setting_asyncpg_breaks_behind_pgbouncer(bouncer_dsn: str, tmp_path: Path) -> None:
    """The control: the same load with asyncpg's default caches fails on prepared statements."""
    backend = await open_backend("pg-asyncpg", bouncer_dsn, tmp_path)
    failures: list[DatabaseError] = []

    async def task(number: int) -> None:
        for round_ in range(ROUNDS):
            try:
                await backend.adapter.execute(text("SELECT :n + 1"), {"n": number * 100 + round_})
                await backend.adapter.get_by_uuid(User, uuid.uuid4())
            except DatabaseError as failure:
                failures.append(failure)

    try:
        await asyncio.gather(*(task(number) for number in range(TASKS)))
    finally:
        await backend.dispose()
    assert failures, "asyncpg with its statement caches worked behind a transaction pooler: the control is void"
    states = {failure.details.get("sqlstate") for failure in failures}
    assert states <= PREPARED_STATEMENT_STATES, states
