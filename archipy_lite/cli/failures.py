"""Every failure of a subcommand becomes one line on stderr and a non-zero exit code, never a traceback.

``main`` runs each handler through ``run_handler``, so a subcommand added later gets this for free.
A handler that stores the database it chose on ``arguments.target`` (a ``Target``) also gets
connection failures explained (refused, unknown host, no such database, login rejected).
Set ``ARCHIPY_LITE_TRACEBACK=1`` to see the traceback of a failure.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import sys
import traceback
from collections.abc import Callable

from archipy_lite.cli.output import Printer
from archipy_lite.models.errors import BaseError, DatabaseConnectionError

EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130  # what shells report for SIGINT
TRACEBACK_VARIABLE = "ARCHIPY_LITE_TRACEBACK"

Handler = Callable[[argparse.Namespace, Printer], int]

# The message of an unexpected error may quote a DSN: its password is hidden.
_URL_PASSWORD = re.compile(r"(\w+://[^:/@\s]*):[^@/\s]*@")
# SQLSTATEs that say "could not log in / no such database": the diagnosis explains them better.
_LOGIN_SQLSTATES = frozenset({"28P01", "28000", "3D000", "57P03", "53300"})


def run_handler(handler: Handler, arguments: argparse.Namespace, printer: Printer) -> int:
    """Run one subcommand's handler and turn whatever it raises into one line and an exit code."""
    try:
        return int(handler(arguments, printer))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if os.environ.get(TRACEBACK_VARIABLE):
            traceback.print_exc()
        print(f"error: {describe(error, arguments)}", file=sys.stderr)
        return EXIT_FAILURE


def describe(error: Exception, arguments: argparse.Namespace | None = None) -> str:
    """One line saying what went wrong, without secrets."""
    if isinstance(error, BrokenPipeError):
        return "the output was closed before everything was written (broken pipe)"
    if _local_os_error(error):
        assert isinstance(error, OSError)
        path = error.filename2 or error.filename  # a rename names its destination second
        where = f"{path}: " if path else ""
        return f"{where}{error.strerror or type(error).__name__}"
    typed = _typed(error)
    if isinstance(typed, BaseError):
        explained = _explain_connection_failure(typed, getattr(arguments, "target", None))
        return explained or f"{type(typed).__name__}: {typed.message}"
    detail = _URL_PASSWORD.sub(r"\1:***@", str(error)).splitlines()
    reason = f": {detail[0]}" if detail else ""
    return f"unexpected {type(error).__name__}{reason} (set {TRACEBACK_VARIABLE}=1 to see where)"


def _local_os_error(error: Exception) -> bool:
    """A file or pipe error of this process, not a database it failed to reach (asyncpg raises those raw)."""
    return isinstance(error, OSError) and (
        error.filename is not None or not isinstance(error, ConnectionError | TimeoutError | socket.gaierror)
    )


def _typed(error: Exception) -> BaseException:
    """The library's typed error for ``error`` (driver and SQLAlchemy errors are translated)."""
    if isinstance(error, BaseError):
        return error
    from archipy_lite.adapters.base.sqlalchemy.error_translation import translate_exception

    return translate_exception(error)


def _explain_connection_failure(error: BaseError, target: object) -> str | None:
    """``cannot connect to <masked URL>: <why>`` when ``error`` is a failure to reach ``target``."""
    from archipy_lite.cli.diagnosis import diagnose_postgres, diagnose_sqlite
    from archipy_lite.cli.targets import Target
    from archipy_lite.compat import render_url
    from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig

    sqlstate = error.details.get("sqlstate")
    if not isinstance(target, Target):
        return None
    if not isinstance(error, DatabaseConnectionError) and sqlstate not in _LOGIN_SQLSTATES:
        return None
    config = target.config
    if isinstance(config, PostgresSQLAlchemyConfig):
        reason = diagnose_postgres(config, error)
    else:
        reason = diagnose_sqlite(config, error)
    return f"cannot connect to {render_url(config.url())}: {reason}"
