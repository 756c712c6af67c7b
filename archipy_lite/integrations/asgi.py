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

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
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
    """Wrap ``app`` so that each request (or websocket connection) runs in its own unit of work."""

    def __init__(
        self, app: ASGIApp, adapters: Sequence[Any] = (), *, atomic: bool = False, debug: bool = False
    ) -> None:
        self.app = app
        self.adapters = tuple(adapters)
        self.atomic = atomic
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        atomic = self.atomic and scope["type"] == "http"
        unit = UnitOfWork(*self.adapters, atomic=atomic, every_database=True)
        await unit.__aenter__()
        boundary = _ResponseBoundary(unit, send, atomic=atomic, debug=self.debug)
        try:
            await self.app(scope, receive, boundary.send)
        except BaseException as exc:
            await unit.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        await unit.__aexit__(None, None, None)


class _ResponseBoundary:
    """Forwards the app's messages, ending the request's transaction before the first one leaves."""

    def __init__(self, unit: UnitOfWork, send: Send, *, atomic: bool, debug: bool) -> None:
        self._unit = unit
        self._send = send
        self._atomic = atomic
        self._debug = debug
        self._replaced = False  # the app's response was replaced by a problem: drop its messages

    async def send(self, message: Message) -> None:
        if self._replaced:
            return
        if self._atomic and message["type"] == "http.response.start":
            self._atomic = False
            try:
                if int(message["status"]) < 400:
                    await self._unit.commit_async()
                else:
                    await self._unit.rollback_async()
            except BaseError as error:
                self._replaced = True
                await self._send_problem(error)
                return
        await self._send(message)

    async def _send_problem(self, error: BaseError) -> None:
        problem = problem_for(error, debug=self._debug)
        await self._send({"type": "http.response.start", "status": problem.status, "headers": problem.asgi_headers()})
        await self._send({"type": "http.response.body", "body": problem.encoded_body()})
