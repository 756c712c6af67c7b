"""Tests for archipy_lite.configs: BaseConfig (settings sources, global config) and the SQLAlchemy configs."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from pydantic import SecretStr, ValidationError
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from archipy_lite.compat import render_url
from archipy_lite.configs import BaseConfig, PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.configs.config_template import SQLAlchemyConfig
from archipy_lite.models.errors import BaseError, ConfigurationError

SECRET = "Sup3r-S3cret-Pa55word"
ENV_PREFIXES = ("POSTGRES_SQLALCHEMY", "SQLITE_SQLALCHEMY", "APP_NAME", "FEATURE_FLAG")

# Passwords and user names that need quoting in a URL: each reserved character alone and all together.
SPECIAL_STRINGS = [
    "p@ss",
    "user:colon",
    "slash/ed",
    "per%cent",
    "hash#tag",
    "with space",
    "%41",  # must not be decoded to "A"
    "all @:/%# of them",
    "?&=+;[]",
    "ünïcødé €",
]


class AppConfig(BaseConfig):
    """A project's own settings, as the tutorial expects users to write them."""

    APP_NAME: str = "default-app"
    FEATURE_FLAG: bool = False


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No inherited settings env vars, no developer ``.env``, and the global config restored afterwards."""
    for name in list(os.environ):
        if name.upper().startswith(ENV_PREFIXES):
            monkeypatch.delenv(name)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    try:
        previous: BaseConfig | None = BaseConfig.global_config()
    except ConfigurationError:
        previous = None
    BaseConfig.clear_global()
    yield
    BaseConfig.clear_global()
    if previous is not None:
        BaseConfig.set_global(previous)


def write_dotenv(directory: Path, **values: str) -> Path:
    path = directory / ".env"
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()), encoding="utf-8")
    return path


def dsn_of(config: PostgresSQLAlchemyConfig) -> str:
    assert config.POSTGRES_DSN is not None
    return config.POSTGRES_DSN.get_secret_value()


def password_of(config: SQLAlchemyConfig) -> str | None:
    return config.PASSWORD.get_secret_value() if config.PASSWORD is not None else None


def libpq_parse(dsn: str) -> dict[str, Any]:
    """Parse a DSN with libpq itself (after dropping the SQLAlchemy driver suffix)."""
    url = make_url(dsn)
    scheme, rest = dsn.split("://", 1)
    assert scheme == url.drivername
    return conninfo_to_dict("postgresql://" + rest)


def full_text(error: BaseException) -> str:
    """Everything a log line or traceback could show about an error."""
    parts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    if isinstance(error, BaseError):
        parts.append(json.dumps(error.to_dict()))
    return "\n".join(parts)


# --- tutorial snippets, verbatim apart from archipy -> archipy_lite --------------------------------


def test_tutorial_direct_configuration_block(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig
    from archipy_lite.models.errors import ConfigurationError

    logger = logging.getLogger(__name__)

    caplog.set_level(logging.INFO, logger=__name__)
    try:
        pg_config = PostgresSQLAlchemyConfig(
            HOST="localhost",
            PORT=5432,
            DATABASE="mydb",
            USERNAME="myuser",
            PASSWORD="secret",
            # Pool settings
            POOL_SIZE=20,
            POOL_MAX_OVERFLOW=5,
            POOL_TIMEOUT=30,
            POOL_RECYCLE_SECONDS=600,
            POOL_USE_LIFO=True,
            POOL_PRE_PING=True,
            # Isolation level
            ISOLATION_LEVEL="REPEATABLE READ",
        )
    except Exception as e:
        logger.error(f"Invalid PostgreSQL configuration: {e}")
        raise ConfigurationError() from e
    else:
        logger.info("PostgreSQL configuration created successfully")

    assert "PostgreSQL configuration created successfully" in caplog.messages
    assert (pg_config.HOST, pg_config.PORT, pg_config.DATABASE, pg_config.USERNAME) == (
        "localhost",
        5432,
        "mydb",
        "myuser",
    )
    assert password_of(pg_config) == "secret"
    assert pg_config.POOL_SIZE == 20
    assert pg_config.POOL_MAX_OVERFLOW == 5
    assert pg_config.POOL_TIMEOUT == 30
    assert pg_config.POOL_RECYCLE_SECONDS == 600
    assert pg_config.POOL_USE_LIFO is True
    assert pg_config.POOL_PRE_PING is True
    assert pg_config.ISOLATION_LEVEL == "REPEATABLE READ"
    assert dsn_of(pg_config) == "postgresql+psycopg://myuser:secret@localhost:5432/mydb"


def test_tutorial_direct_configuration_block_error_branch(caplog: pytest.LogCaptureFixture) -> None:
    """The same block with a bad port takes the except branch and re-raises a chained ConfigurationError."""
    logger = logging.getLogger(__name__)

    def build() -> PostgresSQLAlchemyConfig:
        try:
            return PostgresSQLAlchemyConfig(
                HOST="localhost", PORT=0, DATABASE="mydb", USERNAME="myuser", PASSWORD=SECRET
            )
        except Exception as e:
            logger.error(f"Invalid PostgreSQL configuration: {e}")
            raise ConfigurationError() from e

    with pytest.raises(ConfigurationError) as excinfo:
        build()
    assert excinfo.value.message == ConfigurationError.default_message
    assert isinstance(excinfo.value.__cause__, ConfigurationError)
    assert "PORT" in str(excinfo.value.__cause__)
    assert any("PORT" in message for message in caplog.messages)
    assert SECRET not in caplog.text
    assert SECRET not in full_text(excinfo.value)


def test_tutorial_dsn_block() -> None:
    from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig

    # DSN is parsed and individual fields (HOST, PORT, DATABASE, etc.) are populated
    pg_config = PostgresSQLAlchemyConfig(POSTGRES_DSN="postgresql+psycopg://myuser:secret@localhost:5432/mydb")

    assert pg_config.HOST == "localhost"
    assert pg_config.PORT == 5432
    assert pg_config.DATABASE == "mydb"
    assert pg_config.USERNAME == "myuser"
    assert password_of(pg_config) == "secret"
    assert pg_config.DRIVER_NAME == "postgresql+psycopg"
    assert dsn_of(pg_config) == "postgresql+psycopg://myuser:secret@localhost:5432/mydb"


def test_tutorial_pool_tuning_block() -> None:
    from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig

    # High-concurrency web API
    api_config = PostgresSQLAlchemyConfig(
        HOST="localhost",
        PORT=5432,
        DATABASE="mydb",
        USERNAME="myuser",
        PASSWORD="secret",
        POOL_SIZE=20,  # Keep 20 persistent connections open
        POOL_MAX_OVERFLOW=10,  # Allow up to 10 additional overflow connections
        POOL_TIMEOUT=5,  # Fail fast if pool is exhausted (5 s)
        POOL_RECYCLE_SECONDS=300,  # Recycle connections every 5 min (avoids stale TCP)
        POOL_PRE_PING=True,  # Validate connections before use
        POOL_USE_LIFO=True,  # LIFO: reuse warm connections, keep cold ones idle
    )

    # Batch/worker process — smaller pool
    worker_config = PostgresSQLAlchemyConfig(
        HOST="localhost",
        PORT=5432,
        DATABASE="mydb",
        USERNAME="myuser",
        PASSWORD="secret",
        POOL_SIZE=5,
        POOL_MAX_OVERFLOW=2,
        POOL_TIMEOUT=30,
    )

    assert (api_config.POOL_SIZE, api_config.POOL_MAX_OVERFLOW, api_config.POOL_TIMEOUT) == (20, 10, 5)
    assert api_config.POOL_RECYCLE_SECONDS == 300
    assert (worker_config.POOL_SIZE, worker_config.POOL_MAX_OVERFLOW, worker_config.POOL_TIMEOUT) == (5, 2, 30)
    assert worker_config.POOL_RECYCLE_SECONDS == 600


def test_tutorial_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    documented = {
        "POSTGRES_SQLALCHEMY__HOST": "localhost",
        "POSTGRES_SQLALCHEMY__PORT": "5432",
        "POSTGRES_SQLALCHEMY__DATABASE": "mydb",
        "POSTGRES_SQLALCHEMY__USERNAME": "myuser",
        "POSTGRES_SQLALCHEMY__PASSWORD": "secret",
        "POSTGRES_SQLALCHEMY__POSTGRES_DSN": "postgresql+psycopg://myuser:secret@localhost:5432/mydb",
        "POSTGRES_SQLALCHEMY__POOL_SIZE": "20",
        "POSTGRES_SQLALCHEMY__POOL_MAX_OVERFLOW": "5",
        "POSTGRES_SQLALCHEMY__POOL_TIMEOUT": "30",
        "POSTGRES_SQLALCHEMY__POOL_RECYCLE_SECONDS": "600",
        "POSTGRES_SQLALCHEMY__ECHO": "false",
    }
    for key, value in documented.items():
        monkeypatch.setenv(key, value)

    pg = BaseConfig().POSTGRES_SQLALCHEMY

    assert (pg.HOST, pg.PORT, pg.DATABASE, pg.USERNAME, password_of(pg)) == (
        "localhost",
        5432,
        "mydb",
        "myuser",
        "secret",
    )
    assert (pg.POOL_SIZE, pg.POOL_MAX_OVERFLOW, pg.POOL_TIMEOUT, pg.POOL_RECYCLE_SECONDS) == (20, 5, 30, 600)
    assert pg.ECHO is False


# --- defaults ---------------------------------------------------------------------------------------


def test_postgres_defaults() -> None:
    config = PostgresSQLAlchemyConfig()
    assert config.ISOLATION_LEVEL == "REPEATABLE READ"
    assert config.DRIVER_NAME == "postgresql+psycopg"
    assert config.ASYNC_DRIVER_NAME == "postgresql+asyncpg"
    assert (config.HOST, config.PORT, config.DATABASE, config.USERNAME) == ("localhost", 5432, "postgres", "postgres")
    assert config.PASSWORD is None
    assert config.POOL_PRE_PING is False  # idle connections are pinged instead (POOL_PRE_PING_IDLE_SECONDS)
    assert config.POOL_PRE_PING_IDLE_SECONDS == 0.5
    assert dsn_of(config) == "postgresql+psycopg://postgres@localhost:5432/postgres"


def test_sqlite_defaults() -> None:
    config = SQLiteSQLAlchemyConfig()
    assert config.DATABASE == ":memory:"
    assert config.is_memory
    assert config.DRIVER_NAME == "sqlite"
    assert config.ASYNC_DRIVER_NAME == "sqlite+aiosqlite"
    assert config.ISOLATION_LEVEL is None
    assert config.FOREIGN_KEYS is True
    assert config.url().database == ":memory:"
    assert render_url(config.url()) == "sqlite:///:memory:"  # 2.1's own rendering escapes the colons
    assert config.url(async_=True).drivername == "sqlite+aiosqlite"


def test_base_config_defaults_without_env_or_dotenv() -> None:
    config = BaseConfig()
    assert PostgresSQLAlchemyConfig() == config.POSTGRES_SQLALCHEMY
    assert SQLiteSQLAlchemyConfig() == config.SQLITE_SQLALCHEMY


# --- environment variables ----------------------------------------------------------------------------


def test_env_individual_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__HOST", "db.internal")
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__PORT", "6543")
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__DATABASE", "orders")
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__USERNAME", "svc")
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__PASSWORD", "p@ss:w/rd")
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__ISOLATION_LEVEL", "read_committed")
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__ECHO", "true")
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__CONNECT_ARGS", '{"options": "-c lock_timeout=5000"}')

    pg = BaseConfig().POSTGRES_SQLALCHEMY

    assert (pg.HOST, pg.PORT, pg.DATABASE, pg.USERNAME) == ("db.internal", 6543, "orders", "svc")
    assert password_of(pg) == "p@ss:w/rd"
    assert pg.ISOLATION_LEVEL == "READ COMMITTED"
    assert pg.ECHO is True
    assert pg.CONNECT_ARGS == {"options": "-c lock_timeout=5000"}
    assert dsn_of(pg) == "postgresql+psycopg://svc:p%40ss%3Aw%2Frd@db.internal:6543/orders"


def test_env_dsn_fills_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__POSTGRES_DSN", "postgresql://reader:pw@replica.example:7000/analytics")

    pg = BaseConfig().POSTGRES_SQLALCHEMY

    assert (pg.HOST, pg.PORT, pg.DATABASE, pg.USERNAME, password_of(pg)) == (
        "replica.example",
        7000,
        "analytics",
        "reader",
        "pw",
    )
    assert make_url(dsn_of(pg)).host == "replica.example"


def test_env_sqlite_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "app data.sqlite3"
    monkeypatch.setenv("SQLITE_SQLALCHEMY__DATABASE", str(path))
    monkeypatch.setenv("SQLITE_SQLALCHEMY__BUSY_TIMEOUT", "250")

    sqlite_config = BaseConfig().SQLITE_SQLALCHEMY

    assert str(path) == sqlite_config.DATABASE
    assert not sqlite_config.is_memory
    assert sqlite_config.BUSY_TIMEOUT == 250
    assert sqlite_config.url().database == str(path)


def test_env_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("postgres_sqlalchemy__host", "lower.example")
    assert BaseConfig().POSTGRES_SQLALCHEMY.HOST == "lower.example"


def test_env_for_subclass_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_NAME", "billing")
    monkeypatch.setenv("FEATURE_FLAG", "1")
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__DATABASE", "billing_db")

    config = AppConfig()

    assert config.APP_NAME == "billing"
    assert config.FEATURE_FLAG is True
    assert config.POSTGRES_SQLALCHEMY.DATABASE == "billing_db"


def test_settings_are_read_at_construction_not_import(monkeypatch: pytest.MonkeyPatch) -> None:
    first = BaseConfig()
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__PORT", "6001")
    second = BaseConfig()
    assert first.POSTGRES_SQLALCHEMY.PORT == 5432
    assert second.POSTGRES_SQLALCHEMY.PORT == 6001


def test_unparseable_json_in_env_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__CONNECT_ARGS", "{not json " + SECRET)
    with pytest.raises(ConfigurationError) as excinfo:
        BaseConfig()
    assert "POSTGRES_SQLALCHEMY" in str(excinfo.value)
    assert SECRET not in full_text(excinfo.value)


def test_unknown_nested_key_in_env_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo such as HOTS must not be silently ignored inside a section."""
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__HOTS", "db.internal")
    with pytest.raises(ConfigurationError, match=r"(?i)POSTGRES_SQLALCHEMY\.hots"):
        BaseConfig()


