"""The plugin's isolation fixtures keep the library's transaction semantics inside the test's transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import MetaData, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from archipy_lite import unit_of_work
from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic
from archipy_lite.models.entities.sqlalchemy.naming import NAMING_CONVENTION
from archipy_lite.models.errors import AlreadyExistsError, InvalidArgumentError
from archipy_lite.testing.pinning import pinned

pytestmark = pytest.mark.postgres


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Note(Base):
    __tablename__ = "isolation_fixture_notes"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)


@pytest.fixture(scope="module", autouse=True)
def notes_table(postgres_adapter: PostgresSQLAlchemyAdapter) -> Iterator[None]:
    Base.metadata.create_all(postgres_adapter.session_manager.engine)
    yield
    Base.metadata.drop_all(postgres_adapter.session_manager.engine)


def _committed_keys(adapter: PostgresSQLAlchemyAdapter) -> list[str]:
    """What another connection sees: only committed rows."""
    with adapter.session_manager.engine.connect() as connection:
        return list(connection.scalars(select(Note.key).order_by(Note.key)))


def _create_in_block(db: PostgresSQLAlchemyAdapter, *keys: str) -> None:
    with atomic(db):
        for key in keys:
            db.create(Note(key=key))


def test_transaction_fixture_keeps_atomic_semantics(postgres_transaction: PostgresSQLAlchemyAdapter) -> None:
    db = postgres_transaction
    db.create(Note(key="plain"))
    with pytest.raises(AlreadyExistsError):
        db.create(Note(key="plain"))  # a failed statement rolls back to its savepoint only
    with atomic(db):
        db.create(Note(key="outer"))
        with pytest.raises(AlreadyExistsError):
            _create_in_block(db, "inner", "outer")  # the savepoint rolls back "inner" too
        db.create(Note(key="after"))
    with pytest.raises(AlreadyExistsError):
        _create_in_block(db, "rolled-back", "plain")
    assert db.scalars(select(Note.key).order_by(Note.key)).all() == ["after", "outer", "plain"]
    assert _committed_keys(db) == []  # all of it is inside the test's transaction


def test_transaction_fixture_rolls_everything_back(postgres_adapter: PostgresSQLAlchemyAdapter) -> None:
    manager = postgres_adapter.session_manager
    with manager.engine.connect() as connection:
        transaction = connection.begin()
        with pinned(manager, connection):
            postgres_adapter.create(Note(key="gone"))
            with pytest.raises(InvalidArgumentError, match="already pinned"), pinned(manager, connection):
                pass
        transaction.rollback()
    assert postgres_adapter.execute(select(func.count()).select_from(Note)).scalar_one() == 0
    postgres_adapter.create(Note(key="unpinned"))  # the manager is back to its own sessions
    assert _committed_keys(postgres_adapter) == ["unpinned"]
    postgres_adapter.delete(postgres_adapter.get_session().get(Note, "unpinned"))


async def test_async_transaction_fixture(
    async_postgres_transaction: AsyncPostgresSQLAlchemyAdapter, postgres_adapter: PostgresSQLAlchemyAdapter
) -> None:
    db = async_postgres_transaction
    await db.create(Note(key="a"))
    async with atomic(db):
        await db.create(Note(key="b"))
        with pytest.raises(AlreadyExistsError):
            async with atomic(db):
                await db.create(Note(key="a"))
    assert (await db.scalars(select(Note.key).order_by(Note.key))).all() == ["a", "b"]
    assert _committed_keys(postgres_adapter) == []


def test_truncation_fixture_empties_committed_rows(
    postgres_adapter: PostgresSQLAlchemyAdapter, request: pytest.FixtureRequest
) -> None:
    postgres_adapter.create(Note(key="committed"))
    assert _committed_keys(postgres_adapter) == ["committed"]
    adapter = request.getfixturevalue("postgres_truncation")
    assert _committed_keys(adapter) == []


def test_units_of_work_share_the_test_transaction(postgres_transaction: PostgresSQLAlchemyAdapter) -> None:
    with unit_of_work(postgres_transaction):
        postgres_transaction.create(Note(key="unit"))
        with atomic(postgres_transaction):
            postgres_transaction.create(Note(key="unit-block"))
    with unit_of_work(postgres_transaction, atomic=True):
        postgres_transaction.create(Note(key="atomic-unit"))
    with pytest.raises(AlreadyExistsError), unit_of_work(postgres_transaction, atomic=True):
        _create_in_block(postgres_transaction, "rolled-back", "unit")
    keys = postgres_transaction.scalars(select(Note.key).order_by(Note.key)).all()
    assert keys == ["atomic-unit", "unit", "unit-block"]
    assert _committed_keys(postgres_transaction) == []
