"""The WSGI middleware around a Flask app, served over real HTTP by a one-thread WSGI server."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import psycopg
import pytest
from flask import Flask, Response, jsonify, request
from sqlalchemy import text
from web_app import SERIALIZATION_TRIGGER, Customer, Order, WebBase

from archipy_lite.adapters.postgres.sqlalchemy.adapters import PostgresSQLAlchemyAdapter
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig
from archipy_lite.integrations.wsgi import UnitOfWorkMiddleware
from archipy_lite.models.errors import NotFoundError

from db_checks import plain_dsn

pytestmark = pytest.mark.postgres


def build_flask(adapter: Any, *, atomic: bool) -> Any:
    app = Flask(__name__)

    @app.post("/customers")
    def create() -> Any:
        body = request.get_json()
        customer = adapter.create(Customer(email=body["email"], name=body.get("name")))
        return jsonify(id=str(customer.id)), 201

    @app.post("/customers/<customer_id>/rename-without-saving")
    def rename(customer_id: str) -> Any:
        adapter.get_by_uuid(Customer, uuid.UUID(customer_id)).name = request.get_json()["name"]
        return jsonify(renamed="in memory only")

    @app.post("/customers/<customer_id>/orders")
    def add_order(customer_id: str) -> Any:
        customer = adapter.get_by_uuid(Customer, uuid.UUID(customer_id))
        adapter.create(Order(customer_id=customer.id, item="pen"))
        return jsonify(items=[order.item for order in customer.orders]), 201

    @app.post("/fail-after-write")
    def fail_after_write() -> Any:
        adapter.create(Customer(email="rolled-back@example.com"))
        raise NotFoundError("the handler gave up")

    @app.post("/streamed")
    def streamed() -> Response:
        adapter.create(Customer(email="streamed@example.com"))
        checks: list[Any] = app.config["checks"]

        def chunks() -> Iterator[bytes]:
            yield b"first;"
            checks.append(app.config["probe"]())  # what another connection sees mid-body
            yield b"rest"

        return Response(chunks(), status=201)

    app.wsgi_app = UnitOfWorkMiddleware(app.wsgi_app, [adapter], atomic=atomic)  # type: ignore[method-assign]
    return app


class _Quiet(WSGIRequestHandler):
    def log_message(self, *_: Any) -> None:
        return None


class WsgiServer:
    """wsgiref's one-thread server on a free loopback port."""

    def __init__(self, app: Any) -> None:
        self.httpd = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.thread.join(10)
        self.httpd.server_close()


@pytest.fixture(scope="module")
def adapter(postgres_dsn: str) -> Iterator[Any]:
    dsn = plain_dsn(postgres_dsn).replace("postgresql://", "postgresql+psycopg://")
    built = PostgresSQLAlchemyAdapter(orm_config=PostgresSQLAlchemyConfig(POSTGRES_DSN=dsn, POOL_SIZE=5))
    engine = built.session_manager.engine
    WebBase.metadata.drop_all(engine)
    WebBase.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql(SERIALIZATION_TRIGGER)
    yield built
    WebBase.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture(autouse=True)
def empty_tables(adapter: Any) -> None:
    with adapter.session_manager.engine.begin() as connection:
        connection.execute(text("TRUNCATE web_orders, web_customers"))


def rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(plain_dsn(dsn), autocommit=True) as connection:
        return list(connection.execute(sql).fetchall())  # type: ignore[arg-type]


def test_atomic_requests_commit_before_the_body_and_a_failed_commit_is_never_2xx(
    adapter: Any, postgres_dsn: str
) -> None:
    app = build_flask(adapter, atomic=True)
    app.config["checks"] = []
    app.config["probe"] = lambda: rows(postgres_dsn, "SELECT email FROM web_customers WHERE email LIKE 'streamed%'")
    with WsgiServer(app) as url, httpx.Client(base_url=url) as client:
        assert client.post("/customers", json={"email": "a@example.com"}).status_code == 201
        duplicate = client.post("/customers", json={"email": "a@example.com", "name": "again"})
        conflict = client.post("/customers", json={"email": "serialize@example.com"})
        failed = client.post("/fail-after-write")
        streamed = client.post("/streamed")
    assert (duplicate.status_code, duplicate.headers["content-type"]) == (409, "application/problem+json")
    assert duplicate.json()["code"] == "ALREADY_EXISTS"
    assert (conflict.status_code, conflict.headers["retry-after"]) == (503, "1")
    assert failed.status_code == 500  # Flask's own answer to an unhandled error; the write rolled back
    assert (streamed.status_code, streamed.content) == (201, b"first;rest")
    assert app.config["checks"] == [[("streamed@example.com",)]]  # committed before the body went out
    assert sorted(rows(postgres_dsn, "SELECT email, name FROM web_customers")) == [
        ("a@example.com", None),
        ("streamed@example.com", None),
    ]


def test_one_thread_serves_two_requests_the_first_unsaved_change_is_never_written(
    adapter: Any, postgres_dsn: str
) -> None:
    app = build_flask(adapter, atomic=False)
    with WsgiServer(app) as url, httpx.Client(base_url=url) as client:
        created = client.post("/customers", json={"email": "a@example.com", "name": "Ann"}).json()
        renamed = client.post(f"/customers/{created['id']}/rename-without-saving", json={"name": "Bob"})
        assert renamed.status_code == 200
        assert client.post("/customers", json={"email": "b@example.com", "name": "Bea"}).status_code == 201
        order = client.post(f"/customers/{created['id']}/orders")
    assert order.json() == {"items": ["pen"]}  # a lazy load inside the request
    assert sorted(rows(postgres_dsn, "SELECT email, name FROM web_customers")) == [
        ("a@example.com", "Ann"),
        ("b@example.com", "Bea"),
    ]
    assert adapter.session_manager.engine.pool.checkedout() == 0


def write_app(adapter: Any) -> Any:
    """A plain WSGI app that answers through PEP 3333's ``write()`` callable, not an iterable body."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        email = environ["PATH_INFO"].strip("/")
        adapter.create(Customer(email=email))
        write = start_response("201 Created", [("Content-Type", "text/plain")])
        write(b"created ")
        write(email.encode())
        return []

    return app


@pytest.mark.parametrize("named", [True, False], ids=["adapters given", "databases joining on demand"])
def test_an_app_answering_through_write_gets_the_problem_when_the_commit_fails(
    adapter: Any, postgres_dsn: str, named: bool
) -> None:
    app = UnitOfWorkMiddleware(write_app(adapter), [adapter] if named else [], atomic=True)
    with WsgiServer(app) as url, httpx.Client(base_url=url) as client:
        created = client.post("/a@example.com")
        duplicate = client.post("/a@example.com")
        conflict = client.post("/serialize@example.com")
    assert (created.status_code, created.text) == (201, "created a@example.com")
    assert (duplicate.status_code, duplicate.headers["content-type"]) == (409, "application/problem+json")
    assert "created" not in duplicate.text  # none of the app's bytes after a failed commit
    assert (conflict.status_code, conflict.headers["retry-after"]) == (503, "1")
    assert rows(postgres_dsn, "SELECT email FROM web_customers") == [("a@example.com",)]
    assert adapter.session_manager.engine.pool.checkedout() == 0
