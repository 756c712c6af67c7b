"""Data-transfer objects used by searches."""

from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO

__all__ = ["PaginationDTO", "SortDTO"]
