"""``Store`` and ``AsyncStore``: the microcosm-style persistence layer over a port.

A store is built from a port (any ``SQLAlchemyPort`` / ``AsyncSQLAlchemyPort``)
and a model class; it never touches a concrete adapter. Both classes are thin
shells over ``store_operations``: the async one runs the same functions on the
session's sync side, one greenlet per call.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy.util import greenlet_spawn

from archipy_lite.adapters.base.sqlalchemy.operations import as_uuid
from archipy_lite.adapters.base.sqlalchemy.ports import AsyncSQLAlchemyPort, SQLAlchemyPort
from archipy_lite.adapters.base.sqlalchemy.query_building import mapper_of
from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.errors import InvalidArgumentError, NotFoundError
from archipy_lite.stores import store_operations as ops
from archipy_lite.stores.filters import FilterSpec, search_conditions
from archipy_lite.stores.store_operations import UpdateResult

E = TypeVar("E")
R = TypeVar("R")
Criterion = ColumnElement[bool]


def _is_async_port(port: Any) -> bool:
    """Protocol checks only see method names; the flavour shows in whether ``create`` is a coroutine."""
    return inspect.iscoroutinefunction(getattr(port, "create", None))


class _StoreBase(Generic[E]):
    """What sync and async stores share: the model, auto-filter fields and argument checking."""

    #: Columns that ``search``/``count`` accept as keyword equality filters (``store.search(name="Acme")``).
    auto_filter_fields: ClassVar[Sequence[str]] = ()
    #: Columns that identify a row for ``upsert`` when none are given.
    upsert_conflict_fields: ClassVar[Sequence[str]] = ("uuid",)

    def __init__(self, port: Any, model: type[E]) -> None:
        mapper_of(model)
        for name in self.auto_filter_fields:
            if name not in mapper_of(model).column_attrs:
                raise InvalidArgumentError(f"auto_filter_fields names unknown column {name!r} of {model.__name__}")
        self.port = port
        self.model = model

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.model.__name__}>"

    def _conditions(
        self, criteria: Iterable[Criterion], filters: FilterSpec | None, include_deleted: bool, auto: dict[str, Any]
    ) -> list[Criterion]:
        return search_conditions(self.model, criteria, filters, auto, self.auto_filter_fields, include_deleted)

    def _conflict(self, conflict: Sequence[str] | None) -> Sequence[str]:
        return conflict or self.upsert_conflict_fields

    def _not_found(self, uuid: Any) -> NotFoundError:
        return NotFoundError(f"{self.model.__name__} {uuid} does not exist", details={"uuid": str(uuid)})


class Store(_StoreBase[E]):
    """Synchronous store over a ``SQLAlchemyPort``."""

    def __init__(self, port: SQLAlchemyPort, model: type[E]) -> None:
        if not isinstance(port, SQLAlchemyPort) or _is_async_port(port):
            raise InvalidArgumentError(f"Store needs a SQLAlchemyPort, got {type(port).__name__}")
        super().__init__(port, model)

    def _run(self, function: Callable[..., R], *args: Any) -> R:
        return function(self.port.get_session(), *args)

    def create(self, entity: E) -> E:
        """Insert; AlreadyExistsError on a duplicate, NotFoundError when a referenced parent is missing."""
        created: E = self._run(ops.create, self.model, entity)
        return created

    def get(self, uuid: Any, *, include_deleted: bool = False, for_update: bool = False) -> E | None:
        """The row, or None (soft-deleted rows count as missing unless ``include_deleted``).

        ``for_update=True`` reads with ``SELECT ... FOR UPDATE``: the row stays locked until the
        enclosing atomic block ends, so a read-modify-write cannot lose a concurrent update. It is
        refused outside an atomic block (InvalidArgumentError), where the lock would end with the
        read. SQLite has no row locks and omits the clause; its write transactions (BEGIN IMMEDIATE
        by default) already serialise writers. On PostgreSQL under REPEATABLE READ or SERIALIZABLE,
        a row changed after the block's snapshot raises DatabaseSerializationError: use
        ``atomic(..., retries=N)``, or READ COMMITTED to wait and read the newest row instead.
        """
        return self._run(ops.get, self.model, uuid, include_deleted, for_update)

    def retrieve(self, uuid: Any, *, include_deleted: bool = False, for_update: bool = False) -> E:
        """The row, or NotFoundError; ``for_update`` as in ``get``."""
        found = self.get(uuid, include_deleted=include_deleted, for_update=for_update)
        if found is None:
            raise self._not_found(uuid)
        return found

    def exists(self, uuid: Any, *, include_deleted: bool = False) -> bool:
        return self._run(ops.exists_row, self.model, uuid, include_deleted)

    def count(
        self, *criteria: Criterion, filters: FilterSpec | None = None, include_deleted: bool = False, **auto: Any
    ) -> int:
        return self._run(ops.count, self.model, self._conditions(criteria, filters, include_deleted, auto))

    def search(
        self,
        *criteria: Criterion,
        filters: FilterSpec | None = None,
        pagination: PaginationDTO | None = None,
        sort: SortDTO | None = None,
        include_deleted: bool = False,
        **auto: Any,
    ) -> list[E]:
        """Rows matching every condition, sorted and paginated."""
        conditions = self._conditions(criteria, filters, include_deleted, auto)
        return self._run(ops.search, self.model, conditions, pagination, sort)

    def search_first(self, *criteria: Criterion, sort: SortDTO | None = None, **options: Any) -> E | None:
        """The first matching row, or None."""
        found = self.search(*criteria, pagination=PaginationDTO(page=1, page_size=1), sort=sort, **options)
        return found[0] if found else None

    def iterate(
        self,
        *criteria: Criterion,
        filters: FilterSpec | None = None,
        sort: SortDTO | None = None,
        include_deleted: bool = False,
        batch_size: int = 1000,
        **auto: Any,
    ) -> Iterator[E]:
        """Stream matching rows; memory stays flat for any number of rows. Close it if you stop early."""
        conditions = self._conditions(criteria, filters, include_deleted, auto)
        return ops.iterate(self.port.get_session(), self.model, conditions, sort, batch_size)

    def update(self, uuid: Any, /, **changes: Any) -> E:
        """Change columns in one UPDATE ... RETURNING; NotFoundError when the row does not exist."""
        updated: E = self._run(ops.update_row, self.model, uuid, changes)
        return updated

    def update_with_diff(self, uuid: Any, /, **changes: Any) -> UpdateResult:
        """Like ``update`` but reports each changed column's value before and after."""
        return self._run(ops.update_with_diff, self.model, uuid, changes)

    def replace(self, uuid: Any, entity: E) -> E:
        """Make row ``uuid`` equal to ``entity``, creating it when missing (one native upsert)."""
        entity.uuid = as_uuid(uuid)  # type: ignore[attr-defined]
        return self.upsert(entity, conflict=("uuid",))

    def upsert(
        self, entity: E, *, conflict: Sequence[str] | None = None, update_fields: Sequence[str] | None = None
    ) -> E:
        """INSERT ... ON CONFLICT DO UPDATE on ``conflict`` columns (default ``upsert_conflict_fields``)."""
        rows = self.bulk_upsert([entity], conflict=conflict, update_fields=update_fields)
        return rows[0] if rows else entity

    def bulk_upsert(
        self,
        entities: Sequence[E],
        *,
        conflict: Sequence[str] | None = None,
        update_fields: Sequence[str] | None = None,
    ) -> list[E]:
        """Upsert many rows in one statement."""
        stored: list[E] = self._run(ops.upsert_rows, self.model, entities, self._conflict(conflict), update_fields)
        return stored

    def delete(self, uuid: Any) -> None:
        """Soft-delete a DeletableEntity (hard delete otherwise); NotFoundError when nothing matched."""
        self._run(ops.delete_row, self.model, uuid, False)

    def hard_delete(self, uuid: Any) -> None:
        """Remove the row for good, soft-deletable or not."""
        self._run(ops.delete_row, self.model, uuid, True)


