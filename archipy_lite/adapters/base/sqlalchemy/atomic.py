"""``atomic``: transactions as a decorator or a context manager, sync and async.

Semantics follow Django's ``transaction.atomic``:

* the outermost block opens a transaction and commits it on success;
* a nested block is a SAVEPOINT: if it fails, only its work is rolled back and
  the outer block can still commit;
* an exception leaving the outermost block rolls everything back;
* ``on_commit`` callbacks run after the outermost commit, never after a rollback;
* ``retries=N`` (decorator form, outermost block only) re-runs the function on
  serialization failures and deadlocks with jittered exponential backoff.

Database failures leave the block as typed errors; any other exception (your
business errors, ``CancelledError``) passes through unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Literal, ParamSpec, TypeVar, cast, overload

from sqlalchemy.exc import InvalidRequestError, PendingRollbackError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.util import greenlet_spawn

from archipy_lite.adapters.base.sqlalchemy import operations
from archipy_lite.adapters.base.sqlalchemy.error_translation import translate_exception
from archipy_lite.adapters.base.sqlalchemy.registry import default_session_manager
from archipy_lite.adapters.base.sqlalchemy.session_managers import BaseSessionManager
from archipy_lite.adapters.base.sqlalchemy.transaction_state import AtomicState, current_owner
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
Target = Any  # an adapter (anything with .session_manager), a session manager, or None

# Innermost-last stack of open blocks in this context, for on_commit() without a target.
_open_blocks: ContextVar[tuple[AtomicState[Any], ...]] = ContextVar("archipy_open_blocks", default=())


def _resolve(target: Target, kind: str | None, *, is_async: bool) -> BaseSessionManager[Any, Any]:
    manager = getattr(target, "session_manager", target)
    if manager is None:
        if kind is None:
            raise InvalidArgumentError("atomic() needs an adapter, a session manager or kind='postgres'/'sqlite'")
        manager = default_session_manager(kind, is_async=is_async)
    if not isinstance(manager, BaseSessionManager):
        raise InvalidArgumentError(f"atomic() cannot bind to {type(target).__name__}")
    if manager.is_async != is_async:
        use = "async with / an async function" if manager.is_async else "with / a plain function"
        raise InvalidArgumentError(f"{manager!r} must be used with {use}")
    return manager


def _sync_session(session: Session | AsyncSession) -> Session:
    return session.sync_session if isinstance(session, AsyncSession) else session


# --- the block's steps, written once against a sync Session (async runs the I/O ones in a greenlet).
# Context variables are only touched by the caller, in its own context: a greenlet or a shielded
# task would otherwise write into a copy.


def _open_outer(manager: BaseSessionManager[Any, Any]) -> AtomicState[Any]:
    session = manager.new_session()
    _sync_session(session).begin()  # no I/O: the connection is taken on first use
    state: AtomicState[Any] = AtomicState(session=session, owner=current_owner())
    manager.sessions.set_atomic_state(state)
    _open_blocks.set((*_visible_blocks(), state))
    return state


def _forget(manager: BaseSessionManager[Any, Any], state: AtomicState[Any]) -> None:
    manager.sessions.set_atomic_state(None)
    _open_blocks.set(tuple(s for s in _visible_blocks() if s is not state))


def _open_savepoint(state: AtomicState[Any]) -> None:
    try:
        savepoint = _sync_session(state.session).begin_nested()
    except BaseException as exc:
        raise _typed(exc) from exc
    state.savepoints.append(savepoint)
    state.depth += 1


def _must_roll_back() -> DatabaseTransactionError:
    return DatabaseTransactionError(
        "An earlier statement in this atomic block failed, so the transaction can only roll back. "
        "Wrap statements you expect to fail in a nested atomic() block to recover from them."
    )


def _typed(exc: BaseException) -> BaseException:
    if isinstance(exc, PendingRollbackError):
        return _must_roll_back()
    return translate_exception(exc)


def _end_outer(state: AtomicState[Any], failed: bool) -> None:
    """Commit (or roll back) and close the outermost block's session."""
    sync = _sync_session(state.session)
    try:
        if failed or state.rollback_only:
            operations.rollback_quietly(sync)
        elif operations.failed_level(sync) is not None:
            operations.rollback_quietly(sync)
            raise _must_roll_back()
        else:
            try:
                sync.commit()
            except BaseException as exc:
                operations.rollback_quietly(sync)
                raise _typed(exc) from exc
    finally:
        try:
            sync.close()
        except Exception:
            logger.debug("closing an atomic session raised", exc_info=True)
            operations.discard_connection(sync)


