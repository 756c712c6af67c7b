"""Secret-looking options: kept as ``SecretStr`` in configuration, revealed only for the driver.

``PASSWORD`` and ``POSTGRES_DSN`` are secrets by type. Free-form options are secrets by name:
a DSN query parameter or a ``CONNECT_ARGS`` key such as ``sslpassword``, ``password``,
``api_token`` or ``client_secret`` (at any depth of nested mappings and lists) is stored as a
``SecretStr``, so reprs, ``str()``, ``model_dump()``, logs, errors and ``archipy-lite doctor``
show asterisks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

MASK = "***"
_SECRET_PART = re.compile(r"password|passwd|passphrase|secret|token|credential|apikey|privatekey")
_SECRET_WORDS = frozenset({"pass", "pwd", "key"})


def is_secret_name(name: object) -> bool:
    """Whether an option called ``name`` probably holds a secret (``sslpassword``, ``api-token``, ``db_pass``)."""
    words = re.split(r"[^a-z0-9]+", str(name).lower())
    return bool(_SECRET_PART.search("".join(words))) or not _SECRET_WORDS.isdisjoint(words)


def conceal(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with every secret-looking entry wrapped in ``SecretStr``, at any depth of mappings and lists."""
    return {key: _concealed(value, secret=is_secret_name(key)) for key, value in values.items()}


def _concealed(value: Any, *, secret: bool) -> Any:
    if isinstance(value, Mapping):
        return conceal(value)
    if isinstance(value, list | tuple):
        return type(value)(_concealed(item, secret=secret) for item in value)
    return SecretStr(value) if secret and isinstance(value, str) else value


def reveal(value: Any) -> Any:
    """The value to hand to a driver: ``SecretStr`` unwrapped, at any depth of mappings and lists."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Mapping):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(reveal(item) for item in value)
    return value


def masked(value: Any) -> Any:
    """The value to show a person: secrets replaced by ``***``, at any depth of mappings and lists."""
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, Mapping):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(masked(item) for item in value)
    return value
