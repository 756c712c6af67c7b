"""ArchiPy's ``PostgresSessionManagerRegistry`` (see ``adapters.base.sqlalchemy.session_manager_registry``)."""

from archipy_lite.adapters.base.sqlalchemy.session_manager_registry import SessionManagerRegistry


class PostgresSessionManagerRegistry(SessionManagerRegistry):
    """The default PostgreSQL session managers."""

    kind = "postgres"
