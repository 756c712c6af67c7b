"""The version of the installed distribution; ``pyproject.toml`` ([project] version) is the one place it is set."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "archipy-lite"


def installed_version() -> str:
    """The version pip or uv installed; ``0+unknown`` for a source tree that was never installed."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"
