"""Shared pytest configuration for the archipy_lite test suite."""

pytest_plugins = ["archipy_lite.testing.pytest_plugin"]
