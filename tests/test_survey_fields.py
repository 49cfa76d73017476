"""Tests of the 三调 / 不动产 survey fields: header aliases, coded values, the stated-area check."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely

from geo_renewal import settings
from geo_renewal._findings import Findings
from geo_renewal._survey_fields import check_stated_area, survey_values
from geo_renewal.io import read_layer, write_layer
from geo_renewal.validate import validate_layer


def _read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return read_layer(path, **kw)


def _squares(sides: list[float]) -> list[shapely.Polygon]:
    return [
        shapely.box(500_000 + 200 * i, 4_063_000, 500_000 + 200 * i + s, 4_063_000 + s)
        for i, s in enumerate(sides)
    ]


@pytest.mark.parametrize("ext", [".shp", ".gpkg"])
def test_dltb_fields_round_trip(tmp_path, ext):
    dltb = gpd.GeoDataFrame(
        {
            "BSM": ["3701020001", "3701020002"],
            "TBBH": ["12", "13"],
            "DLBM": ["0702", "0701"],
            "DLMC": ["农村宅基地", "城镇住宅用地"],
            "QSDWMC": ["东关村村民委员会", "国有"],
            "ZLDWMC": ["东关村", "东关社区"],
            "TBMJ": [10_000.0, 2_500.0],
            "KCMJ": [0.0, 125.0],
        },
        geometry=_squares([100, 50]),
        crs="EPSG:4548",
    )
    write_layer(dltb, tmp_path / f"dltb{ext}")
    got = _read(tmp_path / f"dltb{ext}", kind="parcels")
    assert got["survey_id"].tolist() == ["3701020001", "3701020002"]
    assert got["parcel_id"].tolist() == got["survey_id"].tolist()
    assert got["patch_no"].tolist() == ["12", "13"]
    assert got["owner_name"].tolist() == ["东关村村民委员会", "国有"]
    assert got["located_in"].tolist() == ["东关村", "东关社区"]
    assert got["stated_area"].tolist() == [10_000.0, 2_500.0]
    assert got["deducted_area"].tolist() == [0.0, 125.0]
    assert got["land_use"].tolist() == ["rural_homestead", "residential"]
    report = validate_layer(got, kind="parcels")
    assert "area_mismatch" not in set(report.findings["problem"])
    info = report.findings[report.findings["problem"] == "id_from_survey"]
    assert info["severity"].tolist() == ["info"]


def test_budongchan_building_fields(tmp_path):
    zrz = gpd.GeoDataFrame(
        {
            "ZRZH": ["Z1", "Z2", "Z3"],
            "JZMJ": [1200.5, 300.0, 80.0],
            "ZCS": [6, 2, 1],
            "FWJG": ["4", "5", "6"],
            "JGRQ": ["1995-06-01", "19880101", "1979年"],
            "ZZDMJ": [200.0, 150.0, 80.0],
        },
        geometry=_squares([14, 12, 9]),
        crs="EPSG:4548",
    )
    write_layer(zrz, tmp_path / "zrz.shp")
    got = _read(tmp_path / "zrz.shp", kind="buildings")
    assert got["building_id"].tolist() == ["Z1", "Z2", "Z3"]
    assert got["floor_area"].tolist() == [1200.5, 300.0, 80.0]
    assert got["floors"].tolist() == [6, 2, 1]
    assert got["structure"].tolist() == ["brick_concrete", "brick_wood", "other"]
    assert got["build_year"].tolist() == [1995, 1988, 1979]
    assert got["footprint_area"].tolist() == [200.0, 150.0, 80.0]
    report = validate_layer(got, kind="buildings")
    assert not {"non_numeric", "unknown_code"} & set(report.findings["problem"])


def test_fwjg_names_and_numbers():
    df = pd.DataFrame({"structure": [3, "钢和钢筋混凝土结构", None]})
    out, _ = survey_values(df, {"fwjg": "structure"}, kind=None, name="x")
    assert out["structure"].tolist() == ["frame", "钢和钢筋混凝土结构", None]
    # the alias table maps the 不动产 names when read
    from geo_renewal import schema

    assert schema.VALUE_ALIASES["structure"]["钢和钢筋混凝土结构"] == "frame"


def test_unparseable_dates_stay_text():
    df = pd.DataFrame({"build_year": ["1995-06-01", "不详"]})
    out, _ = survey_values(df, {"JGRQ": "build_year"}, kind=None, name="x")
    assert out["build_year"].tolist() == ["1995-06-01", "不详"]  # validation reports 不详


def test_official_area_check_on_crafted_parcels(tmp_path, monkeypatch):
    # four 100 m × 100 m squares (10 000 m²); stated areas: exact, 0.5 % off, 5 % off, 0.4 m² off
    parcels = gpd.GeoDataFrame(
        {
            "ZDDM": ["A", "B", "C", "D"],
            "ZDMJ": [10_000.0, 10_050.0, 10_500.0, None],
        },
        geometry=_squares([100, 100, 100, 100]),
        crs="EPSG:4548",
    )
    write_layer(parcels, tmp_path / "zd.gpkg")
    got = _read(tmp_path / "zd.gpkg", kind="parcels")
    assert got["parcel_id"].tolist() == ["A", "B", "C", "D"]
    report = validate_layer(got, kind="parcels")
    found = report.findings[report.findings["problem"] == "area_mismatch"]
    assert found["id"].tolist() == ["C"]
    message = found["message"].iloc[0]
    assert "10500.00 m²" in message
    assert "10000.00 m²" in message
    assert "-4.8 %" in message
    assert found["severity"].iloc[0] == "warning"
    assert len(report.layer) == 4  # kept
    monkeypatch.setattr(settings, "stated_area_tolerance", 0.001)
    report = validate_layer(got, kind="parcels")
    found = report.findings[report.findings["problem"] == "area_mismatch"]
    assert found["id"].tolist() == ["B", "C"]


def test_area_check_skips_small_and_missing():
    f = Findings(np.arange(4))
    check_stated_area([50.0, 0.0, None, 10.0], [50.6, 0.5, 100.0, 30.0], f, tolerance=0.01)
    frame = f.frame()
    assert frame["row"].tolist() == [3]  # 0.6 m² and 0.5 m² are under 1 m²; None unknown
    assert frame["value"].tolist() == ["10.00 ≠ 30.00"]