# --- .env file and precedence -----------------------------------------------------------------------


def test_dotenv_in_cwd_is_loaded() -> None:
    write_dotenv(
        Path.cwd(),
        POSTGRES_SQLALCHEMY__HOST="from-dotenv",
        POSTGRES_SQLALCHEMY__PASSWORD=f'"{SECRET}"',
        SQLITE_SQLALCHEMY__DATABASE="dotenv.sqlite3",
    )

    config = BaseConfig()

    assert config.POSTGRES_SQLALCHEMY.HOST == "from-dotenv"
    assert password_of(config.POSTGRES_SQLALCHEMY) == SECRET
    assert config.SQLITE_SQLALCHEMY.DATABASE == "dotenv.sqlite3"


def test_dotenv_dsn_is_loaded() -> None:
    write_dotenv(Path.cwd(), POSTGRES_SQLALCHEMY__POSTGRES_DSN="postgresql+asyncpg://u:pw@dotenv-host:6100/db")
    pg = BaseConfig().POSTGRES_SQLALCHEMY
    assert (pg.HOST, pg.PORT, pg.DATABASE, pg.USERNAME) == ("dotenv-host", 6100, "db", "u")
    assert pg.ASYNC_DRIVER_NAME == "postgresql+asyncpg"


def test_dotenv_outside_cwd_is_ignored(tmp_path: Path) -> None:
    write_dotenv(tmp_path, POSTGRES_SQLALCHEMY__HOST="elsewhere")  # parent of the cwd, not the cwd
    assert BaseConfig().POSTGRES_SQLALCHEMY.HOST == "localhost"


