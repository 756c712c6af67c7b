"""Test helpers for archipy_lite and its users: PostgreSQL provisioning and a pytest plugin.

Enable the fixtures with ``pytest_plugins = ["archipy_lite.testing.pytest_plugin"]`` in a ``conftest.py``.
"""

from archipy_lite.testing.postgres import (
    DSN_ENV_VAR,
    POSTGRES_IMAGE,
    SOURCES_ENV_VAR,
    PostgresDriver,
    PostgresUnavailableError,
    docker_engine_available,
    free_tcp_port,
    mask_dsn,
    postgres_server,
    temporary_database,
    with_driver,
)
from archipy_lite.testing.replication import PostgresNode, ReplicatedCluster, replicated_cluster

__all__ = [
    "DSN_ENV_VAR",
    "POSTGRES_IMAGE",
    "SOURCES_ENV_VAR",
    "PostgresDriver",
    "PostgresNode",
    "PostgresUnavailableError",
    "ReplicatedCluster",
    "docker_engine_available",
    "free_tcp_port",
    "mask_dsn",
    "postgres_server",
    "replicated_cluster",
    "temporary_database",
    "with_driver",
]
