"""Read-only SQLite data sets built ahead of time (features/datasets.feature).

Each scenario builds the ``bdd_geo`` data set into a fresh file, points the data set at it
with ``DataSet.configure`` and forgets that again afterwards.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import Any

from behave import given, then, when

from archipy_lite.datasets import DataSetBuilder, ForeignKeyViolationError
from archipy_lite.datasets.config import ENV_PREFIX
from archipy_lite.models.dtos import SortDTO
from archipy_lite.stores import AsyncStore, Store

from steps.support.backends import Backend
from steps.support.geo import GEO, City, Country
from steps.support.shop import attempt, current_backend, expect_error, store_for


def _write_csv(path: Path, table: Any) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(table.headings)
        writer.writerows(row.cells for row in table)


def _forget_geo(context: Any) -> None:
    context.loop.run_until_complete(GEO.async_dispose())  # closes the sync engines too
    GEO.unconfigure()


@given('the "{name}" data set is built from these countries:')
def step_countries(context: Any, name: str) -> None:
    assert name == "geo"
    context.geo_dir = Path(tempfile.mkdtemp(prefix="geo_", dir=context.tmp_dir))
    _write_csv(context.geo_dir / "countries.csv", context.table)


@given("these cities:")
def step_cities(context: Any) -> None:
    _write_csv(context.geo_dir / "cities.csv", context.table)
    context.geo_file = context.geo_dir / "geo.sqlite3"
    with DataSetBuilder(GEO, context.geo_file) as builder:
        builder.load_directory(context.geo_dir)
    GEO.configure({"bdd_geo": str(context.geo_file)})  # a file data set opens read-only
    context.add_cleanup(_forget_geo, context)


@given('the service opens the shipped "{name}" data set with {label}')
def step_open_dataset(context: Any, name: str, label: str) -> None:
    db = current_backend(context)
    assert db.kind == "sqlite", "data sets are SQLite files"
    assert label == db.label, f"the tags select {db.label}, the step names {label}"
    adapter = GEO.async_adapter() if db.is_async else GEO.adapter()
    context.geo = Backend(db.spec, adapter, adapter.session_manager.config, db.loop)
    context.cities = store_for(context.geo, Store, AsyncStore, City)


@when('the service lists the cities of "{country}" by population')
def step_list_cities(context: Any, country: str) -> None:
    geo: Backend = context.geo
    sort = SortDTO(field="population", order="descending")
    context.found = geo.call(context.cities.search, filters={"country_code": country}, sort=sort)


@then('it sees the cities "{names}"')
def step_sees_cities(context: Any, names: str) -> None:
    assert [city.name for city in context.found] == [name.strip() for name in names.split(",")]


@then("the store counts {count:d} cities in the data set")
def step_counts_cities(context: Any, count: int) -> None:
    assert context.geo.call(context.cities.count) == count


@when('the service tries to add the city "{name}" in "{country}" to the data set')
def step_try_add_city(context: Any, name: str, country: str) -> None:
    geo: Backend = context.geo
    attempt(context, geo.call, context.cities.create, City(id=99, name=name, country_code=country, population=1))


async def _stream(store: Any, batch_size: int) -> list[City]:
    return [city async for city in store.iterate(batch_size=batch_size, sort=SortDTO(field="id", order="asc"))]


@when("the service streams every city in batches of {batch_size:d}")
def step_stream_cities(context: Any, batch_size: int) -> None:
    geo: Backend = context.geo
    if geo.is_async:
        context.found = geo.loop.run_until_complete(_stream(context.cities, batch_size))
        return
    rows = context.cities.iterate(batch_size=batch_size, sort=SortDTO(field="id", order="asc"))
    try:
        context.found = list(rows)
    finally:
        rows.close()


@then("it receives {count:d} cities, in the order of their identifiers")
def step_receives(context: Any, count: int) -> None:
    assert [city.id for city in context.found] == list(range(1, count + 1))


@given('the environment names the "{name}" data set\'s file')
def step_environment_names_file(context: Any, name: str) -> None:
    GEO.unconfigure()  # nothing configured in code
    variable = f"{ENV_PREFIX}BDD_{name.upper()}"
    saved = os.environ.get(variable)
    os.environ[variable] = str(context.geo_file)

    def restore() -> None:
        if saved is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = saved

    context.add_cleanup(restore)


@when('the service opens the "{name}" data set without configuring it in code')
def step_open_from_environment(context: Any, name: str) -> None:
    context.geo_adapter = GEO.adapter()


@then("the data set is opened read-only from that file")
def step_opened_read_only(context: Any) -> None:
    config = context.geo_adapter.session_manager.config
    assert config.READ_ONLY is True
    assert Path(config.DATABASE) == context.geo_file


@then("it sees {count:d} countries")
def step_sees_countries(context: Any, count: int) -> None:
    assert Store(context.geo_adapter, Country).count() == count


@when('the "{name}" data set is rebuilt with a city "{city}" in the unknown country "{country}"')
def step_rebuild_with_orphan(context: Any, name: str, city: str, country: str) -> None:
    context.error = None
    try:
        with DataSetBuilder(GEO, context.geo_file, replace=True) as builder:
            builder.load_directory(context.geo_dir)
            builder.load_rows(City, [{"id": 7, "name": city, "country_code": country, "population": 0}])
    except ForeignKeyViolationError as error:
        context.error = error


@then('the build is refused, naming the table "{table}" and the missing parent "{parent}"')
def step_build_refused(context: Any, table: str, parent: str) -> None:
    error = expect_error(context, ForeignKeyViolationError)
    assert [(v.table, v.parent) for v in error.violations] == [(table, parent)], error.violations


@then('the shipped "{name}" data set still has {count:d} cities')
def step_still_has(context: Any, name: str, count: int) -> None:
    assert Store(GEO.adapter(), City).count() == count
