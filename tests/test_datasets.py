"""Tests of geo_renewal.datasets: get_path, the generator, and the committed data/ files."""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import pyogrio
import shapely
from geopandas.testing import assert_geodataframe_equal

from geo_renewal import datasets, schema, settings
from geo_renewal._errors import InputError
from geo_renewal.datasets import _generate as gen

REPO_DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def district() -> gen.SampleDistrict:
    return gen.generate_sample_district()


@pytest.fixture(scope="module")
def written(district, tmp_path_factory) -> Path:
    """The sample data written by `geo-renewal sample-data` (generator reused)."""
    from click.testing import CliRunner

    from geo_renewal.cli import cli

    out = tmp_path_factory.mktemp("sample")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gen, "generate_sample_district", lambda: district)
        result = CliRunner().invoke(cli, ["sample-data", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "sample_district" in result.output
    return out


@pytest.fixture(scope="module")
def categories(district) -> pd.Series:
    return gen.expected_categories(district.layers["parcels"], district.layers)


# ----------------------------------------------------------------------------- get_path


def test_get_path_all_names():
    for name in datasets.available():
        path = datasets.get_path(name)
        assert path.exists(), name
    assert datasets.get_path("sample_shp").suffix == ".shp"
    assert datasets.get_path("flood_depth").suffix == ".tif"


def test_get_path_unknown_name_lists_valid_ones():
    with pytest.raises(
        InputError, match="sample_district, flood_depth, sample_ledger, sample_shp, sample_plan"
    ):
        datasets.get_path("sample")


def test_get_path_prefers_package_data(tmp_path, monkeypatch):
    pkg = tmp_path / "pkg"
    (pkg / "sample_shp").mkdir(parents=True)
    (pkg / "sample_district.gpkg").write_bytes(b"")
    monkeypatch.setattr(datasets, "_PACKAGE_DATA", pkg)
    assert datasets.get_path("sample_district") == pkg / "sample_district.gpkg"
    assert datasets.get_path("flood_depth") == REPO_DATA / "flood_depth.tif"
    monkeypatch.setattr(datasets, "_SOURCE_DATA", tmp_path / "none")
    with pytest.raises(InputError, match="geo-renewal sample-data"):
        datasets.get_path("flood_depth")


# ----------------------------------------------------------------------------- generator


def test_generator_is_deterministic(district):
    again = gen.generate_sample_district()
    for name, layer in district.layers.items():
        assert_geodataframe_equal(layer, again.layers[name], check_less_precise=False)
    np.testing.assert_array_equal(district.flood_depth, again.flood_depth)
    pd.testing.assert_frame_equal(district.ledger, again.ledger)


def test_location_and_crs(district):
    parcels = district.layers["parcels"]
    assert parcels.crs.to_epsg() == 4548
    c = parcels.to_crs(4490).union_all().centroid
    assert abs(c.x - 117.0) < 0.03
    assert abs(c.y - 36.7) < 0.03
    for layer in district.layers.values():
        assert layer.crs == parcels.crs
        assert layer.geometry.is_valid.all()


def test_streets(district):
    streets = district.layers["districts"]
    assert 6 <= len(streets) <= 8
    assert list(streets.columns) == ["district_id", "name", "geometry"]
    assert streets["name"].str.endswith("街道").all()
    assert streets["district_id"].is_unique
    # the streets tile the district: no overlaps, parcels all inside one street
    assert sum(streets.area) == pytest.approx(streets.union_all().area, rel=1e-9)
    parcels = district.layers["parcels"]
    pts = parcels.representative_point()
    joined = gpd.sjoin(gpd.GeoDataFrame(geometry=pts), streets, predicate="within")
    assert len(joined) == len(parcels)
    assert (joined["name"].to_numpy() == parcels["street"].to_numpy()).all()


def test_parcels_schema_and_validity(district):
    parcels = district.layers["parcels"]
    assert 3_000 <= len(parcels) <= 6_000
    expected = [
        "parcel_id",
        "name",
        "land_use",
        "planned_use",
        "build_year",
        "floors",
        "structure",
        "danger_grade",
        "households",
        "population",
        "floor_area",
        "street",
        "community",
        "listed",
        "illegal",
        "geometry",
    ]
    assert list(parcels.columns) == expected
    assert parcels["parcel_id"].is_unique
    assert set(parcels["land_use"]) <= set(schema.LAND_USES)
    assert set(parcels["planned_use"]) <= set(schema.LAND_USES)
    assert set(parcels["structure"].dropna()) <= set(schema.STRUCTURES)
    assert set(parcels["danger_grade"].dropna()) <= {"A", "B", "C", "D"}
    assert parcels["listed"].dtype == bool
    assert parcels["illegal"].dtype == bool
    from geo_renewal.validate import validate_layer

    report = validate_layer(parcels, kind="parcels", districts=district.layers["districts"])
    assert report.ok, str(report)
    assert report.to_frame().empty, str(report)


def test_roads_are_gaps(district):
    parcels = district.layers["parcels"]
    streets = district.layers["districts"]
    covered = parcels.area.sum() / streets.area.sum()
    assert 0.6 < covered < 0.9  # roads and the river channel take the rest


def test_distributions_are_plausible(district):
    p = district.layers["parcels"]
    year = p["build_year"].astype("float64")
    floors = p["floors"].astype("float64")
    res = p["land_use"] == "residential"
    bungalow = res & (floors <= 2) & p["structure"].isin(["brick_wood", "simple"])
    walkup = res & floors.between(4, 7) & (p["structure"] == "brick_concrete")
    tower = res & (floors >= 18)
    assert bungalow.sum() > 800
    assert walkup.sum() > 800
    assert tower.sum() > 20
    # old courtyard houses are old and often dangerous; walk-ups 1976–2004; towers new
    assert year[bungalow & ~p["illegal"]].median() < 1965
    assert p.loc[bungalow, "danger_grade"].isin(["C", "D"]).mean() > 0.4
    assert year[walkup].between(1976, 2004).all()
    assert (year[walkup] <= 2000).mean() > 0.85
    assert p.loc[walkup, "danger_grade"].isin(["A", "B"]).mean() > 0.9
    assert year[tower].min() >= 2003
    # households: crowded courtyards, none on open land; persons per household 1–4
    assert (p.loc[bungalow, "households"] >= 1).all()
    open_land = p["land_use"].isin(["vacant", "green"])
    assert (p.loc[open_land, "households"] == 0).all()
    assert p.loc[open_land, "floors"].isna().all()
    assert p.loc[open_land, "structure"].isna().all()
    hh = p["households"] > 0
    pph = p.loc[hh, "population"] / p.loc[hh, "households"]
    assert pph.between(1.0, 4.0).all()
    assert 2.4 < p.loc[hh, "population"].sum() / p.loc[hh, "households"].sum() < 3.2
    for use in ("residential", "industrial", "commercial", "public", "green", "vacant"):
        assert (p["land_use"] == use).sum() > 10, use
    assert p["listed"].sum() > 10
    assert p["illegal"].sum() > 10
    # industrial land planned for housing: the use-conflict evidence
    assert ((p["land_use"] == "industrial") & (p["planned_use"] == "residential")).sum() > 5


def test_every_category_and_the_demolition_scale(district, categories):
    p = district.layers["parcels"]
    counts = categories.value_counts()
    assert set(counts.index) == set(schema.CATEGORIES)
    assert counts.min() >= 20
    demolish_hh = p.loc[categories == "demolish", "households"].sum()
    assert 3_000 <= demolish_hh <= 15_000
    # heritage core: everything touching it is protected
    core = district.layers["heritage_core"].union_all()
    assert (categories[p.intersects(core)] == "retain_protect").all()


def test_resettlement_capacity_covers_demand(district, categories):
    p = district.layers["parcels"]
    demand = p.loc[categories == "demolish", "households"].sum() * (1 - gen.CASH_SHARE)
    sites = p[categories == "resettlement_site"]
    capacity = np.floor(sites.area * 2.5 * 0.9 * 0.8 / 90).sum()
    assert 0.8 <= capacity / demand <= 1.1
    # decoys: vacant land the rules refuse, for each reason
    refused = p[(p["land_use"] == "vacant") & (categories != "resettlement_site")]
    assert (refused.area < 5_000).sum() >= 3
    for name in ("eco_belt", "heritage_control", "view_corridor"):
        zone = district.layers[name].union_all()
        assert (refused.intersection(zone).area > 0.5 * refused.area).any(), name
    # some sites near the demolition areas, some far away
    dem = p[categories == "demolish"]
    w = dem["households"].to_numpy(dtype=float)
    c = dem.centroid
    centre = shapely.Point((c.x * w).sum() / w.sum(), (c.y * w).sum() / w.sum())
    dist = sites.distance(centre)
    assert dist.min() < 1_500
    assert (dist > 1.3 * settings.nearby_dist).sum() >= 2
    assert dist.max() > 1_900


def test_classify_with_default_rules_matches(district, categories):
    classify = pytest.importorskip("geo_renewal.classify")
    layers = {
        n: district.layers[n]
        for n in ("heritage_core", "heritage_control", "eco_belt", "view_corridor", "river")
    }
    classified = classify.classify_parcels(
        district.layers["parcels"],
        "default",
        layers=layers,
        rasters={"flood_depth": datasets.get_path("flood_depth")},
    )
    assert (classified["category"].astype(str) == categories).all()
    with_buildings = classify.classify_parcels(
        district.layers["parcels"],
        "default",
        layers=layers,
        rasters={"flood_depth": datasets.get_path("flood_depth")},
        buildings=district.layers["buildings"],
    )
    assert (with_buildings["category"].astype(str) == categories).all()


def test_buildings(district):
    buildings = district.layers["buildings"]
    parcels = district.layers["parcels"].set_index("parcel_id")
    assert 1_000 < len(buildings) < 5_000
    assert buildings["building_id"].is_unique
    assert set(parcels.loc[buildings["parcel_id"], "street"]) == set(gen.BUILDING_STREETS)
    host = parcels.loc[buildings["parcel_id"]].geometry.reset_index(drop=True)
    assert buildings.geometry.within(host).all()
    sums = buildings.groupby("parcel_id")[["households", "population", "floor_area"]].sum()
    expected = parcels.loc[sums.index, ["households", "population", "floor_area"]]
    np.testing.assert_allclose(
        sums.to_numpy(dtype=float), expected.to_numpy(dtype=float), atol=1e-6
    )
    assert (buildings.groupby("parcel_id").size() <= 2).all()
    assert (buildings["footprint_area"] > 0).all()
    from geo_renewal.validate import validate_layer

    report = validate_layer(buildings, kind="buildings", districts=district.layers["districts"])
    assert report.ok, str(report)
    assert report.to_frame().empty, str(report)


def test_constraint_layers(district):
    layers = district.layers
    river = layers["river"].union_all()
    eco = layers["eco_belt"].union_all()
    core = layers["heritage_core"].union_all()
    control = layers["heritage_control"].union_all()
    assert river.geom_type == "LineString"
    assert eco.buffer(1).contains(river.intersection(layers["districts"].union_all()))
    assert 0.2e6 < core.area < 0.8e6
    assert control.intersection(core).area < 1.0
    assert control.touches(core) or control.distance(core) < 0.01
    assert layers["view_corridor"].union_all().intersects(core)
    # no parcel in the river channel
    assert district.layers["parcels"].intersection(river).length.sum() == 0


def test_projects_and_ledger(district, categories):
    projects = district.layers["projects"]
    ledger = district.ledger
    assert 10 <= len(projects) <= 20
    assert set(projects["project_type"]) == {"demolish", "retain_upgrade"}
    assert projects["project_id"].tolist() == ledger["项目编号"].tolist()
    p = district.layers["parcels"]
    for _, proj in projects.iterrows():
        inside = p[p.representative_point().within(proj.geometry)]
        assert len(inside) > 0
        assert (categories[inside.index] == proj["project_type"]).all()
        row = ledger[ledger["项目编号"] == proj["project_id"]].iloc[0]
        assert row["户数"] == inside["households"].sum()
        assert row["类型"] == schema.CATEGORIES[proj["project_type"]].zh
    stages = [*schema.PIPELINES["demolish"], *schema.PIPELINES["retain_upgrade"]]
    header = [
        "项目编号",
        "项目名称",
        "类型",
        "街道",
        "责任单位",
        "责任人",
        "户数",
        "已签约户数",
        "拆除建筑面积",
        "目标日期",
    ]
    for s in stages:
        header += [f"{schema.STAGES[s][0]}计划日期", f"{schema.STAGES[s][0]}实际日期"]
    assert list(ledger.columns) == header
    dates = ledger.filter(like="日期").stack()
    dates = dates[dates.notna()]
    assert dates.map(lambda d: dt.date(2025, 1, 1) <= d <= dt.date(2027, 12, 31)).all()
    assert (dates[dates.index.get_level_values(1).str.contains("实际")] <= gen.AS_OF).all()
    signed = ledger["已签约户数"].dropna()
    assert (signed <= ledger.loc[signed.index, "户数"]).all()
    # behind schedule: a planned date passed with no actual date
    behind = 0
    for _, row in ledger.iterrows():
        for s in stages:
            zh = schema.STAGES[s][0]
            planned, actual = row[f"{zh}计划日期"], row[f"{zh}实际日期"]
            if planned is not None and planned < gen.AS_OF and actual is None:
                behind += 1
                break
    assert 2 <= behind <= len(ledger) - 2
    # stages outside a project's pipeline are blank
    upgrade = ledger["类型"] == "保留提升"
    assert ledger.loc[upgrade, "签约计划日期"].isna().all()
    assert ledger.loc[~upgrade, "方案计划日期"].isna().all()
    assert ledger.loc[upgrade, "拆除建筑面积"].isna().all()


def test_units_mix_classes_and_some_break_a_limit(district, categories):
    """The sample's 更新单元: mixed classes, no overlaps, inside the district; pass and fail."""
    from geo_renewal.units import check_units, unit_checks

    units = check_units(district.layers["units"], districts=district.layers["districts"])
    assert 6 <= len(units) <= 12
    assert units["name"].str.endswith("更新单元").all()
    assert units["planned_floor_area_m2"].notna().sum() >= len(units) // 2
    parcels = district.layers["parcels"].assign(category=categories.to_numpy())
    checks = unit_checks(parcels, units, lang="en").drop(index=["outside", "total"])
    n_classes = checks["class_mix"].str.count(",") + 1
    assert (n_classes >= 2).all()  # every unit mixes demolition with other classes
    assert (checks["demolish_floor_area_m2"] < checks["floor_area_m2"]).all()
    assert "fails" in set(checks["verdict"])
    assert set(checks["meets_demolition_share"]) == {True, False}
    assert (checks["meets_rebuild_ratio"] == False).any()  # noqa: E712
    assert checks["rebuild_ratio"].isna().any()  # some units have no planned floor area


def test_flood_raster(district):
    depth, nodata = district.flood_depth, district.nodata
    assert depth.dtype == np.float32
    valid = depth != nodata
    assert valid.mean() > 0.5
    assert depth[valid].min() >= 0
    a, _, x0, _, e, y0 = district.flood_transform
    assert (a, -e) == (10.0, 10.0)
    rows, cols = np.nonzero(valid)
    rows, cols = rows[::7], cols[::7]
    x = x0 + (cols + 0.5) * a
    y = y0 + (rows + 0.5) * e
    d = shapely.distance(shapely.points(x, y), district.layers["river"].union_all())
    assert depth[rows, cols][d < 60].mean() > 1.0
    assert depth[rows, cols][(d > 1_000) & (d < 1_500)].mean() < 0.2


# ----------------------------------------------------------------------------- files


def test_committed_data_equals_generator(written):
    for layer in datasets.LAYERS:
        ours = gpd.read_file(written / "sample_district.gpkg", layer=layer)
        committed = gpd.read_file(REPO_DATA / "sample_district.gpkg", layer=layer)
        assert_geodataframe_equal(ours, committed, check_less_precise=False)
    rasterio = pytest.importorskip("rasterio")
    with (
        rasterio.open(written / "flood_depth.tif") as a,
        rasterio.open(REPO_DATA / "flood_depth.tif") as b,
    ):
        np.testing.assert_array_equal(a.read(1), b.read(1))
        assert a.transform == b.transform
        assert a.crs == b.crs
        assert a.nodata == b.nodata
    openpyxl = pytest.importorskip("openpyxl")
    ws_a = openpyxl.load_workbook(written / "sample_ledger.xlsx")["台账"]
    ws_b = openpyxl.load_workbook(REPO_DATA / "sample_ledger.xlsx")["台账"]
    assert [[c.value for c in r] for r in ws_a.iter_rows()] == [
        [c.value for c in r] for r in ws_b.iter_rows()
    ]
    shp_a = gpd.read_file(written / "sample_shp" / "sample_parcels.shp", encoding="gbk")
    shp_b = gpd.read_file(REPO_DATA / "sample_shp" / "sample_parcels.shp", encoding="gbk")
    assert_geodataframe_equal(shp_a, shp_b, check_less_precise=False)
    assert sorted(p.name for p in (written / "sample_shp").iterdir()) == sorted(
        p.name for p in (REPO_DATA / "sample_shp").iterdir()
    )
    plan = (REPO_DATA / "sample_plan.toml").read_text(encoding="utf-8")
    assert (written / "sample_plan.toml").read_text(encoding="utf-8") == plan


def test_files_match_layers(district, written):
    parcels = gpd.read_file(written / "sample_district.gpkg", layer="parcels")
    assert pyogrio.list_layers(written / "sample_district.gpkg")[:, 0].tolist() == list(
        datasets.LAYERS
    )
    assert parcels.crs.to_epsg() == 4548
    assert parcels["parcel_id"].tolist() == district.layers["parcels"]["parcel_id"].tolist()
    assert sum(f.stat().st_size for f in written.rglob("*") if f.is_file()) < 5_000_000


def test_ledger_workbook(written, district):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(written / "sample_ledger.xlsx")
    assert wb.sheetnames == ["台账"]
    rows = list(wb["台账"].iter_rows(values_only=True))
    assert list(rows[0]) == list(district.ledger.columns)
    assert len(rows) == len(district.ledger) + 1
    ledger_mod = pytest.importorskip("geo_renewal.ledger")
    ledger = ledger_mod.read_ledger(
        written / "sample_ledger.xlsx", projects=district.layers["projects"]
    )
    errors = ledger.findings[ledger.findings["severity"] == "error"]
    assert errors.empty, errors.to_string()
    assert len(ledger.table) == len(district.ledger)


def test_gbk_shapefile_without_cpg(written, district):
    folder = written / "sample_shp"
    assert not list(folder.glob("*.cpg"))
    dbf = (folder / "sample_parcels.dbf").read_bytes()
    header_len = struct.unpack("<H", dbf[8:10])[0]
    names = [dbf[i : i + 11].split(b"\0")[0] for i in range(32, header_len - 1, 32)]
    decoded = [n.decode("gbk") for n in names]
    assert decoded == list(datasets.SHAPEFILE_COLUMNS.values())
    assert all(len(n) <= 10 for n in names)
    with pytest.raises(UnicodeDecodeError):
        b"".join(names).decode("utf-8")
    raw = gpd.read_file(folder / "sample_parcels.shp", encoding="gbk")
    assert "砖木结构" in set(raw["结构"])
    assert set(raw["危房等级"].dropna()) == {"A级", "B级", "C级", "D级"}


def test_gbk_shapefile_reads_back_with_read_layer(written, district):
    from geo_renewal.io import read_layer

    shp = read_layer(written / "sample_shp" / "sample_parcels.shp", kind="parcels")
    ref = district.layers["parcels"]
    assert list(shp.columns) == list(ref.columns)
    assert shp.crs.to_epsg() == 4548
    for col in (
        "parcel_id",
        "land_use",
        "planned_use",
        "structure",
        "danger_grade",
        "street",
        "community",
        "name",
    ):
        pd.testing.assert_series_equal(
            shp[col].astype(object).where(shp[col].notna(), None),
            ref[col].astype(object).where(ref[col].notna(), None),
            check_names=False,
        )
    for col in ("build_year", "floors", "households", "population", "floor_area"):
        np.testing.assert_allclose(shp[col].astype("float64"), ref[col].astype("float64"))
    for col in ("listed", "illegal"):
        assert shp[col].astype(bool).tolist() == ref[col].tolist()
    assert shp.geom_equals_exact(ref.geometry, tolerance=0.001).all()


def test_cli_sample_data(written, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from geo_renewal.cli import cli

    calls = []

    def fake_write(out):
        calls.append(out)
        return {name: written / rel for name, rel in datasets.FILES.items()}

    monkeypatch.setattr(datasets, "write_sample_data", fake_write)  # written above
    result = CliRunner().invoke(cli, ["sample-data", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert calls == [str(tmp_path)]
    for name in datasets.FILES:
        assert name in result.output


def test_block_mixes_are_distributions_of_known_types():
    for where, (types, p) in gen._BLOCK_MIX.items():
        assert sum(p) == pytest.approx(1.0), where
        assert len(types) == len(p), where
        assert set(types) <= set(gen._SIZES), where


def test_generator_modules_are_re_exported():
    from geo_renewal.datasets import _buildings, _ledger

    assert gen.AS_OF is _ledger.AS_OF
    assert datasets.AS_OF is _ledger.AS_OF
    assert gen.BUILDING_STREETS is _buildings.BUILDING_STREETS
