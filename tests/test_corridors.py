"""View corridors, river height zones and the exact permitted heights inside them."""

from __future__ import annotations

import math

import numpy as np
import pytest

import geopandas as gpd
import rasterio
from shapely import LineString, Point, box
from shapely.affinity import rotate

from geo_renewal._errors import InputError
from geo_renewal.classify import classify_parcels
from geo_renewal.corridors import (
    all_surfaces,
    corridors_from_points,
    height_checks,
    river_height_zones,
    surface_layer,
)
from geo_renewal.heights import building_heights
from geo_renewal.io import read_layer, write_layer
from geo_renewal.rules import parse_rules
from geo_renewal.surfaces import surface_contours, surface_raster
from tests.test_raster import _write as write_raster

CRS = "EPSG:4548"
# The hand-computed case: an eye 1.6 m above the ground at (0, 0), a tower 121.6 m high
# 2000 m due north, its top 20 m protected (band), 5 m clearance:
#   plane(s) = 1.6 + s × (101.6 − 1.6) / 2000 − 5 = 0.05 s − 3.4   (s: metres along the sightline)
X0, Y0 = 500_000.0, 4_000_000.0


def at(x, y):
    return X0 + x, Y0 + y


@pytest.fixture
def viewpoint():
    return gpd.GeoDataFrame(
        {"name": ["V"], "eye_height": [1.6]}, geometry=[Point(at(0, 0))], crs=CRS
    )


@pytest.fixture
def tower():
    return gpd.GeoDataFrame(
        {"name": ["T"], "height": [121.6]}, geometry=[Point(at(0, 2000))], crs=CRS
    )


@pytest.fixture
def three_buildings():
    return gpd.GeoDataFrame(
        {"building_id": ["A", "B", "C", "D"], "height_m": [20.0, 40.0, 80.0, 99.0]},
        geometry=[
            box(*at(-10, 300), *at(10, 320)),  # critical s = 300: 11.6 m, 8.4 m too high
            box(*at(-20, 1000), *at(20, 1040)),  # s = 1000: 46.6 m, 6.6 m below
            box(*at(90, 1500), *at(130, 1520)),  # straddles the edge x = 100; s = 1500: 71.6 m
            box(*at(200, 500), *at(220, 520)),  # outside the 200 m corridor
        ],
        crs=CRS,
    )


def test_permitted_heights_and_excesses_exact_to_a_centimetre(viewpoint, tower, three_buildings):
    c = corridors_from_points(viewpoint, tower, width=200, band=20, clearance=5)
    checks = height_checks(three_buildings, c, id_col="building_id")
    assert checks["id"].tolist() == ["A", "B", "C"]  # D is outside
    assert checks["permitted_m"].tolist() == pytest.approx([11.6, 46.6, 71.6], abs=0.01)
    assert checks["excess_m"].tolist() == pytest.approx([8.4, -6.6, 8.4], abs=0.01)
    assert checks["critical_y"].tolist() == pytest.approx([Y0 + 300, Y0 + 1000, Y0 + 1500])
    assert checks["surface"].unique().tolist() == ["V → T"]


def test_an_oblique_sightline_uses_the_footprints_nearest_point(viewpoint):
    # Landmark 2000 m away at bearing atan(1200/1600); a 20 m square turned with the
    # sightline, its near face 500 m from the eye: plane 0.05 × 500 − 3.4 = 21.6 m.
    tower = gpd.GeoDataFrame({"height": [121.6]}, geometry=[Point(at(1200, 1600))], crs=CRS)
    c = corridors_from_points(viewpoint, tower, width=100, band=20, clearance=5)
    u = np.array([0.6, 0.8])
    centre = np.array(at(0, 0)) + 510 * u
    square = rotate(
        box(centre[0] - 10, centre[1] - 10, centre[0] + 10, centre[1] + 10),
        -math.degrees(math.atan2(0.6, 0.8)),
        origin=tuple(centre),
    )
    b = gpd.GeoDataFrame({"height_m": [30.0]}, geometry=[square], crs=CRS)
    checks = height_checks(b, c)
    assert checks["permitted_m"].iloc[0] == pytest.approx(21.6, abs=0.01)
    assert checks["excess_m"].iloc[0] == pytest.approx(8.4, abs=0.01)


