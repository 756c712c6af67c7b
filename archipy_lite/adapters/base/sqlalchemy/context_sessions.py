"""A manager's sessions outside units of work, per thread and task: the atomic block's and the ambient one.

State lives in ``ContextVar``s owned by each session manager, so every thread and asyncio task
sees its own. A task inherits a *copy* of its parent's context, which would hand it the parent's
session; each value therefore records its owner (thread and task) and is ignored by anyone else:
a task started inside an atomic block does not silently share the block's session (units of
work are the opposite: see ``units``). A closed block is ignored wherever it is still referenced.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Generic, TypeVar

from archipy_lite.adapters.base.sqlalchemy.transactions import Owner, Transaction, current_owner

S = TypeVar("S")


@dataclass(eq=False)
class _Owned(Generic[S]):
    value: S
    owner: Owner


class ContextSessions(Generic[S]):
    """Per context: the open atomic block outside any unit, and the ambient session."""

    def __init__(self, name: str) -> None:
        self._block: ContextVar[Transaction | None] = ContextVar(f"{name}_block", default=None)
        self._ambient: ContextVar[_Owned[S] | None] = ContextVar(f"{name}_ambient", default=None)

    def block(self) -> Transaction | None:
        """The atomic block (outside any unit) this thread/task is in, if any."""
        transaction = self._block.get()
        if transaction is None or transaction.closed or transaction.owner != current_owner():
            return None
        return transaction

    def set_block(self, transaction: Transaction | None) -> None:
        self._block.set(transaction)

    def ambient(self, factory: Callable[[], S]) -> S:
        """The session used outside units and blocks by this thread/task, created on first use."""
        owner = current_owner()
        held = self._ambient.get()
        if held is None or held.owner != owner:
            held = _Owned(factory(), owner)
            self._ambient.set(held)
        return held.value

    def peek_ambient(self) -> S | None:
        held = self._ambient.get()
        return held.value if held is not None and held.owner == current_owner() else None
