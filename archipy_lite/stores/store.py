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

from sqlalchemy import ColumnElement, select
from sqlalchemy.util import greenlet_spawn

from archipy_lite.adapters.base.sqlalchemy.keyset import Keyset
from archipy_lite.adapters.base.sqlalchemy.ports import AsyncSQLAlchemyPort, SQLAlchemyPort
from archipy_lite.adapters.base.sqlalchemy.query_building import Window, mapper_of
from archipy_lite.adapters.base.sqlalchemy.sorting import sort_dtos, user_keys
from archipy_lite.models.dtos.page_dto import Page
from archipy_lite.models.dtos.pagination_dto import AnyPagination, OffsetPaginationDTO, PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortSpec
from archipy_lite.models.errors import InvalidArgumentError, NotFoundError
from archipy_lite.stores import store_operations as ops
from archipy_lite.stores.filters import FilterSpec, search_conditions
from archipy_lite.stores.keys import give_key, key_names, key_of
from archipy_lite.stores.store_operations import UpdateResult

E = TypeVar("E")
R = TypeVar("R")
Criterion = ColumnElement[bool]


def _window(pagination: Any, offset: int | None, limit: int | None) -> Any:
    """``pagination``, or microcosm's ``offset=`` / ``limit=`` keywords as an OffsetPaginationDTO."""
    if offset is None and limit is None:
        return pagination
    if pagination is not None:
        raise InvalidArgumentError("Pass pagination or offset/limit, not both", details={"field": "pagination"})
    return OffsetPaginationDTO(offset=offset or 0, **({} if limit is None else {"limit": limit}))


def _is_async_port(port: Any) -> bool:
    """Protocol checks only see method names; the flavour shows in whether ``create`` is a coroutine."""
    return inspect.iscoroutinefunction(getattr(port, "create", None))


