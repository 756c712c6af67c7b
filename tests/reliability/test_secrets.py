"""Scenario 7: a password with special characters never shows.

The password ``p@ss:w/rd%#?&= x`` (and its URL-quoted forms) must not appear in any repr or str of
configs, adapters, session managers, engines, URLs or pools; in any log record of any logger while
ECHO and ECHO_POOL are on, real work is done and connections fail; in any error message, ``to_dict()``
or formatted traceback (driver exceptions included); or in ``archipy-lite doctor`` output.

The local server trusts every login from 127.0.0.1, so a wrong password would be accepted there. The
test-owned cluster instead requires SCRAM for the role it creates: its wrong-password cases really
fail authentication. The local server still serves the closed-port and unknown-role cases.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.configs.base_config import BaseConfig
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig
from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic
from archipy_lite.models.errors import (
    BaseError,
    ConfigurationError,
    DatabaseConnectionError,
    UniqueViolationError,
)
from archipy_lite.stores import AsyncStore, Store

from . import figures
from .conftest import free_port, libpq_dsn
from .entities import Item, ReliabilityBase

pytestmark = pytest.mark.postgres

SECRET = "p@ss:w/rd%#?&= x"
WRONG = "wr0ng:p@ss/#?&"  # a wrong password is a secret too
ROLE, DATABASE = "rel_secret_user", "rel_secrets"


def forms(password: str) -> set[str]:
    """Every spelling of ``password`` that could leak: raw, URL-quoted three ways, and its core."""
    return {password, quote(password, safe=""), quote(password), quote_plus(password), password[3:-3]}


FORBIDDEN = forms(SECRET) | forms(WRONG)


def leaks(text_: str) -> list[str]:
    return sorted(form for form in FORBIDDEN if form in text_)


def assert_clean(label: str, value: str) -> None:
    found = leaks(value)
    assert not found, f"{label} shows the password ({found}): {value[:300]}"


def quoted_dsn(host: str, port: int, password: str, user: str = ROLE, database: str = DATABASE) -> str:
    return f"postgresql://{user}:{quote(password, safe='')}@{host}:{port}/{database}"


@dataclass
class SecretServer:
    dsn: str  # the right password
    wrong_dsn: str
    host: str
    port: int


@pytest.fixture(scope="module")
def secret_server(cluster: Any) -> Iterator[SecretServer]:
    """A role with the password on the test-owned cluster, which must authenticate it with SCRAM."""
    hba = cluster.pgdata / "pg_hba.conf"
    original = hba.read_text()
    hba.write_text(f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n{original}")
    with psycopg.connect(cluster.dsn, autocommit=True) as admin:
        admin.execute("SET password_encryption = 'scram-sha-256'")
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(ROLE), sql.Literal(SECRET)))
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE), sql.Identifier(ROLE)))
        admin.execute("SELECT pg_reload_conf()")
    server = SecretServer(
        quoted_dsn("127.0.0.1", cluster.port, SECRET),
        quoted_dsn("127.0.0.1", cluster.port, WRONG),
        "127.0.0.1",
        cluster.port,
    )
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(server.wrong_dsn, connect_timeout=5).close()  # the server really checks it
    with psycopg.connect(server.dsn, autocommit=True) as owner:
        owner.execute("SELECT 1")
    try:
        yield server
    finally:
        hba.write_text(original)
        with psycopg.connect(cluster.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(ROLE)))
            admin.execute("SELECT pg_reload_conf()")


def psycopg_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+psycopg://", 1)


# --- repr and str ---------------------------------------------------------------------------------------


async def test_reprs_hide_the_password(secret_server: SecretServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__PASSWORD", SECRET)
    monkeypatch.setenv("POSTGRES_SQLALCHEMY__USERNAME", ROLE)
    in_query = f"postgresql://{ROLE}@127.0.0.1:{secret_server.port}/{DATABASE}?password={quote(SECRET, safe='')}"
    configs = [
        PostgresSQLAlchemyConfig(POSTGRES_DSN=psycopg_url(secret_server.dsn)),
        PostgresSQLAlchemyConfig(
            HOST="127.0.0.1", PORT=secret_server.port, USERNAME=ROLE, PASSWORD=SECRET, DATABASE=DATABASE
        ),
        PostgresSQLAlchemyConfig(POSTGRES_DSN=in_query),
        BaseConfig().POSTGRES_SQLALCHEMY,
    ]
    assert {config.PASSWORD.get_secret_value() for config in configs if config.PASSWORD} == {SECRET}
    shown: list[tuple[str, Any]] = [("BaseConfig()", BaseConfig())]
    sync_adapter = PostgresSQLAlchemyAdapter(configs[0])
    async_adapter = AsyncPostgresSQLAlchemyAdapter(configs[1])
    try:
        sync_adapter.execute(text("SELECT 1"))
        await async_adapter.execute(text("SELECT 1"))
        for number, config in enumerate(configs):
            shown += [
                (f"config {number}", config),
                (f"config {number} dump", config.model_dump()),
                (f"config {number} json", config.model_dump_json()),
                (f"config {number} masked", config.masked_dsn()),
                (f"config {number} url", config.url()),
                (f"config {number} async url", config.url(async_=True)),
                (f"config {number} DSN field", config.POSTGRES_DSN),
            ]
        for adapter in (sync_adapter, async_adapter):
            manager = adapter.session_manager
            shown += [
                ("adapter", adapter),
                ("manager", manager),
                ("engine", manager.engine),
                ("engine url", manager.engine.url),
                ("pool", getattr(manager.engine, "sync_engine", manager.engine).pool),
                ("session", adapter.get_session()),
            ]
        for label, thing in shown:
            assert_clean(f"repr({label})", repr(thing))
            assert_clean(f"str({label})", str(thing))
    finally:
        sync_adapter.session_manager.dispose()
        await async_adapter.session_manager.dispose()
    figures.record("7", reprs={"objects": len(shown), "renderings checked": 2 * len(shown), "leaks": 0})


# --- logs and errors ---------------------------------------------------------------------------------


class Capture(logging.Handler):
    """Every record of every logger, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.texts: list[str] = []
        self.loggers: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.loggers.add(record.name)
        self.texts.append(self.format(record) + repr(record.args))


