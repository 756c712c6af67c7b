import logging
from uuid import UUID

from archipy_lite.adapters.postgres.sqlalchemy.adapters import PostgresSQLAlchemyAdapter
from archipy_lite.models.errors import DatabaseQueryError, NotFoundError

logger = logging.getLogger(__name__)

adapter = PostgresSQLAlchemyAdapter()


def get_user(user_id: UUID) -> User:
    """Retrieve a user by UUID.

    Args:
        user_id: The user's UUID.

    Returns:
        The User entity.

    Raises:
        NotFoundError: If no user with the given UUID exists.
        DatabaseQueryError: If the database operation fails.
    """
    try:
        user = adapter.get_by_uuid(User, user_id)
    except DatabaseQueryError as e:
        logger.error(f"Failed to fetch user {user_id}: {e}")
        raise
    if user is None:
        raise NotFoundError()
    return user
