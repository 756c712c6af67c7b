"""Where each data set lives: an explicit mapping, environment variables, or ``:memory:``.

Precedence, highest first: ``DataSet.configure(...)``, then environment variables
``ARCHIPY_LITE_DATASETS__<NAME>=/path/to/file.sqlite3`` (``<NAME>`` in any case),
then ``:memory:``. ``ARCHIPY_LITE_DATASETS__<NAME>__READ_ONLY=false`` opens a file
writable. A file is read-only unless told otherwise; ``:memory:`` is writable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from archipy_lite.configs.config_template import ConfigModel
from archipy_lite.models.errors import ConfigurationError
from archipy_lite.models.validation import TypedModel

MEMORY = ":memory:"
ENV_PREFIX = "ARCHIPY_LITE_DATASETS__"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_name(name: str) -> str:
    """Return ``name`` if it can be a data set name (and an environment variable suffix).

    Raises:
        ConfigurationError: for anything but letters, digits and underscores.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigurationError(
            f"Invalid data set name {name!r}: use letters, digits and underscores, not starting with a digit",
            details={"dataset": str(name)},
        )
    return name


class DataSetSource(ConfigModel):
    """One data set's file and access mode."""

    PATH: str = Field(default=MEMORY, min_length=1, description="SQLite file path, or ':memory:'.")
    READ_ONLY: bool | None = Field(default=None, description="None: read-only for files, writable in memory.")

    @field_validator("PATH", mode="before")
    @classmethod
    def _path_as_text(cls, value: object) -> object:
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @property
    def is_memory(self) -> bool:
        """True for an in-memory data set."""
        return self.PATH == MEMORY

    @property
    def read_only(self) -> bool:
        """Whether adapters open it read-only by default."""
        return (not self.is_memory) if self.READ_ONLY is None else self.READ_ONLY


def as_source(value: Any) -> DataSetSource:
    """A DataSetSource from a path, a ``{"PATH": ..., "READ_ONLY": ...}`` mapping or a DataSetSource."""
    if isinstance(value, DataSetSource):
        return value
    if isinstance(value, str | os.PathLike):
        return DataSetSource(PATH=os.fspath(value))
    if isinstance(value, Mapping):
        return DataSetSource(**{str(key).upper(): item for key, item in value.items()})
    raise ConfigurationError(f"A data set source must be a path or a mapping, got {type(value).__name__}")


class DataSetSettings(BaseSettings, TypedModel):
    """Data set locations from the environment (and ``.env``): ``ARCHIPY_LITE_DATASETS__<NAME>=/path``.

    Also a ready configuration object: ``DataSet.configure(DataSetSettings(DATASETS={"geo": "/x.db"}))``.
    """

    model_config = SettingsConfigDict(
        env_prefix="ARCHIPY_LITE_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    DATASETS: dict[str, DataSetSource] = Field(default_factory=dict)

    @field_validator("DATASETS", mode="before")
    @classmethod
    def _sources(cls, value: object) -> object:
        if isinstance(value, Mapping):
            return {str(name).lower(): as_source(item) for name, item in value.items()}
        return value


def sources_from(configuration: Any) -> dict[str, DataSetSource]:
    """Name -> source from a mapping or any object with a ``DATASETS`` mapping (e.g. DataSetSettings).

    Raises:
        ConfigurationError: when ``configuration`` is neither, or a name or source is invalid.
    """
    mapping = getattr(configuration, "DATASETS", configuration)
    if not isinstance(mapping, Mapping):
        raise ConfigurationError(
            f"Data set configuration must be a mapping or have a DATASETS mapping, got {type(configuration).__name__}"
        )
    return {check_name(str(name)).lower(): as_source(value) for name, value in mapping.items()}


def source_from_environment(name: str) -> DataSetSource | None:
    """The source the environment (or ``.env``) gives ``name``, if any."""
    return DataSetSettings().DATASETS.get(name.lower())
