"""Application settings loaded from arguments, environment variables and ``.env``.

Precedence, highest first: explicit arguments, environment variables, the
``.env`` file, defaults; per source, whatever mix of DSN and fields each gives
(see ``configs.sources``). Nested sections use ``__``:
``POSTGRES_SQLALCHEMY__HOST=db.internal``.
"""

from __future__ import annotations

import threading
from typing import ClassVar, Self

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.configs.sources import ExpandedSource, sections_in_environment
from archipy_lite.models.errors import ConfigurationError
from archipy_lite.models.validation import TypedModel


class BaseConfig(BaseSettings, TypedModel):
    """Root settings object; subclass it to add your own sections."""

    model_config = SettingsConfigDict(
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",  # a shared .env may hold other tools' variables; unknown *arguments* are refused
        validate_default=True,
    )

    # The sources are read by BaseConfig itself; a default section must not read them a second time.
    POSTGRES_SQLALCHEMY: PostgresSQLAlchemyConfig = Field(default_factory=PostgresSQLAlchemyConfig.from_values)
    SQLITE_SQLALCHEMY: SQLiteSQLAlchemyConfig = Field(default_factory=SQLiteSQLAlchemyConfig.from_values)

    _global: ClassVar[BaseConfig | None] = None
    # Sections the environment configured when the global configuration was built from it (None: set_global).
    _global_from_environment: ClassVar[frozenset[str] | None] = None
    # What the environment configures, cached for the library's lookups until clear_global() or a
    # global_config() call reads it again (.env is a file read).
    _environment_sections: ClassVar[dict[type[BaseConfig], frozenset[str]]] = {}
    _global_lock: ClassVar[threading.RLock] = threading.RLock()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Split each source's DSNs into fields before the sources are merged (see ``configs.sources``)."""
        sources = (init_settings, env_settings, dotenv_settings)
        return (*(ExpandedSource(source) for source in sources), file_secret_settings)

    @classmethod
    def set_global(cls, config: BaseConfig) -> None:
        """Make ``config`` the process-wide configuration (shared by every subclass)."""
        if not isinstance(config, BaseConfig):
            raise ConfigurationError(f"set_global expects a BaseConfig instance, got {type(config).__name__}")
        with BaseConfig._global_lock:
            BaseConfig._global = config
            BaseConfig._global_from_environment = None

    @classmethod
    def global_config(cls) -> Self:
        """Return the global configuration: the one ``set_global`` installed, else one built from the
        environment and ``.env`` on first need, when they set any of ``cls``'s fields.

        Raises:
            ConfigurationError: if there is none, or it is not an instance of ``cls``.
        """
        config = BaseConfig._global or cls._build_from_environment(cls._sections_in_environment(fresh=True))
        if config is None:
            raise ConfigurationError(
                "No global configuration is set and no POSTGRES_SQLALCHEMY__* / SQLITE_SQLALCHEMY__* variable "
                "configures one. Set them, call BaseConfig.set_global(YourConfig()) at start-up, "
                "or pass orm_config= to the adapter."
            )
        if not isinstance(config, cls):
            raise ConfigurationError(
                f"The global configuration is a {type(config).__name__}, not a {cls.__name__}; "
                f"call {cls.__name__}.set_global({cls.__name__}()) at start-up."
            )
        return config

    @classmethod
    def global_config_for(cls, section: str) -> BaseConfig | None:
        """The global configuration, if one was set, or if the environment configures ``section``.

        A global built from the environment serves only the sections the environment set: for the
        others the library keeps looking (e.g. for the one session manager of that kind).
        """
        with BaseConfig._global_lock:
            config = BaseConfig._global
            sections = BaseConfig._global_from_environment
            if config is not None and (sections is None or section in sections):
                return config
            if config is None:
                sections = cls._sections_in_environment(fresh=False)  # the library's hot path: cached
                if section in sections:
                    return cls._build_from_environment(sections)
        return None

    @classmethod
    def _sections_in_environment(cls, *, fresh: bool) -> frozenset[str]:
        sections = None if fresh else BaseConfig._environment_sections.get(cls)
        if sections is None:
            sections = BaseConfig._environment_sections[cls] = sections_in_environment(cls)
        return sections

    @classmethod
    def _build_from_environment(cls, sections: frozenset[str]) -> BaseConfig | None:
        with BaseConfig._global_lock:
            if BaseConfig._global is not None:
                return BaseConfig._global
            if not sections:
                return None
            BaseConfig._global = cls()
            BaseConfig._global_from_environment = sections
            return BaseConfig._global

    @classmethod
    def clear_global(cls) -> None:
        """Forget the global configuration (useful in tests); the environment is read again on next need."""
        with BaseConfig._global_lock:
            BaseConfig._global = None
            BaseConfig._global_from_environment = None
            BaseConfig._environment_sections.clear()
