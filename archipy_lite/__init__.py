"""archipy_lite: ports-and-adapters persistence on SQLAlchemy 2.x."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    __version__: str  # read from the installed distribution on first use (see _version)

    from archipy_lite.adapters.base.sqlalchemy.atomic import Atomic, atomic, on_commit
    from archipy_lite.adapters.base.sqlalchemy.unit_of_work import UnitOfWork, unit_of_work

# Imported on first use, so ``import archipy_lite`` stays cheap.
_LAZY = {
    "Atomic": "archipy_lite.adapters.base.sqlalchemy.atomic",
    "atomic": "archipy_lite.adapters.base.sqlalchemy.atomic",
    "on_commit": "archipy_lite.adapters.base.sqlalchemy.atomic",
    "UnitOfWork": "archipy_lite.adapters.base.sqlalchemy.unit_of_work",
    "unit_of_work": "archipy_lite.adapters.base.sqlalchemy.unit_of_work",
}

__all__ = ["Atomic", "UnitOfWork", "atomic", "on_commit", "unit_of_work"]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from archipy_lite._version import installed_version

        return installed_version()
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'archipy_lite' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
