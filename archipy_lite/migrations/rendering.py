"""Autogenerate hooks: scripts import every type they name, and boolean defaults stay portable."""

from __future__ import annotations

from typing import Any

from sqlalchemy.sql.elements import False_, True_
from sqlalchemy.types import TypeEngine


def import_user_types(type_: str, obj: Any, autogen_context: Any) -> bool:
    """``render_item`` hook: add ``import <module>`` for types from outside SQLAlchemy.

    Alembic renders such a type by its full module path (e.g.
    ``archipy_lite.models.entities.sqlalchemy.column_types.UTCDateTime()``) but imports nothing;
    the script would fail with NameError. Returning False keeps Alembic's own rendering.
    """
    if type_ == "type" and isinstance(obj, TypeEngine):
        for cls in _rendered_classes(obj):
            module = cls.__module__
            if module != "builtins" and not module.startswith("sqlalchemy"):
                autogen_context.imports.add(f"import {module}")
    return False


def portable_boolean_default(type_: str, obj: Any, _autogen_context: Any) -> str | bool:
    """``render_item`` hook: ``server_default=false()`` stays ``sa.false()``.

    Alembic would compile it for the database at hand (``'0'`` on SQLite), and the script
    would then fail on PostgreSQL, where a boolean column does not take an integer default.
    """
    if type_ == "server_default":
        argument = getattr(obj, "arg", None)
        if isinstance(argument, False_):
            return "sa.false()"
        if isinstance(argument, True_):
            return "sa.true()"
    return False


def _rendered_classes(obj: TypeEngine[Any]) -> list[type]:
    """The type's class, plus the classes of its variants and of an ARRAY's item type."""
    classes: list[type] = [type(obj)]
    for variant in getattr(obj, "_variant_mapping", {}).values():
        classes.extend(_rendered_classes(variant))
    item_type = getattr(obj, "item_type", None)
    if isinstance(item_type, TypeEngine):
        classes.extend(_rendered_classes(item_type))
    return classes


def chain_render_item(user_hook: Any) -> Any:
    """Our hooks, then the project's own ``render_item`` hook, if any (its answer wins)."""

    def render_item(type_: str, obj: Any, autogen_context: Any) -> Any:
        import_user_types(type_, obj, autogen_context)
        rendered = user_hook(type_, obj, autogen_context) if user_hook is not None else False
        return rendered if rendered is not False else portable_boolean_default(type_, obj, autogen_context)

    return render_item
