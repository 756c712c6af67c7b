"""Secret-looking options: kept as ``SecretStr`` in configuration, revealed only for the driver.

``PASSWORD`` and ``POSTGRES_DSN`` are secrets by type. Free-form options are secrets by name:
a DSN query parameter or a ``CONNECT_ARGS`` key such as ``sslpassword``, ``password``,
``api_token`` or ``client_secret`` (at any depth of nested mappings) is stored as a
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
    """``values`` with every secret-looking entry (nested mappings included) wrapped in ``SecretStr``."""
    concealed: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            concealed[key] = conceal(value)
        elif is_secret_name(key) and isinstance(value, str):
            concealed[key] = SecretStr(value)
        else:
            concealed[key] = value
    return concealed


def reveal(value: Any) -> Any:
    """The value to hand to a driver: ``SecretStr`` unwrapped, at any depth of mappings."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Mapping):
        return {key: reveal(item) for key, item in value.items()}
    return value


def masked(value: Any) -> Any:
    """The value to show a person: secrets replaced by ``***``, at any depth of mappings."""
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, Mapping):
        return {key: masked(item) for key, item in value.items()}
    return value
