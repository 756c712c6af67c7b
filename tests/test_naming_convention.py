"""BaseEntity.metadata names every constraint and index the same way on PostgreSQL and SQLite."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    inspect,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from archipy_lite.models.entities.sqlalchemy.base_entities import BaseEntity
from archipy_lite.models.entities.sqlalchemy.naming import NAMING_CONVENTION

from backends import Backend


class NamingBase(DeclarativeBase):
    """Its own registry, so the shared test tables (``tests/models.py``) never meet these; same convention."""

    metadata = MetaData(naming_convention=BaseEntity.metadata.naming_convention)


class NamedParent(NamingBase):
    __tablename__ = "naming_parents"
    __table_args__ = (
        UniqueConstraint("code", "region"),
        CheckConstraint("length(code) > 1"),
        CheckConstraint("region <> ''", name="region_not_empty"),
        Index(None, "region", "code"),
    )

    uuid: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(20))
    rank: Mapped[int] = mapped_column(Integer, index=True)


class NamedChild(NamingBase):
    __tablename__ = "naming_children"

    uuid: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("naming_parents.uuid"))
    label: Mapped[str] = mapped_column(String(20), unique=True)


class NamedHistoryEntry(NamingBase):
    """Names past PostgreSQL's 63 characters: shortened alike on both databases."""

    __tablename__ = "naming_customer_shipping_address_history_entries"
    __table_args__ = (
        UniqueConstraint("street_name_line", "postal_code_value"),
        Index(None, "postal_code_value", "street_name_line"),
    )

    uuid: Mapped[int] = mapped_column(Integer, primary_key=True)
    street_name_line: Mapped[str] = mapped_column(String(100))
    postal_code_value: Mapped[str] = mapped_column(String(100))
    parent_identifier_value: Mapped[int] = mapped_column(ForeignKey("naming_parents.uuid"))


def shortened(name: str) -> str:
    """PostgreSQL's limit of 63 characters, with SQLAlchemy's way of keeping the shortened names distinct."""
    return name if len(name) <= 63 else f"{name[:55]}_{hashlib.md5(name.encode()).hexdigest()[-4:]}"


LONG = "naming_customer_shipping_address_history_entries"
EXPECTED = {
    LONG: {
        "uq": {shortened(f"uq_{LONG}_street_name_line_postal_code_value")},
        "ix": {shortened(f"ix_{LONG}_postal_code_value_street_name_line")},
        "fk": {shortened(f"fk_{LONG}_parent_identifier_value_naming_parents")},
    },
    "naming_parents": {
        "pk": "pk_naming_parents",
        "uq": {"uq_naming_parents_code_region"},
        "ix": {"ix_naming_parents_rank", "ix_naming_parents_region_code"},
    },
    "naming_children": {
        "pk": "pk_naming_children",
        "uq": {"uq_naming_children_label"},
        "fk": {"fk_naming_children_parent_id_naming_parents"},
    },
}


def _create(connection: Any) -> None:
    NamingBase.metadata.create_all(connection)


def _drop(connection: Any) -> None:
    NamingBase.metadata.drop_all(connection)


def _reflect(connection: Any) -> dict[str, dict[str, Any]]:
    inspector = inspect(connection)
    found: dict[str, dict[str, Any]] = {}
    for table in EXPECTED:
        found[table] = {
            "pk": inspector.get_pk_constraint(table)["name"],
            "uq": {uq["name"] for uq in inspector.get_unique_constraints(table)},
            "ix": {ix["name"] for ix in inspector.get_indexes(table) if not ix.get("duplicates_constraint")},
            "fk": {fk["name"] for fk in inspector.get_foreign_keys(table)},
            "ck": {ck["name"] for ck in inspector.get_check_constraints(table)},
        }
    return found


async def _run_sync(db: Backend, function: Any) -> Any:
    if db.is_async:
        async with db.manager.engine.begin() as connection:
            return await connection.run_sync(function)
    with db.manager.engine.begin() as connection:
        return function(connection)


async def test_constraint_names_are_deterministic_on_every_backend(db: Backend) -> None:
    await _run_sync(db, _create)
    try:
        found = await _run_sync(db, _reflect)
    finally:
        await _run_sync(db, _drop)
    for table, expected in EXPECTED.items():
        for kind, names in expected.items():
            assert found[table][kind] == names, (table, kind, found[table][kind])
    digest_names = {name for name in found["naming_parents"]["ck"] if name != "region_not_empty"}
    assert "region_not_empty" in found["naming_parents"]["ck"]
    assert len(digest_names) == 1
    assert next(iter(digest_names)).startswith("ck_naming_parents_")


def test_base_entity_uses_the_full_convention() -> None:
    assert BaseEntity.metadata.naming_convention == NAMING_CONVENTION
    assert {"pk", "fk", "uq", "ck", "ix"} <= set(NAMING_CONVENTION)


def test_unnamed_check_constraints_get_distinct_stable_names() -> None:
    first, second = MetaData(naming_convention=NAMING_CONVENTION), MetaData(naming_convention=NAMING_CONVENTION)
    names = []
    for metadata in (first, second):
        table = Table("t", metadata, Column("x", Integer), CheckConstraint("x > 0"), CheckConstraint("x < 10"))
        names.append(sorted(str(c.name) for c in table.constraints if isinstance(c, CheckConstraint)))
    assert names[0] == names[1]
    assert len(set(names[0])) == 2
