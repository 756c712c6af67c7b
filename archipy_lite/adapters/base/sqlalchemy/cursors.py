"""Pagination cursors: opaque, URL-safe tokens that carry a row's sort values, signed with HMAC-SHA256.

A token is ``base64url(version | tag | payload)``: ``tag`` is the HMAC-SHA256 of version and
payload (truncated to 128 bits), ``payload`` the JSON of the search's fingerprint, the direction,
the issue time and the row's sort values. Decoding checks, in order: shape, version, tag,
fingerprint (a cursor of another search), age and arity; any failure is ``InvalidArgumentError``.
The key is ``CURSOR_SECRET_KEY`` of the adapter's configuration, or a random key per process.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import logging
import math
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Literal
from uuid import UUID

from archipy_lite.configs.config_template import SQLAlchemyConfig
from archipy_lite.models.errors import InvalidArgumentError

logger = logging.getLogger(__name__)

Direction = Literal["after", "before"]
VERSION = 1
_TAG_BYTES = 16
_DOMAIN = b"archipy_lite.cursor\x00"
_PROCESS_KEY = secrets.token_bytes(32)


@dataclass(frozen=True)
class Cursor:
    """A decoded cursor: the page starts strictly ``direction`` the row whose sort values are ``values``.

    No values: "after" is the first page, "before" the last.
    """

    direction: Direction
    values: tuple[Any, ...]


class CursorSigner:
    """Encodes and verifies cursors with one key; ``max_age`` (seconds) refuses older cursors."""

    def __init__(self, key: bytes, max_age: int | None = None) -> None:
        self._key = key
        self._max_age = max_age

    def __repr__(self) -> str:
        return f"<CursorSigner max_age={self._max_age}>"  # never the key

    def encode(self, fingerprint: str, direction: Direction, values: Sequence[Any]) -> str:
        body = [fingerprint, direction[0], int(time.time()), [encode_value(value) for value in values]]
        payload = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
        header = bytes([VERSION])
        return base64.urlsafe_b64encode(header + self._tag(header + payload) + payload).rstrip(b"=").decode()

    def decode(self, token: str, fingerprint: str, arity: int) -> Cursor:
        raw = _unbase64(token)
        if raw[:1] != bytes([VERSION]):
            raise _refused("stale", "was issued by another version of this API")
        tag, payload = raw[1 : 1 + _TAG_BYTES], raw[1 + _TAG_BYTES :]
        if len(tag) < _TAG_BYTES or not hmac.compare_digest(tag, self._tag(raw[:1] + payload)):
            raise _refused("forged", "was altered or was not issued by this API")
        body = _json(payload)
        if body[0] != fingerprint:
            raise _refused("foreign", "belongs to another search (other filters, sort or query)")
        if self._max_age is not None and time.time() - body[2] > self._max_age:
            raise _refused("expired", f"is older than {self._max_age} seconds")
        if len(body[3]) not in (0, arity):  # pragma: no cover - the fingerprint covers the sort keys
            raise _refused("foreign", "does not match this search's sort")
        return Cursor("after" if body[1] == "a" else "before", tuple(decode_value(value) for value in body[3]))

    def _tag(self, message: bytes) -> bytes:
        return hmac.new(self._key, _DOMAIN + message, hashlib.sha256).digest()[:_TAG_BYTES]


def signer_for(config: SQLAlchemyConfig) -> CursorSigner:
    """The signer of an adapter's configuration (a random per-process key when none is configured)."""
    secret = config.CURSOR_SECRET_KEY
    if secret is None:
        _warn_about_the_process_key()
        return CursorSigner(_PROCESS_KEY, config.CURSOR_MAX_AGE_SECONDS)
    return CursorSigner(secret.get_secret_value().encode(), config.CURSOR_MAX_AGE_SECONDS)


@functools.cache
def _warn_about_the_process_key() -> None:
    logger.warning(
        "CURSOR_SECRET_KEY is not set: pagination cursors are signed with a random key of this "
        "process and are refused by other processes and after a restart"
    )


def fingerprint_of(text: str) -> str:
    """A short digest of what identifies a search (its SQL, parameters and sort)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _refused(reason: str, why: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"The cursor {why}", details={"field": "cursor", "reason": reason})


def _unbase64(token: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise _refused("malformed", "is not a cursor returned by this API") from None


def _json(payload: bytes) -> list[Any]:
    try:
        body = json.loads(payload)
    except ValueError:
        raise _refused("malformed", "is not a cursor returned by this API") from None
    shape = [str, str, int, list]
    if not isinstance(body, list) or len(body) != 4 or not all(map(isinstance, body, shape)):
        raise _refused("malformed", "is not a cursor returned by this API")
    return body


# --- sort values as JSON: JSON's own types stay as they are, the others are tagged {"tag": text}

_ENCODERS: list[tuple[type, str, Callable[[Any], Any]]] = [
    (datetime, "dt", datetime.isoformat),
    (date, "d", date.isoformat),
    (clock_time, "t", clock_time.isoformat),
    (timedelta, "td", lambda value: [value.days, value.seconds, value.microseconds]),
    (UUID, "u", lambda value: value.hex),
    (Decimal, "n", str),
    (bytes, "b", lambda value: base64.b64encode(value).decode()),
    (Enum, "e", lambda value: value.name),
]
_DECODERS: dict[str, Callable[[Any], Any]] = {
    "dt": datetime.fromisoformat,
    "d": date.fromisoformat,
    "t": clock_time.fromisoformat,
    "td": lambda parts: timedelta(days=parts[0], seconds=parts[1], microseconds=parts[2]),
    "u": UUID,
    "n": Decimal,
    "b": base64.b64decode,
    "e": str,  # SQLAlchemy's Enum type binds a member's name
    "f": float,
}


def encode_value(value: Any) -> Any:
    """``value`` as JSON; InvalidArgumentError for types a cursor cannot carry."""
    if value is None or isinstance(value, bool | int | str):
        return value.name if isinstance(value, Enum) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"f": repr(value)}
    for kind, tag, encode in _ENCODERS:
        if isinstance(value, kind):
            return {tag: encode(value)}
    raise InvalidArgumentError(
        f"Cannot page by a value of type {type(value).__name__}: sort by columns of plain types "
        "(numbers, text, dates and times, UUIDs, booleans, bytes, enums)"
    )


def decode_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    try:
        ((tag, text),) = value.items()
        return _DECODERS[tag](text)
    except (KeyError, ValueError, TypeError, IndexError, InvalidOperation, binascii.Error):
        raise _refused("malformed", "is not a cursor returned by this API") from None
