"""Tests for archipy_lite.models.dtos (PaginationDTO, SortDTO) and archipy_lite.models.types."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import create_engine, func, literal, select

from archipy_lite.models.dtos import PaginationDTO as ExportedPaginationDTO
from archipy_lite.models.dtos import SortDTO as ExportedSortDTO
from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.errors import BaseError, ConfigurationError, InvalidArgumentError
from archipy_lite.models.types import FilterOperationType as ExportedFilterOperationType
from archipy_lite.models.types.base_types import FilterOperationType, SortOrderType

from models import User

TUTORIAL_FILTER_OPERATIONS = [
    "EQUAL",
    "NOT_EQUAL",
    "LESS_THAN",
    "LESS_THAN_OR_EQUAL",
    "GREATER_THAN",
    "GREATER_THAN_OR_EQUAL",
    "IN_LIST",
    "NOT_IN_LIST",
    "LIKE",
    "ILIKE",
    "STARTS_WITH",
    "ENDS_WITH",
    "CONTAINS",
    "IS_NULL",
    "IS_NOT_NULL",
]
INT64_MAX = 2**63 - 1


class LargePagination(PaginationDTO):
    MAX_PAGE_SIZE: ClassVar[int] = 500


class TinyPagination(PaginationDTO):
    MAX_PAGE_SIZE: ClassVar[int] = 5


def test_packages_re_export_the_same_classes() -> None:
    assert ExportedPaginationDTO is PaginationDTO
    assert ExportedSortDTO is SortDTO
    assert ExportedFilterOperationType is FilterOperationType


# --- PaginationDTO ----------------------------------------------------------------------------------


def test_pagination_defaults() -> None:
    pagination = PaginationDTO()
    assert (pagination.page, pagination.page_size, pagination.offset) == (1, 10, 0)
    assert PaginationDTO.MAX_PAGE_SIZE == 100


def test_pagination_tutorial_usage() -> None:
    pagination = PaginationDTO(page=1, page_size=20)
    assert (pagination.page, pagination.page_size, pagination.offset) == (1, 20, 0)


@pytest.mark.parametrize(
    ("page", "page_size", "offset"),
    [(1, 1, 0), (2, 10, 10), (3, 25, 50), (10, 100, 900), (1, 100, 0)],
)
def test_pagination_offset(page: int, page_size: int, offset: int) -> None:
    assert PaginationDTO(page=page, page_size=page_size).offset == offset


@pytest.mark.parametrize("page", [0, -1, -100])
def test_page_below_one_is_rejected(page: int) -> None:
    with pytest.raises(InvalidArgumentError) as excinfo:
        PaginationDTO(page=page)
    assert "page:" in str(excinfo.value)
    assert list(excinfo.value.details["fields"]) == ["page"]


@pytest.mark.parametrize("page_size", [0, -1, 101, 1000])
def test_page_size_out_of_bounds_is_rejected(page_size: int) -> None:
    with pytest.raises(InvalidArgumentError) as excinfo:
        PaginationDTO(page_size=page_size)
    assert "page_size:" in str(excinfo.value)
    assert list(excinfo.value.details["fields"]) == ["page_size"]


def test_page_size_at_max_is_accepted() -> None:
    assert PaginationDTO(page_size=100).page_size == 100


def test_page_size_error_states_the_limit() -> None:
    with pytest.raises(InvalidArgumentError, match="at most 100"):
        PaginationDTO(page_size=101)


@pytest.mark.parametrize(("field", "value"), [("page", 1.5), ("page", "two"), ("page_size", None), ("page", [1])])
def test_pagination_wrong_types_are_rejected(field: str, value: Any) -> None:
    with pytest.raises(InvalidArgumentError) as excinfo:
        PaginationDTO(**{field: value})
    assert list(excinfo.value.details["fields"]) == [field]


def test_pagination_numeric_strings_are_accepted() -> None:
    """Query-string values arrive as text."""
    pagination = PaginationDTO(page="3", page_size="7")
    assert (pagination.page, pagination.page_size, pagination.offset) == (3, 7, 14)


def test_pagination_error_is_invalid_argument_not_configuration_or_validation_error() -> None:
    with pytest.raises(InvalidArgumentError) as excinfo:
        PaginationDTO(page=0, page_size=0)
    error = excinfo.value
    assert not isinstance(error, ConfigurationError)
    assert not isinstance(error, ValidationError)
    assert isinstance(error, BaseError)
    assert error.code == "INVALID_ARGUMENT"
    assert error.http_status == 400
    assert sorted(error.details["fields"]) == ["page", "page_size"]
    assert str(error).startswith("Invalid PaginationDTO value:")


def test_subclass_raises_max_page_size() -> None:
    assert LargePagination(page_size=500).page_size == 500
    with pytest.raises(InvalidArgumentError, match="at most 500"):
        LargePagination(page_size=501)
    assert PaginationDTO.MAX_PAGE_SIZE == 100  # the base class is unchanged
    with pytest.raises(InvalidArgumentError):
        PaginationDTO(page_size=500)


def test_subclass_lowers_max_page_size() -> None:
    assert TinyPagination(page_size=5).page_size == 5
    with pytest.raises(InvalidArgumentError, match=r"Invalid TinyPagination value: page_size"):
        TinyPagination(page_size=6)


def test_pagination_is_frozen_and_hashable() -> None:
    pagination = PaginationDTO(page=2, page_size=5)
    with pytest.raises(ValidationError):
        pagination.page = 3  # type: ignore[misc]
    assert pagination.page == 2
    assert pagination == PaginationDTO(page=2, page_size=5)
    assert len({pagination, PaginationDTO(page=2, page_size=5)}) == 1


def test_pagination_page_whose_offset_would_overflow_is_rejected() -> None:
    """A huge page number from a query string must not reach the driver as a 64-bit overflow."""
    with pytest.raises(InvalidArgumentError) as excinfo:
        PaginationDTO(page=10**20, page_size=100)
    assert list(excinfo.value.details["fields"]) == ["page"]


def test_pagination_largest_page_runs_on_sqlite() -> None:
    limit_page = INT64_MAX // PaginationDTO.MAX_PAGE_SIZE + 1
    last = PaginationDTO(page=limit_page, page_size=PaginationDTO.MAX_PAGE_SIZE)
    assert last.offset <= INT64_MAX
    with pytest.raises(InvalidArgumentError):
        PaginationDTO(page=limit_page + 1)
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(literal(1)).limit(last.page_size).offset(last.offset)).all()
    finally:
        engine.dispose()
    assert rows == []


@given(page=st.integers(min_value=1, max_value=10**9), page_size=st.integers(min_value=1, max_value=100))
def test_offset_arithmetic(page: int, page_size: int) -> None:
    pagination = PaginationDTO(page=page, page_size=page_size)
    assert pagination.offset == (page - 1) * page_size
    assert pagination.offset % page_size == 0
    # Consecutive pages tile the rows without gaps or overlap.
    following = PaginationDTO(page=page + 1, page_size=page_size)
    assert following.offset == pagination.offset + page_size
    assert pagination.offset <= INT64_MAX


@given(page=st.integers(max_value=0) | st.just(10**30), page_size=st.integers(min_value=1, max_value=100))
def test_invalid_pages_always_raise(page: int, page_size: int) -> None:
    with pytest.raises(InvalidArgumentError):
        PaginationDTO(page=page, page_size=page_size)


@given(page_size=st.integers().filter(lambda n: not 1 <= n <= 100))
def test_invalid_page_sizes_always_raise(page_size: int) -> None:
    with pytest.raises(InvalidArgumentError):
        PaginationDTO(page_size=page_size)


@given(
    items=st.lists(st.integers(), max_size=300),
    page_size=st.integers(min_value=1, max_value=100),
)
def test_pages_partition_a_list(items: list[int], page_size: int) -> None:
    """Slicing by offset page after page yields every item exactly once."""
    collected: list[int] = []
    page = 1
    while True:
        pagination = PaginationDTO(page=page, page_size=page_size)
        chunk = items[pagination.offset : pagination.offset + pagination.page_size]
        if not chunk:
            break
        assert len(chunk) <= page_size
        collected.extend(chunk)
        page += 1
    assert collected == items


# --- SortDTO ------------------------------------------------------------------------------------------


def test_sort_defaults() -> None:
    sort = SortDTO()
    assert sort.field == "created_at"
    assert sort.order is SortOrderType.DESCENDING


def test_sort_with_column_tutorial_usage() -> None:
    sort_info = SortDTO(field=User.username, order=SortOrderType.ASCENDING)
    assert sort_info.field is User.username
    assert sort_info.order is SortOrderType.ASCENDING


@pytest.mark.parametrize(
    "column",
    [User.username, User.created_at, User.__table__.c.email, func.lower(User.username)],
    ids=["instrumented-attribute", "inherited-column", "table-column", "sql-expression"],
)
def test_sort_with_column_expressions(column: Any) -> None:
    assert SortDTO(field=column).field is column


@pytest.mark.parametrize(("name", "expected"), [("username", "username"), ("  email ", "email"), ("uuid", "uuid")])
def test_sort_with_name(name: str, expected: str) -> None:
    assert SortDTO(field=name).field == expected


@pytest.mark.parametrize(
    ("given_order", "expected"),
    [
        ("asc", SortOrderType.ASCENDING),
        ("ASC", SortOrderType.ASCENDING),
        ("ascending", SortOrderType.ASCENDING),
        ("Ascending", SortOrderType.ASCENDING),
        ("desc", SortOrderType.DESCENDING),
        ("DESC", SortOrderType.DESCENDING),
        (" Desc ", SortOrderType.DESCENDING),
        ("DESCENDING", SortOrderType.DESCENDING),
        (SortOrderType.ASCENDING, SortOrderType.ASCENDING),
        (SortOrderType.DESCENDING, SortOrderType.DESCENDING),
    ],
)
def test_sort_order_aliases(given_order: Any, expected: SortOrderType) -> None:
    sort = SortDTO(field="username", order=given_order)
    assert sort.order is expected


@pytest.mark.parametrize("order", ["up", "down", "", "ascend", 1, None, True])
def test_sort_invalid_order(order: Any) -> None:
    with pytest.raises(InvalidArgumentError) as excinfo:
        SortDTO(field="username", order=order)
    assert list(excinfo.value.details["fields"]) == ["order"]
    assert "order:" in str(excinfo.value)


@pytest.mark.parametrize(
    "field",
    ["", "   ", 42, None, 3.5, User, object(), ["username"], {"username": "asc"}],
    ids=["empty", "blank", "int", "none", "float", "entity-class", "object", "list", "dict"],
)
def test_sort_invalid_field(field: Any) -> None:
    with pytest.raises(InvalidArgumentError) as excinfo:
        SortDTO(field=field)
    assert list(excinfo.value.details["fields"]) == ["field"]
    assert str(excinfo.value).startswith("Invalid SortDTO value: field:")


def test_sort_is_frozen() -> None:
    sort = SortDTO(field="username")
    with pytest.raises(ValidationError):
        sort.order = SortOrderType.ASCENDING  # type: ignore[misc]
    assert sort.order is SortOrderType.DESCENDING


def test_sort_order_type() -> None:
    assert issubclass(SortOrderType, StrEnum)
    assert [member.name for member in SortOrderType] == ["ASCENDING", "DESCENDING"]
    assert SortOrderType("ascending") is SortOrderType.ASCENDING
    assert SortOrderType.DESCENDING == "descending"
    with pytest.raises(ValueError):
        SortOrderType("asc")  # aliases belong to SortDTO, not the enum


# --- FilterOperationType --------------------------------------------------------------------------------


def test_filter_operations_are_exactly_the_tutorials() -> None:
    assert [member.name for member in FilterOperationType] == TUTORIAL_FILTER_OPERATIONS
    assert len(FilterOperationType) == 15


@pytest.mark.parametrize("name", TUTORIAL_FILTER_OPERATIONS)
def test_filter_operation_values(name: str) -> None:
    member = FilterOperationType[name]
    assert member.value == name.lower()
    assert FilterOperationType(name.lower()) is member
    assert isinstance(member, str)


def test_filter_operation_values_are_unique() -> None:
    values = [member.value for member in FilterOperationType]
    assert len(set(values)) == len(values)
