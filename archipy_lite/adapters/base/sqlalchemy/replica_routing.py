"""Choosing a read replica: reachable, still a replica, not too late, and past the caller's token.

Dialect-neutral: a ``PositionProbe`` (PostgreSQL's lives in ``adapters/postgres``) reads where a
server's WAL stands. The choice is written once against sync connections; the async replica set
runs it inside a greenlet, as the adapters run their operations.

A replica that cannot be reached, has been promoted, or lags more than allowed *rests*: it is not
tried again for ``retry_seconds``. A replica that is merely behind a token is not unhealthy; it is
passed over for this read (or waited for, up to ``wait_seconds``). When no replica qualifies the
answer is None: read from the primary. A read never fails because of a replica.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Connection, Engine

from archipy_lite.adapters.base.sqlalchemy.error_translation import translate_exception
from archipy_lite.adapters.base.sqlalchemy.session_managers import BaseSessionManager
from archipy_lite.models.errors import BaseError

logger = logging.getLogger(__name__)

AnyManager = BaseSessionManager[Any, Any]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class ReplicaPosition:
    """Where a replica stands: ``replayed`` is the WAL position applied so far."""

    in_recovery: bool  # False once promoted: it is no longer anyone's replica
    replayed: int
    lag_seconds: float  # since the last applied transaction, while received WAL waits; 0 when none waits


class PositionProbe(Protocol):
    """Reads WAL positions on a connection (one statement each)."""

    def primary_position(self, connection: Connection) -> int:
        """The position a replica must have replayed to see everything committed so far."""
        ...

    def replica_position(self, connection: Connection) -> ReplicaPosition:
        """The replica's state."""
        ...


@dataclass(frozen=True)
class ReplicaPolicy:
    """When a replica may serve a read, and how long a bad one is left alone (seconds throughout)."""

    max_lag_seconds: float | None = 5.0
    retry_seconds: float = 5.0
    check_seconds: float = 1.0
    wait_seconds: float = 0.0
    poll_seconds: float = 0.01


@dataclass(frozen=True)
class ReplicaStatus:
    """One replica as last measured, for health reports (``archipy-lite doctor``)."""

    index: int
    reachable: bool
    position: ReplicaPosition | None
    resting_seconds: float  # how long it is still skipped; 0 when in use
    reason: str | None  # why it is skipped or unreachable


@dataclass(eq=False)
class _Replica:
    index: int
    manager: AnyManager
    position: ReplicaPosition | None = None
    measured_at: float = -math.inf
    resting_until: float = -math.inf
    reason: str | None = None
    reachable: bool = False
    measuring: bool = False


def sync_engine_of(manager: AnyManager) -> Engine:
    """The sync engine behind a manager (an async manager's ``engine.sync_engine``)."""
    engine = manager.engine
    return engine.sync_engine if hasattr(engine, "sync_engine") else engine  # type: ignore[no-any-return]


def _describe(exc: Exception) -> str:
    # Typed messages never hold secrets; a raw driver message might (it can quote the DSN), so only its type.
    typed = translate_exception(exc)
    return f"{type(typed).__name__}: {typed.message}" if isinstance(typed, BaseError) else type(typed).__name__


class ReplicaRouter:
    """The replicas' health and the choice among them (sync code; see the module docstring)."""

    def __init__(
        self,
        managers: Sequence[AnyManager],
        probe: PositionProbe,
        policy: ReplicaPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._replicas = [_Replica(index, manager) for index, manager in enumerate(managers)]
        self._probe = probe
        self.policy = policy
        self._clock = clock
        self._turn = itertools.count()

    @property
    def managers(self) -> list[AnyManager]:
        return [replica.manager for replica in self._replicas]

    def choose(self, target: int | None, sleep: Sleep) -> AnyManager | None:
        """The manager of a replica fit for a read that must see ``target``; None: use the primary."""
        deadline = self._clock() + (self.policy.wait_seconds if target is not None else 0.0)
        while True:
            behind = False
            for replica in self._rotation():
                verdict = self._consider(replica, target)
                if verdict is True:
                    return replica.manager
                behind = behind or verdict is None
            remaining = deadline - self._clock()
            if not behind or remaining <= 0:
                return None
            sleep(min(self.policy.poll_seconds, remaining))

    def cached_choice(self, target: int | None) -> AnyManager | None:
        """A replica fit for the read by its recent measurement, without I/O; None: ask ``choose``."""
        now = self._clock()
        for replica in self._rotation():
            position = replica.position
            if replica.resting_until > now or position is None or now - replica.measured_at > self.policy.check_seconds:
                continue
            if target is None or position.replayed >= target:
                return replica.manager
        return None

    def primary_position(self, connection: Connection) -> int:
        return self._probe.primary_position(connection)

    def statuses(self) -> list[ReplicaStatus]:
        """Measure every replica now, resting or not, and report."""
        reports = []
        for replica in self._replicas:
            self._measure(replica)
            reports.append(
                ReplicaStatus(
                    index=replica.index,
                    reachable=replica.reachable,
                    position=replica.position if replica.reachable else None,
                    resting_seconds=max(0.0, replica.resting_until - self._clock()),
                    reason=replica.reason,
                )
            )
        return reports

    def _rotation(self) -> list[_Replica]:
        start = next(self._turn) % len(self._replicas) if self._replicas else 0
        return self._replicas[start:] + self._replicas[:start]

    def _consider(self, replica: _Replica, target: int | None) -> bool | None:
        """True: use it. False: it rests. None: healthy, but not yet at ``target``."""
        now = self._clock()
        if replica.resting_until > now:
            return False
        position = replica.position
        fresh = position is not None and now - replica.measured_at <= self.policy.check_seconds
        if position is None or not fresh or (target is not None and position.replayed < target):
            position = self._measure(replica)
            if position is None:
                return False
        if target is not None and position.replayed < target:
            return None
        return True

    def _measure(self, replica: _Replica) -> ReplicaPosition | None:
        """Read the replica's position; a failure, a promotion or too much lag makes it rest."""
        if replica.measuring and replica.position is not None:
            return replica.position  # another thread or task is measuring it right now
        replica.measuring = True
        try:
            with sync_engine_of(replica.manager).connect() as connection:
                position = self._probe.replica_position(connection)
        except Exception as exc:
            replica.reachable = False
            self._rest(replica, f"unreachable ({_describe(exc)})")
            return None
        finally:
            replica.measuring = False
        replica.position, replica.measured_at, replica.reachable = position, self._clock(), True
        limit = self.policy.max_lag_seconds
        if not position.in_recovery:
            self._rest(replica, "not in recovery (promoted, or not a standby)")
        elif limit is not None and position.lag_seconds > limit:
            self._rest(replica, f"{position.lag_seconds:.1f} s behind (limit {limit:g} s)")
        else:
            replica.reason = None
            return position
        return None

    def _rest(self, replica: _Replica, reason: str) -> None:
        if replica.reason != reason:
            logger.warning("read replica %d skipped for %g s: %s", replica.index, self.policy.retry_seconds, reason)
        replica.reason = reason
        replica.resting_until = self._clock() + self.policy.retry_seconds
