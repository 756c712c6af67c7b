"""Database naming convention: each service owns ``<service>_db``; its tests use ``<service>_test_db``."""

import re

from archipy_lite.models.errors import InvalidArgumentError

_SERVICE = re.compile(r"^[a-z][a-z0-9_]{0,54}$")


def database_name(service: str, *, testing: bool = False) -> str:
    """``example`` -> ``example_db``; with ``testing=True`` -> ``example_test_db`` (never overlaps)."""
    normalised = service.strip().lower().replace("-", "_")
    if not _SERVICE.fullmatch(normalised):
        raise InvalidArgumentError(
            f"Service name {service!r} must start with a letter and use letters, digits, '-' or '_' (max 55)"
        )
    return f"{normalised}_test_db" if testing else f"{normalised}_db"
