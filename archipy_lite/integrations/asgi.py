"""A pure ASGI middleware: one unit of work per HTTP request and per websocket connection.

Every database the request uses joins its unit (the adapters named up front, and any other,
such as one a test swapped in with ``app.dependency_overrides``). With ``atomic=True`` each HTTP
request is one transaction, committed **before** the response's first message goes out: a
commit that fails becomes a problem response (409, 503, ...) instead of the app's 2xx, so a
client never hears "created" for a row that was not stored. A response of status 400 or more
rolls the transaction back. Streaming responses commit before their first byte. Websockets
never run as one transaction. Works under any ASGI server and framework (Starlette, FastAPI).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, MutableMapping, Sequence
from typing import Any

from archipy_lite.adapters.base.sqlalchemy.unit_of_work import UnitOfWork
from archipy_lite.integrations.problems import problem_for
from archipy_lite.models.errors import BaseError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class UnitOfWorkMiddleware:
    """Wrap ``app`` so that each request (or websocket connection) runs in its own unit of work.

    With read replicas: requests whose method is in ``read_only_methods`` (say ``("GET", "HEAD")``)
    run read-only units on a replica; a writing request answers with its consistency token in the
    ``consistency_header`` response header, and a read-only request that sends that header back
    reads only a replica that has replayed it (else the primary).
    """

    def __init__(
        self,
        app: ASGIApp,
        adapters: Sequence[Any] = (),
        *,
        atomic: bool = False,
        debug: bool = False,
        read_only_methods: Collection[str] = (),
        consistency_header: str | None = None,
    ) -> None:
        self.app = app
        self.adapters = tuple(adapters)
        self.atomic = atomic
        self.debug = debug
        self.read_only_methods = frozenset(method.upper() for method in read_only_methods)
        self.consistency_header = consistency_header.lower() if consistency_header else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        read_only = scope.get("method", "") in self.read_only_methods
        atomic = self.atomic and scope["type"] == "http" and not read_only
        token = self._token_from(scope) if read_only else None
        unit = UnitOfWork(
            *self.adapters, atomic=atomic, every_database=True, read_only=read_only, consistency_token=token
        )
        try:
            await unit.__aenter__()
        except BaseError as error:  # a forged or foreign consistency token
            await _send_problem(send, error, debug=self.debug)
            return
        header = None if read_only else self.consistency_header
        boundary = _ResponseBoundary(unit, send, atomic=atomic, debug=self.debug, token_header=header)
        try:
            await self.app(scope, receive, boundary.send)
        except BaseException as exc:
            if boundary.replaced and _only_replaced(exc):
                await unit.__aexit__(None, None, None)  # the failed commit was answered already
                return
            await unit.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        await unit.__aexit__(None, None, None)

    def _token_from(self, scope: Scope) -> str | None:
        if self.consistency_header is None:
            return None
        wanted = self.consistency_header.encode("latin-1")
        for name, value in scope.get("headers", ()):
            if name.lower() == wanted:
                return str(value.decode("latin-1"))
        return None


class _ResponseBoundary:
    """Forwards the app's messages, ending the request's transaction before the first one leaves."""

    def __init__(self, unit: UnitOfWork, send: Send, *, atomic: bool, debug: bool, token_header: str | None) -> None:
        self._unit = unit
        self._send = send
        self._atomic = atomic
        self._debug = debug
        self._token_header = token_header
        self._replaced = False  # the app's response was replaced by a problem: drop its messages

    @property
    def replaced(self) -> bool:
        return self._replaced

    async def send(self, message: Message) -> None:
        if self._replaced:
            return
        if message["type"] == "http.response.start":
            try:
                await self._end_transaction(int(message["status"]))
                message = await self._with_token(message)
            except BaseError as error:
                self._replaced = True
                await _send_problem(self._send, error, debug=self._debug)
                # Stop the app's response here: its body and background tasks belong to work that
                # was not stored (a welcome e-mail for a row that does not exist must not go out).
                raise _ResponseReplaced from None
        await self._send(message)

    async def _end_transaction(self, status: int) -> None:
        if not self._atomic:
            return
        self._atomic = False
        if status < 400:
            await self._unit.commit_async()
        else:
            await self._unit.rollback_async()

    async def _with_token(self, message: Message) -> Message:
        if self._token_header is None:
            return message
        token = await self._unit.current_consistency_token_async()
        if token is None:
            return message
        headers = [*message.get("headers", []), (self._token_header.encode("latin-1"), token.encode("latin-1"))]
        return {**message, "headers": headers}


class _ResponseReplaced(Exception):  # noqa: N818 - a signal to this middleware, never seen outside it
    """Raised into the app from ``send`` once its response was replaced by a problem."""


def _only_replaced(exc: BaseException) -> bool:
    """``exc`` is our signal, also when a task group wrapped it (streaming responses, anyio)."""
    if isinstance(exc, _ResponseReplaced):
        return True
    return isinstance(exc, BaseExceptionGroup) and all(_only_replaced(item) for item in exc.exceptions)


async def _send_problem(send: Send, error: BaseError, *, debug: bool) -> None:
    problem = problem_for(error, debug=debug)
    await send({"type": "http.response.start", "status": problem.status, "headers": problem.asgi_headers()})
    await send({"type": "http.response.body", "body": problem.encoded_body()})
