"""Shared fixtures: synthetic parcels made with shapely.box and session paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely

import geo_renewal


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    doctest_namespace["gr"] = geo_renewal
    doctest_namespace["geo_renewal"] = geo_renewal
    doctest_namespace["gpd"] = gpd
    doctest_namespace["pd"] = pd
    doctest_namespace["np"] = np


@pytest.fixture
def grid_parcels() -> gpd.GeoDataFrame:
    """A 4 × 5 grid of 100 m × 100 m parcels with 10 m roads, in EPSG:4548 near Jinan."""
    x0, y0 = 500_000.0, 4_063_000.0
    rows = []
    for i in range(4):
        for j in range(5):
            x, y = x0 + j * 110.0, y0 + i * 110.0
            rows.append(
                {
                    "parcel_id": f"P{i}{j}",
                    "land_use": "residential" if j < 3 else "industrial",
                    "build_year": 1960 + 10 * i + j,
                    "floors": 1 + i + j,
                    "structure": "brick_wood" if i == 0 else "brick_concrete",
                    "danger_grade": "CDBA"[i] if j < 4 else "A",
                    "households": 10 * (i + 1),
                    "population": 32 * (i + 1),
                    "floor_area": 1000.0 * (i + 1),
                    "street": "东关街道" if j < 2 else "西关街道",
                    "geometry": shapely.box(x, y, x + 100.0, y + 100.0),
                }
            )
    return gpd.GeoDataFrame(rows, crs="EPSG:4548")
