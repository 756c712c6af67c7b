"""Sort selection for searches."""

from collections.abc import Sequence
from typing import Any, TypeAlias

from pydantic import AliasChoices, Field, field_validator

from archipy_lite.models.dtos.base_dto import BaseDTO
from archipy_lite.models.types.base_types import NullsOrderType, SortOrderType


class SortDTO(BaseDTO):
    """Sort by ``field``: a mapped column (``User.username``) or its name (``"username"``).

    A name is checked against the entity's columns when the query is built. ``nulls`` places
    NULLs first or last; by default they sort after every value (before, descending) on every
    database, as PostgreSQL does. ``column=`` is accepted as ArchiPy's name for ``field``;
    giving both, or any unknown field, is an error.
    """

    field: Any = Field(default="created_at", validation_alias=AliasChoices("field", "column"))
    order: SortOrderType = SortOrderType.DESCENDING
    nulls: NullsOrderType | None = None

    @field_validator("field")
    @classmethod
    def _check_field(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                raise ValueError("must be a column or a non-empty column name")
            return value.strip()
        if not hasattr(value, "__clause_element__"):
            raise ValueError("must be a mapped column (e.g. User.username) or a column name")
        return value

    @field_validator("order", mode="before")
    @classmethod
    def _normalise_order(cls, value: object) -> object:
        if isinstance(value, str):
            aliases = {"asc": "ascending", "desc": "descending"}
            lowered = value.strip().lower()
            return aliases.get(lowered, lowered)
        return value

    @property
    def column(self) -> Any:
        """ArchiPy's name for ``field``."""
        return self.field

    @field_validator("nulls", mode="before")
    @classmethod
    def _normalise_nulls(cls, value: object) -> object:
        if isinstance(value, str):
            lowered = value.strip().lower()
            return lowered.removeprefix("nulls_").removeprefix("nulls ")
        return value


#: What ``sort_info`` / ``sort`` accept: one key, several keys (the first sorts first), or none.
SortSpec: TypeAlias = SortDTO | Sequence[SortDTO] | None
