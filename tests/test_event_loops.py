"""One async adapter used from successive event loops, as ``asyncio.run()`` called twice does.

asyncpg connections belong to the loop that opened them, so PostgreSQL gets an engine per running
loop; SQLite keeps one engine, so an in-memory database outlives the loop that created it.
"""

import asyncio

import pytest
from sqlalchemy import text

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import AsyncSQLiteSQLAlchemyAdapter
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.testing.postgres import with_driver


@pytest.mark.postgres
@pytest.mark.parametrize("driver", ["postgresql+asyncpg", "postgresql+psycopg"])
def test_postgres_async_adapter_works_in_successive_event_loops(postgres_dsn: str, driver: str) -> None:
    config = PostgresSQLAlchemyConfig(POSTGRES_DSN=with_driver(postgres_dsn, "psycopg"), ASYNC_DRIVER_NAME=driver)
    adapter = AsyncPostgresSQLAlchemyAdapter(orm_config=config)

    async def backend_pid() -> int:
        return int((await adapter.execute(text("SELECT pg_backend_pid()"))).scalar_one())

    first = asyncio.run(backend_pid())
    second = asyncio.run(backend_pid())  # the first loop is closed: its pooled connection must not be reused
    assert first != second

    async def same_loop_twice() -> tuple[int, int]:
        return await backend_pid(), await backend_pid()

    pids = asyncio.run(same_loop_twice())
    assert pids[0] == pids[1]  # within one loop the pool still reuses its connection
    asyncio.run(adapter.session_manager.dispose())


def test_async_sqlite_memory_database_outlives_its_event_loop() -> None:
    adapter = AsyncSQLiteSQLAlchemyAdapter(orm_config=SQLiteSQLAlchemyConfig())

    async def create() -> None:
        await adapter.execute(text("CREATE TABLE numbers (n INTEGER)"))
        await adapter.execute(text("INSERT INTO numbers VALUES (1), (2)"))

    async def count() -> int:
        return int((await adapter.execute(text("SELECT count(*) FROM numbers"))).scalar_one())

    asyncio.run(create())
    assert asyncio.run(count()) == 2
    asyncio.run(adapter.session_manager.dispose())
