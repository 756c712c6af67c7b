"""A FastAPI service on real PostgreSQL, served by uvicorn on loopback and called over real HTTP.

The unit-of-work middleware owns the request boundary: an atomic request commits before its
response starts, a failed commit is never answered with a 2xx, one request's unsaved change is
never written by the next, lazy loads work inside a request and leave nothing open, and 200
concurrent requests share a pool of 10.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy import text
from web_app import SERIALIZATION_TRIGGER, WebBase, build_app

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import AsyncSQLiteSQLAlchemyAdapter
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig

from db_checks import plain_dsn

pytestmark = pytest.mark.postgres


class Server:
    """uvicorn serving ``app`` on a free loopback port, in a thread with its own event loop."""

    def __init__(self, app: Any) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self.server.serve())

    def __enter__(self) -> Server:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                return self
            self.thread.join(0.01)
        raise RuntimeError("uvicorn did not start")

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def run(self, coroutine: Any) -> Any:
        """Run ``coroutine`` on the server's loop (for its thread pool settings)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)


@pytest.fixture(scope="module")
def adapters(postgres_dsn: str) -> Iterator[tuple[Any, Any]]:
    dsn = plain_dsn(postgres_dsn).replace("postgresql://", "postgresql+psycopg://")
    fields: dict[str, Any] = {"POSTGRES_DSN": dsn, "POOL_SIZE": 10, "POOL_MAX_OVERFLOW": 0}
    sync_adapter = PostgresSQLAlchemyAdapter(orm_config=PostgresSQLAlchemyConfig(**fields))
    async_adapter = AsyncPostgresSQLAlchemyAdapter(orm_config=PostgresSQLAlchemyConfig(**fields))
    engine = sync_adapter.session_manager.engine
    WebBase.metadata.drop_all(engine)
    WebBase.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql(SERIALIZATION_TRIGGER)
    yield sync_adapter, async_adapter
    WebBase.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def server(adapters: tuple[Any, Any]) -> Iterator[Server]:
    sync_adapter, async_adapter = adapters
    with sync_adapter.session_manager.engine.begin() as connection:
        connection.execute(text("TRUNCATE web_orders, web_customers"))
    app, _, _ = build_app(sync_adapter, async_adapter)
    app.state.release_stream = None
    app.state.outbox = []
    with Server(app) as running:
        running.app = app  # type: ignore[attr-defined]
        yield running


def rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(plain_dsn(dsn), autocommit=True) as connection:
        return list(connection.execute(sql).fetchall())  # type: ignore[arg-type]


async def eventually(check: Any, seconds: float = 5.0) -> bool:
    """Poll ``check`` until it holds (work that follows a response, like ending its unit)."""
    for _ in range(int(seconds / 0.01)):
        if check():
            return True
        await asyncio.sleep(0.01)
    return bool(check())


def idle_in_transaction(dsn: str) -> int:
    found = rows(
        dsn,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND state LIKE 'idle in transaction%'",
    )
    return int(found[0][0])


async def test_a_created_row_is_committed_before_the_response_starts(server: Server, postgres_dsn: str) -> None:
    release = server.run(_new_event())
    server.app.state.release_stream = release  # type: ignore[attr-defined]
    body = {"email": "ann@example.com"}
    async with (
        httpx.AsyncClient(base_url=server.url) as client,
        client.stream("POST", "/streamed-customers", json=body) as response,
    ):
        assert response.status_code == 201
        # The headers are here, the body is not (the handler waits for us): the row is already stored.
        assert rows(postgres_dsn, "SELECT email FROM web_customers") == [("ann@example.com",)]
        server.loop.call_soon_threadsafe(release.set)  # type: ignore[union-attr]
        assert await response.aread() == b"stored;done"


async def _new_event() -> asyncio.Event:
    return asyncio.Event()


