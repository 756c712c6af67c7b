"""The matrix itself works: every backend creates, reads and counts a row."""

from sqlalchemy import func, select

from backends import Backend
from models import User


async def test_create_and_read_back(db: Backend) -> None:
    user = await db.call(db.adapter.create, User(username="smoke", email="smoke@example.com"))
    loaded = await db.call(db.adapter.get_by_uuid, User, user.uuid)
    assert loaded is not None
    assert loaded.username == "smoke"
    count = (await db.call(db.adapter.execute, select(func.count()).select_from(User))).scalar_one()
    assert count == 1
    assert db.checked_out() == 0
