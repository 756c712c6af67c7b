"""One adapter call on a session: typed errors and, between atomic blocks, a short transaction of its own.

It runs around every adapter call, so it is one small class rather than a stack of generator
context managers. What a call does between atomic blocks:

* ``single_statement``: exactly one statement, on a connection in autocommit mode: no BEGIN or
  COMMIT round trips, no SQLite write lock. A unit of work's session keeps SQLAlchemy's (empty)
  transaction open across such calls: its connection is in autocommit mode, so nothing is pending
  in the database, and re-opening it per call would cost CPU for nothing;
* ``writes``: the call saves these objects (and what they cascade to) and commits; another
  object's unsaved change makes it raise ``PendingChangesError`` instead;
* otherwise the call reads, in a transaction that ends without a flush, so it never writes
  another object's unsaved change, and refreshed objects keep their unsaved values.

Inside an atomic block, or inside another call (a generator holding one open), a call joins: a
failed statement is noted on the transaction, and a write joining a read makes the outer call commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from archipy_lite.adapters.base.sqlalchemy.error_translation import translate_exception
from archipy_lite.adapters.base.sqlalchemy.pending_changes import (
    put_back_unsaved,
    refuse_pending_changes,
    unsaved_values,
)
from archipy_lite.adapters.base.sqlalchemy.transactions import (
    current_owner,
    discard_connection,
    end_call_transaction,
    rollback_quietly,
)
from archipy_lite.models.errors import BaseError, DatabaseError

if TYPE_CHECKING:
    from archipy_lite.adapters.base.sqlalchemy.sessions import ArchipySession


class Call:
    """``with session.call(...):`` around the body of one adapter call (see the module docs)."""

    __slots__ = ("_held", "_kept", "_own", "_session", "_single", "_writes")

    def __init__(self, session: ArchipySession, single_statement: bool, writes: Sequence[Any] | None) -> None:
        self._session = session
        self._single = single_statement
        self._writes = writes
        self._own = False
        self._held = False
        self._kept: list[tuple[Any, dict[str, Any]]] | None = None

    def __enter__(self) -> None:
        session = self._session
        unit = session.unit
        if unit is not None:
            unit.turns.enter_guard(unit.guard, current_owner())
            nested = unit.guard.depth > 1
        else:
            nested = session.call_depth > 0
        session.call_depth += 1
        self._own = session.autocommit and not nested
        if not self._own:
            return
        try:
            self._begin(session)
        except BaseException as exc:
            self._leave(session)
            _raise_typed(exc)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session = self._session
        try:
            if self._own:
                self._end(session, exc)
            elif exc is None:
                if self._writes is not None and session.call_depth > 1:
                    session.nested_write = True
            else:
                if isinstance(exc, DatabaseError) and session.archipy_transaction is not None:
                    session.archipy_transaction.note_failure()
                _raise_typed(exc)
        finally:
            self._leave(session)

    # -- the call's own transaction --

    def _begin(self, session: ArchipySession) -> None:
        unit = session.unit
        if unit is None or not self._single or self._writes is not None:
            end_call_transaction(session)  # a unit's empty autocommit transaction, or what direct use left
        if self._writes is not None:
            refuse_pending_changes(session, self._writes)
            if unit is not None and not unit.wrote:
                unit.will_write()
        else:
            self._kept = unsaved_values(session)
        self._held, session.commit_is_held = session.commit_is_held, True
        if self._single:
            if unit is None and session.single_statement_options:
                session.connection(execution_options=session.single_statement_options)
        elif unit is not None:
            unit.set_autocommit(False)

    def _end(self, session: ArchipySession, exc: BaseException | None) -> None:
        unit = session.unit
        keep_open = False
        try:
            if exc is None:
                try:
                    if self._writes is not None or session.nested_write:
                        session.commit()
                    else:
                        keep_open = unit is not None and self._single
                        if self._kept:
                            put_back_unsaved(self._kept)
                except BaseException as failure:
                    exc = failure
            if exc is not None:
                self._fail(session, exc)
        finally:
            session.commit_is_held = self._held
            session.nested_write = False
            if not keep_open:
                end_call_transaction(session)
            if unit is not None:
                unit.set_autocommit(True)

    def _fail(self, session: ArchipySession, exc: BaseException) -> None:
        if isinstance(exc, asyncio.CancelledError):
            discard_connection(session)
            raise exc
        if self._single:
            session.recover_after_failure()
        rollback_quietly(session)
        _raise_typed(exc)

    def _leave(self, session: ArchipySession) -> None:
        session.call_depth -= 1
        if session.unit is not None:
            session.unit.guard.exit()


def _typed(exc: BaseException) -> BaseException:
    if isinstance(exc, BaseError) or not isinstance(exc, Exception):
        return exc
    return translate_exception(exc)


def _raise_typed(exc: BaseException) -> None:
    """Raise ``exc`` as its typed error (chained to it), or unchanged when it has none."""
    typed = _typed(exc)
    if typed is exc:
        raise exc
    raise typed from exc
