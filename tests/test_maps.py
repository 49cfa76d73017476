"""Tests of geo_renewal.maps (meeting maps) and geo_renewal._html (escaping)."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest
from browser import open_in_chromium, pixel_stddev, requires_chromium, static_urls
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import geopandas as gpd
import shapely
from geopandas.testing import assert_geodataframe_equal

from geo_renewal import _mapdata as md
from geo_renewal import crs, settings
from geo_renewal._errors import CRSError, InputError
from geo_renewal._html import escape, escape_many, html_table, script_json
from geo_renewal.maps import CONSTRAINT_STYLES, renewal_map, save_map
from geo_renewal.schema import CATEGORIES, STAGES, label
from geo_renewal.text import say

folium = pytest.importorskip("folium")

XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "</script><script>alert(2)</script>"
XSS_TICK = "`;alert(3);`"
XSS_TEMPLATE = "${alert(4)}"
XSS_UNICODE = "\\u003cimg src=x onerror=alert(5)\\u003e"
XSS_HEX = "\\x3cimg src=x onerror=alert(6)\\x3e"
XSS_QUOTES = "\"'><svg onload=alert(7)>"
# branca compiles macro output as Jinja templates: data must never be evaluated in Python
JINJA = "{{ lipsum.__name__ }}{% if 1 %}J{% endif %}{# c #}"
PAYLOADS = [XSS_IMG, XSS_SCRIPT, XSS_TICK, XSS_TEMPLATE, XSS_UNICODE, XSS_HEX, XSS_QUOTES, JINJA]
HOSTILE = " ".join(PAYLOADS)
CODES = list(CATEGORIES)


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture
def classified(grid_parcels: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The 20 grid parcels with every built-in category, a user one and a missing one."""
    gdf = grid_parcels.copy()
    cats = [CODES[i % len(CODES)] for i in range(len(gdf))]
    cats[-2] = "custom_class"
    cats[-1] = None
    gdf["category"] = pd.Categorical(cats, categories=[*CODES, "custom_class"])
    gdf["rule_id"] = [f"R{i % 3}" for i in range(len(gdf))]
    gdf["reason"] = [f"理由 {i}" for i in range(len(gdf))]
    return gdf


@pytest.fixture
def hostile(classified: gpd.GeoDataFrame) -> dict:
    """Every kind of layer with hostile text in attributes, names, layer names and title."""
    gdf = classified.copy()
    gdf["reason"] = [PAYLOADS[i % len(PAYLOADS)] for i in range(len(gdf))]
    gdf["parcel_id"] = [
        f"{p}{PAYLOADS[i % len(PAYLOADS)]}" for i, p in enumerate(gdf["parcel_id"])
    ]
    gdf["category"] = gdf["category"].cat.rename_categories(
        {"custom_class": XSS_IMG + XSS_TEMPLATE}
    )
    bounds = gdf.total_bounds
    streets = gpd.GeoDataFrame(
        {"district_id": ["D1", "D2"], "name": [XSS_SCRIPT, XSS_UNICODE]},
        geometry=[
            shapely.box(bounds[0] - 5, bounds[1] - 5, bounds[0] + 215, bounds[3] + 5),
            shapely.box(bounds[0] + 215, bounds[1] - 5, bounds[2] + 5, bounds[3] + 5),
        ],
        crs=gdf.crs,
    )
    heritage = gpd.GeoDataFrame(
        {"name": [XSS_HEX]}, geometry=[shapely.box(*gdf.geometry.iloc[0].bounds)], crs=gdf.crs
    )
    river = gpd.GeoDataFrame(
        {"name": ["小清河"]},
        geometry=[shapely.LineString([(bounds[0], bounds[1] - 3), (bounds[2], bounds[1] - 3)])],
        crs=gdf.crs,
    )
    return {
        "classified": gdf,
        "districts": streets,
        "layers": {"heritage_core": heritage, XSS_IMG: heritage, JINJA: river, "river": river},
        "title": f"东关片区 {HOSTILE}",  # includes the Jinja payload
        "tooltip": ["parcel_id", "reason", "households"],
        "popup": ["parcel_id", "reason", "street"],
    }


