"""Changes a session holds but nobody saved: found, described (never with values), and refused.

Outside atomic blocks a call writes only the objects it is given (and what they cascade to).
Another object's unsaved change is neither written behind its owner's back nor dropped: the
write call raises ``PendingChangesError`` naming it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from archipy_lite.models.errors import PendingChangesError

_SHOWN = 5


def unsaved(session: Session) -> list[Any]:
    """New, deleted and really modified objects of ``session`` (a no-op assignment is not a change)."""
    if not (session.new or session.deleted or session.identity_map._modified):
        return []
    changed = [obj for obj in session.dirty if session.is_modified(obj)]
    return [*session.new, *session.deleted, *changed]


def describe_unsaved(session: Session, objects: Iterable[Any]) -> str:
    """``Customer(3f2c...) [name, email]`` for each object, at most five; attribute names only."""
    parts = [_describe(session, obj) for obj in objects if _really_changed(session, obj)]
    shown = ", ".join(parts[:_SHOWN])
    return shown + (f" and {len(parts) - _SHOWN} more" if len(parts) > _SHOWN else "")


def refuse_pending_changes(session: Session, given: Sequence[Any], *, cascade: str = "save-update") -> None:
    """Raise when ``session`` holds unsaved changes outside ``given`` and what ``given`` cascades to."""
    pending = unsaved(session)
    if not pending:
        return
    covered = {id(obj) for obj in given}
    for obj in given:
        state = inspect(obj)
        for related, *_ in state.mapper.cascade_iterator(cascade, state):
            covered.add(id(related))
    others = [obj for obj in pending if id(obj) not in covered]
    if others:
        raise PendingChangesError(
            f"This call would also write unsaved changes to {describe_unsaved(session, others)}. Outside "
            "atomic blocks a call writes only the objects it is given: save those changes first "
            "(adapter.get_session().flush(), or an atomic block) or discard them (session.expire(obj)). "
            "Outside a unit_of_work the session lives as long as its thread or task, so changes left "
            "by earlier code show up here: run each request, task or job in a unit_of_work.",
            details={"objects": [_describe(session, obj) for obj in others[:_SHOWN]]},
        )


def _really_changed(session: Session, obj: Any) -> bool:
    state = inspect(obj)
    return state.pending or state.deleted or obj in session.deleted or session.is_modified(obj)


def _describe(session: Session, obj: Any) -> str:
    state = inspect(obj)
    identity = state.identity
    name = type(obj).__name__
    if obj in session.new:
        return f"{name}(new)"
    key = ", ".join(str(value) for value in identity) if identity else "?"
    if obj in session.deleted:
        return f"{name}({key}) [delete]"
    fields = [attr.key for attr in state.attrs if attr.history.has_changes()]
    return f"{name}({key}) [{', '.join(fields)}]"


def unsaved_values(session: Session) -> list[tuple[Any, dict[str, Any]]] | None:
    """Before a read that refreshes loaded objects: the unsaved scalar values to put back after it.

    A refresh (``populate_existing``) replaces an object's values with the row's; each changed scalar
    attribute (a column, or a many-to-one reference) is then set again on top of the fresh row, so
    an unsaved change is neither written nor lost. None when nothing is changed (the usual case).
    """
    if not session.identity_map._modified:
        return None
    return [(obj, _changed_scalars(obj)) for obj in list(session.dirty)]


def put_back_unsaved(kept: list[tuple[Any, dict[str, Any]]]) -> None:
    for obj, values in kept:
        for key, value in values.items():
            if getattr(obj, key) is not value:
                setattr(obj, key, value)


def _changed_scalars(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    values: dict[str, Any] = {}
    for key in state.committed_state:
        prop = state.mapper.attrs.get(key)
        if prop is None or getattr(prop, "uselist", False):
            continue  # collections are not put back
        values[key] = state.dict.get(key)
    return values
