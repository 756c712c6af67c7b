import logging
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select

from archipy_lite.adapters.postgres.sqlalchemy.adapters import PostgresSQLAlchemyAdapter
from archipy_lite.adapters.base.sqlalchemy.ports import SQLAlchemyPort
from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.errors import DatabaseQueryError, NotFoundError
from archipy_lite.models.types.base_types import SortOrderType

logger = logging.getLogger(__name__)


class UserRepository:
    """Repository for User entities backed by PostgreSQL.

    Args:
        adapter: SQLAlchemy port implementation to use.
    """

    def __init__(self, adapter: SQLAlchemyPort) -> None:
        self._adapter = adapter

    def save(self, user: User) -> User:
        """Persist a user.

        Args:
            user: User entity to save.

        Returns:
            The saved User with DB-populated fields.

        Raises:
            DatabaseQueryError: If the database operation fails.
        """
        try:
            return self._adapter.create(user)
        except DatabaseQueryError as e:
            logger.error(f"Failed to save user: {e}")
            raise

    def get(self, user_id: UUID) -> User:
        """Retrieve a user by UUID.

        Args:
            user_id: UUID to look up.

        Returns:
            The matching User entity.

        Raises:
            NotFoundError: If not found.
            DatabaseQueryError: If the database operation fails.
        """
        try:
            user = self._adapter.get_by_uuid(User, user_id)
        except DatabaseQueryError as e:
            logger.error(f"Failed to fetch user {user_id}: {e}")
            raise
        if user is None:
            raise NotFoundError()
        return user

    def find_by_username(self, username: str) -> User | None:
        """Find a user by username.

        Args:
            username: Username to search for.

        Returns:
            Matching User or ``None`` if not found.

        Raises:
            DatabaseQueryError: If the database operation fails.
        """
        query = select(User).where(User.username == username)
        try:
            result = self._adapter.scalars(query)
            return result.first()
        except DatabaseQueryError as e:
            logger.error(f"Failed to find user by username={username}: {e}")
            raise

    def list_paginated(self, page: int = 1, page_size: int = 20) -> tuple[Sequence[User], int]:
        """List users with pagination.

        Args:
            page: 1-based page number.
            page_size: Results per page.

        Returns:
            Tuple of (users list, total count).

        Raises:
            DatabaseQueryError: If the query fails.
        """
        pagination = PaginationDTO(page=page, page_size=page_size)
        sort_info = SortDTO(field=User.username, order=SortOrderType.ASCENDING)
        try:
            return self._adapter.execute_search_query(
                entity=User,
                query=select(User),
                pagination=pagination,
                sort_info=sort_info,
            )
        except DatabaseQueryError as e:
            logger.error(f"Paginated list failed: {e}")
            raise


# Usage
repo = UserRepository(PostgresSQLAlchemyAdapter())
user = repo.save(User(username="alice", email="alice@example.com"))
found = repo.get(user.uuid)
logger.info(f"Found: {found.username}")

users, total = repo.list_paginated(page=1, page_size=10)
logger.info(f"Total users: {total}")
