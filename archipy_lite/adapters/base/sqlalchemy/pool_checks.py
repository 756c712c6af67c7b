"""Connection checks at checkout that cost a round trip only when a connection has been idle a while.

``pool_pre_ping`` pings on every checkout: one extra round trip per request. Like HikariCP, this
pings only a connection that sat in the pool longer than ``idle_seconds``; a dead one is
replaced transparently (the pool retries the checkout on ``DisconnectionError``).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

_IDLE_SINCE = "archipy_idle_since"


def install_idle_ping(engine: Engine, idle_seconds: float) -> None:
    """Ping connections idle longer than ``idle_seconds`` when they are checked out."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _idle_from_now(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("a pooled connection failed its idle check") from exc
        if not alive:
            raise DisconnectionError("a pooled connection failed its idle check")
