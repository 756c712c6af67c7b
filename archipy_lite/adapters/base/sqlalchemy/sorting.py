"""Sort specifications resolved into sort keys: several columns, each with its direction and NULL place.

The ORDER BY of page searches, the comparisons of keyset pagination and the walk of
``Store.iterate`` all come from ``sort_keys``, so they agree on one total order: the caller's keys,
then what identifies a row. NULLs go where PostgreSQL puts them unless a key says otherwise, and
that placement is spelled out in SQL, so PostgreSQL and SQLite return the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Column, ColumnElement, FromClause, PrimaryKeyConstraint, Select, Table, UniqueConstraint

from archipy_lite import compat
from archipy_lite.adapters.base.sqlalchemy.query_building import column_of
from archipy_lite.models.dtos.sort_dto import SortDTO, SortSpec
from archipy_lite.models.errors import InvalidArgumentError
from archipy_lite.models.types.base_types import NullsOrderType, SortOrderType


@dataclass(frozen=True)
class SortKey:
    """One ORDER BY term; ``nullable`` False means the column cannot hold NULL in this query."""

    column: Any
    descending: bool = False
    nulls_first: bool = False
    nullable: bool = True

    @property
    def element(self) -> ColumnElement[Any]:
        """The column as a SQL expression (what ``compare`` needs)."""
        return clause_of(self.column)

    def clause(self) -> ColumnElement[Any]:
        """The ORDER BY term; NULL placement is only spelled out where NULLs can occur."""
        ordered = self.column.desc() if self.descending else self.column.asc()
        if not self.nullable:
            return ordered  # type: ignore[no-any-return]
        return ordered.nulls_first() if self.nulls_first else ordered.nulls_last()  # type: ignore[no-any-return]

    def reversed(self) -> SortKey:
        """The same key read backwards (for the page before a cursor)."""
        return replace(self, descending=not self.descending, nulls_first=not self.nulls_first)


def clause_of(column: Any) -> ColumnElement[Any]:
    return column.__clause_element__() if hasattr(column, "__clause_element__") else column  # type: ignore[no-any-return]


def sort_dtos(sort: SortSpec) -> list[SortDTO]:
    """``sort`` as a list: None, one SortDTO or a sequence of them; anything else is InvalidArgumentError."""
    if sort is None:
        return []
    if isinstance(sort, SortDTO):
        return [sort]
    if isinstance(sort, str | bytes) or not isinstance(sort, Sequence):
        raise InvalidArgumentError(f"sort must be a SortDTO or a list of SortDTO, got {type(sort).__name__}")
    items = list(sort)
    for item in items:
        if not isinstance(item, SortDTO):
            raise InvalidArgumentError(f"sort must be a list of SortDTO, got an item of type {type(item).__name__}")
    return items


def user_keys(entity: type[Any], query: Select[Any], sort: SortSpec) -> list[SortKey]:
    """The caller's keys, names validated against ``entity``; a column sorted twice is InvalidArgumentError."""
    joined = unjoined_froms(query) is None
    keys: list[SortKey] = []
    for dto in sort_dtos(sort):
        column = column_of(entity, dto.field) if isinstance(dto.field, str) else dto.field
        descending = dto.order == SortOrderType.DESCENDING
        nulls_first = descending if dto.nulls is None else dto.nulls == NullsOrderType.FIRST
        key = SortKey(column, descending, nulls_first, _may_be_null(clause_of(column), joined))
        if any(existing.element.compare(key.element) for existing in keys):
            raise InvalidArgumentError(f"sort names {dto.field!s} twice", details={"field": str(dto.field)})
        keys.append(key)
    return keys


def sort_keys(entity: type[Any], query: Select[Any], sort: SortSpec) -> tuple[list[SortKey], bool]:
    """The caller's keys then the tie-breakers, and whether that order is total (identifies every row).

    Sorting one table by a unique NOT NULL column is already total: nothing is appended (and the
    database can walk the column's index without an extra sort step).
    """
    keys = user_keys(entity, query, sort)
    froms = unjoined_froms(query) or []
    if len(froms) == 1 and any(
        is_unique_key(key.element) and froms[0].c.corresponding_column(key.element) is not None for key in keys
    ):
        return keys, True
    breakers = tie_breakers(query)
    joined = unjoined_froms(query) is None
    for column in breakers:
        if not any(key.element.compare(column) for key in keys):
            keys.append(SortKey(column, nullable=_may_be_null(column, joined)))
    return keys, bool(breakers)


def _may_be_null(column: Any, joined: bool) -> bool:
    """Whether NULLs can show up in ``column``: always possible in a join (it may be an outer one)."""
    return joined or not (isinstance(column, Column) and not column.nullable)


def tie_breakers(query: Select[Any]) -> list[Any]:
    """Expressions that make any order total: what identifies a row of ``query``.

    The primary keys of every table selected from (all of them for a join); for GROUP BY the
    grouping keys and for DISTINCT the selected columns, the only ones those queries may order by.
    """
    if compat.group_by_clauses(query):
        return list(compat.group_by_clauses(query))
    if compat.is_distinct(query):
        return [] if compat.distinct_on(query) else list(query.selected_columns)
    froms = unjoined_froms(query)
    if froms is None:
        froms = query.get_final_froms()
    return [column for from_ in froms for column in from_.primary_key]


def unjoined_froms(query: Select[Any]) -> Sequence[FromClause] | None:
    """What ``query`` selects from when it has no joins or explicit FROM (cheap; get_final_froms() compiles)."""
    if compat.has_joins_or_explicit_from(query):
        return None
    return query.columns_clause_froms


def is_unique_key(column: Any) -> bool:
    """A NOT NULL column with a unique constraint or index of its own (NULLs may repeat in a unique one)."""
    if not isinstance(column, Column) or column.nullable or not isinstance(column.table, Table):
        return False
    if column.unique:
        return True
    table = column.table
    unique_keys: list[Any] = [
        *(c for c in table.constraints if isinstance(c, PrimaryKeyConstraint | UniqueConstraint)),
        *(index for index in table.indexes if index.unique),
    ]
    return any([key_column.key for key_column in key.columns] == [column.key] for key in unique_keys)


def apply_sorting(entity: type[Any], query: Select[Any], sort_info: SortSpec) -> Select[Any]:
    """Order by ``sort_info`` (one key or several), then by what identifies a row, so pages never overlap."""
    if not sort_dtos(sort_info):
        return query
    keys, _total = sort_keys(entity, query, sort_info)
    return query.order_by(*(key.clause() for key in keys))


def apply_stable_order(query: Select[Any]) -> Select[Any]:
    """Append what identifies a row to the ORDER BY, so LIMIT/OFFSET pages are repeatable."""
    return query.order_by(*tie_breakers(query))
