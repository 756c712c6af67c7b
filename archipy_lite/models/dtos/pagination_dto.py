"""Page selection for searches."""

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from archipy_lite.configs.validation import ConfigurationMeta
from archipy_lite.models.errors import InvalidArgumentError


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
