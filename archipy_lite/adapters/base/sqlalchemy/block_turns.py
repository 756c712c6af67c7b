"""An atomic block on a shared unit of work, and the tasks and threads that did not open it.

A unit of work is shared by every task and thread that inherits its context, and an atomic block
inside it is a transaction on the unit's one connection. Calls from inside the block (the task or
thread that opened it, and those it starts) run in its transaction. A call from a sibling that
started before the block waits for the block to end: it would otherwise run inside a transaction
it does not own, be rolled back with it, or have its "durable" write committed by someone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from contextvars import ContextVar, Token

from archipy_lite.adapters.base.sqlalchemy.call_guard import CallGuard
from archipy_lite.adapters.base.sqlalchemy.transactions import Owner
from archipy_lite.compat import await_
from archipy_lite.models.errors import DatabaseTransactionError

# The blocks this context is inside (their markers), innermost last: inherited by tasks and threads it starts.
_inside: ContextVar[tuple[object, ...]] = ContextVar("archipy_inside_blocks", default=())


def enter(marker: object) -> Token[tuple[object, ...]]:
    """This context (and what it starts from now on) is inside the block ``marker``."""
    return _inside.set((*_inside.get(), marker))


def leave(token: Token[tuple[object, ...]]) -> None:
    with contextlib.suppress(ValueError):  # left from another context (a finaliser): that context ends anyway
        _inside.reset(token)


class BlockTurns:
    """The atomic blocks open on one unit (outermost first), and a way to wait for them to end."""

    def __init__(self, *, is_async: bool) -> None:
        self._is_async = is_async
        self._open: list[tuple[object, asyncio.Event | threading.Event]] = []

    @property
    def marker(self) -> object | None:
        """The innermost open block, if any."""
        return self._open[-1][0] if self._open else None

    def push(self, marker: object) -> None:
        self._open.append((marker, asyncio.Event() if self._is_async else threading.Event()))

    def pop(self, marker: object) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index][0] is marker:
                self._open.pop(index)[1].set()
                return

    def is_outside(self) -> bool:
        """Whether a block is open that this context is not inside (another task's or thread's)."""
        return self.marker is not None and self.marker not in _inside.get()

    def enter_guard(self, guard: CallGuard, owner: Owner) -> None:
        """Take ``guard`` (the unit's call guard) once no other task's block is open, checked again after
        taking it: a block may have opened while this caller queued for the guard."""
        while True:
            self.wait_if_outside()
            guard.enter(owner)
            if not self.is_outside():
                return
            guard.exit()

    def wait_if_outside(self) -> None:
        """Return at once inside the open block (or with none open); otherwise wait for it to end."""
        while self.is_outside():
            over = self._open[-1][1]
            if isinstance(over, asyncio.Event):
                await_(over.wait())  # inside the greenlet that runs the call
            else:
                _refuse_on_event_loop()
                over.wait()


def _refuse_on_event_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # a worker thread: waiting blocks only this thread
    raise DatabaseTransactionError(
        "Another task's atomic block is open on this unit of work's connection, and a synchronous call on "
        "the event loop cannot wait for it without blocking that task: use the async adapter, or run the "
        "call in a thread (asyncio.to_thread).",
        details={"reason": "foreign_block_open"},
    )
