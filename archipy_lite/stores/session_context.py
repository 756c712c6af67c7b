"""microcosm-postgres style sessions: ``SessionContext``, ``transaction()`` and ``recreate_all()``.

``SessionContext(adapter)`` is a unit of work under microcosm's name: inside the ``with``
block every call on ``adapter`` shares one session and connection, and ``transaction()``
binds to ``adapter``. ``transaction()`` is ``atomic`` under another name.
"""

from __future__ import annotations

import threading
import weakref
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Engine

from archipy_lite.adapters.base.sqlalchemy.atomic import Atomic
from archipy_lite.adapters.base.sqlalchemy.unit_of_work import UnitOfWork
from archipy_lite.models.entities.sqlalchemy.base_entities import BaseEntity
from archipy_lite.models.errors import InvalidArgumentError

_current: ContextVar[SessionContext | None] = ContextVar("archipy_session_context", default=None)
# Engines whose tables were already (re)created, per metadata: later calls only empty the tables.
_created: weakref.WeakKeyDictionary[Engine, set[int]] = weakref.WeakKeyDictionary()
_created_lock = threading.Lock()


class SessionContext:
    """A unit of work on ``adapter`` that ``transaction()`` binds to (``with``, or ``async with``
    for async adapters)."""

    def __init__(self, adapter: Any, metadata: MetaData | None = None) -> None:
        if not hasattr(adapter, "session_manager"):
            raise InvalidArgumentError(f"SessionContext needs an adapter, got {type(adapter).__name__}")
        self.adapter = adapter
        self.metadata = metadata if metadata is not None else BaseEntity.metadata
        self._token: Token[SessionContext | None] | None = None
        self._unit = UnitOfWork(adapter)

    def __enter__(self) -> SessionContext:
        self._open()
        self._unit.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._unit.__exit__(exc_type, exc, tb)
        finally:
            self._close()

    async def __aenter__(self) -> SessionContext:
        self._open()
        await self._unit.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self._unit.__aexit__(exc_type, exc, tb)
        finally:
            self._close()

    def _open(self) -> None:
        if self._token is not None:
            raise InvalidArgumentError("This SessionContext is already open")
        self._token = _current.set(self)

    def _close(self) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None

    @staticmethod
    def current() -> SessionContext:
        context = _current.get()
        if context is None:
            raise InvalidArgumentError("No SessionContext is open; use `with SessionContext(adapter):`")
        return context

    @property
    def session(self) -> Any:
        """The adapter's current session."""
        return self.adapter.get_session()

    def recreate_all(self) -> None:
        """For tests: drop and create every table the first time, then just empty them (much faster)."""
        recreate_all(self.adapter.session_manager.engine, self.metadata)


def transaction(adapter: Any = None, *, retries: int = 0) -> Atomic:
    """An atomic block on ``adapter``, or on the open SessionContext's adapter."""
    target = adapter if adapter is not None else SessionContext.current().adapter
    return Atomic(target, retries=retries)


def recreate_all(engine: Engine, metadata: MetaData | None = None) -> None:
    """Drop and create ``metadata``'s tables on first call for this engine, then only empty them."""
    metadata = metadata if metadata is not None else BaseEntity.metadata
    with _created_lock:
        done = _created.setdefault(engine, set())
        first_time = id(metadata) not in done
        done.add(id(metadata))
    if first_time:
        metadata.drop_all(engine)
        metadata.create_all(engine)
        return
    tables = list(reversed(metadata.sorted_tables))
    if not tables:
        return
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(engine.dialect.identifier_preparer.format_table(table) for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())
