"""The ArchiPy PostgreSQL adapter tutorial, run the way a reader would, against real PostgreSQL.

``tests/tutorial/`` holds every code section of the tutorial verbatim (``archipy`` replaced by
``archipy_lite``, indentation restored). This test executes them in order, each as its own module
whose globals start with the names defined by the earlier sections (the tutorial uses ``User``,
``Post`` and ``PostgresSQLAlchemyAdapter`` without importing them again), then calls the functions
they define and checks the outcome by reading the database with plain SQL on new connections.

It runs in a child interpreter: the tutorial's "Defining Entities" section declares ``User`` and
``Post`` on ``BaseEntity.metadata``, as ``tests/models.py`` does, and the two may not share a
process. The child gets a database of its own; the tutorial's "Create Tables" section creates the
tables in it, and they are dropped at the end.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from archipy_lite.testing.postgres import temporary_database, with_driver

TUTORIAL_DIR = Path(__file__).with_name("tutorial")
DONE = "tutorial walk-through passed"


def tutorial_environment(dsn: str) -> dict[str, str]:
    """The tutorial's "Configuration" variables, pointing at the test database."""
    from sqlalchemy.engine import make_url

    url = make_url(dsn)
    env = {
        "POSTGRES_SQLALCHEMY__HOST": str(url.host),
        "POSTGRES_SQLALCHEMY__PORT": str(url.port or 5432),
        "POSTGRES_SQLALCHEMY__DATABASE": str(url.database),
        "POSTGRES_SQLALCHEMY__USERNAME": str(url.username),
        "POSTGRES_SQLALCHEMY__POSTGRES_DSN": with_driver(dsn, "psycopg"),
        "POSTGRES_SQLALCHEMY__POOL_SIZE": "20",
        "POSTGRES_SQLALCHEMY__POOL_MAX_OVERFLOW": "5",
        "POSTGRES_SQLALCHEMY__POOL_TIMEOUT": "30",
        "POSTGRES_SQLALCHEMY__POOL_RECYCLE_SECONDS": "600",
        "POSTGRES_SQLALCHEMY__ECHO": "false",
    }
    if url.password:
        env["POSTGRES_SQLALCHEMY__PASSWORD"] = url.password
    return env


