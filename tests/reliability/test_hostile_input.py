"""Scenario 6: a corpus of hostile input.

Malformed DSNs, out-of-range pool values, bad isolation levels, bad page sizes, unknown sort fields,
SQL injection in sort fields and filter values, wrong value types, non-list IN values, LIKE wildcards
in user input, very long strings, NUL bytes, lone surrogates, invalid UUIDs and naive datetimes.

Each case either raises a typed archipy_lite error (a ``BaseError``) with a specific message, or
succeeds with the safe result (injection strings are plain values; wildcards match literally). No raw
SQLAlchemy, driver or pydantic exception may escape, and after every case the seeded rows of both
databases are unchanged: no injected statement ran.
"""

# Each case may raise or succeed, so the outcome is inspected in except/else branches.
# ruff: noqa: PT017

from __future__ import annotations

import inspect
import json
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select, text

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import SQLiteSQLAlchemyAdapter
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.errors import (
    BaseError,
    ConfigurationError,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseQueryError,
    InvalidArgumentError,
    UniqueViolationError,
)
from archipy_lite.models.types.base_types import FilterOperationType
from archipy_lite.stores import AsyncStore, Store

from . import figures
from .conftest import pg_config, query
from .entities import Account, ReliabilityBase

INJECTIONS = [
    "x'; DROP TABLE rel_accounts; --",
    "' OR '1'='1",
    "'; UPDATE rel_accounts SET balance = 999; --",
    "alice' --",
]
LITERAL = "100%_sure\\"  # a username made of LIKE wildcards and the escape character
LONG = "x" * 10_000


@dataclass
class Ctx:
    pg: PostgresSQLAlchemyAdapter
    apg: AsyncPostgresSQLAlchemyAdapter
    sq: SQLiteSQLAlchemyAdapter
    pgs: Store[Account]
    apgs: AsyncStore[Account]
    sqs: Store[Account]
    alice: UUID
    dsn: str
    sqlite_path: Path
    created: int = 0  # rows cases added on purpose


@pytest.fixture(scope="module")
async def ctx(rel_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Ctx]:
    path = tmp_path_factory.mktemp("hostile") / "hostile.sqlite3"
    pg = PostgresSQLAlchemyAdapter(pg_config(rel_dsn))
    apg = AsyncPostgresSQLAlchemyAdapter(pg_config(rel_dsn))
    sq = SQLiteSQLAlchemyAdapter(SQLiteSQLAlchemyConfig(DATABASE=str(path)))
    ReliabilityBase.metadata.create_all(sq.session_manager.engine)
    query(rel_dsn, "TRUNCATE rel_accounts")
    alice = uuid4()
    for store in (Store(pg, Account), Store(sq, Account)):
        store.create(Account(uuid=alice, username="alice", email="a@example.com", balance=10))
        store.create(Account(username="bob", email="b@example.com", balance=20))
        store.create(Account(username=LITERAL, balance=30))
    context = Ctx(pg, apg, sq, Store(pg, Account), AsyncStore(apg, Account), Store(sq, Account), alice, rel_dsn, path)
    try:
        yield context
    finally:
        pg.session_manager.dispose()
        sq.session_manager.dispose()
        await apg.session_manager.dispose()


