"""Every ```python block in ``docs/`` runs here, so a broken example fails the build.

Blocks are taken page by page, in order, and each page's blocks run one after another in
one shared module namespace (a later block uses what an earlier one defined), exactly as a
reader pasting them into one file would run them. A block is skipped only when the line
before its fence is ``<!-- norun -->``. The extraction and the runner live in ``docs_runner.py``.

Each page runs in a process of its own, in an empty temporary working directory and without
``POSTGRES_SQLALCHEMY__*`` / ``SQLITE_SQLALCHEMY__*`` variables, so entities a page declares on
``BaseEntity.metadata`` never meet ``tests/models.py`` and no stray ``.env`` is read. Pages that
say ``<!-- docs-test: postgres -->`` get a fresh PostgreSQL database of their own: the page sees
it as ``POSTGRES_SQLALCHEMY__POSTGRES_DSN`` (the variable the page tells readers to export) and
the server as ``ARCHIPY_LITE_TEST_POSTGRES_DSN``.

All selected pages run at once: one server process imports the heavy libraries and forks a
child per page (where ``fork`` exists; elsewhere one interpreter per page, in parallel).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docs_runner
import pytest
from docs_runner import DOCS, DONE, NORUN, PAGE_TIMEOUT_SECONDS, PYTHON_LANGUAGES, ROOT, fence_language

from archipy_lite.configs import PostgresSQLAlchemyConfig, SQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.testing.postgres import DSN_ENV_VAR, temporary_database, with_driver

RUNNER = docs_runner.__file__
MAX_NORUN_BLOCKS = 5
MIN_RUNNABLE_BLOCKS = 100


@dataclass(frozen=True)
class PageRun:
    """The outcome of one page's child process."""

    returncode: int
    stdout: str
    stderr: str


def _needs_postgres(page: Path) -> bool:
    return "postgres" in docs_runner.page_options(page)


def _page_params() -> list[Any]:
    params = []
    for page in docs_runner.pages():
        if not any(block.runnable for block in docs_runner.page_blocks(page)):
            continue
        if "project" in docs_runner.page_options(page):
            continue  # a whole project, run by tests/test_project_docs.py
        marks = [pytest.mark.postgres] if _needs_postgres(page) else [pytest.mark.sqlite]
        params.append(pytest.param(page, marks=marks, id=str(page.relative_to(DOCS))))
    return params


def _child_environment() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("POSTGRES_SQLALCHEMY", "SQLITE_SQLALCHEMY", DSN_ENV_VAR))
    }


def _run_forked(jobs: list[dict[str, Any]], workers: int) -> dict[str, int]:
    """Run the jobs through the forking server; returns each job's exit code."""
    server = subprocess.run(
        [sys.executable, RUNNER, "--serve", str(workers)],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_child_environment(),
        timeout=PAGE_TIMEOUT_SECONDS * len(jobs) + 60,
        check=False,
    )
    assert server.returncode == 0, f"the docs runner failed:\n{server.stdout}\n{server.stderr}"
    results = [json.loads(line) for line in server.stdout.splitlines() if line.startswith("{")]
    return {result["id"]: result["returncode"] for result in results}


def _run_spawned(jobs: list[dict[str, Any]], workers: int) -> dict[str, int]:
    """Fallback without ``fork``: one interpreter per page, ``workers`` at a time."""

    def run(job: dict[str, Any]) -> int:
        with open(job["stdout"], "w", encoding="utf-8") as out, open(job["stderr"], "w", encoding="utf-8") as err:
            completed = subprocess.run(
                [sys.executable, RUNNER, job["page"]],
                cwd=job["cwd"],
                env=job["env"],
                stdout=out,
                stderr=err,
                timeout=PAGE_TIMEOUT_SECONDS,
                check=False,
            )
        return completed.returncode

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip([job["id"] for job in jobs], pool.map(run, jobs), strict=True))


@pytest.fixture(scope="session")
def docs_page_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[Path, PageRun]]:
    """Run every selected page at once and collect the outcomes."""
    selected: list[Path] = [
        item.callspec.params["page"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_docs_page_examples_run" and hasattr(item, "callspec")
    ]
    server_dsn: str | None = None
    if any(_needs_postgres(page) for page in selected):
        server_dsn = request.getfixturevalue("postgres_server_dsn")
    with ExitStack() as databases:
        jobs = []
        for number, page in enumerate(selected):
            workdir = tmp_path_factory.mktemp(f"docs_{page.stem}")
            env = _child_environment()
            if _needs_postgres(page):
                assert server_dsn is not None
                dsn = databases.enter_context(temporary_database(server_dsn, prefix="archipy_lite_docs"))
                env["POSTGRES_SQLALCHEMY__POSTGRES_DSN"] = with_driver(dsn, "psycopg")
                env[DSN_ENV_VAR] = server_dsn
            logs = tmp_path_factory.mktemp(f"docs_{page.stem}_output")
            jobs.append(
                {
                    "id": str(number),
                    "page": str(page),
                    "cwd": str(workdir),
                    "env": env,
                    "stdout": str(logs / "stdout.txt"),
                    "stderr": str(logs / "stderr.txt"),
                }
            )
        workers = max(2, os.cpu_count() or 2)
        returncodes = _run_forked(jobs, workers) if hasattr(os, "fork") else _run_spawned(jobs, workers)
        yield {
            Path(job["page"]): PageRun(
                returncodes.get(job["id"], -1),
                Path(job["stdout"]).read_text(encoding="utf-8", errors="replace"),
                Path(job["stderr"]).read_text(encoding="utf-8", errors="replace"),
            )
            for job in jobs
        }


@pytest.mark.parametrize("page", _page_params())
def test_docs_page_examples_run(page: Path, docs_page_runs: dict[Path, PageRun]) -> None:
    run = docs_page_runs[page]
    output = f"--- stdout ---\n{run.stdout}\n--- stderr ---\n{run.stderr}"
    assert run.returncode == 0, f"{page.relative_to(ROOT)} failed (exit code {run.returncode})\n{output}"
    expected = sum(block.runnable for block in docs_runner.page_blocks(page))
    assert f"{DONE} {expected} blocks" in run.stdout, output


def test_docs_have_examples_and_norun_is_rare() -> None:
    blocks = [block for page in docs_runner.pages() for block in docs_runner.page_blocks(page)]
    runnable = [block for block in blocks if block.runnable]
    assert len(runnable) >= MIN_RUNNABLE_BLOCKS, f"only {len(runnable)} runnable Python blocks in docs/"
    skipped = [f"{block.page.relative_to(ROOT)}:{block.line}" for block in blocks if not block.runnable]
    assert len(skipped) <= MAX_NORUN_BLOCKS, f"too many {NORUN} blocks: {skipped}"


def test_norun_marks_only_precede_python_blocks() -> None:
    for page in docs_runner.pages():
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, text in enumerate(lines, start=1):
            if text.strip() != NORUN:
                continue
            following = next((line for line in lines[number:] if line.strip()), "")
            assert fence_language(following) in PYTHON_LANGUAGES, (
                f"{page.relative_to(ROOT)}:{number}: {NORUN} must come right before a ```python block"
            )


def test_configuration_page_lists_every_field() -> None:
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for config in (SQLAlchemyConfig, PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig):
        missing = [name for name in config.model_fields if f"`{name}`" not in page]
        assert not missing, f"docs/configuration.md does not describe {config.__name__} fields {missing}"
