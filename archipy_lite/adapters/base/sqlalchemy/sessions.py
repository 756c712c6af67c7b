"""The Session class the adapters hand out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value

from archipy_lite.adapters.base.sqlalchemy.error_translation import translated_errors

_KEPT = "archipy_kept_values"


class ArchipySession(Session):
    """A Session that knows whether it runs inside an atomic block.

    Outside one (``autocommit`` is True) a successful ``flush()`` commits, so
    ``adapter.get_session().flush()`` is durable and the connection goes back
    to the pool; a failed flush rolls back. Inside one, flushes stay part of the
    block's transaction.

    Outside atomic blocks the session lives as long as its thread or task, so a
    failed operation must not spoil what earlier operations returned: ``rollback()``
    there (explicit or inside a failed flush) keeps the loaded values of objects the
    failed transaction did not touch
    (SQLAlchemy would expire every object, and reading one later would quietly
    re-query, holding a connection or, on SQLite, waiting on the caller's own lock).
    """

    autocommit: bool = False
    # Set by the session manager from its dialect (see DialectSupport).
    single_statement_options: dict[str, Any] | None = None
    rollback_before_discard: bool = False
    _commit_held: bool = False

    @contextmanager
    def commit_held(self) -> Iterator[None]:
        """Make flushes plain flushes for a while: the caller commits once, at its end.

        Adapter operations (whose autoflushes must not commit half of their work) and
        ``commit()`` itself (which flushes before committing) run under this.
        """
        previous, self._commit_held = self._commit_held, True
        try:
            yield
        finally:
            self._commit_held = previous

    def commit(self) -> None:
        with self.commit_held():  # commit() flushes first; that flush must not commit again
            super().commit()

    def _untouched_values(self) -> list[tuple[object, dict[str, Any]]]:
        """Values to put back after a rollback: everything loaded for objects the transaction did not
        touch, and only the primary key for the others (so they can still be identified and re-read)."""
        transaction = self.get_transaction()
        flushed = getattr(transaction, "_dirty", {}) if transaction is not None else {}
        kept: list[tuple[object, dict[str, Any]]] = []
        for state in self.identity_map.all_states():
            instance = state.obj()
            if instance is None:
                continue
            if state.modified or state in flushed:
                keys = {prop.key for prop in state.mapper.column_attrs if prop.columns[0].primary_key}
            else:
                keys = set(state.manager)
            kept.append((instance, {key: value for key, value in state.dict.items() if key in keys}))
        return kept

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        # Statement failures are normally typed by the engine's handle_error hook already; translating
        # here too keeps get_session().flush() typed whatever reaches it (one CI run saw an asyncpg
        # IntegrityError come through untranslated).
        with translated_errors():
            if not self.autocommit or self._commit_held:
                super().flush(objects)
                return
            with self.commit_held():
                try:
                    super().flush(objects)
                except BaseException:
                    self.rollback()
                    raise
                self.commit()


@event.listens_for(ArchipySession, "after_rollback")
def _remember_untouched(session: Session) -> None:
    # Runs after the database rolled back and before SQLAlchemy expires every object.
    if isinstance(session, ArchipySession) and session.autocommit:
        session.info[_KEPT] = session._untouched_values()


@event.listens_for(ArchipySession, "after_soft_rollback")
def _restore_untouched(session: Session, _previous: SessionTransaction) -> None:
    for instance, values in session.info.pop(_KEPT, ()):
        for key, value in values.items():
            set_committed_value(instance, key, value)