async def test_a_commit_that_fails_on_a_deferred_unique_constraint_answers_409(
    server: Server, postgres_dsn: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        first = await client.post("/customers", json={"email": "dup@example.com"})
        assert first.status_code == 201
        second = await client.post("/customers", json={"email": "dup@example.com", "name": "second"})
    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    problem = second.json()
    assert (problem["status"], problem["code"]) == (409, "ALREADY_EXISTS")
    assert "web_customers" not in second.text  # no table or constraint names without debug
    assert rows(postgres_dsn, "SELECT email, name FROM web_customers") == [("dup@example.com", None)]


async def test_a_failed_commit_runs_neither_the_background_task_nor_the_streamed_body(
    server: Server, postgres_dsn: str
) -> None:
    outbox = server.app.state.outbox  # type: ignore[attr-defined]
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.post("/welcomed-customers", json={"email": "ann@example.com"})).status_code == 201
        assert (await client.post("/streamed-welcome", json={"email": "bob@example.com"})).text == "stored"
        welcomed = await client.post("/welcomed-customers", json={"email": "ann@example.com"})
        streamed = await client.post("/streamed-welcome", json={"email": "bob@example.com"})
        serialized = await client.post("/welcomed-customers", json={"email": "serialize-me@example.com"})
        after = await client.get("/count")  # the server carries on
    assert [r.status_code for r in (welcomed, streamed, serialized)] == [409, 409, 503]
    assert after.json() == {"customers": 2}
    assert outbox == ["welcome ann@example.com", "streamed bob@example.com"]  # none for the failed commits
    assert sorted(rows(postgres_dsn, "SELECT email FROM web_customers")) == [("ann@example.com",), ("bob@example.com",)]


