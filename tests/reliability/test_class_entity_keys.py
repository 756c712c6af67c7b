"""Class 10: a model on BaseEntity never gets a composite primary key by accident.

Every way of declaring a primary key (``Column``, ``mapped_column``, a plain mixin, a
``PrimaryKeyConstraint``, ``__mapper_args__``) on every entity base is refused when the class is
defined, with a ``ConfigurationError`` naming the class and its columns, and leaves no table behind.
A model that replaces the key explicitly (``uuid = None``) or asks for the composite key (naming
``uuid`` itself) works end to end on every backend: ``create_all`` with foreign keys to it, stores,
``Session.get`` with one value.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Column, ForeignKey, Integer, PrimaryKeyConstraint, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from archipy_lite.models.entities.sqlalchemy.base_entities import (
    BaseEntity,
    DeletableEntity,
    UpdatableDeletableEntity,
    UpdatableEntity,
)
from archipy_lite.models.errors import ConfigurationError
from archipy_lite.stores import AsyncStore, Store

from . import figures
from backends import Backend

BASES = [BaseEntity, UpdatableEntity, DeletableEntity, UpdatableDeletableEntity]
_cases: list[str] = []


class KeyMixin:
    code = Column(String(10), primary_key=True)


def declare(way: str, base: type[Any]) -> type[Any]:
    name = f"cls_refused_{uuid4().hex[:8]}"
    namespace: dict[str, Any] = {"__tablename__": name, "__module__": __name__}
    bases: tuple[type[Any], ...] = (base,)
    if way == "Column(primary_key=True)":
        namespace["id"] = Column(Integer, primary_key=True)
    elif way == "mapped_column(primary_key=True)":
        namespace["id"] = mapped_column(Integer, primary_key=True)
        namespace["__annotations__"] = {"id": Mapped[int]}
    elif way == "a plain mixin's column":
        bases = (KeyMixin, base)
    elif way == "PrimaryKeyConstraint in __table_args__":
        namespace["number"] = Column(Integer, nullable=False)
        namespace["__table_args__"] = (PrimaryKeyConstraint("number"),)
    elif way == "two key columns":
        namespace["region"] = Column(String(5), primary_key=True)
        namespace["number"] = Column(Integer, primary_key=True)
    return type(f"Refused{name[-8:]}", bases, namespace)


WAYS = [
    "Column(primary_key=True)",
    "mapped_column(primary_key=True)",
    "a plain mixin's column",
    "PrimaryKeyConstraint in __table_args__",
    "two key columns",
]


@pytest.mark.parametrize("base", BASES, ids=[cls.__name__ for cls in BASES])
@pytest.mark.parametrize("way", WAYS)
def test_an_accidental_composite_key_is_refused_when_the_class_is_defined(way: str, base: type[Any]) -> None:
    tables_before = set(BaseEntity.metadata.tables)
    with pytest.raises(ConfigurationError) as caught:
        declare(way, base)
    error = caught.value
    assert "uuid = None" in str(error)
    assert error.details["fields"]
    assert set(BaseEntity.metadata.tables) == tables_before  # nothing half-defined is left behind
    _cases.append(way)


# --- models that replace the key, or want the composite key, on every backend


class Country(UpdatableEntity):
    """An integer key replaces uuid explicitly."""

    __tablename__ = "cls_countries"
    uuid = None
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(50))


class City(DeletableEntity):
    """Keeps its uuid key, and refers to the integer key above."""

    __tablename__ = "cls_cities"
    name: Mapped[str] = mapped_column(String(50))
    country_id: Mapped[int] = mapped_column(ForeignKey("cls_countries.id"))


class Revision(BaseEntity):
    """The composite key on purpose: the body names uuid."""

    __tablename__ = "cls_revisions"
    uuid: Mapped[UUID] = mapped_column(Uuid(), primary_key=True, default=uuid4)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    body: Mapped[str] = mapped_column(String(50))


def store(db: Backend, model: type[Any]) -> Any:
    return AsyncStore(db.adapter, model) if db.is_async else Store(db.adapter, model)


def test_the_replaced_and_composite_keys_are_what_was_asked() -> None:
    assert [c.name for c in Country.__table__.primary_key] == ["id"]
    assert "uuid" not in Country.__table__.c
    assert [c.name for c in City.__table__.primary_key] == ["uuid"]
    assert [c.name for c in Revision.__table__.primary_key] == ["uuid", "version"]
    assert repr(Country(id=3, name="x")) == "<Country id=3>"
    assert "uuid" not in Country(id=3, name="x").__dict__
    _cases.append("keys as declared")


async def test_replaced_and_composite_keys_work_on_every_backend(db: Backend) -> None:
    countries, cities, revisions = store(db, Country), store(db, City), store(db, Revision)
    japan = await db.call(countries.create, Country(id=81, name="Japan"))
    osaka = await db.call(cities.create, City(name="Osaka", country_id=japan.id))
    assert (await db.call(countries.retrieve, 81)).name == "Japan"
    assert (await db.call(cities.retrieve, osaka.uuid)).country_id == 81
    found = await db.call(db.adapter.get_session().get, Country, 81)  # Session.get with one value
    assert found.name == "Japan"
    key = uuid4()
    await db.call(revisions.create, Revision(uuid=key, version=1, body="a"))
    await db.call(revisions.create, Revision(uuid=key, version=2, body="b"))
    assert (await db.call(revisions.retrieve, (key, 2))).body == "b"
    await db.call(revisions.hard_delete, {"uuid": key, "version": 1})
    await db.call(cities.hard_delete, osaka.uuid)
    await db.call(countries.hard_delete, 81)
    assert await db.call(revisions.count) == 1
    await db.call(revisions.hard_delete, (key, 2))
    _cases.append(f"backend {db.name}")


def test_figures() -> None:
    figures.record_class(
        10,
        "no accidental composite primary key",
        cases=len(_cases),
        varies=f"{len(WAYS)} ways to declare a key x {len(BASES)} entity bases; replaced and composite keys",
        backends="class definition; the replaced and composite keys on all seven",
    )
