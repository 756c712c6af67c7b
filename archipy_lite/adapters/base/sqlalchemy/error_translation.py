"""The one place where driver and SQLAlchemy exceptions become typed errors.

Classification uses codes, never message text: PostgreSQL SQLSTATE (psycopg's
``sqlstate``, asyncpg's through SQLAlchemy's wrapper) and SQLite (extended)
result codes. Messages are built from the class defaults plus the constraint,
table and column names the server reports, so no bound value (and no password)
ever reaches a message. The original exception is kept as ``__cause__``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect, Engine, ExceptionContext

from archipy_lite.models.errors import (
    BaseError,
    ConfigurationError,
    DatabaseConnectionError,
    DatabaseConstraintError,
    DatabaseDeadlockError,
    DatabaseError,
    DatabaseIntegrityError,
    DatabaseQueryError,
    DatabaseReadOnlyError,
    DatabaseResourceExhaustedError,
    DatabaseSerializationError,
    DatabaseTimeoutError,
    DatabaseTransactionError,
    InvalidArgumentError,
    UniqueViolationError,
)

# Exact PostgreSQL SQLSTATEs first, then two-character classes.
_SQLSTATE_EXACT: dict[str, type[DatabaseError]] = {
    "23505": UniqueViolationError,
    "23503": DatabaseConstraintError,
    "23502": DatabaseConstraintError,
    "23514": DatabaseConstraintError,
    "23P01": DatabaseConstraintError,
    "40001": DatabaseSerializationError,
    "40P01": DatabaseDeadlockError,
    "57014": DatabaseTimeoutError,  # query_canceled (statement_timeout)
    "55P03": DatabaseTimeoutError,  # lock_not_available (lock_timeout, NOWAIT)
    "25P03": DatabaseTimeoutError,  # idle_in_transaction_session_timeout
    "25006": DatabaseReadOnlyError,  # read_only_sql_transaction
    "57P01": DatabaseConnectionError,  # admin_shutdown (pg_terminate_backend)
    "57P02": DatabaseConnectionError,  # crash_shutdown
    "57P03": DatabaseConnectionError,  # cannot_connect_now
    "57P05": DatabaseConnectionError,  # idle_session_timeout
    "3D000": DatabaseConnectionError,  # invalid_catalog_name: database does not exist
}
_SQLSTATE_CLASS: dict[str, type[DatabaseError]] = {
    "08": DatabaseConnectionError,
    "28": DatabaseConnectionError,  # invalid authorization
    "23": DatabaseIntegrityError,
    "40": DatabaseTransactionError,
    "53": DatabaseResourceExhaustedError,
    "54": DatabaseResourceExhaustedError,  # program_limit_exceeded
}

# SQLite primary result codes (extended code & 0xFF) and extended constraint codes.
_SQLITE_CONSTRAINT_UNIQUE = {2067, 1555}  # SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
_SQLITE_PRIMARY: dict[int, type[DatabaseError]] = {
    5: DatabaseTimeoutError,  # SQLITE_BUSY: lock wait exceeded busy_timeout
    6: DatabaseTimeoutError,  # SQLITE_LOCKED
    7: DatabaseResourceExhaustedError,  # SQLITE_NOMEM
    8: DatabaseReadOnlyError,  # SQLITE_READONLY
    9: DatabaseTimeoutError,  # SQLITE_INTERRUPT
    13: DatabaseResourceExhaustedError,  # SQLITE_FULL
    14: DatabaseConnectionError,  # SQLITE_CANTOPEN
    23: DatabaseReadOnlyError,  # SQLITE_AUTH: refused by the authorizer of a read-only engine
    19: DatabaseConstraintError,  # SQLITE_CONSTRAINT (non-unique kinds)
    26: DatabaseConnectionError,  # SQLITE_NOTADB
}
_SQLITE_CONSTRAINT_TYPE = {787: "foreign_key", 1299: "not_null", 275: "check", 2067: "unique", 1555: "primary_key"}
_SQLSTATE_CONSTRAINT_TYPE = {
    "23505": "unique",
    "23503": "foreign_key",
    "23502": "not_null",
    "23514": "check",
    "23P01": "exclusion",
}

_DIAG_FIELDS = ("constraint_name", "table_name", "column_name", "schema_name")

# What a SQLSTATE means, for the messages of the broader classes (never quoting a value).
_SQLSTATE_REASON: dict[str, str] = {
    "22000": "a value does not match the type of its column or parameter",
    "22001": "a value is too long for its column",
    "22003": "a number is out of range for its column",
    "22007": "a value is not a valid date or time",
    "22008": "a date or time is out of range",
    "22021": "a string contains a character the database cannot store, such as a NUL byte",
    "22P02": "a value is not valid input for the type of its column",
    "22P05": "a string contains a character the database cannot store",
    "25P02": "an earlier statement in this transaction failed",
    "42501": "the database role lacks a privilege the statement needs (permission denied)",
    "42804": "a value has the wrong type for its column",
    "42846": "a value cannot be converted to the type of its column",
    "42883": "no operator matches the types of the values compared",
}


def _driver_errors(exc: BaseException) -> Iterator[BaseException]:
    """Walk the exception, its ``orig`` and its cause chain (bounded, cycle-safe)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen or len(seen) > 16:
            continue
        seen.add(id(current))
        yield current
        stack.extend([current.__cause__, getattr(current, "orig", None)])


