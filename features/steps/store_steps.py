"""Store and AsyncStore over the adapters (features/stores.feature)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from behave import given, then, when

from archipy_lite.models.errors import NotFoundError
from archipy_lite.stores import AsyncStore, Store

from steps.support.backends import Backend
from steps.support.entities import Customer
from steps.support.shop import attempt, current_backend, expect_error


class CustomerStore(Store[Customer]):
    """Customers: keyword filters by city and tier; upserts match on the email address."""

    auto_filter_fields = ("city", "tier")
    upsert_conflict_fields = ("email",)


class AsyncCustomerStore(AsyncStore[Customer]):
    """The async twin of CustomerStore."""

    auto_filter_fields = CustomerStore.auto_filter_fields
    upsert_conflict_fields = CustomerStore.upsert_conflict_fields


def customer_store(db: Backend) -> CustomerStore | AsyncCustomerStore:
    return AsyncCustomerStore(db.adapter, Customer) if db.is_async else CustomerStore(db.adapter, Customer)


def _create(context: Any, name: str, email: str, city: str) -> None:
    db = current_backend(context)
    store = customer_store(db)
    context.customers[name] = db.call(store.create, Customer(name=name, email=email, city=city))


@when('the store creates the customer "{name}" with email "{email}" from "{city}"')
def step_store_creates(context: Any, name: str, email: str, city: str) -> None:
    _create(context, name, email, city)


@given('the store holds the customer "{name}" with email "{email}" from "{city}"')
def step_store_holds(context: Any, name: str, email: str, city: str) -> None:
    _create(context, name, email, city)


@then('the store retrieves "{name}" with email "{email}"')
def step_store_retrieves(context: Any, name: str, email: str) -> None:
    db = current_backend(context)
    found = db.call(customer_store(db).retrieve, context.customers[name].uuid)
    assert (found.name, found.email) == (name, email), (found.name, found.email)


@then('the store counts {count:d} customer in "{city}"')
@then('the store counts {count:d} customers in "{city}"')
def step_store_counts_city(context: Any, count: int, city: str) -> None:
    db = current_backend(context)
    assert db.call(customer_store(db).count, city=city) == count


@then("the store counts {count:d} customer in total")
@then("the store counts {count:d} customers in total")
def step_store_counts(context: Any, count: int) -> None:
    db = current_backend(context)
    assert db.call(customer_store(db).count) == count


@when('the store changes "{name}" to email "{email}" and city "{city}"')
def step_store_changes(context: Any, name: str, email: str, city: str) -> None:
    db = current_backend(context)
    store = customer_store(db)
    context.update = db.call(store.update_with_diff, context.customers[name].uuid, email=email, city=city)


@then('the store reports that only the email changed, from "{before}" to "{after}"')
def step_store_reports_changes(context: Any, before: str, after: str) -> None:
    changes = context.update.changes
    assert set(changes) == {"email"}, dict(changes)
    assert (changes["email"].before, changes["email"].after) == (before, after)


@when('the store removes "{name}"')
def step_store_removes(context: Any, name: str) -> None:
    db = current_backend(context)
    db.call(customer_store(db).delete, context.customers[name].uuid)


@then('retrieving "{name}" from the store fails because it was not found')
def step_store_retrieve_fails(context: Any, name: str) -> None:
    db = current_backend(context)
    attempt(context, db.call, customer_store(db).retrieve, context.customers[name].uuid)
    expect_error(context, NotFoundError)


@then('when asked to include removed customers, the store finds "{name}" marked as removed')
def step_store_includes_removed(context: Any, name: str) -> None:
    db = current_backend(context)
    found = db.call(customer_store(db).get, context.customers[name].uuid, include_deleted=True)
    assert found is not None
    assert found.is_deleted is True
    assert found.deleted_at is not None


@when('the store upserts "{name}" with email "{email}" as a "{tier}" customer')
def step_store_upserts(context: Any, name: str, email: str, tier: str) -> None:
    db = current_backend(context)
    context.customers[name] = db.call(customer_store(db).upsert, Customer(name=name, email=email, tier=tier))


@then('the store says "{name}" is a "{tier}" customer')
def step_store_tier(context: Any, name: str, tier: str) -> None:
    db = current_backend(context)
    found = db.call(customer_store(db).search_first, filters={"name": name})
    assert found is not None
    assert found.tier == tier, found.tier


@when("the store tries to change the email of a customer nobody has")
def step_store_update_missing(context: Any) -> None:
    db = current_backend(context)
    attempt(context, db.call, customer_store(db).update, uuid4(), email="nobody@example.com")
