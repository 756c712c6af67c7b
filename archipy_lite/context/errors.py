"""Errors raised by data managers and contexts."""

from __future__ import annotations

from archipy_lite.models.errors import BaseError


class ContextError(BaseError, RuntimeError):
    """A context was misused: no active context, entered twice, used after exit, or sync where async is needed."""

    code = "CONTEXT_ERROR"
    default_message = "The context cannot be used this way."


class UnknownServiceError(BaseError, AttributeError, KeyError):
    """No service (or service method) is registered under that name; an ``AttributeError`` and a ``KeyError``."""

    code = "UNKNOWN_SERVICE"
    default_message = "No service is registered under that name."


class UnknownResourceError(BaseError, AttributeError, KeyError):
    """No resource is registered under that name; an ``AttributeError`` and a ``KeyError``."""

    code = "UNKNOWN_RESOURCE"
    default_message = "No resource is registered under that name."


class ResourceTeardownError(ExceptionGroup[Exception]):
    """Resources failed to tear down after a context that otherwise succeeded.

    Raised only when nothing else is leaving the context; otherwise the failures
    are added as notes to the exception that is leaving, never raised over it.
    The work of the context is not undone: middleware (a transaction) has already finished.
    """
