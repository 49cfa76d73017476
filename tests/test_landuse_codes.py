"""Tests of geo_renewal.landuse_codes: code tables, crosswalk, codes on read, rules on fine codes."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely

from geo_renewal import landuse_codes as lc
from geo_renewal import schema, settings
from geo_renewal._errors import InputError
from geo_renewal.expression import evaluate_expression
from geo_renewal.io import read_layer, write_layer
from geo_renewal.validate import validate_layer

#: Counts of the published standards: (一级, 二级, 三级).
COUNTS = {
    "gbt21010": {1: 13, 2: 77, 3: 12},  # 12 + 三调's 00 湿地; 73 + 05H1, 0508, 08H1, 08H2
    "ydyh2023": {1: 24, 2: 106, 3: 39},
    "gb50137": {1: 10, 2: 44, 3: 56},  # H, E + 8 大类; 9 + 35 中类; 14 + 42 小类
}


def _layer(columns: dict[str, list], n: int | None = None) -> gpd.GeoDataFrame:
    n = n or len(next(iter(columns.values())))
    boxes = [
        shapely.box(500_000 + 60 * i, 4_063_000, 500_050 + 60 * i, 4_063_040) for i in range(n)
    ]
    return gpd.GeoDataFrame(columns, geometry=boxes, crs="EPSG:4548")


def _read(path: Path, **kw) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return read_layer(path, **kw)


@pytest.mark.parametrize("scheme", list(lc.SCHEMES))
def test_every_code_parses_and_maps(scheme):
    table = lc.code_tables()[scheme]
    cw = lc.crosswalk()
    levels = pd.Series([c.level for c in table.codes.values()]).value_counts().to_dict()
    assert levels == COUNTS[scheme]
    for code, entry in table.codes.items():
        assert lc.normalise_code(code, scheme) == code
        assert lc._lookup(code, scheme) == (code, "code")
        assert cw[scheme, code] in schema.LAND_USES, code
        assert lc.land_use_of(code, scheme) == cw[scheme, code]
        if entry.parent:
            assert entry.parent in table.codes, code
    # the crosswalk names no code outside the tables
    assert {c for s, c in cw if s == scheme} == set(table.codes)


def test_the_codes_the_issue_names():
    assert lc.land_use_of("0701", "gbt21010") == "residential"
    assert lc.land_use_of("05H1", "gbt21010") == "commercial"
    assert lc.land_use_of("0702", "gbt21010") == "rural_homestead"
    assert lc.land_use_of("070301", "ydyh2023") == "rural_homestead"
    assert lc.land_use_of("0702", "ydyh2023") == "public"  # 城镇社区服务设施用地
    assert lc.land_use_of("1202", "ydyh2023") == "road"  # 公路用地
    assert lc.land_use_of("1202", "gbt21010") == "other"  # 设施农用地
    assert lc.land_use_of("R2", "gb50137") == "residential"
    assert lc.land_use_of("r2", "gb50137") == "residential"
    assert lc.land_use_of("B1", "gb50137") == "commercial"
    assert schema.label("rural_homestead") == "农村宅基地"


def test_names_and_mixed_codes():
    assert lc._lookup("农村宅基地", "gbt21010") == ("0702", "name")
    assert lc._lookup("R2/B1", "gb50137") == ("R2", "mixed")
    assert lc._lookup("B1B2", "gb50137") == ("B1", "mixed")
    assert lc._lookup(701, "gbt21010") == ("0701", "code")  # read as a number
    assert lc._lookup("ZZ", "gb50137") is None


def test_closest_code():
    assert lc.closest_code("07O2", "gbt21010") == "0702"
    assert lc.closest_code("05HI", "gbt21010") == "05H1"
    assert lc.closest_code("城镇住宅", "ydyh2023") == "0701"


@pytest.mark.parametrize("ext", [".gpkg", ".shp", ".csv"])
def test_round_trip_dlbm_dlmc(tmp_path, ext):
    dltb = _layer(
        {
            "BSM": ["1", "2", "3", "4", "5"],
            "DLBM": ["0701", "0702", "05H1", "1201", "0101"],
            "DLMC": ["城镇住宅用地", "农村宅基地", "商业服务业设施用地", "空闲地", "水田"],
        }
    )
    path = tmp_path / f"dltb{ext}"
    if ext == ".csv":
        frame = pd.DataFrame(dltb.drop(columns="geometry"))
        frame["wkt"] = dltb.geometry.to_wkt()
        frame.to_csv(path, index=False)
        got = _read(path, kind="parcels", crs=4548)
    else:
        write_layer(dltb, path)
        got = _read(path, kind="parcels")
    assert got["dlbm"].tolist() == ["0701", "0702", "05H1", "1201", "0101"]
    assert got["land_use_code"].tolist() == got["dlbm"].tolist()
    assert set(got["land_use_scheme"]) == {"gbt21010"}
    assert got["land_use_name"].tolist() == dltb["DLMC"].tolist()
    assert got["land_use"].tolist() == [
        "residential",
        "rural_homestead",
        "commercial",
        "vacant",
        "other",
    ]
    assert got["parcel_id"].astype(str).tolist() == ["1", "2", "3", "4", "5"]  # from BSM
    report = validate_layer(got, kind="parcels")
    assert "unknown_code" not in set(report.findings["problem"])


def test_round_trip_ydyh_codes(tmp_path):
    layer = _layer(
        {
            "地块编号": ["A", "B", "C", "D"],
            "YDYHFLDM": ["070101", "0703", "0702", "1403"],
            "YDYHFLMC": ["一类城镇住宅用地", "农村宅基地", "城镇社区服务设施用地", "广场用地"],
        }
    )
    write_layer(layer, tmp_path / "ydyh.gpkg")
    got = _read(tmp_path / "ydyh.gpkg", kind="parcels")
    assert got["land_use_scheme"].tolist() == ["ydyh2023"] * 4
    assert got["land_use"].tolist() == ["residential", "rural_homestead", "public", "green"]
    assert got["ydyhfldm"].tolist() == ["070101", "0703", "0702", "1403"]


def test_kongui_planned_codes_and_generic_code_column(tmp_path):
    layer = _layer(
        {
            "地块编号": ["A", "B", "C"],
            "用地代码": ["R2", "B1", "G1"],
            "规划用地性质": ["R2", "B1/B2", "S1"],
        }
    )
    write_layer(layer, tmp_path / "kg.gpkg")
    got = _read(tmp_path / "kg.gpkg", kind="parcels")
    assert got["land_use_scheme"].tolist() == ["gb50137"] * 3
    assert got["land_use"].tolist() == ["residential", "commercial", "green"]
    assert got["planned_use"].tolist() == ["residential", "commercial", "road"]
    assert got["planned_use_code"].tolist() == ["R2", "B1", "S1"]


def test_ambiguous_codes_use_the_name_column():
    # 0702 is 农村宅基地 in 三调 but 城镇社区服务设施用地 in 用地用海: the names decide
    df = pd.DataFrame(
        {"land_use_code": ["0702", "0701"], "land_use_name": ["农村宅基地", "城镇住宅用地"]}
    )
    out, _ = lc.recognise_land_use(df, name="x")
    assert out["land_use_scheme"].tolist() == ["gbt21010"] * 2
    assert out["land_use"].tolist() == ["rural_homestead", "residential"]
    df["land_use_name"] = ["城镇社区服务设施用地", "城镇住宅用地"]
    out, _ = lc.recognise_land_use(df, name="x")
    assert out["land_use_scheme"].tolist() == ["ydyh2023"] * 2
    assert out["land_use"].tolist() == ["public", "residential"]


def test_unknown_codes_are_findings_with_the_closest_code(tmp_path):
    layer = _layer({"地块编号": ["A", "B", "C"], "DLBM": ["0701", "07O2", "07O2"]})
    write_layer(layer, tmp_path / "bad.gpkg")
    with pytest.warns(UserWarning, match="'07O2'.*closest is '0702'"):
        got = read_layer(tmp_path / "bad.gpkg", kind="parcels")
    assert got["land_use"].tolist() == ["residential", None, None]
    assert got["land_use_code"].tolist() == ["0701", "07O2", "07O2"]
    report = validate_layer(got, kind="parcels")
    found = report.findings[report.findings["problem"] == "unknown_land_use_code"]
    assert found["row"].tolist() == [1, 2]
    assert found["value"].tolist() == ["07O2 → 0702"] * 2
    assert "(2 rows)" in found["message"].iloc[0]
    assert len(report.layer) == 3  # every row kept


def test_code_and_name_disagreeing_is_a_warning():
    df = pd.DataFrame(
        {
            "dlbm": ["0702", None, "0701", "0702", "0702", "1201"],
            "dlmc": ["城镇住宅用地", "空闲地", None, "农村宅基地", "城镇住宅用地", ""],
        }
    )
    out, findings = lc.recognise_land_use(df, name="dltb")
    assert out["land_use"].tolist() == [
        "rural_homestead",
        None,
        "residential",
        "rural_homestead",
        "rural_homestead",
        "vacant",
    ]
    assert [(f["problem"], f["row"]) for f in findings] == [
        ("code_name_mismatch", 0),
        ("code_name_mismatch", 4),
    ]
    assert "is 农村宅基地 but dlmc says '城镇住宅用地' (2 rows)" in findings[0]["message"]
    assert findings[0]["value"] == "0702 ≠ 城镇住宅用地"


def test_land_use_classes_are_left_alone(sample_parcels):
    out, findings = lc.recognise_land_use(sample_parcels, name="sample")
    assert findings == []
    assert "land_use_code" not in out.columns
    assert out["land_use"].equals(sample_parcels["land_use"])


def test_edited_crosswalk(tmp_path, monkeypatch):
    path = tmp_path / "cw.csv"
    path.write_text("# mine\nscheme,code,land_use\ngbt21010,0702,residential\n", "utf-8")
    monkeypatch.setattr(settings, "landuse_crosswalk", str(path), raising=False)
    assert lc.land_use_of("0702", "gbt21010") == "residential"
    assert lc.land_use_of("0701", "gbt21010") == "residential"  # bundled row kept
    path.write_text("scheme,code,land_use\ngbt21010,0799,residential\n", "utf-8")
    with pytest.raises(InputError, match=r"row 2: '0799' is not a code of gbt21010"):
        lc.crosswalk()
    path.write_text("scheme,code,land_use\ngbt21010,0702,homestead\n", "utf-8")
    with pytest.raises(InputError, match="land_use 'homestead' is not one of"):
        lc.crosswalk()


def test_rules_on_fine_codes():
    df = pd.DataFrame(
        {
            "dlbm": ["0701", "0702", None, "1201"],
            "land_use_code": ["0701", "05H1", "070301", None],
        }
    )
    assert evaluate_expression('dlbm in ["0701", "0702"]', df).tolist() == [1, 1, 0, 0]
    got = evaluate_expression('land_use_code.startswith("07")', df)
    assert got.tolist() == [True, False, True, False]
    got = evaluate_expression('startswith(dlbm, "07") and not startswith(dlbm, "0701")', df)
    assert got.tolist() == [False, True, False, False]


def test_startswith_is_no_python_method():
    from geo_renewal._errors import RuleError

    df = pd.DataFrame({"dlbm": ["0701"]})
    for expr in ('dlbm.upper() == "A"', "startswith(dlbm, 7)", '"07".startswith(dlbm)'):
        with pytest.raises(RuleError, match="not allowed"):
            evaluate_expression(expr, df)


def test_classify_with_fine_code_rules(tmp_path, grid_parcels):
    from geo_renewal.classify import classify_parcels

    parcels = grid_parcels.head(4).copy()
    parcels["dlbm"] = ["0702", "0701", "0702", "05H1"]
    rules = tmp_path / "r.toml"
    rules.write_text(
        'name = "t"\n[[rules]]\nid = "homestead"\ncategory = "demolish"\n'
        'when = \'dlbm in ["0702"]\'\nreason_zh = "宅基地"\nreason_en = "Homestead"\n',
        "utf-8",
    )
    out = classify_parcels(parcels, rules)
    assert out["category"].tolist()[:4] == ["demolish", "unchanged", "demolish", "unchanged"]
    assert np.asarray(out["category"] == "demolish").sum() == 2
