"""A failed call outside atomic blocks must not spoil entities returned by earlier calls."""

from typing import Any

import pytest
from sqlalchemy import event

from archipy_lite.models.errors import AlreadyExistsError

from backends import Backend
from models import User


def count_selects(backend: Backend) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(backend.sync_engine, "before_cursor_execute", record)
    return seen


async def test_failed_call_keeps_earlier_entities_loaded(db: Backend) -> None:
    first = await db.call(db.adapter.create, User(username="first", email="first@example.com"))
    with pytest.raises(AlreadyExistsError):
        await db.call(db.adapter.create, User(username="first", email="other@example.com"))
    selects = count_selects(db)
    # Reading it inside another block must neither query nor wait on a lock (SQLite) or the pool.
    async with db.atomic():
        await db.call(db.adapter.create, User(username="second", email="second@example.com"))
        assert (first.username, first.email) == ("first", "first@example.com")
        assert first.updated_at is not None
    assert selects == []
    assert db.checked_out() == 0


async def test_entities_changed_in_the_failed_call_are_refreshed(db: Backend) -> None:
    user = await db.call(db.adapter.create, User(username="ann", email="ann@example.com"))
    await db.call(db.adapter.create, User(username="bob", email="bob@example.com"))
    user.email = "bob@example.com"  # collides: the flush fails and is rolled back
    with pytest.raises(AlreadyExistsError):
        await db.flush()
    reloaded = await db.call(db.adapter.get_by_uuid, User, user.uuid)
    assert reloaded.email == "ann@example.com"
    assert db.checked_out() == 0
