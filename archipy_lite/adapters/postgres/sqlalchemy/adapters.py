"""PostgreSQL adapters (psycopg 3 sync; asyncpg or psycopg async)."""

from archipy_lite.adapters.base.sqlalchemy.adapters import AsyncBaseSQLAlchemyAdapter, BaseSQLAlchemyAdapter
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig


class PostgresSQLAlchemyAdapter(BaseSQLAlchemyAdapter):
    """Synchronous PostgreSQL adapter; defaults to ``BaseConfig.global_config().POSTGRES_SQLALCHEMY``."""

    kind = "postgres"
    config_class = PostgresSQLAlchemyConfig


class AsyncPostgresSQLAlchemyAdapter(AsyncBaseSQLAlchemyAdapter):
    """Asynchronous PostgreSQL adapter (asyncpg by default; set ASYNC_DRIVER_NAME for psycopg)."""

    kind = "postgres"
    config_class = PostgresSQLAlchemyConfig