@pytest.fixture
def plan_layers(classified: gpd.GeoDataFrame) -> dict:
    """Sites, flows and projects over the grid."""
    c = classified.geometry.centroid
    sites = gpd.GeoDataFrame(
        {
            "site_id": ["S1", "S2"],
            "name": ["安置一区", XSS_IMG],
            "capacity_units": [1200, 800],
            "allocated_households": [900, 640],
            "utilisation": [0.75, 0.8],
        },
        geometry=[
            classified.geometry.iloc[3].buffer(-10),
            classified.geometry.iloc[19].buffer(-10),
        ],
        crs=classified.crs,
    )
    flows = gpd.GeoDataFrame(
        {
            "unit_id": ["P00", "P01", "P10"],
            "site_id": ["S1", "S1", "S2"],
            "households": [10, 120, 40],
            "dist_m": [330.0, 220.5, 480.0],
        },
        geometry=[
            shapely.LineString([c.iloc[0], c.iloc[3]]),
            shapely.LineString([c.iloc[1], c.iloc[3]]),
            shapely.LineString([c.iloc[5], c.iloc[19]]),
        ],
        crs=classified.crs,
    )
    projects = gpd.GeoDataFrame(
        {
            "project_id": ["X1", "X2", "X3"],
            "name": ["东关棚改", "西关旧改", XSS_SCRIPT],
            "project_type": ["demolish", "retain_upgrade", "demolish"],
            "stage": ["signing", "works", "user_stage"],
            "overdue": [True, False, True],
            "signing_rate": [0.62, np.nan, 0.95],
            "days_behind": [30, 0, 12],
            "负责人": ["张三", "李四", XSS_TEMPLATE],
        },
        geometry=[
            shapely.box(*classified.geometry.iloc[0:2].total_bounds),
            shapely.box(*classified.geometry.iloc[6:8].total_bounds),
            shapely.box(*classified.geometry.iloc[12:14].total_bounds),
        ],
        crs=classified.crs,
    )
    return {"sites": sites, "flows": flows, "projects": projects}


def _layers(m: folium.Map) -> list:
    return [c for c in m._children.values() if getattr(c, "_name", "") == "GeoRenewalLayer"]


def _legend(m: folium.Map) -> str:
    dec = next(c for c in m._children.values() if c._name == "GeoRenewalDecorations")
    return json.loads(dec.spec_json)["legend"]


def _decode(layer) -> list[list[np.ndarray]]:
    """Decode a data layer back to per-feature lists of (lon, lat) arrays (one per path)."""
    data = json.loads(layer.data_json)
    xy = np.cumsum(np.asarray(data[md.COORDS], dtype=np.int64).reshape(-1, 2), axis=0)
    paths = np.split((xy + data[md.ORIGIN]) / data[md.SCALE], np.cumsum(data[md.PATH_SIZES])[:-1])
    ends = np.cumsum(data[md.FEATURE_SIZES])
    return [paths[a:b] for a, b in zip(np.r_[0, ends[:-1]], ends, strict=True)]


# ---------------------------------------------------------------------------- escaping


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escape_neutralises_payloads(payload):
    out = escape(payload)
    assert not set(out) & set("<>\"'`$\\{}")
    assert html.unescape(out) == payload


@given(st.text())
def test_escape_is_inert_everywhere_and_reads_the_same(text):
    out = escape(text)
    assert not set(out) & set("<>\"'`$\\{}\n\r\t\u2028\u2029")
    assert not re.search(r"[\x00-\x1f\x7f]", out)
    assert re.fullmatch(r"(?:[^&]|&(?:amp|lt|gt|quot|#\d+);)*", out)
    # valid JSON string content as is
    assert json.loads(f'"{out}"') == out
    clean = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "\ufffd", text)
    assert html.unescape(out) == clean


@given(st.recursive(st.text() | st.integers() | st.booleans(), lambda c: st.lists(c, max_size=3)))
def test_script_json_is_script_safe_and_round_trips(obj):
    js = script_json({"x": obj})
    assert not set(js) & set("<>&'`\u2028\u2029")
    assert json.loads(js) == {"x": obj}


def test_escape_missing_values_and_many():
    assert escape(None) == escape(np.nan) == escape(pd.NA) == ""
    assert escape(3) == "3"
    assert escape_many(["a<", None, "a<"]) == ["a&lt;", "", "a&lt;"]
    assert escape_many([1.5, 2.0], fmt=lambda v: f"{v:.1f} ㎡") == ["1.5 ㎡", "2.0 ㎡"]
    assert html_table({XSS_IMG: XSS_SCRIPT}).count("<") == 8  # the table tags only


