"""One-line explanations of why a database could not be reached."""

from __future__ import annotations

import socket
from pathlib import Path

from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.models.errors import BaseError

_SQLSTATE_DIAGNOSES = {
    "28P01": "authentication failed for user {user!r} (wrong password, or no such role)",
    "28000": "the server rejected user {user!r} (pg_hba.conf or role missing)",
    "3D000": "database {database!r} does not exist",
    "57P03": "the server is starting up or shutting down",
    "53300": "the server has no free connection slots",
}


def diagnose_network(host: str, port: int, timeout: float) -> str | None:
    """Explain a failure to reach ``host:port`` over TCP, or None when it answers."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return f"wrong host: {host!r} cannot be resolved"
    last: str | None = None
    for family, kind, protocol, _, address in addresses:
        try:
            with socket.socket(family, kind, protocol) as probe:
                probe.settimeout(timeout)
                probe.connect(address)
                return None
        except ConnectionRefusedError:
            last = f"connection refused by {host}:{port} (is PostgreSQL running and listening there?)"
        except TimeoutError:
            last = f"no answer from {host}:{port} within {timeout:g} s (firewall or wrong host?)"
        except OSError as error:
            last = f"cannot reach {host}:{port}: {error.strerror or type(error).__name__}"
    return last


def diagnose_postgres(config: PostgresSQLAlchemyConfig, error: BaseError) -> str:
    """The most specific explanation available for a failed PostgreSQL connection."""
    if config.HOST and not config.HOST.startswith("/"):
        network = diagnose_network(config.HOST, config.PORT or 5432, config.CONNECT_TIMEOUT or 5)
        if network:
            return network
    sqlstate = error.details.get("sqlstate")
    if not isinstance(sqlstate, str) or not sqlstate:
        sqlstate = _probe_login(config)
    if sqlstate in _SQLSTATE_DIAGNOSES:
        return _SQLSTATE_DIAGNOSES[sqlstate].format(user=config.USERNAME, database=config.DATABASE)
    suffix = f" (SQLSTATE {sqlstate})" if sqlstate else ""
    return f"{type(error).__name__}: {error.message}{suffix}"


def _probe_login(config: PostgresSQLAlchemyConfig) -> str | None:
    """Find the SQLSTATE libpq hides on connection failures by logging in to the maintenance database.

    psycopg reports failed connections without a SQLSTATE; if the same credentials work on
    ``postgres``, the target database is what is missing; if they do not, the login is refused.
    """
    try:
        import psycopg
    except ImportError:
        return None
    timeout = max(1, round(config.CONNECT_TIMEOUT or 5))
    password = config.PASSWORD.get_secret_value() if config.PASSWORD else None
    try:
        with psycopg.connect(
            host=config.HOST,
            port=config.PORT,
            user=config.USERNAME,
            password=password,
            dbname="postgres",
            connect_timeout=timeout,
        ) as connection:
            row = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (config.DATABASE,)).fetchone()
    except psycopg.Error as probe_error:
        needs_password = probe_error.pgconn is not None and probe_error.pgconn.needs_password
        return "28P01" if needs_password or password else "28000"
    return "3D000" if row is None else None


def diagnose_sqlite(config: SQLiteSQLAlchemyConfig, error: BaseError) -> str:
    """The most specific explanation available for a failed SQLite open."""
    if not config.is_memory and config.DATABASE:
        path = Path(config.DATABASE)
        if config.READ_ONLY and not path.exists():
            return f"data set file {str(path)!r} does not exist"
        if not path.parent.exists():
            return f"directory {str(path.parent)!r} does not exist"
    return f"{type(error).__name__}: {error.message}"
