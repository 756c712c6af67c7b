"""The benchmark table: users(uuid pk, username unique, email, full_name null, created_at)."""

from __future__ import annotations

import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped

from archipy_lite.models.entities.sqlalchemy.base_entities import BaseEntity


class BenchUser(BaseEntity):
    """archipy_lite entity (uuid and created_at come from BaseEntity)."""

    __tablename__ = "bench_users"

    username = Column(String(64), unique=True, nullable=False)
    email = Column(String(128), nullable=False)
    full_name = Column(String(128), nullable=True)


class PlainBase(DeclarativeBase):
    """A hand-written declarative base, as a user without archipy_lite would write it."""


class PlainUser(PlainBase):
    """The same table mapped by hand-written SQLAlchemy (and used by advanced-alchemy)."""

    __table__: Table = BenchUser.__table__.to_metadata(PlainBase.metadata)
    uuid: Mapped[uuid.UUID]
    created_at: Mapped[datetime]
    username: Mapped[str]
    email: Mapped[str]
    full_name: Mapped[str | None]


TABLE = BenchUser.__table__
COLUMNS = ("uuid", "created_at", "username", "email", "full_name")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def row(index: int, prefix: str = "u") -> dict[str, Any]:
    """Deterministic row ``index``; every third user has no full name."""
    return {
        "uuid": uuid.UUID(int=(zlib.crc32(prefix.encode()) << 64) | index),
        "created_at": EPOCH + timedelta(seconds=index),
        "username": f"{prefix}{index:07d}",
        "email": f"{prefix}{index}@example.com",
        "full_name": None if index % 3 == 0 else f"Person {index % 97} {'Smith' if index % 2 else 'Jones'}",
    }


def key(entity: Any) -> tuple[Any, ...]:
    """What every variant must agree on for one user."""
    get = entity.get if isinstance(entity, dict) else lambda name: getattr(entity, name)
    return (str(get("uuid")), get("username"), get("email"), get("full_name"))
