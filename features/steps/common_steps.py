"""Steps every database feature uses: choosing the customer book, seeding customers, counting them."""

from __future__ import annotations

from typing import Any

from behave import given, then

from steps.support.entities import Customer
from steps.support.shop import count_customers, current_backend, find_customer


@given("the customer book is kept in {label}")
def step_customer_book_is_kept_in(context: Any, label: str) -> None:
    db = current_backend(context)
    assert db.label == label, f"the scenario's tags select {db.label}, but the step names {label}"


@given('the customer "{name}" with email "{email}"')
def step_a_customer(context: Any, name: str, email: str) -> None:
    db = current_backend(context)
    context.customers[name] = db.call(db.adapter.create, Customer(name=name, email=email))


@given("the customer book holds these customers:")
def step_these_customers(context: Any) -> None:
    db = current_backend(context)
    customers = [
        Customer(
            name=row["name"],
            email=row["email"],
            city=row.get("city") or None,
            tier=row.get("tier") or "standard",
        )
        for row in context.table
    ]
    for customer in db.call(db.adapter.bulk_create, customers):
        context.customers[customer.name] = customer


@then("the customer book holds {count:d} customer")
@then("the customer book holds {count:d} customers")
def step_book_holds(context: Any, count: int) -> None:
    assert count_customers(current_backend(context)) == count


@then('there is no customer "{name}"')
def step_no_customer(context: Any, name: str) -> None:
    assert find_customer(current_backend(context), name) is None


@then('the customer "{name}" is saved')
def step_customer_saved(context: Any, name: str) -> None:
    assert find_customer(current_backend(context), name) is not None, f"{name} was not saved"