# ---------------------------------------------------------------------------- structure


def test_layers_per_category_in_order_with_palette(classified):
    m = renewal_map(classified, tiles="none")
    layers = [lyr for lyr in _layers(m) if lyr.role.startswith("category:")]
    roles = [lyr.role.split(":", 1)[1] for lyr in layers]
    assert roles == [*CODES, "custom_class", "__unclassified__"]
    for lyr in layers:
        code = lyr.role.split(":", 1)[1]
        spec = json.loads(lyr.spec_json)
        if code in CATEGORIES:
            assert spec["style"]["fillColor"] == CATEGORIES[code].color
            assert CATEGORIES[code].zh in html.unescape(lyr.layer_name)
    custom = json.loads(layers[5].spec_json)["style"]["fillColor"]
    assert re.fullmatch(r"#[0-9a-f]{6}", custom)
    assert custom not in {c.color for c in CATEGORIES.values()}
    assert sum(lyr.n_features for lyr in layers) == len(classified)


def test_legend_counts_and_areas_equal_the_data(classified):
    m = renewal_map(classified, tiles="none")
    legend = _legend(m)
    rows = re.findall(
        r'<td class="gr-l">(?:<span[^>]*></span>)?(.*?)</td><td>([\d,]+)</td><td>([\d,.]+)</td>',
        legend,
    )
    got = {
        html.unescape(lbl): (int(n.replace(",", "")), float(a.replace(",", "")))
        for lbl, n, a in rows
    }
    area_ha = crs.area(classified) / 10_000
    codes = classified["category"].astype(object).fillna("__none__")
    for code in [*CODES, "custom_class", "__none__"]:
        lbl = {"custom_class": "custom_class", "__none__": "未分类"}.get(code) or CATEGORIES[
            code
        ].zh
        mask = codes == code
        assert got[lbl][0] == int(mask.sum())
        assert got[lbl][1] == pytest.approx(float(area_ha[mask].sum()), abs=0.006)
    assert got["合计"] == (len(classified), pytest.approx(float(area_ha.sum()), abs=0.006))


def test_zero_count_category_kept_in_legend_without_layer(classified):
    gdf = classified[classified["category"] != "retain_protect"]
    m = renewal_map(gdf, tiles="none")
    assert "保护保留</td><td>0</td>" in _legend(m)
    assert "category:retain_protect" not in [lyr.role for lyr in _layers(m)]


def test_english_labels(classified):
    m = renewal_map(classified, tiles="none", lang="en", tooltip=["parcel_id", "households"])
    legend = _legend(m)
    assert "Expropriate &amp; demolish" in legend
    assert "征收拆迁" not in legend
    spec = json.loads(_layers(m)[0].spec_json)
    assert spec["tip"]["labels"] == ["Parcel ID", "Households"]


def test_default_tooltip_fields_labels_and_only_those_exported(classified):
    gdf = classified.assign(secret_col="SECRET-VALUE-123")
    m = renewal_map(gdf, tiles="none")
    spec = json.loads(_layers(m)[0].spec_json)
    assert spec["tip"]["labels"] == [
        "地块编号",
        "判定理由",
        "户数（户）",
        "人口（人）",
        "建筑面积（㎡）",
        "街道",
    ]
    assert spec["tip"]["head"] == "征收拆迁"
    assert "pop" not in spec
    page = m.get_root().render()
    assert "SECRET-VALUE-123" not in page
    assert "brick_wood" not in page  # structure not exported by default


def test_tooltip_false_and_popup_true(classified):
    m = renewal_map(classified, tiles="none", tooltip=False, popup=True)
    spec = json.loads(_layers(m)[0].spec_json)
    assert "tip" not in spec
    assert "结构" in spec["pop"]["labels"]
    data = json.loads(_layers(m)[0].data_json)
    assert "砖木结构" in data["v"][0]  # coded values are labelled


def test_unknown_tooltip_column_is_refused(classified):
    with pytest.raises(InputError, match=r"`tooltip` names columns \['nope'\]"):
        renewal_map(classified, tiles="none", tooltip=["parcel_id", "nope"])


