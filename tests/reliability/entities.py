"""The suite's own tables, on a MetaData of their own.

They never join ``BaseEntity.metadata``: the shared ``db`` fixture of the main suite creates and
empties every table there, and must not meet these.
"""

from __future__ import annotations

from uuid import uuid4

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase

from archipy_lite.models.entities.sqlalchemy.column_types import UTCDateTime, utc_now


class ReliabilityBase(DeclarativeBase):
    """Declarative base of the reliability suite."""

    __allow_unmapped__ = True
    metadata = MetaData()


class Counter(ReliabilityBase):
    """One row that many writers increment."""

    __tablename__ = "rel_counters"

    uuid = Column(Uuid, primary_key=True, default=uuid4)
    name = Column(String(50), nullable=False, unique=True)
    value = Column(Integer, nullable=False, default=0)


class Account(ReliabilityBase):
    """A row with the usual column types, for hostile input."""

    __tablename__ = "rel_accounts"

    uuid = Column(Uuid, primary_key=True, default=uuid4)
    created_at = Column(UTCDateTime, nullable=False, default=utc_now)
    username = Column(String(100), nullable=False, unique=True)
    email = Column(String(255), nullable=True)
    balance = Column(Integer, nullable=False, default=0)
    bio = Column(Text, nullable=True)
    seen_at = Column(UTCDateTime, nullable=True)
    legacy_at = Column(DateTime, nullable=True)


class Item(ReliabilityBase):
    """Rows written by nested atomic blocks and concurrent writers; ``label`` is unique."""

    __tablename__ = "rel_items"

    uuid = Column(Uuid, primary_key=True, default=uuid4)
    label = Column(String(100), nullable=False, unique=True)
    writer = Column(Integer, nullable=False, default=0)


ALL_TABLES = [table.name for table in ReliabilityBase.metadata.sorted_tables]
