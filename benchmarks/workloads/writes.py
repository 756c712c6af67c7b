"""Workloads 2 and 3: create one row and commit, and bulk create."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from benchmarks.context import AsyncUserRepository, Bench, UserRepository
from benchmarks.schema import COLUMNS, TABLE, BenchUser, PlainUser
from benchmarks.timing import Variant, WorkloadResult, measure
from benchmarks.workloads.shared import SLICES, fresh_rows, slice_of

INSERT_ONE = f"INSERT INTO {TABLE.name} ({', '.join(COLUMNS)}) VALUES (%s, %s, %s, %s, %s)"
INSERT_ONE_ASYNCPG = f"INSERT INTO {TABLE.name} ({', '.join(COLUMNS)}) VALUES ($1, $2, $3, $4, $5)"


def _check_stored(bench: Bench, expected: int) -> None:
    """Every variant's rows of the last round are in the table (they all start from a truncated one)."""
    if (stored := bench.count()) != expected:
        raise AssertionError(f"expected {expected} rows after the last round, found {stored}")


# --- 2. create one row and commit ------------------------------------------------------------------


def create_and_commit(bench: Bench, *, count: int, rounds: int, use_async: bool) -> WorkloadResult:
    bench.reset_table(0)
    slices = min(SLICES, count)

    # Each variant gets the payloads a request would carry and builds its objects in the timed region.
    def adapter(payloads: list[dict[str, Any]], part: int) -> Any:
        return len([bench.adapter.create(BenchUser(**values)) for values in slice_of(payloads, part, slices)])

    def store(payloads: list[dict[str, Any]], part: int) -> Any:
        return len([bench.store.create(BenchUser(**values)) for values in slice_of(payloads, part, slices)])

    def orm(payloads: list[dict[str, Any]], part: int) -> Any:
        for values in slice_of(payloads, part, slices):
            with Session(bench.engine) as session:
                session.add(PlainUser(**values))
                session.commit()
        return len(slice_of(payloads, part, slices))

    def core(payloads: list[dict[str, Any]], part: int) -> Any:
        statement = insert(TABLE)
        for values in slice_of(payloads, part, slices):
            with bench.engine.begin() as connection:
                connection.execute(statement, values)
        return len(slice_of(payloads, part, slices))

    def raw(payloads: list[dict[str, Any]], part: int) -> Any:
        for values in slice_of(payloads, part, slices):
            bench.raw.execute(INSERT_ONE, [values[name] for name in COLUMNS])
        return len(slice_of(payloads, part, slices))

    def advanced(payloads: list[dict[str, Any]], part: int) -> Any:
        for values in slice_of(payloads, part, slices):
            with Session(bench.engine) as session:
                UserRepository(session=session).add(PlainUser(**values), auto_commit=True)
        return len(slice_of(payloads, part, slices))

    async def async_adapter(payloads: list[dict[str, Any]], part: int) -> Any:
        return len(
            [await bench.async_adapter.create(BenchUser(**values)) for values in slice_of(payloads, part, slices)]
        )

    async def async_orm(payloads: list[dict[str, Any]], part: int) -> Any:
        for values in slice_of(payloads, part, slices):
            async with AsyncSession(bench.async_engine) as session:
                session.add(PlainUser(**values))
                await session.commit()
        return len(slice_of(payloads, part, slices))

    async def async_raw(payloads: list[dict[str, Any]], part: int) -> Any:
        for values in slice_of(payloads, part, slices):
            await bench.raw_async.execute(INSERT_ONE_ASYNCPG, *[values[name] for name in COLUMNS])
        return len(slice_of(payloads, part, slices))

    async def async_advanced(payloads: list[dict[str, Any]], part: int) -> Any:
        for values in slice_of(payloads, part, slices):
            async with AsyncSession(bench.async_engine) as session:
                await AsyncUserRepository(session=session).add(PlainUser(**values), auto_commit=True)
        return len(slice_of(payloads, part, slices))

    def payloads() -> Any:
        bench.truncate()
        return fresh_rows(count)

    variants: dict[str, Variant]
    if use_async:
        variants = {
            "archipy_lite adapter": (payloads, async_adapter),
            "SQLAlchemy ORM": (payloads, async_orm),
            "asyncpg (raw)": (payloads, async_raw),
            "advanced-alchemy": (payloads, async_advanced),
        }
    else:
        variants = {
            "archipy_lite adapter": (payloads, adapter),
            "archipy_lite store": (payloads, store),
            "SQLAlchemy ORM": (payloads, orm),
            "SQLAlchemy Core": (payloads, core),
            "psycopg (raw)": (payloads, raw),
            "advanced-alchemy": (payloads, advanced),
        }
    flavour = "async" if use_async else "sync"
    result = measure(
        f"2. create one row and commit, {flavour} ({count:,} times)",
        variants,
        reference="SQLAlchemy ORM",
        rounds=rounds,
        loop=bench.loop,
        slices=slices,
    )
    _check_stored(bench, count * len(variants))
    return result


# --- 3. bulk create ---------------------------------------------------------------------------------


def bulk_create(bench: Bench, *, count: int, rounds: int) -> WorkloadResult:
    bench.reset_table(0)

    def payloads() -> Any:
        bench.truncate()
        return fresh_rows(count)

    def adapter(rows: list[dict[str, Any]], _part: int) -> Any:
        return len(bench.adapter.bulk_create([BenchUser(**values) for values in rows]))

    def adapter_copy(rows: list[dict[str, Any]], _part: int) -> Any:
        return len(bench.adapter.bulk_copy([BenchUser(**values) for values in rows]))

    def orm(rows: list[dict[str, Any]], _part: int) -> Any:
        with Session(bench.engine) as session:
            session.add_all([PlainUser(**values) for values in rows])
            session.commit()
        return len(rows)

    def core(rows: list[dict[str, Any]], _part: int) -> Any:
        with bench.engine.begin() as connection:
            connection.execute(insert(TABLE), rows)
        return len(rows)

    def raw_copy(rows: list[dict[str, Any]], _part: int) -> Any:
        with bench.raw.cursor() as cursor, cursor.copy(f"COPY {TABLE.name} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for values in rows:
                copy.write_row([values[name] for name in COLUMNS])
        return len(rows)

    def advanced(rows: list[dict[str, Any]], _part: int) -> Any:
        with Session(bench.engine) as session:
            UserRepository(session=session).add_many([PlainUser(**values) for values in rows], auto_commit=True)
        return len(rows)

    variants: dict[str, Variant] = {
        "archipy_lite bulk_create": (payloads, adapter),
        "archipy_lite bulk_copy": (payloads, adapter_copy),
        "SQLAlchemy ORM add_all": (payloads, orm),
        "SQLAlchemy Core executemany": (payloads, core),
        "psycopg COPY (raw)": (payloads, raw_copy),
        "advanced-alchemy add_many": (payloads, advanced),
    }
    return measure(
        f"3. bulk create {count:,} rows in one transaction",
        variants,
        reference="SQLAlchemy ORM add_all",
        rounds=rounds,
        loop=bench.loop,
        check=lambda result: (result, bench.count()),
    )
