"""``Context``: the state of one request or task (meta, resources, middleware), single-use."""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, ExitStack
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias, TypeVar

from archipy_lite.adapters.base.sqlalchemy.unit_of_work import UnitOfWork
from archipy_lite.context._generators import any_manager, describe, sync_manager
from archipy_lite.context.errors import ContextError, ResourceTeardownError
from archipy_lite.context.meta import Meta
from archipy_lite.context.resources import Failures, ResourceFactory, Resources

if TYPE_CHECKING:
    from archipy_lite.context.services import DataAccessLayer

Middleware: TypeAlias = "Callable[[Context], Iterator[Any]] | Callable[[Context], AsyncIterator[Any]]"
StackT = TypeVar("StackT", ExitStack, AsyncExitStack)
logger = logging.getLogger(__name__)


class Context:
    """One request's state: read-only ``meta``, lazy resources (``ctx.db``), the ``dal``.

    A context is also a unit of work: every database used inside it (through any adapter)
    shares one session and one pooled connection until the context ends.

    Enter it once with ``with`` (or ``async with``, which also allows async middleware
    and resources); a second entry raises ``ContextError``. While it is open it is the
    current context of its DataManager in this thread or task; tasks started inside
    inherit it (and share its resources), other threads and tasks do not see it.

    On exit, middleware is torn down first (in reverse order; it may translate or
    suppress the exception leaving the body), then resources (in reverse order of
    setup), each with the body's exception (or, if the body succeeded, the one middleware
    raised) thrown in at its ``yield``. Resource teardown failures never replace the
    exception that is leaving: they are logged and added to it as notes, or raised as
    ``ResourceTeardownError`` when nothing else is leaving.
    """

    def __init__(
        self,
        current: ContextVar[Context | None],
        dal: DataAccessLayer,
        *,
        meta: Mapping[str, Any] | None,
        resources: Mapping[str, ResourceFactory],
        middleware: Sequence[Middleware],
    ) -> None:
        self._current = current
        self._dal = dal
        self._meta = Meta(meta)
        self._resources = Resources(self, resources)
        self._middleware = tuple(middleware)
        self._stack: ExitStack | AsyncExitStack | None = None
        self._token: Token[Context | None] | None = None
        self._entered = False
        self._lock = threading.Lock()
        # A context is a unit of work: every database it uses shares one session and connection.
        self._unit = UnitOfWork(every_database=True)

    @property
    def meta(self) -> Meta:
        """Read-only data about this context (``ctx.meta.user`` or ``ctx.meta["user"]``)."""
        return self._meta

    @meta.setter
    def meta(self, value: object) -> NoReturn:
        raise TypeError("meta is read-only")

    @property
    def dal(self) -> DataAccessLayer:
        """The services of this context's DataManager."""
        return self._dal

    @property
    def resources(self) -> Resources:
        """Resources by name: ``ctx.resources["db"]`` is ``ctx.db``."""
        return self._resources

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._resources[name]

    def __repr__(self) -> str:
        state = "new" if not self._entered else "active" if self._stack is not None else "ended"
        return f"<Context {state} meta={dict(self._meta)!r}>"

    # -- sync --

    def __enter__(self) -> Context:
        stack = ExitStack()
        self._activate(stack, allow_async=False)
        self._unit.__enter__()
        try:
            for middleware in self._middleware:
                stack.enter_context(sync_manager(middleware(self), self._what(middleware)))
        except BaseException as exc:
            self.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        stack = self._require_stack(ExitStack)
        try:
            try:
                suppressed = stack.__exit__(exc_type, exc, tb)
            except BaseException as raised:
                leaving: BaseException | None = raised
            else:
                leaving = None if suppressed else exc
            failures = self._resources.close(exc if exc is not None else leaving)
        finally:
            try:
                self._unit.__exit__(type(leaving) if leaving else None, leaving, None)
            finally:
                self._deactivate()
        return _settle(exc, leaving, failures)

    # -- async --

    async def __aenter__(self) -> Context:
        stack = AsyncExitStack()
        self._activate(stack, allow_async=True)
        await self._unit.__aenter__()
        try:
            for middleware in self._middleware:
                manager = any_manager(middleware(self), self._what(middleware))
                if isinstance(manager, AbstractAsyncContextManager):
                    await stack.enter_async_context(manager)
                else:
                    stack.enter_context(manager)
        except BaseException as exc:
            await self.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        stack = self._require_stack(AsyncExitStack)
        try:
            try:
                suppressed = await stack.__aexit__(exc_type, exc, tb)
            except BaseException as raised:
                leaving: BaseException | None = raised
            else:
                leaving = None if suppressed else exc
            failures = await self._resources.aclose(exc if exc is not None else leaving)
        finally:
            try:
                await self._unit.__aexit__(type(leaving) if leaving else None, leaving, None)
            finally:
                self._deactivate()
        return _settle(exc, leaving, failures)

    # -- shared --

    def _activate(self, stack: ExitStack | AsyncExitStack, *, allow_async: bool) -> None:
        with self._lock:
            if self._entered:
                raise ContextError("a context can be entered only once: create a new one with DataManager.context()")
            self._entered = True
        if not allow_async:
            for middleware in self._middleware:
                if inspect.isasyncgenfunction(middleware):
                    raise ContextError(f"{self._what(middleware)} is async: enter the context with 'async with'")
        self._stack = stack
        self._resources.open(allow_async=allow_async)
        self._token = self._current.set(self)

    def _deactivate(self) -> None:
        token, self._token, self._stack = self._token, None, None
        if token is None:  # pragma: no cover - guarded by _require_stack
            return
        try:
            self._current.reset(token)
        except ValueError:  # exited in another contextvars.Context (e.g. a framework's dependency)
            self._current.set(None if token.old_value is Token.MISSING else token.old_value)

    def _require_stack(self, kind: type[StackT]) -> StackT:
        if not isinstance(self._stack, kind):
            raise ContextError("this context is not active (or was entered with the other of 'with'/'async with')")
        return self._stack

    def _what(self, middleware: Middleware) -> str:
        return f"middleware {describe(middleware)}"


def _settle(original: BaseException | None, leaving: BaseException | None, failures: Failures) -> bool:
    """Report teardown failures; return True to suppress ``original``, or raise what replaces it."""
    for name, error in failures:
        logger.error("resource %r failed to tear down", name, exc_info=error)
        if leaving is not None:
            leaving.add_note(f"resource {name!r} also failed to tear down: {error!r}")
    if leaving is None and failures:
        raise ResourceTeardownError(
            f"{len(failures)} resource(s) failed to tear down: {', '.join(name for name, _ in failures)}",
            [error for _, error in failures],
        )
    if leaving is None:
        return original is not None
    if leaving is original:
        return False
    raise leaving
