"""Named SQLite data sets, built ahead of time and shipped read-only (after microcosm-sqlite).

    Base = DataSet.create("geo")

    class Country(Base):
        __tablename__ = "countries"
        id = Column(Integer, primary_key=True)

    DataSet.configure({"geo": "/srv/data/geo.sqlite3"})  # or ARCHIPY_LITE_DATASETS__GEO=/srv/data/geo.sqlite3
    with DataSetBuilder(Base) as builder:                # build time: bulk loads, foreign keys checked at the end
        builder.load_csv("countries.csv")
    countries = Store(Base.dataset.adapter(), Country)   # run time: read-only, writes raise DatabaseReadOnlyError

Unconfigured data sets live in ``:memory:`` and are writable; files open read-only
(``mode=ro`` plus ``PRAGMA query_only``) unless configured ``READ_ONLY=False``.
"""

from archipy_lite.datasets.builder import DataSetBuilder, build_from_csv
from archipy_lite.datasets.config import DataSetSettings, DataSetSource
from archipy_lite.datasets.dataset import DataSet, DataSetBase
from archipy_lite.datasets.dumper import dump_dataset, dump_query, format_value
from archipy_lite.datasets.errors import ForeignKeyViolation, ForeignKeyViolationError
from archipy_lite.datasets.progress import LoadProgress, ProgressCallback

__all__ = [
    "DataSet",
    "DataSetBase",
    "DataSetBuilder",
    "DataSetSettings",
    "DataSetSource",
    "ForeignKeyViolation",
    "ForeignKeyViolationError",
    "LoadProgress",
    "ProgressCallback",
    "build_from_csv",
    "dump_dataset",
    "dump_query",
    "format_value",
]
