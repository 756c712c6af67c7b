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

# --- 2. create one row and commit ------------------------------------------------------------------


def create_and_commit(bench: Bench, *, count: int, rounds: int, use_async: bool) -> WorkloadResult:
    bench.reset_table(0)
    slices = min(SLICES, count)

    def prepared(cls: type) -> Any:
        def prepare() -> Any:
            bench.truncate()
            return [cls(**values) for values in fresh_rows(count)]

        return prepare

    def adapter(users: list[BenchUser], part: int) -> Any:
        return len([bench.adapter.create(user) for user in slice_of(users, part, slices)])

    def store(users: list[BenchUser], part: int) -> Any:
        return len([bench.store.create(user) for user in slice_of(users, part, slices)])

    def orm(users: list[PlainUser], part: int) -> Any:
        for user in slice_of(users, part, slices):
            with Session(bench.engine) as session:
                session.add(user)
                session.commit()
        return len(slice_of(users, part, slices))

    def core(values: list[dict[str, Any]], part: int) -> Any:
        statement = insert(TABLE)
        for item in slice_of(values, part, slices):
            with bench.engine.begin() as connection:
                connection.execute(statement, item)
        return len(slice_of(values, part, slices))

    def raw(values: list[dict[str, Any]], part: int) -> Any:
        sql = f"INSERT INTO {TABLE.name} ({', '.join(COLUMNS)}) VALUES (%s, %s, %s, %s, %s)"
        for item in slice_of(values, part, slices):
            bench.raw.execute(sql, [item[name] for name in COLUMNS])
        return len(slice_of(values, part, slices))

    def advanced(users: list[PlainUser], part: int) -> Any:
        for user in slice_of(users, part, slices):
            with Session(bench.engine) as session:
                UserRepository(session=session).add(user, auto_commit=True)
        return len(slice_of(users, part, slices))

    async def async_adapter(users: list[BenchUser], part: int) -> Any:
        return len([await bench.async_adapter.create(user) for user in slice_of(users, part, slices)])

    async def async_orm(users: list[PlainUser], part: int) -> Any:
        for user in slice_of(users, part, slices):
            async with AsyncSession(bench.async_engine) as session:
                session.add(user)
                await session.commit()
        return len(slice_of(users, part, slices))

    async def async_raw(values: list[dict[str, Any]], part: int) -> Any:
        sql = f"INSERT INTO {TABLE.name} ({', '.join(COLUMNS)}) VALUES ($1, $2, $3, $4, $5)"
        for item in slice_of(values, part, slices):
            await bench.raw_async.execute(sql, *[item[name] for name in COLUMNS])
        return len(slice_of(values, part, slices))

    async def async_advanced(users: list[PlainUser], part: int) -> Any:
        for user in slice_of(users, part, slices):
            async with AsyncSession(bench.async_engine) as session:
                await AsyncUserRepository(session=session).add(user, auto_commit=True)
        return len(slice_of(users, part, slices))

    def plain_rows() -> Any:
        bench.truncate()
        return fresh_rows(count)

    variants: dict[str, Variant]
    if use_async:
        variants = {
            "archipy_lite adapter": (prepared(BenchUser), async_adapter),
            "SQLAlchemy ORM": (prepared(PlainUser), async_orm),
            "asyncpg (raw)": (plain_rows, async_raw),
            "advanced-alchemy": (prepared(PlainUser), async_advanced),
        }
    else:
        variants = {
            "archipy_lite adapter": (prepared(BenchUser), adapter),
            "archipy_lite store": (prepared(BenchUser), store),
            "SQLAlchemy ORM": (prepared(PlainUser), orm),
            "SQLAlchemy Core": (plain_rows, core),
            "psycopg (raw)": (plain_rows, raw),
            "advanced-alchemy": (prepared(PlainUser), advanced),
        }
    flavour = "async" if use_async else "sync"
    return measure(
        f"2. create one row and commit, {flavour} ({count:,} times)",
        variants,
        reference="SQLAlchemy ORM",
        rounds=rounds,
        loop=bench.loop,
        slices=slices,
    )


# --- 3. bulk create ---------------------------------------------------------------------------------


def bulk_create(bench: Bench, *, count: int, rounds: int) -> WorkloadResult:
    bench.reset_table(0)

    def entities(cls: type) -> Any:
        def prepare() -> Any:
            bench.truncate()
            return [cls(**values) for values in fresh_rows(count)]

        return prepare

    def plain_rows() -> Any:
        bench.truncate()
        return fresh_rows(count)

    def adapter(users: list[BenchUser], _part: int) -> Any:
        return len(bench.adapter.bulk_create(users))

    def adapter_copy(users: list[BenchUser], _part: int) -> Any:
        return len(bench.adapter.bulk_copy(users))

    def orm(users: list[PlainUser], _part: int) -> Any:
        with Session(bench.engine) as session:
            session.add_all(users)
            session.commit()
        return len(users)

    def core(values: list[dict[str, Any]], _part: int) -> Any:
        with bench.engine.begin() as connection:
            connection.execute(insert(TABLE), values)
        return len(values)

    def raw_copy(values: list[dict[str, Any]], _part: int) -> Any:
        with bench.raw.cursor() as cursor, cursor.copy(f"COPY {TABLE.name} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for item in values:
                copy.write_row([item[name] for name in COLUMNS])
        return len(values)

    def advanced(users: list[PlainUser], _part: int) -> Any:
        with Session(bench.engine) as session:
            UserRepository(session=session).add_many(users, auto_commit=True)
        return len(users)

    variants: dict[str, Variant] = {
        "archipy_lite bulk_create": (entities(BenchUser), adapter),
        "archipy_lite bulk_copy": (entities(BenchUser), adapter_copy),
        "SQLAlchemy ORM add_all": (entities(PlainUser), orm),
        "SQLAlchemy Core executemany": (plain_rows, core),
        "psycopg COPY (raw)": (plain_rows, raw_copy),
        "advanced-alchemy add_many": (entities(PlainUser), advanced),
    }
    return measure(
        f"3. bulk create {count:,} rows in one transaction",
        variants,
        reference="SQLAlchemy ORM add_all",
        rounds=rounds,
        loop=bench.loop,
        check=lambda result: (result, bench.count()),
    )
