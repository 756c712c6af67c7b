"""Where a unit of work's statements go: the primary, or a replica for reads (DESIGN.md decision 10).

Routing is decided per unit of work or transaction, never per statement: a unit takes its one
connection from a replica only when it is read-only (or, with ``READ_REPLICA_AUTOCOMMIT_READS``,
until its first write), the replica has replayed the caller's consistency token, and it is up
and not late; otherwise from the primary. Every write and every atomic block of a writing unit
runs on the primary, and a unit that wrote never reads a replica again. The replica sets
themselves live in ``replica_sets`` (PostgreSQL only); without ``READ_REPLICA_DSNS`` every
function here answers "the primary" without a round trip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection, Engine

from archipy_lite.compat import await_

if TYPE_CHECKING:
    from archipy_lite.adapters.base.sqlalchemy.replica_sets import AsyncReplicaSet, ReplicaSet
    from archipy_lite.adapters.base.sqlalchemy.session_managers import BaseSessionManager


def replicas(manager: BaseSessionManager[Any, Any]) -> ReplicaSet | AsyncReplicaSet | None:
    """The manager's replica set, or None (no replicas configured)."""
    from archipy_lite.adapters.base.sqlalchemy.replica_sets import replicas_of

    return replicas_of(manager)


def check_token(manager: BaseSessionManager[Any, Any], token: str | None) -> None:
    """Refuse a forged or foreign token when a unit begins (InvalidArgumentError), before any work."""
    found = replicas(manager)
    if token is not None and found is not None:
        found.decode_token(token)


def replica_engine(manager: BaseSessionManager[Any, Any], token: str | None) -> Engine | None:
    """A replica's sync engine fit for a read that must see ``token``; None: use the primary.

    Runs inside the unit's call (a greenlet for async managers).
    """
    from archipy_lite.adapters.base.sqlalchemy.replica_sets import AsyncReplicaSet

    found = replicas(manager)
    if found is None:
        return None
    if isinstance(found, AsyncReplicaSet):
        picked = await_(found.pick(token))
        return None if picked is None else picked.sync_engine
    return found.pick(token)


def reads_go_to_replicas(manager: BaseSessionManager[Any, Any]) -> bool:
    """Whether a writing unit's reads between atomic blocks may use a replica until it writes."""
    return bool(getattr(manager.config, "READ_REPLICA_AUTOCOMMIT_READS", False)) and replicas(manager) is not None


def token_after_commit(manager: BaseSessionManager[Any, Any], connection: Connection) -> str | None:
    """A consistency token for everything committed so far, read on the primary ``connection``."""
    found = replicas(manager)
    return None if found is None else found.token_on(connection)
