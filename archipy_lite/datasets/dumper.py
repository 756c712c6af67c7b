"""Writing a data set, or any query, to CSV; ``DataSetBuilder.load_directory`` reads it back.

Rows stream from the database (``yield_per``), so dumping never holds a table in
memory. NULL is written as an empty field, booleans as ``true``/``false``, dates
and times in ISO 8601, bytes as hex and JSON as JSON text. An empty string in a
nullable column therefore reads back as NULL.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Select, select

from archipy_lite.adapters.base.sqlalchemy.operations import operation_scope
from archipy_lite.adapters.base.sqlalchemy.ports import SQLAlchemyPort
from archipy_lite.datasets.builder import PathLike, as_dataset
from archipy_lite.datasets.dataset import DataSet, DataSetBase
from archipy_lite.models.errors import InvalidArgumentError


def format_value(value: Any) -> str:
    """One value as CSV text (the inverse of the builder's conversion)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _rows(port: SQLAlchemyPort, statement: Select[Any], batch_size: int) -> Iterator[list[str]]:
    """The header, then each row formatted, streamed ``batch_size`` rows at a time."""
    session = port.get_session()
    with operation_scope(session):
        # A Core execution returns columns even for select(Model), never ORM objects.
        result = session.connection().execute(statement.execution_options(yield_per=batch_size))
        try:
            yield list(result.keys())
            for row in result:
                yield [format_value(value) for value in row]
        finally:
            result.close()


def _write(rows: Iterable[list[str]], destination: PathLike | IO[str]) -> int:
    if isinstance(destination, str | os.PathLike):
        with open(destination, "w", newline="", encoding="utf-8") as handle:
            return _write(rows, handle)
    writer = csv.writer(destination, lineterminator="\n")
    count = -1  # the header is not a row
    for row in rows:
        writer.writerow(row)
        count += 1
    return max(count, 0)


def dump_query(
    port: SQLAlchemyPort, statement: Select[Any], destination: PathLike | IO[str], *, batch_size: int = 1000
) -> int:
    """Write ``statement``'s rows (with a header of its column names) as CSV; returns rows written."""
    if not isinstance(statement, Select):
        raise InvalidArgumentError(f"dump_query needs a select() statement, got {type(statement).__name__}")
    return _write(_rows(port, statement, batch_size), destination)


def dump_dataset(
    dataset: DataSet | type[DataSetBase],
    directory: PathLike,
    *,
    port: SQLAlchemyPort | None = None,
    batch_size: int = 1000,
) -> dict[str, int]:
    """Write every table of ``dataset`` to ``directory/<table>.csv`` in primary-key order; rows per table."""
    found = as_dataset(dataset)
    reader = port if port is not None else found.adapter()
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    counts = {}
    for table in found.metadata.sorted_tables:
        statement = select(table).order_by(*table.primary_key.columns)
        counts[table.name] = dump_query(reader, statement, target / f"{table.name}.csv", batch_size=batch_size)
    return counts
