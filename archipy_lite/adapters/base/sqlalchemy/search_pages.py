"""``search_page``: one ``Page`` of a query, by page number, by offset or by cursor.

Written once against a synchronous Session; async adapters run it in a greenlet like every
other operation. ``execute_search_query`` keeps the tutorial's ``(items, total)`` contract.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from archipy_lite.adapters.base.sqlalchemy import query_building, sorting
from archipy_lite.adapters.base.sqlalchemy.cursors import CursorSigner, Direction
from archipy_lite.adapters.base.sqlalchemy.keyset import Keyset
from archipy_lite.adapters.base.sqlalchemy.operations import is_autocommit, operation_scope
from archipy_lite.models.dtos.page_dto import Page
from archipy_lite.models.dtos.pagination_dto import (
    AnyPagination,
    CursorPaginationDTO,
    OffsetPaginationDTO,
    PaginationDTO,
)
from archipy_lite.models.dtos.sort_dto import SortSpec
from archipy_lite.models.errors import InvalidArgumentError


def search_page(
    session: Session,
    signer: CursorSigner,
    entity: type[Any],
    query: Select[Any],
    pagination: AnyPagination | None = None,
    sort_info: SortSpec = None,
    has_multiple_entities: bool = False,
    include_total: bool | None = None,
) -> Page[Any]:
    """One page of ``query``; ``include_total`` defaults to True for page and offset searches, False for cursors."""
    if not isinstance(query, Select):
        raise InvalidArgumentError(f"query must be a select() statement, got {type(query).__name__}")
    if isinstance(pagination, CursorPaginationDTO):
        keyset = Keyset(entity, query, sort_info, whole_rows=has_multiple_entities)
        return _cursor_page(session, signer, keyset, query, pagination, bool(include_total))
    if pagination is not None and not isinstance(pagination, PaginationDTO | OffsetPaginationDTO):
        raise InvalidArgumentError(
            "pagination must be a PaginationDTO, OffsetPaginationDTO or CursorPaginationDTO, "
            f"got {type(pagination).__name__}"
        )
    return _window_page(session, entity, query, pagination, sort_info, has_multiple_entities, include_total)


def fresh(session: Session) -> dict[str, Any]:
    """Execution options that refresh already-loaded objects outside atomic blocks (the session outlives the call)."""
    return {"populate_existing": True} if is_autocommit(session) else {}


def _window_page(
    session: Session,
    entity: type[Any],
    query: Select[Any],
    pagination: PaginationDTO | OffsetPaginationDTO | None,
    sort_info: SortSpec,
    multiple: bool,
    include_total: bool | None,
) -> Page[Any]:
    if sorting.sort_dtos(sort_info) or pagination is None:
        ordered = sorting.apply_sorting(entity, query, sort_info)
    else:
        ordered = sorting.apply_stable_order(query)  # pages must not overlap even unsorted
    statement = query_building.apply_pagination(ordered, pagination)
    with operation_scope(session, single_statement=include_total is False and query_building.runs_alone(statement)):
        result = session.execute(statement, execution_options=fresh(session))
        items: list[Any] = list(result.all()) if multiple else list(result.scalars().all())
        total = None
        if include_total is not False:
            total = query_building.known_total(pagination, len(items))
            if total is None:
                total = int(session.execute(query_building.count_statement(query)).scalar_one())
    if pagination is None:
        return Page(items=items, total=total, page_size=len(items), offset=0)
    page = pagination.page if isinstance(pagination, PaginationDTO) else None
    return Page(items=items, total=total, page_size=pagination.page_size, page=page, offset=pagination.offset)


def _cursor_page(
    session: Session,
    signer: CursorSigner,
    keyset: Keyset,
    query: Select[Any],
    pagination: CursorPaginationDTO,
    include_total: bool,
) -> Page[Any]:
    fingerprint = keyset.fingerprint(session.get_bind().dialect)
    cursor = signer.decode(pagination.cursor, fingerprint, len(keyset.keys)) if pagination.cursor else None
    backwards = cursor is not None and cursor.direction == "before"
    size = pagination.page_size
    with operation_scope(session, single_statement=keyset.runs_alone and not include_total):
        batch = keyset.fetch(
            session,
            cursor.values if cursor else None,
            backwards=backwards,
            limit=size + 1,
            execution_options=fresh(session),
        )
        total = int(session.execute(query_building.count_statement(query)).scalar_one()) if include_total else None
    more = len(batch) > size
    shown = min(len(batch), size)
    items = batch.items[:shown]
    # Where the page's first and last items sit in the batch (read nearest first when backwards).
    first, last = (shown - 1, 0) if backwards else (0, shown - 1)
    if backwards:
        items.reverse()

    def link(position: int, direction: Direction) -> str:
        # An empty page links to the first page ("after" nothing) or the last ("before" nothing).
        return signer.encode(fingerprint, direction, batch.values(position) if shown else ())

    # Forward, there is a next page when a row beyond this one exists, and a previous one unless this
    # page started at the beginning; backward, the mirror image.
    positioned = cursor is not None and bool(cursor.values)
    has_next = positioned if backwards else more
    has_prev = more if backwards else positioned
    return Page(
        items=items,
        total=total,
        page_size=size,
        next_cursor=link(last, "after") if has_next else None,
        prev_cursor=link(first, "before") if has_prev else None,
    )
