"""SQLite adapters (stdlib sqlite3 sync; aiosqlite async)."""

from archipy_lite.adapters.base.sqlalchemy.adapters import AsyncBaseSQLAlchemyAdapter, BaseSQLAlchemyAdapter
from archipy_lite.configs.config_template import SQLiteSQLAlchemyConfig


class SQLiteSQLAlchemyAdapter(BaseSQLAlchemyAdapter):
    """Synchronous SQLite adapter; defaults to ``BaseConfig.global_config().SQLITE_SQLALCHEMY``."""

    kind = "sqlite"
    config_class = SQLiteSQLAlchemyConfig


class AsyncSQLiteSQLAlchemyAdapter(AsyncBaseSQLAlchemyAdapter):
    """Asynchronous SQLite adapter on aiosqlite."""

    kind = "sqlite"
    config_class = SQLiteSQLAlchemyConfig
