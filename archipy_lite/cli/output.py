"""Aligned, plain-text output for the command line."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import TextIO


class Printer:
    """Writes headings, key/value lines and tables with aligned columns."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def line(self, text: str = "") -> None:
        print(text, file=self.stream)

    def heading(self, text: str) -> None:
        self.line()
        self.line(text)
        self.line("-" * len(text))

    def pairs(self, items: Iterable[tuple[str, object]]) -> None:
        rows = [(key, "" if value is None else str(value)) for key, value in items]
        width = max((len(key) for key, _ in rows), default=0)
        for key, value in rows:
            self.line(f"  {key.ljust(width)}  {value}")

    def table(self, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        cells = [[str(cell) for cell in header]] + [[str(cell) for cell in row] for row in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
        for index, row in enumerate(cells):
            self.line("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
            if index == 0:
                self.line("  " + "  ".join("-" * width for width in widths))
