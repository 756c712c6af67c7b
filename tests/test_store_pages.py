"""Stores: search_page, default orders, microcosm's offset/limit and count, and iterate read by key.

Over the backend matrix: a ``Store`` for sync adapters, an ``AsyncStore`` for async ones.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from archipy_lite.models.dtos.pagination_dto import CursorPaginationDTO, OffsetPaginationDTO, PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO, SortSpec
from archipy_lite.models.errors import InvalidArgumentError
from archipy_lite.stores import AsyncStore, Store

from backends import Backend
from db_checks import committed_usernames
from models import Post, User

BY_NAME_THEN_NEWEST = [SortDTO(field="full_name", order="asc"), SortDTO(field="created_at", order="desc")]


class SortedUsers(Store[User]):
    auto_filter_fields = ("full_name",)
    default_order: ClassVar[SortSpec] = BY_NAME_THEN_NEWEST


class AsyncSortedUsers(AsyncStore[User]):
    auto_filter_fields = ("full_name",)
    default_order: ClassVar[SortSpec] = BY_NAME_THEN_NEWEST


def store_of(db: Backend, sorted_by_default: bool = True) -> Any:
    if sorted_by_default:
        return AsyncSortedUsers(db.adapter, User) if db.is_async else SortedUsers(db.adapter, User)
    return AsyncStore(db.adapter, User) if db.is_async else Store(db.adapter, User)


async def collect(db: Backend, rows: Any) -> list[Any]:
    if db.is_async:
        return [item async for item in rows]
    return list(rows)


async def seed(db: Backend, count: int = 9) -> list[User]:
    users = [
        User(username=f"user{index:02d}", email=f"u{index}@example.com", full_name=["ann", "bob", None][index % 3])
        for index in range(count)
    ]
    created: list[User] = await db.call(db.adapter.bulk_create, users)
    return created


def by_name_then_newest(users: list[User]) -> list[str]:
    newest_first = sorted(users, key=lambda user: (user.created_at, user.uuid), reverse=True)
    # full_name ascending with NULLs last; created_at descending; ties by uuid ascending
    ordered = sorted(newest_first, key=lambda user: (user.full_name is None, user.full_name or ""))
    return [user.username for user in ordered]


async def test_a_store_pages_in_its_default_order_by_cursor(db: Backend) -> None:
    users = await seed(db)
    for user in users:  # distinct created_at values, so the expected order is fully known
        await db.call(
            db.adapter.execute, User.__table__.update().where(User.uuid == user.uuid).values(created_at=user.created_at)
        )
    store = store_of(db)
    expected = by_name_then_newest(users)
    first = await db.call(store.search_page, pagination=CursorPaginationDTO(page_size=4))
    second = await db.call(store.search_page, pagination=CursorPaginationDTO(page_size=4, cursor=first.next_cursor))
    third = await db.call(store.search_page, pagination=CursorPaginationDTO(page_size=4, cursor=second.next_cursor))
    assert [user.username for page in (first, second, third) for user in page.items] == expected
    assert third.next_cursor is None
    assert [user.username for user in await db.call(store.search)] == expected
    filtered = await db.call(store.search_page, full_name="ann", include_total=True)
    assert filtered.total == 3
    assert [user.full_name for user in filtered.items] == ["ann"] * 3
    assert db.checked_out() == 0


async def test_offset_and_limit_as_microcosm_passes_them(db: Backend) -> None:
    users = await seed(db)
    store = store_of(db)
    expected = by_name_then_newest(users)
    assert [user.username for user in await db.call(store.search, offset=2, limit=3)] == expected[2:5]
    assert [user.username for user in await db.call(store.search, limit=2)] == expected[:2]
    page = await db.call(store.search_page, offset=6, limit=5)
    assert ([user.username for user in page.items], page.offset, page.total) == (expected[6:], 6, 9)
    window = OffsetPaginationDTO(offset=1, limit=1)
    assert [user.username for user in await db.call(store.search, pagination=window)] == expected[1:2]
    with pytest.raises(InvalidArgumentError):
        await db.call(store.search, pagination=PaginationDTO(), offset=3)
    with pytest.raises(InvalidArgumentError):
        await db.call(store.search, limit=0)


async def test_count_accepts_and_ignores_pagination_and_sort(db: Backend) -> None:
    await seed(db)
    store = store_of(db)
    assert await db.call(store.count, offset=5, limit=2) == 9
    assert await db.call(store.count, pagination=PaginationDTO(page=3, page_size=2), sort=BY_NAME_THEN_NEWEST) == 9
    assert await db.call(store.count, pagination=CursorPaginationDTO(cursor="whatever"), full_name="bob") == 3


async def test_a_default_order_naming_an_unknown_column_fails_at_construction(db: Backend) -> None:
    base = AsyncStore if db.is_async else Store

    class Broken(base):  # type: ignore[misc, valid-type]
        default_order = SortDTO(field="nope")

    with pytest.raises(InvalidArgumentError, match="nope"):
        Broken(db.adapter, User)


async def test_paging_a_store_sorts_by_the_primary_key_without_an_order(db: Backend) -> None:
    users = await seed(db, 7)
    store = store_of(db, sorted_by_default=False)
    by_key = [user.username for user in sorted(users, key=lambda user: user.uuid)]
    page = await db.call(store.search_page, pagination=CursorPaginationDTO(page_size=5))
    rest = await db.call(store.search_page, pagination=CursorPaginationDTO(page_size=5, cursor=page.next_cursor))
    assert [user.username for user in [*page.items, *rest.items]] == by_key
    paged = [
        user.username
        for number in (1, 2)
        for user in await db.call(store.search, pagination=PaginationDTO(page=number, page_size=4))
    ]
    assert paged == by_key


# --- iterate reads by key: the loop body may use the library (issue 12, item 5)


async def test_the_body_of_an_iterate_loop_can_read_and_write(db: Backend) -> None:
    users = await seed(db, 25)
    store = store_of(db, sorted_by_default=False)
    visited: list[str] = []
    rows = store.iterate(batch_size=10)
    async for user in _each(db, rows):
        visited.append(user.username)
        await db.call(store.update, user.uuid, full_name=f"seen {user.username}")
        assert (await db.call(store.retrieve, user.uuid)).full_name == f"seen {user.username}"
        if len(visited) % 10 == 5:  # new rows, reads and counts between batches
            await db.call(store.create, User(username=f"zz-new-{len(visited)}", email=f"new{len(visited)}@example.com"))
            assert await db.call(store.count) >= 25
            assert db.checked_out() == 0
    originals = sorted(user.username for user in users)
    assert sorted(name for name in visited if not name.startswith("zz-new")) == originals
    assert len(visited) == len(set(visited))
    stored = {user.username: user.full_name for user in await db.call(store.search, User.username.in_(originals))}
    assert stored == {name: f"seen {name}" for name in originals}
    assert set(originals) <= await committed_usernames(db)
    assert db.checked_out() == 0


async def test_iterate_inside_an_atomic_block_with_writes_in_the_loop(db: Backend) -> None:
    users = await seed(db, 12)
    store = store_of(db)
    async with db.atomic():
        async for user in _each(db, store.iterate(batch_size=5)):
            await db.call(store.update, user.uuid, email=f"changed-{user.email}")
            await db.call(db.adapter.create, Post(title="t", content="c", author_id=user.uuid))
    emails = {user.email for user in await db.call(store.search)}
    assert emails == {f"changed-{user.email}" for user in users}
    assert await db.call(Store(db.adapter, Post).count if not db.is_async else AsyncStore(db.adapter, Post).count) == 12
    assert db.checked_out() == 0


async def test_iterate_walks_several_sort_keys_with_nulls(db: Backend) -> None:
    users = await seed(db, 11)
    store = store_of(db)
    streamed = await collect(db, store.iterate(batch_size=2))
    assert [user.username for user in streamed] == by_name_then_newest(users)
    descending = await collect(db, store.iterate(sort=SortDTO(field="username", order="desc"), batch_size=3))
    assert [user.username for user in descending] == sorted((user.username for user in users), reverse=True)
    for bad in (0, -1, True, "10"):
        with pytest.raises(InvalidArgumentError):
            await collect(db, store.iterate(batch_size=bad))


async def _each(db: Backend, rows: Any) -> Any:
    """Iterate a sync or async store iterator from async test code, one row at a time."""
    if db.is_async:
        async for item in rows:
            yield item
    else:
        for item in rows:
            yield item
