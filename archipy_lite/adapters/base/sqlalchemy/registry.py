"""Which session manager serves adapters and atomic blocks that name no database.

For a kind ("postgres", "sqlite") and flavour (sync or async) the default is,
in order: one set with ``set_default_session_manager``; one built from the
global configuration (``BaseConfig.set_global``, or else the environment when it
sets ``POSTGRES_SQLALCHEMY__*`` / ``SQLITE_SQLALCHEMY__*``); the only manager of that
kind alive in the process. Anything else is ambiguous and raises
``ConfigurationError`` rather than guessing.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from archipy_lite.adapters.base.sqlalchemy.session_managers import (
    AsyncSessionManager,
    BaseSessionManager,
    DialectSupport,
    SessionManager,
)
from archipy_lite.configs.base_config import BaseConfig
from archipy_lite.models.errors import ConfigurationError

AnyManager = BaseSessionManager[Any, Any]

_DIALECTS = {
    "postgres": ("archipy_lite.adapters.postgres.sqlalchemy.dialect", "PostgresDialect", "POSTGRES_SQLALCHEMY"),
    "sqlite": ("archipy_lite.adapters.sqlite.sqlalchemy.dialect", "SQLiteDialect", "SQLITE_SQLALCHEMY"),
}
_explicit: dict[tuple[str, bool], AnyManager] = {}
_from_global: dict[tuple[str, bool], tuple[BaseConfig, AnyManager]] = {}
_lock = threading.RLock()


def dialect_for(kind: str) -> DialectSupport:
    """The DialectSupport of a database kind."""
    try:
        module_name, class_name, _ = _DIALECTS[kind]
    except KeyError:
        raise ConfigurationError(f"Unknown database kind {kind!r}; expected one of {sorted(_DIALECTS)}") from None
    dialect: DialectSupport = getattr(importlib.import_module(module_name), class_name)()
    return dialect


def _build_from_global(kind: str, is_async: bool) -> AnyManager | None:
    config = BaseConfig.global_config_for(_DIALECTS[kind][2])  # set_global's, else from the environment
    if config is None:
        return None
    cached = _from_global.get((kind, is_async))
    if cached is not None and cached[0] is config:
        return cached[1]
    section = getattr(config, _DIALECTS[kind][2])
    manager_class = AsyncSessionManager if is_async else SessionManager
    manager: AnyManager = manager_class(section, dialect_for(kind))
    _from_global[(kind, is_async)] = (config, manager)
    return manager


def default_session_manager(kind: str, *, is_async: bool) -> AnyManager:
    """The manager used when no adapter or manager is named (see module docstring)."""
    dialect_for(kind)
    with _lock:
        explicit = _explicit.get((kind, is_async))
        if explicit is not None:
            return explicit
        from_global = _build_from_global(kind, is_async)
        if from_global is not None:
            return from_global
    alive = [m for m in BaseSessionManager.live_managers() if m.kind == kind and m.is_async == is_async]
    if len(alive) == 1:
        return alive[0]
    flavour = "async " if is_async else ""
    problem = "none exists" if not alive else f"{len(alive)} exist and none is the default"
    raise ConfigurationError(
        f"No default {flavour}{kind} database: {problem}. Set {_DIALECTS[kind][2]}__* variables, "
        f"call BaseConfig.set_global(...), "
        f"or set_default_session_manager(adapter.session_manager), or bind the block: atomic(adapter)."
    )


def set_default_session_manager(manager: AnyManager) -> None:
    """Make ``manager`` the default for its kind and flavour."""
    with _lock:
        _explicit[(manager.kind, manager.is_async)] = manager


def reset_default_session_managers() -> list[AnyManager]:
    """Forget every default (returns them so callers can dispose their engines)."""
    with _lock:
        managers = list(_explicit.values()) + [manager for _, manager in _from_global.values()]
        _explicit.clear()
        _from_global.clear()
    return managers
