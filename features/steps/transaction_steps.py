"""Atomic blocks: commit, rollback, savepoints, on_commit and the tutorial's decorators (transactions.feature)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from behave import given, then, when
from sqlalchemy import func, select

from archipy_lite.adapters.base.sqlalchemy.registry import set_default_session_manager
from archipy_lite.helpers.decorators.sqlalchemy_atomic import (
    async_postgres_sqlalchemy_atomic_decorator,
    async_sqlite_sqlalchemy_atomic_decorator,
    atomic,
    on_commit,
    postgres_sqlalchemy_atomic_decorator,
    sqlite_sqlalchemy_atomic_decorator,
)
from archipy_lite.models.errors import AlreadyExistsError

from steps.support.backends import Backend
from steps.support.entities import Customer, Order
from steps.support.shop import ShopError, count_orders, current_backend, email_for, find_customer


def _new_signup(name: str, reference: str | None = None) -> tuple[Customer, Callable[[Customer], Order]]:
    customer = Customer(name=name, email=email_for(name))
    return customer, lambda saved: Order(customer_id=saved.uuid, reference=reference, total_cents=4200)


# --- sign up: a customer and a first order in one transaction, optionally failing at the end ---


def _sign_up(db: Backend, name: str, reference: str, failure: str | None) -> None:
    customer, first_order = _new_signup(name, reference)
    with atomic(db.adapter):
        saved = db.adapter.create(customer)
        db.adapter.create(first_order(saved))
        if failure:
            raise ShopError(failure)


async def _sign_up_async(db: Backend, name: str, reference: str, failure: str | None) -> None:
    customer, first_order = _new_signup(name, reference)
    async with atomic(db.adapter):
        saved = await db.adapter.create(customer)
        await db.adapter.create(first_order(saved))
        if failure:
            raise ShopError(failure)


@when('I sign up "{name}" with a first order "{reference}" in one transaction')
def step_sign_up(context: Any, name: str, reference: str) -> None:
    current_backend(context).run(_sign_up, _sign_up_async, name, reference, None)


@when('signing up "{name}" with a first order "{reference}" fails with "{failure}" after both were written')
def step_sign_up_fails(context: Any, name: str, reference: str, failure: str) -> None:
    try:
        current_backend(context).run(_sign_up, _sign_up_async, name, reference, failure)
    except ShopError as error:
        context.failure = error
    else:
        raise AssertionError("the signup was expected to fail")


@then('the failure reaches me unchanged, saying "{message}"')
def step_failure_unchanged(context: Any, message: str) -> None:
    assert type(context.failure) is ShopError, repr(context.failure)
    assert str(context.failure) == message


@then('"{name}" has {count:d} order')
@then('"{name}" has {count:d} orders')
def step_has_orders(context: Any, name: str, count: int) -> None:
    db = current_backend(context)
    customer = find_customer(db, name)
    assert customer is not None
    assert count_orders(db, customer_id=customer.uuid) == count


@then('there is no order "{reference}"')
def step_no_order(context: Any, reference: str) -> None:
    assert count_orders(current_backend(context), reference=reference) == 0


# --- a nested block (SAVEPOINT) that fails inside a signup ---


def _sign_up_with_optional_step(db: Backend, name: str, duplicate_email: str) -> AlreadyExistsError | None:
    with atomic(db.adapter):
        db.adapter.create(Customer(name=name, email=email_for(name)))
        try:
            with atomic(db.adapter):
                db.adapter.create(Customer(name=f"{name} (again)", email=duplicate_email))
        except AlreadyExistsError as error:
            return error
    return None


async def _sign_up_with_optional_step_async(db: Backend, name: str, duplicate_email: str) -> AlreadyExistsError | None:
    async with atomic(db.adapter):
        await db.adapter.create(Customer(name=name, email=email_for(name)))
        try:
            async with atomic(db.adapter):
                await db.adapter.create(Customer(name=f"{name} (again)", email=duplicate_email))
        except AlreadyExistsError as error:
            return error
    return None


@when('I sign up "{name}" and, as an optional extra step, try to register "{email}" again')
def step_optional_step_fails(context: Any, name: str, email: str) -> None:
    db = current_backend(context)
    context.optional_error = db.run(_sign_up_with_optional_step, _sign_up_with_optional_step_async, name, email)


@then("the optional step failed because the customer already exists")
def step_optional_failed(context: Any) -> None:
    assert isinstance(context.optional_error, AlreadyExistsError), context.optional_error


# --- on_commit: the welcome email ---


class Mailbox:
    """Records welcome emails, and whether the customer was visible to another connection when each was sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.visible_when_sent: list[bool] = []


def _visible_count(name: str) -> Any:
    return select(func.count()).select_from(Customer).where(Customer.name == name)


def _sign_up_with_email(db: Backend, name: str, failure: str | None, mailbox: Mailbox, observer: Any) -> None:
    def send_welcome_email() -> None:
        mailbox.visible_when_sent.append(observer.execute(_visible_count(name)).scalar_one() == 1)
        mailbox.sent.append(name)

    with atomic(db.adapter):
        db.adapter.create(Customer(name=name, email=email_for(name)))
        on_commit(send_welcome_email)
        if failure:
            raise ShopError(failure)


