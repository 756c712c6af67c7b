"""Keyset (cursor) pagination, property-based, over the backend matrix against real databases.

Random rows with duplicate and NULL sort values, random sort specifications (several keys,
both directions, NULLs first or last or by default), random page sizes and filters, and rows
inserted and deleted between pages: walking the cursors forward, then back from the end, returns
every row that existed throughout the walk exactly once, in the documented order. The expected
order is computed in Python from the rows' values (tests/keyset_model.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from archipy_lite.models.dtos.page_dto import Page
from archipy_lite.models.dtos.pagination_dto import CursorPaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO

from backends import Backend
from keyset_model import COLUMNS, Row, Values, delete_rows, expected_order, insert_rows, prepare, values

MAX_EXAMPLES = 20

row_values = st.builds(
    values,
    a=st.none() | st.integers(0, 3),
    b=st.none() | st.sampled_from("xyz"),
    c=st.integers(0, 2),
    t=st.none() | st.integers(0, 2),
)
sort_keys = st.lists(
    st.builds(
        SortDTO,
        field=st.sampled_from(COLUMNS),
        order=st.sampled_from(["asc", "desc"]),
        nulls=st.sampled_from([None, "first", "last"]),
    ),
    max_size=3,
    unique_by=lambda dto: dto.field,
)


@dataclass
class Change:
    """What happens between two pages: rows inserted, and existing rows deleted (by position)."""

    inserted: list[Values]
    deleted: list[int]


changes = st.builds(
    Change,
    inserted=st.lists(row_values, max_size=3),
    deleted=st.lists(st.integers(0, 1000), max_size=3),
)


@dataclass
class Table:
    """The rows as the test believes them to be, and which ones were there all along."""

    rows: dict[Any, Values]
    ever_touched: set[Any] = field(default_factory=set)

    async def apply(self, db: Backend, change: Change) -> None:
        present = sorted(self.rows)
        gone = {present[index % len(present)] for index in change.deleted} if present else set()
        new = [{**row, "id": uuid.uuid4()} for row in change.inserted]  # a change may be applied twice
        await delete_rows(db, sorted(gone))
        await insert_rows(db, new)
        for key in gone:
            del self.rows[key]
        self.rows.update((row["id"], row) for row in new)
        self.ever_touched |= gone | {row["id"] for row in new}

    def stable(self) -> set[Any]:
        """Rows that existed for the whole walk."""
        return set(self.rows) - self.ever_touched


async def walk(
    db: Backend, table: Table, query: Any, sort: list[SortDTO], size: int, plan: list[Change], *, rows: bool
) -> None:
    """Forward to the end, then back to the start, applying the changes one after each page.

    ``rows``: the query selects columns, and pages hold whole rows (``has_multiple_entities``).
    """

    async def search_page(cursor: str | None) -> Page[Any]:
        pagination = CursorPaginationDTO(page_size=size, cursor=cursor)
        page: Page[Any] = await db.call(db.adapter.search_page, Row, query, pagination, sort, rows)
        return page

    known: dict[Any, Values] = dict(table.rows)
    page = await search_page(None)
    assert page.prev_cursor is None
    forward, step = [page], 0
    table.ever_touched.clear()
    start_rows = dict(table.rows)
    while page.next_cursor is not None:
        assert step < 1000, "the walk does not end"
        if step < len(plan):  # each change once, so the walk ends
            await table.apply(db, plan[step])
        known.update(table.rows)
        page = await search_page(page.next_cursor)
        forward.append(page)
        step += 1
    assert all(len(page.items) == size for page in forward[:-1]), "a page before the last was short"
    check_walk([item.id for page in forward for item in page.items], table, start_rows, known, sort)

    # Back from the last page: pages arrive last first, each in forward order.
    backward, step = [page], 0
    table.ever_touched.clear()
    start_rows = dict(table.rows)
    while page.prev_cursor is not None:
        assert step < 1000, "the walk does not end"
        if step < len(plan):
            await table.apply(db, plan[-1 - step])
        known.update(table.rows)
        came_from, page = page, await search_page(page.prev_cursor)
        # An empty page links back to the last page, which has no next page; any other has one.
        assert page.next_cursor is not None or not came_from.items
        backward.append(page)
        step += 1
    assert all(len(page.items) == size for page in backward[1:-1]), "a page after the first was short"
    check_walk([item.id for page in reversed(backward) for item in page.items], table, start_rows, known, sort)


def check_walk(
    seen: list[Any], table: Table, start: dict[Any, Values], known: dict[Any, Values], sort: list[SortDTO]
) -> None:
    assert len(seen) == len(set(seen)), "a row was returned twice"
    missing = (set(start) & table.stable()) - set(seen)
    assert not missing, f"{len(missing)} row(s) present throughout were skipped"
    ordered = [row["id"] for row in expected_order([known[row_id] for row_id in seen], sort)]
    assert seen == ordered, "rows came back out of order"


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(row_values, max_size=25),
    sort=sort_keys,
    size=st.integers(1, 6),
    only_c_below_2=st.booleans(),
    whole_rows=st.booleans(),
    plan=st.lists(changes, max_size=4),
)
async def test_cursor_walks_return_every_stable_row_once_in_order(
    db: Backend,
    rows: list[Values],
    sort: list[SortDTO],
    size: int,
    only_c_below_2: bool,
    whole_rows: bool,
    plan: list[Change],
) -> None:
    await prepare(db)
    await insert_rows(db, rows)
    table = Table({row["id"]: row for row in rows})
    query = select(Row.id, Row.a, Row.b, Row.c, Row.t) if whole_rows else select(Row)
    query = query.where(Row.c < 2) if only_c_below_2 else query
    if only_c_below_2:  # the filter is part of the search: rows it excludes are not expected
        for change in plan:
            change.inserted = [row for row in change.inserted if row["c"] < 2]
        table.rows = {key: row for key, row in table.rows.items() if row["c"] < 2}
    await walk(db, table, query, sort, size, plan, rows=whole_rows)
    assert db.checked_out() == 0
