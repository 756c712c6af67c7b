"""archipy_lite.migrations from Python, and what ``archipy-lite db`` says on bad input.

The project here has a hand-written revision and models on a MetaData of their own, so it runs
in this process without touching ``BaseEntity.metadata``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from archipy_lite import migrations
from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import AsyncSQLiteSQLAlchemyAdapter, SQLiteSQLAlchemyAdapter
from archipy_lite.cli import main
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.models.errors import ConfigurationError, InvalidArgumentError, MigrationError
from archipy_lite.testing import temporary_database, with_driver

REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "a1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gadgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(50), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gadgets")),
    )


def downgrade() -> None:
    op.drop_table("gadgets")
"""

MODELS = """
from sqlalchemy import Column, Integer, MetaData, String, Table

from archipy_lite.models.entities.sqlalchemy.naming import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)
Table("gadgets", metadata, Column("id", Integer, primary_key=True), Column("label", String(50), nullable=False))
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project directory with one revision; the working directory while the test runs."""
    module = f"gadget_models_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(MODELS)
    (tmp_path / "pyproject.toml").write_text(f'[tool.archipy-lite]\nmetadata = "{module}:metadata"\n')
    assert main(["db", "init", "--project", str(tmp_path)]) == 0
    (tmp_path / "migrations" / "versions" / "a1_gadgets.py").write_text(REVISION)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    sys.modules.pop(module, None)


def _tables(connection: object) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


@pytest.mark.usefixtures("project")
def test_sync_adapter_on_in_memory_sqlite_is_migrated_in_place() -> None:
    adapter = SQLiteSQLAlchemyAdapter(orm_config=SQLiteSQLAlchemyConfig(DATABASE=":memory:"))
    migrations.upgrade(adapter, "head")
    with adapter.session_manager.engine.connect() as connection:
        assert _tables(connection) == {"gadgets"}
    assert migrations.check(adapter) == []
    migrations.downgrade(adapter, "base")
    with adapter.session_manager.engine.connect() as connection:
        assert _tables(connection) == set()
    assert migrations.check(adapter)[0].startswith("the database is at base")
    adapter.session_manager.dispose()


def test_config_and_async_adapter_outside_a_loop(project: Path) -> None:
    config = SQLiteSQLAlchemyConfig(DATABASE=str(project / "app.db"))
    migrations.upgrade(config)
    assert migrations.check(config) == []
    adapter = AsyncSQLiteSQLAlchemyAdapter(orm_config=config)
    migrations.downgrade(adapter, "base")
    assert migrations.check(adapter) != []
    migrations.upgrade(adapter)
    assert migrations.check(adapter) == []


@pytest.mark.usefixtures("project")
async def test_async_twins_inside_a_loop_on_in_memory_aiosqlite() -> None:
    adapter = AsyncSQLiteSQLAlchemyAdapter(orm_config=SQLiteSQLAlchemyConfig(DATABASE=":memory:"))
    with pytest.raises(InvalidArgumentError, match="async_upgrade"):
        migrations.upgrade(adapter)
    await migrations.async_upgrade(adapter)
    async with adapter.session_manager.engine.connect() as connection:
        assert await connection.run_sync(_tables) == {"gadgets"}
    assert await migrations.async_check(adapter) == []
    await migrations.async_downgrade(adapter, "base")
    assert await migrations.async_check(adapter) != []
    await adapter.session_manager.dispose()


@pytest.mark.postgres
@pytest.mark.usefixtures("project")
async def test_postgres_adapters_sync_and_async(postgres_server_dsn: str) -> None:
    with temporary_database(postgres_server_dsn, prefix="archipy_lite_migrations_api") as dsn:
        await _migrate_postgres_both_ways(dsn)


