"""Tests of geo_renewal.stats: apportionment, conservation, how modes, units, 63号文 checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely
from shapely import box

from geo_renewal import _stats_kernel as stats_kernel
from geo_renewal import stats as st
from geo_renewal._errors import CRSError, InputError, SchemaError
from geo_renewal.crs import area as crs_area
from geo_renewal.schema import CATEGORIES
from geo_renewal.stats import (
    MISSING_ROW,
    OUTSIDE_ROW,
    TOTAL_ROW,
    ConservationError,
    convert_area,
    policy_checks,
    zone_stats,
)

X0, Y0 = 500_000.0, 4_063_000.0  # on the central meridian of EPSG:4548
CRS = "EPSG:4548"
CONSERVED = ("area_m2", "floor_area_m2", "households", "population")


def _parcels(boxes, **cols) -> gpd.GeoDataFrame:
    geoms = [box(X0 + a, Y0 + b, X0 + c, Y0 + d) for a, b, c, d in boxes]
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=CRS)


def _zones(boxes, keys) -> gpd.GeoDataFrame:
    geoms = [box(X0 + a, Y0 + b, X0 + c, Y0 + d) for a, b, c, d in boxes]
    return gpd.GeoDataFrame({"zone_id": keys}, geometry=geoms, crs=CRS)


@pytest.fixture
def classified(grid_parcels) -> gpd.GeoDataFrame:
    cats = ["demolish", "retain_upgrade", "retain_protect", "resettlement_site", "unchanged"]
    out = grid_parcels.copy()
    out["category"] = pd.Categorical([cats[k % 5] for k in range(len(out))], categories=cats)
    return out


@pytest.fixture
def straddling_zones() -> gpd.GeoDataFrame:
    """Three zones whose borders cut through parcels of `grid_parcels`; the right column and
    the top row of parcels lie (partly or wholly) outside every zone."""
    return _zones(
        [(-20, -20, 155, 200), (155, -20, 333, 200), (-20, 200, 333, 380)],
        ["Z1", "Z2", "Z3"],
    )


def _rows(stats: pd.DataFrame) -> pd.DataFrame:
    return stats.drop(index=TOTAL_ROW)


# ------------------------------------------------------------------ apportionment


def test_half_and_half_split_is_hand_computed():
    parcels = _parcels(
        [(0, 0, 100, 100), (200, 0, 300, 100)],
        households=[10, 7],
        population=[30, 21],
        floor_area=[1000.0, 700.0],
    )
    zones = _zones([(-50, -50, 50, 150), (50, -50, 150, 150)], ["A", "B"])
    stats = zone_stats(parcels, zones=zones, zone_col="zone_id")
    assert list(stats.index) == ["A", "B", OUTSIDE_ROW, TOTAL_ROW]
    a0 = float(crs_area(parcels).iloc[0])
    assert a0 == pytest.approx(10_000.0, rel=1e-6)
    for key in ("A", "B"):  # the first parcel is cut in two equal halves
        row = stats.loc[key]
        assert row["area_m2"] == pytest.approx(a0 / 2, rel=1e-12)
        assert row["households"] == pytest.approx(5.0, rel=1e-12)
        assert row["population"] == pytest.approx(15.0, rel=1e-12)
        assert row["floor_area_m2"] == pytest.approx(500.0, rel=1e-12)
        assert row["n_parcels"] == 1
    out = stats.loc[OUTSIDE_ROW]  # the second parcel lies outside both zones
    assert out["households"] == 7
    assert out["floor_area_m2"] == 700.0
    assert stats.loc[TOTAL_ROW, "n_parcels"] == 2
    assert stats["n_parcels"].dtype == np.int64


def test_unequal_split_in_three_zones():
    parcels = _parcels([(0, 0, 100, 100)], households=[100])
    # 20 % / 30 % / 50 % of the parcel's width
    zones = _zones([(-10, -10, 20, 110), (20, -10, 50, 110), (50, -10, 110, 110)], ["a", "b", "c"])
    stats = zone_stats(parcels, zones=zones, zone_col="zone_id")
    np.testing.assert_allclose(stats.loc[["a", "b", "c"], "households"], [20, 30, 50])
    assert OUTSIDE_ROW not in stats.index  # nothing fell outside: no empty outside row


def test_zones_with_same_key_form_one_row():
    parcels = _parcels([(0, 0, 100, 100)], households=[10])
    zones = _zones([(0, 0, 50, 100), (50, 0, 100, 100)], ["A", "A"])
    stats = zone_stats(parcels, zones=zones, zone_col="zone_id")
    assert list(stats.index) == ["A", TOTAL_ROW]
    assert stats.loc["A", "households"] == pytest.approx(10)
    assert stats.loc["A", "n_parcels"] == 1  # counted once, though split in two pieces


# ------------------------------------------------------------------ conservation


@pytest.mark.parametrize("how", st.HOW)
def test_conservation_with_straddlers_and_outside(classified, straddling_zones, how):
    stats = zone_stats(classified, zones=straddling_zones, zone_col="zone_id", how=how)
    assert OUTSIDE_ROW in stats.index
    rows = _rows(stats)
    want = {
        "area_m2": crs_area(classified).sum(),
        "floor_area_m2": classified["floor_area"].sum(),
        "households": classified["households"].sum(),
        "population": classified["population"].sum(),
    }
    for name, total in want.items():
        assert stats.loc[TOTAL_ROW, name] == pytest.approx(total, rel=1e-12)
        assert rows[name].sum() == pytest.approx(total, rel=1e-9)
    # The cross table adds up too: per row over categories, and per category over rows.
    cross = [c for c in stats.columns if c.startswith("area_m2:")]
    assert len(cross) == 5
    np.testing.assert_allclose(stats[cross].sum(axis=1), stats["area_m2"], rtol=1e-9)
    hh = [c for c in stats.columns if c.startswith("households:")]
    np.testing.assert_allclose(rows[hh].sum(), stats.loc[TOTAL_ROW, hh], rtol=1e-9)
    if how != "apportion":  # whole parcels: counts add up as well
        assert rows["n_parcels"].sum() == len(classified)


def test_apportion_shares_straddlers(classified, straddling_zones):
    stats = zone_stats(classified, zones=straddling_zones, zone_col="zone_id")
    # Z1 is x < 155, y < 200: x = 155 cuts parcels of column 1 (x 110..210) 45 m | 55 m,
    # y = 200 cuts parcels of row 1 (y 110..210) 90 m | 10 m.
    hh = classified.set_index("parcel_id")["households"]
    want = hh["P00"] + 0.9 * hh["P10"] + 0.45 * hh["P01"] + 0.45 * 0.9 * hh["P11"]
    assert stats.loc["Z1", "households"] == pytest.approx(want, rel=1e-6)
    # Rows that touch several zones count a parcel in each.
    assert _rows(stats)["n_parcels"].sum() > len(classified)


def test_conservation_check_raises_internal_error():
    with pytest.raises(ConservationError, match=r"households.*add up"):
        stats_kernel._check_conservation(
            {"households": np.array([1.0, 2.0])},
            {"households": 4.0},
            {"households": np.array([4.0])},
        )


def test_threads_give_the_same_result(classified, straddling_zones, monkeypatch):
    one = zone_stats(classified, zones=straddling_zones, zone_col="zone_id", n_jobs=1)
    monkeypatch.setattr(stats_kernel, "_THREAD_MIN_PAIRS", 1)
    many = zone_stats(classified, zones=straddling_zones, zone_col="zone_id", n_jobs=3)
    pd.testing.assert_frame_equal(one, many, rtol=1e-12)


# ------------------------------------------------------------------ how modes


def test_largest_and_centroid_assign_whole_parcels():
    parcels = _parcels(
        [(0, 0, 100, 100), (200, 0, 300, 100), (400, 0, 500, 100)], households=[10, 20, 40]
    )
    zones = _zones([(-10, -10, 60, 110), (60, -10, 230, 110), (470, -10, 600, 110)], list("ABC"))
    # parcel 0: 60 % in A, 40 % in B; parcel 1: 30 % in B, 70 % outside; parcel 2: 30 % in C
    largest = zone_stats(parcels, zones=zones, zone_col="zone_id", how="largest")
    assert largest.loc["A", "households"] == 10
    assert largest.loc["B", "households"] == 0
    assert largest.loc[OUTSIDE_ROW, "households"] == 60
    centroid = zone_stats(parcels, zones=zones, zone_col="zone_id", how="centroid")
    assert centroid.loc["A", "households"] == 10  # centre x=50 lies in A
    assert centroid.loc[OUTSIDE_ROW, "households"] == 60
    apportion = zone_stats(parcels, zones=zones, zone_col="zone_id", how="apportion")
    np.testing.assert_allclose(
        apportion.loc[["A", "B", "C", OUTSIDE_ROW], "households"], [6, 4 + 6, 12, 14 + 28]
    )


def test_centroid_on_a_shared_border_goes_to_the_first_zone():
    parcels = _parcels([(0, 0, 100, 100)], households=[5])
    zones = _zones([(50, -10, 200, 110), (-100, -10, 50, 110)], ["right", "left"])
    stats = zone_stats(parcels, zones=zones, zone_col="zone_id", how="centroid")
    assert stats.loc["right", "households"] == 5
    assert stats.loc["left", "households"] == 0


def test_unknown_how_lists_valid_ones(grid_parcels, straddling_zones):
    with pytest.raises(InputError, match="'apportion', 'largest', 'centroid'"):
        zone_stats(grid_parcels, zones=straddling_zones, how="area")


# ------------------------------------------------------------------ by=


def test_by_street_and_missing_values(grid_parcels):
    parcels = grid_parcels.copy()
    parcels.loc[parcels.index[:2], "street"] = None
    stats = zone_stats(parcels, by="street")
    assert list(stats.index) == ["东关街道", "西关街道", MISSING_ROW, TOTAL_ROW]
    assert stats.index.name == "street"
    assert stats.loc[MISSING_ROW, "n_parcels"] == 2
    assert _rows(stats)["households"].sum() == parcels["households"].sum()
    assert stats.loc["西关街道", "area_m2"] == pytest.approx(
        crs_area(parcels[parcels["street"] == "西关街道"]).sum()
    )


def test_by_category_rows_follow_category_order(classified):
    parcels = classified.copy()
    parcels["category"] = parcels["category"].astype(str)  # plain text works too
    parcels = parcels[parcels["category"] != "retain_upgrade"]
    stats = zone_stats(parcels, by="category")
    assert list(stats.index) == [*CATEGORIES, TOTAL_ROW]
    assert stats.loc["retain_upgrade", "n_parcels"] == 0
    assert not any(":" in c for c in stats.columns)  # no redundant cross table


def test_unknown_by_column_names_the_choices(grid_parcels):
    with pytest.raises(SchemaError, match=r"`by='district'`.*street"):
        zone_stats(grid_parcels, by="district")


def test_by_or_zones_exactly_one(grid_parcels, straddling_zones):
    with pytest.raises(InputError, match="exactly one"):
        zone_stats(grid_parcels)
    with pytest.raises(InputError, match="exactly one"):
        zone_stats(grid_parcels, by="street", zones=straddling_zones)


# ------------------------------------------------------------------ inputs


def test_missing_columns_are_absent_not_zero():
    parcels = _parcels([(0, 0, 100, 100)])
    stats = zone_stats(parcels, zones=_zones([(0, 0, 50, 100)], ["A"]), zone_col="zone_id")
    for absent in ("households", "population", "floor_area_m2", "demolition_share"):
        assert absent not in stats.columns
    assert "households" in stats.attrs["absent"]
    assert stats.loc["A", "area_m2"] == pytest.approx(5000.0, rel=1e-6)


def test_missing_values_count_as_zero_with_a_warning(grid_parcels):
    parcels = grid_parcels.copy()
    parcels["households"] = parcels["households"].astype(float)
    parcels.loc[parcels.index[3], "households"] = np.nan
    with pytest.warns(UserWarning, match=r"households.*missing for 1 rows.*count as 0"):
        stats = zone_stats(parcels, by="street")
    assert stats.loc[TOTAL_ROW, "households"] == parcels["households"].sum()


def test_non_numeric_column_is_refused(grid_parcels):
    parcels = grid_parcels.copy()
    parcels["households"] = parcels["households"].astype(str)
    with pytest.raises(SchemaError, match=r"households.*expected numbers"):
        zone_stats(parcels, by="street")


def test_buildings_counted_from_either_column(grid_parcels):
    parcels = grid_parcels.copy()
    parcels["building_count"] = 3
    stats = zone_stats(parcels, by="street")
    assert stats.loc[TOTAL_ROW, "n_buildings"] == 3 * len(parcels)


def test_input_is_not_mutated(classified, straddling_zones):
    before_p, before_z = classified.copy(), straddling_zones.copy()
    zone_stats(classified, zones=straddling_zones, zone_col="zone_id")
    pd.testing.assert_frame_equal(classified, before_p)
    pd.testing.assert_frame_equal(straddling_zones, before_z)
    assert not shapely.is_prepared(straddling_zones.geometry.array).any()


def test_geographic_input_measured_in_working_crs(classified, straddling_zones):
    geo = zone_stats(
        classified.to_crs(4490), zones=straddling_zones.to_crs(4490), zone_col="zone_id"
    )
    assert geo.attrs["working_crs"] == "EPSG:4548"
    assert geo.loc[TOTAL_ROW, "area_m2"] == pytest.approx(crs_area(classified).sum(), rel=1e-6)


def test_crs_mismatch_and_missing_crs(grid_parcels, straddling_zones):
    with pytest.raises(CRSError, match="CRS mismatch"):
        zone_stats(grid_parcels, zones=straddling_zones.to_crs(4326))
    with pytest.raises(CRSError, match="no CRS"):
        zone_stats(grid_parcels.set_crs(None, allow_override=True), by="street")


def test_overlapping_zones_are_refused_naming_the_pair(grid_parcels):
    zones = _zones([(0, 0, 200, 200), (150, 0, 400, 200), (400, 0, 600, 200)], list("ABC"))
    with pytest.raises(InputError, match=r"overlap: 'A' \(row 0\) and 'B' \(row 1\) by 10,000"):
        zone_stats(grid_parcels, zones=zones, zone_col="zone_id")


def test_overlaps_first_gives_the_overlap_to_the_earlier_zone(grid_parcels):
    zones = _zones([(0, 0, 200, 200), (150, 0, 400, 200)], ["A", "B"])
    stats = zone_stats(grid_parcels, zones=zones, zone_col="zone_id", overlaps="first")
    cut = zone_stats(
        grid_parcels,
        zones=_zones([(0, 0, 200, 200), (200, 0, 400, 200)], ["A", "B"]),
        zone_col="zone_id",
    )
    pd.testing.assert_frame_equal(stats, cut, rtol=1e-9)


def test_invalid_zone_is_refused(grid_parcels):
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    zones = gpd.GeoDataFrame({"zone_id": ["A"]}, geometry=[bowtie], crs=CRS)
    with pytest.raises(InputError, match=r"invalid geometries.*make_valid"):
        zone_stats(grid_parcels, zones=zones, zone_col="zone_id")


def test_reserved_zone_key_is_refused(grid_parcels):
    zones = _zones([(0, 0, 200, 200)], ["total"])
    with pytest.raises(InputError, match="reserved row label"):
        zone_stats(grid_parcels, zones=zones, zone_col="zone_id")


def test_zone_index_is_the_default_key(grid_parcels):
    zones = _zones([(0, 0, 200, 200), (200, 0, 400, 200)], ["A", "B"]).set_index("zone_id")
    stats = zone_stats(grid_parcels, zones=zones)
    assert stats.index.name == "zone_id"
    assert list(stats.index[:2]) == ["A", "B"]


def test_unknown_zone_col(grid_parcels, straddling_zones):
    with pytest.raises(SchemaError, match="zone_col='name'"):
        zone_stats(grid_parcels, zones=straddling_zones, zone_col="name")


# ------------------------------------------------------------------ units


def test_unit_conversions():
    assert convert_area(10_000.0 / 15.0, "mu") == pytest.approx(1.0)
    assert convert_area(10_000.0, "ha") == 1.0
    assert convert_area(25_000.0, "wan_m2") == 2.5
    assert convert_area(np.array([2e6]), "km2")[0] == 2.0
    with pytest.raises(InputError, match="'ha', 'mu'"):
        convert_area(1.0, "acre")


def test_unit_columns(classified):
    stats = zone_stats(classified, by="street")
    np.testing.assert_allclose(stats["area_ha"], stats["area_m2"] / 10_000)
    np.testing.assert_allclose(stats["area_mu"], stats["area_m2"] * 15 / 10_000)
    np.testing.assert_allclose(stats["floor_area_wan_m2"], stats["floor_area_m2"] / 10_000)
    # 20 parcels of 100 m × 100 m: 2 ha = 30 亩
    assert stats.loc[TOTAL_ROW, "area_ha"] == pytest.approx(20.0, rel=1e-6)
    assert stats.loc[TOTAL_ROW, "area_mu"] == pytest.approx(300.0, rel=1e-6)


# ------------------------------------------------------------------ category metrics and 63号文


def test_category_metrics(classified):
    stats = zone_stats(classified, by="street")
    demolish = classified["category"] == "demolish"
    total = stats.loc[TOTAL_ROW]
    assert total["demolish_floor_area_m2"] == classified.loc[demolish, "floor_area"].sum()
    assert total["demolish_households"] == classified.loc[demolish, "households"].sum()
    protect = classified["category"] == "retain_protect"
    assert total["protect_area_m2"] == pytest.approx(crs_area(classified[protect]).sum())
    site = classified["category"] == "resettlement_site"
    assert total["resettlement_area_m2"] == pytest.approx(crs_area(classified[site]).sum())


@pytest.fixture
def units() -> gpd.GeoDataFrame:
    """Crafted renewal units: U1 demolishes 30 % (too much); U2 30 % of C-grade buildings
    (exempt); U3 30 % illegal (exempt); U4 10 %."""
    rows = []
    for u, (grade, illegal, share) in enumerate(
        [("B", False, 0.3), ("C", False, 0.3), ("A", True, 0.3), ("B", False, 0.1)], start=1
    ):
        rows.append((f"U{u}", "demolish", grade, illegal, 1000.0 * share, u))
        rows.append((f"U{u}", "unchanged", "A", False, 1000.0 * (1 - share), u))
    df = pd.DataFrame(
        rows, columns=["unit", "category", "danger_grade", "illegal", "floor_area", "k"]
    )
    geoms = [box(X0 + 100 * i, Y0, X0 + 100 * i + 90, Y0 + 90) for i in range(len(df))]
    return gpd.GeoDataFrame(df.drop(columns="k"), geometry=geoms, crs=CRS)


def test_demolition_share_and_exemptions(units):
    stats = zone_stats(units, by="unit", lang="en")
    np.testing.assert_allclose(
        stats.loc[["U1", "U2", "U3", "U4"], "demolition_share"], [0.3, 0.0, 0.0, 0.1]
    )
    np.testing.assert_allclose(
        stats.loc[["U1", "U2", "U3", "U4"], "exempt_floor_area_m2"], [0, 300, 300, 0]
    )
    assert stats.loc["U1", "violations"] == "demolition share 30.0% > 20%"
    assert (stats.loc[["U2", "U3", "U4"], "violations"] == "").all()
    assert stats.loc[TOTAL_ROW, "violations"] == ""  # limits apply to units, not the total
    assert "rebuild_ratio" not in stats.columns  # no planned floor area given


def test_rebuild_ratio_from_a_mapping(units):
    planned = {"U1": 900.0, "U2": 500.0, "U4": 150.0}
    stats = zone_stats(units, by="unit", planned_floor_area=planned, lang="zh")
    np.testing.assert_allclose(
        stats.loc[["U1", "U2", "U3", "U4"], "rebuild_ratio"], [3.0, 500 / 300, 0.0, 1.5]
    )
    assert stats.loc["U1", "violations"] == "拆除比例 30.0% > 20%；拆建比 3.00 > 2"
    assert stats.loc["U2", "violations"] == ""
    assert stats.loc[TOTAL_ROW, "planned_floor_area_m2"] == 1550.0


def test_rebuild_ratio_from_columns(units):
    parcels = units.copy()
    parcels["new_fa"] = np.where(parcels["category"] == "demolish", 400.0, 0.0)
    stats = zone_stats(parcels, by="unit", planned_floor_area="new_fa", lang="en")
    assert stats.loc["U4", "rebuild_ratio"] == pytest.approx(4.0)
    assert "rebuild ratio 4.00 > 2" in stats.loc["U4", "violations"]
    # a zones column: the planned floor area of each zone
    zones = gpd.GeoDataFrame(
        {"zone_id": ["A"], "plan": [2000.0]}, geometry=[units.union_all().envelope], crs=CRS
    )
    z = zone_stats(units, zones=zones, zone_col="zone_id", planned_floor_area="plan")
    assert z.loc["A", "rebuild_ratio"] == pytest.approx(2000.0 / 1000.0)


def test_planned_floor_area_errors(units):
    with pytest.raises(SchemaError, match="neither a column"):
        zone_stats(units, by="unit", planned_floor_area="nope")
    with pytest.raises(InputError, match=r"groups \['U9'\]"):
        zone_stats(units, by="unit", planned_floor_area={"U9": 1.0})


def test_policy_checks_function_and_limits(units):
    stats = zone_stats(units, by="unit", policy=False)
    assert "violations" not in stats.columns
    checked = policy_checks(stats, max_demolition_share=0.05, lang="en")
    assert checked.loc["U4", "violations"] == "demolition share 10.0% > 5%"
    assert "violations" not in stats.columns  # input untouched
    with pytest.raises(SchemaError, match="floor_area_m2"):
        policy_checks(stats.drop(columns="floor_area_m2"))
    with pytest.raises(InputError, match="'zh' or 'en'"):
        policy_checks(stats, lang="fr")


def test_unclassified_parcels_get_their_own_category(classified):
    parcels = classified.copy()
    parcels.loc[parcels.index[0], "category"] = np.nan
    stats = zone_stats(parcels, by="street")
    assert "area_m2:unclassified" in stats.columns
    cross = [c for c in stats.columns if c.startswith("area_m2:")]
    np.testing.assert_allclose(stats[cross].sum(axis=1), stats["area_m2"], rtol=1e-9)


# ------------------------------------------------------------------ CLI


def test_cli_stats_by_street_and_zones(classified, straddling_zones, tmp_path):
    pytest.importorskip("geo_renewal.io")
    import openpyxl
    from click.testing import CliRunner

    from geo_renewal.cli import cli

    src = tmp_path / "classified.gpkg"
    classified.to_file(src, layer="parcels", engine="pyogrio")
    zpath = tmp_path / "zones.gpkg"
    straddling_zones.to_file(zpath, engine="pyogrio")
    runner = CliRunner()
    out = tmp_path / "stats.xlsx"
    res = runner.invoke(cli, ["stats", str(src), "--by", "street", "--out", str(out)])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("街道")
    assert lines[-1].startswith("合计")
    assert "东关街道" in res.stdout
    ws = openpyxl.load_workbook(out).active
    assert ws["A1"].value == "街道"
    res = runner.invoke(
        cli,
        ["stats", str(src), "--zones", str(zpath), "--zone-col", "zone_id", "--how", "largest"],
    )
    assert res.exit_code == 0, res.output
    assert "片区范围外" in res.stdout
    res = runner.invoke(cli, ["stats", str(src), "--lang", "en"])
    assert res.exit_code != 0
    assert "exactly one of --by" in res.output
    res = runner.invoke(cli, ["stats", str(src), "--by", "nope"])
    assert res.exit_code == 1
    assert "`by='nope'` is not a column" in res.output


def test_cli_how_choices_match_library():
    from geo_renewal.cli import stats_command

    how = next(p for p in stats_command.params if p.name == "how")
    assert tuple(how.type.choices) == st.HOW


def test_parcels_without_geometry_fall_outside_and_count(grid_parcels, straddling_zones):
    parcels = grid_parcels.copy()
    parcels.loc[parcels.index[0], "geometry"] = None
    stats = zone_stats(parcels, zones=straddling_zones, zone_col="zone_id")
    assert _rows(stats)["households"].sum() == parcels["households"].sum()
    assert stats.loc[OUTSIDE_ROW, "households"] >= parcels["households"].iloc[0]


def test_empty_parcels_give_a_zero_table(grid_parcels, straddling_zones):
    stats = zone_stats(grid_parcels.iloc[:0], zones=straddling_zones, zone_col="zone_id")
    assert list(stats.index) == ["Z1", "Z2", "Z3", TOTAL_ROW]
    assert (stats["households"] == 0).all()


def test_how_only_with_zones(grid_parcels):
    with pytest.raises(InputError, match="apply to `zones` only"):
        zone_stats(grid_parcels, by="street", how="largest")


def test_zones_must_be_polygons(grid_parcels):
    zones = gpd.GeoDataFrame({"zone_id": ["A"]}, geometry=[shapely.Point(X0, Y0)], crs=CRS)
    with pytest.raises(InputError, match=r"rows \[0\] are Point geometries, expected polygons"):
        zone_stats(grid_parcels, zones=zones, zone_col="zone_id")


def test_largest_sums_the_pieces_of_a_zone_with_several_polygons():
    parcels = _parcels([(0, 0, 100, 100)], households=[10])
    # A holds 30 % + 30 % in two polygons, B 40 %: A is the largest.
    zones = _zones([(0, 0, 30, 100), (30, 0, 70, 100), (70, 0, 100, 100)], ["A", "B", "A"])
    stats = zone_stats(parcels, zones=zones, zone_col="zone_id", how="largest")
    assert stats.loc["A", "households"] == 10


def test_zones_built_from_the_parcels_leave_no_outside_row():
    # Zones dissolved from the parcels themselves (as zones_from_parcels does): the
    # overlay's rounding noise (pieces of ~1e-10 m²) must not create an "outside" row.
    from geo_renewal.stats import OUTSIDE_ROW, zone_stats

    rng = np.random.default_rng(3)
    x0, y0 = 500_123.456789, 4_063_987.654321
    points = shapely.multipoints(rng.random((300, 2)) * 1000 + [x0, y0])
    frame = box(x0, y0, x0 + 1000, y0 + 1000)
    cells = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=frame))
    cells = shapely.intersection(cells, frame)
    parcels = gpd.GeoDataFrame(
        {"households": rng.integers(0, 50, len(cells))},
        geometry=cells,
        crs="EPSG:4548",
    )
    parcels["zone"] = (shapely.get_x(shapely.centroid(cells)) - x0) // 250
    zones = gpd.GeoDataFrame(
        {"zone": sorted(parcels["zone"].unique())},
        geometry=[shapely.union_all(g.geometry.values) for _, g in parcels.groupby("zone")],
        crs="EPSG:4548",
    )
    stats = zone_stats(parcels, zones=zones, zone_col="zone", categories=False)
    assert OUTSIDE_ROW not in stats.index
    assert stats.drop(index="total")["n_parcels"].sum() == len(parcels)
    assert stats.loc["total", "households"] == parcels["households"].sum()