def test_invalid_value_in_dotenv_names_the_field() -> None:
    write_dotenv(Path.cwd(), POSTGRES_SQLALCHEMY__POOL_SIZE="0", POSTGRES_SQLALCHEMY__PASSWORD=SECRET)
    with pytest.raises(ConfigurationError, match=r"POSTGRES_SQLALCHEMY\.POOL_SIZE") as excinfo:
        BaseConfig()
    assert SECRET not in full_text(excinfo.value)


def test_precedence_defaults_dotenv_env_explicit(monkeypatch: pytest.MonkeyPatch) -> None:
    assert BaseConfig().POSTGRES_SQLALCHEMY.PORT == 5432  # default

    write_dotenv(Path.cwd(), POSTGRES_SQLALCHEMY__PORT="6001", POSTGRES_SQLALCHEMY__HOST="dotenv-host")
    assert BaseConfig().POSTGRES_SQLALCHEMY.PORT == 6001  # .env beats the default

    monkeypatch.setenv("POSTGRES_SQLALCHEMY__PORT", "6002")
    from_env = BaseConfig().POSTGRES_SQLALCHEMY
    assert from_env.PORT == 6002  # env beats .env ...
    assert from_env.HOST == "dotenv-host"  # ... field by field: .env still supplies what env lacks

    explicit = BaseConfig(POSTGRES_SQLALCHEMY={"PORT": 6003}).POSTGRES_SQLALCHEMY
    assert explicit.PORT == 6003  # explicit arguments beat env
    assert explicit.HOST == "dotenv-host"
    assert make_url(dsn_of(explicit)).port == 6003  # the DSN follows the winning fields


