"""Progress reports for long loads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadProgress:
    """How far loading one source into one table has got."""

    table: str
    source: str
    rows: int  # rows read from the source so far
    done: bool  # True once, after the source's last row was inserted


ProgressCallback = Callable[[LoadProgress], None]
