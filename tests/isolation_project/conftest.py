"""An application's test configuration: one isolation fixture, chosen by $ISOLATION, and a shuffled order.

Run by ``tests/test_isolation.py`` in a pytest process of its own. Each test's time (setup, call and
teardown) and the time of its setup and teardown alone are added up and written to $TIMINGS, so the
two kinds of isolation can be compared on the same tests.
"""

import json
import os
import random
import time

import pytest
from sqlalchemy import ForeignKey, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from archipy_lite.models.entities.sqlalchemy.naming import NAMING_CONVENTION

ISOLATION = os.environ["ISOLATION"]  # "transaction" or "truncation"
_spent: dict[str, list[float]] = {"total": [], "fixtures": []}
_current: dict[str, float] = {}
_count: list[int] = []


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Team(Base):
    __tablename__ = "isolation_teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    test: Mapped[str] = mapped_column(String(100))


class Member(Base):
    __tablename__ = "isolation_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("isolation_teams.id"))
    email: Mapped[str] = mapped_column(String(100), unique=True)
    test: Mapped[str] = mapped_column(String(100))


# The rest of a modest service schema (ten tables in all): truncation empties every table, since it
# cannot know which ones a test wrote; a rolled-back transaction does not care how many there are.
for _name in ("projects", "tasks", "comments", "tags", "task_tags", "audit_log", "settings", "invites"):
    type(
        f"Isolation_{_name}",
        (Base,),
        {
            "__tablename__": f"isolation_{_name}",
            "id": mapped_column(Integer, primary_key=True),
            "team_id": mapped_column(ForeignKey("isolation_teams.id"), nullable=True),
            "label": mapped_column(String(100), unique=True),
            "__annotations__": {"id": Mapped[int], "team_id": Mapped[int | None], "label": Mapped[str]},
        },
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    random.Random(os.environ.get("SEED", "0")).shuffle(items)


def _timed(key: str, *, last: bool = True):
    @pytest.hookimpl(wrapper=True)
    def hook(item, *args):
        started = time.perf_counter()
        try:
            return (yield)
        finally:
            _current[key] = _current.get(key, 0.0) + time.perf_counter() - started
            if last:
                _spent[key].append(_current.pop(key))

    return hook


pytest_runtest_protocol = _timed("total")
pytest_runtest_setup = _timed("fixtures", last=False)
pytest_runtest_teardown = _timed("fixtures")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        _count.append(1)


def pytest_sessionfinish(session: pytest.Session) -> None:
    with open(os.environ["TIMINGS"], "w") as out:
        json.dump({"passed": len(_count), **_spent}, out)


@pytest.fixture(scope="session")
def tables(postgres_adapter):
    Base.metadata.drop_all(postgres_adapter.session_manager.engine)
    Base.metadata.create_all(postgres_adapter.session_manager.engine)


@pytest.fixture
def db(request, tables):
    return request.getfixturevalue(f"postgres_{ISOLATION}")


@pytest.fixture
def adb(request, tables):
    if ISOLATION == "transaction":
        return request.getfixturevalue("async_postgres_transaction")
    request.getfixturevalue("postgres_truncation")
    return request.getfixturevalue("async_postgres_adapter")
