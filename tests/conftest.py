"""Shared fixtures: synthetic parcels made with shapely.box, and the sample district once a session."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely

import geo_renewal


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


# ------------------------------------------------------------------ the sample district
#
# One copy per test session (per xdist worker) of the sample district (样例片区) read and
# classified as the tests use it. The objects are SHARED: a test must not change them in
# place. Take ``.copy()`` first (``sample_parcels.copy()``, ``{**sample_layers}``) when a test
# needs to modify a frame. At the end of the session every fixture checks that its object is
# unchanged and reports an error naming the fixture otherwise.

#: Constraint layers of ``sample_district.gpkg`` that the default rules read.
SAMPLE_RULE_LAYERS = ("heritage_core", "heritage_control", "eco_belt", "view_corridor", "river")


def _fingerprint(obj: object) -> str:
    """A digest of a GeoDataFrame's values, geometry, columns, index and CRS (or of a dict of them)."""
    h = hashlib.sha1()
    if isinstance(obj, dict):
        for name in sorted(obj):
            h.update(f"{name}={_fingerprint(obj[name])};".encode())
        return h.hexdigest()
    frame = obj
    h.update(repr((list(frame.columns), [str(t) for t in frame.dtypes], str(frame.crs))).encode())
    h.update(pd.util.hash_pandas_object(frame.index).to_numpy().tobytes())
    values = frame.drop(columns=frame.geometry.name)
    if len(values.columns):
        h.update(pd.util.hash_pandas_object(values.astype(str), index=False).to_numpy().tobytes())
    h.update(b"".join(shapely.to_wkb(np.asarray(frame.geometry.array), hex=False)))
    return h.hexdigest()


def _shared(name: str, obj: object):
    """Yield `obj`, then fail the session if a test changed it in place."""
    before = _fingerprint(obj)
    yield obj
    if _fingerprint(obj) != before:
        pytest.fail(
            f"a test changed the shared fixture `{name}` in place; take a .copy() first "
            "(see tests/conftest.py).",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def sample_path():
    """Path of ``sample_district.gpkg`` (skips the test when the sample data is absent)."""
    datasets = pytest.importorskip("geo_renewal.datasets")
    try:
        return datasets.get_path("sample_district")
    except geo_renewal.InputError as e:
        pytest.skip(f"sample district not available: {e}")


@pytest.fixture(scope="session")
def sample_flood():
    """Path of the sample district's design-flood raster ``flood_depth.tif``."""
    datasets = pytest.importorskip("geo_renewal.datasets")
    try:
        return datasets.get_path("flood_depth")
    except geo_renewal.InputError as e:
        pytest.skip(f"flood raster not available: {e}")


@pytest.fixture(scope="session")
def sample_parcels(sample_path):
    """The sample parcels, ``read_layer(..., kind="parcels")``. Shared: do not modify."""
    yield from _shared(
        "sample_parcels", geo_renewal.read_layer(sample_path, layer="parcels", kind="parcels")
    )


@pytest.fixture(scope="session")
def sample_layers(sample_path):
    """The constraint layers the default rules read, ``{name: GeoDataFrame}``. Shared."""
    layers = {n: geo_renewal.read_layer(sample_path, layer=n) for n in SAMPLE_RULE_LAYERS}
    yield from _shared("sample_layers", layers)


@pytest.fixture(scope="session")
def sample_districts(sample_path):
    """The seven streets (街道) of the sample district, layer ``districts``. Shared."""
    yield from _shared("sample_districts", geo_renewal.read_layer(sample_path, layer="districts"))


@pytest.fixture(scope="session")
def sample_classified(sample_parcels, sample_layers, sample_flood):
    """The sample parcels classified with the default rules, layers and flood raster. Shared."""
    out = geo_renewal.classify_parcels(
        sample_parcels, "default", layers=sample_layers, rasters={"flood_depth": sample_flood}
    )
    yield from _shared("sample_classified", out)
