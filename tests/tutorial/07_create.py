import logging

from archipy_lite.adapters.postgres.sqlalchemy.adapters import PostgresSQLAlchemyAdapter
from archipy_lite.models.errors import AlreadyExistsError, DatabaseQueryError

logger = logging.getLogger(__name__)

adapter = PostgresSQLAlchemyAdapter()


def create_user(username: str, email: str, full_name: str) -> User:
    """Create a new user.

    Args:
        username: Unique username.
        email: Unique email address.
        full_name: Display name.

    Returns:
        The created User entity (with UUID and timestamps populated).

    Raises:
        AlreadyExistsError: If a user with the same username or email exists.
        DatabaseQueryError: If the database operation fails.
    """
    try:
        user = User(username=username, email=email, full_name=full_name)
        result = adapter.create(user)
    except AlreadyExistsError:
        logger.warning(f"User already exists: {username}")
        raise
    except DatabaseQueryError as e:
        logger.error(f"Failed to create user {username}: {e}")
        raise
    else:
        logger.info(f"Created user uuid={result.uuid}")
        return result
