"""The archipy-lite command: demo, doctor, --help and --version, run as a user would."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

PASSWORD = "s3cr3t-Pa55"


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_SQLALCHEMY__", "SQLITE_SQLALCHEMY__"))}
    return subprocess.run(
        [sys.executable, "-m", "archipy_lite.cli", *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        cwd=cwd,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_demo_on_embedded_sqlite(tmp_path: Path) -> None:
    result = run_cli("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "sqlite" in out
    assert "users after   8" in out  # the failed atomic block left nothing behind
    assert "rolled back (ALREADY_EXISTS); outer block continues" in out
    assert "ran after the outer commit" in out
    assert "3 rows on this page, 8 matches in total" in out
    assert "UniqueViolationError" in out


@pytest.mark.postgres
def test_demo_on_postgres_with_dsn(postgres_dsn: str, tmp_path: Path) -> None:
    result = run_cli("demo", "--dsn", postgres_dsn, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "postgresql+psycopg://" in result.stdout
    assert "uq_archipy_demo_users_username" in result.stdout  # BaseEntity's naming convention names it


@pytest.mark.postgres
def test_demo_on_postgres_from_environment(postgres_dsn: str, tmp_path: Path) -> None:
    env = {"POSTGRES_SQLALCHEMY__POSTGRES_DSN": postgres_dsn}
    result = run_cli("demo", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "environment (POSTGRES_SQLALCHEMY__*)" in result.stdout


@pytest.mark.postgres
def test_doctor_reports_a_healthy_server(postgres_dsn: str, tmp_path: Path) -> None:
    result = run_cli("doctor", "--dsn", postgres_dsn, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "server version" in result.stdout
    assert "isolation level  repeatable read" in result.stdout
    assert "round trip" in result.stdout
    assert result.stdout.rstrip().endswith("OK")


def test_doctor_unreachable_host_fails_fast_without_the_password(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "POSTGRES_SQLALCHEMY__HOST": "127.0.0.1",
        "POSTGRES_SQLALCHEMY__PORT": str(port),
        "POSTGRES_SQLALCHEMY__PASSWORD": PASSWORD,
        "POSTGRES_SQLALCHEMY__CONNECT_TIMEOUT": "2",
    }
    started = time.monotonic()
    result = run_cli("doctor", env=env, cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert f"connection refused by 127.0.0.1:{port}" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    assert elapsed < 2 + 10  # the connect timeout plus interpreter start-up


@pytest.mark.postgres
@pytest.mark.slow
def test_doctor_diagnoses_missing_database_and_bad_login(postgres_dsn: str, tmp_path: Path) -> None:
    url = make_url(postgres_dsn)
    missing = url.set(database="archipy_lite_no_such_db", password=PASSWORD).render_as_string(hide_password=False)
    result = run_cli("doctor", "--dsn", missing, cwd=tmp_path)
    assert result.returncode == 1
    assert "database 'archipy_lite_no_such_db' does not exist" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr

    stranger = url.set(username="archipy_lite_no_such_role").render_as_string(hide_password=False)
    result = run_cli("doctor", "--dsn", stranger, cwd=tmp_path)
    assert result.returncode == 1
    assert "archipy_lite_no_such_role" in result.stdout
    assert "rejected user" in result.stdout or "authentication failed" in result.stdout


def test_doctor_reads_dotenv(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / ".env").write_text(
        f"POSTGRES_SQLALCHEMY__PORT={port}\nPOSTGRES_SQLALCHEMY__PASSWORD={PASSWORD}\nPOSTGRES_SQLALCHEMY__HOST=127.0.0.1\n"
    )
    result = run_cli("doctor", cwd=tmp_path)
    assert result.returncode == 1
    assert f"PORT                  {port}" in result.stdout
    assert "PASSWORD              ********" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr


@pytest.mark.parametrize("command", [[], ["demo"], ["doctor"]])
def test_help_on_every_command(command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.returncode == 0
    assert "usage: archipy-lite" in result.stdout


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("archipy-lite ")


def test_no_command_prints_help_and_fails() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "COMMAND" in result.stdout


GEO_MODELS = """
from sqlalchemy import Column, ForeignKey, Integer, String
from archipy_lite.datasets import DataSet

GeoBase = DataSet.create("geo_cli_test")


class Country(GeoBase):
    __tablename__ = "countries"
    id = Column(Integer, primary_key=True)
    name = Column(String, nullable=False)


class City(GeoBase):
    __tablename__ = "cities"
    id = Column(Integer, primary_key=True)
    name = Column(String, nullable=False)
    country_id = Column(ForeignKey("countries.id"), nullable=False)
"""


def test_dataset_build_info_dump_round_trip(tmp_path: Path) -> None:
    (tmp_path / "geo_models.py").write_text(GEO_MODELS)
    source = tmp_path / "csv"
    source.mkdir()
    (source / "cities.csv").write_text("id,name,country_id\n1,Paris,1\n2,Lyon,1\n3,Berlin,2\n")
    (source / "countries.csv").write_text("id,name\n1,France\n2,Germany\n")

    built = run_cli("dataset", "build", "geo_models:GeoBase", "geo.sqlite3", "csv", cwd=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "cities     3" in built.stdout
    assert "countries  2" in built.stdout

    info = run_cli("dataset", "info", "geo.sqlite3", cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert "sha256" in info.stdout
    assert "cities     3" in info.stdout

    before = (tmp_path / "geo.sqlite3").read_bytes()
    dumped = run_cli("dataset", "dump", "geo_models:GeoBase", "geo.sqlite3", "out", cwd=tmp_path)
    assert dumped.returncode == 0, dumped.stderr
    assert (tmp_path / "out" / "cities.csv").read_text() == (source / "cities.csv").read_text()
    assert (tmp_path / "geo.sqlite3").read_bytes() == before  # dumping never writes to the data set


def test_dataset_build_refuses_dangling_references(tmp_path: Path) -> None:
    (tmp_path / "geo_models.py").write_text(GEO_MODELS)
    (tmp_path / "cities.csv").write_text("id,name,country_id\n1,Atlantis,99\n")
    (tmp_path / "countries.csv").write_text("id,name\n1,France\n")
    result = run_cli(
        "dataset", "build", "geo_models:GeoBase", "geo.sqlite3", "cities.csv", "countries.csv", cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("error: ")
    assert not (tmp_path / "geo.sqlite3").exists()


@pytest.mark.parametrize("action", ["build", "dump", "info"])
def test_dataset_help(action: str) -> None:
    result = run_cli("dataset", action, "--help")
    assert result.returncode == 0
    assert f"archipy-lite dataset {action}" in result.stdout
