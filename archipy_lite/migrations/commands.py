"""The migration commands, shared by ``archipy-lite db`` and the Python API.

Each runs one Alembic command with our Config; Alembic's own errors come out as
``MigrationError`` with Alembic's message, never as a traceback through Alembic.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar

from archipy_lite.migrations._alembic import alembic_config, require_alembic
from archipy_lite.migrations.differences import describe
from archipy_lite.migrations.pyproject import ensure_tool_table
from archipy_lite.migrations.settings import MigrationSettings
from archipy_lite.migrations.target import DatabaseTarget
from archipy_lite.models.errors import MigrationError

R = TypeVar("R")


@contextmanager
def _alembic_errors() -> Iterator[None]:
    """Turn Alembic's CommandError into MigrationError (same message, chained)."""
    require_alembic()
    from alembic.util import CommandError

    try:
        yield
    except CommandError as error:
        raise MigrationError(str(error)) from error


def _alembic_command() -> Any:
    require_alembic()
    import alembic.command

    return alembic.command


def _run(
    command: Callable[..., R],
    settings: MigrationSettings,
    target: DatabaseTarget | None,
    *args: Any,
    stdout: TextIO | None = None,
    **kwargs: Any,
) -> R:
    with _alembic_errors():
        return command(alembic_config(settings, target, stdout=stdout), *args, **kwargs)


def init(settings: MigrationSettings) -> list[str]:
    """Create the script directory from our template; add ``[tool.archipy-lite]`` to pyproject.toml."""
    command = _alembic_command()
    with _alembic_errors(), contextlib.redirect_stdout(io.StringIO()):  # Alembic's progress and its advice
        config = alembic_config(settings)  # to edit alembic.ini (which we do not read) would only confuse
        config.cmd_opts = argparse.Namespace(quiet=True)
        command.init(config, str(settings.directory), template="archipy_lite")
    return [f"Created {settings.directory} (env.py, script.py.mako, versions/)", *ensure_tool_table(settings)]


def revision(
    settings: MigrationSettings,
    target: DatabaseTarget,
    message: str | None,
    *,
    autogenerate: bool,
    stdout: TextIO | None = None,
) -> list[str]:
    """Write a new revision script (compared with the models when ``autogenerate``); returns its path."""
    command = _alembic_command()
    if autogenerate:
        settings.load_metadata()  # fail before connecting when the models cannot be found
    scripts = _run(command.revision, settings, target, message=message, autogenerate=autogenerate, stdout=stdout)
    listed = scripts if isinstance(scripts, list) else [scripts]
    return [str(script.path) for script in listed if script is not None]


def upgrade(settings: MigrationSettings, target: DatabaseTarget, revision: str = "head", **options: Any) -> None:
    command = _alembic_command()
    _run(command.upgrade, settings, target, revision, **options)


def downgrade(settings: MigrationSettings, target: DatabaseTarget, revision: str, **options: Any) -> None:
    command = _alembic_command()
    _run(command.downgrade, settings, target, revision, **options)


def stamp(settings: MigrationSettings, target: DatabaseTarget, revision: str, **options: Any) -> None:
    command = _alembic_command()
    _run(command.stamp, settings, target, revision, **options)


def current(settings: MigrationSettings, target: DatabaseTarget, **options: Any) -> None:
    command = _alembic_command()
    _run(command.current, settings, target, **options)


def history(settings: MigrationSettings, **options: Any) -> None:
    command = _alembic_command()
    _run(command.history, settings, None, **options)


def check(settings: MigrationSettings, target: DatabaseTarget) -> list[str]:
    """What separates the database from the models: an empty list when it is at head and matches them."""
    require_alembic()
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory

    metadata = settings.load_metadata()
    differences: list[str] = []
    with _alembic_errors():
        config = alembic_config(settings, target)
        script = ScriptDirectory.from_config(config)

        def compare(revision: Any, context: Any) -> list[Any]:
            current, heads = set(script.get_revisions(revision)), set(script.get_revisions("heads"))
            if current != heads:
                at = ", ".join(sorted(r.revision for r in current if r is not None)) or "base (no revision)"
                differences.append(f"the database is at {at}; head is {', '.join(sorted(h.revision for h in heads))}")
            differences.extend(describe(compare_metadata(context, metadata)))
            return []

        with EnvironmentContext(config, script, fn=compare, dont_mutate=True):
            script.run_env()
    return differences