def _end_nested(state: AtomicState[Any], failed: bool) -> None:
    """Release (or roll back to) the innermost savepoint."""
    savepoint = state.savepoints.pop()
    depth = state.depth
    state.depth -= 1
    sync = _sync_session(state.session)
    statement_failed = operations.failed_level(sync) is savepoint  # and was caught inside this block
    if failed or statement_failed:
        state.discard_callbacks_from(depth)
        try:
            # A failed flush leaves the savepoint inactive but still to be rolled back.
            savepoint.rollback()
        except InvalidRequestError:
            pass  # already closed: nothing left to undo
        except BaseException:
            state.rollback_only = True
            raise
        if statement_failed:
            operations.clear_failure(sync)
            if not failed:
                raise _must_roll_back()
        return
    try:
        savepoint.commit()
    except BaseException as exc:
        raise _typed(exc) from exc
    state.keep_callbacks_from(depth)


def _end(state: AtomicState[Any], failed: bool) -> list[Callable[[], Any]]:
    """Finish the innermost block (I/O only); returns the callbacks due after an outermost commit."""
    if state.savepoints:
        _end_nested(state, failed)
        return []
    _end_outer(state, failed)
    if failed or state.rollback_only:
        return []
    return [callback for _, callback in state.callbacks]


def _current_state(manager: BaseSessionManager[Any, Any]) -> AtomicState[Any]:
    state = manager.atomic_state()
    if state is None:  # pragma: no cover - only if the caller broke nesting
        raise DatabaseTransactionError("atomic block exited in a different context than it was entered")
    return state


def _check_durable(durable: bool) -> None:
    if durable:
        raise DatabaseTransactionError("A durable atomic block cannot be nested inside another atomic block.")


def _visible_blocks() -> tuple[AtomicState[Any], ...]:
    owner = current_owner()
    return tuple(state for state in _open_blocks.get() if state.owner == owner)


def _outgoing(exc: BaseException) -> BaseException | None:
    """What should leave the block instead of ``exc`` (None: let ``exc`` itself propagate)."""
    if isinstance(exc, BaseError) or not isinstance(exc, Exception):
        return None
    typed = _typed(exc)
    return None if typed is exc else typed


def _backoff(attempt: int) -> float:
    return float(min(2.0, 0.02 * 2**attempt) * random.uniform(0.5, 1.5))  # noqa: S311 - jitter, not crypto


