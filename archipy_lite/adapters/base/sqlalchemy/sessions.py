"""The Session class the adapters hand out, and what one adapter call outside atomic blocks means.

Three kinds of session exist, all ``ArchipySession``:

* an atomic block's own session (opened outside any unit of work), closed with the block;
* a unit of work's session, bound to the unit's connection;
* the ambient session of a thread or task outside any unit, bound to the engine, so every call
  checks a connection out and puts it back.

The last two outlive transactions. Between atomic blocks they never autoflush, never leave a
transaction open, and each call is durable when it returns: see ``ArchipySession.call``.
Statements that run outside any adapter call (a lazy load, ``session.execute``) go through
``_outside_calls`` and commit by themselves too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, Result
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.util.concurrency import in_greenlet

from archipy_lite import compat
from archipy_lite.adapters.base.sqlalchemy import block_statements
from archipy_lite.adapters.base.sqlalchemy.calls import Call
from archipy_lite.adapters.base.sqlalchemy.error_translation import translated_errors
from archipy_lite.adapters.base.sqlalchemy.lazy_loads import AsyncLoadError
from archipy_lite.adapters.base.sqlalchemy.pending_changes import unsaved
from archipy_lite.adapters.base.sqlalchemy.transactions import (
    Owner,
    Transaction,
    current_owner,
    discard_connection,
    end_call_transaction,
)

if TYPE_CHECKING:
    from archipy_lite.adapters.base.sqlalchemy.units import Unit

logger = logging.getLogger(__name__)
_KEPT = "archipy_kept_values"
ASYNC_IO_HINT = (
    "an async session cannot run a query from plain attribute access. Load what you need eagerly "
    "(select(...).options(selectinload(Model.relation))), or await it "
    "(await session.refresh(obj, ['relation']), or AsyncAttrs' obj.awaitable_attrs.relation)."
)


class ArchipySession(Session):
    """A Session that knows whether it serves an atomic block and who owns its connection."""

    # Set by the session manager (see DialectSupport and BaseSessionManager.new_session).
    single_statement_options: dict[str, Any] | None = None
    rollback_before_discard: bool = False
    is_async_proxy: bool = False
    recover_autocommit: Callable[[Connection], None] | None = None
    outlives_transactions: bool = False  # ambient and unit-of-work sessions serve many calls
    unit: Unit | None = None
    # Set while an atomic block is open on this session (see transactions.Transaction.begin).
    archipy_transaction: Transaction | None = None
    commit_is_held: bool = False  # inside a call: flushes are plain flushes, the call commits once
    closing_block: bool = False  # the outermost atomic level is committing (the one commit allowed in a block)
    call_depth: int = 0
    nested_write: bool = False

    @property
    def autocommit(self) -> bool:
        """True between atomic blocks: each call is its own transaction (or none)."""
        return self.outlives_transactions and self.archipy_transaction is None

    def get_bind(self, mapper: Any = None, **kw: Any) -> Engine | Connection:
        if self.unit is not None:
            return self.unit.connection()
        return super().get_bind(mapper, **kw)

    def in_call(self, owner: Owner | None = None) -> bool:
        if self.unit is not None:
            return self.unit.guard.holder == (owner or current_owner())
        return self.call_depth > 0

    def call(self, *, single_statement: bool = False, writes: Sequence[Any] | None = None) -> Call:
        """One adapter call: errors typed; outside atomic blocks, also its own short transaction.

        ``single_statement``: exactly one statement, run on a connection in autocommit mode.
        ``writes``: the call saves these objects (and their cascades) and commits. Otherwise the
        call only reads. See ``calls.Call``.
        """
        return Call(self, single_statement, writes)

    def commit(self) -> None:
        if self.autocommit and not self.commit_is_held:
            self.flush()  # a user's commit() between atomic blocks: save what is pending, durably
            return
        previous, self.commit_is_held = self.commit_is_held, True  # commit() flushes first: a plain flush
        try:
            super().commit()
        finally:
            self.commit_is_held = previous

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        if self.is_async_proxy and not in_greenlet():
            raise AsyncLoadError(f"A flush was needed, but {ASYNC_IO_HINT}")
        with translated_errors():
            if not self.autocommit or self.commit_is_held:
                super().flush(objects)
                return
            # ``get_session().flush()`` between atomic blocks (the tutorial's update): save everything.
            with self.call(writes=unsaved(self)):
                super().flush(objects)

    def recover_after_failure(self) -> None:
        """After a lone statement failed on a connection in autocommit mode (see DialectSupport)."""
        if self.recover_autocommit is None or self.get_transaction() is None:
            return
        try:
            self.recover_autocommit(self.connection())
        except Exception:
            logger.debug("recovering a connection after a failed statement raised; discarding it", exc_info=True)
            discard_connection(self)

    def _untouched_values(self) -> list[tuple[object, dict[str, Any]]]:
        """Values to put back after a rollback: everything loaded for objects the transaction did not
        touch, and only the primary key for the others (so they can still be identified and re-read)."""
        transaction = self.get_transaction()
        flushed = compat.flushed_states(transaction) if transaction is not None else {}
        kept: list[tuple[object, dict[str, Any]]] = []
        for state in self.identity_map.all_states():
            instance = state.obj()
            if instance is None:
                continue
            if state.modified or state in flushed:
                keys = {prop.key for prop in state.mapper.column_attrs if prop.columns[0].primary_key}
            else:
                keys = set(state.manager)
            kept.append((instance, {key: value for key, value in state.dict.items() if key in keys}))
        return kept


@event.listens_for(ArchipySession, "do_orm_execute")
def _outside_calls(state: ORMExecuteState) -> Result[Any] | None:
    """Statements no adapter call runs: refuse implicit async I/O; commit by themselves between blocks."""
    session = state.session
    if not isinstance(session, ArchipySession):
        return None
    if session.is_async_proxy and not in_greenlet():
        raise AsyncLoadError(f"Loading {_what(state)} needs a query, but {ASYNC_IO_HINT}")
    unit = session.unit
    if unit is not None and not unit.wrote and _may_write(state):
        if unit.on_replica and session.autocommit:
            end_call_transaction(session)  # an empty autocommit transaction on the replica's connection
        unit.will_write()  # before a connection is chosen for the statement: writes go to the primary
    if not session.autocommit or session.in_call():
        return None
    with session.call(single_statement=True):
        result = state.invoke_statement()
        if not getattr(result, "returns_rows", True):
            return result  # DML without RETURNING: already closed, its rowcount stays readable
        frozen = result.freeze()  # rows buffered: the result outlives the call's connection
    return frozen()


def _may_write(state: ORMExecuteState) -> bool:
    """Anything but a plain SELECT (text() statements included: their meaning is unknown)."""
    return not state.is_select or getattr(state.statement, "_for_update_arg", None) is not None


def _what(state: ORMExecuteState) -> str:
    if state.is_relationship_load:
        return "a relationship"
    if state.is_column_load:
        return "an expired or deferred attribute"
    return "a statement"


@event.listens_for(ArchipySession, "after_begin")
def _mark_block_connection(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    block_statements.mark(session, connection)  # so that the block alone may end its transaction


@event.listens_for(ArchipySession, "after_rollback")
def _remember_untouched(session: Session) -> None:
    # Runs after the database rolled back and before SQLAlchemy expires every object.
    if isinstance(session, ArchipySession) and session.outlives_transactions:
        session.info[_KEPT] = session._untouched_values()


@event.listens_for(ArchipySession, "after_soft_rollback")
def _restore_untouched(session: Session, _previous: SessionTransaction) -> None:
    for instance, values in session.info.pop(_KEPT, ()):
        for key, value in values.items():
            set_committed_value(instance, key, value)
