"""A WSGI middleware: one unit of work per request (Flask, Django-style and other thread-per-request apps).

The semantics are those of ``archipy_lite.integrations.asgi``: every database the request uses
joins its unit; with ``atomic=True`` the request is one transaction, committed before the first
byte of the body reaches the server, and a commit that fails is answered with a problem response
instead of the app's 2xx. A status of 400 or more rolls the transaction back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any

from archipy_lite.adapters.base.sqlalchemy.unit_of_work import UnitOfWork
from archipy_lite.integrations.problems import problem_for
from archipy_lite.models.errors import BaseError

Environ = dict[str, Any]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


class UnitOfWorkMiddleware:
    """Wrap ``app`` so that each request runs in its own unit of work."""

    def __init__(
        self, app: WSGIApp, adapters: Sequence[Any] = (), *, atomic: bool = False, debug: bool = False
    ) -> None:
        self.app = app
        self.adapters = tuple(adapters)
        self.atomic = atomic
        self.debug = debug

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        unit = UnitOfWork(*self.adapters, atomic=self.atomic, every_database=True)
        unit.__enter__()
        response = _Response(unit, start_response, atomic=self.atomic, debug=self.debug)
        try:
            body = self.app(environ, response.start)
            return response.wrap(body)
        except BaseException as exc:
            unit.__exit__(type(exc), exc, exc.__traceback__)
            raise


class _Response:
    """Holds the app's status until its body starts, so the transaction can end first."""

    def __init__(self, unit: UnitOfWork, start_response: StartResponse, *, atomic: bool, debug: bool) -> None:
        self._unit = unit
        self._start_response = start_response
        self._atomic = atomic
        self._debug = debug
        self._status: str | None = None
        self._headers: list[tuple[str, str]] = []
        self._exc_info: Any = None
        self._write: Callable[[bytes], object] | None = None
        self._problem: BaseError | None = None

    def start(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
        self._status, self._headers, self._exc_info = status, headers, exc_info
        return self._legacy_write

    def wrap(self, body: Iterable[bytes]) -> Iterable[bytes]:
        """Read up to the first non-empty chunk, end the transaction, then hand the rest over."""
        chunks = iter(body)
        first: list[bytes] = []
        try:
            for chunk in chunks:
                if chunk:
                    first.append(chunk)
                    break
            self._go()
        except BaseException:
            _close(body)
            raise
        if self._problem is not None:
            _close(body)
            problem = problem_for(self._problem, debug=self._debug)
            self._unit.__exit__(None, None, None)
            return [problem.encoded_body()]
        return _Body(first, chunks, body, self._unit)

    def _legacy_write(self, data: bytes) -> object:
        """PEP 3333's ``write()``: the first call ends the transaction; after a failed commit the app's bytes
        are dropped (the problem response goes out when the app returns)."""
        self._go()
        if self._write is None:
            return None
        return self._write(data)

    def _go(self) -> None:
        """End the transaction (atomic requests) and send the status: once, before any body byte."""
        if self._write is not None or self._problem is not None:
            return
        if self._atomic:
            try:
                if self._status is not None and int(self._status.split(" ", 1)[0]) < 400:
                    self._unit.commit()
                else:
                    self._unit.rollback()
            except BaseError as error:
                self._problem = error
                problem = problem_for(error, debug=self._debug)
                headers = [("Content-Type", "application/problem+json"), *problem.headers]
                self._start_response(f"{problem.status} {_reason(problem.status)}", headers, self._exc_info)
                return
        self._write = self._start_response(self._status or "500 Internal Server Error", self._headers, self._exc_info)


class _Body:
    """The rest of the app's body; closing it (the server always does) ends the unit."""

    def __init__(self, first: list[bytes], rest: Iterator[bytes], original: Iterable[bytes], unit: UnitOfWork) -> None:
        self._first = first
        self._rest = rest
        self._original = original
        self._unit = unit
        self._failure: BaseException | None = None

    def __iter__(self) -> Iterator[bytes]:
        yield from self._first
        try:
            yield from self._rest
        except BaseException as exc:
            self._failure = exc
            raise

    def close(self) -> None:
        try:
            _close(self._original)
        finally:
            failure = self._failure
            self._unit.__exit__(type(failure) if failure else None, failure, None)


def _close(body: Iterable[bytes]) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
