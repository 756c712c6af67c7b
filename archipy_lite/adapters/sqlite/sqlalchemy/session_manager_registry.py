"""ArchiPy's ``SQLiteSessionManagerRegistry`` (see ``adapters.base.sqlalchemy.session_manager_registry``)."""

from archipy_lite.adapters.base.sqlalchemy.session_manager_registry import SessionManagerRegistry


class SQLiteSessionManagerRegistry(SessionManagerRegistry):
    """The default SQLite session managers."""

    kind = "sqlite"
