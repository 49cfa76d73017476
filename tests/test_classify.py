from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import geopandas as gpd
import shapely
from shapely import LineString, box

import geo_renewal.spatial as spatial_mod
from geo_renewal import InputError, RuleError
from geo_renewal.classify import (
    OUTPUT_COLUMNS,
    aggregate_buildings,
    classify_parcels,
    zone_labels,
    zones_from_parcels,
)
from geo_renewal.rules import load_rules, parse_rules
from geo_renewal.schema import CATEGORIES

X0, Y0 = 500_000.0, 4_063_000.0


def _rules(*rules, **top):
    out = []
    for r in rules:
        r = dict(r)
        r.setdefault("reason_zh", f"理由{r['id']}")
        r.setdefault("reason_en", f"reason {r['id']}")
        out.append(r)
    return parse_rules({"rules": out, **top})


# ------------------------------------------------------------------ semantics


def test_first_match_force_and_default(grid_parcels):
    rules = _rules(
        {"id": "danger", "category": "demolish", "when": "danger_grade in ['C', 'D']"},
        {"id": "old", "category": "retain_upgrade", "when": "build_year <= 1985"},
        {
            "id": "west",
            "category": "retain_protect",
            "when": "street == '东关街道'",
            "force": True,
        },
        {"id": "industry", "category": "demolish", "when": "land_use == 'industrial'"},
    )
    before = grid_parcels.copy()
    out = classify_parcels(grid_parcels, rules)
    pd.testing.assert_frame_equal(pd.DataFrame(grid_parcels), pd.DataFrame(before))  # no mutation
    assert list(out.columns) == [*grid_parcels.columns, *OUTPUT_COLUMNS]
    assert out.index.equals(grid_parcels.index)
    assert out.crs == grid_parcels.crs
    assert list(out["category"].cat.categories) == [
        "demolish",
        "retain_upgrade",
        "retain_protect",
        "unchanged",
    ]
    by_id = out.set_index("parcel_id")
    # forced rule beats the earlier danger rule
    assert by_id.loc["P00", ["category", "rule_id"]].tolist() == ["retain_protect", "west"]
    assert by_id.loc["P00", "matched"] == "danger;old;west"
    # first match among non-forced rules
    assert by_id.loc["P02", ["category", "rule_id"]].tolist() == ["demolish", "danger"]
    assert by_id.loc["P12", "matched"] == "danger;old"
    # P24: grade A industrial built 1984 → old comes first; P34 (built 1994) → industry
    assert by_id.loc["P24", ["rule_id", "matched"]].tolist() == ["old", "old;industry"]
    assert by_id.loc["P34", "rule_id"] == "industry"
    # nothing matches → default (P32: residential, 1992, grade A, 西关街道)
    p32 = by_id.loc["P32"]
    assert (p32["category"], p32["rule_id"], p32["matched"]) == ("unchanged", "default", "")
    assert p32["reason"] == rules.default_reason()
    assert by_id.loc["P02", "reason"] == "理由danger"
    en = classify_parcels(grid_parcels, load_rules(rules, lang="en"))
    assert en.set_index("parcel_id").loc["P02", "reason"] == "reason danger"


def test_missing_columns_layers_and_rasters_reported_at_once(grid_parcels):
    rules = _rules(
        {"id": "a", "category": "demolish", "when": "flors > 2"},
        {"id": "b", "category": "retain_protect", "when": "intersects('heritage_core')"},
        {"id": "c", "category": "unchanged", "when": "raster_max('flood_depth') > 1"},
    )
    with pytest.raises(RuleError) as info:
        classify_parcels(grid_parcels, rules, layers={"heritage": grid_parcels})
    text = str(info.value)
    assert "unknown column `flors`" in text
    assert "did you mean `floors`?" in text
    assert "need the layer 'heritage_core'" in text
    assert "--constraint heritage_core=PATH" in text
    assert "given: ['heritage']" in text
    assert "need the raster 'flood_depth'" in text
    assert "--raster flood_depth=PATH" in text


