"""Tests of geo_renewal.io: formats, encodings, declared CRSs, kinds, atomic writes."""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import geopandas.testing
import pyogrio
import shapely

from geo_renewal import io
from geo_renewal._errors import CRSError, InputError
from geo_renewal.crs import wgs84_to_bd09, wgs84_to_gcj02
from geo_renewal.io import atomic_write, read_layer, write_layer

FORMATS = [".gpkg", ".parquet", ".geojson", ".fgb", ".shp"]


@pytest.fixture
def parcels() -> gpd.GeoDataFrame:
    """Five parcels near Jinan in EPSG:4548 with Chinese text and Shapefile-safe names."""
    boxes = [
        shapely.box(500_000 + 120 * i, 4_063_000, 500_100 + 120 * i, 4_063_080) for i in range(5)
    ]
    return gpd.GeoDataFrame(
        {
            "parcel_id": [f"P{i:03d}" for i in range(5)],
            "街道": ["东关街道", "西关街道", "东关街道", "大明湖街道", "西关街道"],
            "floors": np.array([1, 2, 6, 18, 3], dtype="int64"),
            "floor_area": [120.5, 300.0, 2400.25, 9000.0, 410.0],
            "name": ["老城四合院", "宿舍楼", "商住楼", "高层住宅", "仓库"],
        },
        geometry=boxes,
        crs="EPSG:4548",
    )


def _assert_same(got: gpd.GeoDataFrame, expected: gpd.GeoDataFrame) -> None:
    geopandas.testing.assert_geodataframe_equal(
        got.reset_index(drop=True),
        expected.reset_index(drop=True),
        check_dtype=False,
        check_less_precise=True,
        check_like=True,
        normalize=True,
    )


def _gbk_shapefile_without_cpg(folder: Path, gdf: gpd.GeoDataFrame, stem: str = "地块") -> Path:
    path = folder / f"{stem}.shp"
    pyogrio.write_dataframe(gdf, path, encoding="GBK")
    path.with_suffix(".cpg").unlink()
    return path


# --- round trips --------------------------------------------------------------------


@pytest.mark.parametrize("ext", FORMATS)
def test_round_trip_every_format(tmp_path, parcels, ext):
    path = write_layer(parcels, tmp_path / f"plan{ext}")
    assert path == tmp_path / f"plan{ext}"
    back = read_layer(path)
    assert back.crs.to_epsg() == 4548
    _assert_same(back, parcels)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp leftovers


@pytest.mark.parametrize("ext", FORMATS)
def test_round_trip_lonlat_every_format(tmp_path, parcels, ext):
    lonlat = parcels.to_crs(4490)
    back = read_layer(write_layer(lonlat, tmp_path / f"plan{ext}"))
    assert back.crs.to_epsg() == 4490
    _assert_same(back, lonlat)


def test_round_trip_shapefile_is_gbk_with_cpg(tmp_path, parcels):
    path = write_layer(parcels, tmp_path / "plan.shp")
    assert path.with_suffix(".cpg").read_text().strip().upper() == "GBK"
    raw = path.with_suffix(".dbf").read_bytes()
    assert "东关街道".encode("gbk") in raw
    assert "街道".encode("gbk") in raw  # field name in GBK too


def test_round_trip_zipped_shapefile_and_folder(tmp_path, parcels):
    (tmp_path / "shp").mkdir()
    shp = _gbk_shapefile_without_cpg(tmp_path / "shp", parcels)
    archive = tmp_path / "parcels.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in shp.parent.iterdir():
            zf.write(f, f"data/{f.name}")
    from_zip = read_layer(archive)
    _assert_same(from_zip, parcels)
    from_folder = read_layer(shp.parent)
    _assert_same(from_folder, parcels)


def test_folder_with_several_shapefiles_needs_layer(tmp_path, parcels):
    write_layer(parcels, tmp_path / "a.shp")
    write_layer(parcels.iloc[:2], tmp_path / "b.shp")
    with pytest.raises(InputError, match=r"several layers \['a', 'b'\].*layer="):
        read_layer(tmp_path)
    assert len(read_layer(tmp_path, layer="b")) == 2
    with pytest.raises(InputError, match=r"no layer 'c'.*\['a', 'b'\]"):
        read_layer(tmp_path, layer="c")


