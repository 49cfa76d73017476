"""Raster burning on threads: the same grid and the same statistics as on one thread."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import rasterio
from rasterio.transform import from_origin
from shapely import box

from geo_renewal import raster
from geo_renewal.raster import _burn, zonal_stats
from tests.test_raster import _random_polygons


@pytest.mark.parametrize("seed", [0, 1])
def test_threaded_burn_equals_one_thread_with_overlaps(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    geoms = _random_polygons(rng, 400, 300.0)  # many overlap: the highest number wins
    transform, shape = from_origin(-17.3, 323.1, 3.7, 3.7), (92, 97)
    which = rng.random(len(geoms)) < 0.9
    one = _burn(geoms, which, transform, shape, False, 1)
    assert len(np.unique(one)) > 100
    for threads in (2, 3):
        assert np.array_equal(_burn(geoms, which, transform, shape, False, threads), one)
    monkeypatch.setattr(raster, "_CHUNK", 7)  # the one-thread chunks: same grid
    assert np.array_equal(_burn(geoms, which, transform, shape, False, 1), one)


def test_zonal_stats_on_threads_equal_one_thread(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    data = rng.uniform(0, 2, (80, 90)).astype("float32")
    data[::7, ::5] = -9999.0
    tif = tmp_path / "depth.tif"
    with rasterio.open(
        tif, "w", driver="GTiff", width=90, height=80, count=1, dtype="float32",
        crs="EPSG:4548", nodata=-9999.0, transform=from_origin(0.0, 800.0, 10.0, 10.0),
    ) as dst:  # fmt: skip
        dst.write(data, 1)
    geoms = [*_random_polygons(rng, 300, 800.0), box(3, 3, 4, 4), box(401, 401, 403, 402)]
    parcels = gpd.GeoDataFrame({"pid": range(len(geoms))}, geometry=geoms, crs="EPSG:4548")
    monkeypatch.setattr(raster, "_BURN_MIN_PARCELS", 10)
    one = zonal_stats(parcels, tif, above=[0.5, 1.5], n_jobs=1)
    two = zonal_stats(parcels, tif, above=[0.5, 1.5], n_jobs=2)
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    assert (one["n_pixels"].iloc[-2:] == 1).all()  # tiny parcels: their touched pixel ("auto")
    assert one["share_above_0.5"].notna().sum() > 250
