"""Sort selection for searches."""

from collections.abc import Sequence
from typing import Any, ClassVar, TypeAlias

from pydantic import BaseModel, ConfigDict, field_validator

from archipy_lite.configs.validation import ConfigurationMeta
from archipy_lite.models.errors import InvalidArgumentError
from archipy_lite.models.types.base_types import NullsOrderType, SortOrderType


class SortDTO(BaseModel, metaclass=ConfigurationMeta):
    """Sort by ``field``: a mapped column (``User.username``) or its name (``"username"``).

    A name is checked against the entity's columns when the query is built. ``nulls`` places
    NULLs first or last; by default they sort after every value (before, descending) on every
    database, as PostgreSQL does.
    """

    __validation_error__: ClassVar[type[InvalidArgumentError]] = InvalidArgumentError

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    field: Any = "created_at"
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

    @field_validator("nulls", mode="before")
    @classmethod
    def _normalise_nulls(cls, value: object) -> object:
        if isinstance(value, str):
            lowered = value.strip().lower()
            return lowered.removeprefix("nulls_").removeprefix("nulls ")
        return value


#: What ``sort_info`` / ``sort`` accept: one key, several keys (the first sorts first), or none.
SortSpec: TypeAlias = SortDTO | Sequence[SortDTO] | None
