"""Emptying a test database between tests, for code that commits on connections of its own."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.engine import Connection

DEFAULT_KEPT: tuple[str, ...] = ("alembic_version",)


_POSTGRES_TABLES = text("SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(current_schemas(false))")


def truncate_tables(connection: Connection, *, keep: Iterable[str] = DEFAULT_KEPT) -> list[str]:
    """Empty every table of the connection's schemas except ``keep`` (by name); returns what was emptied.

    PostgreSQL: one ``TRUNCATE ... RESTART IDENTITY CASCADE``. SQLite: ``DELETE`` from each table with
    foreign-key checks deferred to the commit. Runs in the connection's transaction; the caller commits.
    """
    kept = set(keep)
    preparer = connection.dialect.identifier_preparer
    if connection.dialect.name == "postgresql":
        rows = connection.execute(_POSTGRES_TABLES)
        tables = [
            f"{preparer.quote_schema(schema)}.{preparer.quote(table)}" for schema, table in rows if table not in kept
        ]
        if tables:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        return tables
    names = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
    tables = [row[0] for row in names if row[0] not in kept]
    connection.execute(text("PRAGMA defer_foreign_keys = ON"))
    for table in tables:
        connection.execute(text(f"DELETE FROM {preparer.quote(table)}"))
    return tables
