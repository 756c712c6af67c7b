"""Search with the tutorial's filter, sort and pagination mixins (features/search.feature)."""

from __future__ import annotations

from typing import Any

from behave import then, when
from sqlalchemy import Select, select

from archipy_lite.adapters.base.sqlalchemy.adapters import (
    SQLAlchemyFilterMixin,
    SQLAlchemyPaginationMixin,
    SQLAlchemySortMixin,
)
from archipy_lite.models.dtos import PaginationDTO, SortDTO
from archipy_lite.models.errors import InvalidArgumentError
from archipy_lite.models.types import FilterOperationType, SortOrderType

from steps.support.entities import Customer
from steps.support.shop import attempt, current_backend, expect_error


class CustomerSearch(SQLAlchemyFilterMixin, SQLAlchemySortMixin, SQLAlchemyPaginationMixin):
    """Builds the back office's customer query; a filter whose value is None is left out."""

    def query(
        self,
        *,
        city: str | None = None,
        tier: str | None = None,
        name_contains: str | None = None,
        cities: list[str] | None = None,
    ) -> Select[Any]:
        query = select(Customer)
        query = self._apply_filter(query, Customer.city, city, FilterOperationType.EQUAL)
        query = self._apply_filter(query, Customer.tier, tier, FilterOperationType.EQUAL)
        query = self._apply_filter(query, Customer.name, name_contains, FilterOperationType.CONTAINS)
        return self._apply_filter(query, Customer.city, cities, FilterOperationType.IN_LIST)


def _search(
    context: Any,
    *,
    page: int = 1,
    page_size: int = 10,
    sort_field: str = "name",
    order: SortOrderType = SortOrderType.ASCENDING,
    **filters: Any,
) -> None:
    db = current_backend(context)

    def run() -> tuple[list[Customer], int]:
        pagination = PaginationDTO(page=page, page_size=page_size)
        sort = SortDTO(field=sort_field, order=order)
        query = CustomerSearch().query(**filters)
        found: tuple[list[Customer], int] = db.call(db.adapter.execute_search_query, Customer, query, pagination, sort)
        return found

    outcome = attempt(context, run)
    if outcome is not None:
        context.page, context.total = outcome


@when('I list the customers in "{city}" by name, {page_size:d} per page, page {page:d}')
def step_list_city_page(context: Any, city: str, page_size: int, page: int) -> None:
    _search(context, city=city, page=page, page_size=page_size)


@when('I list the "{tier}" customers by name in descending order')
def step_list_tier_descending(context: Any, tier: str) -> None:
    _search(context, tier=tier, order=SortOrderType.DESCENDING)


# The longer wording is registered first: behave tries step patterns in order.
@when('I look for customers whose name contains "{fragment}" and who live in one of "{cities}"')
def step_name_and_cities(context: Any, fragment: str, cities: str) -> None:
    _search(context, name_contains=fragment, cities=[city.strip() for city in cities.split(",")])


@when('I look for customers whose name contains "{fragment}"')
def step_name_contains(context: Any, fragment: str) -> None:
    _search(context, name_contains=fragment)


@when('I list the customers sorted by "{field}"')
def step_sorted_by(context: Any, field: str) -> None:
    _search(context, sort_field=field)


@when("I list the customers {page_size:d} per page")
def step_page_size(context: Any, page_size: int) -> None:
    _search(context, page_size=page_size)


@then('I see "{names}"')
def step_i_see(context: Any, names: str) -> None:
    assert context.error is None, f"the search failed: {context.error!r}"
    expected = [name.strip() for name in names.split(",")]
    assert [customer.name for customer in context.page] == expected, [c.name for c in context.page]


@then("I am told {total:d} customers match")
def step_total(context: Any, total: int) -> None:
    assert context.total == total, context.total


@then('the request is refused as invalid, naming "{field}"')
def step_refused_invalid(context: Any, field: str) -> None:
    error = expect_error(context, InvalidArgumentError)
    assert field in str(error), str(error)