@pytest.fixture
def all_logs() -> Iterator[Capture]:
    capture = Capture()
    root = logging.getLogger()
    previous = {name: logging.getLogger(name).level for name in [*logging.root.manager.loggerDict, ""]}
    for name in previous:
        logging.getLogger(name).setLevel(logging.DEBUG)
    root.addHandler(capture)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        for name, level in previous.items():
            logging.getLogger(name).setLevel(level)


def check_error(label: str, error: BaseException) -> None:
    assert isinstance(error, BaseError), f"{label}: untyped {type(error).__name__}"
    assert_clean(f"{label} str", str(error))
    assert_clean(f"{label} repr", repr(error))
    assert_clean(f"{label} to_dict", json.dumps(error.to_dict()))
    assert_clean(f"{label} traceback", "".join(traceback.format_exception(error)))  # the whole chain


async def test_logs_and_errors_hide_the_password(secret_server: SecretServer, all_logs: Capture) -> None:
    loud = {"ECHO": True, "ECHO_POOL": True, "HIDE_PARAMETERS": False, "CONNECT_TIMEOUT": 3, "POOL_SIZE": 2}
    right = PostgresSQLAlchemyConfig(POSTGRES_DSN=psycopg_url(secret_server.dsn), **loud)
    wrong = PostgresSQLAlchemyConfig(POSTGRES_DSN=psycopg_url(secret_server.wrong_dsn), **loud)
    closed = PostgresSQLAlchemyConfig(POSTGRES_DSN=psycopg_url(quoted_dsn("127.0.0.1", free_port(), SECRET)), **loud)
    adapters: list[Any] = []
    errors: dict[str, BaseException] = {}

    def expect(label: str, error_class: type[BaseError]) -> Any:
        class Catch:
            def __enter__(self) -> None:
                return None

            def __exit__(self, kind: Any, error: BaseException | None, tb: Any) -> bool:
                assert isinstance(error, error_class), f"{label}: {error!r}"
                errors[label] = error
                return True

        return Catch()

    try:
        # Real work with the right password, sync and async, including a failing statement.
        sync_adapter = PostgresSQLAlchemyAdapter(right)
        async_adapter = AsyncPostgresSQLAlchemyAdapter(right)
        adapters += [sync_adapter, async_adapter]
        ReliabilityBase.metadata.create_all(sync_adapter.session_manager.engine)
        store, async_store = Store(sync_adapter, Item), AsyncStore(async_adapter, Item)
        with atomic(sync_adapter):
            store.create(Item(label="one"))
            store.update(store.search_first().uuid, writer=2)
        await async_store.create(Item(label="two"))
        assert {item.label for item in await async_store.search()} == {"one", "two"}
        with expect("unique violation", UniqueViolationError):
            store.create(Item(label="one"))
        with expect("unique violation async", UniqueViolationError):
            await async_store.create(Item(label="two"))
        # Failing connections: wrong password (really refused by SCRAM) and a closed port.
        for label, config in (("wrong password", wrong), ("closed port", closed)):
            failing_sync, failing_async = PostgresSQLAlchemyAdapter(config), AsyncPostgresSQLAlchemyAdapter(config)
            adapters += [failing_sync, failing_async]
            with expect(f"{label} psycopg", DatabaseConnectionError):
                failing_sync.execute(text("SELECT 1"))
            with expect(f"{label} asyncpg", DatabaseConnectionError):
                await failing_async.execute(text("SELECT 1"))
        # A DSN with the raw, unquoted password cannot be parsed: the error must not quote it back.
        with expect("unparseable DSN", ConfigurationError):
            PostgresSQLAlchemyConfig(POSTGRES_DSN=f"postgresql://{ROLE}:{SECRET}@127.0.0.1:{secret_server.port}/db")
    finally:
        for adapter in adapters:
            outcome = adapter.session_manager.dispose()
            if outcome is not None:
                await outcome
    assert "password authentication failed" in repr(errors["wrong password psycopg"].__cause__)
    for label, error in errors.items():
        check_error(label, error)
    for number, record in enumerate(all_logs.texts):
        assert_clean(f"log record {number}", record)
    assert len(all_logs.texts) > 50
    assert any(name.startswith("sqlalchemy.engine") for name in all_logs.loggers)
    assert any(name.startswith("sqlalchemy.pool") for name in all_logs.loggers)
    figures.record(
        "7",
        logs={
            "log records captured (all loggers, DEBUG, ECHO and ECHO_POOL on)": len(all_logs.texts),
            "loggers seen": len(all_logs.loggers),
            "leaks": 0,
        },
        errors={
            "errors checked (str, repr, to_dict, traceback with driver exceptions)": len(errors),
            "cases": sorted(errors),
            "leaks": 0,
        },
    )


