import logging
from uuid import UUID

from archipy_lite.adapters.postgres.sqlalchemy.adapters import PostgresSQLAlchemyAdapter
from archipy_lite.models.errors import DatabaseQueryError, NotFoundError

logger = logging.getLogger(__name__)

adapter = PostgresSQLAlchemyAdapter()


def delete_user(user_id: UUID) -> None:
    """Delete a user by UUID.

    Args:
        user_id: UUID of the user to delete.

    Raises:
        NotFoundError: If the user does not exist.
        DatabaseQueryError: If the database operation fails.
    """
    try:
        user = adapter.get_by_uuid(User, user_id)
    except DatabaseQueryError as e:
        logger.error(f"Failed to fetch user for deletion: {e}")
        raise
    if user is None:
        raise NotFoundError()
    try:
        adapter.delete(user)
    except DatabaseQueryError as e:
        logger.error(f"Failed to delete user {user_id}: {e}")
        raise
    logger.info(f"Deleted user uuid={user_id}")
