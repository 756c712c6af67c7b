"""Statement building shared by every adapter: filters, pagination and counting (sorting: ``sorting``).

Pure functions of their arguments: no session, no I/O. Bad input raises
``InvalidArgumentError`` before anything is sent to the database.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, bindparam, func, inspect, select
from sqlalchemy.exc import ArgumentError, NoInspectionAvailable
from sqlalchemy.orm import Mapper

from archipy_lite import compat
from archipy_lite.models.dtos.pagination_dto import OffsetPaginationDTO, PaginationDTO
from archipy_lite.models.errors import InvalidArgumentError
from archipy_lite.models.types.base_types import FilterOperationType

T = TypeVar("T", bound=Any)
Window = PaginationDTO | OffsetPaginationDTO  # a page of rows at an offset
LIKE_ESCAPE = "\\"


def mapper_of(entity: type[Any]) -> Mapper[Any]:
    """The ORM mapper of ``entity``, or InvalidArgumentError when it is not a mapped class."""
    try:
        mapper = inspect(entity)
    except NoInspectionAvailable:
        raise InvalidArgumentError(f"{entity!r} is not a mapped entity class") from None
    if not isinstance(mapper, Mapper):
        raise InvalidArgumentError(f"{entity!r} is not a mapped entity class")
    return mapper


_LOADERS_WITH_OWN_STATEMENT = frozenset({"selectin", "subquery", "immediate"})


@lru_cache(maxsize=512)
def loads_in_one_statement(mapper: Mapper[Any]) -> bool:
    """Whether loading objects of ``mapper`` takes a single SELECT.

    Eager loaders that run their own query (selectin, subquery, immediate), also behind joined
    relationships, and selectin-loaded subclasses each add a statement.
    """
    pending, seen = [mapper], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        if any(getattr(sub, "polymorphic_load", None) == "selectin" for sub in current.self_and_descendants):
            return False
        for relationship in current.relationships:
            if relationship.lazy in _LOADERS_WITH_OWN_STATEMENT:
                return False
            if relationship.lazy == "joined":
                pending.append(relationship.mapper)
    return True


LOOKUP_KEY = "archipy_lookup_key"


@lru_cache(maxsize=512)
def lookup_statement(mapper: Mapper[Any], *, refresh: bool) -> Select[Any]:
    """``SELECT entity WHERE pk = :key``, built once per entity (single-column keys).

    ``refresh``: overwrite what the session has already loaded for the row (populate_existing).
    """
    statement = select(mapper).where(mapper.primary_key[0] == bindparam(LOOKUP_KEY))
    return statement.execution_options(populate_existing=True) if refresh else statement


def inserts_alone(session: Any, entity: Any) -> bool:
    """Whether saving the new ``entity`` is exactly one INSERT (so it needs no BEGIN/COMMIT around it).

    True only for a new object of a single-table mapper with no insert hooks, whose related objects
    are all saved and unchanged, in a session with no flush hooks: anything else may add statements.
    """
    state = inspect(entity)
    mapper = state.mapper
    if not state.transient or mapper.inherits is not None or len(mapper.tables) != 1:
        return False
    if mapper.dispatch.before_insert or mapper.dispatch.after_insert:
        return False
    dispatch = session.dispatch
    if dispatch.before_flush or dispatch.after_flush or dispatch.after_flush_postexec:
        return False
    for related, *_ in mapper.cascade_iterator("save-update", state):
        related_state = inspect(related)
        if not related_state.persistent or related_state.modified:
            return False
    return True


def runs_alone(statement: Any) -> bool:
    """Whether executing ``statement`` takes exactly one round of SQL (no eager loaders with queries of their own)."""
    if not isinstance(statement, Select):
        return True  # DML, text(), DDL: one statement as sent
    if getattr(statement, "_with_options", ()):
        return False  # loader options may add queries; play safe
    for description in statement.column_descriptions:
        entity = description.get("entity")
        if entity is not None and not loads_in_one_statement(inspect(entity).mapper):
            return False
    return True


def column_of(entity: type[Any], name: str) -> ColumnElement[Any]:
    """The mapped column attribute ``name`` of ``entity``; unknown names raise InvalidArgumentError."""
    mapper = mapper_of(entity)
    if name not in mapper.column_attrs:
        valid = ", ".join(sorted(mapper.column_attrs.keys()))
        raise InvalidArgumentError(
            f"{entity.__name__} has no column {name!r}; valid columns: {valid}",
            details={"field": name, "entity": entity.__name__},
        )
    attribute: ColumnElement[Any] = getattr(entity, name)
    return attribute


def escape_like(value: str) -> str:
    """Escape LIKE wildcards so ``value`` matches literally."""
    return value.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")


def _as_list(value: Any, operation: FilterOperationType) -> list[Any]:
    if isinstance(value, str | bytes) or not isinstance(value, Collection):
        raise InvalidArgumentError(
            f"{operation.name} needs a list of values, got {type(value).__name__}",
            details={"operation": operation.name},
        )
    return list(value)


def _as_text(value: Any, operation: FilterOperationType) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(
            f"{operation.name} needs a string, got {type(value).__name__}", details={"operation": operation.name}
        )
    return escape_like(value)


_ORDERINGS = frozenset(
    {
        FilterOperationType.LESS_THAN,
        FilterOperationType.LESS_THAN_OR_EQUAL,
        FilterOperationType.GREATER_THAN,
        FilterOperationType.GREATER_THAN_OR_EQUAL,
    }
)


def filter_condition(field: Any, value: Any, operation: FilterOperationType) -> ColumnElement[bool]:
    """The WHERE condition for one filter operation (see FilterOperationType)."""
    op = FilterOperationType(operation)
    if value is None and op in _ORDERINGS:
        raise InvalidArgumentError(
            f"{op.name} needs a value, got None; use IS_NULL or IS_NOT_NULL to match missing values",
            details={"operation": op.name},
        )
    try:
        return _condition(field, value, op)
    except ArgumentError:  # SQLAlchemy cannot build this comparison from the value given
        raise InvalidArgumentError(
            f"{op.name} cannot compare a column with a {type(value).__name__}", details={"operation": op.name}
        ) from None


def _condition(field: Any, value: Any, op: FilterOperationType) -> ColumnElement[bool]:
    match op:
        case FilterOperationType.EQUAL:
            return field == value  # type: ignore[no-any-return]
        case FilterOperationType.NOT_EQUAL:
            return field != value  # type: ignore[no-any-return]
        case FilterOperationType.LESS_THAN:
            return field < value  # type: ignore[no-any-return]
        case FilterOperationType.LESS_THAN_OR_EQUAL:
            return field <= value  # type: ignore[no-any-return]
        case FilterOperationType.GREATER_THAN:
            return field > value  # type: ignore[no-any-return]
        case FilterOperationType.GREATER_THAN_OR_EQUAL:
            return field >= value  # type: ignore[no-any-return]
        case FilterOperationType.IN_LIST:
            return field.in_(_as_list(value, op))  # type: ignore[no-any-return]
        case FilterOperationType.NOT_IN_LIST:
            return field.not_in(_as_list(value, op))  # type: ignore[no-any-return]
        case FilterOperationType.LIKE:
            return field.like(f"%{_as_text(value, op)}%", escape=LIKE_ESCAPE)  # type: ignore[no-any-return]
        case FilterOperationType.ILIKE | FilterOperationType.CONTAINS:
            return field.ilike(f"%{_as_text(value, op)}%", escape=LIKE_ESCAPE)  # type: ignore[no-any-return]
        case FilterOperationType.STARTS_WITH:
            return field.like(f"{_as_text(value, op)}%", escape=LIKE_ESCAPE)  # type: ignore[no-any-return]
        case FilterOperationType.ENDS_WITH:
            return field.like(f"%{_as_text(value, op)}", escape=LIKE_ESCAPE)  # type: ignore[no-any-return]
        case FilterOperationType.IS_NULL:
            return field.is_(None)  # type: ignore[no-any-return]
        case FilterOperationType.IS_NOT_NULL:
            return field.is_not(None)  # type: ignore[no-any-return]
    raise InvalidArgumentError(f"Unsupported filter operation {op!r}")  # pragma: no cover


def apply_filter(query: Select[Any], field: Any, value: Any, operation: FilterOperationType) -> Select[Any]:
    """Add one filter; a ``None`` value skips it, except for IS_NULL / IS_NOT_NULL."""
    op = _operation(operation)
    if value is None and op not in (FilterOperationType.IS_NULL, FilterOperationType.IS_NOT_NULL):
        return query
    if not hasattr(field, "__clause_element__") and not isinstance(field, ColumnElement):
        raise InvalidArgumentError(f"Filter field must be a column, got {type(field).__name__}")
    return query.where(filter_condition(field, value, op))


def _operation(operation: Any) -> FilterOperationType:
    try:
        return FilterOperationType(operation)
    except ValueError:
        valid = ", ".join(op.name for op in FilterOperationType)
        raise InvalidArgumentError(f"Unknown filter operation {operation!r}; valid: {valid}") from None


def apply_pagination(query: Select[Any], pagination: Window | None) -> Select[Any]:
    """Add LIMIT/OFFSET for ``pagination`` (no-op when None)."""
    if pagination is None:
        return query
    return query.limit(pagination.page_size).offset(pagination.offset)


def count_statement(query: Select[Any]) -> Select[Any]:
    """A cheap COUNT of ``query``'s rows, without ORDER BY or LIMIT.

    A plain query becomes ``SELECT count(*) FROM ... WHERE ...`` (what one writes by hand); DISTINCT,
    GROUP BY and HAVING queries are counted as a subquery, since their row count is not the table's.
    """
    base = query.order_by(None).limit(None).offset(None)
    distinct_or_grouped = bool(
        compat.is_distinct(base) or compat.group_by_clauses(base) or compat.having_criteria(base)
    )
    if not distinct_or_grouped:
        return base.with_only_columns(func.count(), maintain_column_froms=True)
    return select(func.count()).select_from(base.subquery())


def known_total(pagination: Window | None, rows_on_page: int) -> int | None:
    """The total implied by the page itself, when the page is short and not empty (no COUNT needed)."""
    if pagination is None:
        return rows_on_page
    if 0 < rows_on_page < pagination.page_size or (rows_on_page == 0 and pagination.offset == 0):
        return pagination.offset + rows_on_page
    return None
