"""``Page[T]``: one page of search results, ready to be an API response model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from pydantic import ConfigDict, Field

from archipy_lite.models.dtos.base_dto import BaseDTO

T = TypeVar("T")
U = TypeVar("U")


class Page(BaseDTO, Generic[T]):
    """Items of one page and how to reach the others.

    Page-numbered searches fill ``page`` (and ``offset``); offset searches fill ``offset``; cursor
    searches fill ``next_cursor`` / ``prev_cursor`` (None where there is nothing further that way).
    ``total`` is the number of matching rows, or None when it was not asked for. As a FastAPI
    ``response_model``, ``Page[CustomerOut]`` converts the items (give ``CustomerOut``
    ``from_attributes=True`` to read ORM objects).
    """

    model_config = ConfigDict(frozen=False)  # a response model: callers may adjust it before returning it

    items: list[T]
    total: int | None = Field(default=None, ge=0)
    page_size: int = Field(ge=0, description="Rows asked for (the limit); the last page may hold fewer.")
    page: int | None = Field(default=None, ge=1, description="1-based page number (page-numbered searches).")
    offset: int | None = Field(default=None, ge=0, description="Rows before this page (page and offset searches).")
    next_cursor: str | None = Field(default=None, description="Pass as ``cursor`` for the next page.")
    prev_cursor: str | None = Field(default=None, description="Pass as ``cursor`` for the previous page.")

    def map(self, function: Callable[[T], U]) -> Page[U]:
        """The same page with ``function`` applied to each item (e.g. ``CustomerOut.model_validate``)."""
        fields = self.model_dump(exclude={"items"})
        return Page[U](items=[function(item) for item in self.items], **fields)
