"""The plugin's async fixtures (they need pytest-asyncio, which the ``testing`` extra brings)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter
from archipy_lite.testing.pinning import async_pinned


@pytest_asyncio.fixture
async def async_postgres_transaction(
    async_postgres_adapter: AsyncPostgresSQLAlchemyAdapter,
) -> AsyncIterator[AsyncPostgresSQLAlchemyAdapter]:
    """``async_postgres_adapter`` inside a transaction rolled back after the test (see ``postgres_transaction``).

    Runs in the test's event loop: the fixture and the test must share it (pytest-asyncio's default).
    """
    manager = async_postgres_adapter.session_manager
    async with manager.engine.connect() as connection:
        transaction = await connection.begin()
        try:
            with async_pinned(manager, connection):
                yield async_postgres_adapter
        finally:
            await transaction.rollback()