# --- encodings ----------------------------------------------------------------------


def test_gbk_shapefile_without_cpg_reads_chinese(tmp_path, parcels):
    data = parcels.rename(columns={"parcel_id": "地块编号", "floors": "层数"}).assign(
        结构=["砖木", "砖混", "框架", "剪力墙", "简易"]
    )
    path = _gbk_shapefile_without_cpg(tmp_path, data)
    assert not path.with_suffix(".cpg").exists()
    back = read_layer(path)
    assert {"地块编号", "街道", "层数", "结构", "name"} <= set(back.columns)
    assert back["街道"].tolist() == data["街道"].tolist()
    assert back["name"].tolist() == data["name"].tolist()
    canonical = read_layer(path, kind="parcels")
    assert canonical["parcel_id"].tolist() == data["地块编号"].tolist()
    assert canonical["street"].tolist() == data["街道"].tolist()
    assert canonical["structure"].tolist() == [
        "brick_wood",
        "brick_concrete",
        "frame",
        "shear_wall",
        "simple",
    ]


def test_gbk_detection_samples_the_end_of_large_dbf(tmp_path):
    n = 30_000
    gdf = gpd.GeoDataFrame(
        {"note": ["plain ascii text"] * (n - 1) + ["历下区"]},
        geometry=shapely.points(np.full(n, 500_000.0), np.full(n, 4_063_000.0)),
        crs=4548,
    )
    path = _gbk_shapefile_without_cpg(tmp_path, gdf, stem="big")
    assert path.with_suffix(".dbf").stat().st_size > 2 * io._SAMPLE_BYTES
    assert read_layer(path)["note"].iloc[-1] == "历下区"


def test_utf8_shapefile_without_cpg(tmp_path, parcels):
    path = tmp_path / "u.shp"
    pyogrio.write_dataframe(parcels, path, encoding="UTF-8")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    assert read_layer(path)["街道"].tolist() == parcels["街道"].tolist()


def test_cpg_is_honoured(tmp_path, parcels):
    path = tmp_path / "c.shp"
    pyogrio.write_dataframe(parcels, path, encoding="GBK")
    assert path.with_suffix(".cpg").exists()
    assert read_layer(path)["name"].tolist() == parcels["name"].tolist()


def test_encoding_override(tmp_path, parcels):
    """`encoding=` declares; GBK bytes declared latin-1 or UTF-8 are read as GB18030, reported."""
    path = _gbk_shapefile_without_cpg(tmp_path, parcels)
    for wrong in ("latin-1", "utf-8"):
        with pytest.warns(UserWarning, match=r"`encoding=` declares.*read as GB18030"):
            back = read_layer(path, encoding=wrong)
        assert back["name"].tolist() == parcels["name"].tolist()
        assert back.attrs["read_findings"][0]["problem"] == "encoding_mismatch"
    assert read_layer(path, encoding="GBK")["name"].tolist() == parcels["name"].tolist()
    with pytest.raises(InputError, match="unknown `encoding` 'klingon'"):
        read_layer(path, encoding="klingon")


def test_dbf_encoding_guess():
    from geo_renewal._encoding import _dbf_encoding

    assert _dbf_encoding(b"") is None
    header = bytearray(32)
    header[8:10] = (65).to_bytes(2, "little")  # one field + terminator
    header[10:12] = (11).to_bytes(2, "little")
    field = "名称".encode("gbk").ljust(11, b"\0") + b"C" + bytes(20)
    sample = bytes(header) + field + b"\r" + b" " + "东关街道路".encode("gbk")
    assert _dbf_encoding(sample) == "GB18030"
    utf = bytes(header) + "名称".encode().ljust(11, b"\0") + b"C" + bytes(20) + b"\r" + b" abc"
    assert _dbf_encoding(utf) == "UTF-8"


