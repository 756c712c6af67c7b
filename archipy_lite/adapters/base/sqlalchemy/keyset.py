"""Keyset pagination: a page starts strictly after (or before) a row's sort values, never at an OFFSET.

``Keyset`` resolves a query and its sort into sort keys once; ``fetch`` then reads the rows after
given key values. A page costs what its rows cost, however deep it is, and rows inserted or
deleted between pages shift nothing: every row present throughout is read exactly once.
"""

from __future__ import annotations

import operator
from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Dialect, Select, and_, literal, or_, tuple_
from sqlalchemy.orm import Session

from archipy_lite import compat
from archipy_lite.adapters.base.sqlalchemy.cursors import fingerprint_of
from archipy_lite.adapters.base.sqlalchemy.query_building import runs_alone
from archipy_lite.adapters.base.sqlalchemy.sorting import SortKey, sort_keys
from archipy_lite.models.dtos.sort_dto import SortSpec
from archipy_lite.models.errors import InvalidArgumentError

_LABEL = "_archipy_key_{}"
_compiled_sql: dict[Hashable, str] = {}
_MAX_COMPILED = 1000


class Batch(NamedTuple):
    """Fetched rows: the items the caller asked for, and the raw rows that end with their sort values."""

    items: list[Any]
    rows: Sequence[Any]
    width: int

    def values(self, index: int) -> tuple[Any, ...]:
        """The sort values of item ``index`` (read only where a cursor or the next batch needs them)."""
        return tuple(self.rows[index][self.width :])

    def __len__(self) -> int:
        return len(self.items)


class Keyset:
    """``query`` ordered by ``sort`` then by what identifies a row, ready to be read page by page."""

    def __init__(self, entity: type[Any], query: Select[Any], sort: SortSpec, *, whole_rows: bool = False) -> None:
        if not isinstance(query, Select):
            raise InvalidArgumentError(f"query must be a select() statement, got {type(query).__name__}")
        if query._order_by_clauses:
            raise InvalidArgumentError(
                "Keyset pagination orders the rows itself: give the order as sort_info, not as the query's ORDER BY"
            )
        keys, total = sort_keys(entity, query, sort)
        if not total:
            raise InvalidArgumentError(
                "Keyset pagination needs an order that identifies every row: add a unique column to the sort"
            )
        self.keys = keys
        self.whole_rows = whole_rows
        self._width = len(query.column_descriptions)
        self._grouped = bool(compat.group_by_clauses(query))
        self._query = query.add_columns(*(key.column.label(_LABEL.format(i)) for i, key in enumerate(keys)))
        #: Whether a page is one statement (no eager loader queries of its own): no BEGIN/COMMIT needed.
        self.runs_alone = runs_alone(self._query)

    def fingerprint(self, dialect: Dialect) -> str:
        """What a cursor of this search must match: its SQL, its parameter values and its sort."""
        statement = self._ordered(self.keys)
        cache_key = statement._generate_cache_key()
        if cache_key is None:  # a construct SQLAlchemy cannot cache: compile it each time
            compiled = statement.compile(dialect=dialect)
            params = [(compiled.binds[name].expanding, value) for name, value in compiled.params.items()]
            return fingerprint_of(compiled.string + _stable(params))
        sql_key = (dialect.name, cache_key.key)
        sql = _compiled_sql.get(sql_key)
        if sql is None:
            if len(_compiled_sql) >= _MAX_COMPILED:
                _compiled_sql.clear()
            sql = _compiled_sql[sql_key] = str(statement.compile(dialect=dialect))
        return fingerprint_of(
            sql + _stable([(param.expanding, param.effective_value) for param in cache_key.bindparams])
        )

    def fetch(
        self,
        session: Session,
        values: Sequence[Any] | None,
        *,
        backwards: bool = False,
        limit: int,
        execution_options: dict[str, Any] | None = None,
    ) -> Batch:
        """Up to ``limit`` rows after ``values`` (before them, nearest first, when ``backwards``).

        No values: from the first row (the last one when ``backwards``).
        """
        keys = [key.reversed() for key in self.keys] if backwards else self.keys
        statement = self._ordered(keys)
        if values:
            condition = rows_after(keys, values)
            if condition is None:
                return Batch([], [], self._width)
            statement = statement.having(condition) if self._grouped else statement.where(condition)
        result = session.execute(statement.limit(limit), execution_options=execution_options or {})
        if not self.whole_rows:
            rows = result.all()
            return Batch([row[0] for row in rows], rows, self._width)
        frozen = result.freeze()  # twice: rows without the sort values (names kept), and all columns
        return Batch(list(frozen().columns(*range(self._width)).all()), frozen().all(), self._width)

    def _ordered(self, keys: list[SortKey]) -> Select[Any]:
        return self._query.order_by(*(key.clause() for key in keys))


