from archipy_lite.adapters.postgres.sqlalchemy.adapters import PostgresSQLAlchemyAdapter
from archipy_lite.models.entities.sqlalchemy.base_entities import BaseEntity

adapter = PostgresSQLAlchemyAdapter()

# Create all tables registered in the metadata
BaseEntity.metadata.create_all(adapter.session_manager.engine)