@pytest.mark.parametrize(
    ("cpg", "codec"),
    [
        ("UTF-8", "utf-8"),
        ("utf8\n", "utf-8"),
        ("65001", "utf-8"),
        ("936", "gbk"),
        ("CP936", "gbk"),
        ("ANSI 936", "gbk"),
        ("GB2312", "gb2312"),
        ("1252", "cp1252"),
        ("88591", "iso8859-1"),
        ("ISO88591", "iso8859-1"),
        ("ISO-8859-5", "iso8859-5"),
        ("klingon", None),
    ],
)
def test_cpg_spellings(cpg, codec):
    from geo_renewal._encoding import _cpg_codec

    assert _cpg_codec(cpg) == codec


def test_ansi_language_byte_declares_nothing(tmp_path, parcels):
    """LDID 87 ("ANSI") on GBK bytes is what Chinese Windows writes: read silently as GB18030."""
    path = _gbk_shapefile_without_cpg(tmp_path, parcels)
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = 0x57
    dbf.write_bytes(bytes(data))
    got = read_layer(path)
    assert got["name"].tolist() == parcels["name"].tolist()
    assert "read_findings" not in got.attrs


def test_gb2312_cpg_on_gbk_text_is_read_silently(tmp_path, parcels):
    """GB18030 is the superset: 喆 is GBK, not GB 2312, and that is no contradiction."""
    data = parcels.assign(name=["张喆宅", *parcels["name"].iloc[1:]])
    path = _gbk_shapefile_without_cpg(tmp_path, data)
    path.with_suffix(".cpg").write_text("GB2312")
    got = read_layer(path)
    assert got["name"].tolist() == data["name"].tolist()
    assert "read_findings" not in got.attrs


# --- CRS declarations ---------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")
@pytest.mark.parametrize("ext", [".shp", ".gpkg"])
def test_layer_without_crs_refused_naming_file(tmp_path, parcels, ext):
    path = tmp_path / f"nocrs{ext}"
    pyogrio.write_dataframe(parcels.set_crs(None, allow_override=True), path, encoding="UTF-8")
    if ext == ".shp":
        path.with_suffix(".prj").unlink(missing_ok=True)
    with pytest.raises(CRSError, match=r"nocrs.*has no CRS.*crs='EPSG:4490'") as info:
        read_layer(path)
    assert "EPSG:4548" in str(info.value)  # the hint from the coordinates
    assert read_layer(path, crs="EPSG:4548").crs.to_epsg() == 4548


def test_conflicting_crs_refused_but_equal_ones_accepted(tmp_path, parcels):
    path = write_layer(parcels, tmp_path / "p.gpkg")
    with pytest.raises(CRSError, match=r"declares its CRS as EPSG:4548.*to_crs"):
        read_layer(path, crs="EPSG:4549")
    assert read_layer(path, crs=4548).crs.to_epsg() == 4548
    lonlat = write_layer(parcels.to_crs(4326), tmp_path / "ll.gpkg")
    assert read_layer(lonlat, crs="EPSG:4490").crs.to_epsg() == 4490  # 4326 ≈ 4490


def test_declared_crs_repairs_an_implausible_file_crs(tmp_path, parcels):
    prefixed = parcels.set_geometry(parcels.geometry.translate(xoff=39_000_000))
    path = write_layer(prefixed, tmp_path / "prefixed.gpkg")  # labelled 4548, eastings 39 5xx xxx
    with pytest.raises(CRSError, match=r"zone number 39.*EPSG:4527"):
        read_layer(path)
    fixed = read_layer(path, crs="EPSG:4527")
    assert fixed.crs.to_epsg() == 4527
    with pytest.raises(CRSError, match="zone number 39"):
        read_layer(path, crs="EPSG:4549")  # the repair must fit too


def test_gk_zone_prefix_refusals_on_read(tmp_path, parcels):
    path = write_layer(parcels.set_crs(4527, allow_override=True), tmp_path / "z.gpkg")
    with pytest.raises(CRSError, match=r"no zone number.*EPSG:4548"):
        read_layer(path)


def test_swapped_axes_refused_on_read(tmp_path):
    csv = tmp_path / "pts.csv"
    csv.write_text("id,lon,lat\n1,36.65,117.01\n2,36.66,117.02\n", encoding="utf-8")
    with pytest.raises(CRSError, match=r"swapped.*swap_xy"):
        read_layer(csv, crs=4326)
    gk = gpd.GeoDataFrame(geometry=[shapely.Point(4_063_000, 500_000)], crs=4548)
    with pytest.raises(CRSError, match="northing and easting look swapped"):
        read_layer(write_layer(gk, tmp_path / "gk.gpkg"))


