"""A private PostgreSQL cluster from the PostgreSQL installed on this machine.

The binaries (``initdb``, ``pg_ctl``) are looked for as pytest-postgresql does: on ``PATH``,
through ``pg_config --bindir``, then in the usual distribution directories. The cluster lives in
a temporary directory, listens on ``127.0.0.1`` and a free port, and is removed afterwards.
PostgreSQL refuses to run as root, so as root the cluster runs as the ``postgres`` system user
(which distribution packages create), or ``nobody``.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from archipy_lite.testing._cluster import HOST, run_quietly, start_postmaster

__all__ = ["DISTRIBUTION_DIRECTORIES", "find_local_binaries", "local_server"]

logger = logging.getLogger(__name__)

BIN_ENV_VAR: Final = "ARCHIPY_LITE_TEST_POSTGRES_BIN"
DISTRIBUTION_DIRECTORIES: Final = (
    "/usr/lib/postgresql/*/bin",  # Debian, Ubuntu
    "/usr/pgsql-*/bin",  # RHEL, Fedora (PGDG packages)
    "/usr/lib64/pgsql/bin",
    "/usr/local/pgsql/bin",  # built from source
    "/opt/homebrew/opt/postgresql*/bin",  # Homebrew on Apple silicon
    "/usr/local/opt/postgresql*/bin",  # Homebrew on Intel
    "/Applications/Postgres.app/Contents/Versions/*/bin",
    "/usr/local/lib/postgresql*/bin",
)
_UNPRIVILEGED_USERS: Final = ("postgres", "nobody")
_STOP_TIMEOUT_SECONDS: Final = 60


SERVER_TOOLS: Final = ("initdb", "pg_ctl", "postgres")


def _has_tools(directory: Path, tools: tuple[str, ...]) -> bool:
    return all(os.access(directory / tool, os.X_OK) for tool in tools)


def _version_key(directory: str) -> tuple[int, ...]:
    return tuple(int(number) for number in re.findall(r"\d+", directory)) or (0,)


def _pg_config_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        returncode, output = run_quietly([pg_config, "--bindir"], user=None, timeout=10)
    except OSError:
        return None
    return Path(output.strip()) if returncode == 0 and output.strip() else None


def find_local_binaries(tools: tuple[str, ...] = SERVER_TOOLS) -> Path | None:
    """The directory holding ``tools`` (by default ``initdb``, ``pg_ctl`` and ``postgres``), or None.

    Order: ``$ARCHIPY_LITE_TEST_POSTGRES_BIN``, ``initdb`` on ``PATH``, ``pg_config --bindir``,
    then the distribution directories, newest version first.
    """
    candidates: list[Path] = []
    if os.environ.get(BIN_ENV_VAR):
        candidates.append(Path(os.environ[BIN_ENV_VAR]))
    on_path = shutil.which("initdb")
    if on_path is not None:
        candidates.append(Path(on_path).resolve().parent)
    bindir = _pg_config_bindir()
    if bindir is not None:
        candidates.append(bindir)
    for pattern in DISTRIBUTION_DIRECTORIES:
        candidates.extend(Path(found) for found in sorted(glob.glob(pattern), key=_version_key, reverse=True))
    return next((candidate for candidate in candidates if _has_tools(candidate, tools)), None)


def _unprivileged_user() -> str | None:
    """None when we may run PostgreSQL ourselves; else a system user that may."""
    if os.name == "nt" or os.geteuid() != 0:
        return None
    import pwd

    for name in _UNPRIVILEGED_USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user exists to run PostgreSQL as")


def _hand_over(root: Path, user: str | None) -> None:
    if user is None:
        return
    import pwd

    entry = pwd.getpwnam(user)
    os.chown(root, entry.pw_uid, entry.pw_gid)


@contextmanager
def local_server(bindir: Path) -> Iterator[str]:
    """Run a private cluster with the binaries in ``bindir``; yields its maintenance DSN."""
    started = time.perf_counter()
    user = _unprivileged_user()
    root = Path(tempfile.mkdtemp(prefix="archipy_lite_localpg_")).resolve()
    pgdata, log = root / "pgdata", root / "server.log"
    try:
        _hand_over(root, user)
        initdb = [str(bindir / "initdb"), "-D", str(pgdata), "-U", "postgres", "-A", "trust", "-E", "UTF8", "-N"]
        returncode, output = run_quietly(initdb, user=user, timeout=120)
        if returncode != 0:
            raise RuntimeError(f"initdb ({bindir}) exited with {returncode}:\n{output[-4000:]}")
        port = start_postmaster(bindir / "pg_ctl", pgdata, log, user=user)
        try:
            logger.info(
                "local PostgreSQL (%s, port %d, data %s) ready in %.2fs",
                bindir,
                port,
                pgdata,
                time.perf_counter() - started,
            )
            yield f"postgresql://postgres@{HOST}:{port}/postgres"
        finally:
            stop = [str(bindir / "pg_ctl"), "-D", str(pgdata), "-m", "immediate", "-w", "stop"]
            returncode, output = run_quietly(stop, user=user, timeout=_STOP_TIMEOUT_SECONDS)
            if returncode != 0:
                logger.warning("could not stop local PostgreSQL in %s: %s", pgdata, output)
    finally:
        shutil.rmtree(root, ignore_errors=True)
