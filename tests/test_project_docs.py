"""Pages that walk through a whole project (``<!-- docs-test: project -->``) run here, top to bottom.

In an empty directory, in document order: a ```python block whose first line is ``# path/to/file.py``
is written to that file (a later block with the same path replaces it); any other ```python block
runs as a script in the project directory; every ```bash block runs there with ``bash -e``, except
``pip install`` lines (this environment already has everything installed). The console scripts of
this environment (``archipy-lite``, ``pytest``) are on PATH. PostgreSQL pages see a fresh database
as ``POSTGRES_SQLALCHEMY__POSTGRES_DSN`` and the server as ``ARCHIPY_LITE_TEST_POSTGRES_DSN``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import docs_runner
import pytest

from archipy_lite.testing import DSN_ENV_VAR, temporary_database, with_driver

FILE_HEADER = re.compile(r"#\s*(?P<path>[\w./-]+\.(?:py|toml|ini|cfg))\s*$")


@dataclass(frozen=True)
class Step:
    language: str
    line: int
    code: str


def project_pages() -> list[Path]:
    return [page for page in docs_runner.pages() if "project" in docs_runner.page_options(page)]


def steps(page: Path) -> list[Step]:
    """The page's python and bash blocks in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Step] = []
    index = 0
    while index < len(lines):
        language = docs_runner.fence_language(lines[index])
        if language is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith("```"):
            end += 1
        if language in {"python", "bash"}:
            found.append(Step(language, index + 2, "\n".join(lines[index + 1 : end]) + "\n"))
        index = end + 1
    return found


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_SQLALCHEMY", "SQLITE_SQLALCHEMY"))}
    env.pop(DSN_ENV_VAR, None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


def run_page(page: Path, project: Path, env: dict[str, str]) -> int:
    ran = 0
    for step in steps(page):
        where = f"{page.name}:{step.line}"
        header = FILE_HEADER.match(step.code.splitlines()[0]) if step.code.strip() else None
        if step.language == "python" and header is not None:
            target = project / header["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(step.code)
            continue
        if step.language == "python":
            command = [sys.executable, "-c", step.code]
        else:
            script = "\n".join(line for line in step.code.splitlines() if not line.strip().startswith("pip install"))
            command = ["bash", "-e", "-o", "pipefail", "-c", script]
        completed = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)
        assert completed.returncode == 0, f"{where} failed:\n{completed.stdout}\n{completed.stderr}"
        ran += 1
    return ran


@pytest.mark.slow
@pytest.mark.parametrize("page", project_pages(), ids=lambda page: page.name)
def test_project_page_runs_top_to_bottom(page: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if "postgres" not in docs_runner.page_options(page):
        assert run_page(page, tmp_path, _environment({})) > 0
        return
    request.applymarker(pytest.mark.postgres)
    server_dsn = request.getfixturevalue("postgres_server_dsn")
    with temporary_database(server_dsn, prefix="archipy_lite_docs") as dsn:
        env = _environment({"POSTGRES_SQLALCHEMY__POSTGRES_DSN": with_driver(dsn, "psycopg"), DSN_ENV_VAR: server_dsn})
        assert run_page(page, tmp_path, env) > 0
