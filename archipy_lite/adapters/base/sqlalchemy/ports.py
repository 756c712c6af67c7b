"""The ports: what application code depends on instead of a concrete adapter.

Both are runtime-checkable protocols, so a hand-written fake for service tests
satisfies them as well as the real adapters do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable
from uuid import UUID

from sqlalchemy import Executable, Result, ScalarResult, Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from archipy_lite.models.dtos.page_dto import Page
from archipy_lite.models.dtos.pagination_dto import AnyPagination, PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortSpec

T = TypeVar("T")
Params = dict[str, Any] | Sequence[dict[str, Any]] | None


@runtime_checkable
class SQLAlchemyPort(Protocol):
    """Synchronous persistence operations."""

    def get_session(self) -> Session:
        """The session of the current atomic block, or this thread's autocommit session."""
        ...

    def create(self, entity: T) -> T:
        """Insert ``entity``; returns it with its uuid and timestamps set."""
        ...

    def bulk_create(self, entities: Sequence[T]) -> list[T]:
        """Insert all ``entities`` in batched statements, all or nothing."""
        ...

    def get_by_uuid(self, entity_type: type[T], entity_uuid: UUID) -> T | None:
        """The entity with this primary key, or None."""
        ...

    def delete(self, entity: Any) -> None:
        """Delete ``entity`` (a hard delete)."""
        ...

    def bulk_delete(self, entities: Sequence[Any]) -> None:
        """Delete all ``entities``, all or nothing."""
        ...

    def execute(self, statement: Executable, params: Params = None) -> Result[Any]:
        """Run any statement; outside atomic blocks rows are buffered."""
        ...

    def scalars(self, statement: Executable, params: Params = None) -> ScalarResult[Any]:
        """Run a statement and return the first column of each row."""
        ...

    def execute_search_query(
        self,
        entity: type[T],
        query: Select[Any],
        pagination: PaginationDTO | None = None,
        sort_info: SortSpec = None,
        has_multiple_entities: bool = False,
    ) -> tuple[list[Any], int]:
        """One sorted page of ``query`` and the total number of matching rows."""
        ...

    def search_page(
        self,
        entity: type[T],
        query: Select[Any],
        pagination: AnyPagination | None = None,
        sort_info: SortSpec = None,
        has_multiple_entities: bool = False,
        *,
        include_total: bool | None = None,
    ) -> Page[Any]:
        """One ``Page`` of ``query`` by page number, offset or cursor; the total is counted on request."""
        ...


@runtime_checkable
class AsyncSQLAlchemyPort(Protocol):
    """Asynchronous persistence operations; the same contract as SQLAlchemyPort."""

    def get_session(self) -> AsyncSession:
        """The session of the current atomic block, or this task's autocommit session."""
        ...

    async def create(self, entity: T) -> T:
        """Insert ``entity``; returns it with its uuid and timestamps set."""
        ...

    async def bulk_create(self, entities: Sequence[T]) -> list[T]:
        """Insert all ``entities`` in batched statements, all or nothing."""
        ...

    async def get_by_uuid(self, entity_type: type[T], entity_uuid: UUID) -> T | None:
        """The entity with this primary key, or None."""
        ...

    async def delete(self, entity: Any) -> None:
        """Delete ``entity`` (a hard delete)."""
        ...

    async def bulk_delete(self, entities: Sequence[Any]) -> None:
        """Delete all ``entities``, all or nothing."""
        ...

    async def execute(self, statement: Executable, params: Params = None) -> Result[Any]:
        """Run any statement; outside atomic blocks rows are buffered."""
        ...

    async def scalars(self, statement: Executable, params: Params = None) -> ScalarResult[Any]:
        """Run a statement and return the first column of each row."""
        ...

    async def execute_search_query(
        self,
        entity: type[T],
        query: Select[Any],
        pagination: PaginationDTO | None = None,
        sort_info: SortSpec = None,
        has_multiple_entities: bool = False,
    ) -> tuple[list[Any], int]:
        """One sorted page of ``query`` and the total number of matching rows."""
        ...

    async def search_page(
        self,
        entity: type[T],
        query: Select[Any],
        pagination: AnyPagination | None = None,
        sort_info: SortSpec = None,
        has_multiple_entities: bool = False,
        *,
        include_total: bool | None = None,
    ) -> Page[Any]:
        """One ``Page`` of ``query`` by page number, offset or cursor; the total is counted on request."""
        ...
