import logging
from uuid import UUID

from sqlalchemy import select

from archipy_lite.adapters.postgres.sqlalchemy.adapters import PostgresSQLAlchemyAdapter
from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.errors import DatabaseQueryError
from archipy_lite.models.types.base_types import SortOrderType

logger = logging.getLogger(__name__)

adapter = PostgresSQLAlchemyAdapter()


def search_users(
    search_term: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> tuple[list[User], int]:
    """Search users with optional full-name filter, pagination, and sorting.

    Args:
        search_term: Optional string to match against ``full_name``.
        page: 1-based page number.
        page_size: Number of results per page.

    Returns:
        Tuple of (list of User entities, total count).

    Raises:
        DatabaseQueryError: If the query fails.
    """
    base_query = select(User)
    if search_term:
        base_query = base_query.where(User.full_name.ilike(f"%{search_term}%"))

    pagination = PaginationDTO(page=page, page_size=page_size)
    sort_info = SortDTO(field=User.username, order=SortOrderType.ASCENDING)

    try:
        users, total = adapter.execute_search_query(
            entity=User,
            query=base_query,
            pagination=pagination,
            sort_info=sort_info,
        )
    except DatabaseQueryError as e:
        logger.error(f"User search failed: {e}")
        raise

    logger.info(f"Found {total} users (page {page})")
    return users, total
