"""Measured figures of a run, written to ``tests/reliability/.last_run.json`` when the session ends.

Tests call :func:`record`; ``report.py`` renders the file as the tables of ``docs/reliability.md``.
A partial run updates only the scenarios it ran and keeps the others from the previous file.
"""

from __future__ import annotations

import json
import os
import platform
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LAST_RUN = Path(__file__).with_name(".last_run.json")

_lock = threading.Lock()
_scenarios: dict[str, dict[str, Any]] = {}
_run: dict[str, Any] = {}
_durations: dict[str, float] = {}


def record(scenario: str, **values: Any) -> None:
    """Store figures of ``scenario`` (``"1"`` ... ``"9"``, ``"soak"``); later values of a key win."""
    with _lock:
        _scenarios.setdefault(scenario, {}).update(values)


def record_class(item: int, title: str, *, cases: int, varies: str, backends: str) -> None:
    """Scenario 10: one defect class of issue 12, with the number of test cases that passed for it."""
    record("10", **{f"{item:02d}. {title}": {"cases": cases, "runs on": backends, "varies": varies}})


def note_run(**values: Any) -> None:
    """Facts about the environment of this run (server version, driver versions...)."""
    with _lock:
        _run.update(values)


def add_duration(module: str, seconds: float) -> None:
    """Add wall time (setup, call and teardown) spent in a test module."""
    with _lock:
        _durations[module] = _durations.get(module, 0.0) + seconds


def write(total_seconds: float) -> Path | None:
    """Merge this run's figures into ``LAST_RUN``; nothing is written when no figure was recorded."""
    with _lock:
        if not _scenarios:
            return None
        previous: Mapping[str, Any] = {}
        if LAST_RUN.exists():
            try:
                previous = json.loads(LAST_RUN.read_text())
            except ValueError:
                previous = {}
        scenarios = dict(previous.get("scenarios", {}))
        stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        for name, values in _scenarios.items():
            scenarios[name] = {**values, "_recorded": stamp}
        run = {
            **previous.get("run", {}),
            **_run,
            "finished": stamp,
            "suite_seconds": round(total_seconds, 1),
            "python": platform.python_version(),
            "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        }
        durations = dict(previous.get("durations", {}))
        durations.update({name: round(seconds, 1) for name, seconds in _durations.items()})
        document = {"run": run, "scenarios": scenarios, "durations": durations}
        LAST_RUN.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        return LAST_RUN
