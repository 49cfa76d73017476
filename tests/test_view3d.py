"""The 3D view: one HTML file with deck.gl inlined, opened in headless Chromium offline."""

from __future__ import annotations

import pytest
from browser import open_in_chromium, pixel_stddev, requires_chromium, static_urls

import geopandas as gpd
from shapely import Point, box

from geo_renewal.corridors import corridors_from_points, height_checks, max_excess
from geo_renewal.view3d import view3d_html

CRS = "EPSG:4548"
X0, Y0 = 500_000.0, 4_000_000.0


@pytest.fixture
def scene():
    b = gpd.GeoDataFrame(
        {"building_id": ["A", "B", "<b>C</b>"], "height_m": [20.0, 40.0, 80.0]},
        geometry=[
            box(X0 - 10, Y0 + 300, X0 + 10, Y0 + 320),
            box(X0 - 20, Y0 + 1000, X0 + 20, Y0 + 1040),
            box(X0 + 90, Y0 + 1500, X0 + 130, Y0 + 1520),
        ],
        crs=CRS,
    )
    vp = gpd.GeoDataFrame(
        {"name": ["北岸观景台"], "eye_height": [1.6]}, geometry=[Point(X0, Y0)], crs=CRS
    )
    lm = gpd.GeoDataFrame(
        {"name": ["塔"], "height": [121.6]}, geometry=[Point(X0, Y0 + 2000)], crs=CRS
    )
    c = corridors_from_points(vp, lm, width=200, band=20, clearance=5)
    return b, vp, lm, c


def test_page_is_one_file_without_urls_and_escapes_text(tmp_path, scene):
    b, vp, lm, c = scene
    excess = max_excess(height_checks(b, c), b.index)
    out = view3d_html(
        b,
        tmp_path / "v.html",
        heights=b.height_m,
        excess=excess,
        surfaces=c,
        landmarks=lm,
        viewpoints=vp,
        id_col="building_id",
        lang="en",
    )
    text = out.read_text("utf-8")
    # the deck.gl bundle holds run-time worker templates (``${t}``) it never loads here
    assert [u for u in static_urls(text) if "://" in u or u.startswith("//")] == []
    assert "<b>C</b>" not in text  # the id is escaped
    assert "Buildings above the permitted height (2)" in text


@pytest.mark.browser
@requires_chromium
@pytest.mark.parametrize("viewport", [(1600, 1000), (390, 844)])
def test_view_opens_offline_in_chromium(tmp_path, scene, viewport):
    b, vp, lm, c = scene
    excess = max_excess(height_checks(b, c), b.index)
    out = view3d_html(
        b,
        tmp_path / "v.html",
        heights=b.height_m,
        excess=excess,
        surfaces=c,
        landmarks=lm,
        viewpoints=vp,
    )
    res = open_in_chromium(
        out,
        evaluate={
            "ready": "window.geoRenewal3d.ready",
            "layers": "window.geoRenewal3d.deck.props.layers.length",
        },
        viewport=viewport,
        settle_ms=1000,
    )
    assert res.errors == []
    assert res.external_requests == []
    assert res.values == {"ready": True, "layers": 4}
    assert pixel_stddev(res.screenshot) > 5


@pytest.mark.browser
@requires_chromium
def test_the_note_folds_on_a_phone_and_stays_said(tmp_path, scene):
    from browser import open_pages

    from geo_renewal.text import say

    b, _, _, c = scene
    note = (
        "视廊校核使用了软件内置的示例参数（按层数估算高度的层高 params/heights_default.toml、" * 2
    )
    out = view3d_html(b, tmp_path / "v.html", heights=b.height_m, surfaces=c, note=note)

    def panel(page):
        return page.evaluate(
            "() => { const p = document.getElementById('panel').getBoundingClientRect();"
            " const d = document.querySelector('#panel details.note');"
            " return {h: p.height, open: d.open, summary: d.querySelector('summary').textContent}; }"
        )

    (_, desk), (_, phone) = open_pages([(out, (1600, 1000), panel), (out, (390, 844), panel)])
    assert desk["open"] is True  # a desk screen shows the whole note
    assert phone["open"] is False  # a phone folds it to its summary …
    assert phone["summary"] == say("corridors.view3d_note_summary", "zh")  # … which says it
    assert phone["h"] < 0.15 * 844  # and keeps the view