def test_precedence_for_subclass_top_level_field(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AppConfig().APP_NAME == "default-app"
    write_dotenv(Path.cwd(), APP_NAME="dotenv-app")
    assert AppConfig().APP_NAME == "dotenv-app"
    monkeypatch.setenv("APP_NAME", "env-app")
    assert AppConfig().APP_NAME == "env-app"
    assert AppConfig(APP_NAME="explicit-app").APP_NAME == "explicit-app"


def test_explicit_section_object_is_used_as_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__PORT", "6002")
    monkeypatch.setenv("SQLITE_SQLALCHEMY__DATABASE", "env.sqlite3")
    section = PostgresSQLAlchemyConfig(HOST="explicit-host")  # a section built alone reads its variables
    assert (section.HOST, section.PORT) == ("explicit-host", 6002)
    exact = PostgresSQLAlchemyConfig.from_values(HOST="explicit-host")  # ... unless told not to
    assert (exact.HOST, exact.PORT) == ("explicit-host", 5432)

    config = BaseConfig(POSTGRES_SQLALCHEMY=exact)

    assert exact == config.POSTGRES_SQLALCHEMY  # the object wins whole: no environment value added
    assert config.SQLITE_SQLALCHEMY.DATABASE == "env.sqlite3"  # other sections still read env


# --- global configuration ----------------------------------------------------------------------------


def test_global_config_unset_raises_clear_error() -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        BaseConfig.global_config()
    assert "set_global" in str(excinfo.value)
    assert excinfo.value.code == "CONFIGURATION_ERROR"


def test_set_and_get_global() -> None:
    config = BaseConfig(POSTGRES_SQLALCHEMY={"HOST": "global-host"})
    BaseConfig.set_global(config)
    assert BaseConfig.global_config() is config
    assert BaseConfig.global_config().POSTGRES_SQLALCHEMY.HOST == "global-host"


def test_set_global_replaces_previous() -> None:
    first, second = BaseConfig(), BaseConfig()
    BaseConfig.set_global(first)
    BaseConfig.set_global(second)
    assert BaseConfig.global_config() is second


def test_global_config_on_subclass() -> None:
    config = AppConfig(APP_NAME="svc")
    AppConfig.set_global(config)

    from_subclass = AppConfig.global_config()
    assert from_subclass is config
    assert from_subclass.APP_NAME == "svc"
    # Shared with the base class: library code reading BaseConfig.global_config() sees the same object.
    assert BaseConfig.global_config() is config


def test_subclass_set_global_via_base_class() -> None:
    config = AppConfig()
    BaseConfig.set_global(config)
    assert AppConfig.global_config() is config


def test_subclass_global_config_when_global_is_a_plain_base_config() -> None:
    BaseConfig.set_global(BaseConfig())
    with pytest.raises(ConfigurationError) as excinfo:
        AppConfig.global_config()
    message = str(excinfo.value)
    assert "AppConfig" in message
    assert "BaseConfig" in message


def test_clear_global() -> None:
    BaseConfig.set_global(BaseConfig())
    BaseConfig.clear_global()
    with pytest.raises(ConfigurationError, match="set_global"):
        BaseConfig.global_config()


def test_clear_global_on_subclass_clears_for_everyone() -> None:
    AppConfig.set_global(AppConfig())
    AppConfig.clear_global()
    with pytest.raises(ConfigurationError):
        BaseConfig.global_config()
    with pytest.raises(ConfigurationError):
        AppConfig.global_config()


@pytest.mark.parametrize("not_a_config", [None, {"POSTGRES_SQLALCHEMY": {}}, PostgresSQLAlchemyConfig()])
def test_set_global_rejects_non_config(not_a_config: Any) -> None:
    with pytest.raises(ConfigurationError, match="BaseConfig"):
        BaseConfig.set_global(not_a_config)
    with pytest.raises(ConfigurationError):
        BaseConfig.global_config()


# --- DSN <-> fields ------------------------------------------------------------------------------------


def test_fields_to_dsn() -> None:
    config = PostgresSQLAlchemyConfig(HOST="db.example", PORT=6543, DATABASE="app", USERNAME="alice", PASSWORD="pw")
    assert dsn_of(config) == "postgresql+psycopg://alice:pw@db.example:6543/app"
    assert config.url().render_as_string(hide_password=False) == dsn_of(config)


def test_dsn_without_password_or_port() -> None:
    config = PostgresSQLAlchemyConfig(POSTGRES_DSN="postgresql://bob@db.example/app")
    assert config.USERNAME == "bob"
    assert config.PASSWORD is None
    assert config.PORT == 5432  # default kept when the DSN has none
    assert config.HOST == "db.example"
    assert dsn_of(config) == "postgresql+psycopg://bob@db.example:5432/app"


def test_ipv6_host_round_trip() -> None:
    config = PostgresSQLAlchemyConfig(HOST="::1", PORT=5433)
    assert "@[::1]:5433/" in dsn_of(config)
    again = PostgresSQLAlchemyConfig(POSTGRES_DSN=dsn_of(config))
    assert (again.HOST, again.PORT) == ("::1", 5433)


@pytest.mark.parametrize("value", SPECIAL_STRINGS)
def test_special_characters_dsn_to_fields(value: str) -> None:
    dsn = f"postgresql+psycopg://{quote(value, safe='')}:{quote(value, safe='')}@db:5432/{quote(value, safe='')}"
    config = PostgresSQLAlchemyConfig(POSTGRES_DSN=dsn)
    assert value == config.USERNAME
    assert password_of(config) == value
    assert value == config.DATABASE
    assert config.url().username == value
    assert config.url().password == value
    assert config.url().database == value


@pytest.mark.parametrize("value", SPECIAL_STRINGS)
def test_special_characters_fields_to_dsn_round_trip(value: str) -> None:
    config = PostgresSQLAlchemyConfig(USERNAME=value, PASSWORD=value, DATABASE=value, HOST="db")
    dsn = dsn_of(config)

    # The DSN is a single well-formed URL: nothing leaked into host, port or query.
    url = make_url(dsn)
    assert (url.host, url.port, url.query) == ("db", 5432, {})
    assert url.username == value
    assert url.password == value
    # libpq agrees on every component.
    parsed = libpq_parse(dsn)
    assert parsed["user"] == value
    assert parsed["password"] == value
    assert parsed["dbname"] == value
    assert parsed["host"] == "db"

    again = PostgresSQLAlchemyConfig(POSTGRES_DSN=dsn)
    assert (again.USERNAME, password_of(again), again.DATABASE) == (value, value, value)
    assert dsn_of(again) == dsn


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    username=st.text(min_size=1, max_size=30),
    password=st.text(min_size=1, max_size=40),
    database=st.text(min_size=1, max_size=30),
)
def test_round_trip_arbitrary_credentials(username: str, password: str, database: str) -> None:
    config = PostgresSQLAlchemyConfig(USERNAME=username, PASSWORD=password, DATABASE=database)
    again = PostgresSQLAlchemyConfig(POSTGRES_DSN=dsn_of(config))
    assert username == again.USERNAME
    assert password_of(again) == password
    assert database == again.DATABASE
    assert (again.HOST, again.PORT) == (config.HOST, config.PORT)
    assert dsn_of(again) == dsn_of(config)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40))