def test_bad_inputs(classified):
    with pytest.raises(InputError, match="has no 'category' column"):
        renewal_map(classified.drop(columns="category"), tiles="none")
    with pytest.raises(CRSError, match="no CRS"):
        renewal_map(classified.set_crs(None, allow_override=True), tiles="none")
    # the shared wording of _checks.check_choice (was "one of ['auto', 'none', …], got …")
    with pytest.raises(InputError, match=r"`tiles` must be one of 'auto', 'none'"):
        renewal_map(classified, tiles="google")
    with pytest.raises(InputError, match="`lang` must be"):
        renewal_map(classified, tiles="none", lang="fr")
    with pytest.raises(InputError, match="at least one layer"):
        renewal_map(None, tiles="none")


def test_inputs_not_mutated(hostile, plan_layers):
    before = {k: v.copy() for k, v in plan_layers.items()}
    parcels = hostile["classified"].copy()
    renewal_map(hostile["classified"], tiles="none", **plan_layers)
    assert_geodataframe_equal(parcels, hostile["classified"])
    for k, v in plan_layers.items():
        assert_geodataframe_equal(before[k], v)


def test_display_coordinates_are_wgs84_rounded(classified):
    m = renewal_map(classified, tiles="none", simplify=0)
    lyr = _layers(m)[0]
    first = _decode(lyr)[0][0]
    expected = shapely.get_coordinates(
        classified[classified["category"] == "demolish"].to_crs(4326).geometry.iloc[0]
    )[:-1]  # closing vertex dropped
    np.testing.assert_allclose(first, expected, atol=0.6e-6)
    assert re.search(r"\d\.\d{7}", lyr.data_json) is None


def test_encoding_round_trips_every_geometry_type():
    from geo_renewal._mapdata import encode_geoms as _encode_geoms

    geoms = np.array(
        [
            shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (2, 1), (2, 2), (1, 2)]]),
            shapely.MultiPolygon([shapely.box(10, 10, 11, 11), shapely.box(12, 12, 13, 14)]),
            shapely.LineString([(0, 0), (1, 2), (3, 1)]),
            shapely.MultiLineString([[(5, 5), (6, 6)], [(7, 7), (8, 9)]]),
            shapely.Point(3, 4),
            shapely.MultiPoint([(1, 1), (2, 3)]),
            shapely.GeometryCollection([shapely.box(20, 20, 21, 21), shapely.Point(0, 0)]),
        ]
    )
    geoms = shapely.transform(geoms, lambda c: 117 + c / 1000)
    enc = _encode_geoms(geoms, 6)
    assert enc["t"] == "0,0,1,1,2,2,0"

    class Layer:
        data_json = json.dumps(
            {md.SCALE: 10**6}
            | {
                k: json.loads(f"[{enc[k]}]")
                for k in (md.ORIGIN, md.COORDS, md.PATH_SIZES, md.FEATURE_SIZES)
            }
        )

    def rings(g):
        g = shapely.orient_polygons(g, exterior_cw=False)
        return [
            shapely.get_coordinates(r)[:-1]
            for p in shapely.get_parts(g)
            for r in shapely.get_rings(p)
        ]

    expected = [
        rings(geoms[0]),
        rings(geoms[1]),
        [shapely.get_coordinates(geoms[2])],
        [shapely.get_coordinates(p) for p in shapely.get_parts(geoms[3])],
        [shapely.get_coordinates(geoms[4])],
        [shapely.get_coordinates(p) for p in shapely.get_parts(geoms[5])],
        rings(shapely.union_all(shapely.get_parts(geoms[6])[:1])),
    ]
    decoded = _decode(Layer)
    assert shapely.Polygon(decoded[0][0]).exterior.is_ccw
    assert not shapely.Polygon(decoded[0][1]).exterior.is_ccw  # hole clockwise
    for got, exp in zip(decoded, expected, strict=True):
        assert len(got) == len(exp)
        for g, e in zip(got, exp, strict=True):
            np.testing.assert_allclose(g, e, atol=1e-9)


