"""The six workloads of the benchmark issue, each with its variants."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from advanced_alchemy.filters import LimitOffset, OrderBy
from sqlalchemy import func, insert, over, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.types.base_types import SortOrderType
from benchmarks.context import AsyncUserRepository, Bench, UserRepository
from benchmarks.schema import COLUMNS, TABLE, BenchUser, PlainUser, key, row
from benchmarks.timing import Variant, WorkloadResult, measure

SELECT_ONE = f"SELECT uuid, username, email, full_name FROM {TABLE.name} WHERE uuid = %s"
SLICES = 10  # parts per round that the variants take turns on (see timing.measure)
_prefixes = itertools.count()


def _slice(items: list[Any], part: int, slices: int) -> list[Any]:
    size = -(-len(items) // slices)
    return items[part * size : (part + 1) * size]


def _keys(items: list[Any]) -> list[tuple[Any, ...]]:
    return [key(item) for item in items]


def _raw_key(record: Any) -> tuple[Any, ...]:
    return (str(record[0]), record[1], record[2], record[3])


# --- 1. get by uuid -------------------------------------------------------------------------------


def get_by_uuid(bench: Bench, *, rows: int, lookups: int, rounds: int) -> WorkloadResult:
    bench.reset_table(rows)
    all_ids = [row(index * (rows // lookups))["uuid"] for index in range(lookups)]
    slices = min(SLICES, lookups)

    def adapter(part: int) -> Any:
        return _keys([bench.adapter.get_by_uuid(BenchUser, uid) for uid in _slice(all_ids, part, slices)])

    def store(part: int) -> Any:
        return _keys([bench.store.get(uid) for uid in _slice(all_ids, part, slices)])

    def orm(part: int) -> Any:
        found = []
        for uid in _slice(all_ids, part, slices):
            with Session(bench.engine) as session:
                found.append(session.get(PlainUser, uid))
        return _keys(found)

    def core(part: int) -> Any:
        statement = select(TABLE.c.uuid, TABLE.c.username, TABLE.c.email, TABLE.c.full_name)
        found = []
        for uid in _slice(all_ids, part, slices):
            with bench.engine.connect() as connection:
                found.append(_raw_key(connection.execute(statement.where(TABLE.c.uuid == uid)).one()))
        return found

    def raw(part: int) -> Any:
        return [_raw_key(bench.raw.execute(SELECT_ONE, (uid,)).fetchone()) for uid in _slice(all_ids, part, slices)]

    def advanced(part: int) -> Any:
        found = []
        for uid in _slice(all_ids, part, slices):
            with Session(bench.engine) as session:
                found.append(UserRepository(session=session).get(uid))
        return _keys(found)

    variants: dict[str, Variant] = {
        "archipy_lite adapter": adapter,
        "archipy_lite store": store,
        "SQLAlchemy ORM": orm,
        "SQLAlchemy Core": core,
        "psycopg (raw)": raw,
        "advanced-alchemy": advanced,
    }
    return measure(
        f"1. get by uuid, sync ({lookups:,} lookups in {rows:,} rows)",
        variants,
        reference="SQLAlchemy ORM",
        rounds=rounds,
        loop=bench.loop,
        slices=slices,
    )


def get_by_uuid_async(bench: Bench, *, rows: int, lookups: int, rounds: int) -> WorkloadResult:
    bench.reset_table(rows)
    all_ids = [row(index * (rows // lookups))["uuid"] for index in range(lookups)]
    slices = min(SLICES, lookups)

    async def adapter(part: int) -> Any:
        return _keys([await bench.async_adapter.get_by_uuid(BenchUser, uid) for uid in _slice(all_ids, part, slices)])

    async def store(part: int) -> Any:
        return _keys([await bench.async_store.get(uid) for uid in _slice(all_ids, part, slices)])

    async def orm(part: int) -> Any:
        found = []
        for uid in _slice(all_ids, part, slices):
            async with AsyncSession(bench.async_engine) as session:
                found.append(await session.get(PlainUser, uid))
        return _keys(found)

    async def raw(part: int) -> Any:
        sql = SELECT_ONE.replace("%s", "$1")
        return [_raw_key(await bench.raw_async.fetchrow(sql, uid)) for uid in _slice(all_ids, part, slices)]

    async def advanced(part: int) -> Any:
        found = []
        for uid in _slice(all_ids, part, slices):
            async with AsyncSession(bench.async_engine) as session:
                found.append(await AsyncUserRepository(session=session).get(uid))
        return _keys(found)

    variants: dict[str, Variant] = {
        "archipy_lite adapter": adapter,
        "archipy_lite store": store,
        "SQLAlchemy ORM": orm,
        "asyncpg (raw)": raw,
        "advanced-alchemy": advanced,
    }
    return measure(
        f"1. get by uuid, async ({lookups:,} lookups in {rows:,} rows)",
        variants,
        reference="SQLAlchemy ORM",
        rounds=rounds,
        loop=bench.loop,
        slices=slices,
    )


# --- 2. create one row and commit ------------------------------------------------------------------


def _fresh_rows(count: int) -> list[dict[str, Any]]:
    prefix = f"c{next(_prefixes)}_"
    return [row(index, prefix) for index in range(count)]


def create_and_commit(bench: Bench, *, count: int, rounds: int, use_async: bool) -> WorkloadResult:
    bench.reset_table(0)
    slices = min(SLICES, count)

    def prepared(cls: type) -> Any:
        def prepare() -> Any:
            bench.truncate()
            return [cls(**values) for values in _fresh_rows(count)]

        return prepare

    def adapter(users: list[BenchUser], part: int) -> Any:
        return len([bench.adapter.create(user) for user in _slice(users, part, slices)])

    def store(users: list[BenchUser], part: int) -> Any:
        return len([bench.store.create(user) for user in _slice(users, part, slices)])

    def orm(users: list[PlainUser], part: int) -> Any:
        for user in _slice(users, part, slices):
            with Session(bench.engine) as session:
                session.add(user)
                session.commit()
        return len(_slice(users, part, slices))

    def core(values: list[dict[str, Any]], part: int) -> Any:
        statement = insert(TABLE)
        for item in _slice(values, part, slices):
            with bench.engine.begin() as connection:
                connection.execute(statement, item)
        return len(_slice(values, part, slices))

    def raw(values: list[dict[str, Any]], part: int) -> Any:
        sql = f"INSERT INTO {TABLE.name} ({', '.join(COLUMNS)}) VALUES (%s, %s, %s, %s, %s)"
        for item in _slice(values, part, slices):
            bench.raw.execute(sql, [item[name] for name in COLUMNS])
        return len(_slice(values, part, slices))

    def advanced(users: list[PlainUser], part: int) -> Any:
        for user in _slice(users, part, slices):
            with Session(bench.engine) as session:
                UserRepository(session=session).add(user, auto_commit=True)
        return len(_slice(users, part, slices))

    async def async_adapter(users: list[BenchUser], part: int) -> Any:
        return len([await bench.async_adapter.create(user) for user in _slice(users, part, slices)])

    async def async_orm(users: list[PlainUser], part: int) -> Any:
        for user in _slice(users, part, slices):
            async with AsyncSession(bench.async_engine) as session:
                session.add(user)
                await session.commit()
        return len(_slice(users, part, slices))

    async def async_raw(values: list[dict[str, Any]], part: int) -> Any:
        sql = f"INSERT INTO {TABLE.name} ({', '.join(COLUMNS)}) VALUES ($1, $2, $3, $4, $5)"
        for item in _slice(values, part, slices):
            await bench.raw_async.execute(sql, *[item[name] for name in COLUMNS])
        return len(_slice(values, part, slices))

    async def async_advanced(users: list[PlainUser], part: int) -> Any:
        for user in _slice(users, part, slices):
            async with AsyncSession(bench.async_engine) as session:
                await AsyncUserRepository(session=session).add(user, auto_commit=True)
        return len(_slice(users, part, slices))

    def plain_rows() -> Any:
        bench.truncate()
        return _fresh_rows(count)

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
            return [cls(**values) for values in _fresh_rows(count)]

        return prepare

    def plain_rows() -> Any:
        bench.truncate()
        return _fresh_rows(count)

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


# --- 4. search page with total ---------------------------------------------------------------------


def search_page(bench: Bench, *, rows: int, repeat: int, rounds: int) -> WorkloadResult:
    bench.reset_table(rows)
    page, size, term = 50, 20, "smith"
    offset = (page - 1) * size
    slices = min(SLICES, repeat)
    searches = list(range(repeat))

    def adapter(part: int) -> Any:
        out = None
        for _ in _slice(searches, part, slices):
            query = select(BenchUser).where(BenchUser.full_name.ilike(f"%{term}%"))
            items, total = bench.adapter.execute_search_query(
                BenchUser,
                query,
                PaginationDTO(page=page, page_size=size),
                SortDTO(field="username", order=SortOrderType.ASCENDING),
            )
            out = (total, _keys(items))
        return out

    def orm_count_and_page(part: int) -> Any:
        out = None
        for _ in _slice(searches, part, slices):
            with Session(bench.engine) as session:
                condition = PlainUser.full_name.ilike(f"%{term}%")
                total = session.scalar(select(func.count()).select_from(PlainUser).where(condition))
                items = session.scalars(
                    select(PlainUser).where(condition).order_by(PlainUser.username).limit(size).offset(offset)
                ).all()
                out = (total, _keys(list(items)))
        return out

    def orm_window(part: int) -> Any:
        out = None
        for _ in _slice(searches, part, slices):
            with Session(bench.engine) as session:
                condition = PlainUser.full_name.ilike(f"%{term}%")
                result = session.execute(
                    select(PlainUser, over(func.count()))
                    .where(condition)
                    .order_by(PlainUser.username)
                    .limit(size)
                    .offset(offset)
                ).all()
                out = (result[0][1] if result else 0, _keys([r[0] for r in result]))
        return out

    def raw(part: int) -> Any:
        out = None
        for _ in _slice(searches, part, slices):
            like = f"%{term}%"
            total = bench.raw.execute(
                f"SELECT count(*) FROM {TABLE.name} WHERE full_name ILIKE %s", (like,)
            ).fetchone()[0]  # type: ignore[index]
            records = bench.raw.execute(
                f"SELECT uuid, username, email, full_name FROM {TABLE.name} WHERE full_name ILIKE %s "
                "ORDER BY username LIMIT %s OFFSET %s",
                (like, size, offset),
            ).fetchall()
            out = (total, [_raw_key(record) for record in records])
        return out

    def advanced(part: int) -> Any:
        out = None
        for _ in _slice(searches, part, slices):
            with Session(bench.engine) as session:
                items, total = UserRepository(session=session).list_and_count(
                    PlainUser.full_name.ilike(f"%{term}%"),
                    LimitOffset(limit=size, offset=offset),
                    OrderBy(field_name="username", sort_order="asc"),
                )
                out = (total, _keys(list(items)))
        return out

    variants: dict[str, Variant] = {
        "archipy_lite execute_search_query": adapter,
        "SQLAlchemy ORM count + page": orm_count_and_page,
        "SQLAlchemy ORM count(*) OVER()": orm_window,
        "psycopg (raw) count + page": raw,
        "advanced-alchemy list_and_count": advanced,
    }
    return measure(
        f"4. search page {page} of {size}, ILIKE + ORDER BY + total, {rows:,} rows ({repeat} searches)",
        variants,
        reference="SQLAlchemy ORM count + page",
        rounds=rounds,
        loop=bench.loop,
        slices=slices,
    )


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
            return _keys([await bench.async_adapter.get_by_uuid(BenchUser, uid) for uid in share])

        return await gather(worker)

    async def orm(_part: int) -> Any:
        async def worker(share: list[Any]) -> list[Any]:
            found = []
            for uid in share:
                async with AsyncSession(bench.async_engine) as session:
                    found.append(await session.get(PlainUser, uid))
            return _keys(found)

        return await gather(worker)

    async def advanced(_part: int) -> Any:
        async def worker(share: list[Any]) -> list[Any]:
            found = []
            for uid in share:
                async with AsyncSession(bench.async_engine) as session:
                    found.append(await AsyncUserRepository(session=session).get(uid))
            return _keys(found)

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
