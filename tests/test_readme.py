"""The README's Python examples run as written (in a fresh interpreter, on in-memory SQLite)."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_readme_has_examples() -> None:
    assert len(python_blocks()) >= 2


def test_readme_examples_run(tmp_path: Path) -> None:
    script = "\n\n".join(python_blocks())
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "ALREADY_EXISTS 409" in result.stdout
    assert "['ann@example.com']" in result.stdout


def test_readme_quick_start_matches_ci() -> None:
    """The test command the README gives is the one CI runs."""
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "./scripts/test" in README.read_text(encoding="utf-8")
    assert 'TEST_CMD="${TEST_CMD:-./scripts/test}"' in ci