def test_big_layers_are_simplified_and_warned(monkeypatch, grid_parcels):
    # 400 m circles with ~0.01 m wiggles: simplification removes most vertices
    t = np.linspace(0, 2 * np.pi, 2000, endpoint=False)
    ring = np.c_[500_000 + 400 * np.cos(t), 4_063_000 + 400 * np.sin(t)]
    ring += np.random.default_rng(0).normal(scale=0.01, size=ring.shape)
    gdf = gpd.GeoDataFrame(
        {"parcel_id": ["A", "B"], "category": ["demolish", "unchanged"]},
        geometry=[shapely.Polygon(ring), shapely.Polygon(ring + 900)],
        crs="EPSG:4548",
    )
    monkeypatch.setattr(settings, "map_feature_warning", 1)
    with pytest.warns(
        UserWarning, match=r"simplified by 0.5 m \(4,002 → \d+ vertices\).*zones_from_parcels"
    ):
        m = renewal_map(gdf, tiles="none")
    n = sum(len(p) for f in _decode(_layers(m)[0]) for p in f)
    assert n < 500
    assert shapely.Polygon(_decode(_layers(m)[0])[0][0]).is_valid


def test_all_layer_kinds(classified, plan_layers, hostile):
    m = renewal_map(
        classified,
        districts=hostile["districts"],
        zones=gpd.GeoDataFrame(
            {"zone_id": ["Z1"], "category": ["demolish"]},
            geometry=[shapely.box(*classified.total_bounds)],
            crs=classified.crs,
        ),
        layers={
            "heritage_core": hostile["layers"]["heritage_core"],
            "river": hostile["layers"]["river"],
        },
        tiles="none",
        **plan_layers,
    )
    roles = [lyr.role for lyr in _layers(m)]
    for role in (
        "zones",
        "layer:heritage_core",
        "layer:river",
        "districts",
        "projects",
        "overdue",
        "sites",
        "flows",
    ):
        assert role in roles
    by_role = {lyr.role: lyr for lyr in _layers(m)}
    # constraints have their own dashed styles and are not interactive
    heritage = json.loads(by_role["layer:heritage_core"].spec_json)["style"]
    assert heritage["dashArray"] == CONSTRAINT_STYLES["heritage_core"][2]["dashArray"]
    assert heritage["interactive"] is False
    # projects coloured by stage; overdue outlined
    proj = json.loads(by_role["projects"].spec_json)
    proj_data = json.loads(by_role["projects"].data_json)
    fills = [proj["styles"][k]["fillColor"] for k in proj_data["s"]]
    assert fills[:2] == [STAGES["signing"][2], STAGES["works"][2]]
    assert re.fullmatch(r"#[0-9a-f]{6}", fills[2])
    assert by_role["overdue"].n_features == 2
    assert "负责人" in proj["pop"]["labels"]
    assert "62.0%" in proj_data["v"][0]
    legend = _legend(m)
    assert "逾期项目</td><td>2</td>" in legend
    assert "签约</td><td>1</td>" in legend
    # sites carry capacity labels, flows household counts and weights
    sites = json.loads(by_role["sites"].data_json)
    assert (
        sites["l"][0] == "<span class=gr-site>安置一区<br>900 户 / 1200 套</span>"
    )  # placed / capacity
    flows_spec = json.loads(by_role["flows"].spec_json)
    flows = json.loads(by_role["flows"].data_json)
    weights = [flows_spec["styles"][k]["weight"] for k in flows["s"]]
    assert weights[1] == max(weights)
    assert weights[0] == min(weights)
    assert flows["l"] == ["10 户", "120 户", "40 户"]


def test_hostile_text_is_escaped_in_the_html(hostile, plan_layers):
    m = renewal_map(tiles="none", **hostile, **plan_layers)
    page = m.get_root().render()
    assert page.count("<script") == page.count("</script>")
    for needle in ("<img", "<svg", "${alert", "\\u003cimg", "\\x3cimg", "`;alert", "'><svg"):
        assert needle not in page, needle
    assert "<script>alert" not in page
    assert "generate_lorem_ipsum" not in page  # no Jinja evaluation of data
    title = re.search(r"<title>(.*?)</title>", page).group(1)
    assert html.unescape(title) == hostile["title"]


