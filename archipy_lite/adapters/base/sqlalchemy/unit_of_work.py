"""``unit_of_work``: one request, task or job owns its session and connection, on one or several databases.

Inside a unit, every call on its database, from this thread or task or any that inherits the
context, uses the unit's session and one pooled connection. Between atomic blocks each
statement is durable when it returns; ``atomic`` inside the unit is a transaction on the same
connection; a nested unit joins the outer one. At the end the session closes, the connection
goes back to the pool, and objects stay readable but detached. Changes nobody saved are
discarded with an ``UnsavedChangesWarning``. ``atomic=True`` makes the whole unit one
transaction (Django's ``ATOMIC_REQUESTS``), committed when it ends, or earlier by ``commit()``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, ParamSpec, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.util import greenlet_spawn

from archipy_lite.adapters.base.sqlalchemy import routing
from archipy_lite.adapters.base.sqlalchemy.binding import Target, decorate, resolve
from archipy_lite.adapters.base.sqlalchemy.session_managers import BaseSessionManager
from archipy_lite.adapters.base.sqlalchemy.transactions import Callback, Owner, current_owner
from archipy_lite.adapters.base.sqlalchemy.units import (
    Unit,
    UnitScope,
    current_scope,
    enter_scope,
    leave_scope,
    remember_transaction,
)
from archipy_lite.models.errors import DatabaseTransactionError

P = ParamSpec("P")
R = TypeVar("R")


class UnitOfWork:
    """A unit of work description, usable as decorator and as (async) context manager."""

    def __init__(
        self,
        *targets: Target,
        kind: str | None = None,
        atomic: bool = False,
        every_database: bool = False,
        read_only: bool = False,
        consistency_token: str | None = None,
    ) -> None:
        self.targets = targets
        self.kind = kind
        self.atomic = atomic
        self.every_database = every_database
        self.read_only = read_only
        self.given_token = consistency_token
        self.consistency_token: str | None = None  # after a unit that wrote ends (with read replicas)
        self._uses: list[_Use] = []

    # -- context manager --

    def __enter__(self) -> Session:
        use = self._begin(is_async=False)
        return cast("Session", use.first_session())

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        use = self._take()
        try:
            callbacks = use.end(failed=exc is not None)
        finally:
            use.leave()
            self.consistency_token = use.consistency_token()
        for callback in callbacks:
            callback()
        return False

    async def __aenter__(self) -> AsyncSession:
        # In a greenlet: joining a unit that holds a connection may switch it (psycopg awaits that).
        use = await greenlet_spawn(self._begin, is_async=True)
        return cast("AsyncSession", use.first_session())

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        use = self._take()
        cancelled = isinstance(exc, asyncio.CancelledError)
        try:
            # Shielded: a cancellation arriving now must not leave a transaction or connection behind.
            callbacks = await asyncio.shield(_end_async(use, failed=exc is not None, discard=cancelled))
        finally:
            use.leave()
            self.consistency_token = use.consistency_token()
        await _run_async(callbacks)
        return False

    # -- finishing the transaction of an atomic unit early (before a response leaves) --

    def commit(self) -> None:
        """Commit an ``atomic=True`` unit now; the unit goes on between atomic blocks until it ends."""
        for callback in self._latest().finish(failed=False):
            callback()

    async def commit_async(self) -> None:
        """``commit()`` from async code (async databases in a greenlet, sync ones in a thread)."""
        await _run_async(await _finish_async(self._latest(), failed=False))

    def rollback(self) -> None:
        """Roll back an ``atomic=True`` unit now (nothing it wrote survives)."""
        self._latest().finish(failed=True)

    async def rollback_async(self) -> None:
        await _finish_async(self._latest(), failed=True)

    # -- consistency tokens for the next request (read replicas) --

    def current_consistency_token(self) -> str | None:
        """A token covering what this unit has committed so far, when it wrote and replicas exist."""
        return self._latest().token_now(is_async=False)

    async def current_consistency_token_async(self) -> str | None:
        """``current_consistency_token`` from async code."""
        use = self._latest()
        token: str | None = await greenlet_spawn(use.token_now, is_async=True)
        if token is None and False in use.flavours():
            token = await asyncio.to_thread(use.token_now, is_async=False)
        return token

    # -- decorator --

    def __call__(self, function: Callable[P, R]) -> Callable[P, R]:
        wrappers: dict[str, Any] = {"wrap_sync": self._wrap_sync, "wrap_async": self._wrap_async}
        return decorate(function, "unit_of_work", **wrappers)

    def _wrap_sync(self, function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with self._copy():
                return function(*args, **kwargs)

        return run

    def _wrap_async(self, function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(function)
        async def run(*args: P.args, **kwargs: P.kwargs) -> R:
            async with self._copy():
                return await function(*args, **kwargs)

        return run

    # -- bookkeeping --

    def _copy(self) -> UnitOfWork:
        return UnitOfWork(
            *self.targets,
            kind=self.kind,
            atomic=self.atomic,
            every_database=self.every_database,
            read_only=self.read_only,
            consistency_token=self.given_token,
        )

    def _begin(self, *, is_async: bool) -> _Use:
        targets = self.targets or ((None,) if not self.every_database else ())
        managers = [resolve(target, self.kind, is_async=is_async, sync_in_async=True) for target in targets]
        owner = current_owner()
        scope = current_scope()
        use = _Use(owner=owner, is_async=is_async)
        for manager in managers:
            routing.check_token(manager, self.given_token)
        if scope is None:
            scope = UnitScope(
                atomic=self.atomic, every_database=self.every_database, read_only=self.read_only, token=self.given_token
            )
            use.token = enter_scope(scope)
        use.scope = scope
        try:
            for manager in managers:
                use.add(manager, atomic=self.atomic, read_only=self.read_only, token=self.given_token)
        except BaseException:
            try:
                use.end(failed=True)  # give back whatever the units that did open took
            finally:
                use.leave()
            raise
        for unit in use.opened:
            if unit.transaction is not None:
                remember_transaction(unit.transaction)
        self._uses.append(use)
        return use

    def _take(self) -> _Use:
        owner = current_owner()
        for index in range(len(self._uses) - 1, -1, -1):
            if self._uses[index].owner == owner:
                return self._uses.pop(index)
        if not self._uses:  # pragma: no cover - only if __exit__ is called without __enter__
            raise DatabaseTransactionError("unit_of_work exited without being entered")
        return self._uses.pop()

    def _latest(self) -> _Use:
        if not self._uses:
            raise DatabaseTransactionError("this unit_of_work is not open")
        return self._uses[-1]


def unit_of_work(
    *targets: Target,
    kind: str | None = None,
    atomic: bool = False,
    every_database: bool = False,
    read_only: bool = False,
    consistency_token: str | None = None,
) -> UnitOfWork:
    """A unit of work on ``targets`` (adapters or session managers; none: the default database).

    Use as ``with unit_of_work(adapter):``, ``async with unit_of_work(async_adapter):`` or
    ``@unit_of_work(adapter)`` on a request handler, task or job function. ``atomic=True`` makes
    the whole unit one transaction. ``every_database=True`` also gives a unit to any database
    first used inside this one (what the web middleware does). ``read_only=True`` reads a replica
    that has replayed ``consistency_token`` (the ``consistency_token`` of an earlier unit that
    wrote), or the primary, and refuses writes either way.
    """
    return UnitOfWork(
        *targets,
        kind=kind,
        atomic=atomic,
        every_database=every_database,
        read_only=read_only,
        consistency_token=consistency_token,
    )


@dataclass(eq=False)
class _Use:
    """One entered unit of work: the scope it runs in and what it must end."""

    owner: Owner
    is_async: bool
    scope: UnitScope = field(default_factory=UnitScope)
    token: Any = None  # set when this use opened the scope
    created: list[Unit] = field(default_factory=list)
    opened: list[Unit] = field(default_factory=list)  # units whose transaction this use began
    joined_sessions: list[Any] = field(default_factory=list)  # sessions of atomic blocks it runs inside

    def add(
        self, manager: BaseSessionManager[Any, Any], *, atomic: bool, read_only: bool = False, token: str | None = None
    ) -> None:
        block = manager.sessions.block()
        if block is not None:  # inside an atomic block of its own: calls already share its session
            self.joined_sessions.append(block.handed_out)
            return
        # An atomic scope begins the new unit's transaction.
        unit, created = self.scope.add(manager, self.owner, read_only=read_only, token=token)
        if created and self.token is None and self.scope.every_database:
            # A nested use is first to touch this database: it joins the outer scope, which ends it.
            self.scope.joined_on_demand.append(unit)
            created = False
        began = created and self.scope.atomic
        if created:
            self.created.append(unit)
        if atomic and unit.transaction is None:
            unit.guard.enter(self.owner)
            try:
                self.scope.levels[unit] = unit.begin_transaction(self.owner, read_only=read_only)
            finally:
                unit.guard.exit()
            began = True
        if began:
            self.opened.append(unit)

    def first_session(self) -> Session | AsyncSession | None:
        if self.joined_sessions:
            return self.joined_sessions[0]  # type: ignore[no-any-return]
        units = self.created or list(self.scope.units.values())
        return units[0].session() if units else None

    def flavours(self) -> set[bool]:
        """Which kinds of database (async: True) this use must finish."""
        return {unit.manager.is_async for unit in self._owned()}

    def finish(self, *, failed: bool, is_async: bool | None = None) -> list[Callback]:
        """Commit (or roll back) the transactions this use opened (I/O); return the callbacks due.

        ``is_async``: only the async (True) or sync (False) databases; None: all of them.
        """
        callbacks: list[Callback] = []
        for unit in self._mine(self.opened + self._on_demand(), is_async):
            level = self.scope.levels.pop(unit, None)
            if level is None:
                continue  # already committed (an early commit before the response)
            unit.guard.enter(self.owner)
            try:
                callbacks += level.transaction.close(level, failed=failed)
            finally:
                unit.guard.exit()
        if self.token is not None and self.scope.atomic and not self.scope.committed:
            self.scope.committed = True  # databases joining from now on (background tasks) autocommit
            early, self.scope.callbacks = self.scope.callbacks, []  # on_commit before any database joined
            callbacks = callbacks if failed else [*early, *callbacks]
        return callbacks

    def close(self, *, failed: bool, discard: bool = False, is_async: bool | None = None) -> None:
        """Close the units this use created (I/O): an unfinished transaction rolls back."""
        for unit in reversed(self._mine(self._owned(), is_async)):
            unit.close(failed=failed, discard=discard)
            if self.scope.units.get(unit.manager) is unit:
                del self.scope.units[unit.manager]

    def end(self, *, failed: bool, discard: bool = False) -> list[Callback]:
        """``finish`` then ``close``, for every database (sync callers)."""
        try:
            return self.finish(failed=failed)
        except BaseException:
            failed = True
            raise
        finally:
            self.close(failed=failed, discard=discard)

    def token_now(self, *, is_async: bool) -> str | None:
        """A token for the first of this use's writing units of the given flavour (one round trip)."""
        for unit in self._mine(self._owned(), is_async):
            if unit.wrote and not unit.read_only and routing.replicas(unit.manager) is not None:
                unit.guard.enter(self.owner)
                try:
                    return routing.token_after_commit(unit.manager, unit.connection())
                finally:
                    unit.guard.exit()
        return None

    def consistency_token(self) -> str | None:
        """The token of the (first) unit this use created that wrote, once it has ended."""
        return next((unit.consistency_token for unit in self._owned() if unit.consistency_token), None)

    def leave(self) -> None:
        """Context-variable work, in the caller's context."""
        if self.token is not None:
            self.scope.closed = True
            leave_scope(self.token)

    def _owned(self) -> list[Unit]:
        return self.created + self._on_demand()

    def _on_demand(self) -> list[Unit]:
        return list(self.scope.joined_on_demand) if self.token is not None else []

    @staticmethod
    def _mine(units: list[Unit], is_async: bool | None) -> list[Unit]:
        chosen = dict.fromkeys(unit for unit in units if is_async is None or unit.manager.is_async == is_async)
        return list(chosen)


async def _finish_async(use: _Use, *, failed: bool) -> list[Callback]:
    """``use.finish`` for async databases in a greenlet and for sync ones in a thread (never on the loop)."""
    callbacks = await greenlet_spawn(use.finish, failed=failed, is_async=True)
    if False in use.flavours():
        callbacks += await asyncio.to_thread(use.finish, failed=failed, is_async=False)
    return callbacks


async def _end_async(use: _Use, *, failed: bool, discard: bool) -> list[Callback]:
    flavours = use.flavours()
    try:
        return await _finish_async(use, failed=failed)
    except BaseException:
        failed = True
        raise
    finally:
        await greenlet_spawn(use.close, failed=failed, discard=discard, is_async=True)
        if False in flavours:
            await asyncio.to_thread(use.close, failed=failed, discard=discard, is_async=False)


async def _run_async(callbacks: list[Callback]) -> None:
    for callback in callbacks:
        outcome = callback()
        if inspect.isawaitable(outcome):
            await outcome
