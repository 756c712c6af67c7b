"""The Store layer (microcosm-postgres), over the whole backend matrix, against real databases.

Matrix tests are written once as ``async def`` and run on all seven backends: a ``Store``
for sync adapters, an ``AsyncStore`` for async ones, called through ``db.call``.
The module ends with tests outside the matrix: the microcosm-postgres README example on
its own PostgreSQL database, ``recreate_all``, ``database_name`` and health checks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Engine, Executable, Result, ScalarResult, Select, String, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import AsyncSQLiteSQLAlchemyAdapter, SQLiteSQLAlchemyAdapter
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.models.dtos.page_dto import Page
from archipy_lite.models.dtos.pagination_dto import CursorPaginationDTO, PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.entities.sqlalchemy.base_entities import BaseEntity
from archipy_lite.models.errors import (
    AlreadyExistsError,
    DatabaseConstraintError,
    DatabaseIntegrityError,
    InvalidArgumentError,
    NotFoundError,
)
from archipy_lite.models.types.base_types import FilterOperationType, SortOrderType
from archipy_lite.stores import (
    AsyncStore,
    FieldChange,
    SessionContext,
    Store,
    async_health_check,
    database_name,
    health_check,
    recreate_all,
    transaction,
)
from archipy_lite.testing import temporary_database, with_driver

from backends import Backend
from db_checks import committed_usernames, free_port
from models import Post, User

# --- the microcosm-postgres example model (lives on BaseEntity, as every archipy_lite entity does)


class Company(BaseEntity):
    """microcosm_postgres.example.Company."""

    __tablename__ = "companies"

    name: Mapped[str] = mapped_column(String(255), unique=True)


# --- stores with microcosm's class-level options


class UserStore(Store[User]):
    auto_filter_fields = ("username", "full_name")


class AsyncUserStore(AsyncStore[User]):
    auto_filter_fields = ("username", "full_name")


class UsernameUserStore(Store[User]):
    upsert_conflict_fields = ("username",)


class AsyncUsernameUserStore(AsyncStore[User]):
    upsert_conflict_fields = ("username",)


def store_of(db: Backend, model: type[Any], sync_class: type[Any] = Store, async_class: type[Any] = AsyncStore) -> Any:
    """The store of ``model`` that fits ``db``: Store for sync adapters, AsyncStore for async ones."""
    return async_class(db.adapter, model) if db.is_async else sync_class(db.adapter, model)


def users(db: Backend) -> Any:
    return store_of(db, User)


def posts(db: Backend) -> Any:
    return store_of(db, Post)


def new_user(name: str, full_name: str | None = None, **fields: Any) -> User:
    return User(username=name, email=f"{name}@example.com", full_name=full_name, **fields)


def new_post(author: User, title: str = "Hello") -> Post:
    return Post(title=title, content=f"{title} body", author_id=author.uuid)


@contextmanager
def captured_sql(engine: Engine) -> Iterator[list[str]]:
    """Every data statement (SELECT/INSERT/UPDATE/DELETE/...) sent to ``engine`` inside the block."""
    statements: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if head not in {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}:
            statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


class BoomError(Exception):
    """A business error raised to abandon an atomic block."""


# --- create / retrieve / get / exists


async def test_create_then_retrieve_get_exists(db: Backend) -> None:
    store = users(db)
    user = await db.call(store.create, new_user("ann", "Ann"))
    assert isinstance(user.uuid, UUID)
    assert user.created_at is not None
    assert "ann" in await committed_usernames(db)  # durable without an atomic block

    loaded = await db.call(store.retrieve, user.uuid)
    assert (loaded.uuid, loaded.username, loaded.full_name) == (user.uuid, "ann", "Ann")
    assert (await db.call(store.get, str(user.uuid))).username == "ann"  # a string uuid works too
    assert await db.call(store.exists, user.uuid) is True

    missing = uuid4()
    assert await db.call(store.get, missing) is None
    assert await db.call(store.exists, missing) is False
    with pytest.raises(NotFoundError) as caught:
        await db.call(store.retrieve, missing)
    assert str(missing) in str(caught.value)
    with pytest.raises(InvalidArgumentError):
        await db.call(store.get, "not-a-uuid")
    assert db.checked_out() == 0


async def test_duplicate_raises_already_exists_and_integrity_error(db: Backend) -> None:
    store = users(db)
    await db.call(store.create, new_user("ann"))
    with pytest.raises(AlreadyExistsError) as caught:
        await db.call(store.create, new_user("ann"))
    assert isinstance(caught.value, DatabaseIntegrityError)
    assert caught.value.__cause__ is not None  # the driver error is chained
    # The failed insert left nothing behind and the store is still usable.
    assert await db.call(store.count) == 1
    await db.call(store.create, new_user("bob"))
    assert await db.call(store.count) == 2
    assert db.checked_out() == 0


async def test_missing_parent_raises_not_found_naming_the_reference(db: Backend) -> None:
    store = posts(db)
    with pytest.raises(NotFoundError) as caught:
        await db.call(store.create, Post(title="Orphan", content="x", author_id=uuid4()))
    error = caught.value
    assert isinstance(error.__cause__, DatabaseConstraintError)
    assert "parent" in str(error)
    assert error.details["constraint_type"] == "foreign_key"
    assert error.details["entity"] == "Post"
    if db.is_postgres:
        assert error.details["sqlstate"] == "23503"
        assert error.details["constraint"] == "fk_posts_author_id_users"
        assert "fk_posts_author_id_users" in str(error)
    assert await db.call(store.count, include_deleted=True) == 0
    assert db.checked_out() == 0


# --- count / search: criteria, filters, auto-filter fields, pagination and sort


async def _seed_people(db: Backend) -> Any:
    store = users(db)
    for name, full_name in [
        ("ann", "Ann Lee"),
        ("bob", "Bob Stone"),
        ("a_c", "Underscore"),
        ("abc", "Plain"),
        ("zed", None),
    ]:
        await db.call(store.create, new_user(name, full_name))
    return store


async def test_count_and_search_with_criteria(db: Backend) -> None:
    store = await _seed_people(db)
    assert await db.call(store.count) == 5
    assert await db.call(store.count, User.username.like("a%")) == 3
    assert await db.call(store.count, User.username.like("a%"), User.full_name == "Plain") == 1
    found = await db.call(store.search, User.full_name.is_(None))
    assert [user.username for user in found] == ["zed"]
    assert await db.call(store.search, User.username == "nobody") == []


async def test_filters_mapping_and_tuples(db: Backend) -> None:
    store = await _seed_people(db)
    by_mapping = await db.call(store.search, filters={"username": "bob"})
    assert [user.username for user in by_mapping] == ["bob"]
    assert await db.call(store.count, filters={"full_name": "Ann Lee", "username": "ann"}) == 1
    assert await db.call(store.count, filters={"full_name": "Ann Lee", "username": "bob"}) == 0

    def names(rows: Sequence[User]) -> set[str]:
        return {user.username for user in rows}

    cases: list[tuple[list[tuple[str, Any, Any]], set[str]]] = [
        ([("username", FilterOperationType.STARTS_WITH, "a")], {"ann", "a_c", "abc"}),
        ([("username", "contains", "_")], {"a_c"}),  # LIKE wildcards are escaped
        ([("full_name", FilterOperationType.ILIKE, "STONE")], {"bob"}),
        ([("username", FilterOperationType.IN_LIST, ["ann", "zed", "nobody"])], {"ann", "zed"}),
        ([("username", FilterOperationType.NOT_IN_LIST, ["ann", "zed"])], {"bob", "a_c", "abc"}),
        ([("full_name", FilterOperationType.IS_NULL, None)], {"zed"}),
        ([("username", FilterOperationType.GREATER_THAN, "b")], {"bob", "zed"}),
        (
            [("username", FilterOperationType.STARTS_WITH, "a"), ("full_name", FilterOperationType.ENDS_WITH, "Lee")],
            {"ann"},
        ),
    ]
    for spec, expected in cases:
        assert names(await db.call(store.search, filters=spec)) == expected, spec
        assert await db.call(store.count, filters=spec) == len(expected), spec

    bad_filters: list[Any] = [
        {"no_such_column": 1},
        [("no_such_column", "equal", 1)],
        [("username", "sounds_like", "ann")],
        [("username", "equal")],
        [("username", FilterOperationType.IN_LIST, "ann")],  # IN needs a list
    ]
    for bad in bad_filters:
        with pytest.raises(InvalidArgumentError):
            await db.call(store.search, filters=bad)
    assert db.checked_out() == 0


async def test_auto_filter_fields(db: Backend) -> None:
    await _seed_people(db)
    store = store_of(db, User, UserStore, AsyncUserStore)
    assert [user.username for user in await db.call(store.search, username="ann")] == ["ann"]
    assert await db.call(store.count, full_name="Plain") == 1
    assert await db.call(store.count, username="ann", full_name="Plain") == 0
    assert await db.call(store.count, username=None) == 5  # None means "not filtered", as in microcosm
    assert (await db.call(store.search_first, username="bob")).full_name == "Bob Stone"

    with pytest.raises(InvalidArgumentError) as caught:
        await db.call(store.search, email="ann@example.com")  # a column, but not an auto-filter field
    assert "email" in str(caught.value)
    with pytest.raises(InvalidArgumentError):
        await db.call(store.count, nonsense=1)
    with pytest.raises(InvalidArgumentError):
        await db.call(users(db).search, username="ann")  # plain stores have no auto-filter fields

    class Broken(Store[User]):
        auto_filter_fields = ("no_such_column",)

    class AsyncBroken(AsyncStore[User]):
        auto_filter_fields = ("no_such_column",)

    with pytest.raises(InvalidArgumentError):
        store_of(db, User, Broken, AsyncBroken)


async def test_pagination_sort_and_search_first(db: Backend) -> None:
    store = users(db)
    names = [f"user{index}" for index in range(7)]
    for name in reversed(names):
        await db.call(store.create, new_user(name))

    ascending = SortDTO(field="username", order=SortOrderType.ASCENDING)
    pages = [
        [
            user.username
            for user in await db.call(store.search, pagination=PaginationDTO(page=page, page_size=3), sort=ascending)
        ]
        for page in (1, 2, 3, 4)
    ]
    assert pages == [names[0:3], names[3:6], names[6:7], []]

    descending = SortDTO(field=User.username, order="desc")
    found = await db.call(store.search, pagination=PaginationDTO(page=1, page_size=2), sort=descending)
    assert [user.username for user in found] == ["user6", "user5"]
    everything = await db.call(store.search, sort=descending)
    assert [user.username for user in everything] == list(reversed(names))

    first = await db.call(store.search_first, User.username != "user0", sort=ascending)
    assert first.username == "user1"
    assert await db.call(store.search_first, User.username == "nobody") is None

    with pytest.raises(InvalidArgumentError):
        await db.call(store.search, sort=SortDTO(field="no_such_column"))
    with pytest.raises(InvalidArgumentError):
        PaginationDTO(page=0)
    with pytest.raises(InvalidArgumentError):
        PaginationDTO(page_size=10_000)
    assert db.checked_out() == 0


# --- iterate: streaming


async def _collect(db: Backend, rows: Any) -> list[Any]:
    if db.is_async:
        return [item async for item in rows]
    return list(rows)


async def test_iterate_streams_all_matching_rows(db: Backend) -> None:
    store = users(db)
    names = sorted(f"stream{index:02d}" for index in range(25))
    for name in names:
        await db.call(store.create, new_user(name, "even" if int(name[-2:]) % 2 == 0 else "odd"))

    ascending = SortDTO(field="username", order="asc")
    streamed = await _collect(db, store.iterate(sort=ascending, batch_size=4))
    assert [user.username for user in streamed] == names
    evens = await _collect(db, store.iterate(filters={"full_name": "even"}, sort=ascending, batch_size=5))
    assert [user.username for user in evens] == names[0::2]
    assert await _collect(db, store.iterate(User.username == "nobody")) == []
    assert db.checked_out() == 0

    # Batches are read by key, each in a short operation: no connection is held between them,
    # and stopping early leaves nothing to release.
    rows = store.iterate(sort=ascending, batch_size=3)
    if db.is_async:
        first = await rows.__anext__()
        second = await rows.__anext__()
        assert db.checked_out() == 0
        await rows.aclose()
    else:
        first = next(rows)
        second = next(rows)
        assert db.checked_out() == 0
        rows.close()
    assert [first.username, second.username] == names[:2]
    assert db.checked_out() == 0
    # And the pool (a single connection for :memory:) is usable straight away.
    assert await db.call(store.count) == 25


async def test_iterate_inside_an_atomic_block_sees_uncommitted_rows(db: Backend) -> None:
    store = users(db)
    seen: list[str] = []

    async def abandoned_block() -> None:
        async with db.atomic():
            await db.call(store.create, new_user("pending"))
            seen.extend(user.username for user in await _collect(db, store.iterate()))
            raise BoomError

    with pytest.raises(BoomError):
        await abandoned_block()
    assert seen == ["pending"]
    assert await db.call(store.count) == 0
    assert db.checked_out() == 0


# --- update / update_with_diff / replace


async def test_update_is_one_statement_and_moves_updated_at(db: Backend) -> None:
    store = users(db)
    user = await db.call(store.create, new_user("ann", "Ann"))
    created_at, updated_at = user.created_at, user.updated_at
    await asyncio.sleep(0.002)

    with captured_sql(db.sync_engine) as statements:
        updated = await db.call(store.update, user.uuid, full_name="Ann Updated")
    assert len(statements) == 1, statements
    assert statements[0].upper().startswith("UPDATE USERS SET")
    assert "RETURNING" in statements[0].upper()

    assert updated.full_name == "Ann Updated"
    assert updated.updated_at > updated_at
    assert updated.created_at == created_at
    reloaded = await db.call(store.retrieve, user.uuid)
    assert (reloaded.full_name, reloaded.updated_at) == ("Ann Updated", updated.updated_at)
    assert db.checked_out() == 0


async def test_update_rejects_bad_changes_and_missing_rows(db: Backend) -> None:
    store = users(db)
    ann = await db.call(store.create, new_user("ann"))
    ann_uuid = ann.uuid
    await db.call(store.create, new_user("bob"))
    post = await db.call(posts(db).create, new_post(ann))
    post_uuid = post.uuid
    for changes in ({"no_such_column": 1}, {"uuid": uuid4()}, {"created_at": ann.created_at}, {"posts": []}):
        with pytest.raises(InvalidArgumentError):
            await db.call(store.update, ann_uuid, **changes)
    with pytest.raises(InvalidArgumentError):
        await db.call(store.update, "not-a-uuid", full_name="Ghost")
    with pytest.raises(NotFoundError):
        await db.call(store.update, uuid4(), full_name="Ghost")
    with pytest.raises(AlreadyExistsError):
        await db.call(store.update, ann_uuid, username="bob")
    with pytest.raises(NotFoundError) as caught:  # re-pointing a post at a missing author
        await db.call(posts(db).update, post_uuid, author_id=uuid4())
    assert caught.value.details["constraint_type"] == "foreign_key"
    assert (await db.call(store.retrieve, ann_uuid)).username == "ann"
    assert db.checked_out() == 0


async def test_update_with_diff_reports_only_real_changes(db: Backend) -> None:
    store = users(db)
    user = await db.call(store.create, new_user("ann", "Ann"))
    first_updated_at = user.updated_at
    await asyncio.sleep(0.002)

    result = await db.call(store.update_with_diff, user.uuid, full_name="Ann B", email="ann@example.com")
    assert dict(result.changes) == {"full_name": FieldChange(before="Ann", after="Ann B")}
    assert result.entity.full_name == "Ann B"
    assert result.entity.updated_at > first_updated_at
    reloaded = await db.call(store.retrieve, user.uuid)
    assert reloaded.full_name == "Ann B"
    second_updated_at = reloaded.updated_at

    unchanged = await db.call(store.update_with_diff, user.uuid, full_name="Ann B", username="ann")
    assert dict(unchanged.changes) == {}
    assert (await db.call(store.retrieve, user.uuid)).updated_at == second_updated_at

    two = await db.call(store.update_with_diff, user.uuid, full_name=None, username="ann2")
    assert dict(two.changes) == {
        "full_name": FieldChange("Ann B", None),
        "username": FieldChange("ann", "ann2"),
    }
    assert (await db.call(store.retrieve, user.uuid)).username == "ann2"

    with pytest.raises(NotFoundError):
        await db.call(store.update_with_diff, uuid4(), full_name="Ghost")
    with pytest.raises(InvalidArgumentError):
        await db.call(store.update_with_diff, user.uuid, uuid=uuid4())
    with pytest.raises(InvalidArgumentError):
        await db.call(store.update_with_diff, user.uuid, no_such_column=1)
    assert db.checked_out() == 0


async def test_replace_creates_then_overwrites_preserving_created_at(db: Backend) -> None:
    store = users(db)
    key = uuid4()
    created = await db.call(store.replace, key, new_user("ann", "Ann"))
    assert created.uuid == key
    assert await db.call(store.count) == 1
    original = await db.call(store.retrieve, key)
    original_created_at, original_updated_at = original.created_at, original.updated_at
    await asyncio.sleep(0.002)

    replacement = new_user("ann-renamed", None)  # full_name None overwrites too
    assert replacement.created_at > original_created_at
    replaced = await db.call(store.replace, str(key), replacement)
    assert await db.call(store.count) == 1
    stored = await db.call(store.retrieve, key)
    assert (stored.username, stored.email, stored.full_name) == ("ann-renamed", "ann-renamed@example.com", None)
    assert stored.created_at == original_created_at
    assert replaced.created_at == original_created_at
    assert stored.updated_at > original_updated_at

    await db.call(store.create, new_user("bob"))
    with pytest.raises(AlreadyExistsError):  # a unique column other than the key still clashes
        await db.call(store.replace, key, new_user("bob"))
    with pytest.raises(InvalidArgumentError):
        await db.call(store.replace, "not-a-uuid", new_user("carl"))
    assert db.checked_out() == 0


# --- upsert / bulk_upsert: native ON CONFLICT


def _assert_single_upsert(statements: list[str]) -> None:
    assert len(statements) == 1, statements
    sql = statements[0].upper()
    assert sql.startswith("INSERT INTO USERS")
    assert "ON CONFLICT" in sql
    assert not any(statement.upper().startswith("SELECT") for statement in statements)


async def test_upsert_on_uuid_is_one_native_statement(db: Backend) -> None:
    store = users(db)
    ann = await db.call(store.create, new_user("ann", "Ann"))
    ann_uuid, ann_created_at, ann_updated_at = ann.uuid, ann.created_at, ann.updated_at
    await asyncio.sleep(0.002)

    with captured_sql(db.sync_engine) as statements:
        updated = await db.call(store.upsert, new_user("ann", "Ann Upserted", uuid=ann.uuid))
    _assert_single_upsert(statements)
    assert "(UUID)" in statements[0].upper().replace('"', "")
    assert updated.uuid == ann_uuid
    assert updated.full_name == "Ann Upserted"
    assert updated.created_at == ann_created_at
    assert updated.updated_at > ann_updated_at

    with captured_sql(db.sync_engine) as statements:
        inserted = await db.call(store.upsert, new_user("bob", "Bob"))
    _assert_single_upsert(statements)
    assert await db.call(store.count) == 2
    assert (await db.call(store.retrieve, inserted.uuid)).full_name == "Bob"

    # update_fields limits what an existing row takes from the new values.
    not_me = User(uuid=ann_uuid, username="ann", email="new@example.com", full_name="Not Me")
    await db.call(store.upsert, not_me, update_fields=["email"])
    stored = await db.call(store.retrieve, ann_uuid)
    assert (stored.full_name, stored.email) == ("Ann Upserted", "new@example.com")
    with pytest.raises(InvalidArgumentError):
        await db.call(store.upsert, new_user("carl"), conflict=["no_such_column"])
    assert db.checked_out() == 0


async def test_upsert_on_username(db: Backend) -> None:
    store = users(db)
    ann = await db.call(store.create, new_user("ann", "Ann"))
    ann_created_at = ann.created_at

    with captured_sql(db.sync_engine) as statements:
        result = await db.call(
            store.upsert, User(username="ann", email="ann@new.example.com", full_name="Ann 2"), conflict=["username"]
        )
    _assert_single_upsert(statements)
    assert "(USERNAME)" in statements[0].upper().replace('"', "")
    assert result.uuid == ann.uuid  # the existing row, not the new object's uuid
    stored = await db.call(store.retrieve, ann.uuid)
    assert (stored.email, stored.full_name, stored.created_at) == ("ann@new.example.com", "Ann 2", ann_created_at)
    assert await db.call(store.count) == 1

    # A store can make username its default conflict target.
    by_name = store_of(db, User, UsernameUserStore, AsyncUsernameUserStore)
    with captured_sql(db.sync_engine) as statements:
        await db.call(by_name.upsert, User(username="ann", email="ann3@example.com"))
    _assert_single_upsert(statements)
    assert (await db.call(store.retrieve, ann.uuid)).email == "ann3@example.com"
    await db.call(by_name.upsert, new_user("bob"))
    assert await db.call(store.count) == 2
    assert db.checked_out() == 0


async def test_bulk_upsert_mixes_new_and_existing_rows_in_one_statement(db: Backend) -> None:
    store = users(db)
    ann = await db.call(store.create, new_user("ann", "Ann"))
    bob = await db.call(store.create, new_user("bob", "Bob"))
    bob_created_at = bob.created_at

    batch = [
        new_user("ann", "Ann v2", uuid=ann.uuid),
        new_user("bob", "Bob v2", uuid=bob.uuid),
        new_user("carl", "Carl"),
        new_user("dora", "Dora"),
    ]
    with captured_sql(db.sync_engine) as statements:
        stored = await db.call(store.bulk_upsert, batch)
    _assert_single_upsert(statements)
    assert sorted(user.full_name for user in stored) == ["Ann v2", "Bob v2", "Carl", "Dora"]
    assert await db.call(store.count) == 4
    assert (await db.call(store.retrieve, ann.uuid)).full_name == "Ann v2"
    assert (await db.call(store.retrieve, bob.uuid)).created_at == bob_created_at

    with captured_sql(db.sync_engine) as statements:
        assert await db.call(store.bulk_upsert, []) == []
    assert statements == []

    # On username: rows with new uuids still land on the existing usernames.
    renamed = await db.call(
        store.bulk_upsert,
        [User(username="carl", email="carl@new.example.com"), new_user("erin")],
        conflict=["username"],
    )
    assert len(renamed) == 2
    assert await db.call(store.count) == 5
    assert await db.call(store.count, User.email == "carl@new.example.com") == 1
    assert db.checked_out() == 0


# --- delete: soft and hard, and references


async def test_soft_delete_hides_rows_and_hard_delete_removes_them(db: Backend) -> None:
    user_store, post_store = users(db), posts(db)
    author = await db.call(user_store.create, new_user("ann"))
    kept = await db.call(post_store.create, new_post(author, "Kept"))
    gone = await db.call(post_store.create, new_post(author, "Gone"))

    assert await db.call(post_store.delete, gone.uuid) is None
    marked = await db.call(post_store.retrieve, gone.uuid, include_deleted=True)
    assert marked.is_deleted is True
    assert marked.deleted_at is not None

    assert await db.call(post_store.get, gone.uuid) is None
    with pytest.raises(NotFoundError):
        await db.call(post_store.retrieve, gone.uuid)
    assert await db.call(post_store.exists, gone.uuid) is False
    assert await db.call(post_store.exists, gone.uuid, include_deleted=True) is True
    assert await db.call(post_store.count) == 1
    assert await db.call(post_store.count, include_deleted=True) == 2
    assert [post.title for post in await db.call(post_store.search)] == ["Kept"]
    with_deleted = await db.call(post_store.search, include_deleted=True, sort=SortDTO(field="title", order="asc"))
    assert [post.title for post in with_deleted] == ["Gone", "Kept"]
    assert await db.call(post_store.search_first, Post.title == "Gone") is None
    assert (await db.call(post_store.search_first, Post.title == "Gone", include_deleted=True)).uuid == gone.uuid
    assert [post.title for post in await _collect(db, post_store.iterate())] == ["Kept"]

    # A soft-deleted row can be neither deleted again nor updated.
    with pytest.raises(NotFoundError):
        await db.call(post_store.delete, gone.uuid)
    with pytest.raises(NotFoundError):
        await db.call(post_store.update, gone.uuid, title="Back")
    with pytest.raises(NotFoundError):
        await db.call(post_store.update_with_diff, gone.uuid, title="Back")
    assert (await db.call(post_store.retrieve, gone.uuid, include_deleted=True)).title == "Gone"

    # hard_delete removes a row for good, soft-deleted or not.
    await db.call(post_store.hard_delete, gone.uuid)
    assert await db.call(post_store.get, gone.uuid, include_deleted=True) is None
    assert await db.call(post_store.count, include_deleted=True) == 1
    with pytest.raises(NotFoundError):
        await db.call(post_store.hard_delete, gone.uuid)
    await db.call(post_store.hard_delete, kept.uuid)
    assert await db.call(post_store.count, include_deleted=True) == 0
    with pytest.raises(NotFoundError):
        await db.call(post_store.delete, uuid4())

    # Entities without soft delete are removed by delete().
    await db.call(user_store.delete, author.uuid)
    assert await db.call(user_store.get, author.uuid) is None
    with pytest.raises(NotFoundError):
        await db.call(user_store.delete, author.uuid)
    assert db.checked_out() == 0


async def test_deleting_a_referenced_row_is_a_clear_constraint_error(db: Backend) -> None:
    user_store, post_store = users(db), posts(db)
    author = await db.call(user_store.create, new_user("ann"))
    post = await db.call(post_store.create, new_post(author))
    author_uuid, post_uuid = author.uuid, post.uuid
    await db.call(post_store.delete, post_uuid)  # a soft-deleted post still references its author

    with pytest.raises(DatabaseConstraintError) as caught:
        await db.call(user_store.delete, author_uuid)
    error = caught.value
    assert not isinstance(error, NotFoundError)
    assert "still referenced" in str(error)
    assert str(author_uuid) in str(error)
    assert error.details["constraint_type"] == "foreign_key"
    assert isinstance(error.__cause__, DatabaseConstraintError)
    if db.is_postgres:
        assert error.details["constraint"] == "fk_posts_author_id_users"
        assert "fk_posts_author_id_users" in str(error)
    assert await db.call(user_store.exists, author_uuid) is True

    await db.call(post_store.hard_delete, post_uuid)
    await db.call(user_store.delete, author_uuid)
    assert await db.call(user_store.count) == 0
    assert db.checked_out() == 0


def _loaded(entity: Any) -> set[str]:
    """Column attributes of ``entity`` readable without I/O."""
    state = sa_inspect(entity)
    return set(state.mapper.column_attrs.keys()) - set(state.unloaded)


async def test_objects_returned_earlier_stay_readable_after_a_failed_call(db: Backend) -> None:
    """A failed call outside atomic blocks must not spoil objects the caller already holds.

    A plain rollback would expire every object in the autocommit session: reading one later
    would need I/O (MissingGreenlet on async adapters; on sync ones a transaction that keeps a
    pooled connection checked out).
    """
    user_store, post_store = users(db), posts(db)
    ann = await db.call(user_store.create, new_user("ann", "Ann"))
    post = await db.call(post_store.create, new_post(ann))
    loaded_before = {id(entity): _loaded(entity) for entity in (ann, post)}
    with pytest.raises(AlreadyExistsError):
        await db.call(user_store.create, new_user("ann"))
    with pytest.raises(DatabaseConstraintError):
        await db.call(user_store.delete, ann.uuid)
    with pytest.raises(NotFoundError):
        await db.call(user_store.update_with_diff, uuid4(), full_name="Ghost")
    # Checked first without touching the attributes: loading them is what would do the damage.
    for entity in (ann, post):
        assert _loaded(entity) == loaded_before[id(entity)], type(entity).__name__
    assert (ann.full_name, post.title) == ("Ann", "Hello")
    assert db.checked_out() == 0


# --- stores inside atomic blocks


async def test_store_work_rolls_back_with_the_atomic_block(db: Backend) -> None:
    user_store, post_store = users(db), posts(db)
    ann = await db.call(user_store.create, new_user("ann", "Ann"))
    post = await db.call(post_store.create, new_post(ann))

    counts_inside: list[int] = []

    async def abandoned_block() -> None:
        async with db.atomic():
            await db.call(user_store.create, new_user("bob"))
            await db.call(user_store.update, ann.uuid, full_name="Changed")
            await db.call(user_store.upsert, new_user("carl"))
            await db.call(user_store.bulk_upsert, [new_user("dora"), new_user("ann", "Again", uuid=ann.uuid)])
            await db.call(post_store.delete, post.uuid)
            counts_inside.append(await db.call(user_store.count))
            counts_inside.append(await db.call(post_store.count))
            raise BoomError

    with pytest.raises(BoomError):
        await abandoned_block()
    assert counts_inside == [4, 0]  # the block saw its own work

    assert await committed_usernames(db) == {"ann"}
    assert await db.call(user_store.count) == 1
    assert (await db.call(user_store.retrieve, ann.uuid)).full_name == "Ann"
    assert (await db.call(post_store.retrieve, post.uuid)).is_deleted is False
    assert db.checked_out() == 0


async def test_store_failure_in_a_nested_block_keeps_the_outer_work(db: Backend) -> None:
    store = users(db)

    async def inner_block() -> None:
        async with db.atomic():
            await db.call(store.create, new_user("bob"))
            await db.call(store.create, new_user("ann"))

    async with db.atomic():
        await db.call(store.create, new_user("ann"))
        with pytest.raises(AlreadyExistsError):
            await inner_block()
        assert await db.call(store.count) == 1
        await db.call(store.create, new_user("carl"))
    assert await committed_usernames(db) == {"ann", "carl"}
    assert db.checked_out() == 0


# --- construction: ports only


class FakeSyncPort:
    """A hand-written port that delegates to a real adapter and records what it was asked for."""

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter
        self.calls: list[str] = []

    def get_session(self) -> Session:
        self.calls.append("get_session")
        session: Session = self.adapter.get_session()
        return session

    def create(self, entity: Any) -> Any:
        return self.adapter.create(entity)

    def bulk_create(self, entities: Sequence[Any]) -> list[Any]:
        return list(self.adapter.bulk_create(entities))

    def get_by_uuid(self, entity_type: type[Any], entity_uuid: UUID) -> Any:
        return self.adapter.get_by_uuid(entity_type, entity_uuid)

    def delete(self, entity: Any) -> None:
        self.adapter.delete(entity)

    def bulk_delete(self, entities: Sequence[Any]) -> None:
        self.adapter.bulk_delete(entities)

    def execute(self, statement: Executable, params: Any = None) -> Result[Any]:
        return self.adapter.execute(statement, params)  # type: ignore[no-any-return]

    def scalars(self, statement: Executable, params: Any = None) -> ScalarResult[Any]:
        return self.adapter.scalars(statement, params)  # type: ignore[no-any-return]

    def execute_search_query(
        self,
        entity: type[Any],
        query: Select[Any],
        pagination: PaginationDTO | None = None,
        sort_info: SortDTO | None = None,
        has_multiple_entities: bool = False,
    ) -> tuple[list[Any], int]:
        return self.adapter.execute_search_query(  # type: ignore[no-any-return]
            entity, query, pagination, sort_info, has_multiple_entities
        )

    def search_page(self, entity: type[Any], query: Select[Any], *args: Any, **kwargs: Any) -> Page[Any]:
        self.calls.append("search_page")
        return self.adapter.search_page(entity, query, *args, **kwargs)  # type: ignore[no-any-return]


class FakeAsyncPort:
    """The async twin of FakeSyncPort."""

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter
        self.calls: list[str] = []

    def get_session(self) -> Any:
        self.calls.append("get_session")
        return self.adapter.get_session()

    async def create(self, entity: Any) -> Any:
        return await self.adapter.create(entity)

    async def bulk_create(self, entities: Sequence[Any]) -> list[Any]:
        return list(await self.adapter.bulk_create(entities))

    async def get_by_uuid(self, entity_type: type[Any], entity_uuid: UUID) -> Any:
        return await self.adapter.get_by_uuid(entity_type, entity_uuid)

    async def delete(self, entity: Any) -> None:
        await self.adapter.delete(entity)

    async def bulk_delete(self, entities: Sequence[Any]) -> None:
        await self.adapter.bulk_delete(entities)

    async def execute(self, statement: Executable, params: Any = None) -> Result[Any]:
        return await self.adapter.execute(statement, params)  # type: ignore[no-any-return]

    async def scalars(self, statement: Executable, params: Any = None) -> ScalarResult[Any]:
        return await self.adapter.scalars(statement, params)  # type: ignore[no-any-return]

    async def execute_search_query(
        self,
        entity: type[Any],
        query: Select[Any],
        pagination: PaginationDTO | None = None,
        sort_info: SortDTO | None = None,
        has_multiple_entities: bool = False,
    ) -> tuple[list[Any], int]:
        return await self.adapter.execute_search_query(  # type: ignore[no-any-return]
            entity, query, pagination, sort_info, has_multiple_entities
        )

    async def search_page(self, entity: type[Any], query: Select[Any], *args: Any, **kwargs: Any) -> Page[Any]:
        self.calls.append("search_page")
        return await self.adapter.search_page(entity, query, *args, **kwargs)  # type: ignore[no-any-return]


async def test_store_accepts_a_hand_written_port(db: Backend) -> None:
    fake = FakeAsyncPort(db.adapter) if db.is_async else FakeSyncPort(db.adapter)
    store = AsyncStore(fake, User) if db.is_async else Store(fake, User)
    user = await db.call(store.create, new_user("ann"))
    assert (await db.call(store.retrieve, user.uuid)).username == "ann"
    await db.call(store.update, user.uuid, full_name="Through The Fake")
    assert await db.call(store.count, User.full_name == "Through The Fake") == 1
    page = await db.call(store.search_page, pagination=CursorPaginationDTO(page_size=5))
    assert [found.username for found in page.items] == ["ann"]
    assert "search_page" in fake.calls
    assert "ann" in await committed_usernames(db)
    assert fake.calls  # the store went through the port
    assert repr(store) == f"<{type(store).__name__} of User>"
    assert db.checked_out() == 0


async def test_store_rejects_what_is_not_a_port(db: Backend) -> None:
    store_class = AsyncStore if db.is_async else Store
    for not_a_port in (object(), db.manager, "postgresql://x", None):
        with pytest.raises(InvalidArgumentError):
            store_class(not_a_port, User)
    with pytest.raises(InvalidArgumentError):  # the model must be a mapped class
        store_class(db.adapter, dict)


async def test_store_rejects_a_port_of_the_other_flavour(db: Backend) -> None:
    """A sync Store over an async port (or the reverse) would silently misbehave: refuse it."""
    other_class = Store if db.is_async else AsyncStore
    with pytest.raises(InvalidArgumentError):
        other_class(db.adapter, User)


# --- health checks over the matrix


async def test_health_check(db: Backend) -> None:
    check = async_health_check if db.is_async else health_check
    report = await db.call(check, db.adapter)
    assert report.healthy is True
    assert report.error is None
    assert report.dialect == ("postgresql" if db.is_postgres else "sqlite")
    assert report.server_version
    assert report.server_version[0].isdigit()
    if not db.is_postgres:
        assert report.server_version.startswith("3.")
    assert report.latency_ms is not None
    assert 0 <= report.latency_ms < 5000
    assert db.checked_out() == 0


# --- outside the matrix: the microcosm-postgres README example, on its own database


@pytest.fixture
def example_database(postgres_server_dsn: str) -> Iterator[str]:
    """A fresh PostgreSQL database named after the convention (``example_test_db_...``), dropped afterwards."""
    with temporary_database(postgres_server_dsn, prefix=database_name("example", testing=True)) as dsn:
        yield dsn


@pytest.fixture
def example_adapter(example_database: str) -> Iterator[PostgresSQLAlchemyAdapter]:
    config = PostgresSQLAlchemyConfig(POSTGRES_DSN=with_driver(example_database, "psycopg"))
    adapter = PostgresSQLAlchemyAdapter(orm_config=config)
    try:
        yield adapter
    finally:
        adapter.session_manager.dispose()


@pytest.mark.postgres
def test_microcosm_postgres_readme_example(example_adapter: PostgresSQLAlchemyAdapter) -> None:
    assert example_adapter.session_manager.engine.url.database.startswith("example_test_db_")
    company_store = Store(example_adapter, Company)

    # set up a session
    with SessionContext(example_adapter) as context:
        # drop and create database tables; *only* do this for testing
        context.recreate_all()

        with transaction():
            # create a model
            company = company_store.create(Company(name="Acme"))

        assert company_store.count() == 1
        assert company_store.retrieve(company.uuid).name == "Acme"

        # a failing transaction leaves nothing behind
        def failing_transaction() -> None:
            with transaction():
                company_store.create(Company(name="Initech"))
                company_store.create(Company(name="Acme"))

        with pytest.raises(AlreadyExistsError):
            failing_transaction()
        assert company_store.count() == 1
        assert SessionContext.current() is context

    with pytest.raises(InvalidArgumentError):  # no SessionContext open any more
        transaction()


def test_session_context_rules() -> None:
    with pytest.raises(InvalidArgumentError):
        SessionContext(object())
    with pytest.raises(InvalidArgumentError):
        SessionContext.current()
    adapter = SQLiteSQLAlchemyAdapter(orm_config=SQLiteSQLAlchemyConfig(DATABASE=":memory:"))
    try:
        context = SessionContext(adapter)
        with context:
            with pytest.raises(InvalidArgumentError), context:
                pass  # a context cannot be entered twice at once
            inner_adapter = SQLiteSQLAlchemyAdapter(orm_config=SQLiteSQLAlchemyConfig(DATABASE=":memory:"))
            with SessionContext(inner_adapter) as inner:
                assert SessionContext.current() is inner
            assert SessionContext.current() is context
            inner_adapter.session_manager.dispose()
        with context:  # reusable once closed
            assert SessionContext.current() is context
    finally:
        adapter.session_manager.dispose()


# --- recreate_all: drop and create once, then only empty the tables


@contextmanager
def ddl_counter(engine: Engine) -> Iterator[dict[str, int]]:
    counts = {"create": 0, "drop": 0, "truncate": 0, "delete": 0}

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sql = " ".join(statement.split()).upper()
        for key, prefix in (
            ("create", "CREATE TABLE"),
            ("drop", "DROP TABLE"),
            ("truncate", "TRUNCATE"),
            ("delete", "DELETE FROM"),
        ):
            if sql.startswith(prefix):
                counts[key] += 1

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def _recreate_all_twice(adapter: Any) -> None:
    engine: Engine = adapter.session_manager.engine
    user_store, post_store, company_store = Store(adapter, User), Store(adapter, Post), Store(adapter, Company)
    table_count = len(BaseEntity.metadata.sorted_tables)

    with SessionContext(adapter) as context:
        started = time.perf_counter()
        with ddl_counter(engine) as first:
            context.recreate_all()
        first_seconds = time.perf_counter() - started
        assert first["create"] == table_count
        assert first["truncate"] == 0

        with transaction():
            author = user_store.create(new_user("ann"))
            post_store.create(new_post(author))
            company_store.create(Company(name="Acme"))
        assert (user_store.count(), post_store.count(), company_store.count()) == (1, 1, 1)

        started = time.perf_counter()
        with ddl_counter(engine) as second:
            context.recreate_all()
        second_seconds = time.perf_counter() - started
        assert second["create"] == 0
        assert second["drop"] == 0
        if engine.dialect.name == "postgresql":
            assert second["truncate"] == 1  # one TRUNCATE ... CASCADE for every table
        else:
            assert second["delete"] == table_count
        assert (user_store.count(), post_store.count(include_deleted=True), company_store.count()) == (0, 0, 0)
        first_ms, second_ms = first_seconds * 1000, second_seconds * 1000
        print(f"recreate_all on {engine.dialect.name}: first {first_ms:.1f} ms, then {second_ms:.1f} ms")

        # The tables still work after being emptied, and the module-level function agrees.
        user_store.create(new_user("bob"))
        with ddl_counter(engine) as third:
            recreate_all(engine)
        assert third["create"] == 0
        assert user_store.count() == 0


@pytest.mark.postgres
def test_recreate_all_on_postgres(example_adapter: PostgresSQLAlchemyAdapter) -> None:
    _recreate_all_twice(example_adapter)


def test_recreate_all_on_sqlite(tmp_path: Path) -> None:
    adapter = SQLiteSQLAlchemyAdapter(orm_config=SQLiteSQLAlchemyConfig(DATABASE=str(tmp_path / "recreate.sqlite3")))
    try:
        _recreate_all_twice(adapter)
    finally:
        adapter.session_manager.dispose()


# --- database_name


def test_database_name_convention() -> None:
    assert database_name("example") == "example_db"
    assert database_name("example", testing=True) == "example_test_db"
    assert database_name("My-Service") == "my_service_db"
    assert database_name(" billing2 ", testing=True) == "billing2_test_db"
    assert database_name("example") != database_name("example", testing=True)
    for bad in ("", "   ", "1service", "_private", "a b", "drop;table", "ünïcode", "x" * 56, "a/b"):
        with pytest.raises(InvalidArgumentError):
            database_name(bad)


# --- health checks against a server that is not there


SECRET = "pa55-w0rd-never-shown"


def _unreachable_config() -> PostgresSQLAlchemyConfig:
    return PostgresSQLAlchemyConfig(
        HOST="127.0.0.1", PORT=free_port(), USERNAME="postgres", PASSWORD=SECRET, DATABASE="postgres", CONNECT_TIMEOUT=1
    )


def _assert_unhealthy(report: Any) -> None:
    assert report.healthy is False
    assert report.latency_ms is None
    assert report.server_version is None
    assert report.error is not None
    assert report.error["code"] == "DATABASE_CONNECTION_ERROR"
    assert report.error["retryable"] in (True, False)
    assert SECRET not in repr(report)
    assert SECRET not in str(report.error)


def test_health_check_on_unreachable_postgres() -> None:
    adapter = PostgresSQLAlchemyAdapter(orm_config=_unreachable_config())
    try:
        started = time.perf_counter()
        _assert_unhealthy(health_check(adapter))
        assert time.perf_counter() - started < 5
    finally:
        adapter.session_manager.dispose()


async def test_async_health_check_on_unreachable_postgres() -> None:
    for driver in ("postgresql+asyncpg", "postgresql+psycopg"):
        config = _unreachable_config().model_copy(update={"ASYNC_DRIVER_NAME": driver})
        adapter = AsyncPostgresSQLAlchemyAdapter(orm_config=config)
        try:
            started = time.perf_counter()
            _assert_unhealthy(await async_health_check(adapter))
            assert time.perf_counter() - started < 5
        finally:
            await adapter.session_manager.dispose()


async def test_async_health_check_on_sqlite_file(tmp_path: Path) -> None:
    adapter = AsyncSQLiteSQLAlchemyAdapter(orm_config=SQLiteSQLAlchemyConfig(DATABASE=str(tmp_path / "h.sqlite3")))
    try:
        report = await async_health_check(adapter)
        assert report.healthy
        assert report.dialect == "sqlite"
        assert report.server_version
    finally:
        await adapter.session_manager.dispose()
