"""Finding rows whose foreign keys point nowhere (``PRAGMA foreign_key_check``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from archipy_lite.datasets.errors import ForeignKeyViolation


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def foreign_key_violations(connection: Connection, limit: int = 1000) -> list[ForeignKeyViolation]:
    """Up to ``limit`` violations in the whole database, with the offending columns and values."""
    checks = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchmany(limit)
    keys: dict[tuple[str, int], list[Any]] = {}
    described: set[str] = set()
    violations = []
    for table, rowid, parent, fk_id in checks:
        if table not in described:
            described.add(table)
            for row in connection.exec_driver_sql(f"PRAGMA foreign_key_list({_quote(table)})"):
                keys.setdefault((table, row[0]), []).append(row[3])  # (id, seq, table, from, to, ...)
        columns = tuple(keys.get((table, fk_id), ()))
        values: tuple[object, ...] = ()
        if columns and rowid is not None:
            selected = ", ".join(_quote(column) for column in columns)
            found = connection.exec_driver_sql(
                f"SELECT {selected} FROM {_quote(table)} WHERE rowid = ?", (rowid,)
            ).first()
            values = tuple(found) if found is not None else ()
        violations.append(ForeignKeyViolation(table, rowid, parent, columns, values))
    return violations