def snapshot(c: Ctx) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The seeded rows of both databases, read from outside the adapters."""
    sql = "SELECT username, email, balance FROM rel_accounts WHERE username IN ('alice', 'bob', %s) ORDER BY 1"
    pg_rows = query(c.dsn, sql, (LITERAL,))
    connection = sqlite3.connect(c.sqlite_path)
    try:
        sqlite_rows = list(connection.execute(sql.replace("%s", "?"), (LITERAL,)).fetchall())
        sqlite_count = connection.execute("SELECT count(*) FROM rel_accounts").fetchone()[0]
    finally:
        connection.close()
    pg_count = query(c.dsn, "SELECT count(*) FROM rel_accounts")[0][0]
    assert pg_count + sqlite_count == 6 + c.created, f"rows appeared or vanished: {pg_count} + {sqlite_count}"
    return pg_rows, sqlite_rows


SEEDED = (
    [("100%_sure\\", None, 30), ("alice", "a@example.com", 10), ("bob", "b@example.com", 20)],
    [("100%_sure\\", None, 30), ("alice", "a@example.com", 10), ("bob", "b@example.com", 20)],
)


# --- helpers the cases use -------------------------------------------------------------------------------


def pg_fields(c: Ctx, **fields: Any) -> PostgresSQLAlchemyConfig:
    return pg_config(c.dsn, **fields)


def connect_pg(c: Ctx, **fields: Any) -> Any:
    adapter = PostgresSQLAlchemyAdapter(PostgresSQLAlchemyConfig(**fields))
    try:
        return adapter.execute(text("SELECT 1")).scalar_one()
    finally:
        adapter.session_manager.dispose()


async def connect_apg(c: Ctx, **fields: Any) -> Any:
    adapter = AsyncPostgresSQLAlchemyAdapter(PostgresSQLAlchemyConfig(**fields))
    try:
        return (await adapter.execute(text("SELECT 1"))).scalar_one()
    finally:
        await adapter.session_manager.dispose()


def connect_sqlite(**fields: Any) -> Any:
    adapter = SQLiteSQLAlchemyAdapter(SQLiteSQLAlchemyConfig(**fields))
    try:
        return adapter.execute(text("SELECT count(*) FROM sqlite_master")).scalar_one()
    finally:
        adapter.session_manager.dispose()


def server(c: Ctx) -> dict[str, Any]:
    """The test server's fields, without a DSN (so explicit fields are not overridden)."""
    config = pg_config(c.dsn)
    return {"HOST": config.HOST, "PORT": config.PORT, "USERNAME": config.USERNAME, "DATABASE": config.DATABASE}


def not_a_database(c: Ctx) -> Any:
    path = c.sqlite_path.with_name("not-a-database.sqlite3")
    path.write_bytes(b"this is not a SQLite file " * 200)
    return connect_sqlite(DATABASE=str(path))


def stored_exactly(c: Ctx, store: Store[Account], username: str) -> None:
    found = store.search(filters={"username": username})
    assert [account.username for account in found] == [username]
    store.hard_delete(found[0].uuid)


def roundtrip(c: Ctx, store: Store[Account], username: str) -> None:
    store.create(Account(username=username))
    stored_exactly(c, store, username)


def like(store: Store[Account], op: FilterOperationType, value: Any) -> list[str]:
    return sorted(account.username for account in store.search(filters=[("username", op, value)]))


def uuid_search(adapter: Any) -> Any:
    return adapter.execute_search_query(Account, select(Account), PaginationDTO(), SortDTO(field="nope"))


# --- the corpus ----------------------------------------------------------------------------------------

Expect = type[BaseError] | tuple[type[BaseError], ...] | None


@dataclass
class Case:
    id: str
    run: Callable[[Ctx], Any]
    expect: Expect  # None: must succeed, and ``ok`` (if any) checks the result
    match: str = ""  # must appear in the message (case-insensitive): the field or the reason
    ok: Callable[[Any], bool] | None = None


def _c(id: str, run: Callable[[Ctx], Any], expect: Expect, match: str = "", ok: Any = None) -> Case:
    return Case(id, run, expect, match, ok)


Cfg = ConfigurationError
Arg = InvalidArgumentError
P = PostgresSQLAlchemyConfig
S = SQLiteSQLAlchemyConfig
F = FilterOperationType

