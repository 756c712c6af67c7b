"""Everything the workloads share: engines, adapters, stores, raw connections, repositories."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import asyncpg
import psycopg
from advanced_alchemy.repository import SQLAlchemyAsyncRepository, SQLAlchemySyncRepository
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig
from archipy_lite.stores.store import AsyncStore, Store
from benchmarks.schema import COLUMNS, TABLE, BenchUser, PlainUser, row


class UserRepository(SQLAlchemySyncRepository[PlainUser]):
    """advanced-alchemy's repository for the benchmark table."""

    model_type = PlainUser
    id_attribute = "uuid"


class AsyncUserRepository(SQLAlchemyAsyncRepository[PlainUser]):
    """advanced-alchemy's async repository for the benchmark table."""

    model_type = PlainUser
    id_attribute = "uuid"


async def _asyncpg_pool(dsn: str, size: int) -> asyncpg.Pool:
    """Made inside the loop that will use it (the pool binds to the running loop)."""
    return await asyncpg.create_pool(dsn, min_size=1, max_size=size)


@dataclass
class Bench:
    """Connections to one PostgreSQL database, built the same way for every variant."""

    dsn: str
    engine: Engine
    async_engine: AsyncEngine
    adapter: PostgresSQLAlchemyAdapter
    async_adapter: AsyncPostgresSQLAlchemyAdapter
    store: Store[BenchUser]
    async_store: AsyncStore[BenchUser]
    raw: psycopg.Connection[Any]
    raw_async: asyncpg.Connection
    raw_pool: asyncpg.Pool
    loop: asyncio.AbstractEventLoop
    pool_size: int = 10

    @classmethod
    def open(cls, dsn: str, loop: asyncio.AbstractEventLoop, pool_size: int = 10) -> Bench:
        url = make_url(dsn)
        psycopg_url = url.set(drivername="postgresql+psycopg")
        asyncpg_url = url.set(drivername="postgresql+asyncpg")
        # Same pool and isolation for everyone: READ COMMITTED is PostgreSQL's and SQLAlchemy's default.
        pool = {"pool_size": pool_size, "max_overflow": 0, "pool_pre_ping": False}
        engine = create_engine(psycopg_url, **pool)
        async_engine = create_async_engine(asyncpg_url, **pool)
        config = PostgresSQLAlchemyConfig(
            POSTGRES_DSN=psycopg_url.render_as_string(hide_password=False),
            ISOLATION_LEVEL="READ COMMITTED",
            POOL_SIZE=pool_size,
            POOL_MAX_OVERFLOW=0,
            POOL_PRE_PING=False,
            APPLICATION_NAME=None,
        )
        adapter = PostgresSQLAlchemyAdapter(orm_config=config)
        async_adapter = AsyncPostgresSQLAlchemyAdapter(orm_config=config)
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        raw = psycopg.connect(plain, autocommit=True)
        raw_async = loop.run_until_complete(asyncpg.connect(plain))
        raw_pool = loop.run_until_complete(_asyncpg_pool(plain, pool_size))
        return cls(
            dsn=plain,
            engine=engine,
            async_engine=async_engine,
            adapter=adapter,
            async_adapter=async_adapter,
            store=Store(adapter, BenchUser),
            async_store=AsyncStore(async_adapter, BenchUser),
            raw=raw,
            raw_async=raw_async,
            raw_pool=raw_pool,
            loop=loop,
            pool_size=pool_size,
        )

    def close(self) -> None:
        self.raw.close()
        self.loop.run_until_complete(self.raw_async.close())
        self.loop.run_until_complete(self.raw_pool.close())
        self.engine.dispose()
        self.loop.run_until_complete(self.async_engine.dispose())
        self.adapter.session_manager.dispose()
        self.loop.run_until_complete(self.async_adapter.session_manager.dispose())

    def reset_table(self, rows: int = 0) -> None:
        """Recreate the table with ``rows`` deterministic rows (COPY, then ANALYZE)."""
        TABLE.drop(self.engine, checkfirst=True)
        TABLE.create(self.engine)
        if rows:
            with (
                self.raw.cursor() as cursor,
                cursor.copy(f"COPY {TABLE.name} ({', '.join(COLUMNS)}) FROM STDIN") as copy,
            ):
                for index in range(rows):
                    values = row(index)
                    copy.write_row([values[name] for name in COLUMNS])
        self.raw.execute(f"ANALYZE {TABLE.name}")

    def truncate(self) -> None:
        self.raw.execute(f"TRUNCATE {TABLE.name}")

    def sync_repository(self, session: Any) -> UserRepository:
        return UserRepository(session=session)

    def count(self) -> int:
        return int(self.raw.execute(text(f"SELECT count(*) FROM {TABLE.name}").text).fetchone()[0])  # type: ignore[index]
