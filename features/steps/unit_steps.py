"""Units of work: what one request shares and what it leaves behind (units.feature)."""

from __future__ import annotations

import warnings
from typing import Any

from behave import then, when
from sqlalchemy import event, select

from archipy_lite import unit_of_work
from archipy_lite.models.errors import UnsavedChangesWarning

from steps.support.backends import Backend
from steps.support.entities import Customer
from steps.support.shop import ShopError, current_backend, email_for, find_customer


def _named(name: str) -> Any:
    return select(Customer).where(Customer.name == name)


def _sync_engine(db: Backend) -> Any:
    """The engine the adapter uses (for asyncpg: the engine of the run's event loop)."""
    if db.is_async:

        async def in_loop() -> Any:
            return db.adapter.session_manager.engine.sync_engine

        return db.loop.run_until_complete(in_loop())
    return db.adapter.session_manager.engine


def _lookups_then_add(db: Backend, name: str, times: int, new_name: str) -> None:
    with unit_of_work(db.adapter):
        found = db.adapter.scalars(_named(name)).one()
        for _ in range(times):
            assert db.adapter.get_by_uuid(Customer, found.uuid) is found
        db.adapter.create(Customer(name=new_name, email=email_for(new_name)))


async def _lookups_then_add_async(db: Backend, name: str, times: int, new_name: str) -> None:
    async with unit_of_work(db.adapter):
        found = (await db.adapter.scalars(_named(name))).one()
        for _ in range(times):
            assert await db.adapter.get_by_uuid(Customer, found.uuid) is found
        await db.adapter.create(Customer(name=new_name, email=email_for(new_name)))


@when('one request looks "{name}" up {times:d} times and adds the customer "{new_name}"')
def step_one_request(context: Any, name: str, times: int, new_name: str) -> None:
    db = current_backend(context)
    checkouts: list[int] = []
    engine = _sync_engine(db)

    def count(*_: Any) -> None:
        checkouts.append(1)

    event.listen(engine, "checkout", count)
    try:
        db.run(_lookups_then_add, _lookups_then_add_async, name, times, new_name)
    finally:
        event.remove(engine, "checkout", count)
    context.checkouts = len(checkouts)


@then("the request took {count:d} connection from the pool")
def step_request_took(context: Any, count: int) -> None:
    assert context.checkouts == count, f"{context.checkouts} checkouts"


@then("no connection is left checked out")
def step_nothing_checked_out(context: Any) -> None:
    assert _sync_engine(current_backend(context)).pool.checkedout() == 0


def _change_without_saving(db: Backend, name: str, email: str) -> None:
    with unit_of_work(db.adapter):
        db.adapter.scalars(_named(name)).one().email = email


async def _change_without_saving_async(db: Backend, name: str, email: str) -> None:
    async with unit_of_work(db.adapter):
        (await db.adapter.scalars(_named(name))).one().email = email


@when('a request changes the email of "{name}" to "{email}" and forgets to save it')
def step_forgets_to_save(context: Any, name: str, email: str) -> None:
    db = current_backend(context)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        db.run(_change_without_saving, _change_without_saving_async, name, email)
    assert any(issubclass(warning.category, UnsavedChangesWarning) for warning in caught)


def _add(db: Backend, name: str) -> None:
    with unit_of_work(db.adapter):
        db.adapter.create(Customer(name=name, email=email_for(name)))
        db.adapter.get_session().flush()


async def _add_async(db: Backend, name: str) -> None:
    async with unit_of_work(db.adapter):
        await db.adapter.create(Customer(name=name, email=email_for(name)))
        await db.adapter.get_session().flush()


@when('the next request adds the customer "{name}"')
def step_next_request(context: Any, name: str) -> None:
    current_backend(context).run(_add, _add_async, name)


@then('"{name}" still has the email "{email}"')
def step_still_has_email(context: Any, name: str, email: str) -> None:
    customer = find_customer(current_backend(context), name)
    assert customer is not None
    assert customer.email == email, customer.email


def _failing_request(db: Backend, name: str, failure: str) -> None:
    with unit_of_work(db.adapter, atomic=True):
        db.adapter.create(Customer(name=name, email=email_for(name)))
        raise ShopError(failure)


async def _failing_request_async(db: Backend, name: str, failure: str) -> None:
    async with unit_of_work(db.adapter, atomic=True):
        await db.adapter.create(Customer(name=name, email=email_for(name)))
        raise ShopError(failure)


@when('a request run as one transaction adds the customer "{name}" and then fails with "{failure}"')
def step_failing_request(context: Any, name: str, failure: str) -> None:
    try:
        current_backend(context).run(_failing_request, _failing_request_async, name, failure)
    except ShopError as error:
        context.failure = error
    else:
        raise AssertionError("the request did not fail")
