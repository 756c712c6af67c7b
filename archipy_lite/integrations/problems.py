"""Typed errors as RFC 9457 problem details (``application/problem+json``), for any web framework.

Without ``debug`` a problem says what kind of failure happened and nothing about the schema: the
detail is the error class's fixed message, never the constraint, table, column or SQL the
database named. ``debug=True`` adds the full message and the error's ``details``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from archipy_lite.models.errors import BaseError

MEDIA_TYPE = "application/problem+json"
RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True)
class Problem:
    """One problem response: status, headers and JSON body."""

    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...]

    def encoded_body(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":"), default=str).encode()

    def asgi_headers(self) -> list[tuple[bytes, bytes]]:
        body_length = str(len(self.encoded_body()))
        return [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", body_length.encode())] + [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in self.headers
        ]


def problem_for(error: BaseException, *, debug: bool = False) -> Problem:
    """The problem response for ``error`` (anything not a ``BaseError`` is a bare 500)."""
    if not isinstance(error, BaseError):
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": 500,
            "detail": "The server could not complete the request.",
            "code": "INTERNAL_ERROR",
        }
        return Problem(500, body, ())
    cls = type(error)
    body = {
        "type": f"urn:archipy-lite:problem:{cls.code.lower().replace('_', '-')}",
        "title": _title(cls),
        "status": cls.http_status,
        "detail": error.message if debug else cls.default_message,
        "code": cls.code,
    }
    if debug:
        body["details"] = dict(error.details)
    headers = (("retry-after", str(RETRY_AFTER_SECONDS)),) if cls.retryable else ()
    return Problem(cls.http_status, body, headers)


def _title(cls: type[BaseError]) -> str:
    """``DatabaseSerializationError`` -> ``Database serialization error``."""
    words: list[str] = []
    for char in cls.__name__:
        if char.isupper() and words:
            words.append(" ")
        words.append(char.lower() if words else char)
    return "".join(words)
