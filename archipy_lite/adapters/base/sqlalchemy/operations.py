"""The adapter operations, written once against a synchronous Session.

Sync adapters call these directly; async adapters run the very same functions
on ``AsyncSession.sync_session`` through one ``greenlet_spawn`` per call (which
is also how SQLAlchemy's own AsyncSession works). Outside an atomic block
(``session.autocommit``) each operation commits when it succeeds and rolls
back when it fails, so no transaction stays open between calls (see ``operation_scope``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Connection, Executable, Result, ScalarResult, Select, Table, insert, inspect
from sqlalchemy.orm import Session

from archipy_lite.adapters.base.sqlalchemy import query_building, sorting
from archipy_lite.adapters.base.sqlalchemy.entity_rows import give_identity, records_for_insert
from archipy_lite.adapters.base.sqlalchemy.error_translation import translated_errors
from archipy_lite.adapters.base.sqlalchemy.sessions import ArchipySession
from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortSpec
from archipy_lite.models.errors import InvalidArgumentError, NotFoundError

T = TypeVar("T")
logger = logging.getLogger(__name__)

Params = dict[str, Any] | Sequence[dict[str, Any]] | None


def is_autocommit(session: Session) -> bool:
    return bool(getattr(session, "autocommit", False))


def operation_scope(
    session: Session, *, single_statement: bool = False, writes: Sequence[Any] | None = None
) -> AbstractContextManager[None]:
    """One adapter call on ``session``: typed errors, and between atomic blocks its own transaction.

    ``single_statement``: the call runs exactly one statement (read or write), durable when it
    returns, with no BEGIN/COMMIT round trips. ``writes``: the call saves these objects and commits.
    Anything else is a read whose transaction ends without a flush. See ``calls.Call``.
    """
    if isinstance(session, ArchipySession):
        return session.call(single_statement=single_statement, writes=writes)
    return translated_errors()  # pragma: no cover - every adapter session is an ArchipySession


def _check_entity(entity: Any) -> None:
    query_building.mapper_of(type(entity))


def create(session: Session, entity: T) -> T:
    _check_entity(entity)
    with operation_scope(session, writes=[entity], single_statement=query_building.inserts_alone(session, entity)):
        session.add(entity)
        session.flush()  # everything: related objects added by cascade must be inserted too
    return entity


RecordWriter = Callable[[Connection, Table, list[str], list[list[Any]]], None]


def insert_records(connection: Connection, table: Table, columns: list[str], records: list[list[Any]]) -> None:
    """One executemany: psycopg 3 pipelines it and sqlite3 loops in C (multi-row VALUES measured slower)."""
    connection.execute(insert(table), [dict(zip(columns, record, strict=True)) for record in records])


def bulk_create(
    session: Session,
    entities: Sequence[T],
    *,
    write_records: RecordWriter = insert_records,
    track: bool = True,
) -> list[T]:
    """Insert ``entities`` in one batch, bypassing the unit of work when the objects allow it.

    ``track``: the objects end as a flush leaves them. Inside an atomic block they join its session
    (later changes to them are flushed with the block); outside one the transaction is already over,
    so they are detached with their identity, as SQLAlchemy leaves objects after commit and close.
    Without ``track`` they stay unattached (``bulk_copy``).
    """
    items = list(entities)
    for entity_type in {type(entity) for entity in items}:
        query_building.mapper_of(entity_type)
    if not items:
        return items
    with operation_scope(session, writes=items):
        prepared = records_for_insert(items)
        if prepared is None:  # relationships, inheritance or server-generated values: the unit of work
            session.add_all(items)
            session.flush()  # still one batched INSERT per table
            return items
        session.flush()  # pending work first, so foreign keys to it hold
        write_records(session.connection(), *prepared)
        if track:
            give_identity(items)
            if not is_autocommit(session):
                session.add_all(items)
    return items


def as_uuid(value: Any) -> UUID:
    """``value`` as a UUID, or InvalidArgumentError naming it."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidArgumentError(f"{value!r} is not a valid UUID", details={"field": "uuid"}) from None


