"""Where CSV text comes from (a path or an open file), and defaults for columns a file lacks."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Table

from archipy_lite.models.errors import InvalidArgumentError

CsvSource = str | os.PathLike[str] | IO[str] | IO[bytes]


def is_file_object(source: object) -> bool:
    """An open file, ``io.StringIO`` or ``io.BytesIO`` (anything with ``read``), as opposed to a path."""
    return callable(getattr(source, "read", None))


def label(source: CsvSource) -> str:
    """How error messages name the source: the path, the file's name, or ``<stream>``."""
    if not is_file_object(source):
        return os.fspath(source)  # type: ignore[arg-type]
    name = getattr(source, "name", None)
    return name if isinstance(name, str) and name else "<stream>"


def table_name(source: CsvSource) -> str:
    """The table a source loads into when none is named: the file's stem.

    Raises:
        InvalidArgumentError: for a stream without a file name (give ``table=``).
    """
    name = label(source)
    if name == "<stream>":
        raise InvalidArgumentError("Name the table for a CSV stream: load_csv(stream, table=...)")
    return Path(name).stem


@contextmanager
def opened(source: CsvSource, encoding: str) -> Iterator[IO[str]]:
    """Text to read CSV from; a caller's file object is used as it is and left open.

    UTF-8 also reads a file that starts with a byte order mark (as spreadsheet programs write them).
    """
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    if not is_file_object(source):
        with open(os.fspath(source), newline="", encoding=encoding) as handle:  # type: ignore[arg-type]
            yield handle
        return
    if isinstance(source, io.TextIOBase) or _reads_text(source):
        yield source  # type: ignore[misc]
        return
    wrapper = io.TextIOWrapper(source, encoding=encoding, newline="")  # type: ignore[type-var]
    try:
        yield wrapper
    finally:
        wrapper.detach()  # closing the wrapper would close the caller's binary file


def _reads_text(source: Any) -> bool:
    mode = getattr(source, "mode", None)
    return isinstance(mode, str) and "b" not in mode


def check_defaults(table: Table, defaults: Mapping[str, Any] | None, source: str) -> dict[str, Any]:
    """``defaults`` keyed by column key, every name checked against ``table``'s columns."""
    if not defaults:
        return {}
    by_name = {column.name: column for column in table.columns}
    unknown = sorted(name for name in defaults if name not in by_name)
    if unknown:
        raise InvalidArgumentError(
            f"{source}: defaults name unknown columns {unknown} of table {table.name!r}",
            details={"file": source, "columns": unknown},
        )
    return {by_name[name].key: value for name, value in defaults.items()}


def default_values(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """One row's defaults: a callable default (``uuid4``) is called for every row."""
    return {key: _value(value) for key, value in defaults.items()}


def _value(value: Any | Callable[[], Any]) -> Any:
    return value() if callable(value) else value
