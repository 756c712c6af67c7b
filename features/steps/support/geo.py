"""The ``bdd_geo`` data set: countries and their cities, a read-only SQLite file built ahead of time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, String

from archipy_lite.datasets import DataSet

GeoBase: Any = DataSet.create("bdd_geo")
GEO = GeoBase.dataset


class Country(GeoBase):  # type: ignore[misc]
    __tablename__ = "countries"

    code = Column(String(2), primary_key=True)
    name = Column(String(100), nullable=False)


class City(GeoBase):  # type: ignore[misc]
    __tablename__ = "cities"

    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False)
    country_code = Column(String(2), ForeignKey("countries.code"), nullable=False)
    population = Column(Integer, nullable=False)
