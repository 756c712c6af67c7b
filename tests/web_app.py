"""A small FastAPI service over archipy_lite, the way a user would write it, for the web tests.

(No ``from __future__ import annotations`` here: FastAPI must see the dependency aliases.)

Customers have orders. Emails are unique through a DEFERRED constraint on PostgreSQL, so a
duplicate fails at COMMIT, after the handler has returned; an email starting with
``serialize`` makes a deferred trigger raise SQLSTATE 40001 at COMMIT.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, FastAPI, WebSocket
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import ForeignKey, String, UniqueConstraint, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from archipy_lite.integrations.asgi import UnitOfWorkMiddleware
from archipy_lite.integrations.fastapi import Database, add_exception_handlers, lifespan
from archipy_lite.models.errors import NotFoundError


class WebBase(DeclarativeBase):
    """The web tests' own tables (not on BaseEntity.metadata)."""


class Customer(WebBase):
    __tablename__ = "web_customers"
    __table_args__ = (UniqueConstraint("email", name="web_customers_email_key", deferrable=True, initially="DEFERRED"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    orders: Mapped[list["Order"]] = relationship(back_populates="customer")


class Order(WebBase):
    __tablename__ = "web_orders"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_customers.id"))
    item: Mapped[str] = mapped_column(String(100))
    customer: Mapped[Customer] = relationship(back_populates="orders")


SERIALIZATION_TRIGGER = """
CREATE OR REPLACE FUNCTION web_fail_serialization() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF starts_with(NEW.email, 'serialize') THEN
        RAISE EXCEPTION 'simulated conflict at commit' USING ERRCODE = '40001';
    END IF;
    RETURN NEW;
END $$;
CREATE CONSTRAINT TRIGGER web_serialization AFTER INSERT ON web_customers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION web_fail_serialization();
"""


class CustomerIn(BaseModel):
    email: str
    name: str | None = None


class CustomerOut(BaseModel):
    id: uuid.UUID
    email: str
    name: str | None


def build_app(
    sync_adapter: Any, async_adapter: Any, *, atomic: bool = True
) -> tuple[FastAPI, Database[Any], Database[Any]]:
    """The service: async endpoints on ``async_adapter``, sync (thread pool) ones on ``sync_adapter``."""
    async_db: Database[Any] = Database(async_adapter)
    sync_db: Database[Any] = Database(sync_adapter)
    app = FastAPI(lifespan=lifespan(async_db, sync_db))
    app.add_middleware(UnitOfWorkMiddleware, atomic=atomic)
    add_exception_handlers(app)
    AsyncPort = Annotated[Any, Depends(async_db.port)]
    SyncPort = Annotated[Any, Depends(sync_db.port)]

    @app.post("/customers", status_code=201)
    async def create_customer(body: CustomerIn, port: AsyncPort) -> CustomerOut:
        customer = await port.create(Customer(email=body.email, name=body.name))
        return CustomerOut(id=customer.id, email=customer.email, name=customer.name)

    @app.get("/customers/{customer_id}")
    async def get_customer(customer_id: uuid.UUID, port: AsyncPort) -> CustomerOut:
        customer = await port.get_by_uuid(Customer, customer_id)
        if customer is None:
            raise NotFoundError(f"customer {customer_id} does not exist")
        return CustomerOut(id=customer.id, email=customer.email, name=customer.name)

    @app.post("/streamed-customers", status_code=201)
    async def create_streamed(body: CustomerIn, port: AsyncPort) -> StreamingResponse:
        await port.create(Customer(email=body.email))
        release = app.state.release_stream

        async def chunks() -> AsyncIterator[bytes]:
            yield b"stored;"
            await asyncio.wait_for(release.wait(), 10)  # the test looks at the database first
            yield b"done"

        return StreamingResponse(chunks(), status_code=201, media_type="text/plain")

    @app.post("/welcomed-customers", status_code=201)
    async def create_welcomed(body: CustomerIn, port: AsyncPort, tasks: BackgroundTasks) -> dict[str, str]:
        await port.create(Customer(email=body.email))
        tasks.add_task(app.state.outbox.append, f"welcome {body.email}")  # must not go out if nothing was stored
        return {"email": body.email}

    @app.post("/streamed-welcome", status_code=201)
    async def create_streamed_welcome(body: CustomerIn, port: AsyncPort) -> StreamingResponse:
        await port.create(Customer(email=body.email))

        async def chunks() -> AsyncIterator[bytes]:
            app.state.outbox.append(f"streamed {body.email}")
            yield b"stored"

        return StreamingResponse(chunks(), status_code=201, media_type="text/plain")

    @app.post("/sync/customers", status_code=201)
    def create_customer_sync(body: CustomerIn, port: SyncPort) -> CustomerOut:
        customer = port.create(Customer(email=body.email, name=body.name))
        return CustomerOut(id=customer.id, email=customer.email, name=customer.name)

    @app.post("/sync/customers/{customer_id}/rename-without-saving")
    def rename_without_saving(customer_id: uuid.UUID, body: CustomerIn, port: SyncPort) -> dict[str, str]:
        customer = port.get_by_uuid(Customer, customer_id)
        customer.name = body.name  # never saved: a bug in the handler
        return {"renamed": "in memory only"}

    @app.post("/sync/orders/{customer_id}", status_code=201)
    def add_order(customer_id: uuid.UUID, port: SyncPort) -> dict[str, Any]:
        customer = port.get_by_uuid(Customer, customer_id)
        port.create(Order(customer_id=customer.id, item="book"))
        return {"items": sorted(order.item for order in customer.orders)}  # a lazy load in the request

    @app.get("/sync/customers/{customer_id}/orders")
    def list_orders(customer_id: uuid.UUID, port: SyncPort) -> dict[str, Any]:
        customer = port.get_by_uuid(Customer, customer_id)
        return {"items": sorted(order.item for order in customer.orders)}

    @app.get("/count")
    async def count(port: AsyncPort) -> dict[str, int]:
        result = await port.execute(select(Customer.id))
        return {"customers": len(result.all())}

    @app.get("/database")
    async def which_database(port: AsyncPort) -> dict[str, str]:
        return {"dialect": port.session_manager.engine.dialect.name}

    @app.websocket("/ws")
    async def websocket_orders(websocket: WebSocket, port: AsyncPort) -> None:
        await websocket.accept()
        async for email in websocket.iter_text():
            await port.create(Customer(email=email))
            await websocket.send_text(f"stored {email}")

    @app.post("/raw-sql")
    async def raw_sql(port: AsyncPort) -> dict[str, int]:
        result = await port.execute(text("SELECT 1"))
        return {"value": int(result.scalar_one())}

    return app, async_db, sync_db
