"""Runs the ```python blocks of the documentation, page by page, each page in a process of its own.

Used by ``tests/test_docs_examples.py``; also handy by hand while writing docs::

    uv run python tests/docs_runner.py docs/transactions.md

A page's blocks run in order in one module namespace, so later blocks use what earlier ones
defined. A block is skipped only when the line before its fence is ``<!-- norun -->``. Page
options come from ``<!-- docs-test: ... -->`` comments (``postgres``: the page needs the test
PostgreSQL database). Tracebacks name the Markdown file and line of the failing statement.

``--serve WORKERS`` reads a JSON list of jobs on stdin, imports the heavy libraries once, and
forks one child per page (at most WORKERS at a time): every page still starts from a pristine
interpreter state, without paying for the imports again. It prints one JSON line per finished job.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
import traceback
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
NORUN = "<!-- norun -->"
PAGE_OPTIONS = re.compile(r"<!--\s*docs-test:\s*(?P<options>[^>]*?)\s*-->")
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
PYTHON_LANGUAGES = frozenset({"python", "py", "python3"})
PAGE_TIMEOUT_SECONDS = 120
DONE = "docs examples passed:"

# Imported once by the server before it forks. Nothing here may declare entities or open connections.
PRELOAD = (
    "asyncio",
    "sqlalchemy",
    "sqlalchemy.orm",
    "sqlalchemy.ext.asyncio",
    "sqlalchemy.dialects.postgresql",
    "sqlalchemy.dialects.sqlite",
    "pydantic",
    "pydantic_settings",
    "psycopg",
    "asyncpg",
    "aiosqlite",
    "archipy_lite.configs",
    "archipy_lite.models.entities",
    "archipy_lite.models.errors",
    "archipy_lite.models.dtos",
    "archipy_lite.adapters.postgres.sqlalchemy.adapters",
    "archipy_lite.adapters.postgres.sqlalchemy.dialect",
    "archipy_lite.adapters.sqlite.sqlalchemy.adapters",
    "archipy_lite.adapters.sqlite.sqlalchemy.dialect",
    "archipy_lite.helpers.decorators.sqlalchemy_atomic",
    "archipy_lite.stores",
    "archipy_lite.context",
    "archipy_lite.datasets",
    "archipy_lite.testing",
)


@dataclass(frozen=True)
class Block:
    """One fenced Python block: its page, the line of its first code line, its code."""

    page: Path
    line: int
    code: str
    runnable: bool


def fence_language(line: str) -> str | None:
    """The language of a fence-opening line (``""`` when none is given), or None if it is no fence."""
    match = FENCE.match(line)
    if match is None:
        return None
    return (match["info"].split() or [""])[0].lower()


def page_blocks(page: Path) -> list[Block]:
    """The Python blocks of ``page`` in order, with indentation (admonitions, tabs) removed."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        language = fence_language(lines[index])
        previous = next((text.strip() for text in reversed(lines[:index]) if text.strip()), "")
        start = end = index + 1
        while end < len(lines):
            closing = lines[end].strip()
            if closing.startswith(fence[0] * len(fence)) and not closing.strip(fence[0]):
                break
            end += 1
        if language in PYTHON_LANGUAGES:
            body = [text[len(indent) :] if text.startswith(indent) else text.lstrip() for text in lines[start:end]]
            blocks.append(Block(page, start + 1, "\n".join(body) + "\n", runnable=previous != NORUN))
        index = end + 1
    return blocks


def page_options(page: Path) -> set[str]:
    """Options from ``<!-- docs-test: ... -->`` comments (e.g. ``postgres``)."""
    found: set[str] = set()
    for match in PAGE_OPTIONS.finditer(page.read_text(encoding="utf-8")):
        found.update(match["options"].split())
    return found


def pages() -> list[Path]:
    """Every Markdown page of the documentation."""
    return sorted(DOCS.rglob("*.md"))


def run_page(page: Path) -> int:
    """Execute the runnable blocks of ``page`` in one module namespace; returns how many ran."""
    name = "docs_" + re.sub(r"\W", "_", page.stem)
    module = types.ModuleType(name)
    module.__file__ = str(page)
    sys.modules[name] = module  # dataclasses, pydantic and SQLAlchemy look classes' modules up here
    count = 0
    for block in page_blocks(page):
        if not block.runnable:
            continue
        # Pad with blank lines so tracebacks show the Markdown file's own line numbers.
        source = "\n" * (block.line - 1) + block.code
        started = time.perf_counter()
        exec(compile(source, str(page), "exec"), module.__dict__)
        print(f"ran {page.name}:{block.line} ({time.perf_counter() - started:.2f}s)", flush=True)
        count += 1
    return count


def _run_job(job: dict[str, Any]) -> int:
    """In a forked child: become the page's process (cwd, environment, output files) and run it."""
    os.chdir(job["cwd"])
    os.environ.clear()
    os.environ.update(job["env"])
    for descriptor, path in ((1, job["stdout"]), (2, job["stderr"])):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(opened, descriptor)
        os.close(opened)
    signal.alarm(PAGE_TIMEOUT_SECONDS)  # a hanging page is killed, the others go on
    ran = run_page(Path(job["page"]))
    print(f"{DONE} {ran} blocks", flush=True)
    return 0


def _child(job: dict[str, Any]) -> None:
    code = 1
    try:
        code = _run_job(job)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(jobs: list[dict[str, Any]], workers: int) -> None:
    """Preload, then fork each job (``workers`` at a time); print ``{"id", "returncode"}`` per finished job."""
    for module in PRELOAD:
        try:
            __import__(module)
        except ImportError:  # an optional driver that is not installed: the page will say so
            continue
    pending = list(jobs)
    running: dict[int, dict[str, Any]] = {}
    while pending or running:
        while pending and len(running) < workers:
            job = pending.pop(0)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(job)
            running[pid] = job
        pid, status = os.wait()
        finished = running.pop(pid)
        print(json.dumps({"id": finished["id"], "returncode": os.waitstatus_to_exitcode(status)}), flush=True)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--serve":
        serve(json.loads(sys.stdin.read()), int(argv[1]))
        return 0
    if len(argv) == 1:
        ran = run_page(Path(argv[0]).resolve())
        print(f"{DONE} {ran} blocks", flush=True)
        return 0
    print("usage: docs_runner.py PAGE.md | --serve WORKERS < jobs.json", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
