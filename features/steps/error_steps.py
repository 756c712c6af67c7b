"""Typed errors from real databases (features/errors.feature)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from behave import given, then, when
from sqlalchemy import select

from archipy_lite.models.errors import (
    AlreadyExistsError,
    BaseError,
    DatabaseConstraintError,
    DatabaseIntegrityError,
    DatabaseReadOnlyError,
    NotFoundError,
)
from archipy_lite.stores import AsyncStore, Store

from steps.support.backends import Backend
from steps.support.entities import Customer, Order
from steps.support.shop import attempt, current_backend, expect_error, store_for


@when('I try to add the customer "{name}" with email "{email}"')
def step_try_add(context: Any, name: str, email: str) -> None:
    db = current_backend(context)
    attempt(context, db.call, db.adapter.create, Customer(name=name, email=email))


@then("the attempt is refused because the customer already exists")
def step_refused_exists(context: Any) -> None:
    expect_error(context, AlreadyExistsError)


@then("the refusal also counts as a database integrity error")
def step_also_integrity(context: Any) -> None:
    expect_error(context, DatabaseIntegrityError)


@then("the refusal has HTTP status {status:d}")
def step_http_status(context: Any, status: int) -> None:
    error = expect_error(context, BaseError)
    assert error.http_status == status, error.to_dict()
    assert error.to_dict()["http_status"] == status


@then('the refusal does not reveal "{value}"')
def step_not_revealed(context: Any, value: str) -> None:
    error = expect_error(context, BaseError)
    for text in (str(error), repr(error), str(error.to_dict())):
        assert value not in text, text


@then("the database's own error is kept as the cause of the refusal")
def step_cause_kept(context: Any) -> None:
    error = expect_error(context, BaseError)
    assert error.__cause__ is not None
    assert not isinstance(error.__cause__, BaseError), repr(error.__cause__)


@when('I try to record the order "{reference}" for a customer who does not exist')
def step_order_for_missing_customer(context: Any, reference: str) -> None:
    db = current_backend(context)
    orders = store_for(db, Store, AsyncStore, Order)
    attempt(context, db.call, orders.create, Order(customer_id=uuid4(), reference=reference, total_cents=500))


@then("the attempt is refused because something was not found")
def step_refused_not_found(context: Any) -> None:
    expect_error(context, NotFoundError)


@given('"{name}" has placed the order "{reference}"')
def step_has_placed_order(context: Any, name: str, reference: str) -> None:
    db = current_backend(context)
    customer = context.customers[name]
    db.call(db.adapter.create, Order(customer_id=customer.uuid, reference=reference, total_cents=1999))


@when('I try to remove the customer "{name}"')
def step_try_remove(context: Any, name: str) -> None:
    db = current_backend(context)
    attempt(context, db.call, db.adapter.delete, context.customers[name])


@then("the attempt is refused because it breaks a database constraint")
def step_refused_constraint(context: Any) -> None:
    expect_error(context, DatabaseConstraintError)


@given("a read-only connection to the customer book")
def step_read_only_connection(context: Any) -> None:
    db = current_backend(context)
    adapter = context.databases.new_adapter(context.backend_key, read_only=True)
    context.read_only = Backend(db.spec, adapter, adapter.session_manager.config, db.loop)


@when('I try to add the customer "{name}" through the read-only connection')
def step_try_add_read_only(context: Any, name: str) -> None:
    read_only: Backend = context.read_only
    attempt(context, read_only.call, read_only.adapter.create, Customer(name=name, email=f"{name}@example.com"))


@then("the attempt is refused because the database is read-only")
def step_refused_read_only(context: Any) -> None:
    expect_error(context, DatabaseReadOnlyError)


@when('I look up "{name}" through the read-only connection')
def step_lookup_read_only(context: Any, name: str) -> None:
    read_only: Backend = context.read_only
    context.found = read_only.call(read_only.adapter.scalars, select(Customer).where(Customer.name == name)).first()


@then('the read-only connection finds "{email}"')
def step_read_only_finds(context: Any, email: str) -> None:
    assert context.found is not None
    assert context.found.email == email
