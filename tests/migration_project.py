"""A throw-away application project for the migration tests, and a runner for its commands.

The models subclass archipy_lite's ``BaseEntity``, so every command runs in a child process:
the test process's ``BaseEntity.metadata`` never sees them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

MODELS_V1 = """
import uuid

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from archipy_lite.models.entities.sqlalchemy.base_entities import BaseEntity, UpdatableDeletableEntity


class Customer(UpdatableDeletableEntity):
    __tablename__ = "customers"
    __table_args__ = (Index(None, "name", "city"),)

    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    city: Mapped[str] = mapped_column(String(100))


class Order(BaseEntity):
    __tablename__ = "orders"

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.uuid"), index=True)
    total: Mapped[int]
"""

# A new column, a new unique constraint, a dropped index (ix_customers_name_city).
MODELS_V2 = MODELS_V1.replace('    __table_args__ = (Index(None, "name", "city"),)\n', "").replace(
    "    total: Mapped[int]\n",
    "    total: Mapped[int]\n    reference: Mapped[str | None] = mapped_column(String(40), unique=True)\n",
)

# A column that no revision creates: ``check`` must see it.
MODELS_DRIFTED = MODELS_V2.replace(
    "    city: Mapped[str] = mapped_column(String(100))\n",
    "    city: Mapped[str] = mapped_column(String(100))\n    phone: Mapped[str | None] = mapped_column(String(30))\n",
)

_RUNNER = """
import json, sys
from archipy_lite.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    results.append(main(argv))
    sys.stdout.flush()
print("EXIT CODES " + json.dumps(results))
"""


@dataclass
class Project:
    """A directory with pyproject.toml and an ``app`` package; ``run`` executes archipy-lite commands."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, root: Path, *, tool_table: str = "", env: dict[str, str] | None = None) -> Project:
        (root / "app").mkdir(parents=True)
        (root / "app" / "__init__.py").write_text("")
        (root / "pyproject.toml").write_text(f'[project]\nname = "app"\nversion = "0"\n{tool_table}')
        project = cls(root, dict(env or {}))
        project.write_models(MODELS_V1)
        return project

    def write_models(self, source: str) -> None:
        (self.root / "app" / "models.py").write_text(source)

    def run(self, *commands: list[str]) -> tuple[list[int], str]:
        """Run each command line in one child process; returns the exit codes and the output."""
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_SQLALCHEMY__", "SQLITE_SQLALCHEMY__"))
        }
        env.update(self.env)
        completed = subprocess.run(
            [sys.executable, "-c", _RUNNER, json.dumps([list(c) for c in commands])],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        output = completed.stdout + completed.stderr
        marker = "EXIT CODES "
        lines = [line for line in completed.stdout.splitlines() if line.startswith(marker)]
        assert lines, f"runner crashed:\n{output}"
        return json.loads(lines[-1][len(marker) :]), output

    def versions(self) -> list[Path]:
        return sorted((self.root / "migrations" / "versions").glob("*.py"))
