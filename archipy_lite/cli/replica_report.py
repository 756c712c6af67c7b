"""The read-replica part of ``archipy-lite doctor``: each replica's reachability and lag."""

from __future__ import annotations

from archipy_lite.adapters.base.sqlalchemy.replica_routing import ReplicaStatus, sync_engine_of
from archipy_lite.adapters.postgres.sqlalchemy.adapters import PostgresSQLAlchemyAdapter
from archipy_lite.adapters.postgres.sqlalchemy.replicas import PostgresReplicaSet
from archipy_lite.cli.output import Printer
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig
from archipy_lite.configs.replica_settings import read_replica_configs
from archipy_lite.models.errors import BaseError


def masked_replica_dsns(config: PostgresSQLAlchemyConfig) -> list[str]:
    """Each replica's effective DSN (what it takes from the primary included), password masked."""
    return [replica.masked_dsn() for replica in read_replica_configs(config)]


def _describe(status: ReplicaStatus, primary_position: int | None) -> str:
    if not status.reachable or status.position is None:
        return (status.reason or "unreachable").replace("unreachable", "UNREACHABLE", 1)
    position = status.position
    if not position.in_recovery:
        return "NOT A REPLICA: the server is not in recovery (promoted?)"
    behind = ""
    if primary_position is not None:
        behind = f"{max(0, primary_position - position.replayed):,} bytes of WAL behind the primary, "
    verdict = f"skipped: {status.reason}" if status.reason else "in use"
    return f"reachable, {behind}{position.lag_seconds:.2f} s replay lag; {verdict}"


def _primary_position(config: PostgresSQLAlchemyConfig, replicas: PostgresReplicaSet) -> int | None:
    adapter = PostgresSQLAlchemyAdapter(config)
    try:
        with sync_engine_of(adapter.session_manager).connect() as connection:
            return replicas.router.primary_position(connection)
    except BaseError:
        return None  # the connection report above already says why
    finally:
        adapter.session_manager.dispose()


def report_replicas(config: PostgresSQLAlchemyConfig, printer: Printer) -> bool:
    """Print one line per replica; True when every replica is reachable and still a replica."""
    replicas = PostgresReplicaSet(config)
    try:
        primary_position = _primary_position(config, replicas)
        statuses = replicas.status()
    finally:
        replicas.dispose()
    printer.heading("Read replicas")
    dsns = masked_replica_dsns(config)
    printer.pairs(
        (f"replica {status.index} {dsns[status.index]}", _describe(status, primary_position)) for status in statuses
    )
    return all(status.reachable and status.position is not None and status.position.in_recovery for status in statuses)
