import logging

from sqlalchemy import text

from archipy_lite.adapters.postgres.sqlalchemy.adapters import PostgresSQLAlchemyAdapter
from archipy_lite.models.errors import DatabaseQueryError

logger = logging.getLogger(__name__)

adapter = PostgresSQLAlchemyAdapter()


def count_active_users() -> int:
    """Count users created in the last 30 days.

    Returns:
        Number of recently created users.

    Raises:
        DatabaseQueryError: If the query fails.
    """
    sql = text("SELECT COUNT(*) FROM users WHERE created_at > NOW() - INTERVAL '30 days'")
    try:
        result = adapter.execute(sql)
        count = result.scalar_one()
    except DatabaseQueryError as e:
        logger.error(f"Count query failed: {e}")
        raise
    logger.info(f"Active users in last 30 days: {count}")
    return int(count)