@pytest.mark.parametrize(
    ("declared", "forward"),
    [
        ("gcj02", wgs84_to_gcj02),
        ("GCJ-02", wgs84_to_gcj02),
        ("BD-09", wgs84_to_bd09),
        ("bd09", wgs84_to_bd09),
    ],
)
def test_gcj02_and_bd09_declared_on_read(tmp_path, declared, forward):
    wgs = np.array([[117.0012, 36.6701], [117.0203, 36.6512], [117.11, 36.7]])
    shifted = forward(wgs)
    csv = tmp_path / "pois.csv"
    pd.DataFrame(
        {"名称": ["甲", "乙", "丙"], "经度": shifted[:, 0], "纬度": shifted[:, 1]}
    ).to_csv(csv, index=False)
    got = read_layer(csv, crs=declared)
    assert got.crs.to_epsg() == 4326
    np.testing.assert_allclose(shapely.get_coordinates(got.geometry.values), wgs, atol=1e-8)
    # Polygons from a file labelled EPSG:4326 but holding web-map coordinates.
    ring = shapely.Polygon(shifted)
    path = write_layer(
        gpd.GeoDataFrame({"a": [1]}, geometry=[ring], crs=4326), tmp_path / "w.gpkg"
    )
    back = read_layer(path, crs=declared)
    np.testing.assert_allclose(shapely.get_coordinates(back.geometry.values)[:3], wgs, atol=1e-8)


def test_gcj02_on_projected_file_refused(tmp_path, parcels):
    path = write_layer(parcels, tmp_path / "p.gpkg")
    with pytest.raises(CRSError, match="'gcj02' means GCJ-02 longitude/latitude"):
        read_layer(path, crs="gcj02")


def test_bad_crs_argument(tmp_path, parcels):
    path = write_layer(parcels, tmp_path / "p.gpkg")
    with pytest.raises(CRSError, match=r"is not a CRS.*'gcj02'"):
        read_layer(path, crs="EPSG:999999")


# --- kinds, aliases and values ------------------------------------------------------


@pytest.fixture
def survey(parcels) -> gpd.GeoDataFrame:
    """Parcels as a district office sends them: Chinese headers, coded values, dirt."""
    return gpd.GeoDataFrame(
        {
            "地块编号": ["001", "002", "003", "004", "005"],
            "用地性质": ["居住用地", "二类居住用地", "工业用地", "别墅区", "绿地 "],
            "结构": ["砖木", "砖混", "框架", "砖木结构", None],
            "层数": ["2", "3", "abc", "6", "1"],
            "建成年代": ["1958", "1985", "1990", "", "2001"],
            "户数": ["12", "40", "0", "8", "0"],
            "危房等级": ["C级", "b", "A", "D级", "A"],
            "是否文保": ["否", "是", "否", "否", "否"],
            "备注": ["x", "y", "z", "w", "v"],
        },
        geometry=parcels.geometry.to_numpy(),
        crs=4548,
    )


def test_kind_maps_chinese_headers_and_values(tmp_path, survey):
    path = write_layer(survey, tmp_path / "survey.gpkg")
    got = read_layer(path, kind="parcels")
    assert list(got.columns) == [
        "parcel_id",
        "land_use",
        "structure",
        "floors",
        "build_year",
        "households",
        "danger_grade",
        "listed",
        "备注",
        "geometry",
    ]
    assert got["parcel_id"].tolist() == ["001", "002", "003", "004", "005"]
    assert got["land_use"].tolist() == [
        "residential",
        "residential",
        "industrial",
        "别墅区",
        "green",
    ]
    assert got["structure"].iloc[:4].tolist() == [
        "brick_wood",
        "brick_concrete",
        "frame",
        "brick_wood",
    ]
    assert pd.isna(got["structure"].iloc[4])
    assert got["danger_grade"].tolist() == ["C", "B", "A", "D", "A"]
    # Dirty numbers are left as text for validate_layer; clean ones become numbers.
    assert got["floors"].tolist() == ["2", "3", "abc", "6", "1"]
    assert pd.api.types.is_numeric_dtype(got["households"])
    assert got["households"].sum() == 60
    assert pd.api.types.is_numeric_dtype(got["build_year"])
    assert got["build_year"].isna().tolist() == [False, False, False, True, False]
    assert got["listed"].tolist() == [False, True, False, False, False]
    # Input file untouched, and no kind means no renaming.
    assert "地块编号" in read_layer(path).columns


