"""One atomic block, from plan to close: where it goes (its own session, a unit's, or a savepoint of
an open block), opening it and closing it. ``_open``/``close`` do I/O (async runs them in a
greenlet); context variables are only touched by ``plan`` and ``forget``, in the caller's context.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from archipy_lite.adapters.base.sqlalchemy import block_turns, routing
from archipy_lite.adapters.base.sqlalchemy.session_managers import BaseSessionManager
from archipy_lite.adapters.base.sqlalchemy.transactions import (
    Callback,
    Level,
    Transaction,
    close_quietly,
    current_owner,
)
from archipy_lite.adapters.base.sqlalchemy.units import Unit, current_unit, forget_transaction, remember_transaction
from archipy_lite.models.errors import DatabaseTransactionError


@dataclass(eq=False)
class Entered:
    manager: BaseSessionManager[Any, Any]
    owner: tuple[int, object]
    session: Any  # what the caller gets: Session or AsyncSession
    joins: Transaction | None = None  # an open transaction this block becomes a savepoint of
    unit: Unit | None = None
    standalone: Transaction | None = None  # a transaction of its own (outside any unit)
    read_only: bool = False
    level: Level | None = None
    inside: Any = None  # the context token saying this context is inside the block (unit blocks)


def plan(manager: BaseSessionManager[Any, Any], durable: bool, read_only: bool) -> Entered:
    """Decide where the block goes (reads context variables; no I/O)."""
    owner = current_owner()
    block = manager.sessions.block()
    if block is not None:
        _check_durable(durable)
        return Entered(manager, owner, block.handed_out, joins=block)
    unit = current_unit(manager)
    if unit is not None:
        if unit.transaction is not None and not unit.turns.is_outside():  # nested (another task's block: waits)
            _check_durable(durable)
        entered = Entered(manager, owner, unit.session(), unit=unit, read_only=read_only)
        entered.inside = block_turns.enter(entered)
        return entered
    session = manager.new_session()
    sync = _sync_session(session)
    transaction = Transaction(sync, on_end=functools.partial(close_quietly, sync), handed_out=session)
    manager.sessions.set_block(transaction)
    remember_transaction(transaction)
    return Entered(manager, owner, session, standalone=transaction, read_only=read_only)


def open_block(entered: Entered) -> Level:
    """Begin the block. A nested block is a savepoint of whatever its outer block is (read-only or not)."""
    if entered.standalone is not None:
        level = entered.standalone.begin(entered.owner)
        if entered.read_only:  # a replica when one is fit, else the primary; READ ONLY either way
            session = entered.standalone.session
            replica = routing.replica_engine(entered.manager, None)
            if replica is not None:
                session.bind = replica
            entered.manager.dialect.begin_read_only(session.connection())
        return level
    if entered.joins is not None:
        return entered.joins.savepoint(entered.owner)
    unit = entered.unit
    assert unit is not None
    unit.turns.enter_guard(unit.guard, entered.owner)  # another task's block: wait for it, then open ours
    try:
        if unit.transaction is not None:
            level = unit.transaction.savepoint(entered.owner)
        else:
            level = unit.begin_transaction(entered.owner, read_only=entered.read_only)
        unit.turns.push(entered)
        return level
    finally:
        unit.guard.exit()


def abandon(entered: Entered) -> None:
    """A block that could not open: whatever it took is given back."""
    try:
        close_block(entered, True)
    finally:
        forget(entered)


def close_block(entered: Entered, failed: bool) -> list[Callback]:
    level = entered.level
    if level is None:  # opening failed: a standalone session may still need closing
        if entered.standalone is not None and not entered.standalone.closed:
            entered.standalone.closed = True
            close_quietly(entered.standalone.session)
        return []
    unit = entered.unit
    if unit is None:
        return level.transaction.close(level, failed=failed)
    unit.guard.enter(entered.owner)
    try:
        return level.transaction.close(level, failed=failed)
    finally:
        unit.turns.pop(entered)
        unit.guard.exit()


def forget(entered: Entered) -> None:
    if entered.inside is not None:
        block_turns.leave(entered.inside)
        entered.inside = None
    transaction = entered.standalone or (entered.level.transaction if entered.level else None)
    if transaction is None or not transaction.closed:
        return
    if entered.standalone is not None and entered.manager.sessions.block() is transaction:
        entered.manager.sessions.set_block(None)
    forget_transaction(transaction)


def _check_durable(durable: bool) -> None:
    if durable:
        raise DatabaseTransactionError("A durable atomic block cannot be nested inside another atomic block.")


def _sync_session(session: Session | AsyncSession) -> Session:
    return session.sync_session if isinstance(session, AsyncSession) else session
