"""The Session class the adapters hand out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session


class ArchipySession(Session):
    """A Session that knows whether it runs inside an atomic block.

    Outside one (``autocommit`` is True) a successful ``flush()`` commits, so
    ``adapter.get_session().flush()`` is durable and the connection goes back
    to the pool; a failed flush rolls back. Inside one, flushes stay part of the
    block's transaction.
    """

    autocommit: bool = False

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        if not self.autocommit:
            super().flush(objects)
            return
        try:
            super().flush(objects)
        except BaseException:
            self.rollback()
            raise
        self.commit()
