"""Optional integrations stay optional: the core imports none of them, and a missing extra is named."""

from __future__ import annotations

import subprocess
import sys

CORE_MODULES = [
    "archipy_lite",
    "archipy_lite.adapters.postgres.sqlalchemy.adapters",
    "archipy_lite.adapters.sqlite.sqlalchemy.adapters",
    "archipy_lite.helpers.decorators.sqlalchemy_atomic",
    "archipy_lite.stores",
    "archipy_lite.context",
    "archipy_lite.integrations.asgi",
    "archipy_lite.integrations.wsgi",
]


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)


def test_the_core_and_the_plain_middlewares_import_no_web_framework() -> None:
    imports = "; ".join(f"import {module}" for module in CORE_MODULES)
    code = (
        f"import sys; {imports}; from archipy_lite import unit_of_work; "
        "loaded = sorted(m for m in ('fastapi', 'starlette', 'httpx', 'uvicorn', 'flask') if m in sys.modules); "
        "print(loaded)"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_fastapi_module_names_its_extra_when_fastapi_is_missing() -> None:
    result = _run("import sys; sys.modules['fastapi'] = None; import archipy_lite.integrations.fastapi")
    assert result.returncode != 0
    assert "pip install 'archipy-lite[fastapi]'" in result.stderr
