"""Case-insensitive matching on SQLite that folds every alphabet, as PostgreSQL's ILIKE does.

SQLite's own ``lower()`` folds ASCII only, so ``ILIKE`` (which SQLAlchemy renders as
``lower(x) LIKE lower(y)`` there), ``icontains``, ``istartswith`` and ``iendswith`` would miss
``'ÜNÏ'`` for ``'ünï'``. Engines built by the library render those operators with
``archipy_lower()``, a Python function registered on each connection. Only these operators
change: ``func.lower()`` written by hand, and index expressions, keep SQLite's built-in.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Engine

FUNCTION_NAME = "archipy_lower"


def unicode_lower(value: Any) -> Any:
    """Lower-case ``value`` one character at a time, as PostgreSQL does.

    Python's ``str.lower`` differs in two places: U+0130 (dotted capital I) becomes i plus a
    combining dot, and a word-final capital sigma becomes the final form; PostgreSQL gives a plain
    i and the ordinary small sigma.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).replace("\u0130", "i").replace("\u03a3", "\u03c3").lower()


def register_function(dbapi_connection: Any) -> None:
    """Make ``archipy_lower()`` available on a new sqlite3 or aiosqlite connection."""
    dbapi_connection.create_function(FUNCTION_NAME, 1, unicode_lower, deterministic=True)


class UnicodeFoldingCompiler(SQLiteCompiler):
    """SQLite's compiler with ``archipy_lower()`` around both sides of ILIKE and its relatives."""

    def visit_ilike_case_insensitive_operand(self, element: Any, **kw: Any) -> str:
        return f"{FUNCTION_NAME}({element.element._compiler_dispatch(self, **kw)})"


def fold_case_insensitive_operators(engine: Engine) -> None:
    """Render this engine's case-insensitive operators with ``archipy_lower()`` (this engine only)."""
    if engine.dialect.statement_compiler is SQLiteCompiler:
        engine.dialect.statement_compiler = UnicodeFoldingCompiler
