import asyncio
import logging

from archipy_lite.helpers.decorators.sqlalchemy_atomic import async_postgres_sqlalchemy_atomic_decorator
from archipy_lite.models.errors import DatabaseQueryError

logger = logging.getLogger(__name__)

adapter = AsyncPostgresSQLAlchemyAdapter()


@async_postgres_sqlalchemy_atomic_decorator
async def async_create_user_with_post(username: str, email: str, title: str) -> tuple[User, Post]:
    """Create a user and a post asynchronously in a single transaction.

    Args:
        username: User's username.
        email: User's email address.
        title: Title of the initial post.

    Returns:
        Tuple of (User, Post).

    Raises:
        DatabaseQueryError: If the database operation fails.
    """
    try:
        user = await adapter.create(User(username=username, email=email))
        post = await adapter.create(Post(title=title, content="...", author_id=user.uuid))
    except DatabaseQueryError as e:
        logger.error(f"Async transaction failed: {e}")
        raise
    logger.info(f"Async created user={user.uuid} post={post.uuid}")
    return user, post


asyncio.run(async_create_user_with_post("bob_async", "bob@example.com", "Hello World"))
