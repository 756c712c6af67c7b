"""A table with duplicate and NULL sort values for the keyset tests, and the order it should come back in.

It lives on its own metadata (not ``BaseEntity``'s), created on each backend on first use. The
expected order is computed in Python from the rows' values, never read from the database.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, delete, insert
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.entities.sqlalchemy.column_types import UTCDateTime
from archipy_lite.models.types.base_types import NullsOrderType, SortOrderType

from backends import Backend


class KeysetBase(DeclarativeBase):
    pass


class Row(KeysetBase):
    """Few distinct values per column, so ties and NULLs are everywhere."""

    __tablename__ = "keyset_rows"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    a: Mapped[int | None]
    b: Mapped[str | None] = mapped_column(String(10))
    c: Mapped[int]
    t: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Flagged(KeysetBase):
    """Boolean sort keys: SQLAlchemy refuses ``<`` and ``>`` next to a bare True or False."""

    __tablename__ = "keyset_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    on: Mapped[bool | None]
    done: Mapped[bool]


COLUMNS = ("a", "b", "c", "t", "id")
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
Values = dict[str, Any]


def values(a: int | None, b: str | None, c: int, t: int | None) -> Values:
    return {"id": uuid.uuid4(), "a": a, "b": b, "c": c, "t": None if t is None else EPOCH + timedelta(hours=t)}


_created: set[str] = set()


async def prepare(db: Backend) -> None:
    """Create the table on ``db`` once, and empty it."""
    engine = db.manager.engine
    if db.name not in _created:
        if db.is_async:
            async with engine.begin() as connection:
                await connection.run_sync(KeysetBase.metadata.create_all)
        else:
            KeysetBase.metadata.create_all(engine)
        _created.add(db.name)
    await execute(db, delete(Row))
    await execute(db, delete(Flagged))


async def execute(db: Backend, statement: Any) -> None:
    if db.is_async:
        async with db.manager.engine.begin() as connection:
            await connection.execute(statement)
    else:
        with db.manager.engine.begin() as connection:
            connection.execute(statement)


async def insert_rows(db: Backend, rows: Sequence[Values]) -> None:
    if rows:
        await execute(db, insert(Row).values(list(rows)))


async def delete_rows(db: Backend, ids: Sequence[uuid.UUID]) -> None:
    if ids:
        await execute(db, delete(Row).where(Row.id.in_(list(ids))))


def _compare_one(left: Any, right: Any, dto: SortDTO) -> int:
    descending = dto.order == SortOrderType.DESCENDING
    nulls_first = descending if dto.nulls is None else dto.nulls == NullsOrderType.FIRST
    if left is None or right is None:
        if left is None and right is None:
            return 0
        return (-1 if left is None else 1) * (1 if nulls_first else -1)
    if left == right:
        return 0
    smaller = -1 if left < right else 1
    return -smaller if descending else smaller


def expected_order(rows: Sequence[Values], sort: Sequence[SortDTO]) -> list[Values]:
    """``rows`` in the order of ``sort`` then the primary key, as documented."""
    keys = list(sort)
    if not any(dto.field == "id" for dto in keys):
        keys.append(SortDTO(field="id", order="asc"))

    def compare(left: Values, right: Values) -> int:
        for dto in keys:
            name = dto.field if isinstance(dto.field, str) else dto.field.key
            outcome = _compare_one(left[name], right[name], dto)
            if outcome:
                return outcome
        return 0

    return sorted(rows, key=functools.cmp_to_key(compare))
