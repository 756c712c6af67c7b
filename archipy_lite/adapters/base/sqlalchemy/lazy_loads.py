"""Typed errors, with a hint, for attribute loads that cannot run.

An object whose unit of work (or atomic block) has ended is detached: its loaded attributes stay
readable, an unloaded one cannot be fetched. SQLAlchemy raises ``DetachedInstanceError`` there,
and ``MissingGreenlet`` when async code touches an unloaded attribute. Every mapped class gets
its attribute loaders wrapped once, when its mapper is configured, so both arrive as
``LazyLoadError`` subclasses with a hint (the SQLAlchemy error stays chained as ``__cause__``).
Loaded attributes never pass through the wrapper.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.exc import DetachedInstanceError

from archipy_lite.models.errors import LazyLoadError


class DetachedLoadError(LazyLoadError):
    """An unloaded attribute of a detached object was read."""


class AsyncLoadError(LazyLoadError):
    """Async code read an unloaded attribute: that needs a query, which needs ``await``."""


def _hint(owner: str, key: str) -> str:
    return (
        f"{owner}.{key} is not loaded and cannot be loaded here: the object is detached (the unit "
        "of work or atomic block that loaded it has ended, or it came from a call outside any "
        "unit). Load it eagerly (select(...).options(selectinload(...)) or joinedload), or read "
        "it inside the unit_of_work that loaded the object."
    )


def _translated(load: Callable[[], Any], owner: str, key: str) -> Any:
    try:
        return load()
    except LazyLoadError:
        raise
    except DetachedInstanceError as exc:
        raise DetachedLoadError(_hint(owner, key)) from exc
    except MissingGreenlet as exc:
        raise AsyncLoadError(
            f"{owner}.{key} is not loaded; reading it needs a query, which async code must await. "
            "Load it eagerly (selectinload / joinedload) or await session.refresh(obj, [...])."
        ) from exc


_typed_classes: dict[type[Any], type[Any]] = {}


def _typed_class(impl_class: type[Any]) -> type[Any]:
    """A subclass of an attribute implementation whose ``get`` raises typed errors.

    Implementations use ``__slots__``, so the method cannot be replaced per object; an empty-slots
    subclass has the same layout, and the object's class is switched to it.
    """
    typed = _typed_classes.get(impl_class)
    if typed is None:

        def get(self: Any, state: Any, dict_: Any, *args: Any, **kwargs: Any) -> Any:
            parent_get = super(typed, self).get  # type: ignore[arg-type]
            return _translated(lambda: parent_get(state, dict_, *args, **kwargs), self.class_.__name__, self.key)

        typed = type(f"Typed{impl_class.__name__}", (impl_class,), {"__slots__": (), "get": get})
        _typed_classes[impl_class] = typed
    return typed


@event.listens_for(Mapper, "mapper_configured")
def _type_attribute_loads(mapper: Mapper[Any], class_: type[Any]) -> None:
    for attribute in mapper.class_manager.values():
        impl = getattr(attribute, "impl", None)
        if impl is not None and type(impl) not in _typed_classes.values():
            impl.__class__ = _typed_class(type(impl))
