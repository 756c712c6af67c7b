"""Classes 6 and 8: where configuration comes from.

6. Explicit arguments beat environment variables, which beat ``.env``, which beats defaults, *per
   source*, whatever mix of DSN and separate fields each source gives (within one source the DSN
   wins for the parts it names). Every combination of four shapes (nothing, fields, a DSN, both)
   over the three sources is checked field by field, through ``BaseConfig`` and through a section
   built on its own; the SQLite section likewise.
8. With environment variables as the only configuration (no ``set_global``), adapters built without
   ``orm_config`` connect where the environment says, on every backend, and ``set_global`` still wins.
"""

from __future__ import annotations

import inspect
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from archipy_lite.adapters.base.sqlalchemy.registry import reset_default_session_managers
from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import AsyncSQLiteSQLAlchemyAdapter, SQLiteSQLAlchemyAdapter
from archipy_lite.configs import BaseConfig, PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig

from . import figures

SOURCES = ("explicit", "env", "dotenv")
SHAPES = ("nothing", "fields", "dsn", "both")
# What each shape names: separate fields give HOST and PORT; a DSN gives HOST, DATABASE, USERNAME and
# PASSWORD (no port); "both" gives all of these, the DSN's HOST disagreeing with the separate HOST.
DEFAULTS = {"HOST": "localhost", "PORT": 5432, "DATABASE": "postgres", "USERNAME": "postgres", "PASSWORD": None}
_counted: dict[str, int] = {}


