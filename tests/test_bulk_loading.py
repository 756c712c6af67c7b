"""bulk_create and bulk_copy: what the returned objects are, and PostgreSQL's COPY path.

On PostgreSQL, ``bulk_create`` loads batches of ``COPY_MIN_ROWS`` or more with COPY when COPY does
exactly what INSERT would; these tests pin both the choice and the equivalence (stored values,
errors, all-or-nothing, the tables where only INSERT is right).
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from sqlalchemy import String, func, inspect, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from test_crud import captured_statements, count_users, new_user, run_elsewhere, stored_user

from archipy_lite.adapters.postgres.sqlalchemy.copy import COPY_MIN_ROWS
from archipy_lite.models.errors import BaseError, DatabaseConnectionError, UniqueViolationError

from backends import Backend
from db_checks import backend_params, plain_dsn
from models import User

BATCH = COPY_MIN_ROWS + 20
postgres = pytest.mark.parametrize("db", backend_params(kind="postgres"), indirect=True)


def _inserts(statements: list[tuple[str, bool]]) -> list[str]:
    return [sql for sql, _ in statements if sql.lstrip().upper().startswith("INSERT")]


# --- what the returned objects are (every backend)


async def test_inside_atomic_the_objects_join_the_block_and_later_changes_are_saved(db: Backend) -> None:
    async with db.atomic() as session:
        users = await db.call(db.adapter.bulk_create, [new_user(i) for i in range(BATCH)])
        assert all(user in session for user in users)
        assert await db.call(db.adapter.get_by_uuid, User, users[3].uuid) is users[3]
        users[3].full_name = "Changed after bulk_create"

    row = await stored_user(db, users[3].uuid)
    assert row.full_name == "Changed after bulk_create"
    assert await count_users(db) == BATCH
    assert db.checked_out() == 0


async def test_outside_atomic_the_objects_come_back_saved_and_detached(db: Backend) -> None:
    users = await db.call(db.adapter.bulk_create, [new_user(i, full_name=f"Name {i}") for i in range(BATCH)])

    state = inspect(users[0])
    assert state.detached
    assert state.identity == (users[0].uuid,)
    assert users[7].full_name == "Name 7"  # values stay readable
    assert users[7].created_at is not None
    users[1].full_name = "Changed on a detached object"
    await db.call(db.adapter.get_by_uuid, User, users[2].uuid)  # a later call does not write it
    assert (await stored_user(db, users[1].uuid)).full_name == "Name 1"

    await db.call(db.adapter.delete, users[0])  # deletable by identity, without loading first
    await db.call(db.adapter.bulk_delete, users[5:10])
    assert await count_users(db) == BATCH - 6
    assert db.checked_out() == 0


async def test_objects_already_saved_are_not_inserted_again(db: Backend) -> None:
    saved = await db.call(db.adapter.create, new_user("saved"))
    fresh = [new_user(i) for i in range(BATCH)]

    result = await db.call(db.adapter.bulk_create, [saved, *fresh])

    assert result[0] is saved
    assert await count_users(db) == BATCH + 1


# --- PostgreSQL: when COPY is used


@postgres
async def test_large_batches_use_copy_and_small_ones_insert(db: Backend) -> None:
    with captured_statements(db.sync_engine) as statements:
        await db.call(db.adapter.bulk_create, [new_user(i) for i in range(BATCH)])
    assert _inserts(statements) == []
    assert any("pg_class" in sql for sql, _ in statements)

    with captured_statements(db.sync_engine) as statements:
        await db.call(db.adapter.bulk_create, [new_user(f"small{i}") for i in range(COPY_MIN_ROWS - 1)])
    assert len(_inserts(statements)) == 1
    assert await count_users(db) == BATCH + COPY_MIN_ROWS - 1


class _Base(DeclarativeBase):
    """Tables of this module only (kept off the shared metadata the other tests clear)."""


class Audited(_Base):
    __tablename__ = "bulk_audited"
    uuid: Mapped[uuid_module.UUID] = mapped_column(primary_key=True, default=uuid_module.uuid4)
    name: Mapped[str] = mapped_column(String(50))


class Secured(_Base):
    __tablename__ = "bulk_secured"
    uuid: Mapped[uuid_module.UUID] = mapped_column(primary_key=True, default=uuid_module.uuid4)
    name: Mapped[str] = mapped_column(String(50))


_SPECIAL_TABLES = """
DROP TABLE IF EXISTS bulk_audit_log, bulk_audited, bulk_secured;
CREATE TABLE bulk_audited (uuid uuid PRIMARY KEY, name varchar(50) NOT NULL);
CREATE TABLE bulk_audit_log (name varchar(50) NOT NULL);
CREATE RULE log_insert AS ON INSERT TO bulk_audited DO ALSO INSERT INTO bulk_audit_log VALUES (NEW.name);
CREATE TABLE bulk_secured (uuid uuid PRIMARY KEY, name varchar(50) NOT NULL);
ALTER TABLE bulk_secured ENABLE ROW LEVEL SECURITY;
CREATE POLICY anyone ON bulk_secured USING (true);
"""


@pytest.fixture
async def special_tables(db: Backend) -> AsyncIterator[str]:
    dsn = plain_dsn(db)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(_SPECIAL_TABLES)  # type: ignore[arg-type]
    yield dsn
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS bulk_audit_log, bulk_audited, bulk_secured")


@postgres
async def test_tables_with_rules_or_row_security_get_insert(db: Backend, special_tables: str) -> None:
    with captured_statements(db.sync_engine) as statements:
        await db.call(db.adapter.bulk_create, [Audited(name=f"a{i}") for i in range(BATCH)])
        await db.call(db.adapter.bulk_create, [Secured(name=f"s{i}") for i in range(BATCH)])

    assert len(_inserts(statements)) == 2
    with psycopg.connect(special_tables) as connection:
        counts = connection.execute(
            "SELECT (SELECT count(*) FROM bulk_audit_log), (SELECT count(*) FROM bulk_secured)"
        ).fetchone()
    assert counts == (BATCH, BATCH)  # the rule ran for every row


# --- PostgreSQL: COPY stores and fails exactly like INSERT


@postgres
@pytest.mark.parametrize("size", [10, BATCH], ids=["insert", "copy"])
async def test_values_are_stored_alike_on_both_paths(db: Backend, size: int) -> None:
    moment = datetime(2026, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=3, minutes=30)))
    users = [new_user(i, full_name=None if i % 2 else f"Ünïcödé {i} 'quoted' \\ \t tab") for i in range(size)]
    for user in users:
        user.created_at = moment

    await db.call(db.adapter.bulk_create, users)

    rows = await run_elsewhere(db, select(User.username, User.full_name, User.created_at).order_by(User.username))
    expected = sorted((user.username, user.full_name) for user in users)
    assert [(row.username, row.full_name) for row in rows] == expected
    assert {row.created_at for row in rows} == {moment}
    assert all(row.created_at.utcoffset() == timedelta(0) for row in rows)  # stored and read back as UTC
    assert moment.astimezone(UTC) == rows[0].created_at


def _error_of(error: pytest.ExceptionInfo[BaseError]) -> tuple[type[BaseException], Any]:
    return type(error.value), error.value.details.get("sqlstate")


@postgres
@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda users: setattr(users[-1], "username", users[0].username), id="duplicate"),
        pytest.param(lambda users: setattr(users[-1], "username", "x" * 101), id="too-long"),
        pytest.param(lambda users: setattr(users[-1], "email", "nul\x00byte"), id="nul-byte"),
        pytest.param(lambda users: setattr(users[-1], "email", None), id="not-null"),
    ],
)
async def test_bad_rows_fail_alike_on_both_paths_and_nothing_is_kept(db: Backend, spoil: Any) -> None:
    failures = []
    for size in (10, BATCH):
        users = [new_user(f"{size}_{i}") for i in range(size)]
        spoil(users)
        with pytest.raises(BaseError) as error:
            await db.call(db.adapter.bulk_create, users)
        failures.append(_error_of(error))
        assert await count_users(db) == 0
        assert db.checked_out() == 0
    assert failures[0] == failures[1], f"INSERT path: {failures[0]}, COPY path: {failures[1]}"


@postgres
async def test_a_duplicate_is_a_unique_violation_naming_the_constraint(db: Backend) -> None:
    await db.call(db.adapter.create, new_user("taken"))
    with pytest.raises(UniqueViolationError) as error:
        await db.call(db.adapter.bulk_create, [*(new_user(i) for i in range(BATCH)), new_user("taken")])
    assert error.value.details["constraint"] == "uq_users_username"
    assert await count_users(db) == 1


@postgres
async def test_bulk_copy_leaves_the_objects_untracked(db: Backend) -> None:
    users = await db.call(db.adapter.bulk_copy, [new_user(i) for i in range(BATCH)])
    assert inspect(users[0]).transient
    assert await count_users(db) == BATCH


@postgres
async def test_a_connection_lost_during_copy_is_a_connection_error(db: Backend) -> None:
    with pytest.raises(DatabaseConnectionError):
        await _copy_after_the_backend_is_killed(db)
    assert await count_users(db) == 0
    assert db.checked_out() == 0
    await db.call(db.adapter.bulk_create, [new_user(i) for i in range(BATCH)])  # the pool recovered
    assert await count_users(db) == BATCH


async def _copy_after_the_backend_is_killed(db: Backend) -> None:
    async with db.atomic():
        pid = (await db.call(db.adapter.execute, text("SELECT pg_backend_pid()"))).scalar_one()
        with psycopg.connect(plain_dsn(db), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await db.call(db.adapter.bulk_copy, [new_user(i) for i in range(BATCH)])


# --- column defaults: the fast path fills what it can, the unit of work the rest (every backend)


def _shouted_name(context: Any) -> str:
    return str(context.get_current_parameters()["name"]).upper()


class Defaulted(_Base):
    __tablename__ = "bulk_defaulted"
    uuid: Mapped[uuid_module.UUID] = mapped_column(primary_key=True, default=uuid_module.uuid4)
    name: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(20), default="plain")  # scalar
    label: Mapped[str | None] = mapped_column(String(50), default=None)
    shouted: Mapped[str] = mapped_column(String(50), default=_shouted_name)  # reads the execution context
    lowered: Mapped[str] = mapped_column(String(50), default=func.lower("SQL-EXPRESSION"))
    note: Mapped[str | None] = mapped_column(String(50), server_default="from the server")


@pytest.fixture
async def defaulted_table(db: Backend) -> AsyncIterator[None]:
    table = Defaulted.__table__
    if db.is_async:
        async with db.manager.engine.begin() as connection:
            await connection.run_sync(table.create, checkfirst=True)  # type: ignore[arg-type]
    else:
        with db.manager.engine.begin() as connection:
            table.create(connection, checkfirst=True)  # type: ignore[attr-defined]
    yield
    if db.is_async:
        async with db.manager.engine.begin() as connection:
            await connection.run_sync(table.drop)  # type: ignore[arg-type]
    else:
        with db.manager.engine.begin() as connection:
            table.drop(connection)  # type: ignore[attr-defined]


@pytest.mark.usefixtures("defaulted_table")
async def test_every_kind_of_column_default_is_applied(db: Backend) -> None:
    rows = [Defaulted(name=f"n{i}") for i in range(BATCH)] + [Defaulted(name="own", kind="special", note="given")]

    created = await db.call(db.adapter.bulk_create, rows)

    stored = await run_elsewhere(
        db,
        select(Defaulted.name, Defaulted.kind, Defaulted.shouted, Defaulted.lowered, Defaulted.note).order_by(
            Defaulted.name
        ),
    )
    by_name = {row.name: row for row in stored}
    assert len(stored) == BATCH + 1
    assert tuple(by_name["n7"])[1:] == ("plain", "N7", "sql-expression", "from the server")
    assert tuple(by_name["own"])[1:] == ("special", "OWN", "sql-expression", "given")
    assert len({item.uuid for item in created}) == BATCH + 1
