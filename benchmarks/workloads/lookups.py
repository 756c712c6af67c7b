"""Workloads 1 and 5: get by uuid, sync and async, one task and many."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from archipy_lite import unit_of_work
from benchmarks.context import AsyncUserRepository, Bench, UserRepository
from benchmarks.schema import TABLE, BenchUser, PlainUser, row
from benchmarks.timing import Variant, WorkloadResult, measure
from benchmarks.workloads.shared import SELECT_ONE, SLICES, keys, raw_key, slice_of

# --- 1. get by uuid -------------------------------------------------------------------------------

ONE_UNIT = "archipy_lite adapter, one unit for the run"
ONE_SESSION = "SQLAlchemy ORM, one Session for the run"


def _with_note(result: WorkloadResult, per_slice: int) -> WorkloadResult:
    """Say what each reference does, and set the two ways of working side by side."""
    result.note = (
        "One lookup per call outside any unit: `archipy_lite adapter`, `archipy_lite store` and the"
        " `SQLAlchemy ORM` reference (`with Session(engine)` per lookup, as a handler doing one lookup"
        f" writes it). Many lookups in one scope: `{ONE_UNIT}` (`with unit_of_work(adapter)`) and"
        f" `{ONE_SESSION}` (one `with Session(engine)`); both open their scope once per slice of"
        f" {per_slice:,} lookups. In one scope, archipy_lite vs SQLAlchemy:"
        f" **{result.ratio(ONE_UNIT, ONE_SESSION):.2f}x**."
    )
    return result


def get_by_uuid(bench: Bench, *, rows: int, lookups: int, rounds: int) -> WorkloadResult:
    bench.reset_table(rows)
    all_ids = [row(index * (rows // lookups))["uuid"] for index in range(lookups)]
    slices = min(SLICES, lookups)

    def adapter(part: int) -> Any:
        return keys([bench.adapter.get_by_uuid(BenchUser, uid) for uid in slice_of(all_ids, part, slices)])

    def adapter_in_unit(part: int) -> Any:
        with unit_of_work(bench.adapter):
            return keys([bench.adapter.get_by_uuid(BenchUser, uid) for uid in slice_of(all_ids, part, slices)])

    def store(part: int) -> Any:
        return keys([bench.store.get(uid) for uid in slice_of(all_ids, part, slices)])

    def orm_one_session(part: int) -> Any:
        with Session(bench.engine) as session:
            return keys([session.get(PlainUser, uid) for uid in slice_of(all_ids, part, slices)])

    def orm(part: int) -> Any:
        found = []
        for uid in slice_of(all_ids, part, slices):
            with Session(bench.engine) as session:
                found.append(session.get(PlainUser, uid))
        return keys(found)

    def core(part: int) -> Any:
        statement = select(TABLE.c.uuid, TABLE.c.username, TABLE.c.email, TABLE.c.full_name)
        found = []
        for uid in slice_of(all_ids, part, slices):
            with bench.engine.connect() as connection:
                found.append(raw_key(connection.execute(statement.where(TABLE.c.uuid == uid)).one()))
        return found

    def raw(part: int) -> Any:
        return [raw_key(bench.raw.execute(SELECT_ONE, (uid,)).fetchone()) for uid in slice_of(all_ids, part, slices)]

    def advanced(part: int) -> Any:
        found = []
        for uid in slice_of(all_ids, part, slices):
            with Session(bench.engine) as session:
                found.append(UserRepository(session=session).get(uid))
        return keys(found)

    variants: dict[str, Variant] = {
        "archipy_lite adapter": adapter,
        "archipy_lite store": store,
        ONE_UNIT: adapter_in_unit,
        "SQLAlchemy ORM": orm,
        ONE_SESSION: orm_one_session,
        "SQLAlchemy Core": core,
        "psycopg (raw)": raw,
        "advanced-alchemy": advanced,
    }
    result = measure(
        f"1. get by uuid, sync ({lookups:,} lookups in {rows:,} rows)",
        variants,
        reference="SQLAlchemy ORM",
        rounds=rounds,
        loop=bench.loop,
        slices=slices,
    )
    return _with_note(result, lookups // slices)


def get_by_uuid_async(bench: Bench, *, rows: int, lookups: int, rounds: int) -> WorkloadResult:
    bench.reset_table(rows)
    all_ids = [row(index * (rows // lookups))["uuid"] for index in range(lookups)]
    slices = min(SLICES, lookups)

    async def adapter(part: int) -> Any:
        return keys([await bench.async_adapter.get_by_uuid(BenchUser, uid) for uid in slice_of(all_ids, part, slices)])

    async def adapter_in_unit(part: int) -> Any:
        async with unit_of_work(bench.async_adapter):
            ids = slice_of(all_ids, part, slices)
            return keys([await bench.async_adapter.get_by_uuid(BenchUser, uid) for uid in ids])

    async def store(part: int) -> Any:
        return keys([await bench.async_store.get(uid) for uid in slice_of(all_ids, part, slices)])

    async def orm_one_session(part: int) -> Any:
        async with AsyncSession(bench.async_engine) as session:
            return keys([await session.get(PlainUser, uid) for uid in slice_of(all_ids, part, slices)])

    async def orm(part: int) -> Any:
        found = []
        for uid in slice_of(all_ids, part, slices):
            async with AsyncSession(bench.async_engine) as session:
                found.append(await session.get(PlainUser, uid))
        return keys(found)

    async def raw(part: int) -> Any:
        sql = SELECT_ONE.replace("%s", "$1")
        return [raw_key(await bench.raw_async.fetchrow(sql, uid)) for uid in slice_of(all_ids, part, slices)]

    async def advanced(part: int) -> Any:
        found = []
        for uid in slice_of(all_ids, part, slices):
            async with AsyncSession(bench.async_engine) as session:
                found.append(await AsyncUserRepository(session=session).get(uid))
        return keys(found)

    variants: dict[str, Variant] = {
        "archipy_lite adapter": adapter,
        "archipy_lite store": store,
        ONE_UNIT: adapter_in_unit,
        "SQLAlchemy ORM": orm,
        ONE_SESSION: orm_one_session,
        "asyncpg (raw)": raw,
        "advanced-alchemy": advanced,
    }
    result = measure(
        f"1. get by uuid, async ({lookups:,} lookups in {rows:,} rows)",
        variants,
        reference="SQLAlchemy ORM",
        rounds=rounds,
        loop=bench.loop,
        slices=slices,
    )
    return _with_note(result, lookups // slices)


# --- 5. concurrent async lookups -------------------------------------------------------------------


def concurrent_lookups(bench: Bench, *, rows: int, tasks: int, lookups: int, rounds: int) -> WorkloadResult:
    bench.reset_table(rows)
    ids = [row(index * (rows // lookups))["uuid"] for index in range(lookups)]
    shares = [ids[start::tasks] for start in range(tasks)]

    async def gather(worker: Any) -> Any:
        results = await asyncio.gather(*(worker(share) for share in shares))
        return sorted(itertools.chain.from_iterable(results))

    async def adapter(_part: int) -> Any:
        async def worker(share: list[Any]) -> list[Any]:
            return keys([await bench.async_adapter.get_by_uuid(BenchUser, uid) for uid in share])

        return await gather(worker)

    async def orm(_part: int) -> Any:
        async def worker(share: list[Any]) -> list[Any]:
            found = []
            for uid in share:
                async with AsyncSession(bench.async_engine) as session:
                    found.append(await session.get(PlainUser, uid))
            return keys(found)

        return await gather(worker)

    async def advanced(_part: int) -> Any:
        async def worker(share: list[Any]) -> list[Any]:
            found = []
            for uid in share:
                async with AsyncSession(bench.async_engine) as session:
                    found.append(await AsyncUserRepository(session=session).get(uid))
            return keys(found)

        return await gather(worker)

    variants: dict[str, Variant] = {
        "archipy_lite adapter": adapter,
        "SQLAlchemy ORM": orm,
        "advanced-alchemy": advanced,
    }
    return measure(
        f"5. {tasks} concurrent tasks, {lookups:,} lookups, pool of {bench.pool_size}",
        variants,
        reference="SQLAlchemy ORM",
        rounds=rounds,
        loop=bench.loop,
    )
