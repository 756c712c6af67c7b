"""Class 7: every secret-bearing option is masked everywhere.

Secret-bearing options: ``PASSWORD`` (as a field and inside a DSN), DSN query parameters
(``?password=``, ``?sslpassword=``), and ``CONNECT_ARGS`` entries whose names look secret
(``password``, ``sslpassword``, ``api_token``, ``client_secret``, nested ones too), given as
arguments, environment variables or ``.env`` lines. For each, every rendering a log line, an error
report or a person could see must hide it: ``repr``/``str`` of the config, of ``BaseConfig``, of
``model_dump()``, ``model_dump_json()``, ``masked_dsn()``, URLs, adapters, session managers and
engines; log records of every logger at DEBUG with ``ECHO``/``ECHO_POOL`` on while connecting (psycopg
and asyncpg); typed errors (message, ``to_dict()``, formatted traceback with driver exceptions); and
``archipy-lite doctor`` output. The driver still receives every value.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.configs import BaseConfig, PostgresSQLAlchemyConfig
from archipy_lite.configs.replica_settings import read_replica_configs
from archipy_lite.models.errors import BaseError

from . import figures
from .conftest import free_port

SECRET = "S3cr3t:p@ss/#?&= x"


def forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), secret[2:-2]}


FORBIDDEN = forms(SECRET)


def assert_clean(label: str, shown: str) -> None:
    found = sorted(form for form in FORBIDDEN if form in shown)
    assert not found, f"{label} shows the secret: {shown[:400]}"


Q = quote(SECRET, safe="")
# Option -> the explicit arguments, environment variables and .env lines that carry it.
OPTIONS: dict[str, dict[str, Any]] = {
    "PASSWORD field": {"PASSWORD": SECRET},
    "password in the DSN": {"POSTGRES_DSN": f"postgresql://app:{Q}@h/db"},
    "?password= in the DSN": {"POSTGRES_DSN": f"postgresql://app@h/db?password={Q}"},
    "?sslpassword= in the DSN": {"POSTGRES_DSN": f"postgresql://app@h/db?sslmode=prefer&sslpassword={Q}"},
    "DSN_QUERY sslpassword": {"DSN_QUERY": {"sslpassword": SECRET}},
    "CONNECT_ARGS password": {"CONNECT_ARGS": {"password": SECRET}},
    "CONNECT_ARGS sslpassword": {"CONNECT_ARGS": {"sslpassword": SECRET}},
    "CONNECT_ARGS api_token": {"CONNECT_ARGS": {"api_token": SECRET}},
    "CONNECT_ARGS client-secret": {"CONNECT_ARGS": {"client-secret": SECRET}},
    "CONNECT_ARGS nested server_settings token": {"CONNECT_ARGS": {"server_settings": {"x.auth_token": SECRET}}},
    "CONNECT_ARGS password in a list": {"CONNECT_ARGS": {"options": [{"password": SECRET}]}},
    "CONNECT_ARGS list of tokens": {"CONNECT_ARGS": {"tokens": [SECRET, SECRET]}},
    "READ_REPLICA_DSNS password": {"READ_REPLICA_DSNS": [f"postgresql://app:{Q}@replica/db?sslpassword={Q}"]},
    "CURSOR_SECRET_KEY": {"CURSOR_SECRET_KEY": f"{SECRET}-signs-cursors-{SECRET}"},
}
SOURCES = ("arguments", "environment", ".env")


def as_environment(values: dict[str, Any]) -> dict[str, str]:
    return {
        f"POSTGRES_SQLALCHEMY__{key}": json.dumps(value) if isinstance(value, dict | list) else value
        for key, value in values.items()
    }


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.upper().startswith(("POSTGRES_SQLALCHEMY", "SQLITE_SQLALCHEMY")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    BaseConfig.clear_global()
    yield
    BaseConfig.clear_global()


def build(option: str, source: str, monkeypatch: pytest.MonkeyPatch) -> tuple[BaseConfig, PostgresSQLAlchemyConfig]:
    values = OPTIONS[option]
    if source == "arguments":
        return BaseConfig(POSTGRES_SQLALCHEMY=values), PostgresSQLAlchemyConfig(**values)
    lines = as_environment(values)
    if source == "environment":
        for key, value in lines.items():
            monkeypatch.setenv(key, value)
    else:
        Path(".env").write_text("".join(f"{key}='{value}'\n" for key, value in lines.items()), encoding="utf-8")
    return BaseConfig(), PostgresSQLAlchemyConfig()


def renderings(settings: BaseConfig, section: PostgresSQLAlchemyConfig) -> dict[str, Callable[[], object]]:
    sync = PostgresSQLAlchemyAdapter(orm_config=section)
    asynchronous = AsyncPostgresSQLAlchemyAdapter(orm_config=section)
    return {
        "repr(config)": lambda: repr(section),
        "str(config)": lambda: str(section),
        "model_dump()": lambda: str(section.model_dump()),
        "model_dump_json()": section.model_dump_json,
        "masked_dsn()": section.masked_dsn,
        "repr(url())": lambda: repr(section.url()),
        "str(url(async_=True))": lambda: str(section.url(async_=True)),
        "repr(BaseConfig)": lambda: repr(settings),
        "BaseConfig.model_dump_json()": settings.model_dump_json,
        "repr(adapter)": lambda: repr(sync),
        "repr(async adapter)": lambda: repr(asynchronous),
        "repr(engine), str(engine.url)": lambda: f"{sync.session_manager.engine!r} {sync.session_manager.engine.url}",
        "repr(async engine)": lambda: repr(asynchronous.session_manager.engine),
        "repr(read replica configs)": lambda: repr(read_replica_configs(section)),
    }


_cases: dict[str, int] = {}


def count(what: str, n: int = 1) -> None:
    _cases[what] = _cases.get(what, 0) + n


def revealed(section: PostgresSQLAlchemyConfig) -> list[object]:
    """The values the driver receives, to check it still gets the secret."""

    def leaves(value: object) -> list[object]:
        if isinstance(value, dict):
            return [leaf for item in value.values() for leaf in leaves(item)]
        if isinstance(value, list | tuple):
            return [leaf for item in value for leaf in leaves(item)]
        return [value]

    found: list[object] = []
    for config in (section, *read_replica_configs(section)):
        found += [config.url().password, *leaves(config.driver_query_args()), *leaves(config.driver_connect_args())]
    if section.CURSOR_SECRET_KEY is not None:  # the cursor signer's key
        found.append(section.CURSOR_SECRET_KEY.get_secret_value())
    return found


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("option", list(OPTIONS))
def test_every_rendering_hides_the_option(monkeypatch: pytest.MonkeyPatch, option: str, source: str) -> None:
    settings, section = build(option, source, monkeypatch)
    for label, render in renderings(settings, section).items():
        assert_clean(f"{option} from {source}: {label}", str(render()))
        count("renderings")
    assert any(isinstance(value, str) and SECRET in value for value in revealed(section))
    again = PostgresSQLAlchemyConfig.from_values(POSTGRES_DSN=section.POSTGRES_DSN)  # the DSN round-trips
    assert again.driver_query_args() == section.driver_query_args()
    count("tests")


def test_secret_values_are_secret_str_at_any_depth() -> None:
    config = PostgresSQLAlchemyConfig(CONNECT_ARGS={"a": {"b": {"password": SECRET}}, "keepalives": 1})
    assert isinstance(config.CONNECT_ARGS["a"]["b"]["password"], SecretStr)
    assert config.driver_connect_args() == {"a": {"b": {"password": SECRET}}, "keepalives": 1}
    listed = PostgresSQLAlchemyConfig(CONNECT_ARGS={"hosts": [{"password": SECRET}], "tokens": (SECRET,)})
    assert isinstance(listed.CONNECT_ARGS["hosts"][0]["password"], SecretStr)
    assert isinstance(listed.CONNECT_ARGS["tokens"][0], SecretStr)
    assert listed.driver_connect_args() == {"hosts": [{"password": SECRET}], "tokens": (SECRET,)}
    count("tests")


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.mark.postgres
@pytest.mark.parametrize("driver", ["psycopg", "asyncpg"])
@pytest.mark.parametrize("option", [name for name in OPTIONS if "DSN" not in name and "FIELD" not in name.upper()])
async def test_logs_and_errors_hide_the_option(postgres_dsn: str, driver: str, option: str) -> None:
    """Real connections with ECHO on: a reachable server and a closed port; every record and error is clean."""
    server = make_url(postgres_dsn)
    base = {"HOST": server.host, "PORT": server.port, "DATABASE": server.database, "USERNAME": server.username}
    values = {**base, **OPTIONS[option], "ECHO": True, "ECHO_POOL": True, "ASYNC_DRIVER_NAME": "postgresql+asyncpg"}
    if driver == "asyncpg":  # asyncpg takes no libpq keywords: keep the option where it can go
        values["CONNECT_ARGS"] = {"server_settings": {"application_name": "x"}, **values.get("CONNECT_ARGS", {})}
        values["CONNECT_ARGS"].pop("sslpassword", None)
        values["CONNECT_ARGS"].pop("api_token", None)
        values["CONNECT_ARGS"].pop("client-secret", None)
    handler = Records()
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    errors: list[BaseException] = []
    try:
        for port in (server.port, free_port()):
            config = PostgresSQLAlchemyConfig.from_values(**{**values, "PORT": port, "CONNECT_TIMEOUT": 2})
            adapter: Any = (
                AsyncPostgresSQLAlchemyAdapter(orm_config=config)
                if driver == "asyncpg"
                else PostgresSQLAlchemyAdapter(orm_config=config)
            )
            try:
                result = adapter.execute(text("SELECT 1"))
                if driver == "asyncpg":
                    result = await result
            except BaseError as error:
                errors.append(error)
            finally:
                outcome = adapter.session_manager.dispose()
                if driver == "asyncpg":
                    await outcome
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    assert errors, "the closed port must fail"
    for error in errors:
        assert isinstance(error, BaseError)
        shown = [str(error), repr(error), json.dumps(error.to_dict()), "".join(traceback.format_exception(error))]
        assert_clean(f"{option} {driver} error", "\n".join(shown))
        count("errors")
    assert handler.lines
    for line in handler.lines:
        assert_clean(f"{option} {driver} log", line)
    count("log records", len(handler.lines))
    count("tests")


def doctor_environment(option: str) -> dict[str, str]:
    port = free_port()
    values = {**OPTIONS[option], "HOST": "127.0.0.1", "PORT": port, "CONNECT_TIMEOUT": 1}
    if "POSTGRES_DSN" in values:  # within one source the DSN's host wins: point it at the closed port too
        values["POSTGRES_DSN"] = values["POSTGRES_DSN"].replace("@h/", f"@127.0.0.1:{port}/")
    return {key: str(value) for key, value in as_environment(values).items()}


@pytest.mark.parametrize("option", list(OPTIONS))
def test_doctor_output_hides_the_option(monkeypatch: pytest.MonkeyPatch, option: str) -> None:
    """The doctor as the command runs it (settings from the environment), in this process."""
    from archipy_lite.cli.doctor import run_doctor
    from archipy_lite.cli.output import Printer
    from archipy_lite.cli.targets import choose_target

    for key, value in doctor_environment(option).items():
        monkeypatch.setenv(key, value)
    shown = io.StringIO()
    assert run_doctor(choose_target(None, None), Printer(shown)) == 1
    output = shown.getvalue()
    assert "FAILED" in output, output
    assert_clean(f"doctor with {option}", output)
    if "CONNECT_ARGS" in option:
        assert "CONNECT_ARGS" in output  # shown, masked
    count("doctor runs")
    count("tests")


def test_the_doctor_command_hides_every_option_at_once(tmp_path: Path) -> None:
    """``archipy-lite doctor`` itself, in a process of its own, with every secret-bearing option set."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_SQLALCHEMY", "SQLITE_SQL"))}
    environment.update(doctor_environment("?sslpassword= in the DSN"))
    connect_args = {"password": SECRET, "sslpassword": SECRET, "server_settings": {"x.auth_token": SECRET}}
    environment["POSTGRES_SQLALCHEMY__CONNECT_ARGS"] = json.dumps(connect_args)
    environment["POSTGRES_SQLALCHEMY__PASSWORD"] = SECRET
    completed = subprocess.run(
        [sys.executable, "-m", "archipy_lite.cli", "doctor"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=120,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert "FAILED" in output
    assert "CONNECT_ARGS" in output
    assert_clean("archipy-lite doctor", output)
    count("doctor runs")
    count("tests")


def test_figures() -> None:
    checked = ", ".join(f"{name}: {n}" for name, n in sorted(_cases.items()) if name != "tests")
    figures.record_class(
        7,
        "every secret-bearing option masked everywhere",
        cases=_cases.get("tests", 0),
        varies=f"{len(OPTIONS)} options x {len(SOURCES)} sources; checked {checked}",
        backends="psycopg and asyncpg (logs, errors), archipy-lite doctor",
    )
