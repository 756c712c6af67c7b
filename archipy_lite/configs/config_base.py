"""The base of every configuration section, and the settings every SQLAlchemy adapter shares.

Re-exported by ``archipy_lite.configs.config_template`` (the tutorial's import path).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, SecretStr, field_validator

from archipy_lite.configs.secrets import conceal, reveal
from archipy_lite.configs.sources import environment_ignored, section_values
from archipy_lite.models.validation import TypedModel

IsolationLevel = Literal["AUTOCOMMIT", "READ UNCOMMITTED", "READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"]


class ConfigModel(TypedModel):
    """Base for configuration sections: raises ConfigurationError instead of ValidationError.

    A section with an ``env_section`` name (``POSTGRES_SQLALCHEMY``) built on its own also reads
    ``<env_section>__<FIELD>`` from the environment and ``.env``; its arguments win. Inside a
    ``BaseConfig`` the parent reads the sources instead.
    """

    model_config = ConfigDict(extra="forbid", validate_default=True, populate_by_name=True)
    env_section: ClassVar[str | None] = None

    @classmethod
    def _with_sources(cls, arguments: dict[str, Any]) -> dict[str, Any]:
        """Called by the metaclass when a user builds the section (nested validation does not)."""
        return arguments if cls.env_section is None else section_values(cls, cls.env_section, arguments)

    @classmethod
    def from_values(cls, **values: Any) -> Self:
        """Build from ``values`` and the defaults only, ignoring the environment and ``.env``."""
        with environment_ignored():
            return cls(**values)

    @classmethod
    def expand_source_values(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """One source's values, made ready to merge with other sources (see ``configs.sources``)."""
        return dict(values)


class SQLAlchemyConfig(ConfigModel):
    """Engine, pool and connection settings shared by every SQLAlchemy adapter."""

    DRIVER_NAME: str = "postgresql+psycopg"
    ASYNC_DRIVER_NAME: str = "postgresql+asyncpg"

    HOST: str | None = None
    PORT: int | None = Field(default=None, ge=1, le=65535)
    DATABASE: str | None = None
    USERNAME: str | None = None
    PASSWORD: SecretStr | None = None

    POOL_SIZE: int = Field(default=20, ge=1, description="Connections kept open in the pool.")
    POOL_MAX_OVERFLOW: int = Field(default=0, ge=0, description="Extra connections allowed beyond POOL_SIZE.")
    POOL_TIMEOUT: float = Field(
        default=30, gt=0, allow_inf_nan=False, description="Seconds to wait for a free pooled connection."
    )
    POOL_RECYCLE_SECONDS: int = Field(default=600, ge=-1, description="Reconnect after this age; -1 never.")
    POOL_USE_LIFO: bool = True
    POOL_PRE_PING: bool = Field(default=False, description="Ping every connection at checkout (one round trip each).")
    POOL_PRE_PING_IDLE_SECONDS: float | None = Field(
        default=0.5,
        ge=0,
        description="Without POOL_PRE_PING, ping at checkout only connections idle longer than this; None never.",
    )
    POOL_RESET_ON_RETURN: Literal["rollback", "commit"] | None = "rollback"

    ISOLATION_LEVEL: IsolationLevel | None = None
    ECHO: bool = False
    ECHO_POOL: bool = False
    HIDE_PARAMETERS: bool = True
    QUERY_CACHE_SIZE: int = Field(default=500, ge=0)

    CONNECT_ARGS: dict[str, Any] = Field(
        default_factory=dict, description="Passed to the driver's connect(); secret-looking keys are masked."
    )
    CONNECT_TIMEOUT: float | None = Field(
        default=10, gt=0, allow_inf_nan=False, description="Seconds to wait when connecting."
    )
    # PostgreSQL keeps statement_timeout in a 32-bit integer; a larger value would fail every connect.
    STATEMENT_TIMEOUT: int | None = Field(
        default=None, ge=0, le=2**31 - 1, description="Milliseconds; 0 or None disables."
    )
    APPLICATION_NAME: str | None = "archipy_lite"

    CURSOR_SECRET_KEY: SecretStr | None = Field(
        default=None,
        description="Signs pagination cursors (at least 32 characters); the same on every process of an API. "
        "Unset: a random key per process.",
    )
    CURSOR_MAX_AGE_SECONDS: int | None = Field(
        default=None, ge=1, description="Pagination cursors older than this are refused; None: no limit."
    )

    @field_validator("CURSOR_SECRET_KEY")
    @classmethod
    def _check_cursor_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (secrets.token_urlsafe() makes one)")
        return value

    @field_validator("CONNECT_ARGS")
    @classmethod
    def _conceal_connect_args(cls, value: dict[str, Any]) -> dict[str, Any]:
        return conceal(value)

    def driver_connect_args(self) -> dict[str, Any]:
        """``CONNECT_ARGS`` as the driver needs them: secrets revealed."""
        revealed: dict[str, Any] = reveal(self.CONNECT_ARGS)
        return revealed

    @field_validator("ISOLATION_LEVEL", mode="before")
    @classmethod
    def _normalise_isolation_level(cls, value: object) -> object:
        if isinstance(value, str):
            return " ".join(value.replace("_", " ").upper().split())
        return value