async def test_a_serialization_failure_at_commit_answers_503_with_retry_after(
    server: Server, postgres_dsn: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/customers", json={"email": "serialize-me@example.com"})
        sync_response = await client.post("/sync/customers", json={"email": "serialize-sync@example.com"})
    for answered in (response, sync_response):
        assert answered.status_code == 503
        assert answered.headers["retry-after"] == "1"
        assert answered.json()["code"] == "DATABASE_SERIALIZATION_FAILURE"
    assert rows(postgres_dsn, "SELECT count(*) FROM web_customers") == [(0,)]


async def test_one_worker_thread_the_first_requests_unsaved_change_is_never_written(
    adapters: tuple[Any, Any], postgres_dsn: str
) -> None:
    """Without atomic requests a change nobody saved is discarded when its request ends."""
    sync_adapter, async_adapter = adapters
    app, _, _ = build_app(sync_adapter, async_adapter, atomic=False)
    with Server(app) as server:
        server.run(_one_worker_thread())
        async with httpx.AsyncClient(base_url=server.url) as client:
            created = (await client.post("/sync/customers", json={"email": "a@example.com", "name": "Ann"})).json()
            renamed = await client.post(
                f"/sync/customers/{created['id']}/rename-without-saving", json={"email": "x", "name": "Bob"}
            )
            assert renamed.status_code == 200
            other = await client.post("/sync/customers", json={"email": "b@example.com", "name": "Bea"})
            assert other.status_code == 201
            order = await client.post(f"/sync/orders/{created['id']}")
            assert order.status_code == 201
    assert sorted(rows(postgres_dsn, "SELECT email, name FROM web_customers")) == [
        ("a@example.com", "Ann"),
        ("b@example.com", "Bea"),
    ]


async def test_an_atomic_request_saves_its_own_changes_and_nothing_of_the_next(
    server: Server, postgres_dsn: str
) -> None:
    """With atomic requests the request's transaction saves what it changed, as a session commit does."""
    server.run(_one_worker_thread())
    async with httpx.AsyncClient(base_url=server.url) as client:
        created = (await client.post("/sync/customers", json={"email": "a@example.com", "name": "Ann"})).json()
        await client.post(f"/sync/customers/{created['id']}/rename-without-saving", json={"email": "x", "name": "Bob"})
        assert rows(postgres_dsn, "SELECT name FROM web_customers") == [("Bob",)]
        failing = await client.post("/sync/customers", json={"email": "a@example.com", "name": "duplicate"})
        assert failing.status_code == 409
    assert rows(postgres_dsn, "SELECT email, name FROM web_customers") == [("a@example.com", "Bob")]


async def _one_worker_thread() -> None:
    import anyio.to_thread

    anyio.to_thread.current_default_thread_limiter().total_tokens = 1


async def test_a_lazy_load_in_a_request_works_and_leaves_nothing_open(
    server: Server, adapters: tuple[Any, Any], postgres_dsn: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        created = (await client.post("/sync/customers", json={"email": "c@example.com"})).json()
        first = await client.post(f"/sync/orders/{created['id']}")
        second = await client.post(f"/sync/orders/{created['id']}")
        listed = await client.get(f"/sync/customers/{created['id']}/orders")
    assert first.json() == {"items": ["book"]}
    assert second.json() == {"items": ["book", "book"]}
    assert listed.json() == {"items": ["book", "book"]}
    sync_adapter, _ = adapters
    pool = sync_adapter.session_manager.engine.pool
    assert await eventually(lambda: pool.checkedout() == 0)  # the unit ends just after the response
    assert idle_in_transaction(postgres_dsn) == 0


async def test_200_concurrent_requests_on_a_pool_of_10(server: Server, postgres_dsn: str) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60) as client:

        async def create(index: int) -> int:
            response = await client.post("/customers", json={"email": f"c{index}@example.com"})
            return response.status_code

        statuses = await asyncio.gather(*(create(index) for index in range(200)))
        counted = (await client.get("/count")).json()
    assert statuses == [201] * 200
    assert counted == {"customers": 200}
    assert rows(postgres_dsn, "SELECT count(DISTINCT email) FROM web_customers") == [(200,)]
    assert idle_in_transaction(postgres_dsn) == 0


async def test_typed_errors_become_problem_responses(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get(f"/customers/{uuid.uuid4()}")
        malformed = await client.get("/customers/not-a-uuid")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "urn:archipy-lite:problem:not-found",
        "title": "Not found error",
        "status": 404,
        "detail": "The requested resource was not found.",
        "code": "NOT_FOUND",
    }
    assert malformed.status_code == 422  # FastAPI's own validation, untouched


@pytest.fixture
async def sqlite_adapter(tmp_path: Path) -> AsyncIterator[Any]:
    adapter = AsyncSQLiteSQLAlchemyAdapter(orm_config=SQLiteSQLAlchemyConfig(DATABASE=str(tmp_path / "web.sqlite3")))
    async with adapter.session_manager.engine.begin() as connection:  # SQLite has no deferrable UNIQUE
        await connection.exec_driver_sql(
            "CREATE TABLE web_customers (id CHAR(32) PRIMARY KEY, email VARCHAR(200) UNIQUE, name VARCHAR(200))"
        )
        await connection.exec_driver_sql(
            "CREATE TABLE web_orders (id CHAR(32) PRIMARY KEY, "
            "customer_id CHAR(32) REFERENCES web_customers (id), item VARCHAR(100))"
        )
    yield adapter
    await adapter.session_manager.dispose()


async def test_dependency_overrides_run_the_same_app_on_sqlite(
    adapters: tuple[Any, Any], sqlite_adapter: Any, postgres_dsn: str
) -> None:
    sync_adapter, async_adapter = adapters
    with sync_adapter.session_manager.engine.begin() as connection:
        connection.execute(text("TRUNCATE web_orders, web_customers"))
    app, async_db, _ = build_app(sync_adapter, async_adapter)
    app.dependency_overrides[async_db.adapter] = lambda: sqlite_adapter
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/database")).json() == {"dialect": "sqlite"}
        created = await client.post("/customers", json={"email": "lite@example.com"})
        assert created.status_code == 201
        fetched = await client.get(f"/customers/{created.json()['id']}")
        assert fetched.json()["email"] == "lite@example.com"
        assert (await client.get("/count")).json() == {"customers": 1}
    assert rows(postgres_dsn, "SELECT count(*) FROM web_customers") == [(0,)]
    pool = sqlite_adapter.session_manager.engine.sync_engine.pool
    assert await eventually(lambda: pool.checkedout() == 0)


def test_a_websocket_connection_is_one_unit_but_never_one_transaction(
    adapters: tuple[Any, Any], postgres_dsn: str
) -> None:
    from starlette.testclient import TestClient

    sync_adapter, async_adapter = adapters
    with sync_adapter.session_manager.engine.begin() as connection:
        connection.execute(text("TRUNCATE web_orders, web_customers"))
    app, _, _ = build_app(sync_adapter, async_adapter)  # atomic=True applies to HTTP requests only
    with TestClient(app) as client, client.websocket_connect("/ws") as websocket:
        websocket.send_text("ws1@example.com")
        assert websocket.receive_text() == "stored ws1@example.com"
        assert rows(postgres_dsn, "SELECT email FROM web_customers") == [("ws1@example.com",)]  # durable already
        websocket.send_text("ws2@example.com")
        assert websocket.receive_text() == "stored ws2@example.com"
    assert rows(postgres_dsn, "SELECT count(*) FROM web_customers") == [(2,)]


def test_a_database_provider_takes_an_adapter_a_factory_or_an_adapter_class(tmp_path: Path) -> None:
    from archipy_lite.adapters.sqlite.sqlalchemy.adapters import SQLiteSQLAlchemyAdapter
    from archipy_lite.integrations.fastapi import Database

    adapter = SQLiteSQLAlchemyAdapter(orm_config=SQLiteSQLAlchemyConfig(DATABASE=str(tmp_path / "a.sqlite3")))
    assert Database(adapter).get() is adapter
    made = Database(lambda: adapter)
    assert made.get() is adapter
    assert made.get() is made.get()  # built once
    from_class = Database(SQLiteSQLAlchemyAdapter).get()
    assert isinstance(from_class, SQLiteSQLAlchemyAdapter)
