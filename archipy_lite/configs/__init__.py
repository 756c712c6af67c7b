"""Configuration: settings objects and the global configuration."""

from archipy_lite.configs.base_config import BaseConfig
from archipy_lite.configs.config_template import (
    PostgresSQLAlchemyConfig,
    SQLAlchemyConfig,
    SQLiteSQLAlchemyConfig,
)

__all__ = ["BaseConfig", "PostgresSQLAlchemyConfig", "SQLAlchemyConfig", "SQLiteSQLAlchemyConfig"]
