"""Store logic, written once against a synchronous Session (async stores run it in a greenlet).

Every function runs inside ``operation_scope``: outside an atomic block the whole
function is one short transaction (or one autocommitted statement); inside one it joins the block.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, delete, exists, false, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from archipy_lite.adapters.base.sqlalchemy import query_building, sorting
from archipy_lite.adapters.base.sqlalchemy.keyset import Batch, Keyset
from archipy_lite.adapters.base.sqlalchemy.operations import is_autocommit, operation_scope
from archipy_lite.adapters.base.sqlalchemy.query_building import Window
from archipy_lite.models.dtos.sort_dto import SortSpec
from archipy_lite.models.entities.sqlalchemy.base_entities import DeletableEntity, UpdatableEntity
from archipy_lite.models.entities.sqlalchemy.column_types import utc_now
from archipy_lite.models.errors import (
    DatabaseConstraintError,
    InvalidArgumentError,
    MultipleResultsError,
    NotFoundError,
)
from archipy_lite.stores.keys import key_names, key_of

T = TypeVar("T")
IMMUTABLE_FIELDS = frozenset({"uuid", "created_at"})


@dataclass(frozen=True)
class FieldChange:
    """One column's value before and after an update."""

    before: Any
    after: Any


@dataclass(frozen=True)
class UpdateResult:
    """The updated entity and what actually changed."""

    entity: Any
    changes: Mapping[str, FieldChange]


def _visible(model: type[Any], include_deleted: bool) -> list[ColumnElement[bool]]:
    if not include_deleted and issubclass(model, DeletableEntity):
        return [model.is_deleted.is_(False)]
    return []


def _fresh(session: Session) -> dict[str, Any]:
    """Execution options that refresh already-loaded objects when outside atomic blocks."""
    return {"populate_existing": True} if is_autocommit(session) else {}


def _check_changes(model: type[Any], changes: Mapping[str, Any]) -> None:
    for name in changes:
        query_building.column_of(model, name)
    forbidden = sorted((IMMUTABLE_FIELDS | set(key_names(model))) & set(changes))
    if forbidden:
        raise InvalidArgumentError(f"{', '.join(forbidden)} cannot be changed", details={"fields": forbidden})


def _missing_parent(model: type[Any], error: DatabaseConstraintError) -> NotFoundError | DatabaseConstraintError:
    """A foreign-key failure on insert/update means the referenced parent does not exist."""
    constraint = error.details.get("constraint")
    if error.details.get("constraint_type") == "foreign_key":
        where = f" (constraint {constraint!r})" if constraint else ""
        return NotFoundError(
            f"{model.__name__} refers to a parent row that does not exist{where}.",
            details={"entity": model.__name__, **dict(error.details)},
        )
    return error


def create(session: Session, model: type[T], entity: T) -> T:
    try:
        with operation_scope(session, writes=[entity]):
            session.add(entity)
            session.flush()
    except DatabaseConstraintError as error:
        raise _missing_parent(model, error) from error
    return entity


def get(session: Session, model: type[T], key: Any, include_deleted: bool, for_update: bool = False) -> T | None:
    """The row or None; ``for_update`` locks it (SELECT ... FOR UPDATE) until the atomic block ends."""
    statement = select(model).where(key_of(model, key).condition(), *_visible(model, include_deleted))
    options = _fresh(session)
    if for_update:
        if is_autocommit(session):
            raise InvalidArgumentError(
                "for_update=True only works inside an atomic block: outside one the lock would be "
                "released as soon as the read returns",
                details={"argument": "for_update"},
            )
        # Refresh an already-loaded object: the locked row is the one to trust.
        statement, options = statement.with_for_update(), {"populate_existing": True}
    one_statement = query_building.loads_in_one_statement(query_building.mapper_of(model))
    with operation_scope(session, single_statement=one_statement):
        found: T | None = session.scalars(statement, execution_options=options).first()
    return found


def exists_row(session: Session, model: type[Any], key: Any, include_deleted: bool) -> bool:
    statement = select(exists().where(key_of(model, key).condition(), *_visible(model, include_deleted)))
    with operation_scope(session, single_statement=True):
        return bool(session.scalar(statement))


def count(session: Session, model: type[Any], conditions: Sequence[ColumnElement[bool]]) -> int:
    statement = select(func.count()).select_from(model).where(*conditions)
    with operation_scope(session, single_statement=True):
        return int(session.scalar(statement) or 0)


def search(
    session: Session,
    model: type[T],
    conditions: Sequence[ColumnElement[bool]],
    pagination: Window | None,
    sort: SortSpec,
) -> list[T]:
    statement = select(model).where(*conditions)
    if sort or pagination is None:
        statement = sorting.apply_sorting(model, statement, sort)
    else:
        statement = sorting.apply_stable_order(statement)  # pages must not overlap even unsorted
    statement = query_building.apply_pagination(statement, pagination)
    with operation_scope(session):
        return list(session.scalars(statement, execution_options=_fresh(session)).all())


