"""PostgreSQL read replicas: WAL positions from streaming standbys, and replica sets built from settings.

::

    replicas = PostgresReplicaSet(config)            # config.READ_REPLICA_DSNS
    engine = replicas.pick(token)                    # a replica's engine, or None: read the primary
    token = replicas.token_after_commit(connection)  # after a commit on the primary
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from archipy_lite.adapters.base.sqlalchemy.consistency_tokens import ConsistencyTokens
from archipy_lite.adapters.base.sqlalchemy.registry import dialect_for
from archipy_lite.adapters.base.sqlalchemy.replica_routing import ReplicaPolicy, ReplicaPosition
from archipy_lite.adapters.base.sqlalchemy.replica_sets import AsyncReplicaSet, ReplicaSet, private_managers
from archipy_lite.adapters.base.sqlalchemy.session_managers import AsyncSessionManager, DialectSupport, SessionManager
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig
from archipy_lite.configs.replica_settings import read_replica_configs

# The insert position, not pg_current_wal_lsn(): under synchronous_commit=off the write position can
# still be short of a commit that has returned. Also the offset in the WAL segment and the page size,
# to undo one quirk (see record_end).
PRIMARY_POSITION_SQL = (
    "SELECT lsn - '0/0'::pg_lsn, (pg_walfile_name_offset(lsn)).file_offset, current_setting('wal_block_size')::int "
    "FROM pg_current_wal_insert_lsn() AS lsn"
)
_PRIMARY_POSITION = text(PRIMARY_POSITION_SQL)
# Lag counts only while received WAL waits to be applied: an idle replica is not late.
_REPLICA_POSITION = text(
    "SELECT pg_is_in_recovery(), COALESCE(pg_last_wal_replay_lsn() - '0/0'::pg_lsn, 0), "
    "CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() "
    "THEN 0 ELSE COALESCE(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)
# Page header sizes on 64-bit servers: the first page of a segment has the long header.
_SHORT_PAGE_HEADER, _LONG_PAGE_HEADER = 24, 40


def record_end(position: int, segment_offset: int, block_size: int) -> int:
    """Turn an insert position into the end of the last record.

    When the last record ends exactly on a page boundary, the insert position points past the next
    page's header, which no replica reports before more WAL is written: an idle primary would make
    every token wait. A record cannot end right after a page header, so the header can be taken off.
    """
    if segment_offset == _LONG_PAGE_HEADER:
        return position - _LONG_PAGE_HEADER
    if segment_offset % block_size == _SHORT_PAGE_HEADER:
        return position - _SHORT_PAGE_HEADER
    return position


class PostgresPositions:
    """Reads WAL positions with PostgreSQL's functions (``PositionProbe``)."""

    def primary_position(self, connection: Connection) -> int:
        position, segment_offset, block_size = connection.execute(_PRIMARY_POSITION).one()
        return record_end(int(position), int(segment_offset), int(block_size))

    def replica_position(self, connection: Connection) -> ReplicaPosition:
        in_recovery, replayed, lag = connection.execute(_REPLICA_POSITION).one()
        return ReplicaPosition(in_recovery=bool(in_recovery), replayed=int(replayed), lag_seconds=float(lag))


def _postgres_dialect() -> DialectSupport:
    return dialect_for("postgres")


def replica_policy(config: PostgresSQLAlchemyConfig) -> ReplicaPolicy:
    """The ``READ_REPLICA_*`` timing settings."""
    return ReplicaPolicy(
        max_lag_seconds=config.READ_REPLICA_MAX_LAG_SECONDS,
        retry_seconds=config.READ_REPLICA_RETRY_SECONDS,
        check_seconds=config.READ_REPLICA_CHECK_SECONDS,
        wait_seconds=config.READ_REPLICA_WAIT_SECONDS,
    )


def consistency_tokens(config: PostgresSQLAlchemyConfig) -> ConsistencyTokens:
    secret = config.CONSISTENCY_TOKEN_SECRET
    return ConsistencyTokens(secret.get_secret_value() if secret is not None else None)


class PostgresReplicaSet(ReplicaSet):
    """The replicas in ``config.READ_REPLICA_DSNS``, for sync code (psycopg)."""

    def __init__(self, config: PostgresSQLAlchemyConfig) -> None:
        managers = private_managers(SessionManager, read_replica_configs(config), _postgres_dialect)
        super().__init__(
            managers, PostgresPositions(), policy=replica_policy(config), tokens=consistency_tokens(config)
        )


class AsyncPostgresReplicaSet(AsyncReplicaSet):
    """The replicas in ``config.READ_REPLICA_DSNS``, for async code (asyncpg or psycopg async)."""

    def __init__(self, config: PostgresSQLAlchemyConfig) -> None:
        managers = private_managers(AsyncSessionManager, read_replica_configs(config), _postgres_dialect)
        super().__init__(
            managers, PostgresPositions(), policy=replica_policy(config), tokens=consistency_tokens(config)
        )