def test_user_columns_mapping_and_errors(tmp_path, survey):
    path = write_layer(survey.rename(columns={"地块编号": "宗号"}), tmp_path / "s.gpkg")
    got = read_layer(path, kind="parcels", columns={"宗号": "parcel_id", "备注": "note"})
    assert {"parcel_id", "note"} <= set(got.columns)
    with pytest.raises(InputError, match=r"does not have: \['nope'\]"):
        read_layer(path, columns={"nope": "x"})
    with pytest.raises(InputError, match=r"unknown `kind` 'parcel'.*'parcels'"):
        read_layer(path, kind="parcel")


def test_alias_does_not_clobber_existing_canonical(tmp_path, parcels):
    gdf = parcels.assign(地块编号=["x"] * 5)
    with pytest.warns(UserWarning, match=r"'地块编号' also means 'parcel_id'.*own header"):
        got = read_layer(write_layer(gdf, tmp_path / "p.gpkg"), kind="parcels")
    assert got["parcel_id"].tolist() == parcels["parcel_id"].tolist()
    assert "地块编号" in got.columns


# --- tables -------------------------------------------------------------------------


def test_csv_with_wkt(tmp_path, parcels):
    csv = tmp_path / "p.csv"
    pd.DataFrame(
        {"地块编号": ["001", "002"], "WKT": parcels.geometry.iloc[:2].to_wkt().tolist()}
    ).to_csv(csv, index=False)
    with pytest.raises(CRSError, match=r"column 'WKT'.*crs="):
        read_layer(csv)
    got = read_layer(csv, crs=4548, kind="parcels")
    assert got["parcel_id"].tolist() == ["001", "002"]  # leading zeros kept
    assert got.geometry.geom_equals(parcels.geometry.iloc[:2]).all()
    assert "WKT" not in got.columns


def test_csv_gbk_with_lonlat(tmp_path):
    csv = tmp_path / "sites.csv"
    text = "安置地块编号,名称,经度,纬度\n007,东郊安置区,117.05,36.68\n008,西郊安置区,116.95,\n"
    csv.write_bytes(text.encode("gbk"))
    got = read_layer(csv, crs="EPSG:4490", kind="sites")
    assert got["site_id"].tolist() == ["007", "008"]
    assert got["name"].tolist() == ["东郊安置区", "西郊安置区"]
    assert got.geometry.iloc[0].equals(shapely.Point(117.05, 36.68))
    assert got.geometry.iloc[1] is None  # blank coordinate -> missing geometry, row kept


