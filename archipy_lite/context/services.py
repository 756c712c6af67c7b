"""``Service`` and the ``DataAccessLayer`` that reaches services by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from archipy_lite.context.errors import UnknownServiceError
from archipy_lite.models.errors import InvalidArgumentError

if TYPE_CHECKING:
    from archipy_lite.context.context import Context
    from archipy_lite.context.manager import DataManager

_CHILDREN = "_Service__children"
_MANAGER = "_Service__manager"


class Service:
    """Business logic and data access, reached through the DAL: ``dal.users.profiles.get(...)``.

    A service finds the active context through ``self._ctx`` (meta, resources) and
    its manager through ``self._data_manager``; both are looked up per call from
    contextvars, so one instance serves every thread and task. Keep per-request state
    in the context, never on the service.

    Convention (as in polydatum):

    * a method that *gets* something returns ``None`` when nothing is found;
    * a method that needs something to exist (creating a child under a parent,
      updating a record) raises ``NotFoundError`` when it does not;
    * all data access goes through a service.

    A subclass does not have to call ``super().__init__()``.
    """

    def register_services(self, **services: Service) -> Self:
        """Register sub-services, reachable as attributes: ``self.profiles``, ``dal.users.profiles``.

        Returns this service, so registrations chain:
        ``dm.register_services(users=UserService().register_services(profiles=ProfileService()))``.

        Raises:
            InvalidArgumentError: a name is private, taken, or clashes with an attribute of this service.
        """
        children = _children(self)
        for name, service in services.items():
            _check_name(name, service, taken=children, reserved=dir(type(self)), owner=type(self).__name__)
        children.update(services)
        manager = self.__dict__.get(_MANAGER)
        if manager is not None:
            for service in services.values():
                service._attach(manager)
        return self

    @property
    def _data_manager(self) -> DataManager:
        """The DataManager this service (or its parent) is registered with."""
        manager: DataManager | None = self.__dict__.get(_MANAGER)
        if manager is None:
            raise InvalidArgumentError(f"{type(self).__name__} is not registered with a DataManager")
        return manager

    @property
    def _ctx(self) -> Context:
        """The context active in this thread or task (ContextError outside any)."""
        return self._data_manager.current_context()

    def _attach(self, manager: DataManager) -> None:
        current = self.__dict__.get(_MANAGER)
        if current is not None and current is not manager:
            raise InvalidArgumentError(f"{type(self).__name__} is already registered with another DataManager")
        self.__dict__[_MANAGER] = manager
        for child in _children(self).values():
            child._attach(manager)

    def __getattr__(self, name: str) -> Service:
        if name.startswith("_"):
            raise AttributeError(name)
        children = self.__dict__.get(_CHILDREN, {})
        try:
            return children[name]  # type: ignore[no-any-return]
        except KeyError:
            raise UnknownServiceError(
                f"{type(self).__name__} has no attribute or sub-service {name!r} (sub-services: {_known(children)})"
            ) from None

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.__dict__.get(_CHILDREN, {})})


class DataAccessLayer:
    """The registry of top-level services: ``dal.users`` and ``dal["users.profiles.get"]``.

    A dotted path walks sub-services; its last part may also name a public method or
    attribute of the last service. Unknown names raise ``UnknownServiceError`` (both
    an ``AttributeError`` and a ``KeyError``, so ``hasattr`` and ``in`` work).
    """

    __slots__ = ("_services",)

    def __init__(self, services: Mapping[str, Service]) -> None:
        self._services = services

    def __getattr__(self, name: str) -> Service:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._root(name)

    def __getitem__(self, path: str) -> Any:
        first, *rest = path.split(".")
        current: Any = self._root(first)
        walked = first
        for index, part in enumerate(rest, start=1):
            children = current.__dict__.get(_CHILDREN, {})
            last = index == len(rest)
            if part in children:
                current = children[part]
            elif last and part and not part.startswith("_") and hasattr(current, part):
                current = getattr(current, part)
            else:
                raise UnknownServiceError(
                    f"{walked!r} has no sub-service{' or method' if last else ''} {part!r} "
                    f"(sub-services: {_known(children)})"
                )
            walked = f"{walked}.{part}"
        return current

    def _root(self, name: str) -> Service:
        try:
            return self._services[name]
        except KeyError:
            raise UnknownServiceError(
                f"no service {name!r} is registered (services: {_known(self._services)})"
            ) from None

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str):
            return False
        try:
            self[path]
        except UnknownServiceError:
            return False
        return True

    def __dir__(self) -> list[str]:
        return sorted(self._services)

    def __repr__(self) -> str:
        return f"<DataAccessLayer services={_known(self._services)}>"


def register(
    registry: dict[str, Service], services: Mapping[str, Service], manager: DataManager, *, reserved: list[str]
) -> None:
    """Add top-level services to a manager's registry (the manager's ``register_services``)."""
    for name, service in services.items():
        _check_name(name, service, taken=registry, reserved=reserved, owner="DataManager")
    for service in services.values():
        service._attach(manager)
    registry.update(services)


def replace(registry: dict[str, Service], path: str, service: Service, manager: DataManager) -> Service:
    """Put ``service`` where ``path`` (``"users"`` or ``"users.profiles"``) is; return the one it replaces.

    Raises:
        UnknownServiceError: nothing is registered at ``path``.
        InvalidArgumentError: ``service`` is not a Service, or belongs to another DataManager.
    """
    if not isinstance(service, Service):
        raise InvalidArgumentError(f"{path!r} must be replaced by a Service instance, got {type(service).__name__}")
    *parents, name = path.split(".")
    siblings: dict[str, Service] = registry
    for part in parents:
        parent = siblings.get(part)
        if parent is None:
            raise UnknownServiceError(f"no service {part!r} on the way to {path!r} (services: {_known(siblings)})")
        siblings = _children(parent)
    if name not in siblings:
        raise UnknownServiceError(f"no service {path!r} to replace (services there: {_known(siblings)})")
    service._attach(manager)
    previous, siblings[name] = siblings[name], service
    return previous


def _children(service: Service) -> dict[str, Service]:
    children: dict[str, Service] = service.__dict__.setdefault(_CHILDREN, {})
    return children


def _check_name(name: str, service: object, *, taken: Mapping[str, Service], reserved: list[str], owner: str) -> None:
    if not isinstance(service, Service):
        raise InvalidArgumentError(f"{name!r} must be a Service instance, got {type(service).__name__}")
    if not name.isidentifier() or name.startswith("_"):
        raise InvalidArgumentError(f"service name {name!r} must be a public identifier")
    if name in taken:
        raise InvalidArgumentError(f"{owner} already has a service named {name!r}")
    if name in reserved:
        raise InvalidArgumentError(f"service name {name!r} clashes with an attribute of {owner}")


def _known(services: Mapping[str, Service]) -> str:
    return ", ".join(sorted(services)) or "none"
