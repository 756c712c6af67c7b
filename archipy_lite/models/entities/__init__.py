"""Entities: the SQLAlchemy declarative base and mixins."""

from archipy_lite.models.entities.sqlalchemy.base_entities import (
    BaseEntity,
    DeletableEntity,
    UpdatableDeletableEntity,
    UpdatableEntity,
)

__all__ = ["BaseEntity", "DeletableEntity", "UpdatableDeletableEntity", "UpdatableEntity"]
