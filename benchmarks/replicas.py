"""A read-heavy load on the primary alone vs the primary plus a streaming replica.

``uv run --group bench python -m benchmarks.replicas [--smoke]`` starts its own primary and standby
(``archipy_lite.testing.replicated_cluster``) and prints a markdown table; ``read_heavy`` returns a
``WorkloadResult`` for the main runner. Concurrent asyncpg tasks each run reads (an aggregate over a
range of rows) and, every ``write_every`` reads, one write on the primary. In the replica variant the
reads go where the unit's routing sends them. Both servers share the client's machine, so
this measures the routing's cost and the spread of load, not the capacity a second machine would add.
Reads are read-only units of work, so the routing measured is the library's own (``routing.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
from typing import Any

import psycopg
from sqlalchemy import text

from archipy_lite.adapters.base.sqlalchemy.unit_of_work import unit_of_work
from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter
from archipy_lite.configs import PostgresSQLAlchemyConfig
from archipy_lite.testing import ReplicatedCluster, replicated_cluster
from benchmarks.report import workload_table
from benchmarks.timing import WorkloadResult, measure

FULL = {"rows": 100_000, "tasks": 32, "reads": 40, "span": 5_000, "write_every": 10, "rounds": 5}
SMOKE = {"rows": 2_000, "tasks": 4, "reads": 5, "span": 100, "write_every": 5, "rounds": 1}
READ = text("SELECT count(*), sum(length(payload)) FROM bench_items WHERE id BETWEEN :low AND :low + :span")
WRITE = text("INSERT INTO bench_events (task) VALUES (:task)")


def _prepare(cluster: ReplicatedCluster, rows: int) -> str:
    """A database with ``rows`` rows, replayed on the standby; returns its name."""
    with psycopg.connect(cluster.primary_dsn, autocommit=True) as admin:
        admin.execute("CREATE DATABASE archipy_lite_bench_replicas")
    with psycopg.connect(cluster.primary.dsn("archipy_lite_bench_replicas"), autocommit=True) as connection:
        connection.execute("CREATE TABLE bench_items (id int PRIMARY KEY, payload text NOT NULL)")
        connection.execute("CREATE TABLE bench_events (id serial PRIMARY KEY, task int NOT NULL)")
        connection.execute(
            "INSERT INTO bench_items SELECT i, repeat(md5(i::text), 4) FROM generate_series(1, %s) AS i", (rows,)
        )
        connection.execute("VACUUM ANALYZE bench_items")
    cluster.wait_for_replay(timeout=120)
    return "archipy_lite_bench_replicas"


async def _load(
    adapter: AsyncPostgresSQLAlchemyAdapter, *, replica_reads: bool, sizes: dict[str, int], part: int
) -> tuple[int, int]:
    """Every task's reads and writes, one unit of work each; returns (rows counted, bytes summed).

    With ``replica_reads`` a read is a read-only unit (a replica when one is fit); a write is always
    a plain unit, on the primary.
    """

    async def task(number: int) -> tuple[int, int]:
        counted = summed = 0
        for read in range(sizes["reads"]):
            low = (number * 7919 + read * 104729 + part) % (sizes["rows"] - sizes["span"])
            async with unit_of_work(adapter, read_only=replica_reads):
                count, total = (await adapter.execute(READ, {"low": low, "span": sizes["span"]})).one()
            counted, summed = counted + count, summed + total
            if read % sizes["write_every"] == 0:
                async with unit_of_work(adapter):
                    await adapter.execute(WRITE, {"task": number})
        return counted, summed

    outcomes = await asyncio.gather(*(task(number) for number in range(sizes["tasks"])))
    return sum(count for count, _ in outcomes), sum(total for _, total in outcomes)


def read_heavy(cluster: ReplicatedCluster, sizes: dict[str, int], loop: asyncio.AbstractEventLoop) -> WorkloadResult:
    """Time the load both ways on ``cluster`` (its primary must be empty of the bench database)."""
    database = _prepare(cluster, sizes["rows"])
    standby = cluster.standby
    assert standby is not None
    fields: dict[str, Any] = {"POSTGRES_DSN": cluster.primary.dsn(database), "POOL_SIZE": sizes["tasks"]}
    alone = AsyncPostgresSQLAlchemyAdapter(PostgresSQLAlchemyConfig(**fields))
    routed = AsyncPostgresSQLAlchemyAdapter(
        PostgresSQLAlchemyConfig(**fields, READ_REPLICA_DSNS=[standby.dsn(database)], READ_REPLICA_CHECK_SECONDS=1)
    )
    variants: dict[str, Any] = {
        "primary alone": lambda part: _load(alone, replica_reads=False, sizes=sizes, part=part),
        "archipy_lite primary + replica (read-only units)": lambda part: _load(
            routed, replica_reads=True, sizes=sizes, part=part
        ),
    }
    try:
        return measure(
            f"9. read replicas: {sizes['tasks']} asyncpg tasks x {sizes['reads']} reads of {sizes['span']:,} rows, "
            f"one write per {sizes['write_every']} reads",
            variants,
            reference="primary alone",
            rounds=sizes["rounds"],
            loop=loop,
            slices=1,
        )
    finally:
        for adapter in (alone, routed):
            loop.run_until_complete(adapter.session_manager.dispose())


def run_on_own_cluster(sizes: dict[str, int], loop: asyncio.AbstractEventLoop) -> WorkloadResult:
    """Start a primary and a standby, run ``read_heavy`` on them, stop them."""
    with replicated_cluster() as cluster:
        return read_heavy(cluster, sizes, loop)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.replicas", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that both variants run and agree")
    arguments = parser.parse_args()
    sizes = SMOKE if arguments.smoke else FULL
    loop = asyncio.new_event_loop()
    try:
        result = run_on_own_cluster(sizes, loop)
    finally:
        loop.close()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; both servers and the client on it")
    print(f"{sizes['rounds']} timed rounds after a warm-up round\n")
    print("\n".join(workload_table(result)))


if __name__ == "__main__":
    main()
