"""The benchmark workloads, each with its variants (see docs/performance.md)."""

from benchmarks.workloads.lookups import concurrent_lookups, get_by_uuid, get_by_uuid_async
from benchmarks.workloads.request_units import requests
from benchmarks.workloads.search import search_page
from benchmarks.workloads.writes import bulk_create, create_and_commit

__all__ = [
    "bulk_create",
    "concurrent_lookups",
    "create_and_commit",
    "get_by_uuid",
    "get_by_uuid_async",
    "requests",
    "search_page",
]
