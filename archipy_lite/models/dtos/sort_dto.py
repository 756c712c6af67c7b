"""Sort selection for searches."""

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, field_validator

from archipy_lite.configs.validation import ConfigurationMeta
from archipy_lite.models.errors import InvalidArgumentError
from archipy_lite.models.types.base_types import SortOrderType


class SortDTO(BaseModel, metaclass=ConfigurationMeta):
    """Sort by ``field``: a mapped column (``User.username``) or its name (``"username"``).

    A name is checked against the entity's columns when the query is built.
    """

    __validation_error__: ClassVar[type[InvalidArgumentError]] = InvalidArgumentError

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    field: Any = "created_at"
    order: SortOrderType = SortOrderType.DESCENDING

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
