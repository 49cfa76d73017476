"""Tests of validate_layer / ValidationReport: every finding from a crafted bad input."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely
from geopandas.testing import assert_geodataframe_equal
from shapely import GeometryCollection, LineString, Point, Polygon, box

from geo_renewal._errors import InputError
from geo_renewal.validate import PROBLEMS, ValidationReport, validate_layer


def _problems(report: ValidationReport) -> list[str]:
    return report.to_frame()["problem"].tolist()


def _only(report: ValidationReport, problem: str) -> pd.DataFrame:
    f = report.to_frame()
    return f[f["problem"] == problem]


def _conserved(report: ValidationReport, n: int) -> None:
    assert len(report.layer) + len(report.removed) == n
    assert report.removed["reason"].notna().all()
    assert not set(report.layer.index) & set(report.removed.index)


def test_clean_layer_is_ok_and_unchanged(grid_parcels):
    report = validate_layer(grid_parcels, kind="parcels")
    assert report.ok
    assert report.to_frame().empty
    assert len(report.removed) == 0
    assert report.overlaps.empty
    assert_geodataframe_equal(report.layer, grid_parcels, check_dtype=False)
    assert "No problems found" in str(report)


def test_input_is_not_mutated(grid_parcels):
    bad = grid_parcels.copy()
    bad.loc[0, "geometry"] = Polygon(
        [(500_000, 4_063_000), (500_010, 4_063_010), (500_010, 4_063_000), (500_000, 4_063_010)]
    )
    bad.loc[1, "floors"] = 0
    bad.loc[2, "geometry"] = None
    before = bad.copy()
    validate_layer(bad, kind="parcels")
    assert_geodataframe_equal(bad, before)


def test_invalid_geometry_is_repaired_keeping_polygon_parts(grid_parcels):
    bad = grid_parcels.copy()
    x, y = 500_000.0, 4_063_000.0
    bowtie = Polygon([(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100)])
    bad.loc[0, "geometry"] = bowtie
    report = validate_layer(bad, kind="parcels")
    f = _only(report, "invalid_geometry")
    assert f["row"].tolist() == [0]
    assert f["id"].tolist() == ["P00"]
    assert f["severity"].tolist() == ["warning"]
    assert f["action"].iloc[0].startswith("repaired")
    assert "Self-intersection" in f["message"].iloc[0]
    fixed = report.layer.geometry.loc[0]
    assert fixed.is_valid
    assert fixed.geom_type in ("Polygon", "MultiPolygon")
    assert fixed.area == pytest.approx(5000.0)
    assert report.ok  # a repaired geometry is a warning
    _conserved(report, len(bad))


def test_invalid_geometry_without_area_is_removed(grid_parcels):
    bad = grid_parcels.copy()
    x, y = 500_000.0, 4_063_000.0
    bad.loc[3, "geometry"] = Polygon([(x, y), (x + 10, y + 10), (x + 20, y + 20), (x, y)])
    report = validate_layer(bad, kind="parcels")
    f = _only(report, "invalid_geometry")
    assert f["severity"].tolist() == ["error"]
    assert f["action"].tolist() == ["removed"]
    assert report.removed.index.tolist() == [3]
    assert report.removed["problem"].tolist() == ["invalid_geometry"]
    assert not report.ok
    _conserved(report, len(bad))


def test_null_and_empty_geometries_are_removed_and_listed(grid_parcels):
    bad = grid_parcels.copy()
    bad.loc[4, "geometry"] = None
    bad.loc[5, "geometry"] = Polygon()
    report = validate_layer(bad, kind="parcels")
    f = _only(report, "null_geometry")
    assert f["row"].tolist() == [4, 5]
    assert f["message"].str.contains("null").tolist() == [True, False]
    assert f["message"].str.contains("empty").tolist() == [False, True]
    assert report.removed.index.tolist() == [4, 5]
    assert (report.removed["problem"] == "null_geometry").all()
    assert report.removed["parcel_id"].tolist() == ["P04", "P10"]
    assert not report.ok
    _conserved(report, len(bad))


def test_wrong_geometry_type(grid_parcels):
    bad = grid_parcels.copy()
    x, y = 500_000.0, 4_063_000.0
    bad.loc[0, "geometry"] = Point(x, y)
    bad.loc[1, "geometry"] = LineString([(x, y), (x + 5, y)])
    bad.loc[2, "geometry"] = GeometryCollection(
        [box(x + 220, y, x + 320, y + 100), LineString([(x, y), (x + 1, y + 1)])]
    )
    report = validate_layer(bad, kind="parcels")
    f = _only(report, "wrong_geometry_type")
    errors = f[f["severity"] == "error"]
    assert errors["row"].tolist() == [0, 1]
    assert errors["message"].str.startswith("Point").iloc[0]
    salvaged = f[f["severity"] == "warning"]
    assert salvaged["row"].tolist() == [2]
    assert report.layer.geometry.loc[2].geom_type == "Polygon"
    assert report.layer.geometry.loc[2].area == pytest.approx(10_000.0)
    assert report.removed.index.tolist() == [0, 1]
    _conserved(report, len(bad))
    # Points are fine in a constraints layer.
    pts = gpd.GeoDataFrame({"name": ["well"]}, geometry=[Point(x, y)], crs=bad.crs)
    assert validate_layer(pts, kind="constraints").ok


def test_duplicate_ids_and_exact_copies(grid_parcels):
    bad = pd.concat([grid_parcels, grid_parcels.iloc[[7]]], ignore_index=True)
    bad.loc[3, "parcel_id"] = "P01"  # same id, different parcel
    report = validate_layer(bad, kind="parcels")
    dup = _only(report, "duplicate_id")
    assert sorted(dup["row"].tolist()) == [1, 3]
    assert (dup["value"] == "P01").all()
    assert dup["message"].str.contains("used by 2 rows").all()
    assert (dup["severity"] == "error").all()
    copy = _only(report, "exact_duplicate")
    assert copy["row"].tolist() == [20]
    assert "row 7" in copy["message"].iloc[0]
    assert report.removed.index.tolist() == [20]
    assert {1, 3} <= set(report.layer.index)  # differing duplicates are kept
    _conserved(report, len(bad))


def test_missing_id(grid_parcels):
    bad = grid_parcels.copy()
    bad["parcel_id"] = bad["parcel_id"].astype(object)
    bad.loc[2, "parcel_id"] = None
    bad.loc[3, "parcel_id"] = "  "
    report = validate_layer(bad, kind="parcels")
    assert _only(report, "missing_id")["row"].tolist() == [2, 3]
    assert not report.ok


def test_missing_required_columns_are_all_listed(grid_parcels):
    districts = grid_parcels[["street", "geometry"]]
    report = validate_layer(districts, kind="districts")
    f = _only(report, "missing_column")
    assert f["column"].tolist() == ["district_id", "name"]
    assert f["row"].isna().all()
    assert not report.ok
    text = str(report)
    assert "district_id" in text
    assert "'name'" in text


def test_non_numeric_values(grid_parcels):
    bad = grid_parcels.copy()
    bad["floors"] = bad["floors"].astype(object)
    bad.loc[0, "floors"] = "six"
    bad.loc[1, "floors"] = "7"
    bad.loc[2, "floors"] = ""
    report = validate_layer(bad, kind="parcels")
    f = _only(report, "non_numeric")
    assert f["row"].tolist() == [0]
    assert f["column"].tolist() == ["floors"]
    assert f["value"].tolist() == ["six"]
    floors = report.layer["floors"]
    assert floors.dtype == "float64"
    assert np.isnan(floors.loc[0])
    assert floors.loc[1] == 7
    assert np.isnan(floors.loc[2])  # blank is missing, not an error


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        ("build_year", dt.date.today().year + 5, "in the future"),
        ("build_year", 1700, "before 1800"),
        ("floors", 0, "zero or negative"),
        ("floors", -2, "zero or negative"),
        ("floors", 250, "above 200"),
        ("households", -1, "negative"),
        ("population", -3, "negative"),
        ("floor_area", -10.5, "negative"),
    ],
)
def test_implausible_values(grid_parcels, column, value, why):
    bad = grid_parcels.copy()
    bad[column] = bad[column].astype("float64")
    bad.loc[6, column] = value
    report = validate_layer(bad, kind="parcels")
    f = _only(report, "implausible_value")
    assert f["row"].tolist() == [6]
    assert f["column"].tolist() == [column]
    assert why in f["message"].iloc[0]
    assert np.isnan(report.layer.loc[6, column])
    assert report.layer[column].drop(6).notna().all()
    assert not report.ok


def test_danger_grade_values(grid_parcels):
    bad = grid_parcels.copy()
    bad["danger_grade"] = bad["danger_grade"].astype(object)
    bad.loc[0, "danger_grade"] = "c"
    bad.loc[1, "danger_grade"] = "D级"
    bad.loc[2, "danger_grade"] = "E"
    bad.loc[3, "danger_grade"] = None
    report = validate_layer(bad, kind="parcels")
    f = _only(report, "implausible_value")
    assert f["row"].tolist() == [2]
    assert "A, B, C or D" in f["message"].iloc[0]
    grades = report.layer["danger_grade"]
    assert grades.loc[0] == "C"
    assert grades.loc[1] == "D"
    assert pd.isna(grades.loc[2])
    assert pd.isna(grades.loc[3])


def test_yes_no_columns(grid_parcels):
    bad = grid_parcels.copy()
    bad["listed"] = ["是", "否", "1", "0", "maybe", None, *(["否"] * 14)]
    report = validate_layer(bad, kind="parcels")
    f = _only(report, "non_boolean")
    assert f["row"].tolist() == [4]
    assert report.layer["listed"].dtype == bool
    assert report.layer["listed"].tolist()[:6] == [True, False, True, False, False, False]


def test_unknown_codes_are_warnings(grid_parcels):
    bad = grid_parcels.copy()
    bad.loc[0, "land_use"] = "farmland"
    bad.loc[1, "structure"] = "adobe"
    report = validate_layer(bad, kind="parcels")
    f = _only(report, "unknown_code")
    assert f["column"].tolist() == ["land_use", "structure"]
    assert (f["severity"] == "warning").all()
    assert report.ok
    assert report.layer.loc[0, "land_use"] == "farmland"


def test_overlaps_pairs_and_areas(grid_parcels):
    bad = grid_parcels.copy()
    bad.loc[0, "geometry"] = shapely.affinity.translate(bad.geometry.loc[0], 50.0, 0.0)
    stacked = bad.iloc[[12]].assign(parcel_id="P99")
    bad = pd.concat([bad, stacked], ignore_index=True)
    report = validate_layer(bad, kind="parcels")
    ov = report.overlaps.sort_values("overlap_m2").reset_index(drop=True)
    assert ov[["id_a", "id_b"]].values.tolist() == [["P00", "P01"], ["P22", "P99"]]
    assert ov["overlap_m2"].tolist() == pytest.approx([4000.0, 10_000.0])
    assert ov["share_of_smaller"].tolist() == pytest.approx([0.4, 1.0])
    f = _only(report, "overlap").sort_values("row")
    assert f["severity"].tolist() == ["warning", "error"]
    assert "4,000.0 m²" in f["message"].iloc[0]
    assert "P01" in f["message"].iloc[0]
    _conserved(report, len(bad))


def test_touching_parcels_and_slivers_are_not_overlaps(grid_parcels):
    x, y = 500_000.0, 4_063_000.0
    tiles = [
        box(x + i * 10, y + j * 10, x + i * 10 + 10, y + j * 10 + 10)
        for i in range(5)
        for j in range(5)
    ]
    # a T-junction: a row of half-shifted tiles on top
    tiles += [box(x + 5 + i * 10, y + 50, x + 15 + i * 10, y + 60) for i in range(4)]
    touching = gpd.GeoDataFrame(
        {"parcel_id": [f"T{k}" for k in range(len(tiles))]}, geometry=tiles, crs=grid_parcels.crs
    )
    assert validate_layer(touching, kind="parcels").overlaps.empty
    sliver = grid_parcels.copy()
    sliver.loc[0, "geometry"] = box(x, y, x + 110.004, y + 100)  # 0.4 m² into P01
    assert validate_layer(sliver, kind="parcels").overlaps.empty
    strict = validate_layer(sliver, kind="parcels", overlap_tolerance=0.1)
    assert strict.overlaps["overlap_m2"].tolist() == pytest.approx([0.4], rel=1e-3)


def test_outside_districts_any_crs(grid_parcels):
    x, y = 500_000.0, 4_063_000.0
    districts = gpd.GeoDataFrame(
        {"district_id": ["D1"], "name": ["东关街道"]},
        geometry=[box(x - 5, y - 5, x + 325, y + 445)],
        crs=grid_parcels.crs,
    ).to_crs(4490)
    report = validate_layer(grid_parcels, kind="parcels", districts=districts)
    f = _only(report, "outside_districts")
    assert sorted(f["id"]) == sorted(
        grid_parcels.loc[grid_parcels["parcel_id"].str[2].isin(["3", "4"]), "parcel_id"]
    )
    assert (f["severity"] == "warning").all()
    assert len(report.layer) == len(grid_parcels)


def test_layer_without_crs_is_reported(grid_parcels):
    bad = grid_parcels.set_crs(None, allow_override=True)
    report = validate_layer(bad, kind="parcels")
    assert _problems(report) == ["missing_crs"]
    assert "set_crs" in report.to_frame()["message"].iloc[0]
    assert not report.ok


def test_geographic_layer_overlap_area_in_square_metres(grid_parcels):
    bad = grid_parcels.copy()
    bad.loc[0, "geometry"] = shapely.affinity.translate(bad.geometry.loc[0], 50.0, 0.0)
    report = validate_layer(bad.to_crs(4490), kind="parcels")
    assert report.overlaps["overlap_m2"].iloc[0] == pytest.approx(4000.0, rel=1e-3)


def test_repair_false_reports_only(grid_parcels):
    bad = grid_parcels.copy()
    x, y = 500_000.0, 4_063_000.0
    bad.loc[0, "geometry"] = Polygon([(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100)])
    bad.loc[1, "geometry"] = None
    bad.loc[2, "floors"] = 0
    report = validate_layer(bad, kind="parcels", repair=False)
    assert len(report.removed) == 0
    assert_geodataframe_equal(report.layer, bad)
    f = report.to_frame()
    assert f.loc[f["problem"] == "invalid_geometry", "severity"].tolist() == ["error"]
    assert (f["action"] == "none (repair=False)").sum() >= 3


def test_nothing_dropped_silently_on_a_messy_layer(grid_parcels):
    bad = pd.concat([grid_parcels, grid_parcels.iloc[[0, 1]]], ignore_index=True)
    x, y = 500_000.0, 4_063_000.0
    bad.loc[2, "geometry"] = None
    bad.loc[3, "geometry"] = Point(x, y)
    bad.loc[4, "geometry"] = Polygon([(x, y), (x + 10, y), (x + 20, y), (x, y)])
    bad.loc[5, "geometry"] = Polygon([(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100)])
    report = validate_layer(bad, kind="parcels")
    _conserved(report, len(bad))
    assert len(report.removed) == 5
    assert set(report.removed["problem"]) == {
        "null_geometry",
        "wrong_geometry_type",
        "invalid_geometry",
        "exact_duplicate",
    }
    assert report.layer.geometry.is_valid.all()
    assert report.layer.index.is_unique


def test_non_unique_index(grid_parcels):
    bad = grid_parcels.copy()
    bad.index = [0] * len(bad)
    bad.iloc[3, bad.columns.get_loc("floors")] = 0
    report = validate_layer(bad, kind="parcels")
    assert _only(report, "implausible_value")["id"].tolist() == ["P03"]
    assert len(report.layer) == len(bad)


def test_report_str_and_frame(grid_parcels):
    bad = grid_parcels.copy()
    bad.loc[0, "geometry"] = None
    bad.loc[[1, 2], "households"] = -1
    report = validate_layer(bad, kind="parcels")
    frame = report.to_frame()
    assert list(frame.columns) == [
        "row",
        "id",
        "column",
        "problem",
        "severity",
        "action",
        "message",
        "value",
    ]
    assert set(frame["problem"]) <= set(PROBLEMS)
    assert frame["severity"].isin(["error", "warning", "info"]).all()
    text = str(report)
    assert text.startswith("Validation of 20 parcels: 3 errors")
    assert "NOT OK" in text
    assert "ERROR null_geometry" in text
    assert "ERROR implausible_value: implausible value (2 findings" in text
    assert "row 1 (P01): households -1 is negative" in text
    assert report.counts().to_dict() == {"error": 3, "warning": 0, "info": 0}
    frame.loc[0, "problem"] = "changed"  # to_frame returns a copy
    assert report.to_frame().loc[0, "problem"] != "changed"


def test_long_groups_are_truncated(grid_parcels):
    bad = grid_parcels.assign(floors=0)
    text = str(validate_layer(bad, kind="parcels"))
    assert "… and 10 more" in text


def test_bad_arguments(grid_parcels):
    with pytest.raises(InputError, match=r"`kind` must be one of \['buildings'"):
        validate_layer(grid_parcels, kind="parcel")
    with pytest.raises(InputError, match="must be a GeoDataFrame"):
        validate_layer(pd.DataFrame(grid_parcels), kind="parcels")


def test_cli_validate_exit_codes(grid_parcels, tmp_path):
    from click.testing import CliRunner

    from geo_renewal.cli import cli
    from geo_renewal.io import write_layer

    good = write_layer(grid_parcels, tmp_path / "good.gpkg", layer="parcels")
    bad_frame = grid_parcels.copy()
    bad_frame.loc[0, "floors"] = 0
    bad = write_layer(bad_frame, tmp_path / "bad.gpkg", layer="parcels")
    runner = CliRunner()
    result = runner.invoke(cli, ["validate", str(good), "--layer", "parcels"])
    assert result.exit_code == 0, result.output
    assert "——通过" in result.output  # the default language, settings.lang = zh
    findings = tmp_path / "findings.csv"
    result = runner.invoke(
        cli, ["validate", str(bad), "--kind", "parcels", "--findings", str(findings)]
    )
    assert result.exit_code == 1
    assert "第 1 行：数值不合理（编号“P00”，列“层数”，值“0”）" in result.output, result.output
    table = pd.read_csv(findings, encoding="utf-8-sig")
    assert table["问题类型"].tolist() == ["数值不合理"]  # labelled, in the output's language
    assert table["行号"].tolist() == [1]  # the first feature of the GeoPackage
    districts = gpd.GeoDataFrame(
        {"district_id": ["D1"], "name": ["东关街道"]},
        geometry=[box(*grid_parcels.total_bounds)],
        crs=grid_parcels.crs,
    )
    dpath = write_layer(districts, tmp_path / "districts.gpkg")
    result = runner.invoke(cli, ["validate", str(good), "--districts", str(dpath)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["validate", str(good), "--kind", "districts", "--lang", "en"])
    assert result.exit_code == 1
    assert "missing_column" in result.output


def test_cli_validate_prints_the_language_and_the_rows_of_the_file(grid_parcels, tmp_path):
    """Chinese by default (no English code), English with --lang en; rows as the file shows."""
    from click.testing import CliRunner

    from geo_renewal.cli import cli
    from geo_renewal.io import write_layer

    bad = grid_parcels.copy()
    bad.loc[2, "geometry"] = None  # the third feature: row 3 of the GeoPackage
    bad.loc[4, "floors"] = 0  # the fifth feature
    path = write_layer(bad, tmp_path / "bad.gpkg", layer="parcels")
    ids = bad["parcel_id"]
    runner = CliRunner()
    zh = runner.invoke(cli, ["validate", str(path), "--kind", "parcels"])
    assert zh.exit_code == 1, zh.output
    assert zh.output.startswith(f"数据检查：{len(bad)} 个地块，2 个错误")
    assert "——未通过" in zh.output
    assert f"第 3 行：几何图形为空（编号“{ids[2]}”），已移除该行。" in zh.output
    assert f"第 5 行：数值不合理（编号“{ids[4]}”，列“层数”，值“0”）" in zh.output
    assert re.findall(r"[A-Za-z]{2,}", zh.output.replace(ids[2], "").replace(ids[4], "")) == []
    en = runner.invoke(cli, ["validate", str(path), "--kind", "parcels", "--lang", "en"])
    assert en.exit_code == 1, en.output
    assert en.output.startswith(f"Validation of {len(bad)} parcels: 2 errors")
    assert "NOT OK" in en.output
    assert f"row 3 ({ids[2]}): " in en.output
    assert f"row 5 ({ids[4]}): " in en.output
    assert re.search(r"[\u4e00-\u9fff]", en.output) is None


def test_report_str_keeps_english_and_layer_row_labels(grid_parcels):
    bad = grid_parcels.copy()
    bad.loc[2, "geometry"] = None
    report = validate_layer(bad, kind="parcels")
    assert str(report) == report.summary_text(lang="en")
    assert f"row 2 ({bad['parcel_id'][2]})" in str(report)
    assert "第 3 行" in report.summary_text(lang="zh", first_row=1)


def test_threaded_overlap_search_matches_single_thread(grid_parcels, monkeypatch):
    import geo_renewal._overlaps as v  # the overlap search moved out of validate.py

    bad = grid_parcels.copy()
    bad.loc[0, "geometry"] = shapely.affinity.translate(bad.geometry.loc[0], 50.0, 0.0)
    bad.loc[9, "geometry"] = shapely.affinity.translate(bad.geometry.loc[9], 0.0, 30.0)
    single = validate_layer(bad, kind="parcels", n_jobs=1)
    monkeypatch.setattr(v, "_THREAD_MIN", 2)
    threaded = validate_layer(bad, kind="parcels", n_jobs=2)
    pd.testing.assert_frame_equal(single.overlaps, threaded.overlaps)
    assert len(threaded.overlaps) == 2
    with pytest.raises(InputError, match="n_jobs"):
        validate_layer(bad, kind="parcels", n_jobs=0)


def test_threaded_overlap_search_runs_in_slices(monkeypatch):
    import geo_renewal._overlaps as ov

    seen = []

    def func(sl):
        seen.append((sl.start, sl.stop))
        return np.arange(sl.start, sl.stop)

    np.testing.assert_array_equal(ov._threaded(10, func, threads=2), np.arange(10))
    assert seen == [(0, 10)]  # below _THREAD_MIN: one call
    seen.clear()
    monkeypatch.setattr(ov, "_THREAD_MIN", 2)
    np.testing.assert_array_equal(ov._threaded(10, func, threads=2), np.arange(10))
    assert sorted(seen) == [(0, 1), (1, 2), (2, 3), (3, 5), (5, 6), (6, 7), (7, 8), (8, 10)]