def test_csv_bad_values_named_by_row(tmp_path):
    bad_wkt = tmp_path / "w.csv"
    bad_wkt.write_text("id,wkt\n1,POINT (117 36)\n2,POINT (117\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"not WKT in rows \[3\]"):
        read_layer(bad_wkt, crs=4326)
    bad_xy = tmp_path / "xy.csv"
    bad_xy.write_text("id,lon,lat\n1,117.0,36.6\n2,117.1E,36.6\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"'lon' holds non-numeric coordinates in rows \[3\]"):
        read_layer(bad_xy, crs=4326)
    none = tmp_path / "none.csv"
    none.write_text("id,name\n1,a\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no geometry.*经度/纬度"):
        read_layer(none, crs=4326)


def test_xlsx_with_wkt_and_lonlat_sheets(tmp_path, parcels):
    xlsx = tmp_path / "survey.xlsx"
    with pd.ExcelWriter(xlsx, engine="openpyxl") as xw:
        pd.DataFrame(
            {"地块编号": ["001", "002"], "geometry": parcels.geometry.iloc[:2].to_wkt().tolist()}
        ).to_excel(xw, sheet_name="parcels", index=False)
        pd.DataFrame({"名称": ["甲"], "lng": [117.0], "lat": [36.6]}).to_excel(
            xw, sheet_name="点位", index=False
        )
    with pytest.raises(InputError, match=r"several layers \['parcels', '点位'\]"):
        read_layer(xlsx, crs=4548)
    got = read_layer(xlsx, crs=4548, kind="parcels")  # sheet chosen by kind
    assert got["parcel_id"].tolist() == ["001", "002"]
    pts = read_layer(xlsx, layer="点位", crs="EPSG:4490")
    assert pts.geometry.iloc[0].equals(shapely.Point(117.0, 36.6))
    with pytest.raises(InputError, match=r"no layer 'x'.*\['parcels', '点位'\]"):
        read_layer(xlsx, layer="x", crs=4326)


# --- errors -------------------------------------------------------------------------


def test_missing_file_unknown_extension_unknown_layer(tmp_path, parcels):
    with pytest.raises(InputError, match="does not exist"):
        read_layer(tmp_path / "nope.gpkg")
    odd = tmp_path / "a.dwg"
    odd.write_bytes(b"\0")
    with pytest.raises(InputError, match=r"unknown extension '.dwg'.*\.gpkg"):
        read_layer(odd)
    path = write_layer(parcels, tmp_path / "m.gpkg", layer="parcels")
    write_layer(parcels.iloc[:1], path, layer="districts")
    with pytest.raises(InputError, match=r"no layer 'roads'.*\['parcels', 'districts'\]"):
        read_layer(path, layer="roads")
    with pytest.raises(InputError, match=r"several layers.*layer="):
        read_layer(path)
    assert len(read_layer(path, kind="districts")) == 1  # the layer named like the kind


def test_read_logs_at_info(tmp_path, parcels, caplog):
    path = write_layer(parcels, tmp_path / "p.parquet")
    with caplog.at_level(logging.INFO, logger="geo_renewal.io"):
        read_layer(path)
    assert any("reading" in r.message and "p.parquet" in r.message for r in caplog.records)


# --- writing ------------------------------------------------------------------------


def test_write_refusals(tmp_path, parcels):
    with pytest.raises(InputError, match=r"unknown extension '.dxf'.*\.gpkg.*\.shp"):
        write_layer(parcels, tmp_path / "a.dxf")
    with pytest.raises(InputError, match="needs a GeoPackage"):
        write_layer(parcels, tmp_path / "a.parquet", layer="x")
    with pytest.raises(CRSError, match="has no CRS"):
        write_layer(parcels.set_crs(None, allow_override=True), tmp_path / "a.gpkg")
    with pytest.raises(InputError, match="must be a GeoDataFrame"):
        write_layer(pd.DataFrame({"a": [1]}), tmp_path / "a.gpkg")


def test_shapefile_field_name_refused(tmp_path, parcels):
    gdf = parcels.assign(建成年代年份=1990, danger_grade="A")
    with pytest.raises(
        InputError, match=r"建成年代年份 \(12 bytes\).*danger_grade \(12 bytes\).*GeoPackage"
    ):
        write_layer(gdf, tmp_path / "p.shp")
    assert not list(tmp_path.iterdir())
    with pytest.raises(InputError, match=r"cannot encode.*GeoPackage"):
        write_layer(parcels.assign(name="😀"), tmp_path / "p.shp")


def test_gpkg_layers_are_added_and_replaced_keeping_others(tmp_path, parcels):
    path = tmp_path / "plan.gpkg"
    write_layer(parcels, path, layer="parcels")
    write_layer(parcels.iloc[:2], path, layer="districts")
    write_layer(parcels.iloc[:3], path, layer="parcels")  # replace
    layers = dict(pyogrio.list_layers(path)[:, :2].tolist())
    assert set(layers) == {"parcels", "districts"}
    assert len(read_layer(path, layer="parcels")) == 3
    assert len(read_layer(path, layer="districts")) == 2
    write_layer(parcels, path)  # no layer: the whole file is replaced
    assert pyogrio.list_layers(path)[:, 0].tolist() == ["plan"]


def _half_then_fail(real):
    def writer(gdf, tmp, *args, **kwargs):
        real(gdf.iloc[:1], tmp, *args, **kwargs)
        assert Path(tmp).exists()
        msg = "disk full"
        raise OSError(msg)

    return writer


@pytest.mark.parametrize("ext", FORMATS)
def test_interrupted_write_leaves_earlier_file_intact(tmp_path, parcels, monkeypatch, ext):
    path = write_layer(parcels, tmp_path / f"plan{ext}")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setattr(io, "_write_vector", _half_then_fail(io._write_vector))
    monkeypatch.setattr(io, "_write_parquet", _half_then_fail(io._write_parquet))
    with pytest.raises(OSError, match="disk full"):
        write_layer(parcels.iloc[:2], path)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # same files, same bytes, no temp leftovers
    _assert_same(read_layer(path), parcels)


def test_interrupted_gpkg_layer_update_keeps_all_layers(tmp_path, parcels, monkeypatch):
    path = tmp_path / "plan.gpkg"
    write_layer(parcels, path, layer="parcels")
    write_layer(parcels.iloc[:2], path, layer="districts")
    before = path.read_bytes()
    monkeypatch.setattr(io, "_write_vector", _half_then_fail(io._write_vector))
    with pytest.raises(OSError, match="disk full"):
        write_layer(parcels.iloc[:1], path, layer="parcels")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["plan.gpkg"]


def test_shapefile_set_swap_rolls_back(tmp_path, parcels, monkeypatch):
    path = write_layer(parcels, tmp_path / "plan.shp")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real_replace = os.replace
    calls = {"n": 0}

    def flaky(src, dst):
        calls["n"] += 1
        if calls["n"] == 8:  # after the old set is moved aside and part of the new one placed
            msg = "interrupted"
            raise OSError(msg)
        return real_replace(src, dst)

    monkeypatch.setattr(io.os, "replace", flaky)
    with pytest.raises(OSError, match="interrupted"):
        write_layer(parcels.iloc[:2], path)
    monkeypatch.setattr(io.os, "replace", real_replace)
    assert calls["n"] > 8  # the failure, then the rollback
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before


def test_shapefile_write_removes_stale_sidecars(tmp_path, parcels):
    path = write_layer(parcels, tmp_path / "plan.shp")
    stale = path.with_suffix(".qix")
    stale.write_bytes(b"old spatial index")
    write_layer(parcels.iloc[:2], path)
    assert not stale.exists()
    assert len(read_layer(path)) == 2
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".cpg", ".dbf", ".prj", ".shp", ".shx"]


def test_atomic_write(tmp_path):
    target = tmp_path / "sub" / "report.txt"
    with atomic_write(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp.suffix == ".txt"
        tmp.write_text("v1", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "v1"

    def interrupted() -> None:
        with atomic_write(target) as tmp:
            tmp.write_text("half", encoding="utf-8")
            msg = "boom"
            raise RuntimeError(msg)

    with pytest.raises(RuntimeError, match="boom"):
        interrupted()
    assert target.read_text(encoding="utf-8") == "v1"
    with atomic_write(target, keep_existing=True) as tmp:
        tmp.write_text(tmp.read_text(encoding="utf-8") + "+v2", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "v1+v2"
    with pytest.raises(InputError, match="produced no file"), atomic_write(target):
        pass
    assert [p.name for p in target.parent.iterdir()] == ["report.txt"]


def test_path_with_layer_suffix_reads_that_layer(tmp_path):
    import geopandas as gpd
    from shapely import Point

    from geo_renewal.io import read_layer, write_layer

    path = tmp_path / "two.gpkg"
    for name, x in (("a", 1.0), ("b", 2.0)):
        write_layer(
            gpd.GeoDataFrame({"v": [x]}, geometry=[Point(x, 0)], crs=4548), path, layer=name
        )
    assert read_layer(f"{path}::b")["v"].tolist() == [2.0]
    assert read_layer(f"{path}::b", layer="b")["v"].tolist() == [2.0]
    with pytest.raises(InputError, match="use one"):
        read_layer(f"{path}::b", layer="a")
    with pytest.raises(InputError, match=r"PATH::LAYER"):
        read_layer(path)
