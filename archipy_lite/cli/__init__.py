"""The ``archipy-lite`` command: ``demo``, ``doctor``, ``dataset`` and ``db``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from archipy_lite._version import installed_version
from archipy_lite.cli.failures import run_handler
from archipy_lite.cli.output import Printer


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsn", help="PostgreSQL DSN, e.g. postgresql://user:password@localhost:5432/db")
    parser.add_argument("--sqlite", metavar="PATH", help="SQLite file to use instead of PostgreSQL")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="archipy-lite", description="Ports-and-adapters persistence for PostgreSQL and SQLite."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="tour the library end to end",
        description="Create tables, users and posts; show rollback, a savepoint, a search page and a typed error. "
        "Runs on in-memory SQLite unless --dsn, --sqlite or POSTGRES_SQLALCHEMY__* variables say otherwise.",
    )
    _add_target_options(demo)
    demo.set_defaults(handler=_demo)

    doctor = commands.add_parser(
        "doctor",
        help="check configuration and connectivity",
        description="Load settings exactly as the library does (arguments, environment, .env), print them with "
        "secrets masked, connect, and report server version, isolation, pool and latency.",
    )
    _add_target_options(doctor)
    doctor.set_defaults(handler=_doctor)

    from archipy_lite.cli.dataset_commands import add_dataset_commands

    add_dataset_commands(commands)
    from archipy_lite.cli.db_commands import add_db_commands

    add_db_commands(commands)
    return parser


def _demo(arguments: argparse.Namespace, printer: Printer) -> int:
    from archipy_lite.cli.demo import run_demo
    from archipy_lite.cli.targets import choose_target

    arguments.target = choose_target(arguments.dsn, arguments.sqlite)  # lets failures name and explain it
    return run_demo(arguments.target, printer)


def _doctor(arguments: argparse.Namespace, printer: Printer) -> int:
    from archipy_lite.cli.doctor import run_doctor
    from archipy_lite.cli.targets import choose_target

    arguments.target = choose_target(arguments.dsn, arguments.sqlite, postgres_default=True)
    return run_doctor(arguments.target, printer)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command is None:
        parser.print_help()
        return 2
    return run_handler(arguments.handler, arguments, Printer())


def _run(argv: Sequence[str] | None = None) -> None:
    sys.exit(main(argv))
