"""search_page's three styles, refused cursors and several sort keys, over the backend matrix.

Expected orders are computed in Python from the rows' values (tests/keyset_model.py).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import JSON, bindparam, event, func, insert, select
from sqlalchemy.dialects import sqlite as sqlite_dialect

from archipy_lite.adapters.base.sqlalchemy import cursors
from archipy_lite.adapters.base.sqlalchemy.keyset import Keyset
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import SQLiteSQLAlchemyAdapter
from archipy_lite.configs.config_template import SQLiteSQLAlchemyConfig
from archipy_lite.models.dtos.page_dto import Page
from archipy_lite.models.dtos.pagination_dto import CursorPaginationDTO, OffsetPaginationDTO, PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.errors import InvalidArgumentError

from backends import Backend
from db_checks import backend_params
from keyset_model import Flagged, KeysetBase, Row, Values, execute, expected_order, insert_rows, prepare, values

BY_A_THEN_B = [SortDTO(field="a", order="desc", nulls="last"), SortDTO(field=Row.b, order="asc")]


def sample_rows() -> list[Values]:
    """Twelve rows: every value of a repeated, with NULLs among them."""
    return [
        values(a=index % 4 or None, b="xyz"[index % 3] if index % 5 else None, c=index % 3, t=index % 2)
        for index in range(12)
    ]


async def seeded(db: Backend) -> list[Values]:
    rows = sample_rows()
    await prepare(db)
    await insert_rows(db, rows)
    return rows


async def page_of(
    db: Backend, pagination: Any, sort: Any = BY_A_THEN_B, query: Any = None, **options: Any
) -> Page[Any]:
    page: Page[Any] = await db.call(
        db.adapter.search_page, Row, query if query is not None else select(Row), pagination, sort, **options
    )
    return page


def ids(page: Page[Any]) -> list[Any]:
    return [item.id for item in page.items]


def statements_of(db: Backend) -> tuple[list[str], Any]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(db.sync_engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(db.sync_engine, "before_cursor_execute", record)


# --- the three styles


async def test_page_numbers_offsets_and_cursors_give_the_same_rows(db: Backend) -> None:
    rows = await seeded(db)
    expected = [row["id"] for row in expected_order(rows, BY_A_THEN_B)]

    numbered = await page_of(db, PaginationDTO(page=2, page_size=5))
    assert (numbered.page, numbered.page_size, numbered.offset, numbered.total) == (2, 5, 5, 12)
    assert ids(numbered) == expected[5:10]
    assert (numbered.next_cursor, numbered.prev_cursor) == (None, None)

    window = await page_of(db, OffsetPaginationDTO(offset=3, limit=4))
    assert (window.page, window.page_size, window.offset, window.total) == (None, 4, 3, 12)
    assert ids(window) == expected[3:7]

    everything = await page_of(db, None)
    assert (ids(everything), everything.total) == (expected, 12)

    first = await page_of(db, CursorPaginationDTO(page_size=5))
    assert (ids(first), first.total, first.prev_cursor) == (expected[:5], None, None)
    second = await page_of(db, CursorPaginationDTO(page_size=5, cursor=first.next_cursor))
    third = await page_of(db, CursorPaginationDTO(page_size=5, cursor=second.next_cursor))
    assert (ids(second), ids(third)) == (expected[5:10], expected[10:])
    assert third.next_cursor is None
    back = await page_of(db, CursorPaginationDTO(page_size=5, cursor=third.prev_cursor))
    assert ids(back) == expected[5:10]
    assert db.checked_out() == 0


async def test_the_total_is_counted_only_when_asked_for(db: Backend) -> None:
    await seeded(db)
    seen, stop = statements_of(db)
    try:
        with_total = await page_of(db, CursorPaginationDTO(page_size=5), include_total=True)
        counted = [sql for sql in seen if "count(" in sql.lower()]
        seen.clear()
        await page_of(db, CursorPaginationDTO(page_size=5))
        await page_of(db, OffsetPaginationDTO(limit=5), include_total=False)
        uncounted = [sql for sql in seen if "count(" in sql.lower()]
    finally:
        stop()
    assert with_total.total == 12
    assert len(counted) == 1
    assert "ORDER BY" not in counted[0]
    assert uncounted == []
    short = await page_of(db, OffsetPaginationDTO(limit=50))  # a short page shows its own total
    assert short.total == 12


async def test_pages_of_rows_from_a_filtered_column_query(db: Backend) -> None:
    rows = await seeded(db)
    query = select(Row.id, Row.a, func.upper(Row.b).label("shout")).where(Row.c != 1)
    expected = expected_order([row for row in rows if row["c"] != 1], BY_A_THEN_B)
    page = await db.call(db.adapter.search_page, Row, query, CursorPaginationDTO(page_size=3), BY_A_THEN_B, True)
    rest = await db.call(
        db.adapter.search_page,
        Row,
        query,
        CursorPaginationDTO(page_size=10, cursor=page.next_cursor),
        BY_A_THEN_B,
        True,
    )
    found = [*page.items, *rest.items]
    assert [row.id for row in found] == [row["id"] for row in expected]
    assert found[0]._fields == ("id", "a", "shout")  # whole rows, without the sort values
    assert [row.shout for row in found] == [None if row["b"] is None else row["b"].upper() for row in expected]


# --- refused cursors


def _altered(token: str, position: int) -> str | None:
    """``token`` with one character changed, or None when the change does not alter the decoded bytes."""
    replacement = "B" if token[position] == "A" else "A"
    altered = token[:position] + replacement + token[position + 1 :]

    def raw(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    return altered if raw(altered) != raw(token) else None


async def test_tampered_and_truncated_cursors_are_refused_before_any_query(db: Backend) -> None:
    await seeded(db)
    token = (await page_of(db, CursorPaginationDTO(page_size=4))).next_cursor
    assert token is not None
    refused: list[str] = []
    seen, stop = statements_of(db)
    try:
        for position in range(len(token)):
            altered = _altered(token, position)
            if altered is None:
                continue
            with pytest.raises(InvalidArgumentError) as caught:
                await page_of(db, CursorPaginationDTO(page_size=4, cursor=altered))
            refused.append(caught.value.details["reason"])
        for length in (1, 2, 10, len(token) // 2, len(token) - 1):
            with pytest.raises(InvalidArgumentError) as caught:
                await page_of(db, CursorPaginationDTO(page_size=4, cursor=token[:length]))
            refused.append(caught.value.details["reason"])
    finally:
        stop()
    assert seen == []  # a refused cursor never reaches the database
    assert len(refused) >= len(token) - 1
    assert set(refused) <= {"forged", "malformed", "stale"}
    assert (caught.value.http_status, caught.value.details["field"]) == (400, "cursor")
    assert db.checked_out() == 0


async def test_a_cursor_is_refused_by_any_other_search(db: Backend) -> None:
    await seeded(db)
    token = (await page_of(db, CursorPaginationDTO(page_size=4))).next_cursor
    others = [
        {"query": select(Row).where(Row.c < 2)},  # other filters
        {"query": select(Row).where(Row.c < 1)},  # same filter, other value
        {"sort": [SortDTO(field="a", order="asc", nulls="last"), SortDTO(field="b", order="asc")]},
        {"sort": BY_A_THEN_B[:1]},
        {"query": select(Row.id, Row.a, Row.b)},
    ]
    for other in others:
        with pytest.raises(InvalidArgumentError) as caught:
            await page_of(db, CursorPaginationDTO(page_size=4, cursor=token), **other)
        assert caught.value.details["reason"] == "foreign", other
    # The same search built again (another request) accepts it.
    assert len((await page_of(db, CursorPaginationDTO(page_size=4, cursor=token))).items) == 4


@pytest.mark.parametrize(
    "sort",
    [
        [SortDTO(field="on", order="asc")],
        [SortDTO(field="on", order="desc", nulls="last")],
        [SortDTO(field="done", order="desc"), SortDTO(field="id", order="asc")],
        [SortDTO(field="done", order="asc"), SortDTO(field="on", order="desc", nulls="first")],
    ],
)
async def test_cursors_walk_boolean_sort_keys(db: Backend, sort: list[SortDTO]) -> None:
    await prepare(db)
    rows = [{"id": index, "on": (None, True, False)[index % 3], "done": index % 2 == 0} for index in range(1, 12)]
    await execute(db, insert(Flagged).values(rows))
    expected = [row["id"] for row in expected_order(rows, sort)]

    async def page(cursor: str | None) -> Page[Any]:
        found: Page[Any] = await db.call(
            db.adapter.search_page, Flagged, select(Flagged), CursorPaginationDTO(page_size=3, cursor=cursor), sort
        )
        return found

    walked, pages, cursor = [], [], None
    while True:
        current = await page(cursor)
        pages.append(current)
        walked += [item.id for item in current.items]
        if current.next_cursor is None:
            break
        cursor = current.next_cursor
    assert walked == expected
    backwards: list[int] = []
    cursor = pages[-1].prev_cursor
    while cursor is not None:
        current = await page(cursor)
        backwards = [item.id for item in current.items] + backwards
        cursor = current.prev_cursor
    assert backwards + [item.id for item in pages[-1].items] == expected


def test_a_cursor_fingerprint_keeps_the_order_of_list_values_and_ignores_that_of_in_lists() -> None:
    dialect = sqlite_dialect.dialect()
    by_c = [SortDTO(field="c", order="asc")]

    def fingerprint(query: Any) -> str:
        return Keyset(Row, query, by_c).fingerprint(dialect)

    def tagged(tags: list[str]) -> Any:
        return select(Row).where(Row.b == bindparam("tags", tags, type_=JSON))

    assert fingerprint(tagged(["a", "b"])) != fingerprint(tagged(["b", "a"]))  # another search: refused
    assert fingerprint(select(Row).where(Row.b.in_(["x", "y"]))) == fingerprint(
        select(Row).where(Row.b.in_(["y", "x"]))
    )
    assert fingerprint(select(Row).where(Row.b.in_({"x", "y", "z"}))) == fingerprint(
        select(Row).where(Row.b.in_(["z", "y", "x"]))
    )


def test_a_cursor_signed_with_another_key_or_too_old_is_refused(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Processes sharing CURSOR_SECRET_KEY accept each other's cursors; others, and old ones, are refused."""
    path = str(tmp_path / "keyed.sqlite3")

    def adapter(**options: Any) -> SQLiteSQLAlchemyAdapter:
        return SQLiteSQLAlchemyAdapter(orm_config=SQLiteSQLAlchemyConfig(DATABASE=path, **options))

    key = "k" * 40
    one, two, other, unkeyed = (
        adapter(CURSOR_SECRET_KEY=key),
        adapter(CURSOR_SECRET_KEY=key),
        adapter(CURSOR_SECRET_KEY="o" * 40),
        adapter(),
    )
    short_lived = adapter(CURSOR_SECRET_KEY=key, CURSOR_MAX_AGE_SECONDS=60)
    KeysetBase.metadata.create_all(one.session_manager.engine)
    one.bulk_create([Row(**row) for row in sample_rows()])

    def page(on: SQLiteSQLAlchemyAdapter, cursor: str | None = None) -> Page[Any]:
        return on.search_page(Row, select(Row), CursorPaginationDTO(page_size=4, cursor=cursor), BY_A_THEN_B)

    token = page(one).next_cursor
    assert len(page(two, token).items) == 4
    for stranger in (other, unkeyed):
        with pytest.raises(InvalidArgumentError) as caught:
            page(stranger, token)
        assert caught.value.details["reason"] == "forged"
    fresh = page(short_lived).next_cursor
    assert len(page(short_lived, fresh).items) == 4
    now = cursors.time.time()
    monkeypatch.setattr(cursors.time, "time", lambda: now + 61)
    with pytest.raises(InvalidArgumentError) as caught:
        page(short_lived, fresh)
    assert caught.value.details["reason"] == "expired"
    assert len(page(one, fresh).items) == 4  # the same key without a limit still takes it
    stale = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    older = base64.urlsafe_b64encode(bytes([0]) + stale[1:]).rstrip(b"=").decode()
    with pytest.raises(InvalidArgumentError) as caught:
        page(one, older)
    assert caught.value.details["reason"] == "stale"
    for each in (one, two, other, unkeyed, short_lived):
        each.session_manager.dispose()


@pytest.mark.parametrize("db", backend_params(kind="postgres"), indirect=True)
async def test_a_page_without_total_is_one_statement_without_a_transaction(db: Backend) -> None:
    """Outside atomic blocks a lone page read skips BEGIN/COMMIT; a page and its count share one transaction."""
    await seeded(db)
    flags: list[bool] = []

    def record(conn: Any, *_: Any) -> None:
        flags.append(conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT")

    event.listen(db.sync_engine, "before_cursor_execute", record)
    try:
        await page_of(db, CursorPaginationDTO(page_size=4))
        await page_of(db, OffsetPaginationDTO(limit=4), include_total=False)
        alone = list(flags)
        flags.clear()
        await page_of(db, CursorPaginationDTO(page_size=4), include_total=True)
    finally:
        event.remove(db.sync_engine, "before_cursor_execute", record)
    assert alone == [True, True]
    assert flags == [False, False]
