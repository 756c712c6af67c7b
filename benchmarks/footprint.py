"""Workload 8: import time and peak memory while streaming a large SQLite data set.

Both run in fresh child processes so that nothing the parent imported or allocated counts.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any


def _child(code: str, *arguments: str) -> Any:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *arguments], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


IMPORT_CODE = """
import json, sys, time
started = time.perf_counter()
import importlib
importlib.import_module(sys.argv[1])
print(json.dumps((time.perf_counter() - started) * 1000))
"""


def import_times(repeats: int = 7) -> dict[str, float]:
    """Median cold-process import time in milliseconds of the package and of the main modules."""
    modules = [
        "archipy_lite",
        "archipy_lite.models.errors",
        "archipy_lite.adapters.postgres.sqlalchemy.adapters",
        "sqlalchemy.orm",
    ]
    return {module: statistics.median(_child(IMPORT_CODE, module) for _ in range(repeats)) for module in modules}


STREAM_CODE = """
import json, resource, sqlite3, sys, time
from sqlalchemy import Column, Integer, String
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import SQLiteSQLAlchemyAdapter
from archipy_lite.configs.config_template import SQLiteSQLAlchemyConfig
from archipy_lite.stores.store import Store
from sqlalchemy.orm import DeclarativeBase

class Base(DeclarativeBase):
    pass

class Row(Base):
    __tablename__ = "big"
    id = Column(Integer, primary_key=True)
    name = Column(String, nullable=False)
    note = Column(String, nullable=True)

path, count = sys.argv[1], int(sys.argv[2])
with sqlite3.connect(path) as connection:
    connection.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT)")
    connection.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO big SELECT i, 'name ' || i, CASE WHEN i % 3 = 0 THEN NULL ELSE printf('%040d', i) END FROM n",
        (count,),
    )
adapter = SQLiteSQLAlchemyAdapter(orm_config=SQLiteSQLAlchemyConfig(DATABASE=path, READ_ONLY=True))
store = Store(adapter, Row)
store.count()  # warm up: engine, pool, statement cache
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
seen = 0
for item in store.iterate(batch_size=1000):
    seen += 1
elapsed = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": seen, "seconds": elapsed, "peak_growth_mb": (after - before) / 1024}))
"""


def stream_memory(directory: Path, rows: int) -> dict[str, float]:
    """Rows streamed, seconds, and peak RSS growth (MB) while a Store iterates a read-only SQLite file."""
    path = directory / "stream.sqlite3"
    path.unlink(missing_ok=True)
    try:
        measured: dict[str, float] = _child(STREAM_CODE, str(path), str(rows))
    finally:
        path.unlink(missing_ok=True)
    return measured
