"""Stores: create / retrieve / count / search / update / replace / delete / upsert over a port."""

from archipy_lite.stores.health import HealthReport, async_health_check, health_check
from archipy_lite.stores.naming import database_name
from archipy_lite.stores.recreate import async_recreate_all
from archipy_lite.stores.session_context import SessionContext, recreate_all, transaction
from archipy_lite.stores.store import AsyncStore, Store
from archipy_lite.stores.store_operations import FieldChange, UpdateResult

__all__ = [
    "AsyncStore",
    "FieldChange",
    "HealthReport",
    "SessionContext",
    "Store",
    "UpdateResult",
    "async_health_check",
    "async_recreate_all",
    "database_name",
    "health_check",
    "recreate_all",
    "transaction",
]
