"""Tests of geo_renewal.resettlement: capacity, demand, allocation, rates, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely

from geo_renewal import settings
from geo_renewal._errors import CRSError, InputError, SchemaError
from geo_renewal.resettlement import (
    REASONS,
    plan_resettlement,
    resettlement_demand,
    site_capacity,
    site_suitability,
)

CRS = "EPSG:4548"
X0, Y0 = 500_000.0, 4_063_000.0


def _sq(cx: float, cy: float = 0.0, half: float = 50.0) -> shapely.Polygon:
    return shapely.box(X0 + cx - half, Y0 + cy - half, X0 + cx + half, Y0 + cy + half)


def _parcels(rows: list[tuple]) -> gpd.GeoDataFrame:
    """rows: (parcel_id, unit, category, households, cx[, cy]) → classified parcels."""
    recs = []
    for r in rows:
        pid, unit, cat, hh, cx, *rest = r
        cy = rest[0] if rest else 0.0
        recs.append(
            {
                "parcel_id": pid,
                "zone_id": unit,
                "project_id": unit,
                "category": cat,
                "households": hh,
                "geometry": _sq(cx, cy),
            }
        )
    gdf = gpd.GeoDataFrame(recs, crs=CRS)
    gdf["category"] = pd.Categorical(
        gdf["category"],
        categories=["demolish", "retain_upgrade", "retain_protect", "resettlement_site"],
    )
    return gdf


def _sites(rows: list[tuple]) -> gpd.GeoDataFrame:
    """rows: (site_id, cx, capacity_units) → small site squares with planned capacity."""
    return gpd.GeoDataFrame(
        {
            "site_id": [r[0] for r in rows],
            "capacity_units": [r[2] for r in rows],
        },
        geometry=[_sq(r[1], 0.0, 40.0) for r in rows],
        crs=CRS,
    )


def _alloc(plan) -> dict[tuple[str, str], int]:
    a = plan.allocation
    return {
        (u, s): int(h) for u, s, h in zip(a["unit_id"], a["site_id"], a["households"], strict=True)
    }


# --------------------------------------------------------------------------- capacity


def test_capacity_formula_defaults_and_keywords():
    sites = gpd.GeoDataFrame(
        {"far": [np.nan, 1.6]}, geometry=[_sq(0, half=50), _sq(500, half=50)], crs=CRS
    )
    cap = site_capacity(sites)
    # 10 000 m² × 2.5 × 0.9 × 0.8 / 90 = 200 flats; 200 × 3.2 = 640 persons
    assert cap["area_m2"].tolist() == pytest.approx([10_000.0, 10_000.0])
    assert cap["far"].tolist() == [2.5, 1.6]  # own FAR overrides the default
    assert cap["capacity_units"].tolist() == [200, int(10_000 * 1.6 * 0.9 * 0.8 / 90)]
    assert cap["capacity_persons"].tolist() == [640, round(128 * 3.2)]
    assert cap.index.equals(sites.index)
    cap2 = site_capacity(
        sites.drop(columns="far"),
        far=2.0,
        residential_share=1.0,
        efficiency=0.75,
        unit_floor_area=100.0,
        persons_per_household=3.0,
    )
    assert cap2["capacity_units"].tolist() == [150, 150]  # 10 000 × 2 × 0.75 / 100
    assert cap2["capacity_persons"].tolist() == [450, 450]


def test_capacity_floors_to_whole_flats_and_geographic_area():
    # 1 000 m² × 2.5 × 0.72 / 90 = 20.0 exactly; 999 m² → 19.98 → 19
    sites = gpd.GeoDataFrame(
        geometry=[shapely.box(0, 0, 10, 100), shapely.box(0, 0, 9.99, 100)], crs=CRS
    )
    assert site_capacity(sites)["capacity_units"].tolist() == [20, 19]
    geo = gpd.GeoDataFrame(geometry=[_sq(0, half=50)], crs=CRS).to_crs(4326)
    assert site_capacity(geo)["area_m2"].iloc[0] == pytest.approx(10_000, rel=1e-3)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"far": 0}, "far"),
        ({"residential_share": 1.2}, "residential_share"),
        ({"efficiency": -1}, "efficiency"),
        ({"unit_floor_area": 0}, "unit_floor_area"),
    ],
)
def test_capacity_refuses_bad_parameters(kw, match):
    sites = gpd.GeoDataFrame(geometry=[_sq(0)], crs=CRS)
    with pytest.raises(InputError, match=match):
        site_capacity(sites, **kw)


def test_capacity_refuses_negative_far_column():
    sites = gpd.GeoDataFrame({"far": [-1.0]}, geometry=[_sq(0)], crs=CRS)
    with pytest.raises(InputError, match="far"):
        site_capacity(sites)


# --------------------------------------------------------------------------- demand


def test_demand_largest_remainder_conserves_totals():
    rows = [(f"p{k}", f"U{k % 7}", "demolish", 3 + 7 * k % 11, 120.0 * k) for k in range(40)]
    parcels = _parcels(rows)
    for share in (0.0, 0.3, 0.37, 0.5, 1.0):
        d = resettlement_demand(parcels, by="zone_id", cash_share=share)
        hh = d["households"].to_numpy()
        assert (d["flat_households"] + d["cash_households"] == d["households"]).all()
        # the district's cash households are round(total × share), half up
        assert d["cash_households"].sum() == int(np.floor(hh.sum() * share + 0.5 + 1e-9))
        # each unit is within one household of its exact share
        assert np.all(np.abs(d["flat_households"] - hh * (1 - share)) < 1)
        assert d["households"].sum() == parcels["households"].sum()


def test_demand_only_demolish_parcels_and_unit_polygon():
    parcels = _parcels(
        [
            ("a", "U1", "demolish", 10, 0),
            ("b", "U1", "demolish", 20, 100),
            ("c", "U1", "retain_upgrade", 500, 200),
            ("d", "U2", "demolish", 5, 1000),
        ]
    )
    d = resettlement_demand(parcels, by="project_id", cash_share=0.0)
    assert d["unit_id"].tolist() == ["U1", "U2"]
    assert d["households"].tolist() == [30, 5]
    assert d["n_parcels"].tolist() == [2, 1]
    assert d.crs == parcels.crs
    assert d.geometry.iloc[0].area == pytest.approx(20_000)  # two adjacent 100 m squares


def test_demand_estimates_missing_households_and_keeps_unlabelled_parcels():
    parcels = _parcels([("a", "U1", "demolish", 10, 0), ("b", None, "demolish", 4, 500)]).astype(
        {"households": "float64"}
    )
    parcels.loc[0, "households"] = np.nan
    parcels["floor_area"] = [1000.0, 400.0]
    d = resettlement_demand(parcels, by="zone_id", cash_share=0.0)
    # 1 000 m² / 100 m² per household = 10 estimated; the unlabelled parcel is its own unit
    assert dict(zip(d["unit_id"], d["households"], strict=True)) == {"U1": 10, "b": 4}
    assert d["estimated_parcels"].sum() == 1
    assert "estimated" in d.attrs["notes"][0]


def test_demand_refusals():
    parcels = _parcels([("a", "U1", "demolish", 10, 0)])
    with pytest.raises(InputError, match="cash_share"):
        resettlement_demand(parcels, cash_share=1.5)
    with pytest.raises(SchemaError, match="street"):
        resettlement_demand(parcels, by="street")
    with pytest.raises(SchemaError, match="category"):
        resettlement_demand(parcels.drop(columns="category"))


# --------------------------------------------------------------------------- allocation

BIG = 50_000.0  # nearby_dist that makes every site nearby (no 50 % warning)


def test_known_optimum_split_versus_keep_together():
    # A (60 flats) at 0 m, B (60) at 1 000 m; S1 (100 flats) at 400 m, S2 (100) at 3 000 m.
    parcels = _parcels([("a", "A", "demolish", 60, 0), ("b", "B", "demolish", 60, 1000)])
    sites = _sites([("S1", 400, 100), ("S2", 3000, 100)])
    split = plan_resettlement(
        parcels, sites=sites, cash_share=0.0, keep_together=False, nearby_dist=BIG
    )
    # by hand: A→S1 60 (400 m), B→S1 40 (600 m), B→S2 20 (2 000 m) = 88 000 household·m
    assert _alloc(split) == {("A", "S1"): 60, ("B", "S1"): 40, ("B", "S2"): 20}
    assert split.solver["objective"] == pytest.approx(88.0)
    assert split.solver["method"] == "lp"
    together = plan_resettlement(parcels, sites=sites, cash_share=0.0, nearby_dist=BIG)
    # by hand: A→S1, B→S2 = 60·400 + 60·2 000 = 144 000 (the other way: 216 000)
    assert _alloc(together) == {("A", "S1"): 60, ("B", "S2"): 60}
    assert together.solver["objective"] == pytest.approx(144.0)
    assert together.solver["method"] == "milp"
    assert together.solver["mip_gap"] is not None
    assert together.solver["bound_gap"] == pytest.approx((144 - 88) / 144)
    assert together.rates["kept_together"].all()
    assert together.summary["units_split"] == 0
    assert split.summary["units_split"] == 1
    # flows carry the allocation for the map, in the input CRS
    f = together.flows
    assert f.crs == parcels.crs
    assert f["households"].sum() == 120
    assert set(f.columns) >= {"unit_id", "site_id", "households", "dist_m", "geometry"}
    assert (f.geom_type == "LineString").all()
    assert f["dist_m"].tolist() == pytest.approx(
        [shapely.length(g) for g in f.geometry.to_numpy()]
    )
    s = together.sites.set_index("site_id")
    assert s.loc["S1", "allocated_households"] == 60
    assert s.loc["S1", "utilisation"] == pytest.approx(0.6)


def test_keep_together_infeasible_falls_back_to_split_and_reports_unmet():
    # one site of 100 flats for two units of 60: A whole (nearer), B 40 split, 20 unmet
    parcels = _parcels([("a", "A", "demolish", 60, 0), ("b", "B", "demolish", 60, 1000)])
    sites = _sites([("S1", 400, 100)])
    plan = plan_resettlement(parcels, sites=sites, cash_share=0.0, nearby_dist=BIG, lang="en")
    assert _alloc(plan) == {("A", "S1"): 60, ("B", "S1"): 40}
    assert plan.solver["fallback"]
    assert any("kept whole" in n and "B" in n for n in plan.notes)
    u = plan.unmet.set_index("unit_id")
    assert u.index.tolist() == ["B"]
    assert u.loc["B", "unmet"] == 20
    assert u.loc["B", "reason"] == "no_capacity"
    assert u.loc["B", "reason_text"] == REASONS["no_capacity"][1]
    assert plan.summary["unmet_households"] == 20
    assert plan.summary["coverage"] == pytest.approx(100 / 120)
    assert plan.sites["utilisation"].iloc[0] == pytest.approx(1.0)
    zh = plan_resettlement(parcels, sites=sites, cash_share=0.0, nearby_dist=BIG, lang="zh")
    assert zh.unmet["reason_text"].iloc[0] == REASONS["no_capacity"][0]


@pytest.mark.filterwarnings("ignore:.*63号:UserWarning")
def test_conservation_on_a_random_instance():
    rng = np.random.default_rng(3)
    rows = [
        (f"p{k}", f"U{k // 3}", "demolish", int(rng.integers(0, 80)), *rng.uniform(0, 4000, 2))
        for k in range(60)
    ]
    parcels = _parcels(rows)
    sites = _sites([(f"S{j}", float(rng.uniform(0, 4000)), int(rng.integers(50, 200))) for j in
                    range(8)])  # fmt: skip
    for keep in (True, False):
        plan = plan_resettlement(
            parcels, sites=sites, keep_together=keep, max_dist=3000, nearby_dist=BIG
        )
        r = plan.rates
        assert (r["allocated"] + r["unmet"] == r["flat_households"]).all()
        assert (r["flat_households"] + r["cash_households"] == r["households"]).all()
        assert r["households"].sum() == parcels["households"].sum()
        per_unit = plan.allocation.groupby("unit_id")["households"].sum()
        assert (
            per_unit.reindex(r["unit_id"]).fillna(0).to_numpy().tolist() == r["allocated"].tolist()
        )
        assert plan.unmet["unmet"].sum() == r["unmet"].sum()
        s = plan.sites
        assert (s["allocated_households"] <= s["capacity_units"]).all()
        assert s["allocated_households"].sum() == plan.allocation["households"].sum()
        assert (plan.allocation["dist_m"] <= 3000).all()
        assert plan.flows["households"].sum() == plan.summary["allocated_households"]
        # capacity is short or not: either every site is full or every household is placed
        assert (
            plan.summary["unmet_households"] == 0
            or keep
            or (s["remaining_units"][s["units_served"] > 0] == 0).any()
        )


def test_nearby_rate_on_a_crafted_case():
    # A: 100 flats; S1 (40 flats) 1 000 m away is nearby, S2 (100) at 5 000 m is not.
    # B: 50 flats next to S3 (50). Split: A 40 nearby + 60 far → 40 %, B 100 %.
    parcels = _parcels([("a", "A", "demolish", 100, 0), ("b", "B", "demolish", 50, 0, 20_000)])
    sites = _sites([("S1", 1000, 40), ("S2", 5000, 100)])
    s3 = gpd.GeoDataFrame(
        {"site_id": ["S3"], "capacity_units": [50]}, geometry=[_sq(300, 20_000, 40)], crs=CRS
    )
    sites = pd.concat([sites, s3], ignore_index=True)
    with pytest.warns(UserWarning, match=r"63号.*\bA\b"):
        plan = plan_resettlement(
            parcels, sites=sites, cash_share=0.0, keep_together=False, nearby_dist=1500
        )
    r = plan.rates.set_index("unit_id")
    assert r.loc["A", "nearby_households"] == 40
    assert r.loc["A", "nearby_rate"] == pytest.approx(0.4)
    assert not r.loc["A", "meets_nearby_rule"]
    assert r.loc["B", "nearby_rate"] == pytest.approx(1.0)
    assert r.loc["B", "meets_nearby_rule"]
    assert plan.summary["nearby_rate"] == pytest.approx(90 / 150)
    assert plan.summary["max_nearby_rate"] == pytest.approx(90 / 150)
    assert plan.summary["units_below_nearby_rate"] == 1
    assert any("就地就近安置率" in n for n in plan.notes)
    # a wider "nearby" meets the line: no warning
    wide = plan_resettlement(
        parcels, sites=sites, cash_share=0.0, keep_together=False, nearby_dist=6000
    )
    assert wide.summary["nearby_rate"] == pytest.approx(1.0)


def test_nearby_rate_counts_on_site_and_uses_settings_default(monkeypatch):
    # the unit's own project holds a resettlement parcel 800 m away: on site, hence nearby
    parcels = _parcels([("a", "P1", "demolish", 50, 0), ("s", "P1", "resettlement_site", 0, 800)])
    monkeypatch.setattr(settings, "nearby_dist", 100.0)
    plan = plan_resettlement(parcels, demand_by="project_id", cash_share=0.0)
    assert plan.summary["nearby_dist"] == 100.0
    assert plan.allocation["on_site"].all()
    assert plan.rates["on_site_households"].iloc[0] == 50
    assert plan.summary["nearby_rate"] == pytest.approx(1.0)


def test_exclude_on_site():
    parcels = _parcels(
        [
            ("a", "P1", "demolish", 50, 0),
            ("s1", "P1", "resettlement_site", 0, 200),
            ("b", "P2", "demolish", 30, 3000),
            ("s2", "P2", "resettlement_site", 0, 2000),
        ]
    )
    kw = {"demand_by": "project_id", "cash_share": 0.0, "nearby_dist": BIG}
    plan = plan_resettlement(parcels, **kw)
    assert _alloc(plan) == {("P1", "s1"): 50, ("P2", "s2"): 30}
    assert plan.allocation["on_site"].all()
    excl = plan_resettlement(parcels, exclude_on_site=True, **kw)
    assert _alloc(excl) == {("P1", "s2"): 50, ("P2", "s1"): 30}
    assert not excl.allocation["on_site"].any()
    assert excl.summary["exclude_on_site"]
    # only the own site within reach → unmet with that reason
    with pytest.warns(UserWarning, match="63号"):
        only = plan_resettlement(parcels, exclude_on_site=True, max_dist=500, **kw)
    u = only.unmet.set_index("unit_id")
    assert u.loc["P1", "reason"] == "own_site_excluded"
    assert u.loc["P1", "unmet"] == 50


def test_max_dist_forbids_far_pairs():
    parcels = _parcels([("a", "A", "demolish", 20, 0), ("b", "B", "demolish", 20, 10_000)])
    sites = _sites([("S1", 1500, 100), ("S2", 3000, 100)])
    with pytest.warns(UserWarning, match=r"63号.*[:：] ?B[;；]"):
        plan = plan_resettlement(
            parcels, sites=sites, cash_share=0.0, max_dist=2000, nearby_dist=BIG
        )
    assert _alloc(plan) == {("A", "S1"): 20}
    u = plan.unmet.set_index("unit_id")
    assert u.loc["B", "reason"] == "beyond_max_dist"
    assert u.loc["B", "unmet"] == 20
    # without the limit B goes to the nearer S2 (7 000 m)
    free = plan_resettlement(parcels, sites=sites, cash_share=0.0, nearby_dist=BIG)
    assert _alloc(free) == {("A", "S1"): 20, ("B", "S2"): 20}
    assert free.unmet.empty


def test_sites_from_classification_equal_a_sites_layer():
    parcels = _parcels(
        [
            ("a", "A", "demolish", 80, 0),
            ("b", "B", "demolish", 40, 2000),
            ("r1", None, "resettlement_site", 0, 600),
            ("r2", None, "resettlement_site", 0, 1500),
        ]
    )
    from_cls = plan_resettlement(parcels, nearby_dist=BIG)
    rs = parcels[parcels["category"] == "resettlement_site"]
    layer = gpd.GeoDataFrame({"site_id": ["r1", "r2"]}, geometry=rs.geometry.to_numpy(), crs=CRS)
    from_layer = plan_resettlement(parcels, sites=layer, nearby_dist=BIG)
    assert _alloc(from_cls) == _alloc(from_layer)
    assert from_cls.sites["capacity_units"].tolist() == [200, 200]
    assert from_cls.sites["site_id"].tolist() == ["r1", "r2"]
    # 30 % cash: 56 + 28 flats
    assert from_cls.summary["flat_households"] == 84


def test_unsuitable_sites_get_no_households():
    parcels = _parcels([("a", "A", "demolish", 10, 0)])
    sites = gpd.GeoDataFrame(
        {"site_id": ["tiny", "big"]},
        geometry=[_sq(100, half=20), _sq(900, half=50)],
        crs=CRS,
    )
    plan = plan_resettlement(parcels, sites=sites, nearby_dist=BIG)
    assert _alloc(plan) == {("A", "big"): 7}
    s = plan.sites.set_index("site_id")
    assert not s.loc["tiny", "usable"]
    assert not s.loc["tiny", "ok_size"]
    assert s.loc["tiny", "allocated_households"] == 0
    anyway = plan_resettlement(parcels, sites=sites, nearby_dist=BIG, only_suitable=False)
    assert _alloc(anyway) == {("A", "tiny"): 7}


def test_no_sites_at_all():
    parcels = _parcels([("a", "A", "demolish", 10, 0)])
    with pytest.warns(UserWarning, match="63号"):
        plan = plan_resettlement(parcels, cash_share=0.0, nearby_dist=BIG, lang="en")
    assert plan.allocation.empty
    assert plan.flows.empty
    assert plan.unmet["reason"].tolist() == ["no_sites"]
    assert plan.summary["unmet_households"] == 10


def test_plan_refusals():
    parcels = _parcels([("a", "A", "demolish", 10, 0)])
    sites = _sites([("S", 100, 10), ("S", 200, 10)])
    with pytest.raises(InputError, match="unique"):
        plan_resettlement(parcels, sites=sites)
    with pytest.raises(CRSError, match="CRS mismatch"):
        plan_resettlement(parcels, sites=_sites([("S", 100, 10)]).to_crs(4326))
    with pytest.raises(InputError, match="max_dist"):
        plan_resettlement(parcels, max_dist=-5)
    with pytest.raises(InputError, match="lang"):
        plan_resettlement(parcels, lang="fr")


# --------------------------------------------------------------------------- suitability


def test_suitability_size_and_capacity_without_layers():
    sites = gpd.GeoDataFrame(
        {"site_id": ["S1", "S2"]}, geometry=[_sq(0, half=50), _sq(500, half=20)], crs=CRS
    )
    suit = site_suitability(sites, min_area=5000, lang="en")
    assert suit["ok_size"].tolist() == [True, False]
    assert suit["ok_heritage"].isna().all()  # no layer given: not checked
    assert suit["suitable"].tolist() == [True, False]
    assert suit["capacity_units"].tolist() == [200, int(1600 * 2.5 * 0.72 / 90)]
    assert "not checked" in suit["checks"].iloc[0]
    assert suit.index.equals(sites.index)
    assert "ok_size" not in sites.columns  # input untouched
    zh = site_suitability(sites, lang="zh")
    assert "未检查" in zh["checks"].iloc[0]


def test_rebuild_ratio_where_planned_floor_area_is_known():
    parcels = _parcels(
        [
            ("a", "A", "demolish", 10, 0),
            ("b", "B", "demolish", 10, 300),
            ("c", "C", "demolish", 10, 600),
            ("s", None, "resettlement_site", 0, 900),
        ]
    )
    parcels["floor_area"] = [1000.0, 1000.0, 1000.0, 0.0]
    parcels["planned_floor_area"] = [2500.0, 1500.0, np.nan, np.nan]
    plan = plan_resettlement(parcels, nearby_dist=BIG)
    r = plan.rates.set_index("unit_id")
    assert r.loc["A", "rebuild_ratio"] == pytest.approx(2.5)
    assert not r.loc["A", "meets_rebuild_ratio"]
    assert r.loc["B", "meets_rebuild_ratio"]
    assert np.isnan(r.loc["C", "rebuild_ratio"])
    assert pd.isna(r.loc["C", "meets_rebuild_ratio"])
    assert plan.summary["rebuild_ratio"] == pytest.approx(4000 / 2000)
    assert any("拆建比" in n and "A" in n for n in plan.notes)


def test_suitability_with_layers_raster_and_distances(tmp_path):
    import rasterio
    from rasterio.transform import Affine

    # three 100 m sites at x = 0, 300, 600; heritage over the first, the ecological belt
    # over half of the second, 1.2 m of water under half the third; a river 80 m north of all
    sites = gpd.GeoDataFrame(
        {"site_id": ["S1", "S2", "S3"]},
        geometry=[_sq(0), _sq(300), _sq(600)],
        crs=CRS,
    )
    heritage = gpd.GeoDataFrame(geometry=[_sq(0, half=20)], crs=CRS)
    eco = gpd.GeoDataFrame(
        geometry=[shapely.box(X0 + 300, Y0 - 100, X0 + 400, Y0 + 100)], crs=CRS
    ).to_crs(4326)  # another CRS: reprojected, as in geo_renewal.spatial
    river = gpd.GeoDataFrame(
        geometry=[shapely.LineString([(X0 - 100, Y0 + 130), (X0 + 700, Y0 + 130)])], crs=CRS
    )
    depth = np.zeros((30, 90), dtype="float32")
    depth[:, 70:] = 1.2  # x ≥ X0 + 600: the east half of S3
    tif = tmp_path / "flood.tif"
    with rasterio.open(
        tif, "w", driver="GTiff", width=90, height=30, count=1, dtype="float32", crs=CRS,
        transform=Affine(10.0, 0.0, X0 - 100, 0.0, -10.0, Y0 + 150),
    ) as dst:  # fmt: skip
        dst.write(depth, 1)
    suit = site_suitability(
        sites,
        layers={"heritage_core": heritage, "eco_belt": eco, "river": river},
        rasters={"flood_depth": str(tif)},
        min_dist={"river": 50},
        lang="en",
    )
    assert suit["heritage_share"].tolist() == pytest.approx([0.16, 0, 0])
    assert suit["ecology_share"].tolist() == pytest.approx([0, 0.5, 0], abs=1e-6)
    assert suit["flood_depth_max"].tolist() == pytest.approx([0, 0, 1.2])
    assert suit["flood_share"].tolist() == pytest.approx([0, 0, 0.5])
    assert suit["dist_river"].tolist() == pytest.approx([80, 80, 80])
    assert suit["ok_heritage"].tolist() == [False, True, True]
    assert suit["ok_ecology"].tolist() == [True, False, True]
    assert suit["ok_flood"].tolist() == [True, True, False]
    assert suit["ok_distance"].tolist() == [True, True, True]
    assert not suit["suitable"].any()
    assert "✗ flood depth deeper than 0.5 m: 50 % > 5 % (max 1.20 m)" in suit["checks"].iloc[2]
    assert "✗ heritage zone 16 % ≥ 1 %" in suit["checks"].iloc[0]
    lenient = site_suitability(
        sites, rasters={"flood_depth": str(tif)}, max_flood_share=0.6, max_flood_depth=1.0
    )
    assert lenient["ok_flood"].all()
    assert "✓ distance to river 80 m ≥ 50 m" in suit["checks"].iloc[0]
    stricter = site_suitability(sites, layers={"river": river}, min_dist={"river": 100})
    assert not stricter["ok_distance"].any()
    with pytest.raises(InputError, match="min_dist"):
        site_suitability(sites, min_dist={"road": 10})


# --------------------------------------------------------------------------- sample district


@pytest.fixture
def sample_classified(sample_classified, sample_layers, sample_flood):
    """(classified, layers, rasters) of the session's sample district (tests/conftest.py).

    Overrides the conftest fixture of the same name for this module; shared, do not modify.
    """
    return sample_classified, sample_layers, {"flood_depth": sample_flood}


def test_sample_district_plan_makes_sense(sample_classified):
    from geo_renewal.crs import area

    classified, layers, rasters = sample_classified
    demolish = classified["category"] == "demolish"
    hh = int(classified.loc[demolish, "households"].sum())
    site_parcels = classified[classified["category"] == "resettlement_site"]
    # independent capacity: floor(area × 2.5 × 0.9 × 0.8 / 90) per site
    expected_cap = int(np.floor(area(site_parcels).to_numpy() * 2.5 * 0.72 / 90 + 1e-9).sum())
    with pytest.warns(UserWarning, match="63号"):
        plan = plan_resettlement(classified, layers=layers, rasters=rasters, lang="en")
    s = plan.summary
    assert s["households"] == hh > 1000
    assert s["flat_households"] == round(hh * 0.7)
    assert s["cash_households"] == hh - s["flat_households"]
    # the default rules and the default suitability checks agree on the sites
    assert s["sites"] == s["sites_usable"] == len(site_parcels) > 0
    assert s["capacity_units"] == expected_cap
    assert s["coverage"] == pytest.approx(expected_cap / s["flat_households"])
    placed = min(s["flat_households"], expected_cap)
    assert s["allocated_households"] + s["unmet_households"] == s["flat_households"]
    assert s["allocated_households"] >= placed - plan.rates["flat_households"].max()
    r = plan.rates
    assert (r["allocated"] + r["unmet"] == r["flat_households"]).all()
    assert r["households"].sum() == hh
    util = plan.sites["utilisation"]
    assert ((util >= 0) & (util <= 1)).all()
    assert 0 <= s["nearby_rate"] <= s["max_nearby_rate"] <= 1
    assert plan.flows.crs == classified.crs
    assert plan.flows["households"].sum() == s["allocated_households"]
    # zones were computed from the classification: ids of demolition zones
    assert r["unit_id"].str.startswith("demolish-").all()
    # splitting never costs more distance and never places fewer households
    with pytest.warns(UserWarning, match="63号"):
        split = plan_resettlement(
            classified, layers=layers, rasters=rasters, keep_together=False, lang="en"
        )
    assert split.solver["objective"] <= plan.solver["objective"] + 1e-6
    assert split.summary["allocated_households"] >= s["allocated_households"]


# --------------------------------------------------------------------------- CLI


def test_cli_resettle_writes_layers_and_table(tmp_path):
    from click.testing import CliRunner

    import pyogrio

    from geo_renewal.cli import cli

    parcels = _parcels(
        [
            ("a", "A", "demolish", 60, 0),
            ("b", "B", "demolish", 60, 1000),
            ("s1", None, "resettlement_site", 0, 400),
            ("s2", None, "resettlement_site", 0, 3000),
        ]
    )
    src = tmp_path / "classified.gpkg"
    parcels.to_file(src, layer="parcels")
    out = tmp_path / "plan.gpkg"
    result = CliRunner().invoke(
        cli,
        ["resettle", str(src), "--split", "--cash-share", "0", "--lang", "en", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "nearby rate" in result.output
    assert "allocated           120 households" in result.output
    layers = dict(pyogrio.list_layers(out))
    assert layers == {"sites": "Polygon", "flows": "LineString", "units": "Polygon"}
    flows = gpd.read_file(out, layer="flows")
    assert flows["households"].sum() == 120
    units = gpd.read_file(out, layer="units")
    assert set(units["unit_id"]) == {"A", "B"}
    assert (units["allocated"] + units["unmet"] == units["flat_households"]).all()
    table = pd.read_csv(tmp_path / "plan_allocation.csv", encoding="utf-8-sig")
    assert table.iloc[:, 2].sum() == 120
    bad = CliRunner().invoke(cli, ["resettle", str(src), "--out", str(tmp_path / "x.shp")])
    assert bad.exit_code != 0
    assert ".gpkg" in bad.output


def test_oversized_unit_is_split_inside_the_model():
    # A (150 flats) fits no site whole; B (40) does. Splitting A inside the model sends B to
    # the far site: B→S2 40·2 000 + A→S1 100·400 + A→S2 50·3 000 = 270 000 household·m,
    # whereas B→S1 first (nearest) would force A: 60·400 + 90·3 000 + B 40·600 = 318 000.
    parcels = _parcels([("a", "A", "demolish", 150, 0), ("b", "B", "demolish", 40, 1000)])
    sites = _sites([("S1", 400, 100), ("S2", 3000, 100)])
    plan = plan_resettlement(parcels, sites=sites, cash_share=0.0, nearby_dist=BIG, lang="en")
    assert _alloc(plan) == {("A", "S1"): 100, ("A", "S2"): 50, ("B", "S2"): 40}
    assert plan.solver["objective"] == pytest.approx(270.0)
    assert any("cannot be kept whole" in n and "A" in n for n in plan.notes)
    r = plan.rates.set_index("unit_id")
    assert r.loc["B", "kept_together"]
    assert not r.loc["A", "kept_together"]
    assert r.loc["A", "n_sites"] == 2


# --------------------------------------------------------------------------- solver extra


def test_plan_without_scipy_names_the_extra_before_any_work(monkeypatch):
    import sys

    from geo_renewal import resettlement

    def counted(*args, **kwargs):
        msg = "demand was counted before the solver check"
        raise AssertionError(msg)

    monkeypatch.setattr(resettlement, "resettlement_demand", counted)
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    parcels = _parcels([("a", "A", "demolish", 10, 0), ("s", None, "resettlement_site", 0, 500)])
    with pytest.raises(ImportError, match=r'pip install "geo_renewal\[solver\]"') as err:
        plan_resettlement(parcels)
    assert not isinstance(err.value, ModuleNotFoundError)  # ours, not the raw one
    assert "resettlement" in str(err.value)


# --------------------------------------------------------------------------- write, summary


def _two_unit_plan():
    parcels = _parcels([("a", "A", "demolish", 60, 0), ("b", "B", "demolish", 60, 1000)])
    sites = _sites([("S1", 400, 100), ("S2", 3000, 100)])
    return plan_resettlement(parcels, sites=sites, cash_share=0.0, nearby_dist=BIG, lang="en")


def test_write_round_trip(tmp_path):
    import pyogrio

    plan = _two_unit_plan()
    files = plan.write(tmp_path / "out" / "plan.gpkg", lang="en")
    assert files == {
        "layers": tmp_path / "out" / "plan.gpkg",
        "allocation": tmp_path / "out" / "plan_allocation.csv",
    }
    layers = dict(pyogrio.list_layers(files["layers"]))
    assert layers == {"sites": "Polygon", "flows": "LineString", "units": "Polygon"}
    sites = gpd.read_file(files["layers"], layer="sites")
    assert sites["site_id"].tolist() == plan.sites["site_id"].tolist()
    assert sites["allocated_households"].tolist() == [60, 60]
    assert sites["capacity_units"].tolist() == plan.sites["capacity_units"].tolist()
    assert sites.crs == plan.sites.crs
    assert sites.geometry.geom_equals_exact(plan.sites.geometry.reset_index(drop=True), 1e-6).all()
    flows = gpd.read_file(files["layers"], layer="flows")
    cols = ["unit_id", "site_id", "households", "dist_m"]
    assert flows[cols].to_numpy().tolist() == plan.flows[cols].to_numpy().tolist()
    units = gpd.read_file(files["layers"], layer="units")
    assert units["unit_id"].tolist() == ["A", "B"]
    assert units["allocated"].tolist() == plan.rates["allocated"].tolist()
    assert units["nearby_rate"].tolist() == pytest.approx(plan.rates["nearby_rate"].tolist())
    assert units["reason"].isna().all()  # nothing unmet
    table = pd.read_csv(files["allocation"], encoding="utf-8-sig")
    assert table.columns.tolist()[:3] == ["Unit ID", "Site ID", "Households"]
    assert table.iloc[:, :3].to_numpy().tolist() == plan.allocation.iloc[:, :3].to_numpy().tolist()
    zh = plan.write(tmp_path / "zh.gpkg", lang="zh")
    assert pd.read_csv(zh["allocation"], encoding="utf-8-sig").columns[2] == "户数（户）"


def test_write_keeps_other_layers_and_is_all_or_nothing(tmp_path, monkeypatch):
    import pyogrio

    from geo_renewal import resettlement

    plan = _two_unit_plan()
    path = tmp_path / "plan.gpkg"
    plan.sites[["site_id", "geometry"]].to_file(path, layer="candidates")
    plan.write(path)
    assert set(pyogrio.list_layers(path)[:, 0]) == {"candidates", "sites", "flows", "units"}

    # a failure midway (the CSV) leaves both earlier files as they were, and no temp file
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken(*args, **kwargs):
        msg = "disk full"
        raise OSError(msg)

    monkeypatch.setattr(resettlement, "write_table", broken)
    later = _two_unit_plan()
    later.sites["allocated_households"] = 0
    with pytest.raises(OSError, match="disk full"):
        later.write(path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    with pytest.raises(InputError, match=r"\.gpkg"):
        plan.write(tmp_path / "plan.shp")


def test_summary_text_lines_and_notes():
    plan = _two_unit_plan()
    lines = plan.summary_text().splitlines()
    assert lines[0] == "demand units        2"
    assert lines[1] == "households          120 (cash 0, flats 120)"
    assert lines[2] == "sites               2 (2 usable), capacity 200 flats, coverage 167%"
    assert lines[3] == "allocated           120 households, sites used 2, unmet 0"
    assert lines[4] == "mean distance       1,200 m"  # (60·400 + 60·2 000) / 120
    assert lines[5].startswith("nearby rate         100.0% (≤ 50000 m or on site;")
    assert lines[6].startswith("solver              milp, status 0, MIP gap ")
    assert lines[7:] == [f"note: {n}" for n in plan.notes]
    assert len(plan.notes) > 0


# --------------------------------------------------------------------------- no dissolve


def test_unit_centroids_without_dissolve_equal_the_union_centroid():
    # an L of three touching squares and a lone square: the area-weighted centroid of the
    # parcels is the centroid of their union (hand-computed: (x0 + 100/3, y0 + 100/3))
    parcels = _parcels(
        [
            ("a", "U1", "demolish", 30, 0, 0),
            ("b", "U1", "demolish", 30, 100, 0),
            ("c", "U1", "demolish", 30, 0, 100),
            ("d", "U2", "demolish", 9, 3000, 0),
        ]
    )
    from geo_renewal.demand import _count_demand

    d = _count_demand(parcels, by="project_id")
    x, y = d.centroids(CRS)
    assert x[0] == pytest.approx(X0 + 100 / 3)
    assert y[0] == pytest.approx(Y0 + 100 / 3)
    assert (x[1], y[1]) == pytest.approx((X0 + 3000, Y0))
    union = resettlement_demand(parcels, by="project_id").geometry
    assert shapely.get_x(union.centroid).tolist() == pytest.approx(list(x))
    sites = _sites([("S1", 200, 100), ("S2", 2800, 100)])
    plan = plan_resettlement(parcels, sites=sites, demand_by="project_id", cash_share=0.0)
    by_pair = plan.allocation.set_index(["unit_id", "site_id"])["dist_m"]
    s1 = shapely.point_on_surface(sites.geometry.iloc[0])
    assert by_pair[("U1", "S1")] == round(np.hypot(s1.x - x[0], s1.y - y[0]), 1)


def test_plan_dissolves_unit_polygons_only_when_read(tmp_path):
    parcels = _parcels(
        [
            ("a", "U1", "demolish", 10, 0),
            ("b", "U1", "demolish", 10, 100),
            ("s", None, "resettlement_site", 0, 500),
        ]
    )
    plan = plan_resettlement(parcels, demand_by="project_id", cash_share=0.0, lang="en")
    from geo_renewal.resettlement import _Pending

    assert isinstance(plan.__dict__["_demand_value"], _Pending)  # nothing dissolved yet
    assert plan.demand.geometry.iloc[0].area == pytest.approx(20_000)
    assert plan.demand.geometry.iloc[0].geom_type == "Polygon"  # the two squares merged
    assert not isinstance(plan.__dict__["_demand_value"], _Pending)
    files = plan.write(tmp_path / "plan.gpkg", lang="en")
    units = gpd.read_file(files["layers"], layer="units")
    assert units["households"].tolist() == [20]
    assert units.area.iloc[0] == pytest.approx(20_000)


@pytest.mark.parametrize(
    ("shapes", "area"),
    [
        ([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)], 200.0),  # a coverage
        ([shapely.box(0, 0, 10, 10), shapely.box(5, 0, 15, 10)], 150.0),  # overlap
        ([shapely.box(0, 0, 10, 10), shapely.box(2, 2, 4, 4)], 100.0),  # inside another
        ([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 5)], 150.0),  # T-junction
        ([shapely.box(0, 0, 10, 10)] * 2, 100.0),  # duplicate
        ([shapely.box(0, 0, 1, 1), shapely.box(5, 5, 6, 6)], 2.0),  # disjoint
        ([shapely.box(0, 0, 1, 1), shapely.Polygon(), shapely.box(5, 5, 6, 6)], 2.0),  # empty
        ([shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(3, 0, 4, 1)])] * 2, 2.0),
    ],
)
def test_unit_polygon_is_the_exact_union_whatever_the_parcels(shapes, area):
    from geo_renewal.demand import _union_by

    geoms = np.array(shapes, dtype=object)
    got = _union_by(geoms, np.zeros(len(geoms), dtype=int), 1)[0]
    assert got.is_valid
    assert got.area == pytest.approx(area)
    assert got.equals(shapely.union_all(geoms))
