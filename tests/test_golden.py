"""Golden outputs: hand-made inputs in tests/data/ against values worked out by hand.

Every expected value in ``tests/data/golden_*.csv`` was computed from the rectangles'
coordinates and the documented rules and formulas (the arithmetic is in
``tests/data/README.md``), never by running the code under test.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geo_renewal as gr

DATA = Path(__file__).parent / "data"
FLOOD = DATA / "golden_flood_depth.asc"

#: Relative tolerance: areas are the planar rectangle areas divided by the Gauss–Krüger
#: areal scale, which differs from 1 by less than 3e-8 within 1 km of the central meridian.
RTOL = 1e-7


def _golden(name: str) -> pd.DataFrame:
    """A golden table, every cell as written (text; "" empty, "nan" a null)."""
    return pd.read_csv(DATA / name, dtype=str, keep_default_na=False)


def _check(got: pd.DataFrame, expected: pd.DataFrame, key: str) -> None:
    """Compare `got` (indexed by the golden keys) with every column of `expected`."""
    expected = expected.set_index(key)
    assert [str(k) for k in got.index] == list(expected.index)
    problems = []
    for col in expected.columns:
        assert col in got.columns, f"output lacks column {col!r}"
        for k, want in zip(expected.index, expected[col], strict=True):
            have = got[col].iloc[[str(i) for i in got.index].index(k)]
            if not _same(have, want):
                problems.append(f"{k} {col}: got {have!r}, expected {want}")
    assert not problems, "\n".join(problems)


def _same(have: object, want: str) -> bool:
    if want in ("True", "False"):
        return bool(have) is (want == "True")
    try:
        number = float(want)
    except ValueError:
        return ("" if pd.isna(have) else str(have)) == want
    if math.isnan(number):
        return bool(pd.isna(have))
    if have is None or pd.isna(have):
        return False
    return math.isclose(float(have), number, rel_tol=RTOL, abs_tol=1e-9)


@pytest.fixture(scope="module")
def parcels():
    return gr.read_layer(DATA / "golden_parcels.geojson", kind="parcels")


@pytest.fixture(scope="module")
def layers():
    constraints = gr.read_layer(DATA / "golden_constraints.geojson")
    return {name: g.drop(columns="layer") for name, g in constraints.groupby("layer")}


@pytest.fixture(scope="module")
def zones():
    return gr.read_layer(DATA / "golden_zones.geojson")


@pytest.fixture(scope="module")
def classified(parcels, layers):
    return gr.classify_parcels(parcels, "default", layers=layers, rasters={"flood_depth": FLOOD})


def test_inputs_read_as_drawn(parcels, layers, zones):
    assert parcels.crs.to_epsg() == 4548
    assert len(parcels) == 23
    assert sorted(layers) == sorted(
        ("heritage_core", "heritage_control", "eco_belt", "view_corridor", "river")
    )
    assert zones["zone_id"].tolist() == ["ZA", "ZB", "ZC"]
    assert parcels["listed"].dtype == bool
    assert parcels["danger_grade"].isna().sum() == 13  # P10, P12 and the eleven vacant parcels


def test_measures_the_rules_read(parcels, layers):
    got = pd.DataFrame(
        {
            "area_m2": gr.area(parcels).to_numpy(),
            "intersects_heritage_core": gr.intersects(parcels, layers["heritage_core"]).to_numpy(),
            "distance_to_river": gr.distance_to(parcels, layers["river"]).to_numpy(),
        },
        index=parcels["parcel_id"],
    )
    for name in ("eco_belt", "heritage_control", "view_corridor"):
        got[f"share_in_{name}"] = gr.share_in(parcels, layers[name]).to_numpy()
    flood = gr.zonal_stats(parcels, FLOOD, above=[0.5])
    for col in ("n_pixels", "share_above_0.5", "mean", "max"):
        got[f"flood_{col}"] = flood[col].to_numpy()
    _check(got, _golden("golden_measures.csv"), "parcel_id")


def test_classes_under_the_default_rules(classified):
    got = classified.set_index("parcel_id")[["category", "rule_id", "matched"]].astype(str)
    _check(got, _golden("golden_classes.csv"), "parcel_id")


def test_zone_stats_apportion(classified, zones):
    got = gr.zone_stats(
        classified, zones=zones, zone_col="zone_id", how="apportion",
        planned_floor_area="planned", lang="en",
    )  # fmt: skip
    _check(got, _golden("golden_zone_stats_apportion.csv"), "zone_id")


@pytest.mark.parametrize("how", ["largest", "centroid"])
def test_zone_stats_whole_parcels(classified, zones, how):
    # a rectangle's largest part and its centre lie in the same zone for every parcel here
    got = gr.zone_stats(classified, zones=zones, zone_col="zone_id", how=how, policy=False)
    _check(got, _golden("golden_zone_stats_whole.csv"), "zone_id")


def test_site_capacity(classified):
    sites = classified[classified["category"] == "resettlement_site"]
    got = gr.site_capacity(sites)
    got.index = sites["parcel_id"]
    _check(got, _golden("golden_site_capacity.csv"), "parcel_id")
    assert got["capacity_units"].dtype == np.int64


def test_resettlement_demand_by_project(classified):
    got = gr.resettlement_demand(classified, by="project_id").set_index("unit_id")
    _check(got, _golden("golden_demand.csv"), "unit_id")


UNITS = _golden("golden_units.csv").to_dict("records")


@pytest.mark.parametrize("row", UNITS, ids=[f"{r['m2']}-{r['to']}" for r in UNITS])
def test_convert_area(row):
    assert _same(gr.convert_area(float(row["m2"]), row["to"]), row["value"])