def one(session: Session, model: type[T], conditions: Sequence[ColumnElement[bool]]) -> T:
    """The one matching row: NotFoundError for none, MultipleResultsError for several."""
    with operation_scope(session):
        found = list(session.scalars(select(model).where(*conditions).limit(2), execution_options=_fresh(session)))
    if not found:
        raise NotFoundError(f"No {model.__name__} matches", details={"entity": model.__name__})
    if len(found) > 1:
        raise MultipleResultsError(
            f"More than one {model.__name__} matches; one() needs conditions that identify a single row",
            details={"entity": model.__name__},
        )
    return found[0]


def iterate(sessions: Callable[[], Session], keyset: Keyset, batch: int) -> Generator[Any, None, None]:
    """Stream the rows of ``keyset`` ``batch`` at a time, each batch read by key in a short operation of its own.

    Nothing stays open between batches (no server-side cursor, no transaction outside atomic
    blocks), so the loop body may read and write through the library; ``sessions`` gives the
    current session for each batch.
    """
    after: tuple[Any, ...] | None = None
    while True:
        rows = next_batch(sessions(), keyset, after, batch)
        yield from rows.items
        if len(rows) < batch:
            return
        after = rows.values(-1)


def next_batch(session: Session, keyset: Keyset, after: tuple[Any, ...] | None, batch: int) -> Batch:
    """Up to ``batch`` rows after the sort values ``after`` (from the start when None)."""
    with operation_scope(session, single_statement=keyset.runs_alone):
        return keyset.fetch(session, after, limit=batch, execution_options=_fresh(session))


