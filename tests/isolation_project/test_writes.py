"""200 tests that write (half sync, half async) and must never see each other's rows."""

import pytest
from conftest import Member, Team
from sqlalchemy import func, select

COUNT = 100


@pytest.mark.parametrize("n", range(COUNT))
def test_sync_writes(db, n):
    me = f"sync-{n}"
    db.create(Team(id=1, test=me))  # the same keys in every test: any leftover row would collide
    db.create(Member(id=1, team_id=1, email="same@example.com", test=me))
    assert db.execute(select(func.count()).select_from(Member).where(Member.test != me)).scalar_one() == 0


@pytest.mark.parametrize("n", range(COUNT))
async def test_async_writes(adb, n):
    me = f"async-{n}"
    await adb.create(Team(id=1, test=me))
    await adb.create(Member(id=1, team_id=1, email="same@example.com", test=me))
    assert (await adb.execute(select(func.count()).select_from(Team).where(Team.test != me))).scalar_one() == 0
