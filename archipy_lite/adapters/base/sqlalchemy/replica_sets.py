"""Replica sets: the read replicas of one primary, for sync and async code.

They own the replicas' engines and answer two questions for whoever opens a read-only unit of
work or transaction: which engine to read from (``pick``), and what a reader must wait for to see
a commit (``token_after_commit``). Routing itself, per unit or transaction and never per statement,
belongs to the code that opens sessions; see docs/scaling.md.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util import greenlet_spawn

from archipy_lite.adapters.base.sqlalchemy.consistency_tokens import ConsistencyTokens
from archipy_lite.adapters.base.sqlalchemy.error_translation import translated_errors
from archipy_lite.adapters.base.sqlalchemy.replica_routing import (
    AnyManager,
    PositionProbe,
    ReplicaPolicy,
    ReplicaRouter,
    ReplicaStatus,
)
from archipy_lite.adapters.base.sqlalchemy.session_managers import (
    AsyncSessionManager,
    BaseSessionManager,
    DialectSupport,
    SessionManager,
)
from archipy_lite.compat import await_

M = TypeVar("M", bound=BaseSessionManager[Any, Any])


def private_managers(manager_class: type[M], configs: Sequence[Any], dialect: Callable[[], DialectSupport]) -> list[M]:
    """Session managers for replicas, kept out of the registry's "only manager of its kind" default."""
    managers = [manager_class(config, dialect()) for config in configs]
    for manager in managers:
        BaseSessionManager._live.discard(manager)
    return managers


class _ReplicaSetBase(Generic[M]):
    def __init__(
        self,
        managers: Sequence[M],
        probe: PositionProbe,
        *,
        policy: ReplicaPolicy | None = None,
        tokens: ConsistencyTokens | None = None,
    ) -> None:
        self.managers: list[M] = list(managers)
        self.router = ReplicaRouter(self.managers, probe, policy or ReplicaPolicy())
        self.tokens = tokens or ConsistencyTokens()

    def __len__(self) -> int:
        return len(self.managers)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {len(self.managers)} replica(s)>"

    def decode_token(self, token: str | None) -> int | None:
        """The WAL position in a token (None for none); InvalidArgumentError for a forged one."""
        return None if token is None else self.tokens.decode(token)

    def encode_token(self, position: int) -> str:
        return self.tokens.encode(position)

    def token_on(self, connection: Connection) -> str:
        """A token for everything committed on the primary so far, read on a sync ``connection``
        (for async sets: the sync side, inside a greenlet)."""
        with translated_errors():
            return self.tokens.encode(self.router.primary_position(connection))


class ReplicaSet(_ReplicaSetBase[SessionManager]):
    """Read replicas for sync code."""

    def pick(self, token: str | None = None) -> Engine | None:
        """An engine of a replica fit to serve a read that must see ``token``'s commit; None: the primary.

        Without replicas this is None without a round trip. A token that was not issued with this
        set's key raises InvalidArgumentError, replicas or not.
        """
        target = self.decode_token(token)
        if not self.managers:
            return None
        manager = self.router.choose(target, time.sleep)
        return None if manager is None else manager.engine

    def token_after_commit(self, bind: Connection | Engine) -> str:
        """A token for everything committed on the primary so far (one statement on ``bind``)."""
        if isinstance(bind, Engine):
            with bind.connect() as connection:
                return self.token_on(connection)
        return self.token_on(bind)

    def status(self) -> list[ReplicaStatus]:
        """Measure every replica now (for health checks)."""
        return self.router.statuses()

    def dispose(self) -> None:
        for manager in self.managers:
            manager.dispose()


def _sleep_in_greenlet(seconds: float) -> None:
    await_(asyncio.sleep(seconds))


class AsyncReplicaSet(_ReplicaSetBase[AsyncSessionManager]):
    """Read replicas for async code (asyncpg or psycopg async); the same logic as ``ReplicaSet``."""

    async def pick(self, token: str | None = None) -> AsyncEngine | None:
        """An engine of a replica fit to serve a read that must see ``token``'s commit; None: the primary."""
        target = self.decode_token(token)
        if not self.managers:
            return None
        # Most picks are answered by a recent measurement: no greenlet then (30 µs -> 2 µs a pick).
        manager = self.router.cached_choice(target)
        if manager is None:
            manager = await greenlet_spawn(self.router.choose, target, _sleep_in_greenlet)
        return None if manager is None else manager.engine

    async def token_after_commit(self, bind: AsyncConnection | AsyncEngine) -> str:
        """A token for everything committed on the primary so far (one statement on ``bind``)."""
        if isinstance(bind, AsyncEngine):
            async with bind.connect() as connection:
                token: str = await connection.run_sync(self.token_on)
                return token
        return await bind.run_sync(self.token_on)

    async def status(self) -> list[ReplicaStatus]:
        """Measure every replica now (for health checks)."""
        statuses: list[ReplicaStatus] = await greenlet_spawn(self.router.statuses)
        return statuses

    async def dispose(self) -> None:
        for manager in self.managers:
            await manager.dispose()


_sets: weakref.WeakKeyDictionary[BaseSessionManager[Any, Any], ReplicaSet | AsyncReplicaSet] = (
    weakref.WeakKeyDictionary()
)
_sets_lock = threading.Lock()


def replicas_of(manager: BaseSessionManager[Any, Any]) -> ReplicaSet | AsyncReplicaSet | None:
    """The replica set of a session manager's database, built once from its settings; None without replicas.

    The dialect builds it (``replica_set(config, is_async=...)``); a dialect without replicas has none.
    """
    build = getattr(manager.dialect, "replica_set", None)
    if build is None or not getattr(manager.config, "READ_REPLICA_DSNS", None):
        return None
    with _sets_lock:
        found = _sets.get(manager)
        if found is None:
            found = _sets[manager] = build(manager.config, is_async=manager.is_async)
        return found


__all__ = ["AnyManager", "AsyncReplicaSet", "ReplicaSet", "private_managers", "replicas_of"]
