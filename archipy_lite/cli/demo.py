"""``archipy-lite demo``: a short end-to-end tour of the library on SQLite or PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from archipy_lite.adapters.base.sqlalchemy.adapters import BaseSQLAlchemyAdapter
from archipy_lite.adapters.postgres.sqlalchemy.adapters import PostgresSQLAlchemyAdapter
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import SQLiteSQLAlchemyAdapter
from archipy_lite.cli.demo_models import DEMO_TABLES, DemoPost, DemoUser
from archipy_lite.cli.output import Printer
from archipy_lite.cli.targets import Target
from archipy_lite.compat import render_url
from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic, on_commit
from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.entities.sqlalchemy.base_entities import BaseEntity
from archipy_lite.models.errors import AlreadyExistsError, BaseError
from archipy_lite.models.types.base_types import SortOrderType

PEOPLE = [
    ("ada", "Ada Lovelace"),
    ("alan", "Alan Turing"),
    ("barbara", "Barbara Liskov"),
    ("edsger", "Edsger Dijkstra"),
    ("grace", "Grace Hopper"),
    ("ken", "Ken Thompson"),
    ("margaret", "Margaret Hamilton"),
    ("tony", "Tony Hoare"),
]


class PaymentDeclinedError(Exception):
    """A business error raised on purpose to show a rollback."""


def _adapter(target: Target) -> BaseSQLAlchemyAdapter:
    if target.kind == "postgres":
        return PostgresSQLAlchemyAdapter(orm_config=target.config)
    return SQLiteSQLAlchemyAdapter(orm_config=target.config)


def _count(adapter: BaseSQLAlchemyAdapter, model: type[Any]) -> int:
    return int(adapter.execute(select(func.count()).select_from(model)).scalar_one())


def run_demo(target: Target, printer: Printer) -> int:
    """Run the tour; returns the process exit code."""
    adapter = _adapter(target)
    engine = adapter.session_manager.engine
    started = time.perf_counter()
    printer.line("archipy-lite demo")
    printer.pairs([("database", render_url(engine.url)), ("chosen by", target.source)])
    try:
        _create_tables(engine)  # the first connection: when it fails there is nothing to clean up
    except BaseException:
        adapter.session_manager.dispose()
        raise
    try:
        _tour(adapter, printer)
    finally:
        BaseEntity.metadata.drop_all(engine, tables=DEMO_TABLES)
        adapter.session_manager.dispose()
    printer.line()
    printer.line(f"Done in {time.perf_counter() - started:.2f} s; demo tables dropped.")
    return 0


def _create_tables(engine: Engine) -> None:
    BaseEntity.metadata.drop_all(engine, tables=DEMO_TABLES)
    BaseEntity.metadata.create_all(engine, tables=DEMO_TABLES)


def _tour(adapter: BaseSQLAlchemyAdapter, printer: Printer) -> None:
    printer.heading("1. Create users and posts (autocommit, one batched INSERT for the users)")
    users = adapter.bulk_create(
        [DemoUser(username=name, email=f"{name}@example.com", full_name=full) for name, full in PEOPLE]
    )
    adapter.bulk_create([DemoPost(title=f"Notes by {u.full_name}", content="...", author_id=u.uuid) for u in users])
    printer.pairs([("users", _count(adapter, DemoUser)), ("posts", _count(adapter, DemoPost))])

    printer.heading("2. An atomic block that fails rolls everything back")
    before = _count(adapter, DemoUser)
    raised = "nothing"
    try:
        with atomic(adapter):
            adapter.create(DemoUser(username="mallory", email="mallory@example.com"))
            raise PaymentDeclinedError("payment declined")
    except PaymentDeclinedError as failure:
        raised = f"PaymentDeclinedError({failure}) after creating 'mallory'"
    printer.pairs([("raised", raised), ("users before", before), ("users after", _count(adapter, DemoUser))])

    printer.heading("3. A nested block is a savepoint: its failure is contained")
    committed: list[str] = []
    outcome = "nothing failed"
    with atomic(adapter):
        adapter.create(DemoUser(username="niklaus", email="niklaus@example.com", full_name="Niklaus Wirth"))
        try:
            with atomic(adapter):
                adapter.create(DemoUser(username="ada", email="someone-else@example.com"))
        except AlreadyExistsError as error:
            outcome = f"rolled back ({error.code}); outer block continues"
        on_commit(lambda: committed.append("ran after the outer commit"))
    printer.pairs(
        [
            ("inner block", outcome),
            ("on_commit callback", committed[0] if committed else "not run"),
            ("users now", _count(adapter, DemoUser)),
        ]
    )

    printer.heading("4. Search: names containing 'a', page 2 of 3 per page, sorted by username")
    query = select(DemoUser).where(DemoUser.full_name.ilike("%a%"))
    page, total = adapter.execute_search_query(
        DemoUser, query, PaginationDTO(page=2, page_size=3), SortDTO(field="username", order=SortOrderType.ASCENDING)
    )
    printer.table(["username", "full name"], [(u.username, u.full_name) for u in page])
    printer.line(f"  {len(page)} rows on this page, {total} matches in total")

    printer.heading("5. Failures arrive as typed errors")
    try:
        adapter.create(DemoUser(username="grace", email="grace2@example.com"))
    except BaseError as error:
        details = error.to_dict()
        printer.pairs(
            [
                ("error", type(error).__name__),
                ("code", details["code"]),
                ("http status", details["http_status"]),
                ("retryable", details["retryable"]),
                ("message", details["message"]),
            ]
        )
