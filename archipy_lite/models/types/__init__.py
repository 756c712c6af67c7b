"""Shared enumerations."""

from archipy_lite.models.types.base_types import FilterOperationType, SortOrderType

__all__ = ["FilterOperationType", "SortOrderType"]
