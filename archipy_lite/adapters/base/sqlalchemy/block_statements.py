"""Inside an atomic block, only the block ends its transaction.

A ``COMMIT`` sent by the code inside a block (as text, through ``exec_driver_sql``, as ``DDL``, in a
multi-statement string) or a commit of the connection or of SQLAlchemy's transaction would make the
work durable early: the block could no longer roll it back, and ``atomic(retries=N)`` would run it
again. Such statements and commits are refused with ``DatabaseTransactionError`` on every connection
an atomic block's session holds; ``SAVEPOINT``, ``RELEASE`` and ``ROLLBACK TO`` stay allowed.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from archipy_lite.models.errors import DatabaseTransactionError

_KEY = "archipy_atomic_block"  # connection.info: the block (a transactions.Transaction) holding it
_CANDIDATE = re.compile(r"commit|end|abort|rollback|begin|start", re.IGNORECASE)
_COMMENTS = re.compile(r"/\*.*?\*/|--[^\n]*", re.DOTALL)
_CONTROL = re.compile(
    r"(?:COMMIT|END|ABORT|ROLLBACK)(?:\s+(?:WORK|TRANSACTION))?(?:\s+AND\s+(?:NO\s+)?CHAIN)?"
    r"|(?:BEGIN|START\s+TRANSACTION)(?:\s+[A-Z_ ,]*)?",
    re.IGNORECASE,
)


def ends_or_restarts_transaction(sql: str) -> bool:
    """Whether ``sql`` holds a statement that commits, rolls back (not to a savepoint) or begins a transaction."""
    if _CANDIDATE.search(sql) is None:
        return False
    parts = _COMMENTS.sub(" ", sql).split(";")
    return any(_CONTROL.fullmatch(part.strip()) is not None for part in parts)


def refused(what: str) -> DatabaseTransactionError:
    return DatabaseTransactionError(
        f"{what} inside an atomic block would end its transaction early (and a retry would run committed work "
        "again): the block commits when it ends. Split the work into two blocks, or commit a unit of work "
        "early with unit.commit().",
        details={"reason": "transaction_control_in_block"},
    )


def mark(session: Session, connection: Connection) -> None:
    """``connection`` now serves the atomic block open on ``session`` (SQLAlchemy's ``after_begin``)."""
    block = getattr(session, "archipy_transaction", None)
    if block is not None:
        connection.info[_KEY] = block
    else:
        connection.info.pop(_KEY, None)


def _open_block(connection: Connection) -> Any:
    block = connection.info.get(_KEY)
    return None if block is None or block.closed else block


def _check_statement(connection: Connection, _cursor: Any, statement: str, *_: Any) -> None:
    if _open_block(connection) is not None and ends_or_restarts_transaction(statement):
        raise refused(statement.strip().split(None, 1)[0].upper() if statement.strip() else "COMMIT")


def _check_commit(connection: Connection) -> None:
    block = _open_block(connection)
    if block is not None and not getattr(block.session, "closing_block", False):
        raise refused("commit()")


def guard_blocks(engine: Engine) -> None:
    """Refuse transaction control from inside atomic blocks on ``engine``'s connections."""
    event.listen(engine, "before_cursor_execute", _check_statement)
    event.listen(engine, "commit", _check_commit)
