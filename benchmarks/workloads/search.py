"""Workload 4: a search page with its total."""

from __future__ import annotations

from typing import Any

from advanced_alchemy.filters import LimitOffset, OrderBy
from sqlalchemy import func, over, select
from sqlalchemy.orm import Session

from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.types.base_types import SortOrderType
from benchmarks.context import Bench, UserRepository
from benchmarks.schema import TABLE, BenchUser, PlainUser
from benchmarks.timing import Variant, WorkloadResult, measure
from benchmarks.workloads.shared import SLICES, keys, raw_key, slice_of

# --- 4. search page with total ---------------------------------------------------------------------


def search_page(bench: Bench, *, rows: int, repeat: int, rounds: int) -> WorkloadResult:
    bench.reset_table(rows)
    page, size, term = 50, 20, "smith"
    offset = (page - 1) * size
    slices = min(SLICES, repeat)
    searches = list(range(repeat))

    def adapter(part: int) -> Any:
        out = None
        for _ in slice_of(searches, part, slices):
            query = select(BenchUser).where(BenchUser.full_name.ilike(f"%{term}%"))
            items, total = bench.adapter.execute_search_query(
                BenchUser,
                query,
                PaginationDTO(page=page, page_size=size),
                SortDTO(field="username", order=SortOrderType.ASCENDING),
            )
            out = (total, keys(items))
        return out

    def orm_count_and_page(part: int) -> Any:
        out = None
        for _ in slice_of(searches, part, slices):
            with Session(bench.engine) as session:
                condition = PlainUser.full_name.ilike(f"%{term}%")
                total = session.scalar(select(func.count()).select_from(PlainUser).where(condition))
                items = session.scalars(
                    select(PlainUser).where(condition).order_by(PlainUser.username).limit(size).offset(offset)
                ).all()
                out = (total, keys(list(items)))
        return out

    def orm_window(part: int) -> Any:
        out = None
        for _ in slice_of(searches, part, slices):
            with Session(bench.engine) as session:
                condition = PlainUser.full_name.ilike(f"%{term}%")
                result = session.execute(
                    select(PlainUser, over(func.count()))
                    .where(condition)
                    .order_by(PlainUser.username)
                    .limit(size)
                    .offset(offset)
                ).all()
                out = (result[0][1] if result else 0, keys([r[0] for r in result]))
        return out

    def raw(part: int) -> Any:
        out = None
        for _ in slice_of(searches, part, slices):
            like = f"%{term}%"
            total = bench.raw.execute(
                f"SELECT count(*) FROM {TABLE.name} WHERE full_name ILIKE %s", (like,)
            ).fetchone()[0]  # type: ignore[index]
            records = bench.raw.execute(
                f"SELECT uuid, username, email, full_name FROM {TABLE.name} WHERE full_name ILIKE %s "
                "ORDER BY username LIMIT %s OFFSET %s",
                (like, size, offset),
            ).fetchall()
            out = (total, [raw_key(record) for record in records])
        return out

    def advanced(part: int) -> Any:
        out = None
        for _ in slice_of(searches, part, slices):
            with Session(bench.engine) as session:
                items, total = UserRepository(session=session).list_and_count(
                    PlainUser.full_name.ilike(f"%{term}%"),
                    LimitOffset(limit=size, offset=offset),
                    OrderBy(field_name="username", sort_order="asc"),
                )
                out = (total, keys(list(items)))
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
