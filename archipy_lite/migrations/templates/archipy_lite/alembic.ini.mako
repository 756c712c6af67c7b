# Written by `archipy-lite db init`, which does not read it: it lets plain Alembic run these
# migrations too (`alembic -c <this file> upgrade head`). The database comes from archipy_lite's
# configuration (POSTGRES_SQLALCHEMY__* / SQLITE_SQLALCHEMY__* variables, .env), the models from
# `metadata` under [tool.archipy-lite] in pyproject.toml.

[alembic]
script_location = %(here)s
prepend_sys_path = .
path_separator = os
