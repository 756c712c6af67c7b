from archipy_lite.adapters.postgres.sqlalchemy.adapters import PostgresSQLAlchemyAdapter
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig

custom_config = PostgresSQLAlchemyConfig(HOST="pg.internal", PORT=5432, DATABASE="mydb")
adapter = PostgresSQLAlchemyAdapter(orm_config=custom_config)
