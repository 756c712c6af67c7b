"""``python -m archipy_lite.cli``: the same as the ``archipy-lite`` console script."""

from archipy_lite.cli import _run

if __name__ == "__main__":
    _run()
