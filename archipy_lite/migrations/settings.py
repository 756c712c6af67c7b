"""Where a project keeps its migrations and models: ``[tool.archipy-lite]`` in ``pyproject.toml``.

```toml
[tool.archipy-lite]
metadata = "myapp.models:BaseEntity.metadata"   # module:attribute of the models' MetaData
migrations = "migrations"                       # the Alembic script directory (default)
database = "postgres"                           # or "sqlite": which configuration section to use
async = false                                   # run migrations through the async driver
```

Command-line options and keyword arguments override each key.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import MetaData

from archipy_lite.models.errors import ConfigurationError, InvalidArgumentError

DatabaseKind = Literal["postgres", "sqlite"]
TOOL_TABLE = "archipy-lite"
DEFAULT_DIRECTORY = "migrations"


@dataclass(frozen=True)
class MigrationSettings:
    """A project's migration settings, paths resolved against the project directory."""

    project_dir: Path
    directory: Path
    metadata: str | None = None
    database: DatabaseKind | None = None
    use_async: bool = False

    def with_overrides(self, **overrides: Any) -> MigrationSettings:
        """A copy with every override that is not None applied (``directory`` relative to the project)."""
        values = {key: value for key, value in overrides.items() if value is not None}
        if "directory" in values:
            values["directory"] = self.project_dir / Path(values["directory"])
        return replace(self, **values)

    def load_metadata(self) -> MetaData:
        """Import the models' MetaData named by ``metadata``; raises ConfigurationError when unset or wrong."""
        if not self.metadata:
            raise ConfigurationError(
                'Where do the models live? Set metadata = "module:attribute" under [tool.archipy-lite] in '
                "pyproject.toml, or pass --metadata module:attribute (e.g. myapp.models:BaseEntity.metadata)."
            )
        return load_metadata(self.metadata, self.project_dir)


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` in ``start`` or one of its parents."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_settings(project_dir: Path | None = None) -> MigrationSettings:
    """Read ``[tool.archipy-lite]`` from the nearest pyproject.toml (defaults when there is none)."""
    start = (project_dir or Path.cwd()).resolve()
    pyproject = find_pyproject(start)
    if pyproject is None:
        return MigrationSettings(project_dir=start, directory=start / DEFAULT_DIRECTORY)
    try:
        table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get(TOOL_TABLE, {})
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"cannot read {pyproject}: {error}") from None
    root = pyproject.parent
    return MigrationSettings(
        project_dir=root,
        directory=root / _string(table, "migrations", DEFAULT_DIRECTORY),
        metadata=_string(table, "metadata", None),
        database=_database(table),
        use_async=_boolean(table, "async"),
    )


def _string(table: dict[str, Any], key: str, default: str | None) -> Any:
    value = table.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(f"[tool.{TOOL_TABLE}] {key} must be a string, got {value!r}")
    return value


def _boolean(table: dict[str, Any], key: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ConfigurationError(f"[tool.{TOOL_TABLE}] {key} must be true or false, got {value!r}")
    return value


def _database(table: dict[str, Any]) -> DatabaseKind | None:
    value = table.get("database")
    if value not in (None, "postgres", "sqlite"):
        raise ConfigurationError(f'[tool.{TOOL_TABLE}] database must be "postgres" or "sqlite", got {value!r}')
    return value


def load_metadata(reference: str, project_dir: Path) -> MetaData:
    """Import ``module:attribute`` (the attribute may be dotted) and return the MetaData it names.

    A declarative base (anything with a ``metadata`` attribute) is accepted for its MetaData.
    The project directory and its ``src/`` are importable while the module loads.
    """
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise InvalidArgumentError(f"expected module:attribute, got {reference!r}")
    paths = [str(path) for path in (project_dir / "src", project_dir) if path.is_dir()]
    sys.path[:0] = paths
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigurationError(f"cannot import {module_name!r} (metadata {reference!r}): {error}") from None
    finally:
        del sys.path[: len(paths)]
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ConfigurationError(f"{reference!r}: {type(target).__name__} has no attribute {part!r}")
        target = getattr(target, part)
    if not isinstance(target, MetaData):
        target = getattr(target, "metadata", None)
    if not isinstance(target, MetaData):
        raise ConfigurationError(f"{reference!r} is not a MetaData (nor a declarative base)")
    return target