CASES: list[Case] = [
    # malformed DSNs
    _c("dsn/not-a-url", lambda c: P(POSTGRES_DSN="not a url"), Cfg, "POSTGRES_DSN"),
    _c("dsn/port-not-a-number", lambda c: P(POSTGRES_DSN="postgresql://u:pw@h:port/db"), Cfg, "POSTGRES_DSN"),
    _c("dsn/port-out-of-range", lambda c: P(POSTGRES_DSN="postgresql://u:pw@h:99999/db"), Cfg, "PORT"),
    _c("dsn/mysql-scheme", lambda c: P(POSTGRES_DSN="mysql://u:pw@h/db"), Cfg, "postgresql scheme"),
    _c("dsn/unknown-driver", lambda c: P(POSTGRES_DSN="postgresql+nope://u@h/db"), Cfg, "not supported"),
    _c("dsn/broken-ipv6-host", lambda c: P(POSTGRES_DSN="postgresql://u@[::1/db"), Cfg, "POSTGRES_DSN"),
    _c("dsn/not-a-string", lambda c: P(POSTGRES_DSN=12345), Cfg, "POSTGRES_DSN"),
    _c("dsn/injection-in-database", lambda c: P(POSTGRES_DSN="postgresql://u@h:5432/db;DROP TABLE x"), None),
    _c("dsn/unknown-query-option", lambda c: connect_pg(c, POSTGRES_DSN=c.dsn + "?nonsense=1"), Cfg, "CONNECT_ARGS"),
    _c(
        "dsn/unknown-database",
        lambda c: connect_pg(c, **{**server(c), "DATABASE": "no_such_db_x"}),
        DatabaseConnectionError,
    ),
    _c("dsn/closed-port", lambda c: connect_pg(c, **{**server(c), "PORT": 1}), DatabaseConnectionError),
    # out-of-range pool and connection values
    _c("pool/size-0", lambda c: P(POOL_SIZE=0), Cfg, "POOL_SIZE"),
    _c("pool/size-negative", lambda c: P(POOL_SIZE=-1), Cfg, "POOL_SIZE"),
    _c("pool/size-text", lambda c: P(POOL_SIZE="many"), Cfg, "POOL_SIZE"),
    _c("pool/overflow-negative", lambda c: P(POOL_MAX_OVERFLOW=-1), Cfg, "POOL_MAX_OVERFLOW"),
    _c("pool/timeout-0", lambda c: P(POOL_TIMEOUT=0), Cfg, "POOL_TIMEOUT"),
    _c("pool/timeout-nan", lambda c: P(POOL_TIMEOUT=float("nan")), Cfg, "POOL_TIMEOUT"),
    _c("pool/timeout-infinite", lambda c: P(POOL_TIMEOUT=float("inf")), Cfg, "POOL_TIMEOUT"),
    _c("pool/recycle-below-minus-1", lambda c: P(POOL_RECYCLE_SECONDS=-2), Cfg, "POOL_RECYCLE_SECONDS"),
    _c("port/0", lambda c: P(PORT=0), Cfg, "PORT"),
    _c("port/70000", lambda c: P(PORT=70000), Cfg, "PORT"),
    _c("connect-timeout/0", lambda c: P(CONNECT_TIMEOUT=0), Cfg, "CONNECT_TIMEOUT"),
    _c("connect-timeout/infinite", lambda c: P(CONNECT_TIMEOUT=float("inf")), Cfg, "CONNECT_TIMEOUT"),
    _c("statement-timeout/negative", lambda c: P(STATEMENT_TIMEOUT=-1), Cfg, "STATEMENT_TIMEOUT"),
    _c("statement-timeout/beyond-int32", lambda c: P(STATEMENT_TIMEOUT=10**12), Cfg, "STATEMENT_TIMEOUT"),
    _c("config/unknown-field", lambda c: P(POOLSIZE=3), Cfg, "POOLSIZE"),
    _c("config/mysql-driver", lambda c: P(DRIVER_NAME="mysql"), Cfg, "DRIVER_NAME"),
    _c("config/ssl-mode", lambda c: P(SSL_MODE="sometimes"), Cfg, "SSL_MODE"),
    _c(
        "connect-args/unknown-asyncpg",
        lambda c: connect_apg(c, **server(c), CONNECT_ARGS={"nonsense": 1}),
        Cfg,
        "CONNECT_ARGS",
    ),
    _c(
        "connect-args/unknown-psycopg",
        lambda c: connect_pg(c, **server(c), CONNECT_ARGS={"nonsense": 1}),
        Cfg,
        "CONNECT_ARGS",
    ),
    _c("host/nul-asyncpg", lambda c: connect_apg(c, **{**server(c), "HOST": "127.0.0.1\x00evil"}), Cfg, "NUL"),
    # bad isolation levels
    _c("isolation/misspelt", lambda c: P(ISOLATION_LEVEL="SERIALISABLE"), Cfg, "ISOLATION_LEVEL"),
    _c(
        "isolation/injection",
        lambda c: P(ISOLATION_LEVEL="READ COMMITTED; DROP TABLE rel_accounts"),
        Cfg,
        "ISOLATION_LEVEL",
    ),
    _c("isolation/number", lambda c: P(ISOLATION_LEVEL=3), Cfg, "ISOLATION_LEVEL"),
    _c("isolation/hyphenated", lambda c: P(ISOLATION_LEVEL="read-committed"), Cfg, "ISOLATION_LEVEL"),
    # SQLite settings and files
    _c("sqlite/journal-mode", lambda c: S(JOURNAL_MODE="FAST"), Cfg, "JOURNAL_MODE"),
    _c("sqlite/busy-timeout-negative", lambda c: S(BUSY_TIMEOUT=-1), Cfg, "BUSY_TIMEOUT"),
    _c("sqlite/begin-mode", lambda c: S(BEGIN_MODE="LAZY"), Cfg, "BEGIN_MODE"),
    _c("sqlite/empty-path", lambda c: S(DATABASE=""), Cfg, "DATABASE"),
    _c("sqlite/nul-in-path", lambda c: connect_sqlite(DATABASE=str(c.sqlite_path) + "\x00.db"), Cfg, "NUL"),
    _c(
        "sqlite/missing-directory",
        lambda c: connect_sqlite(DATABASE="/nonexistent/dir/x.sqlite3"),
        DatabaseConnectionError,
    ),
    _c("sqlite/not-a-database", not_a_database, DatabaseConnectionError),
    # page sizes and pages
    _c("page/0", lambda c: PaginationDTO(page=0), Arg, "page"),
    _c("page/negative", lambda c: PaginationDTO(page=-1), Arg, "page"),
    _c("page/beyond-offset-range", lambda c: PaginationDTO(page=10**30), Arg, "page"),
    _c("page/text", lambda c: PaginationDTO(page="abc"), Arg, "page"),
    _c("page-size/0", lambda c: PaginationDTO(page_size=0), Arg, "page_size"),
    _c("page-size/negative", lambda c: PaginationDTO(page_size=-5), Arg, "page_size"),
    _c("page-size/huge", lambda c: PaginationDTO(page_size=10**9), Arg, "page_size"),
    _c("page-size/fraction", lambda c: PaginationDTO(page_size=2.5), Arg, "page_size"),
    # sort fields
    _c("sort/empty", lambda c: SortDTO(field=""), Arg, "field"),
    _c("sort/number", lambda c: SortDTO(field=123), Arg, "field"),
    _c("sort/order", lambda c: SortDTO(field="username", order="sideways"), Arg, "order"),
    _c("sort/unknown-pg", lambda c: c.pgs.search(sort=SortDTO(field="nope")), Arg, "no column 'nope'"),
    _c("sort/unknown-adapter", lambda c: uuid_search(c.pg), Arg, "valid columns"),
    _c(
        "sort/drop-table-pg",
        lambda c: c.pgs.search(sort=SortDTO(field="username; DROP TABLE rel_accounts")),
        Arg,
        "no column",
    ),
    _c("sort/subquery-pg", lambda c: c.pgs.search(sort=SortDTO(field="(SELECT pg_sleep(5))")), Arg, "no column"),
    _c(
        "sort/union-sqlite",
        lambda c: c.sqs.search(sort=SortDTO(field="uuid) UNION SELECT sql FROM sqlite_master --")),
        Arg,
        "no column",
    ),
    _c("sort/relationship-like-name", lambda c: c.sqs.search(sort=SortDTO(field="__class__")), Arg, "no column"),
    # SQL injection in filter values: plain values, nothing matches, nothing runs
    *[
        _c(f"inject/equal-pg-{i}", lambda c, v=v: c.pgs.search(filters={"username": v}), None, ok=lambda r: r == [])
        for i, v in enumerate(INJECTIONS)
    ],
    *[
        _c(f"inject/equal-sqlite-{i}", lambda c, v=v: c.sqs.search(filters={"username": v}), None, ok=lambda r: r == [])
        for i, v in enumerate(INJECTIONS)
    ],
    _c("inject/like-pg", lambda c: like(c.pgs, F.LIKE, "%' OR '1'='1"), None, ok=lambda r: r == []),
    _c(
        "inject/in-list-sqlite",
        lambda c: c.sqs.search(filters=[("username", F.IN_LIST, INJECTIONS)]),
        None,
        ok=lambda r: r == [],
    ),
    _c(
        "inject/bound-text-param",
        lambda c: c.pg.execute(
            text("SELECT count(*) FROM rel_accounts WHERE username = :u"), {"u": INJECTIONS[0]}
        ).scalar_one(),
        None,
        ok=lambda r: r == 0,
    ),
    _c("inject/field-name", lambda c: c.pgs.search(filters={"username = username OR 1=1 --": "x"}), Arg, "no column"),
    _c(
        "inject/operation",
        lambda c: c.pgs.search(filters=[("username", "DROP TABLE rel_accounts", "x")]),
        Arg,
        "operation",
    ),
    _c("inject/count-field", lambda c: c.sqs.count(filters={"balance; DELETE FROM rel_accounts": 1}), Arg, "no column"),
    # LIKE wildcards in user input match literally
    _c("like/percent-pg", lambda c: like(c.pgs, F.CONTAINS, "%"), None, ok=lambda r: r == [LITERAL]),
    _c("like/underscore-sqlite", lambda c: like(c.sqs, F.STARTS_WITH, "100%_"), None, ok=lambda r: r == [LITERAL]),
    _c("like/backslash-pg", lambda c: like(c.pgs, F.ENDS_WITH, "\\"), None, ok=lambda r: r == [LITERAL]),
    _c("like/only-wildcards-sqlite", lambda c: like(c.sqs, F.LIKE, "%_"), None, ok=lambda r: r == [LITERAL]),
    _c("like/underscore-matches-nothing-else", lambda c: like(c.pgs, F.LIKE, "_"), None, ok=lambda r: r == [LITERAL]),
    # wrong kinds of value for an operation
    _c("in-list/string", lambda c: c.pgs.search(filters=[("username", F.IN_LIST, "alice")]), Arg, "list"),
    _c("in-list/int", lambda c: c.sqs.search(filters=[("balance", F.IN_LIST, 10)]), Arg, "list"),
    _c(
        "not-in-list/generator",
        lambda c: c.pgs.search(filters=[("balance", F.NOT_IN_LIST, (x for x in [1]))]),
        Arg,
        "list",
    ),
    _c("like/int", lambda c: c.pgs.search(filters=[("username", F.LIKE, 5)]), Arg, "string"),
    _c("greater-than/none", lambda c: c.pgs.search(filters=[("balance", F.GREATER_THAN, None)]), Arg, "IS_NULL"),
    _c("filter/malformed-tuple", lambda c: c.pgs.search(filters=[("username", "x")]), Arg, "tuples"),
    # wrong value types
    _c(
        "type/text-for-int-filter-pg",
        lambda c: c.pgs.search(filters={"balance": "abc"}),
        DatabaseQueryError,
        "no operator",
    ),
    _c(
        "type/int-for-text-filter-pg",
        lambda c: c.pgs.search(filters={"username": 5}),
        DatabaseQueryError,
        "no operator",
    ),
    _c(
        "type/text-for-int-update-pg",
        lambda c: c.pgs.update(c.alice, balance="abc"),
        DatabaseQueryError,
        "not valid input",
    ),
    _c("type/int-out-of-range-pg", lambda c: c.pgs.update(c.alice, balance=10**30), DatabaseQueryError, "out of range"),
    _c("type/int-beyond-64-bits-sqlite", lambda c: c.sqs.update(c.alice, balance=10**30), Arg, "OverflowError"),
    _c("type/list-for-int-pg", lambda c: c.pgs.update(c.alice, balance=[1]), DatabaseQueryError, "converted"),
    _c("type/dict-for-text-pg", lambda c: c.pgs.update(c.alice, username={"a": 1}), Arg, "could not be sent"),
    _c("type/list-for-text-sqlite", lambda c: c.sqs.update(c.alice, username=["a"]), Arg, "could not be sent"),
    _c(
        "type/text-for-int-asyncpg",
        lambda c: c.apgs.update(c.alice, balance="abc"),
        DatabaseQueryError,
        "does not match",
    ),
    _c("type/unknown-column", lambda c: c.pgs.update(c.alice, nope=1), Arg, "no column 'nope'"),
    _c("type/immutable-column", lambda c: c.sqs.update(c.alice, uuid=uuid4()), Arg, "cannot be changed"),
    _c("type/not-an-entity", lambda c: c.pg.create(object()), Arg, "not a mapped entity"),
    _c("type/store-of-non-entity", lambda c: Store(c.pg, dict), Arg, "not a mapped entity"),
    _c("type/search-with-raw-text", lambda c: c.pg.execute_search_query(Account, text("SELECT 1")), Arg, "select()"),
    # very long strings: VARCHAR(100) is enforced by PostgreSQL, not by SQLite (which stores it exactly)
    _c("long/create-pg", lambda c: c.pgs.create(Account(username=LONG)), DatabaseQueryError, "too long"),
    _c("long/update-pg", lambda c: c.pgs.update(c.alice, username=LONG), DatabaseQueryError, "too long"),
    _c("long/create-asyncpg", lambda c: c.apgs.create(Account(username=LONG)), DatabaseQueryError, "too long"),
    _c("long/create-sqlite-stored-exactly", lambda c: roundtrip(c, c.sqs, LONG), None),
    _c("long/filter-value-pg", lambda c: c.pgs.search(filters={"username": LONG}), None, ok=lambda r: r == []),
    _c("long/emoji-fits-varchar-pg", lambda c: roundtrip(c, c.pgs, "\U0001f600" * 100), None),
    # NUL bytes and lone surrogates
    _c("nul/create-psycopg", lambda c: c.pgs.create(Account(username="a\x00b")), Arg, "could not be sent"),
    _c("nul/create-asyncpg", lambda c: c.apgs.create(Account(username="a\x00b")), Arg, "NUL"),
    _c("nul/filter-psycopg", lambda c: c.pgs.search(filters={"username": "\x00"}), Arg, "could not be sent"),
    _c("nul/sqlite-refused-like-postgres", lambda c: c.sqs.create(Account(username="a\x00b")), Arg, "NUL"),
    _c("surrogate/psycopg", lambda c: c.pgs.create(Account(username="\ud800")), Arg, "could not be sent"),
    _c("surrogate/sqlite", lambda c: c.sqs.create(Account(username="\udfff")), Arg, "could not be sent"),
    # invalid UUIDs
    _c("uuid/get-text", lambda c: c.pgs.get("not-a-uuid"), Arg, "not a valid UUID"),
    _c("uuid/get-int", lambda c: c.sqs.get(12345), Arg, "not a valid UUID"),
    _c("uuid/get-injection", lambda c: c.pgs.get(INJECTIONS[0]), Arg, "not a valid UUID"),
    _c("uuid/adapter-get", lambda c: c.pg.get_by_uuid(Account, "zzzz"), Arg, "not a valid UUID"),
    _c("uuid/delete", lambda c: c.sqs.delete("1234"), Arg, "not a valid UUID"),
    _c("uuid/filter-pg", lambda c: c.pgs.search(filters={"uuid": "not-a-uuid"}), DatabaseQueryError, "not valid input"),
    _c("uuid/filter-sqlite", lambda c: c.sqs.search(filters={"uuid": "not-a-uuid"}), Arg, "could not be sent"),
    # naive datetimes
    _c(
        "datetime/naive-update-pg",
        lambda c: c.pgs.update(c.alice, seen_at=datetime(2024, 1, 1)),
        Arg,
        "could not be sent",
    ),
    _c(
        "datetime/naive-create-sqlite",
        lambda c: c.sqs.create(Account(username="n", seen_at=datetime(2024, 1, 1))),
        Arg,
        "could not be sent",
    ),
    _c(
        "datetime/naive-filter-pg",
        lambda c: c.pgs.search(filters=[("seen_at", F.LESS_THAN, datetime(2024, 1, 1))]),
        Arg,
        "could not be sent",
    ),
    _c("datetime/text-asyncpg", lambda c: c.apgs.update(c.alice, seen_at="yesterday"), Arg, "could not be sent"),
    # a duplicate is typed and named
    _c(
        "unique/duplicate-username-pg",
        lambda c: c.pgs.create(Account(username="alice")),
        UniqueViolationError,
        "rel_accounts",
    ),
    _c(
        "unique/duplicate-username-sqlite",
        lambda c: c.sqs.create(Account(username="bob")),
        UniqueViolationError,
        "unique",
    ),
]

