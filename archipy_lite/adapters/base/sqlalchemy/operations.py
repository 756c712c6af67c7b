"""The adapter operations, written once against a synchronous Session.

Sync adapters call these directly; async adapters run the very same functions
on ``AsyncSession.sync_session`` through one ``greenlet_spawn`` per call (which
is also how SQLAlchemy's own AsyncSession works). Outside an atomic block
(``session.autocommit``) each operation commits when it succeeds and rolls
back when it fails, so no connection stays checked out between calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Connection, Executable, Result, ScalarResult, Select, Table, insert, inspect, select
from sqlalchemy.orm import Session

from archipy_lite.adapters.base.sqlalchemy import query_building
from archipy_lite.adapters.base.sqlalchemy.entity_rows import give_identity, records_for_insert
from archipy_lite.adapters.base.sqlalchemy.error_translation import translated_errors
from archipy_lite.adapters.base.sqlalchemy.sessions import ArchipySession
from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.errors import DatabaseError, InvalidArgumentError, NotFoundError

T = TypeVar("T")
logger = logging.getLogger(__name__)

Params = dict[str, Any] | Sequence[dict[str, Any]] | None
_FAILED_LEVEL = "archipy_lite.failed_level"


def is_autocommit(session: Session) -> bool:
    return bool(getattr(session, "autocommit", False))


def discard_connection(session: Session) -> None:
    """Drop the session's connection without talking to it (after a failure or a cancellation).

    Where the dialect asks for it (SQLite) the connection is rolled back instead while that works:
    an in-memory database dies with its connection, and a file's write lock can outlive a discarded
    connection until garbage collection. SQLite drivers run one statement at a time, so the rollback
    simply waits for one still in flight.
    """
    if getattr(session, "rollback_before_discard", False):
        try:
            session.rollback()
            return
        except Exception:
            logger.debug("rollback of a SQLite connection failed; discarding it", exc_info=True)
    try:
        session.invalidate()
    except Exception:  # the connection is being thrown away; nothing useful to report
        logger.debug("invalidating a session after a failure raised", exc_info=True)


def rollback_quietly(session: Session) -> None:
    """Roll back after a failure; a broken connection is discarded instead."""
    try:
        session.rollback()
    except Exception:
        logger.debug("rollback after a failure raised; discarding the connection", exc_info=True)
        discard_connection(session)


def note_failure(session: Session) -> None:
    """Record that a statement failed inside an atomic block, at the innermost (savepoint) level.

    PostgreSQL refuses further work in such a transaction and SQLite would commit around the
    failure; the atomic block rolls that level back and reports it instead (see ``failed_level``).
    """
    session.info.setdefault(_FAILED_LEVEL, session.get_nested_transaction() or session)


def failed_level(session: Session) -> object | None:
    """The savepoint (or the session itself, for the outermost level) where a statement failed."""
    return session.info.get(_FAILED_LEVEL)


def clear_failure(session: Session) -> None:
    session.info.pop(_FAILED_LEVEL, None)


def _commit_per_statement(session: Session) -> None:
    """Begin the session's transaction on a connection where a lone statement commits by itself.

    Only for an operation of exactly one statement, outside atomic blocks, with nothing pending to
    autoflush: one statement is atomic on its own, so the BEGIN and COMMIT round trips around it buy
    nothing (and on SQLite, BEGIN IMMEDIATE would make a plain read wait for the write lock).
    """
    options = getattr(session, "single_statement_options", None)
    if options and not session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.connection(execution_options=options)


@contextmanager
def operation_scope(session: Session, *, single_statement: bool = False) -> Iterator[None]:
    """Translate errors; outside atomic blocks also commit on success and roll back on failure.

    ``single_statement``: the operation runs exactly one statement (see ``_commit_per_statement``).
    """
    autocommit = is_autocommit(session)
    hold = session.commit_held() if isinstance(session, ArchipySession) else nullcontext()
    try:
        with translated_errors(), hold:  # autoflushes must not commit part of the operation
            if autocommit and single_statement:
                _commit_per_statement(session)
            yield
            if autocommit:
                session.commit()
    except asyncio.CancelledError:
        if autocommit:
            discard_connection(session)
        raise
    except BaseException as exc:
        if autocommit:
            rollback_quietly(session)
        elif isinstance(exc, DatabaseError):
            note_failure(session)
        raise


def _check_entity(entity: Any) -> None:
    query_building.mapper_of(type(entity))


def create(session: Session, entity: T) -> T:
    _check_entity(entity)
    with operation_scope(session):
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
    with operation_scope(session):
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
    with operation_scope(session, single_statement=query_building.loads_in_one_statement(mapper)):
        if not is_autocommit(session) or len(mapper.primary_key) != 1:
            return session.get(entity_type, key, populate_existing=is_autocommit(session))
        # Outside atomic blocks the session outlives the call, so its identity map may be stale: always
        # re-read. A plain cached SELECT does that with less overhead than get(populate_existing=True).
        statement = select(entity_type).where(mapper.primary_key[0] == key)
        found: T | None = session.scalars(statement, execution_options={"populate_existing": True}).first()
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
    with operation_scope(session):
        session.delete(_attached(session, entity))
        session.flush()


def bulk_delete(session: Session, entities: Sequence[Any]) -> None:
    items = list(entities)
    for entity in items:
        _check_entity(entity)
    if not items:
        return
    with operation_scope(session):
        targets = [_attached(session, entity) for entity in items]  # all found before any is deleted
        for target in targets:
            session.delete(target)
        session.flush()


def execute(session: Session, statement: Executable, params: Params = None) -> Result[Any]:
    """Run ``statement``; outside atomic blocks the rows are buffered so the result outlives the commit."""
    with operation_scope(session):
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
    sort_info: SortDTO | None,
    has_multiple_entities: bool = False,
) -> tuple[list[Any], int]:
    """One page of ``query`` and the total number of matching rows.

    The COUNT is skipped when the page itself shows the total (a short, non-empty page,
    or an empty first page); otherwise it runs without ORDER BY and with a constant column.
    """
    if not isinstance(query, Select):
        raise InvalidArgumentError(f"query must be a select() statement, got {type(query).__name__}")
    if sort_info is None and pagination is not None:
        ordered = query_building.apply_stable_order(query)  # pages must not overlap even unsorted
    else:
        ordered = query_building.apply_sorting(entity, query, sort_info)
    page_query = query_building.apply_pagination(ordered, pagination)
    with operation_scope(session):
        result = session.execute(page_query)
        items: list[Any] = list(result.all()) if has_multiple_entities else list(result.scalars().all())
        total = query_building.known_total(pagination, len(items))
        if total is None:
            total = int(session.execute(query_building.count_statement(query)).scalar_one())
    return items, total
