"""Data-transfer objects used by searches."""

from archipy_lite.models.dtos.base_dto import BaseDTO
from archipy_lite.models.dtos.page_dto import Page
from archipy_lite.models.dtos.pagination_dto import CursorPaginationDTO, OffsetPaginationDTO, PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO

__all__ = ["BaseDTO", "CursorPaginationDTO", "OffsetPaginationDTO", "Page", "PaginationDTO", "SortDTO"]
