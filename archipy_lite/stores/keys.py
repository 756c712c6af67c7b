"""Primary keys for store methods: any column type, composite keys included.

A key is given as the value itself (one-column keys), a tuple or list in primary-key column order,
or a mapping of attribute names to values. Each value must be of its column's Python type; a UUID
column also takes the text of a UUID. Anything else is an ``InvalidArgumentError`` naming the
column, raised before any SQL is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_

from archipy_lite.adapters.base.sqlalchemy.query_building import mapper_of
from archipy_lite.models.errors import InvalidArgumentError, NotFoundError

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Key:
    """A checked primary key of ``model``: attribute names and values in key order."""

    model: type[Any]
    names: tuple[str, ...]
    values: tuple[Any, ...]

    def condition(self) -> ColumnElement[bool]:
        """``pk1 = v1 AND pk2 = v2 ...``"""
        return and_(*(getattr(self.model, name) == value for name, value in zip(self.names, self.values, strict=True)))

    @property
    def identity(self) -> Any:
        """What ``Session.get`` and ``identity_key`` take: the value, or the tuple of values."""
        return self.values[0] if len(self.values) == 1 else self.values

    def describe(self) -> str:
        if len(self.values) == 1:
            return str(self.values[0])
        return "(" + ", ".join(f"{name}={value}" for name, value in zip(self.names, self.values, strict=True)) + ")"

    def not_found(self) -> NotFoundError:
        details: dict[str, Any] = {name: str(value) for name, value in zip(self.names, self.values, strict=True)}
        return NotFoundError(f"{self.model.__name__} {self.describe()} does not exist", details=details)


def key_names(model: type[Any]) -> tuple[str, ...]:
    """Attribute names of ``model``'s primary-key columns, in key order."""
    mapper = mapper_of(model)
    return tuple(mapper.get_property_by_column(column).key for column in mapper.primary_key)


def key_of(model: type[Any], key: Any) -> Key:
    """Check ``key`` against ``model``'s primary key.

    Raises:
        InvalidArgumentError: for a value of the wrong type, or the wrong number of values.
    """
    names = key_names(model)
    values = _split(model, names, key)
    columns = mapper_of(model).primary_key
    checked = (_coerce(model, name, column, value) for name, column, value in zip(names, columns, values, strict=True))
    return Key(model, names, tuple(checked))


def give_key(model: type[Any], key: Any, entity: Any) -> tuple[str, ...]:
    """Set ``key`` as ``entity``'s primary key (for ``replace``); return the key's attribute names."""
    checked = key_of(model, key)
    for name, value in zip(checked.names, checked.values, strict=True):
        setattr(entity, name, value)
    return checked.names


def _split(model: type[Any], names: tuple[str, ...], key: Any) -> tuple[Any, ...]:
    if isinstance(key, Mapping):
        if set(key) != set(names):
            raise InvalidArgumentError(
                f"A {model.__name__} key needs exactly {', '.join(names)}, got {', '.join(map(str, key)) or 'nothing'}",
                details={"fields": list(names)},
            )
        return tuple(key[name] for name in names)
    if isinstance(key, tuple | list):
        if len(key) != len(names):
            raise InvalidArgumentError(
                f"A {model.__name__} key has {len(names)} part(s) ({', '.join(names)}), got {len(key)}",
                details={"fields": list(names)},
            )
        return tuple(key)
    if len(names) != 1:
        raise InvalidArgumentError(
            f"{model.__name__} has a composite key: give ({', '.join(names)}) as a tuple or a mapping",
            details={"fields": list(names)},
        )
    return (key,)


def _python_type(column: Any) -> type[Any] | None:
    try:
        python_type: type[Any] = column.type.python_type
    except NotImplementedError:
        return None
    return python_type


def _coerce(model: type[Any], name: str, column: Any, value: Any) -> Any:
    expected = _python_type(column)
    if expected is UUID:
        if isinstance(value, UUID):
            return value
        try:
            return UUID(value) if isinstance(value, str) else _refuse(value)
        except (ValueError, TypeError):
            raise InvalidArgumentError(f"{value!r} is not a valid UUID", details={"field": name}) from None
    wrong = value is None or (expected is not None and not isinstance(value, expected))
    if expected is int and isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX:
        raise InvalidArgumentError(
            f"{model.__name__}.{name} is an integer key, and {value} is beyond any database integer (64 bits)",
            details={"field": name},
        )
    if expected is date and isinstance(value, datetime):
        wrong = True  # a datetime is a date to Python, not to the databases (which disagree on matching it)
    if wrong or (expected is int and isinstance(value, bool)):
        kind = expected.__name__ if expected is not None else "a value"
        raise InvalidArgumentError(
            f"{model.__name__}.{name} is a {kind} key, got {type(value).__name__} {value!r}",
            details={"field": name},
        )
    return value


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)
