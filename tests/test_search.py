"""Filtering, sorting and pagination over the backend matrix, against real databases.

Expected results are computed in Python from the seeded rows, never read back from the
database under test. Statements are captured with a ``before_cursor_execute`` listener on
the sync engine to check that the COUNT is skipped or cheap (DESIGN.md decision 6).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Engine, Index, Integer, MetaData, String, Table, UniqueConstraint, event, func, select

from archipy_lite.adapters.base.sqlalchemy.adapters import (
    SQLAlchemyFilterMixin,
    SQLAlchemyPaginationMixin,
    SQLAlchemySortMixin,
)
from archipy_lite.adapters.base.sqlalchemy.sorting import apply_sorting, is_unique_key
from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import AsyncSQLiteSQLAlchemyAdapter, SQLiteSQLAlchemyAdapter
from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.errors import InvalidArgumentError
from archipy_lite.models.types.base_types import FilterOperationType as Op
from archipy_lite.models.types.base_types import SortOrderType

from backends import Backend
from models import Post, User

# --- the tutorial's adapter shape, once per adapter class of the matrix


class UserPostgresAdapter(
    PostgresSQLAlchemyAdapter, SQLAlchemyFilterMixin, SQLAlchemyPaginationMixin, SQLAlchemySortMixin
):
    """PostgreSQL adapter with filter, pagination, and sort query capabilities for the User domain."""


class AsyncUserPostgresAdapter(
    AsyncPostgresSQLAlchemyAdapter, SQLAlchemyFilterMixin, SQLAlchemyPaginationMixin, SQLAlchemySortMixin
):
    pass


class UserSQLiteAdapter(SQLiteSQLAlchemyAdapter, SQLAlchemyFilterMixin, SQLAlchemyPaginationMixin, SQLAlchemySortMixin):
    pass


class AsyncUserSQLiteAdapter(
    AsyncSQLiteSQLAlchemyAdapter, SQLAlchemyFilterMixin, SQLAlchemyPaginationMixin, SQLAlchemySortMixin
):
    pass


USER_ADAPTERS: dict[type[Any], type[Any]] = {
    PostgresSQLAlchemyAdapter: UserPostgresAdapter,
    AsyncPostgresSQLAlchemyAdapter: AsyncUserPostgresAdapter,
    SQLiteSQLAlchemyAdapter: UserSQLiteAdapter,
    AsyncSQLiteSQLAlchemyAdapter: AsyncUserSQLiteAdapter,
}


def user_adapter(db: Backend) -> Any:
    return USER_ADAPTERS[type(db.adapter)](session_manager=db.manager)


# --- seed data: 30 users; full names with NULLs, duplicates, mixed case, %, _ and a backslash

FULL_NAMES: list[str | None] = [
    None,
    None,
    None,
    "alice smith",
    "Alice Smith",
    "ALICE SMITH",
    "bob jones",
    "Bob Jones",
    "100% pure",
    "100 percent",
    "50%off",
    "under_score",
    "underXscore",
    "under score",
    "a_b",
    "axb",
    "a%b",
    "aXb",
    "carol",
    "Carol",
    "CAROL",
    "Eve",
    "Eve",
    "eve",
    "back\\slash",
    "backXslash",
    "zed",
    "Zed",
    "mallory",
    "trent",
]
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Seeded:
    username: str
    email: str
    full_name: str | None
    created_at: datetime
    uuid: Any


def seed_users() -> list[User]:
    # Groups of three share created_at, so sorting by it needs the tie-breaker.
    return [
        User(
            username=f"u{i:02d}",
            email=f"u{i:02d}@example.com",
            full_name=name,
            created_at=BASE_TIME + timedelta(minutes=i // 3),
        )
        for i, name in enumerate(FULL_NAMES)
    ]


async def seed(db: Backend) -> list[Seeded]:
    users = await db.call(db.adapter.bulk_create, seed_users())
    return [Seeded(u.username, u.email, u.full_name, u.created_at, u.uuid) for u in users]


@contextmanager
def captured_sql(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def count_queries(statements: list[str]) -> list[str]:
    return [sql for sql in statements if "count(" in sql.lower()]


# --- filters

Predicate = Callable[[Seeded], bool]


def _name(predicate: Callable[[str], bool]) -> Predicate:
    """A predicate on full_name that is false for NULL, as SQL comparisons are."""
    return lambda row: row.full_name is not None and predicate(row.full_name)


T10 = BASE_TIME + timedelta(minutes=3)
FILTER_CASES: list[tuple[Any, Op, Any, Predicate]] = [
    (User.full_name, Op.EQUAL, "Eve", _name(lambda n: n == "Eve")),
    (User.full_name, Op.EQUAL, "a_b", _name(lambda n: n == "a_b")),
    (User.full_name, Op.NOT_EQUAL, "Eve", _name(lambda n: n != "Eve")),
    (User.username, Op.LESS_THAN, "u10", lambda r: r.username < "u10"),
    (User.username, Op.LESS_THAN_OR_EQUAL, "u10", lambda r: r.username <= "u10"),
    (User.username, Op.GREATER_THAN, "u25", lambda r: r.username > "u25"),
    (User.username, Op.GREATER_THAN_OR_EQUAL, "u25", lambda r: r.username >= "u25"),
    (User.created_at, Op.LESS_THAN, T10, lambda r: r.created_at < T10),
    (User.created_at, Op.LESS_THAN_OR_EQUAL, T10, lambda r: r.created_at <= T10),
    (User.created_at, Op.GREATER_THAN, T10, lambda r: r.created_at > T10),
    (User.created_at, Op.GREATER_THAN_OR_EQUAL, T10, lambda r: r.created_at >= T10),
    (User.full_name, Op.IN_LIST, ["carol", "Zed", "nobody"], _name(lambda n: n in {"carol", "Zed"})),
    (User.full_name, Op.IN_LIST, ("a%b", "a_b"), _name(lambda n: n in {"a%b", "a_b"})),
    (User.full_name, Op.NOT_IN_LIST, ["carol", "Eve"], _name(lambda n: n not in {"carol", "Eve"})),
    (User.full_name, Op.LIKE, "lice", _name(lambda n: "lice" in n)),
    (User.full_name, Op.LIKE, "Jones", _name(lambda n: "Jones" in n)),
    (User.full_name, Op.LIKE, "%", _name(lambda n: "%" in n)),
    (User.full_name, Op.LIKE, "_", _name(lambda n: "_" in n)),
    (User.full_name, Op.LIKE, "a_b", _name(lambda n: "a_b" in n)),
    (User.full_name, Op.LIKE, "0%", _name(lambda n: "0%" in n)),
    (User.full_name, Op.LIKE, "\\", _name(lambda n: "\\" in n)),
    (User.full_name, Op.LIKE, "k\\s", _name(lambda n: "k\\s" in n)),
    (User.full_name, Op.ILIKE, "lice", _name(lambda n: "lice" in n.lower())),
    (User.full_name, Op.ILIKE, "ALICE", _name(lambda n: "alice" in n.lower())),
    (User.full_name, Op.ILIKE, "r_s", _name(lambda n: "r_s" in n.lower())),
    (User.full_name, Op.ILIKE, "A%B", _name(lambda n: "a%b" in n.lower())),
    (User.full_name, Op.CONTAINS, "CaRoL", _name(lambda n: "carol" in n.lower())),
    (User.full_name, Op.CONTAINS, "%", _name(lambda n: "%" in n)),
    (User.full_name, Op.CONTAINS, "X", _name(lambda n: "x" in n.lower())),
    (User.full_name, Op.STARTS_WITH, "alice", _name(lambda n: n.startswith("alice"))),
    (User.full_name, Op.STARTS_WITH, "a_", _name(lambda n: n.startswith("a_"))),
    (User.full_name, Op.STARTS_WITH, "100%", _name(lambda n: n.startswith("100%"))),
    (User.full_name, Op.STARTS_WITH, "E", _name(lambda n: n.startswith("E"))),
    (User.full_name, Op.ENDS_WITH, "_b", _name(lambda n: n.endswith("_b"))),
    (User.full_name, Op.ENDS_WITH, "%off", _name(lambda n: n.endswith("%off"))),
    (User.full_name, Op.ENDS_WITH, "ed", _name(lambda n: n.endswith("ed"))),
    (User.full_name, Op.ENDS_WITH, "SMITH", _name(lambda n: n.endswith("SMITH"))),
    (User.full_name, Op.IS_NULL, None, lambda r: r.full_name is None),
    (User.full_name, Op.IS_NULL, True, lambda r: r.full_name is None),
    (User.full_name, Op.IS_NOT_NULL, None, lambda r: r.full_name is not None),
]


def test_every_operation_has_a_case() -> None:
    assert {op for _, op, _, _ in FILTER_CASES} == set(Op)


async def test_every_filter_operation_matches_python(db: Backend) -> None:
    rows = await seed(db)
    adapter = user_adapter(db)
    mismatches: dict[str, tuple[list[str], list[str]]] = {}
    for field, op, value, predicate in FILTER_CASES:
        expected = sorted(r.username for r in rows if predicate(r))
        assert 0 < len(expected) < len(rows), f"weak case {op} {value!r}"
        query = adapter._apply_filter(select(User.username), field, value, op)
        got = sorted((await db.call(adapter.scalars, query)).all())
        if got != expected:
            mismatches[f"{field.key} {op.name} {value!r}"] = (got, expected)
    assert mismatches == {}
    assert db.checked_out() == 0


async def test_filters_combine_and_none_values_are_skipped(db: Backend) -> None:
    rows = await seed(db)
    adapter = user_adapter(db)
    query = select(User)
    query = adapter._apply_filter(query, User.full_name, "alice", Op.ILIKE)
    query = adapter._apply_filter(query, User.full_name, "ALICE SMITH", Op.NOT_EQUAL)
    query = adapter._apply_filter(query, User.email, None, Op.EQUAL)  # skipped
    query = adapter._apply_filter(query, User.username, None, Op.IN_LIST)  # skipped
    query = adapter._apply_filter(query, User.full_name, None, Op.LIKE)  # skipped
    users, total = await db.call(adapter.execute_search_query, User, query, PaginationDTO(page=1, page_size=10))
    expected = {r.username for r in rows if r.full_name in {"alice smith", "Alice Smith"}}
    assert {u.username for u in users} == expected
    assert total == 2

    for op in Op:
        if op in (Op.IS_NULL, Op.IS_NOT_NULL):
            continue
        unfiltered = adapter._apply_filter(select(User.uuid), User.full_name, None, op)
        assert len((await db.call(adapter.scalars, unfiltered)).all()) == len(rows), op
    assert db.checked_out() == 0


async def test_bad_filter_arguments_raise_invalid_argument(db: Backend) -> None:
    adapter = user_adapter(db)
    query = select(User)
    bad: list[tuple[Any, Any, Any]] = [
        (User.full_name, "carol", Op.IN_LIST),
        (User.full_name, 5, Op.IN_LIST),
        (User.full_name, "carol", Op.NOT_IN_LIST),
        (User.full_name, b"carol", Op.NOT_IN_LIST),
        (User.full_name, 5, Op.LIKE),
        (User.full_name, ["a"], Op.ILIKE),
        (User.full_name, "x", "bogus"),
        (User.full_name, "x", "EQUALS"),
        ("full_name", "x", Op.EQUAL),
    ]
    for field, value, op in bad:
        with pytest.raises(InvalidArgumentError):
            adapter._apply_filter(query, field, value, op)
    # Nothing reached the database, and nothing is left checked out.
    assert db.checked_out() == 0


# --- pagination and totals


async def test_totals_on_first_middle_last_and_past_the_end_pages(db: Backend) -> None:
    rows = await seed(db)
    adapter = user_adapter(db)
    ordered = sorted(r.username for r in rows)
    sort = SortDTO(field=User.username, order=SortOrderType.ASCENDING)

    for page, expect_count in [(1, True), (3, True), (5, False), (6, True), (100, True)]:
        with captured_sql(db.sync_engine) as statements:
            users, total = await db.call(
                adapter.execute_search_query, User, select(User), PaginationDTO(page=page, page_size=7), sort
            )
        assert total == 30, page
        assert [u.username for u in users] == ordered[(page - 1) * 7 : page * 7], page
        counts = count_queries(statements)
        assert len(counts) == (1 if expect_count else 0), (page, statements)
        for sql in counts:
            assert "ORDER BY" not in sql.upper()
            assert "email" not in sql  # a constant column, not the entity's columns
    assert db.checked_out() == 0


async def test_count_is_skipped_for_a_short_or_empty_first_page(db: Backend) -> None:
    await seed(db)
    adapter = user_adapter(db)
    sort = SortDTO(field="username", order="asc")

    short = select(User).where(User.full_name.ilike("%carol%"))
    with captured_sql(db.sync_engine) as statements:
        users, total = await db.call(adapter.execute_search_query, User, short, PaginationDTO(page_size=10), sort)
    assert (len(users), total) == (3, 3)
    assert count_queries(statements) == []
    assert len([sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]) == 1

    empty = select(User).where(User.full_name == "nobody")
    with captured_sql(db.sync_engine) as statements:
        users, total = await db.call(adapter.execute_search_query, User, empty, PaginationDTO(page_size=10), sort)
    assert (users, total) == ([], 0)
    assert count_queries(statements) == []

    with captured_sql(db.sync_engine) as statements:
        users, total = await db.call(adapter.execute_search_query, User, select(User), None, sort)
    assert (len(users), total) == (30, 30)
    assert count_queries(statements) == []

    # A full last page cannot tell whether more rows follow: then the COUNT runs.
    exact = select(User).where(User.username < "u28")
    with captured_sql(db.sync_engine) as statements:
        users, total = await db.call(
            adapter.execute_search_query, User, exact, PaginationDTO(page=4, page_size=7), sort
        )
    assert ([u.username for u in users], total) == ([f"u{i}" for i in range(21, 28)], 28)
    assert len(count_queries(statements)) == 1
    assert db.checked_out() == 0


async def walk_pages(
    db: Backend,
    adapter: Any,
    query: Any,
    sort: SortDTO | None,
    page_size: int,
    *,
    multiple: bool = False,
    key: Callable[[Any], Any] = lambda item: item.uuid,
) -> tuple[list[Any], set[int]]:
    """Every page until an empty one; returns the concatenated keys and the totals seen."""
    seen: list[Any] = []
    totals: set[int] = set()
    page = 1
    while True:
        items, total = await db.call(
            adapter.execute_search_query, User, query, PaginationDTO(page=page, page_size=page_size), sort, multiple
        )
        totals.add(total)
        if not items:
            return seen, totals
        assert len(items) <= page_size
        seen.extend(key(item) for item in items)
        page += 1
        assert page < 100


@pytest.mark.parametrize("order", [SortOrderType.ASCENDING, SortOrderType.DESCENDING])
async def test_sort_ties_are_broken_so_pages_never_overlap(db: Backend, order: SortOrderType) -> None:
    rows = await seed(db)
    adapter = user_adapter(db)
    # Expected: created_at in the requested direction, then the primary key ascending.
    expected = sorted(rows, key=lambda r: r.uuid)
    expected.sort(key=lambda r: r.created_at, reverse=order == SortOrderType.DESCENDING)

    for field in (User.created_at, "created_at"):
        seen, totals = await walk_pages(db, adapter, select(User), SortDTO(field=field, order=order), 4)
        assert seen == [r.uuid for r in expected]
        assert totals == {30}

    # full_name has NULLs and duplicates; NULL placement is the database's: compare with the unpaginated order.
    sort = SortDTO(field="full_name", order=order)
    everything, total = await db.call(adapter.execute_search_query, User, select(User), None, sort)
    assert total == 30
    seen, totals = await walk_pages(db, adapter, select(User), sort, 4)
    assert seen == [u.uuid for u in everything]
    assert len(set(seen)) == 30
    assert totals == {30}
    non_null = [u.full_name for u in everything if u.full_name is not None]
    assert non_null == sorted(non_null, reverse=order == SortOrderType.DESCENDING) or db.is_postgres
    assert db.checked_out() == 0


async def test_a_unique_not_null_sort_key_needs_no_tie_breaker(db: Backend) -> None:
    rows = await seed(db)
    adapter = user_adapter(db)
    sort = SortDTO(field="username", order=SortOrderType.DESCENDING)
    with captured_sql(db.sync_engine) as statements:
        seen, totals = await walk_pages(db, adapter, select(User), sort, 4)
    assert seen == [r.uuid for r in sorted(rows, key=lambda r: r.username, reverse=True)]
    assert totals == {30}
    order_by = next(sql for sql in statements if "LIMIT" in sql).split("ORDER BY")[1]
    assert "username" in order_by
    assert "uuid" not in order_by  # the index on username alone orders the pages


def test_only_unique_not_null_columns_of_the_one_table_selected_count_as_total_orders() -> None:
    table = Table(
        "sort_keys",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("code", String, unique=True, nullable=False),
        Column("slug", String, nullable=False),
        Column("nickname", String, unique=True, nullable=True),  # NULLs may repeat
        Column("a", String, nullable=False),
        Column("b", String, nullable=False),
        Column("plain", String, nullable=False),
        UniqueConstraint("a", "b"),  # unique as a pair only
        Index("slug_key", "slug", unique=True),
    )
    assert [column.key for column in table.c if is_unique_key(column)] == ["id", "code", "slug"]
    # A join repeats rows of the sorted table, so the tie-breakers stay.
    joined = select(User).join(Post, Post.author_id == User.uuid)
    sorted_join = apply_sorting(User, joined, SortDTO(field="username", order=SortOrderType.ASCENDING))
    assert "posts.uuid" in str(sorted_join).split("ORDER BY")[1]


async def test_sort_by_an_unknown_name_lists_the_valid_columns(db: Backend) -> None:
    adapter = user_adapter(db)
    with captured_sql(db.sync_engine) as statements:
        with pytest.raises(InvalidArgumentError) as caught:
            await db.call(adapter.execute_search_query, User, select(User), PaginationDTO(), SortDTO(field="nope"))
        with pytest.raises(InvalidArgumentError):
            await db.call(adapter.execute_search_query, User, select(User), None, SortDTO(field="posts"))
        with pytest.raises(InvalidArgumentError):
            adapter._apply_sorting(User, select(User), SortDTO(field="username; DROP TABLE users"))
    assert statements == []
    message = str(caught.value)
    for column in ("uuid", "created_at", "updated_at", "username", "email", "full_name"):
        assert column in message
    assert db.checked_out() == 0


async def test_has_multiple_entities_with_columns_and_with_a_join(db: Backend) -> None:
    rows = await seed(db)
    adapter = user_adapter(db)

    query = select(User.username, User.email)
    items, total = await db.call(
        adapter.execute_search_query,
        User,
        query,
        PaginationDTO(page=2, page_size=10),
        SortDTO(field="username", order="desc"),
        True,
    )
    ordered = sorted(rows, key=lambda r: r.username, reverse=True)
    assert [tuple(item) for item in items] == [(r.username, r.email) for r in ordered[10:20]]
    assert total == 30

    authors = sorted(rows, key=lambda r: r.username)[:8]
    posts = [
        Post(title=f"{author.username}-post{n}", content="...", author_id=author.uuid)
        for author in authors
        for n in range(3)
    ]
    await db.call(db.adapter.bulk_create, posts)
    joined = select(User, Post).join(Post.author)
    # Sorting by the author leaves three posts per tie: pages must still partition the rows,
    # so the order must end with the primary keys of both tables.
    with captured_sql(db.sync_engine) as statements:
        seen, totals = await walk_pages(
            db,
            adapter,
            joined,
            SortDTO(field=User.username, order="asc"),
            5,
            multiple=True,
            key=lambda row: (row[0].username, row[1].title),
        )
    order_by = next(sql for sql in statements if "LIMIT" in sql).split("ORDER BY")[1]
    assert "posts.uuid" in order_by
    assert "users.uuid" in order_by
    assert totals == {24}
    assert sorted(seen) == sorted((p.title.split("-")[0], p.title) for p in posts)
    assert [username for username, _ in seen] == sorted(username for username, _ in seen)

    items, total = await db.call(
        adapter.execute_search_query,
        User,
        joined,
        PaginationDTO(page=1, page_size=4),
        SortDTO(field=Post.title, order="desc"),
        True,
    )
    assert total == 24
    assert [(u.username, p.title) for u, p in items] == [
        (t.split("-")[0], t) for t in sorted((p.title for p in posts), reverse=True)[:4]
    ]
    assert db.checked_out() == 0


async def test_distinct_and_group_by_queries_are_counted_correctly(db: Backend) -> None:
    rows = await seed(db)
    adapter = user_adapter(db)
    distinct_names = {r.full_name for r in rows}  # None is one value

    distinct = select(User.full_name).distinct()
    seen, totals = await walk_pages(
        db, adapter, distinct, SortDTO(field="full_name", order="asc"), 4, key=lambda name: name
    )
    assert totals == {len(distinct_names)}
    assert sorted(seen, key=str) == sorted(distinct_names, key=str)
    assert len(seen) == len(set(seen))

    grouped = select(User.full_name, func.count().label("n")).group_by(User.full_name)
    seen, totals = await walk_pages(
        db, adapter, grouped, SortDTO(field=User.full_name, order="desc"), 4, multiple=True, key=tuple
    )
    assert totals == {len(distinct_names)}
    expected_counts = {name: sum(1 for r in rows if r.full_name == name) for name in distinct_names}
    assert dict(seen) == expected_counts

    having = grouped.having(func.count() > 1)
    items, total = await db.call(
        adapter.execute_search_query, User, having, PaginationDTO(page=1, page_size=2), SortDTO(field="full_name"), True
    )
    assert total == sum(1 for n in expected_counts.values() if n > 1)  # None x3 and Eve x2
    assert len(items) == 2
    assert db.checked_out() == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"page": 0},
        {"page": -1},
        {"page": "first"},
        {"page": None},
        {"page": 1.5},
        {"page_size": 0},
        {"page_size": -5},
        {"page_size": 101},
        {"page_size": "ten"},
        {"page": 2**62},
    ],
)
def test_bad_pagination_values_raise_invalid_argument(fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError):
        PaginationDTO(**fields)


def test_pagination_offsets() -> None:
    assert PaginationDTO().offset == 0
    assert PaginationDTO(page=3, page_size=7).offset == 14
    assert PaginationDTO(page="2", page_size="100").offset == 100


# --- property: walking the pages of any filtered, sorted query yields the full list exactly once


@pytest.mark.parametrize("db", ["pg-psycopg", "sqlite-file", "sqlite-memory"], indirect=True)
async def test_pagination_walk_invariants(db: Backend) -> None:
    rows = await seed(db)
    adapter = user_adapter(db)

    filters = st.sampled_from(
        [
            None,
            (User.full_name, "e", Op.CONTAINS),
            (User.full_name, None, Op.IS_NOT_NULL),
            (User.username, "u15", Op.LESS_THAN),
            (User.full_name, ["Eve", "zed", "carol", "trent"], Op.IN_LIST),
            (User.full_name, "nobody", Op.EQUAL),
        ]
    )

    @settings(
        max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        page_size=st.integers(min_value=1, max_value=12),
        field=st.sampled_from(["username", "full_name", "created_at", "email", "uuid"]),
        order=st.sampled_from(list(SortOrderType)),
        where=filters,
    )
    def check(page_size: int, field: str, order: SortOrderType, where: tuple[Any, Any, Op] | None) -> None:
        query = select(User)
        if where is not None:
            query = adapter._apply_filter(query, *where)
        sort = SortDTO(field=field, order=order)
        everything, total = adapter.execute_search_query(User, query, None, sort)
        seen: list[Any] = []
        page = 1
        while True:
            items, page_total = adapter.execute_search_query(
                User, query, PaginationDTO(page=page, page_size=page_size), sort
            )
            assert page_total == total
            if not items:
                break
            assert len(items) == min(page_size, total - len(seen))
            seen.extend(u.uuid for u in items)
            page += 1
        assert seen == [u.uuid for u in everything]
        assert len(set(seen)) == len(seen) == total
        if where is None:
            assert total == len(rows)
        if field != "full_name":  # no NULLs: the order is fully known in Python
            keyed = sorted(everything, key=lambda u: u.uuid)
            keyed.sort(key=lambda u: getattr(u, field), reverse=order == SortOrderType.DESCENDING)
            assert [u.uuid for u in everything] == [u.uuid for u in keyed]

    check()
    assert db.checked_out() == 0


async def test_unsorted_pages_are_still_ordered_by_primary_key(db: Backend) -> None:
    """Without sort_info a paginated search still orders by the primary key, so pages never overlap."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    users = [User(username=f"u{index:02d}", email=f"u{index}@example.com") for index in range(7)]
    await db.call(db.adapter.bulk_create, users)
    event.listen(db.sync_engine, "before_cursor_execute", record)
    try:
        seen = []
        for page in (1, 2, 3):
            items, total = await db.call(
                db.adapter.execute_search_query, User, select(User), PaginationDTO(page=page, page_size=3), None
            )
            assert total == 7
            seen += [item.uuid for item in items]
    finally:
        event.remove(db.sync_engine, "before_cursor_execute", record)
    assert sorted(seen) == sorted(user.uuid for user in users)
    assert len(set(seen)) == 7
    page_queries = [s for s in statements if "LIMIT" in s.upper()]
    assert page_queries
    assert all("ORDER BY" in s.upper() for s in page_queries)
