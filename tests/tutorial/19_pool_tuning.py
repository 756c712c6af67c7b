from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig

# High-concurrency web API
api_config = PostgresSQLAlchemyConfig(
    HOST="localhost",
    PORT=5432,
    DATABASE="mydb",
    USERNAME="myuser",
    PASSWORD="secret",
    POOL_SIZE=20,  # Keep 20 persistent connections open
    POOL_MAX_OVERFLOW=10,  # Allow up to 10 additional overflow connections
    POOL_TIMEOUT=5,  # Fail fast if pool is exhausted (5 s)
    POOL_RECYCLE_SECONDS=300,  # Recycle connections every 5 min (avoids stale TCP)
    POOL_PRE_PING=True,  # Validate connections before use
    POOL_USE_LIFO=True,  # LIFO: reuse warm connections, keep cold ones idle
)

# Batch/worker process — smaller pool
worker_config = PostgresSQLAlchemyConfig(
    HOST="localhost",
    PORT=5432,
    DATABASE="mydb",
    USERNAME="myuser",
    PASSWORD="secret",
    POOL_SIZE=5,
    POOL_MAX_OVERFLOW=2,
    POOL_TIMEOUT=30,
)