class AsyncStore(_StoreBase[E]):
    """Asynchronous store over an ``AsyncSQLAlchemyPort``; same methods, awaited."""

    def __init__(self, port: AsyncSQLAlchemyPort, model: type[E]) -> None:
        if not isinstance(port, AsyncSQLAlchemyPort) or not _is_async_port(port):
            raise InvalidArgumentError(f"AsyncStore needs an AsyncSQLAlchemyPort, got {type(port).__name__}")
        super().__init__(port, model)

    async def _run(self, function: Callable[..., R], *args: Any) -> R:
        result: R = await greenlet_spawn(function, self.port.get_session().sync_session, *args)
        return result

    async def create(self, entity: E) -> E:
        return await self._run(ops.create, self.model, entity)

    async def get(self, uuid: Any, *, include_deleted: bool = False, for_update: bool = False) -> E | None:
        """The row, or None; ``for_update`` locks it until the atomic block ends (see ``Store.get``)."""
        return await self._run(ops.get, self.model, uuid, include_deleted, for_update)

    async def retrieve(self, uuid: Any, *, include_deleted: bool = False, for_update: bool = False) -> E:
        found = await self.get(uuid, include_deleted=include_deleted, for_update=for_update)
        if found is None:
            raise self._not_found(uuid)
        return found

    async def exists(self, uuid: Any, *, include_deleted: bool = False) -> bool:
        return await self._run(ops.exists_row, self.model, uuid, include_deleted)

    async def count(
        self, *criteria: Criterion, filters: FilterSpec | None = None, include_deleted: bool = False, **auto: Any
    ) -> int:
        return await self._run(ops.count, self.model, self._conditions(criteria, filters, include_deleted, auto))

    async def search(
        self,
        *criteria: Criterion,
        filters: FilterSpec | None = None,
        pagination: PaginationDTO | None = None,
        sort: SortDTO | None = None,
        include_deleted: bool = False,
        **auto: Any,
    ) -> list[E]:
        conditions = self._conditions(criteria, filters, include_deleted, auto)
        return await self._run(ops.search, self.model, conditions, pagination, sort)

    async def search_first(self, *criteria: Criterion, sort: SortDTO | None = None, **options: Any) -> E | None:
        found = await self.search(*criteria, pagination=PaginationDTO(page=1, page_size=1), sort=sort, **options)
        return found[0] if found else None

    async def iterate(
        self,
        *criteria: Criterion,
        filters: FilterSpec | None = None,
        sort: SortDTO | None = None,
        include_deleted: bool = False,
        batch_size: int = 1000,
        **auto: Any,
    ) -> AsyncIterator[E]:
        """Stream matching rows a batch at a time (each batch fetched in one greenlet hop)."""
        conditions = self._conditions(criteria, filters, include_deleted, auto)
        rows = ops.iterate(self.port.get_session().sync_session, self.model, conditions, sort, batch_size)
        try:
            while True:
                chunk = await greenlet_spawn(ops.take, rows, batch_size)
                for item in chunk:
                    yield item
                if len(chunk) < batch_size:
                    break
        finally:
            await greenlet_spawn(rows.close)

    async def update(self, uuid: Any, /, **changes: Any) -> E:
        return await self._run(ops.update_row, self.model, uuid, changes)

    async def update_with_diff(self, uuid: Any, /, **changes: Any) -> UpdateResult:
        return await self._run(ops.update_with_diff, self.model, uuid, changes)

    async def replace(self, uuid: Any, entity: E) -> E:
        entity.uuid = as_uuid(uuid)  # type: ignore[attr-defined]
        return await self.upsert(entity, conflict=("uuid",))

    async def upsert(
        self, entity: E, *, conflict: Sequence[str] | None = None, update_fields: Sequence[str] | None = None
    ) -> E:
        rows = await self.bulk_upsert([entity], conflict=conflict, update_fields=update_fields)
        return rows[0] if rows else entity

    async def bulk_upsert(
        self,
        entities: Sequence[E],
        *,
        conflict: Sequence[str] | None = None,
        update_fields: Sequence[str] | None = None,
    ) -> list[E]:
        stored: list[E] = await self._run(
            ops.upsert_rows, self.model, entities, self._conflict(conflict), update_fields
        )
        return stored

    async def delete(self, uuid: Any) -> None:
        await self._run(ops.delete_row, self.model, uuid, False)

    async def hard_delete(self, uuid: Any) -> None:
        await self._run(ops.delete_row, self.model, uuid, True)
