from sqlalchemy import Column, ForeignKey, String, Text
from sqlalchemy.orm import relationship

from archipy_lite.models.entities.sqlalchemy.base_entities import (
    BaseEntity,
    DeletableEntity,
    UpdatableEntity,
)


class User(UpdatableEntity):
    """User entity with automatic update-timestamp tracking."""

    __tablename__ = "users"

    username = Column(String(100), unique=True, nullable=False)
    email = Column(String(255), unique=True, nullable=False)
    full_name = Column(String(255), nullable=True)

    posts: list["Post"] = relationship("Post", back_populates="author")


class Post(DeletableEntity):
    """Post entity with soft-delete support."""

    __tablename__ = "posts"

    title = Column(String(200), nullable=False)
    content = Column(Text, nullable=False)
    author_id = Column(ForeignKey("users.uuid"), nullable=False)

    author: User = relationship("User", back_populates="posts")