def get_by_uuid(session: Session, entity_type: type[T], entity_uuid: Any) -> T | None:
    mapper = query_building.mapper_of(entity_type)
    key = as_uuid(entity_uuid)
    refresh = is_autocommit(session)
    with operation_scope(session, single_statement=query_building.loads_in_one_statement(mapper)):
        if len(mapper.primary_key) != 1:
            return session.get(entity_type, key, populate_existing=refresh)
        # Inside a transaction an object already loaded is the answer (no query), as with session.get.
        # Outside, the session outlives the call, so its identity map may be stale: always re-read.
        if not refresh and mapper.identity_key_from_primary_key((key,)) in session.identity_map:
            return session.get(entity_type, key)
        # One prepared SELECT per entity: the same rows as session.get with a fraction of its overhead.
        statement = query_building.lookup_statement(mapper, refresh=refresh)
        found: T | None = session.scalars(statement, {query_building.LOOKUP_KEY: key}).first()
        return found


def _attached(session: Session, entity: Any) -> Any:
    """``entity`` as an instance of ``session``, loading it when it belongs elsewhere.

    Outside atomic blocks the session outlives the call, so even an attached entity is
    re-read: its row may be gone (deleted elsewhere, or by an earlier delete).
    """
    state = inspect(entity)
    refresh = is_autocommit(session)
    if state.session is session and not refresh:
        return entity
    if state.transient or state.pending or state.identity is None:
        raise InvalidArgumentError(
            f"{type(entity).__name__} is not tracked by any session (never saved, or written by bulk_copy); "
            "load it with get_by_uuid first, or delete by uuid through a store"
        )
    loaded = session.get(type(entity), state.identity, populate_existing=refresh)
    if loaded is None:
        raise NotFoundError(f"{type(entity).__name__} {state.identity[0]} does not exist")
    return loaded


def delete(session: Session, entity: Any) -> None:
    _check_entity(entity)
    with operation_scope(session, writes=[entity]):
        session.delete(_attached(session, entity))
        session.flush()


def bulk_delete(session: Session, entities: Sequence[Any]) -> None:
    items = list(entities)
    for entity in items:
        _check_entity(entity)
    if not items:
        return
    with operation_scope(session, writes=items):
        targets = [_attached(session, entity) for entity in items]  # all found before any is deleted
        for target in targets:
            session.delete(target)
        session.flush()


def execute(session: Session, statement: Executable, params: Params = None) -> Result[Any]:
    """Run ``statement``; outside atomic blocks the rows are buffered so the result outlives the call.

    Between atomic blocks a statement that runs alone (any write, and reads without eager loaders
    that query on their own) is durable when it returns, with no BEGIN/COMMIT around it.
    """
    with operation_scope(session, single_statement=query_building.runs_alone(statement)):
        result = session.execute(statement, params)
        if is_autocommit(session) and getattr(result, "returns_rows", True):
            result = result.freeze()()
    return result


def scalars(session: Session, statement: Executable, params: Params = None) -> ScalarResult[Any]:
    return execute(session, statement, params).scalars()


def execute_search_query(
    session: Session,
    entity: type[T],
    query: Select[Any],
    pagination: PaginationDTO | None,
    sort_info: SortSpec,
    has_multiple_entities: bool = False,
) -> tuple[list[Any], int]:
    """One page of ``query`` and the total number of matching rows.

    The COUNT is skipped when the page itself shows the total (a short, non-empty page,
    or an empty first page); otherwise it runs without ORDER BY and with a constant column.
    """
    if not isinstance(query, Select):
        raise InvalidArgumentError(f"query must be a select() statement, got {type(query).__name__}")
    if sort_info is None and pagination is not None:
        ordered = sorting.apply_stable_order(query)  # pages must not overlap even unsorted
    else:
        ordered = sorting.apply_sorting(entity, query, sort_info)
    page_query = query_building.apply_pagination(ordered, pagination)
    # Outside atomic blocks the session outlives the call: refresh what it already holds (unsaved
    # changes survive the refresh, see ArchipySession.call).
    fresh = {"populate_existing": True} if is_autocommit(session) else {}
    with operation_scope(session):
        result = session.execute(page_query, execution_options=fresh)
        items: list[Any] = list(result.all()) if has_multiple_entities else list(result.scalars().all())
        total = query_building.known_total(pagination, len(items))
        if total is None:
            total = int(session.execute(query_building.count_statement(query)).scalar_one())
    return items, total
