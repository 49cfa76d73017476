"""Households on the maps are whole: apportioned zones, units, projects, changed parcels."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

import geopandas as gpd
import shapely

from geo_renewal._maplayer import whole_households
from geo_renewal._scenario_maps import change_map
from geo_renewal.maps import renewal_map, save_map
from geo_renewal.stats import zone_stats

X, Y = 500_000.0, 4_060_000.0

_LAYER = re.compile(
    r'geoRenewal\.layer\((".*?"), (\{.*?\}), JSON\.parse\(document\.getElementById\("([^"]+)_data"\)'
)


def _tooltips(path: Path) -> dict[str, dict[str, list[str]]]:
    """Layer name -> tooltip or popup label -> each feature's text, read back from the saved page."""
    page = path.read_text(encoding="utf-8")
    blobs = dict(
        re.findall(r'<script type="application/json" id="([^"]+)_data">(.*?)</script>', page)
    )
    out: dict[str, dict[str, list[str]]] = {}
    for match in _LAYER.finditer(page):
        spec, data = json.loads(match.group(2)), json.loads(blobs[match.group(3)])
        shown = [spec[k] for k in ("tip", "pop") if k in spec]  # tooltip, then popup
        out[json.loads(match.group(1))] = {
            lab: [row[i] for row in data["v"]]
            for fields in shown
            for lab, i in zip(fields["labels"], fields["idx"], strict=True)
        }
    return out


def _layer(tips: dict[str, dict[str, list[str]]], prefix: str) -> dict[str, list[str]]:
    """The tooltips of the one layer whose name starts with `prefix` (e.g. 更新单元)."""
    (name,) = [n for n in tips if n.startswith(prefix)]
    return tips[name]


def _box(x0: float, x1: float) -> shapely.Polygon:
    return shapely.box(X + x0, Y, X + x1, Y + 100)


@pytest.fixture
def parcels() -> gpd.GeoDataFrame:
    """15 households in a parcel halved by a zone border, 7 in a parcel of its own: 22 in all."""
    return gpd.GeoDataFrame(
        {
            "parcel_id": ["P1", "P2"],
            "category": ["demolish", "demolish"],
            "households": [15, 7],
            "floor_area": [1000.0, 500.0],
        },
        geometry=[_box(0, 100), _box(200, 300)],
        crs="EPSG:4548",
    )


def test_apportioned_zones_show_whole_households_adding_up_to_the_table(parcels, tmp_path):
    zones = gpd.GeoDataFrame(
        {"zone_id": ["甲", "乙", "丙"]},
        geometry=[_box(0, 50), _box(50, 150), _box(150, 300)],
        crs="EPSG:4548",
    )
    table = zone_stats(parcels, zones=zones)
    assert table.loc[[0, 1, 2], "households"].tolist() == [7.5, 7.5, 7.0]  # halves of P1
    drawn = zones.join(table[["households", "demolish_households"]])
    path = save_map(renewal_map(parcels, zones=drawn, tiles="none"), tmp_path / "m.html")
    tips = _layer(_tooltips(path), "更新片区")
    # largest remainder: 7 + 7 + 7 and the one left to the first tie; round() gives 8 + 8 + 7
    assert tips["户数（户）"] == ["8", "7", "7"]
    assert sum(int(v) for v in tips["户数（户）"]) == table.loc["total", "households"] == 22


def test_renewal_units_and_projects_show_whole_households(parcels, tmp_path):
    units = gpd.GeoDataFrame(
        {"name": ["东单元", "西单元", "北单元"], "households": [12.37, 4.33, 5.3]},
        geometry=[_box(0, 100), _box(100, 200), _box(200, 300)],
        crs="EPSG:4548",
    )
    projects = gpd.GeoDataFrame(
        {
            "project_id": ["XM-1", "XM-2"],
            "stage": ["signing", "demolition"],
            "overdue": [False, True],
            "households": [10.4, 20.6],
            "signed_households": [3.5, 2.5],
        },
        geometry=[_box(0, 100), _box(200, 300)],
        crs="EPSG:4548",
    )
    m = renewal_map(parcels, units=units, projects=projects, tiles="none")
    tips = _tooltips(save_map(m, tmp_path / "m.html"))
    # 22.0 in all: floors 12 + 4 + 5 = 21, the one left to the largest remainder (.37)
    assert _layer(tips, "更新单元")["户数（户）"] == ["13", "4", "5"]
    assert _layer(tips, "项目")["户数（户）"] == ["10", "21"]
    assert sum(int(v) for v in _layer(tips, "项目")["已签约户数（户）"]) == 6


def test_the_change_map_shows_whole_households(tmp_path):
    from test_scenarios import _comparison

    a = gpd.GeoDataFrame(
        {
            "parcel_id": ["P1", "P2", "P3"],
            "category": ["demolish", "demolish", "unchanged"],
            "households": [2.5, 2.5, 1.0],
        },
        geometry=[_box(0, 100), _box(100, 200), _box(200, 300)],
        crs="EPSG:4548",
    )
    b = a.assign(category=["retain_upgrade", "retain_upgrade", "demolish"])
    comp = _comparison(a, b)
    assert len(comp.changes["alt"]) == 3
    path = save_map(change_map(comp, "alt"), tmp_path / "change.html")
    shown = [v for layer in _tooltips(path).values() for v in layer.get("户数（户）", [])]
    assert sorted(shown) == ["1", "2", "3"]  # 2.5 + 2.5 + 1 = 6 households, whole


def test_other_columns_and_missing_households_are_left_as_they_are():
    floor = pd.Series([12.37, 4.5])
    assert whole_households(floor, "floor_area") is floor
    hh = whole_households(pd.Series([1.5, None, 2.5]), "households")
    assert hh.iloc[0] + hh.iloc[2] == 4
    assert pd.isna(hh.iloc[1])
