"""Base adapters and the query mixins of the tutorial.

``BaseSQLAlchemyAdapter`` and ``AsyncBaseSQLAlchemyAdapter`` are thin shells:
both call the functions in ``operations`` (the async one on the session's
sync side, inside one greenlet per call). Subclasses only name their database
kind and config class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from sqlalchemy import Executable, Result, ScalarResult, Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.util import greenlet_spawn

from archipy_lite.adapters.base.sqlalchemy import operations, query_building, search_pages, sorting
from archipy_lite.adapters.base.sqlalchemy.cursors import signer_for
from archipy_lite.adapters.base.sqlalchemy.registry import default_session_manager, dialect_for
from archipy_lite.adapters.base.sqlalchemy.session_managers import (
    AsyncSessionManager,
    BaseSessionManager,
    SessionManager,
)
from archipy_lite.configs.config_template import SQLAlchemyConfig
from archipy_lite.models.dtos.page_dto import Page
from archipy_lite.models.dtos.pagination_dto import AnyPagination, PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortSpec
from archipy_lite.models.errors import ConfigurationError
from archipy_lite.models.types.base_types import FilterOperationType

T = TypeVar("T")
R = TypeVar("R")
M = TypeVar("M", bound=BaseSessionManager[Any, Any])
Params = operations.Params


class SQLAlchemyFilterMixin:
    """Adds ``_apply_filter`` for the fifteen FilterOperationType operations."""

    def _apply_filter(self, query: Select[Any], field: Any, value: Any, operation: FilterOperationType) -> Select[Any]:
        """Add ``field <operation> value`` to ``query``; a None value skips it (except the NULL checks)."""
        return query_building.apply_filter(query, field, value, operation)


class SQLAlchemyPaginationMixin:
    """Adds ``_apply_pagination``."""

    def _apply_pagination(self, query: Select[Any], pagination: PaginationDTO | None) -> Select[Any]:
        return query_building.apply_pagination(query, pagination)


class SQLAlchemySortMixin:
    """Adds ``_apply_sorting``; string field names are checked against the entity's columns."""

    def _apply_sorting(self, entity: type[Any], query: Select[Any], sort_info: SortSpec) -> Select[Any]:
        return sorting.apply_sorting(entity, query, sort_info)


class _AdapterBase(Generic[M]):
    """Binding to a session manager: explicit, built from ``orm_config``, or the kind's default."""

    kind: ClassVar[str]
    config_class: ClassVar[type[SQLAlchemyConfig]]
    manager_class: ClassVar[type[BaseSessionManager[Any, Any]]]

    def __init__(self, orm_config: SQLAlchemyConfig | None = None, *, session_manager: M | None = None) -> None:
        if orm_config is not None and session_manager is not None:
            raise ConfigurationError("Pass orm_config or session_manager, not both")
        if orm_config is not None and not isinstance(orm_config, self.config_class):
            raise ConfigurationError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(orm_config).__name__}"
            )
        if orm_config is not None:
            session_manager = self.manager_class(orm_config, dialect_for(self.kind))  # type: ignore[assignment]
        self._session_manager = session_manager

    @property
    def session_manager(self) -> M:
        """This adapter's manager; without one, the default for the kind (resolved on each use)."""
        if self._session_manager is not None:
            return self._session_manager
        manager: M = default_session_manager(self.kind, is_async=self.manager_class.is_async)  # type: ignore[assignment]
        return manager

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.session_manager!r}>"


class BaseSQLAlchemyAdapter(_AdapterBase[SessionManager]):
    """Synchronous adapter implementing SQLAlchemyPort."""

    manager_class = SessionManager

    def get_session(self) -> Session:
        return self.session_manager.get_session()

    def create(self, entity: T) -> T:
        return operations.create(self.get_session(), entity)

    def bulk_create(self, entities: Sequence[T]) -> list[T]:
        return operations.bulk_create(self.get_session(), entities)

    def get_by_uuid(self, entity_type: type[T], entity_uuid: UUID) -> T | None:
        return operations.get_by_uuid(self.get_session(), entity_type, entity_uuid)

    def delete(self, entity: Any) -> None:
        operations.delete(self.get_session(), entity)

    def bulk_delete(self, entities: Sequence[Any]) -> None:
        operations.bulk_delete(self.get_session(), entities)

    def execute(self, statement: Executable, params: Params = None) -> Result[Any]:
        return operations.execute(self.get_session(), statement, params)

    def scalars(self, statement: Executable, params: Params = None) -> ScalarResult[Any]:
        return operations.scalars(self.get_session(), statement, params)

    def execute_search_query(
        self,
        entity: type[T],
        query: Select[Any],
        pagination: PaginationDTO | None = None,
        sort_info: SortSpec = None,
        has_multiple_entities: bool = False,
    ) -> tuple[list[Any], int]:
        return operations.execute_search_query(
            self.get_session(), entity, query, pagination, sort_info, has_multiple_entities
        )

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
        signer = signer_for(self.session_manager.config)
        return search_pages.search_page(
            self.get_session(), signer, entity, query, pagination, sort_info, has_multiple_entities, include_total
        )


class AsyncBaseSQLAlchemyAdapter(_AdapterBase[AsyncSessionManager]):
    """Asynchronous adapter implementing AsyncSQLAlchemyPort."""

    manager_class = AsyncSessionManager

    def get_session(self) -> AsyncSession:
        return self.session_manager.get_session()

    async def _run(self, operation: Callable[..., R], *args: Any) -> R:
        result: R = await greenlet_spawn(operation, self.get_session().sync_session, *args)
        return result

    async def create(self, entity: T) -> T:
        return await self._run(operations.create, entity)

    async def bulk_create(self, entities: Sequence[T]) -> list[T]:
        return await self._run(operations.bulk_create, entities)

    async def get_by_uuid(self, entity_type: type[T], entity_uuid: UUID) -> T | None:
        return await self._run(operations.get_by_uuid, entity_type, entity_uuid)

    async def delete(self, entity: Any) -> None:
        await self._run(operations.delete, entity)

    async def bulk_delete(self, entities: Sequence[Any]) -> None:
        await self._run(operations.bulk_delete, entities)

    async def execute(self, statement: Executable, params: Params = None) -> Result[Any]:
        return await self._run(operations.execute, statement, params)

    async def scalars(self, statement: Executable, params: Params = None) -> ScalarResult[Any]:
        return await self._run(operations.scalars, statement, params)

    async def execute_search_query(
        self,
        entity: type[T],
        query: Select[Any],
        pagination: PaginationDTO | None = None,
        sort_info: SortSpec = None,
        has_multiple_entities: bool = False,
    ) -> tuple[list[Any], int]:
        return await self._run(
            operations.execute_search_query, entity, query, pagination, sort_info, has_multiple_entities
        )

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
        signer = signer_for(self.session_manager.config)
        return await self._run(
            search_pages.search_page, signer, entity, query, pagination, sort_info, has_multiple_entities, include_total
        )
