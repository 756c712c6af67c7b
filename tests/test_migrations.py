"""``archipy-lite db`` end to end, as a new project uses it, on PostgreSQL and SQLite, sync and async.

init -> models -> revision --autogenerate -> upgrade head creates every table and named constraint;
a changed model (new column, new unique constraint, dropped index) -> revision -> upgrade; downgrade
base and upgrade head again; check exits 0 when in step and 1 on drift. Each backend reaches the
database by another route: environment variables, --dsn, --sqlite, and pyproject.toml's settings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect

from archipy_lite.testing import temporary_database, with_driver

from migration_project import MODELS_DRIFTED, MODELS_V2, Project

METADATA = "app.models:BaseEntity.metadata"

V1_SCHEMA = {
    "customers": {
        "pk": "pk_customers",
        "uq": {"uq_customers_email"},
        "ix": {"ix_customers_name", "ix_customers_name_city", "ix_customers_is_deleted"},
        "fk": set(),
        "columns": {"uuid", "created_at", "updated_at", "is_deleted", "deleted_at", "email", "name", "city"},
    },
    "orders": {
        "pk": "pk_orders",
        "uq": set(),
        "ix": {"ix_orders_customer_id"},
        "fk": {"fk_orders_customer_id_customers"},
        "columns": {"uuid", "created_at", "customer_id", "total"},
    },
}
V2_SCHEMA: dict[str, dict[str, Any]] = {
    "customers": {**V1_SCHEMA["customers"], "ix": {"ix_customers_name", "ix_customers_is_deleted"}},
    "orders": {
        **V1_SCHEMA["orders"],
        "uq": {"uq_orders_reference"},
        "columns": V1_SCHEMA["orders"]["columns"] | {"reference"},
    },
}


def _schema(url: str) -> dict[str, dict[str, Any]]:
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names()) - {"alembic_version"}
        return {
            table: {
                "pk": inspector.get_pk_constraint(table)["name"],
                "uq": {uq["name"] for uq in inspector.get_unique_constraints(table)},
                "ix": {ix["name"] for ix in inspector.get_indexes(table) if not ix.get("duplicates_constraint")},
                "fk": {fk["name"] for fk in inspector.get_foreign_keys(table)},
                "columns": {column["name"] for column in inspector.get_columns(table)},
            }
            for table in tables
        }
    finally:
        engine.dispose()


@pytest.fixture(params=["pg-sync-env", "pg-async-dsn", "sqlite-sync-option", "aiosqlite-pyproject"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Project, list[str], str]]:
    """A fresh project, the options its commands need, and a sync URL to inspect its database."""
    name: str = request.param
    root = tmp_path / "project"
    if name.startswith("pg-"):
        request.applymarker(pytest.mark.postgres)
        server_dsn = request.getfixturevalue("postgres_server_dsn")
        with temporary_database(server_dsn, prefix="archipy_lite_migrations") as dsn:
            if name == "pg-sync-env":
                env = {"POSTGRES_SQLALCHEMY__POSTGRES_DSN": with_driver(dsn, "psycopg")}
                yield Project.create(root, env=env), [], with_driver(dsn, "psycopg")
            else:
                yield Project.create(root), ["--dsn", with_driver(dsn, "asyncpg")], with_driver(dsn, "psycopg")
        return
    database = root / "app.db"
    if name == "sqlite-sync-option":
        yield Project.create(root), ["--sqlite", "app.db"], f"sqlite:///{database}"
        return
    tool = f'\n[tool.archipy-lite]\nmetadata = "{METADATA}"\ndatabase = "sqlite"\nasync = true\n'
    env = {"SQLITE_SQLALCHEMY__DATABASE": "app.db"}
    yield Project.create(root, tool_table=tool, env=env), [], f"sqlite:///{database}"


@pytest.mark.slow
def test_a_project_migrates_forth_back_and_checks(project: tuple[Project, list[str], str]) -> None:
    app, options, url = project

    codes, output = app.run(["db", "init", "--metadata", METADATA])
    assert codes == [0], output
    assert "[tool.archipy-lite]" in (app.root / "pyproject.toml").read_text()

    codes, output = app.run(
        ["db", "revision", "--autogenerate", "-m", "initial", *options],
        ["db", "upgrade", "head", *options],
        ["db", "check", *options],
    )
    assert codes == [0, 0, 0], output
    [initial] = app.versions()
    assert "import archipy_lite.models.entities.sqlalchemy.column_types" in initial.read_text()
    assert _schema(url) == V1_SCHEMA

    app.write_models(MODELS_V2)
    codes, output = app.run(
        ["db", "revision", "--autogenerate", "-m", "reference", *options],
        ["db", "upgrade", *options],
        ["db", "check", *options],
    )
    assert codes == [0, 0, 0], output
    assert len(app.versions()) == 2
    assert _schema(url) == V2_SCHEMA

    codes, output = app.run(["db", "downgrade", "base", *options])
    assert codes == [0], output
    assert _schema(url) == {}

    codes, output = app.run(["db", "upgrade", "head", *options], ["db", "check", *options], ["db", "current", *options])
    assert codes == [0, 0, 0], output
    assert _schema(url) == V2_SCHEMA
    assert "OK:" in output
    assert "(head)" in output

    app.write_models(MODELS_DRIFTED)
    codes, output = app.run(["db", "check", *options])
    assert codes == [1], output
    assert "add column customers.phone" in output

    app.write_models(MODELS_V2)
    codes, output = app.run(["db", "downgrade", "-1", *options], ["db", "check", *options])
    assert codes == [0, 1], output
    assert "head is" in output


def test_plain_alembic_runs_the_project_after_it_moved(tmp_path: Path) -> None:
    """``alembic.ini`` names its scripts relative to itself: a clone elsewhere runs its own scripts."""
    app = Project.create(tmp_path / "here")
    codes, output = app.run(
        ["db", "init", "--metadata", METADATA], ["db", "revision", "--autogenerate", "-m", "v1", "--sqlite", "app.db"]
    )
    assert codes == [0, 0], output
    assert str(app.root) not in (app.root / "migrations" / "alembic.ini").read_text()
    moved = tmp_path / "moved"
    app.root.rename(moved)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_SQLALCHEMY__", "SQLITE_SQLALCHEMY__"))}
    completed = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", "migrations/alembic.ini", "upgrade", "head"],
        cwd=moved,
        env={**env, "SQLITE_SQLALCHEMY__DATABASE": "app.db"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "customers" in inspect(create_engine(f"sqlite:///{moved / 'app.db'}")).get_table_names()
