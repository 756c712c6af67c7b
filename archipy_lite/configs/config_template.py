"""Configuration objects for the SQLAlchemy adapters.

``PostgresSQLAlchemyConfig`` accepts either a DSN or separate fields and fills
in the other; ``SQLiteSQLAlchemyConfig`` takes a file path or ``:memory:``.
Invalid values raise ``ConfigurationError`` naming the field. ``ConfigModel`` and
``SQLAlchemyConfig`` live in ``config_base`` and are importable from here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self
from urllib.parse import quote, urlencode

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError

from archipy_lite import compat
from archipy_lite.configs import hosts
from archipy_lite.configs.config_base import ConfigModel, IsolationLevel, SQLAlchemyConfig
from archipy_lite.configs.secrets import MASK, conceal, reveal

SSLMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
SQLiteJournalMode = Literal["DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF"]
SQLiteBeginMode = Literal["DEFERRED", "IMMEDIATE", "EXCLUSIVE"]
TargetSessionAttrs = Literal["any", "read-write", "read-only", "primary", "standby", "prefer-standby"]
PoolerMode = Literal["session", "transaction"]

__all__ = ["ConfigModel", "IsolationLevel", "PostgresSQLAlchemyConfig", "SQLAlchemyConfig", "SQLiteSQLAlchemyConfig"]


class PostgresSQLAlchemyConfig(SQLAlchemyConfig):
    """PostgreSQL settings: give ``POSTGRES_DSN`` or the separate fields; the other is derived.

    Within one source the DSN wins for the parts it contains; across sources, the higher one wins
    field by field (explicit arguments, then ``POSTGRES_SQLALCHEMY__*`` variables, then ``.env``).
    """

    env_section: ClassVar[str | None] = "POSTGRES_SQLALCHEMY"

    DRIVER_NAME: str = "postgresql+psycopg"
    ASYNC_DRIVER_NAME: str = "postgresql+asyncpg"
    HOST: str | None = "localhost"
    PORT: int | None = Field(default=5432, ge=1, le=65535)
    DATABASE: str | None = "postgres"
    USERNAME: str | None = "postgres"
    ISOLATION_LEVEL: IsolationLevel | None = "REPEATABLE READ"
    POSTGRES_DSN: SecretStr | None = Field(default=None, description="postgresql[+driver]://user:password@host:port/db")
    DSN_QUERY: dict[str, str | SecretStr] = Field(
        default_factory=dict, description="Extra URL query parameters kept from a DSN; secret-looking ones masked."
    )

    SSL_MODE: SSLMode | None = None
    SSL_ROOT_CERT: str | None = None
    SSL_CERT: str | None = None
    SSL_KEY: str | None = None

    # Scale-out: failover host lists, a connection pooler in front, read replicas (docs/scaling.md).
    HOSTS: list[str] = Field(default_factory=list, description="Servers tried in order, host[:port]; for failover.")
    TARGET_SESSION_ATTRS: TargetSessionAttrs | None = Field(
        default=None, description="Which of HOSTS to use; 'read-write' (the primary) when several are given."
    )
    POOLER_MODE: PoolerMode | None = Field(
        default=None, description="'transaction' behind PgBouncer in transaction mode: no prepared statements kept."
    )
    READ_REPLICA_DSNS: list[SecretStr] = Field(default_factory=list, description="Streaming replicas for reads.")
    READ_REPLICA_POOL_SIZE: int | None = Field(default=None, ge=1, description="Per replica; POOL_SIZE if unset.")
    READ_REPLICA_POOL_MAX_OVERFLOW: int | None = Field(default=None, ge=0, description="POOL_MAX_OVERFLOW if unset.")
    READ_REPLICA_CONNECT_TIMEOUT: float = Field(default=2, gt=0, allow_inf_nan=False)
    READ_REPLICA_MAX_LAG_SECONDS: float | None = Field(
        default=5, ge=0, allow_inf_nan=False, description="A replica further behind is skipped; None: no limit."
    )
    READ_REPLICA_RETRY_SECONDS: float = Field(
        default=5, gt=0, allow_inf_nan=False, description="How long a down or late replica is left alone."
    )
    READ_REPLICA_CHECK_SECONDS: float = Field(
        default=1, ge=0, allow_inf_nan=False, description="How long a measured replica position is trusted."
    )
    READ_REPLICA_WAIT_SECONDS: float = Field(
        default=0, ge=0, allow_inf_nan=False, description="How long a read may wait for a replica to reach a token."
    )
    READ_REPLICA_AUTOCOMMIT_READS: bool = Field(
        default=False,
        description="Send a unit of work's reads between atomic blocks to a replica until the unit writes.",
    )
    CONSISTENCY_TOKEN_SECRET: SecretStr | None = Field(
        default=None, description="Signs consistency tokens; set it when several processes share tokens."
    )

    _sync_drivers: ClassVar[frozenset[str]] = frozenset({"postgresql", "postgresql+psycopg", "postgresql+psycopg2"})
    _async_drivers: ClassVar[frozenset[str]] = frozenset(
        {"postgresql+asyncpg", "postgresql+psycopg", "postgresql+psycopg_async"}
    )

    @field_validator("DRIVER_NAME")
    @classmethod
    def _check_sync_driver(cls, value: str) -> str:
        if value not in cls._sync_drivers:
            raise ValueError(f"must be one of {sorted(cls._sync_drivers)}")
        return value

    @field_validator("ASYNC_DRIVER_NAME")
    @classmethod
    def _check_async_driver(cls, value: str) -> str:
        if value not in cls._async_drivers:
            raise ValueError(f"must be one of {sorted(cls._async_drivers)}")
        return value

    @field_validator("READ_REPLICA_DSNS")
    @classmethod
    def _check_replica_dsns(cls, value: list[SecretStr]) -> list[SecretStr]:
        for index, dsn in enumerate(value):
            try:
                cls._dsn_components(dsn.get_secret_value())
            except ValueError as exc:
                raise ValueError(f"entry {index} {exc}") from None
        return value

    @field_validator("HOSTS")
    @classmethod
    def _normalise_hosts(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return hosts.normalise(value, info.data.get("PORT"))

    @field_validator("POOLER_MODE")
    @classmethod
    def _check_pooler_mode(cls, value: PoolerMode | None, info: ValidationInfo) -> PoolerMode | None:
        if value is not None and info.data.get("STATEMENT_TIMEOUT"):
            raise ValueError(
                "cannot be combined with STATEMENT_TIMEOUT: a pooler refuses the startup parameter that carries it; "
                "set statement_timeout on the role instead (ALTER ROLE ... SET statement_timeout = ...)"
            )
        return value

    @field_validator("POSTGRES_DSN", mode="before")
    @classmethod
    def _check_dsn(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and raw:
            cls._dsn_components(raw)
        return value

    @field_validator("DSN_QUERY")
    @classmethod
    def _conceal_dsn_query(cls, value: dict[str, str | SecretStr]) -> dict[str, str | SecretStr]:
        return conceal(value)

    def driver_query_args(self) -> dict[str, str]:
        """Secret DSN query parameters (``sslpassword``...): passed to the driver, never put in a URL."""
        return {key: reveal(value) for key, value in self.DSN_QUERY.items() if isinstance(value, SecretStr)}

    @classmethod
    def expand_source_values(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """Split the source's DSN (and a ``host=a,b`` HOST) into fields; they win over the same source's
        separate fields. A source that names one server also clears the host list of lower sources."""
        values = dict(values)
        host = values.get("HOST")
        if isinstance(host, str) and "," in host and not values.get("HOSTS"):  # libpq's host=a,b
            values = {**values, "HOSTS": host.split(","), "HOST": None}
        raw = values.get("POSTGRES_DSN")
        raw = raw.get_secret_value() if isinstance(raw, SecretStr) else raw
        if isinstance(raw, str) and raw:
            try:
                components = cls._dsn_components(raw)
            except ValueError:
                return values  # reported against POSTGRES_DSN by _check_dsn
            values = {**{key: value for key, value in values.items() if key != "POSTGRES_DSN"}, **components}
        if values.get("HOST") and not values.get("HOSTS"):
            values["HOSTS"] = []  # one server named here: a lower source's failover list does not apply
        return values

    @model_validator(mode="before")
    @classmethod
    def _fill_fields_from_dsn(cls, data: Any) -> Any:
        return cls.expand_source_values(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _render_dsn_from_fields(self) -> Self:
        self._settle_hosts()
        self.POSTGRES_DSN = SecretStr(self._render_dsn(hide_password=False))
        return self

    def _settle_hosts(self) -> None:
        """One server: HOST and PORT. Several: HOSTS, with HOST and PORT naming the first."""
        if not self.HOSTS:
            return
        self.HOST, self.PORT = hosts.split_entry(self.HOSTS[0], None)
        if len(self.HOSTS) == 1:
            self.HOSTS = []
        elif self.TARGET_SESSION_ATTRS is None:
            self.TARGET_SESSION_ATTRS = "read-write"  # failover lists exist to find the primary

    @classmethod
    def _dsn_components(cls, dsn: str) -> dict[str, Any]:
        """Split a DSN into field values; raise ValueError (without the DSN) when it is unusable."""
        dsn, host_list = hosts.split_dsn_authority(dsn)
        try:
            url = compat.parse_url(dsn)
            port = url.port
        except (ArgumentError, ValueError):
            raise ValueError("is not a valid URL (expected postgresql[+driver]://user:password@host:port/db)") from None
        if host_list is not None:
            url = url.set(host=None)
        if url.get_backend_name() != "postgresql":
            raise ValueError(f"must use the postgresql scheme, not {url.get_backend_name()!r}")
        components: dict[str, Any] = {}
        if url.drivername in cls._sync_drivers and url.drivername != "postgresql":
            components["DRIVER_NAME"] = url.drivername
        elif url.drivername in cls._async_drivers:
            components["ASYNC_DRIVER_NAME"] = url.drivername
        elif url.drivername != "postgresql":
            raise ValueError(f"driver {url.drivername!r} is not supported")
        present = {"HOST": url.host, "PORT": port, "DATABASE": url.database, "USERNAME": url.username}
        components.update({key: value for key, value in present.items() if value is not None})
        if url.password is not None:
            components["PASSWORD"] = str(url.password)
        host_list = host_list or hosts.hosts_from_query(url.query)
        query = {k: v if isinstance(v, str) else v[-1] for k, v in url.query.items()}
        if host_list is not None:
            components["HOSTS"] = host_list
            query = {k: v for k, v in query.items() if k not in ("host", "port")}
        if "password" in query:  # libpq accepts ?password=...: keep it secret, not in DSN_QUERY
            components["PASSWORD"] = query.pop("password")
        if "target_session_attrs" in query:
            components["TARGET_SESSION_ATTRS"] = query.pop("target_session_attrs")
        if query:
            components["DSN_QUERY"] = query
        return components

    def url(self, *, async_: bool = False) -> URL:
        """Return the SQLAlchemy URL for the sync or async driver (password included, masked in repr).

        Several HOSTS travel as ``?host=a,b&port=p,q``, the form both psycopg and asyncpg read.
        Secret query parameters are left out (SQLAlchemy shows a URL's query in clear); the
        adapters pass them to the driver from ``driver_query_args()``.
        """
        query = self._query(secrets="leave out")
        if self.HOSTS:
            query.update(hosts.query_parameters(self.HOSTS))
        return URL.create(
            drivername=self.ASYNC_DRIVER_NAME if async_ else self.DRIVER_NAME,
            username=self.USERNAME,
            password=self.PASSWORD.get_secret_value() if self.PASSWORD else None,
            host=None if self.HOSTS else self.HOST,
            port=None if self.HOSTS else self.PORT,
            database=self.DATABASE,
            query=query,
        )

    def _query(self, *, secrets: Literal["leave out", "mask", "reveal"]) -> dict[str, str]:
        query: dict[str, str] = {}
        for key, value in self.DSN_QUERY.items():
            if not isinstance(value, SecretStr):
                query[key] = value
            elif secrets != "leave out":
                query[key] = MASK if secrets == "mask" else value.get_secret_value()
        if self.TARGET_SESSION_ATTRS is not None:
            query["target_session_attrs"] = self.TARGET_SESSION_ATTRS
        return query

    def masked_dsn(self) -> str:
        """The DSN with the password replaced by ``***``: safe for logs."""
        return self._render_dsn(hide_password=True)

    def _render_dsn(self, *, hide_password: bool) -> str:
        # SQLAlchemy leaves spaces unquoted; quote every reserved character ourselves.
        url = self.url()
        userinfo = ""
        if url.username:
            userinfo = quote(url.username, safe="")
            if url.password is not None:
                userinfo += ":" + ("***" if hide_password else quote(str(url.password), safe=""))
            userinfo += "@"
        if self.HOSTS:
            authority = ",".join(self.HOSTS)  # libpq's own multi-host URL form
        else:
            host = f"[{url.host}]" if url.host and ":" in url.host else (url.host or "")
            authority = host + (f":{url.port}" if url.port else "")
        database = f"/{quote(url.database, safe='')}" if url.database else ""
        # quote_via=quote: libpq decodes %20 but not "+" in query values.
        options = self._query(secrets="mask" if hide_password else "reveal")
        query = f"?{urlencode(sorted(options.items()), quote_via=quote, safe='*')}" if options else ""
        return f"{url.drivername}://{userinfo}{authority}{database}{query}"


class SQLiteSQLAlchemyConfig(SQLAlchemyConfig):
    """SQLite settings: ``DATABASE`` is a file path or ``:memory:``."""

    env_section: ClassVar[str | None] = "SQLITE_SQLALCHEMY"

    DRIVER_NAME: str = "sqlite"
    ASYNC_DRIVER_NAME: str = "sqlite+aiosqlite"
    DATABASE: str | None = ":memory:"
    POOL_SIZE: int = Field(default=5, ge=1)
    POOL_MAX_OVERFLOW: int = Field(default=10, ge=0)
    POOL_RECYCLE_SECONDS: int = Field(default=-1, ge=-1)
    POOL_PRE_PING: bool = False
    APPLICATION_NAME: str | None = None

    FOREIGN_KEYS: bool = True
    JOURNAL_MODE: SQLiteJournalMode | None = None
    BUSY_TIMEOUT: int = Field(default=5000, ge=0, description="Milliseconds to wait for a lock.")
    SYNCHRONOUS: Literal["OFF", "NORMAL", "FULL", "EXTRA"] | None = None
    BEGIN_MODE: SQLiteBeginMode = Field(
        default="IMMEDIATE", description="How transactions start; IMMEDIATE avoids lock-upgrade failures."
    )
    READ_ONLY: bool = Field(default=False, description="Open the file with mode=ro: every write is refused.")

    @field_validator("DRIVER_NAME")
    @classmethod
    def _check_sync_driver(cls, value: str) -> str:
        if value not in {"sqlite", "sqlite+pysqlite"}:
            raise ValueError("must be 'sqlite' or 'sqlite+pysqlite'")
        return value

    @field_validator("ASYNC_DRIVER_NAME")
    @classmethod
    def _check_async_driver(cls, value: str) -> str:
        if value != "sqlite+aiosqlite":
            raise ValueError("must be 'sqlite+aiosqlite'")
        return value

    @field_validator("DATABASE")
    @classmethod
    def _check_database(cls, value: str | None) -> str:
        if not value:
            raise ValueError("must be a file path or ':memory:'")
        return value

    @property
    def is_memory(self) -> bool:
        """True for an in-memory database."""
        return self.DATABASE == ":memory:"

    def url(self, *, async_: bool = False) -> URL:
        """Return the SQLAlchemy URL; read-only files use a ``mode=ro`` URI."""
        drivername = self.ASYNC_DRIVER_NAME if async_ else self.DRIVER_NAME
        if self.is_memory:
            return URL.create(drivername, database=":memory:")
        if self.READ_ONLY:
            # Quote the path: a '?', '#' or '%' in it would otherwise end or change the URI.
            path = quote(str(self.DATABASE), safe="/:")
            return URL.create(drivername, database=f"file:{path}?mode=ro", query={"uri": "true"})
        return URL.create(drivername, database=self.DATABASE)
