"""Tests of geo_renewal.compensation: compensation per building (征收补偿测算)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
from shapely.geometry import box

import geo_renewal as gr
from geo_renewal._errors import InputError
from geo_renewal.compensation import (
    COMPENSATION_LINES,
    compensation_by_building,
    load_compensation_scheme,
    scheme_placeholder_keys,
)
from geo_renewal.fund import fund_balance

CRS = "EPSG:4548"
#: A scheme that reduces to one price per m² (the static roll-up's appraised value).
ONE_PRICE = {
    "location": {"default_price_per_m2": 15000.0},
    "replacement": {
        "new_price_per_m2": dict.fromkeys(
            ("simple", "brick_wood", "brick_concrete", "frame", "shear_wall", "steel", "other"),
            0.0,
        )
    },
    "decoration": {"price_per_m2": {"none": 0.0, "simple": 0.0, "ordinary": 0.0, "fine": 0.0}},
}


def _buildings():
    """Four buildings in a row, 100 m wide each; B4 is in no project."""
    return gpd.GeoDataFrame(
        {
            "building_id": ["B1", "B2", "B3", "B4"],
            "project_id": ["P1", "P1", "P2", None],
            "floor_area": [1000.0, 200.0, 500.0, 800.0],
            "illegal": [False, True, False, False],
            "households": [10, 0, 5, 8],
            "structure": ["frame", "simple", "brick_concrete", "frame"],
            "build_year": [1994, 2000, 1974, 1990],
            "land_use": ["residential", "residential", "commercial", "residential"],
            "street": ["东街道", "东街道", "西街道", "西街道"],
        },
        geometry=[box(i * 100, 0, i * 100 + 50, 50) for i in range(4)],
        crs=CRS,
    )


def test_one_building_by_hand():
    c = compensation_by_building(_buildings())
    b = c.buildings.set_index("building_id")
    # B1: frame, 30 years of 60: 成新率 0.5, 重置成新价 1800 × 0.5 = 900 元/㎡
    assert b.loc["B1", "newness"] == pytest.approx(0.5)
    assert b.loc["B1", "comp_location"] == 12000 * 1000
    assert b.loc["B1", "comp_replacement"] == pytest.approx(900 * 1000)
    assert b.loc["B1", "comp_decoration"] == 500 * 1000
    assert b.loc["B1", "comp_moving"] == 3000 * 10
    assert b.loc["B1", "comp_temporary"] == pytest.approx(1800 * 36 * 7)  # 70 % take a flat
    assert b.loc["B1", "comp_incentive"] == 30000 * 10
    # B3: commercial: its floor area counts for 停产停业损失; brick-concrete 50 years old
    assert b.loc["B3", "business_floor_area"] == 500
    assert b.loc["B3", "comp_business"] == 1000 * 500
    assert b.loc["B3", "newness"] == pytest.approx(0.3)  # the floor
    assert b.loc["B4", "compensation"] == 0
    assert b.loc["B4", "project_id"] is None


def test_illegal_floor_area_is_not_compensated():
    c = compensation_by_building(_buildings())
    b2 = c.buildings.set_index("building_id").loc["B2"]
    assert b2["illegal_floor_area"] == 200
    assert b2["legal_floor_area"] == 0
    assert b2[["comp_location", "comp_replacement", "comp_decoration", "comp_illegal"]].sum() == 0
    paid = compensation_by_building(_buildings(), scheme={"illegal": {"rate": 0.5}})
    assert paid.buildings.set_index("building_id").loc["B2", "comp_illegal"] == 12000 * 0.5 * 200


def test_a_partly_illegal_building():
    b = _buildings().assign(illegal_floor_area=[300.0, 0.0, 0.0, 0.0]).drop(columns="illegal")
    row = compensation_by_building(b).buildings.set_index("building_id").loc["B1"]
    assert row["legal_floor_area"] == 700
    assert row["comp_location"] == 12000 * 700


def test_building_sums_equal_the_project_and_street_totals():
    c = compensation_by_building(_buildings())
    for table in (c.projects, c.streets):
        parts = table.drop(index="total")
        for col in (*COMPENSATION_LINES, "compensation", "floor_area", "households"):
            assert parts[col].sum() == pytest.approx(table.loc["total", col])
            assert table.loc["total", col] == pytest.approx(c.buildings[col].sum())
    assert c.projects.loc["outside", "floor_area"] == 800
    assert c.projects.loc["outside", "compensation"] == 0


def test_sample_district_sums_and_reconciles():
    path = gr.datasets.get_path("sample_district")
    buildings = gr.read_layer(path, layer="buildings", kind="buildings")
    projects = gr.read_layer(path, layer="projects")
    c = compensation_by_building(
        buildings,
        projects=projects,
        parcels=gr.read_layer(path, layer="parcels", kind="parcels"),
        bands=gr.read_layer(path, layer="price_bands", kind="price_bands"),
    )
    assert len(c.buildings) == len(buildings)  # every building is in the table
    inside = c.buildings[c.buildings["project_id"].notna()]
    assert inside["band_id"].notna().all()
    per = inside.groupby("project_id")["compensation"].sum()
    assert np.allclose(per, c.projects.loc[per.index, "compensation"])
    assert "location.default_price_per_m2" in scheme_placeholder_keys(c.scheme)


def test_a_one_price_scheme_equals_the_static_roll_up():
    b = _buildings().assign(land_use="residential", illegal=False)
    projects = pd.DataFrame(
        {
            "project_id": ["P1", "P2"],
            "project_type": ["demolish", "demolish"],
            "households": [10, 5],
            "demolished_floor_area": [1200.0, 500.0],
            "land_area": [3000.0, 2000.0],
        }
    )
    comp = compensation_by_building(b, scheme=ONE_PRICE, projects=projects)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        static = fund_balance(projects)
        routed = fund_balance(projects, compensation=comp)
    cols = [*COMPENSATION_LINES, "compensation", "total_cost", "balance"]
    assert np.allclose(static.projects[cols], routed.projects[cols])
    assert (routed.projects["compensation_basis"] == "buildings").all()


def test_projects_without_buildings_keep_the_appraised_price():
    projects = pd.DataFrame(
        {
            "project_id": ["P1", "P2", "P3"],
            "project_type": ["demolish"] * 3,
            "households": [10, 5, 7],
            "demolished_floor_area": [1200.0, 500.0, 900.0],
            "land_area": [3000.0, 2000.0, 2500.0],
        }
    )
    comp = compensation_by_building(_buildings(), projects=projects)
    fb = fund_balance(projects, compensation=comp)
    p = fb.projects.set_index("project_id")
    assert p.loc["P3", "compensation_basis"] == "appraised"
    assert p.loc["P3", "comp_appraised"] == 15000 * 900
    assert p.loc["P1", "compensation"] == pytest.approx(comp.projects.loc["P1", "compensation"])


def _bands(geoms, prices, ids=None):
    return gpd.GeoDataFrame(
        {"band_id": ids or [f"Q{i}" for i in range(len(geoms))], "location_price": prices},
        geometry=geoms,
        crs=CRS,
    )


def test_bands_round_trip_through_a_geopackage(tmp_path):
    bands = _bands([box(-10, -10, 160, 60), box(160, -10, 400, 60)], [20000.0, 10000.0])
    bands = bands.rename(columns={"band_id": "区位编号", "location_price": "区位价"})
    gr.write_layer(bands, tmp_path / "bands.gpkg", layer="price_bands")
    read = gr.read_layer(tmp_path / "bands.gpkg", layer="price_bands", kind="price_bands")
    b = compensation_by_building(_buildings(), bands=read).buildings.set_index("building_id")
    assert b["band_id"].tolist() == ["Q0", "Q0", "Q1", "Q1"]
    assert b.loc["B1", "location_price"] == 20000
    assert b.loc["B3", "location_price"] == 10000


def test_buildings_outside_every_band_are_refused_with_their_ids():
    bands = _bands([box(-10, -10, 160, 60)], [20000.0])
    with pytest.raises(InputError, match=r"\['B3'\].*extend the band layer"):
        compensation_by_building(
            _buildings(), bands=bands, scheme={"location": {"default_price_per_m2": -1}}
        )
    # a street price fills the gap
    c = compensation_by_building(
        _buildings(),
        bands=bands,
        scheme={"location": {"default_price_per_m2": -1, "streets": {"西街道": 9000.0}}},
    )
    assert c.buildings.set_index("building_id").loc["B3", "location_price"] == 9000


def test_overlapping_bands_are_refused_with_band_and_building_ids():
    bands = _bands([box(-10, -10, 260, 60), box(180, -10, 400, 60)], [20000.0, 10000.0])
    with pytest.raises(InputError, match=r"Q0 and Q1.*\['B3'\]"):
        compensation_by_building(_buildings(), bands=bands)


def test_negative_prices_are_refused():
    with pytest.raises(InputError, match=r"frame must be ≥ 0"):
        load_compensation_scheme(overrides={"replacement": {"new_price_per_m2": {"frame": -5}}})
    bands = _bands([box(-10, -10, 400, 60)], [-100.0])
    with pytest.raises(InputError, match=r"price bands \['Q0'\].*negative"):
        compensation_by_building(_buildings(), bands=bands)


def test_scheme_file_errors_are_one_sentence(tmp_path):
    path = tmp_path / "scheme.toml"
    path.write_text("[location]\nprice = 1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"unknown key 'price' in \[location\]"):
        load_compensation_scheme(path)
    path.write_text("[replacement.new_price_per_m2]\nframe = 2500.0\n", encoding="utf-8")
    assert load_compensation_scheme(path).new_price_per_m2["frame"] == 2500.0
    assert "replacement.new_price_per_m2.frame" not in scheme_placeholder_keys(
        load_compensation_scheme(path)
    )


def test_unknown_decoration_grade_is_refused():
    b = _buildings().assign(decoration=["fine", "luxury", None, None])
    with pytest.raises(InputError, match=r"\['B2'\].*luxury"):
        compensation_by_building(b)


def test_projects_by_polygon_and_household_cash_choice():
    b = _buildings().drop(columns="project_id").assign(cash_households=[4, 0, 5, 0])
    projects = gpd.GeoDataFrame(
        {"project_id": ["P1"], "project_type": ["demolish"], "cash_share": [0.5]},
        geometry=[box(-5, -5, 260, 55)],
        crs=CRS,
    )
    c = compensation_by_building(b, projects=projects).buildings.set_index("building_id")
    assert c["project_id"].tolist() == ["P1", "P1", "P1", None]
    assert c.loc["B1", "cash_households"] == 4
    assert c.loc["B1", "flat_households"] == 6
    assert c.loc["B3", "flat_households"] == 0  # all five took cash
