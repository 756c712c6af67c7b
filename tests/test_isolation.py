"""Per-test isolation: 200 tests that write, in random order, see no rows from each other, with the
transaction fixture and with truncation; the transaction fixture costs a fraction of truncation.

The tests live in ``tests/isolation_project`` (an application's test suite using the plugin) and run
in a pytest process of their own, once per kind of isolation, in the same shuffled order.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from archipy_lite.testing import DSN_ENV_VAR

PROJECT = Path(__file__).parent / "isolation_project"


def _run(isolation: str, seed: int, tmp_path: Path, server_dsn: str) -> dict[str, list[float]]:
    timings = tmp_path / f"{isolation}.json"
    env = {**os.environ, "ISOLATION": isolation, "SEED": str(seed), "TIMINGS": str(timings), DSN_ENV_VAR: server_dsn}
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(PROJECT)],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"seed {seed}:\n{output}"
    assert "200 passed" in output, output
    result: dict[str, list[float]] = json.loads(timings.read_text())
    return result


@pytest.mark.postgres
@pytest.mark.slow
def test_two_hundred_writing_tests_in_random_order(postgres_server_dsn: str, tmp_path: Path) -> None:
    seed = random.randrange(1_000_000)
    transaction = _run("transaction", seed, tmp_path, postgres_server_dsn)
    truncation = _run("truncation", seed, tmp_path, postgres_server_dsn)
    fixture_ratio = statistics.median(truncation["fixtures"]) / statistics.median(transaction["fixtures"])
    test_ratio = statistics.median(truncation["total"]) / statistics.median(transaction["total"])
    print(
        f"seed {seed}: isolation per test (setup + teardown, median) "
        f"transaction {statistics.median(transaction['fixtures']) * 1000:.1f} ms, "
        f"truncation {statistics.median(truncation['fixtures']) * 1000:.1f} ms ({fixture_ratio:.1f}x); "
        f"whole test {statistics.median(transaction['total']) * 1000:.1f} ms vs "
        f"{statistics.median(truncation['total']) * 1000:.1f} ms ({test_ratio:.1f}x)"
    )
    assert fixture_ratio >= 5, f"the transaction fixture is only {fixture_ratio:.1f}x faster than truncation"
