"""PostgreSQL COPY: how ``bulk_create`` loads large batches, and ``bulk_copy``, the fastest path of all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, text
from sqlalchemy.orm import Session

from archipy_lite.adapters.base.sqlalchemy.error_translation import has_nul, nul_error
from archipy_lite.adapters.base.sqlalchemy.operations import bulk_create, insert_records
from archipy_lite.compat import await_
from archipy_lite.models.errors import DatabaseConnectionError, InvalidArgumentError

T = TypeVar("T")

# Below this many rows the COPY round trips and the catalog check cost more than executemany saves.
COPY_MIN_ROWS = 100

# COPY FROM does what INSERT does (defaults, constraints, triggers) on a plain or partitioned table,
# but ignores rules, fails under row-level security and needs INSTEAD OF triggers on a view.
_COPY_EQUALS_INSERT = text(
    "SELECT c.relkind IN ('r', 'p') AND NOT c.relrowsecurity AND NOT c.relhasrules "
    "FROM pg_catalog.pg_class c WHERE c.oid = to_regclass(:name)"
)


def _can_copy(connection: Connection) -> bool:
    dialect = connection.dialect
    return dialect.driver == "asyncpg" or dialect.driver == "psycopg"


def copy_records(connection: Connection, table: Table, columns: list[str], records: list[list[Any]]) -> None:
    """``COPY table (columns) FROM STDIN`` on the session's own connection and transaction."""
    if not _can_copy(connection):
        insert_records(connection, table, columns, records)
        return
    dialect = connection.dialect
    for index, name in enumerate(columns):  # COPY bypasses SQLAlchemy, so apply type processing here
        processor = table.c[name].type.bind_processor(dialect)
        if processor is not None:
            for record in records:
                record[index] = processor(record[index])
    driver: Any = connection.connection.driver_connection
    try:
        if dialect.driver == "asyncpg":
            if has_nul(records, many=True):  # refused before sending, as every statement is
                raise nul_error()
            await_(driver.copy_records_to_table(table.name, records=records, columns=columns, schema_name=table.schema))
            return
        preparer = dialect.identifier_preparer
        column_list = ", ".join(preparer.quote(name) for name in columns)
        statement = f"COPY {preparer.format_table(table)} ({column_list}) FROM STDIN"
        if dialect.is_async:
            await_(_copy_async_psycopg(driver, statement, records))
        else:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for record in records:
                    copy.write_row(record)
    except InvalidArgumentError:
        raise
    except Exception as exc:
        raise _copy_failure(exc, driver, records) from exc


async def _copy_async_psycopg(driver: Any, statement: str, records: list[list[Any]]) -> None:
    async with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for record in records:
            await copy.write_row(record)


def _copy_failure(exc: Exception, driver: Any, records: list[list[Any]]) -> Exception:
    """COPY runs outside SQLAlchemy's execution, so classify what the driver raised here.

    A server error carries its SQLSTATE and is translated like any statement's; without one, the
    connection was lost or the driver refused a value before sending it.
    """
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate == "22021" and has_nul(records, many=True):
        return nul_error()  # psycopg before 3.3 lets the server refuse NUL bytes in COPY data
    if sqlstate:
        return exc
    is_closed = getattr(driver, "is_closed", None)  # asyncpg
    closed = is_closed() if callable(is_closed) else driver.closed or driver.broken  # psycopg
    if closed:
        return DatabaseConnectionError(details={"reason": "connection_lost"})
    if has_nul(records, many=True):  # psycopg refused the string: the same words as everywhere else
        return nul_error()
    return InvalidArgumentError(f"A value could not be copied to the database ({type(exc).__name__}).")


def copy_or_insert(connection: Connection, table: Table, columns: list[str], records: list[list[Any]]) -> None:
    """COPY when it does exactly what INSERT would (a large batch into a plain table), else executemany."""
    if len(records) >= COPY_MIN_ROWS and _can_copy(connection):
        name = connection.dialect.identifier_preparer.format_table(table)
        if connection.execute(_COPY_EQUALS_INSERT, {"name": name}).scalar():
            copy_records(connection, table, columns, records)
            return
    insert_records(connection, table, columns, records)


def create_with_copy(session: Session, entities: Sequence[T]) -> list[T]:
    """``bulk_create`` for PostgreSQL: COPY for large batches, the same contract as everywhere else."""
    return bulk_create(session, entities, write_records=copy_or_insert)


def copy_entities(session: Session, entities: Sequence[T]) -> list[T]:
    """``COPY table FROM STDIN`` for entities of one class; the unit of work when the objects need it.

    The fastest way in. Like SQLAlchemy's bulk operations, and unlike ``bulk_create``, it does not track
    the objects: they keep their values but stay unattached. Read them freely; to change or delete one,
    load it (``get_by_uuid``) or use a store's ``update``/``delete`` by uuid.
    """
    return bulk_create(session, entities, write_records=copy_records, track=False)
