"""What a project's ``env.py`` runs: connect as archipy_lite's configuration says, then migrate.

Called inside Alembic (``alembic.context`` is set up). The database is, in order: a connection
handed over by the Python API (``Config.attributes["connection"]``), the target chosen by
``archipy-lite db`` (``--dsn``, ``--sqlite``), or archipy_lite's configuration (environment and
``.env``), so plain ``alembic -c migrations/alembic.ini ...`` works too. Scripts are rendered in batch
mode (plain ALTERs on PostgreSQL, table copies on SQLite); SQLite migrates with foreign keys off
and checks them at the end.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from archipy_lite.adapters.base.sqlalchemy.registry import dialect_for
from archipy_lite.adapters.base.sqlalchemy.session_managers import AsyncSessionManager, SessionManager
from archipy_lite.migrations._alembic import SETTINGS_KEY, TARGET_KEY
from archipy_lite.migrations.rendering import chain_render_item
from archipy_lite.migrations.settings import MigrationSettings, load_settings
from archipy_lite.migrations.target import DatabaseTarget, resolve_target
from archipy_lite.models.errors import DatabaseIntegrityError


def run_migrations(**configure_options: Any) -> None:
    """Run the migrations Alembic asked for; ``configure_options`` go to ``context.configure``.

    Pass ``include_object``, ``compare_server_default``, ``render_item`` and the like here;
    ``target_metadata`` defaults to the project's ``metadata`` setting.
    """
    from alembic import context

    config = context.config
    settings: MigrationSettings = config.attributes.get(SETTINGS_KEY) or load_settings()
    options = _configure_options(settings, configure_options)
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(context, connection, options)
        return
    target: DatabaseTarget = config.attributes.get(TARGET_KEY) or resolve_target(settings)
    if context.is_offline_mode():
        url = dialect_for(target.kind).engine_arguments(target.config, async_=False)[0]
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    if target.use_async:
        asyncio.run(_migrate_async(context, target, options))
    else:
        manager = SessionManager(target.config, dialect_for(target.kind))
        try:
            with manager.engine.connect() as connection:
                _migrate(context, connection, options)
        finally:
            manager.dispose()


def _configure_options(settings: MigrationSettings, options: dict[str, Any]) -> dict[str, Any]:
    result = dict(options)
    if "target_metadata" not in result:
        result["target_metadata"] = settings.load_metadata() if settings.metadata else None
    result["render_item"] = chain_render_item(result.get("render_item"))
    result.setdefault("compare_type", True)
    # Batch operations run as plain ALTERs on PostgreSQL and as table copies on SQLite: scripts
    # generated against either database run on both.
    result.setdefault("render_as_batch", True)
    return result


async def _migrate_async(context: Any, target: DatabaseTarget, options: dict[str, Any]) -> None:
    manager = AsyncSessionManager(target.config, dialect_for(target.kind))
    try:
        async with manager.engine.connect() as connection:
            await connection.run_sync(lambda sync_connection: _migrate(context, sync_connection, options))
    finally:
        await manager.dispose()


def _migrate(context: Any, connection: Connection, options: dict[str, Any]) -> None:
    """Run the migrations on ``connection`` in one transaction and commit it."""
    sqlite = connection.dialect.name == "sqlite"
    foreign_keys = _set_sqlite_foreign_keys(connection, enabled=False) if sqlite else None
    try:
        if sqlite:
            options = {"transactional_ddl": True, **options}  # our SQLite engines make DDL transactional
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                _check_sqlite_foreign_keys(connection)
        if connection.in_transaction():
            connection.commit()
    finally:
        if foreign_keys is not None:
            _set_sqlite_foreign_keys(connection, enabled=foreign_keys)


def _set_sqlite_foreign_keys(connection: Connection, *, enabled: bool) -> bool | None:
    """Set ``PRAGMA foreign_keys`` on the driver connection (it is ignored inside a transaction).

    Returns the previous setting, or None when a transaction was open and nothing changed.
    """
    if connection.in_transaction():
        return None
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("PRAGMA foreign_keys")
        row = cursor.fetchone()
        previous = bool(row and row[0])
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if enabled else 'OFF'}")
    finally:
        cursor.close()
    return previous


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    """Batch migrations copy tables with foreign keys off; refuse to commit rows they left dangling."""
    violations = connection.execute(text("PRAGMA foreign_key_check")).fetchall()
    if violations:
        raise DatabaseIntegrityError(
            "the migration left rows whose foreign keys point nowhere",
            details={"violations": [tuple(row) for row in violations[:20]]},
        )
