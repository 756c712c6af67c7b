"""Benchmarks: archipy_lite side by side with hand-written SQLAlchemy, Core, raw drivers and advanced-alchemy.

Run ``uv run --group bench python -m benchmarks`` (``--help`` for options). Not part of the test run.
"""
