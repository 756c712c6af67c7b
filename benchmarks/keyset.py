"""Workload 7: a deep page by key (a cursor) against the same page by OFFSET.

The table is sorted by ``score``, a NOT NULL column with about a hundred rows per value, then by
the primary key; an index on ``(score, uuid)`` serves both forms. The OFFSET page reads and
discards every earlier row; the keyset page starts at its cursor.
"""

from __future__ import annotations

import uuid
import zlib
from typing import Any

from sqlalchemy import Column, Index, Integer, String, Table, select, tuple_
from sqlalchemy.orm import Mapped, Session

from archipy_lite.models.dtos.pagination_dto import CursorPaginationDTO, PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.entities.sqlalchemy.base_entities import BaseEntity
from benchmarks.context import Bench
from benchmarks.schema import EPOCH, PlainBase
from benchmarks.timing import Variant, WorkloadResult, measure
from benchmarks.workloads.shared import SLICES, slice_of

BY_SCORE = SortDTO(field="score", order="asc")
_COLUMNS = ("uuid", "created_at", "score", "label")


class BenchScore(BaseEntity):
    """archipy_lite entity: uuid and created_at from BaseEntity, a non-unique score."""

    __tablename__ = "bench_scores"
    __table_args__ = (Index("ix_bench_scores_score_uuid", "score", "uuid"),)

    score = Column(Integer, nullable=False)
    label = Column(String(32), nullable=False)


class PlainScore(PlainBase):
    """The same table mapped by hand-written SQLAlchemy."""

    __table__: Table = BenchScore.__table__.to_metadata(PlainBase.metadata)
    uuid: Mapped[uuid.UUID]
    score: Mapped[int]
    label: Mapped[str]


def _row(index: int) -> list[Any]:
    key = zlib.crc32(index.to_bytes(4, "big"))
    return [uuid.UUID(int=(key << 64) | index), EPOCH, key % 1000, f"row {index}"]


def _reset(bench: Bench, rows: int) -> None:
    table = BenchScore.__table__
    table.drop(bench.engine, checkfirst=True)
    table.create(bench.engine)
    with bench.raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
        for index in range(rows):
            copy.write_row(_row(index))
    bench.raw.execute(f"ANALYZE {table.name}")


def _keys(items: list[Any]) -> list[tuple[str, int]]:
    return [(str(item.uuid), item.score) for item in items]


def _cursor_before(bench: Bench, rows_before: int) -> tuple[str | None, tuple[int, uuid.UUID] | None]:
    """The cursor after the first ``rows_before`` rows, walked page by page as a client would (untimed)."""
    cursor, last = None, None
    walked = 0
    while walked < rows_before:
        size = min(CursorPaginationDTO.MAX_PAGE_SIZE, rows_before - walked)
        page = bench.adapter.search_page(
            BenchScore, select(BenchScore), CursorPaginationDTO(page_size=size, cursor=cursor), BY_SCORE
        )
        walked += len(page.items)
        cursor, last = page.next_cursor, (page.items[-1].score, page.items[-1].uuid)
    return cursor, last


def keyset_against_offset(bench: Bench, *, rows: int, size: int, repeat: int, rounds: int) -> WorkloadResult:
    _reset(bench, rows)
    page_number = rows // size  # the last full page: the deepest OFFSET
    offset = (page_number - 1) * size
    cursor, last = _cursor_before(bench, offset)
    assert last is not None
    slices = min(SLICES, repeat)
    searches = list(range(repeat))

    def times(part: int) -> list[int]:
        return slice_of(searches, part, slices)

    def keyset(part: int) -> Any:
        out = None
        for _ in times(part):
            page = bench.adapter.search_page(
                BenchScore, select(BenchScore), CursorPaginationDTO(page_size=size, cursor=cursor), BY_SCORE
            )
            out = _keys(page.items)
        return out

    def offset_page(part: int) -> Any:
        out = None
        for _ in times(part):
            pagination = PaginationDTO(page=page_number, page_size=size)
            page = bench.adapter.search_page(BenchScore, select(BenchScore), pagination, BY_SCORE, include_total=False)
            out = _keys(page.items)
        return out

    def orm_keyset(part: int) -> Any:
        out = None
        for _ in times(part):
            with Session(bench.engine) as session:
                statement = (
                    select(PlainScore)
                    .where(tuple_(PlainScore.score, PlainScore.uuid) > tuple_(*last))
                    .order_by(PlainScore.score, PlainScore.uuid)
                    .limit(size)
                )
                out = _keys(list(session.scalars(statement)))
        return out

    def orm_offset(part: int) -> Any:
        out = None
        for _ in times(part):
            with Session(bench.engine) as session:
                statement = select(PlainScore).order_by(PlainScore.score, PlainScore.uuid).limit(size).offset(offset)
                out = _keys(list(session.scalars(statement)))
        return out

    variants: dict[str, Variant] = {
        "archipy_lite keyset page (cursor)": keyset,
        "archipy_lite OFFSET page": offset_page,
        "SQLAlchemy ORM keyset (row comparison)": orm_keyset,
        "SQLAlchemy ORM OFFSET": orm_offset,
    }
    return measure(
        f"7. page {page_number:,} of {size} rows sorted by a non-unique column, {rows:,} rows ({repeat} pages)",
        variants,
        reference="archipy_lite OFFSET page",
        rounds=rounds,
        loop=bench.loop,
        slices=slices,
    )
