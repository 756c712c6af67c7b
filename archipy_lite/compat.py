"""Where SQLAlchemy 2.0 and 2.1 differ, and the private SQLAlchemy names the library reads.

Everything version-dependent lives here, decided by probing behaviour once at import (never by
comparing version strings). The private names are read without defaults: if a release renames
one, the library fails loudly (and ``tests/test_compat.py`` names it) instead of silently
doing less.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.orm.state import InstanceState
from sqlalchemy.util import concurrency

# Runs a coroutine from sync code inside greenlet_spawn. 2.1 names it await_; await_only, 2.0's only
# name, stays as an alias until 2.2 deprecates it.
await_ = concurrency.await_ if hasattr(concurrency, "await_") else concurrency.await_only

# 2.1 percent-decodes the database part of a URL string and escapes it when rendering; 2.0 does neither.
URL_DATABASE_IS_ESCAPED: bool = make_url("sqlite:///%41").database == "A"


def parse_url(text: str) -> URL:
    """``make_url`` with the database part percent-decoded on every version (libpq decodes it too)."""
    url = make_url(text)
    if URL_DATABASE_IS_ESCAPED or not url.database:
        return url
    return url.set(database=unquote(url.database))


def render_url(url: URL, *, hide_password: bool = True) -> str:
    """A readable URL string (``sqlite:///:memory:``) that the installed SQLAlchemy parses back to ``url``.

    2.1 escapes every reserved character of the database part (``sqlite:///%3Amemory%3A``); only
    ``%`` and ``?`` need it for its parser to give the same database back.
    """
    if not URL_DATABASE_IS_ESCAPED or url.database is None:
        return url.render_as_string(hide_password=hide_password)
    without_database = URL.create(url.drivername, url.username, url.password, url.host, url.port, None, url.query)
    base = without_database.set(query={}).render_as_string(hide_password=hide_password)
    query = without_database.render_as_string(hide_password=hide_password)[len(base) :]
    database = url.database.replace("%", "%25").replace("?", "%3F")
    return f"{base}/{database}{query}"


def flushed_states(transaction: SessionTransaction) -> Mapping[InstanceState[Any], object]:
    """States of the objects this transaction (or its parents) flushed: private ``_dirty``."""
    dirty: Mapping[InstanceState[Any], object] = transaction._dirty
    return dirty


def group_by_clauses(query: Select[Any]) -> tuple[Any, ...]:
    """The GROUP BY expressions of ``query`` (no public accessor)."""
    return tuple(query._group_by_clauses)


def having_criteria(query: Select[Any]) -> tuple[Any, ...]:
    """The HAVING criteria of ``query`` (no public accessor)."""
    return tuple(query._having_criteria)


def is_distinct(query: Select[Any]) -> bool:
    """True for SELECT DISTINCT (including DISTINCT ON)."""
    return bool(query._distinct)


def distinct_on(query: Select[Any]) -> tuple[Any, ...]:
    """The DISTINCT ON expressions of ``query`` (PostgreSQL)."""
    return tuple(query._distinct_on)


def has_joins_or_explicit_from(query: Select[Any]) -> bool:
    """True when ``query`` has ``join()`` or ``select_from()`` parts beyond its columns' tables."""
    return bool(query._setup_joins or query._from_obj)
