"""``Meta``: the read-only data about a context (active user, request id, ...)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, NoReturn


def freeze(value: Any) -> Any:
    """Return a read-only deep copy of ``value``'s containers.

    Mappings become ``Meta``, lists and tuples become tuples (named tuples keep
    their type), sets become frozensets and bytearrays bytes. Any other object
    (a request, a dataclass, a model) is kept as it is: it cannot be frozen here,
    so only share objects that are immutable themselves.
    """
    if isinstance(value, Meta):
        return value
    if isinstance(value, Mapping):
        return Meta(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        named: Any = type(value)
        return named._make(freeze(item) for item in value)
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    if isinstance(value, set | frozenset):
        return frozenset(freeze(item) for item in value)
    if isinstance(value, bytearray):
        return bytes(value)
    return value


class Meta(Mapping[str, Any]):
    """A read-only mapping with attribute access: ``meta.user`` and ``meta["user"]``.

    Nested containers are frozen too (see ``freeze``); assigning or deleting
    anything raises ``TypeError``. A key that was not set reads as ``None`` as an
    attribute (``meta.user`` in an anonymous request), as in polydatum; item access
    (``meta["user"]``) still raises ``KeyError``. Keys that collide with mapping methods
    (``keys``, ``items``, ``values``, ``get``) are reachable by item access only.
    """

    __slots__ = ("_data",)
    _data: MappingProxyType[str, Any]

    def __init__(self, data: Mapping[str, Any] | None = None, /, **items: Any) -> None:
        merged = {**(data or {}), **items}
        object.__setattr__(self, "_data", MappingProxyType({key: freeze(value) for key, value in merged.items()}))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # private and special names keep Python's protocols (copy, pickle) intact
            raise AttributeError(name)
        return self._data.get(name)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise TypeError("meta is read-only")

    def __delattr__(self, name: str) -> NoReturn:
        raise TypeError("meta is read-only")

    def __repr__(self) -> str:
        return f"Meta({dict(self._data)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return Meta, (dict(self._data),)
