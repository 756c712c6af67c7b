"""``archipy-lite dataset build|dump|info``: build, export and inspect SQLite data sets."""

from __future__ import annotations

import argparse
import hashlib
import importlib
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from archipy_lite.cli.output import Printer
from archipy_lite.models.errors import ConfigurationError, InvalidArgumentError


def add_dataset_commands(commands: Any) -> None:
    """Register ``dataset build|dump|info`` on the top-level sub-parser collection."""
    dataset = commands.add_parser("dataset", help="build, dump and inspect read-only SQLite data sets")
    actions = dataset.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)

    build = actions.add_parser(
        "build",
        help="load CSV files into a data set file",
        description="Load CSV files (one per table, each named <table>.csv) into a new data set file in one "
        "transaction; foreign keys are checked at the end and nothing is kept if any fail. Progress goes to "
        "stderr: redrawn in place on a terminal, otherwise a line every few seconds.",
    )
    build.add_argument("base", help="the data set's declarative base as module:attribute, e.g. myapp.geo:GeoBase")
    build.add_argument("output", type=Path, help="the data set file to write (replaced only on success)")
    build.add_argument("sources", nargs="+", type=Path, help="CSV files, or directories of <table>.csv files")
    build.add_argument("--batch-size", type=_positive_int, default=5000, help="rows per executemany (default 5000)")
    build.set_defaults(handler=_build)

    dump = actions.add_parser("dump", help="write every table of a data set file to CSV")
    dump.add_argument("base", help="the data set's declarative base as module:attribute")
    dump.add_argument("input", type=Path, help="the data set file to read (opened read-only)")
    dump.add_argument("directory", type=Path, help="where to write <table>.csv files")
    dump.set_defaults(handler=_dump)

    info = actions.add_parser("info", help="describe a data set file: tables, row counts, size, checksum")
    info.add_argument("input", type=Path, help="the data set file (opened read-only)")
    info.set_defaults(handler=_info)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def load_base(reference: str) -> Any:
    """Import ``module:attribute`` and return the data set base it names."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise InvalidArgumentError(f"expected module:attribute, got {reference!r}")
    sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigurationError(f"cannot import {module_name!r}: {error}") from None
    finally:
        sys.path.pop(0)
    base = getattr(module, attribute, None)
    dataset = getattr(base, "dataset", None)
    if dataset is None or getattr(dataset, "base", None) is not base:  # a model class reaches .dataset too
        raise InvalidArgumentError(f"{reference!r} is not a data set base (made with DataSet.create)")
    return base


class ProgressLine:
    """Progress of a load on stderr: redrawn in place on a terminal, else a line every ``interval`` seconds.

    The line for a finished source is always written, so logs show every table's count and rate.
    """

    def __init__(self, stream: TextIO | None = None, interval: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.interval = interval
        self.started = self.last_line = time.perf_counter()

    def __call__(self, progress: Any) -> None:
        now = time.perf_counter()
        rate = progress.rows / max(now - self.started, 1e-9)
        text = f"{progress.table:<24} {progress.rows:>12,} rows  {rate:>10,.0f} rows/s"
        if progress.done:
            self.stream.write(("\r" if self.interactive else "") + text + "  done\n")
            self.started = self.last_line = now
        elif self.interactive:
            self.stream.write("\r" + text)
        elif now - self.last_line >= self.interval:
            self.stream.write(text + "\n")
            self.last_line = now
        self.stream.flush()


def _csv_files(sources: list[Path]) -> list[Path]:
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files.extend(sorted(source.glob("*.csv")))
        elif source.is_file():
            files.append(source)
        else:
            raise InvalidArgumentError(f"{source} does not exist")
    if not files:
        raise InvalidArgumentError("no CSV files found")
    return files


def _build(arguments: argparse.Namespace, printer: Printer) -> int:
    from archipy_lite.datasets import DataSetBuilder

    base = load_base(arguments.base)
    files = _csv_files(arguments.sources)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    with DataSetBuilder(
        base, arguments.output, batch_size=arguments.batch_size, progress=ProgressLine(), replace=True
    ) as builder:
        for path in files:
            builder.load_csv(path)
    printer.line(f"built {arguments.output}")
    printer.pairs(sorted(builder.counts.items()))
    return 0


def _existing_file(path: Path) -> Path:
    if not path.exists():
        raise InvalidArgumentError(f"{path} does not exist")
    if not path.is_file():
        raise InvalidArgumentError(f"{path} is not a file")
    return path


def _dump(arguments: argparse.Namespace, printer: Printer) -> int:
    from archipy_lite.adapters.sqlite.sqlalchemy.adapters import SQLiteSQLAlchemyAdapter
    from archipy_lite.configs.config_template import SQLiteSQLAlchemyConfig
    from archipy_lite.datasets import dump_dataset

    base = load_base(arguments.base)
    _describe_data_set(_existing_file(arguments.input))  # a clear error for a file that is not one
    config = SQLiteSQLAlchemyConfig.from_values(DATABASE=str(arguments.input), READ_ONLY=True)
    adapter = SQLiteSQLAlchemyAdapter(orm_config=config)
    try:
        counts = dump_dataset(base, arguments.directory, port=adapter)
    finally:
        adapter.session_manager.dispose()
    printer.line(f"wrote {len(counts)} CSV files to {arguments.directory}")
    printer.pairs(sorted(counts.items()))
    return 0


def _info(arguments: argparse.Namespace, printer: Printer) -> int:
    path = _existing_file(arguments.input)
    tables, version, journal = _describe_data_set(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    printer.line(str(path))
    printer.pairs(
        [
            ("size", f"{path.stat().st_size:,} bytes"),
            ("sha256", digest),
            ("journal mode", journal),
            ("sqlite", version),
        ]
    )
    printer.heading("Tables")
    printer.table(["table", "rows"], [(name, f"{count:,}") for name, count in tables])
    return 0


def _describe_data_set(path: Path) -> tuple[list[tuple[str, int]], str, str]:
    """Tables with their row counts, the SQLite version and the journal mode of the file, opened read-only."""
    try:
        return _describe(f"{path.resolve().as_uri()}?mode=ro")
    except sqlite3.DatabaseError as error:
        raise InvalidArgumentError(f"{path} is not a SQLite data set ({error})") from error


def _describe(uri: str) -> tuple[list[tuple[str, int]], str, str]:
    with sqlite3.connect(uri, uri=True) as connection:
        names = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        counts = [(name, connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]) for name in names]
        version = connection.execute("SELECT sqlite_version()").fetchone()[0]
        journal = connection.execute("PRAGMA journal_mode").fetchone()[0]
    connection.close()
    return counts, version, journal
