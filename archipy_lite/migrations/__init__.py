"""Schema migrations on Alembic (the ``migrations`` extra): ``archipy-lite db`` and this Python API.

```python
from archipy_lite import migrations

migrations.upgrade(adapter, "head")       # at start-up, or in a test fixture
assert migrations.check(adapter) == []    # the database is at head and matches the models
```

Importing this package needs no Alembic; calling a function without it raises
``ConfigurationError`` naming the extra.
"""

from archipy_lite.migrations.api import async_check, async_downgrade, async_upgrade, check, downgrade, upgrade
from archipy_lite.migrations.settings import MigrationSettings, load_settings

__all__ = [
    "MigrationSettings",
    "async_check",
    "async_downgrade",
    "async_upgrade",
    "check",
    "downgrade",
    "load_settings",
    "upgrade",
]
