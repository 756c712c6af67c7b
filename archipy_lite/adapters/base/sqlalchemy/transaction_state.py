"""Per-context session bookkeeping shared by the sync and async session managers.

State lives in a ``ContextVar`` owned by each session manager, so every thread
and every asyncio task sees its own. A task inherits a *copy* of its parent's
context, which would hand it the parent's session object; each state therefore
records its owner (thread and task) and is ignored by anyone else.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

S = TypeVar("S")
Owner = tuple[int, object]


def current_owner() -> Owner:
    """Identify the running thread and asyncio task (None outside a task)."""
    try:
        task: object = asyncio.current_task()
    except RuntimeError:
        task = None
    return threading.get_ident(), task


@dataclass(eq=False)
class AtomicState(Generic[S]):
    """An open atomic block: its session, savepoint depth and pending on-commit callbacks."""

    session: S
    owner: Owner
    depth: int = 1
    savepoints: list[Any] = field(default_factory=list)
    callbacks: list[tuple[int, Callable[[], Any]]] = field(default_factory=list)
    rollback_only: bool = False

    def discard_callbacks_from(self, depth: int) -> None:
        """Forget callbacks registered at ``depth`` or deeper (their savepoint rolled back)."""
        self.callbacks = [(d, cb) for d, cb in self.callbacks if d < depth]

    def keep_callbacks_from(self, depth: int) -> None:
        """Hand callbacks of a released savepoint at ``depth`` to its parent level.

        Otherwise a later sibling savepoint at the same depth that rolls back would discard them.
        """
        self.callbacks = [(min(d, depth - 1), cb) for d, cb in self.callbacks]


@dataclass(eq=False)
class _Owned(Generic[S]):
    value: S
    owner: Owner


class ContextSessions(Generic[S]):
    """Holds, per context, the open atomic state and the autocommit session of one manager."""

    def __init__(self, name: str) -> None:
        self._atomic: ContextVar[AtomicState[S] | None] = ContextVar(f"{name}_atomic", default=None)
        self._autocommit: ContextVar[_Owned[S] | None] = ContextVar(f"{name}_autocommit", default=None)

    def atomic_state(self) -> AtomicState[S] | None:
        """The atomic block this thread/task is in, if any."""
        state = self._atomic.get()
        if state is not None and state.owner != current_owner():
            return None
        return state

    def set_atomic_state(self, state: AtomicState[S] | None) -> None:
        self._atomic.set(state)

    def autocommit_session(self, factory: Callable[[], S]) -> S:
        """The session used outside atomic blocks by this thread/task, created on first use."""
        owner = current_owner()
        held = self._autocommit.get()
        if held is None or held.owner != owner:
            held = _Owned(factory(), owner)
            self._autocommit.set(held)
        return held.value

    def peek_autocommit_session(self) -> S | None:
        held = self._autocommit.get()
        return held.value if held is not None and held.owner == current_owner() else None
