"""``DataSet``: a named SQLite database with its own declarative base, engine and adapters.

``Base = DataSet.create("geo")`` returns a new declarative base (own MetaData and
registry). Models subclass it; ``Base.dataset`` reaches the data set, whose
location comes from ``DataSet.configure`` or the environment (see ``config``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from sqlalchemy import MetaData
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, registry

from archipy_lite.adapters.base.sqlalchemy.registry import dialect_for
from archipy_lite.adapters.base.sqlalchemy.session_managers import SessionManager
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import AsyncSQLiteSQLAlchemyAdapter, SQLiteSQLAlchemyAdapter
from archipy_lite.configs.config_template import SQLiteSQLAlchemyConfig
from archipy_lite.datasets.config import MEMORY, DataSetSource, check_name, source_from_environment, sources_from
from archipy_lite.models.errors import ConfigurationError


class DataSetBase(DeclarativeBase):
    """Type of the bases ``DataSet.create`` returns; never subclass it directly."""

    __allow_unmapped__ = True  # plain ``Column(...)`` attributes, as in microcosm-sqlite
    dataset: ClassVar[DataSet]


class DataSet:
    """A named data set: one SQLite database (``:memory:`` unless configured) and its models."""

    _registry: ClassVar[dict[str, DataSet]] = {}
    _configured: ClassVar[dict[str, DataSetSource]] = {}
    _lock: ClassVar[threading.RLock] = threading.RLock()

    def __init__(self, name: str, base: type[DataSetBase]) -> None:
        self.name = name
        self.base = base
        self._adapters: dict[tuple[str, bool], SQLiteSQLAlchemyAdapter] = {}
        self._async_adapters: dict[tuple[str, bool], AsyncSQLiteSQLAlchemyAdapter] = {}

    def __repr__(self) -> str:
        return f"<DataSet {self.name!r} at {self.source.PATH!r}>"

    @classmethod
    def create(cls, name: str) -> type[DataSetBase]:
        """Register data set ``name`` and return its new declarative base.

        Raises:
            ConfigurationError: if the name is invalid or already used (names ignore case).
        """
        check_name(name)
        with cls._lock:
            if name.lower() in cls._registry:
                raise ConfigurationError(f"Data set {name!r} already exists", details={"dataset": name})
            class_name = "".join(part.capitalize() for part in name.split("_")) + "Base"
            metadata = MetaData()
            namespace = {
                "__module__": __name__,
                "__doc__": f"Models of data set {name!r}.",
                # Its own registry: SQLAlchemy 2.1 would otherwise inherit DataSetBase's, shared by all data sets.
                "registry": registry(metadata=metadata),
                "metadata": metadata,
            }
            base: type[DataSetBase] = type(class_name, (DataSetBase, DeclarativeBase), namespace)
            dataset = cls(name, base)
            base.dataset = dataset
            cls._registry[name.lower()] = dataset
        return base

    @classmethod
    def get(cls, name: str) -> DataSet:
        """The data set called ``name``; ConfigurationError if there is none."""
        try:
            return cls._registry[name.lower()]
        except KeyError:
            raise ConfigurationError(f"No data set named {name!r}", details={"dataset": name}) from None

    @classmethod
    def names(cls) -> list[str]:
        """Names of every registered data set."""
        return sorted(dataset.name for dataset in cls._registry.values())

    @classmethod
    def configure(cls, configuration: Any) -> None:
        """Set paths from a mapping (``{"geo": "/data/geo.sqlite3"}``) or a settings object with ``DATASETS``.

        Entries replace earlier ones for the same name; values may be paths, ``DataSetSource`` or
        ``{"PATH": ..., "READ_ONLY": ...}``. Adapters already built keep their database.
        """
        sources = sources_from(configuration)
        with cls._lock:
            cls._configured.update(sources)

    @classmethod
    def unconfigure(cls, *names: str) -> None:
        """Forget configured paths for ``names`` (all names when none are given)."""
        with cls._lock:
            if not names:
                cls._configured.clear()
            for name in names:
                cls._configured.pop(name.lower(), None)

    @classmethod
    def forget(cls, name: str) -> None:
        """Unregister ``name`` (closing its sync engines) so the name can be created again; for tests."""
        with cls._lock:
            dataset = cls._registry.pop(name.lower(), None)
        if dataset is not None:
            dataset.dispose()

    @property
    def metadata(self) -> MetaData:
        """The MetaData holding this data set's tables."""
        return self.base.metadata

    @property
    def source(self) -> DataSetSource:
        """Where the data set lives now: configured, from the environment, or ``:memory:``."""
        configured = self._configured.get(self.name.lower())
        if configured is not None:
            return configured
        return source_from_environment(self.name) or DataSetSource()

    @property
    def path(self) -> str:
        """The SQLite file path, or ``:memory:``."""
        return self.source.PATH

    def config(self, *, read_only: bool | None = None) -> SQLiteSQLAlchemyConfig:
        """Engine settings for this data set; ``read_only`` None follows the source.

        Only the data set's own configuration counts: ``SQLITE_SQLALCHEMY__*`` variables configure
        the application's SQLite database, not data sets.
        """
        source = self.source
        return SQLiteSQLAlchemyConfig.from_values(
            DATABASE=source.PATH, READ_ONLY=source.read_only if read_only is None else read_only
        )

    def _key(self, read_only: bool | None) -> tuple[SQLiteSQLAlchemyConfig, tuple[str, bool]]:
        config = self.config(read_only=read_only)
        return config, (str(config.DATABASE), config.READ_ONLY)

    def adapter(self, *, read_only: bool | None = None) -> SQLiteSQLAlchemyAdapter:
        """The sync adapter for the current location (one per location and mode, reused)."""
        config, key = self._key(read_only)
        with self._lock:
            adapter = self._adapters.get(key)
            if adapter is None:
                adapter = self._adapters[key] = SQLiteSQLAlchemyAdapter(orm_config=config)
        return adapter

    def async_adapter(self, *, read_only: bool | None = None) -> AsyncSQLiteSQLAlchemyAdapter:
        """The aiosqlite adapter (an in-memory data set gets a database separate from the sync one)."""
        config, key = self._key(read_only)
        with self._lock:
            adapter = self._async_adapters.get(key)
            if adapter is None:
                adapter = self._async_adapters[key] = AsyncSQLiteSQLAlchemyAdapter(orm_config=config)
        return adapter

    @contextmanager
    def writable_engine(self, path: str | None = None) -> Iterator[Engine]:
        """A writable engine on ``path`` (default: the data set's); in memory, the adapter's own engine."""
        target = path or self.path
        if target == MEMORY:
            if self.path != MEMORY:
                raise ConfigurationError(f"Data set {self.name!r} lives in {self.path!r}, not in memory")
            yield self.adapter().session_manager.engine
            return
        manager = SessionManager(
            SQLiteSQLAlchemyConfig.from_values(DATABASE=target, SYNCHRONOUS="OFF"), dialect_for("sqlite")
        )
        try:
            yield manager.engine
        finally:
            manager.dispose()

    def create_all(self) -> None:
        """Create missing tables through the adapter (so a read-only data set refuses to)."""
        self.metadata.create_all(self.adapter().session_manager.engine)

    async def async_create_all(self) -> None:
        """Create missing tables through the async adapter's engine (for in-memory async use)."""
        async with self.async_adapter().session_manager.engine.begin() as connection:
            await connection.run_sync(self.metadata.create_all)

    def dispose(self) -> None:
        """Close the sync engines and forget every adapter (async engines: ``await async_dispose()``)."""
        with self._lock:
            adapters, self._adapters = list(self._adapters.values()), {}
            self._async_adapters = {}
        for adapter in adapters:
            adapter.session_manager.dispose()

    async def async_dispose(self) -> None:
        """Close every engine, async ones included, and forget the adapters."""
        with self._lock:
            async_adapters = list(self._async_adapters.values())
        for adapter in async_adapters:
            await adapter.session_manager.dispose()
        self.dispose()
