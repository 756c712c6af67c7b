"""Writing ``[tool.archipy-lite]`` into a project's pyproject.toml (``db init``)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from archipy_lite.migrations.settings import TOOL_TABLE, MigrationSettings


def _table_text(settings: MigrationSettings) -> str:
    directory = settings.directory
    if directory.is_relative_to(settings.project_dir):
        directory = directory.relative_to(settings.project_dir)
    metadata = (
        f'metadata = "{settings.metadata}"'
        if settings.metadata
        else '# metadata = "myapp.models:BaseEntity.metadata"  # where the models live (module:attribute)'
    )
    return f'\n[tool.{TOOL_TABLE}]\n{metadata}\nmigrations = "{directory.as_posix()}"\n'


def ensure_tool_table(settings: MigrationSettings) -> list[str]:
    """Append the table to pyproject.toml unless it is there; returns what to tell the user."""
    pyproject = settings.project_dir / "pyproject.toml"
    table = _table_text(settings)
    if not pyproject.is_file():
        return [f"No pyproject.toml in {settings.project_dir}; create one with:{table}"]
    text = pyproject.read_text(encoding="utf-8")
    if TOOL_TABLE in tomllib.loads(text).get("tool", {}):
        return [f"{pyproject} already has [tool.{TOOL_TABLE}]; left unchanged"]
    separator = "" if text.endswith("\n") or not text else "\n"
    Path(pyproject).write_text(text + separator + table, encoding="utf-8")
    hint = "" if settings.metadata else " (set metadata there)"
    return [f"Added [tool.{TOOL_TABLE}] to {pyproject}{hint}"]