def test_arbitrary_password_is_understood_by_libpq(password: str) -> None:
    dsn = dsn_of(PostgresSQLAlchemyConfig(USERNAME="u", PASSWORD=password))
    assert libpq_parse(dsn)["password"] == password


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(suffix=st.text(min_size=0, max_size=30))
def test_arbitrary_password_never_shown(suffix: str) -> None:
    password = SECRET + suffix
    config = PostgresSQLAlchemyConfig(PASSWORD=password)
    for shown in (repr(config), str(config), config.model_dump_json(), str(config.model_dump()), config.masked_dsn()):
        assert SECRET not in shown
    assert password_of(config) == password


@pytest.mark.parametrize(
    ("dsn", "sync_driver", "async_driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@h/db", "postgresql+psycopg", "postgresql+asyncpg"),
        ("postgresql+psycopg_async://u@h/db", "postgresql+psycopg", "postgresql+psycopg_async"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2", "postgresql+asyncpg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg", "postgresql+asyncpg"),
    ],
)
def test_driver_back_fill(dsn: str, sync_driver: str, async_driver: str) -> None:
    config = PostgresSQLAlchemyConfig(POSTGRES_DSN=dsn)
    assert sync_driver == config.DRIVER_NAME
    assert async_driver == config.ASYNC_DRIVER_NAME
    assert config.url().drivername == sync_driver
    assert config.url(async_=True).drivername == async_driver
    assert (config.HOST, config.DATABASE, config.USERNAME) == ("h", "db", "u")