def test_tiles(monkeypatch, classified):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    with pytest.raises(InputError, match=r"needs a Tianditu.*TIANDITU_KEY"):
        renewal_map(classified, tiles="tianditu")
    page = renewal_map(classified, tiles="auto").get_root().render()
    assert "tile.openstreetmap.org" in page
    monkeypatch.setenv("TIANDITU_KEY", "abc123def456")
    page = renewal_map(classified, tiles="auto").get_root().render()
    assert "tianditu.gov.cn/vec_w" in page
    assert "tianditu.gov.cn/cva_w" in page
    assert "tk=abc123def456" in page
    page = (
        renewal_map(classified, tiles="tianditu-img", tianditu_key="k0123456789")
        .get_root()
        .render()
    )
    assert "img_w" in page
    assert "cia_w" in page
    assert "tk=k0123456789" in page
    with pytest.raises(InputError, match="letters and digits"):
        renewal_map(classified, tiles="tianditu", tianditu_key="x'+alert(1)+'")
    page = renewal_map(classified, tiles="cartodb").get_root().render()
    assert "basemaps.cartocdn.com/light_all" in page
    for t in ("gaode", "gaode-img"):
        page = renewal_map(classified, tiles=t).get_root().render()
        assert "autonavi.com" in page
        assert "GCJ-02" in page
        assert "http://" not in re.sub(r'"attribution".*', "", page.split("L.tileLayer(")[1])


def test_gaode_shifts_display_copy_to_gcj02(classified):
    shifted = renewal_map(classified, tiles="gaode", simplify=0)
    plain = renewal_map(classified, tiles="none", simplify=0)
    sub = classified[classified["category"] == "demolish"]
    wgs = sub.to_crs(4326)
    gcj = crs.wgs84_to_gcj02(wgs)
    for i, (got, ref, base) in enumerate(
        zip(_decode(_layers(shifted)[0]), gcj.geometry, _decode(_layers(plain)[0]), strict=True)
    ):
        expected = shapely.get_coordinates(ref)[:-1]
        np.testing.assert_allclose(got[0], expected, atol=0.6e-6)
        np.testing.assert_allclose(
            base[0], shapely.get_coordinates(wgs.geometry.iloc[i])[:-1], atol=0.6e-6
        )
    # a known point: the shift near Jinan is hundreds of metres (lon ≈ +0.0058°)
    d = _decode(_layers(shifted)[0])[0][0][0] - _decode(_layers(plain)[0])[0][0][0]
    assert 0.004 < d[0] < 0.008
    assert 0 < d[1] < 0.002
    assert "GCJ-02" in _legend(shifted)
    assert "GCJ-02" not in _legend(plain)
    assert "WGS84" in _legend(plain)


# --------------------------------------------------------------------------- save / offline


def test_save_map_online_lists_cdn_only(tmp_path, classified):
    m = renewal_map(classified, tiles="none")
    out = save_map(m, tmp_path / "sub" / "m.html", offline=False)  # online: asked for
    urls = static_urls(out.read_text(encoding="utf-8"))
    assert urls
    assert all(u.startswith("https://cdn.jsdelivr.net/") for u in urls)
    assert not list(tmp_path.glob("sub/.*"))  # no temp files left


def test_offline_file_fetches_nothing(tmp_path, hostile, plan_layers):
    out = save_map(
        renewal_map(tiles="none", **hostile, **plan_layers), tmp_path / "m.html", offline=True
    )
    page = out.read_text(encoding="utf-8")
    assert static_urls(page) == []
    assert "Control.FullScreen" in page
    assert "L.Control.Measure" in page


def test_offline_plain_folium_map_drops_unshipped_fonts(tmp_path):
    m = folium.Map(tiles=None, location=[36.7, 117.0], zoom_start=12)
    folium.Marker([36.7, 117.0], icon=folium.Icon(icon="home")).add_to(m)
    with pytest.warns(UserWarning, match="Font Awesome"):
        out = save_map(m, tmp_path / "plain.html", offline=True)
    assert static_urls(out.read_text(encoding="utf-8")) == []


def test_offline_with_tiles_keeps_only_tile_urls(tmp_path, classified):
    out = save_map(renewal_map(classified, tiles="osm"), tmp_path / "m.html", offline=True)
    assert static_urls(out.read_text(encoding="utf-8")) == [
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    ]


