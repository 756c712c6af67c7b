"""Where configuration values come from, and how a DSN and separate fields combine across sources.

Precedence, highest first: explicit arguments, environment variables, ``.env``, defaults. It holds
*per source*: each source's DSN is first split into fields of that same source (within one source
the DSN wins over the fields it contains), and only then are the sources merged field by field. So
``BaseConfig(POSTGRES_SQLALCHEMY={"HOST": "test-db"})`` connects to ``test-db`` even when
``POSTGRES_SQLALCHEMY__POSTGRES_DSN`` names another host: the environment's DSN only fills in what
the arguments leave out.

A section built on its own (``PostgresSQLAlchemyConfig(...)``) reads its own variables
(``POSTGRES_SQLALCHEMY__*``) the same way.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import create_model
from pydantic._internal._utils import deep_update
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

_reading_environment: contextvars.ContextVar[bool] = contextvars.ContextVar("archipy_lite_env", default=True)


def expand_section(section_type: Any, values: Any) -> Any:
    """``values`` with a DSN split into fields, if ``section_type`` knows how (see ``expand_source_values``)."""
    expand = getattr(section_type, "expand_source_values", None)
    if expand is None or not isinstance(values, Mapping):
        return values
    return expand(values)


def expand_sections(settings_cls: type[BaseSettings], values: Mapping[str, Any]) -> dict[str, Any]:
    """One source's values for ``settings_cls`` with each section's DSN split into that section's fields."""
    expanded = dict(values)
    for name, field in settings_cls.model_fields.items():
        if name in expanded:
            expanded[name] = expand_section(field.annotation, expanded[name])
    return expanded


class ExpandedSource(PydanticBaseSettingsSource):
    """Wraps a settings source so that its DSNs become fields before the sources are merged."""

    def __init__(self, inner: PydanticBaseSettingsSource) -> None:
        super().__init__(inner.settings_cls)
        self.inner = inner

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        return expand_sections(self.settings_cls, self.inner())

    def __repr__(self) -> str:
        return f"ExpandedSource({self.inner!r})"


class _SourcesOfOneSection(BaseSettings):
    model_config = SettingsConfigDict(
        env_nested_delimiter="__", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )


@functools.cache
def _holder(section_type: Any, name: str) -> type[BaseSettings]:
    """A settings class with the one field ``name``, to read that section's variables with its sources."""
    holder: type[BaseSettings] = create_model(  # type: ignore[call-overload]
        f"{name.title()}Sources", __base__=_SourcesOfOneSection, **{name: (section_type | None, None)}
    )
    return holder


def section_values(section_type: Any, name: str, explicit: Mapping[str, Any]) -> dict[str, Any]:
    """The values a section built on its own gets: ``.env``, then the environment, then ``explicit``."""
    if not _reading_environment.get():
        return dict(explicit)
    holder = _holder(section_type, name)
    layers = [DotEnvSettingsSource(holder)().get(name), EnvSettingsSource(holder)().get(name), explicit]
    merged: dict[str, Any] = {}
    for layer in layers:
        if isinstance(layer, Mapping):
            merged = deep_update(merged, dict(expand_section(section_type, layer)))
    return merged


@contextmanager
def environment_ignored() -> Iterator[None]:
    """Sections built inside take only their arguments and defaults (for the library's own engines)."""
    token = _reading_environment.set(False)
    try:
        yield
    finally:
        _reading_environment.reset(token)


def sections_in_environment(settings_cls: type[BaseSettings]) -> frozenset[str]:
    """Fields of ``settings_cls`` that the environment or its ``.env`` file sets."""
    found: set[str] = set()
    for source in (EnvSettingsSource(settings_cls), DotEnvSettingsSource(settings_cls)):
        found.update(name for name in source() if name in settings_cls.model_fields)
    return frozenset(found)
