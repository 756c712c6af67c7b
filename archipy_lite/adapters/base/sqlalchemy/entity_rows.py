"""Entities as plain rows for fast bulk paths (batched INSERT, COPY) that bypass the unit of work."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Column, Table
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state

from archipy_lite.adapters.base.sqlalchemy.query_building import mapper_of

_NO_DEFAULT = object()  # None is acceptable: the column is nullable or its default is NULL
_SERVER_DEFAULT = object()  # only the database or the unit of work can produce the value


def _needs_context(function: Any) -> bool:
    """Whether a column default callable wants SQLAlchemy's execution context.

    SQLAlchemy wraps zero-argument callables (``uuid4``, ``utc_now``) and keeps ``__wrapped__``; anything
    else may read the context, which only exists inside the unit of work.
    """
    target = getattr(function, "__wrapped__", function)
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return any(parameter.kind in positional and parameter.default is parameter.empty for parameter in parameters)


def _default_for(column: Column[Any]) -> Any:
    """What fills a None in ``column``: a zero-argument callable, or one of the markers above."""
    default = column.default
    if default is not None:
        if getattr(default, "is_scalar", False):
            value = getattr(default, "arg", None)
            return lambda: value
        function: Any = getattr(default, "arg", None)
        if getattr(default, "is_callable", False) and not _needs_context(function):
            return lambda: function(None)  # SQLAlchemy's wrapper takes the (unused) context
        return _SERVER_DEFAULT  # a SQL expression, a sequence or a context-reading function
    if column.server_default is not None or column.primary_key:
        return _SERVER_DEFAULT
    return _NO_DEFAULT


def records_for_insert(entities: Sequence[Any]) -> tuple[Table, list[str], list[list[Any]]] | None:
    """The table, its column keys and one value list per entity, defaults filled in on records and objects.

    Returns None when a fast path would lose information the unit of work handles: mixed classes,
    inheritance, objects already saved, relationship values set on the objects, or values only the
    server generates. The loop runs once per row of a bulk load, so it is kept lean.
    """
    mapper = mapper_of(type(entities[0]))
    if mapper.inherits is not None or len(mapper.tables) != 1:
        return None  # inheritance spreads a row over several tables: leave it to the unit of work
    cls = mapper.class_
    relationship_keys = frozenset(relationship.key for relationship in mapper.relationships)
    columns = [cast("Column[Any]", attribute.columns[0]) for attribute in mapper.column_attrs]
    keys = [attribute.key for attribute in mapper.column_attrs]
    defaults = [_default_for(column) for column in columns]
    records = []
    for entity in entities:
        if type(entity) is not cls:
            return None
        state = instance_state(entity)
        if state.key is not None or state.session_id is not None:
            return None  # saved or pending already: the unit of work knows what to do with it
        values_by_key = state.dict
        if relationship_keys and not relationship_keys.isdisjoint(values_by_key):
            return None
        values = list(map(values_by_key.get, keys))
        if None in values:
            for index, value in enumerate(values):
                default = defaults[index]
                if value is not None or default is _NO_DEFAULT:
                    continue
                if default is _SERVER_DEFAULT:
                    return None
                value = default()
                setattr(entity, keys[index], value)
                values[index] = value
        records.append(values)
    return cast(Table, mapper.local_table), [column.key for column in columns], records


def give_identity(entities: Sequence[Any]) -> None:
    """Mark objects whose rows were just inserted outside the unit of work as saved (detached, with
    their identity), as a flush would. No SQL is emitted: the objects already hold every column value."""
    for entity in entities:
        make_transient_to_detached(entity)
