"""Scenario 5: atomic integrity under random failures (hypothesis).

Hypothesis draws trees of nested atomic blocks. A block holds inserts and child blocks, and may fail
at a random point: a business exception, a unique violation raised out of the block, or a unique
violation swallowed inside the block (which must then refuse to commit: DatabaseTransactionError).
A parent catches a failing child or lets it propagate. Every insert also registers ``on_commit``.

After each example the table must equal a plain in-memory model of what should have committed, the
on_commit callbacks must have run exactly for those rows and in order, the exception leaving the
outermost block must be the expected one, and no connection may stay checked out. Runs on SQLite
(a file), PostgreSQL with psycopg, and PostgreSQL with asyncpg (async blocks).
"""

# A block that must fail is several statements long by nature.
# ruff: noqa: PT012

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
import threading
from collections import Counter as Tally
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic, on_commit
from archipy_lite.models.errors import DatabaseTransactionError, UniqueViolationError

from . import figures
from .conftest import AdapterFactory, checked_out, query, truncate
from .entities import Item, ReliabilityBase

MAX_EXAMPLES = 100
MAX_DEPTH = 3
SEED = "seed"  # committed before every example: inserting it again is a unique violation
FAILURES = ("business", "unique", "swallowed")


class BusinessError(Exception):
    """A business error: must pass through every atomic block unchanged."""


@dataclass(frozen=True)
class Insert:
    label: str = ""


@dataclass(frozen=True)
class Fail:
    kind: str


@dataclass(frozen=True)
class Block:
    actions: tuple[Any, ...]
    caught: bool  # whether the parent catches this block's failure


def _with_failure(actions: list[Any], position: int, kind: str | None) -> tuple[Any, ...]:
    if kind is None:
        return tuple(actions)
    return (*actions[:position], Fail(kind))  # nothing after a failure runs


def blocks(depth: int = 0) -> st.SearchStrategy[Block]:
    choices: list[st.SearchStrategy[Any]] = [st.just(Insert())]
    if depth < MAX_DEPTH:
        choices.append(blocks(depth + 1))
    actions = st.lists(st.one_of(*choices), max_size=4)
    kinds = st.one_of(st.none(), st.none(), st.sampled_from(FAILURES))
    return actions.flatmap(
        lambda acts: st.builds(
            Block,
            actions=st.builds(_with_failure, st.just(acts), st.integers(0, len(acts)), kinds),
            caught=st.booleans(),
        )
    )


def numbered(block: Block, counter: itertools.count[int]) -> Block:
    """Give every insert a unique label, in execution order."""
    actions = []
    for action in block.actions:
        if isinstance(action, Insert):
            actions.append(Insert(f"i{next(counter)}"))
        elif isinstance(action, Block):
            actions.append(numbered(action, counter))
        else:
            actions.append(action)
    return Block(tuple(actions), block.caught)


# --- the model ---------------------------------------------------------------------------------------


EXPECTED_ERROR: dict[str, type[BaseException]] = {
    "business": BusinessError,
    "unique": UniqueViolationError,
    "swallowed": DatabaseTransactionError,
}


def model(block: Block) -> tuple[list[str], str | None]:
    """(labels this block commits if its ancestors do, in order; the failure leaving it or None)."""
    done: list[str] = []
    for action in block.actions:
        if isinstance(action, Insert):
            done.append(action.label)
        elif isinstance(action, Block):
            child, failure = model(action)
            if failure is None:
                done += child
            elif not action.caught:
                return [], failure
        elif action.kind == "swallowed":
            return [], "swallowed"  # raised when the block ends, the rest of the block never ran
        else:
            return [], action.kind
    return done, None


@dataclass
class Stats:
    examples: int = 0
    blocks: int = 0
    deepest: int = 0
    inserts_attempted: int = 0
    rows_committed: int = 0
    failures: Tally[str] = field(default_factory=Tally)
    failures_caught: int = 0
    outermost_failed: int = 0

    def count(self, block: Block, depth: int = 1) -> None:
        self.blocks += 1
        self.deepest = max(self.deepest, depth)
        for action in block.actions:
            if isinstance(action, Insert):
                self.inserts_attempted += 1
            elif isinstance(action, Block):
                self.count(action, depth + 1)
                if action.caught and model(action)[1] is not None:
                    self.failures_caught += 1
            else:
                self.failures[action.kind] += 1


# --- running a tree -------------------------------------------------------------------------------------


def run_sync(adapter: Any, block: Block, callbacks: list[str]) -> None:
    with atomic(adapter):
        for action in block.actions:
            if isinstance(action, Insert):
                adapter.create(Item(label=action.label))
                on_commit(lambda label=action.label: callbacks.append(label))
            elif isinstance(action, Block):
                try:
                    run_sync(adapter, action, callbacks)
                except (BusinessError, UniqueViolationError, DatabaseTransactionError):
                    if not action.caught:
                        raise
            elif action.kind == "business":
                raise BusinessError()
            elif action.kind == "unique":
                adapter.create(Item(label=SEED))
            else:
                with contextlib.suppress(UniqueViolationError):  # swallowed: the block must refuse to commit
                    adapter.create(Item(label=SEED))