def test_asyncpg_dsn_from_env_sets_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__POSTGRES_DSN", "postgresql+asyncpg://u:pw@h:5555/db")
    pg = BaseConfig().POSTGRES_SQLALCHEMY
    assert pg.ASYNC_DRIVER_NAME == "postgresql+asyncpg"
    assert pg.url(async_=True).render_as_string(hide_password=False) == "postgresql+asyncpg://u:pw@h:5555/db"


def test_dsn_query_parameters_are_kept() -> None:
    config = PostgresSQLAlchemyConfig(
        POSTGRES_DSN="postgresql+psycopg://u:pw@h:5432/db?sslmode=require&application_name=billing%20api"
    )
    assert config.DSN_QUERY == {"sslmode": "require", "application_name": "billing api"}
    assert dict(config.url().query) == {"sslmode": "require", "application_name": "billing api"}
    assert dict(config.url(async_=True).query) == {"sslmode": "require", "application_name": "billing api"}
    parsed = libpq_parse(dsn_of(config))
    assert parsed["sslmode"] == "require"
    assert parsed["application_name"] == "billing api"
    again = PostgresSQLAlchemyConfig(POSTGRES_DSN=dsn_of(config))
    assert again.DSN_QUERY == config.DSN_QUERY


def test_masked_dsn() -> None:
    config = PostgresSQLAlchemyConfig(USERNAME="u", PASSWORD=SECRET, HOST="h", DATABASE="db")
    assert config.masked_dsn() == "postgresql+psycopg://u:***@h:5432/db"


def test_postgres_dsn_accepts_secret_str() -> None:
    config = PostgresSQLAlchemyConfig(POSTGRES_DSN=SecretStr("postgresql://u:pw@h:1234/db"))
    assert (config.HOST, config.PORT, password_of(config)) == ("h", 1234, "pw")


# --- secrets are never shown -------------------------------------------------------------------------


def test_password_hidden_in_repr_str_and_dumps() -> None:
    config = PostgresSQLAlchemyConfig(USERNAME="u", PASSWORD=SECRET)
    for shown in (
        repr(config),
        str(config),
        config.model_dump_json(),
        str(config.model_dump()),
        repr(config.url()),
        str(config.url()),
        config.masked_dsn(),
    ):
        assert SECRET not in shown
    assert password_of(config) == SECRET
    assert SECRET in dsn_of(config)


def test_password_hidden_when_given_through_dsn() -> None:
    config = PostgresSQLAlchemyConfig(POSTGRES_DSN=f"postgresql://u:{SECRET}@h/db")
    for shown in (repr(config), str(config), config.model_dump_json()):
        assert SECRET not in shown
    assert password_of(config) == SECRET


def test_password_hidden_in_base_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__PASSWORD", SECRET)
    config = BaseConfig()
    for shown in (repr(config), str(config), config.model_dump_json(), str(config.model_dump())):
        assert SECRET not in shown
    assert password_of(config.POSTGRES_SQLALCHEMY) == SECRET


