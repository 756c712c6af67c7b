"""Session managers: one engine, one session factory, and the sessions of one database.

A manager creates its engine on first use (no connection is opened before that).
``get_session()`` returns, in order: the session of the atomic block the caller is in (outside
any unit of work), the session of the caller's unit of work, or the caller's ambient session.
Dialect details (URL, pool, pragmas, autocommit switching) come from a ``DialectSupport``
supplied by the PostgreSQL or SQLite package.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

from archipy_lite.adapters.base.sqlalchemy import routing
from archipy_lite.adapters.base.sqlalchemy.block_statements import guard_blocks
from archipy_lite.adapters.base.sqlalchemy.context_sessions import ContextSessions
from archipy_lite.adapters.base.sqlalchemy.error_translation import install_error_translation
from archipy_lite.adapters.base.sqlalchemy.pool_checks import install_idle_ping
from archipy_lite.adapters.base.sqlalchemy.sessions import ArchipySession
from archipy_lite.adapters.base.sqlalchemy.transactions import Transaction
from archipy_lite.adapters.base.sqlalchemy.units import Unit, current_unit
from archipy_lite.models.errors import ConfigurationError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from archipy_lite.configs.config_template import SQLAlchemyConfig

E = TypeVar("E", Engine, AsyncEngine)
S = TypeVar("S", Session, AsyncSession)


class DialectSupport(Protocol):
    """What a database family tells the session managers."""

    kind: str  # "postgres" or "sqlite": the key for default managers and atomic decorators
    extra: str  # the pip extra that installs the drivers
    # True when async connections belong to the event loop that opened them (asyncpg): each running
    # loop then gets an engine of its own, so successive asyncio.run() calls never share a connection.
    async_engine_per_event_loop: bool
    # Execution options for a connection on which a lone statement commits by itself: no BEGIN and
    # COMMIT round trips around it (and, on SQLite, no write lock). See ``operations.operation_scope``.
    single_statement_options: dict[str, Any]
    # True when a connection must be rolled back rather than thrown away after a failure or a
    # cancellation (SQLite: an in-memory database dies with its connection).
    rollback_before_discard: bool

    def engine_arguments(self, config: Any, *, async_: bool) -> tuple[URL, dict[str, Any]]:
        """Return the URL and ``create_engine`` keyword arguments."""
        ...

    def prepare_engine(self, engine: Engine, config: Any) -> None:
        """Install connect-time hooks (pragmas, BEGIN handling) on the sync engine."""
        ...

    def recover_autocommit(self, connection: Connection) -> None:
        """Make a connection in autocommit mode usable again after one of its statements failed."""
        ...

    def set_session_read_only(self, connection: Connection, on: bool) -> bool:
        """Make every later transaction on ``connection`` read-only (or writable again); False when
        nothing had to change (the connection was read-only already)."""
        ...

    def begin_read_only(self, connection: Connection) -> None:
        """Make the transaction just begun on ``connection`` read-only (its first statement)."""
        ...

    def set_autocommit(self, connection: Connection, on: bool) -> None:
        """Switch a held connection between the driver's autocommit mode and real transactions.

        No I/O, and no transaction may be open on the connection. Switching off restores the
        engine's configured mode, which is also how the connection must go back to the pool.
        """
        ...


class BaseSessionManager(Generic[E, S]):
    """Engine and sessions of one database for one flavour (sync or async)."""

    is_async: ClassVar[bool]
    _live: ClassVar[weakref.WeakSet[BaseSessionManager[Any, Any]]] = weakref.WeakSet()

    def __init__(self, config: SQLAlchemyConfig, dialect: DialectSupport) -> None:
        self.config = config
        self.dialect = dialect
        self.sessions: ContextSessions[S] = ContextSessions(f"archipy_{dialect.kind}_{id(self):x}")
        self._engine: E | None = None
        self._lock = threading.Lock()
        BaseSessionManager._live.add(self)

    def __repr__(self) -> str:
        flavour = "async" if self.is_async else "sync"
        return f"<{type(self).__name__} {self.dialect.kind} {flavour} database={self.config.DATABASE!r}>"

    @property
    def kind(self) -> str:
        return self.dialect.kind

    @property
    def engine(self) -> E:
        """The engine, created on first access."""
        engine = self._engine
        if engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._build_engine()
                engine = self._engine
        return engine

    @property
    def has_engine(self) -> bool:
        return self._engine is not None

    def _engine_arguments(self) -> tuple[URL, dict[str, Any]]:
        return self.dialect.engine_arguments(self.config, async_=self.is_async)

    def _build_engine(self) -> E:
        raise NotImplementedError

    def new_session(self, *, unit: Unit | None = None, ambient: bool = False) -> S:
        """A fresh session for an atomic block, a ``unit`` (bound to its connection) or a context's
        ambient use (both outlive transactions). Callers close it."""
        raise NotImplementedError

    def get_session(self) -> S:
        """The session of the caller's atomic block, else of its unit of work, else its ambient session."""
        block = self.sessions.block()
        if block is not None:
            session: S = block.handed_out
            return session
        unit = current_unit(self)
        if unit is not None:
            return unit.session()  # type: ignore[no-any-return]
        return self.sessions.ambient(self._new_ambient_session)

    def _new_ambient_session(self) -> S:
        return self.new_session(ambient=True)

    def _adopt(self, session: Session, *, unit: Unit | None, ambient: bool) -> None:
        """Tell a new session what its database family needs (see ``DialectSupport``) and who owns it."""
        if isinstance(session, ArchipySession):
            session.single_statement_options = self.dialect.single_statement_options
            session.rollback_before_discard = self.dialect.rollback_before_discard
            session.is_async_proxy = self.is_async
            session.recover_autocommit = self.dialect.recover_autocommit
            if unit is not None or ambient:
                session.unit = unit
                session.outlives_transactions = True
                session.autoflush = False  # between atomic blocks a read must never write

    def _missing_driver(self, exc: ImportError) -> ConfigurationError:
        return ConfigurationError(
            f"The {self.kind} driver is not installed ({exc.name or exc}); "
            f"install it with: pip install 'archipy-lite[{self.dialect.extra}]'",
            details={"extra": self.dialect.extra},
        )

    def atomic_state(self) -> Transaction | None:
        """The transaction of the atomic block the caller is in on this database, if any."""
        block = self.sessions.block()
        if block is not None:
            return block
        unit = current_unit(self)
        return unit.transaction if unit is not None else None

    def in_atomic_block(self) -> bool:
        return self.atomic_state() is not None

    @classmethod
    def live_managers(cls) -> list[BaseSessionManager[Any, Any]]:
        """Every manager still referenced somewhere (used to find a default)."""
        return list(cls._live)


