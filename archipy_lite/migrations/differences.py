"""One readable line per difference Alembic's ``compare_metadata`` finds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def describe(differences: Iterable[Any]) -> list[str]:
    """Flatten Alembic's diff tuples (column changes come as nested lists) into sentences."""
    lines: list[str] = []
    for difference in differences:
        if isinstance(difference, list):
            lines.extend(describe(difference))
        else:
            lines.append(_sentence(tuple(difference)))
    return lines


def _named(obj: Any) -> str:
    table = getattr(obj, "table", None)
    name = getattr(obj, "name", None) or "(unnamed)"
    return f"{name} on {table.name}" if table is not None and hasattr(table, "name") else str(name)


def _sentence(difference: tuple[Any, ...]) -> str:
    action, *rest = difference
    verb, _, what = str(action).partition("_")
    if what == "table" and rest:
        return f"{verb} table {rest[0].name}"
    if what == "column" and len(rest) >= 3:
        return f"{verb} column {rest[1]}.{rest[2].name}"
    if what in {"index", "constraint", "fk"} and rest:
        kind = {"fk": "foreign key"}.get(what, what)
        return f"{verb} {kind} {_named(rest[0])}"
    if verb == "modify" and len(rest) >= 6:
        _schema, table, column, _existing, old, new = rest[:6]
        return f"change {what} of {table}.{column}: {old!r} -> {new!r}"
    return " ".join(str(part) for part in difference)
