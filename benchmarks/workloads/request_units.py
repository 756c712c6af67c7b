"""Workload 6: requests. Each is a unit of work: 10 lookups by primary key and one insert.

Every variant is written the way its users write a request handler: archipy_lite in
``unit_of_work(adapter)``, SQLAlchemy and advanced-alchemy with one session per request, the raw
drivers with one transaction per request. The payload of the new row arrives with the request
(prepared untimed); the entity object is built inside the timed region, as a handler builds it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from archipy_lite import unit_of_work
from benchmarks.context import AsyncUserRepository, Bench, UserRepository
from benchmarks.schema import COLUMNS, BenchUser, PlainUser, row
from benchmarks.timing import Variant, WorkloadResult, measure
from benchmarks.workloads.shared import SELECT_ONE, SLICES, fresh_rows, keys, raw_key, slice_of
from benchmarks.workloads.writes import INSERT_ONE, INSERT_ONE_ASYNCPG

LOOKUPS = 10  # per request
SELECT_ONE_ASYNCPG = SELECT_ONE.replace("%s", "$1")
Request = tuple[list[UUID], dict[str, Any]]  # the ids to look up, the payload of the row to create


def _answer(found: list[Any], created: Any) -> tuple[Any, ...]:
    """What a request answers: the users it looked up, and which user it created (by payload index)."""
    return (*keys(found), created.username[-7:])


def _requests(rows: int, units: int) -> list[Request]:
    """Each request looks up 10 existing rows, spread over the table, and brings a new user's payload."""
    stride = max(1, rows // (units * LOOKUPS))
    ids = [row(index * stride % rows)["uuid"] for index in range(units * LOOKUPS)]
    payloads = fresh_rows(units)
    return [(ids[unit * LOOKUPS : (unit + 1) * LOOKUPS], payloads[unit]) for unit in range(units)]


def _sync_variants(bench: Bench, slices: int) -> dict[str, Any]:
    def archipy(requests: list[Request], part: int, *, atomic: bool = False) -> Any:
        answers = []
        for ids, payload in slice_of(requests, part, slices):
            with unit_of_work(bench.adapter, atomic=atomic):
                found = [bench.adapter.get_by_uuid(BenchUser, uid) for uid in ids]
                answers.append(_answer(found, bench.adapter.create(BenchUser(**payload))))
        return answers

    def orm(requests: list[Request], part: int) -> Any:
        answers = []
        for ids, payload in slice_of(requests, part, slices):
            with Session(bench.engine) as session:
                found = [session.get(PlainUser, uid) for uid in ids]
                user = PlainUser(**payload)
                session.add(user)
                answers.append(_answer(found, user))  # before commit expires them: no reload
                session.commit()
        return answers

    def advanced(requests: list[Request], part: int) -> Any:
        answers = []
        for ids, payload in slice_of(requests, part, slices):
            with Session(bench.engine) as session:
                repository = UserRepository(session=session)
                found = keys([repository.get(uid) for uid in ids])
                created = repository.add(PlainUser(**payload), auto_commit=True)
                answers.append((*found, created.username[-7:]))
        return answers

    def raw(requests: list[Request], part: int) -> Any:
        answers = []
        connection = bench.raw  # one held connection (no psycopg_pool in the bench group)
        for ids, payload in slice_of(requests, part, slices):
            with connection.transaction():
                found = [raw_key(connection.execute(SELECT_ONE, (uid,)).fetchone()) for uid in ids]
                connection.execute(INSERT_ONE, [payload[name] for name in COLUMNS])
            answers.append((*found, payload["username"][-7:]))
        return answers

    return {
        "archipy_lite unit_of_work": archipy,
        "archipy_lite unit_of_work(atomic=True)": lambda requests, part: archipy(requests, part, atomic=True),
        "SQLAlchemy ORM": orm,
        "psycopg (raw)": raw,
        "advanced-alchemy": advanced,
    }


def _async_variants(bench: Bench, slices: int) -> dict[str, Any]:
    async def archipy(requests: list[Request], part: int, *, atomic: bool = False) -> Any:
        answers = []
        adapter = bench.async_adapter
        for ids, payload in slice_of(requests, part, slices):
            async with unit_of_work(adapter, atomic=atomic):
                found = [await adapter.get_by_uuid(BenchUser, uid) for uid in ids]
                answers.append(_answer(found, await adapter.create(BenchUser(**payload))))
        return answers

    async def orm(requests: list[Request], part: int) -> Any:
        answers = []
        for ids, payload in slice_of(requests, part, slices):
            async with AsyncSession(bench.async_engine) as session:
                found = [await session.get(PlainUser, uid) for uid in ids]
                user = PlainUser(**payload)
                session.add(user)
                answers.append(_answer(found, user))  # before commit expires them: no reload
                await session.commit()
        return answers

    async def advanced(requests: list[Request], part: int) -> Any:
        answers = []
        for ids, payload in slice_of(requests, part, slices):
            async with AsyncSession(bench.async_engine) as session:
                repository = AsyncUserRepository(session=session)
                found = keys([await repository.get(uid) for uid in ids])
                created = await repository.add(PlainUser(**payload), auto_commit=True)
                answers.append((*found, created.username[-7:]))
        return answers

    async def raw(requests: list[Request], part: int) -> Any:
        answers = []
        for ids, payload in slice_of(requests, part, slices):
            async with bench.raw_pool.acquire() as connection, connection.transaction():
                found = [raw_key(await connection.fetchrow(SELECT_ONE_ASYNCPG, uid)) for uid in ids]
                await connection.execute(INSERT_ONE_ASYNCPG, *[payload[name] for name in COLUMNS])
            answers.append((*found, payload["username"][-7:]))
        return answers

    return {
        "archipy_lite unit_of_work": archipy,
        "archipy_lite unit_of_work(atomic=True)": lambda requests, part: archipy(requests, part, atomic=True),
        "SQLAlchemy ORM": orm,
        "asyncpg (raw)": raw,
        "advanced-alchemy": advanced,
    }


def requests(bench: Bench, *, rows: int, units: int, rounds: int, use_async: bool) -> WorkloadResult:
    """``units`` requests per round; afterwards every variant's rows must all be stored."""
    bench.reset_table(rows)
    slices = min(SLICES, units)
    chosen = _async_variants(bench, slices) if use_async else _sync_variants(bench, slices)
    variants: dict[str, Variant] = {label: (lambda: _requests(rows, units), run) for label, run in chosen.items()}
    flavour = "async" if use_async else "sync"
    result = measure(
        f"6. requests, {flavour} ({units:,} units of work: {LOOKUPS} lookups + 1 insert each, {rows:,} rows)",
        variants,
        reference="SQLAlchemy ORM",
        rounds=rounds,
        loop=bench.loop,
        slices=slices,
    )
    expected = rows + units * len(variants) * (rounds + 1)
    if (stored := bench.count()) != expected:
        raise AssertionError(f"requests: expected {expected} rows after the run, found {stored}")
    result.note = (
        "One request = one unit of work. archipy_lite: `with unit_of_work(adapter):` around"
        " `get_by_uuid` x10 and `create` (statements in autocommit on the unit's connection), or"
        " `unit_of_work(adapter, atomic=True)` (one transaction). SQLAlchemy ORM: `with Session(engine) as s:`,"
        " `s.get` x10, `s.add`, `s.commit()`. advanced-alchemy: one session per request, its repository's"
        " `get` x10 and `add(..., auto_commit=True)`. Raw driver: one transaction per request; psycopg on"
        " one held connection, asyncpg on a connection from `asyncpg.create_pool` (pool of"
        f" {bench.pool_size})."
    )
    return result
