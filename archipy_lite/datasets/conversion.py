"""Text to typed values by column type, for loading CSV files and string-valued rows.

Empty text means NULL in a nullable column; a NOT NULL column falls back to its
Python default, an autoincrement key to the next rowid, a string column to ``""``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Time,
    Uuid,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from archipy_lite.models.errors import InvalidArgumentError

_TRUE = frozenset({"true", "t", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off"})


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected true/false, 1/0 or yes/no")


def _integer(text: str) -> int:
    stripped = text.strip()
    if not stripped.lstrip("+-").isdigit():
        raise ValueError("expected a whole number")
    return int(stripped)


def _decimal(text: str) -> Decimal:
    value = Decimal(text.strip())
    if not value.is_finite():
        raise ValueError("expected a finite number")
    return value


def _stripped(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    return lambda text: parse(text.strip())


# Checked in order: subclasses (Float < Numeric, Enum < String) come first.
_PARSERS: list[tuple[type[TypeEngine[Any]], Callable[[str], Any], str]] = [
    (Boolean, _boolean, "a boolean (true/false, 1/0, yes/no)"),
    (Integer, _integer, "an integer"),
    (Float, _stripped(float), "a number"),
    (Numeric, _decimal, "a decimal number"),
    (DateTime, _stripped(datetime.fromisoformat), "an ISO 8601 date-time"),
    (Date, _stripped(date.fromisoformat), "an ISO 8601 date"),
    (Time, _stripped(time.fromisoformat), "an ISO 8601 time"),
    (Uuid, _stripped(UUID), "a UUID"),
    (JSON, json.loads, "JSON"),
    (LargeBinary, _stripped(bytes.fromhex), "hexadecimal bytes"),
]


def _base_type(column: Column[Any]) -> TypeEngine[Any]:
    type_: TypeEngine[Any] = column.type
    while isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    return type_


class ColumnConverter:
    """Turns one column's text into the value to insert."""

    def __init__(self, column: Column[Any]) -> None:
        self.column = column
        type_ = _base_type(column)
        self.parse: Callable[[str], Any] = str
        self.expected = "text"
        if isinstance(type_, Enum):
            self.parse, self.expected = _enum_parser(type_), f"one of {', '.join(type_.enums)}"
        elif not isinstance(type_, String):
            for kind, parse, expected in _PARSERS:
                if isinstance(type_, kind):
                    self.parse, self.expected = parse, expected
                    break
        self.is_text = self.parse is str

    def empty_value(self) -> Any:
        """The value an empty field stands for; ValueError when the column cannot take one."""
        column = self.column
        if column.nullable:
            return None
        default: Any = column.default
        if default is not None and default.is_scalar:
            return default.arg
        if default is not None and default.is_callable:
            return default.arg(None)  # SQLAlchemy wraps zero-argument callables to take a context
        if column.primary_key and column.autoincrement in (True, "auto") and isinstance(_base_type(column), Integer):
            return None  # SQLite assigns the next rowid
        if self.is_text:
            return ""
        raise ValueError("the column is NOT NULL and has no default, but the value is empty")

    def convert(self, value: Any) -> Any:
        """``value`` ready to insert: strings are parsed, other values pass through.

        Raises:
            ValueError: when the value does not fit the column (the message says what was expected).
        """
        if value is None:
            return self.empty_value()
        if not isinstance(value, str):
            return value
        if value == "" or (not self.is_text and not value.strip()):
            return self.empty_value()
        try:
            return self.parse(value)
        except (ValueError, ArithmeticError, TypeError) as exc:
            raise ValueError(f"expected {self.expected}") from exc


def _enum_parser(type_: Enum) -> Callable[[str], str]:
    allowed = frozenset(type_.enums)

    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError("not an allowed value")
        return text

    return parse


def conversion_error(
    source: str, line: int, column: str, value: Any, reason: str, *, unit: str = "line"
) -> InvalidArgumentError:
    """The error for a value that cannot be loaded, naming file, line (or row) and column."""
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return InvalidArgumentError(
        f"{source}, {unit} {line}, column {column!r}: cannot load {shown}: {reason}",
        details={"file": source, "line": line, "column": column},
    )