@pytest.mark.parametrize(
    "dsn",
    [
        f"mysql://u:{SECRET}@h/db",
        f"postgresql+nosuchdriver://u:{SECRET}@h/db",
        f"postgresql://u:{SECRET}@h:99999/db",
        f"postgresql://u:{SECRET}@h:notaport/db",
        f"this is not a url {SECRET}",
        f"://u:{SECRET}@",
    ],
)
def test_invalid_dsn_error_hides_password(dsn: str) -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        PostgresSQLAlchemyConfig(POSTGRES_DSN=dsn)
    assert SECRET not in full_text(excinfo.value)
    assert any(field in str(excinfo.value) for field in ("POSTGRES_DSN", "PORT"))


def test_invalid_dsn_in_env_error_hides_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__POSTGRES_DSN", f"mysql://u:{SECRET}@h/db")
    with pytest.raises(ConfigurationError, match=r"POSTGRES_SQLALCHEMY\.POSTGRES_DSN") as excinfo:
        BaseConfig()
    assert SECRET not in full_text(excinfo.value)


def test_invalid_port_in_env_error_hides_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__PASSWORD", SECRET)
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__PORT", f"port-{SECRET}")
    with pytest.raises(ConfigurationError) as excinfo:
        BaseConfig()
    assert "POSTGRES_SQLALCHEMY.PORT" in str(excinfo.value)
    assert SECRET not in full_text(excinfo.value)


def test_wrong_type_password_error_hides_value() -> None:
    with pytest.raises(ConfigurationError, match="PASSWORD") as excinfo:
        PostgresSQLAlchemyConfig(PASSWORD=["not", "a", SECRET])
    assert SECRET not in full_text(excinfo.value)


# --- invalid fields -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("PORT", 0),
        ("PORT", 65536),
        ("PORT", "not-a-port"),
        ("POOL_SIZE", 0),
        ("POOL_SIZE", -5),
        ("POOL_MAX_OVERFLOW", -1),
        ("POOL_TIMEOUT", 0),
        ("POOL_TIMEOUT", -1.5),
        ("POOL_RECYCLE_SECONDS", -2),
        ("ISOLATION_LEVEL", "SOMETIMES"),
        ("ISOLATION_LEVEL", "read committed please"),
        ("DRIVER_NAME", "mysql+pymysql"),
        ("DRIVER_NAME", "postgresql+asyncpg"),  # async driver in the sync slot
        ("ASYNC_DRIVER_NAME", "postgresql+psycopg2"),
        ("POSTGRES_DSN", "mysql://u@h/db"),
        ("POSTGRES_DSN", "sqlite:///x.db"),
        ("SSL_MODE", "sometimes"),
        ("STATEMENT_TIMEOUT", -1),
        ("CONNECT_TIMEOUT", 0),
        ("QUERY_CACHE_SIZE", -1),
        ("HOTS", "typo-of-host"),
    ],
)
def test_invalid_postgres_field_names_the_field(field: str, value: Any) -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        PostgresSQLAlchemyConfig(**{field: value})
    error = excinfo.value
    assert f"{field}:" in str(error)
    assert list(error.details["fields"]) == [field]
    assert error.code == "CONFIGURATION_ERROR"
    assert not isinstance(error, ValidationError)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("DATABASE", ""),
        ("DRIVER_NAME", "postgresql"),
        ("ASYNC_DRIVER_NAME", "sqlite"),
        ("JOURNAL_MODE", "FAST"),
        ("BEGIN_MODE", "LAZY"),
        ("BUSY_TIMEOUT", -1),
        ("SYNCHRONOUS", "SOMETIMES"),
        ("POOL_SIZE", 0),
        ("ISOLATION_LEVEL", "SNAPSHOT"),
    ],
)
def test_invalid_sqlite_field_names_the_field(field: str, value: Any) -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        SQLiteSQLAlchemyConfig(**{field: value})
    assert f"{field}:" in str(excinfo.value)
    assert list(excinfo.value.details["fields"]) == [field]


def test_every_invalid_field_is_reported() -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        PostgresSQLAlchemyConfig(PORT=0, POOL_SIZE=0, ISOLATION_LEVEL="nope")
    assert sorted(excinfo.value.details["fields"]) == ["ISOLATION_LEVEL", "POOL_SIZE", "PORT"]


def test_dsn_port_out_of_range_names_port() -> None:
    with pytest.raises(ConfigurationError, match="PORT"):
        PostgresSQLAlchemyConfig(POSTGRES_DSN="postgresql://u@h:70000/db")


def test_nested_error_names_full_path_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__PORT", "0")
    with pytest.raises(ConfigurationError) as excinfo:
        BaseConfig()
    message = str(excinfo.value)
    assert "POSTGRES_SQLALCHEMY.PORT" in message
    assert message.count("PORT") == 1
    assert list(excinfo.value.details["fields"]) == ["POSTGRES_SQLALCHEMY.PORT"]


