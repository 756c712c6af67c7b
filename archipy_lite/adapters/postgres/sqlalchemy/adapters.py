"""PostgreSQL adapters (psycopg 3 sync; asyncpg or psycopg async)."""

from collections.abc import Sequence
from typing import TypeVar

from archipy_lite.adapters.base.sqlalchemy.adapters import AsyncBaseSQLAlchemyAdapter, BaseSQLAlchemyAdapter
from archipy_lite.adapters.postgres.sqlalchemy.copy import copy_entities, create_with_copy
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig

T = TypeVar("T")


class PostgresSQLAlchemyAdapter(BaseSQLAlchemyAdapter):
    """Synchronous PostgreSQL adapter; defaults to ``BaseConfig.global_config().POSTGRES_SQLALCHEMY``."""

    kind = "postgres"
    config_class = PostgresSQLAlchemyConfig

    def bulk_create(self, entities: Sequence[T]) -> list[T]:
        """Insert many entities in one transaction; large batches of plain rows go in with COPY."""
        return create_with_copy(self.get_session(), entities)

    def bulk_copy(self, entities: Sequence[T]) -> list[T]:
        """Load many entities of one class with COPY, leaving them untracked: the fastest path."""
        return copy_entities(self.get_session(), entities)


class AsyncPostgresSQLAlchemyAdapter(AsyncBaseSQLAlchemyAdapter):
    """Asynchronous PostgreSQL adapter (asyncpg by default; set ASYNC_DRIVER_NAME for psycopg)."""

    kind = "postgres"
    config_class = PostgresSQLAlchemyConfig

    async def bulk_create(self, entities: Sequence[T]) -> list[T]:
        """Insert many entities in one transaction; large batches of plain rows go in with COPY."""
        return await self._run(create_with_copy, entities)

    async def bulk_copy(self, entities: Sequence[T]) -> list[T]:
        """Load many entities of one class with COPY, leaving them untracked (see ``bulk_create``)."""
        return await self._run(copy_entities, entities)
