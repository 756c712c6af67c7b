"""Which database an atomic block or unit of work binds to, and how both decorate functions."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from archipy_lite.adapters.base.sqlalchemy.registry import default_session_manager
from archipy_lite.adapters.base.sqlalchemy.session_managers import BaseSessionManager
from archipy_lite.adapters.base.sqlalchemy.units import current_scope
from archipy_lite.models.errors import InvalidArgumentError

F = TypeVar("F", bound=Callable[..., Any])
Target = Any  # an adapter (anything with .session_manager), a session manager, or None


def decorate(function: F, name: str, *, wrap_sync: Callable[[F], F], wrap_async: Callable[[F], F]) -> F:
    """Wrap a plain or coroutine function; generators run after the call returns, outside the scope: refused."""
    if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
        raise InvalidArgumentError(
            f"@{name} cannot decorate the generator function {function.__qualname__}: its body runs after "
            f"the call returns, outside the block. Use `with {name}(...):` inside the generator instead."
        )
    return wrap_async(function) if inspect.iscoroutinefunction(function) else wrap_sync(function)


def resolve(
    target: Target, kind: str | None, *, is_async: bool, sync_in_async: bool = False
) -> BaseSessionManager[Any, Any]:
    """The session manager a block (or unit) binds to; see ``atomic``.

    ``sync_in_async``: an ``async with`` may take a sync database too (units of work do: their I/O
    for it runs in a thread).
    """
    manager = getattr(target, "session_manager", target)
    if manager is None:
        manager = _from_scope(kind, is_async) or default_session_manager(kind or _only_kind(), is_async=is_async)
    if not isinstance(manager, BaseSessionManager):
        raise InvalidArgumentError(f"cannot bind an atomic block or unit of work to {type(target).__name__}")
    if manager.is_async != is_async and not (sync_in_async and is_async):
        use = "async with / an async function" if manager.is_async else "with / a plain function"
        raise InvalidArgumentError(f"{manager!r} must be used with {use}")
    return manager


def _from_scope(kind: str | None, is_async: bool) -> BaseSessionManager[Any, Any] | None:
    """The database of the current unit of work, when exactly one fits."""
    scope = current_scope()
    if scope is None:
        return None
    fits = [m for m, u in scope.units.items() if not u.closed and m.is_async == is_async and kind in (None, m.kind)]
    return fits[0] if len(fits) == 1 else None


def _only_kind() -> str:
    kinds = {m.kind for m in BaseSessionManager.live_managers()}
    if len(kinds) == 1:
        return kinds.pop()
    return "postgres"