async def _sign_up_with_email_async(
    db: Backend, name: str, failure: str | None, mailbox: Mailbox, observer: Any
) -> None:
    async def send_welcome_email() -> None:
        result = await observer.execute(_visible_count(name))
        mailbox.visible_when_sent.append(result.scalar_one() == 1)
        mailbox.sent.append(name)

    async with atomic(db.adapter):
        await db.adapter.create(Customer(name=name, email=email_for(name)))
        on_commit(send_welcome_email)  # an awaitable callback is awaited after the commit
        if failure:
            raise ShopError(failure)


def _run_signup_with_email(context: Any, name: str, failure: str | None) -> None:
    db = current_backend(context)
    context.mailbox = Mailbox()
    # A second adapter (its own engine and connection) sees only what has been committed.
    observer = context.databases.new_adapter(context.backend_key)
    try:
        db.run(_sign_up_with_email, _sign_up_with_email_async, name, failure, context.mailbox, observer)
    except ShopError as error:
        context.failure = error


@when('I sign up "{name}" in a transaction that sends a welcome email once it is saved')
def step_signup_with_email(context: Any, name: str) -> None:
    _run_signup_with_email(context, name, None)


@when('a signup of "{name}" that sends a welcome email once it is saved fails with "{failure}"')
def step_signup_with_email_fails(context: Any, name: str, failure: str) -> None:
    _run_signup_with_email(context, name, failure)
    assert str(context.failure) == failure


def _optional_step_with_email(db: Backend, name: str, duplicate_email: str, mailbox: Mailbox) -> None:
    with atomic(db.adapter):
        db.adapter.create(Customer(name=name, email=email_for(name)))
        try:
            with atomic(db.adapter):
                on_commit(lambda: mailbox.sent.append(duplicate_email))
                db.adapter.create(Customer(name=f"{name} (again)", email=duplicate_email))
        except AlreadyExistsError:
            pass


async def _optional_step_with_email_async(db: Backend, name: str, duplicate_email: str, mailbox: Mailbox) -> None:
    async with atomic(db.adapter):
        await db.adapter.create(Customer(name=name, email=email_for(name)))
        try:
            async with atomic(db.adapter):
                on_commit(lambda: mailbox.sent.append(duplicate_email))
                await db.adapter.create(Customer(name=f"{name} (again)", email=duplicate_email))
        except AlreadyExistsError:
            pass


@when('I sign up "{name}" and an optional step that sends a welcome email to "{email}" fails')
def step_optional_step_with_email(context: Any, name: str, email: str) -> None:
    context.mailbox = Mailbox()
    db = current_backend(context)
    db.run(_optional_step_with_email, _optional_step_with_email_async, name, email, context.mailbox)


@then("{count:d} welcome email was sent")
@then("{count:d} welcome emails were sent")
def step_emails_sent(context: Any, count: int) -> None:
    assert len(context.mailbox.sent) == count, context.mailbox.sent


@then('when it was sent, "{name}" was already visible to everyone')
def step_visible_when_sent(context: Any, name: str) -> None:
    assert context.mailbox.sent == [name]
    assert context.mailbox.visible_when_sent == [True]


# --- the tutorial's decorators, bound to the default database of their kind ---

DECORATORS: dict[tuple[str, bool], Callable[[Any], Any]] = {
    ("postgres", False): postgres_sqlalchemy_atomic_decorator,
    ("postgres", True): async_postgres_sqlalchemy_atomic_decorator,
    ("sqlite", False): sqlite_sqlalchemy_atomic_decorator,
    ("sqlite", True): async_sqlite_sqlalchemy_atomic_decorator,
}


@given("the shop's default database is this customer book")
def step_default_database(context: Any) -> None:
    # A dedicated adapter, so that resetting the defaults after the scenario leaves the main one alone.
    context.shop_adapter = context.databases.new_adapter(context.backend_key)
    set_default_session_manager(context.shop_adapter.session_manager)


def _decorated_signup(db: Backend, adapter: Any, name: str, failure: str) -> None:
    @DECORATORS[(db.kind, False)]
    def sign_up() -> None:
        saved = adapter.create(Customer(name=name, email=email_for(name)))
        adapter.create(Order(customer_id=saved.uuid, reference=f"{name}-1", total_cents=100))
        raise ShopError(failure)

    sign_up()


async def _decorated_signup_async(db: Backend, adapter: Any, name: str, failure: str) -> None:
    @DECORATORS[(db.kind, True)]
    async def sign_up() -> None:
        saved = await adapter.create(Customer(name=name, email=email_for(name)))
        await adapter.create(Order(customer_id=saved.uuid, reference=f"{name}-1", total_cents=100))
        raise ShopError(failure)

    await sign_up()


@when('a signup of "{name}" decorated with the shop\'s transaction decorator fails with "{failure}"')
def step_decorated_signup(context: Any, name: str, failure: str) -> None:
    db = current_backend(context)
    try:
        db.run(_decorated_signup, _decorated_signup_async, context.shop_adapter, name, failure)
    except ShopError as error:
        context.failure = error
    else:
        raise AssertionError("the decorated signup was expected to fail")
