"""Create, read, update and delete through the adapters (features/crud.feature)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from behave import then, when

from archipy_lite.models.errors import AlreadyExistsError

from steps.support.backends import Backend
from steps.support.entities import Customer
from steps.support.shop import current_backend, find_customer


@when('I add the customer "{name}" with email "{email}" from "{city}"')
def step_add_customer(context: Any, name: str, email: str, city: str) -> None:
    db = current_backend(context)
    context.customer = db.call(db.adapter.create, Customer(name=name, email=email, city=city))


@then("the customer has an identifier and a creation time")
def step_has_identifier(context: Any) -> None:
    customer: Customer = context.customer
    assert isinstance(customer.uuid, UUID)
    assert isinstance(customer.created_at, datetime)
    assert customer.created_at.tzinfo is not None


@then('looking the customer up again gives "{name}" from "{city}"')
def step_lookup_again(context: Any, name: str, city: str) -> None:
    db = current_backend(context)
    found = db.call(db.adapter.get_by_uuid, Customer, context.customer.uuid)
    assert found is not None
    assert (found.name, found.city) == (name, city)


def _change_email(db: Backend, uuid: UUID, email: str) -> Customer:
    customer = db.adapter.get_by_uuid(Customer, uuid)
    customer.email = email
    db.adapter.get_session().flush()  # outside an atomic block a flush is durable
    return customer  # type: ignore[no-any-return]


async def _change_email_async(db: Backend, uuid: UUID, email: str) -> Customer:
    customer = await db.adapter.get_by_uuid(Customer, uuid)
    customer.email = email
    await db.adapter.get_session().flush()
    return customer  # type: ignore[no-any-return]


@when('I change the email address of "{name}" to "{email}"')
def step_change_email(context: Any, name: str, email: str) -> None:
    db = current_backend(context)
    before = context.customers[name]
    context.previous_update = before.updated_at
    context.customer = db.run(_change_email, _change_email_async, before.uuid, email)


@then('the customer "{name}" has the email address "{email}"')
def step_has_email(context: Any, name: str, email: str) -> None:
    found = find_customer(current_backend(context), name)
    assert found is not None
    assert found.email == email, found.email


@then("the customer's last change time has moved forward")
def step_updated_at_moved(context: Any) -> None:
    found = find_customer(current_backend(context), context.customer.name)
    assert found is not None
    assert found.updated_at > context.previous_update, (found.updated_at, context.previous_update)


@when('I remove the customer "{name}"')
def step_remove(context: Any, name: str) -> None:
    db = current_backend(context)
    db.call(db.adapter.delete, context.customers[name])


@when("I add these customers in one go:")
def step_bulk_add(context: Any) -> None:
    db = current_backend(context)
    customers = [Customer(name=row["name"], email=row["email"], city=row["city"]) for row in context.table]
    context.created = db.call(db.adapter.bulk_create, customers)


def _generated(start: int, count: int) -> list[Customer]:
    return [
        Customer(name=f"Imported {n}", email=f"import{n}@example.com", city="Lyon") for n in range(start, start + count)
    ]


@when("I import {count:d} generated customers in one go")
def step_import(context: Any, count: int) -> None:
    db = current_backend(context)
    context.imported = db.call(db.adapter.bulk_create, _generated(0, count))


@when("I import {count:d} more generated customers, the last one with an email already taken")
def step_import_with_duplicate(context: Any, count: int) -> None:
    db = current_backend(context)
    batch = [*_generated(len(context.imported), count - 1), Customer(name="Copy", email="import0@example.com")]
    try:
        db.call(db.adapter.bulk_create, batch)
    except AlreadyExistsError as error:
        context.refusal = error
    else:
        context.refusal = None


@then("the import is refused because the email address is taken")
def step_import_refused(context: Any) -> None:
    refusal = context.refusal
    assert isinstance(refusal, AlreadyExistsError), refusal
    constraint = refusal.details.get("constraint")
    assert constraint is None or "email" in constraint, constraint  # SQLite does not name constraints


@when("I remove the first imported customer")
def step_remove_imported(context: Any) -> None:
    db = current_backend(context)
    db.call(db.adapter.delete, context.imported[0])


@then('the customer "{name}" lives in "{city}"')
def step_lives_in(context: Any, name: str, city: str) -> None:
    found = find_customer(current_backend(context), name)
    assert found is not None
    assert found.city == city


@when("I look up a customer by an identifier nobody has")
def step_lookup_unknown(context: Any) -> None:
    db = current_backend(context)
    context.found = db.call(db.adapter.get_by_uuid, Customer, uuid4())


@then("no customer is found")
def step_none_found(context: Any) -> None:
    assert context.found is None
