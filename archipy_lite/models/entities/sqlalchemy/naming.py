"""The constraint naming convention of ``BaseEntity.metadata``.

Every primary key, foreign key, unique constraint, check constraint and index gets a name
derived from its table and columns, so the names are the same on PostgreSQL and SQLite and a
migration can drop or alter a constraint by name. Reuse ``NAMING_CONVENTION`` for a
declarative base of your own: ``MetaData(naming_convention=NAMING_CONVENTION)``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from sqlalchemy import CheckConstraint, Table


def check_expression_digest(constraint: CheckConstraint, _table: Table) -> str:
    """Eight hex digits of an unnamed check constraint's expression: stable, and distinct per expression."""
    return hashlib.sha256(str(constraint.sqltext).encode()).hexdigest()[:8]


NAMING_CONVENTION: Final[dict[str, Any]] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    # A named check constraint keeps its name; an unnamed one is named after its expression.
    "check_expression_digest": check_expression_digest,
    "ck": "ck_%(table_name)s_%(check_expression_digest)s",
}
"""Names: ``pk_<table>``, ``fk_<table>_<columns>_<referred table>``, ``uq_<table>_<columns>``,
``ix_<table>_<columns>``, ``ck_<table>_<digest of the expression>``."""
