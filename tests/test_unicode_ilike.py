"""Case-insensitive matching folds every alphabet on SQLite as on PostgreSQL (issue 12, item 18).

Every route to a case-insensitive match, over the backend matrix: FilterOperationType.ILIKE and
CONTAINS through the mixin and through store filters, and SQLAlchemy's own ``ilike``,
``not_ilike``, ``icontains``, ``istartswith`` and ``iendswith`` written by hand. The expected
matches follow PostgreSQL's rule: each character lower-cased on its own.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text

from archipy_lite.adapters.base.sqlalchemy.query_building import apply_filter
from archipy_lite.adapters.sqlite.sqlalchemy.case_folding import unicode_lower
from archipy_lite.models.types.base_types import FilterOperationType as Op
from archipy_lite.stores import AsyncStore, Store

from backends import Backend
from models import User

NAMES = ["Ünïcode Ärger", "straße", "İstanbul", "ΣΊΣΥΦΟΣ", "ÉCOLE", "Ωmega", "plain ascii", "100% Ü_Ö"]
# pattern -> names it matches case-insensitively as a substring
CONTAINS: dict[str, set[str]] = {
    "ünï": {"Ünïcode Ärger"},
    "ÄRGER": {"Ünïcode Ärger"},
    "STRAßE": {"straße"},
    "STRASSE": set(),  # PostgreSQL does not expand ß
    "istanbul": {"İstanbul"},
    "σίσυφοσ": {"ΣΊΣΥΦΟΣ"},  # a final capital sigma lowers to the ordinary small one
    "école": {"ÉCOLE"},
    "ωMEGA": {"Ωmega"},
    "ü_ö": {"100% Ü_Ö"},  # wildcards stay literal
    "PLAIN": {"plain ascii"},
}


async def seeded(db: Backend) -> None:
    users = [
        User(username=f"u{index}", email=f"u{index}@example.com", full_name=name) for index, name in enumerate(NAMES)
    ]
    await db.call(db.adapter.bulk_create, users)


async def skip_unless_the_server_folds(db: Backend) -> None:
    if db.is_postgres:
        folds = (await db.call(db.adapter.execute, text("SELECT lower('Ü') = 'ü'"))).scalar()
        if not folds:
            pytest.skip("this PostgreSQL server's LC_CTYPE folds ASCII only")


async def names(db: Backend, condition: Any) -> set[str]:
    found = await db.call(db.adapter.scalars, select(User.full_name).where(condition))
    return set(found.all())


async def test_every_case_insensitive_route_folds_unicode(db: Backend) -> None:
    await seeded(db)
    await skip_unless_the_server_folds(db)
    column = User.full_name
    for pattern, expected in CONTAINS.items():
        for operation in (Op.ILIKE, Op.CONTAINS):
            query = apply_filter(select(User.full_name), column, pattern, operation)
            assert set((await db.call(db.adapter.scalars, query)).all()) == expected, (pattern, operation)
        escaped = pattern.replace("%", "\\%").replace("_", "\\_")
        assert await names(db, column.ilike(f"%{escaped}%", escape="\\")) == expected, pattern
        assert await names(db, column.icontains(pattern, autoescape=True)) == expected, pattern
        assert await names(db, column.not_ilike(f"%{escaped}%", escape="\\")) == set(NAMES) - expected, pattern
    assert await names(db, column.istartswith("üNÏ")) == {"Ünïcode Ärger"}
    assert await names(db, column.iendswith("ÄRGER")) == {"Ünïcode Ärger"}
    assert await names(db, column.ilike("é%")) == {"ÉCOLE"}


async def test_store_filters_fold_unicode(db: Backend) -> None:
    await seeded(db)
    await skip_unless_the_server_folds(db)
    store = AsyncStore(db.adapter, User) if db.is_async else Store(db.adapter, User)
    found = await db.call(store.search, filters=[("full_name", "ilike", "ÄRGER")])
    assert [user.full_name for user in found] == ["Ünïcode Ärger"]
    assert await db.call(store.count, filters=[("full_name", Op.CONTAINS, "ISTANBUL")]) == 1


async def test_hand_written_lower_keeps_sqlites_own_function(db: Backend) -> None:
    """Only the ILIKE family changes; func.lower() is the database's (ASCII-only on SQLite)."""
    await seeded(db)
    lowered = (await db.call(db.adapter.scalars, select(func.lower(User.full_name)).where(User.username == "u0"))).one()
    assert lowered == (
        "ünïcode ärger" if db.is_postgres else "Ünïcode Ärger".lower().replace("ü", "Ü").replace("ä", "Ä")
    )


def test_the_folding_function() -> None:
    assert unicode_lower("ÜNÏ") == "ünï"
    assert unicode_lower("İ") == "i"  # not "i" + combining dot
    assert unicode_lower("ΣΟΦΟΣ") == "σοφοσ"  # no final-sigma rule
    assert unicode_lower(None) is None
    assert unicode_lower(12) == "12"
    assert unicode_lower(b"ABC") == "abc"
