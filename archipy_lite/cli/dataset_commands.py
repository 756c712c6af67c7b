"""``archipy-lite dataset build|dump|info``: build, export and inspect SQLite data sets."""

from __future__ import annotations

import argparse
import hashlib
import importlib
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from archipy_lite.cli.output import Printer
from archipy_lite.models.errors import ConfigurationError, InvalidArgumentError


def add_dataset_commands(commands: Any) -> None:
    """Register ``dataset build|dump|info`` on the top-level sub-parser collection."""
    dataset = commands.add_parser("dataset", help="build, dump and inspect read-only SQLite data sets")
    actions = dataset.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)

    build = actions.add_parser(
        "build",
        help="load CSV files into a data set file",
        description="Load CSV files (one per table, named <table>.csv, or given with --csv) into a new data set "
        "file in one transaction; foreign keys are checked at the end and nothing is kept if any fail.",
    )
    build.add_argument("base", help="the data set's declarative base as module:attribute, e.g. myapp.geo:GeoBase")
    build.add_argument("output", type=Path, help="the data set file to write (replaced only on success)")
    build.add_argument("sources", nargs="+", type=Path, help="CSV files, or directories of <table>.csv files")
    build.add_argument("--batch-size", type=int, default=5000, help="rows per executemany (default 5000)")
    build.set_defaults(handler=_build)

    dump = actions.add_parser("dump", help="write every table of a data set file to CSV")
    dump.add_argument("base", help="the data set's declarative base as module:attribute")
    dump.add_argument("input", type=Path, help="the data set file to read (opened read-only)")
    dump.add_argument("directory", type=Path, help="where to write <table>.csv files")
    dump.set_defaults(handler=_dump)

    info = actions.add_parser("info", help="describe a data set file: tables, row counts, size, checksum")
    info.add_argument("input", type=Path, help="the data set file (opened read-only)")
    info.set_defaults(handler=_info)


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
    if base is None or not hasattr(base, "dataset"):
        raise InvalidArgumentError(f"{reference!r} is not a data set base (made with DataSet.create)")
    return base


class ProgressLine:
    """A one-line progress display on stderr, redrawn in place when stderr is a terminal."""

    def __init__(self) -> None:
        self.interactive = sys.stderr.isatty()
        self.started = time.perf_counter()

    def __call__(self, progress: Any) -> None:
        rate = progress.rows / max(time.perf_counter() - self.started, 1e-9)
        text = f"{progress.table:<24} {progress.rows:>12,} rows  {rate:>10,.0f} rows/s"
        if progress.done:
            sys.stderr.write(("\r" if self.interactive else "") + text + "  done\n")
            self.started = time.perf_counter()
        elif self.interactive:
            sys.stderr.write("\r" + text)
        sys.stderr.flush()


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


def _dump(arguments: argparse.Namespace, printer: Printer) -> int:
    from archipy_lite.adapters.sqlite.sqlalchemy.adapters import SQLiteSQLAlchemyAdapter
    from archipy_lite.configs.config_template import SQLiteSQLAlchemyConfig
    from archipy_lite.datasets import dump_dataset

    base = load_base(arguments.base)
    if not arguments.input.is_file():
        raise InvalidArgumentError(f"{arguments.input} does not exist")
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
    path: Path = arguments.input
    if not path.is_file():
        raise InvalidArgumentError(f"{path} does not exist")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    uri = f"{path.resolve().as_uri()}?mode=ro"
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
    printer.table(["table", "rows"], [(name, f"{count:,}") for name, count in counts])
    return 0