def rows_after(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool] | None:
    """The condition for rows strictly after ``values`` in the order of ``keys``; None when none can be.

    One row comparison ``(a, b) > (x, y)`` when every key runs the same way and no NULL can come
    after the values (what an index on the keys serves directly); otherwise ``a > x OR (a = x AND
    (b > y OR ...))`` with NULLs placed as each key says, led by ``a >= x`` where that holds.
    """
    if len(keys) != len(values):  # pragma: no cover - cursors are checked for arity
        raise InvalidArgumentError("The cursor does not match this search's sort")
    values = [_comparable(key, value) for key, value in zip(keys, values, strict=True)]
    if _one_row_comparison(keys, values):
        compare = operator.lt if keys[0].descending else operator.gt
        bound = (
            v if isinstance(v, ColumnElement) else literal(v, key.element.type)
            for key, v in zip(keys, values, strict=True)
        )
        return compare(tuple_(*(key.column for key in keys)), tuple_(*bound))  # type: ignore[no-any-return]
    condition: ColumnElement[bool] | None = None
    for key, value in reversed(list(zip(keys, values, strict=True))):
        beyond = _beyond(key, value)
        tied = None if condition is None else and_(_same(key, value), condition)
        parts = [part for part in (beyond, tied) if part is not None]
        condition = None if not parts else parts[0] if len(parts) == 1 else or_(*parts)
    first, value = keys[0], values[0]
    if condition is not None and len(keys) > 1 and value is not None and _nulls_before(first):
        bound = first.column <= value if first.descending else first.column >= value
        condition = and_(bound, condition)
    return condition


def _comparable(key: SortKey, value: Any) -> Any:
    """``value`` as something ``<`` and ``>`` accept: SQLAlchemy refuses them next to a bare True or False."""
    return literal(value, key.element.type) if isinstance(value, bool) else value


def _one_row_comparison(keys: Sequence[SortKey], values: Sequence[Any]) -> bool:
    same_way = len({key.descending for key in keys}) == 1
    return same_way and all(value is not None and _nulls_before(key) for key, value in zip(keys, values, strict=True))


def _nulls_before(key: SortKey) -> bool:
    """No NULL of this key sorts after a value (none can occur, or they come first)."""
    return not key.nullable or key.nulls_first


def _beyond(key: SortKey, value: Any) -> ColumnElement[bool] | None:
    """Rows whose ``key`` sorts strictly after ``value`` (None: no row can)."""
    if value is None:
        return key.column.is_not(None) if key.nulls_first else None
    beyond: ColumnElement[bool] = key.column < value if key.descending else key.column > value
    return beyond if _nulls_before(key) else or_(beyond, key.column.is_(None))


def _same(key: SortKey, value: Any) -> ColumnElement[bool]:
    return key.column.is_(None) if value is None else key.column == value  # type: ignore[no-any-return]


def _stable(params: list[tuple[bool, Any]]) -> str:
    """Parameter values as text that is the same in every process.

    The order of an IN list (an expanding parameter) and of a set means nothing, and a set's order
    differs between processes: those are sorted. Any other list (an ARRAY or JSON value) keeps its order.
    """
    return repr(
        [
            sorted(map(repr, value))
            if isinstance(value, set | frozenset) or (expanding and isinstance(value, list | tuple))
            else value
            for expanding, value in params
        ]
    )
