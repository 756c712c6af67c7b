"""Tables used only by ``archipy-lite demo`` (prefixed so they never clash with yours)."""

from sqlalchemy import ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archipy_lite.models.entities.sqlalchemy.base_entities import BaseEntity, DeletableEntity, UpdatableEntity


class DemoUser(UpdatableEntity):
    """A demo user."""

    __tablename__ = "archipy_demo_users"

    username: Mapped[str] = mapped_column(String(100), unique=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(255))
    posts: Mapped[list["DemoPost"]] = relationship(back_populates="author")


class DemoPost(DeletableEntity):
    """A demo post."""

    __tablename__ = "archipy_demo_posts"

    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    author_id: Mapped[object] = mapped_column(ForeignKey("archipy_demo_users.uuid"))
    author: Mapped[DemoUser] = relationship(back_populates="posts")


DEMO_TABLES: list[Table] = [BaseEntity.metadata.tables[model.__tablename__] for model in (DemoUser, DemoPost)]
