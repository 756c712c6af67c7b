"""Entities as plain rows for fast bulk paths (batched INSERT, COPY) that bypass the unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Column, Table
from sqlalchemy.orm import Session, make_transient_to_detached

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


def rows_for_insert(entities: Sequence[Any]) -> tuple[Table, list[dict[str, Any]]] | None:
    """The table and column-keyed rows for ``entities`` of one mapped class, defaults filled in on rows and objects.

    Returns None when a fast path would lose information the unit of work handles: mixed classes,
    relationship values set on the objects, or server-generated values the objects would miss.
    """
    mapper = mapper_of(type(entities[0]))
    if mapper.inherits is not None or len(mapper.tables) != 1:
        return None  # inheritance spreads a row over several tables: leave it to the unit of work
    if any(type(entity) is not mapper.class_ for entity in entities):
        return None
    relationship_keys = [relationship.key for relationship in mapper.relationships]
    attributes = [(attribute.key, cast("Column[Any]", attribute.columns[0])) for attribute in mapper.column_attrs]
    rows = []
    for entity in entities:
        state = entity.__dict__
        if any(key in state for key in relationship_keys):
            return None
        values: dict[str, Any] = {}
        for key, column in attributes:
            value = state.get(key)
            if value is None:
                known, value = _python_default(column)
                if known:
                    setattr(entity, key, value)
                elif column.server_default is not None or column.primary_key:
                    return None  # the database generates it: only the unit of work reads it back
            values[column.key] = value
        rows.append(values)
    return cast(Table, mapper.local_table), rows


def attach_inserted(session: Session, entities: Sequence[Any]) -> None:
    """Make objects whose rows were just inserted outside the unit of work persistent in ``session``.

    No SQL is emitted: the objects already hold every column value.
    """
    for entity in entities:
        make_transient_to_detached(entity)
    session.add_all(entities)
