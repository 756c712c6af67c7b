"""Which database an atomic block or unit of work binds to, and how both decorate functions."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from archipy_lite.adapters.base.sqlalchemy.registry import default_session_manager
from archipy_lite.adapters.base.sqlalchemy.session_managers import BaseSessionManager
from archipy_lite.adapters.base.sqlalchemy.units import current_scope
from archipy_lite.models.errors import InvalidArgumentError

F = TypeVar("F", bound=Callable[..., Any])
Target = Any  # an adapter (anything with .session_manager), a session manager, or None


def decorate(function: F, name: str, *, wrap_sync: Callable[[F], F], wrap_async: Callable[[F], F]) -> F:
    """Wrap a plain or coroutine function; generators run after the call returns, outside the scope: refused.

    Refused when decorating if the function, or what it wraps, is a generator function; a plain
    function that turns out to return a generator is refused when called (its block rolls back).
    """
    if _is_generator_function(function):
        raise InvalidArgumentError(_generator_message(name, function))
    if inspect.iscoroutinefunction(function):
        return wrap_async(cast("F", _refusing_generators_async(function, name)))
    return wrap_sync(cast("F", _refusing_generators(function, name)))


def _is_generator_function(function: Any) -> bool:
    candidates = [function, inspect.unwrap(function)]
    if callable(function) and not inspect.isroutine(function) and not inspect.isclass(function):
        candidates.append(inspect.unwrap(type(function).__call__))  # a callable object: __call__ is the body
    return any(inspect.isgeneratorfunction(f) or inspect.isasyncgenfunction(f) for f in candidates)


def _generator_message(name: str, function: Any) -> str:
    label = getattr(function, "__qualname__", type(function).__qualname__)
    return (
        f"@{name} cannot decorate the generator function {label}: its body runs after "
        f"the call returns, outside the block. Use `with {name}(...):` inside the generator instead."
    )


def _refusing_generators(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        return _no_generator(function(*args, **kwargs), function, name)

    return checked


def _refusing_generators_async(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    @functools.wraps(function)
    async def checked(*args: Any, **kwargs: Any) -> Any:
        return _no_generator(await function(*args, **kwargs), function, name)

    return checked


def _no_generator(result: Any, function: Any, name: str) -> Any:
    """``result``, unless it is a generator: its body would run after the block, outside it."""
    if inspect.isgenerator(result) or inspect.isasyncgen(result):
        if inspect.isgenerator(result):
            result.close()
        raise InvalidArgumentError(_generator_message(name, function))
    return result


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
