"""Helpers every workload uses: slicing a workload into parts, and what variants must agree on."""

from __future__ import annotations

import itertools
from typing import Any

from benchmarks.schema import TABLE, key, row

SELECT_ONE = f"SELECT uuid, username, email, full_name FROM {TABLE.name} WHERE uuid = %s"
SLICES = 10  # parts per round that the variants take turns on (see timing.measure)
_prefixes = itertools.count()


def slice_of(items: list[Any], part: int, slices: int) -> list[Any]:
    size = -(-len(items) // slices)
    return items[part * size : (part + 1) * size]


def keys(items: list[Any]) -> list[tuple[Any, ...]]:
    return [key(item) for item in items]


def raw_key(record: Any) -> tuple[Any, ...]:
    return (str(record[0]), record[1], record[2], record[3])


def fresh_prefix() -> str:
    """A username/uuid prefix never used before in this process (rows inserted by a variant stay unique)."""
    return f"c{next(_prefixes)}_"


def fresh_rows(count: int) -> list[dict[str, Any]]:
    """The payloads of ``count`` new users, as a request would carry them."""
    prefix = fresh_prefix()
    return [row(index, prefix) for index in range(count)]
