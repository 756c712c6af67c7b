"""Migrations from Python: at start-up, in tests, in a deploy script.

``upgrade(config_or_adapter, "head")`` takes a configuration section (``PostgresSQLAlchemyConfig``,
``SQLiteSQLAlchemyConfig``, a ``BaseConfig``) or an adapter. An adapter's own engine is used, so an
in-memory SQLite database is migrated in place; an async adapter runs through its async driver.
Inside a running event loop use the ``async_`` twins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from archipy_lite.migrations import commands
from archipy_lite.migrations.settings import MigrationSettings, load_settings
from archipy_lite.migrations.target import DatabaseTarget, target_from
from archipy_lite.models.errors import InvalidArgumentError

R = TypeVar("R")
Action = Callable[[MigrationSettings, DatabaseTarget], R]


def _settings(project_dir: str | Path | None, directory: str | Path | None, metadata: str | None) -> MigrationSettings:
    settings = load_settings(Path(project_dir) if project_dir is not None else None)
    return settings.with_overrides(directory=directory, metadata=metadata)


def _run_sync(target: DatabaseTarget, settings: MigrationSettings, action: Action[R]) -> R:
    if target.adapter is None:
        return action(settings, target)
    if not target.use_async:
        with target.adapter.session_manager.engine.connect() as connection:
            return action(settings, replace(target, connection=connection))
    if _loop_running():
        raise InvalidArgumentError(
            "an async adapter inside a running event loop: await archipy_lite.migrations.async_upgrade(...) "
            "(or async_downgrade / async_check) instead"
        )
    return asyncio.run(_run_async(target, settings, action, dispose=True))


async def _run_async(target: DatabaseTarget, settings: MigrationSettings, action: Action[R], *, dispose: bool) -> R:
    if target.adapter is None or not target.use_async:
        return await asyncio.to_thread(_run_sync, target, settings, action)
    manager = target.adapter.session_manager
    try:
        async with manager.engine.connect() as connection:
            return await connection.run_sync(lambda sync: action(settings, replace(target, connection=sync)))  # type: ignore[no-any-return]
    finally:
        if dispose and manager.dialect.async_engine_per_event_loop:
            await manager.dispose()  # this loop ends with the call: its connections cannot outlive it


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def upgrade(
    config_or_adapter: Any,
    revision: str = "head",
    *,
    project_dir: str | Path | None = None,
    directory: str | Path | None = None,
) -> None:
    """Upgrade the database to ``revision`` (default ``head``).

    Args:
        config_or_adapter: A configuration section, a ``BaseConfig`` (its PostgreSQL section) or an adapter.
        revision: An Alembic revision: ``head``, an id, ``+1``.
        project_dir: Where ``pyproject.toml`` is looked for (default: the working directory and its parents).
        directory: The script directory, overriding ``migrations`` in ``[tool.archipy-lite]``.

    Raises:
        MigrationError: Alembic refused (unknown revision, missing script directory, ...).
        ConfigurationError: The ``migrations`` extra is not installed, or the settings are wrong.
    """
    settings = _settings(project_dir, directory, None)
    _run_sync(target_from(config_or_adapter), settings, lambda s, t: commands.upgrade(s, t, revision))


def downgrade(
    config_or_adapter: Any, revision: str, *, project_dir: str | Path | None = None, directory: str | Path | None = None
) -> None:
    """Downgrade the database to ``revision`` (``base`` undoes every migration); see ``upgrade``."""
    settings = _settings(project_dir, directory, None)
    _run_sync(target_from(config_or_adapter), settings, lambda s, t: commands.downgrade(s, t, revision))


def check(
    config_or_adapter: Any,
    *,
    project_dir: str | Path | None = None,
    directory: str | Path | None = None,
    metadata: str | None = None,
) -> list[str]:
    """What separates the database from the models, one sentence each; empty when it is at head and matches.

    ``metadata`` (``module:attribute``) overrides the ``metadata`` setting of ``[tool.archipy-lite]``.
    """
    settings = _settings(project_dir, directory, metadata)
    return _run_sync(target_from(config_or_adapter), settings, commands.check)


async def async_upgrade(
    config_or_adapter: Any,
    revision: str = "head",
    *,
    project_dir: str | Path | None = None,
    directory: str | Path | None = None,
) -> None:
    """``upgrade`` for code inside an event loop (an async adapter runs on the loop's own engine)."""
    settings = _settings(project_dir, directory, None)
    action: Action[None] = lambda s, t: commands.upgrade(s, t, revision)  # noqa: E731
    await _run_async(target_from(config_or_adapter), settings, action, dispose=False)


async def async_downgrade(
    config_or_adapter: Any, revision: str, *, project_dir: str | Path | None = None, directory: str | Path | None = None
) -> None:
    """``downgrade`` for code inside an event loop."""
    settings = _settings(project_dir, directory, None)
    action: Action[None] = lambda s, t: commands.downgrade(s, t, revision)  # noqa: E731
    await _run_async(target_from(config_or_adapter), settings, action, dispose=False)


async def async_check(
    config_or_adapter: Any,
    *,
    project_dir: str | Path | None = None,
    directory: str | Path | None = None,
    metadata: str | None = None,
) -> list[str]:
    """``check`` for code inside an event loop."""
    settings = _settings(project_dir, directory, metadata)
    return await _run_async(target_from(config_or_adapter), settings, commands.check, dispose=False)
