"""
Tests of the browser runtime of the maps (maps_runtime.js): its data format, hit testing and
label decluttering.

The browser tests build one small map by hand (EPSG:4326, simplify=0, tiles="none"), save it
offline and open it once in headless Chromium; every row of the tables below is checked
against that one page. Hit cases are asked of the runtime through Leaflet's canvas renderer
(the loop its hover and click handlers run) and with a real mouse move (the tooltip shown).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from browser import open_in_chromium, requires_chromium

import geopandas as gpd
import shapely

from geo_renewal import _folium
from geo_renewal import _mapdata as md

pytest.importorskip("folium")

RUNTIME = Path(md.__file__).with_name("maps_runtime.js").read_text(encoding="utf-8")
HEADER, BODY = RUNTIME.split("*/", 1)

# ------------------------------------------------------------------- the format's keys

KEY_GROUPS = {
    "data": md.DATA_KEYS,
    "spec": md.SPEC_KEYS,
    "field": md.FIELD_KEYS,
    "decorations": md.DECORATION_KEYS,
}


def _constant_name(value: str) -> str:
    names = [k for k, v in vars(md).items() if k.isupper() and v == value]
    assert len(names) == 1, (value, names)
    return names[0]


@pytest.mark.parametrize(
    "key", [k for keys in KEY_GROUPS.values() for k in keys], ids=lambda k: _constant_name(k)
)
def test_every_key_is_documented_in_the_runtime_header_and_read_by_it(key):
    name = _constant_name(key)
    assert re.search(rf"^ \*\s+{re.escape(key)}\s+{name}\s", HEADER, re.MULTILINE), name
    assert re.search(rf"\.{re.escape(key)}\b", BODY), f"the runtime never reads .{key}"


def test_keys_are_unique_within_each_object():
    for group, keys in KEY_GROUPS.items():
        assert len(set(keys)) == len(keys), group


def test_families_and_label_priorities_are_documented():
    for name in ("POLYGON", "LINE", "POINT"):
        assert f"{getattr(md, name)} {name}" in HEADER
    order = sorted(md.LABEL_PRIORITY, key=md.LABEL_PRIORITY.get)
    assert order == ["projects", "sites", "districts", "units", "layer", "zones"]
    assert md.label_priority("layer:river") == md.LABEL_PRIORITY["layer"]
    assert md.label_priority("flows") == len(md.LABEL_PRIORITY)


def test_header_names_the_leaflet_version_the_maps_load():
    version = re.search(r"leaflet@([\d.]+)/", _folium.LEAFLET_JS).group(1)
    assert f"Leaflet {version}" in HEADER
    for internal in ("_containsPoint", "_updatePath", "_pxBounds", "_fillStroke", "_drawFirst"):
        assert internal in HEADER


def test_pages_carry_the_runtime_without_its_header():
    page = _folium.runtime_html()
    assert "Leaflet internals" not in page
    assert BODY.lstrip("\n") in page
    assert page.count("window.geoRenewal = ") == 1


# ------------------------------------------------------------------------ the test map

CENTER = (117.0, 36.6995)  # lon, lat of the hit-testing view
HIT_ZOOM = 17  # ~1 m per pixel; 1 px ≈ 0.0000107° of longitude
LABELS_AT = (117.024, 36.7)
PX_LON = 360 / (256 * 2**HIT_ZOOM)  # degrees of longitude per pixel at HIT_ZOOM


def _box(cx: float, cy: float, w: float, h: float) -> shapely.Polygon:
    return shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _parcels() -> gpd.GeoDataFrame:
    hole = shapely.Polygon(
        shapely.box(116.9965, 36.6985, 116.9985, 36.7000).exterior.coords,
        [shapely.box(116.9970, 36.6990, 116.9980, 36.6995).exterior.coords],
    )
    rows = [
        ("hole", "demolish", hole),
        ("under", "demolish", shapely.box(116.9990, 36.6985, 117.0005, 36.7000)),
        ("over", "demolish", shapely.box(117.0000, 36.6985, 117.0015, 36.7000)),
        # one long parcel over every column of its layer's grid (41 features: 5 x 5 cells)
        ("long", "unchanged", shapely.box(116.9965, 36.7012, 117.0025, 36.7015)),
    ]
    rows += [
        (f"u{i:02d}", "unchanged", shapely.box(x, 36.7005, x + 0.0001, 36.7009))
        for i, x in enumerate(116.9965 + 0.00015 * np.arange(40))
    ]
    ids, cats, geoms = zip(*rows, strict=True)
    return gpd.GeoDataFrame({"parcel_id": ids, "category": cats}, geometry=list(geoms), crs=4326)


def _sites() -> gpd.GeoDataFrame:
    # three points: a 2 x 2 grid whose column edge is the middle longitude 117.0027
    edge = 117.0027 - 2 * PX_LON  # 2 px west of the grid's column edge
    pts = [(117.0020, 36.6975), (edge, 36.6978), (117.0034, 36.6989)]
    return gpd.GeoDataFrame(
        {"site_id": ["s-alone", "s-edge", "s-right"], "name": ["", "", ""]},  # no labels
        geometry=[shapely.Point(p) for p in pts],
        crs=4326,
    )


def _layers() -> dict:
    flows = gpd.GeoDataFrame(
        {"unit_id": ["f-thick", "f-thin"], "site_id": ["s-alone"] * 2, "households": [100, 1]},
        geometry=[
            shapely.LineString([(116.9965, 36.6970), (116.9995, 36.6970)]),  # weight 9.5
            shapely.LineString([(116.9965, 36.6965), (116.9995, 36.6965)]),  # weight 2.3
        ],
        crs=4326,
    )
    lx, ly = LABELS_AT
    zones = gpd.GeoDataFrame(
        {"zone_id": ["zone-hit", "Z1", "ZA", "ZB", "ZC"]},
        geometry=[
            shapely.box(
                116.9960, 36.6980, 116.9988, 36.7003
            ),  # over "hole": the parcel keeps the mouse
            _box(lx - 0.0035, ly, 0.0002, 0.0002),  # 0.0005° east of the district's label
            _box(lx, ly, 0.0002, 0.0002),
            _box(lx + 0.0004, ly, 0.0002, 0.0002),  # ties with ZA, added after it
            _box(lx + 0.0046, ly, 0.0002, 0.0002),  # 0.0006° east of the project "pl"
        ],
        crs=4326,
    )
    projects = gpd.GeoDataFrame(
        {"project_id": ["proj", "pl"], "name": ["项目一", "项目二"], "stage": ["signing"] * 2},
        geometry=[
            shapely.box(117.0002, 36.6988, 117.0008, 36.6992),  # over "under" and "over"
            _box(lx + 0.004, ly, 0.0006, 0.0006),
        ],
        crs=4326,
    )
    districts = gpd.GeoDataFrame(
        {"name": ["东关街道"]}, geometry=[_box(lx - 0.004, ly, 0.003, 0.002)], crs=4326
    )
    heritage = gpd.GeoDataFrame(  # 0.0003° north of the district's label
        {"name": ["古城"]}, geometry=[_box(lx - 0.004, ly + 0.0003, 0.0002, 0.0002)], crs=4326
    )
    return {
        "sites": _sites(),
        "flows": flows,
        "zones": zones,
        "projects": projects,
        "districts": districts,
        "layers": {"heritage_core": heritage},
    }


# ------------------------------------------------------------------------- the tables


def _flow_mid(lat: float) -> float:
    """Latitude half-way along the curve the map draws for a flow along `lat` (eastwards)."""
    from geo_renewal._mapflows import curved_flows

    line = gpd.GeoDataFrame(
        geometry=[shapely.LineString([(116.9965, lat), (116.9995, lat)])], crs=4326
    )
    return float(shapely.get_coordinates(curved_flows(line))[8, 1])


FLOW_MID_THICK, FLOW_MID_THIN = _flow_mid(36.6970), _flow_mid(36.6965)


class Hit(NamedTuple):
    lon: float
    lat: float
    dx: float  # pixels east
    dy: float  # pixels south
    expected: str | None  # id of the feature that gets the mouse, None for no hit


HITS = {
    "polygon inside (under a zone: the parcel wins)": Hit(116.9967, 36.6987, 0, 0, "hole"),
    # a zone (a totals layer) takes the mouse where no parcel big enough to point at is
    "polygon hole: the zone around it": Hit(116.9975, 36.69925, 0, 0, "zone-hit"),
    "zone only: its totals": Hit(116.9962, 36.6982, 0, 0, "zone-hit"),
    "polygon alone": Hit(116.9995, 36.6998, 0, 0, "under"),
    "overlap in a layer: the later feature": Hit(117.00025, 36.6998, 0, 0, "over"),
    "overlap across layers: the layer drawn last": Hit(117.0004, 36.6990, 0, 0, "proj"),
    "straddling cells: column 0": Hit(116.9971, 36.70135, 0, 0, "long"),
    "straddling cells: column 2": Hit(116.9995, 36.70135, 0, 0, "long"),
    "straddling cells: column 4": Hit(117.0019, 36.70135, 0, 0, "long"),
    "straddling cells: last column edge": Hit(117.0024, 36.70135, 0, 0, "long"),
    "small polygon in the grid": Hit(116.9973, 36.7007, 0, 0, "u05"),
    "gap between small polygons": Hit(116.997375, 36.7007, 0, 0, None),
    # flows are drawn as curves: at mid-way they are 10 % of their length south of the chord
    "thick line: on it": Hit(116.998, FLOW_MID_THICK, 0, 0, "f-thick"),
    "thick line: 3 px off (tolerance 4.75 px)": Hit(116.998, FLOW_MID_THICK, 0, 3, "f-thick"),
    "thick line: 6 px off": Hit(116.998, FLOW_MID_THICK, 0, -6, None),
    "thick line: 3 px past its end": Hit(116.9995, 36.6970, 3, 0, "f-thick"),
    "thick line: 7 px past its end": Hit(116.9995, 36.6970, 7, 0, None),
    "thin line: on it": Hit(116.998, FLOW_MID_THIN, 0, 0, "f-thin"),
    "thin line: 3 px off (tolerance 1.15 px)": Hit(116.998, FLOW_MID_THIN, 0, 3, None),
    "point: on it": Hit(117.0020, 36.6975, 0, 0, "s-alone"),
    "point: 4 px off (radius 5 px)": Hit(117.0020, 36.6975, 4, 0, "s-alone"),
    "point: 4 px up": Hit(117.0020, 36.6975, 0, -4, "s-alone"),
    "point: 6 px off": Hit(117.0020, 36.6975, 6, 0, None),
    "point: 4 px off, across a grid-cell edge": Hit(
        117.0027 - 2 * PX_LON, 36.6978, 4, 0, "s-edge"
    ),
    "point: 4 px off, on its own side of the edge": Hit(
        117.0027 - 2 * PX_LON, 36.6978, -4, 0, "s-edge"
    ),
    "outside every layer": Hit(117.0030, 36.7015, 0, 0, None),
}

# label -> (shown at zoom 15, shown at zoom 17): overlapping labels give way by priority
# (projects, sites, districts, constraint layers, zones; ties in the order added)
LABELS = {
    "东关街道": (True, True),  # district: before zones and constraint layers
    "Z1": (False, True),  # zone over the district's label
    "古城": (False, True),  # constraint layer over the district's label
    "ZA": (True, True),  # zone, first of a tie
    "ZB": (False, True),  # zone, second of the tie
    "pl签约": (True, True),  # project (id and stage): first, though added after the zones
    "ZC": (False, True),  # zone over the project (an obstacle: no other label covers it)
}
LABEL_ZOOMS = (15, 17)

_HIT_JS = """([mapName, center, zoom, cases]) => {
  const map = window[mapName];
  map.setView([center[1], center[0]], zoom, {animate: false});
  const renderer = geoRenewal.layers[0].path._renderer;
  return cases.map(([lon, lat, dx, dy]) => {
    const p = map.project(L.latLng(lat, lon)).subtract(map.getPixelOrigin()).add([dx, dy]);
    let hit = null;  // what the canvas renderer's hover and click handlers do
    for (let o = renderer._drawFirst; o; o = o.next) {
      if (o.layer.options.interactive && o.layer._containsPoint(p)) { hit = o.layer; }
    }
    return hit ? hit.grValues[hit._hit][0] : null;
  });
}"""

_POINTS_JS = """([mapName, cases]) => {
  const map = window[mapName], r = map.getContainer().getBoundingClientRect();
  return cases.map(([lon, lat, dx, dy]) => {
    const p = map.project(L.latLng(lat, lon)).subtract(map.getPixelOrigin()).add([dx, dy]);
    const c = map.layerPointToContainerPoint(p);  // whole pixels, as a mouse gives them
    return [Math.round(c.x + r.left), Math.round(c.y + r.top)];
  });
}"""

# After a wait (Leaflet's canvas tests the hover at most once per 32 ms), the values of the
# open hover tooltips (a closed one fades out at opacity 0 for 200 ms before it is removed).
_TOOLTIPS_JS = """() => new Promise(done => setTimeout(() => done(
  Array.from(document.querySelectorAll('.leaflet-tooltip'))
    .filter(t => t.querySelector('.gr-tip') && parseFloat(t.style.opacity || '1') > 0)
    .map(t => Array.from(t.querySelectorAll('td')).map(e => e.textContent))), 35))"""

_LABELS_JS = """([mapName, center, zoom]) => {
  const map = window[mapName];
  map.setView([center[1], center[0]], zoom, {animate: false});
  geoRenewal.declutter();
  return Array.from(document.querySelectorAll('.gr-label')).map(
    e => [e.textContent, getComputedStyle(e).visibility !== 'hidden']);
}"""


def _hover(page, map_name: str) -> dict[str, list[list[str]]]:
    """Move the mouse over every hit case; return the values of the open tooltips."""
    page.evaluate("document.querySelector('.leaflet-control-container').style.display='none'")
    points = page.evaluate(_POINTS_JS, [map_name, [list(c[:4]) for c in HITS.values()]])
    shown = {}
    for name, (x, y) in zip(HITS, points, strict=True):
        page.mouse.move(x, y)
        shown[name] = page.evaluate(_TOOLTIPS_JS)
    return shown


def _open_test_map(folder: Path) -> dict:
    """Open the test map and run both tables in it (JSON-ready results)."""
    from geo_renewal.maps import renewal_map, save_map

    m = renewal_map(_parcels(), tiles="none", simplify=0, **_layers())
    out = save_map(m, folder / "runtime.html", offline=True)
    name = m.get_name()
    results: dict = {}

    def run(page):
        cases = [list(c[:4]) for c in HITS.values()]
        hits = page.evaluate(_HIT_JS, [name, CENTER, HIT_ZOOM, cases])
        results["hits"] = dict(zip(HITS, hits, strict=True))
        results["hover"] = _hover(page, name)
        results["labels"] = {
            str(z): dict(page.evaluate(_LABELS_JS, [name, LABELS_AT, z])) for z in LABEL_ZOOMS
        }

    res = open_in_chromium(out, actions=run, viewport=(1600, 1000), screenshot=False)
    return {"errors": res.errors, "requests": res.external_requests, **results}


@pytest.fixture(scope="module")
def page_results(tmp_path_factory) -> dict:
    """
    The results of `_open_test_map`, computed once per test run.

    Under pytest-xdist the cases may land on several workers: the first one opens the page
    and shares its results through the run's temporary folder; the others wait for them.
    """
    own = tmp_path_factory.mktemp("runtime")
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _open_test_map(own)
    shared = tmp_path_factory.getbasetemp().parent  # one folder per run, for all workers
    done, lock = shared / "map_runtime.json", shared / "map_runtime.lock"
    try:
        os.close(os.open(lock, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        for _ in range(1800):  # another worker has the page open
            if done.exists():
                results = json.loads(done.read_text(encoding="utf-8"))
                return results if results else _open_test_map(own)  # {}: it failed
            time.sleep(0.1)
        return _open_test_map(own)
    results = {}
    try:
        results = _open_test_map(own)
    finally:
        tmp = done.with_suffix(".tmp")
        tmp.write_text(json.dumps(results), encoding="utf-8")
        tmp.replace(done)
    return results


@pytest.mark.browser
@requires_chromium
def test_runtime_page_opens_cleanly(page_results):
    assert page_results["errors"] == []
    assert page_results["requests"] == []


@pytest.mark.browser
@requires_chromium
@pytest.mark.parametrize("case", list(HITS))
def test_hit_testing(page_results, case):
    expected = HITS[case].expected
    assert page_results["hits"][case] == expected
    tooltips = page_results["hover"][case]  # what a real mouse move shows
    if expected is None:
        assert tooltips == []
    else:
        assert len(tooltips) == 1, tooltips
        assert expected in tooltips[0]


@pytest.mark.browser
@requires_chromium
@pytest.mark.parametrize("text", list(LABELS))
@pytest.mark.parametrize("zoom", LABEL_ZOOMS)
def test_label_decluttering(page_results, text, zoom):
    shown = LABELS[text][LABEL_ZOOMS.index(zoom)]
    labels = page_results["labels"][str(zoom)]
    assert text in labels, sorted(labels)
    assert labels[text] is shown


def test_test_map_layers_are_as_the_tables_assume():
    """The geometry behind the tables: grid sizes and weights the cases rely on."""
    from geo_renewal.maps import renewal_map

    m = renewal_map(_parcels(), tiles="none", simplify=0, **_layers())
    layers = [c for c in m._children.values() if getattr(c, "_name", "") == "GeoRenewalLayer"]
    by_role = {lyr.role: lyr for lyr in layers}
    n = by_role["category:unchanged"].n_features
    assert int(np.ceil(np.sqrt(n / 2))) == 5  # the runtime's grid: 5 x 5 cells
    assert int(np.ceil(np.sqrt(by_role["sites"].n_features / 2))) == 2
    flows = json.loads(by_role["flows"].spec_json)
    assert sorted(s["weight"] for s in flows[md.STYLES]) == [2.3, 9.5]
    roles = [lyr.role for lyr in layers]
    assert roles.index("projects") > roles.index("category:demolish")  # drawn later
    assert roles.index("zones") > roles.index(
        "category:demolish"
    )  # above: totals where no parcel is