def _sqlstate(exc: BaseException) -> tuple[str | None, dict[str, Any]]:
    state: str | None = None
    details: dict[str, Any] = {}
    # Names can sit further down the chain than the code: SQLAlchemy's asyncpg wrapper carries the
    # SQLSTATE, the asyncpg error it wraps carries the constraint, table and column.
    for candidate in _driver_errors(exc):
        candidate_state = getattr(candidate, "sqlstate", None)
        if not isinstance(candidate_state, str) or not candidate_state or state not in (None, candidate_state):
            continue
        state = details["sqlstate"] = candidate_state
        diag = getattr(candidate, "diag", candidate)  # psycopg keeps names on .diag, asyncpg on the error
        for name in _DIAG_FIELDS:
            value = getattr(diag, name, None)
            if isinstance(value, str) and value:
                details.setdefault(name.removesuffix("_name"), value)
    if state in _SQLSTATE_CONSTRAINT_TYPE:
        details["constraint_type"] = _SQLSTATE_CONSTRAINT_TYPE[state]
    return state, details


def _sqlite_code(exc: BaseException) -> int | None:
    for candidate in _driver_errors(exc):
        if isinstance(candidate, sqlite3.Error):
            code = getattr(candidate, "sqlite_errorcode", None)
            if isinstance(code, int):
                return code
    return None


def _class_for_sqlstate(state: str) -> type[DatabaseError]:
    return _SQLSTATE_EXACT.get(state) or _SQLSTATE_CLASS.get(state[:2]) or DatabaseQueryError


def _describe(error_class: type[DatabaseError], details: dict[str, Any]) -> str:
    message = error_class.default_message.rstrip(".")
    reason = _SQLSTATE_REASON.get(details.get("sqlstate", ""))
    if reason:
        message = f"{message}: {reason}"
    names = [f"{key} {details[key]!r}" for key in ("constraint", "table", "column") if key in details]
    if "constraint" not in details and "constraint_type" in details:
        names.insert(0, f"{details['constraint_type'].replace('_', ' ')} constraint")
    return f"{message} ({', '.join(names)})." if names else f"{message}."


