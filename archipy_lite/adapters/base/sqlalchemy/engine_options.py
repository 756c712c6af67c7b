"""``create_engine`` arguments every dialect shares."""

from __future__ import annotations

from typing import Any

from archipy_lite.configs.config_template import SQLAlchemyConfig


def pool_arguments(config: SQLAlchemyConfig) -> dict[str, Any]:
    """Queue-pool sizing and health settings."""
    return {
        "pool_size": config.POOL_SIZE,
        "max_overflow": config.POOL_MAX_OVERFLOW,
        "pool_timeout": config.POOL_TIMEOUT,
        "pool_recycle": config.POOL_RECYCLE_SECONDS,
        "pool_pre_ping": config.POOL_PRE_PING,
        "pool_use_lifo": config.POOL_USE_LIFO,
        "pool_reset_on_return": config.POOL_RESET_ON_RETURN,
    }


def engine_arguments(config: SQLAlchemyConfig) -> dict[str, Any]:
    """Logging, statement cache and isolation settings."""
    arguments: dict[str, Any] = {
        "echo": config.ECHO,
        "echo_pool": config.ECHO_POOL,
        "hide_parameters": config.HIDE_PARAMETERS,
        "query_cache_size": config.QUERY_CACHE_SIZE,
    }
    if config.ISOLATION_LEVEL is not None:
        arguments["isolation_level"] = config.ISOLATION_LEVEL
    return arguments
