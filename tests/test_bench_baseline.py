"""The end-to-end benchmark's hand-written flood step gives geo_renewal's shares exactly."""

from __future__ import annotations

import numpy as np

import geopandas as gpd

from benchmarks.bench_end_to_end import _flood_share
from benchmarks.city import flood_raster
from benchmarks.synth import synthetic_city
from geo_renewal.raster import zonal_stats


def test_hand_written_flood_share_equals_zonal_stats(tmp_path):
    city = synthetic_city(3_000, seed=4)
    tif = flood_raster(3_000, tmp_path / "flood.tif")
    tiny = gpd.GeoSeries(city.geometry.scale(0.2, 0.2), crs=city.crs)  # between centres
    parcels = gpd.GeoSeries(np.r_[city.geometry.array, tiny.array[:50]], crs=city.crs)
    want = zonal_stats(parcels, tif, above=[0.5])["share_above_0.5"].to_numpy()
    got = _flood_share(np.asarray(parcels.array), tif)
    assert np.isfinite(want).all()
    assert (want > 0.5).sum() > 100
    np.testing.assert_array_equal(got, want)