def test_the_corridors_width_at_the_landmark(viewpoint, tower):
    strip = corridors_from_points(viewpoint, tower, width=200).geometry.iloc[0]
    half = math.degrees(math.atan(100 / 2000))
    wedge = corridors_from_points(viewpoint, tower, angle=2 * half).geometry.iloc[0]
    for poly, near in ((strip, 200.0), (wedge, 0.0)):
        across = LineString([at(-500, 1999.999), at(500, 1999.999)]).intersection(poly)
        assert across.length == pytest.approx(200.0, abs=0.01)
        mid = LineString([at(-500, 1000), at(500, 1000)]).intersection(poly)
        assert mid.length == pytest.approx((200.0 + near) / 2, abs=0.01)
    assert corridors_from_points(viewpoint, tower, angle=2 * half)["width_m"].iloc[
        0
    ] == pytest.approx(200)


def test_a_polygon_landmark_spans_its_width_and_is_cut_out(viewpoint):
    hall = gpd.GeoDataFrame(
        {"height": [41.6]}, geometry=[box(*at(-60, 1000), *at(60, 1040))], crs=CRS
    )
    c = corridors_from_points(viewpoint, hall)
    assert c["width_m"].iloc[0] == pytest.approx(120.0)
    assert c["length_m"].iloc[0] == pytest.approx(1020.0)
    assert c.geometry.iloc[0].intersection(hall.geometry.iloc[0]).area == pytest.approx(0.0)


def test_a_dem_raises_the_ground(tmp_path, viewpoint, tower, three_buildings):
    # Ground 0 m south of y = 1000, a 30 m terrace north of it (the tower and B stand on it):
    # protected top 30 + 121.6 − 20 = 131.6; plane 1.6 + 0.065 s − 5.
    rows = np.where(np.arange(220)[:, None] < 110, 30.0, 0.0).repeat(100, 1)  # 10 m pixels
    dem = write_raster(tmp_path / "dem.tif", rows, origin=(X0 - 500, Y0 + 2100))
    c = corridors_from_points(viewpoint, tower, width=200, band=20, clearance=5, dem=dem)
    assert c["target_z"].iloc[0] == pytest.approx(131.6)
    b = three_buildings.copy()
    b.geometry = [
        box(*at(-10, 300), *at(10, 320)),
        box(*at(-20, 1005), *at(20, 1045)),
        *b.geometry.iloc[2:],
    ]
    h = building_heights(b, height_col="height_m", dem=dem)
    checks = height_checks(b, c, heights=h.height_m, ground=h.ground_m)
    # A: 0.065 × 300 − 3.4 = 16.1; B: 0.065 × 1005 − 3.4 − 30 = 31.925
    assert checks["permitted_m"].tolist()[:2] == pytest.approx([16.1, 31.925], abs=0.01)
    assert checks["excess_m"].tolist()[:2] == pytest.approx([3.9, 8.075], abs=0.01)
    raster = surface_raster(c, tmp_path / "permitted.tif", dem=dem)
    with rasterio.open(raster) as f:
        r, col = f.index(X0 + 5, Y0 + 1205)  # pixel centre (5, 1205), on the terrace
        assert float(f.read(1)[r, col]) == pytest.approx(0.065 * 1205 - 3.4 - 30, abs=0.01)
        assert (f.width, f.height) == (20, 200)  # the DEM's pixels over the corridor
    bands = surface_contours(c, step=10, dem=dem)
    assert bands.area.sum() == pytest.approx(200 * 2000)  # every pixel of the corridor
    here = bands[bands.contains(Point(X0 + 5, Y0 + 1205))]
    # 0.065 × 1205 − 3.4 − 30 = 44.9 m above the terrace: the band 40–50 m
    assert here[["from_m", "to_m"]].values.tolist() == [[40.0, 50.0]]


def test_surface_raster_without_dem_and_contours_are_exact(tmp_path, viewpoint, tower):
    c = corridors_from_points(viewpoint, tower, width=200, band=20, clearance=5)
    bands = surface_contours(c, step=20)
    # 0.05 s − 3.4 from −3.4 to 96.6: band [0, 20) runs from s = 68 to s = 468 → 400 × 200 m
    first = bands[bands.from_m == 0.0].geometry.iloc[0]
    assert first.area == pytest.approx(400 * 200, rel=1e-9)
    assert bands.area.sum() == pytest.approx(2000 * 200, rel=1e-9)
    write_layer(bands, tmp_path / "bands.gpkg", layer="bands")
    assert len(read_layer(tmp_path / "bands.gpkg", layer="bands")) == len(bands)
    with rasterio.open(surface_raster(c, tmp_path / "c.tif", res=10)) as f:
        r, col = f.index(X0 + 5, Y0 + 1005)
        assert float(f.read(1)[r, col]) == pytest.approx(0.05 * 1005 - 3.4, abs=0.01)