def translate_exception(exc: BaseException, *, is_disconnect: bool = False) -> BaseException:
    """Return the typed error for ``exc``, or ``exc`` itself when it is not a database failure.

    The caller raises the result ``from exc``.
    """
    if isinstance(exc, BaseError | asyncio.CancelledError):
        return exc
    error_class: type[DatabaseError]
    state, details = _sqlstate(exc)
    if state is not None:
        error_class = _class_for_sqlstate(state)
        if is_disconnect and not issubclass(error_class, DatabaseConnectionError):
            error_class = DatabaseConnectionError
        return error_class(_describe(error_class, details), details=details)
    code = _sqlite_code(exc)
    if code is not None:
        details = {"sqlite_code": code}
        if code in _SQLITE_CONSTRAINT_UNIQUE:
            error_class = UniqueViolationError
        else:
            error_class = _SQLITE_PRIMARY.get(code & 0xFF, DatabaseQueryError)
        if code in _SQLITE_CONSTRAINT_TYPE:
            details["constraint_type"] = _SQLITE_CONSTRAINT_TYPE[code]
        return error_class(_describe(error_class, details), details=details)
    return _translate_without_code(exc, is_disconnect=is_disconnect)


def _translate_without_code(exc: BaseException, *, is_disconnect: bool) -> BaseException:
    if isinstance(exc, sa_exc.TimeoutError):  # connection pool exhausted
        return DatabaseTimeoutError(
            "Timed out waiting for a pooled connection; raise POOL_SIZE or POOL_MAX_OVERFLOW, or shorten transactions.",
            details={"reason": "pool_timeout"},
        )
    if isinstance(exc, sa_exc.DBAPIError) and (is_disconnect or exc.connection_invalidated):
        return DatabaseConnectionError(details={"reason": "connection_lost"})
    if isinstance(exc, sa_exc.InterfaceError | sa_exc.OperationalError | ConnectionError | OSError):
        return DatabaseConnectionError(details={"reason": type(exc).__name__})
    if isinstance(exc, TimeoutError):
        return DatabaseTimeoutError(details={"reason": "timeout"})
    if isinstance(exc, sa_exc.IntegrityError):
        return DatabaseIntegrityError()
    if isinstance(exc, sa_exc.StatementError) and not isinstance(exc, sa_exc.DBAPIError):
        # Raised while preparing parameters (a bind processor rejected a value): bad input.
        return InvalidArgumentError(f"A value could not be sent to the database: {type(exc.orig).__name__}.")
    if isinstance(exc, sa_exc.DataError | sa_exc.ProgrammingError):
        # No SQLSTATE: the driver refused the statement before sending it (a NUL byte in a psycopg
        # string, a value of a type it cannot adapt), so the transaction itself is unharmed.
        return InvalidArgumentError(
            f"A value could not be sent to the database: the driver cannot send it ({type(exc.orig).__name__})."
        )
    if isinstance(exc, sa_exc.SQLAlchemyError):
        return DatabaseQueryError(details={"reason": type(exc).__name__})
    return exc


@contextmanager
def translated_errors() -> Iterator[None]:
    """Re-raise anything that escapes as its typed error, chained to the original."""
    try:
        yield
    except BaseError:
        raise
    except Exception as exc:
        typed = translate_exception(exc)
        if typed is exc:
            raise
        raise typed from exc


# A NUL character in a string: PostgreSQL cannot store it; psycopg refuses it before sending, asyncpg
# would send it (the server rejects it and aborts the transaction) and SQLite would store it. Every
# driver refuses it the same way, before sending: the transaction is unharmed everywhere.
_NUL = "\x00"
_STORES_OR_SENDS_NUL = frozenset({"asyncpg", "pysqlite", "aiosqlite"})


def nul_error() -> InvalidArgumentError:
    return InvalidArgumentError(
        "A value could not be sent to the database: a string contains a NUL character (\\x00).",
        details={"reason": "nul_character"},
    )


def has_nul(parameters: object, *, many: bool) -> bool:
    """Whether a statement's parameters (rows of them when ``many``) hold a string with a NUL."""
    rows: Sequence[object] = parameters if many and isinstance(parameters, Sequence) else (parameters,)
    for row in rows:
        values = row.values() if isinstance(row, Mapping) else row if isinstance(row, Sequence) else ()
        for value in values:
            if isinstance(value, str) and _NUL in value:
                return True
    return False


