"""Starting a private postmaster on ``127.0.0.1`` and a free port: shared by the local and embedded servers."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Final

logger = logging.getLogger(__name__)

HOST: Final = "127.0.0.1"
START_ATTEMPTS: Final = 3
START_TIMEOUT_SECONDS: Final = 60
# Durability is pointless for a throw-away test server; turning it off makes CREATE DATABASE fast.
SERVER_OPTIONS: Final = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def free_tcp_port(host: str = HOST) -> int:
    """Ask the kernel for a currently unused TCP port on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def tail(path: Path, limit: int = 4000) -> str:
    """Return the last ``limit`` characters of a text file, or an empty string."""
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def run_quietly(command: list[str], *, user: str | None, timeout: float) -> tuple[int, str]:
    """Run a PostgreSQL tool; output goes to a temporary file (pg_ctl's children keep pipes open)."""
    with tempfile.TemporaryFile("w+") as out:
        result = subprocess.run(  # noqa: S603 - fixed executable, no shell
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            check=False,
            timeout=timeout,
            user=user,
        )
        out.seek(0)
        return result.returncode, out.read()


def start_postmaster(pg_ctl: Path, pgdata: Path, log: Path, *, user: str | None) -> int:
    """``pg_ctl start`` on a free TCP port (no Unix socket), retrying if the port was taken meanwhile.

    Returns the port. Raises RuntimeError with pg_ctl's output and the server log's tail.
    """
    failure = ""
    for _attempt in range(START_ATTEMPTS):
        port = free_tcp_port()
        options = f"-h {HOST} -p {port} {SERVER_OPTIONS}"
        if os.name != "nt":
            options += ' -k ""'  # no Unix socket: nothing to clash with, no path-length limits
        command = [
            str(pg_ctl),
            *("-D", str(pgdata), "-l", str(log), "-w", "-t", str(START_TIMEOUT_SECONDS)),
            *("-o", options, "start"),
        ]
        returncode, output = run_quietly(command, user=user, timeout=START_TIMEOUT_SECONDS + 30)
        if returncode == 0:
            return port
        failure = f"pg_ctl exited with {returncode}:\n{output}\nserver log:\n{tail(log)}"
        logger.debug("PostgreSQL failed to start on port %d: %s", port, failure)
    raise RuntimeError(f"PostgreSQL did not start after {START_ATTEMPTS} attempts; last {failure}")
