"""Data sets (microcosm-sqlite): named SQLite databases, built ahead of time, shipped read-only.

Every test works on real SQLite files in ``tmp_path`` (or ``:memory:`` where that is the point)
and gives each data set a unique name, forgotten afterwards.
"""

from __future__ import annotations

import gc
import hashlib
import io
import sqlite3
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    Uuid,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)

from archipy_lite.adapters.sqlite.sqlalchemy.adapters import AsyncSQLiteSQLAlchemyAdapter, SQLiteSQLAlchemyAdapter
from archipy_lite.datasets import (
    DataSet,
    DataSetBase,
    DataSetBuilder,
    DataSetSettings,
    DataSetSource,
    ForeignKeyViolationError,
    LoadProgress,
    build_from_csv,
    dump_dataset,
    dump_query,
)
from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic
from archipy_lite.models.dtos.pagination_dto import PaginationDTO
from archipy_lite.models.dtos.sort_dto import SortDTO
from archipy_lite.models.errors import (
    AlreadyExistsError,
    ConfigurationError,
    DatabaseConnectionError,
    DatabaseConstraintError,
    DatabaseReadOnlyError,
    InvalidArgumentError,
)
from archipy_lite.stores import AsyncStore, Store

MakeBase = Callable[[str], type[DataSetBase]]


@pytest.fixture
def make_base() -> Iterator[MakeBase]:
    """``make_base("geo")`` -> a new data set base with a unique name; all are forgotten afterwards."""
    created: list[str] = []

    def make(label: str) -> type[DataSetBase]:
        name = f"{label}_{uuid4().hex[:8]}"
        created.append(name)
        return DataSet.create(name)

    yield make
    for name in created:
        DataSet.unconfigure(name)
        DataSet.forget(name)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def library(base: type[DataSetBase]) -> tuple[Any, Any]:
    """Authors (one column of each supported type) and books that reference them."""

    class Author(base):  # type: ignore[valid-type,misc]
        __tablename__ = "authors"
        id = Column(Integer, primary_key=True)
        name = Column(String(100), nullable=False)
        born = Column(Date)
        alive = Column(Boolean, nullable=False, default=True)
        rating = Column(Float)
        royalties = Column(Numeric(10, 2))
        joined_at = Column(DateTime)
        ref = Column(Uuid)
        bio = Column(Text)

    class Book(base):  # type: ignore[valid-type,misc]
        __tablename__ = "books"
        id = Column(Integer, primary_key=True)
        title = Column(String(200), nullable=False)
        author_id = Column(Integer, ForeignKey("authors.id"), nullable=False)

    return Author, Book


AUTHORS_CSV = (
    "id,name,born,alive,rating,royalties,joined_at,ref,bio\n"
    '1,Ann,1970-01-02,yes,4.5,12.30,2020-05-06T07:08:09,12345678-1234-5678-1234-567812345678,"Wrote, a lot\n'
    'and ""quoted"" things"\n'
    "2,,,0,,,,,\n"
    "3,Cy,1999-12-31,,0.25,-1,2021-01-01 00:00:00,,\n"
)
BOOKS_CSV = "id,title,author_id\n10,First,1\n11,Second,1\n12,Third,3\n"


# --- the microcosm-sqlite README example, runnable


def test_readme_example_in_memory(make_base: MakeBase) -> None:
    Base = make_base("some_name")

    class SomeModel(Base):  # type: ignore[valid-type,misc]
        __tablename__ = "sometable"

        id = Column(Integer, primary_key=True)

    class SomeStore(Store[SomeModel]):
        def __init__(self, port: SQLiteSQLAlchemyAdapter) -> None:
            super().__init__(port, SomeModel)

    assert Base.dataset.path == ":memory:"  # the default
    assert isinstance(Base.dataset.adapter(), SQLiteSQLAlchemyAdapter)
    assert Base.dataset.adapter() is Base.dataset.adapter()  # one engine per data set
    Base.dataset.create_all()
    store = SomeStore(Base.dataset.adapter())
    store.create(SomeModel(id=1))
    store.create(SomeModel(id=2))
    results = store.search(sort=SortDTO(field="id", order="ascending"))
    assert [row.id for row in results] == [1, 2]
    assert store.count() == 2


