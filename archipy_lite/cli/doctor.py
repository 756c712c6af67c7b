"""``archipy-lite doctor``: show the effective settings, connect, and report or diagnose."""

from __future__ import annotations

import statistics
import time
from typing import Any

from pydantic import SecretStr
from sqlalchemy import text

from archipy_lite.adapters.base.sqlalchemy.adapters import BaseSQLAlchemyAdapter
from archipy_lite.adapters.base.sqlalchemy.atomic import atomic
from archipy_lite.adapters.postgres.sqlalchemy.adapters import PostgresSQLAlchemyAdapter
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import SQLiteSQLAlchemyAdapter
from archipy_lite.cli.diagnosis import diagnose_postgres, diagnose_sqlite
from archipy_lite.cli.output import Printer
from archipy_lite.cli.replica_report import masked_replica_dsns, report_replicas
from archipy_lite.cli.targets import Target
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.configs.secrets import masked
from archipy_lite.models.errors import BaseError

_SHOWN = (
    "HOST",
    "PORT",
    "DATABASE",
    "USERNAME",
    "PASSWORD",
    "DRIVER_NAME",
    "ASYNC_DRIVER_NAME",
    "ISOLATION_LEVEL",
    "POOL_SIZE",
    "POOL_MAX_OVERFLOW",
    "POOL_TIMEOUT",
    "POOL_RECYCLE_SECONDS",
    "POOL_PRE_PING",
    "CONNECT_TIMEOUT",
    "STATEMENT_TIMEOUT",
    "APPLICATION_NAME",
    "SSL_MODE",
    "HOSTS",
    "TARGET_SESSION_ATTRS",
    "POOLER_MODE",
    "READ_REPLICA_DSNS",
    "JOURNAL_MODE",
    "BUSY_TIMEOUT",
    "FOREIGN_KEYS",
    "READ_ONLY",
)


def masked_settings(config: PostgresSQLAlchemyConfig | SQLiteSQLAlchemyConfig) -> list[tuple[str, object]]:
    """The settings worth showing, with every secret replaced by asterisks."""
    shown: list[tuple[str, object]] = []
    for name in _SHOWN:
        if name not in type(config).model_fields:
            continue
        value: Any = getattr(config, name)
        if isinstance(value, SecretStr):
            value = "********" if value.get_secret_value() else "(empty)"
        if name == "READ_REPLICA_DSNS" and isinstance(config, PostgresSQLAlchemyConfig):
            value = ", ".join(masked_replica_dsns(config)) or "[]"
        shown.append((name, value))
    if config.CONNECT_ARGS:
        shown.append(("CONNECT_ARGS", masked(config.CONNECT_ARGS)))
    if isinstance(config, PostgresSQLAlchemyConfig):
        shown.insert(0, ("DSN", config.masked_dsn()))
    return shown


def _probe(adapter: BaseSQLAlchemyAdapter, kind: str) -> list[tuple[str, object]]:
    version_sql = "SHOW server_version" if kind == "postgres" else "SELECT sqlite_version()"
    isolation_sql = "SHOW transaction_isolation" if kind == "postgres" else "PRAGMA journal_mode"
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        adapter.execute(text("SELECT 1")).scalar_one()
        timings.append((time.perf_counter() - started) * 1000)
    version = adapter.execute(text(version_sql)).scalar_one()
    with atomic(adapter):  # the level transactions run at (a lone statement runs in autocommit)
        isolation = adapter.execute(text(isolation_sql)).scalar_one()
    pool = adapter.session_manager.engine.pool
    return [
        ("server version", version),
        ("isolation level" if kind == "postgres" else "journal mode", isolation),
        ("pool", f"{type(pool).__name__}: {pool.status()}"),
        ("round trip", f"median {statistics.median(timings):.2f} ms over {len(timings)} queries"),
    ]


def run_doctor(target: Target, printer: Printer) -> int:
    """Print settings, connect and report; returns 0 when healthy, 1 otherwise."""
    printer.line(f"archipy-lite doctor ({target.kind}, settings from {target.source})")
    printer.heading("Effective settings")
    printer.pairs(masked_settings(target.config))
    adapter: BaseSQLAlchemyAdapter
    if isinstance(target.config, PostgresSQLAlchemyConfig):
        adapter = PostgresSQLAlchemyAdapter(orm_config=target.config)
    else:
        adapter = SQLiteSQLAlchemyAdapter(orm_config=target.config)
    printer.heading("Connection")
    try:
        report = _probe(adapter, target.kind)
    except BaseError as error:
        if isinstance(target.config, PostgresSQLAlchemyConfig):
            reason = diagnose_postgres(target.config, error)
        else:
            reason = diagnose_sqlite(target.config, error)
        printer.line(f"  FAILED: {reason}")
        return 1
    finally:
        adapter.session_manager.dispose()
    printer.pairs(report)
    config = target.config
    if (
        isinstance(config, PostgresSQLAlchemyConfig)
        and config.READ_REPLICA_DSNS
        and not report_replicas(config, printer)
    ):
        printer.line()
        printer.line("FAILED: a read replica is unreachable or no longer a replica (reads use the primary)")
        return 1
    printer.line()
    printer.line("OK")
    return 0
