"""Layers that lie about themselves: wrong encodings, clashing columns, unmeasurable
geometry, implausible counts and unreadable files (issue 13, items 6-9).

Every case is built by a fixture from real files (pyogrio writes, sidecars written by hand,
files cut short) and asserts the exact error class or finding and that the message names the
file, row or column.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import geopandas as gpd
import pyogrio
import shapely

from geo_renewal import area, read_layer, validate_layer
from geo_renewal._errors import InputError
from geo_renewal.classify import classify_parcels
from geo_renewal.cli import cli
from geo_renewal.rules import parse_rules
from geo_renewal.stats import zone_stats

X0, Y0 = 500_000.0, 4_063_000.0
STREETS = ["历下街道", "泉城路街道", "大明湖街道", "趵突泉街道"]
REASONS = {"reason_zh": "测试", "reason_en": "test"}


def _valid_unicode(values: pd.Series) -> bool:
    """Every text value encodes as UTF-8 (no surrogate escapes)."""
    return all(v.encode("utf-8") is not None for v in values if isinstance(v, str))


@pytest.fixture
def parcels() -> gpd.GeoDataFrame:
    """Four 50 m parcels near Jinan (EPSG:4548) with Chinese street names."""
    return gpd.GeoDataFrame(
        {
            "parcel_id": [f"P{i}" for i in range(4)],
            "street": STREETS,
            "households": [10, 20, 30, 40],
            "floor_area": [1000.0, 2000.0, 3000.0, 4000.0],
        },
        geometry=[shapely.box(X0 + 60 * i, Y0, X0 + 60 * i + 50, Y0 + 50) for i in range(4)],
        crs="EPSG:4548",
    )


def _shapefile(folder: Path, gdf: gpd.GeoDataFrame, *, stem: str, encoding: str) -> Path:
    path = folder / f"{stem}.shp"
    pyogrio.write_dataframe(gdf, path, encoding=encoding)
    path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


@pytest.fixture
def gbk_declared_utf8(tmp_path, parcels) -> Path:
    """GBK bytes whose .cpg says UTF-8."""
    path = _shapefile(tmp_path, parcels, stem="gbk_says_utf8", encoding="GBK")
    path.with_suffix(".cpg").write_text("UTF-8")
    return path


@pytest.fixture
def utf8_declared_gbk(tmp_path, parcels) -> Path:
    """UTF-8 bytes whose .cpg says GBK (GDAL would read mojibake: 鍘嗕笅琛楅亾)."""
    path = _shapefile(tmp_path, parcels, stem="utf8_says_gbk", encoding="UTF-8")
    path.with_suffix(".cpg").write_text("GBK")
    return path


@pytest.fixture
def gbk_declared_western(tmp_path, parcels) -> Path:
    """GBK bytes whose .cpg says 1252 (Western Windows): read as such, ÀúÏÂ½ÖµÀ."""
    path = _shapefile(tmp_path, parcels, stem="gbk_says_1252", encoding="GBK")
    path.with_suffix(".cpg").write_text("1252")
    return path


@pytest.fixture
def utf8_with_gbk_language_byte(tmp_path, parcels) -> Path:
    """UTF-8 bytes, no .cpg, and a DBF language byte (LDID 0x4D) that says GBK."""
    path = _shapefile(tmp_path, parcels, stem="ldid", encoding="UTF-8")
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = 0x4D
    dbf.write_bytes(bytes(data))
    return path


@pytest.fixture
def undecodable(tmp_path, parcels) -> Path:
    """Bytes (0xFF …) that are neither UTF-8 nor GB18030, declared UTF-8."""
    odd = parcels.assign(street=["ÿÿÿ", "þÿ", "ÿ", "ÿþÿ"])
    path = _shapefile(tmp_path, odd, stem="odd", encoding="ISO-8859-1")
    path.with_suffix(".cpg").write_text("UTF-8")
    return path


# --- 6: every text value is valid Unicode, the bytes win over a wrong declaration -------


@pytest.mark.parametrize(
    ("fixture", "declared", "used"),
    [
        ("gbk_declared_utf8", "UTF-8", "GB18030"),
        ("utf8_declared_gbk", "GBK", "UTF-8"),
        ("gbk_declared_western", "CP1252", "GB18030"),
        ("utf8_with_gbk_language_byte", "GBK", "UTF-8"),
    ],
)
def test_wrong_declared_encoding_is_overruled_and_reported(request, fixture, declared, used):
    path = request.getfixturevalue(fixture)
    with pytest.warns(UserWarning, match=rf"{path.name}.*declares the text encoding {declared}"):
        got = read_layer(path, kind="parcels")
    assert got["street"].tolist() == STREETS
    assert _valid_unicode(got["street"])
    (note,) = got.attrs["read_findings"]
    assert note["problem"] == "encoding_mismatch"
    assert f"read as {used}" in note["message"]
    if fixture == "utf8_with_gbk_language_byte":
        assert "language byte" in note["message"]
    report = validate_layer(got, kind="parcels")
    assert not report.ok
    finding = report.to_frame().query("problem == 'encoding_mismatch'")
    assert finding["message"].str.contains(path.name, regex=False).all()


def test_wrong_encoding_argument_is_overruled(tmp_path, parcels):
    path = _shapefile(tmp_path, parcels, stem="plain_gbk", encoding="GBK")
    with pytest.warns(UserWarning, match=r"`encoding=` declares the text encoding UTF-8.*GB18030"):
        got = read_layer(path, encoding="utf-8")
    assert got["street"].tolist() == STREETS


def test_bytes_fitting_no_encoding_are_refused(undecodable):
    with pytest.raises(InputError, match=r"odd\.shp.*declares UTF-8.*encoding=") as e:
        read_layer(undecodable)
    assert "xff" in str(e.value)


def test_cli_validate_is_not_ok_on_a_lying_cpg(gbk_declared_utf8):
    args = ["validate", str(gbk_declared_utf8), "--kind", "parcels", "--lang", "en"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert f"Warning: `{gbk_declared_utf8}`" in result.output  # the planner's line, not Python's
    assert "declares the text encoding UTF-8" in result.output
    assert "encoding_mismatch" in result.output
    assert "NOT OK" in result.output


def test_statistics_and_classification_of_a_lying_cpg(tmp_path, gbk_declared_utf8):
    with pytest.warns(UserWarning, match="declares the text encoding UTF-8"):
        got = read_layer(gbk_declared_utf8, kind="parcels")
    stats = zone_stats(got, by="street", categories=False, policy=False)
    assert set(STREETS) <= set(stats.index)
    rules = parse_rules(
        {"rules": [{"id": "big", "category": "demolish", "when": "households >= 30", **REASONS}]}
    )
    classified = classify_parcels(got, rules)
    out = tmp_path / "classified.gpkg"
    classified.to_file(out, engine="pyogrio")
    back = pyogrio.read_dataframe(out)
    assert back["street"].tolist() == STREETS  # text, not the raw GBK bytes


def _gpkg_with_raw_bytes(path: Path, parcels: gpd.GeoDataFrame, raw: bytes) -> Path:
    """A GeoPackage whose row 1 'street' holds `raw` (bytes, not UTF-8) written by SQLite."""
    pyogrio.write_dataframe(parcels, path, layer="parcels")
    con = sqlite3.connect(path)
    try:
        for (trigger,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            con.execute(f'DROP TRIGGER "{trigger}"')
        con.execute("UPDATE parcels SET street = CAST(? AS TEXT) WHERE fid = 2", (raw,))
        con.commit()
    finally:
        con.close()
    return path


def test_geopackage_with_gbk_bytes_reads_as_text(tmp_path, parcels):
    path = _gpkg_with_raw_bytes(tmp_path / "gbk_inside.gpkg", parcels, STREETS[1].encode("gbk"))
    with pytest.warns(UserWarning, match=r"gbk_inside\.gpkg`: column 'street'.*not valid UTF-8"):
        got = read_layer(path)
    assert got["street"].tolist() == STREETS
    assert str(got)  # printing works


def test_geopackage_with_undecodable_bytes_is_refused(tmp_path, parcels):
    path = _gpkg_with_raw_bytes(tmp_path / "noise_inside.gpkg", parcels, b"\xff\xfe\xff")
    with pytest.raises(InputError, match=r"noise_inside\.gpkg`: column 'street', row 1\b"):
        read_layer(path)


def test_bad_bytes_beyond_the_sample_of_a_big_dbf(tmp_path):
    """The .cpg's UTF-8 fits the sampled start and end; GBK rows in the middle are caught."""
    n = 40_000
    notes = ["plain ascii text"] * n
    gdf = gpd.GeoDataFrame(
        {"note": notes},
        geometry=shapely.points(np.full(n, X0), np.full(n, Y0)),
        crs="EPSG:4548",
    )
    path = _shapefile(tmp_path, gdf, stem="big", encoding="UTF-8")
    path.with_suffix(".cpg").write_text("UTF-8")
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    header_len = int.from_bytes(data[8:10], "little")
    record_len = int.from_bytes(data[10:12], "little")
    middle = header_len + (n // 2) * record_len + 1
    data[middle : middle + 6] = "历下区".encode("gbk")
    dbf.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match=r"big\.shp`: column 'note'.*e\.g\. row 20000"):
        got = read_layer(path)
    assert got["note"].iloc[n // 2].startswith("历下区")


# --- 7: two columns for one canonical name ----------------------------------------


def test_empty_canonical_column_loses_to_the_alias_with_data(tmp_path, parcels):
    data = parcels.drop(columns="households").assign(户数=[10, 20, 30, 40], households=None)
    path = tmp_path / "two_households.gpkg"
    pyogrio.write_dataframe(data, path)
    with pytest.warns(UserWarning, match=r"'households' and '户数'.*'households' is empty"):
        got = read_layer(path, kind="parcels")
    assert got["households"].tolist() == [10, 20, 30, 40]
    assert list(got.columns).count("households") == 1
    assert "户数" not in got.columns
    findings = validate_layer(got, kind="parcels").to_frame()
    (row,) = findings.query("problem == 'duplicate_column'").itertuples()
    assert row.column == "households"
    assert "户数" in row.message


def test_columns_mapping_onto_an_existing_column_is_refused(tmp_path, parcels):
    path = tmp_path / "p.gpkg"
    pyogrio.write_dataframe(parcels, path)
    with pytest.raises(InputError, match=r"p\.gpkg.*'parcel_id' and 'street'.*'parcel_id'"):
        read_layer(path, columns={"street": "parcel_id"})


def test_two_aliases_with_different_values_are_refused(tmp_path, parcels):
    data = parcels.drop(columns="households").assign(户数=[1, 2, 3, 4], 总户数=[5, 6, 7, 8])
    path = tmp_path / "aliases.gpkg"
    pyogrio.write_dataframe(data, path)
    with pytest.raises(InputError, match=r"aliases\.gpkg.*'户数' and '总户数'.*'households'"):
        read_layer(path, kind="parcels")


# --- 8: geometry that cannot be measured, implausible magnitudes ------------------


def _with_geometry(parcels: gpd.GeoDataFrame, row: int, geom: shapely.Geometry):
    out = parcels.copy()
    out.loc[out.index[row], "geometry"] = geom
    return out


@pytest.fixture
def nan_vertex(parcels) -> gpd.GeoDataFrame:
    ring = np.asarray(shapely.get_coordinates(parcels.geometry.iloc[2]))
    ring[1, 0] = np.nan
    with np.errstate(invalid="ignore"):
        return _with_geometry(parcels, 2, shapely.Polygon(ring))


@pytest.fixture
def inf_vertex(parcels) -> gpd.GeoDataFrame:
    ring = np.asarray(shapely.get_coordinates(parcels.geometry.iloc[1]))
    ring[2, 1] = np.inf
    return _with_geometry(parcels, 1, shapely.set_coordinates(parcels.geometry.iloc[1], ring))


@pytest.fixture
def far_away(parcels) -> gpd.GeoDataFrame:
    """A parcel at 1e30 m in EPSG:4548."""
    return _with_geometry(parcels, 3, shapely.box(1e30, 1e30, 2e30, 2e30))


@pytest.mark.parametrize(
    ("fixture", "row"), [("nan_vertex", 2), ("inf_vertex", 1), ("far_away", 3)]
)
def test_unmeasurable_geometry_is_removed_by_validation(request, fixture, row):
    gdf = request.getfixturevalue(fixture)
    report = validate_layer(gdf, kind="parcels")
    found = report.to_frame().query("problem == 'bad_coordinates'")
    assert found["row"].tolist() == [row]
    assert (found["severity"] == "error").all()
    assert report.removed.index.tolist() == [row]
    assert row not in report.layer.index
    assert "invalid_geometry" not in set(report.to_frame()["problem"])


@pytest.mark.parametrize(
    ("fixture", "row"), [("nan_vertex", 2), ("inf_vertex", 1), ("far_away", 3)]
)
def test_area_stats_and_classification_refuse_unmeasurable_geometry(request, fixture, row):
    gdf = request.getfixturevalue(fixture)
    named = rf"parcels.*row {row}\b"
    with pytest.raises(InputError, match=rf"row {row}\b.*cannot|cannot be measured.*row {row}\b"):
        area(gdf)
    with pytest.raises(InputError, match=named):
        zone_stats(gdf, by="street", categories=False, policy=False)
    rule = {"id": "huge", "category": "demolish", "when": "area > 1e50", **REASONS}
    rules = parse_rules({"rules": [rule]})
    with pytest.raises(InputError, match=named):
        classify_parcels(gdf, rules)


def test_plausible_range_follows_the_crs(parcels):
    """1e30 is refused in EPSG:4548; 200° of longitude in EPSG:4490 too; Jinan is fine."""
    lonlat = parcels.to_crs(4490)
    assert area(lonlat).round().tolist() == [2500.0] * 4
    odd = _with_geometry(lonlat, 0, shapely.box(200, 36, 200.001, 36.001))
    with pytest.raises(InputError, match=r"row 0 lies at x 200\.0000.*EPSG:4490|row 0 lies"):
        area(odd)


def test_validation_without_repair_does_not_crash_on_invalid_overlaps(parcels):
    bow1 = shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    bow2 = shapely.Polygon([(X0 + 2, Y0), (X0 + 12, Y0 + 10), (X0 + 12, Y0), (X0 + 2, Y0 + 10)])
    gdf = _with_geometry(_with_geometry(parcels, 0, bow1), 1, bow2)
    report = validate_layer(gdf, kind="parcels", repair=False)
    invalid = report.to_frame().query("problem == 'invalid_geometry'")
    assert invalid["row"].tolist() == [0, 1]
    assert len(report.layer) == 4
    assert report.layer.geometry.equals(gdf.geometry)  # nothing changed


def test_nan_point_of_a_sites_layer(parcels):
    sites = gpd.GeoDataFrame(
        {"site_id": ["S1", "S2"]},
        geometry=[shapely.Point(X0, Y0), shapely.Point(np.nan, Y0)],
        crs="EPSG:4548",
    )
    found = validate_layer(sites, kind="sites").to_frame().query("problem == 'bad_coordinates'")
    assert found["id"].tolist() == ["S2"]


def test_implausible_counts_are_warnings(parcels):
    gdf = parcels.assign(
        households=[10.5, 200, 30, 40],  # 200 on 2000 m²: 10 per 100 m²
        population=[32, 64, 900, 128],  # 900 on 3000 m²: 30 per 100 m²
        floors=[2, 3, 4.5, 6],
    )
    report = validate_layer(gdf, kind="parcels")
    f = report.to_frame()
    frac = f.query("problem == 'fractional_count'")
    assert sorted(zip(frac["row"], frac["column"], strict=True)) == [
        (0, "households"),
        (2, "floors"),
    ]
    dense = f.query("problem == 'implausible_density'")
    assert sorted(zip(dense["row"], dense["column"], strict=True)) == [
        (1, "households"),
        (2, "population"),
    ]
    assert (f.loc[frac.index.union(dense.index), "severity"] == "warning").all()
    assert dense["message"].str.contains("per 100 m²").all()
    assert report.ok
    assert len(report.layer) == 4


# --- 9: unreadable files ----------------------------------------------------------


@pytest.fixture
def gpkg(tmp_path, parcels) -> Path:
    path = tmp_path / "good.gpkg"
    pyogrio.write_dataframe(parcels, path, layer="parcels")
    return path


def _two_lines(message: str) -> tuple[str, str]:
    first, _, second = message.partition("\n")
    return first, second


def test_empty_file(tmp_path):
    path = tmp_path / "empty.gpkg"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.gpkg` is empty \(0 bytes\).*again"):
        read_layer(path)


def test_truncated_geopackage(tmp_path, gpkg):
    path = tmp_path / "cut.gpkg"
    path.write_bytes(gpkg.read_bytes()[: gpkg.stat().st_size // 3])
    with pytest.raises(InputError) as e:
        read_layer(path)
    first, second = _two_lines(str(e.value))
    assert "cut.gpkg` is a damaged GeoPackage" in first
    assert second.startswith("(the reader said:")


def test_random_bytes_named_gpkg(tmp_path):
    path = tmp_path / "noise.gpkg"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(InputError, match=r"noise\.gpkg` is not a GeoPackage") as e:
        read_layer(path)
    assert "\n(the reader said:" in str(e.value)


@pytest.mark.parametrize("missing", [".dbf", ".shx"])
def test_shapefile_without_sidecar_is_refused(tmp_path, parcels, missing):
    path = _shapefile(tmp_path, parcels, stem="part", encoding="UTF-8")
    path.with_suffix(missing).unlink()
    with pytest.raises(
        InputError, match=rf"part\.shp` is an incomplete Shapefile: `part\{missing}`"
    ):
        read_layer(path)


def test_zipped_shapefile_without_dbf_is_refused(tmp_path, parcels):
    path = _shapefile(tmp_path, parcels, stem="zipped", encoding="UTF-8")
    archive = tmp_path / "delivery.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for ext in (".shp", ".shx", ".prj"):
            zf.write(path.with_suffix(ext), f"zipped{ext}")
    with pytest.raises(InputError, match=r"delivery\.zip::zipped\.shp.*`zipped\.dbf`"):
        read_layer(archive)


def test_unknown_layer_name(gpkg):
    with pytest.raises(InputError, match=r"good\.gpkg` has no layer 'parcel'.*\['parcels'\]"):
        read_layer(gpkg, layer="parcel")


def test_folder_passed_as_a_file(tmp_path):
    folder = tmp_path / "survey.gpkg"
    folder.mkdir()
    (folder / "readme.txt").write_text("not a layer")
    with pytest.raises(InputError, match=r"survey\.gpkg` is a folder, not a GeoPackage"):
        read_layer(folder)


def test_damaged_geojson(tmp_path):
    path = tmp_path / "half.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Fea')
    with pytest.raises(InputError, match=r"half\.geojson` .*GeoJSON") as e:
        read_layer(path)
    assert "\n(the reader said:" in str(e.value)


def test_messages_are_one_sentence_then_the_library(tmp_path, gpkg):
    """The first line is the planner's sentence; GDAL/SQLite text is only on the second."""
    path = tmp_path / "cut.gpkg"
    shutil.copy(gpkg, path)
    with path.open("r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(InputError) as e:
        read_layer(path)
    first, second = _two_lines(str(e.value))
    assert "sqlite" not in first.lower()
    assert first.endswith(".")
    assert second


@pytest.mark.parametrize("crs", ["EPSG:4490", "EPSG:3857"])
def test_unmeasurable_geometry_in_other_crss(parcels, crs):
    """Layers that must be reprojected to measure: the bad row is named, not a pyproj error."""
    moved = parcels.to_crs(crs)
    odd = _with_geometry(moved, 1, shapely.box(1e30, 1e30, 2e30, 2e30))
    with pytest.raises(InputError, match=r"row 1\b"):
        area(odd)
    with pytest.raises(InputError, match=r"row 1\b"):
        zone_stats(odd, by="street", categories=False, policy=False)


def test_damaged_geoparquet(tmp_path, parcels):
    path = tmp_path / "cut.parquet"
    parcels.to_parquet(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputError, match=r"cut\.parquet` cannot be read as GeoParquet") as e:
        read_layer(path)
    assert "\n(the reader said:" in str(e.value)
