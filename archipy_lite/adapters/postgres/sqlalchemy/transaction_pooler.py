"""asyncpg behind a transaction-pooling PgBouncer: autocommit becomes one transaction per statement.

asyncpg prepares a statement and executes it in two exchanges with the server, each ended by a
Sync. Outside a transaction, a transaction pooler may hand the second exchange to another server
connection: "prepared statement does not exist" (measured: 1,237 failures in 2,000 autocommit reads
behind PgBouncer 1.18), or an unnamed statement bound on another client's connection. Inside a
transaction both exchanges reach the same server connection. So on such an engine, a connection
asked to autocommit stays transactional and commits after each statement: every statement is
still durable when it returns, for a BEGIN and a COMMIT more. psycopg needs none of this: it sends
a statement's whole exchange at once.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext

logger = logging.getLogger(__name__)

# The asyncpg connections currently "in autocommit" (asyncpg's Connection can be weakly referenced,
# SQLAlchemy's adapter around it cannot): a closed connection leaves the set by itself.
_autocommitting: weakref.WeakSet[Any] = weakref.WeakSet()


def _driver(dbapi_connection: Any) -> Any:
    return getattr(dbapi_connection, "driver_connection", dbapi_connection)


def emulate_autocommit(engine: Engine) -> None:
    """Make AUTOCOMMIT on ``engine`` (an asyncpg engine) a transaction per statement."""
    dialect: Any = engine.dialect
    set_level = dialect.set_isolation_level

    def set_isolation_level(dbapi_connection: Any, level: str) -> None:
        if level == "AUTOCOMMIT":
            _autocommitting.add(_driver(dbapi_connection))  # the driver keeps its transactional level
            return
        _autocommitting.discard(_driver(dbapi_connection))
        set_level(dbapi_connection, level)

    dialect.set_isolation_level = set_isolation_level
    event.listen(engine, "after_cursor_execute", _commit_statement)
    event.listen(engine, "handle_error", _roll_back_statement, insert=True)  # before errors are translated


def _emulating(connection: Connection | None) -> Any:
    """The driver-level connection when ``connection`` is in emulated autocommit, else None."""
    if connection is None or connection.closed or connection.invalidated:
        return None
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is None or _driver(dbapi_connection) not in _autocommitting:
        return None
    return dbapi_connection


def _commit_statement(connection: Connection, cursor: Any, *_: Any) -> None:
    dbapi_connection = _emulating(connection)
    if dbapi_connection is not None and not getattr(cursor, "server_side", False):
        dbapi_connection.commit()  # a server-side cursor needs its transaction: the next statement commits it


def _roll_back_statement(context: ExceptionContext) -> None:
    dbapi_connection = _emulating(context.connection)
    if dbapi_connection is None:
        return
    try:
        dbapi_connection.rollback()
    except Exception:  # the connection is broken; the error being handled says why
        logger.debug("rolling back a failed autocommit statement raised", exc_info=True)
