"""Ready-made SQLAlchemy pieces: one context = one transaction, and the session as a resource."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from archipy_lite.adapters.base.sqlalchemy.atomic import atomic
from archipy_lite.adapters.base.sqlalchemy.ports import AsyncSQLAlchemyPort, SQLAlchemyPort
from archipy_lite.adapters.base.sqlalchemy.session_managers import BaseSessionManager
from archipy_lite.context.context import Context, Middleware
from archipy_lite.context.resources import ResourceFactory


class TransactionalAdapter(Protocol):
    """Anything ``atomic`` can bind to: every archipy_lite adapter."""

    @property
    def session_manager(self) -> BaseSessionManager[Any, Any]: ...


def atomic_middleware(adapter: TransactionalAdapter, *, durable: bool = False) -> Middleware:
    """Middleware that runs each context in one ``atomic`` block on ``adapter``.

    The block commits when the context ends normally and rolls back when an exception
    leaves the body (after inner middleware had its say); database errors leave as
    typed errors. Sync adapters need ``with``, async ones ``async with``. Middleware
    registered after this one runs inside the transaction. The transaction belongs to
    the thread or task that entered the context: tasks started inside do not join it.
    """
    if adapter.session_manager.is_async:

        async def async_transaction(context: Context) -> AsyncIterator[AsyncSession]:
            async with atomic(adapter, durable=durable) as session:
                yield session

        return async_transaction

    def transaction(context: Context) -> Iterator[Session]:
        with atomic(adapter, durable=durable) as session:
            yield session

    return transaction


def session_resource(adapter: SQLAlchemyPort | AsyncSQLAlchemyPort) -> ResourceFactory:
    """Resource that checks ``adapter``'s current session out on first access, and closes nothing.

    The value is ``adapter.get_session()`` as of first access: the context's
    transaction under ``atomic_middleware``, otherwise this thread's or task's
    autocommit session. The atomic block or the adapter owns that session, so
    teardown leaves it alone. Being cached, the value does not follow atomic blocks
    opened later inside the context: call ``adapter.get_session()`` there instead.
    """

    def session(context: Context) -> Iterator[Session | AsyncSession]:
        yield adapter.get_session()

    return session
