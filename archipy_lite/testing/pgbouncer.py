"""A PgBouncer for tests, in front of a PostgreSQL server, on a free port.

Uses the ``pgbouncer`` program (Debian: ``apt-get install pgbouncer``); PgBouncer refuses to run as
root, so as root it runs as the same system user as the test PostgreSQL servers.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import make_url

from archipy_lite.testing import _postgres_binaries as binaries
from archipy_lite.testing.postgres import PostgresUnavailableError, free_tcp_port, with_driver

__all__ = ["PgBouncerUnavailableError", "find_pgbouncer", "pgbouncer"]

_HOST = "127.0.0.1"
_START_TIMEOUT_SECONDS = 15


class PgBouncerUnavailableError(PostgresUnavailableError):
    """The ``pgbouncer`` program is not installed."""


def find_pgbouncer() -> Path:
    """The ``pgbouncer`` executable (it lives in /usr/sbin on Debian, often not on a user's PATH)."""
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise PgBouncerUnavailableError(
            "PgBouncer is not installed: apt-get install pgbouncer (Debian, Ubuntu), brew install pgbouncer (macOS)"
        )
    return Path(found)


def _settings(server_dsn: str, port: int, directory: Path, pool_mode: str, pool_size: int) -> str:
    url = make_url(with_driver(server_dsn, None))
    target = f"host={url.host or _HOST} port={url.port or 5432} user={url.username or 'postgres'}"
    if url.password:
        target += f" password={url.password}"
    return "\n".join(
        [
            "[databases]",
            f"* = {target}",  # every database, forwarded under its own name
            "[pgbouncer]",
            f"listen_addr = {_HOST}",
            f"listen_port = {port}",
            "unix_socket_dir =",
            "auth_type = any",  # clients log in as anyone; PgBouncer connects as the user above
            f"pool_mode = {pool_mode}",
            f"default_pool_size = {pool_size}",
            "max_client_conn = 1000",
            f"logfile = {directory / 'pgbouncer.log'}",
            f"pidfile = {directory / 'pgbouncer.pid'}",
            "",
        ]
    )


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while True:
        try:
            with socket.create_connection((_HOST, port), timeout=0.5):
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            output = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"PgBouncer did not start (exit code {process.poll()}):\n{output}")
        time.sleep(0.05)


@contextmanager
def pgbouncer(
    server_dsn: str, *, pool_mode: Literal["session", "transaction", "statement"] = "transaction", pool_size: int = 10
) -> Iterator[str]:
    """Run PgBouncer in front of ``server_dsn``; yields a DSN of the same database through it.

    ``pool_size`` server connections per database and user serve any number of clients.

    Raises:
        PgBouncerUnavailableError: if the program is not installed.
    """
    executable = find_pgbouncer()
    user = binaries.system_user()
    directory = Path(tempfile.mkdtemp(prefix="archipy_lite_pgbouncer_")).resolve()
    try:
        binaries.give_to(directory, user)
        port = free_tcp_port(_HOST)
        ini = directory / "pgbouncer.ini"
        ini.write_text(_settings(server_dsn, port, directory, pool_mode, pool_size), encoding="utf-8")
        ini.chmod(0o600)  # it may hold the server's password
        binaries.give_to(ini, user)
        process = subprocess.Popen(  # noqa: S603 - fixed executable, no shell
            [str(executable), str(ini)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=user,
        )
        try:
            _wait_until_listening(port, process, directory / "pgbouncer.log")
            yield (
                make_url(with_driver(server_dsn, None)).set(host=_HOST, port=port).render_as_string(hide_password=False)
            )
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
