"""Servers that speak PostgreSQL's protocol without calling themselves PostgreSQL.

SQLAlchemy reads the server version from ``version()`` and refuses a string that does not name
PostgreSQL; CockroachDB's reads "CockroachDB CCL v24.1 ...". Its ``server_version`` setting does
give the PostgreSQL version it behaves as, so that is read instead whenever ``version()`` fails.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.engine import Connection, Engine

_LEADING_VERSION = re.compile(r"\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def version_from_setting(value: str) -> tuple[int, ...]:
    """``server_version`` ("13.0.0", "15.20 (Debian ...)") as a version tuple; ValueError if it has none."""
    match = _LEADING_VERSION.match(value)
    if match is None:
        raise ValueError("server_version does not start with a version number")
    return tuple(int(part) for part in match.groups() if part is not None)


def accept_foreign_version_strings(engine: Engine) -> None:
    """Make ``engine`` fall back to ``SHOW server_version`` when ``version()`` is not PostgreSQL's."""
    dialect: Any = engine.dialect
    from_version_function = dialect._get_server_version_info

    def server_version_info(connection: Connection) -> tuple[int, ...]:
        try:
            found: tuple[int, ...] = from_version_function(connection)
        except AssertionError:  # "Could not determine version from string ..."
            return version_from_setting(str(connection.exec_driver_sql("SHOW server_version").scalar()))
        return found

    dialect._get_server_version_info = server_version_info
