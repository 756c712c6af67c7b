"""``archipy-lite dataset ...`` sub-commands (filled in once data sets land)."""

from __future__ import annotations

import argparse
from typing import Any


def add_dataset_commands(commands: Any) -> None:
    """Register ``dataset build|dump|info`` on the top-level sub-parser collection."""
    _ = commands, argparse
