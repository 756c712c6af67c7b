"""Application settings loaded from arguments, environment variables and ``.env``.

Precedence, highest first: explicit arguments, environment variables, the
``.env`` file, defaults. Nested sections use ``__``:
``POSTGRES_SQLALCHEMY__HOST=db.internal``.
"""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.configs.validation import ConfigurationMeta
from archipy_lite.models.errors import ConfigurationError


class BaseConfig(BaseSettings, metaclass=ConfigurationMeta):
    """Root settings object; subclass it to add your own sections."""

    model_config = SettingsConfigDict(
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    POSTGRES_SQLALCHEMY: PostgresSQLAlchemyConfig = Field(default_factory=PostgresSQLAlchemyConfig)
    SQLITE_SQLALCHEMY: SQLiteSQLAlchemyConfig = Field(default_factory=SQLiteSQLAlchemyConfig)

    _global: ClassVar[BaseConfig | None] = None

    @classmethod
    def set_global(cls, config: BaseConfig) -> None:
        """Make ``config`` the process-wide configuration (shared by every subclass)."""
        if not isinstance(config, BaseConfig):
            raise ConfigurationError(f"set_global expects a BaseConfig instance, got {type(config).__name__}")
        BaseConfig._global = config

    @classmethod
    def global_config(cls) -> Self:
        """Return the configuration set by ``set_global``.

        Raises:
            ConfigurationError: if none was set, or it is not an instance of ``cls``.
        """
        config = BaseConfig._global
        if config is None:
            raise ConfigurationError(
                "No global configuration is set. Call BaseConfig.set_global(YourConfig()) at start-up, "
                "or pass orm_config= to the adapter."
            )
        if not isinstance(config, cls):
            raise ConfigurationError(
                f"The global configuration is a {type(config).__name__}, not a {cls.__name__}; "
                f"call {cls.__name__}.set_global({cls.__name__}()) at start-up."
            )
        return config

    @classmethod
    def clear_global(cls) -> None:
        """Forget the global configuration (useful in tests)."""
        BaseConfig._global = None
