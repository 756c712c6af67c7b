"""Tests for archipy_lite.models.errors: the typed error hierarchy."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from archipy_lite.models import errors
from archipy_lite.models.errors import (
    AlreadyExistsError,
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
    InternalError,
    InvalidArgumentError,
    LazyLoadError,
    MigrationError,
    MultipleResultsError,
    NotFoundError,
    PendingChangesError,
    SessionUsageError,
    UniqueViolationError,
    UnknownError,
)

# class: (code, http_status, grpc_status, retryable)
EXPECTED: dict[type[BaseError], tuple[str, int, str, bool]] = {
    BaseError: ("UNKNOWN_ERROR", 500, "UNKNOWN", False),
    ConfigurationError: ("CONFIGURATION_ERROR", 500, "FAILED_PRECONDITION", False),
    InvalidArgumentError: ("INVALID_ARGUMENT", 400, "INVALID_ARGUMENT", False),
    NotFoundError: ("NOT_FOUND", 404, "NOT_FOUND", False),
    MultipleResultsError: ("MULTIPLE_RESULTS", 409, "FAILED_PRECONDITION", False),
    InternalError: ("INTERNAL_ERROR", 500, "INTERNAL", False),
    UnknownError: ("UNKNOWN_ERROR", 500, "UNKNOWN", False),
    AlreadyExistsError: ("ALREADY_EXISTS", 409, "ALREADY_EXISTS", False),
    DatabaseError: ("DATABASE_ERROR", 500, "INTERNAL", False),
    DatabaseConnectionError: ("DATABASE_CONNECTION_ERROR", 503, "UNAVAILABLE", True),
    DatabaseResourceExhaustedError: ("DATABASE_RESOURCE_EXHAUSTED", 503, "RESOURCE_EXHAUSTED", True),
    DatabaseQueryError: ("DATABASE_QUERY_ERROR", 500, "INTERNAL", False),
    DatabaseReadOnlyError: ("DATABASE_READ_ONLY", 403, "PERMISSION_DENIED", False),
    DatabaseTimeoutError: ("DATABASE_TIMEOUT", 504, "DEADLINE_EXCEEDED", True),
    DatabaseTransactionError: ("DATABASE_TRANSACTION_ERROR", 500, "ABORTED", False),
    DatabaseSerializationError: ("DATABASE_SERIALIZATION_FAILURE", 503, "ABORTED", True),
    DatabaseDeadlockError: ("DATABASE_DEADLOCK", 503, "ABORTED", True),
    DatabaseIntegrityError: ("DATABASE_INTEGRITY_ERROR", 409, "FAILED_PRECONDITION", False),
    DatabaseConstraintError: ("DATABASE_CONSTRAINT_VIOLATION", 409, "FAILED_PRECONDITION", False),
    UniqueViolationError: ("ALREADY_EXISTS", 409, "ALREADY_EXISTS", False),
    SessionUsageError: ("SESSION_USAGE_ERROR", 500, "FAILED_PRECONDITION", False),
    PendingChangesError: ("PENDING_CHANGES", 500, "FAILED_PRECONDITION", False),
    LazyLoadError: ("LAZY_LOAD_NOT_POSSIBLE", 500, "FAILED_PRECONDITION", False),
    MigrationError: ("MIGRATION_ERROR", 500, "FAILED_PRECONDITION", False),
}

# class: the classes it must be catchable as (besides itself and BaseError)
PARENTS: dict[type[BaseError], set[type[BaseError]]] = {
    ConfigurationError: set(),
    InvalidArgumentError: set(),
    NotFoundError: set(),
    MultipleResultsError: set(),
    InternalError: set(),
    UnknownError: set(),
    AlreadyExistsError: set(),
    DatabaseError: set(),
    DatabaseConnectionError: {DatabaseError},
    DatabaseResourceExhaustedError: {DatabaseError},
    DatabaseQueryError: {DatabaseError},
    DatabaseReadOnlyError: {DatabaseQueryError, DatabaseError},
    DatabaseTimeoutError: {DatabaseQueryError, DatabaseError},
    DatabaseTransactionError: {DatabaseQueryError, DatabaseError},
    DatabaseSerializationError: {DatabaseTransactionError, DatabaseQueryError, DatabaseError},
    DatabaseDeadlockError: {DatabaseTransactionError, DatabaseQueryError, DatabaseError},
    DatabaseIntegrityError: {DatabaseQueryError, DatabaseError},
    DatabaseConstraintError: {DatabaseIntegrityError, DatabaseQueryError, DatabaseError},
    UniqueViolationError: {AlreadyExistsError, DatabaseIntegrityError, DatabaseQueryError, DatabaseError},
    SessionUsageError: set(),
    PendingChangesError: {SessionUsageError},
    LazyLoadError: {SessionUsageError},
    MigrationError: set(),
}

ALL_ERRORS = list(EXPECTED)


class TenantNotFoundError(NotFoundError):
    """An application error whose constructor takes different arguments."""

    def __init__(self, tenant: str) -> None:
        super().__init__(f"tenant {tenant} not found", details={"tenant": tenant})
        self.tenant = tenant


def test_every_exported_error_is_covered() -> None:
    exported = {getattr(errors, name) for name in errors.__all__}
    assert exported == set(EXPECTED)
    assert all(issubclass(cls, BaseError) and issubclass(cls, Exception) for cls in exported)


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_class_attributes(cls: type[BaseError]) -> None:
    code, http_status, grpc_status, retryable = EXPECTED[cls]
    assert cls.code == code
    assert cls.http_status == http_status
    assert cls.grpc_status == grpc_status
    assert cls.retryable is retryable
    error = cls()
    assert (error.code, error.http_status, error.grpc_status, error.retryable) == EXPECTED[cls]
    assert error.grpc_status_code == errors.base_error.GRPC_STATUS_CODES[grpc_status]  # ArchiPy's number
    assert error.additional_data == dict(error.details)  # ArchiPy's name


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_default_message(cls: type[BaseError]) -> None:
    error = cls()
    assert error.message == cls.default_message
    assert str(error) == cls.default_message
    assert error.args == (cls.default_message,)
    assert error.message.strip()
    assert error.message.endswith(".")
    assert dict(error.details) == {}


def test_default_messages_are_specific() -> None:
    messages = [cls.default_message for cls in ALL_ERRORS]
    assert len(set(messages)) == len(messages)


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_custom_message_and_details(cls: type[BaseError]) -> None:
    error = cls("custom text", details={"table": "users", "columns": ["email"]})
    assert error.message == "custom text"
    assert str(error) == "custom text"
    assert error.details["table"] == "users"
    assert repr(error) == f"{cls.__name__}(code={cls.code!r}, message='custom text')"


def test_empty_message_falls_back_to_default() -> None:
    assert NotFoundError("").message == NotFoundError.default_message


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_to_dict(cls: type[BaseError]) -> None:
    error = cls("boom", details={"constraint": "users_email_key", "count": 2})
    body = error.to_dict()
    code, http_status, grpc_status, retryable = EXPECTED[cls]
    assert body == {
        "code": code,
        "message": "boom",
        "http_status": http_status,
        "grpc_status": grpc_status,
        "retryable": retryable,
        "details": {"constraint": "users_email_key", "count": 2},
    }
    assert json.loads(json.dumps(body)) == body  # JSON-ready


def test_to_dict_returns_a_copy() -> None:
    error = DatabaseConstraintError(details={"constraint": "fk"})
    body = error.to_dict()
    body["details"]["constraint"] = "changed"
    body["code"] = "changed"
    assert error.details["constraint"] == "fk"
    assert error.to_dict()["code"] == "DATABASE_CONSTRAINT_VIOLATION"


def test_details_are_immutable() -> None:
    error = DatabaseIntegrityError(details={"constraint": "users_email_key"})
    with pytest.raises(TypeError):
        error.details["constraint"] = "other"  # type: ignore[index]
    with pytest.raises(TypeError):
        del error.details["constraint"]  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        error.details.update({"x": 1})  # type: ignore[attr-defined]
    assert dict(error.details) == {"constraint": "users_email_key"}


def test_details_are_copied_from_the_callers_mapping() -> None:
    source: dict[str, Any] = {"constraint": "users_email_key"}
    error = UniqueViolationError(details=source)
    source["constraint"] = "mutated"
    source["extra"] = True
    assert dict(error.details) == {"constraint": "users_email_key"}


def test_details_keyword_only() -> None:
    with pytest.raises(TypeError):
        DatabaseError("message", {"x": 1})  # type: ignore[call-arg]


def _translate(original: Exception) -> None:
    try:
        raise original
    except ValueError as exc:
        raise DatabaseQueryError("query failed") from exc


def _tutorial_reraise() -> None:
    try:
        raise KeyError("HOST")
    except Exception as e:
        raise ConfigurationError() from e


def test_chaining_with_raise_from() -> None:
    original = ValueError("driver said no")
    with pytest.raises(DatabaseQueryError) as excinfo:
        _translate(original)
    assert excinfo.value.__cause__ is original
    assert excinfo.value.__suppress_context__ is True


def test_tutorial_style_bare_reraise_keeps_cause() -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        _tutorial_reraise()
    assert isinstance(excinfo.value.__cause__, KeyError)
    assert excinfo.value.message == ConfigurationError.default_message


@pytest.mark.parametrize("catch_as", [AlreadyExistsError, DatabaseIntegrityError, DatabaseQueryError, DatabaseError])
def test_unique_violation_catchable_as(catch_as: type[BaseError]) -> None:
    caught: BaseError | None = None
    try:
        raise UniqueViolationError(details={"constraint": "users_username_key"})
    except catch_as as exc:
        caught = exc
    assert isinstance(caught, UniqueViolationError)
    assert caught.details["constraint"] == "users_username_key"


def test_unique_violation_caught_by_the_tutorial_create_handler() -> None:
    """The tutorial catches AlreadyExistsError before DatabaseQueryError: the first clause must win."""
    branch = ""
    try:
        raise UniqueViolationError()
    except AlreadyExistsError:
        branch = "already-exists"
    except DatabaseQueryError:
        branch = "query-error"
    assert branch == "already-exists"


def test_unique_violation_is_not_a_constraint_error_or_transaction_error() -> None:
    assert not issubclass(UniqueViolationError, DatabaseConstraintError)
    assert not issubclass(UniqueViolationError, DatabaseTransactionError)
    assert not issubclass(AlreadyExistsError, DatabaseError)  # a plain AlreadyExistsError is not about a database


@pytest.mark.parametrize("cls", list(PARENTS), ids=lambda cls: cls.__name__)
def test_hierarchy(cls: type[BaseError]) -> None:
    expected_parents = PARENTS[cls]
    for other in ALL_ERRORS:
        if other is cls or other is BaseError:
            assert issubclass(cls, other)
        else:
            assert issubclass(cls, other) == (other in expected_parents), other.__name__


@pytest.mark.parametrize("cls", [DatabaseSerializationError, DatabaseDeadlockError])
def test_serialization_and_deadlock_are_retryable_transaction_errors(cls: type[BaseError]) -> None:
    with pytest.raises(DatabaseTransactionError) as excinfo:
        raise cls()
    assert excinfo.value.retryable is True
    assert excinfo.value.grpc_status == "ABORTED"


def test_retryable_set_is_exactly_the_transient_failures() -> None:
    retryable = {cls for cls in ALL_ERRORS if cls.retryable}
    assert retryable == {
        DatabaseConnectionError,
        DatabaseResourceExhaustedError,
        DatabaseTimeoutError,
        DatabaseSerializationError,
        DatabaseDeadlockError,
    }


def test_codes_unique_per_class_except_unique_violation() -> None:
    by_code: dict[str, list[type[BaseError]]] = {}
    for cls in ALL_ERRORS:
        by_code.setdefault(cls.code, []).append(cls)
    shared = {code: classes for code, classes in by_code.items() if len(classes) > 1}
    # Deliberate sharing: a unique violation is reported to clients as ALREADY_EXISTS, and ArchiPy's
    # UnknownError has the code of the root (as in ArchiPy).
    assert shared == {
        "ALREADY_EXISTS": [AlreadyExistsError, UniqueViolationError],
        "UNKNOWN_ERROR": [BaseError, UnknownError],
    }


def test_codes_are_upper_snake_case() -> None:
    for cls in ALL_ERRORS:
        assert cls.code.replace("_", "").isalpha()
        assert cls.code == cls.code.upper()


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_pickle_round_trip(cls: type[BaseError]) -> None:
    """Errors cross process boundaries (process pools, task queues) intact."""
    error = cls("pickled", details={"constraint": "c", "values": [1, 2]})
    error.sqlstate = "23505"  # type: ignore[attr-defined]
    restored = pickle.loads(pickle.dumps(error))
    assert type(restored) is cls
    assert restored.message == "pickled"
    assert str(restored) == "pickled"
    assert dict(restored.details) == {"constraint": "c", "values": [1, 2]}
    assert restored.sqlstate == "23505"
    with pytest.raises(TypeError):
        restored.details["constraint"] = "x"


def test_subclass_with_its_own_init_still_pickles() -> None:
    restored = pickle.loads(pickle.dumps(TenantNotFoundError("acme")))
    assert type(restored) is TenantNotFoundError
    assert isinstance(restored, NotFoundError)
    assert restored.message == "tenant acme not found"
    assert restored.tenant == "acme"
    assert dict(restored.details) == {"tenant": "acme"}