def count(name: str) -> None:
    _counted[name] = _counted.get(name, 0) + 1


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.upper().startswith(("POSTGRES_SQLALCHEMY", "SQLITE_SQLALCHEMY")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    BaseConfig.clear_global()
    yield
    BaseConfig.clear_global()


def given(source: str, shape: str, port: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(values the source holds, what each field should be if this source decides it)."""
    values: dict[str, Any] = {}
    decides: dict[str, Any] = {}
    if shape in ("fields", "both"):
        values.update(HOST=f"{source}-fields-host", PORT=port)
        decides.update(HOST=f"{source}-fields-host", PORT=port)
    if shape in ("dsn", "both"):
        values["POSTGRES_DSN"] = f"postgresql://{source}-user:{quote(source + '-p@ss')}@{source}-dsn-host/{source}-db"
        decides.update(HOST=f"{source}-dsn-host", DATABASE=f"{source}-db", USERNAME=f"{source}-user")
        decides["PASSWORD"] = f"{source}-p@ss"
    return values, decides


def expected(decisions: list[dict[str, Any]]) -> dict[str, Any]:
    """Field by field, the highest source that names a field decides it (decisions highest first)."""
    result = dict(DEFAULTS)
    for decides in reversed(decisions):
        result.update(decides)
    return result


def observed(config: PostgresSQLAlchemyConfig) -> dict[str, Any]:
    password = config.PASSWORD.get_secret_value() if config.PASSWORD else None
    fields = {
        "HOST": config.HOST,
        "PORT": config.PORT,
        "DATABASE": config.DATABASE,
        "USERNAME": config.USERNAME,
        "PASSWORD": password,
    }
    url = make_url(config.POSTGRES_DSN.get_secret_value() if config.POSTGRES_DSN else "")
    assert (url.host, url.port, url.database, url.username, url.password) == tuple(fields.values())  # DSN agrees
    return fields


COMBINATIONS = list(itertools.product(SHAPES, repeat=3))


@pytest.mark.parametrize("entry", ["BaseConfig(POSTGRES_SQLALCHEMY={...})", "PostgresSQLAlchemyConfig(...)"])
@pytest.mark.parametrize(("explicit", "env", "dotenv"), COMBINATIONS, ids=["-".join(c) for c in COMBINATIONS])
def test_postgres_precedence_per_source(
    monkeypatch: pytest.MonkeyPatch, entry: str, explicit: str, env: str, dotenv: str
) -> None:
    decisions = []
    explicit_values = {}
    for index, (source, shape) in enumerate(zip(SOURCES, (explicit, env, dotenv), strict=True)):
        values, decides = given(source, shape, port=6001 + index)
        decisions.append(decides)
        if source == "explicit":
            explicit_values = values
        elif source == "env":
            for key, value in values.items():
                monkeypatch.setenv(f"POSTGRES_SQLALCHEMY__{key}", str(value))
        else:
            lines = [f"POSTGRES_SQLALCHEMY__{key}={value}\n" for key, value in values.items()]
            Path(".env").write_text("".join(lines), encoding="utf-8")
    if entry.startswith("BaseConfig"):
        config = BaseConfig(POSTGRES_SQLALCHEMY=explicit_values).POSTGRES_SQLALCHEMY
    else:
        config = PostgresSQLAlchemyConfig(**explicit_values)
    assert observed(config) == expected(decisions)
    count("6")


SQLITE_COMBINATIONS = list(itertools.product((False, True), repeat=3))


@pytest.mark.parametrize("entry", ["BaseConfig(SQLITE_SQLALCHEMY={...})", "SQLiteSQLAlchemyConfig(...)"])
@pytest.mark.parametrize(("explicit", "env", "dotenv"), SQLITE_COMBINATIONS)
def test_sqlite_precedence_per_source(
    monkeypatch: pytest.MonkeyPatch, entry: str, explicit: bool, env: bool, dotenv: bool
) -> None:
    expected_value = ("explicit.db", 100) if explicit else ("env.db", 200) if env else ("dotenv.db", 300)
    if not (explicit or env or dotenv):
        expected_value = (":memory:", 5000)
    if env:
        monkeypatch.setenv("SQLITE_SQLALCHEMY__DATABASE", "env.db")
        monkeypatch.setenv("SQLITE_SQLALCHEMY__BUSY_TIMEOUT", "200")
    if dotenv:
        Path(".env").write_text("SQLITE_SQLALCHEMY__DATABASE=dotenv.db\nSQLITE_SQLALCHEMY__BUSY_TIMEOUT=300\n")
    arguments: dict[str, Any] = {"DATABASE": "explicit.db", "BUSY_TIMEOUT": 100} if explicit else {}
    if entry.startswith("BaseConfig"):
        config = BaseConfig(SQLITE_SQLALCHEMY=arguments).SQLITE_SQLALCHEMY
    else:
        config = SQLiteSQLAlchemyConfig(**arguments)
    assert expected_value == (config.DATABASE, config.BUSY_TIMEOUT)
    count("6")


def test_the_issue_example_explicit_host_beats_an_environment_dsn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__POSTGRES_DSN", "postgresql://u:pw@envhost:5432/db")
    config = BaseConfig(POSTGRES_SQLALCHEMY={"HOST": "explicit-host"})
    adapter = PostgresSQLAlchemyAdapter(orm_config=config.POSTGRES_SQLALCHEMY)
    assert adapter.session_manager.engine.url.host == "explicit-host"
    assert adapter.session_manager.engine.url.database == "db"  # what the arguments leave out
    adapter.session_manager.dispose()
    count("6")


def test_library_engines_ignore_the_application_sqlite_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQLITE_SQLALCHEMY__BUSY_TIMEOUT", "1")
    assert SQLiteSQLAlchemyConfig().BUSY_TIMEOUT == 1
    assert SQLiteSQLAlchemyConfig.from_values().BUSY_TIMEOUT == 5000
    count("6")


# --- 8. the environment as the only configuration ------------------------------------------------------

ADAPTERS = {
    "psycopg": (PostgresSQLAlchemyAdapter, {}),
    "asyncpg": (AsyncPostgresSQLAlchemyAdapter, {"ASYNC_DRIVER_NAME": "postgresql+asyncpg"}),
    "psycopg-async": (AsyncPostgresSQLAlchemyAdapter, {"ASYNC_DRIVER_NAME": "postgresql+psycopg"}),
    "sqlite3": (SQLiteSQLAlchemyAdapter, {}),
    "aiosqlite": (AsyncSQLiteSQLAlchemyAdapter, {}),
}


async def current_database(adapter: Any) -> str:
    query = "SELECT current_database()" if "Postgres" in type(adapter).__name__ else "PRAGMA database_list"
    result = adapter.execute(text(query))
    if inspect.isawaitable(result):
        result = await result
    row = result.one()
    return str(row[0] if "Postgres" in type(adapter).__name__ else row[2])


async def dispose_defaults() -> None:
    for manager in reset_default_session_managers():
        outcome = manager.dispose()
        if inspect.isawaitable(outcome):
            await outcome


def environment_for(kind: str, postgres_dsn: str | None, tmp_path: Path, extra: dict[str, Any]) -> dict[str, str]:
    if kind == "sqlite":
        return {"SQLITE_SQLALCHEMY__DATABASE": str(tmp_path / "from-env.sqlite3")}
    assert postgres_dsn is not None
    url = make_url(postgres_dsn)
    env = {
        "POSTGRES_SQLALCHEMY__HOST": str(url.host),
        "POSTGRES_SQLALCHEMY__PORT": str(url.port or 5432),
        "POSTGRES_SQLALCHEMY__DATABASE": str(url.database),
        "POSTGRES_SQLALCHEMY__USERNAME": str(url.username),
    }
    if url.password:
        env["POSTGRES_SQLALCHEMY__PASSWORD"] = url.password
    env.update({f"POSTGRES_SQLALCHEMY__{key}": value for key, value in extra.items()})
    return env


def write_dotenv(values: dict[str, str]) -> None:
    Path(".env").write_text("".join(f"{key}={value}\n" for key, value in values.items()), encoding="utf-8")


def driver_params() -> list[Any]:
    return [
        pytest.param(name, marks=[pytest.mark.postgres] if "sqlite" not in name else [], id=name) for name in ADAPTERS
    ]


@pytest.mark.parametrize("source", ["environment", ".env"])
@pytest.mark.parametrize("driver", driver_params())
async def test_adapter_without_config_uses_the_environment(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, driver: str, source: str
) -> None:
    adapter_class, extra = ADAPTERS[driver]
    kind = "sqlite" if "sqlite" in driver else "postgres"
    dsn = request.getfixturevalue("postgres_dsn") if kind == "postgres" else None
    env = environment_for(kind, dsn, tmp_path, extra)
    if source == "environment":
        for key, value in env.items():
            monkeypatch.setenv(key, value)
    else:
        write_dotenv(env)
    await dispose_defaults()
    try:
        adapter = adapter_class()  # no orm_config, no set_global: the environment is the configuration
        where = await current_database(adapter)
        assert where == (make_url(dsn).database if dsn else str(tmp_path / "from-env.sqlite3"))
        if extra:
            assert extra["ASYNC_DRIVER_NAME"] == adapter.session_manager.config.ASYNC_DRIVER_NAME
        # The configuration built from the environment is now the global one ...
        assert adapter.session_manager.config is getattr(BaseConfig.global_config(), f"{kind.upper()}_SQLALCHEMY")
        # ... and set_global still wins.
        replacement = tmp_path / "from-set-global.sqlite3"
        BaseConfig.set_global(
            BaseConfig(SQLITE_SQLALCHEMY={"DATABASE": str(replacement)}, POSTGRES_SQLALCHEMY={"HOST": "set-global"})
        )
        if kind == "sqlite":
            assert await current_database(adapter) == str(replacement)
        else:
            assert adapter.session_manager.config.HOST == "set-global"
    finally:
        await dispose_defaults()
    count("8")


def test_a_section_built_alone_reads_its_own_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__HOST", "env-host")
    monkeypatch.setenv("SQLITE_SQLALCHEMY__DATABASE", "env.sqlite3")
    assert PostgresSQLAlchemyConfig().HOST == "env-host"
    assert SQLiteSQLAlchemyConfig().DATABASE == "env.sqlite3"
    count("8")


def test_environment_that_configures_nothing_leaves_the_old_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """A global built from the environment serves only the kinds the environment configures: for the
    others the old rules (the one manager alive, or a clear error) still apply."""
    from archipy_lite.adapters.base.sqlalchemy.registry import default_session_manager

    monkeypatch.setenv("POSTGRES_SQLALCHEMY__HOST", "env-host")  # configures postgres only
    try:
        assert default_session_manager("postgres", is_async=False).config.HOST == "env-host"
        assert BaseConfig.global_config_for("POSTGRES_SQLALCHEMY") is BaseConfig.global_config()
        assert BaseConfig.global_config_for("SQLITE_SQLALCHEMY") is None  # no :memory: default imposed
    finally:
        reset_default_session_managers()
    count("8")


def test_figures() -> None:
    figures.record_class(
        6,
        "explicit configuration beats the environment, per source",
        cases=_counted.get("6", 0),
        varies="4 shapes (nothing, fields, DSN, both) over explicit / env / .env, two entry points; SQLite too",
        backends="configuration (one connection check)",
    )
    figures.record_class(
        8,
        "the environment alone configures adapters",
        cases=_counted.get("8", 0),
        varies="environment or .env, adapters without orm_config, set_global still wins",
        backends="psycopg, asyncpg, psycopg-async, sqlite3, aiosqlite",
    )
