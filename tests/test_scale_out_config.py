"""Scale-out settings: failover host lists, read replica DSNs, a transaction pooler in front (issue 16)."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url

from archipy_lite.adapters.base.sqlalchemy.replica_sets import replicas_of
from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.adapters.postgres.sqlalchemy.compatibility import version_from_setting
from archipy_lite.adapters.postgres.sqlalchemy.dialect import PostgresDialect
from archipy_lite.adapters.postgres.sqlalchemy.replicas import AsyncPostgresReplicaSet, PostgresReplicaSet
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import SQLiteSQLAlchemyAdapter
from archipy_lite.configs import BaseConfig, PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.configs.replica_settings import read_replica_configs
from archipy_lite.models.errors import ConfigurationError

SECRET = "R3plica-S3cret"


@pytest.fixture(autouse=True)
def _no_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in list(os.environ):
        if name.startswith("POSTGRES_SQLALCHEMY"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def dsn_of(config: PostgresSQLAlchemyConfig) -> str:
    assert config.POSTGRES_DSN is not None
    return config.POSTGRES_DSN.get_secret_value()


# --- several hosts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://app:pw@db-a:5432,db-b:5433/orders",  # libpq's URL form
        "postgresql://app:pw@/orders?host=db-a:5432&host=db-b:5433",  # SQLAlchemy's form
        "postgresql://app:pw@/orders?host=db-a,db-b&port=5432,5433",  # libpq's keyword form
    ],
    ids=["authority", "repeated-host", "comma-lists"],
)
def test_every_multi_host_dsn_form_gives_the_same_settings(dsn: str) -> None:
    config = PostgresSQLAlchemyConfig(POSTGRES_DSN=dsn)
    assert config.HOSTS == ["db-a:5432", "db-b:5433"]
    assert (config.HOST, config.PORT, config.DATABASE, config.USERNAME) == ("db-a", 5432, "orders", "app")
    assert config.TARGET_SESSION_ATTRS == "read-write"  # a failover list finds the primary by default
    assert config.DSN_QUERY == {}
    assert dsn_of(config) == "postgresql+psycopg://app:pw@db-a:5432,db-b:5433/orders?target_session_attrs=read-write"
    assert PostgresSQLAlchemyConfig(POSTGRES_DSN=dsn_of(config)) == config  # the rendered DSN reads back the same


def test_fields_give_the_same_multi_host_settings_as_a_dsn() -> None:
    from_list = PostgresSQLAlchemyConfig(HOSTS=["db-a", "db-b:5433", "[::1]"], PORT=6000, DATABASE="orders")
    assert from_list.HOSTS == ["db-a:6000", "db-b:5433", "[::1]:6000"]
    assert (from_list.HOST, from_list.PORT) == ("db-a", 6000)
    assert dsn_of(from_list).startswith("postgresql+psycopg://postgres@db-a:6000,db-b:5433,[::1]:6000/orders?")
    from_host = PostgresSQLAlchemyConfig(HOST="db-a,db-b", PORT=6000)  # libpq's host=a,b
    assert from_host.HOSTS == ["db-a:6000", "db-b:6000"]


def test_an_explicit_target_session_attrs_is_kept() -> None:
    config = PostgresSQLAlchemyConfig(POSTGRES_DSN="postgresql://u@a:1,b:2/db?target_session_attrs=any&sslmode=require")
    assert config.TARGET_SESSION_ATTRS == "any"
    assert config.DSN_QUERY == {"sslmode": "require"}
    single = PostgresSQLAlchemyConfig(HOST="a", TARGET_SESSION_ATTRS="primary")
    assert single.HOSTS == []
    assert dsn_of(single).endswith("@a:5432/postgres?target_session_attrs=primary")


def test_one_host_in_a_list_is_a_plain_single_host_configuration() -> None:
    config = PostgresSQLAlchemyConfig(HOSTS=["db-a:6543"])
    assert (config.HOSTS, config.HOST, config.PORT, config.TARGET_SESSION_ATTRS) == ([], "db-a", 6543, None)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"HOSTS": ["a:0", "b"]}, "HOSTS"),
        ({"HOSTS": ["a:http", "b"]}, "HOSTS"),
        ({"HOSTS": ["", "b"]}, "HOSTS"),
        ({"POSTGRES_DSN": f"postgresql://u:{SECRET}@/db?host=a,b&port=1,2,3"}, "POSTGRES_DSN"),
        ({"TARGET_SESSION_ATTRS": "primary-ish"}, "TARGET_SESSION_ATTRS"),
        ({"POSTGRES_DSN": f"postgresql://u:{SECRET}@a,b/db?target_session_attrs=nope"}, "TARGET_SESSION_ATTRS"),
    ],
)
def test_bad_host_settings_name_the_field_and_never_echo_the_dsn(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        PostgresSQLAlchemyConfig(**fields)
    assert field in caught.value.details["fields"]
    assert SECRET not in str(caught.value)


def test_the_driver_url_carries_the_host_list_for_psycopg_and_asyncpg() -> None:
    config = PostgresSQLAlchemyConfig(POSTGRES_DSN="postgresql://u@a:1,[::1]:2/db")
    for async_ in (False, True):
        url = config.url(async_=async_)
        assert url.host is None
        assert url.port is None
        assert dict(url.query) == {"host": "a,::1", "port": "1,2", "target_session_attrs": "read-write"}


@pytest.mark.postgres
@pytest.mark.parametrize("driver", ["psycopg", "asyncpg", "psycopg-async"])
async def test_a_host_list_skips_a_server_that_is_down(postgres_dsn: str, driver: str) -> None:
    """The first host refuses connections; every driver goes on to the next one."""
    url = make_url(postgres_dsn)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]  # nothing listens on it once the socket is closed
    host = url.host or "127.0.0.1"
    config = PostgresSQLAlchemyConfig(
        POSTGRES_DSN=url.set(drivername="postgresql").render_as_string(hide_password=False),
        HOSTS=[f"127.0.0.1:{dead_port}", f"{host}:{url.port or 5432}"],
        ASYNC_DRIVER_NAME="postgresql+psycopg" if driver == "psycopg-async" else "postgresql+asyncpg",
    )
    query = text("SELECT inet_server_port(), pg_is_in_recovery()")
    if driver == "psycopg":
        adapter = PostgresSQLAlchemyAdapter(config)
        row = adapter.execute(query).one()
        adapter.session_manager.dispose()
    else:
        async_adapter = AsyncPostgresSQLAlchemyAdapter(config)
        row = (await async_adapter.execute(query)).one()
        await async_adapter.session_manager.dispose()
    assert tuple(row) == (url.port or 5432, False)


# --- read replicas ------------------------------------------------------------------------------------------


def test_replica_dsns_come_from_json_in_the_environment_and_stay_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    replicas = [f"postgresql://reader:{SECRET}@replica-1:5432/orders", "postgresql://replica-2:6432"]
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__POSTGRES_DSN", f"postgresql://app:{SECRET}x@primary/orders")
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__READ_REPLICA_DSNS", json.dumps(replicas))
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__READ_REPLICA_POOL_SIZE", "3")
    config = BaseConfig().POSTGRES_SQLALCHEMY
    assert [dsn.get_secret_value() for dsn in config.READ_REPLICA_DSNS] == replicas
    assert config.READ_REPLICA_POOL_SIZE == 3
    for shown in (repr(config), str(config), config.model_dump_json(), str(config.model_dump()), config.masked_dsn()):
        assert SECRET not in shown


def test_a_replica_takes_what_its_dsn_leaves_out_from_the_primary() -> None:
    config = PostgresSQLAlchemyConfig(
        POSTGRES_DSN=f"postgresql://app:{SECRET}@primary:5432/orders",
        READ_REPLICA_DSNS=[
            SecretStr("postgresql://replica-1:6432"),
            SecretStr(f"postgresql+psycopg://reader:{SECRET}2@replica-2/other?sslmode=require"),
        ],
        POOL_SIZE=12,
        READ_REPLICA_POOL_MAX_OVERFLOW=4,
        READ_REPLICA_CONNECT_TIMEOUT=1.5,
        APPLICATION_NAME="orders",
        ASYNC_DRIVER_NAME="postgresql+psycopg",
    )
    first, second = read_replica_configs(config)
    assert (first.HOST, first.PORT, first.DATABASE, first.USERNAME) == ("replica-1", 6432, "orders", "app")
    assert first.PASSWORD is not None
    assert first.PASSWORD.get_secret_value() == SECRET  # same role, same password
    assert (first.POOL_SIZE, first.POOL_MAX_OVERFLOW, first.CONNECT_TIMEOUT) == (12, 4, 1.5)
    assert (first.APPLICATION_NAME, first.ASYNC_DRIVER_NAME) == ("orders", "postgresql+psycopg")
    assert first.READ_REPLICA_DSNS == []
    assert (second.HOST, second.DATABASE, second.USERNAME, second.DSN_QUERY) == (
        "replica-2",
        "other",
        "reader",
        {"sslmode": "require"},
    )
    assert second.PASSWORD is not None
    assert second.PASSWORD.get_secret_value() == SECRET + "2"


def test_a_replica_with_another_role_does_not_get_the_primary_password() -> None:
    config = PostgresSQLAlchemyConfig(
        POSTGRES_DSN=f"postgresql://app:{SECRET}@primary/orders",
        READ_REPLICA_DSNS=[SecretStr("postgresql://reader@replica-1")],
    )
    (replica,) = read_replica_configs(config)
    assert replica.USERNAME == "reader"
    assert replica.PASSWORD is None


def test_a_bad_replica_dsn_names_its_position_and_never_echoes_it() -> None:
    with pytest.raises(ConfigurationError) as caught:
        PostgresSQLAlchemyConfig(
            READ_REPLICA_DSNS=[SecretStr("postgresql://ok"), SecretStr(f"mysql://u:{SECRET}@x/db")]
        )
    assert "READ_REPLICA_DSNS" in caught.value.details["fields"]
    assert "entry 1" in str(caught.value)
    assert SECRET not in str(caught.value)


# --- a transaction pooler in front -------------------------------------------------------------------------


def test_transaction_pooler_mode_turns_off_every_prepared_statement_cache() -> None:
    config = PostgresSQLAlchemyConfig(POOLER_MODE="transaction", CONNECT_ARGS={"keepalives": 1})
    dialect = PostgresDialect()
    _, psycopg_options = dialect.engine_arguments(config, async_=False)
    assert psycopg_options["connect_args"]["prepare_threshold"] is None
    assert psycopg_options["connect_args"]["keepalives"] == 1
    _, asyncpg_options = dialect.engine_arguments(config, async_=True)
    arguments = asyncpg_options["connect_args"]
    assert (arguments["statement_cache_size"], arguments["prepared_statement_cache_size"]) == (0, 0)
    names = {arguments["prepared_statement_name_func"]() for _ in range(100)}
    assert len(names) == 100


def test_without_a_pooler_the_drivers_keep_their_caches() -> None:
    config = PostgresSQLAlchemyConfig()
    dialect = PostgresDialect()
    assert "prepare_threshold" not in dialect.engine_arguments(config, async_=False)[1]["connect_args"]
    assert "statement_cache_size" not in dialect.engine_arguments(config, async_=True)[1]["connect_args"]


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_a_pooler_refuses_statement_timeout_with_a_way_out(mode: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        PostgresSQLAlchemyConfig(POOLER_MODE=mode, STATEMENT_TIMEOUT=5000)
    assert caught.value.details["fields"] == ["POOLER_MODE"]
    assert "ALTER ROLE" in str(caught.value)


# --- PostgreSQL-compatible servers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "version"),
    [
        ("13.0.0", (13, 0, 0)),
        ("15.20 (Debian 15.20-0+deb12u1)", (15, 20)),
        ("18devel", (18,)),
        ("11.2-YB-2.20", (11, 2)),
    ],
)
def test_the_server_version_setting_is_read_when_version_does_not_name_postgresql(
    setting: str, version: tuple[int, ...]
) -> None:
    assert version_from_setting(setting) == version


def test_a_server_version_without_a_number_is_refused() -> None:
    with pytest.raises(ValueError, match="version number"):
        version_from_setting("unknown")


def test_a_session_manager_has_one_replica_set_built_from_its_settings() -> None:
    config = PostgresSQLAlchemyConfig(READ_REPLICA_DSNS=[SecretStr("postgresql://replica-1")])
    sync_manager = PostgresSQLAlchemyAdapter(config).session_manager
    async_manager = AsyncPostgresSQLAlchemyAdapter(config).session_manager
    replicas = replicas_of(sync_manager)
    assert isinstance(replicas, PostgresReplicaSet)
    assert len(replicas) == 1
    assert replicas_of(sync_manager) is replicas  # built once
    assert isinstance(replicas_of(async_manager), AsyncPostgresReplicaSet)
    assert replicas_of(PostgresSQLAlchemyAdapter(PostgresSQLAlchemyConfig()).session_manager) is None
    assert replicas_of(SQLiteSQLAlchemyAdapter(SQLiteSQLAlchemyConfig()).session_manager) is None
    assert not sync_manager.has_engine  # nothing connected yet
