"""PostgreSQL specifics: driver connect arguments for psycopg 3 and asyncpg."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from sqlalchemy.engine import URL, Connection, Engine

from archipy_lite.adapters.base.sqlalchemy.engine_options import engine_arguments, pool_arguments
from archipy_lite.adapters.postgres.sqlalchemy.compatibility import accept_foreign_version_strings
from archipy_lite.adapters.postgres.sqlalchemy.transaction_pooler import emulate_autocommit
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig
from archipy_lite.models.errors import ConfigurationError


def _libpq_arguments(config: PostgresSQLAlchemyConfig) -> dict[str, Any]:
    """Connect arguments understood by psycopg (libpq keywords)."""
    arguments: dict[str, Any] = {}
    if config.CONNECT_TIMEOUT is not None:
        arguments["connect_timeout"] = max(1, round(config.CONNECT_TIMEOUT))
    if config.APPLICATION_NAME:
        arguments["application_name"] = config.APPLICATION_NAME
    if config.STATEMENT_TIMEOUT:
        arguments["options"] = f"-c statement_timeout={config.STATEMENT_TIMEOUT}"
    if config.POOLER_MODE == "transaction":
        arguments["prepare_threshold"] = None  # psycopg would otherwise prepare a statement run 5 times
    ssl = {
        "sslmode": config.SSL_MODE,
        "sslrootcert": config.SSL_ROOT_CERT,
        "sslcert": config.SSL_CERT,
        "sslkey": config.SSL_KEY,
    }
    arguments.update({key: value for key, value in ssl.items() if value is not None})
    return arguments


def _unique_statement_name() -> str:
    return f"__archipy_{uuid.uuid4().hex}__"


# Behind a transaction pooler the next transaction may run on another server connection: asyncpg's
# statement cache and SQLAlchemy's must be off, and the statements SQLAlchemy still prepares (it
# prepares every one) need names no other client of the same server connection can be using.
_ASYNCPG_BEHIND_TRANSACTION_POOLER: dict[str, Any] = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": _unique_statement_name,
}


def _asyncpg_arguments(config: PostgresSQLAlchemyConfig, url: URL) -> tuple[URL, dict[str, Any]]:
    """Connect arguments understood by asyncpg; libpq-only URL parameters are moved across."""
    arguments: dict[str, Any] = {}
    server_settings: dict[str, str] = {}
    if config.CONNECT_TIMEOUT is not None:
        arguments["timeout"] = config.CONNECT_TIMEOUT
    if config.APPLICATION_NAME:
        server_settings["application_name"] = config.APPLICATION_NAME
    if config.STATEMENT_TIMEOUT:
        server_settings["statement_timeout"] = str(config.STATEMENT_TIMEOUT)
    if server_settings:
        arguments["server_settings"] = server_settings
    if config.POOLER_MODE == "transaction":
        arguments.update(_ASYNCPG_BEHIND_TRANSACTION_POOLER)
    sslmode = url.query.get("sslmode") or config.SSL_MODE
    if "sslmode" in url.query:
        url = url.difference_update_query(["sslmode"])
    if isinstance(sslmode, str):
        arguments["ssl"] = sslmode
    if config.SSL_ROOT_CERT or config.SSL_CERT or config.SSL_KEY:
        raise ConfigurationError(
            "SSL_ROOT_CERT/SSL_CERT/SSL_KEY are not supported with asyncpg; pass an ssl.SSLContext "
            "in CONNECT_ARGS={'ssl': context} instead",
            details={"fields": ["SSL_ROOT_CERT", "SSL_CERT", "SSL_KEY"]},
        )
    return url, arguments


class PostgresDialect:
    """Tells the session managers how to build PostgreSQL engines."""

    kind = "postgres"
    extra = "postgres"
    async_engine_per_event_loop = True  # asyncpg connections belong to the loop that opened them
    # The driver's autocommit mode; SQLAlchemy restores the isolation level when the connection
    # goes back to the pool (an attribute on the driver connection, no round trip).
    single_statement_options: ClassVar[dict[str, Any]] = {"isolation_level": "AUTOCOMMIT"}
    rollback_before_discard = False

    def engine_arguments(self, config: PostgresSQLAlchemyConfig, *, async_: bool) -> tuple[URL, dict[str, Any]]:
        url = config.url(async_=async_)
        if url.get_driver_name() == "asyncpg":
            url, connect_args = _asyncpg_arguments(config, url)
        else:
            connect_args = _libpq_arguments(config)
        connect_args.update(config.driver_query_args())
        connect_args.update(config.driver_connect_args())
        return url, {**engine_arguments(config), **pool_arguments(config), "connect_args": connect_args}

    def prepare_engine(self, engine: Engine, config: PostgresSQLAlchemyConfig) -> None:
        """Read the version of PostgreSQL-compatible servers too (CockroachDB); make asyncpg safe behind
        a transaction pooler (see ``transaction_pooler``)."""
        accept_foreign_version_strings(engine)
        if config.POOLER_MODE == "transaction" and engine.dialect.driver == "asyncpg":
            emulate_autocommit(engine)

    def replica_set(self, config: PostgresSQLAlchemyConfig, *, is_async: bool) -> Any:
        """The read replicas in ``config`` (see ``replica_sets.replicas_of``)."""
        from archipy_lite.adapters.postgres.sqlalchemy import replicas

        return replicas.AsyncPostgresReplicaSet(config) if is_async else replicas.PostgresReplicaSet(config)

    def recover_autocommit(self, connection: Connection) -> None:
        """asyncpg leaves the server inside an implicit transaction when it refuses a parameter it
        has started to send outside a transaction; the next BEGIN then fails. End it."""
        if connection.dialect.driver == "asyncpg":
            connection.exec_driver_sql("ROLLBACK")

    def set_session_read_only(self, connection: Connection, on: bool) -> bool:
        """One round trip; also covers statements run in autocommit (each is its own transaction)."""
        mode = "READ ONLY" if on else "READ WRITE"
        connection.exec_driver_sql(f"SET SESSION CHARACTERISTICS AS TRANSACTION {mode}")
        connection.commit()  # nothing to commit in autocommit mode; ends SQLAlchemy's own bookkeeping
        return True

    def begin_read_only(self, connection: Connection) -> None:
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")

    def set_autocommit(self, connection: Connection, on: bool) -> None:
        """Driver autocommit on, or back to the engine's isolation level (attributes, no round trip)."""
        dialect = connection.dialect
        driver_connection = connection.connection.dbapi_connection
        assert driver_connection is not None  # the connection is checked out
        if on:
            dialect.set_isolation_level(driver_connection, "AUTOCOMMIT")
        else:
            dialect.reset_isolation_level(driver_connection)
