"""The machinery behind ``unit_of_work``: a scope of units, one per database, each owning a session and a connection.

A ``Unit`` owns the session of one request, task or job on one database and, from its first
statement to its end, one pooled connection. Between atomic blocks that connection is in the
driver's autocommit mode, so each statement is durable when it returns and no transaction stays
open; an atomic block switches it to a real transaction on the same connection. The ``UnitScope``
is what a context variable holds: every thread and task that inherits the context (a FastAPI sync
endpoint in the thread pool, ``asyncio.gather`` inside a request) sees the same units, and a
``CallGuard`` makes their calls take turns on the session. Closed units and scopes are ignored
wherever they are still referenced.
"""

from __future__ import annotations

import logging
import warnings
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from archipy_lite.adapters.base.sqlalchemy import routing
from archipy_lite.adapters.base.sqlalchemy.block_turns import BlockTurns
from archipy_lite.adapters.base.sqlalchemy.call_guard import CallGuard
from archipy_lite.adapters.base.sqlalchemy.pending_changes import describe_unsaved
from archipy_lite.adapters.base.sqlalchemy.transactions import (
    Callback,
    Level,
    Owner,
    Transaction,
    current_owner,
    discard_connection,
    end_call_transaction,
)
from archipy_lite.models.errors import UnsavedChangesWarning

if TYPE_CHECKING:
    from archipy_lite.adapters.base.sqlalchemy.session_managers import BaseSessionManager

logger = logging.getLogger(__name__)


class UnitScope:
    """The units of one ``unit_of_work`` scope (a request, a task, a job), by session manager.

    ``atomic``: every unit of the scope runs one transaction, committed when the scope ends.
    ``every_database``: a database first used inside the scope joins it then (the web middleware
    uses this, so a database swapped in by a test's dependency override still gets a unit), with
    the scope's ``read_only`` and consistency ``token``, and in a transaction while the scope's
    is still to be committed (not after an early commit: a background task then runs in autocommit).
    """

    def __init__(
        self, *, atomic: bool = False, every_database: bool = False, read_only: bool = False, token: str | None = None
    ) -> None:
        self.units: dict[BaseSessionManager[Any, Any], Unit] = {}
        self.atomic = atomic
        self.every_database = every_database
        self.read_only = read_only
        self.token = token
        self.committed = False  # an atomic scope's transactions have ended (committed or rolled back early)
        self.callbacks: list[Callback] = []  # on_commit() before any database joined an atomic scope
        self.levels: dict[Unit, Level] = {}  # outermost levels the scope opened (atomic scopes)
        self.joined_on_demand: list[Unit] = []
        self.closed = False

    def add(
        self, manager: BaseSessionManager[Any, Any], owner: Owner, *, read_only: bool = False, token: str | None = None
    ) -> tuple[Unit, bool]:
        """The scope's unit for ``manager``, created if needed (no I/O); True when created."""
        unit = self.units.get(manager)
        if unit is not None and not unit.closed:
            return unit, False
        unit = Unit(manager, read_only=read_only, token=token)
        self.units[manager] = unit
        if self.atomic and not self.committed:
            self.levels[unit] = unit.begin_transaction(owner)  # no I/O: the unit has no connection yet
        return unit, True


_scope: ContextVar[UnitScope | None] = ContextVar("archipy_unit_scope", default=None)
# Outermost transactions opened in this context, innermost last: for on_commit() without a target.
_open_transactions: ContextVar[tuple[Transaction, ...]] = ContextVar("archipy_open_transactions", default=())


def remember_transaction(transaction: Transaction) -> None:
    """Record an outermost transaction opened in this context (for ``on_commit`` without a target)."""
    _open_transactions.set((*visible_transactions(), transaction))


def forget_transaction(transaction: Transaction) -> None:
    _open_transactions.set(tuple(t for t in _open_transactions.get() if t is not transaction))