def test_readme_example_with_path_from_mapping(make_base: MakeBase, tmp_path: Path) -> None:
    Base = make_base("some_name")

    class SomeModel(Base):  # type: ignore[valid-type,misc]
        __tablename__ = "sometable"

        id = Column(Integer, primary_key=True)

    path = tmp_path / "some_name.sqlite3"
    DataSet.configure({Base.dataset.name: str(path)})
    assert Base.dataset.path == str(path)
    with DataSetBuilder(Base) as builder:  # build time: the configured file
        builder.load_rows(SomeModel, [{"id": 1}, {"id": 2}, {"id": 3}])

    adapter = Base.dataset.adapter()  # run time: read-only
    assert adapter.session_manager.config.READ_ONLY
    url = adapter.session_manager.config.url()
    assert str(url.database).startswith("file:")
    assert str(url.database).endswith("?mode=ro")
    store = Store(adapter, SomeModel)
    assert [row.id for row in store.search(SomeModel.id >= 2, sort=SortDTO(field="id", order="asc"))] == [2, 3]
    assert adapter.execute(text("PRAGMA query_only")).scalar() == 1


def test_readme_example_with_path_from_environment(
    make_base: MakeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Base = make_base("some_name")

    class SomeModel(Base):  # type: ignore[valid-type,misc]
        __tablename__ = "sometable"

        id = Column(Integer, primary_key=True)

    path = tmp_path / "from_env.sqlite3"
    with DataSetBuilder(Base, path) as builder:
        builder.load_rows("sometable", [{"id": 7}])

    name = Base.dataset.name
    assert Base.dataset.path == ":memory:"
    monkeypatch.setenv(f"ARCHIPY_LITE_DATASETS__{name.upper()}", str(path))
    assert Base.dataset.path == str(path)
    assert Base.dataset.source.read_only
    assert [row.id for row in Store(Base.dataset.adapter(), SomeModel).search()] == [7]

    # An explicit mapping beats the environment.
    DataSet.configure({name: str(tmp_path / "other.sqlite3")})
    assert Base.dataset.path == str(tmp_path / "other.sqlite3")
    DataSet.unconfigure(name)
    assert Base.dataset.path == str(path)


def test_a_missing_shipped_file_is_an_error_not_an_empty_database(make_base: MakeBase, tmp_path: Path) -> None:
    Base = make_base("missing")

    class Thing(Base):  # type: ignore[valid-type,misc]
        __tablename__ = "things"
        id = Column(Integer, primary_key=True)

    path = tmp_path / "never-built.sqlite3"
    DataSet.configure({Base.dataset.name: path})
    with pytest.raises(DatabaseConnectionError):
        Store(Base.dataset.adapter(), Thing).count()
    assert not path.exists()


def test_environment_can_open_a_file_writable(
    make_base: MakeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Base = make_base("notes")

    class Note(Base):  # type: ignore[valid-type,misc]
        __tablename__ = "notes"
        id = Column(Integer, primary_key=True)

    path = tmp_path / "notes.sqlite3"
    prefix = f"ARCHIPY_LITE_DATASETS__{Base.dataset.name.upper()}"
    monkeypatch.setenv(f"{prefix}__PATH", str(path))
    monkeypatch.setenv(f"{prefix}__READ_ONLY", "false")
    assert Base.dataset.source == DataSetSource(PATH=str(path), READ_ONLY=False)
    Base.dataset.create_all()
    Base.dataset.adapter().create(Note(id=1))
    assert sqlite3.connect(path).execute("SELECT id FROM notes").fetchall() == [(1,)]


def test_settings_object_configures_data_sets(make_base: MakeBase, tmp_path: Path) -> None:
    Base = make_base("geo")
    name = Base.dataset.name
    settings = DataSetSettings(DATASETS={name: {"PATH": str(tmp_path / "geo.sqlite3"), "READ_ONLY": False}})
    DataSet.configure(settings)
    assert Base.dataset.path == str(tmp_path / "geo.sqlite3")
    assert not Base.dataset.config().READ_ONLY
    assert Base.dataset.config(read_only=True).READ_ONLY

    with pytest.raises(ConfigurationError, match="READ_ONLY"):
        DataSet.configure({name: {"PATH": "x.db", "READ_ONLY": "perhaps"}})
    with pytest.raises(ConfigurationError):
        DataSet.configure(["not", "a", "mapping"])


def test_names_are_unique_and_valid(make_base: MakeBase) -> None:
    Base = make_base("unique")
    name = Base.dataset.name
    with pytest.raises(ConfigurationError, match="already exists"):
        DataSet.create(name)
    with pytest.raises(ConfigurationError, match="already exists"):
        DataSet.create(name.upper())  # names ignore case, as environment variables do
    with pytest.raises(ConfigurationError, match="Invalid data set name"):
        DataSet.create("not-valid")
    assert DataSet.get(name) is Base.dataset
    assert name in DataSet.names()


def test_each_data_set_has_its_own_metadata_and_database(make_base: MakeBase) -> None:
    bases = [make_base("left"), make_base("right")]
    models = []
    for base in bases:

        class Item(base):  # type: ignore[valid-type,misc]
            __tablename__ = "items"  # the same table name in both
            id = Column(Integer, primary_key=True)
            label = Column(String, nullable=False)

        base.dataset.create_all()
        models.append(Item)
    assert bases[0].metadata is not bases[1].metadata
    assert bases[0].registry is not bases[1].registry
    bases[0].dataset.adapter().create(models[0](id=1, label="left only"))
    assert Store(bases[0].dataset.adapter(), models[0]).count() == 1
    assert Store(bases[1].dataset.adapter(), models[1]).count() == 0


# --- builders: typed conversion, empty -> NULL, errors naming file, line and column


def test_csv_typed_conversion_and_empty_values(make_base: MakeBase, tmp_path: Path) -> None:
    Base = make_base("library")
    Author, _ = library(Base)
    csv_path = tmp_path / "authors.csv"
    csv_path.write_text(AUTHORS_CSV, encoding="utf-8")
    db = tmp_path / "library.sqlite3"
    DataSet.configure({Base.dataset.name: str(db)})
    with DataSetBuilder(Base) as builder:
        assert builder.load_csv(csv_path) == 3  # table from the file name
    assert builder.counts == {"authors": 3}

    ann, blank, cy = Store(Base.dataset.adapter(), Author).search(sort=SortDTO(field="id", order="asc"))
    assert ann.born == date(1970, 1, 2)
    assert ann.alive is True
    assert ann.rating == 4.5
    assert ann.royalties == Decimal("12.30")
    assert ann.joined_at == datetime(2020, 5, 6, 7, 8, 9)
    assert ann.ref == UUID("12345678-1234-5678-1234-567812345678")
    assert ann.bio == 'Wrote, a lot\nand "quoted" things'
    # Empty fields: NULL where nullable; "" in a NOT NULL text column; the default where there is one.
    assert (blank.born, blank.rating, blank.royalties, blank.joined_at, blank.ref, blank.bio) == (None,) * 6
    assert blank.name == ""
    assert blank.alive is False
    assert cy.alive is True  # empty NOT NULL boolean -> its default
    assert cy.royalties == Decimal("-1.00")
    assert cy.joined_at == datetime(2021, 1, 1)
    raw = sqlite3.connect(db).execute("SELECT born, rating, bio FROM authors WHERE id = 2").fetchone()
    assert raw == (None, None, None)  # real NULLs, not empty strings


@pytest.mark.parametrize(
    ("column", "bad", "expected"),
    [
        ("id", "x1", "an integer"),
        ("born", "2020-13-01", "an ISO 8601 date"),
        ("alive", "maybe", "true/false"),
        ("rating", "fast", "a number"),
        ("royalties", "12..3", "a decimal number"),
        ("joined_at", "yesterday", "date-time"),
        ("ref", "not-a-uuid", "a UUID"),
    ],
)
def test_bad_csv_value_names_file_line_and_column(
    make_base: MakeBase, tmp_path: Path, column: str, bad: str, expected: str
) -> None:
    Base = make_base("library")
    library(Base)
    good = {"id": "5", "name": "Dee", "born": "", "alive": "no", "rating": "", "royalties": ""}
    good |= {"joined_at": "", "ref": "", "bio": ""}
    header = list(good)
    broken = good | {column: bad}
    lines = [",".join(header), '4,Multi,,yes,,,,,"line one', 'line two"', ",".join(broken[h] for h in header)]
    csv_path = tmp_path / "authors.csv"
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "library.sqlite3"

    with pytest.raises(InvalidArgumentError) as caught, DataSetBuilder(Base, db) as builder:
        builder.load_csv(csv_path, "authors")
    error = caught.value
    assert f"{csv_path}, line 4, column {column!r}" in str(error)  # a quoted field spans lines 2-3
    assert expected in str(error)
    assert repr(bad) in str(error)
    assert dict(error.details) == {"file": str(csv_path), "line": 4, "column": column}
    # Nothing was kept: not even the tables.
    assert sqlite3.connect(db).execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def test_bad_rows_name_row_and_column(make_base: MakeBase, tmp_path: Path) -> None:
    Base = make_base("library")
    Author, Book = library(Base)
    rows = [{"id": 1, "name": "Ann", "alive": True}, {"id": "2", "name": "Bob", "alive": "sometimes"}]
    with (
        pytest.raises(InvalidArgumentError, match=r"authors-feed, row 2, column 'alive'"),
        DataSetBuilder(Base, tmp_path / "a.sqlite3") as builder,
    ):
        builder.load_rows(Author, rows, source="authors-feed")
    with (
        pytest.raises(InvalidArgumentError, match=r"row 1, column 'author_id'.*NOT NULL"),
        DataSetBuilder(Base, tmp_path / "b.sqlite3") as builder,
    ):
        builder.load_rows(Book, [{"id": 1, "title": "Orphan", "author_id": ""}])
    with (
        pytest.raises(InvalidArgumentError, match=r"row 2: unknown columns \['colour'\]"),
        DataSetBuilder(Base, tmp_path / "c.sqlite3") as builder,
    ):
        builder.load_rows(Author, [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob", "colour": "red"}])
    wrong_width = tmp_path / "authors.csv"
    wrong_width.write_text("id,name\n1,Ann\n2,Bob,extra\n", encoding="utf-8")
    with (
        pytest.raises(InvalidArgumentError, match=r"line 3: expected 2 fields, got 3"),
        DataSetBuilder(Base, tmp_path / "d.sqlite3") as builder,
    ):
        builder.load_csv(wrong_width)
    with (
        pytest.raises(InvalidArgumentError, match="has no table 'publishers'"),
        DataSetBuilder(Base, tmp_path / "e.sqlite3") as builder,
    ):
        builder.load_rows("publishers", [])


def test_database_errors_during_load_name_the_lines(make_base: MakeBase, tmp_path: Path) -> None:
    Base = make_base("library")
    Author, _ = library(Base)
    csv_path = tmp_path / "authors.csv"
    csv_path.write_text("id,name\n1,Ann\n2,Bob\n1,Again\n", encoding="utf-8")
    with (
        pytest.raises(AlreadyExistsError) as caught,
        DataSetBuilder(Base, tmp_path / "x.sqlite3", batch_size=2) as builder,
    ):
        builder.load_csv(csv_path)
    assert f"{csv_path}, line 4:" in str(caught.value)  # the second batch holds the duplicate key
    with (
        pytest.raises(DatabaseConstraintError, match=r"^<rows>, lines 1-2: .*not null"),
        DataSetBuilder(Base, tmp_path / "y.sqlite3") as builder,
    ):
        builder.load_rows(Author, [{"id": 1}, {"id": 2}])  # name left out: NOT NULL without a default


# --- builders: foreign keys deferred, violations reported


def test_files_load_in_any_order(make_base: MakeBase, tmp_path: Path) -> None:
    Base = make_base("library")
    Author, Book = library(Base)
    (tmp_path / "books.csv").write_text(BOOKS_CSV, encoding="utf-8")
    (tmp_path / "authors.csv").write_text(AUTHORS_CSV, encoding="utf-8")
    db = tmp_path / "library.sqlite3"
    with DataSetBuilder(Base, db) as builder:
        builder.load_csv(tmp_path / "books.csv")  # children before their parents
        builder.load_csv(tmp_path / "authors.csv")
    assert builder.counts == {"books": 3, "authors": 3}
    DataSet.configure({Base.dataset.name: str(db)})
    adapter = Base.dataset.adapter()
    rows = adapter.execute(select(Book.title, Author.name).join(Author).order_by(Book.id)).all()
    assert [tuple(row) for row in rows] == [("First", "Ann"), ("Second", "Ann"), ("Third", "Cy")]
    # The check is real: loading a child first fails when foreign keys are immediate.
    immediate = sqlite3.connect(db)
    immediate.execute("PRAGMA foreign_keys = ON")
    with pytest.raises(sqlite3.IntegrityError):
        immediate.execute("INSERT INTO books (id, title, author_id) VALUES (99, 'Orphan', 42)")
    immediate.close()


def test_dangling_references_are_listed_and_nothing_is_kept(make_base: MakeBase, tmp_path: Path) -> None:
    Base = make_base("library")
    Author, Book = library(Base)
    db = tmp_path / "library.sqlite3"
    with DataSetBuilder(Base, db) as builder:
        builder.load_rows(Author, [{"id": 1, "name": "Ann"}])
    before = sha256(db)

    books = [{"id": 1, "title": "Fine", "author_id": 1}, {"id": 2, "title": "Lost", "author_id": 99}]
    books.append({"id": 3, "title": "Also lost", "author_id": 98})
    with pytest.raises(ForeignKeyViolationError) as caught, DataSetBuilder(Base, db) as builder:
        builder.load_rows(Book, books)
    error = caught.value
    assert isinstance(error, DatabaseConstraintError)
    assert [(v.table, v.columns, v.values, v.parent) for v in error.violations] == [
        ("books", ("author_id",), (99,), "authors"),
        ("books", ("author_id",), (98,), "authors"),
    ]
    assert "2 row(s) refer to missing parent rows" in str(error)
    assert "author_id=99" in str(error)
    assert sha256(db) == before  # rolled back: the file is as it was
    assert sqlite3.connect(db).execute("SELECT count(*) FROM books").fetchone() == (0,)


def test_replace_builds_aside_and_swaps_on_success(make_base: MakeBase, tmp_path: Path) -> None:
    Base = make_base("library")
    Author, Book = library(Base)
    db = tmp_path / "library.sqlite3"
    DataSet.configure({Base.dataset.name: str(db)})
    with DataSetBuilder(Base) as builder:
        builder.load_rows(Author, [{"id": 1, "name": "Ann"}])
    store = Store(Base.dataset.adapter(), Author)
    assert store.count() == 1
    before = sha256(db)

    with pytest.raises(ForeignKeyViolationError), DataSetBuilder(Base, replace=True) as builder:
        builder.load_rows(Book, [{"id": 1, "title": "Lost", "author_id": 5}])
    assert sha256(db) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["library.sqlite3"]

    with DataSetBuilder(Base, replace=True) as builder:
        builder.load_rows(Author, [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}])
    assert sha256(db) != before
    assert Store(Base.dataset.adapter(), Author).count() == 2  # reopened on the new file
    assert store.count() == 2  # even through an adapter taken before the rebuild


# --- progress and batches


def test_progress_callback_and_batches(make_base: MakeBase, tmp_path: Path) -> None:
    Base = make_base("library")
    Author, _ = library(Base)
    reports: list[LoadProgress] = []
    executemany_calls: list[int] = []

    def count_batches(_conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, many: bool) -> None:
        if statement.startswith("INSERT INTO authors"):
            executemany_calls.append(len(params) if many else 1)

    rows = ({"id": str(i), "name": f"Author {i}"} for i in range(1, 26))
    with DataSetBuilder(
        Base, tmp_path / "p.sqlite3", batch_size=7, progress=reports.append, progress_every=10
    ) as builder:
        event.listen(builder.connection, "before_cursor_execute", count_batches)
        builder.load_rows(Author, rows, source="generated")
    assert [(r.table, r.source, r.rows, r.done) for r in reports] == [
        ("authors", "generated", 10, False),
        ("authors", "generated", 20, False),
        ("authors", "generated", 25, True),
    ]
    assert executemany_calls == [7, 7, 7, 4]


# --- dumpers


def test_dump_then_load_round_trips(make_base: MakeBase, tmp_path: Path) -> None:
    first, second = make_base("original"), make_base("copy")
    Author, Book = library(first)
    library(second)
    authors = [
        {"id": 1, "name": 'Ann "A", Jr.', "born": date(1970, 1, 2), "alive": False, "rating": 0.1},
        {"id": 2, "name": "Bö\nnewline", "royalties": Decimal("10.05"), "joined_at": datetime(2020, 1, 2, 3, 4, 5, 6)},
        {"id": 3, "name": "", "ref": uuid4(), "bio": "x" * 5000},
    ]
    DataSet.configure({first.dataset.name: str(tmp_path / "first.sqlite3")})
    DataSet.configure({second.dataset.name: str(tmp_path / "second.sqlite3")})
    with DataSetBuilder(first) as builder:
        builder.load_rows(Book, [{"id": 1, "title": "T", "author_id": 3}])
        builder.load_rows(Author, authors)

    dumped = tmp_path / "dump"
    assert dump_dataset(first, dumped) == {"authors": 3, "books": 1}
    assert build_from_csv(second, dumped) == {"authors": 3, "books": 1}

    def everything(base: type[DataSetBase]) -> list[list[tuple[Any, ...]]]:
        adapter = base.dataset.adapter()
        return [
            [tuple(row) for row in adapter.execute(select(table).order_by(*table.primary_key)).all()]
            for table in base.metadata.sorted_tables
        ]

    assert everything(first) == everything(second)
    assert everything(first)[0][0][4] == 0.1  # authors, Ann, rating
    redumped = tmp_path / "redump"
    dump_dataset(second, redumped)
    for name in ("authors.csv", "books.csv"):
        assert (dumped / name).read_bytes() == (redumped / name).read_bytes()


def test_dump_any_query(make_base: MakeBase, tmp_path: Path) -> None:
    Base = make_base("library")
    Author, Book = library(Base)
    (tmp_path / "authors.csv").write_text(AUTHORS_CSV, encoding="utf-8")
    (tmp_path / "books.csv").write_text(BOOKS_CSV, encoding="utf-8")
    DataSet.configure({Base.dataset.name: str(tmp_path / "library.sqlite3")})
    build_from_csv(Base, tmp_path)
    adapter = Base.dataset.adapter()

    buffer = io.StringIO()
    query = select(Book.title, Author.name.label("author")).join(Author).where(Author.alive).order_by(Book.id)
    assert dump_query(adapter, query, buffer, batch_size=1) == 3
    assert buffer.getvalue() == "title,author\nFirst,Ann\nSecond,Ann\nThird,Cy\n"

    target = tmp_path / "out" / "counts.csv"
    target.parent.mkdir()
    per_author = select(Author.name, func.count(Book.id).label("books")).join(Book).group_by(Author.name)
    dump_query(adapter, per_author.order_by(Author.name), target)
    assert target.read_text() == "name,books\nAnn,2\nCy,1\n"

    entities = io.StringIO()
    dump_query(adapter, select(Book).order_by(Book.id), entities)  # an entity query dumps its columns
    assert entities.getvalue().splitlines()[:2] == ["id,title,author_id", "10,First,1"]
    with pytest.raises(InvalidArgumentError):
        dump_query(adapter, text("SELECT 1"), io.StringIO())  # type: ignore[arg-type]


# --- a shipped data set is read-only, and enforced


def shipped_entries(make_base: MakeBase, tmp_path: Path) -> tuple[type[DataSetBase], Any, Path]:
    Base = make_base("shipped")

    class Entry(Base):  # type: ignore[valid-type,misc]
        __tablename__ = "entries"
        uuid = Column(Uuid, primary_key=True, default=uuid4)
        name = Column(String(50), nullable=False, unique=True)
        score = Column(Integer, nullable=False, default=0)

    path = tmp_path / "shipped.sqlite3"
    with DataSetBuilder(Base, path) as builder:
        builder.load_rows(Entry, [{"uuid": uuid4(), "name": name, "score": i} for i, name in enumerate("abc")])
    DataSet.configure({Base.dataset.name: str(path)})
    return Base, Entry, path


def test_shipped_data_set_refuses_every_write(make_base: MakeBase, tmp_path: Path) -> None:
    Base, Entry, path = shipped_entries(make_base, tmp_path)
    before = sha256(path)
    adapter = Base.dataset.adapter()
    store = Store(adapter, Entry)
    assert adapter.execute(text("PRAGMA query_only")).scalar() == 1
    existing = adapter.scalars(select(Entry).where(Entry.name == "a")).one()
    key = existing.uuid

    def raw_session_insert() -> None:
        session = adapter.get_session()
        session.add(Entry(uuid=uuid4(), name="raw"))
        session.flush()

    def raw_session_update() -> None:
        session = adapter.get_session()
        entry = session.get(Entry, key)
        assert entry is not None
        entry.score = 100
        session.flush()

    def inside_atomic() -> None:
        with atomic(adapter):
            adapter.create(Entry(uuid=uuid4(), name="atomic"))

    def query_only_switched_off() -> None:
        adapter.execute(text("PRAGMA query_only = OFF"))  # the mode=ro file still refuses
        adapter.execute(insert(Entry).values(uuid=uuid4(), name="sneaky"))

    def create_all_with_a_new_model() -> None:
        class Extra(Base):  # type: ignore[valid-type,misc]
            __tablename__ = "extras"
            id = Column(Integer, primary_key=True)

        Base.dataset.create_all()

    attempts: dict[str, Callable[[], Any]] = {
        "adapter.create": lambda: adapter.create(Entry(uuid=uuid4(), name="new")),
        "adapter.bulk_create": lambda: adapter.bulk_create([Entry(uuid=uuid4(), name=n) for n in ("x", "y")]),
        "adapter.delete": lambda: adapter.delete(existing),
        "adapter.bulk_delete": lambda: adapter.bulk_delete([existing]),
        "execute(insert)": lambda: adapter.execute(insert(Entry).values(uuid=uuid4(), name="i")),
        "execute(update)": lambda: adapter.execute(update(Entry).values(score=5)),
        "execute(delete)": lambda: adapter.execute(delete(Entry)),
        "execute(CREATE TABLE)": lambda: adapter.execute(text("CREATE TABLE intruder (id INTEGER)")),
        "execute(CREATE INDEX)": lambda: adapter.execute(text("CREATE INDEX ix_score ON entries (score)")),
        "execute(DROP TABLE)": lambda: adapter.execute(text("DROP TABLE entries")),
        "execute(PRAGMA user_version)": lambda: adapter.execute(text("PRAGMA user_version = 7")),
        "Store.create": lambda: store.create(Entry(name="s")),
        "Store.update": lambda: store.update(key, score=9),
        "Store.update_with_diff": lambda: store.update_with_diff(key, score=9),
        "Store.delete": lambda: store.delete(key),
        "Store.hard_delete": lambda: store.hard_delete(key),
        "Store.upsert": lambda: store.upsert(Entry(uuid=key, name="a", score=1)),
        "Store.bulk_upsert": lambda: store.bulk_upsert([Entry(uuid=uuid4(), name="u1"), Entry(uuid=key, name="a")]),
        "Store.replace": lambda: store.replace(key, Entry(name="a2")),
        "session.add + flush": raw_session_insert,
        "session dirty + flush": raw_session_update,
        "atomic block": inside_atomic,
        "PRAGMA query_only = OFF, then insert": query_only_switched_off,
        "DataSet.create_all": create_all_with_a_new_model,
    }
    failures = []
    for label, attempt in attempts.items():
        try:
            attempt()
        except DatabaseReadOnlyError:
            continue
        except Exception as exc:
            failures.append(f"{label}: {type(exc).__name__}: {exc}")
        else:
            failures.append(f"{label}: no error")
    assert not failures, failures

    assert sha256(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shipped.sqlite3"]  # no journal or WAL left behind
    assert store.count() == 3  # reads still work after every refusal
    assert sorted(e.score for e in store.search()) == [0, 1, 2]


async def test_async_reads_of_a_shipped_data_set(make_base: MakeBase, tmp_path: Path) -> None:
    Base, Entry, path = shipped_entries(make_base, tmp_path)
    before = sha256(path)
    adapter = Base.dataset.async_adapter()
    assert isinstance(adapter, AsyncSQLiteSQLAlchemyAdapter)
    assert adapter.session_manager.config.READ_ONLY
    store = AsyncStore(adapter, Entry)
    try:
        assert await store.count() == 3
        page = await store.search(pagination=PaginationDTO(page=2, page_size=2), sort=SortDTO(field="name"))
        assert [e.name for e in page] == ["a"]  # descending by default: c, b | a
        assert [e.name async for e in store.iterate(batch_size=2, sort=SortDTO(field="name", order="asc"))] == [
            "a",
            "b",
            "c",
        ]
        found = await store.search_first(Entry.score > 0, sort=SortDTO(field="score", order="asc"))
        assert found is not None
        assert found.name == "b"
        rows = (await adapter.execute(select(Entry.name).order_by(Entry.name))).scalars().all()
        assert rows == ["a", "b", "c"]
        items, total = await adapter.execute_search_query(
            Entry, select(Entry), PaginationDTO(page=1, page_size=2), SortDTO(field="score", order="asc")
        )
        assert ([e.score for e in items], total) == ([0, 1], 3)

        writes = [
            adapter.create(Entry(uuid=uuid4(), name="async")),
            adapter.execute(update(Entry).values(score=1)),
            store.create(Entry(name="async-store")),
            store.update(page[0].uuid, score=10),
            store.upsert(Entry(uuid=page[0].uuid, name="a")),
            store.delete(page[0].uuid),
        ]
        for write in writes:
            with pytest.raises(DatabaseReadOnlyError):
                await write
        assert await store.count() == 3
    finally:
        await Base.dataset.async_dispose()
    assert sha256(path) == before


async def test_in_memory_async_data_set(make_base: MakeBase) -> None:
    Base = make_base("scratch")

    class Thing(Base):  # type: ignore[valid-type,misc]
        __tablename__ = "things"
        id = Column(Integer, primary_key=True)
        label = Column(String, nullable=False)

    try:
        await Base.dataset.async_create_all()
        store = AsyncStore(Base.dataset.async_adapter(), Thing)
        await store.create(Thing(id=1, label="one"))
        assert [t.label for t in await store.search()] == ["one"]
    finally:
        await Base.dataset.async_dispose()


# --- a million rows, streamed with flat memory

_STATUS = Path("/proc/self/status")


def _status_bytes(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


def _reset_peak_rss() -> int | None:
    """Reset the process's peak RSS (Linux) and return the current RSS; None where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_bytes("VmRSS")
    except (OSError, LookupError):
        return None


def _peak_rss() -> int:
    return _status_bytes("VmHWM")


@pytest.mark.slow
def test_store_streams_a_million_rows_with_flat_memory(make_base: MakeBase, tmp_path: Path) -> None:
    Base = make_base("big")

    class Reading(Base):  # type: ignore[valid-type,misc]
        __tablename__ = "readings"
        id = Column(Integer, primary_key=True)
        station = Column(String(20), nullable=False)
        value = Column(Float, nullable=False)
        payload = Column(String(40), nullable=False)

    rows = 1_000_000
    path = tmp_path / "big.sqlite3"
    started = time.perf_counter()
    with DataSetBuilder(Base, path) as builder:  # the builder's raw path: one INSERT ... SELECT
        builder.execute(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :rows) "
            "INSERT INTO readings (id, station, value, payload) "
            "SELECT n, 'station-' || (n % 100), n * 0.5, hex(randomblob(16)) FROM seq",
            {"rows": rows},
        )
    built = time.perf_counter() - started
    size_mb = path.stat().st_size / 2**20
    assert size_mb > 50

    DataSet.configure({Base.dataset.name: str(path)})
    store = Store(Base.dataset.adapter(), Reading)
    traced_rows = 100_000  # tracemalloc makes ORM loading ~5x slower: trace the start, where eager loading would show
    gc.collect()
    gc.disable()  # stricter: memory must stay flat without the cycle collector's help
    rss_before = _reset_peak_rss()
    started = time.perf_counter()
    tracemalloc.start()
    try:
        count, total, traced_peak = 0, 0.0, 0
        for reading in store.iterate(batch_size=1000):
            count += 1
            total += reading.value
            if count == traced_rows:
                traced_peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
    finally:
        tracemalloc.stop()
        gc.enable()
    iterated = time.perf_counter() - started
    rss_growth = (_peak_rss() - rss_before) if rss_before is not None else None
    traced_mb = traced_peak / 2**20
    rss_text = f"{rss_growth / 2**20:.1f} MB" if rss_growth is not None else "n/a"
    print(
        f"\n1M-row data set: {size_mb:.1f} MB file built in {built:.1f} s; Store.iterate streamed {count} rows "
        f"in {iterated:.1f} s; tracemalloc peak over the first {traced_rows} rows {traced_mb:.2f} MB; "
        f"peak RSS growth over all rows {rss_text}"
    )
    assert count == rows
    assert total == sum(n * 0.5 for n in range(1, rows + 1))
    assert 0 < traced_mb < 50
    if rss_growth is not None:
        assert rss_growth < 50 * 2**20

    last = store.search(pagination=PaginationDTO(page=10_000, page_size=100), sort=SortDTO(field="id", order="asc"))
    assert [r.id for r in last[:2]] == [999_901, 999_902]
    assert len(last) == 100
    adapter = Base.dataset.adapter()
    query = select(Reading).where(Reading.station == "station-7")
    page, matching = adapter.execute_search_query(
        Reading, query, PaginationDTO(page=3, page_size=50), SortDTO(field="id", order="asc")
    )
    assert matching == 10_000
    assert [r.id for r in page[:2]] == [10_007, 10_107]
    assert store.count(Reading.value > 499_999.5) == 1
