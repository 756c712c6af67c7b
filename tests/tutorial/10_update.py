import logging
from uuid import UUID

from archipy_lite.adapters.postgres.sqlalchemy.adapters import PostgresSQLAlchemyAdapter
from archipy_lite.models.errors import DatabaseQueryError, NotFoundError

logger = logging.getLogger(__name__)

adapter = PostgresSQLAlchemyAdapter()


def update_user_email(user_id: UUID, new_email: str) -> User:
    """Update a user's email address.

    Args:
        user_id: UUID of the user to update.
        new_email: New email address.

    Returns:
        The updated User entity.

    Raises:
        NotFoundError: If the user does not exist.
        DatabaseQueryError: If the database operation fails.
    """
    try:
        user = adapter.get_by_uuid(User, user_id)
    except DatabaseQueryError as e:
        logger.error(f"Failed to fetch user for update: {e}")
        raise
    if user is None:
        raise NotFoundError()
    try:
        user.email = new_email
        session = adapter.get_session()
        session.flush()
    except DatabaseQueryError as e:
        logger.error(f"Failed to update user {user_id}: {e}")
        raise
    logger.info(f"Updated email for user uuid={user_id}")
    return user
