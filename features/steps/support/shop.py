"""Small building blocks the step modules share: looking customers up and catching typed errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from archipy_lite.models.errors import BaseError

from steps.support.backends import Backend
from steps.support.entities import Customer, Order


def current_backend(context: Any) -> Backend:
    """The backend the scenario's tags selected."""
    db: Backend | None = getattr(context, "db", None)
    if db is None or context.backend_key is None:
        raise AssertionError("this step needs a database: tag the scenario @postgres or @sqlite (and @async)")
    return db


def count_customers(db: Backend, **where: Any) -> int:
    statement = select(func.count()).select_from(Customer).filter_by(**where)
    return int(db.call(db.adapter.execute, statement).scalar_one())


def count_orders(db: Backend, **where: Any) -> int:
    statement = select(func.count()).select_from(Order).filter_by(**where)
    return int(db.call(db.adapter.execute, statement).scalar_one())


def find_customer(db: Backend, name: str) -> Customer | None:
    """The saved customer called ``name`` (freshly read), or None."""
    statement = select(Customer).where(Customer.name == name).execution_options(populate_existing=True)
    found: Customer | None = db.call(db.adapter.scalars, statement).first()
    return found


def customer_names(db: Backend) -> list[str]:
    statement = select(Customer.name).order_by(Customer.name)
    return list(db.call(db.adapter.scalars, statement).all())


def attempt(context: Any, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``action``; a typed error is kept in ``context.error`` for the Then steps instead of failing."""
    context.error = None
    try:
        return action(*args, **kwargs)
    except BaseError as error:
        context.error = error
        return None


def expect_error(context: Any, error_class: type[BaseError]) -> BaseError:
    """The error the last attempt raised, checked to be an ``error_class``."""
    error = getattr(context, "error", None)
    assert error is not None, f"expected a {error_class.__name__}, but the operation succeeded"
    assert isinstance(error, error_class), f"expected a {error_class.__name__}, got {error!r}"
    return error


class ShopError(Exception):
    """A business failure of the shop itself (not a database error)."""


def email_for(name: str) -> str:
    """A unique, readable email address for a customer name."""
    return name.lower().replace(" ", ".") + "@example.com"


def store_for(db: Backend, store_class: type[Any], async_store_class: type[Any], model: type[Any]) -> Any:
    """A store of ``model`` over the backend's adapter: the sync class or its async twin."""
    return (async_store_class if db.is_async else store_class)(db.adapter, model)
