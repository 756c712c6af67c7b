"""``DataManager``: the registry of services, resources and middleware, and the factory of contexts."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Self

from archipy_lite.context.context import Context, Middleware
from archipy_lite.context.errors import ContextError, UnknownResourceError
from archipy_lite.context.resources import ResourceFactory
from archipy_lite.context.services import DataAccessLayer, Service, register, replace
from archipy_lite.models.errors import InvalidArgumentError


class DataManager:
    """Registry of services, resources and context middleware; typically one per process.

    Register everything at start-up. Each context takes a snapshot of the registered
    resources and middleware when it is created, so registering later does not change
    contexts that already exist. ``dm.<resource>`` reads a resource of the current
    context (as polydatum's ``self._data_manager.db``).
    """

    def __init__(self) -> None:
        self._services: dict[str, Service] = {}
        self._resources: dict[str, ResourceFactory] = {}
        self._middleware: list[Middleware] = []
        self._dal = DataAccessLayer(self._services)
        self._current: ContextVar[Context | None] = ContextVar(f"archipy_context_{id(self):x}", default=None)
        self._lock = threading.Lock()

    def register_services(self, **services: Service) -> Self:
        """Register top-level services, reachable as ``dal.<name>``; returns the manager, so calls chain.

        Raises:
            InvalidArgumentError: a name is private or taken, or a value is not a Service.
        """
        with self._lock:
            register(self._services, services, self, reserved=[])
        return self

    def replace_service(self, path: str, service: Service) -> Service:
        """Swap the service at ``path`` (``"users"``, ``"users.profiles"``) for ``service`` (a fake, in tests).

        Takes effect at once, in every context; returns the service it replaced, to put it back.

        Raises:
            UnknownServiceError: nothing is registered at ``path``.
        """
        with self._lock:
            return replace(self._services, path, service, self)

    def replace_resource(self, name: str, factory: ResourceFactory) -> ResourceFactory:
        """Swap resource ``name``'s factory (a fake, in tests); returns the one it replaced.

        Contexts created from now on use it; contexts that already exist keep theirs.

        Raises:
            UnknownResourceError: no resource ``name`` is registered.
        """
        if not callable(factory):
            raise InvalidArgumentError(f"resource {name!r} must be a generator function")
        with self._lock:
            if name not in self._resources:
                known = ", ".join(sorted(self._resources)) or "none"
                raise UnknownResourceError(f"no resource {name!r} to replace (registered: {known})")
            previous, self._resources[name] = self._resources[name], factory
        return previous

    def register_resources(self, **factories: ResourceFactory) -> None:
        """Register resources: generator functions (sync or async) that take the context and yield the resource.

        Raises:
            InvalidArgumentError: a name is taken, private, or clashes with a Context or DataManager attribute.
        """
        reserved = {*dir(Context), *dir(DataManager)}
        with self._lock:
            for name, factory in factories.items():
                if not callable(factory):
                    raise InvalidArgumentError(f"resource {name!r} must be a generator function")
                if not name.isidentifier() or name.startswith("_") or name in reserved:
                    raise InvalidArgumentError(f"resource name {name!r} is private or clashes with an attribute")
                if name in self._resources:
                    raise InvalidArgumentError(f"a resource named {name!r} is already registered")
            self._resources.update(factories)

    def register_context_middleware(self, *middleware: Middleware) -> None:
        """Append middleware: generator functions (sync or async) that take the context and yield once.

        Middleware is set up in registration order before the context body and torn down
        in reverse. An exception leaving the body is thrown in at the ``yield``: re-raise it,
        raise another (translation) or return (suppression: the ``with`` block then exits
        normally). Code after a bare ``yield`` does not run on failure; use ``try/finally``.
        """
        for item in middleware:
            if not callable(item):
                raise InvalidArgumentError("middleware must be a generator function")
        with self._lock:
            self._middleware.extend(middleware)

    def context(self, meta: Mapping[str, Any] | None = None) -> Context:
        """A new, not yet entered context; enter it with ``with`` or ``async with``."""
        with self._lock:
            resources, middleware = dict(self._resources), list(self._middleware)
        return Context(self._current, self._dal, meta=meta, resources=resources, middleware=middleware)

    def dal(self, meta: Mapping[str, Any] | None = None) -> DalScope:
        """A new context that yields its DAL: ``with dm.dal(meta=...) as dal:``."""
        return DalScope(self.context(meta))

    def current_context(self) -> Context:
        """The context active in this thread or task.

        Raises:
            ContextError: no context of this manager is active here.
        """
        context = self._current.get()
        if context is None:
            raise ContextError("no active context: use 'with data_manager.context():'")
        return context

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self.__dict__.get("_resources", {}):
            raise UnknownResourceError(f"DataManager has no attribute or resource {name!r}")
        return getattr(self.current_context(), name)


class DalScope:
    """``dm.dal()``: enters a context and hands out its DAL (sync or async)."""

    def __init__(self, context: Context) -> None:
        self.context = context

    def __enter__(self) -> DataAccessLayer:
        return self.context.__enter__().dal

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        return self.context.__exit__(exc_type, exc, tb)

    async def __aenter__(self) -> DataAccessLayer:
        return (await self.context.__aenter__()).dal

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        return await self.context.__aexit__(exc_type, exc, tb)
