"""
Meeting maps of a whole city (issue 21, item 4): the grid overview when zoomed out and the
parcels in compressed spatial chunks, decoded by the runtime when zoomed in.

Counts and areas come from the data: every parcel is in exactly one overview cell and in
exactly one chunk; the legend does not change with the overview.
"""

from __future__ import annotations

import base64
import json
import re
import zlib

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely

from geo_renewal import _mapdata as md
from geo_renewal import _mapoverview as mo
from geo_renewal import settings
from geo_renewal.maps import renewal_map, save_map

CRS = "EPSG:4548"
X0, Y0 = 500_000.0, 4_063_000.0
CODES = ("demolish", "retain_upgrade", "retain_protect", "resettlement_site", "unchanged")


def _city(n_side: int = 60, cell: float = 40.0, seed: int = 3) -> gpd.GeoDataFrame:
    """n_side² square parcels of 30 m on a `cell` grid, random classes and households."""
    rng = np.random.default_rng(seed)
    i = np.arange(n_side * n_side)
    x, y = X0 + (i % n_side) * cell, Y0 + (i // n_side) * cell
    return gpd.GeoDataFrame(
        {
            "parcel_id": [f"P{k:05d}" for k in i],
            "category": rng.choice(CODES, size=len(i)),
            "households": rng.integers(0, 50, size=len(i)),
        },
        geometry=shapely.box(x, y, x + 30, y + 30),
        crs=CRS,
    )


def _layers(m) -> list:
    return [c for c in m._children.values() if getattr(c, "_name", "") == "GeoRenewalLayer"]


def _legend(m) -> str:
    dec = next(c for c in m._children.values() if c._name == "GeoRenewalDecorations")
    return json.loads(dec.spec_json)["legend"]


def _chunk_features(layer) -> list[dict]:
    """Decode every chunk of a chunked layer as the runtime does (base64, zlib, JSON)."""
    return [json.loads(zlib.decompress(base64.b64decode(c))) for c in layer.chunks]


def test_small_maps_are_as_before_and_the_threshold_is_a_setting(monkeypatch):
    city = _city(10)
    plain = renewal_map(city, tiles="none")
    assert all(md.CHUNKS not in json.loads(lyr.spec_json) for lyr in _layers(plain))
    assert all(lyr.role != "overview" for lyr in _layers(plain))
    monkeypatch.setattr(settings, "map_overview_min_parcels", 100)
    big = renewal_map(city, tiles="none")
    assert next(lyr.role for lyr in _layers(big)) == "overview"
    assert (
        renewal_map(city, tiles="none", overview=False)
        .get_root()
        .render()
        .count("application/octet-stream")
        == 0
    )


def test_every_parcel_is_in_exactly_one_chunk_with_its_tooltip():
    city = _city(70)  # 4 900 parcels: more than one chunk per class
    m = renewal_map(city, tiles="none", overview=True, tooltip=["parcel_id", "households"])
    layers = [lyr for lyr in _layers(m) if lyr.role.startswith("category:")]
    seen: list[str] = []
    for lyr in layers:
        spec = json.loads(lyr.spec_json)
        assert spec[md.ZOOM_RANGE][1] is None
        assert json.loads(lyr.data_json)[md.FEATURE_SIZES] == []  # nothing drawn eagerly
        chunks = _chunk_features(lyr)
        assert [c[5] for c in spec[md.CHUNKS]] == [len(d[md.FEATURE_SIZES]) for d in chunks]
        assert sum(c[5] for c in spec[md.CHUNKS]) == lyr.n_features
        code = lyr.role.split(":", 1)[1]
        ids = [v[0] for d in chunks for v in d[md.VALUES]]
        hh = {v[0]: int(v[1]) for d in chunks for v in d[md.VALUES]}
        want = city[city["category"] == code]
        assert sorted(ids) == sorted(want["parcel_id"])
        assert hh == dict(zip(want["parcel_id"], want["households"].astype(int), strict=True))
        for (i, w, s, e, n, _), d in zip(spec[md.CHUNKS], chunks, strict=True):
            xy = np.cumsum(np.asarray(d[md.COORDS]).reshape(-1, 2), axis=0) + d[md.ORIGIN]
            lon, lat = xy[:, 0] / d[md.SCALE], xy[:, 1] / d[md.SCALE]
            assert (w, s) <= (lon.min(), lat.min()), i
            assert (lon.max(), lat.max()) <= (e, n), i
        seen += ids
    assert len(seen) == len(set(seen)) == len(city)
    assert sum(len(c) for lyr in layers for c in lyr.chunks) > 0


def test_overview_cells_add_up_to_the_legend():
    city = _city(60)
    m = renewal_map(city, tiles="none", overview=True, lang="en")
    ov = _layers(m)[0]
    data = json.loads(ov.data_json)
    spec = json.loads(ov.spec_json)
    assert spec[md.ZOOM_RANGE][0] is None
    switch = spec[md.ZOOM_RANGE][1]
    # 30 m parcels at 36.7° N: 4 px wide where 2^z = 4 * 156543 * cos(lat) / 30
    assert switch == pytest.approx(
        np.log2(4 * 156_543.03392 * np.cos(np.radians(36.7)) / 30), abs=0.1
    )
    labels = spec[md.TIP][md.FIELD_LABELS]
    assert labels[:3] == ["Dominant class", "Parcels", "Area (ha)"]
    values = data[md.VALUES]
    assert sum(int(v[1].replace(",", "")) for v in values) == len(city)
    for k, code in enumerate(CODES):
        cells = [re.sub(r"<[^>]+>", "", v[3 + k]) for v in values]
        got = sum(int(t.split(" / ")[0].replace(",", "")) for t in cells if t)
        assert got == int((city["category"] == code).sum())
    legend = _legend(m)
    assert f"{len(city):,} parcels" in legend
    assert "100 m grid cell" not in legend
    assert re.fullmatch(r"Overview \(\d+ m grid\)", ov.layer_name)
    flat = renewal_map(city, tiles="none", overview=False, lang="en")
    table = re.compile(r"<table>.*?</table>", re.S)
    assert table.findall(legend) == table.findall(_legend(flat))  # counts unchanged


def test_overview_grid_by_hand():
    # three parcels in one 100 m cell (a: 100 m², b: 300 m², a: 150 m²) and one far away
    geoms = [
        shapely.box(X0, Y0, X0 + 10, Y0 + 10),
        shapely.box(X0 + 20, Y0, X0 + 50, Y0 + 10),
        shapely.box(X0 + 60, Y0 + 60, X0 + 75, Y0 + 70),
        shapely.box(X0 + 9_000, Y0, X0 + 9_010, Y0 + 10),
    ]
    parcels = gpd.GeoDataFrame(geometry=geoms, crs=CRS)
    codes = np.array(["a", "b", "a", "b"])
    areas = shapely.area(np.array(geoms))
    grid = mo.overview_grid(parcels, codes, areas, ["a", "b"])
    assert grid.size == 100
    c = grid.cells
    assert c["dominant"].tolist() == ["b", "b"]  # 300 m² of b beat 250 m² of a
    assert c["n"].tolist() == [3, 1]
    assert c["n_0"].tolist() == [2, 0]
    assert c["a_0"].tolist() == pytest.approx([250.0, 0.0])
    assert c["a_1"].tolist() == pytest.approx([300.0, 100.0])
    assert shapely.equals(c.geometry.iloc[0], shapely.box(X0, Y0, X0 + 100, Y0 + 100))


def test_chunk_positions_cover_every_feature_once():
    pts = shapely.points(np.random.default_rng(1).uniform(0, 1, (1_000, 2)))
    chunks = md.chunk_positions(pts, size=90)
    flat = np.concatenate(chunks)
    assert sorted(flat.tolist()) == list(range(1_000))
    assert len(chunks) >= 9


# ------------------------------------------------------------------------------ browser

_STATE_JS = """() => {
  const m = Object.values(window).find(v => v instanceof L.Map);
  return {zoom: m.getZoom(), first: geoRenewal.timing.firstDraw || null,
    layers: geoRenewal.layers.map(e => ({name: e.name, count: e.count,
      zr: e.spec.zr || null, chunks: e.chunks ? e.chunks.length : 0,
      decoded: e.paths ? e.paths.reduce((a, p) => a + p._nf, 0) : null,
      shown: e.path._map ? e.path._shown() : null}))};
}"""

_ZOOM_JS = """(z) => new Promise(done => {
  const m = Object.values(window).find(v => v instanceof L.Map);
  m.setView(m.getCenter(), z, {animate: false});
  const poll = () => geoRenewal.pending() === 0
    ? requestAnimationFrame(() => done(true)) : setTimeout(poll, 20);
  setTimeout(poll, 20);
})"""

_POINT_JS = """(overview) => {
  // the screen point of an overview cell (or of a decoded parcel) near the centre
  const m = Object.values(window).find(v => v instanceof L.Map);
  const p = overview ? geoRenewal.layers[0].path
    : geoRenewal.layers.find(x => x.paths && x.paths.length).paths[0];
  const r = m.getContainer().getBoundingClientRect(), c = m.getSize().divideBy(2);
  let best = null, bd = Infinity;
  for (let i = 0; i < p._nf; i++) {
    const ll = geoRenewal.featureLatLng({path: p}, i), q = m.latLngToContainerPoint(ll);
    const d = q.distanceTo(c);
    if (d < bd) { bd = d; best = [q.x + r.left, q.y + r.top, p.grValues[i][0]]; }
  }
  return best;
}"""

_TIP_JS = """() => new Promise(done => setTimeout(() => done(
  Array.from(document.querySelectorAll('.leaflet-tooltip'))
    .filter(t => t.querySelector('.gr-tip') && parseFloat(t.style.opacity || '1') > 0)
    .map(t => Array.from(t.querySelectorAll('td')).map(e => e.textContent)).pop() || []),
  250))"""


@pytest.mark.browser
def test_browser_overview_then_parcels_when_zoomed_in(tmp_path, monkeypatch):
    from browser import chromium_available, open_in_chromium, pixel_stddev

    if not chromium_available():
        pytest.skip("Chromium or playwright is not installed")
    monkeypatch.setattr(md, "CHUNK_FEATURES", 50)  # 36 chunks per class
    city = _city(90, cell=120.0)  # 8 100 parcels over 10.8 km: below the switch zoom
    m = renewal_map(city, tiles="none", overview=True, tooltip=["parcel_id", "households"])
    path = save_map(m, tmp_path / "city.html", offline=True)
    got: dict = {}

    def act(page):
        page.evaluate("document.querySelector('.leaflet-control-container').style.display='none'")
        got["low"] = page.evaluate(_STATE_JS)
        got["low_png"] = page.screenshot(type="png")
        x, y, _ = page.evaluate(_POINT_JS, True)
        page.mouse.move(x, y)
        got["low_tip"] = page.evaluate(_TIP_JS)
        switch = got["low"]["layers"][0]["zr"][1]
        page.evaluate(_ZOOM_JS, switch + 2)
        got["high"] = page.evaluate(_STATE_JS)
        x, y, pid = page.evaluate(_POINT_JS, False)
        page.mouse.move(x, y)
        got["high_tip"], got["pid"] = page.evaluate(_TIP_JS), pid

    res = open_in_chromium(path, actions=act, viewport=(1600, 1000), screenshot=False)
    assert not res.errors
    assert not res.external_requests
    low, high = got["low"], got["high"]
    overview, parcels = low["layers"][0], low["layers"][1:]
    assert low["zoom"] < overview["zr"][1]  # the whole city fits below the switch zoom
    assert overview["shown"]
    assert low["first"] is not None
    assert all(p["decoded"] == 0 for p in parcels)  # no chunk decoded at the start
    assert sum(p["count"] for p in parcels) == len(city)  # counts from the data
    assert pixel_stddev(got["low_png"]) > 5
    assert len(got["low_tip"]) >= 3  # a cell's dominant class, parcels and area
    assert int(got["low_tip"][1].replace(",", "")) > 0
    assert not high["layers"][0]["shown"]  # the overview gives way to the parcels
    decoded = [p["decoded"] for p in high["layers"][1:]]
    assert 0 < sum(decoded) < len(city), (high, low)  # only the chunks in view
    assert got["high_tip"][:1] == [got["pid"]]
    hh = city.set_index("parcel_id").loc[got["pid"], "households"]
    assert got["high_tip"][1] == str(int(hh))


def test_overview_refuses_nothing_and_handles_one_parcel():
    one = _city(1)
    m = renewal_map(one, tiles="none", overview=True)
    assert [lyr.role for lyr in _layers(m)] == ["overview", f"category:{one['category'].iloc[0]}"]
    assert pd.notna(json.loads(_layers(m)[0].spec_json)[md.ZOOM_RANGE][1])


def test_parcels_without_geometry_are_in_the_legend_and_in_no_cell():
    city = _city(8)
    city.loc[[0, 5], "geometry"] = None
    city.loc[7, "geometry"] = shapely.Polygon()
    m = renewal_map(city, tiles="none", overview=True, lang="en")
    values = json.loads(_layers(m)[0].data_json)[md.VALUES]
    assert sum(int(v[1]) for v in values) == len(city) - 3
    assert f"<td>{len(city)}</td>" in _legend(m)  # the legend's total counts every row
    nothing = city.assign(geometry=None).set_crs(CRS, allow_override=True)
    m = renewal_map(nothing, tiles="none", overview=True, lang="en")
    assert json.loads(_layers(m)[0].data_json)[md.FEATURE_SIZES] == []


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_layer_chunks_equal_each_chunks_own_layer_data(monkeypatch, n_jobs):
    # the chunks are cut from one encoding of the whole layer: each must be byte for byte
    # the layer_data of its own features (own origin, deltas from it, its values)
    import base64
    import zlib

    rng = np.random.default_rng(5)
    pts = rng.uniform([116.9, 36.6], [117.1, 36.8], (3_000, 2))
    geoms = list(shapely.buffer(shapely.points(pts[:2_000]), 0.0004, quad_segs=2))
    holed = shapely.Polygon(
        [(117.0, 36.7), (117.01, 36.7), (117.01, 36.71), (117.0, 36.71)],
        [[(117.002, 36.702), (117.004, 36.702), (117.004, 36.704)]],
    )
    geoms += [holed, shapely.MultiPolygon([holed, shapely.box(117.02, 36.7, 117.03, 36.71)])]
    geoms += list(shapely.linestrings(np.stack([pts[2_000:2_500], pts[2_000:2_500] + 1e-3], 1)))
    geoms += list(shapely.points(pts[2_500:2_990]))
    geoms += [shapely.GeometryCollection([shapely.Point(117, 36.7), holed])] * 8
    monkeypatch.setattr("geo_renewal.settings.n_jobs", n_jobs)  # 1: compressed inline
    prep = md.Prepared(
        shapely.transform(np.array(geoms, dtype=object), lambda c: np.round(c, 6)),
        np.arange(len(geoms)),
    )
    cols = [[f"<b>{i}" for i in range(len(geoms))], [str(i % 7) for i in range(len(geoms))]]
    old_size = md.CHUNK_FEATURES
    md.CHUNK_FEATURES = 300
    try:
        chunks = md.layer_chunks(prep, 6, cols)
        positions = md.chunk_positions(prep.geoms)
    finally:
        md.CHUNK_FEATURES = old_size
    assert len(chunks) == len(positions) > 5
    for chunk, pos in zip(chunks, positions, strict=True):
        sub = md.Prepared(prep.geoms[pos], prep.rows[pos])
        want = md.layer_data(sub, 6, columns=[[c[i] for i in pos] for c in cols])
        assert zlib.decompress(base64.b64decode(chunk.data)).decode() == want
        assert chunk.n == len(pos)
        assert chunk.bounds == tuple(float(v) for v in shapely.total_bounds(sub.geoms))
