"""Choosing the database a command talks to: ``--dsn``, ``--sqlite``, environment, or embedded SQLite."""

from __future__ import annotations

import os
from dataclasses import dataclass

from archipy_lite.configs.base_config import BaseConfig
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig

POSTGRES_ENV_PREFIX = "POSTGRES_SQLALCHEMY__"


@dataclass(frozen=True)
class Target:
    """The database a command will use and why."""

    kind: str  # "postgres" | "sqlite"
    config: PostgresSQLAlchemyConfig | SQLiteSQLAlchemyConfig
    source: str


def postgres_configured_in_environment() -> bool:
    """True when any ``POSTGRES_SQLALCHEMY__*`` variable is set."""
    return any(name.startswith(POSTGRES_ENV_PREFIX) for name in os.environ)


def choose_target(dsn: str | None, sqlite_path: str | None, *, postgres_default: bool = False) -> Target:
    """``--dsn`` wins, then ``--sqlite``, then PostgreSQL settings in the environment, then the default.

    The default is in-memory SQLite, or (``postgres_default``) PostgreSQL as configured by ``.env`` and defaults.
    """
    if dsn:
        return Target("postgres", PostgresSQLAlchemyConfig(POSTGRES_DSN=dsn), "--dsn")
    if sqlite_path:
        return Target("sqlite", SQLiteSQLAlchemyConfig(DATABASE=sqlite_path), "--sqlite")
    settings = BaseConfig()
    if postgres_configured_in_environment():
        return Target("postgres", settings.POSTGRES_SQLALCHEMY, "environment (POSTGRES_SQLALCHEMY__*)")
    if postgres_default:
        return Target("postgres", settings.POSTGRES_SQLALCHEMY, ".env file and defaults")
    return Target("sqlite", settings.SQLITE_SQLALCHEMY, "embedded SQLite (no PostgreSQL configured)")
