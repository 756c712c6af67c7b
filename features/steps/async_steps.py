"""asyncio behaviour of the async adapters: tasks, cancellation, concurrency (features/async.feature).

Every step here drives real coroutines on the run's single event loop; none has a sync twin.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from behave import given, then, when

from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic

from steps.support.backends import Backend
from steps.support.entities import Customer
from steps.support.shop import ShopError, current_backend, email_for


def async_backend(context: Any) -> Backend:
    db = current_backend(context)
    assert db.is_async, "this step needs an async backend (tag the scenario @async)"
    return db


async def _sign_up(db: Backend, name: str, failure: str | None) -> None:
    async with atomic(db.adapter):
        await db.adapter.create(Customer(name=name, email=email_for(name)))
        await asyncio.sleep(0.01)  # let the other signup run in between
        if failure:
            raise ShopError(failure)


async def _concurrent_signups(db: Backend, first: str, second: str, failure: str) -> list[Any]:
    return await asyncio.gather(_sign_up(db, first, None), _sign_up(db, second, failure), return_exceptions=True)


@when('"{first}" and "{second}" sign up at the same time and Bruno\'s signup fails with "{failure}"')
def step_concurrent_signups(context: Any, first: str, second: str, failure: str) -> None:
    db = async_backend(context)
    outcomes = db.loop.run_until_complete(_concurrent_signups(db, first, second, failure))
    assert outcomes[0] is None, outcomes
    assert isinstance(outcomes[1], ShopError), outcomes


async def _cancelled_signup(db: Backend, name: str) -> bool:
    written = asyncio.Event()
    payment_provider_answers = asyncio.Event()  # never set: the provider hangs

    async def sign_up() -> None:
        async with atomic(db.adapter):
            await db.adapter.create(Customer(name=name, email=email_for(name)))
            written.set()
            await payment_provider_answers.wait()

    task = asyncio.create_task(sign_up())
    await written.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return task.cancelled()


@when('a signup of "{name}" is cancelled while it waits for the payment provider')
def step_cancelled_signup(context: Any, name: str) -> None:
    db = async_backend(context)
    context.cancelled = db.loop.run_until_complete(_cancelled_signup(db, name))


@then("the signup was cancelled")
def step_was_cancelled(context: Any) -> None:
    assert context.cancelled is True


@then('the customer book still accepts the customer "{name}"')
def step_still_accepts(context: Any, name: str) -> None:
    db = async_backend(context)
    created = db.call(db.adapter.create, Customer(name=name, email=email_for(name)))
    assert created.uuid is not None


@given("the customer book holds {count:d} numbered customers")
def step_numbered_customers(context: Any, count: int) -> None:
    db = current_backend(context)
    customers = [Customer(name=f"Customer {n:03d}", email=f"c{n:03d}@example.com") for n in range(count)]
    context.numbered = db.call(db.adapter.bulk_create, customers)


async def _look_up_all(db: Backend, customers: list[Customer]) -> list[Customer | None]:
    lookups = [db.adapter.get_by_uuid(Customer, customer.uuid) for customer in customers]
    return list(await asyncio.gather(*lookups))


@when("I look all of them up at the same time")
def step_look_up_all(context: Any) -> None:
    db = async_backend(context)
    context.looked_up = db.loop.run_until_complete(_look_up_all(db, context.numbered))


@then("every lookup finds its own customer")
def step_every_lookup(context: Any) -> None:
    expected = [customer.name for customer in context.numbered]
    assert [found.name if found else None for found in context.looked_up] == expected


async def _helper_task_in_transaction(db: Backend, name: str, helper_name: str) -> None:
    async def helper() -> None:
        # A task of its own: not part of the surrounding transaction, so its work is kept.
        await db.adapter.create(Customer(name=helper_name, email=email_for(helper_name)))

    async with atomic(db.adapter):
        await db.adapter.create(Customer(name=name, email=email_for(name)))
        await asyncio.create_task(helper())
        raise ShopError("the transaction fails after the helper finished")


@when('inside a transaction that adds "{name}" a helper task adds "{helper_name}" and the transaction then fails')
def step_helper_task(context: Any, name: str, helper_name: str) -> None:
    db = async_backend(context)
    with contextlib.suppress(ShopError):
        db.loop.run_until_complete(_helper_task_in_transaction(db, name, helper_name))
