import logging

from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig
from archipy_lite.models.errors import ConfigurationError

logger = logging.getLogger(__name__)

try:
    pg_config = PostgresSQLAlchemyConfig(
        HOST="localhost",
        PORT=5432,
        DATABASE="mydb",
        USERNAME="myuser",
        PASSWORD="secret",
        # Pool settings
        POOL_SIZE=20,
        POOL_MAX_OVERFLOW=5,
        POOL_TIMEOUT=30,
        POOL_RECYCLE_SECONDS=600,
        POOL_USE_LIFO=True,
        POOL_PRE_PING=True,
        # Isolation level
        ISOLATION_LEVEL="REPEATABLE READ",
    )
except Exception as e:
    logger.error(f"Invalid PostgreSQL configuration: {e}")
    raise ConfigurationError() from e
else:
    logger.info("PostgreSQL configuration created successfully")
