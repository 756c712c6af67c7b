"""Read-only SQLite engines: no statement on their connections can write anything.

``mode=ro`` protects the file only as long as nothing reopens it: ``PRAGMA query_only = OFF``
followed by ``ATTACH 'file:<same path>?mode=rw'`` would write it. So every connection of a
read-only engine also gets an authorizer that lets through reads, transactions, savepoints and
pragma *queries* only, and no database may be attached (which also stops ``VACUUM INTO``, as it
attaches its target).
Temporary tables, views and triggers are refused too: a pooled connection outlives its user, and
what one user leaves in ``temp`` would act on the next. A connection whose state was changed
anyway is discarded when it returns to the pool instead of being handed to the next user, and
every returning connection gets its authorizer again (sqlite3 cannot tell whether it was removed).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import PoolResetState

from archipy_lite.compat import await_
from archipy_lite.models.errors import DatabaseReadOnlyError

_ALWAYS_ALLOWED = frozenset(
    {
        sqlite3.SQLITE_SELECT,
        sqlite3.SQLITE_READ,
        sqlite3.SQLITE_TRANSACTION,
        sqlite3.SQLITE_SAVEPOINT,
        sqlite3.SQLITE_RECURSIVE,
    }
)
# Pragmas that take a name as their argument and only report (SQLAlchemy's reflection uses them),
# and read_uncommitted, which SQLAlchemy sets for isolation levels and which changes no data.
_NAMED_QUERY_PRAGMAS = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_info",
        "index_xinfo",
        "index_list",
        "foreign_key_list",
        "foreign_key_check",
        "integrity_check",
        "quick_check",
        "read_uncommitted",
    }
)
# Pragmas that act even without a value.
_ACTING_PRAGMAS = frozenset({"optimize", "incremental_vacuum", "wal_checkpoint", "shrink_memory"})
_REFUSED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer", "writefile", "readfile", "edit"})
# Table-valued pragma functions (``SELECT * FROM pragma_table_info('t')``) declare their columns
# through the schema table: SQLite reports that as an UPDATE of it, which writes nothing.
_SCHEMA_TABLES = frozenset({"sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"})


def read_only_authorizer(action: int, first: str | None, second: str | None, _db: str | None, _src: str | None) -> int:
    """SQLite authorizer callback: allow reads, deny everything that could change any database."""
    if action in _ALWAYS_ALLOWED:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA:
        return sqlite3.SQLITE_OK if _pragma_allowed(first or "", second) else sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_DENY if (second or "").lower() in _REFUSED_FUNCTIONS else sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_UPDATE and (first or "").lower() in _SCHEMA_TABLES:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _pragma_allowed(name: str, value: str | None) -> bool:
    name = name.lower()
    if name in _NAMED_QUERY_PRAGMAS:
        return True
    return value is None and name not in _ACTING_PRAGMAS


def _lock_down(connection: sqlite3.Connection) -> None:
    connection.set_authorizer(read_only_authorizer)


def _in_driver_thread(dbapi_connection: Any, function: Callable[[sqlite3.Connection], None]) -> None:
    """Run ``function`` on the sqlite3 connection, in aiosqlite's worker thread for async engines."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        function(dbapi_connection)
        return
    driver = dbapi_connection.driver_connection  # aiosqlite.Connection; sqlite3 checks the thread
    await_(driver._execute(function, driver._conn))  # the adapter's own await_ is private (gone in 2.1)


def _verify_untouched(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
    if not state.asyncio_safe:  # being garbage-collected: it will be closed, not reused
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA query_only")
        query_only = cursor.fetchone()
        cursor.execute("PRAGMA database_list")
        databases = [row[1] for row in cursor.fetchall()]
    finally:
        cursor.close()
    if query_only != (1,) or databases not in (["main"], ["main", "temp"]):
        # Raising here makes the pool close the connection instead of reusing it.
        raise DatabaseReadOnlyError("A read-only SQLite connection was changed; it is discarded, not reused.")
    # sqlite3 cannot report whether the authorizer was removed (through the raw driver): set it again.
    _in_driver_thread(dbapi_connection, _lock_down)


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    _in_driver_thread(dbapi_connection, _lock_down)


def guard_read_only(engine: Engine) -> None:
    """Lock down every new connection of ``engine``; call it after the listener that sets the pragmas."""
    event.listen(engine, "connect", _on_connect)  # listeners run in the order they were added
    event.listen(engine, "reset", _verify_untouched)
