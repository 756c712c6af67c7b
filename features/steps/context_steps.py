"""polydatum-style request contexts: DataManager, services, meta, resources, middleware (contexts.feature)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from behave import given, then, when

from archipy_lite.context import ContextError, DataManager, Service, atomic_middleware, session_resource

from steps.support.backends import Backend
from steps.support.entities import Customer, Order
from steps.support.shop import ShopError, attempt, current_backend, email_for, expect_error


class GreetingService(Service):
    def greet(self) -> str:
        return f"Hello, {self._ctx.meta.user}"


@given("the shop's data manager with a greeting service")
def step_manager_with_greeting(context: Any) -> None:
    context.greetings = GreetingService()
    context.dm = DataManager()
    context.dm.register_services(greetings=context.greetings)


def _greet(dm: DataManager, user: str) -> str:
    with dm.dal(meta={"user": user}) as dal:
        greeting: str = dal.greetings.greet()
    return greeting


@when('"{user}" asks the greeting service for a greeting')
def step_ask_greeting(context: Any, user: str) -> None:
    context.greeting = _greet(context.dm, user)


@then('the greeting is "{greeting}"')
def step_greeting_is(context: Any, greeting: str) -> None:
    assert context.greeting == greeting, context.greeting


@then('when "{user}" asks, the greeting is "{greeting}"')
def step_second_greeting(context: Any, user: str, greeting: str) -> None:
    assert _greet(context.dm, user) == greeting


@when('a request by "{user}" tries to change who is asking to "{other}"')
def step_change_meta(context: Any, user: str, other: str) -> None:
    def set_attribute(ctx: Any) -> None:
        ctx.meta.user = other

    def set_item(ctx: Any) -> None:
        ctx.meta["user"] = other

    def replace_meta(ctx: Any) -> None:
        ctx.meta = {"user": other}

    context.refusals = []
    with context.dm.context(meta={"user": user}) as ctx:
        for change in (set_attribute, set_item, replace_meta):
            try:
                change(ctx)
            except TypeError as refusal:
                context.refusals.append(refusal)
        context.still = ctx.dal.greetings.greet()


@then('the change is refused and the request still belongs to "{user}"')
def step_change_refused(context: Any, user: str) -> None:
    assert len(context.refusals) == 3, context.refusals
    assert context.still == f"Hello, {user}"


@given("the shop's data manager with an audit log resource")
def step_manager_with_audit_log(context: Any) -> None:
    context.audit_events = []
    context.audit_entries = []

    def audit_log(ctx: Any) -> Iterator[list[str]]:
        context.audit_events.append("opened")
        yield context.audit_entries
        context.audit_events.append("closed")

    context.dm = DataManager()
    context.dm.register_resources(audit_log=audit_log)


@when("a request that never writes to the audit log ends")
def step_request_without_audit(context: Any) -> None:
    with context.dm.context(meta={"user": "bob"}):
        pass


@when("a request that writes to the audit log twice ends")
def step_request_with_audit(context: Any) -> None:
    with context.dm.context(meta={"user": "bob"}) as ctx:
        ctx.audit_log.append("looked at the basket")
        ctx.audit_log.append("paid")


@then("the audit log was opened once and closed once")
def step_audit_opened_once(context: Any) -> None:
    assert context.audit_events == ["opened", "closed"], context.audit_events


@then("it recorded {count:d} entries")
def step_audit_entries(context: Any, count: int) -> None:
    assert len(context.audit_entries) == count


@when("the greeting service is asked for a greeting outside any request")
def step_greeting_outside(context: Any) -> None:
    attempt(context, context.greetings.greet)


@then("the attempt is refused because no request is active")
def step_no_request_active(context: Any) -> None:
    expect_error(context, ContextError)


# --- one request, one transaction ---


class SignupService(Service):
    """Writes through the request's session resource, as a polydatum service would."""

    def sign_up(self, name: str, reference: str) -> None:
        session = self._data_manager.session
        customer = Customer(name=name, email=email_for(name))
        session.add(customer)
        session.flush()
        session.add(Order(customer_id=customer.uuid, reference=reference, total_cents=990))
        session.flush()


class AsyncSignupService(Service):
    async def sign_up(self, name: str, reference: str) -> None:
        session = self._data_manager.session
        customer = Customer(name=name, email=email_for(name))
        session.add(customer)
        await session.flush()
        session.add(Order(customer_id=customer.uuid, reference=reference, total_cents=990))
        await session.flush()


@given("the shop's data manager runs each request in one transaction")
def step_manager_with_transactions(context: Any) -> None:
    db = current_backend(context)
    dm = DataManager()
    dm.register_services(signups=AsyncSignupService() if db.is_async else SignupService())
    dm.register_resources(session=session_resource(db.adapter))
    dm.register_context_middleware(atomic_middleware(db.adapter))
    context.dm = dm


def _request(db: Backend, dm: DataManager, name: str, reference: str, failure: str | None) -> None:
    with dm.dal(meta={"user": "clerk"}) as dal:
        dal.signups.sign_up(name, reference)
        if failure:
            raise ShopError(failure)


async def _request_async(db: Backend, dm: DataManager, name: str, reference: str, failure: str | None) -> None:
    async with dm.dal(meta={"user": "clerk"}) as dal:
        await dal.signups.sign_up(name, reference)
        if failure:
            raise ShopError(failure)


@when('a request signs up "{name}" with a first order "{reference}" and then fails with "{failure}"')
def step_request_fails(context: Any, name: str, reference: str, failure: str) -> None:
    try:
        current_backend(context).run(_request, _request_async, context.dm, name, reference, failure)
    except ShopError as error:
        context.failure = error
    else:
        raise AssertionError("the request was expected to fail")


# Registered after the longer wording above, which behave would otherwise read as a reference.
@when('a request signs up "{name}" with a first order "{reference}"')
def step_request_signs_up(context: Any, name: str, reference: str) -> None:
    current_backend(context).run(_request, _request_async, context.dm, name, reference, None)
