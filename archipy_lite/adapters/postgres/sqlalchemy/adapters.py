"""PostgreSQL adapters (psycopg 3 sync; asyncpg or psycopg async)."""

from collections.abc import Sequence
from typing import TypeVar

from archipy_lite.adapters.base.sqlalchemy.adapters import AsyncBaseSQLAlchemyAdapter, BaseSQLAlchemyAdapter
from archipy_lite.adapters.postgres.sqlalchemy.copy import copy_entities
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig

T = TypeVar("T")


class PostgresSQLAlchemyAdapter(BaseSQLAlchemyAdapter):
    """Synchronous PostgreSQL adapter; defaults to ``BaseConfig.global_config().POSTGRES_SQLALCHEMY``."""

    kind = "postgres"
    config_class = PostgresSQLAlchemyConfig

    def bulk_copy(self, entities: Sequence[T]) -> list[T]:
        """Load many entities of one class with COPY (the fastest path); same contract as ``bulk_create``."""
        return copy_entities(self.get_session(), entities)


class AsyncPostgresSQLAlchemyAdapter(AsyncBaseSQLAlchemyAdapter):
    """Asynchronous PostgreSQL adapter (asyncpg by default; set ASYNC_DRIVER_NAME for psycopg)."""

    kind = "postgres"
    config_class = PostgresSQLAlchemyConfig

    async def bulk_copy(self, entities: Sequence[T]) -> list[T]:
        """Load many entities of one class with COPY (asyncpg); same contract as ``bulk_create``."""
        return await self._run(copy_entities, entities)
