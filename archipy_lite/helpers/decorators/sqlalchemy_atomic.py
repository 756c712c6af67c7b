"""The atomic decorators named in the ArchiPy tutorial, plus the general ``atomic`` and ``unit_of_work``.

``postgres_sqlalchemy_atomic_decorator`` and friends bind to the default
database of their kind (see ``archipy_lite.adapters.base.sqlalchemy.registry``);
use ``atomic(adapter)`` to bind to a specific adapter.
"""

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from archipy_lite.adapters.base.sqlalchemy.atomic import Atomic, atomic, on_commit
from archipy_lite.adapters.base.sqlalchemy.unit_of_work import UnitOfWork, unit_of_work

P = ParamSpec("P")
R = TypeVar("R")


def postgres_sqlalchemy_atomic_decorator(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` in an atomic block on the default PostgreSQL database."""
    return Atomic(kind="postgres")(function)


def async_postgres_sqlalchemy_atomic_decorator(function: Callable[P, R]) -> Callable[P, R]:
    """Run the coroutine function in an atomic block on the default async PostgreSQL database."""
    return Atomic(kind="postgres")(function)


def sqlite_sqlalchemy_atomic_decorator(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` in an atomic block on the default SQLite database."""
    return Atomic(kind="sqlite")(function)


def async_sqlite_sqlalchemy_atomic_decorator(function: Callable[P, R]) -> Callable[P, R]:
    """Run the coroutine function in an atomic block on the default async SQLite database."""
    return Atomic(kind="sqlite")(function)


__all__ = [
    "Atomic",
    "UnitOfWork",
    "async_postgres_sqlalchemy_atomic_decorator",
    "async_sqlite_sqlalchemy_atomic_decorator",
    "atomic",
    "on_commit",
    "postgres_sqlalchemy_atomic_decorator",
    "sqlite_sqlalchemy_atomic_decorator",
    "unit_of_work",
]
