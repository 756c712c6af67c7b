"""The one place that imports Alembic (the ``migrations`` extra), and the Config it runs with."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from archipy_lite.models.errors import ConfigurationError

if TYPE_CHECKING:
    from alembic.config import Config

    from archipy_lite.migrations.settings import MigrationSettings
    from archipy_lite.migrations.target import DatabaseTarget

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE_NAME = "archipy_lite"
SETTINGS_KEY = "archipy_lite.settings"
TARGET_KEY = "archipy_lite.target"


def require_alembic() -> Any:
    """Import ``alembic``, or fail naming the extra that installs it."""
    try:
        return importlib.import_module("alembic")
    except ImportError as error:
        raise ConfigurationError(
            f"Migrations need Alembic ({error.name or error}): pip install 'archipy-lite[migrations]'",
            details={"extra": "migrations"},
        ) from None


def alembic_config(
    settings: MigrationSettings, target: DatabaseTarget | None = None, *, stdout: TextIO | None = None
) -> Config:
    """An Alembic Config for the project: our templates, the script directory, and what env.py needs.

    No ``alembic.ini`` is read: settings come from pyproject.toml and the command line, and reach
    ``env.py`` through ``Config.attributes``.
    """
    require_alembic()
    from alembic.config import Config

    class ArchipyConfig(Config):
        def get_template_directory(self) -> str:
            return str(TEMPLATES)

    options: dict[str, Any] = {} if stdout is None else {"stdout": stdout}
    config = ArchipyConfig(str(settings.directory / "alembic.ini"), **options)
    config.set_main_option("script_location", str(settings.directory))
    config.attributes[SETTINGS_KEY] = settings
    if target is not None:
        config.attributes[TARGET_KEY] = target
        if target.connection is not None:
            config.attributes["connection"] = target.connection
    return config