# --- archipy-lite doctor -----------------------------------------------------------------------------------


def doctor(tmp_path: Path, *arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("POSTGRES_SQLALCHEMY__")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "archipy_lite.cli", "doctor", *arguments],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no stray .env
        env=environment,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_doctor_output_hides_the_password(
    secret_server: SecretServer, postgres_server_dsn: str, tmp_path: Path
) -> None:
    local = libpq_dsn(postgres_server_dsn)
    host_port = local.split("@", 1)[1].split("/", 1)[0]
    local_host, local_port = host_port.rsplit(":", 1)
    runs = {
        "right password (SCRAM)": (("--dsn", secret_server.dsn), None, 0, "OK"),
        "right password from the environment": (
            (),
            {
                "POSTGRES_SQLALCHEMY__HOST": "127.0.0.1",
                "POSTGRES_SQLALCHEMY__PORT": str(secret_server.port),
                "POSTGRES_SQLALCHEMY__USERNAME": ROLE,
                "POSTGRES_SQLALCHEMY__PASSWORD": SECRET,
                "POSTGRES_SQLALCHEMY__DATABASE": DATABASE,
            },
            0,
            "OK",
        ),
        "wrong password (SCRAM)": (("--dsn", secret_server.wrong_dsn), None, 1, "authentication failed"),
        "closed port": (("--dsn", quoted_dsn("127.0.0.1", free_port(), SECRET)), None, 1, "connection refused"),
        "unknown role on a trust server": (
            ("--dsn", quoted_dsn(local_host, int(local_port), SECRET, user="rel_no_such_role", database="postgres")),
            None,
            1,
            "FAILED",
        ),
    }
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        futures = {label: pool.submit(doctor, tmp_path, *args, env=env) for label, (args, env, _, _) in runs.items()}
        results = {label: future.result() for label, future in futures.items()}
    verdicts = {}
    for label, (_, _, code, says) in runs.items():
        result = results[label]
        output = result.stdout + result.stderr
        assert result.returncode == code, f"{label}: {output}"
        assert says in output, f"{label}: {output}"
        assert "********" in output  # the password row is shown, masked
        assert_clean(f"doctor ({label})", output)
        verdicts[label] = next(line.strip() for line in output.splitlines() if "FAILED" in line or line == "OK")
    figures.record("7", doctor={"runs": len(runs), "verdicts": verdicts, "leaks": 0})
