"""Tests of geo_renewal.crs: GCJ-02/BD-09, geodesic-accurate area, coordinate plausibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import geopandas.testing
import shapely
from pyproj import CRS, Geod

from geo_renewal import settings
from geo_renewal._errors import CRSError
from geo_renewal.crs import (
    GCJ_BOX,
    area,
    bd09_to_gcj02,
    bd09_to_wgs84,
    check_coordinates,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    swap_xy,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")


@pytest.fixture
def china_grid() -> np.ndarray:
    """1,000 (lon, lat) points on a 40 × 25 grid spread over China."""
    lon, lat = np.meshgrid(np.linspace(73.7, 134.9, 40), np.linspace(18.2, 53.4, 25))
    return np.column_stack([lon.ravel(), lat.ravel()])


def _metres(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2]


# --- GCJ-02 / BD-09 -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wgs", "gcj"),
    [
        # Published test vectors of eviltransform (BSD-2): Shanghai, Shenzhen, Beijing.
        ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
        ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
        ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
    ],
)
def test_gcj02_matches_reference_vectors(wgs, gcj):
    got = wgs84_to_gcj02(np.array(wgs))
    np.testing.assert_allclose(got, gcj, atol=1e-9)
    np.testing.assert_allclose(gcj02_to_wgs84(np.array(gcj)), wgs, atol=1e-9)


def test_gcj02_offset_near_jinan_is_hundreds_of_metres():
    jinan = np.array([[117.0, 36.67]])
    gcj_shift = _metres(jinan, wgs84_to_gcj02(jinan))[0]
    bd_shift = _metres(jinan, wgs84_to_bd09(jinan))[0]
    assert 400 < gcj_shift < 650  # DOMAIN.md: about 520 m over Gaode tiles
    assert 1100 < bd_shift < 1500  # about 1.3 km over Baidu tiles
    # The shift is eastwards mostly.
    assert wgs84_to_gcj02(jinan)[0, 0] > 117.0


def test_gcj02_round_trip_over_china_is_sub_metre(china_grid):
    gcj = wgs84_to_gcj02(china_grid)
    assert np.all(_metres(china_grid, gcj) > 1.0)  # really shifted everywhere on the grid
    back = gcj02_to_wgs84(gcj)
    err = _metres(china_grid, back)
    assert err.max() < 0.5
    assert err.max() < 1e-3  # iteration to 1e-10 degrees
    # And the other way round: a GCJ-02 point converted to WGS84 maps back onto itself.
    err2 = _metres(china_grid, wgs84_to_gcj02(gcj02_to_wgs84(china_grid)))
    assert err2.max() < 0.5


def test_bd09_round_trips_over_china_are_sub_metre(china_grid):
    bd = wgs84_to_bd09(china_grid)
    assert _metres(china_grid, bd).min() > 1.0
    assert _metres(china_grid, bd09_to_wgs84(bd)).max() < 0.5
    gcj = wgs84_to_gcj02(china_grid)
    assert _metres(gcj, bd09_to_gcj02(gcj02_to_bd09(gcj))).max() < 0.5
    # bd09 = gcj02_to_bd09(wgs84_to_gcj02(.))
    np.testing.assert_allclose(gcj02_to_bd09(gcj), bd, atol=1e-12)


def test_outside_china_is_unchanged():
    pts = np.array([[2.35, 48.85], [139.77, 35.68], [-74.0, 40.7], [151.2, -33.9]])
    for func in (wgs84_to_gcj02, gcj02_to_wgs84):
        np.testing.assert_array_equal(func(pts), pts)
    assert not (GCJ_BOX[0] <= 139.77 <= GCJ_BOX[1])


def test_conversions_keep_types_index_crs_and_do_not_mutate():
    poly = shapely.Polygon(
        [(117.0, 36.6), (117.01, 36.6), (117.01, 36.61), (117.0, 36.61)],
        holes=[[(117.002, 36.602), (117.004, 36.602), (117.004, 36.604)]],
    )
    gdf = gpd.GeoDataFrame(
        {"name": ["甲", "乙"]},
        geometry=[poly, shapely.Point(117.02, 36.62)],
        index=pd.Index([10, 20], name="fid"),
        crs=4326,
    )
    before = gdf.copy()
    out = wgs84_to_gcj02(gdf)
    assert isinstance(out, gpd.GeoDataFrame)
    assert out.index.equals(gdf.index)
    assert out.crs == gdf.crs
    assert out["name"].tolist() == ["甲", "乙"]
    geopandas.testing.assert_geodataframe_equal(gdf, before)  # input untouched
    # Every vertex moved by the same function as the array version, hole included.
    coords_in = shapely.get_coordinates(gdf.geometry.values)
    coords_out = shapely.get_coordinates(out.geometry.values)
    np.testing.assert_allclose(coords_out, wgs84_to_gcj02(coords_in))
    assert len(out.geometry.iloc[0].interiors) == 1

    series = wgs84_to_gcj02(gdf.geometry)
    assert isinstance(series, gpd.GeoSeries)
    assert series.index.equals(gdf.index)
    assert isinstance(wgs84_to_gcj02(poly), shapely.Polygon)
    arr = wgs84_to_gcj02(np.asarray(gdf.geometry.values))
    assert arr.dtype == object
    assert len(arr) == 2
    # Z values are kept.
    p3 = wgs84_to_gcj02(shapely.Point(117.0, 36.67, 55.0))
    assert p3.has_z
    assert p3.z == 55.0


def test_conversions_refuse_projected_or_naive_layers():
    s = gpd.GeoSeries([shapely.Point(117.0, 36.67)], crs=4326)
    with pytest.raises(CRSError, match=r"to_crs\(4326\)"):
        wgs84_to_gcj02(s.to_crs(4548))
    with pytest.raises(CRSError, match="has no CRS"):
        wgs84_to_gcj02(gpd.GeoSeries([shapely.Point(117.0, 36.67)]))
    # CGCS2000 longitude/latitude is accepted as WGS84.
    assert wgs84_to_gcj02(s.set_crs(4490, allow_override=True)).crs.to_epsg() == 4490
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        wgs84_to_gcj02(np.array([1.0, 2.0, 3.0]))


# --- area ---------------------------------------------------------------------------


@pytest.fixture
def lonlat_parcels() -> gpd.GeoSeries:
    """Irregular parcels near the edge of GK zone 39 (118.3–118.6E) and near Jinan."""
    rng = np.random.default_rng(7)
    polys = []
    for lon0 in (116.95, 118.3):
        for _ in range(20):
            lon, lat = lon0 + rng.random() * 0.3, 36.5 + rng.random() * 0.3
            w, h = 0.001 + rng.random() * 0.004, 0.001 + rng.random() * 0.004
            polys.append(
                shapely.Polygon(
                    [
                        (lon, lat),
                        (lon + w, lat),
                        (lon + 1.2 * w, lat + h),
                        (lon - 0.1 * w, lat + h),
                    ]
                )
            )
    return gpd.GeoSeries(polys, crs=4326)


@pytest.mark.parametrize("epsg", [4326, 4490, 3857, 4548, 4527, 4549, 32650])
def test_area_agrees_with_geodesic_area(lonlat_parcels, epsg):
    geodesic = np.array([abs(GEOD.geometry_area_perimeter(p)[0]) for p in lonlat_parcels])
    stored = lonlat_parcels.to_crs(epsg)
    got = area(stored).to_numpy()
    rel = np.abs(got / geodesic - 1.0)
    assert rel.max() < 1e-3  # the promise: 0.1 %
    assert rel.max() < 1e-5  # what the scale correction achieves


def test_area_of_web_mercator_is_not_inflated(lonlat_parcels):
    merc = lonlat_parcels.to_crs(3857)
    # Planar Web Mercator area is ~1.56× too large at 36.6°N; area() must not be.
    assert (merc.area / area(merc)).min() > 1.5


def test_area_aligned_on_index_and_handles_empty_and_missing():
    gdf = gpd.GeoDataFrame(
        {"v": [1, 2, 3]},
        geometry=[shapely.box(500_000, 4_063_000, 500_100, 4_063_100), None, shapely.Polygon()],
        index=["a", "b", "c"],
        crs=4548,
    )
    out = area(gdf)
    assert list(out.index) == ["a", "b", "c"]
    assert out["a"] == pytest.approx(10_000.0, rel=1e-9)
    assert np.isnan(out["b"])
    assert out["c"] == 0.0


def test_area_with_working_crs_setting(monkeypatch, lonlat_parcels):
    geodesic = np.array([abs(GEOD.geometry_area_perimeter(p)[0]) for p in lonlat_parcels])
    # A grid far from the data (CM 123E) still gives geodesic areas after the scale correction.
    monkeypatch.setattr(settings, "working_crs", "EPSG:4550")
    rel = np.abs(area(lonlat_parcels).to_numpy() / geodesic - 1.0)
    assert rel.max() < 1e-4


# --- plausibility -------------------------------------------------------------------


def _layer(x0: float, y0: float, crs, size: float = 100.0) -> gpd.GeoSeries:
    return gpd.GeoSeries([shapely.box(x0, y0, x0 + size, y0 + size)], crs=crs)


def test_plausible_layers_pass():
    check_coordinates(_layer(117.0, 36.6, 4326, 0.01))
    check_coordinates(_layer(500_000, 4_063_000, 4548))
    check_coordinates(_layer(39_500_000, 4_063_000, 4527))
    check_coordinates(_layer(13_025_000, 4_390_000, 3857))
    check_coordinates(_layer(2.3, 48.8, 4326, 0.01))  # Paris is fine


def test_swapped_lat_lon_refused():
    with pytest.raises(CRSError, match=r"swapped.*swap_xy"):
        check_coordinates(_layer(36.6, 117.0, 4326, 0.01), "parcels.csv")


def test_metres_under_geographic_crs_refused_with_zone_hint():
    with pytest.raises(CRSError, match=r"look like metres.*EPSG:4527"):
        check_coordinates(_layer(39_500_000, 4_063_000, 4490), "parcels.shp")
    with pytest.raises(CRSError, match=r"look like metres.*EPSG:4548"):
        check_coordinates(_layer(500_000, 4_063_000, 4490), "parcels.shp")


def test_degrees_under_projected_crs_refused():
    with pytest.raises(CRSError, match=r"longitude/latitude.*EPSG:4490"):
        check_coordinates(_layer(117.0, 36.6, 4548, 0.01), "x.gpkg")


def test_zone_prefixed_eastings_under_cm_crs_refused_naming_epsg():
    with pytest.raises(CRSError, match=r"zone number 39.*EPSG:4527") as info:
        check_coordinates(_layer(39_500_000, 4_063_000, 4548), "parcels.shp")
    assert "parcels.shp" in str(info.value)
    # Xian 1980 CM 117E: the suggestion stays in the Xian 1980 family.
    xian_cm117 = CRS.from_user_input("Xian 1980 / 3-degree Gauss-Kruger CM 117E")
    with pytest.raises(CRSError, match="Xian 1980 / 3-degree Gauss-Kruger zone 39"):
        check_coordinates(_layer(39_500_000, 4_063_000, xian_cm117))
    # A 6-degree zone number (20) under a CM CRS suggests the 6-degree family.
    with pytest.raises(CRSError, match="Gauss-Kruger zone 20"):
        check_coordinates(_layer(20_500_000, 4_063_000, 4548))


def test_six_digit_eastings_under_zone_prefixed_crs_refused_naming_epsg():
    with pytest.raises(CRSError, match=r"no zone number.*EPSG:4548"):
        check_coordinates(_layer(500_000, 4_063_000, 4527), "parcels.shp")


def test_wrong_zone_prefix_refused_naming_epsg():
    with pytest.raises(CRSError, match=r"zone number 40.*EPSG:4528"):
        check_coordinates(_layer(40_500_000, 4_063_000, 4527))


@pytest.mark.parametrize(
    ("x0", "y0", "epsg"), [(4_063_000, 500_000, 4548), (4_063_000, 39_500_000, 4527)]
)
def test_swapped_northing_easting_refused(x0, y0, epsg):
    with pytest.raises(CRSError, match=r"northing and easting look swapped.*swap_xy"):
        check_coordinates(_layer(x0, y0, epsg))


def test_swap_xy_repairs():
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(36.6, 117.0)], crs=4326)
    fixed = swap_xy(gdf)
    assert (fixed.geometry.x.iloc[0], fixed.geometry.y.iloc[0]) == (117.0, 36.6)
    check_coordinates(fixed)
    assert gdf.geometry.x.iloc[0] == 36.6


@pytest.mark.parametrize("bad", [3857, "EPSG:4326", 4490])
def test_working_crs_setting_that_cannot_measure_is_refused(monkeypatch, bad):
    import geopandas as gpd
    from shapely import Point

    from geo_renewal import settings
    from geo_renewal.crs import working_crs

    monkeypatch.setattr(settings, "working_crs", bad)
    with pytest.raises(CRSError, match=r"settings.working_crs = .*EPSG:4548"):
        working_crs(gpd.GeoSeries([Point(117.0, 36.7)], crs=4326))


def test_working_crs_setting_is_used(monkeypatch):
    import geopandas as gpd
    from shapely import Point

    from geo_renewal import settings
    from geo_renewal.crs import working_crs

    monkeypatch.setattr(settings, "working_crs", "EPSG:4527")
    assert working_crs(gpd.GeoSeries([Point(117.0, 36.7)], crs=4326)).to_epsg() == 4527


def test_web_map_conversions_are_importable_from_crs_and_the_package():
    import geo_renewal
    from geo_renewal import _shift, crs

    for name in ("wgs84_to_gcj02", "gcj02_to_wgs84", "wgs84_to_bd09", "bd09_to_wgs84"):
        assert getattr(geo_renewal, name) is getattr(crs, name)
    assert crs.GCJ_BOX is _shift.GCJ_BOX
    # The formulas in _shift agree with the layer-level functions in crs.
    lon, lat = np.array([117.0, 121.47]), np.array([36.67, 31.23])
    np.testing.assert_array_equal(
        np.column_stack(_shift._wgs84_to_bd09_xy(lon, lat)),
        wgs84_to_bd09(np.column_stack([lon, lat])),
    )


@pytest.mark.parametrize(
    ("bounds", "crs", "match"),
    [
        ((36.6, 117.0, 36.7, 117.1), 4490, "axes swapped"),
        ((500_000, 4_000_000, 500_100, 4_000_100), 4326, "look like metres"),
        ((117.0, 36.6, 117.1, 36.7), 4548, "longitude/latitude in degrees"),
        ((4_060_000, 500_000, 4_061_000, 501_000), 4548, "northing and easting look swapped"),
        ((39_500_000, 4_060_000, 39_501_000, 4_061_000), 4548, "zone number 39 in front"),
        ((500_000, 4_060_000, 501_000, 4_061_000), 4527, r"have no zone number in front"),
        ((40_500_000, 4_060_000, 40_501_000, 4_061_000), 4527, "carry the zone number 40"),
    ],
)
def test_each_coordinate_check_names_its_problem(bounds, crs, match):
    geoms = gpd.GeoSeries([shapely.box(*bounds)], crs=crs)
    with pytest.raises(CRSError, match=match):
        check_coordinates(geoms, "layer")