def test_cli_map(tmp_path, classified):
    from geo_renewal.cli import cli
    from geo_renewal.io import write_layer

    src = write_layer(
        classified.assign(category=classified["category"].astype(object)), tmp_path / "c.gpkg"
    )
    heritage = write_layer(classified.iloc[:1][["geometry"]], tmp_path / "h.gpkg")
    out = tmp_path / "maps" / "m.html"
    res = CliRunner().invoke(
        cli,
        [
            "map",
            str(src),
            "--layer",
            f"heritage_core={heritage}",
            "--offline",
            "--title",
            "东关",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    page = out.read_text(encoding="utf-8")
    assert static_urls(page) == []
    assert "东关" in page
    assert "历史文化核心保护范围" in page
    res = CliRunner().invoke(
        cli, ["map", str(src), "--tiles", "tianditu", "--out", str(out)], env={"TIANDITU_KEY": ""}
    )
    assert res.exit_code == 1
    assert "TIANDITU_KEY" in res.output


# ------------------------------------------------------------------------------- browser


def _hover_and_click(page):
    """Hover the first parcel of every category layer, then click one (popup)."""
    for i in range(6):
        pt = page.evaluate(
            f"""() => {{
            const e = geoRenewal.layers[{i}], m = e.path._map;
            // close enough that parcels, not the zones around them, take the mouse
            m.setView(geoRenewal.featureLatLng(e, 0), 19, {{animate: false}});
            const p = m.latLngToContainerPoint(geoRenewal.featureLatLng(e, 0));
            const r = m.getContainer().getBoundingClientRect();
            return [p.x + r.left, p.y + r.top];
        }}"""
        )
        page.mouse.move(pt[0], pt[1])
        page.wait_for_timeout(80)
    page.mouse.click(pt[0], pt[1])
    page.wait_for_timeout(150)


@pytest.mark.browser
@requires_chromium
def test_browser_hostile_offline_map(tmp_path, hostile, plan_layers):
    m = renewal_map(tiles="none", popup=hostile.pop("popup"), **hostile, **plan_layers)
    out = save_map(m, tmp_path / "hostile.html", offline=True)
    res = open_in_chromium(
        out,
        actions=_hover_and_click,
        evaluate={
            "layers": "geoRenewal.layers.map(e => [e.name, e.count, !!e.path._map, !!e.layer._map])",
            "control": "document.querySelector('.leaflet-control-layers').textContent",
            "legend": "(() => { const l = document.querySelector('.gr-legend');"
            " const r = l.getBoundingClientRect(); return [l.textContent, r.width, r.height]; })()",
            "title": "document.querySelector('.gr-title').textContent",
            "tooltip": "(document.querySelector('.leaflet-tooltip.gr-tip, .leaflet-tooltip:not(.gr-label)')"
            " || {}).textContent || ''",
            "popup": "(document.querySelector('.leaflet-popup-content') || {}).textContent || ''",
            "labels": "Array.from(document.querySelectorAll('.gr-label')).map(e => e.textContent)",
            "injected": "document.querySelectorAll('.leaflet-container img, .leaflet-container svg image,"
            " body svg[onload]').length",
        },
    )
    assert res.errors == []
    assert res.dialogs == []
    assert res.external_requests == []
    layers = res.values["layers"]
    assert [html.unescape(n) for n, *_ in layers] == [
        html.unescape(lyr.layer_name) for lyr in _layers(m)
    ]
    assert [c for _, c, *_ in layers] == [lyr.n_features for lyr in _layers(m)]
    for name, _, drawn, on_map in layers:
        assert drawn, name
        assert on_map, name
    assert res.values["injected"] == 0
    assert XSS_IMG in res.values["control"]  # hostile layer name shown as text
    legend_text, w, h = res.values["legend"]
    assert w > 50
    assert h > 50
    assert "征收拆迁" in legend_text
    assert XSS_IMG in legend_text
    assert res.values["title"] == hostile["title"]
    assert any(p in res.values["tooltip"] for p in PAYLOADS), res.values["tooltip"]
    assert any(p in res.values["popup"] for p in PAYLOADS), res.values["popup"]
    assert XSS_SCRIPT in res.values["labels"]
    assert XSS_UNICODE in res.values["labels"]
    assert pixel_stddev(res.screenshot) > 10
    (tmp_path / "hostile.png").write_bytes(res.screenshot)


@pytest.mark.browser
@requires_chromium
def test_browser_online_map_requests_only_cdn(tmp_path, classified):
    out = save_map(renewal_map(classified, tiles="none"), tmp_path / "m.html", offline=False)
    res = open_in_chromium(out, screenshot=False)
    assert res.external_requests
    assert all("cdn.jsdelivr.net" in u for u in res.external_requests)


def test_project_labels_rank_overdue_projects_first_by_days_behind():
    """The label order of a meeting: overdue projects, most days behind first, then the rest."""
    boxes = [shapely.box(i * 100, 0, i * 100 + 50, 50) for i in range(5)]
    projects = gpd.GeoDataFrame(
        {
            "project_id": ["A", "B", "C", "D", "E"],
            "stage": ["signing"] * 5,
            "overdue": [False, True, True, False, True],
            "days_behind": [500.0, 10.0, 419.0, -5.0, 66.0],
        },
        geometry=boxes,
        crs="EPSG:4548",
    )
    m = renewal_map(None, projects=projects, tiles="none")
    data = json.loads({lyr.role: lyr for lyr in _layers(m)}["projects"].data_json)
    order = [pid for _, pid in sorted(zip(data["lr"], "ABCDE", strict=True))]
    assert order == ["C", "E", "B", "A", "D"]
    assert [("gr-hot" in lab) for lab in data["l"]] == [False, True, True, False, True]
    assert "滞后419天" in data["l"][2]


# ---------------------------------------------------------------------------- renewal units


def _saved_layers(html_text: str) -> list[dict]:
    """Every data layer's data as saved in the page."""
    blobs = re.findall(
        r'<script type="application/json" id="[^"]+_data">(.*?)</script>', html_text
    )
    return [json.loads(b) for b in blobs]


@pytest.mark.parametrize(("lang", "layer"), [("zh", "更新单元"), ("en", "Renewal units")])
def test_renewal_units_drawn_labelled_and_hovered_for_their_checks(tmp_path, lang, layer):
    """The units layer: labelled by name, hovered for its 63号文 figures, in the map's language."""
    from geo_renewal.units import check_units, unit_checks

    x, y = 500_000.0, 4_060_000.0
    parcels = gpd.GeoDataFrame(
        {
            "parcel_id": ["P1", "P2", "P3"],
            "category": ["demolish", "retain_protect", "unchanged"],
            "floor_area": [3000.0, 1000.0, 500.0],
            "households": [10, 5, 2],
        },
        geometry=[shapely.box(x + a, y, x + a + 100, y + 100) for a in (0, 100, 300)],
        crs="EPSG:4548",
    )
    units = check_units(
        gpd.GeoDataFrame(
            {"name": ["老城东单元", "河畔单元"], "planned_floor_area": [5000.0, 600.0]},
            geometry=[
                shapely.box(x, y, x + 200, y + 100),
                shapely.box(x + 300, y, x + 400, y + 100),
            ],
            crs="EPSG:4548",
        )
    )
    checks = unit_checks(parcels, units, lang=lang)
    drawn = units.join(checks[[c for c in checks.columns if c not in units.columns]], on="unit_id")
    m = renewal_map(parcels, units=drawn, tiles="none", lang=lang)
    page = save_map(m, tmp_path / "m.html").read_text(encoding="utf-8")
    data = [d for d in _saved_layers(page) if d.get(md.LABELS) == ["老城东单元", "河畔单元"]]
    assert len(data) == 1
    rows = data[0][md.VALUES]
    # 老城东单元: 3000 of 4000 m² demolished (75 %, no exemption), 5000 ÷ 3000 = 1.67; fails.
    share = 3000 / 4000
    assert f"{share * 100:.1f}%" in rows[0]
    assert f"{5000 / 3000:.2f}" in rows[0]
    assert rows[0][-1] == checks.loc["老城东单元", "verdict"] == say("policy.verdict_fails", lang)
    assert rows[1][-1] == checks.loc["河畔单元", "verdict"] == say("policy.verdict_passes", lang)
    unit_layer = next(c for c in _layers(m) if c.role == "units")
    spec = json.loads(unit_layer.spec_json)
    labels = spec[md.TIP][md.FIELD_LABELS]
    assert escape(label("demolition_share", lang)) in labels
    assert escape(label("verdict", lang)) in labels
    # The legend draws the unit outline as the map does: solid, purple, not the zones' dashes.
    legend = _legend(m)
    row = next(r for r in legend.split("<div>") if layer in r)
    assert "solid #6a3d9a" in row
