"""Errors and warnings about how a session was used, rather than about the database."""

from __future__ import annotations

from archipy_lite.models.errors.base_error import BaseError


class SessionUsageError(BaseError):
    """The ORM session was asked to do something it cannot do safely where it was asked."""

    code = "SESSION_USAGE_ERROR"
    default_message = "The session cannot do this here."
    http_status = 500
    grpc_status = "FAILED_PRECONDITION"


class PendingChangesError(SessionUsageError):
    """A call outside atomic blocks would also have written changes to objects it was not given."""

    code = "PENDING_CHANGES"
    default_message = "The session holds unsaved changes to other objects; save or discard them first."


class LazyLoadError(SessionUsageError):
    """An attribute needed a query where none can run: an async session outside ``await``, or a detached object."""

    code = "LAZY_LOAD_NOT_POSSIBLE"
    default_message = "The attribute is not loaded and cannot be loaded here."


class UnsavedChangesWarning(UserWarning):
    """A unit of work ended while its session held changes nobody saved; they were discarded."""
