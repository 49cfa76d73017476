"""The 63号文 checks on real renewal units: a crafted mixed unit against a hand computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
from shapely import box

from geo_renewal import ConservationError
from geo_renewal.io import read_layer, write_layer
from geo_renewal.policy import unit_policy
from geo_renewal.resettlement import ResettlementPlan
from geo_renewal.units import _sum_rows, check_units, unit_checks

X, Y = 500_000.0, 4_060_000.0  # on the central meridian of EPSG:4548
CRS = "EPSG:4548"


def _b(x0, y0, x1, y1):
    return box(X + x0, Y + y0, X + x1, Y + y1)


@pytest.fixture
def mixed(tmp_path):
    """
    Two renewal units drawn over five parcels and five buildings, written to a GeoPackage.

    U1 (0–250 × 0–200 m) mixes demolition, protection and a parcel that straddles its east
    boundary; U2 (300–400 × 0–100 m) holds one unchanged parcel. Numbers are chosen so that
    the hand computation in the tests is exact.
    """
    parcels = gpd.GeoDataFrame(
        {
            "parcel_id": ["P1", "P2", "P3", "P4", "P5"],
            "category": ["demolish", "retain_protect", "demolish", "unchanged", "demolish"],
            "floor_area": [2000.0, 3000.0, 1000.0, 500.0, 800.0],
            "households": [20.0, 10.0, 8.0, 5.0, 6.0],
            "danger_grade": ["A", "B", "D", "A", "B"],  # P3: a D building, no survey
            "illegal": [False, False, False, False, False],
            "zone_id": ["Z1", None, "Z3", None, "Z1"],
        },
        geometry=[
            _b(0, 0, 100, 100),
            _b(100, 0, 200, 100),
            _b(200, 0, 300, 100),  # half in U1, half outside every unit
            _b(300, 0, 400, 100),
            _b(0, 100, 100, 200),
        ],
        crs=CRS,
    )
    buildings = gpd.GeoDataFrame(
        {
            "building_id": ["B1", "B2", "B3", "B4", "B5"],
            "floor_area": [500.0, 1500.0, 3000.0, 300.0, 500.0],
            "illegal": [True, False, False, False, False],
            "danger_grade": ["A", "A", "C", "C", "B"],
        },
        geometry=[
            _b(10, 10, 30, 30),  # P1, illegal: exempt
            _b(40, 40, 90, 90),  # P1
            _b(110, 10, 190, 90),  # P2, grade C but not demolished: nothing to exempt
            _b(10, 110, 30, 130),  # P5, grade C: exempt
            _b(40, 140, 90, 190),  # P5
        ],
        crs=CRS,
    )
    units = gpd.GeoDataFrame(
        {
            "name": ["老城东单元", "河畔单元"],
            "planned_floor_area": [6000.0, np.nan],
            "far": [np.nan, 1.2],
        },
        geometry=[_b(0, 0, 250, 200), _b(300, 0, 400, 100)],
        crs=CRS,
    )
    path = tmp_path / "mixed.gpkg"
    write_layer(parcels, path, layer="parcels")
    write_layer(buildings, path, layer="buildings")
    write_layer(units, path, layer="units")
    layers = {
        name: read_layer(path, layer=name, kind=name) for name in ("parcels", "buildings", "units")
    }
    return {**layers, "path": path}


def _plan(rates: pd.DataFrame) -> ResettlementPlan:
    empty = pd.DataFrame()
    return ResettlementPlan(
        allocation=empty,
        sites=gpd.GeoDataFrame(geometry=[], crs=CRS),
        flows=gpd.GeoDataFrame(geometry=[], crs=CRS),
        unmet=empty,
        rates=rates,
        demand=gpd.GeoDataFrame(geometry=[], crs=CRS),
    )


def test_mixed_unit_matches_the_hand_computation(mixed):
    rates = pd.DataFrame(
        {
            "unit_id": ["Z1", "Z3"],
            "households": [26, 8],
            "flat_households": [18, 6],
            "nearby_households": [9, 6],
        }
    )
    t = unit_checks(
        mixed["parcels"],
        mixed["units"],
        buildings=mixed["buildings"],
        resettlement=_plan(rates),
        lang="zh",
    )
    u1 = t.loc["老城东单元"]
    # Everything inside, whatever its class; P3 counts half (50 of its 100 m width).
    floor = 2000 + 3000 + 0.5 * 1000 + 800
    demolished = 2000 + 0.5 * 1000 + 800
    # B1 illegal (500) and B4 grade C (300), per building; P3 unsurveyed, grade D: all exempt.
    exempt = 500 + 0.5 * 1000 + 300
    assert u1["floor_area_m2"] == pytest.approx(floor)
    assert u1["demolish_floor_area_m2"] == pytest.approx(demolished)
    assert u1["exempt_floor_area_m2"] == pytest.approx(exempt)
    assert u1["demolition_share"] == pytest.approx((demolished - exempt) / floor)  # 31.7 %
    assert u1["rebuild_ratio"] == pytest.approx(6000 / demolished)  # 1.82
    # Households needing a flat at the rates of their demand units: Z1 18 of 26, Z3 6 of 8.
    flats = (20 + 6) * 18 / 26 + 0.5 * 8 * 6 / 8
    nearby = (20 + 6) * 9 / 26 + 0.5 * 8 * 6 / 8
    assert u1["flat_households"] == pytest.approx(flats)
    assert u1["nearby_rate"] == pytest.approx(nearby / flats)  # 12 / 21
    assert u1["verdict"] == "不符合"
    assert u1["violations"] == "拆除比例 31.7% > 20%"
    assert "已扣除违法建筑及C/D级危房 1,300 ㎡" in u1["reason"]
    assert "拆建比 1.82 ≤ 2" in u1["reason"]
    assert "就地就近安置率 57.1% ≥ 50%" in u1["reason"]
    # Land: demolition 100·100 (P1) + 50·100 (half P3) + 100·100 (P5), protection 100·100.
    dem_land, protect_land = 25_000, 10_000
    share = dem_land / (dem_land + protect_land)
    assert u1["class_mix"] == f"征收拆迁 {share:.0%}、保护保留 {1 - share:.0%}"
    assert u1["area_m2"] == pytest.approx(dem_land + protect_land)
    u2 = t.loc["河畔单元"]
    assert u2["planned_floor_area_m2"] == pytest.approx(1.2 * 100 * 100, rel=1e-3)
    assert np.isnan(u2["rebuild_ratio"])
    assert u2["verdict"] == "符合"
    assert "无拆除" in u2["reason"]


def test_units_and_outside_add_up_to_the_layer(mixed):
    t = unit_checks(mixed["parcels"], mixed["units"], buildings=mixed["buildings"], lang="en")
    assert list(t.index) == ["老城东单元", "河畔单元", "outside", "total"]
    outside = t.loc["outside"]
    assert outside["floor_area_m2"] == pytest.approx(0.5 * 1000)
    assert outside["verdict"] == ""  # outside every unit is no unit: no verdict
    parcels = mixed["parcels"]
    for col, source in (("floor_area_m2", "floor_area"), ("households", "households")):
        units_sum = t.drop(index="total")[col].sum()
        assert units_sum == pytest.approx(parcels[source].sum())
        assert t.loc["total", col] == pytest.approx(parcels[source].sum())
    # Without a plan the nearby rate is not checked, never passed.
    u1 = t.loc["老城东单元"]
    assert "no resettlement plan" in u1["reason"]
    assert "flat_households" not in t.columns


def test_unknown_households_leave_the_nearby_rate_unchecked(mixed):
    parcels = mixed["parcels"].drop(columns="households")
    t = unit_checks(parcels, mixed["units"], lang="en")
    assert "households" not in t.columns
    assert "no resettlement plan: nearby rate not checked" in t.loc["河畔单元", "reason"]
    assert t.loc["河畔单元", "verdict"] == "incomplete"


def test_parcel_flags_give_the_exemption_without_buildings(mixed):
    t = unit_checks(mixed["parcels"], mixed["units"], lang="en")
    # Without buildings only P3 (grade D) is exempt: P1 and P5 are grade A/B parcels.
    assert t.loc["老城东单元", "exempt_floor_area_m2"] == pytest.approx(0.5 * 1000)


def test_conservation_is_checked(mixed):
    values = {"floor_area_m2": np.array([1.0, 2.0])}
    p, g, w = np.array([0, 1]), np.array([0, 0]), np.array([1.0, 0.5])  # half of P2 lost
    with pytest.raises(ConservationError, match=r"add up to 15.0 `area_m2`, the layer holds 20.0"):
        _sum_rows(values, p, g, w, 2, np.array([10.0, 10.0]))


def test_unit_policy_reports_every_limit():
    t = pd.DataFrame(
        {
            "floor_area_m2": [1000.0, 1000.0, 0.0],
            "demolish_floor_area_m2": [500.0, 100.0, 0.0],
            "exempt_floor_area_m2": [0.0, 0.0, 0.0],
            "planned_floor_area_m2": [600.0, 300.0, np.nan],
            "flat_households": [10.0, 10.0, 0.0],
            "nearby_households": [2.0, 8.0, 0.0],
        },
        index=["A", "B", "C"],
    )
    out = unit_policy(t, lang="en")
    assert out.loc["A", "violations"] == "demolition share 50.0% > 20%; nearby rate 20.0% < 50%"
    assert out.loc["B", "violations"] == "rebuild ratio 3.00 > 2"
    assert out.loc["C", "verdict"] == "incomplete"
    assert out["meets_rebuild_ratio"].tolist()[:2] == [True, False]


def test_check_units_names_and_planned_values(mixed):
    units = check_units(mixed["units"])
    assert units["unit_id"].tolist() == ["老城东单元", "河畔单元"]
    assert units["planned_floor_area_m2"].iloc[0] == 6000.0


def test_cli_stats_prints_the_unit_checks(mixed, tmp_path):
    from click.testing import CliRunner

    from geo_renewal.cli import cli

    path = str(mixed["path"])
    out = tmp_path / "checks.xlsx"
    args = ["stats", path, "--layer", "parcels", "--units", path, "--units-layer", "units"]
    res = CliRunner().invoke(cli, [*args, "--lang", "zh", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "老城东单元" in res.output
    assert "不符合" in res.output
    # No buildings given: only the grade-D parcel P3 is exempt, (3300 − 500) ÷ 6300.
    assert f"拆除比例 {(3300 - 500) / 6300:.1%} > 20%" in res.output
    assert out.exists()
    res = CliRunner().invoke(cli, ["stats", path, "--layer", "parcels", "--units", "nope.gpkg"])
    assert res.exit_code == 2
    assert "nope.gpkg" in res.output


def test_nearby_reason_is_measured_on_the_allocation():
    """A distance-minimising plan gives A's only nearby site to B: the reason says so, in numbers."""
    from geo_renewal.resettlement import plan_resettlement
    from geo_renewal.units import nearby_reason

    parcels = gpd.GeoDataFrame(
        {
            "parcel_id": ["A", "B"],
            "category": ["demolish", "demolish"],
            "households": [100, 100],
            "floor_area": [8000.0, 8000.0],
            "zone_id": ["ZA", "ZB"],
        },
        geometry=[_b(0, 0, 50, 50), _b(2400, 0, 2450, 50)],
        crs=CRS,
    )
    # 5 000 m² hold 100 flats (× 2.5 × 0.9 × 0.8 ÷ 90 m²). S1 is 900 m from A (nearby) and
    # 1 500 m from B; S2 is 2 000 m from A. Shortest total: A → S2, B → S1 (3 500 < 5 300 m).
    sites = gpd.GeoDataFrame(
        {"site_id": ["S1", "S2"], "name": ["近A", "远A"]},
        geometry=[_b(900, -50, 950, 50), _b(-2000, -50, -1950, 50)],
        crs=CRS,
    )
    with pytest.warns(UserWarning, match="63号"):
        plan = plan_resettlement(
            parcels, sites=sites, cash_share=0.0, nearby_dist=1000, demand_by="zone_id"
        )
    assert plan.summary["nearby_rate"] == 0.0
    assert plan.summary["max_nearby_rate"] == 0.5  # A at S1, B nowhere nearby
    reason = nearby_reason(plan, lang="en")
    assert reason.startswith("The nearby rate is 0.0%, below the 50.0% ")
    assert "(100 households)" in reason
    assert "100 households of 1 demand units have no usable site within 1,000 m" in reason
    assert "1 sites that are nearby for some demand units house 100 households" in reason
    plan.summary["nearby_households"] = 100  # had the plan reached the best rate
    assert nearby_reason(plan, lang="en") == ""


@pytest.mark.parametrize(
    ("lang", "text"), [("zh", "更新单元范围外"), ("en", "Outside every unit")]
)
def test_outside_row_reads_the_same_in_index_and_name(mixed, tmp_path, lang, text):
    """The workbook's row label and name of the outside row say one thing: outside every unit."""
    import openpyxl

    from geo_renewal.tables import write_tables

    t = unit_checks(mixed["parcels"], mixed["units"], lang=lang)
    path = write_tables({"63": t[["name", "verdict"]]}, tmp_path / "u.xlsx", lang=lang)
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    outside = [r for r in rows if text in r]
    assert len(outside) == 1
    assert outside[0][:2] == (text, text)
    assert not any(v in ("区外", "范围外", "不在任何更新单元内") for r in rows for v in r)