def test_nested_error_from_explicit_dict() -> None:
    with pytest.raises(ConfigurationError, match=r"SQLITE_SQLALCHEMY\.BUSY_TIMEOUT"):
        BaseConfig(SQLITE_SQLALCHEMY={"BUSY_TIMEOUT": -1})


def test_nested_error_in_subclass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__POOL_MAX_OVERFLOW", "-3")
    with pytest.raises(ConfigurationError, match=r"Invalid AppConfig configuration: POSTGRES_SQLALCHEMY\.POOL_MAX"):
        AppConfig()


# --- isolation level ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_level", "expected"),
    [
        ("read_committed", "READ COMMITTED"),
        ("READ_COMMITTED", "READ COMMITTED"),
        ("read committed", "READ COMMITTED"),
        ("  repeatable   read ", "REPEATABLE READ"),
        ("serializable", "SERIALIZABLE"),
        ("read_uncommitted", "READ UNCOMMITTED"),
        ("autocommit", "AUTOCOMMIT"),
        (None, None),
    ],
)
def test_isolation_level_normalisation(given_level: str | None, expected: str | None) -> None:
    assert expected == PostgresSQLAlchemyConfig(ISOLATION_LEVEL=given_level).ISOLATION_LEVEL
    assert expected == SQLiteSQLAlchemyConfig(ISOLATION_LEVEL=given_level).ISOLATION_LEVEL


def test_isolation_level_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__ISOLATION_LEVEL", "serializable")
    assert BaseConfig().POSTGRES_SQLALCHEMY.ISOLATION_LEVEL == "SERIALIZABLE"


# --- SQLite -----------------------------------------------------------------------------------------------


def test_sqlite_file_url_is_usable(tmp_path: Path) -> None:
    path = tmp_path / "dir with space" / "data.sqlite3"
    path.parent.mkdir()
    config = SQLiteSQLAlchemyConfig(DATABASE=str(path))
    assert not config.is_memory
    engine = create_engine(config.url())
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        engine.dispose()
    assert path.exists()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT x FROM t").fetchall() == [(1,)]


@pytest.mark.parametrize("file_name", ["plain.sqlite3", "with space.db", "hash#mark.db", "what?.db", "pct%20.db"])
def test_sqlite_read_only_url_opens_that_file_and_refuses_writes(tmp_path: Path, file_name: str) -> None:
    path = tmp_path / file_name
    decoy = tmp_path / "with space.db"  # what a naive URI would open for "pct%20.db"
    for target in {path, decoy}:
        with sqlite3.connect(target) as raw:
            raw.execute("CREATE TABLE t (name TEXT)")
            raw.execute("INSERT INTO t VALUES (?)", (target.name,))
        raw.close()
    before = sorted(p.name for p in tmp_path.iterdir())

    engine = create_engine(SQLiteSQLAlchemyConfig(DATABASE=str(path), READ_ONLY=True).url())
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM t")).scalar_one() == file_name
            with pytest.raises(OperationalError, match="readonly"):
                conn.execute(text("INSERT INTO t VALUES ('x')"))
    finally:
        engine.dispose()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no stray file was created


def test_sqlite_read_only_url_keeps_async_driver(tmp_path: Path) -> None:
    url = SQLiteSQLAlchemyConfig(DATABASE=str(tmp_path / "x.db"), READ_ONLY=True).url(async_=True)
    assert url.drivername == "sqlite+aiosqlite"
    assert url.query == {"uri": "true"}
    assert url.database is not None
    assert url.database.startswith("file:")
    assert url.database.endswith("?mode=ro")


# --- against a real server: quoted names reach PostgreSQL intact -----------------------------------------


@pytest.mark.postgres
def test_special_character_user_and_database_connect(postgres_server_dsn: str) -> None:
    token = uuid.uuid4().hex[:8]
    role = f"us@er:/ %#{token}"
    database = f"db #%/?{token}"
    password = f"p@ss:/ %#{token}"
    server = make_url(postgres_server_dsn)
    with psycopg.connect(postgres_server_dsn, autocommit=True) as admin:
        try:
            admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), password))
        except psycopg.errors.InsufficientPrivilege:
            pytest.skip("the test server user cannot create roles")
        try:
            admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(role)))
            try:
                config = PostgresSQLAlchemyConfig(
                    HOST=server.host, PORT=server.port, USERNAME=role, PASSWORD=password, DATABASE=database
                )
                expected = (role, database)
                # Through SQLAlchemy with the config's URL ...
                engine = create_engine(config.url())
                try:
                    with engine.connect() as conn:
                        row = conn.execute(text("SELECT current_user, current_database()")).one()
                    assert tuple(row) == expected
                finally:
                    engine.dispose()
                # ... and through libpq with the rendered DSN string.
                plain_dsn = "postgresql://" + dsn_of(config).split("://", 1)[1]
                with psycopg.connect(plain_dsn) as conn:
                    fetched = conn.execute("SELECT current_user, current_database()").fetchone()
                assert fetched == expected
            finally:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        finally:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