def visible_transactions() -> tuple[Transaction, ...]:
    """Open transactions this thread/task may join, innermost last: those of the units it shares
    (also units that joined on demand, in whatever context they joined), then its own blocks."""
    owner = current_owner()
    scope = current_scope()
    shared = [] if scope is None else [unit.transaction for unit in scope.units.values() if unit.transaction]
    remembered = [
        t
        for t in _open_transactions.get()
        if not t.closed and (t.owner == owner or getattr(t.session, "unit", None) is not None)
    ]
    return (*(t for t in shared if not t.closed and t not in remembered), *remembered)


def current_scope() -> UnitScope | None:
    """The open unit scope of this context, if any."""
    scope = _scope.get()
    return None if scope is None or scope.closed else scope


def current_unit(manager: BaseSessionManager[Any, Any]) -> Unit | None:
    """The open unit of ``manager`` in this context, if any (joining it first, for scopes that take
    every database)."""
    scope = _scope.get()
    if scope is None or scope.closed:
        return None
    unit = scope.units.get(manager)
    if unit is not None and not unit.closed:
        return unit
    if scope.every_database and manager.sessions.block() is None:
        routing.check_token(manager, scope.token)
        unit, _ = scope.add(manager, current_owner(), read_only=scope.read_only, token=scope.token)
        scope.joined_on_demand.append(unit)
        return unit
    return None


def enter_scope(scope: UnitScope) -> Any:
    """Make ``scope`` current in this context; returns the token for ``leave_scope``."""
    return _scope.set(scope)


def leave_scope(token: Any) -> None:
    try:
        _scope.reset(token)
    except ValueError:  # left from another context (a finalizer): the scope is closed anyway
        _scope.set(None)