async def _migrate_postgres_both_ways(dsn: str) -> None:
    """On a database of its own: check() compares the whole database with the models."""
    config = PostgresSQLAlchemyConfig(POSTGRES_DSN=with_driver(dsn, "psycopg"), POOL_SIZE=2)
    sync_adapter, async_adapter = PostgresSQLAlchemyAdapter(orm_config=config), AsyncPostgresSQLAlchemyAdapter(config)
    try:
        await migrations.async_upgrade(async_adapter)
        assert await migrations.async_check(async_adapter) == []
        assert migrations.check(config) == []
        migrations.downgrade(sync_adapter, "base")
        with sync_adapter.session_manager.engine.connect() as connection:
            assert _tables(connection) == set()
    finally:
        sync_adapter.session_manager.dispose()
        await async_adapter.session_manager.dispose()


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    monkeypatch.setitem(sys.modules, "alembic", None)
    with pytest.raises(ConfigurationError, match=r"archipy-lite\[migrations\]") as caught:
        migrations.upgrade(SQLiteSQLAlchemyConfig(DATABASE=str(project / "x.db")))
    assert caught.value.details["extra"] == "migrations"


def test_core_never_imports_alembic() -> None:
    code = (
        "import sys, archipy_lite.migrations, archipy_lite.cli, archipy_lite.stores, archipy_lite.context, "
        "archipy_lite.adapters.postgres.sqlalchemy.adapters, archipy_lite.adapters.sqlite.sqlalchemy.adapters\n"
        "from archipy_lite.cli import build_parser\nbuild_parser()\n"
        "assert 'alembic' not in sys.modules, 'alembic imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["db", "upgrade", "--sqlite", "x.db"], "MigrationError"),
        (["db", "downgrade", "nowhere", "--sqlite", "x.db"], "MigrationError"),
        (["db", "revision", "--autogenerate", "-m", "x", "--sqlite", "x.db"], "metadata"),
        (["db", "check", "--dsn", "mysql://u@h/db"], "PostgreSQL or SQLite"),
        (["db", "check", "--dsn", "not a url"], "not a database URL"),
        (["db", "check", "--metadata", "nowhere_module:metadata", "--sqlite", "x.db"], "cannot import"),
        (["db", "check", "--metadata", "no_colon", "--sqlite", "x.db"], "module:attribute"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    argv: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    if argv[1] == "downgrade":  # a script directory exists; the revision does not
        assert main(["db", "init"]) == 0
    capsys.readouterr()
    assert main(argv) == 1
    out = capsys.readouterr()
    lines = [line for line in (out.out + out.err).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in out.err


def test_init_twice_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "init"]) == 1
    assert "already exists" in capsys.readouterr().err  # failures go to stderr


def test_unknown_revision_is_a_migration_error(project: Path) -> None:
    with pytest.raises(MigrationError, match="nowhere"):
        migrations.upgrade(SQLiteSQLAlchemyConfig(DATABASE=str(project / "app.db")), "nowhere")


@pytest.mark.parametrize("source", ["environment", ".env"])
@pytest.mark.parametrize(
    ("lines", "kind"),
    [
        ({"POSTGRES_SQLALCHEMY__POSTGRES_DSN": "postgresql://app@db-host/app"}, "postgres"),
        ({"SQLITE_SQLALCHEMY__DATABASE": "cache.sqlite3"}, "sqlite"),
        (
            {
                "POSTGRES_SQLALCHEMY__POSTGRES_DSN": "postgresql://app@db-host/app",
                "SQLITE_SQLALCHEMY__DATABASE": "c.db",
            },
            "postgres",
        ),
    ],
    ids=["postgres only", "sqlite only", "both: postgres"],
)
def test_the_command_lines_database_is_the_same_from_the_environment_and_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, lines: dict[str, str], kind: str
) -> None:
    from archipy_lite.migrations.settings import MigrationSettings
    from archipy_lite.migrations.target import resolve_target

    for name in [name for name in os.environ if name.startswith(("POSTGRES_SQLALCHEMY", "SQLITE_"))]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    if source == "environment":
        for name, value in lines.items():
            monkeypatch.setenv(name, value)
    else:
        (tmp_path / ".env").write_text("".join(f"{name}={value}\n" for name, value in lines.items()), encoding="utf-8")
    target = resolve_target(MigrationSettings(project_dir=tmp_path, directory=tmp_path / "migrations"))
    assert target.kind == kind
