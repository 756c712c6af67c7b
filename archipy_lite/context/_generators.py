"""Turn the generator a resource or middleware function returned into a context manager.

The context managers are ``contextlib``'s own, so setup, teardown, exception
throwing, translation and suppression follow ``@contextmanager`` exactly.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager, contextmanager
from typing import Any, TypeVar

from archipy_lite.context.errors import ContextError
from archipy_lite.models.errors import InvalidArgumentError

T = TypeVar("T")


def _same(generator: Iterator[T]) -> Iterator[T]:
    return generator


def _same_async(generator: AsyncIterator[T]) -> AsyncIterator[T]:
    return generator


def describe(function: Callable[..., Any]) -> str:
    """A readable name for error messages."""
    return getattr(function, "__qualname__", None) or repr(function)


def sync_manager(produced: object, what: str) -> AbstractContextManager[Any]:
    """Wrap a generator in a context manager.

    Raises:
        ContextError: ``produced`` is an async generator (it needs ``async with``).
        InvalidArgumentError: ``produced`` is not a generator at all.
    """
    manager = any_manager(produced, what)
    if isinstance(manager, AbstractAsyncContextManager):
        raise ContextError(f"{what} is async: enter the context with 'async with'")
    return manager


def any_manager(produced: object, what: str) -> AbstractContextManager[Any] | AbstractAsyncContextManager[Any]:
    """Wrap a generator or an async generator in a (sync or async) context manager.

    Raises:
        InvalidArgumentError: ``produced`` is not a generator at all.
    """
    if inspect.isgenerator(produced):
        return contextmanager(_same)(produced)
    if inspect.isasyncgen(produced):
        return asynccontextmanager(_same_async)(produced)
    raise InvalidArgumentError(f"{what} must be a generator function (or an async generator function)")
