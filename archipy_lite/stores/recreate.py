"""``recreate_all`` for async engines: the sync logic, run on the async engine through a greenlet."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from archipy_lite.stores.session_context import recreate_all


async def async_recreate_all(engine: AsyncEngine, metadata: MetaData | None = None) -> None:
    """Drop and create ``metadata``'s tables on first call for this engine, then only empty them.

    The async twin of ``recreate_all``: pass ``adapter.session_manager.engine`` of an async adapter.
    """
    await greenlet_spawn(recreate_all, engine.sync_engine, metadata)
