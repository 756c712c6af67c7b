"""Enumerations shared by DTOs and adapters."""

from enum import StrEnum


class SortOrderType(StrEnum):
    """Direction of a sort."""

    ASCENDING = "ascending"
    DESCENDING = "descending"


class NullsOrderType(StrEnum):
    """Where NULLs go in a sort (the default puts them where PostgreSQL does: after every value ascending)."""

    FIRST = "first"
    LAST = "last"


class FilterOperationType(StrEnum):
    """Comparison applied by ``SQLAlchemyFilterMixin._apply_filter``."""

    EQUAL = "equal"
    NOT_EQUAL = "not_equal"
    LESS_THAN = "less_than"
    LESS_THAN_OR_EQUAL = "less_than_or_equal"
    GREATER_THAN = "greater_than"
    GREATER_THAN_OR_EQUAL = "greater_than_or_equal"
    IN_LIST = "in_list"
    NOT_IN_LIST = "not_in_list"
    LIKE = "like"
    ILIKE = "ilike"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    CONTAINS = "contains"
    IS_NULL = "is_null"
    IS_NOT_NULL = "is_not_null"
