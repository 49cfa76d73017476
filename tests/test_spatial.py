from __future__ import annotations

import math

import numpy as np
import pytest

import geopandas as gpd
import shapely
from shapely import LineString, Point, box

from geo_renewal import CRSError, InputError
from geo_renewal.spatial import distance_to, intersects, share_in

X0, Y0 = 500_000.0, 4_063_000.0


def _gdf(geoms, crs="EPSG:4548", **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=crs)


@pytest.fixture
def parcels():
    """Three 100 m squares in a row (gaps of 10 m), non-default index."""
    geoms = [box(X0 + k * 110, Y0, X0 + k * 110 + 100, Y0 + 100) for k in range(3)]
    gdf = _gdf(geoms, pid=["a", "b", "c"])
    gdf.index = [7, 3, 5]
    return gdf


def test_share_in_hand_computed(parcels):
    # zone covers the right 25 m of parcel a and the left 40 m of parcel b (the gap too)
    zone = _gdf([box(X0 + 75, Y0 - 50, X0 + 150, Y0 + 200)])
    got = share_in(parcels, zone)
    assert list(got.index) == [7, 3, 5]
    np.testing.assert_allclose(got.to_numpy(), [0.25, 0.40, 0.0])


def test_share_in_overlapping_features_not_double_counted(parcels):
    a = box(X0, Y0, X0 + 60, Y0 + 100)
    b = box(X0 + 40, Y0, X0 + 100, Y0 + 50)  # overlaps a on 20 × 50
    got = share_in(parcels, _gdf([a, b, a]))
    expected = (60 * 100 + 40 * 50) / 10_000
    np.testing.assert_allclose(got.iloc[0], expected)


def test_share_in_inside_hole_and_multipart(parcels):
    outer = box(X0 - 10, Y0 - 10, X0 + 330, Y0 + 110)
    hole = box(X0 + 100, Y0 - 10, X0 + 210, Y0 + 110)  # parcel b sits in the hole
    donut = outer.difference(hole)
    got = share_in(parcels, _gdf([donut]))
    np.testing.assert_allclose(got.to_numpy(), [1.0, 0.0, 1.0])
    multi = shapely.MultiPolygon(
        [box(X0, Y0, X0 + 50, Y0 + 100), box(X0 + 220, Y0, X0 + 320, Y0 + 10)]
    )
    np.testing.assert_allclose(share_in(parcels, _gdf([multi])).to_numpy(), [0.5, 0.0, 0.1])


def test_share_in_refuses_lines(parcels):
    with pytest.raises(InputError, match="needs a polygon layer"):
        share_in(parcels, _gdf([LineString([(X0, Y0), (X0 + 10, Y0 + 10)])]))


def test_intersects_touching_counts(parcels):
    layer = _gdf([box(X0 + 100, Y0 + 20, X0 + 105, Y0 + 30), Point(X0 + 500, Y0)])
    got = intersects(parcels, layer)
    assert got.tolist() == [True, False, False]  # a touches at x = X0 + 100
    assert got.dtype == bool
    assert intersects(parcels, _gdf([Point(X0 + 250, Y0 + 50)])).tolist() == [False, False, True]


def test_distance_to_hand_computed(parcels):
    river = _gdf([LineString([(X0, Y0 + 130), (X0 + 330, Y0 + 130)])])  # 30 m north of all
    np.testing.assert_allclose(distance_to(parcels, river).to_numpy(), [30.0, 30.0, 30.0])
    diag = _gdf([Point(X0 + 330, Y0 + 140)])  # 10 m east, 40 m north of c's corner
    np.testing.assert_allclose(
        distance_to(parcels, diag).to_numpy(),
        [math.hypot(230, 40), math.hypot(120, 40), math.hypot(10, 40)],
    )
    inside = _gdf([Point(X0 + 50, Y0 + 50)])
    assert distance_to(parcels, inside).iloc[0] == 0.0


def test_distance_to_cap_is_exact_below_and_inf_beyond(parcels):
    pt = _gdf([Point(X0 + 50, Y0 + 150)])  # 50 m north of a; b and c farther
    exact = distance_to(parcels, pt).to_numpy()
    capped = distance_to(parcels, pt, max_dist=60).to_numpy()
    assert capped[0] == exact[0] == 50.0
    assert np.isinf(capped[1:]).all()
    assert (exact[1:] > 60).all()
    for c in (40.0, 50.0, 60.0):  # comparisons with constants ≤ cap agree
        assert ((capped >= c) == (exact >= c)).all()
        assert ((capped < c) == (exact < c)).all()


def test_empty_layer(parcels):
    empty = _gdf([], crs="EPSG:4548")
    assert share_in(parcels, empty).tolist() == [0.0, 0.0, 0.0]
    assert not intersects(parcels, empty).any()
    assert np.isinf(distance_to(parcels, empty)).all()


def test_layer_in_other_crs_is_reprojected(parcels, caplog):
    zone = _gdf([box(X0 + 75, Y0 - 50, X0 + 150, Y0 + 200)])
    expected = share_in(parcels, zone).to_numpy()
    caplog.set_level("INFO", logger="geo_renewal")
    got = share_in(parcels, zone.to_crs(4326)).to_numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert "reprojecting" in caplog.text


def test_layer_without_crs_refused(parcels):
    with pytest.raises(CRSError, match="`layer` has no CRS"):
        intersects(parcels, gpd.GeoSeries([Point(X0, Y0)]))


def test_far_away_layer_warns(parcels):
    far = _gdf([Point(X0 + 200_000, Y0)])
    with pytest.warns(UserWarning, match="200 km from the parcels; check"):
        intersects(parcels, far)


def test_missing_parcel_geometry(parcels):
    p = parcels.copy()
    p.loc[3, "geometry"] = None
    zone = _gdf([box(X0 - 10, Y0 - 10, X0 + 400, Y0 + 200)])
    got = share_in(p, zone)
    assert got.loc[7] == 1.0
    assert np.isnan(got.loc[3])
    assert intersects(p, zone).tolist() == [True, False, True]
    assert np.isnan(distance_to(p, zone).loc[3])
