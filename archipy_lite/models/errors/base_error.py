"""The root of the error hierarchy and the errors that are not about a database."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

# gRPC status names and their numbers (google.rpc.Code), for ``grpc_status_code``.
GRPC_STATUS_CODES: Mapping[str, int] = MappingProxyType(
    {
        "OK": 0,
        "CANCELLED": 1,
        "UNKNOWN": 2,
        "INVALID_ARGUMENT": 3,
        "DEADLINE_EXCEEDED": 4,
        "NOT_FOUND": 5,
        "ALREADY_EXISTS": 6,
        "PERMISSION_DENIED": 7,
        "RESOURCE_EXHAUSTED": 8,
        "FAILED_PRECONDITION": 9,
        "ABORTED": 10,
        "OUT_OF_RANGE": 11,
        "UNIMPLEMENTED": 12,
        "INTERNAL": 13,
        "UNAVAILABLE": 14,
        "DATA_LOSS": 15,
        "UNAUTHENTICATED": 16,
    }
)


class BaseError(Exception):
    """Root of every error this library raises.

    Each subclass fixes a stable machine-readable ``code``, an HTTP status, a gRPC
    status name (``grpc_status``; its number, as ArchiPy's ``grpc_status`` is, in
    ``grpc_status_code``) and whether retrying the same operation can succeed.
    Instances carry an English ``message`` and optional ``details`` (never secrets).
    """

    code: ClassVar[str] = "UNKNOWN_ERROR"
    default_message: ClassVar[str] = "An unexpected error occurred."
    http_status: ClassVar[int] = 500
    grpc_status: ClassVar[str] = "UNKNOWN"
    grpc_status_code: ClassVar[int] = 2
    retryable: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        try:
            cls.grpc_status_code = GRPC_STATUS_CODES[cls.grpc_status]
        except KeyError:
            raise TypeError(f"{cls.__name__}.grpc_status {cls.grpc_status!r} is not a gRPC status name") from None

    def __init__(self, message: str | None = None, *, details: Mapping[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.details: Mapping[str, Any] = MappingProxyType(dict(details or {}))
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # The default reduction fails on the read-only ``details`` proxy; errors must pickle to
        # cross process boundaries (process pools, task queues).
        state = {key: value for key, value in self.__dict__.items() if key != "details"}
        return _rebuild_error, (type(self), self.message, dict(self.details)), state

    @property
    def additional_data(self) -> dict[str, Any]:
        """ArchiPy's name for ``details``."""
        return dict(self.details)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description suitable for an API error body."""
        return {
            "code": self.code,
            "message": self.message,
            "http_status": self.http_status,
            "grpc_status": self.grpc_status,
            "retryable": self.retryable,
            "details": dict(self.details),
        }


def _rebuild_error(cls: type[BaseError], message: str, details: dict[str, Any]) -> BaseError:
    """Unpickle a ``BaseError`` without calling a subclass ``__init__`` that may take other arguments."""
    error = cls.__new__(cls)
    BaseError.__init__(error, message, details=details)
    return error


class UnknownError(BaseError):
    """An error of unknown origin (ArchiPy's ``UnknownError``); the library itself never raises it."""

    code = "UNKNOWN_ERROR"
    default_message = "An unknown error occurred."
    http_status = 500
    grpc_status = "UNKNOWN"


class InternalError(BaseError):
    """An unexpected condition inside the application (ArchiPy's ``InternalError``).

    ArchiPy's atomic decorators wrapped any non-database exception in it; archipy_lite lets your own
    exceptions through unchanged and never raises this itself. It is here for code that raises or
    catches it.
    """

    code = "INTERNAL_ERROR"
    default_message = "An internal error occurred."
    http_status = 500
    grpc_status = "INTERNAL"


class ConfigurationError(BaseError):
    """Configuration is missing or invalid, or a required driver is not installed."""

    code = "CONFIGURATION_ERROR"
    default_message = "The configuration is invalid."
    http_status = 500
    grpc_status = "FAILED_PRECONDITION"


class InvalidArgumentError(BaseError):
    """A caller passed a value the operation cannot accept."""

    code = "INVALID_ARGUMENT"
    default_message = "An argument is invalid."
    http_status = 400
    grpc_status = "INVALID_ARGUMENT"


class NotFoundError(BaseError):
    """The requested record does not exist."""

    code = "NOT_FOUND"
    default_message = "The requested resource was not found."
    http_status = 404
    grpc_status = "NOT_FOUND"


class AlreadyExistsError(BaseError):
    """A record with the same unique key already exists."""

    code = "ALREADY_EXISTS"
    default_message = "The resource already exists."
    http_status = 409
    grpc_status = "ALREADY_EXISTS"


class MultipleResultsError(BaseError):
    """A lookup that needs exactly one row (``Store.one``) matched several."""

    code = "MULTIPLE_RESULTS"
    default_message = "More than one record matches."
    http_status = 409
    grpc_status = "FAILED_PRECONDITION"
