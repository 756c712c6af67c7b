"""Database health checks: ``SELECT 1``, server version and round-trip latency."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from archipy_lite.adapters.base.sqlalchemy.ports import AsyncSQLAlchemyPort, SQLAlchemyPort
from archipy_lite.models.errors import BaseError


@dataclass(frozen=True)
class HealthReport:
    """Outcome of a health check; ``error`` is the typed error's dict when unhealthy."""

    healthy: bool
    dialect: str | None
    server_version: str | None
    latency_ms: float | None
    error: dict[str, Any] | None = None


def _version_query(dialect: str) -> str:
    return "SELECT sqlite_version()" if dialect == "sqlite" else "SHOW server_version"


def health_check(port: SQLAlchemyPort) -> HealthReport:
    """Run ``SELECT 1`` and read the server version; never raises for database failures."""
    try:
        dialect = port.get_session().get_bind().dialect.name
        started = time.perf_counter()
        port.execute(text("SELECT 1")).scalar_one()
        latency = (time.perf_counter() - started) * 1000
        version = str(port.execute(text(_version_query(dialect))).scalar_one())
    except BaseError as error:
        return HealthReport(False, None, None, None, error.to_dict())
    return HealthReport(True, dialect, version, round(latency, 3))


async def async_health_check(port: AsyncSQLAlchemyPort) -> HealthReport:
    """Async twin of ``health_check``."""
    try:
        dialect = port.get_session().get_bind().dialect.name
        started = time.perf_counter()
        (await port.execute(text("SELECT 1"))).scalar_one()
        latency = (time.perf_counter() - started) * 1000
        version = str((await port.execute(text(_version_query(dialect)))).scalar_one())
    except BaseError as error:
        return HealthReport(False, None, None, None, error.to_dict())
    return HealthReport(True, dialect, version, round(latency, 3))