async def run_async(adapter: Any, block: Block, callbacks: list[str]) -> None:
    async with atomic(adapter):
        for action in block.actions:
            if isinstance(action, Insert):
                await adapter.create(Item(label=action.label))
                on_commit(lambda label=action.label: callbacks.append(label))
            elif isinstance(action, Block):
                try:
                    await run_async(adapter, action, callbacks)
                except (BusinessError, UniqueViolationError, DatabaseTransactionError):
                    if not action.caught:
                        raise
            elif action.kind == "business":
                raise BusinessError()
            elif action.kind == "unique":
                await adapter.create(Item(label=SEED))
            else:
                with contextlib.suppress(UniqueViolationError):
                    await adapter.create(Item(label=SEED))


class LoopThread:
    """One event loop in a thread of its own, so hypothesis (sync) can drive async adapters."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def check_trees(
    backend: str,
    run: Callable[[Block, list[str]], None],
    reset: Callable[[], None],
    committed: Callable[[], list[str]],
    adapter: Any,
) -> None:
    stats = Stats()

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(tree=blocks())
    def check(tree: Block) -> None:
        tree = numbered(tree, itertools.count())
        reset()
        expected, failure = model(tree)
        if failure is not None:
            expected = []
        callbacks: list[str] = []
        if failure is None:
            run(tree, callbacks)
        else:
            with pytest.raises(EXPECTED_ERROR[failure]):
                run(tree, callbacks)
        assert committed() == sorted([SEED, *expected])
        assert callbacks == expected  # on_commit ran for exactly the committed rows, in order
        assert checked_out(adapter) == 0
        stats.examples += 1
        stats.count(tree)
        stats.rows_committed += len(expected)
        stats.outermost_failed += failure is not None

    check()
    figures.record(
        "5",
        **{
            backend: {
                "examples": stats.examples,
                "blocks": stats.blocks,
                "deepest nesting": stats.deepest,
                "inserts in the trees": stats.inserts_attempted,
                "rows committed": stats.rows_committed,
                "failure points injected": dict(stats.failures),
                "failures caught by the parent": stats.failures_caught,
                "outermost block failed": stats.outermost_failed,
                "mismatches with the model": 0,
            }
        },
    )


def test_random_trees_sqlite_file(make_adapter: AdapterFactory, tmp_path: Path) -> None:
    path = tmp_path / "trees.sqlite3"
    adapter = make_adapter("sqlite", DATABASE=str(path), JOURNAL_MODE="WAL")
    ReliabilityBase.metadata.create_all(adapter.session_manager.engine)

    def reset() -> None:
        with sqlite3.connect(path) as connection:
            connection.execute("DELETE FROM rel_items")
            connection.execute("INSERT INTO rel_items (uuid, label, writer) VALUES (X'00', ?, 0)", (SEED,))
        connection.close()

    def committed() -> list[str]:
        connection = sqlite3.connect(path)
        try:
            return sorted(row[0] for row in connection.execute("SELECT label FROM rel_items"))
        finally:
            connection.close()

    check_trees("SQLite file (sqlite3)", lambda tree, calls: run_sync(adapter, tree, calls), reset, committed, adapter)


def pg_reset(dsn: str) -> Callable[[], None]:
    def reset() -> None:
        truncate(dsn, "rel_items")
        query(dsn, "INSERT INTO rel_items (uuid, label, writer) VALUES (gen_random_uuid(), %s, 0) RETURNING 1", (SEED,))

    return reset


def pg_committed(dsn: str) -> Callable[[], list[str]]:
    return lambda: sorted(row[0] for row in query(dsn, "SELECT label FROM rel_items"))


@pytest.mark.postgres
@pytest.mark.slow
def test_random_trees_postgres(make_adapter: AdapterFactory, rel_dsn: str) -> None:
    adapter = make_adapter("pg", POOL_SIZE=1)
    check_trees(
        "PostgreSQL (psycopg)",
        lambda tree, calls: run_sync(adapter, tree, calls),
        pg_reset(rel_dsn),
        pg_committed(rel_dsn),
        adapter,
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_random_trees_postgres_async(make_adapter: AdapterFactory, rel_dsn: str) -> None:
    adapter = make_adapter("pg-async", POOL_SIZE=1)
    loop = LoopThread()
    try:
        check_trees(
            "PostgreSQL (asyncpg, async blocks)",
            lambda tree, calls: loop.run(run_async(adapter, tree, calls)),
            pg_reset(rel_dsn),
            pg_committed(rel_dsn),
            adapter,
        )
    finally:
        loop.run(adapter.session_manager.dispose())  # its engine belongs to this loop
        loop.close()


def test_on_commit_of_a_released_savepoint_survives_a_failed_sibling(
    make_adapter: AdapterFactory, tmp_path: Path
) -> None:
    """The first bug this suite found: a rolled-back savepoint discarded its released sibling's callbacks."""
    adapter = make_adapter("sqlite", DATABASE=str(tmp_path / "siblings.sqlite3"))
    ReliabilityBase.metadata.create_all(adapter.session_manager.engine)
    ran: list[str] = []
    with atomic(adapter):
        with atomic(adapter):
            adapter.create(Item(label="kept"))
            on_commit(lambda: ran.append("kept"))
        with pytest.raises(BusinessError), atomic(adapter):
            on_commit(lambda: ran.append("discarded"))
            raise BusinessError()
    assert ran == ["kept"]
