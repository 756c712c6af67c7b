"""Class 16: CSV builders take every kind of source, and defaults for columns a file lacks.

Every kind of source (a path as ``str`` and as ``Path``, a text file, a binary file, ``io.StringIO``,
``io.BytesIO``) through every builder entry point (``DataSetBuilder.load_csv``, ``load_files``,
``build_from_csv`` with a mapping), with no defaults, constant defaults (converted like CSV text)
and callable defaults (called per row). The rows are read back through the sync and the aiosqlite
adapters of the shipped (read-only) file; a caller's file object stays open; mistakes (a default for
an unknown column, a stream without a table name) are ``InvalidArgumentError``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from itertools import count as counter
from pathlib import Path
from typing import IO, Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Boolean, Column, Integer, String, Uuid

from archipy_lite.datasets import DataSet, DataSetBuilder, build_from_csv
from archipy_lite.models.errors import InvalidArgumentError
from archipy_lite.stores import AsyncStore, Store

from . import figures

CSV = "id,name\n1,Paris\n2,Köln\n"


def sources(folder: Path) -> dict[str, Callable[[], Any]]:
    path = folder / "cities.csv"
    path.write_text(CSV, encoding="utf-8")
    return {
        "str path": lambda: str(path),
        "pathlib.Path": lambda: path,
        "text file": lambda: open(path, newline="", encoding="utf-8"),
        "binary file": lambda: open(path, "rb"),
        "io.StringIO": lambda: io.StringIO(CSV),
        "io.BytesIO": lambda: io.BytesIO(CSV.encode()),
    }


SOURCE_KINDS = ["str path", "pathlib.Path", "text file", "binary file", "io.StringIO", "io.BytesIO"]
numbers = counter(100)
DEFAULTS: dict[str, tuple[dict[str, Any], Callable[[Any], bool]]] = {
    "none": ({}, lambda row: row.country == "??" and row.active is True and row.ref is None),
    "constants (as CSV text)": (
        {"country": "EU", "active": "no", "ref": "12345678-1234-5678-1234-567812345678"},
        lambda row: (row.country, row.active, row.ref) == ("EU", False, UUID("12345678-1234-5678-1234-567812345678")),
    ),
    "callables (per row)": (
        {"ref": uuid4, "country": lambda: f"C{next(numbers)}"},
        lambda row: isinstance(row.ref, UUID) and row.country.startswith("C"),
    ),
}
ENTRIES = ["load_csv", "load_files", "build_from_csv"]
_cases: list[str] = []


@pytest.fixture
def base(tmp_path: Path) -> Iterator[Any]:
    name = f"cls_csv_{uuid4().hex[:8]}"
    Base: Any = DataSet.create(name)

    class City(Base):  # type: ignore[misc,valid-type]
        __tablename__ = "cities"
        id = Column(Integer, primary_key=True)
        name = Column(String(50), nullable=False)
        country = Column(String(5), nullable=False, default="??")
        active = Column(Boolean, nullable=False, default=True)
        ref = Column(Uuid, nullable=True)

    Base.City = City
    DataSet.configure({name: str(tmp_path / "built.sqlite3")})
    yield Base
    DataSet.unconfigure(name)
    DataSet.forget(name)


def load(entry: str, base: Any, source: Any, defaults: dict[str, Any]) -> None:
    table_defaults = {"cities": defaults} if defaults else None
    if entry == "build_from_csv":
        build_from_csv(base, {"cities": source}, defaults=table_defaults)
        return
    with DataSetBuilder(base) as builder:
        if entry == "load_csv":
            builder.load_csv(source, "cities", defaults=defaults or None)
        else:
            builder.load_files({"cities": source}, defaults=table_defaults)


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("defaults", list(DEFAULTS))
@pytest.mark.parametrize("kind", SOURCE_KINDS)
async def test_every_source_and_defaults_load_the_same_rows(
    base: Any, tmp_path: Path, kind: str, defaults: str, entry: str
) -> None:
    source = sources(tmp_path)[kind]()
    values, check = DEFAULTS[defaults]
    try:
        load(entry, base, source, values)
        if isinstance(source, io.IOBase):
            assert not source.closed  # the caller's file is the caller's to close
    finally:
        if isinstance(source, io.IOBase):
            source.close()
    dataset = base.dataset
    rows = Store(dataset.adapter(), base.City).search()
    async_rows = await AsyncStore(dataset.async_adapter(), base.City).search()
    assert sorted((row.id, row.name) for row in rows) == [(1, "Paris"), (2, "Köln")]
    assert sorted(row.id for row in async_rows) == [1, 2]
    assert all(check(row) for row in rows), [(r.country, r.active, r.ref) for r in rows]
    if defaults == "callables (per row)":
        assert rows[0].ref != rows[1].ref  # called once per row
    await dataset.async_dispose()
    _cases.append(kind)


def test_the_file_wins_over_a_default_and_a_stream_resumes_where_it_stands(base: Any) -> None:
    stream: IO[str] = io.StringIO("skip me\nid,name,country\n7,Rome,IT\n")
    stream.readline()
    with DataSetBuilder(base) as builder:
        builder.load_csv(stream, "cities", defaults={"country": "XX"})
    assert [(r.name, r.country) for r in Store(base.dataset.adapter(), base.City).search()] == [("Rome", "IT")]
    _cases.append("file wins")


@pytest.mark.parametrize(
    "mistake",
    ["unknown default column", "stream without a table", "defaults for an unknown table", "bad default value"],
)
def test_mistakes_are_typed_errors(base: Any, mistake: str) -> None:
    def attempt(builder: DataSetBuilder) -> Any:
        if mistake == "unknown default column":
            return builder.load_csv(io.StringIO(CSV), "cities", defaults={"population": 1})
        if mistake == "stream without a table":
            return builder.load_csv(io.StringIO(CSV))
        if mistake == "defaults for an unknown table":
            return builder.load_files({"cities": io.StringIO(CSV)}, defaults={"towns": {"x": 1}})
        return builder.load_csv(io.StringIO(CSV), "cities", defaults={"active": "perhaps"})

    with pytest.raises(InvalidArgumentError) as caught, DataSetBuilder(base) as builder:
        attempt(builder)
    assert str(caught.value)
    _cases.append(mistake)


@pytest.mark.parametrize("kind", ["path", "binary file"])
def test_a_byte_order_mark_is_read_past_and_other_encodings_are_named(base: Any, tmp_path: Path, kind: str) -> None:
    marked, latin = tmp_path / "marked.csv", tmp_path / "latin.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + CSV.encode())  # as spreadsheet programs save UTF-8
    latin.write_bytes("id,name\n3,Zürich\n".encode("latin-1"))

    def source(path: Path) -> Any:
        return path if kind == "path" else io.BytesIO(path.read_bytes())

    with DataSetBuilder(base) as builder:
        builder.load_csv(source(marked), "cities")
    assert sorted(r.name for r in Store(base.dataset.adapter(), base.City).search()) == ["Köln", "Paris"]
    with pytest.raises(InvalidArgumentError) as caught, DataSetBuilder(base) as builder:
        builder.load_csv(source(latin), "cities")
    assert "utf-8" in str(caught.value)
    assert caught.value.details["encoding"] == "utf-8"
    with DataSetBuilder(base) as builder:  # named, it reads
        builder.load_csv(source(latin), "cities", encoding="latin-1")
    _cases.append(f"encodings ({kind})")


def test_figures() -> None:
    figures.record_class(
        16,
        "CSV builders take files and defaults",
        cases=len(_cases),
        varies=f"{len(SOURCE_KINDS)} kinds of source x {len(DEFAULTS)} kinds of defaults x {len(ENTRIES)} entry points",
        backends="built with sqlite3, read with sqlite3 and aiosqlite",
    )