def test_spatial_functions_run_once_per_layer(grid_parcels, monkeypatch):
    calls = []
    real = spatial_mod._share_in

    def counting(index, geoms, name, rows=None):
        calls.append((name, None if rows is None else int(rows.sum())))
        return real(index, geoms, name, rows)

    monkeypatch.setattr(spatial_mod, "_share_in", counting)
    zone = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 150, Y0 + 150)], crs="EPSG:4548")
    rules = _rules(
        {"id": "a", "category": "demolish", "when": "share_in('z') > 0.9"},
        {"id": "b", "category": "retain_upgrade", "when": "share_in('z') > 0 and floors > 1"},
        {"id": "c", "category": "retain_protect", "when": "not (share_in('z') < 0.2)"},
    )
    out = classify_parcels(grid_parcels, rules, layers={"z": zone})
    assert calls == [("z", None)]  # rule c needs every parcel
    by_id = out.set_index("parcel_id")
    assert by_id.loc["P00", "rule_id"] == "a"  # wholly inside
    assert by_id.loc["P01", "matched"] == "b;c"  # 40 % inside, 2 floors
    assert by_id.loc["P10", "matched"] == "b;c"


def test_spatial_values_only_where_cheap_conditions_hold(grid_parcels, monkeypatch):
    calls = []
    real = spatial_mod._share_in

    def counting(index, geoms, name, rows=None):
        calls.append(None if rows is None else rows.copy())
        return real(index, geoms, name, rows)

    monkeypatch.setattr(spatial_mod, "_share_in", counting)
    zone = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 500, Y0 + 150)], crs="EPSG:4548")
    rules = _rules(
        {"id": "a", "category": "demolish", "when": "share_in('z') > 0.5 and floors >= 5"},
        {
            "id": "b",
            "category": "retain_upgrade",
            "when": "land_use == 'industrial' and share_in('z') > 0",
        },
    )
    out = classify_parcels(grid_parcels, rules, layers={"z": zone})
    (rows,) = calls
    expected = (grid_parcels["floors"] >= 5) | (grid_parcels["land_use"] == "industrial")
    assert rows.tolist() == expected.tolist()
    full = classify_parcels(
        grid_parcels,
        _rules(
            {
                "id": "a",
                "category": "demolish",
                "when": "share_in('z') > 0.5 and floors >= 5 or False",
            },
            {
                "id": "b",
                "category": "retain_upgrade",
                "when": "share_in('z') > 0 and land_use == 'industrial' or False",
            },
        ),
        layers={"z": zone},
    )
    assert calls[1] is None
    assert out["matched"].tolist() == full["matched"].tolist()
    assert set(out["rule_id"]) == {"a", "b", "default"}


def test_layers_as_paths_and_area_floor_area(grid_parcels, tmp_path):
    path = tmp_path / "layers.gpkg"
    river = gpd.GeoDataFrame(
        geometry=[LineString([(X0 - 100, Y0 + 480), (X0 + 600, Y0 + 480)])], crs="EPSG:4548"
    )
    river.to_file(path, layer="river")
    parcels = grid_parcels.drop(columns="floor_area").assign(footprint_area=500.0)
    parcels.loc[0, "footprint_area"] = np.nan
    rules = _rules(
        {"id": "near", "category": "demolish", "when": "distance_to('river') < 50"},
        {"id": "big", "category": "retain_upgrade", "when": "floor_area >= 2500 and area > 9999"},
    )
    out = classify_parcels(parcels, rules, layers={"river": str(path)}).set_index("parcel_id")
    # top row (y from Y0 + 330 to Y0 + 430) is 50 m from the river: not < 50
    assert (out["rule_id"] == "near").sum() == 0
    # floor_area = footprint 500 × floors (1 + i + j) ≥ 2500 ⇔ floors ≥ 5
    assert out.loc["P04", "rule_id"] == "big"
    assert out.loc["P03", "rule_id"] == "default"
    assert out.loc["P00", "rule_id"] == "default"  # footprint unknown → null → False
    rules2 = _rules({"id": "near", "category": "demolish", "when": "distance_to('river') <= 50"})
    near = classify_parcels(parcels, rules2, layers={"river": river})
    assert (near["rule_id"] == "near").sum() == 5


def test_crs_mismatch_reprojected_with_note(grid_parcels, caplog):
    core = gpd.GeoDataFrame(geometry=[box(X0 + 20, Y0 + 20, X0 + 60, Y0 + 60)], crs="EPSG:4548")
    rules = _rules(
        {"id": "core", "category": "retain_protect", "when": "intersects('core')", "force": True}
    )
    same = classify_parcels(grid_parcels, rules, layers={"core": core})
    caplog.set_level("INFO", logger="geo_renewal")
    other = classify_parcels(grid_parcels, rules, layers={"core": core.to_crs(4490)})
    assert "reprojecting" in caplog.text
    assert other["rule_id"].tolist() == same["rule_id"].tolist()
    assert (same["rule_id"] == "core").sum() == 1


