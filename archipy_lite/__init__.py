"""archipy_lite: ports-and-adapters persistence on SQLAlchemy 2.x."""
