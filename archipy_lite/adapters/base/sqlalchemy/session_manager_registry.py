"""ArchiPy's registry classes, as thin names over ``registry``'s functions (for code coming from ArchiPy).

``PostgresSessionManagerRegistry.get_sync_manager()`` is ``default_session_manager("postgres",
is_async=False)``, and ``set_sync_manager(m)`` is ``set_default_session_manager(m)``. New code
uses those functions directly.
"""

from __future__ import annotations

from typing import Any, ClassVar

from archipy_lite.adapters.base.sqlalchemy.registry import (
    AnyManager,
    default_session_manager,
    reset_default_session_managers,
    set_default_session_manager,
)
from archipy_lite.adapters.base.sqlalchemy.session_managers import BaseSessionManager
from archipy_lite.models.errors import InvalidArgumentError


class SessionManagerRegistry:
    """The default session managers of one database kind (``kind`` is set by the subclasses)."""

    kind: ClassVar[str]

    @classmethod
    def get_sync_manager(cls) -> AnyManager:
        """The default synchronous manager of this kind (see ``registry.default_session_manager``)."""
        return default_session_manager(cls.kind, is_async=False)

    @classmethod
    def get_async_manager(cls) -> AnyManager:
        """The default asynchronous manager of this kind."""
        return default_session_manager(cls.kind, is_async=True)

    @classmethod
    def set_sync_manager(cls, manager: Any) -> None:
        """Make ``manager`` (or an adapter's) the default synchronous manager of this kind."""
        set_default_session_manager(cls._checked(manager, is_async=False))

    @classmethod
    def set_async_manager(cls, manager: Any) -> None:
        """Make ``manager`` (or an adapter's) the default asynchronous manager of this kind."""
        set_default_session_manager(cls._checked(manager, is_async=True))

    @classmethod
    def reset(cls) -> None:
        """Forget the defaults (of every kind: archipy_lite keeps one registry) and dispose nothing."""
        reset_default_session_managers()

    @classmethod
    def _checked(cls, manager: Any, *, is_async: bool) -> AnyManager:
        manager = getattr(manager, "session_manager", manager)
        if not isinstance(manager, BaseSessionManager):
            raise InvalidArgumentError(f"{cls.__name__} needs a session manager, got {type(manager).__name__}")
        if manager.kind != cls.kind or manager.is_async != is_async:
            flavour = "asynchronous" if is_async else "synchronous"
            raise InvalidArgumentError(f"{cls.__name__} needs a {flavour} {cls.kind} session manager, got {manager!r}")
        return manager
