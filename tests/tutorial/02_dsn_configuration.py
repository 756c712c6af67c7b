from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig

# DSN is parsed and individual fields (HOST, PORT, DATABASE, etc.) are populated
pg_config = PostgresSQLAlchemyConfig(
    POSTGRES_DSN="postgresql+psycopg://myuser:secret@localhost:5432/mydb"
)
