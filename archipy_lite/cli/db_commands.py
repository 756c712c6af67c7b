"""``archipy-lite db ...``: schema migrations on Alembic (the ``migrations`` extra)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from archipy_lite.cli.output import Printer

_DESCRIPTION = (
    "Schema migrations on Alembic. The database comes from archipy_lite's configuration "
    "(POSTGRES_SQLALCHEMY__* / SQLITE_SQLALCHEMY__* variables, .env) unless --dsn or --sqlite say otherwise; "
    "the models from metadata under [tool.archipy-lite] in pyproject.toml, or --metadata."
)


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("database and project")
    group.add_argument("--dsn", help="database URL: postgresql[+asyncpg]://... or sqlite[+aiosqlite]:///file.db")
    group.add_argument("--sqlite", metavar="PATH", help="SQLite file to migrate")
    group.add_argument(
        "--async", dest="use_async", action="store_true", default=None, help="connect with the async driver"
    )
    group.add_argument("--metadata", metavar="MODULE:ATTRIBUTE", help="the models' MetaData, e.g. app.models:Base")
    group.add_argument("--directory", metavar="DIR", help="the migration scripts (default: migrations)")
    group.add_argument("--project", metavar="DIR", type=Path, help="where pyproject.toml is (default: here)")
    return common


def add_db_commands(commands: Any) -> None:
    """Register ``db init|revision|upgrade|downgrade|current|history|stamp|check``."""
    db = commands.add_parser("db", help="schema migrations (Alembic)", description=_DESCRIPTION)
    actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    common = _common_options()

    def action(name: str, help_: str, handler: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, help=help_, description=help_, parents=[common])
        parser.set_defaults(handler=handler)
        return parser

    action("init", "create the migrations directory and [tool.archipy-lite] in pyproject.toml", _init)
    revision = action("revision", "write a new revision script", _revision)
    revision.add_argument("-m", "--message", required=True, help="what the revision does")
    revision.add_argument("--autogenerate", action="store_true", help="compare the models with the database")
    upgrade = action("upgrade", "upgrade the database (default: to head)", _upgrade)
    upgrade.add_argument("revision", nargs="?", default="head", help="target revision (default: head)")
    upgrade.add_argument("--sql", action="store_true", help="print the SQL instead of running it")
    downgrade = action("downgrade", "downgrade the database to REVISION (base: undo everything)", _downgrade)
    downgrade.add_argument("revision", help="target revision, e.g. -1 or base")
    downgrade.add_argument("--sql", action="store_true", help="print the SQL instead of running it")
    current = action("current", "show the database's revision", _current)
    current.add_argument("-v", "--verbose", action="store_true")
    history = action("history", "list the revisions", _history)
    history.add_argument("-v", "--verbose", action="store_true")
    stamp = action("stamp", "record REVISION as the database's revision without running migrations", _stamp)
    stamp.add_argument("revision")
    action("check", "exit 1 when the database is not at head or differs from the models (for CI)", _check)


def _settings(arguments: argparse.Namespace) -> Any:
    from archipy_lite.migrations.settings import load_settings

    return load_settings(arguments.project).with_overrides(
        directory=arguments.directory, metadata=arguments.metadata, use_async=arguments.use_async
    )


def _target(arguments: argparse.Namespace, settings: Any) -> Any:
    from archipy_lite.cli.targets import Target
    from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
    from archipy_lite.migrations.target import resolve_target

    target = resolve_target(settings, dsn=arguments.dsn, sqlite=arguments.sqlite, use_async=bool(arguments.use_async))
    if isinstance(target.config, PostgresSQLAlchemyConfig | SQLiteSQLAlchemyConfig):
        arguments.target = Target(target.kind, target.config, "migrations")  # lets failures name and explain it
    return target


def _init(arguments: argparse.Namespace, printer: Printer) -> int:
    from archipy_lite.migrations import commands

    for line in commands.init(_settings(arguments)):
        printer.line(line)
    return 0


def _revision(arguments: argparse.Namespace, printer: Printer) -> int:
    from archipy_lite.migrations import commands

    settings = _settings(arguments)
    paths = commands.revision(
        settings,
        _target(arguments, settings),
        arguments.message,
        autogenerate=arguments.autogenerate,
        stdout=printer.stream,
    )
    for path in paths:
        printer.line(f"wrote {path}")
    return 0


def _upgrade(arguments: argparse.Namespace, printer: Printer) -> int:
    from archipy_lite.migrations import commands

    settings = _settings(arguments)
    target = _target(arguments, settings)
    commands.upgrade(settings, target, arguments.revision, sql=arguments.sql, stdout=printer.stream)
    if not arguments.sql:
        printer.line(f"upgraded {target.describe()} to {arguments.revision}")
    return 0


def _downgrade(arguments: argparse.Namespace, printer: Printer) -> int:
    from archipy_lite.migrations import commands

    settings = _settings(arguments)
    target = _target(arguments, settings)
    commands.downgrade(settings, target, arguments.revision, sql=arguments.sql, stdout=printer.stream)
    if not arguments.sql:
        printer.line(f"downgraded {target.describe()} to {arguments.revision}")
    return 0


def _current(arguments: argparse.Namespace, printer: Printer) -> int:
    from archipy_lite.migrations import commands

    settings = _settings(arguments)
    commands.current(settings, _target(arguments, settings), verbose=arguments.verbose, stdout=printer.stream)
    return 0


def _history(arguments: argparse.Namespace, printer: Printer) -> int:
    from archipy_lite.migrations import commands

    commands.history(_settings(arguments), verbose=arguments.verbose, stdout=printer.stream)
    return 0


def _stamp(arguments: argparse.Namespace, printer: Printer) -> int:
    from archipy_lite.migrations import commands

    settings = _settings(arguments)
    target = _target(arguments, settings)
    commands.stamp(settings, target, arguments.revision, stdout=printer.stream)
    printer.line(f"stamped {target.describe()} at {arguments.revision}")
    return 0


def _check(arguments: argparse.Namespace, printer: Printer) -> int:
    from archipy_lite.migrations import commands

    settings = _settings(arguments)
    target = _target(arguments, settings)
    differences = commands.check(settings, target)
    if not differences:
        printer.line(f"OK: {target.describe()} is at head and matches the models")
        return 0
    printer.line(f"DRIFT: {target.describe()} differs from the migrations or the models:")
    for difference in differences:
        printer.line(f"  - {difference}")
    return 1