CREATES_ROWS = {"dsn/injection-in-database"}  # none: the round trips delete what they create


def _flatten(expect: Expect) -> tuple[type[BaseError], ...]:
    if expect is None:
        return ()
    return expect if isinstance(expect, tuple) else (expect,)


GENERIC = (BaseError, DatabaseError, DatabaseQueryError)
_outcomes: dict[str, int] = {"typed error": 0, "safe result": 0}


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.postgres
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_hostile_input(ctx: Ctx, case: Case) -> None:
    try:
        result = case.run(ctx)
        if inspect.isawaitable(result):
            result = await result
    except BaseError as error:
        expected = _flatten(case.expect)
        assert expected, f"expected success, got {type(error).__name__}: {error.message}"
        assert isinstance(error, expected), f"{type(error).__name__}: {error.message}"
        assert case.match.lower() in error.message.lower(), error.message
        assert len(error.message) >= 20
        if type(error) in GENERIC:
            assert error.message != type(error).default_message, "the message says nothing specific"
        json.dumps(error.to_dict())  # an API can serialise it
        _outcomes["typed error"] += 1
    except Exception as raw:
        pytest.fail(f"untyped {type(raw).__module__}.{type(raw).__name__} escaped: {raw}"[:500])
    else:
        assert case.expect is None, f"expected {case.expect}, the call succeeded with {result!r}"[:300]
        if case.ok is not None:
            assert case.ok(result), result
        _outcomes["safe result"] += 1
    assert snapshot(ctx) == SEEDED, "the seeded rows changed: an injected statement ran?"
    total = len(CASES)
    done = sum(_outcomes.values())
    if done == total:
        figures.record(
            "6",
            corpus={
                "cases": total,
                "typed errors": _outcomes["typed error"],
                "safe results (injection as a plain value, literal LIKE, exact round trip)": _outcomes["safe result"],
                "untyped exceptions": 0,
                "seeded rows changed": 0,
                "cases by category": dict(sorted(Counter(case.id.split("/")[0] for case in CASES).items())),
            },
        )
