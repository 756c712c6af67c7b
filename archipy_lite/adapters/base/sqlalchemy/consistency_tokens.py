"""Consistency tokens: a primary's WAL position after a commit, signed, to carry in a header or a cookie.

A later request that presents the token reads from a replica only once the replica has replayed
that far. The token is opaque to clients and signed with HMAC-SHA256, so a forged or altered one
is refused instead of silently sending reads to a stale replica (or every read to the primary).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from archipy_lite.models.errors import InvalidArgumentError

_VERSION = 1
_POSITION_BYTES = 8
_MAC_BYTES = 16
_LENGTH = 1 + _POSITION_BYTES + _MAC_BYTES
# Tokens signed with this key are valid in this process only; set CONSISTENCY_TOKEN_SECRET to share them.
_PROCESS_KEY = secrets.token_bytes(32)


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class ConsistencyTokens:
    """Encodes and checks tokens with one key (the configured secret, else a key of this process)."""

    def __init__(self, secret: str | bytes | None = None) -> None:
        if isinstance(secret, str):
            secret = secret.encode()
        self._key = hashlib.sha256(b"archipy_lite consistency token\0" + secret).digest() if secret else _PROCESS_KEY

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"  # never the key

    def encode(self, position: int) -> str:
        """The token for a WAL position (an unsigned 64-bit integer)."""
        if not 0 <= position < 2**64:
            raise InvalidArgumentError("A WAL position must be an unsigned 64-bit integer.")
        body = bytes([_VERSION]) + position.to_bytes(_POSITION_BYTES, "big")
        return _text(body + self._mac(body))

    def decode(self, token: str) -> int:
        """The WAL position in ``token``; InvalidArgumentError when it was not made with this key."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError, TypeError):
            raw = b""
        body, mac = raw[: 1 + _POSITION_BYTES], raw[1 + _POSITION_BYTES :]
        canonical = _text(raw) == token  # the last character has spare bits: one token, one spelling
        if len(raw) != _LENGTH or not canonical or body[0] != _VERSION or not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidArgumentError(
                "The consistency token is not valid: it was altered, or signed with another CONSISTENCY_TOKEN_SECRET."
            )
        return int.from_bytes(body[1:], "big")

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_BYTES]
