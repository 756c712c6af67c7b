"""Errors of schema migrations (``archipy_lite.migrations``, ``archipy-lite db``)."""

from __future__ import annotations

from archipy_lite.models.errors.base_error import BaseError


class MigrationError(BaseError):
    """A migration command could not run: unknown revision, script directory missing, database behind."""

    code = "MIGRATION_ERROR"
    default_message = "The migration could not run."
    http_status = 500
    grpc_status = "FAILED_PRECONDITION"
