import logging

from archipy_lite.adapters.base.sqlalchemy.adapters import (
    SQLAlchemyFilterMixin,
    SQLAlchemyPaginationMixin,
    SQLAlchemySortMixin,
)
from archipy_lite.adapters.postgres.sqlalchemy.adapters import PostgresSQLAlchemyAdapter
from archipy_lite.models.errors import DatabaseConnectionError, DatabaseQueryError

logger = logging.getLogger(__name__)


class UserPostgresAdapter(PostgresSQLAlchemyAdapter, SQLAlchemyFilterMixin, SQLAlchemyPaginationMixin,
                          SQLAlchemySortMixin):
    """PostgreSQL adapter with filter, pagination, and sort query capabilities for the User domain."""


# Uses global config (BaseConfig.global_config().POSTGRES_SQLALCHEMY)
try:
    adapter = UserPostgresAdapter()
except (DatabaseConnectionError, DatabaseQueryError) as e:
    logger.error(f"Failed to create PostgreSQL adapter: {e}")
    raise
else:
    logger.info("PostgreSQL adapter initialised")
