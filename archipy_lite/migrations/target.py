"""The database a migration runs against: a configuration section plus sync or async.

From the command line: ``--dsn``, else ``--sqlite``, else archipy_lite's configuration
(``BaseConfig``: environment variables and ``.env``). From Python: a configuration section
or an adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import ArgumentError

from archipy_lite.compat import parse_url, render_url
from archipy_lite.configs.base_config import BaseConfig
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.configs.sources import sections_in_environment
from archipy_lite.migrations.settings import DatabaseKind, MigrationSettings
from archipy_lite.models.errors import ConfigurationError, InvalidArgumentError

_ASYNC_DRIVERS = frozenset({"asyncpg", "psycopg_async", "aiosqlite"})


@dataclass(frozen=True)
class DatabaseTarget:
    """A database to migrate: its configuration, kind and flavour, and an adapter when one was given."""

    config: SQLAlchemyConfig
    kind: DatabaseKind
    use_async: bool
    adapter: Any = None  # a sync or async adapter whose engine the migration should share
    connection: Any = None  # a sync Connection to run on (set while the Python API holds one)

    def describe(self) -> str:
        """A log-safe description (no password)."""
        url = self.config.url(async_=self.use_async)  # type: ignore[attr-defined]
        return render_url(url)


def target_from_dsn(dsn: str, *, use_async: bool) -> DatabaseTarget:
    """A PostgreSQL or SQLite URL; an async driver in it (``+asyncpg``, ``+aiosqlite``) means async."""
    try:
        url = parse_url(dsn)  # the database decoded on SQLAlchemy 2.0 as on 2.1
    except ArgumentError:
        raise InvalidArgumentError("--dsn is not a database URL (postgresql://... or sqlite:///...)") from None
    use_async = use_async or url.get_driver_name() in _ASYNC_DRIVERS
    if url.get_backend_name() == "sqlite":
        return DatabaseTarget(SQLiteSQLAlchemyConfig(DATABASE=url.database or ":memory:"), "sqlite", use_async)
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise InvalidArgumentError(f"--dsn must be a PostgreSQL or SQLite URL, not {url.get_backend_name()!r}")
    if url.get_driver_name() == "psycopg_async":
        dsn = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return DatabaseTarget(
            PostgresSQLAlchemyConfig(POSTGRES_DSN=dsn, ASYNC_DRIVER_NAME="postgresql+psycopg"), "postgres", True
        )
    return DatabaseTarget(PostgresSQLAlchemyConfig(POSTGRES_DSN=dsn), "postgres", use_async)


def _configured_kind(settings: MigrationSettings, config: BaseConfig) -> DatabaseKind:
    """``database`` from pyproject, else SQLite when only SQLite is configured, else PostgreSQL."""
    if settings.database is not None:
        return settings.database
    given = sections_in_environment(type(config))  # the environment and .env, read as BaseConfig reads them
    postgres = "POSTGRES_SQLALCHEMY" in given
    sqlite = "SQLITE_SQLALCHEMY" in given or not config.SQLITE_SQLALCHEMY.is_memory
    return "sqlite" if sqlite and not postgres else "postgres"


def resolve_target(
    settings: MigrationSettings, *, dsn: str | None = None, sqlite: str | None = None, use_async: bool = False
) -> DatabaseTarget:
    """The command line's database: ``--dsn``, ``--sqlite``, or the configuration (environment, ``.env``)."""
    use_async = use_async or settings.use_async
    if dsn:
        return target_from_dsn(dsn, use_async=use_async)
    if sqlite:
        return DatabaseTarget(SQLiteSQLAlchemyConfig(DATABASE=sqlite), "sqlite", use_async)
    config = BaseConfig()
    kind = _configured_kind(settings, config)
    if kind == "sqlite":
        section: SQLAlchemyConfig = config.SQLITE_SQLALCHEMY
        if config.SQLITE_SQLALCHEMY.is_memory:
            raise ConfigurationError(
                "SQLite is configured as :memory:, which no migration outlives; set SQLITE_SQLALCHEMY__DATABASE "
                "or pass --sqlite PATH"
            )
    else:
        section = config.POSTGRES_SQLALCHEMY
    return DatabaseTarget(section, kind, use_async)


def target_from(config_or_adapter: Any) -> DatabaseTarget:
    """A configuration section, a ``BaseConfig`` (PostgreSQL section), or a sync or async adapter."""
    subject = config_or_adapter
    if isinstance(subject, BaseConfig):
        return DatabaseTarget(subject.POSTGRES_SQLALCHEMY, "postgres", False)
    if isinstance(subject, SQLiteSQLAlchemyConfig):
        return DatabaseTarget(subject, "sqlite", False)
    if isinstance(subject, PostgresSQLAlchemyConfig):
        return DatabaseTarget(subject, "postgres", False)
    manager = getattr(subject, "session_manager", None)
    if manager is not None and hasattr(manager, "is_async"):
        return DatabaseTarget(manager.config, manager.kind, bool(manager.is_async), adapter=subject)
    raise InvalidArgumentError(
        f"expected a database configuration or an adapter, got {type(config_or_adapter).__name__}"
    )
