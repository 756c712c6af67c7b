"""The typed error hierarchy. Catch these; never a driver's exception."""

from archipy_lite.models.errors.base_error import (
    AlreadyExistsError,
    BaseError,
    ConfigurationError,
    InternalError,
    InvalidArgumentError,
    MultipleResultsError,
    NotFoundError,
    UnknownError,
)
from archipy_lite.models.errors.database_errors import (
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
    UniqueViolationError,
)
from archipy_lite.models.errors.migration_errors import MigrationError
from archipy_lite.models.errors.session_errors import (
    LazyLoadError,
    PendingChangesError,
    SessionUsageError,
)
from archipy_lite.models.errors.session_errors import (
    UnsavedChangesWarning as UnsavedChangesWarning,  # a warning, not an error: not in __all__
)

__all__ = [
    "AlreadyExistsError",
    "BaseError",
    "ConfigurationError",
    "DatabaseConnectionError",
    "DatabaseConstraintError",
    "DatabaseDeadlockError",
    "DatabaseError",
    "DatabaseIntegrityError",
    "DatabaseQueryError",
    "DatabaseReadOnlyError",
    "DatabaseResourceExhaustedError",
    "DatabaseSerializationError",
    "DatabaseTimeoutError",
    "DatabaseTransactionError",
    "InternalError",
    "InvalidArgumentError",
    "LazyLoadError",
    "MigrationError",
    "MultipleResultsError",
    "NotFoundError",
    "PendingChangesError",
    "SessionUsageError",
    "UniqueViolationError",
    "UnknownError",
]
