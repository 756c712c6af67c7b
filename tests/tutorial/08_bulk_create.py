import logging

from archipy_lite.adapters.postgres.sqlalchemy.adapters import PostgresSQLAlchemyAdapter
from archipy_lite.models.errors import DatabaseQueryError

logger = logging.getLogger(__name__)

adapter = PostgresSQLAlchemyAdapter()


def bulk_import_users(user_data: list[dict[str, str]]) -> list[User]:
    """Import multiple users in a single flush.

    Args:
        user_data: List of dicts with ``username`` and ``email`` keys.

    Returns:
        The created User entities.

    Raises:
        DatabaseQueryError: If the bulk operation fails.
    """
    users = [User(username=d["username"], email=d["email"]) for d in user_data]
    try:
        result = adapter.bulk_create(users)
    except DatabaseQueryError as e:
        logger.error(f"Bulk create failed: {e}")
        raise
    logger.info(f"Bulk created {len(result)} users")
    return result
