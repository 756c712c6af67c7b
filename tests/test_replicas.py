"""Read replicas on a real primary and streaming standby, for psycopg, psycopg async and asyncpg.

Replay on the standby is paused to make lag deterministic: commits still succeed (the standby
receives and stores the WAL) but are not applied until replay resumes.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from replicas_support import DATABASE, DRIVERS, Routing, make_routing, primary_query

from archipy_lite.models.errors import DatabaseQueryError, DatabaseReadOnlyError, InvalidArgumentError
from archipy_lite.testing import ReplicatedCluster, free_tcp_port

pytestmark = pytest.mark.replication

Factory = Callable[..., Routing]
SECRET = "Replica-Pa55word"


@pytest.fixture
async def routing(healthy_cluster: ReplicatedCluster) -> AsyncIterator[Factory]:
    """``routing(driver, **settings)``: a primary adapter and replica set, disposed after the test."""
    made: list[Routing] = []

    def make(driver: str, **overrides: object) -> Routing:
        made.append(make_routing(healthy_cluster, driver, **overrides))
        return made[-1]

    yield make
    for item in made:
        await item.close()


@pytest.mark.parametrize("driver", DRIVERS)
async def test_pick_gives_an_engine_that_reads_the_standby(routing: Factory, driver: str) -> None:
    route = routing(driver)
    replica = await route.pick()
    assert replica is not None
    assert await route.run(replica, "SELECT pg_is_in_recovery()") is True
    assert await route.run(None, "SELECT pg_is_in_recovery()") is False


@pytest.mark.parametrize("driver", DRIVERS)
async def test_with_replay_paused_a_replica_misses_a_fresh_row_and_a_token_read_finds_it(
    routing: Factory,
    healthy_cluster: ReplicatedCluster,
    driver: str,
) -> None:
    route = routing(driver)
    with healthy_cluster.replay_paused():
        token = await route.insert("fresh")
        healthy_cluster.wait_for_receipt()  # the standby has the WAL: only replay is missing
        replica = await route.pick()
        assert replica is not None
        assert await route.run(replica, "SELECT count(*) FROM items") == 0  # stale
        assert await route.pick(token) is None  # the token sends this read to the primary
        assert await route.run(None, "SELECT count(*) FROM items WHERE name = 'fresh'") == 1
    healthy_cluster.wait_for_replay()
    caught_up = await route.pick(token)
    assert caught_up is not None
    assert await route.run(caught_up, "SELECT count(*) FROM items WHERE name = 'fresh'") == 1


@pytest.mark.parametrize("driver", DRIVERS)
async def test_a_token_read_waits_for_the_replica_up_to_the_bound(
    routing: Factory,
    healthy_cluster: ReplicatedCluster,
    driver: str,
) -> None:
    patient = routing(driver, READ_REPLICA_WAIT_SECONDS=20)
    hurried = routing(driver, READ_REPLICA_WAIT_SECONDS=0.3)
    healthy_cluster.pause_replay()
    token = await patient.insert("awaited")
    healthy_cluster.wait_for_receipt()
    started = time.monotonic()
    assert await hurried.pick(token) is None  # gave up: the primary serves it
    assert 0.25 <= time.monotonic() - started < 5

    resumer = threading.Timer(0.4, healthy_cluster.resume_replay)  # a thread: a sync pick blocks the event loop
    resumer.start()
    started = time.monotonic()
    replica = await patient.pick(token)
    waited = time.monotonic() - started
    resumer.join()
    assert replica is not None
    assert 0.3 <= waited < 10
    assert await patient.run(replica, "SELECT count(*) FROM items WHERE name = 'awaited'") == 1


@pytest.mark.parametrize("driver", DRIVERS)
async def test_a_late_replica_is_skipped_for_a_while_then_used_again(
    routing: Factory,
    healthy_cluster: ReplicatedCluster,
    driver: str,
) -> None:
    route = routing(driver, READ_REPLICA_MAX_LAG_SECONDS=0, READ_REPLICA_RETRY_SECONDS=1)
    with healthy_cluster.replay_paused():
        await route.insert("late")
        healthy_cluster.wait_for_receipt()
        await asyncio.sleep(0.05)  # let the lag become measurable
        assert await route.pick() is None
        (status,) = await route.status()
        assert status.reachable
        assert status.reason is not None
        assert "behind" in status.reason
    healthy_cluster.wait_for_replay()
    assert await route.pick() is None  # still resting
    await asyncio.sleep(1.1)
    assert await route.pick() is not None


async def test_reads_fall_back_to_the_primary_while_the_standby_is_down(
    routing: Factory,
    healthy_cluster: ReplicatedCluster,
) -> None:
    routes = [routing(driver, READ_REPLICA_RETRY_SECONDS=60) for driver in DRIVERS]
    for route in routes:
        assert await route.pick() is not None  # connected to the standby before it stops
    healthy_cluster.stop_standby()
    for route in routes:
        token = await route.insert(f"while down {route.driver}")
        started = time.monotonic()
        assert await route.pick() is None
        assert await route.pick(token) is None
        assert time.monotonic() - started < 3, route.driver
        assert await route.run(None, f"SELECT count(*) FROM items WHERE name = 'while down {route.driver}'") == 1
        (status,) = await route.status()
        assert not status.reachable
        assert status.reason is not None
        assert status.reason.startswith("unreachable (DatabaseConnectionError")
    healthy_cluster.start_standby()
    for route in routes:
        assert await route.pick() is None  # resting for READ_REPLICA_RETRY_SECONDS, not retried per read


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO items (name) VALUES ('nope')",
        "SELECT id FROM items FOR UPDATE",
        "SELECT nextval('tickets')",
        "CREATE TEMPORARY TABLE scratch (x int)",
    ],
    ids=["insert", "for-update", "nextval", "temp-table"],
)
async def test_the_standby_refuses_writes_row_locks_sequences_and_temp_tables_with_a_typed_error(
    routing: Factory, driver: str, statement: str
) -> None:
    route = routing(driver)
    replica = await route.pick()
    assert replica is not None
    with pytest.raises(DatabaseReadOnlyError) as caught:
        await route.run(replica, statement)
    assert caught.value.details["sqlstate"] == "25006"
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize("driver", DRIVERS)
async def test_an_advisory_lock_on_the_standby_succeeds_and_excludes_nobody_on_the_primary(
    routing: Factory, driver: str
) -> None:
    """Why routing keeps advisory locks on the primary: the standby takes the lock without complaint."""
    route = routing(driver)
    replica = await route.pick()
    assert replica is not None
    assert await route.run(replica, "SELECT pg_try_advisory_xact_lock(16)") is True
    assert await route.run(None, "SELECT pg_try_advisory_xact_lock(16)") is True


@pytest.mark.parametrize("driver", DRIVERS)
async def test_a_token_after_a_wal_switch_on_an_idle_primary_is_reached(
    routing: Factory,
    healthy_cluster: ReplicatedCluster,
    driver: str,
) -> None:
    """The insert position sits past a page header after a segment switch; the token must not wait for more WAL."""
    route = routing(driver, READ_REPLICA_WAIT_SECONDS=5)
    await route.insert("before switch")
    await route.run(None, "SELECT pg_switch_wal()")
    token = await route.token()
    started = time.monotonic()
    assert await route.pick(token) is not None
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("driver", DRIVERS)
async def test_forged_tokens_are_refused_and_a_replica_cannot_issue_one(routing: Factory, driver: str) -> None:
    route = routing(driver)
    token = await route.token()
    other = routing(driver, CONSISTENCY_TOKEN_SECRET="another deployment")
    for forged in ("", "garbage", token[:-2] + ("AA" if not token.endswith("AA") else "BB"), await other.token()):
        with pytest.raises(InvalidArgumentError):
            await route.pick(forged)
    replica = await route.pick()
    assert replica is not None
    with pytest.raises(DatabaseQueryError):  # pg_walfile_name_offset() refuses to run during recovery
        await route.token(replica)


@pytest.mark.parametrize("driver", DRIVERS)
async def test_processes_sharing_a_secret_accept_each_others_tokens(routing: Factory, driver: str) -> None:
    first = routing(driver, CONSISTENCY_TOKEN_SECRET="shared")
    other_driver = "asyncpg" if driver != "asyncpg" else "psycopg"
    second = routing(other_driver, CONSISTENCY_TOKEN_SECRET="shared", READ_REPLICA_WAIT_SECONDS=10)
    token = await first.insert("shared")
    assert second.replicas.decode_token(token) == first.replicas.decode_token(token)
    replica = await second.pick(token)
    assert replica is not None
    assert await second.run(replica, "SELECT count(*) FROM items WHERE name = 'shared'") == 1


def test_doctor_reports_each_replica_reachable_or_not_and_its_lag(
    healthy_cluster: ReplicatedCluster, tmp_path: Path
) -> None:
    from test_cli import run_cli

    dead_port = free_tcp_port()
    standby = healthy_cluster.standby
    assert standby is not None
    replicas = [standby.dsn(DATABASE), f"postgresql://postgres:{SECRET}@127.0.0.1:{dead_port}/{DATABASE}"]
    env = {
        "POSTGRES_SQLALCHEMY__POSTGRES_DSN": healthy_cluster.primary.dsn(DATABASE),
        "POSTGRES_SQLALCHEMY__READ_REPLICA_DSNS": json.dumps(replicas),
    }
    with healthy_cluster.replay_paused():
        primary_query(healthy_cluster, "INSERT INTO items (name) VALUES ('unreplayed')")
        healthy_cluster.wait_for_receipt()
        result = run_cli("doctor", env=env, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"replica 0 postgresql+psycopg://postgres@127.0.0.1:{standby.port}/{DATABASE}" in output
    lines = {line.split("  ")[1]: line for line in result.stdout.splitlines() if line.startswith("  replica ")}
    first, second = lines.values()
    assert "reachable," in first
    assert "bytes of WAL behind the primary" in first
    assert " 0 bytes" not in first  # replay is paused behind a commit
    assert "UNREACHABLE (DatabaseConnectionError" in second
    assert "FAILED: a read replica is unreachable" in output
    assert SECRET not in output

    env["POSTGRES_SQLALCHEMY__READ_REPLICA_DSNS"] = json.dumps(replicas[:1])
    healthy_cluster.wait_for_replay()
    result = run_cli("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reachable, 0 bytes of WAL behind the primary" in result.stdout
    assert result.stdout.rstrip().endswith("OK")