def test_raster_rule(grid_parcels, tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    data = np.zeros((45, 55), dtype="float32")
    data[:, :11] = 1.0  # the western column of parcels (x < X0 + 110) is flooded
    tif = tmp_path / "flood.tif"
    with rasterio.open(
        tif,
        "w",
        driver="GTiff",
        width=55,
        height=45,
        count=1,
        dtype="float32",
        crs="EPSG:4548",
        transform=from_origin(X0, Y0 + 450, 10, 10),
    ) as dst:
        dst.write(data, 1)
    rules = _rules(
        {
            "id": "wet",
            "category": "demolish",
            "when": "raster_share_above('flood', 0.5) > 0.9 and raster_max('flood') >= 1",
        },
        {"id": "dry", "category": "retain_upgrade", "when": "raster_mean('flood') == 0"},
    )
    out = classify_parcels(grid_parcels, rules, rasters={"flood": tif})
    assert out.loc[out["parcel_id"].str.endswith("0"), "rule_id"].eq("wet").all()
    assert out.loc[~out["parcel_id"].str.endswith("0"), "rule_id"].eq("dry").all()


def test_empty_parcels(grid_parcels):
    rules = _rules({"id": "a", "category": "demolish", "when": "floors > 1 and area > 0"})
    out = classify_parcels(grid_parcels.iloc[:0], rules)
    assert len(out) == 0
    assert "category" in out


# ------------------------------------------------------------------ buildings


def test_buildings_aggregated_by_largest_overlap(grid_parcels):
    buildings = gpd.GeoDataFrame(
        {
            "building_id": ["B1", "B2", "B3", "B4"],
            "households": [5, 7, 11, 2],
            "population": [10, 20, 30, 4],
            "floors": [2, 3, 6, 1],
            "floor_area": [np.nan, 900.0, 3000.0, 50.0],
            "build_year": [1960, 1975, 1990, 2001],
            "structure": ["brick_wood", "brick_concrete", "frame", "simple"],
            "danger_grade": ["B", "D", "A", None],
            "listed": [False, False, True, False],
            "illegal": [False, False, False, True],
        },
        geometry=[
            box(X0 + 10, Y0 + 10, X0 + 30, Y0 + 30),  # in P00, 400 m² footprint
            box(X0 + 60, Y0 + 60, X0 + 130, Y0 + 80),  # 40 m in P00, 20 m in P01 → P00
            box(X0 + 120, Y0 + 10, X0 + 180, Y0 + 40),  # in P01
            box(X0 + 105, Y0 + 10, X0 + 108, Y0 + 12),  # on the road between P00 and P01
        ],
        crs="EPSG:4548",
    )
    with pytest.warns(UserWarning, match=r"1 of 4 buildings overlap no parcel.*\['B4'\]"):
        agg = aggregate_buildings(buildings, grid_parcels)
    assert agg.index.equals(grid_parcels.index)
    p00, p01, p02 = agg.iloc[0], agg.iloc[1], agg.iloc[2]
    assert (p00["n_buildings"], p01["n_buildings"], p02["n_buildings"]) == (2, 1, 0)
    assert p00["households"] == 12
    assert p00["population"] == 30
    assert p00["floor_area"] == pytest.approx(400 * 2 + 900)  # footprint × floors filled in
    assert p00["build_year"] == 1960
    assert p00["danger_grade"] == "D"  # worst
    assert p00["structure"] == "brick_concrete"  # 1400 m² footprint beats 400 m²
    assert p01["listed"]
    assert not p00["listed"]
    assert p02["households"] == 0
    assert pd.isna(p02["build_year"])
    assert agg["households"].sum() == 23  # B4 not counted, warned about

    rules = _rules({"id": "danger", "category": "demolish", "when": "danger_grade == 'D'"})
    with pytest.warns(UserWarning, match="overlap no parcel"):
        out = classify_parcels(grid_parcels, rules, buildings=buildings)
    assert out["n_buildings"].tolist()[:2] == [2, 1]
    assert pd.isna(out["n_buildings"].iloc[2])  # built (households, floor area) but no footprint
    assert out["households"].tolist()[:3] == [12, 11, grid_parcels["households"].iloc[2]]
    assert out.iloc[0]["rule_id"] == "danger"  # parcel grade C replaced by the buildings' D
    assert out.iloc[1]["rule_id"] == "default"  # parcel grade D replaced by building grade A


# ------------------------------------------------------------------ zones


def test_zones_dissolve_across_roads_not_across_categories(grid_parcels):
    # columns 0-1 demolish, 2 retain_upgrade, 3-4 demolish; 10 m roads between parcels
    cat = np.where(grid_parcels["parcel_id"].str[2].isin(["2"]), "retain_upgrade", "demolish")
    classified = grid_parcels.assign(category=pd.Categorical(cat, categories=list(CATEGORIES)))
    labels = zone_labels(classified, dist=30)
    assert labels.index.equals(classified.index)
    by_id = dict(zip(classified["parcel_id"], labels, strict=True))
    assert by_id["P00"] == by_id["P31"] == "demolish-001"  # joined over 10 m roads
    assert by_id["P03"] == by_id["P34"] == "demolish-002"  # not through the other category
    assert {by_id[f"P{i}2"] for i in range(4)} == {"retain_upgrade-001"}
    # gaps of 10 m are not bridged with dist=10 (exclusive)
    assert labels.nunique() == 3
    assert zone_labels(classified, dist=10).nunique() == 20

    zones = zones_from_parcels(classified, dist=30)
    assert zones["zone_id"].tolist() == ["demolish-001", "demolish-002", "retain_upgrade-001"]
    assert zones.crs == classified.crs
    assert zones["n_parcels"].tolist() == [8, 8, 4]
    assert zones["households"].sum() == classified["households"].sum()
    assert zones["floor_area"].sum() == classified["floor_area"].sum()
    assert zones["area"].iloc[0] == pytest.approx(8 * 10_000, rel=1e-3)
    assert list(zones["category"].cat.categories) == list(CATEGORIES)
    # the dissolved geometry is the parcels, not the roads between them
    assert shapely.get_num_geometries(zones.geometry.iloc[0]) == 8


def test_zone_ids_are_stable_and_in_reading_order(grid_parcels):
    classified = grid_parcels.assign(category="demolish")
    classified.loc[classified["parcel_id"].isin(["P00", "P33"]), "category"] = "unchanged"
    a = zone_labels(classified, dist=5)
    b = zone_labels(classified.iloc[::-1], dist=5)
    assert a.to_dict() == b.to_dict()
    by_id = dict(zip(classified["parcel_id"], a, strict=True))
    assert by_id["P30"] == "demolish-001"  # north-west first
    assert by_id["P33"] == "unchanged-001"
    assert by_id["P00"] == "unchanged-002"
    with pytest.raises(InputError, match="no `category` column"):
        zone_labels(grid_parcels)


# ------------------------------------------------------------------ sample district


@pytest.fixture
def sample(sample_parcels, sample_layers, sample_flood, sample_classified):
    """The session's sample district (tests/conftest.py): shared, do not modify."""
    return sample_parcels, sample_layers, sample_flood, sample_classified


def test_sample_district_rule_by_rule(sample):
    parcels, layers, _, out = sample
    g = np.asarray(parcels.geometry.array)
    core = shapely.union_all(layers["heritage_core"].geometry.array)
    in_core = shapely.intersects(core, g)
    rid = out["rule_id"].to_numpy()
    cat = out["category"].astype(str).to_numpy()

    # every category of the rule set occurs; the heritage core is entirely protected
    assert set(cat) == set(CATEGORIES)
    assert in_core.any()
    assert (cat[in_core] == "retain_protect").all()
    assert (rid[in_core] == "heritage_core").all()
    # listed parcels outside the core: forced protection
    listed = parcels["listed"].to_numpy(dtype=bool)
    assert (rid[listed & ~in_core] == "listed_building").all()
    free = ~in_core & ~listed
    # demolition evidence, in rule order
    illegal = parcels["illegal"].to_numpy(dtype=bool)
    assert (rid[free & illegal] == "illegal_structure").all()
    grade_cd = parcels["danger_grade"].isin(["C", "D"]).to_numpy()
    assert (rid[free & ~illegal & grade_cd] == "dangerous_building").all()
    weak = parcels["structure"].isin(["simple", "brick_wood"]).to_numpy()
    assert (rid[free & ~illegal & ~grade_cd & weak] == "weak_structure").all()
    rest = free & ~illegal & ~grade_cd & ~weak
    conflict = (
        (parcels["planned_use"] != parcels["land_use"])
        & ~parcels["land_use"].isin(["vacant", "green", "road", "water"])
        & parcels["planned_use"].notna()
    ).to_numpy()
    assert (rid[rest & conflict] == "use_conflict").all()
    rest &= ~conflict
    old = (
        (parcels["land_use"] == "residential")
        & (parcels["build_year"] <= 2000)
        & parcels["danger_grade"].isin(["A", "B"])
    ).to_numpy(dtype=bool)
    assert (rid[rest & old] == "old_community").all()
    rest &= ~old
    # resettlement sites: vacant, ≥ 5000 m², clear of constraints, ≥ 30 m from the river
    sites = rest & (rid == "resettlement_land")
    assert sites.sum() > 0
    area = shapely.area(g)
    assert (parcels["land_use"].to_numpy()[sites] == "vacant").all()
    assert (area[sites] >= 5000).all()
    river = shapely.union_all(layers["river"].geometry.array)
    assert (shapely.distance(g[sites], river) >= 30).all()
    for name in ("eco_belt", "heritage_control", "view_corridor"):
        zone = shapely.union_all(layers[name].geometry.array)
        inter = shapely.area(shapely.intersection(g[sites], zone))
        assert (inter / area[sites] < 0.01).all(), name
    # vacant land refused as a site lies in a constraint zone, is small or flood-prone
    decoys = rest & (parcels["land_use"] == "vacant").to_numpy() & ~sites
    assert decoys.sum() > 0
    assert (rid[rest & ~sites] == "default").all()
    # every rule decides somewhere on the sample
    assert {r.id for r in load_rules("default").rules} <= set(rid)


def test_sample_district_matches_generator_restatement(sample):
    from geo_renewal.datasets._generate import expected_categories

    parcels, layers, _, out = sample
    expected = expected_categories(parcels, layers)
    assert (out["category"].astype(str).to_numpy() == expected.to_numpy()).all()


def test_sample_district_zones_conserve_totals(sample):
    _, _, _, out = sample
    zones = zones_from_parcels(out)
    for col in ("households", "population", "floor_area"):
        assert zones[col].sum() == pytest.approx(out[col].sum())
    assert zones["n_parcels"].sum() == len(out)
    cats = dict(zip(zone_labels(out), out["category"].astype(str), strict=True))
    assert all(z.startswith(c + "-") for z, c in cats.items())


# ------------------------------------------------------------------ CLI


def test_cli_classify_and_rules_check(sample, tmp_path):
    from geo_renewal.cli import cli
    from geo_renewal.datasets import get_path
    from geo_renewal.io import read_layer

    path = get_path("sample_district")
    _, _, tif, expected = sample
    layers = [
        f"--layer={n}={path}::{n}"
        for n in ("heritage_core", "heritage_control", "eco_belt", "view_corridor", "river")
    ]
    out = tmp_path / "out.gpkg"
    runner = CliRunner()
    res = runner.invoke(
        cli,
        [
            "classify",
            str(path),
            "--parcels-layer",
            "parcels",
            *layers,
            "--raster",
            f"flood_depth={tif}",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "公顷" in res.output
    assert "resettlement_site" in res.output
    parcels = read_layer(out, layer="parcels")
    zones = read_layer(out, layer="zones")
    assert parcels["category"].astype(str).tolist() == expected["category"].astype(str).tolist()
    assert zones["households"].sum() == parcels["households"].sum()

    res = runner.invoke(
        cli, ["classify", str(path), "--parcels-layer", "parcels", "--out", str(out)]
    )
    assert res.exit_code == 1  # the layers come from the GeoPackage, the raster is missing
    assert "--raster flood_depth=PATH" in res.output

    assert runner.invoke(cli, ["rules", "check", "default"]).exit_code == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nid = "x"\ncategory = "demolish"\nwhen = "a.b"\n', encoding="utf-8")
    res = runner.invoke(cli, ["rules", "check", str(bad)])
    assert res.exit_code == 1
    assert "attribute access" in res.output
    assert "needs reason_zh" in res.output


def test_cli_classify_takes_the_rules_layers_from_the_parcels_geopackage(sample, tmp_path):
    from geo_renewal.cli import cli
    from geo_renewal.datasets import get_path
    from geo_renewal.io import read_layer

    path = get_path("sample_district")
    _, _, tif, expected = sample
    out = tmp_path / "auto.gpkg"
    res = CliRunner().invoke(
        cli,
        [
            "classify",
            str(path),
            "--parcels-layer",
            "parcels",
            "--raster",
            f"flood_depth={tif}",
            "--layer",
            f"river={path}::river",
            "--silent",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    for name in ("heritage_core", "heritage_control", "eco_belt", "view_corridor"):
        assert f"using layer {name!r}" in res.output
    assert "using layer 'river'" not in res.output  # given explicitly
    got = read_layer(out, layer="parcels")
    assert got["category"].astype(str).tolist() == expected["category"].astype(str).tolist()
