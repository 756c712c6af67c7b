"""Several sort keys with NULLs placed as asked, the same on every backend (execute_search_query and mixins).

Expected orders are computed in Python from the rows' values (tests/keyset_model.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from archipy_lite.adapters.base.sqlalchemy.adapters import SQLAlchemySortMixin
from archipy_lite.adapters.base.sqlalchemy.keyset import Keyset
from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.errors import InvalidArgumentError
from archipy_lite.models.types.base_types import NullsOrderType

from backends import Backend
from keyset_model import Row, expected_order, insert_rows, prepare, values

SORTS: list[list[SortDTO]] = [
    [SortDTO(field="a", order="asc")],  # NULLs last ascending by default, on SQLite too
    [SortDTO(field="a", order="desc")],  # and first descending
    [SortDTO(field="a", order="asc", nulls="first"), SortDTO(field="b", order="desc", nulls="last")],
    [SortDTO(field=Row.b, order="desc", nulls="NULLS_FIRST"), SortDTO(field="t", order="asc"), SortDTO(field="c")],
    [SortDTO(field="c", order="asc"), SortDTO(field="id", order="desc")],  # the key itself: no tie-breaker
]


async def seeded(db: Backend) -> list[dict[str, Any]]:
    rows = [
        values(a=(index * 7) % 5 or None, b="pqr"[index % 3] if index % 4 else None, c=index % 2, t=index % 3 or None)
        for index in range(15)
    ]
    await prepare(db)
    await insert_rows(db, rows)
    return rows


@pytest.mark.parametrize("sort", SORTS, ids=lambda sort: ",".join(f"{d.field}:{d.order}:{d.nulls}" for d in sort))
async def test_several_sort_keys_order_rows_the_same_everywhere(db: Backend, sort: list[SortDTO]) -> None:
    rows = await seeded(db)
    expected = [row["id"] for row in expected_order(rows, sort)]
    everything, total = await db.call(db.adapter.execute_search_query, Row, select(Row), None, sort)
    assert [row.id for row in everything] == expected
    assert total == 15
    walked: list[Any] = []
    for page in (1, 2, 3, 4):
        items, _ = await db.call(
            db.adapter.execute_search_query, Row, select(Row), PaginationDTO(page=page, page_size=4), sort
        )
        walked += [row.id for row in items]
    assert walked == expected
    assert db.checked_out() == 0


async def test_the_mixin_and_a_tuple_of_keys(db: Backend) -> None:
    rows = await seeded(db)
    sort = (SortDTO(field="c", order="desc"), SortDTO(field="a", order="asc", nulls=NullsOrderType.FIRST))
    query = SQLAlchemySortMixin()._apply_sorting(Row, select(Row.id), sort)
    found = (await db.call(db.adapter.scalars, query)).all()
    assert found == [row["id"] for row in expected_order(rows, list(sort))]


def test_bad_sort_specifications_are_refused_before_any_query() -> None:
    cases: list[Any] = [
        [SortDTO(field="a"), SortDTO(field=Row.a, order="asc")],  # the same column twice
        [SortDTO(field="a"), "b"],  # not a SortDTO
        "a",
        {"field": "a"},
        [SortDTO(field="a"), SortDTO(field="nope")],  # unknown name in a later key
    ]
    for sort in cases:
        with pytest.raises(InvalidArgumentError):
            SQLAlchemySortMixin()._apply_sorting(Row, select(Row), sort)
    with pytest.raises(InvalidArgumentError) as caught:
        SortDTO(field="a", nulls="middle")
    assert "nulls" in str(caught.value)
    assert SortDTO(field="a", nulls=" Last ").nulls == NullsOrderType.LAST
    assert SQLAlchemySortMixin()._apply_sorting(Row, select(Row), []).compare(select(Row))


def test_keyset_pagination_refuses_what_it_cannot_page() -> None:
    with pytest.raises(InvalidArgumentError, match="sort_info"):
        Keyset(Row, select(Row).order_by(Row.a), None)
    unique_less = select(Row.a, Row.b).subquery()
    with pytest.raises(InvalidArgumentError, match="identifies every row"):
        Keyset(Row, select(unique_less), [SortDTO(field=unique_less.c.a)])
    with pytest.raises(InvalidArgumentError, match="select"):
        Keyset(Row, "SELECT 1", None)  # type: ignore[arg-type]
