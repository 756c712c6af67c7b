"""Errors raised when the database refuses, fails or cannot be reached.

Every adapter turns driver exceptions into these (see
``archipy_lite.adapters.base.sqlalchemy.error_translation``) and chains the
original exception as ``__cause__``.
"""

from __future__ import annotations

from archipy_lite.models.errors.base_error import AlreadyExistsError, BaseError


class DatabaseError(BaseError):
    """Root of every database failure."""

    code = "DATABASE_ERROR"
    default_message = "The database operation failed."
    http_status = 500
    grpc_status = "INTERNAL"


class DatabaseConnectionError(DatabaseError):
    """The database could not be reached or dropped the connection."""

    code = "DATABASE_CONNECTION_ERROR"
    default_message = "Could not connect to the database."
    http_status = 503
    grpc_status = "UNAVAILABLE"
    retryable = True


class DatabaseResourceExhaustedError(DatabaseError):
    """The server ran out of connections, memory or disk."""

    code = "DATABASE_RESOURCE_EXHAUSTED"
    default_message = "The database has run out of a resource (connections, memory or disk)."
    http_status = 503
    grpc_status = "RESOURCE_EXHAUSTED"
    retryable = True


class DatabaseQueryError(DatabaseError):
    """A statement failed. Parent of the more specific statement-level errors."""

    code = "DATABASE_QUERY_ERROR"
    default_message = "The database query failed."


class DatabaseReadOnlyError(DatabaseQueryError):
    """A write was attempted on a database opened read-only."""

    code = "DATABASE_READ_ONLY"
    default_message = "The database is read-only."
    http_status = 403
    grpc_status = "PERMISSION_DENIED"


class DatabaseTimeoutError(DatabaseQueryError):
    """A statement, lock wait or connection-pool checkout took too long."""

    code = "DATABASE_TIMEOUT"
    default_message = "The database operation timed out."
    http_status = 504
    grpc_status = "DEADLINE_EXCEEDED"
    retryable = True


class DatabaseTransactionError(DatabaseQueryError):
    """A transaction could not be committed or was aborted by the server."""

    code = "DATABASE_TRANSACTION_ERROR"
    default_message = "The database transaction failed."
    http_status = 500
    grpc_status = "ABORTED"


class DatabaseSerializationError(DatabaseTransactionError):
    """A concurrent transaction conflicted (SQLSTATE 40001); retry the whole transaction."""

    code = "DATABASE_SERIALIZATION_FAILURE"
    default_message = "The transaction conflicted with a concurrent transaction."
    http_status = 503  # transient: the same request can succeed if sent again (see Retry-After)
    retryable = True


class DatabaseDeadlockError(DatabaseTransactionError):
    """The server broke a deadlock by aborting this transaction (SQLSTATE 40P01)."""

    code = "DATABASE_DEADLOCK"
    default_message = "The transaction was aborted to resolve a deadlock."
    http_status = 503  # transient, like a serialization failure
    retryable = True


class DatabaseIntegrityError(DatabaseQueryError):
    """The statement broke an integrity rule of the schema."""

    code = "DATABASE_INTEGRITY_ERROR"
    default_message = "The operation violates a database integrity rule."
    http_status = 409
    grpc_status = "FAILED_PRECONDITION"


class DatabaseConstraintError(DatabaseIntegrityError):
    """A foreign key, NOT NULL or CHECK constraint was violated; ``details`` names it."""

    code = "DATABASE_CONSTRAINT_VIOLATION"
    default_message = "The operation violates a database constraint."


class UniqueViolationError(AlreadyExistsError, DatabaseIntegrityError):
    """A unique constraint was violated: catchable as AlreadyExistsError and as DatabaseIntegrityError."""

    code = "ALREADY_EXISTS"
    default_message = "A record with the same unique value already exists."
    http_status = 409
    grpc_status = "ALREADY_EXISTS"
