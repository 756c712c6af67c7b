"""Tests for archipy_lite.models.entities with the tutorial's User/Post models.

Runs on SQLite (a file and ``sqlite://``) and on PostgreSQL with plain SQLAlchemy engines and
sessions: no adapter is involved. Every test gets fresh tables; on PostgreSQL they live in a
schema of their own (first on ``search_path``), dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from sqlalchemy import Engine, bindparam, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from archipy_lite.models.entities import BaseEntity as ExportedBaseEntity
from archipy_lite.models.entities.sqlalchemy.base_entities import (
    BaseEntity,
    DeletableEntity,
    UpdatableDeletableEntity,
    UpdatableEntity,
)
from archipy_lite.models.entities.sqlalchemy.column_types import UTCDateTime

from models import Post, User

TEHRAN = timezone(timedelta(hours=3, minutes=30))
NEW_YORK_WINTER = timezone(timedelta(hours=-5))


def _enable_sqlite_foreign_keys(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _sqlite_engine(url: str) -> Iterator[Engine]:
    engine = create_engine(url)
    _enable_sqlite_foreign_keys(engine)
    BaseEntity.metadata.create_all(engine)
    try:
        yield engine
    finally:
        BaseEntity.metadata.drop_all(engine)
        engine.dispose()


def _postgres_engine(dsn: str) -> Iterator[Engine]:
    schema = f"test_entities_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(dsn).set(drivername="postgresql+psycopg")
    # A non-UTC session time zone proves values are converted, not merely labelled, on the way out.
    engine = create_engine(url, connect_args={"options": f"-c search_path={schema} -c timezone=Asia/Tehran"})
    try:
        BaseEntity.metadata.create_all(engine)
        yield engine
        BaseEntity.metadata.drop_all(engine)
    finally:
        engine.dispose()
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(
    params=[
        pytest.param("sqlite-file", marks=pytest.mark.sqlite),
        pytest.param("sqlite-memory", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite-file":
        yield from _sqlite_engine(f"sqlite:///{tmp_path / 'entities.sqlite3'}")
    elif request.param == "sqlite-memory":
        yield from _sqlite_engine("sqlite://")
    else:
        yield from _postgres_engine(request.getfixturevalue("postgres_dsn"))


def new_user(name: str = "alice", **extra: Any) -> User:
    return User(username=name, email=f"{name}@example.com", **extra)


def save(engine: Engine, *entities: BaseEntity) -> None:
    with Session(engine, expire_on_commit=False) as session:
        session.add_all(entities)
        session.commit()


def assert_utc(value: datetime | None) -> datetime:
    assert isinstance(value, datetime)
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)
    return value


# --- declaration (no database) ---------------------------------------------------------------------


def test_models_are_registered_on_base_entity_metadata() -> None:
    assert ExportedBaseEntity is BaseEntity
    assert BaseEntity.metadata.tables["users"] is User.__table__
    assert BaseEntity.metadata.tables["posts"] is Post.__table__
    assert issubclass(User, UpdatableEntity)
    assert issubclass(Post, DeletableEntity)
    assert not issubclass(Post, UpdatableEntity)
    assert issubclass(UpdatableDeletableEntity, UpdatableEntity)
    assert issubclass(UpdatableDeletableEntity, DeletableEntity)


def test_columns_declared() -> None:
    users = User.__table__
    posts = Post.__table__
    assert [column.name for column in users.primary_key] == ["uuid"]
    assert [column.name for column in posts.primary_key] == ["uuid"]
    assert [column.name for column in users.columns][:3] == ["uuid", "created_at", "updated_at"]
    assert set(posts.columns.keys()) == {
        "uuid",
        "created_at",
        "is_deleted",
        "deleted_at",
        "title",
        "content",
        "author_id",
    }
    assert "updated_at" not in posts.columns
    assert "is_deleted" not in users.columns
    for table, name in [(users, "created_at"), (users, "updated_at"), (posts, "created_at"), (posts, "deleted_at")]:
        assert isinstance(table.c[name].type, UTCDateTime)
    assert users.c.username.unique
    assert users.c.email.unique
    assert not users.c.username.nullable
    assert users.c.full_name.nullable
    assert not posts.c.is_deleted.nullable
    assert posts.c.is_deleted.index
    assert posts.c.deleted_at.nullable


def test_foreign_key_declared() -> None:
    author_id = Post.__table__.c.author_id
    assert not author_id.nullable
    [foreign_key] = author_id.foreign_keys
    assert foreign_key.target_fullname == "users.uuid"
    assert foreign_key.column is User.__table__.c.uuid
    assert author_id.type.python_type is UUID
    assert User.posts.property.mapper.class_ is Post
    assert Post.author.property.mapper.class_ is User
    assert User.posts.property.back_populates == "author"


def test_uuid_and_created_at_known_before_flush() -> None:
    before = datetime.now(UTC)
    user = new_user()
    assert isinstance(user.uuid, UUID)
    assert user.uuid.version == 4
    assert before <= assert_utc(user.created_at) <= datetime.now(UTC)
    assert new_user("bob").uuid != user.uuid


def test_explicit_uuid_and_created_at_are_kept() -> None:
    fixed_uuid = uuid.uuid4()
    fixed_time = datetime(2020, 5, 17, 9, 30, tzinfo=UTC)
    user = new_user(uuid=fixed_uuid, created_at=fixed_time)
    assert user.uuid == fixed_uuid
    assert user.created_at == fixed_time


def test_unknown_keyword_is_rejected() -> None:
    with pytest.raises(TypeError, match="'nickname' is an invalid keyword argument for User"):
        User(username="alice", email="a@example.com", nickname="al")


def test_repr_shows_uuid() -> None:
    user = new_user()
    assert repr(user) == f"<User uuid={user.uuid}>"


def test_mark_deleted_and_restore_in_memory() -> None:
    post = Post(title="t", content="c", author_id=uuid.uuid4())
    before = datetime.now(UTC)
    post.mark_deleted()
    assert post.is_deleted is True
    assert before <= assert_utc(post.deleted_at) <= datetime.now(UTC)
    post.restore()
    assert post.is_deleted is False
    assert post.deleted_at is None


# --- against real databases ---------------------------------------------------------------------------


def test_tables_created_with_expected_columns(engine: Engine) -> None:
    inspector = inspect(engine)
    assert {"users", "posts"} <= set(inspector.get_table_names())
    user_columns = {column["name"]: column for column in inspector.get_columns("users")}
    assert {"uuid", "created_at", "updated_at", "username", "email", "full_name"} == set(user_columns)
    [foreign_key] = inspector.get_foreign_keys("posts")
    assert foreign_key["referred_table"] == "users"
    assert foreign_key["constrained_columns"] == ["author_id"]
    assert foreign_key["referred_columns"] == ["uuid"]
    if engine.dialect.name == "postgresql":
        assert str(user_columns["created_at"]["type"]) == "TIMESTAMP"
        assert user_columns["created_at"]["type"].timezone is True  # type: ignore[attr-defined]


def test_create_and_read_back(engine: Engine) -> None:
    user = new_user(full_name="Alice Liddell")
    uuid_before_flush = user.uuid
    created_before_flush = user.created_at
    save(engine, user)
    assert user.uuid == uuid_before_flush

    with Session(engine) as session:
        loaded = session.get(User, uuid_before_flush)
        assert loaded is not None
        assert loaded is not user
        assert (loaded.username, loaded.email, loaded.full_name) == ("alice", "alice@example.com", "Alice Liddell")
        assert loaded.uuid == uuid_before_flush
        assert assert_utc(loaded.created_at) == created_before_flush
        assert assert_utc(loaded.updated_at) >= loaded.created_at
        assert session.scalars(select(User).where(User.username == "alice")).one() is loaded


def test_created_at_is_utc_and_recent(engine: Engine) -> None:
    before = datetime.now(UTC)
    user = new_user()
    save(engine, user)
    with Session(engine) as session:
        loaded = session.get(User, user.uuid)
        assert loaded is not None
        created_at = assert_utc(loaded.created_at)
    assert before <= created_at <= datetime.now(UTC)


def test_aware_datetime_in_other_zone_is_stored_as_the_same_instant(engine: Engine) -> None:
    local = datetime(2024, 3, 20, 12, 0, 0, 123456, tzinfo=TEHRAN)
    user = new_user(created_at=local)
    save(engine, user)
    with Session(engine) as session:
        loaded = session.get(User, user.uuid)
        assert loaded is not None
        assert loaded.created_at == local
        assert assert_utc(loaded.created_at) == datetime(2024, 3, 20, 8, 30, 0, 123456, tzinfo=UTC)
        assert loaded.created_at.tzinfo is UTC


def test_order_by_created_at_is_chronological_across_zones(engine: Engine) -> None:
    instants = {
        "first": datetime(2024, 1, 1, 10, 0, tzinfo=TEHRAN),  # 06:30 UTC
        "second": datetime(2024, 1, 1, 7, 0, tzinfo=UTC),  # 07:00 UTC
        "third": datetime(2024, 1, 1, 3, 0, tzinfo=NEW_YORK_WINTER),  # 08:00 UTC
    }
    save(engine, *(new_user(name, created_at=at) for name, at in reversed(instants.items())))
    with Session(engine) as session:
        names = session.scalars(select(User.username).order_by(User.created_at)).all()
        latest = session.scalars(
            select(User.username).where(User.created_at > datetime(2024, 1, 1, 6, 45, tzinfo=UTC))
        ).all()
    assert names == ["first", "second", "third"]
    assert sorted(latest) == ["second", "third"]


def test_updated_at_moves_forward_on_update(engine: Engine) -> None:
    user = new_user()
    save(engine, user)
    with Session(engine) as session:
        loaded = session.get(User, user.uuid)
        assert loaded is not None
        created_at = loaded.created_at
        first_updated_at = assert_utc(loaded.updated_at)

        session.commit()  # nothing changed: no UPDATE, no new timestamp
        assert loaded.updated_at == first_updated_at

        loaded.email = "alice@new.example.com"
        session.commit()
        second_updated_at = assert_utc(loaded.updated_at)
        assert second_updated_at > first_updated_at

        loaded.full_name = "Alice"
        session.commit()
        assert assert_utc(loaded.updated_at) > second_updated_at
        assert loaded.created_at == created_at

    with Session(engine) as session:
        reloaded = session.get(User, user.uuid)
        assert reloaded is not None
        assert reloaded.email == "alice@new.example.com"
        assert reloaded.updated_at > first_updated_at
        assert reloaded.created_at == created_at


def test_is_deleted_defaults_false(engine: Engine) -> None:
    author = new_user()
    post = Post(title="Hello", content="World", author=author)
    save(engine, author, post)
    with Session(engine) as session:
        loaded = session.get(Post, post.uuid)
        assert loaded is not None
        assert loaded.is_deleted is False
        assert loaded.deleted_at is None
        assert session.scalar(select(func.count()).select_from(Post).where(Post.is_deleted.is_(False))) == 1


def test_is_deleted_server_default_for_rows_inserted_without_the_orm(engine: Engine) -> None:
    author = new_user()
    save(engine, author)
    post_uuid = uuid.uuid4()
    columns = Post.__table__.c
    # Raw SQL bypasses the ORM default, so only the column's server default can fill is_deleted.
    statement = text(
        "INSERT INTO posts (uuid, created_at, title, content, author_id) "
        "VALUES (:uuid, :created_at, 'raw', 'raw', :author_id)"
    ).bindparams(
        bindparam("uuid", post_uuid, type_=columns.uuid.type),
        bindparam("created_at", datetime.now(UTC), type_=columns.created_at.type),
        bindparam("author_id", author.uuid, type_=columns.author_id.type),
    )
    with Session(engine) as session:
        session.execute(statement)
        session.commit()
    with Session(engine) as session:
        loaded = session.get(Post, post_uuid)
        assert loaded is not None
        assert loaded.is_deleted is False
        assert loaded.deleted_at is None
        assert loaded.author_id == author.uuid


def test_mark_deleted_and_restore_persist(engine: Engine) -> None:
    author = new_user()
    post = Post(title="Hello", content="World", author=author)
    save(engine, author, post)

    with Session(engine) as session:
        loaded = session.get(Post, post.uuid)
        assert loaded is not None
        before = datetime.now(UTC)
        loaded.mark_deleted()
        session.commit()

    with Session(engine) as session:
        deleted = session.get(Post, post.uuid)
        assert deleted is not None
        assert deleted.is_deleted is True
        assert before <= assert_utc(deleted.deleted_at) <= datetime.now(UTC)
        assert session.scalars(select(Post).where(Post.is_deleted.is_(False))).all() == []
        deleted.restore()
        session.commit()

    with Session(engine) as session:
        restored = session.get(Post, post.uuid)
        assert restored is not None
        assert restored.is_deleted is False
        assert restored.deleted_at is None


@pytest.mark.parametrize("column", ["created_at", "updated_at"])
def test_naive_datetime_rejected_on_write(engine: Engine, column: str) -> None:
    user = new_user(**{column: datetime(2024, 1, 1, 12, 0)})
    with Session(engine) as session:
        session.add(user)
        with pytest.raises(StatementError) as excinfo:
            session.commit()
        assert isinstance(excinfo.value.orig, ValueError)
        assert "timezone-aware" in str(excinfo.value.orig)
        session.rollback()
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_naive_deleted_at_rejected_on_write(engine: Engine) -> None:
    author = new_user()
    save(engine, author)
    with Session(engine) as session:
        session.add(Post(title="t", content="c", author_id=author.uuid, deleted_at=datetime(2024, 1, 1)))
        with pytest.raises(StatementError, match="timezone-aware"):
            session.flush()


def test_naive_datetime_rejected_in_query_parameters(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(StatementError, match="timezone-aware"):
        session.scalars(select(User).where(User.created_at > datetime(2024, 1, 1))).all()


def test_relationship(engine: Engine) -> None:
    author = new_user("writer")
    first = Post(title="First", content="one")
    second = Post(title="Second", content="two")
    author.posts.append(first)
    author.posts.append(second)
    assert first.author is author  # back_populates keeps both sides in step before any flush
    save(engine, author)  # cascades to the posts

    with Session(engine) as session:
        loaded_author = session.get(User, author.uuid)
        assert loaded_author is not None
        assert sorted(post.title for post in loaded_author.posts) == ["First", "Second"]
        loaded_post = session.get(Post, first.uuid)
        assert loaded_post is not None
        assert loaded_post.author is loaded_author
        assert loaded_post.author_id == author.uuid
        joined = session.execute(
            select(User.username, Post.title).join(Post, Post.author_id == User.uuid).order_by(Post.title)
        ).all()
        assert [tuple(row) for row in joined] == [("writer", "First"), ("writer", "Second")]


def test_tutorial_style_post_with_author_id(engine: Engine) -> None:
    user = new_user()
    save(engine, user)
    post = Post(title="Hello World", content="...", author_id=user.uuid)
    save(engine, post)
    with Session(engine) as session:
        loaded = session.get(Post, post.uuid)
        assert loaded is not None
        assert loaded.author.username == "alice"


def test_foreign_key_enforced(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(Post(title="orphan", content="no author", author_id=uuid.uuid4()))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        assert session.scalar(select(func.count()).select_from(Post)) == 0


def test_unique_columns_enforced(engine: Engine) -> None:
    save(engine, new_user("alice"))
    with Session(engine) as session:
        session.add(User(username="alice", email="other@example.com"))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        session.add(User(username="other", email="alice@example.com"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_tables_are_fresh_for_each_test(engine: Engine) -> None:
    """Nothing leaks between tests that share a database (the other tests insert 'alice')."""
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0
        assert session.scalar(select(func.count()).select_from(Post)) == 0