class _StoreBase(Generic[E]):
    """What sync and async stores share: the model, auto-filter fields and argument checking."""

    #: Columns that ``search``/``count`` accept as keyword equality filters (``store.search(name="Acme")``).
    auto_filter_fields: ClassVar[Sequence[str]] = ()
    #: Columns that identify a row for ``upsert`` when none are given; empty means the primary key.
    upsert_conflict_fields: ClassVar[Sequence[str]] = ()
    #: The order of ``search``, ``search_page`` and ``iterate`` when the call gives no ``sort``.
    default_order: ClassVar[SortSpec] = None

    def __init__(self, port: Any, model: type[E]) -> None:
        mapper_of(model)
        for name in self.auto_filter_fields:
            if name not in mapper_of(model).column_attrs:
                raise InvalidArgumentError(f"auto_filter_fields names unknown column {name!r} of {model.__name__}")
        user_keys(model, select(model), self.default_order)  # names checked once, at construction
        self.port = port
        self.model = model

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.model.__name__}>"

    def _conditions(
        self, criteria: Iterable[Criterion], filters: FilterSpec | None, include_deleted: bool, auto: dict[str, Any]
    ) -> list[Criterion]:
        return search_conditions(self.model, criteria, filters, auto, self.auto_filter_fields, include_deleted)

    def _sort(self, sort: SortSpec) -> SortSpec:
        return sort if sort_dtos(sort) else self.default_order

    def _page_query(self, conditions: list[Criterion]) -> Any:
        return select(self.model).where(*conditions)

    def _keyset(self, conditions: list[Criterion], sort: SortSpec, batch_size: int) -> Keyset:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidArgumentError("batch_size must be a positive integer", details={"field": "batch_size"})
        return Keyset(self.model, self._page_query(conditions), self._sort(sort))

    def _conflict(self, conflict: Sequence[str] | None) -> Sequence[str]:
        return conflict or self.upsert_conflict_fields or key_names(self.model)

    def _not_found(self, key: Any) -> NotFoundError:
        return key_of(self.model, key).not_found()


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

    def get(self, key: Any, *, include_deleted: bool = False, for_update: bool = False) -> E | None:
        """The row with primary key ``key`` (see ``stores.keys``), or None (soft-deleted rows count as
        missing unless ``include_deleted``).

        ``for_update=True`` reads with ``SELECT ... FOR UPDATE``: the row stays locked until the
        enclosing atomic block ends, so a read-modify-write cannot lose a concurrent update. It is
        refused outside an atomic block (InvalidArgumentError), where the lock would end with the
        read. SQLite has no row locks and omits the clause; its write transactions (BEGIN IMMEDIATE
        by default) already serialise writers. On PostgreSQL under REPEATABLE READ or SERIALIZABLE,
        a row changed after the block's snapshot raises DatabaseSerializationError: use
        ``atomic(..., retries=N)``, or READ COMMITTED to wait and read the newest row instead.
        """
        return self._run(ops.get, self.model, key, include_deleted, for_update)

    def retrieve(self, key: Any, *, include_deleted: bool = False, for_update: bool = False) -> E:
        """The row, or NotFoundError; ``for_update`` as in ``get``."""
        found = self.get(key, include_deleted=include_deleted, for_update=for_update)
        if found is None:
            raise self._not_found(key)
        return found

    def exists(self, key: Any, *, include_deleted: bool = False) -> bool:
        return self._run(ops.exists_row, self.model, key, include_deleted)

    def one(
        self, *criteria: Criterion, filters: FilterSpec | None = None, include_deleted: bool = False, **auto: Any
    ) -> E:
        """The one matching row: NotFoundError for none, MultipleResultsError for several."""
        found: E = self._run(ops.one, self.model, self._conditions(criteria, filters, include_deleted, auto))
        return found

    def count(
        self,
        *criteria: Criterion,
        filters: FilterSpec | None = None,
        include_deleted: bool = False,
        pagination: AnyPagination | None = None,
        sort: SortSpec = None,
        offset: int | None = None,
        limit: int | None = None,
        **auto: Any,
    ) -> int:
        """Rows matching every condition; pagination and sort arguments are accepted and ignored."""
        return self._run(ops.count, self.model, self._conditions(criteria, filters, include_deleted, auto))

    def search(
        self,
        *criteria: Criterion,
        filters: FilterSpec | None = None,
        pagination: Window | None = None,
        sort: SortSpec = None,
        include_deleted: bool = False,
        offset: int | None = None,
        limit: int | None = None,
        **auto: Any,
    ) -> list[E]:
        """Rows matching every condition, sorted (by ``sort`` or ``default_order``) and paginated."""
        conditions = self._conditions(criteria, filters, include_deleted, auto)
        return self._run(ops.search, self.model, conditions, _window(pagination, offset, limit), self._sort(sort))

    def search_page(
        self,
        *criteria: Criterion,
        filters: FilterSpec | None = None,
        pagination: AnyPagination | None = None,
        sort: SortSpec = None,
        include_deleted: bool = False,
        include_total: bool | None = None,
        offset: int | None = None,
        limit: int | None = None,
        **auto: Any,
    ) -> Page[E]:
        """One ``Page`` of matching rows by page number, offset or cursor (see the port's ``search_page``)."""
        query = self._page_query(self._conditions(criteria, filters, include_deleted, auto))
        window = _window(pagination, offset, limit)
        page: Page[E] = self.port.search_page(self.model, query, window, self._sort(sort), include_total=include_total)
        return page

    def search_first(self, *criteria: Criterion, sort: SortSpec = None, **options: Any) -> E | None:
        """The first matching row, or None."""
        found = self.search(*criteria, pagination=PaginationDTO(page=1, page_size=1), sort=sort, **options)
        return found[0] if found else None

    def iterate(
        self,
        *criteria: Criterion,
        filters: FilterSpec | None = None,
        sort: SortSpec = None,
        include_deleted: bool = False,
        batch_size: int = 1000,
        **auto: Any,
    ) -> Iterator[E]:
        """Stream matching rows ``batch_size`` at a time, read by key (memory stays flat).

        Nothing stays open between batches, so the loop body may read and write through the library.
        """
        keyset = self._keyset(self._conditions(criteria, filters, include_deleted, auto), sort, batch_size)
        return ops.iterate(self.port.get_session, keyset, batch_size)

    def update(self, key: Any, /, **changes: Any) -> E:
        """Change columns in one UPDATE ... RETURNING; NotFoundError when the row does not exist."""
        updated: E = self._run(ops.update_row, self.model, key, changes)
        return updated

    def update_with_diff(self, key: Any, /, **changes: Any) -> UpdateResult:
        """Like ``update`` but reports each changed column's value before and after."""
        return self._run(ops.update_with_diff, self.model, key, changes)

    def replace(self, key: Any, entity: E) -> E:
        """Make row ``key`` equal to ``entity``, creating it when missing (one native upsert).

        A soft-deleted row is restored.
        """
        return self.upsert(entity, conflict=give_key(self.model, key, entity))

    def upsert(
        self, entity: E, *, conflict: Sequence[str] | None = None, update_fields: Sequence[str] | None = None
    ) -> E:
        """INSERT ... ON CONFLICT DO UPDATE on ``conflict`` columns (default ``upsert_conflict_fields``).

        Returns the row as stored. An existing soft-deleted row is restored. ``update_fields=[]``
        inserts only: an existing row is left untouched (``updated_at`` too) and returned as it is.
        """
        stored: E = self._run(ops.upsert_one, self.model, entity, self._conflict(conflict), update_fields)
        return stored

    def bulk_upsert(
        self,
        entities: Sequence[E],
        *,
        conflict: Sequence[str] | None = None,
        update_fields: Sequence[str] | None = None,
    ) -> list[E]:
        """Upsert many rows in one statement; returns the rows it wrote (with ``update_fields=[]``,
        only the inserted ones)."""
        stored: list[E] = self._run(ops.upsert_rows, self.model, entities, self._conflict(conflict), update_fields)
        return stored

    def delete(self, key: Any) -> None:
        """Soft-delete a DeletableEntity (hard delete otherwise); NotFoundError when nothing matched."""
        self._run(ops.delete_row, self.model, key, False)

    def hard_delete(self, key: Any) -> None:
        """Remove the row for good, soft-deletable or not."""
        self._run(ops.delete_row, self.model, key, True)


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

    async def get(self, key: Any, *, include_deleted: bool = False, for_update: bool = False) -> E | None:
        """The row, or None; keys and ``for_update`` as in ``Store.get``."""
        return await self._run(ops.get, self.model, key, include_deleted, for_update)

    async def retrieve(self, key: Any, *, include_deleted: bool = False, for_update: bool = False) -> E:
        found = await self.get(key, include_deleted=include_deleted, for_update=for_update)
        if found is None:
            raise self._not_found(key)
        return found

    async def exists(self, key: Any, *, include_deleted: bool = False) -> bool:
        return await self._run(ops.exists_row, self.model, key, include_deleted)

    async def one(
        self, *criteria: Criterion, filters: FilterSpec | None = None, include_deleted: bool = False, **auto: Any
    ) -> E:
        """The one matching row: NotFoundError for none, MultipleResultsError for several."""
        return await self._run(ops.one, self.model, self._conditions(criteria, filters, include_deleted, auto))

    async def count(
        self,
        *criteria: Criterion,
        filters: FilterSpec | None = None,
        include_deleted: bool = False,
        pagination: AnyPagination | None = None,
        sort: SortSpec = None,
        offset: int | None = None,
        limit: int | None = None,
        **auto: Any,
    ) -> int:
        """Rows matching every condition; pagination and sort arguments are accepted and ignored."""
        return await self._run(ops.count, self.model, self._conditions(criteria, filters, include_deleted, auto))

    async def search(
        self,
        *criteria: Criterion,
        filters: FilterSpec | None = None,
        pagination: Window | None = None,
        sort: SortSpec = None,
        include_deleted: bool = False,
        offset: int | None = None,
        limit: int | None = None,
        **auto: Any,
    ) -> list[E]:
        conditions = self._conditions(criteria, filters, include_deleted, auto)
        window = _window(pagination, offset, limit)
        return await self._run(ops.search, self.model, conditions, window, self._sort(sort))

    async def search_page(
        self,
        *criteria: Criterion,
        filters: FilterSpec | None = None,
        pagination: AnyPagination | None = None,
        sort: SortSpec = None,
        include_deleted: bool = False,
        include_total: bool | None = None,
        offset: int | None = None,
        limit: int | None = None,
        **auto: Any,
    ) -> Page[E]:
        query = self._page_query(self._conditions(criteria, filters, include_deleted, auto))
        window = _window(pagination, offset, limit)
        page: Page[E] = await self.port.search_page(
            self.model, query, window, self._sort(sort), include_total=include_total
        )
        return page

    async def search_first(self, *criteria: Criterion, sort: SortSpec = None, **options: Any) -> E | None:
        found = await self.search(*criteria, pagination=PaginationDTO(page=1, page_size=1), sort=sort, **options)
        return found[0] if found else None

    async def iterate(
        self,
        *criteria: Criterion,
        filters: FilterSpec | None = None,
        sort: SortSpec = None,
        include_deleted: bool = False,
        batch_size: int = 1000,
        **auto: Any,
    ) -> AsyncIterator[E]:
        """Stream matching rows a batch at a time, read by key in one greenlet hop per batch (see ``Store.iterate``)."""
        keyset = self._keyset(self._conditions(criteria, filters, include_deleted, auto), sort, batch_size)
        after: tuple[Any, ...] | None = None
        while True:
            session = self.port.get_session().sync_session
            rows = await greenlet_spawn(ops.next_batch, session, keyset, after, batch_size)
            for item in rows.items:
                yield item
            if len(rows) < batch_size:
                return
            after = rows.values(-1)

    async def update(self, key: Any, /, **changes: Any) -> E:
        return await self._run(ops.update_row, self.model, key, changes)

    async def update_with_diff(self, key: Any, /, **changes: Any) -> UpdateResult:
        return await self._run(ops.update_with_diff, self.model, key, changes)

    async def replace(self, key: Any, entity: E) -> E:
        return await self.upsert(entity, conflict=give_key(self.model, key, entity))

    async def upsert(
        self, entity: E, *, conflict: Sequence[str] | None = None, update_fields: Sequence[str] | None = None
    ) -> E:
        return await self._run(ops.upsert_one, self.model, entity, self._conflict(conflict), update_fields)

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

    async def delete(self, key: Any) -> None:
        await self._run(ops.delete_row, self.model, key, False)

    async def hard_delete(self, key: Any) -> None:
        await self._run(ops.delete_row, self.model, key, True)
