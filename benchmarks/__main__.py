"""``uv run --group bench python -m benchmarks``: run every workload and write docs/performance.md."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

from benchmarks import keyset, replicas, workloads
from benchmarks.context import Bench
from benchmarks.footprint import import_times, stream_memory
from benchmarks.report import Target, targets_table, workload_table
from benchmarks.timing import WorkloadResult

FULL = {
    "rows": 10_000,
    "lookups": 2_000,
    "creates": 1_000,
    "bulk": 10_000,
    "search_rows": 100_000,
    "search_repeat": 20,
    "tasks": 64,
    "task_lookups": 4_000,
    "stream_rows": 1_000_000,
    "keyset_rows": 100_000,
    "keyset_repeat": 20,
    "units": 1_000,
    "rounds": 7,
}
SMOKE = {
    "rows": 200,
    "lookups": 20,
    "creates": 10,
    "bulk": 200,
    "search_rows": 10_000,
    "search_repeat": 1,
    "tasks": 8,
    "task_lookups": 40,
    "stream_rows": 2_000,
    "keyset_rows": 2_000,
    "keyset_repeat": 1,
    "units": 20,
    "rounds": 1,
}


@contextmanager
def database(dsn: str | None) -> Iterator[str]:
    """A fresh database on the given server, or on the server the test harness finds."""
    from archipy_lite.testing import postgres_server, temporary_database

    if dsn:
        with temporary_database(dsn, prefix="archipy_lite_bench") as database_dsn:
            yield database_dsn
        return
    with postgres_server() as server, temporary_database(server, prefix="archipy_lite_bench") as database_dsn:
        yield database_dsn


def run(
    sizes: dict[str, int], dsn: str | None, only: set[str] | None = None
) -> tuple[dict[str, WorkloadResult], dict[str, object]]:
    loop = asyncio.new_event_loop()
    results: dict[str, WorkloadResult] = {}
    extra: dict[str, object] = {}
    with database(dsn) as database_dsn:
        bench = Bench.open(database_dsn, loop)
        try:
            extra["server"] = bench.raw.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
            rounds = sizes["rounds"]
            steps = {
                "get": lambda: workloads.get_by_uuid(
                    bench, rows=sizes["rows"], lookups=sizes["lookups"], rounds=rounds
                ),
                "get_async": lambda: workloads.get_by_uuid_async(
                    bench, rows=sizes["rows"], lookups=sizes["lookups"], rounds=rounds
                ),
                "create": lambda: workloads.create_and_commit(
                    bench, count=sizes["creates"], rounds=rounds, use_async=False
                ),
                "create_async": lambda: workloads.create_and_commit(
                    bench, count=sizes["creates"], rounds=rounds, use_async=True
                ),
                "bulk": lambda: workloads.bulk_create(bench, count=sizes["bulk"], rounds=rounds),
                "search": lambda: workloads.search_page(
                    bench, rows=sizes["search_rows"], repeat=sizes["search_repeat"], rounds=rounds
                ),
                "concurrent": lambda: workloads.concurrent_lookups(
                    bench, rows=sizes["rows"], tasks=sizes["tasks"], lookups=sizes["task_lookups"], rounds=rounds
                ),
                "request": lambda: workloads.requests(
                    bench, rows=sizes["rows"], units=sizes["units"], rounds=rounds, use_async=False
                ),
                "request_async": lambda: workloads.requests(
                    bench, rows=sizes["rows"], units=sizes["units"], rounds=rounds, use_async=True
                ),
                "keyset": lambda: keyset.keyset_against_offset(
                    bench, rows=sizes["keyset_rows"], size=20, repeat=sizes["keyset_repeat"], rounds=rounds
                ),
            }
            for name, step in steps.items():
                if only is not None and name not in only:
                    continue
                print(f"running {name} ...", flush=True)
                results[name] = step()
        finally:
            bench.close()
    try:
        if only is None or "replicas" in only:  # on a primary and a standby of its own
            print("running replicas ...", flush=True)
            replica_sizes = dict(replicas.SMOKE if sizes["rows"] == SMOKE["rows"] else replicas.FULL)
            replica_sizes["rounds"] = min(replica_sizes["rounds"], sizes["rounds"])
            results["replicas"] = replicas.run_on_own_cluster(replica_sizes, loop)
    finally:
        loop.close()
    if only is not None and "footprint" not in only:
        return results, extra
    print("running footprint ...", flush=True)
    extra["imports"] = import_times(3 if sizes["rounds"] < 3 else 7)
    with tempfile.TemporaryDirectory() as directory:
        extra["stream"] = stream_memory(Path(directory), sizes["stream_rows"])
    return results, extra


TARGETS = [
    # Issue 11: a request (one unit of work) against the same request written by hand and with the best peer.
    *(Target(w, "archipy_lite unit_of_work", "SQLAlchemy ORM", 1.0) for w in ("request", "request_async")),
    *(Target(w, "archipy_lite unit_of_work", "advanced-alchemy", 1.2) for w in ("request", "request_async")),
    # One lookup per call outside any unit, against `with Session(engine)` per lookup (issue 11 asks >= 0.9x;
    # the earlier 0.95x target is kept, and is the stricter of the two).
    *(
        Target(w, "archipy_lite adapter", "SQLAlchemy ORM", 0.95)
        for w in ("get", "get_async", "create", "create_async")
    ),
    *(
        Target(w, "archipy_lite adapter", "advanced-alchemy", 1.05)
        for w in ("get", "get_async", "create", "create_async")
    ),
    Target("bulk", "archipy_lite bulk_create", "SQLAlchemy ORM add_all", 3.0),
    Target("bulk", "archipy_lite bulk_copy", "psycopg COPY (raw)", 0.6),
    Target("search", "archipy_lite execute_search_query", "SQLAlchemy ORM count + page", 1.0),
    Target("search", "archipy_lite execute_search_query", "advanced-alchemy list_and_count", 1.05),
    Target("concurrent", "archipy_lite adapter", "SQLAlchemy ORM", 0.95),
    Target("concurrent", "archipy_lite adapter", "advanced-alchemy", 1.05),
    Target("keyset", "archipy_lite keyset page (cursor)", "archipy_lite OFFSET page", 10.0),
]


# Ratios measured by full runs of this suite before the fixes listed (ratio-of-medians runs, 2026-11-22).
_BEFORE = [
    (
        "get by uuid without BEGIN/COMMIT outside atomic blocks (sync, vs advanced-alchemy)",
        "get",
        1.03,
        "archipy_lite adapter",
        "advanced-alchemy",
    ),
    ("same, async vs the ORM", "get_async", 1.13, "archipy_lite adapter", "SQLAlchemy ORM"),
    (
        "bulk_create: COPY for large batches, detached objects outside atomic (vs ORM add_all)",
        "bulk",
        1.36,
        "archipy_lite bulk_create",
        "SQLAlchemy ORM add_all",
    ),
    (
        "search: no tie-breaker after a unique NOT NULL sort column (vs hand-written)",
        "search",
        0.96,
        "archipy_lite execute_search_query",
        "SQLAlchemy ORM count + page",
    ),
    ("64 tasks: lookups without BEGIN/COMMIT (vs ORM)", "concurrent", 1.24, "archipy_lite adapter", "SQLAlchemy ORM"),
    # Full run of 2026-11-30 (median of per-round ratios), before lookups in blocks skipped session.get.
    (
        "lookups inside atomic blocks: a prepared SELECT instead of session.get (requests, atomic unit vs ORM)",
        "request",
        0.88,
        "archipy_lite unit_of_work(atomic=True)",
        "SQLAlchemy ORM",
    ),
    (
        "same, async",
        "request_async",
        0.87,
        "archipy_lite unit_of_work(atomic=True)",
        "SQLAlchemy ORM",
    ),
]


def _history(results: dict[str, WorkloadResult]) -> list[str]:
    rows = []
    for change, workload, before, subject, against in _BEFORE:
        if workload in results:
            rows.append(f"| {change} | {before:.2f}x | {results[workload].ratio(subject, against):.2f}x |")
    return rows


def partial(results: dict[str, WorkloadResult]) -> list[str]:
    """Targets and tables of the workloads that ran (``--only``)."""
    lines = [*targets_table(TARGETS, results), ""]
    for result in results.values():
        lines += workload_table(result)
    return lines


def render(results: dict[str, WorkloadResult], extra: dict[str, object], sizes: dict[str, int]) -> str:
    imports = extra["imports"]
    stream = extra["stream"]
    assert isinstance(imports, dict)
    assert isinstance(stream, dict)
    packages = ["sqlalchemy", "psycopg", "asyncpg", "advanced-alchemy", "pydantic"]
    lines = [
        "# Performance",
        "",
        "Figures from one run of `uv run --group bench python -m benchmarks` (see *How to run* below).",
        "Every variant of a workload runs in the same process, interleaved in shuffled order: after a",
        f"warm-up round come {sizes['rounds']} timed rounds, each started on a freshly collected heap and cut",
        "into up to 10 slices that the variants take turns on, so a slow spell of the machine hits them",
        "alike. Times are medians over the rounds; a ratio is the median of the per-round ratios.",
        "Every variant must return the same results, or the run fails.",
        "Each hand-written reference is the code a competent user writes for the same work: variants",
        "receive the data a request carries and build their entity objects inside the timed region.",
        "Ratios above 1 mean faster than the reference.",
        "",
        f"- date: {dt.date.today().isoformat()}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, PostgreSQL {extra['server']} on the same machine (loopback)",
        "- " + ", ".join(f"{name} {version(name)}" for name in packages),
        "",
        "## Targets",
        "",
        *targets_table(TARGETS, results),
        f"| import | `import archipy_lite` < 150 ms | {imports['archipy_lite']:.1f} ms | "
        f"{'yes' if imports['archipy_lite'] < 150 else '**no**'} |",
        f"| streaming | peak RSS growth < 50 MB while streaming {int(stream['rows']):,} rows | "
        f"{stream['peak_growth_mb']:.1f} MB | {'yes' if stream['peak_growth_mb'] < 50 else '**no**'} |",
        "",
        "## Workloads",
        "",
    ]
    for result in results.values():
        lines += workload_table(result)
    bulk = results.get("bulk")
    if bulk is not None:
        floor = bulk.ratio("SQLAlchemy Core executemany")
        lines += [
            "## Reading these figures",
            "",
            "- PostgreSQL and the client share this machine's two cores, so single timings move by",
            "  10-15% from round to round (far more for the 100 ms bulk loads); the targets table shows",
            "  the per-round ratios. A target at parity can read either side of it in one round, which",
            "  is why the median of rounds is used.",
            f"- Workload 3: SQLAlchemy Core's executemany, the floor of any INSERT path, measured {floor:.2f}x",
            "  the ORM here. `bulk_create` goes past it by loading batches of 100 rows or more with COPY on",
            "  PostgreSQL (INSERT for tables with rules, row security or views), then marks the objects saved",
            "  as a flush would. `bulk_copy` skips that bookkeeping: the fastest path, objects left untracked.",
            "  Every variant builds its 10,000 objects in the timed region (the raw COPY and Core variants",
            "  build none: they send the request's values), so the two bulk targets, set when objects were",
            "  built untimed, now also count building entities: the same cost on both sides of `bulk_create`",
            "  vs the ORM, and a cost only `bulk_copy` pays against raw COPY.",
            "- Workloads 1 and 5: outside any unit and atomic block a lookup is one statement and runs",
            "  without BEGIN/COMMIT around it (one round trip instead of three); the ORM, Core and",
            "  advanced-alchemy variants open a transaction per lookup, as `with Session(engine)` does.",
            "  Workload 1 also runs all lookups in one scope on both sides (`unit_of_work` against one",
            "  `Session`): the comparison for code that does many lookups per request.",
            "- Workload 6 is the request a web handler serves, with the session per request that each",
            "  library's users write; its targets are the ones the unit-of-work issue (11) set.",
            "- Workload 9 (read replicas): the primary, the standby and the client share this machine's",
            "  cores, so a replica adds no capacity here; the figure is the cost of routing reads (one",
            "  read-only unit of work per read, each picking a replica) and shows both variants agree.",
            "- Workload 4: archipy_lite sends the same two statements as the hand-written form (a unique",
            "  NOT NULL sort column gets no tie-breaker), so the two sit at parity and the ratio is noise",
            "  around 1.00x; the count runs a sequential scan that dominates both.",
            "",
            "## Changes made from profiling",
            "",
            "Earlier full runs of this suite, before each fix, against the run above:",
            "",
            "| change | before | after |",
            "|---|---:|---:|",
            *_history(results),
            "",
            "The earlier runs built the objects of workloads 2 and 3 outside the timed region; the run above",
            "builds them inside, which lowers the bulk ratios (the same cost is added to both sides).",
            "",
        ]
    lines += [
        "### 8. Footprint",
        "",
        "| measurement | value |",
        "|---|---:|",
        *(f"| cold import of `{module}` | {ms:.1f} ms |" for module, ms in imports.items()),
        f"| stream {int(stream['rows']):,} rows from a read-only SQLite data set with `Store.iterate` | "
        f"{stream['seconds']:.2f} s |",
        f"| peak RSS growth while streaming | {stream['peak_growth_mb']:.1f} MB |",
        "",
        "## How to run",
        "",
        "```bash",
        "uv run --group bench python -m benchmarks                 # PostgreSQL found like the tests do",
        "uv run --group bench python -m benchmarks --dsn postgresql://postgres@127.0.0.1:5432/postgres",
        "uv run --group bench python -m benchmarks --smoke --no-write   # seconds; what CI runs",
        "```",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--dsn", help="PostgreSQL server DSN (a fresh database is created on it)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that every variant still runs")
    parser.add_argument("--no-write", action="store_true", help="print the report instead of writing the file")
    parser.add_argument("--output", default="docs/performance.md", type=Path)
    parser.add_argument(
        "--only", help="comma-separated workloads to run (get,request_async,footprint,...); prints, never writes"
    )
    parser.add_argument("--rounds", type=int, help="timed rounds (default: 7, smoke: 1)")
    arguments = parser.parse_args()
    sizes = dict(SMOKE if arguments.smoke else FULL)
    if arguments.rounds:
        sizes["rounds"] = arguments.rounds
    only = set(arguments.only.split(",")) if arguments.only else None
    results, extra = run(sizes, arguments.dsn or os.environ.get("ARCHIPY_LITE_TEST_POSTGRES_DSN"), only)
    if only is not None:
        print("\n".join(partial(results)))
        return
    report = render(results, extra, sizes)
    if arguments.no_write:
        print(report)
    else:
        arguments.output.write_text(report, encoding="utf-8")
        print(f"wrote {arguments.output}")


if __name__ == "__main__":
    main()
