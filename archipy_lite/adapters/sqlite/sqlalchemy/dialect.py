"""SQLite specifics: pragmas, BEGIN handling that makes SAVEPOINT work, and in-memory pooling."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, QueuePool

from archipy_lite.adapters.base.sqlalchemy.engine_options import engine_arguments, pool_arguments
from archipy_lite.adapters.sqlite.sqlalchemy.case_folding import fold_case_insensitive_operators, register_function
from archipy_lite.adapters.sqlite.sqlalchemy.read_only import guard_read_only
from archipy_lite.configs.config_template import SQLiteSQLAlchemyConfig


def _pragmas(config: SQLiteSQLAlchemyConfig) -> list[str]:
    pragmas = [
        f"PRAGMA foreign_keys = {'ON' if config.FOREIGN_KEYS else 'OFF'}",
        f"PRAGMA busy_timeout = {config.BUSY_TIMEOUT}",
        # Make LIKE case-sensitive as on PostgreSQL; ILIKE compiles to archipy_lower() LIKE archipy_lower().
        "PRAGMA case_sensitive_like = ON",
    ]
    if config.READ_ONLY:
        pragmas.append("PRAGMA query_only = ON")
    elif config.JOURNAL_MODE and not config.is_memory:
        pragmas.append(f"PRAGMA journal_mode = {config.JOURNAL_MODE}")
    if config.SYNCHRONOUS:
        pragmas.append(f"PRAGMA synchronous = {config.SYNCHRONOUS}")
    return pragmas


_NO_BEGIN = "archipy_lite_no_begin"


POSTGRES_IDENTIFIER_LENGTH = 63


class SQLiteDialect:
    """Tells the session managers how to build SQLite engines."""

    kind = "sqlite"
    extra = "sqlite"
    async_engine_per_event_loop = False  # one engine keeps one :memory: database across event loops
    # The driver already runs in autocommit mode (see prepare_engine); this only skips our BEGIN.
    # SQLAlchemy's own AUTOCOMMIT would hand transaction control back to sqlite3 on checkin.
    single_statement_options: ClassVar[dict[str, Any]] = {_NO_BEGIN: True}
    rollback_before_discard = True

    def engine_arguments(self, config: SQLiteSQLAlchemyConfig, *, async_: bool) -> tuple[URL, dict[str, Any]]:
        url = config.url(async_=async_)
        connect_args: dict[str, Any] = {"timeout": config.BUSY_TIMEOUT / 1000}
        if not async_:
            connect_args["check_same_thread"] = False  # pooled connections move between threads
        connect_args.update(config.driver_connect_args())
        arguments = {**engine_arguments(config), **pool_arguments(config), "connect_args": connect_args}
        # Named, not left to SQLAlchemy: before 2.0.38 aiosqlite files got a NullPool (a new connection
        # per checkout, and the pool settings above rejected).
        arguments["poolclass"] = AsyncAdaptedQueuePool if async_ else QueuePool
        if config.is_memory:
            # One connection holds the in-memory database; sharing it through a pool of one
            # serialises users instead of giving each thread its own empty database.
            arguments.update(
                pool_size=1,
                max_overflow=0,
                pool_recycle=-1,
                pool_pre_ping=False,
            )
        return url, arguments

    def prepare_engine(self, engine: Engine, config: SQLiteSQLAlchemyConfig) -> None:
        pragmas = _pragmas(config)
        begin = "BEGIN" if config.READ_ONLY else f"BEGIN {config.BEGIN_MODE}"
        fold_case_insensitive_operators(engine)
        # PostgreSQL's identifier limit: generated constraint and index names longer than 63 characters
        # are shortened the same way on both databases (SQLite would keep them whole), so a migration
        # written against one drops and alters them by the same name on the other.
        engine.dialect.max_identifier_length = POSTGRES_IDENTIFIER_LENGTH

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Stop the driver from issuing its own BEGIN/COMMIT so SQLAlchemy controls transactions
            # (required for SAVEPOINT and for BEGIN IMMEDIATE).
            dbapi_connection.isolation_level = None
            register_function(dbapi_connection)
            cursor = dbapi_connection.cursor()
            try:
                for pragma in pragmas:
                    cursor.execute(pragma)
            finally:
                cursor.close()

        if config.READ_ONLY:
            guard_read_only(engine)

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            if not connection.get_execution_options().get(_NO_BEGIN):
                connection.exec_driver_sql(begin)

    def recover_autocommit(self, connection: Connection) -> None:
        """Nothing to do: a failed statement leaves no transaction behind."""

    def set_session_read_only(self, connection: Connection, on: bool) -> bool:
        """``PRAGMA query_only``; a connection that is query-only already (a data set's) is left alone."""
        try:
            if on and connection.exec_driver_sql("PRAGMA query_only").scalar():
                return False
            connection.exec_driver_sql(f"PRAGMA query_only = {'ON' if on else 'OFF'}")
            return True
        finally:
            connection.commit()  # ends SQLAlchemy's own bookkeeping; nothing is pending

    def begin_read_only(self, connection: Connection) -> None:
        """SQLite transactions cannot be declared read-only; a read-only unit sets query_only instead."""

    def set_autocommit(self, connection: Connection, on: bool) -> None:
        """The driver always autocommits here (see ``prepare_engine``): only our BEGIN is skipped or not."""
        connection.execution_options(**{_NO_BEGIN: on})
