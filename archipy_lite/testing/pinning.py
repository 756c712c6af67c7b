"""Pinning a session manager to one connection: the hook behind per-test transaction isolation.

While pinned, every session the manager hands out (autocommit sessions, atomic blocks) is bound to
one connection that the caller has put in a transaction, in SQLAlchemy's ``create_savepoint`` join
mode: what the code under test "commits" is released into that outer transaction, what it rolls
back goes back to a savepoint, and the caller rolls the whole test back at the end.

This reaches into the manager (its ``new_session`` and its per-context ambient session) because the
session managers offer no such hook yet; it is the only place that does. A unit of work normally
owns a pooled connection and switches it in and out of autocommit mode, which a connection inside
the test's transaction cannot do: on a pinned manager a unit's session is made like an ambient one,
on the test's connection, so the unit's calls and atomic blocks become savepoints too (the unit's
call guard, which serialises threads sharing one unit, is not used then).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from archipy_lite.adapters.base.sqlalchemy.session_managers import (
    AsyncSessionManager,
    BaseSessionManager,
    SessionManager,
)
from archipy_lite.adapters.base.sqlalchemy.sessions import ArchipySession
from archipy_lite.models.errors import InvalidArgumentError

_SESSION_OPTIONS: dict[str, Any] = {
    "expire_on_commit": False,
    "autoflush": True,
    "join_transaction_mode": "create_savepoint",
}


def _adopt(session: Session, manager: BaseSessionManager[Any, Any], *, unit: Any, ambient: bool) -> None:
    # A unit's session would take the unit's own connection (see the module docstring).
    manager._adopt(session, unit=None, ambient=ambient or unit is not None)
    if isinstance(session, ArchipySession):
        # A lone statement must not switch the pinned connection to autocommit mode, and a failure
        # must roll back to the savepoint rather than throw the shared connection away.
        session.single_statement_options = None
        session.recover_autocommit = None
        session.rollback_before_discard = True


@contextmanager
def _swapped(manager: BaseSessionManager[Any, Any], new_session: Callable[..., Any]) -> Iterator[None]:
    if "new_session" in vars(manager):
        raise InvalidArgumentError(f"{manager!r} is already pinned to a connection")
    if manager.in_atomic_block():
        raise InvalidArgumentError("cannot pin a session manager inside one of its atomic blocks")
    _forget_ambient_session(manager)
    manager.new_session = new_session  # type: ignore[method-assign]
    try:
        yield
    finally:
        del manager.new_session
        _forget_ambient_session(manager)


def _forget_ambient_session(manager: BaseSessionManager[Any, Any]) -> None:
    """Drop this context's ambient session, so the next one is made by the (un)pinned factory."""
    manager.sessions._ambient.set(None)  # see the module docstring


@contextmanager
def pinned(manager: SessionManager, connection: Connection) -> Iterator[None]:
    """Bind every session of the sync ``manager`` to ``connection`` (already in a transaction)."""
    factory = sessionmaker(bind=connection, class_=ArchipySession, **_SESSION_OPTIONS)

    def new_session(*, unit: Any = None, ambient: bool = False) -> Session:
        session: Session = factory()
        _adopt(session, manager, unit=unit, ambient=ambient)
        return session

    with _swapped(manager, new_session):
        yield


@contextmanager
def async_pinned(manager: AsyncSessionManager, connection: AsyncConnection) -> Iterator[None]:
    """Bind every session of the async ``manager`` to ``connection`` (already in a transaction)."""
    factory = async_sessionmaker(bind=connection, sync_session_class=ArchipySession, **_SESSION_OPTIONS)

    def new_session(*, unit: Any = None, ambient: bool = False) -> AsyncSession:
        session: AsyncSession = factory()
        _adopt(session.sync_session, manager, unit=unit, ambient=ambient)
        return session

    with _swapped(manager, new_session):
        yield