class SessionManager(BaseSessionManager[Engine, Session]):
    """Synchronous engine and sessions."""

    is_async = False

    def __init__(self, config: SQLAlchemyConfig, dialect: DialectSupport) -> None:
        super().__init__(config, dialect)
        self._factory: sessionmaker[Session] | None = None

    def _build_engine(self) -> Engine:
        url, kwargs = self._engine_arguments()
        try:
            engine = create_engine(url, **kwargs)
        except ImportError as exc:
            raise self._missing_driver(exc) from exc
        _prepare(engine, self)
        return engine

    def new_session(self, *, unit: Unit | None = None, ambient: bool = False) -> Session:
        if self._factory is None:
            self._factory = sessionmaker(
                bind=self.engine, class_=ArchipySession, expire_on_commit=False, autoflush=True
            )
        session = self._factory()
        self._adopt(session, unit=unit, ambient=ambient)
        return session

    def dispose(self) -> None:
        """Close pooled connections (the read replicas' too); the engine is rebuilt on next use."""
        with self._lock:
            engine, self._engine, self._factory = self._engine, None, None
        if engine is not None:
            engine.dispose()
        replicas = routing.replicas(self)
        if replicas is not None:
            replicas.dispose()


class AsyncSessionManager(BaseSessionManager[AsyncEngine, AsyncSession]):
    """Asynchronous engine and sessions (asyncpg, psycopg async or aiosqlite).

    When the dialect's connections are tied to an event loop, ``engine`` is the engine of the running
    loop (an engine built outside any loop is adopted by the first loop that asks); engines of closed
    loops are dropped, their connections left to the garbage collector since they can no longer be awaited.
    """

    is_async = True

    def __init__(self, config: SQLAlchemyConfig, dialect: DialectSupport) -> None:
        super().__init__(config, dialect)
        self._factory: async_sessionmaker[AsyncSession] | None = None
        self._loop_engines: dict[asyncio.AbstractEventLoop, AsyncEngine] = {}

    @property
    def engine(self) -> AsyncEngine:
        """The engine (of the running event loop, for loop-bound drivers), created on first access."""
        loop = _running_loop()
        if loop is None or not self.dialect.async_engine_per_event_loop:
            return super().engine
        with self._lock:
            self._forget_closed_loops()
            engine = self._loop_engines.get(loop)
            if engine is None:
                engine, self._engine = self._engine or self._build_engine(), None
                self._loop_engines[loop] = engine
            return engine

    @property
    def has_engine(self) -> bool:
        return self._engine is not None or bool(self._loop_engines)

    def _forget_closed_loops(self) -> None:
        for loop in [loop for loop in self._loop_engines if loop.is_closed()]:
            del self._loop_engines[loop]

    def _build_engine(self) -> AsyncEngine:
        url, kwargs = self._engine_arguments()
        try:
            engine = create_async_engine(url, **kwargs)
        except ImportError as exc:
            raise self._missing_driver(exc) from exc
        _prepare(engine.sync_engine, self)
        return engine

    def new_session(self, *, unit: Unit | None = None, ambient: bool = False) -> AsyncSession:
        if self._factory is None:
            self._factory = async_sessionmaker(
                sync_session_class=ArchipySession, expire_on_commit=False, autoflush=True
            )
        session = self._factory(bind=self.engine)
        self._adopt(session.sync_session, unit=unit, ambient=ambient)
        return session

    async def dispose(self) -> None:
        """Close the pooled connections of the running loop; the engine is rebuilt on next use."""
        loop = asyncio.get_running_loop()
        with self._lock:
            engines = [engine for engine in (self._engine, self._loop_engines.pop(loop, None)) if engine is not None]
            self._engine = None
            self._forget_closed_loops()
        for engine in engines:
            await engine.dispose()
        replicas = routing.replicas(self)
        if replicas is not None:
            outcome = replicas.dispose()
            if outcome is not None:
                await outcome


def _prepare(engine: Engine, manager: BaseSessionManager[Any, Any]) -> None:
    """Hooks every engine gets: typed errors, the dialect's connect-time setup, idle pings."""
    install_error_translation(engine)
    guard_blocks(engine)
    manager.dialect.prepare_engine(engine, manager.config)
    idle = manager.config.POOL_PRE_PING_IDLE_SECONDS
    if not manager.config.POOL_PRE_PING and idle is not None and engine.dialect.name != "sqlite":
        install_idle_ping(engine, idle)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
