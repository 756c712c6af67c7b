"""PostgreSQL COPY: the fastest way to load many entities (documented as ``bulk_copy``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from sqlalchemy.util import await_only

from archipy_lite.adapters.base.sqlalchemy.entity_rows import records_for_insert
from archipy_lite.adapters.base.sqlalchemy.operations import bulk_create, unit_of_work
from archipy_lite.models.errors import InvalidArgumentError

T = TypeVar("T")


def copy_entities(session: Session, entities: Sequence[T]) -> list[T]:
    """``COPY table FROM STDIN`` for entities of one class; falls back to ``bulk_create`` when it cannot.

    The fastest way in. Like SQLAlchemy's bulk operations, and unlike ``bulk_create``, it does not track
    the objects: they keep their values but stay unattached. Read them freely; to change or delete one,
    load it (``get_by_uuid``) or use a store's ``update``/``delete`` by uuid.
    """
    items = list(entities)
    if not items:
        return items
    prepared = records_for_insert(items)
    if prepared is None:
        return bulk_create(session, items)
    table, columns, records = prepared
    with unit_of_work(session):
        session.flush()  # pending work first, so foreign keys to it hold
        connection = session.connection()
        dialect = connection.dialect
        for index, name in enumerate(columns):
            processor = table.c[name].type.bind_processor(dialect)
            if processor is not None:
                for record in records:
                    record[index] = processor(record[index])
        driver: Any = connection.connection.driver_connection
        driver_name = connection.dialect.driver
        target = dialect.identifier_preparer.format_table(table)
        if driver_name == "psycopg" and not dialect.is_async:
            column_list = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
            with driver.cursor() as cursor, cursor.copy(f"COPY {target} ({column_list}) FROM STDIN") as copy:
                for record in records:
                    copy.write_row(record)
        elif driver_name == "asyncpg":
            await_only(
                driver.copy_records_to_table(table.name, records=records, columns=columns, schema_name=table.schema)
            )
        else:
            raise InvalidArgumentError(f"bulk_copy is not available with the {driver_name} driver; use bulk_create")
    return items
