"""Alembic environment: archipy_lite connects (sync or async) and runs the migrations.

Extra ``context.configure`` options go to ``run_migrations``, e.g.
``run_migrations(include_object=my_filter, compare_server_default=True)``.
"""

from archipy_lite.migrations.environment import run_migrations

run_migrations()
