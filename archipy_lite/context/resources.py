"""``Resources``: the lazily set-up resources of one context."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

from archipy_lite.context._generators import any_manager, describe, sync_manager
from archipy_lite.context.errors import ContextError, UnknownResourceError

if TYPE_CHECKING:
    from archipy_lite.context.context import Context

ResourceFactory: TypeAlias = "Callable[[Context], Iterator[Any]] | Callable[[Context], AsyncIterator[Any]]"
Opened: TypeAlias = "AbstractContextManager[Any] | AbstractAsyncContextManager[Any]"
Failures: TypeAlias = "list[tuple[str, Exception]]"


def is_async_factory(factory: Callable[..., Any]) -> bool:
    """Whether ``factory`` is an async generator function (partials are unwrapped)."""
    return inspect.isasyncgenfunction(factory)


class Resources:
    """The resources of one context: set up on first access, torn down in reverse order of setup.

    ``resources["db"]`` returns what a sync resource yielded, or for an async resource
    an awaitable of it (``await resources["db"]``; ``aget`` serves both kinds). At
    teardown the error raised inside the context, if any, is thrown into each generator
    at its ``yield`` (as ``@contextmanager`` and polydatum do), so a resource written
    ``try: yield conn / except: rollback / else: commit`` takes the right branch; put
    unconditional clean-up in ``finally``. A resource cannot suppress or replace that
    error (that is middleware's job): swallowing it changes nothing, and raising another
    one is reported as a teardown failure. Values are cached for the whole context and
    shared by every thread or task that reaches it.
    """

    def __init__(self, context: Context, factories: Mapping[str, ResourceFactory]) -> None:
        self._context = context
        self._factories = dict(factories)
        self._values: dict[str, Any] = {}
        self._opened: list[tuple[str, Opened]] = []
        self._entering: dict[str, object] = {}  # name -> the thread or task setting it up
        self._async_locks: dict[str, asyncio.Lock] = {}
        self._lock = threading.RLock()
        self._state = "new"  # -> "open" -> "closed"
        self._allow_async = False

    def __getitem__(self, name: str) -> Any:
        factory = self._factory(name)
        if is_async_factory(factory):
            self._check_open()
            self._check_async(name)
            return self.aget(name)
        return self._get_sync(name, factory)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    @property
    def names(self) -> tuple[str, ...]:
        """Every registered resource name."""
        return tuple(self._factories)

    @property
    def set_up(self) -> tuple[str, ...]:
        """Names of the resources set up so far, in order of setup."""
        return tuple(name for name, _ in self._opened)

    async def aget(self, name: str) -> Any:
        """The resource's value, setting it up first if needed (sync and async resources alike)."""
        factory = self._factory(name)
        if not is_async_factory(factory):
            return self._get_sync(name, factory)
        self._check_async(name)
        self._check_open()
        if name not in self._values:
            self._refuse_cycle(name, asyncio.current_task())
            async with self._async_locks.setdefault(name, asyncio.Lock()):
                self._check_open()
                if name not in self._values:
                    await self._set_up_async(name, factory)
        return self._values[name]

    # -- lifecycle, driven by the context --

    def open(self, *, allow_async: bool) -> None:
        self._allow_async = allow_async
        self._state = "open"

    def close(self, error: BaseException | None = None) -> Failures:
        """Tear down (sync context) in reverse order, throwing ``error`` in; return the failures.

        A BaseException other than ``error`` still propagates.
        """
        collector = _Collector(error)
        for name, manager in self._take_opened():
            with collector.catching(name):
                if isinstance(manager, AbstractAsyncContextManager):  # pragma: no cover - refused at setup
                    raise ContextError(f"resource {name!r} is async and cannot be torn down synchronously")
                manager.__exit__(*_exc_info(error))
        return collector.finish()

    async def aclose(self, error: BaseException | None = None) -> Failures:
        """Tear down (async context) in reverse order, throwing ``error`` in; return the failures.

        A BaseException other than ``error`` still propagates.
        """
        collector = _Collector(error)
        for name, manager in self._take_opened():
            with collector.catching(name):
                if isinstance(manager, AbstractAsyncContextManager):
                    await manager.__aexit__(*_exc_info(error))
                else:
                    manager.__exit__(*_exc_info(error))
        return collector.finish()

    # -- internals --

    def _get_sync(self, name: str, factory: ResourceFactory) -> Any:
        with self._lock:
            self._check_open()
            if name not in self._values:
                self._refuse_cycle(name, threading.get_ident())
                self._entering[name] = threading.get_ident()
                try:
                    manager = sync_manager(factory(self._context), self._what(name))
                    value = manager.__enter__()
                finally:
                    del self._entering[name]
                self._remember(name, manager, value)
            return self._values[name]

    async def _set_up_async(self, name: str, factory: ResourceFactory) -> None:
        self._entering[name] = asyncio.current_task()
        try:
            manager = any_manager(factory(self._context), self._what(name))
            if isinstance(manager, AbstractAsyncContextManager):
                value = await manager.__aenter__()
            else:
                value = manager.__enter__()
        finally:
            del self._entering[name]
        self._remember(name, manager, value)

    def _remember(self, name: str, manager: Opened, value: Any) -> None:
        with self._lock:
            self._opened.append((name, manager))
            self._values[name] = value

    def _refuse_cycle(self, name: str, who: object) -> None:
        if name in self._entering and self._entering[name] == who:
            raise ContextError(f"resource {name!r} needs itself while it is being set up")

    def _take_opened(self) -> list[tuple[str, Opened]]:
        with self._lock:
            self._state = "closed"
            opened, self._opened = self._opened[::-1], []
            self._values.clear()
        return opened

    def _factory(self, name: str) -> ResourceFactory:
        try:
            return self._factories[name]
        except KeyError:
            known = ", ".join(sorted(self._factories)) or "none"
            raise UnknownResourceError(f"no resource {name!r} is registered (registered: {known})") from None

    def _check_open(self) -> None:
        if self._state == "new":
            raise ContextError("resources are only available inside the context: enter it first")
        if self._state == "closed":
            raise ContextError("the context has ended: its resources are torn down")

    def _check_async(self, name: str) -> None:
        if self._state == "open" and not self._allow_async:
            raise ContextError(f"resource {name!r} is async: enter the context with 'async with'")

    def _what(self, name: str) -> str:
        return f"resource {name!r} ({describe(self._factories[name])})"


def _exc_info(error: BaseException | None) -> tuple[Any, Any, Any]:
    return (None, None, None) if error is None else (type(error), error, error.__traceback__)


class _Collector:
    """Collects teardown failures; a BaseException (interrupt, cancellation) is held and re-raised at the end.

    The context's own ``error``, re-raised by a resource it was thrown into, is not a failure.
    """

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.failures: Failures = []
        self.interrupt: BaseException | None = None

    @contextmanager
    def catching(self, name: str) -> Iterator[None]:
        try:
            yield
        except BaseException as exc:
            if exc is self.error:
                return
            if isinstance(exc, Exception):
                self.failures.append((name, exc))
            else:
                self.interrupt = self.interrupt or exc

    def finish(self) -> Failures:
        if self.interrupt is not None:
            raise self.interrupt
        return self.failures
