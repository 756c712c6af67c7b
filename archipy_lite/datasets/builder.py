"""Building a data set file: bulk loads of CSV files and rows in one transaction.

Foreign keys are deferred (``PRAGMA defer_foreign_keys``), so files load in any
order; before committing, ``PRAGMA foreign_key_check`` runs and any dangling
reference raises ``ForeignKeyViolationError`` listing the rows, and nothing is
kept. Rows are inserted with ``executemany`` in batches of ``batch_size``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Executable, Result, Table, text
from sqlalchemy.engine import Connection, RootTransaction

from archipy_lite.datasets.config import MEMORY
from archipy_lite.datasets.conversion import ColumnConverter, conversion_error
from archipy_lite.datasets.csv_sources import CsvSource, check_defaults, default_values, label, opened, table_name
from archipy_lite.datasets.dataset import DataSet, DataSetBase
from archipy_lite.datasets.errors import ForeignKeyViolationError
from archipy_lite.datasets.integrity import foreign_key_violations
from archipy_lite.datasets.progress import LoadProgress, ProgressCallback
from archipy_lite.models.errors import DatabaseError, InvalidArgumentError

Target = type[Any] | Table | str
PathLike = str | os.PathLike[str]
Defaults = Mapping[str, Any]


def as_dataset(dataset: DataSet | type[DataSetBase]) -> DataSet:
    """The DataSet of a data set or of its declarative base."""
    if isinstance(dataset, DataSet):
        return dataset
    found = getattr(dataset, "dataset", None)
    if not isinstance(found, DataSet):
        raise InvalidArgumentError(f"{dataset!r} is not a DataSet or a base made by DataSet.create")
    return found


class DataSetBuilder:
    """Load rows into a data set file; use as a context manager (commit on success, else roll back).

    Args:
        dataset: the data set (or its base) whose tables are loaded.
        path: the file to build; defaults to the data set's configured path (``:memory:`` too).
        batch_size: rows per ``executemany``.
        progress: called with a ``LoadProgress`` every ``progress_every`` rows and when a source ends.
        replace: build into a temporary file and swap it in on commit (the old file stays until then).
        create_tables: create missing tables first.
    """

    def __init__(
        self,
        dataset: DataSet | type[DataSetBase],
        path: PathLike | None = None,
        *,
        batch_size: int = 5000,
        progress: ProgressCallback | None = None,
        progress_every: int = 10_000,
        replace: bool = False,
        create_tables: bool = True,
    ) -> None:
        if batch_size < 1 or progress_every < 1:
            raise InvalidArgumentError("batch_size and progress_every must be at least 1")
        self.dataset = as_dataset(dataset)
        self.path = os.fspath(path) if path is not None else self.dataset.path
        self.batch_size = batch_size
        self.progress = progress
        self.progress_every = progress_every
        self.replace = replace and self.path != MEMORY
        self.create_tables = create_tables
        self.counts: dict[str, int] = {}
        self._building = f"{self.path}.building-{os.getpid()}" if self.replace else self.path
        self._stack = ExitStack()
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise InvalidArgumentError("This builder is already open")
        if self.replace and os.path.exists(self._building):
            os.remove(self._building)
        engine = self._stack.enter_context(self.dataset.writable_engine(self._building))
        self._connection = self._stack.enter_context(engine.connect())
        self._transaction = self._connection.begin()
        self._connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        if self.create_tables:
            self.dataset.metadata.create_all(self._connection)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._transaction is None:
            return
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    @property
    def connection(self) -> Connection:
        """The open connection (inside the build transaction)."""
        if self._connection is None:
            raise InvalidArgumentError("Open the builder first: `with DataSetBuilder(...) as builder:`")
        return self._connection

    def table(self, target: Target) -> Table:
        """The data set's table for a model class, a Table or a table name."""
        tables = self.dataset.metadata.tables
        if isinstance(target, str):
            if target not in tables:
                raise InvalidArgumentError(
                    f"Data set {self.dataset.name!r} has no table {target!r}; tables: {', '.join(sorted(tables))}"
                )
            return tables[target]
        table = target if isinstance(target, Table) else getattr(target, "__table__", None)
        if not isinstance(table, Table) or tables.get(table.name) is not table:
            raise InvalidArgumentError(f"{target!r} is not a table of data set {self.dataset.name!r}")
        return table

    def execute(self, statement: Executable | str, params: Mapping[str, Any] | None = None) -> Result[Any]:
        """Run raw SQL or any statement inside the build transaction (e.g. ``INSERT ... SELECT``)."""
        executable = text(statement) if isinstance(statement, str) else statement
        return self.connection.execute(executable, dict(params) if params else None)

    def load_csv(
        self,
        path: CsvSource,
        table: Target | None = None,
        *,
        encoding: str = "utf-8",
        defaults: Defaults | None = None,
        **fmt: Any,
    ) -> int:
        """Load CSV with a header row into ``table`` (default: the file's stem); returns rows loaded.

        ``path`` is a path or an open file, text or binary (``io.StringIO``, ``open(..., "rb")``);
        a file object is read from where it stands and left open. ``defaults`` gives values for
        columns the file does not have (a callable, such as ``uuid4``, is called for every row);
        strings are converted as CSV fields are, and the file's own columns win. ``fmt`` goes to
        ``csv.reader`` (``delimiter=";"``...). Header names are column names.
        """
        source = label(path)
        target = self.table(table if table is not None else table_name(path))
        extra = check_defaults(target, defaults, source)
        with opened(path, encoding) as handle:
            try:
                reader = csv.reader(handle, **fmt)
                header = next(reader, None)
                if header is None:
                    return self._finish(target, source, 0)
                converters = self._converters(target, header, source)
                lines = ((reader.line_num, fields) for fields in reader if fields)  # skips blank lines
                rows = _csv_rows(lines, converters, source)
                given = {key for key, _ in converters}
                missing = {key: value for key, value in extra.items() if key not in given}
                return self._insert(target, source, _with_defaults(rows, target, missing, source) if missing else rows)
            except UnicodeDecodeError as exc:
                raise InvalidArgumentError(
                    f"{source} is not {encoding} text (byte {exc.start}): pass encoding= to read it",
                    details={"source": source, "encoding": encoding},
                ) from None

    def load_rows(self, table: Target, rows: Iterable[Mapping[str, Any]], *, source: str = "<rows>") -> int:
        """Load dicts keyed by column name; strings are converted as in CSV files. Returns rows loaded.

        A missing key leaves the column to its default (or NULL); ``None`` counts as an empty field.
        """
        target = self.table(table)
        return self._insert(target, source, self._mapping_rows(target, rows, source))

    def load_directory(
        self, directory: PathLike, *, defaults: Mapping[str, Defaults] | None = None, **options: Any
    ) -> dict[str, int]:
        """Load every ``<table>.csv`` in ``directory`` (as written by ``dump_dataset``).

        ``defaults`` maps table names to that table's defaults (see ``load_csv``).
        """
        files = sorted(Path(directory).glob("*.csv"))
        unknown = [file.name for file in files if file.stem not in self.dataset.metadata.tables]
        if unknown:
            raise InvalidArgumentError(
                f"{', '.join(unknown)} in {os.fspath(directory)} match no table of data set {self.dataset.name!r}"
            )
        return self.load_files({file.stem: file for file in files}, defaults=defaults, **options)

    def load_files(
        self, files: Mapping[str, CsvSource], *, defaults: Mapping[str, Defaults] | None = None, **options: Any
    ) -> dict[str, int]:
        """Load CSV sources (paths or open files) keyed by table name; returns rows per table."""
        defaults = defaults or {}
        for name in [*files, *defaults]:
            self.table(name)
        loaded = {}
        for name, source in files.items():
            loaded[name] = self.load_csv(source, name, defaults=defaults.get(name), **options)
        return loaded

    def commit(self) -> None:
        """Check foreign keys, then commit (and swap the file in when replacing).

        Raises:
            ForeignKeyViolationError: some rows point at missing parents; everything is rolled back.
        """
        connection, transaction = self.connection, self._transaction
        assert transaction is not None
        violations = foreign_key_violations(connection)
        if violations:
            self.rollback()
            raise ForeignKeyViolationError(violations)
        try:
            transaction.commit()
        except BaseException:
            self.rollback()
            raise
        self._close()
        if self.replace:
            try:
                os.replace(self._building, self.path)
            except OSError:
                os.remove(self._building)  # the output path cannot take it (a directory?): leave nothing behind
                raise
        if self.path != MEMORY and os.path.abspath(self.path) == os.path.abspath(self.dataset.path):
            self.dataset.dispose()  # reopen the new contents on next use

    def rollback(self) -> None:
        """Discard everything loaded (and the temporary file when replacing)."""
        if self._transaction is not None and self._transaction.is_active:
            self._transaction.rollback()
        self._close()
        if self.replace and os.path.exists(self._building):
            os.remove(self._building)

    def _close(self) -> None:
        self._transaction = None
        self._connection = None
        self._stack.close()

    def _converters(self, table: Table, header: list[str], source: str) -> list[tuple[str, ColumnConverter]]:
        by_name = {column.name: column for column in table.columns}
        unknown = [name for name in header if name not in by_name]
        duplicates = sorted({name for name in header if header.count(name) > 1})
        if unknown or duplicates:
            problem = f"unknown columns {unknown}" if unknown else f"repeated columns {duplicates}"
            raise InvalidArgumentError(
                f"{source}, line 1: {problem} for table {table.name!r}; columns: {', '.join(by_name)}",
                details={"file": source, "line": 1, "columns": unknown or duplicates},
            )
        return [(by_name[name].key, ColumnConverter(by_name[name])) for name in header]

    def _mapping_rows(
        self, table: Table, rows: Iterable[Mapping[str, Any]], source: str
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        known = {column.name: (column.key, ColumnConverter(column)) for column in table.columns}
        for number, row in enumerate(rows, start=1):
            try:
                converters = [known[name] for name in row]
            except KeyError:
                unknown = sorted(set(row) - set(known))
                raise InvalidArgumentError(
                    f"{source}, row {number}: unknown columns {unknown} for table {table.name!r}",
                    details={"file": source, "line": number, "columns": unknown},
                ) from None
            yield number, _convert(converters, list(row.values()), source, number, unit="row")

    def _insert(self, table: Table, source: str, rows: Iterator[tuple[int, dict[str, Any]]]) -> int:
        statement = table.insert()
        batch: list[dict[str, Any]] = []
        first = last = count = 0
        for line, row in rows:
            if batch and row.keys() != batch[0].keys():  # one executemany needs the same columns throughout
                self._execute_batch(statement, batch, source, first, last)
                batch = []
            if not batch:
                first = line
            batch.append(row)
            last = line
            count += 1
            if len(batch) >= self.batch_size:
                self._execute_batch(statement, batch, source, first, last)
                batch = []
            if self.progress is not None and count % self.progress_every == 0:
                self.progress(LoadProgress(table.name, source, count, done=False))
        if batch:
            self._execute_batch(statement, batch, source, first, last)
        return self._finish(table, source, count)

    def _execute_batch(self, statement: Any, batch: list[dict[str, Any]], source: str, first: int, last: int) -> None:
        try:
            self.connection.execute(statement, batch)
        except (DatabaseError, InvalidArgumentError) as error:  # add where it happened; keep the type
            where = f"{source}, line {first}" if first == last else f"{source}, lines {first}-{last}"
            raise type(error)(f"{where}: {error.message}", details={**error.details, "file": source}) from error

    def _finish(self, table: Table, source: str, count: int) -> int:
        self.counts[table.name] = self.counts.get(table.name, 0) + count
        if self.progress is not None:
            self.progress(LoadProgress(table.name, source, count, done=True))
        return count


def _csv_rows(
    lines: Iterable[tuple[int, list[str]]], converters: list[tuple[str, ColumnConverter]], source: str
) -> Iterator[tuple[int, dict[str, Any]]]:
    width = len(converters)
    for line, fields in lines:
        if len(fields) != width:
            raise InvalidArgumentError(
                f"{source}, line {line}: expected {width} fields, got {len(fields)}",
                details={"file": source, "line": line},
            )
        yield line, _convert(converters, fields, source, line)


def _with_defaults(
    rows: Iterator[tuple[int, dict[str, Any]]], table: Table, defaults: Mapping[str, Any], source: str
) -> Iterator[tuple[int, dict[str, Any]]]:
    converters = [(key, ColumnConverter(table.columns[key])) for key in defaults]
    for line, row in rows:
        values = default_values(defaults)
        row.update(_convert(converters, [values[key] for key, _ in converters], source, line))
        yield line, row


def _convert(
    converters: list[tuple[str, ColumnConverter]], fields: list[Any], source: str, line: int, unit: str = "line"
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for (key, converter), value in zip(converters, fields, strict=True):
        try:
            row[key] = converter.convert(value)
        except ValueError as exc:
            raise conversion_error(source, line, converter.column.name, value, str(exc), unit=unit) from None
    return row


def build_from_csv(
    dataset: DataSet | type[DataSetBase],
    directory: PathLike | Mapping[str, CsvSource],
    path: PathLike | None = None,
    *,
    defaults: Mapping[str, Defaults] | None = None,
    **options: Any,
) -> dict[str, int]:
    """Build a data set file in one go from a directory of ``<table>.csv`` files, or from CSV sources
    (paths or open files) keyed by table name; ``defaults`` per table as in ``load_csv``. Returns rows per table.
    """
    with DataSetBuilder(dataset, path, **options) as builder:
        if isinstance(directory, Mapping):
            return builder.load_files(directory, defaults=defaults)
        return builder.load_directory(directory, defaults=defaults)
