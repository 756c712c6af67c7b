"""CRUD through the adapters, over the whole backend matrix, against real databases.

Durability is always checked from outside the adapter: a fresh connection on a separate
engine (PostgreSQL, SQLite files) or, for ``:memory:`` databases whose only copy lives in
the pooled connection, a brand-new session on the same engine.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import (
    Engine,
    Executable,
    Result,
    ScalarResult,
    Select,
    create_engine,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.pool import NullPool

from archipy_lite.adapters.base.sqlalchemy.adapters import (
    SQLAlchemyFilterMixin,
    SQLAlchemyPaginationMixin,
    SQLAlchemySortMixin,
)
from archipy_lite.adapters.base.sqlalchemy.ports import AsyncSQLAlchemyPort, SQLAlchemyPort
from archipy_lite.models.dtos.page_dto import Page
from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.errors import InvalidArgumentError, NotFoundError

from backends import Backend
from models import Post, User

ROOT = Path(__file__).resolve().parent.parent

# --- helpers: look at the database from somewhere the adapter's session cannot influence.

_independent_engines: dict[str, Engine] = {}


def _is_memory(db: Backend) -> bool:
    return bool(getattr(db.config, "is_memory", False))


def _independent_engine(db: Backend) -> Engine:
    engine = _independent_engines.get(db.name)
    if engine is None:
        engine = create_engine(db.config.url(async_=False), poolclass=NullPool)
        _independent_engines[db.name] = engine
    return engine


async def run_elsewhere(db: Backend, statement: Executable, *, commit: bool = False) -> list[Any]:
    """Run ``statement`` on a connection the adapter does not use; return its rows (if any)."""
    if _is_memory(db):
        session = db.manager.new_session()
        try:
            result = await db.call(session.execute, statement)
            rows = list(result.all()) if getattr(result, "returns_rows", True) else []
            await db.call(session.commit if commit else session.rollback)
        finally:
            await db.call(session.close)
        return rows
    with _independent_engine(db).connect() as connection:
        result = connection.execute(statement)
        rows = list(result.all()) if getattr(result, "returns_rows", True) else []
        if commit:
            connection.commit()
    return rows


async def stored_user(db: Backend, user_id: UUID) -> Any:
    rows = await run_elsewhere(
        db, select(User.username, User.email, User.full_name, User.updated_at).where(User.uuid == user_id)
    )
    return rows[0] if rows else None


async def count_users(db: Backend) -> int:
    return int((await run_elsewhere(db, select(func.count()).select_from(User)))[0][0])


@contextmanager
def captured_statements(engine: Engine) -> Iterator[list[tuple[str, bool]]]:
    """Record ``(sql, executemany)`` for every cursor execution on ``engine``."""
    statements: list[tuple[str, bool]] = []

    def record(_conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, executemany: bool) -> None:
        statements.append((statement, executemany))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def new_user(n: int | str, **fields: Any) -> User:
    return User(username=f"user{n}", email=f"user{n}@example.com", **fields)


# --- create / read


async def test_create_sets_uuid_and_created_at_and_is_durable(db: Backend) -> None:
    user = new_user(1, full_name="Ada Lovelace")
    created = await db.call(db.adapter.create, user)

    assert created is user
    assert isinstance(created.uuid, UUID)
    assert created.created_at is not None
    assert created.created_at.tzinfo is not None
    # Readable after the call committed (nothing expired, no lazy load needed).
    assert (created.username, created.email, created.full_name) == ("user1", "user1@example.com", "Ada Lovelace")
    assert created.updated_at is not None
    assert db.checked_out() == 0

    row = await stored_user(db, created.uuid)
    assert row is not None
    assert (row.username, row.email, row.full_name) == ("user1", "user1@example.com", "Ada Lovelace")
    assert db.checked_out() == 0


async def test_get_by_uuid_found_missing_and_invalid(db: Backend) -> None:
    user = await db.call(db.adapter.create, new_user(1))

    found = await db.call(db.adapter.get_by_uuid, User, user.uuid)
    assert found is not None
    assert found.uuid == user.uuid
    assert found.username == "user1"

    by_string = await db.call(db.adapter.get_by_uuid, User, str(user.uuid))
    assert by_string is not None
    assert by_string.uuid == user.uuid

    assert await db.call(db.adapter.get_by_uuid, User, uuid4()) is None

    for bad in ("not-a-uuid", "", "1234"):
        with pytest.raises(InvalidArgumentError):
            await db.call(db.adapter.get_by_uuid, User, bad)
    assert db.checked_out() == 0


async def test_get_by_uuid_sees_changes_made_by_another_connection(db: Backend) -> None:
    user = await db.call(db.adapter.create, new_user(1, full_name="before"))
    first = await db.call(db.adapter.get_by_uuid, User, user.uuid)
    assert first is not None
    assert first.full_name == "before"

    await run_elsewhere(db, text("UPDATE users SET full_name = 'after'"), commit=True)

    again = await db.call(db.adapter.get_by_uuid, User, user.uuid)
    assert again is not None
    assert again.full_name == "after"  # not the stale copy from the session's identity map

    await run_elsewhere(db, text("DELETE FROM users"), commit=True)
    assert await db.call(db.adapter.get_by_uuid, User, user.uuid) is None
    assert db.checked_out() == 0


async def test_update_via_get_session_flush_is_durable_and_moves_updated_at(db: Backend) -> None:
    user = await db.call(db.adapter.create, new_user(1))
    created_updated_at = user.updated_at
    await asyncio.sleep(0.002)

    loaded = await db.call(db.adapter.get_by_uuid, User, user.uuid)
    assert loaded is not None
    loaded.email = "changed@example.com"
    await db.flush()
    assert db.checked_out() == 0

    row = await stored_user(db, user.uuid)
    assert row.email == "changed@example.com"
    assert row.updated_at > created_updated_at
    # The object itself stays readable and reflects the write.
    assert loaded.email == "changed@example.com"
    assert loaded.updated_at > created_updated_at


# --- delete


async def test_delete_attached_object(db: Backend) -> None:
    keep = await db.call(db.adapter.create, new_user("keep"))
    user = await db.call(db.adapter.create, new_user(1))
    loaded = await db.call(db.adapter.get_by_uuid, User, user.uuid)

    await db.call(db.adapter.delete, loaded)

    assert await stored_user(db, user.uuid) is None
    assert await stored_user(db, keep.uuid) is not None
    assert await db.call(db.adapter.get_by_uuid, User, user.uuid) is None
    assert db.checked_out() == 0


async def test_delete_detached_object_loaded_in_an_earlier_atomic_block(db: Backend) -> None:
    user = await db.call(db.adapter.create, new_user(1))
    async with db.atomic():
        loaded = await db.call(db.adapter.get_by_uuid, User, user.uuid)
    assert loaded is not None

    await db.call(db.adapter.delete, loaded)

    assert await stored_user(db, user.uuid) is None
    assert await count_users(db) == 0
    assert db.checked_out() == 0


async def test_delete_of_an_already_deleted_row_raises_not_found(db: Backend) -> None:
    # Deleted through the adapter, then deleted again.
    user = await db.call(db.adapter.create, new_user(1))
    await db.call(db.adapter.delete, user)
    with pytest.raises(NotFoundError):
        await db.call(db.adapter.delete, user)

    # Loaded in an atomic block (now detached); the row is deleted elsewhere.
    other = await db.call(db.adapter.create, new_user(2))
    async with db.atomic():
        detached = await db.call(db.adapter.get_by_uuid, User, other.uuid)
    await run_elsewhere(db, text("DELETE FROM users"), commit=True)
    with pytest.raises(NotFoundError):
        await db.call(db.adapter.delete, detached)
    assert db.checked_out() == 0


async def test_delete_of_an_attached_object_whose_row_is_gone_raises_not_found(db: Backend) -> None:
    user = await db.call(db.adapter.create, new_user(1))
    attached = await db.call(db.adapter.get_by_uuid, User, user.uuid)
    await run_elsewhere(db, text("DELETE FROM users"), commit=True)

    with pytest.raises(NotFoundError):
        await db.call(db.adapter.delete, attached)
    assert db.checked_out() == 0
    # The adapter is still usable afterwards.
    again = await db.call(db.adapter.create, new_user(2))
    assert await stored_user(db, again.uuid) is not None


async def test_delete_of_a_transient_object_raises_invalid_argument(db: Backend) -> None:
    with pytest.raises(InvalidArgumentError):
        await db.call(db.adapter.delete, new_user(1))
    with pytest.raises(InvalidArgumentError):
        await db.call(db.adapter.bulk_delete, [new_user(2)])
    assert await count_users(db) == 0
    assert db.checked_out() == 0


# --- bulk operations


async def test_bulk_create_1000_rows_in_batched_statements(db: Backend) -> None:
    users = [new_user(i, full_name=f"Name {i}") for i in range(1000)]

    with captured_statements(db.sync_engine) as statements:
        created = await db.call(db.adapter.bulk_create, users)

    assert len(created) == 1000
    assert all(isinstance(user.uuid, UUID) for user in created)
    assert len({user.uuid for user in created}) == 1000
    assert created[999].full_name == "Name 999"
    inserts = [sql for sql, _ in statements if sql.lstrip().upper().startswith("INSERT")]
    if db.is_postgres:
        assert inserts == [], "PostgreSQL loads a batch this large with COPY"
    else:
        assert 1 <= len(inserts) <= 5, f"{len(inserts)} INSERT executions for 1000 rows"
    assert db.checked_out() == 0
    assert await count_users(db) == 1000
    names = await run_elsewhere(db, select(User.full_name).where(User.username == "user500"))
    assert names == [("Name 500",)]


async def test_bulk_create_is_all_or_nothing(db: Backend) -> None:
    await db.call(db.adapter.create, new_user("taken"))
    users = [new_user(i) for i in range(10)] + [new_user("taken")]
    with pytest.raises(Exception):  # a unique violation, translated
        await db.call(db.adapter.bulk_create, users)
    assert await count_users(db) == 1
    assert db.checked_out() == 0


async def test_bulk_create_and_bulk_delete(db: Backend) -> None:
    users = await db.call(db.adapter.bulk_create, [new_user(i) for i in range(20)])
    assert await db.call(db.adapter.bulk_create, []) == []

    await db.call(db.adapter.bulk_delete, users[:15])

    remaining = await run_elsewhere(db, select(User.username).order_by(User.username))
    assert sorted(name for (name,) in remaining) == sorted(f"user{i}" for i in range(15, 20))
    await db.call(db.adapter.bulk_delete, [])
    assert await count_users(db) == 5
    assert db.checked_out() == 0


# --- execute / scalars


async def test_execute_and_scalars_with_text_and_select_are_buffered(db: Backend) -> None:
    await db.call(db.adapter.bulk_create, [new_user(i, full_name=f"N{i}") for i in range(5)])

    by_text: Result[Any] = await db.call(
        db.adapter.execute, text("SELECT username FROM users WHERE full_name <> :name"), {"name": "N0"}
    )
    by_select: Result[Any] = await db.call(db.adapter.execute, select(User.username, User.full_name))
    names: ScalarResult[Any] = await db.call(db.adapter.scalars, select(User.username))
    entities: ScalarResult[Any] = await db.call(db.adapter.scalars, select(User).where(User.full_name == "N3"))
    count_by_text = await db.call(db.adapter.scalars, text("SELECT COUNT(*) FROM users"))
    # Another call in between: earlier results must not depend on a live cursor.
    await db.call(db.adapter.create, new_user(99))
    assert db.checked_out() == 0

    assert sorted(row[0] for row in by_text.all()) == [f"user{i}" for i in range(1, 5)]
    assert sorted(by_select.all()) == sorted((f"user{i}", f"N{i}") for i in range(5))
    assert sorted(names.all()) == sorted(f"user{i}" for i in range(5))
    found = entities.one()
    assert isinstance(found, User)
    assert found.username == "user3"
    assert count_by_text.one() == 5
    assert db.checked_out() == 0


async def test_execute_of_an_update_returns_rowcount_and_is_durable(db: Backend) -> None:
    await db.call(db.adapter.bulk_create, [new_user(i) for i in range(7)])

    result = await db.call(
        db.adapter.execute,
        text("UPDATE users SET full_name = :name WHERE username <> :keep"),
        {"name": "x", "keep": "user0"},
    )
    assert result.rowcount == 6
    assert db.checked_out() == 0
    rows = await run_elsewhere(db, select(func.count()).select_from(User).where(User.full_name == "x"))
    assert rows[0][0] == 6

    result = await db.call(db.adapter.execute, update(User).where(User.username == "user0").values(full_name="y"))
    assert result.rowcount == 1
    rows = await run_elsewhere(db, select(User.full_name).where(User.username == "user0"))
    assert rows == [("y",)]
    assert db.checked_out() == 0


async def test_non_entity_arguments_raise_invalid_argument(db: Backend) -> None:
    calls: list[tuple[Any, tuple[Any, ...]]] = [
        (db.adapter.create, ("not an entity",)),
        (db.adapter.create, (object(),)),
        (db.adapter.create, (User,)),
        (db.adapter.bulk_create, ([new_user(1), "oops"],)),
        (db.adapter.get_by_uuid, (str, uuid4())),
        (db.adapter.get_by_uuid, (object, uuid4())),
        (db.adapter.delete, (42,)),
        (db.adapter.bulk_delete, ([None],)),
        (db.adapter.execute_search_query, (User, text("SELECT 1"))),
    ]
    for method, args in calls:
        with pytest.raises(InvalidArgumentError):
            await db.call(method, *args)
    assert await count_users(db) == 0  # the valid user in the bad bulk_create was not written
    assert db.checked_out() == 0


# --- relationships


async def test_relationship_round_trip(db: Backend) -> None:
    author = await db.call(db.adapter.create, new_user("author", full_name="The Author"))
    by_id = await db.call(db.adapter.create, Post(title="first", content="body 1", author_id=author.uuid))
    by_relation = await db.call(db.adapter.create, Post(title="second", content="body 2", author=author))
    assert by_relation.author_id == author.uuid
    assert by_id.is_deleted is False

    posts = (
        await db.call(
            db.adapter.scalars,
            select(Post).options(selectinload(Post.author)).order_by(Post.title),
        )
    ).all()
    assert [post.title for post in posts] == ["first", "second"]
    assert all(post.author.username == "userauthor" for post in posts)
    assert all(post.author_id == author.uuid for post in posts)

    users = (await db.call(db.adapter.scalars, select(User).options(selectinload(User.posts)))).all()
    assert len(users) == 1
    assert sorted(post.title for post in users[0].posts) == ["first", "second"]

    joined = (await db.call(db.adapter.execute, select(Post.title, User.full_name).join(Post.author))).all()
    assert sorted(joined) == [("first", "The Author"), ("second", "The Author")]
    assert db.checked_out() == 0


async def test_create_cascades_to_a_new_related_object(db: Backend) -> None:
    post = await db.call(db.adapter.create, Post(title="t", content="c", author=new_user("new", full_name="Cascaded")))
    assert post.author.uuid is not None
    assert db.checked_out() == 0
    rows = await run_elsewhere(db, select(Post.title, User.full_name).join(Post.author))
    assert rows == [("t", "Cascaded")]


# --- ports


class UserAdapterMixins(SQLAlchemyFilterMixin, SQLAlchemyPaginationMixin, SQLAlchemySortMixin):
    """The tutorial's mixins, combined below with each backend's adapter class."""


async def test_adapter_satisfies_its_port(db: Backend) -> None:
    port = AsyncSQLAlchemyPort if db.is_async else SQLAlchemyPort
    assert isinstance(db.adapter, port)

    combined_class = type("UserAdapter", (type(db.adapter), UserAdapterMixins), {})
    combined = combined_class(session_manager=db.manager)
    assert isinstance(combined, port)
    user = await db.call(combined.create, new_user(1))
    assert (await db.call(db.adapter.get_by_uuid, User, user.uuid)) is not None
    assert db.checked_out() == 0


class FakeUserStore:
    """A hand-written in-memory fake, as a service test would use instead of a database."""

    def __init__(self) -> None:
        self.rows: dict[UUID, Any] = {}

    def get_session(self) -> Session:
        raise NotImplementedError

    def create(self, entity: Any) -> Any:
        self.rows[entity.uuid] = entity
        return entity

    def bulk_create(self, entities: Sequence[Any]) -> list[Any]:
        return [self.create(entity) for entity in entities]

    def get_by_uuid(self, entity_type: type[Any], entity_uuid: UUID) -> Any:
        return self.rows.get(entity_uuid)

    def delete(self, entity: Any) -> None:
        self.rows.pop(entity.uuid)

    def bulk_delete(self, entities: Sequence[Any]) -> None:
        for entity in entities:
            self.delete(entity)

    def execute(self, statement: Executable, params: Any = None) -> Result[Any]:
        raise NotImplementedError

    def scalars(self, statement: Executable, params: Any = None) -> ScalarResult[Any]:
        raise NotImplementedError

    def execute_search_query(
        self,
        entity: type[Any],
        query: Select[Any],
        pagination: PaginationDTO | None = None,
        sort_info: SortDTO | None = None,
        has_multiple_entities: bool = False,
    ) -> tuple[list[Any], int]:
        rows = list(self.rows.values())
        return rows, len(rows)

    def search_page(self, entity: type[Any], query: Select[Any], *args: Any, **kwargs: Any) -> Page[Any]:
        rows = list(self.rows.values())
        return Page(items=rows, total=len(rows), page_size=len(rows))


def test_a_fake_satisfies_the_port_and_an_incomplete_object_does_not() -> None:
    fake = FakeUserStore()
    assert isinstance(fake, SQLAlchemyPort)
    user = fake.create(new_user(1))
    assert fake.get_by_uuid(User, user.uuid) is user

    class Incomplete:
        def create(self, entity: Any) -> Any:
            return entity

    assert not isinstance(Incomplete(), SQLAlchemyPort)
    assert not isinstance(object(), AsyncSQLAlchemyPort)


# --- drivers that are not installed


def _run_python(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_missing_asyncpg_raises_configuration_error_naming_the_extra(postgres_dsn: str) -> None:
    """Only asyncpg is missing: the async adapter fails on first use; the sync one still works."""
    script = f"""
        import asyncio, sys
        from uuid import uuid4
        sys.modules["asyncpg"] = None  # as if the driver were not installed

        from sqlalchemy import String, text
        from sqlalchemy.orm import Mapped, mapped_column

        from archipy_lite.adapters.postgres.sqlalchemy.adapters import (
            AsyncPostgresSQLAlchemyAdapter,
            PostgresSQLAlchemyAdapter,
        )
        from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig
        from archipy_lite.models.entities.sqlalchemy.base_entities import BaseEntity
        from archipy_lite.models.errors import ConfigurationError

        class Thing(BaseEntity):
            __tablename__ = "missing_driver_things"
            name: Mapped[str] = mapped_column(String(20))

        config = PostgresSQLAlchemyConfig(POSTGRES_DSN={postgres_dsn!r})
        adapter = AsyncPostgresSQLAlchemyAdapter(orm_config=config)  # constructing opens nothing
        try:
            asyncio.run(adapter.get_by_uuid(Thing, uuid4()))
        except ConfigurationError as exc:
            assert "archipy-lite[postgres]" in str(exc), str(exc)
            assert isinstance(exc.__cause__, ImportError), repr(exc.__cause__)
        else:
            raise SystemExit("no ConfigurationError")

        # The sync adapter (psycopg) is unaffected.
        sync_adapter = PostgresSQLAlchemyAdapter(orm_config=config)
        assert sync_adapter.execute(text("SELECT 1")).scalar_one() == 1
        print("OK")
        """
    completed = _run_python(script)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().endswith("OK")


def test_every_module_imports_and_every_adapter_names_its_extra_without_drivers() -> None:
    script = """
        import asyncio, importlib, pkgutil, sys
        for name in ("psycopg", "psycopg_binary", "psycopg_c", "asyncpg", "aiosqlite"):
            sys.modules[name] = None  # none of the optional drivers is installed

        import archipy_lite
        skipped = ("archipy_lite.testing",)  # test helpers may need the drivers
        for module in pkgutil.walk_packages(archipy_lite.__path__, "archipy_lite."):
            if not module.name.startswith(skipped):
                importlib.import_module(module.name)

        from sqlalchemy import text
        from archipy_lite.adapters.postgres.sqlalchemy.adapters import (
            AsyncPostgresSQLAlchemyAdapter,
            PostgresSQLAlchemyAdapter,
        )
        from archipy_lite.adapters.sqlite.sqlalchemy.adapters import (
            AsyncSQLiteSQLAlchemyAdapter,
            SQLiteSQLAlchemyAdapter,
        )
        from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
        from archipy_lite.models.errors import ConfigurationError

        pg = "postgresql://user@127.0.0.1:1/db"
        cases = [
            (PostgresSQLAlchemyAdapter(orm_config=PostgresSQLAlchemyConfig(POSTGRES_DSN=pg)), "postgres"),
            (AsyncPostgresSQLAlchemyAdapter(orm_config=PostgresSQLAlchemyConfig(POSTGRES_DSN=pg)), "postgres"),
            (
                AsyncPostgresSQLAlchemyAdapter(
                    orm_config=PostgresSQLAlchemyConfig(POSTGRES_DSN=pg, ASYNC_DRIVER_NAME="postgresql+psycopg")
                ),
                "postgres",
            ),
            (AsyncSQLiteSQLAlchemyAdapter(orm_config=SQLiteSQLAlchemyConfig()), "sqlite"),
        ]
        for adapter, extra in cases:
            try:
                result = adapter.execute(text("SELECT 1"))
                if asyncio.iscoroutine(result):
                    asyncio.run(result)
            except ConfigurationError as exc:
                assert f"archipy-lite[{extra}]" in str(exc), str(exc)
            else:
                raise SystemExit(f"{adapter!r}: no ConfigurationError")

        # The stdlib sqlite3 driver is always there.
        assert SQLiteSQLAlchemyAdapter(orm_config=SQLiteSQLAlchemyConfig()).execute(text("SELECT 1")).scalar_one() == 1
        print("OK")
        """
    completed = _run_python(script)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().endswith("OK")
