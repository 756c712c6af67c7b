"""Page selection for searches."""

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from archipy_lite.configs.validation import ConfigurationMeta
from archipy_lite.models.errors import InvalidArgumentError

_MAX_OFFSET = 2**63 - 1  # OFFSET is a signed 64-bit integer in PostgreSQL and SQLite


class PaginationDTO(BaseModel, metaclass=ConfigurationMeta):
    """A 1-based page of ``page_size`` rows.

    Subclass and set ``MAX_PAGE_SIZE`` to change the upper bound. Building one with
    bad values raises ``InvalidArgumentError`` naming the field.
    """

    __validation_error__: ClassVar[type[InvalidArgumentError]] = InvalidArgumentError
    MAX_PAGE_SIZE: ClassVar[int] = 100

    model_config = ConfigDict(frozen=True)

    page: int = Field(default=1, ge=1)
    page_size: int = Field(default=10, ge=1)

    @field_validator("page")
    @classmethod
    def _check_page(cls, value: int) -> int:
        # Beyond this the offset overflows and the driver raises a raw error.
        limit = _MAX_OFFSET // cls.MAX_PAGE_SIZE + 1
        if value > limit:
            raise ValueError(f"must be at most {limit}")
        return value

    @field_validator("page_size")
    @classmethod
    def _check_page_size(cls, value: int) -> int:
        if value > cls.MAX_PAGE_SIZE:
            raise ValueError(f"must be at most {cls.MAX_PAGE_SIZE}")
        return value

    @property
    def offset(self) -> int:
        """Rows to skip before this page."""
        return (self.page - 1) * self.page_size
