"""A model on ``BaseEntity`` keeps the ``uuid`` key unless it says otherwise.

Declaring another primary-key column next to the inherited ``uuid`` would silently make a composite
key ``(uuid, id)``: foreign keys to ``id`` alone fail at ``create_all`` and ``Session.get`` wants two
values. So such a class is refused when it is defined, unless its body names ``uuid`` itself:
``uuid = None`` drops the inherited column (the model's own key replaces it), and
``uuid = mapped_column(..., primary_key=True)`` asks for the composite key on purpose.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, PrimaryKeyConstraint
from sqlalchemy.orm import MappedColumn

from archipy_lite.models.errors import ConfigurationError


def _is_primary_key(value: Any) -> bool:
    column = value.column if isinstance(value, MappedColumn) else value
    return isinstance(column, Column) and bool(column.primary_key)


def declared_primary_key(cls: type[Any]) -> list[str]:
    """Primary-key columns the class body (or a plain mixin) declares, not counting ``uuid``."""
    names: list[str] = []
    for owner in cls.__mro__:
        declarative = owner is object or getattr(owner, "registry", None) is not None
        if owner is not cls and declarative:
            continue  # entity classes were checked when they were defined; plain mixins are checked here
        names += [name for name, value in vars(owner).items() if name != "uuid" and _is_primary_key(value)]
    table_args = vars(cls).get("__table_args__", ())
    for item in table_args if isinstance(table_args, tuple) else ():
        if isinstance(item, PrimaryKeyConstraint):
            names += [str(getattr(column, "key", column)) for column in item._pending_colargs]
    if vars(cls).get("__mapper_args__", {}).get("primary_key") is not None:
        names.append("__mapper_args__['primary_key']")
    return sorted(set(names))


def has_uuid_key(cls: type[Any]) -> bool:
    """Whether ``cls`` keeps a ``uuid`` column: the nearest class that names ``uuid`` did not set it to None."""
    for owner in cls.__mro__:
        if "uuid" in vars(owner):
            return vars(owner)["uuid"] is not None
    return False


def check_primary_key(cls: type[Any]) -> None:
    """Refuse a class that would get ``(uuid, <its own key>)`` as its primary key by accident.

    Raises:
        ConfigurationError: naming the class, its key columns, and the two ways out.
    """
    if vars(cls).get("__abstract__") or "uuid" in vars(cls) or not has_uuid_key(cls):
        return
    own = declared_primary_key(cls)
    if own:
        raise ConfigurationError(
            f"{cls.__name__} declares its own primary key ({', '.join(own)}) on top of BaseEntity's uuid, "
            f"which would make the composite key (uuid, {', '.join(own)}). Replace the key with `uuid = None` "
            "in the class body, or keep uuid as the only key (drop primary_key=True).",
            details={"entity": cls.__name__, "fields": own},
        )