@pytest.mark.postgres
@pytest.mark.parametrize("configuration", ["set_global", "environment"])
def test_tutorial_runs_unchanged_against_postgres(postgres_server_dsn: str, tmp_path: Path, configuration: str) -> None:
    """``environment``: the tutorial's environment variables are the only configuration (no set_global)."""
    with temporary_database(postgres_server_dsn, prefix="archipy_lite_tutorial") as dsn:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_SQLALCHEMY", "SQLITE_SQLALCHEMY"))}
        if configuration == "environment":
            env.update(tutorial_environment(dsn))
        completed = subprocess.run(
            [sys.executable, __file__, dsn, configuration],
            cwd=tmp_path,  # no stray .env file is picked up by BaseConfig
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    output = f"--- stdout ---\n{completed.stdout}\n--- stderr ---\n{completed.stderr}"
    assert completed.returncode == 0, output
    assert completed.stdout.rstrip().splitlines()[-1].startswith(DONE), output


# --------------------------------------------------------------------------- the child process


class Reader:
    """Runs the tutorial's sections in order, as modules that see what earlier sections defined."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {}
        self.modules: dict[str, types.ModuleType] = {}

    def run(self, stem: str) -> types.ModuleType:
        path = TUTORIAL_DIR / f"{stem}.py"
        module = types.ModuleType(f"tutorial_{stem}")
        module.__file__ = str(path)
        module.__dict__.update(self.names)
        sys.modules[module.__name__] = module
        started = time.perf_counter()
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), module.__dict__)
        print(f"ran {path.name} ({time.perf_counter() - started:.2f}s)", flush=True)
        self.names.update({k: v for k, v in module.__dict__.items() if not k.startswith("__")})
        self.modules[stem] = module
        return module


class Database:
    """Plain SQL on a new psycopg connection per call: sees only what was committed."""

    def __init__(self, dsn: str) -> None:
        self.dsn = with_driver(dsn, None)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as connection:
            cursor = connection.execute(sql, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def value(self, sql: str, *params: Any) -> Any:
        rows = self.rows(sql, *params)
        assert len(rows) == 1, rows
        return rows[0][0]

    def user(self, username: str) -> tuple[Any, ...] | None:
        rows = self.rows(
            "SELECT uuid, email, full_name, created_at, updated_at FROM users WHERE username = %s", username
        )
        return rows[0] if rows else None

    def usernames(self) -> list[str]:
        return [row[0] for row in self.rows("SELECT username FROM users ORDER BY username")]

    def tables(self) -> set[str]:
        return {row[0] for row in self.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


class Warnings(logging.Handler):
    """Collects the messages the tutorial logs at WARNING and above."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def take(self) -> list[str]:
        messages, self.messages = self.messages, []
        return messages


def walk_through(dsn: str, configuration: str) -> None:
    from sqlalchemy import select

    from archipy_lite.adapters.base.sqlalchemy.adapters import (
        SQLAlchemyFilterMixin,
        SQLAlchemyPaginationMixin,
        SQLAlchemySortMixin,
    )
    from archipy_lite.adapters.base.sqlalchemy.ports import SQLAlchemyPort
    from archipy_lite.adapters.postgres.sqlalchemy.adapters import (
        AsyncPostgresSQLAlchemyAdapter,
        PostgresSQLAlchemyAdapter,
    )
    from archipy_lite.configs.base_config import BaseConfig
    from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig
    from archipy_lite.models.errors import AlreadyExistsError, DatabaseQueryError, NotFoundError
    from archipy_lite.models.types.base_types import FilterOperationType

    db = Database(dsn)
    warnings = Warnings()
    logging.getLogger().addHandler(warnings)
    if configuration == "set_global":
        BaseConfig.set_global(
            BaseConfig(POSTGRES_SQLALCHEMY=PostgresSQLAlchemyConfig(POSTGRES_DSN=with_driver(dsn, "psycopg")))
        )
    reader = Reader()

    # Direct Configuration: every field given is kept; the password is secret.
    pg_config = reader.run("01_direct_configuration").pg_config
    assert (pg_config.HOST, pg_config.PORT, pg_config.DATABASE, pg_config.USERNAME) == (
        "localhost",
        5432,
        "mydb",
        "myuser",
    )
    assert pg_config.PASSWORD.get_secret_value() == "secret"
    assert "secret" not in repr(pg_config)
    assert (pg_config.POOL_SIZE, pg_config.POOL_MAX_OVERFLOW, pg_config.POOL_TIMEOUT) == (20, 5, 30)
    assert (pg_config.POOL_RECYCLE_SECONDS, pg_config.POOL_USE_LIFO, pg_config.POOL_PRE_PING) == (600, True, True)
    assert pg_config.ISOLATION_LEVEL == "REPEATABLE READ"

    # DSN-style configuration: the individual fields are back-filled from the DSN.
    pg_config = reader.run("02_dsn_configuration").pg_config
    assert (pg_config.HOST, pg_config.PORT, pg_config.DATABASE, pg_config.USERNAME) == (
        "localhost",
        5432,
        "mydb",
        "myuser",
    )
    assert pg_config.PASSWORD.get_secret_value() == "secret"
    assert pg_config.DRIVER_NAME == "postgresql+psycopg"

    # Defining Entities: the inherited columns come with the mixins; nothing exists in the database yet.
    entities = reader.run("03_defining_entities")
    User, Post, BaseEntity = entities.User, entities.Post, entities.BaseEntity
    assert BaseEntity.metadata.tables["users"] is User.__table__
    assert BaseEntity.metadata.tables["posts"] is Post.__table__
    assert {"uuid", "created_at", "updated_at", "username", "email", "full_name"} <= set(User.__table__.c.keys())
    assert {"uuid", "created_at", "is_deleted", "deleted_at", "author_id"} <= set(Post.__table__.c.keys())
    assert db.tables() == set()

    # Synchronous Adapter: built from the global config, with the mixins, and lazy (no engine yet).
    user_adapter = reader.run("04_sync_adapter").adapter
    for mixin in (SQLAlchemyFilterMixin, SQLAlchemyPaginationMixin, SQLAlchemySortMixin):
        assert isinstance(user_adapter, mixin)
    assert isinstance(user_adapter, SQLAlchemyPort)
    global_section = BaseConfig.global_config().POSTGRES_SQLALCHEMY  # built from the environment if not set
    assert user_adapter.session_manager.config is global_section
    assert with_driver(dsn, None).rsplit("/", 1)[1] == global_section.DATABASE
    if configuration == "environment":
        assert (global_section.POOL_SIZE, global_section.POOL_MAX_OVERFLOW) == (20, 5)
    assert not user_adapter.session_manager.has_engine

    # Custom config: "pg.internal" does not exist; constructing the adapter must not connect to it.
    custom = reader.run("05_custom_config_adapter").adapter
    assert custom.session_manager.config.HOST == "pg.internal"
    assert custom.session_manager is not PostgresSQLAlchemyAdapter().session_manager
    assert not custom.session_manager.has_engine

    # Create Tables: the section's create_all makes both tables in the test database.
    engine = reader.run("06_create_tables").adapter.session_manager.engine
    try:
        assert db.tables() == {"users", "posts"}

        # Create: the row is committed when create() returns; duplicates are AlreadyExistsError.
        create_user: Callable[..., Any] = reader.run("07_create").create_user
        ada = create_user("ada", "ada@example.com", "Ada Lovelace")
        assert isinstance(ada.uuid, UUID)
        assert ada.created_at.tzinfo is not None
        assert ada.updated_at.tzinfo is not None
        row = db.user("ada")
        assert row is not None
        assert row[:3] == (ada.uuid, "ada@example.com", "Ada Lovelace")
        with pytest.raises(AlreadyExistsError):
            create_user("ada", "someone@example.com", "Same Username")
        with pytest.raises(AlreadyExistsError):
            create_user("ada2", "ada@example.com", "Same Email")
        assert warnings.take() == ["User already exists: ada", "User already exists: ada2"]
        assert db.usernames() == ["ada"]
        grace = create_user("grace", "grace@example.com", "Grace Hopper")  # the failures left no broken session
        assert db.user("grace") is not None

        # Bulk Create: all rows in one go, or none of them.
        bulk_import_users: Callable[..., Any] = reader.run("08_bulk_create").bulk_import_users
        imported = bulk_import_users(
            [
                {"username": "alan", "email": "alan@example.com"},
                {"username": "edsger", "email": "edsger@example.com"},
                {"username": "barbara", "email": "barbara@example.com"},
            ]
        )
        assert [user.username for user in imported] == ["alan", "edsger", "barbara"]
        assert db.usernames() == ["ada", "alan", "barbara", "edsger", "grace"]
        with pytest.raises(AlreadyExistsError):
            bulk_import_users(
                [{"username": "linus", "email": "linus@example.com"}, {"username": "alan", "email": "x@example.com"}]
            )
        assert [m.split(":")[0] for m in warnings.take()] == ["Bulk create failed"]
        assert db.user("linus") is None

        # Read by UUID.
        get_user: Callable[..., Any] = reader.run("09_read_by_uuid").get_user
        loaded = get_user(ada.uuid)
        assert (loaded.uuid, loaded.username, loaded.email) == (ada.uuid, "ada", "ada@example.com")
        with pytest.raises(NotFoundError):
            get_user(uuid4())

        # Update: get_session().flush() outside a transaction is durable (seen on a new connection).
        update_user_email: Callable[..., Any] = reader.run("10_update").update_user_email
        before = db.user("ada")
        assert before is not None
        updated = update_user_email(ada.uuid, "ada@lovelace.dev")
        assert updated.email == "ada@lovelace.dev"
        after = db.user("ada")
        assert after is not None
        assert after[1] == "ada@lovelace.dev"
        assert after[4] > before[4]  # updated_at moved forward
        assert after[3] == before[3]  # created_at did not
        with pytest.raises(AlreadyExistsError):
            update_user_email(ada.uuid, "grace@example.com")
        assert db.value("SELECT email FROM users WHERE username = 'ada'") == "ada@lovelace.dev"
        assert get_user(ada.uuid).email == "ada@lovelace.dev"  # the failed update is not seen afterwards
        with pytest.raises(NotFoundError):
            update_user_email(uuid4(), "nobody@example.com")
        warnings.take()

        # Delete.
        delete_user: Callable[..., Any] = reader.run("11_delete").delete_user
        alan = imported[0]
        delete_user(alan.uuid)
        assert db.user("alan") is None
        with pytest.raises(NotFoundError):
            delete_user(alan.uuid)

        # Transactions: both rows commit together, or neither does.
        create_user_with_post: Callable[..., Any] = reader.run("12_transactions").create_user_with_post
        linus, post = create_user_with_post("linus", "linus@example.com", "Hello", "First post")
        assert post.author_id == linus.uuid
        assert db.rows("SELECT title, content, author_id, is_deleted FROM posts") == [
            ("Hello", "First post", linus.uuid, False)
        ]
        assert db.user("linus") is not None
        with pytest.raises(DatabaseQueryError):  # the user INSERT succeeds, then the post's title is too long
            create_user_with_post("ken", "ken@example.com", "x" * 201, "Never stored")
        assert db.user("ken") is None
        with pytest.raises(AlreadyExistsError):  # the user INSERT fails first
            create_user_with_post("ada", "ada-again@example.com", "Orphan", "Never stored")
        assert db.value("SELECT count(*) FROM posts") == 1
        assert warnings.take()[-1] == "User ada already exists"

        # Searching: totals and username order, with and without the COUNT query.
        search_users: Callable[..., Any] = reader.run("13_search").search_users
        everyone = ["ada", "barbara", "edsger", "grace", "linus"]
        assert db.usernames() == everyone

        def search(*args: Any, **kwargs: Any) -> tuple[list[str], int]:
            users, total = search_users(*args, **kwargs)
            return [user.username for user in users], total

        assert search() == (everyone, 5)
        assert search(page=1, page_size=2) == (["ada", "barbara"], 5)
        assert search(page=2, page_size=2) == (["edsger", "grace"], 5)
        assert search(page=3, page_size=2) == (["linus"], 5)
        assert search(page=4, page_size=2) == ([], 5)
        assert search("LOVE") == (["ada"], 1)  # ILIKE: case-insensitive
        assert search("o") == (["ada", "grace"], 2)  # "Lovelace", "Hopper"; NULL full names never match
        assert search("nobody") == ([], 0)
        starts_with_g = user_adapter._apply_filter(select(User), User.username, "g", FilterOperationType.STARTS_WITH)
        assert [user.uuid for user in user_adapter.scalars(starts_with_g).all()] == [grace.uuid]

        # Raw SQL: reads the current rows.
        count_active_users: Callable[..., Any] = reader.run("14_raw_sql").count_active_users
        assert count_active_users() == 5
        db.rows("UPDATE users SET created_at = now() - interval '31 days' WHERE username = 'barbara'")
        assert count_active_users() == 4

        # Asynchronous Adapter.
        reader.run("15_async_adapter")
        assert AsyncPostgresSQLAlchemyAdapter().session_manager.config is global_section

        # Async CRUD: the section itself creates async_alice; each asyncio.run() has its own event loop.
        async_crud = reader.run("16_async_crud")
        row = db.user("async_alice")
        assert row is not None
        assert row[1] == "async@example.com"
        fetched = asyncio.run(async_crud.async_get_user(row[0]))
        assert (fetched.uuid, fetched.username) == (row[0], "async_alice")
        with pytest.raises(NotFoundError):
            asyncio.run(async_crud.async_get_user(uuid4()))
        created = asyncio.run(async_crud.async_create_user("async_bob", "async-bob@example.com"))
        row = db.user("async_bob")
        assert row is not None
        assert row[0] == created.uuid

        # Async Transactions: the section itself commits bob_async and his post together.
        async_transactions = reader.run("17_async_transactions")
        bob = db.user("bob_async")
        assert bob is not None
        assert db.rows("SELECT title, content FROM posts WHERE author_id = %s", bob[0]) == [("Hello World", "...")]
        with pytest.raises(DatabaseQueryError):
            asyncio.run(async_transactions.async_create_user_with_post("carol_async", "carol@example.com", "x" * 201))
        assert db.user("carol_async") is None
        with pytest.raises(AlreadyExistsError):
            asyncio.run(async_transactions.async_create_user_with_post("dora", "bob@example.com", "Orphan"))
        assert db.user("dora") is None
        assert db.value("SELECT count(*) FROM posts") == 2
        warnings.take()

        # Repository Pattern: the section's own usage saves alice and lists the first page.
        repository = reader.run("18_repository_pattern")
        alice = db.user("alice")
        assert alice is not None
        assert repository.user.uuid == alice[0]
        assert repository.found.username == "alice"
        all_usernames = db.usernames()
        assert repository.total == len(all_usernames) == 9
        assert [user.username for user in repository.users] == all_usernames[:10]
        repo = repository.repo
        assert repo.find_by_username("alice").uuid == alice[0]
        assert repo.find_by_username("nobody") is None
        with pytest.raises(NotFoundError):
            repo.get(uuid4())
        page, total = repo.list_paginated(page=2, page_size=4)
        assert ([user.username for user in page], total) == (all_usernames[4:8], 9)
        with pytest.raises(AlreadyExistsError):
            repo.save(User(username="alice", email="alice2@example.com"))
        assert [m.split(":")[0] for m in warnings.take()] == ["Failed to save user"]

        # Connection Pool Tuning: the settings reach the engine's pool (building an engine does not connect).
        tuning = reader.run("19_pool_tuning")
        api_pool = PostgresSQLAlchemyAdapter(orm_config=tuning.api_config).session_manager.engine.pool
        worker_pool = PostgresSQLAlchemyAdapter(orm_config=tuning.worker_config).session_manager.engine.pool
        assert (api_pool.size(), api_pool.timeout()) == (20, 5)  # type: ignore[attr-defined]
        assert (worker_pool.size(), worker_pool.timeout()) == (5, 30)  # type: ignore[attr-defined]
        assert (tuning.api_config.POOL_MAX_OVERFLOW, tuning.worker_config.POOL_MAX_OVERFLOW) == (10, 2)

        # Every autocommit operation handed its connection back.
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        engine.dispose()  # the autocommit sessions' pooled connections
        BaseEntity.metadata.drop_all(engine)
        engine.dispose()
    assert db.tables() == set()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    walk_through(sys.argv[1], sys.argv[2])
    print(f"{DONE} in {time.perf_counter() - started:.2f}s", flush=True)