def _refuse_nul(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
    if (parameters and has_nul(parameters, many=executemany)) or _NUL in statement:
        raise nul_error()


def _refuse_nul_in_sql(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    """For drivers that refuse NULs in parameters themselves: a NUL in the SQL text (a literal)."""
    if _NUL in statement:
        raise nul_error()


# The server could not store a character of a string (a NUL in JSON text, an encoding mismatch).
_UNSTORABLE_CHARACTER = frozenset({"22021", "22P05"})


def _on_engine_error(context: ExceptionContext) -> None:
    if context.is_pre_ping:  # let the pool's liveness check reconnect as designed
        return
    original = context.original_exception
    if isinstance(original, InvalidArgumentError):  # raised by _refuse_nul before anything was sent
        return
    connecting = context.connection is None and context.statement is None
    refused = isinstance(context.sqlalchemy_exception, sa_exc.ProgrammingError) and _sqlstate(original)[0] is None
    if connecting and refused:  # libpq refused an option before reaching the server
        raise _bad_connect_arguments(original)
    if context.sqlalchemy_exception is None and isinstance(original, OverflowError | UnicodeError):
        # Not a driver error class: the driver could not bind a parameter (sqlite3 and an integer
        # beyond 64 bits, psycopg or sqlite3 and a lone surrogate in a string).
        raise InvalidArgumentError(f"A value could not be sent to the database: {type(original).__name__}.")
    if _refused_nul(context):  # psycopg refused the string: say why, in the words the other drivers use
        raise nul_error()
    state, _details = _sqlstate(original)
    if state in _UNSTORABLE_CHARACTER:
        raise InvalidArgumentError(
            f"A value could not be stored: {_SQLSTATE_REASON[state]}.",
            details={"sqlstate": state, "reason": "unstorable_character"},
        )
    typed = translate_exception(original, is_disconnect=context.is_disconnect)
    if typed is not original:
        raise typed


def _refused_nul(context: ExceptionContext) -> bool:
    """The driver refused a statement with a NUL in a string before sending it (no SQLSTATE)."""
    if not isinstance(context.sqlalchemy_exception, sa_exc.DataError) or _sqlstate(context.original_exception)[0]:
        return False
    execution = context.execution_context
    return has_nul(context.parameters, many=bool(execution is not None and execution.executemany))


def _bad_connect_arguments(exc: BaseException) -> ConfigurationError:
    return ConfigurationError(
        f"The database driver refused the connection settings ({type(exc).__name__}): check the connection "
        "fields (a NUL character?), the DSN's query parameters and CONNECT_ARGS for options it does not know."
    )


def _on_connect(dialect: Dialect, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]) -> Any:
    """Connect as SQLAlchemy would; arguments the driver's ``connect()`` rejects become ConfigurationError."""
    try:
        return dialect.connect(*cargs, **cparams)
    except (TypeError, ValueError) as exc:  # unknown keyword in CONNECT_ARGS or the DSN query, bad value
        raise _bad_connect_arguments(exc) from exc


def install_error_translation(engine: Engine) -> None:
    """Make every statement on ``engine`` (ORM, Core or raw) raise typed errors.

    Called once, right after the session manager builds the engine, so no "already listening" check
    (SQLAlchemy's ``event.contains`` keys its registry on ``id()``, which a new engine may reuse).
    """
    event.listen(engine, "handle_error", _on_engine_error)
    event.listen(engine, "do_connect", _on_connect)
    if engine.dialect.driver in _STORES_OR_SENDS_NUL:
        event.listen(engine, "before_cursor_execute", _refuse_nul)
    else:
        event.listen(engine, "before_cursor_execute", _refuse_nul_in_sql)
