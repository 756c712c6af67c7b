"""One thread or task at a time on a shared session."""

from __future__ import annotations

import asyncio
import threading

from archipy_lite.adapters.base.sqlalchemy.transactions import Owner
from archipy_lite.compat import await_


class CallGuard:
    """Lets one thread or task at a time use a shared session; re-entrant for its holder.

    Async units run on one event loop, so a flag suffices while nobody waits; a waiter parks on
    an ``asyncio.Event`` (from inside the greenlet that runs the call).
    """

    def __init__(self, *, is_async: bool) -> None:
        self._is_async = is_async
        self._lock = threading.RLock()
        self._free: asyncio.Event | None = None
        self.holder: Owner | None = None  # who is inside a call now
        self._depth = 0

    @property
    def depth(self) -> int:
        """How many calls the holder is inside (re-entered calls count)."""
        return self._depth

    def enter(self, owner: Owner) -> None:
        if self.holder == owner:
            self._depth += 1
            return
        if self._is_async:
            while self.holder is not None:
                if self._free is None:
                    self._free = asyncio.Event()
                self._free.clear()
                await_(self._free.wait())
        else:
            self._lock.acquire()
        self.holder, self._depth = owner, 1

    def exit(self) -> None:
        self._depth -= 1
        if self._depth:
            return
        self.holder = None
        if self._is_async:
            if self._free is not None:
                self._free.set()
        else:
            self._lock.release()
