"""``atomic``: transactions as a decorator or a context manager, sync and async.

Semantics follow Django's ``transaction.atomic``:

* the outermost block opens a transaction and commits it on success;
* a nested block is a SAVEPOINT: if it fails, only its work is rolled back and
  the outer block can still commit;
* an exception leaving the outermost block rolls everything back;
* ``on_commit`` callbacks run after the outermost commit, never after a rollback;
* ``retries=N`` (decorator form, outermost block only) re-runs the function on
  serialization failures and deadlocks with jittered exponential backoff; only the
  transaction is retried, never work done after it committed.

Inside a unit of work the block is a transaction on the unit's session and connection;
outside one it has a session of its own, closed with the block. Each entered block is
remembered by the ``Atomic`` object itself, so a block closed from another context (an
abandoned async generator finalised by the event loop) still rolls back and returns its
connection. Database failures leave the block as typed errors; any other exception (your
business errors, ``CancelledError``) passes through unchanged. The transaction bookkeeping
itself lives in ``transactions``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Literal, ParamSpec, TypeVar, overload

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.util import greenlet_spawn

from archipy_lite.adapters.base.sqlalchemy import blocks
from archipy_lite.adapters.base.sqlalchemy.binding import Target, decorate, resolve
from archipy_lite.adapters.base.sqlalchemy.blocks import Entered
from archipy_lite.adapters.base.sqlalchemy.session_managers import BaseSessionManager
from archipy_lite.adapters.base.sqlalchemy.transactions import (
    Transaction,
    current_owner,
    discard_connection,
    typed_error,
)
from archipy_lite.adapters.base.sqlalchemy.units import (
    current_scope,
    remember_transaction,
    visible_transactions,
)
from archipy_lite.models.errors import (
    BaseError,
    DatabaseDeadlockError,
    DatabaseSerializationError,
    DatabaseTransactionError,
    InvalidArgumentError,
)

P = ParamSpec("P")
R = TypeVar("R")
logger = logging.getLogger(__name__)

RETRYABLE = (DatabaseSerializationError, DatabaseDeadlockError)


class Atomic:
    """An atomic block description, usable as decorator and as (async) context manager."""

    def __init__(
        self,
        target: Target = None,
        *,
        kind: str | None = None,
        retries: int = 0,
        durable: bool = False,
        read_only: bool = False,
    ) -> None:
        if retries < 0:
            raise InvalidArgumentError("retries must be >= 0")
        self.target = target
        self.kind = kind
        self.retries = retries
        self.durable = durable
        self.read_only = read_only
        self.committed = False  # the last outermost block entered through this object committed
        self._entered: list[Entered] = []

    # -- context manager, sync --

    def __enter__(self) -> Session:
        manager = self._manager(is_async=False)
        self._refuse_retries_here()
        entered = blocks.plan(manager, self.durable, self.read_only)
        try:
            entered.level = blocks.open_block(entered)
        except BaseException:
            blocks.abandon(entered)
            raise
        self._remember(entered)
        session: Session = entered.session
        return session

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        entered = self._take()
        try:
            callbacks = blocks.close_block(entered, exc is not None)
        finally:
            blocks.forget(entered)
        self.committed = entered.level is not None and entered.level.is_outermost and exc is None
        for callback in callbacks:
            callback()
        if exc is not None and (replacement := _outgoing(exc)) is not None:
            raise replacement from exc
        return False

    # -- context manager, async --

    async def __aenter__(self) -> AsyncSession:
        manager = self._manager(is_async=True)
        self._refuse_retries_here()
        entered = blocks.plan(manager, self.durable, self.read_only)
        try:
            entered.level = await greenlet_spawn(blocks.open_block, entered)
        except BaseException:
            await asyncio.shield(greenlet_spawn(blocks.close_block, entered, True))
            blocks.forget(entered)
            raise
        self._remember(entered)
        session: AsyncSession = entered.session
        return session

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        entered = self._take()
        try:
            if isinstance(exc, asyncio.CancelledError) and entered.level is not None:
                # The connection may be mid-statement; throw it away rather than talk to it.
                sync = entered.level.transaction.session
                await asyncio.shield(greenlet_spawn(discard_connection, sync))
            # Shielded so that a cancellation arriving now cannot leave the transaction half-finished.
            callbacks = await asyncio.shield(greenlet_spawn(blocks.close_block, entered, exc is not None))
        finally:
            blocks.forget(entered)
        self.committed = entered.level is not None and entered.level.is_outermost and exc is None
        for callback in callbacks:
            outcome = callback()
            if inspect.isawaitable(outcome):
                await outcome
        if exc is not None and (replacement := _outgoing(exc)) is not None:
            raise replacement from exc
        return False

    # -- decorator --

    def __call__(self, function: Callable[P, R]) -> Callable[P, R]:
        wrappers: dict[str, Any] = {"wrap_sync": self._wrap_sync, "wrap_async": self._wrap_async}
        return decorate(function, "atomic", **wrappers)

    def _wrap_sync(self, function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            outermost = not self._manager(is_async=False).in_atomic_block()
            attempt = 0
            while True:
                block = Atomic(self.target, kind=self.kind, durable=self.durable, read_only=self.read_only)
                try:
                    with block:
                        return function(*args, **kwargs)
                except RETRYABLE:
                    attempt += 1
                    if block.committed or (delay := self._retry_delay(outermost, attempt)) is None:
                        raise
                    time.sleep(delay)

        return run

    def _wrap_async(self, function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(function)
        async def run(*args: P.args, **kwargs: P.kwargs) -> R:
            outermost = not self._manager(is_async=True).in_atomic_block()
            attempt = 0
            while True:
                block = Atomic(self.target, kind=self.kind, durable=self.durable, read_only=self.read_only)
                try:
                    async with block:
                        return await function(*args, **kwargs)
                except RETRYABLE:
                    attempt += 1
                    if block.committed or (delay := self._retry_delay(outermost, attempt)) is None:
                        raise
                    await asyncio.sleep(delay)

        return run

    def _retry_delay(self, outermost: bool, attempt: int) -> float | None:
        """Seconds to wait before retry number ``attempt``, or None when the error must propagate.

        Only the outermost block retries: an inner one cannot undo its parent's work. A block that
        committed is never retried (its callbacks failed, not its transaction).
        """
        if not outermost or attempt > self.retries:
            return None
        return _backoff(attempt)

    # -- bookkeeping of entered blocks --

    def _remember(self, entered: Entered) -> None:
        self._entered.append(entered)
        level = entered.level
        if entered.unit is not None and level is not None and level.is_outermost:
            remember_transaction(level.transaction)

    def _take(self) -> Entered:
        """The block being exited: this caller's latest, or (from a finaliser's context) the latest."""
        owner = current_owner()
        for index in range(len(self._entered) - 1, -1, -1):
            if self._entered[index].owner == owner:
                return self._entered.pop(index)
        if not self._entered:  # pragma: no cover - only if __exit__ is called without __enter__
            raise DatabaseTransactionError("atomic block exited without being entered")
        return self._entered.pop()

    def _manager(self, *, is_async: bool) -> BaseSessionManager[Any, Any]:
        return resolve(self.target, self.kind, is_async=is_async)

    def _refuse_retries_here(self) -> None:
        if self.retries:
            raise InvalidArgumentError(
                "retries= only works when atomic decorates a function: a with-block cannot be re-run"
            )


@overload
def atomic(target: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def atomic(
    target: Target = None,
    /,
    *,
    kind: str | None = None,
    retries: int = 0,
    durable: bool = False,
    read_only: bool = False,
) -> Atomic: ...


def atomic(
    target: Any = None,
    /,
    *,
    kind: str | None = None,
    retries: int = 0,
    durable: bool = False,
    read_only: bool = False,
) -> Atomic | Callable[..., Any]:
    """Open an atomic block on an adapter's database (or the default database of ``kind``).

    Use as ``@atomic(adapter)``, ``@atomic(kind="postgres", retries=3)``, ``with atomic(adapter):``
    or ``async with atomic(async_adapter):``. Without an adapter or kind, the block binds when it
    opens: to the database of the current unit of work if there is exactly one, else to the only
    default database there is. ``read_only=True``: a READ ONLY transaction, outside a unit on a
    read replica when one is fit (``READ_REPLICA_DSNS``), else on the primary.
    """
    if callable(target) and not hasattr(target, "session_manager") and not isinstance(target, BaseSessionManager):
        return Atomic(None, kind=kind)(target)
    return Atomic(target, kind=kind, retries=retries, durable=durable, read_only=read_only)


def on_commit(callback: Callable[[], Any], *, using: Target = None) -> None:
    """Run ``callback`` after the current outermost block commits; never if it rolls back.

    ``using`` picks the database (adapter or manager); by default the innermost open block.
    Outside any atomic block the callback runs immediately, as the work is already durable.
    An async block awaits callbacks that return awaitables.
    """
    transaction: Transaction | None
    if using is not None:
        manager = getattr(using, "session_manager", using)
        if not isinstance(manager, BaseSessionManager):
            raise InvalidArgumentError(f"on_commit(using=...) needs an adapter or a session manager, got {using!r}")
        transaction = manager.atomic_state()
    else:
        visible = visible_transactions()
        transaction = visible[-1] if visible else None
        scope = current_scope()
        if transaction is None and scope is not None and scope.atomic and not scope.committed:
            scope.callbacks.append(callback)  # an atomic unit no database has joined yet: at its commit
            return
    if transaction is None:
        callback()
        return
    transaction.on_commit(callback)


def _outgoing(exc: BaseException) -> BaseException | None:
    """What should leave the block instead of ``exc`` (None: let ``exc`` itself propagate)."""
    if isinstance(exc, BaseError) or not isinstance(exc, Exception):
        return None
    if isinstance(exc, OSError) and not isinstance(exc, SQLAlchemyError):
        return None  # the block's own network or file error (a timeout, an HTTP call): not the database's
    typed = typed_error(exc)
    return None if typed is exc else typed


def _backoff(attempt: int) -> float:
    return float(min(2.0, 0.02 * 2**attempt) * random.uniform(0.5, 1.5))  # noqa: S311 - jitter, not crypto
