import asyncio
import logging
from uuid import UUID

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter
from archipy_lite.models.errors import DatabaseQueryError, NotFoundError

logger = logging.getLogger(__name__)

adapter = AsyncPostgresSQLAlchemyAdapter()


async def async_create_user(username: str, email: str) -> User:
    """Create a user asynchronously.

    Args:
        username: Unique username.
        email: Unique email address.

    Returns:
        The created User entity.

    Raises:
        DatabaseQueryError: If the database operation fails.
    """
    try:
        user = await adapter.create(User(username=username, email=email))
    except DatabaseQueryError as e:
        logger.error(f"Async create failed: {e}")
        raise
    else:
        logger.info(f"Async created user uuid={user.uuid}")
        return user


async def async_get_user(user_id: UUID) -> User:
    """Retrieve a user asynchronously by UUID.

    Args:
        user_id: The user's UUID.

    Returns:
        The matching User entity.

    Raises:
        NotFoundError: If no user with the given UUID exists.
        DatabaseQueryError: If the database operation fails.
    """
    try:
        user = await adapter.get_by_uuid(User, user_id)
    except DatabaseQueryError as e:
        logger.error(f"Async get failed: {e}")
        raise
    if user is None:
        raise NotFoundError()
    return user


asyncio.run(async_create_user("async_alice", "async@example.com"))
