"""Page selection for searches."""

import re
from typing import ClassVar, TypeAlias

from pydantic import Field, field_validator

from archipy_lite.models.dtos.base_dto import BaseDTO

_MAX_OFFSET = 2**63 - 1  # OFFSET is a signed 64-bit integer in PostgreSQL and SQLite


class PaginationDTO(BaseDTO):
    """A 1-based page of ``page_size`` rows.

    Subclass and set ``MAX_PAGE_SIZE`` to change the upper bound. Building one with
    bad values or unknown fields (``offset=``, ``limit=``) raises ``InvalidArgumentError`` naming them.
    """

    MAX_PAGE_SIZE: ClassVar[int] = 100

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


class OffsetPaginationDTO(BaseDTO):
    """``limit`` rows after skipping ``offset`` (SQL's LIMIT/OFFSET), validated like ``PaginationDTO``."""

    MAX_PAGE_SIZE: ClassVar[int] = 100

    limit: int = Field(default=10, ge=1)
    offset: int = Field(default=0, ge=0, le=_MAX_OFFSET)

    @field_validator("limit")
    @classmethod
    def _check_limit(cls, value: int) -> int:
        if value > cls.MAX_PAGE_SIZE:
            raise ValueError(f"must be at most {cls.MAX_PAGE_SIZE}")
        return value

    @property
    def page_size(self) -> int:
        """Rows on this page (the limit)."""
        return self.limit


_CURSOR_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


class CursorPaginationDTO(BaseDTO):
    """``page_size`` rows after (or before) the row a ``cursor`` points at; no cursor is the first page.

    Cursors come from a previous ``Page`` (``next_cursor`` / ``prev_cursor``): opaque, URL-safe and
    signed. Only their shape is checked here; a forged, stale or foreign cursor is refused with
    ``InvalidArgumentError`` when the search runs. An empty string means no cursor.
    """

    MAX_PAGE_SIZE: ClassVar[int] = 100
    MAX_CURSOR_LENGTH: ClassVar[int] = 4096

    page_size: int = Field(default=10, ge=1)
    cursor: str | None = None

    @field_validator("page_size")
    @classmethod
    def _check_page_size(cls, value: int) -> int:
        if value > cls.MAX_PAGE_SIZE:
            raise ValueError(f"must be at most {cls.MAX_PAGE_SIZE}")
        return value

    @field_validator("cursor")
    @classmethod
    def _check_cursor(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if len(value) > cls.MAX_CURSOR_LENGTH or not _CURSOR_ALPHABET.fullmatch(value):
            raise ValueError("is not a cursor returned by this API")
        return value


#: Any of the three ways to ask for a page.
AnyPagination: TypeAlias = PaginationDTO | OffsetPaginationDTO | CursorPaginationDTO
