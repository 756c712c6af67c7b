"""Errors raised while building a data set."""

from __future__ import annotations

from dataclasses import dataclass

from archipy_lite.models.errors import DatabaseConstraintError


@dataclass(frozen=True)
class ForeignKeyViolation:
    """A row whose foreign key points at a parent row that does not exist."""

    table: str
    rowid: int | None
    parent: str
    columns: tuple[str, ...]
    values: tuple[object, ...]

    def __str__(self) -> str:
        pairs = ", ".join(f"{column}={value!r}" for column, value in zip(self.columns, self.values, strict=False))
        return f"{self.table} rowid {self.rowid} ({pairs}) -> missing {self.parent}"


class ForeignKeyViolationError(DatabaseConstraintError):
    """Loaded rows refer to parents that were never loaded; nothing was committed."""

    code = "DATASET_FOREIGN_KEY_VIOLATION"
    default_message = "Rows refer to parent rows that do not exist."

    def __init__(self, violations: list[ForeignKeyViolation], *, shown: int = 10) -> None:
        listed = "; ".join(str(violation) for violation in violations[:shown])
        more = f"; and {len(violations) - shown} more" if len(violations) > shown else ""
        super().__init__(
            f"{len(violations)} row(s) refer to missing parent rows: {listed}{more}",
            details={"constraint": "foreign_key", "violations": [str(v) for v in violations]},
        )
        self.violations = violations
