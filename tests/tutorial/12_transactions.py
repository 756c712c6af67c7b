import logging

from archipy_lite.helpers.decorators.sqlalchemy_atomic import postgres_sqlalchemy_atomic_decorator
from archipy_lite.models.errors import AlreadyExistsError, DatabaseQueryError

logger = logging.getLogger(__name__)

adapter = PostgresSQLAlchemyAdapter()


@postgres_sqlalchemy_atomic_decorator
def create_user_with_post(username: str, email: str, post_title: str, post_content: str) -> tuple[User, Post]:
    """Create a user and their first post atomically.

    If any part fails, the entire transaction is rolled back automatically.

    Args:
        username: User's username.
        email: User's email address.
        post_title: Title of the initial post.
        post_content: Content of the initial post.

    Returns:
        Tuple of (User, Post) created together.

    Raises:
        AlreadyExistsError: If a user with the same username or email exists.
        DatabaseQueryError: If a database error occurs.
    """
    try:
        user = adapter.create(User(username=username, email=email))
        post = adapter.create(Post(title=post_title, content=post_content, author_id=user.uuid))
    except AlreadyExistsError:
        logger.warning(f"User {username} already exists")
        raise
    except DatabaseQueryError as e:
        logger.error(f"Transaction failed: {e}")
        raise
    logger.info(f"Created user={user.uuid} and post={post.uuid}")
    return user, post
