"""The entities the features talk about: customers and their orders.

They are declared on archipy_lite's ``BaseEntity`` like any application's models, with
``bdd_`` table names so they never meet the pytest suite's ``users`` and ``posts``.
``BDD_TABLES`` lists exactly these tables: schema set-up passes it as ``tables=`` so
nothing else on the shared metadata is created or dropped.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from archipy_lite.models.entities.sqlalchemy.base_entities import BaseEntity, UpdatableDeletableEntity


class Customer(UpdatableDeletableEntity):
    """A shop's customer: updated_at tracking and soft delete come from the base classes."""

    __tablename__ = "bdd_customers"

    name: Mapped[str] = mapped_column(String(100), nullable=False)
    email: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    city: Mapped[str | None] = mapped_column(String(100), nullable=True)
    tier: Mapped[str] = mapped_column(String(20), nullable=False, default="standard")


class Order(BaseEntity):
    """An order placed by a customer; its customer must exist."""

    __tablename__ = "bdd_orders"

    customer_id: Mapped[UUID] = mapped_column(ForeignKey("bdd_customers.uuid"), nullable=False)
    reference: Mapped[str] = mapped_column(String(50), unique=True, nullable=False)
    total_cents: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


def _table(entity: type[BaseEntity]) -> Table:
    table = entity.__table__
    assert isinstance(table, Table)
    return table


#: The features' tables, parents first (create in this order, empty in reverse).
BDD_TABLES: list[Table] = [_table(Customer), _table(Order)]
