"""The backend matrix: one adapter per database and driver, used through one uniform async API.

Tests are written once as ``async def`` and call ``await db.call(db.adapter.create, user)``;
for sync adapters ``call`` simply runs the function. ``db.atomic()`` is an async context
manager over the sync or async atomic block of the adapter.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

from archipy_lite.adapters.base.sqlalchemy.adapters import AsyncBaseSQLAlchemyAdapter, BaseSQLAlchemyAdapter
from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import AsyncSQLiteSQLAlchemyAdapter, SQLiteSQLAlchemyAdapter
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic, unit_of_work

from models import BaseEntity

# id -> (kind, is_async, async driver or sqlite storage)
BACKENDS: dict[str, tuple[str, bool, str]] = {
    "pg-psycopg": ("postgres", False, ""),
    "pg-asyncpg": ("postgres", True, "postgresql+asyncpg"),
    "pg-psycopg-async": ("postgres", True, "postgresql+psycopg"),
    "sqlite-file": ("sqlite", False, "file"),
    "sqlite-memory": ("sqlite", False, "memory"),
    "aiosqlite-file": ("sqlite", True, "file"),
    "aiosqlite-memory": ("sqlite", True, "memory"),
}


@dataclass
class Backend:
    """One adapter of the matrix plus helpers that hide the sync/async difference."""

    name: str
    kind: str
    is_async: bool
    adapter: Any  # BaseSQLAlchemyAdapter | AsyncBaseSQLAlchemyAdapter
    config: PostgresSQLAlchemyConfig | SQLiteSQLAlchemyConfig

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgres"

    @property
    def manager(self) -> Any:
        return self.adapter.session_manager

    @property
    def sync_engine(self) -> Engine:
        engine = self.manager.engine
        return engine.sync_engine if self.is_async else engine  # type: ignore[no-any-return]

    async def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call an adapter method (or any callable) and await it when it returns an awaitable."""
        result = function(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    @asynccontextmanager
    async def atomic(self, **options: Any) -> AsyncIterator[Any]:
        """``with atomic(adapter)`` or ``async with atomic(adapter)``, whichever fits the adapter."""
        block = atomic(self.adapter, **options)
        if self.is_async:
            async with block as session:
                yield session
        else:
            with block as session:
                yield session

    @asynccontextmanager
    async def unit(self, **options: Any) -> AsyncIterator[Any]:
        """``with unit_of_work(adapter)`` or ``async with ...``, whichever fits the adapter."""
        unit = unit_of_work(self.adapter, **options)
        if self.is_async:
            async with unit as session:
                yield session
        else:
            with unit as session:
                yield session

    def count_checkouts(self) -> tuple[list[int], Callable[[], None]]:
        """Count pool checkouts from now on; returns the counter and a function that stops counting."""
        counter = [0]

        def checkout(*_: Any) -> None:
            counter[0] += 1

        event.listen(self.sync_engine, "checkout", checkout)
        return counter, lambda: event.remove(self.sync_engine, "checkout", checkout)

    async def flush(self) -> None:
        await self.call(self.adapter.get_session().flush)

    def checked_out(self) -> int:
        """Connections currently checked out of the pool."""
        return int(self.sync_engine.pool.checkedout())  # type: ignore[attr-defined]

    async def create_schema(self) -> None:
        if self.is_async:
            async with self.manager.engine.begin() as connection:
                await connection.run_sync(BaseEntity.metadata.create_all)
        else:
            BaseEntity.metadata.create_all(self.manager.engine)

    async def clear_tables(self) -> None:
        statements = [text(f"DELETE FROM {table.name}") for table in reversed(BaseEntity.metadata.sorted_tables)]
        if self.is_async:
            async with self.manager.engine.begin() as connection:
                for statement in statements:
                    await connection.execute(statement)
        else:
            with self.manager.engine.begin() as connection:
                for statement in statements:
                    connection.execute(statement)

    async def dispose(self) -> None:
        result = self.manager.dispose()
        if inspect.isawaitable(result):
            await result


def make_backend(name: str, *, postgres_dsn: str | None, tmp_dir: Path, **overrides: Any) -> Backend:
    """Build the adapter for matrix entry ``name`` (``postgres_dsn`` is required for pg-* entries)."""
    kind, is_async, variant = BACKENDS[name]
    adapter: BaseSQLAlchemyAdapter | AsyncBaseSQLAlchemyAdapter
    config: PostgresSQLAlchemyConfig | SQLiteSQLAlchemyConfig
    if kind == "postgres":
        assert postgres_dsn is not None
        dsn = make_url(postgres_dsn).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        fields: dict[str, Any] = {"POSTGRES_DSN": dsn, "POOL_SIZE": 10, "POOL_MAX_OVERFLOW": 30, **overrides}
        if is_async:
            fields["ASYNC_DRIVER_NAME"] = variant
        config = PostgresSQLAlchemyConfig(**fields)
        adapter = (
            AsyncPostgresSQLAlchemyAdapter(orm_config=config)
            if is_async
            else PostgresSQLAlchemyAdapter(orm_config=config)
        )
    else:
        database = ":memory:" if variant == "memory" else str(tmp_dir / f"{name}.sqlite3")
        config = SQLiteSQLAlchemyConfig(
            DATABASE=database, JOURNAL_MODE="WAL" if variant == "file" else None, **overrides
        )
        adapter = (
            AsyncSQLiteSQLAlchemyAdapter(orm_config=config) if is_async else SQLiteSQLAlchemyAdapter(orm_config=config)
        )
    return Backend(name=name, kind=kind, is_async=is_async, adapter=adapter, config=config)