def update_row(session: Session, model: type[T], key_value: Any, changes: Mapping[str, Any]) -> T:
    """UPDATE ... RETURNING in one statement; NotFoundError when no visible row matched."""
    _check_changes(model, changes)
    key = key_of(model, key_value)
    values = dict(changes)
    if issubclass(model, UpdatableEntity) and "updated_at" not in values:
        values["updated_at"] = utc_now()
    statement = (
        update(model)
        .where(key.condition(), *_visible(model, False))
        .values(**values)
        .returning(model)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    one_statement = query_building.loads_in_one_statement(query_building.mapper_of(model))
    try:
        with operation_scope(session, single_statement=one_statement):
            updated: T | None = session.scalars(statement).first()
    except DatabaseConstraintError as error:
        raise _missing_parent(model, error) from error
    if updated is None:
        raise key.not_found()
    return updated


def update_with_diff(session: Session, model: type[T], key_value: Any, changes: Mapping[str, Any]) -> UpdateResult:
    """Lock the row, apply ``changes`` and report each column whose value really changed."""
    _check_changes(model, changes)
    key = key_of(model, key_value)
    statement = select(model).where(key.condition(), *_visible(model, False)).with_for_update()
    diff: dict[str, FieldChange] = {}
    try:
        with operation_scope(session, writes=[]):
            entity = session.scalars(statement, execution_options={"populate_existing": True}).first()
            for name, value in changes.items() if entity is not None else ():
                before = getattr(entity, name)
                if before != value:
                    diff[name] = FieldChange(before, value)
                    setattr(entity, name, value)
            if diff:
                session.flush()
    except DatabaseConstraintError as error:
        raise _missing_parent(model, error) from error
    if entity is None:  # raised after the read ended normally: a miss is not a failed transaction
        raise key.not_found()
    return UpdateResult(entity, diff)


def column_values(model: type[Any], entity: Any) -> dict[str, Any]:
    """The entity's column values for an INSERT, leaving out unset columns that have defaults."""
    mapper = query_building.mapper_of(model)
    values: dict[str, Any] = {}
    for attribute in mapper.column_attrs:
        column = attribute.columns[0]
        value = getattr(entity, attribute.key)
        if value is None and (column.default is not None or column.server_default is not None):
            continue
        values[attribute.key] = value
    return values


def _upsert_statement(
    session: Session,
    model: type[Any],
    rows: list[dict[str, Any]],
    conflict: Sequence[str],
    update_fields: Sequence[str] | None,
) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        insert_statement: Any = postgresql.insert(model)
    elif dialect == "sqlite":
        insert_statement = sqlite.insert(model)
    else:  # pragma: no cover - only PostgreSQL and SQLite adapters exist
        raise InvalidArgumentError(f"upsert is not supported on {dialect}")
    for name in conflict:
        query_building.column_of(model, name)
    present = set().union(*(row.keys() for row in rows))
    fixed = IMMUTABLE_FIELDS | set(key_names(model)) | set(conflict)
    fields = list(update_fields) if update_fields is not None else sorted(present - fixed)
    for name in fields:
        query_building.column_of(model, name)
    statement = insert_statement.values(rows) if len(rows) > 1 else insert_statement.values(**rows[0])
    if not fields:  # nothing to update: existing rows stay exactly as they are (updated_at included)
        statement = statement.on_conflict_do_nothing(index_elements=list(conflict))
    else:
        set_ = _conflict_updates(model, insert_statement.excluded, fields)
        statement = statement.on_conflict_do_update(index_elements=list(conflict), set_=set_)
    return statement.returning(model).execution_options(populate_existing=True)


def _conflict_updates(model: type[Any], excluded: Any, fields: Sequence[str]) -> dict[str, Any]:
    """What an existing row takes: ``fields``, plus a moved ``updated_at`` and, if it was soft-deleted,
    its restoration (an upsert says the row exists with these values)."""
    set_: dict[str, Any] = {name: getattr(excluded, name) for name in fields}
    if issubclass(model, DeletableEntity) and "is_deleted" not in fields:
        set_.update(is_deleted=false(), deleted_at=None)
    if issubclass(model, UpdatableEntity) and "updated_at" not in set_:
        set_["updated_at"] = utc_now()
    return set_


def upsert_rows(
    session: Session,
    model: type[T],
    entities: Iterable[T],
    conflict: Sequence[str],
    update_fields: Sequence[str] | None,
) -> list[T]:
    """Native INSERT ... ON CONFLICT DO UPDATE, returning the stored rows (one statement)."""
    rows = [column_values(model, entity) for entity in entities]
    if not rows:
        return []
    _refuse_repeated_keys(model, rows, conflict)
    statement = _upsert_statement(session, model, rows, conflict, update_fields)
    one_statement = query_building.loads_in_one_statement(query_building.mapper_of(model))
    try:
        with operation_scope(session, single_statement=one_statement):
            return list(session.scalars(statement).all())
    except DatabaseConstraintError as error:
        raise _missing_parent(model, error) from error


def _refuse_repeated_keys(model: type[Any], rows: list[dict[str, Any]], conflict: Sequence[str]) -> None:
    """One statement cannot insert and then update the same row: PostgreSQL refuses it, SQLite keeps the last."""
    seen: set[tuple[Any, ...]] = set()
    for row in rows:
        key = tuple(row.get(name) for name in conflict)
        if None in key:
            continue  # NULLs never conflict
        if key in seen:
            raise InvalidArgumentError(
                f"bulk_upsert got two {model.__name__} rows with the same {', '.join(conflict)}: "
                "merge them before the call (one row per key)",
                details={"fields": list(conflict)},
            )
        seen.add(key)


def upsert_one(
    session: Session, model: type[T], entity: T, conflict: Sequence[str], update_fields: Sequence[str] | None
) -> T:
    """Upsert one row and return it as stored: written, or (nothing to update) the existing row untouched."""
    row = column_values(model, entity)
    statement = _upsert_statement(session, model, [row], conflict, update_fields)
    one_statement = query_building.loads_in_one_statement(query_building.mapper_of(model))
    try:
        with operation_scope(session, single_statement=one_statement):
            stored: T | None = session.scalars(statement).first()
    except DatabaseConstraintError as error:
        raise _missing_parent(model, error) from error
    if stored is None:  # ON CONFLICT DO NOTHING returned nothing: the row exists, read it as it is
        existing = select(model).where(*(getattr(model, name) == row.get(name) for name in conflict))
        with operation_scope(session, single_statement=one_statement):
            stored = session.scalars(existing, execution_options={"populate_existing": True}).first()
    return entity if stored is None else stored


def delete_row(session: Session, model: type[Any], key_value: Any, hard: bool) -> None:
    """Soft-delete a DeletableEntity row (or hard-delete any row); NotFoundError when nothing matched."""
    key = key_of(model, key_value)
    if not hard and issubclass(model, DeletableEntity):
        statement: Any = (
            update(model)
            .where(key.condition(), model.is_deleted.is_(False))
            .values(is_deleted=True, deleted_at=utc_now())
        )
    else:
        statement = delete(model).where(key.condition())
    statement = statement.execution_options(synchronize_session=False)
    try:
        with operation_scope(session, single_statement=True):
            result: Any = session.execute(statement)
            matched = result.rowcount
            # Stale after a bulk statement. Look it up by identity key: reading attributes of
            # the session's objects could load them (and fail for the row just deleted).
            stale = session.identity_map.get(session.identity_key(model, key.identity))
            if stale is not None:
                session.expunge(stale)
    except DatabaseConstraintError as error:
        raise DatabaseConstraintError(
            f"{model.__name__} {key.describe()} is still referenced by other rows and cannot be deleted "
            f"(constraint {error.details.get('constraint', error.details.get('constraint_type'))!r}).",
            details=dict(error.details),
        ) from error
    if not matched:
        raise key.not_found()
