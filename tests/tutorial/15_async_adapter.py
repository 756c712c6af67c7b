import asyncio
import logging

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter
from archipy_lite.models.errors import DatabaseConnectionError, DatabaseQueryError

logger = logging.getLogger(__name__)


async def main() -> None:
    try:
        adapter = AsyncPostgresSQLAlchemyAdapter()
    except (DatabaseConnectionError, DatabaseQueryError) as e:
        logger.error(f"Failed to create async adapter: {e}")
        raise
    else:
        logger.info("Async PostgreSQL adapter initialised")


asyncio.run(main())
