"""Entities as plain rows for fast bulk paths (batched INSERT, COPY) that bypass the unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Column, Table
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state

from archipy_lite.adapters.base.sqlalchemy.query_building import mapper_of


def _python_default(column: Column[Any]) -> tuple[bool, Any]:
    """Evaluate a column's client-side default; (False, None) when there is none usable here."""
    default = column.default
    if default is None:
        return False, None
    if getattr(default, "is_scalar", False):
        return True, getattr(default, "arg", None)
    if getattr(default, "is_callable", False):
        try:
            return True, default.arg(None)  # type: ignore[attr-defined]  # SQLAlchemy wraps zero-arg callables
        except TypeError:
            return False, None
    return False, None


def records_for_insert(entities: Sequence[Any]) -> tuple[Table, list[str], list[list[Any]]] | None:
    """The table, its column keys and one value list per entity, defaults filled in on records and objects.

    Returns None when a fast path would lose information the unit of work handles: mixed classes,
    inheritance, objects already saved, relationship values set on the objects, or values only the
    server generates.
    """
    mapper = mapper_of(type(entities[0]))
    if mapper.inherits is not None or len(mapper.tables) != 1:
        return None  # inheritance spreads a row over several tables: leave it to the unit of work
    if any(type(entity) is not mapper.class_ for entity in entities):
        return None
    relationship_keys = [relationship.key for relationship in mapper.relationships]
    attributes = [(attribute.key, cast("Column[Any]", attribute.columns[0])) for attribute in mapper.column_attrs]
    records = []
    for entity in entities:
        if not instance_state(entity).transient:
            return None
        state = entity.__dict__
        if any(key in state for key in relationship_keys):
            return None
        values = [state.get(key) for key, _ in attributes]
        if None in values:
            for index, (key, column) in enumerate(attributes):
                if values[index] is not None:
                    continue
                known, value = _python_default(column)
                if known:
                    setattr(entity, key, value)
                    values[index] = value
                elif column.server_default is not None or column.primary_key:
                    return None  # the database generates it: only the unit of work reads it back
        records.append(values)
    return cast(Table, mapper.local_table), [column.key for _, column in attributes], records


def give_identity(entities: Sequence[Any]) -> None:
    """Mark objects whose rows were just inserted outside the unit of work as saved (detached, with
    their identity), as a flush would. No SQL is emitted: the objects already hold every column value."""
    for entity in entities:
        make_transient_to_detached(entity)
