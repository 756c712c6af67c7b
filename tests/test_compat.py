"""archipy_lite.compat: the one place where SQLAlchemy 2.0 and 2.1 differ.

These run on whichever SQLAlchemy is installed (CI runs the suite on the locked 2.1 and on the
lowest declared 2.0), so each assertion holds on both.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
import sqlalchemy
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, ForeignKey, Integer, String, create_engine, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import DeclarativeBase, Session

from archipy_lite import compat


class _Base(DeclarativeBase):
    pass


class _Parent(_Base):
    __tablename__ = "compat_parents"
    id = Column(Integer, primary_key=True)
    name = Column(String(20))


class _Child(_Base):
    __tablename__ = "compat_children"
    id = Column(Integer, primary_key=True)
    parent_id = Column(ForeignKey("compat_parents.id"))


def test_the_probe_matches_the_installed_release() -> None:
    major_minor = tuple(int(part) for part in sqlalchemy.__version__.split(".")[:2])
    assert compat.URL_DATABASE_IS_ESCAPED is (major_minor >= (2, 1))


names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=30)


@given(database=names)
def test_parse_url_decodes_the_database_on_every_release(database: str) -> None:
    url = compat.parse_url(f"postgresql://user@host/{quote(database, safe='')}")
    assert url.database == database


@given(database=names.filter(lambda name: "?" not in name or compat.URL_DATABASE_IS_ESCAPED))
def test_render_url_round_trips_through_the_installed_parser(database: str) -> None:
    url = URL.create("postgresql+psycopg", "ann", "p@ss:w/rd%", "db.example", 5433, database, {"sslmode": "require"})
    rendered = compat.render_url(url, hide_password=False)
    assert make_url(rendered) == url
    assert "p@ss" not in compat.render_url(url)  # the default hides the password


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (URL.create("sqlite", database=":memory:"), "sqlite:///:memory:"),
        (URL.create("sqlite+aiosqlite", database="/data/geo.sqlite3"), "sqlite+aiosqlite:////data/geo.sqlite3"),
        (make_url("postgresql://ann:secret@db/app?sslmode=require"), "postgresql://ann:***@db/app?sslmode=require"),
    ],
)
def test_render_url_is_readable(url: URL, expected: str) -> None:
    assert compat.render_url(url) == expected


def test_private_select_names_still_exist() -> None:
    plain = select(_Parent)
    grouped = select(_Parent.name, func.count()).group_by(_Parent.name).having(func.count() > 1)
    joined = select(_Parent).join(_Child, _Child.parent_id == _Parent.id)
    assert (compat.group_by_clauses(plain), compat.having_criteria(plain)) == ((), ())
    assert len(compat.group_by_clauses(grouped)) == 1
    assert len(compat.having_criteria(grouped)) == 1
    assert not compat.is_distinct(plain)
    assert compat.is_distinct(plain.distinct())
    assert compat.distinct_on(plain.distinct()) == ()
    assert not compat.has_joins_or_explicit_from(plain)
    assert compat.has_joins_or_explicit_from(joined)
    assert compat.has_joins_or_explicit_from(select(func.count()).select_from(_Parent))


def test_flushed_states_lists_what_the_transaction_updated() -> None:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        updated, untouched = _Parent(id=1, name="before"), _Parent(id=2, name="untouched")
        session.add_all([updated, untouched])
        session.commit()
        updated.name = "after"
        session.flush()
        transaction = session.get_transaction()
        assert transaction is not None
        flushed = {state.obj() for state in compat.flushed_states(transaction)}
        assert updated in flushed
        assert untouched not in flushed
    engine.dispose()


async def test_await_runs_a_coroutine_from_sync_code_in_a_greenlet() -> None:
    from sqlalchemy.util import greenlet_spawn

    async def answer() -> int:
        return 42

    assert await greenlet_spawn(lambda: compat.await_(answer())) == 42