def test_river_zones_step_up_from_the_bank():
    river = gpd.GeoSeries([LineString([at(-2000, 0), at(2000, 0)])], crs=CRS)
    zones = river_height_zones(river)
    assert zones["max_height_m"].tolist() == [0.0, 24.0, 54.0, 80.0]
    b = gpd.GeoDataFrame(
        {"height_m": [30.0, 30.0, 10.0]},
        geometry=[
            box(*at(0, 100), *at(10, 110)),
            box(*at(0, 140), *at(10, 160)),
            box(*at(0, 20), *at(10, 30)),
        ],
        crs=CRS,
    )
    checks = height_checks(b, zones)
    worst = checks.groupby("row")["excess_m"].max()
    assert worst.tolist() == pytest.approx([6.0, 6.0, 10.0])
    assert sorted(checks.loc[checks.row == 1, "surface"]) == ["滨水第一层次", "第二层次"]


def test_river_zone_file_errors_name_the_zone(tmp_path):
    path = tmp_path / "z.toml"
    path.write_text(
        "[[zones]]\nto_m = 100.0\nmax_height_m = 10.0\n[[zones]]\nto_m = 50.0\nmax_height_m = 20.0\n",
        "utf-8",
    )
    river = gpd.GeoSeries([LineString([(0, 0), (10, 0)])], crs=CRS)
    with pytest.raises(InputError, match=r"zone 2: to_m must grow"):
        river_height_zones(river, params=path)


def test_height_excess_rule_through_a_gpkg_layer(tmp_path, viewpoint, tower, three_buildings):
    c = corridors_from_points(viewpoint, tower, width=200, band=20, clearance=5)
    surfaces = all_surfaces(
        c,
        river_height_zones(gpd.GeoSeries([LineString([at(-900, 3000), at(900, 3000)])], crs=CRS)),
    )
    write_layer(surface_layer(surfaces), tmp_path / "s.gpkg", layer="corridor")
    rules = parse_rules(
        {
            "rules": [
                {
                    "id": "too_high",
                    "category": "demolish",
                    "when": 'height_excess("vc") > 0',
                    "reason_zh": "超高",
                    "reason_en": "Too high",
                }
            ]
        }
    )
    parcels = three_buildings.rename(columns={"building_id": "parcel_id"})
    out = classify_parcels(
        parcels, rules, layers={"vc": read_layer(tmp_path / "s.gpkg", layer="corridor")}
    )
    assert out["rule_id"].tolist() == ["too_high", "default", "too_high", "default"]


def test_height_excess_reads_floors_when_there_is_no_height(viewpoint, tower):
    c = corridors_from_points(viewpoint, tower, width=200, band=20, clearance=5)
    parcels = gpd.GeoDataFrame(
        {"floors": [4, 3]}, geometry=[box(*at(-10, 300), *at(10, 320))] * 2, crs=CRS
    )
    rules = parse_rules(
        {
            "rules": [
                {
                    "id": "x",
                    "category": "demolish",
                    "when": 'height_excess("vc") > 0',
                    "reason_zh": "超高",
                    "reason_en": "Too high",
                }
            ]
        }
    )
    out = classify_parcels(parcels, rules, layers={"vc": surface_layer(c)})
    assert out["rule_id"].tolist() == ["x", "default"]  # 12 m > 11.6 m; 9 m is below


def test_height_excess_refuses_a_flat_layer(viewpoint, tower, three_buildings):
    c = corridors_from_points(viewpoint, tower, width=200)
    rules = parse_rules(
        {
            "rules": [
                {
                    "id": "x",
                    "category": "demolish",
                    "when": 'height_excess("vc") > 0',
                    "reason_zh": "超高",
                    "reason_en": "Too high",
                }
            ]
        }
    )
    with pytest.raises(InputError, match=r"needs a layer of permitted-height surfaces"):
        classify_parcels(three_buildings, rules, layers={"vc": c})


def test_bad_inputs_are_one_sentence(viewpoint, tower):
    with pytest.raises(InputError, match="not both"):
        corridors_from_points(viewpoint, tower, width=10, angle=5)
    with pytest.raises(InputError, match="give width"):
        corridors_from_points(viewpoint, tower)
    with pytest.raises(InputError, match=r"unknown landmark"):
        corridors_from_points(viewpoint, tower, width=10, pairs=[("V", "X")])
    blank = tower.assign(height=[None])
    with pytest.raises(InputError, match=r"landmarks row 0: 'height' is blank"):
        corridors_from_points(viewpoint, blank, width=10)


def test_buildings_in_longitude_latitude_get_the_same_heights(viewpoint, tower, three_buildings):
    c = corridors_from_points(viewpoint, tower, width=200, band=20, clearance=5)
    checks = height_checks(three_buildings.to_crs("EPSG:4326"), c, id_col="building_id")
    assert checks["permitted_m"].tolist() == pytest.approx([11.6, 46.6, 71.6], abs=0.01)
