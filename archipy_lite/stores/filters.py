"""Turning a store's search arguments into WHERE conditions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement

from archipy_lite.adapters.base.sqlalchemy.query_building import column_of, filter_condition
from archipy_lite.models.entities.sqlalchemy.base_entities import DeletableEntity
from archipy_lite.models.errors import InvalidArgumentError
from archipy_lite.models.types.base_types import FilterOperationType

# {"username": "ann"} means equality; ("full_name", FilterOperationType.ILIKE, "an") is explicit.
FilterSpec = Mapping[str, Any] | Sequence[tuple[str, FilterOperationType | str, Any]]


def _from_spec(model: type[Any], filters: FilterSpec | None) -> list[ColumnElement[bool]]:
    if not filters:
        return []
    if isinstance(filters, Mapping):
        return [column_of(model, name) == value for name, value in filters.items()]
    conditions = []
    for item in filters:
        if not isinstance(item, tuple) or len(item) != 3:
            raise InvalidArgumentError("filters must be a mapping or (field, operation, value) tuples")
        name, operation, value = item
        try:
            op = FilterOperationType(operation)
        except ValueError:
            raise InvalidArgumentError(f"Unknown filter operation {operation!r}") from None
        conditions.append(filter_condition(column_of(model, name), value, op))
    return conditions


def search_conditions(
    model: type[Any],
    criteria: Iterable[ColumnElement[bool]],
    filters: FilterSpec | None,
    auto_filters: Mapping[str, Any],
    auto_filter_fields: Sequence[str],
    include_deleted: bool,
) -> list[ColumnElement[bool]]:
    """All conditions of a search: raw criteria, ``filters``, keyword auto-filters and soft-delete hiding."""
    unknown = sorted(set(auto_filters) - set(auto_filter_fields))
    if unknown:
        allowed = ", ".join(auto_filter_fields) or "none"
        raise InvalidArgumentError(
            f"{model.__name__} store cannot filter by {', '.join(unknown)}; auto_filter_fields: {allowed}",
            details={"fields": unknown},
        )
    conditions = list(criteria)
    conditions += _from_spec(model, filters)
    conditions += [column_of(model, name) == value for name, value in auto_filters.items() if value is not None]
    if not include_deleted and issubclass(model, DeletableEntity):
        conditions.append(model.is_deleted.is_(False))
    return conditions
