"""Bad units layers (更新单元): one sentence naming the file, the column or the units, and the fix."""

from __future__ import annotations

import pytest

import geopandas as gpd
from shapely import box

from geo_renewal import InputError
from geo_renewal.io import read_layer, write_layer
from geo_renewal.units import check_units

X, Y = 500_000.0, 4_060_000.0
CRS = "EPSG:4548"


def _units(tmp_path, frame: dict, geoms: list) -> tuple[gpd.GeoDataFrame, str]:
    """Write the units to a GeoPackage and read them back as a planner's file would be."""
    path = tmp_path / "units.gpkg"
    write_layer(gpd.GeoDataFrame(frame, geometry=geoms, crs=CRS), path, layer="units")
    return read_layer(path, layer="units", kind="units"), str(path)


@pytest.fixture
def district():
    return gpd.GeoDataFrame(
        {"district_id": ["D1"], "name": ["东关街道"]},
        geometry=[box(X, Y, X + 1000, Y + 1000)],
        crs=CRS,
    )


def test_a_units_layer_without_names_is_refused(tmp_path):
    units, path = _units(tmp_path, {"code": ["A", "B"]}, [box(X, Y, X + 10, Y + 10)] * 2)
    with pytest.raises(InputError, match=r"units\.gpkg: the units layer has no name column"):
        check_units(units, source=path)
    with pytest.raises(InputError, match=r"found \['code'\]\); add a column `name`"):
        check_units(units, source=path)


def test_a_blank_name_names_the_row(tmp_path):
    geoms = [box(X, Y, X + 10, Y + 10), box(X + 20, Y, X + 30, Y + 10)]
    units, path = _units(tmp_path, {"name": ["老城单元", " "]}, geoms)
    with pytest.raises(InputError, match=r"units at rows \[2\] have no name"):
        check_units(units, source=path)


def test_overlapping_units_are_refused_naming_both(tmp_path):
    geoms = [box(X, Y, X + 100, Y + 100), box(X + 50, Y, X + 150, Y + 100)]
    units, path = _units(tmp_path, {"name": ["老城单元", "河畔单元"]}, geoms)
    with pytest.raises(
        InputError, match=r"units overlap \(老城单元 and 河畔单元 by 5,000 m²\); .*do not overlap"
    ):
        check_units(units, source=path)


def test_units_touching_along_a_road_are_accepted(tmp_path):
    geoms = [box(X, Y, X + 100, Y + 100), box(X + 100, Y, X + 200, Y + 100)]
    units, path = _units(tmp_path, {"name": ["老城单元", "河畔单元"]}, geoms)
    assert check_units(units, source=path)["unit_id"].tolist() == ["老城单元", "河畔单元"]


def test_a_unit_outside_the_district_is_refused(tmp_path, district):
    geoms = [box(X + 100, Y + 100, X + 200, Y + 200), box(X + 5000, Y, X + 5100, Y + 100)]
    units, path = _units(tmp_path, {"name": ["老城单元", "远郊单元"]}, geoms)
    with pytest.raises(
        InputError, match=r"units \['远郊单元'\] lie \(partly, 100% at most\) outside the district"
    ):
        check_units(units, districts=district, source=path)


def test_a_bad_planned_floor_area_names_the_unit_and_column(tmp_path):
    geoms = [box(X, Y, X + 10, Y + 10), box(X + 20, Y, X + 30, Y + 10)]
    units, path = _units(
        tmp_path, {"name": ["老城单元", "河畔单元"], "planned_floor_area": [-5.0, 100.0]}, geoms
    )
    with pytest.raises(
        InputError, match=r"column 'planned_floor_area' of units \['老城单元'\] is not a planned"
    ):
        check_units(units, source=path)


def test_repeated_unit_names_are_refused(tmp_path):
    geoms = [box(X, Y, X + 10, Y + 10), box(X + 20, Y, X + 30, Y + 10)]
    units, path = _units(tmp_path, {"name": ["老城单元", "老城单元"]}, geoms)
    with pytest.raises(InputError, match=r"unit '老城单元' appears 2 times"):
        check_units(units, source=path)
