"""One transaction on one session: its levels (the transaction and its SAVEPOINTs), failures and callbacks.

``atomic`` blocks and units of work drive a ``Transaction``; nothing else begins, releases, commits
or rolls back. A ``Level`` is one open block: the outermost one is the transaction itself, the
others are savepoints. Callbacks registered with ``on_commit`` are tagged with the numbers of the
levels open at registration, as Django does: rolling a level back drops exactly the callbacks
tagged with it, whatever its siblings did. Every method is synchronous and may do I/O; async
callers run it in a greenlet. Context variables are never touched here.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from sqlalchemy.exc import InvalidRequestError, PendingRollbackError
from sqlalchemy.orm import Session, SessionTransaction

from archipy_lite.adapters.base.sqlalchemy.error_translation import translate_exception
from archipy_lite.models.errors import DatabaseTransactionError

logger = logging.getLogger(__name__)
Callback = Callable[[], Any]
Owner = tuple[int, object]  # (thread id, asyncio task or None)


def current_owner() -> Owner:
    """Identify the running thread and asyncio task (None outside a task)."""
    try:
        task: object = asyncio.current_task()
    except RuntimeError:
        task = None
    return threading.get_ident(), task


@dataclass(eq=False)
class Level:
    """One open block of a transaction: the transaction itself (no savepoint) or a savepoint."""

    transaction: Transaction
    number: int
    owner: Owner
    savepoint: SessionTransaction | None = None
    failed: bool = False  # a statement failed at this level and its error was caught inside it
    closed: bool = False

    @property
    def is_outermost(self) -> bool:
        return self.savepoint is None


@dataclass(eq=False)
class Transaction:
    """The open transaction of ``session`` with its levels, innermost last.

    ``on_end`` runs once the transaction is over, committed or not (close the session, put the
    connection back in autocommit mode).
    """

    session: Session
    on_end: Callable[[], None] | None = None
    handed_out: Any = None  # the session callers get (an AsyncSession for async blocks)
    owner: Owner | None = None
    levels: list[Level] = field(default_factory=list)
    callbacks: list[tuple[frozenset[int], Callback]] = field(default_factory=list)
    rollback_only: bool = False
    closed: bool = False
    _numbers: count[int] = field(default_factory=count)

    def begin(self, owner: Owner) -> Level:
        """Open the outermost level. No I/O: the connection is taken by the first statement."""
        self.session.begin()
        self.session.archipy_transaction = self  # type: ignore[attr-defined]
        self.owner = owner
        return self._push(owner, None)

    def savepoint(self, owner: Owner) -> Level:
        """Open a nested level (SAVEPOINT)."""
        try:
            savepoint = self.session.begin_nested()
        except BaseException as exc:
            raise typed_error(exc) from exc
        return self._push(owner, savepoint)

    def on_commit(self, callback: Callback) -> None:
        """Run ``callback`` after the outermost commit, unless a level open now rolls back first."""
        self.callbacks.append((frozenset(level.number for level in self.levels), callback))

    def note_failure(self) -> None:
        """A statement failed at the innermost level (PostgreSQL refuses further work there)."""
        if self.levels and not any(level.failed for level in self.levels):
            self.levels[-1].failed = True

    def close(self, level: Level, *, failed: bool) -> list[Callback]:
        """Close ``level``; return the callbacks due now (after an outermost commit).

        Levels opened inside ``level`` and never closed (a generator abandoned mid-block) are
        rolled back first.
        """
        if level.closed:
            return []
        while self.levels and self.levels[-1] is not level:
            self._close_savepoint(self.levels[-1], failed=True)
        if not level.is_outermost:
            self._close_savepoint(level, failed=failed)
            return []
        return self._close_outermost(level, failed=failed)

    def abandon(self) -> None:
        """Roll back whatever is open (the owner is gone, or its connection was discarded)."""
        if self.levels:
            self.close(self.levels[0], failed=True)

    # -- internals, in the order they run --

    def _push(self, owner: Owner, savepoint: SessionTransaction | None) -> Level:
        level = Level(self, next(self._numbers), owner, savepoint)
        self.levels.append(level)
        return level

    def _close_savepoint(self, level: Level, *, failed: bool) -> None:
        self.levels.pop()
        level.closed = True
        savepoint = level.savepoint
        assert savepoint is not None
        if failed or level.failed:
            self.callbacks = [(tags, cb) for tags, cb in self.callbacks if level.number not in tags]
            try:
                savepoint.rollback()  # a failed flush leaves it inactive but still to be rolled back
            except InvalidRequestError:
                pass  # already closed: nothing left to undo
            except BaseException:
                self.rollback_only = True
                raise
            if level.failed and not failed:
                raise must_roll_back()
            return
        try:
            savepoint.commit()
        except BaseException as exc:
            raise typed_error(exc) from exc

    def _close_outermost(self, level: Level, *, failed: bool) -> list[Callback]:
        session = self.session
        committed = False
        try:
            if failed or self.rollback_only:
                rollback_quietly(session)
            elif level.failed:
                rollback_quietly(session)
                raise must_roll_back()
            else:
                try:
                    session.closing_block = True  # type: ignore[attr-defined]
                    session.commit()
                except BaseException as exc:
                    rollback_quietly(session)
                    raise typed_error(exc) from exc
                finally:
                    session.closing_block = False  # type: ignore[attr-defined]
                committed = True
        finally:
            self.levels.clear()
            level.closed = self.closed = True
            session.archipy_transaction = None  # type: ignore[attr-defined]
            if self.on_end is not None:
                self.on_end()
        return [callback for _, callback in self.callbacks] if committed else []


def must_roll_back() -> DatabaseTransactionError:
    return DatabaseTransactionError(
        "An earlier statement in this atomic block failed, so the transaction can only roll back. "
        "Wrap statements you expect to fail in a nested atomic() block to recover from them."
    )


def typed_error(exc: BaseException) -> BaseException:
    """The typed error for a failure at a transaction boundary."""
    if isinstance(exc, PendingRollbackError):
        return must_roll_back()
    return translate_exception(exc)


def rollback_quietly(session: Session) -> None:
    """Roll back after a failure; a broken connection is discarded instead."""
    try:
        session.rollback()
    except Exception:
        logger.debug("rollback after a failure raised; discarding the connection", exc_info=True)
        discard_connection(session)


def close_quietly(session: Session) -> None:
    """Close a session whose work is over; a broken connection is discarded instead."""
    try:
        session.close()
    except Exception:
        logger.debug("closing a session raised; discarding the connection", exc_info=True)
        discard_connection(session)


def discard_connection(session: Session) -> None:
    """Drop the session's connection without talking to it (after a failure or a cancellation).

    Where the dialect asks for it (SQLite) the connection is rolled back instead while that works:
    an in-memory database dies with its connection, and a file's write lock can outlive a discarded
    connection until garbage collection. SQLite drivers run one statement at a time, so the rollback
    simply waits for one still in flight.
    """
    if getattr(session, "rollback_before_discard", False):
        try:
            session.rollback()
            return
        except Exception:
            logger.debug("rollback of a SQLite connection failed; discarding it", exc_info=True)
    try:
        session.invalidate()
    except Exception:  # the connection is being thrown away; nothing useful to report
        logger.debug("invalidating a session after a failure raised", exc_info=True)


def end_call_transaction(session: Session) -> None:
    """End the session's transaction without flushing or expiring anything (a read or a lazy load).

    Outside atomic blocks nothing is ever left pending in the database: the transaction of a read
    holds no writes, and on a connection in autocommit mode there is no database transaction at all.
    """
    transaction = session.get_transaction()
    if transaction is not None:
        transaction.close()
