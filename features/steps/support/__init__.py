"""Helpers shared by the step modules and ``environment.py``.

They live in a sub-package because behave executes every ``*.py`` file directly in
``features/steps`` as a step module: a module imported from there would run twice and
declare its tables twice on ``BaseEntity.metadata``.
"""
