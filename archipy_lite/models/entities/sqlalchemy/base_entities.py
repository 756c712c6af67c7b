"""Declarative base and the mixins every entity builds on.

``BaseEntity`` is the declarative base: ``BaseEntity.metadata.create_all(engine)``
creates every model, and its naming convention (``naming.NAMING_CONVENTION``) names every
constraint and index the same way on PostgreSQL and SQLite. Each row gets a client-generated
``uuid`` primary key (known before the first flush) and a timezone-aware ``created_at``. A model
with a key of its own replaces ``uuid`` explicitly (``uuid = None``; see ``primary_keys``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from sqlalchemy import Boolean, MetaData, Uuid, false, inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from archipy_lite.models.entities.sqlalchemy.column_types import UTCDateTime, utc_now
from archipy_lite.models.entities.sqlalchemy.naming import NAMING_CONVENTION
from archipy_lite.models.entities.sqlalchemy.primary_keys import check_primary_key, has_uuid_key


class BaseEntity(DeclarativeBase):
    """Declarative base with a ``uuid`` primary key and ``created_at``."""

    __allow_unmapped__ = True  # lets models use plain ``Column(...)`` and legacy annotations
    __abstract__ = True

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), UUID: Uuid()}

    uuid: Mapped[UUID] = mapped_column(Uuid(), primary_key=True, default=uuid4, sort_order=-10)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utc_now, sort_order=-9)

    _has_uuid_key: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        check_primary_key(cls)  # before mapping: a refused class leaves no table behind
        super().__init_subclass__(**kwargs)
        cls._has_uuid_key = has_uuid_key(cls)

    def __init__(self, **kwargs: Any) -> None:
        cls = type(self)
        for key, value in kwargs.items():
            if not hasattr(cls, key):
                raise TypeError(f"{key!r} is an invalid keyword argument for {cls.__name__}")
            setattr(self, key, value)
        if cls._has_uuid_key and self.uuid is None:
            self.uuid = uuid4()
        if self.created_at is None:
            self.created_at = utc_now()

    def __repr__(self) -> str:
        mapper = inspect(type(self))
        names = [mapper.get_property_by_column(column).key for column in mapper.primary_key]
        key = " ".join(f"{name}={self.__dict__.get(name)}" for name in names)
        return f"<{type(self).__name__} {key}>"


class UpdatableEntity(BaseEntity):
    """Adds ``updated_at``, set on insert and moved forward on every UPDATE the ORM emits."""

    __abstract__ = True

    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utc_now, onupdate=utc_now, sort_order=-8
    )


class DeletableEntity(BaseEntity):
    """Adds soft-delete markers: ``is_deleted`` and ``deleted_at``."""

    __abstract__ = True

    is_deleted: Mapped[bool] = mapped_column(
        Boolean(), nullable=False, default=False, server_default=false(), index=True, sort_order=-7
    )
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, default=None, sort_order=-6)

    def mark_deleted(self) -> None:
        """Flag the row deleted now; persisted on the next flush."""
        self.is_deleted = True
        self.deleted_at = utc_now()

    def restore(self) -> None:
        """Clear the soft-delete flag."""
        self.is_deleted = False
        self.deleted_at = None


class UpdatableDeletableEntity(UpdatableEntity, DeletableEntity):
    """Both ``updated_at`` tracking and soft delete."""

    __abstract__ = True