class Atomic:
    """One atomic block description; stateless, so one instance can be reused across threads and tasks."""

    def __init__(
        self,
        target: Target = None,
        *,
        kind: str | None = None,
        retries: int = 0,
        durable: bool = False,
    ) -> None:
        if retries < 0:
            raise InvalidArgumentError("retries must be >= 0")
        self.target = target
        self.kind = kind
        self.retries = retries
        self.durable = durable

    # -- context manager, sync --

    def __enter__(self) -> Session:
        manager = self._manager(is_async=False)
        self._refuse_retries_here()
        state = manager.atomic_state()
        if state is None:
            state = _open_outer(manager)
        else:
            _check_durable(self.durable)
            _open_savepoint(state)
        session: Session = state.session
        return session

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        manager = self._manager(is_async=False)
        state = _current_state(manager)
        outermost = not state.savepoints
        try:
            callbacks = _end(state, failed=exc is not None)
        finally:
            if outermost:
                _forget(manager, state)
        for callback in callbacks:
            callback()
        if exc is not None and (replacement := _outgoing(exc)) is not None:
            raise replacement from exc
        return False

    # -- context manager, async --

    async def __aenter__(self) -> AsyncSession:
        manager = self._manager(is_async=True)
        self._refuse_retries_here()
        state = manager.atomic_state()
        if state is None:
            state = _open_outer(manager)
        else:
            _check_durable(self.durable)
            await greenlet_spawn(_open_savepoint, state)
        session: AsyncSession = state.session
        return session

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        manager = self._manager(is_async=True)
        state = _current_state(manager)
        outermost = not state.savepoints
        try:
            if isinstance(exc, asyncio.CancelledError):
                # The connection may be mid-statement; throw it away rather than talk to it.
                await asyncio.shield(greenlet_spawn(operations.discard_connection, _sync_session(state.session)))
            # Shielded so that a cancellation arriving now cannot leave the transaction half-finished.
            callbacks = await asyncio.shield(greenlet_spawn(_end, state, exc is not None))
        finally:
            if outermost:
                _forget(manager, state)
        for callback in callbacks:
            outcome = callback()
            if inspect.isawaitable(outcome):
                await outcome
        if exc is not None and (replacement := _outgoing(exc)) is not None:
            raise replacement from exc
        return False

    # -- decorator --

    def __call__(self, function: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(function):
            return self._wrap_async(function)  # type: ignore[return-value]
        return self._wrap_sync(function)

    def _wrap_sync(self, function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            block = Atomic(self.target, kind=self.kind, durable=self.durable)
            outermost = not self._manager(is_async=False).in_atomic_block()
            attempt = 0
            while True:
                try:
                    with block:
                        return function(*args, **kwargs)
                except RETRYABLE:
                    attempt += 1
                    if (delay := self._retry_delay(outermost, attempt)) is None:
                        raise
                    time.sleep(delay)

        return run

    def _wrap_async(self, function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(function)
        async def run(*args: P.args, **kwargs: P.kwargs) -> R:
            block = Atomic(self.target, kind=self.kind, durable=self.durable)
            outermost = not self._manager(is_async=True).in_atomic_block()
            attempt = 0
            while True:
                try:
                    async with block:
                        return await function(*args, **kwargs)
                except RETRYABLE:
                    attempt += 1
                    if (delay := self._retry_delay(outermost, attempt)) is None:
                        raise
                    await asyncio.sleep(delay)

        return run

    def _retry_delay(self, outermost: bool, attempt: int) -> float | None:
        """Seconds to wait before retry number ``attempt``, or None when the error must propagate.

        Only the outermost block retries: an inner one cannot undo its parent's work.
        """
        if not outermost or attempt > self.retries:
            return None
        return _backoff(attempt)

    def _manager(self, *, is_async: bool) -> BaseSessionManager[Any, Any]:
        return _resolve(self.target, self.kind, is_async=is_async)

    def _refuse_retries_here(self) -> None:
        if self.retries:
            raise InvalidArgumentError(
                "retries= only works when atomic decorates a function: a with-block cannot be re-run"
            )


@overload
def atomic(target: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def atomic(target: Target = None, /, *, kind: str | None = None, retries: int = 0, durable: bool = False) -> Atomic: ...


def atomic(
    target: Any = None, /, *, kind: str | None = None, retries: int = 0, durable: bool = False
) -> Atomic | Callable[..., Any]:
    """Open an atomic block on an adapter's database (or the default database of ``kind``).

    Use as ``@atomic(adapter)``, ``@atomic(kind="postgres", retries=3)``, ``with atomic(adapter):``
    or ``async with atomic(async_adapter):``. Bare ``@atomic`` on a function binds to the only
    default database there is.
    """
    if callable(target) and not hasattr(target, "session_manager") and not isinstance(target, BaseSessionManager):
        return Atomic(None, kind=kind or _only_kind())(target)
    return Atomic(target, kind=kind, retries=retries, durable=durable)


def _only_kind() -> str:
    kinds = {m.kind for m in BaseSessionManager.live_managers()}
    if len(kinds) == 1:
        return kinds.pop()
    return "postgres"


def on_commit(callback: Callable[[], Any], *, using: Target = None) -> None:
    """Run ``callback`` after the current outermost block commits; never if it rolls back.

    ``using`` picks the database (adapter or manager); by default the innermost open block.
    Outside any atomic block the callback runs immediately, as the work is already durable.
    An async block awaits callbacks that return awaitables.
    """
    state: AtomicState[Any] | None
    if using is not None:
        manager = cast("BaseSessionManager[Any, Any]", getattr(using, "session_manager", using))
        state = manager.atomic_state()
    else:
        blocks = _visible_blocks()
        state = blocks[-1] if blocks else None
    if state is None:
        callback()
        return
    state.callbacks.append((state.depth, callback))