class Unit:
    """One database's session and connection within a unit scope.

    ``read_only``: the unit reads a replica that has replayed ``token`` (see ``routing``), or the
    primary, and refuses writes either way. A writing unit reads a replica between atomic blocks
    only with ``READ_REPLICA_AUTOCOMMIT_READS`` and only until it writes; once it has, it stays on
    the primary, and its ``consistency_token`` (set when it ends) lets a later request read a
    replica that has seen its writes.
    """

    def __init__(
        self, manager: BaseSessionManager[Any, Any], *, read_only: bool = False, token: str | None = None
    ) -> None:
        self.manager = manager
        self.read_only = read_only
        self.token = token
        self.guard = CallGuard(is_async=manager.is_async)
        self.turns = BlockTurns(is_async=manager.is_async)  # atomic blocks open here; other tasks wait for them
        self.transaction: Transaction | None = None
        self.wrote = False
        self.consistency_token: str | None = None
        self.closed = False
        self._session: Session | AsyncSession | None = None
        self._connection: Connection | None = None
        self._autocommit = True
        self._on_replica = False
        self._read_only_set = False  # the session characteristic was changed on our connection

    def __repr__(self) -> str:
        return f"<Unit {self.manager!r}{' closed' if self.closed else ''}>"

    # -- the session and its connection --

    def session(self) -> Any:
        """The unit's session (``Session`` or ``AsyncSession``), created on first use."""
        if self._session is None:
            self._session = self.manager.new_session(unit=self)
        return self._session

    @property
    def sync_session(self) -> Session | None:
        session = self._session
        return session.sync_session if isinstance(session, AsyncSession) else session

    def connection(self) -> Connection:
        """The unit's connection, checked out on first use (inside a greenlet for async engines).

        A connection that died (invalidated after a disconnect) is replaced by a new one in the
        unit's current mode: SQLAlchemy would reconnect it by itself, but in the pool's default
        mode, where a lone statement would wait for a COMMIT that never comes.
        """
        connection = self._connection
        if connection is not None and connection.invalidated:
            self._drop_dead_connection()
            connection = None
        if connection is None:
            connection = self._engine().connect()
            self._connection = connection
            if self._autocommit:
                self.manager.dialect.set_autocommit(connection, True)
            if self.read_only and not self._on_replica:
                self._read_only_set = self.manager.dialect.set_session_read_only(connection, True)
        return connection

    def _engine(self) -> Engine:
        """The primary's engine, or a replica's when this unit may read one (see the class docs)."""
        self._on_replica = False
        may_read_replica = self.read_only or (
            not self.wrote and self.transaction is None and routing.reads_go_to_replicas(self.manager)
        )
        replica = routing.replica_engine(self.manager, self.token) if may_read_replica else None
        if replica is not None:
            self._on_replica = True
            return replica
        engine: Engine | AsyncEngine = self.manager.engine
        return engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @property
    def on_replica(self) -> bool:
        """Whether the connection held now is a replica's."""
        return self._on_replica

    def will_write(self) -> None:
        """A call or block that may write is starting: it, and all after it, use the primary.

        No transaction is open when this runs, so a replica connection is simply given back.
        """
        if self.read_only:
            return  # a read-only unit stays where it is; a write there fails (DatabaseReadOnlyError)
        self.wrote = True
        if self._on_replica:
            self._release_connection(discard=False)

    def set_autocommit(self, on: bool) -> None:
        """Switch the held connection between driver autocommit and real transactions (no I/O)."""
        if on == self._autocommit:
            return
        self._autocommit = on
        if self._connection is not None and self._connection.invalidated:
            self._drop_dead_connection()  # the next statement gets a new one, in this mode
        elif self._connection is not None:
            self.manager.dialect.set_autocommit(self._connection, on)

    def _drop_dead_connection(self) -> None:
        connection, self._connection = self._connection, None
        self._on_replica = self._read_only_set = False
        if connection is not None:
            try:
                connection.close()
            except Exception:
                logger.debug("closing a dead connection raised", exc_info=True)

    # -- atomic blocks on the unit's session --

    def begin_transaction(self, owner: Owner, *, read_only: bool = False) -> Level:
        """Open the outermost atomic level on the unit's session (the connection leaves autocommit).

        ``read_only``: a READ ONLY transaction, on whichever connection the unit holds.
        """
        session = self.sync_session or _sync(self.session())
        end_call_transaction(session)
        if not read_only:
            self.will_write()
        self.set_autocommit(False)
        session.autoflush = True
        self.transaction = Transaction(session, on_end=self._transaction_ended)
        level = self.transaction.begin(owner)
        if read_only:
            self.manager.dialect.begin_read_only(session.connection())
        return level

    def _transaction_ended(self) -> None:
        self.transaction = None
        session = self.sync_session
        if session is not None:
            session.autoflush = False
        self.set_autocommit(True)

    # -- the end --

    def close(self, *, failed: bool, discard: bool = False) -> None:
        """End the unit: roll back an abandoned block, drop unsaved changes, return the connection."""
        session = self.sync_session
        try:
            if self.transaction is not None:
                self.transaction.abandon()
            if session is not None:
                if discard:
                    discard_connection(session)
                elif not failed:
                    _warn_unsaved(session)
                session.close()
            if self.wrote and not failed and not discard and self._connection is not None and not self._on_replica:
                self.consistency_token = routing.token_after_commit(self.manager, self._connection)
        finally:
            self.closed = True
            self._release_connection(discard=discard)

    def _release_connection(self, *, discard: bool) -> None:
        connection, self._connection = self._connection, None
        read_only_set, self._on_replica, self._read_only_set = self._read_only_set, False, False
        if connection is None:
            return
        try:
            if discard or connection.invalidated:
                connection.invalidate()
            else:
                if read_only_set:
                    self.manager.dialect.set_session_read_only(connection, False)
                if self._autocommit:
                    self.manager.dialect.set_autocommit(connection, False)
        except Exception:
            logger.debug("restoring a connection's mode failed; discarding it", exc_info=True)
            connection.invalidate()
        finally:
            connection.close()


def _sync(session: Session | AsyncSession) -> Session:
    return session.sync_session if isinstance(session, AsyncSession) else session


def _warn_unsaved(session: Session) -> None:
    unsaved = describe_unsaved(session, list(session.new) + list(session.dirty) + list(session.deleted))
    if unsaved:
        warnings.warn(
            f"A unit of work ended with unsaved changes, which were discarded: {unsaved}. "
            "Save changes inside the unit (an adapter call, adapter.get_session().flush(), or an "
            "atomic block), or discard them explicitly with session.expire(obj).",
            UnsavedChangesWarning,
            stacklevel=2,
        )
