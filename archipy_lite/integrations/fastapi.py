"""FastAPI glue: typed errors as problem responses, dependency providers, and a lifespan that disposes engines.

Needs the ``fastapi`` extra. The request boundary itself is
``archipy_lite.integrations.asgi.UnitOfWorkMiddleware`` (``app.add_middleware(...)``): it commits
before the response leaves, which a dependency with ``yield`` cannot promise.

``Database(factory)`` names one database for the app. Endpoints depend on ``database.port``
(or ``database.store(Model)``); tests swap the database with
``app.dependency_overrides[database.adapter] = lambda: other_adapter``, and the middleware gives
the swapped-in adapter its unit of work too.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Generic, TypeVar

try:
    from fastapi import Depends, FastAPI, Request
    from fastapi.responses import JSONResponse
except ImportError as exc:  # pragma: no cover - exercised by the missing-extra test in a subprocess
    raise ImportError(
        "archipy_lite.integrations.fastapi needs FastAPI: pip install 'archipy-lite[fastapi]'", name=exc.name
    ) from exc

from archipy_lite.integrations.problems import MEDIA_TYPE, problem_for
from archipy_lite.models.errors import BaseError

A = TypeVar("A")


def add_exception_handlers(app: FastAPI, *, debug: bool = False) -> None:
    """Answer every ``BaseError`` with an RFC 9457 problem (``Retry-After`` when retrying can help).

    Without ``debug`` no table, constraint, column or SQL detail reaches the client.
    """

    async def handle(_request: Request, error: Exception) -> JSONResponse:
        problem = problem_for(error, debug=debug)
        return JSONResponse(
            problem.body, status_code=problem.status, headers=dict(problem.headers), media_type=MEDIA_TYPE
        )

    app.add_exception_handler(BaseError, handle)


class Database(Generic[A]):
    """Dependency providers for one database of the app.

    ``factory`` builds the adapter on first use (an adapter instance works too); ``adapter`` is
    the provider to override in tests, ``port`` what endpoints depend on, ``store(Model)`` a
    store over the same adapter.
    """

    def __init__(self, factory: Callable[[], A] | A) -> None:
        self._factory = factory
        self._built: A | None = None
        self._lock = threading.Lock()

        def adapter() -> A:
            return self.get()

        def port(adapter: A = Depends(adapter)) -> A:  # noqa: B008 - FastAPI's dependency declaration
            return adapter

        self.adapter: Callable[[], A] = adapter
        self.port: Callable[..., A] = port

    def get(self) -> A:
        """The app's adapter, built once (not the overridden one: that only exists in a request)."""
        if self._built is None:
            with self._lock:
                if self._built is None:
                    factory = self._factory
                    is_adapter = hasattr(factory, "session_manager") and not isinstance(factory, type)
                    self._built = factory if is_adapter else factory()  # type: ignore[assignment,operator]
        return self._built  # type: ignore[return-value]

    def store(self, model: type[Any]) -> Callable[..., Any]:
        """A dependency giving a ``Store`` (or ``AsyncStore``) of ``model`` over this database's port."""
        from archipy_lite.stores.store import AsyncStore, Store

        def provide(adapter: Any = Depends(self.port)) -> Any:  # noqa: B008 - FastAPI's dependency declaration
            return AsyncStore(adapter, model) if adapter.session_manager.is_async else Store(adapter, model)

        return provide

    async def dispose(self) -> None:
        """Close the pooled connections of the adapter built here (if it was)."""
        if self._built is None:
            return
        outcome = self._built.session_manager.dispose()  # type: ignore[attr-defined]
        if inspect.isawaitable(outcome):
            await outcome


def lifespan(*databases: Database[Any] | Any) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """``FastAPI(lifespan=lifespan(database, ...))``: dispose every engine when the app shuts down."""

    @asynccontextmanager
    async def manage(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for database in databases:
                if isinstance(database, Database):
                    await database.dispose()
                else:
                    outcome = database.session_manager.dispose()
                    if inspect.isawaitable(outcome):
                        await outcome

    return manage
