"""
A 3D view of buildings extruded by height with the view-corridor surfaces, in one HTML file.

The page draws with deck.gl: the bundle that the ``pydeck`` package ships
(``pydeck/nbextension/static/index.js``, the ``@deck.gl/jupyter-widget`` build exposing
``createDeck``) is inlined, so the file opens without network (no basemap; the buildings,
corridors, landmarks and viewpoints are the picture). lonboard's own HTML export loads
its widget manager and parquet-wasm from CDNs, so it is not used for this file. See
docs/guide/corridors.md.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import shapely

from geo_renewal._compat import import_optional
from geo_renewal._html import escape, script_json
from geo_renewal.crs import check_crs
from geo_renewal.io import atomic_write
from geo_renewal.text import say

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["view3d_html"]

_GREY, _RED = [150, 160, 172, 235], [214, 39, 40, 245]
_GREEN, _GOLD, _BLUE = [44, 160, 44, 80], [178, 34, 34, 255], [31, 95, 168, 255]


def _deck_bundle() -> str:
    import_optional("pydeck", purpose="the offline 3D view (its deck.gl bundle)")
    path = resources.files("pydeck") / "nbextension" / "static" / "index.js"
    return path.read_text("utf-8").replace("</script", "<\\/script")


def _rings(geoms: np.ndarray, z: np.ndarray | None = None) -> list[list[list[list[float]]]]:
    """Each geometry's largest polygon as rings of [lon, lat(, z)], rounded."""
    out: list[list[list[list[float]]]] = []
    for g in geoms:
        if g is None or g.is_empty:
            out.append([])
            continue
        if g.geom_type == "MultiPolygon":
            g = max(g.geoms, key=lambda p: p.area)
        rings = [g.exterior, *g.interiors]
        coords = [np.round(np.asarray(r.coords)[:, :2], 7) for r in rings]
        if z is not None:
            coords = [
                np.column_stack([c, _z_of(g, r)]) for c, r in zip(coords, rings, strict=True)
            ]
        out.append([c.tolist() for c in coords])
    return out


def _z_of(poly: Any, ring: Any) -> np.ndarray:
    c = np.asarray(ring.coords)
    return np.round(c[:, 2], 2) if c.shape[1] > 2 else np.zeros(len(c))


def view3d_html(
    buildings: gpd.GeoDataFrame,
    path: str | Path,
    *,
    heights: pd.Series | np.ndarray,
    excess: pd.Series | np.ndarray | None = None,
    surfaces: gpd.GeoDataFrame | None = None,
    landmarks: gpd.GeoDataFrame | None = None,
    viewpoints: gpd.GeoDataFrame | None = None,
    id_col: str | None = None,
    title: str | None = None,
    lang: str = "zh",
    note: str | None = None,
) -> Path:
    """
    Write buildings extruded by height, with corridor surfaces, as one offline HTML page.

    Parameters
    ----------
    buildings
        Footprints with a CRS.
    path
        The HTML file to write (atomically).
    heights
        Heights in metres aligned on `buildings`.
    excess
        Excess over the permitted height (`height_checks`): buildings with ``excess > 0``
        are drawn red.
    surfaces
        Corridors and zones (`corridors_from_points`, `river_height_zones`): drawn as
        translucent sloping planes at their permitted height.
    landmarks, viewpoints
        Points (landmarks with ``height``) drawn as a column and as dots.
    id_col
        A column shown in the tooltip.
    title
        The page title (default the zh/en "view corridors in 3D").
    lang
        ``"zh"`` or ``"en"``.
    note
        A sentence shown under the legend (e.g. that the parameters are placeholders).

    Returns
    -------
    path
        The file written.

    Examples
    --------
    >>> import geopandas as gpd, tempfile, os
    >>> from shapely import box
    >>> b = gpd.GeoDataFrame(geometry=[box(500000, 4000000, 500020, 4000020)], crs="EPSG:4548")
    >>> out = view3d_html(b, os.path.join(tempfile.mkdtemp(), "v.html"), heights=[30.0])
    >>> "createDeck" in out.read_text("utf-8") and "https://" not in out.read_text("utf-8")[-3000:]
    True
    """
    check_crs(buildings, "buildings")
    geo = buildings.to_crs("EPSG:4326")
    h = np.nan_to_num(np.asarray(heights, dtype=float), nan=0.0)
    ex = np.full(len(h), np.nan) if excess is None else np.asarray(excess, dtype=float)
    ids = buildings[id_col].astype(str).tolist() if id_col else [str(i) for i in buildings.index]
    data = [
        {
            "polygon": ring,
            "height": float(hh),
            "color": _RED if e > 0 else _GREY,
            "tip": _tip(i, hh, e, lang),
        }
        for ring, hh, e, i in zip(_rings(np.asarray(geo.geometry.array)), h, ex, ids, strict=True)
        if ring
    ]
    layers: list[dict[str, Any]] = [
        {
            "@@type": "PolygonLayer",
            "id": "buildings",
            "data": data,
            "extruded": True,
            "wireframe": False,
            "pickable": True,
            "getPolygon": "@@=polygon",
            "getElevation": "@@=height",
            "getFillColor": "@@=color",
            "material": True,
        }
    ]
    layers += _surface_layers(surfaces, lang)
    layers += _point_layers(landmarks, viewpoints)
    deck = {
        "initialViewState": _view_state(geo, surfaces),
        "views": [{"@@type": "MapView", "controller": True}],
        "layers": layers,
        "mapProvider": None,
        "mapStyle": None,
    }
    html = _page(
        deck, title or say("corridors.view3d_title", lang), lang, int((ex > 0).sum()), note
    )
    target = Path(path)
    with atomic_write(target) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return target


def _tip(ident: str, height: float, excess: float, lang: str) -> str:
    text = f"{escape(ident)}<br>{escape(say('corridors.tip_height', lang, h=height))}"
    if not math.isnan(excess) and math.isfinite(excess):
        text += f"<br>{escape(say('corridors.tip_excess', lang, e=excess))}"
    return text


def _surface_layers(surfaces: gpd.GeoDataFrame | None, lang: str) -> list[dict[str, Any]]:
    if surfaces is None or not len(surfaces):
        return []
    from geo_renewal.corridors import surface_layer

    geo = surface_layer(surfaces).to_crs("EPSG:4326")
    data = [
        {"polygon": ring, "tip": escape(name)}
        for ring, name in zip(
            _rings(np.asarray(geo.geometry.array), z=np.ones(1)), geo["surface"], strict=True
        )
        if ring
    ]
    return [
        {
            "@@type": "PolygonLayer",
            "id": "surfaces",
            "data": data,
            "extruded": False,
            "pickable": True,
            "getPolygon": "@@=polygon",
            "getFillColor": _GREEN,
            "getLineColor": [44, 120, 44, 200],
            "lineWidthMinPixels": 1,
            "stroked": True,
        }
    ]


def _point_layers(landmarks: Any, viewpoints: Any) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = []
    if landmarks is not None and len(landmarks):
        lm = landmarks.to_crs("EPSG:4326")
        pts = shapely.centroid(np.asarray(lm.geometry.array))
        hts = pd.to_numeric(
            lm.get("height", pd.Series(0.0, index=lm.index)), errors="coerce"
        ).fillna(0)
        names = lm["name"].astype(str) if "name" in lm else pd.Series([""] * len(lm))
        data = [
            {"position": [round(p.x, 7), round(p.y, 7)], "height": float(v), "tip": escape(n)}
            for p, v, n in zip(pts, hts, names, strict=True)
        ]
        layers.append(
            {
                "@@type": "ColumnLayer",
                "id": "landmarks",
                "data": data,
                "radius": 12,
                "extruded": True,
                "pickable": True,
                "getPosition": "@@=position",
                "getElevation": "@@=height",
                "getFillColor": _GOLD,
            }
        )
    if viewpoints is not None and len(viewpoints):
        vp = viewpoints.to_crs("EPSG:4326")
        names = vp["name"].astype(str) if "name" in vp else pd.Series([""] * len(vp))
        data = [
            {"position": [round(p.x, 7), round(p.y, 7)], "tip": escape(n)}
            for p, n in zip(vp.geometry, names, strict=True)
        ]
        layers.append(
            {
                "@@type": "ScatterplotLayer",
                "id": "viewpoints",
                "data": data,
                "getPosition": "@@=position",
                "getRadius": 25,
                "radiusMinPixels": 5,
                "getFillColor": _BLUE,
                "pickable": True,
            }
        )
    return layers


def _view_state(geo: gpd.GeoDataFrame, surfaces: gpd.GeoDataFrame | None) -> dict[str, float]:
    """Centre on the buildings and corridors, fit about 900 px, look along the first corridor."""
    bounds = [geo.total_bounds]
    bearing = 0.0
    if surfaces is not None and len(surfaces):
        bounds.append(surfaces.to_crs("EPSG:4326").total_bounds)
        if "eye_x" in surfaces:
            row = surfaces.iloc[0]
            bearing = math.degrees(math.atan2(row.target_x - row.eye_x, row.target_y - row.eye_y))
    b = np.array(bounds)
    x0, y0, x1, y1 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    lat = (y0 + y1) / 2
    span_m = max((x1 - x0) * 111_320 * math.cos(math.radians(lat)), (y1 - y0) * 110_540, 50.0)
    # deck.gl: 512-px world tiles, metres per pixel = 40,075 km × cos(lat) / (512 × 2^zoom)
    zoom = math.log2(40_075_000 * math.cos(math.radians(lat)) * 900 / (512 * span_m))
    return {
        "longitude": float((x0 + x1) / 2),
        "latitude": float(lat),
        "zoom": round(max(1.0, min(19.0, zoom)), 2),
        "pitch": 50.0,
        "bearing": round(bearing, 1),
    }


_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
html, body {{ margin: 0; height: 100%; background: #f4f6f8; overflow: hidden;
  font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; }}
#deck-container {{ position: absolute; inset: 0; }}
#panel {{ position: absolute; top: 10px; left: 10px; z-index: 2; background: rgba(255,255,255,.92);
  padding: 8px 12px; border-radius: 6px; font-size: 13px; box-shadow: 0 1px 4px rgba(0,0,0,.2);
  max-width: 60vw; }}
#panel h1 {{ font-size: 15px; margin: 0 0 4px; }}
.note {{ color: #b22222; margin: 6px 0 0; font-size: 12px; }}
.note summary {{ cursor: pointer; font-weight: 600; }}
.note p {{ margin: 4px 0 0; }}
.sw {{ display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 10px; vertical-align: -1px; }}
</style>
<script>{bundle}</script>
</head>
<body>
<div id="deck-container"></div>
<div id="panel"><h1>{title}</h1>{legend}</div>
<script>
// A phone keeps the view: the note folds to its one-line summary (tap to read it).
if (Math.min(window.innerWidth, window.innerHeight) < 640) {{
  document.querySelectorAll('#panel details.note').forEach(function (d) {{ d.open = false; }});
}}
</script>
<script>
window.geoRenewal3d = {{ready: false, error: null}};
try {{
  window.geoRenewal3d.deck = createDeck({{
    container: document.getElementById('deck-container'),
    jsonInput: {deck},
    tooltip: {{html: '{{tip}}'}},
  }});
  window.geoRenewal3d.ready = true;
}} catch (e) {{ window.geoRenewal3d.error = String(e); throw e; }}
</script>
</body>
</html>
"""


def _page(deck: dict[str, Any], title: str, lang: str, n_over: int, note: str | None) -> str:
    swatch = '<span class="sw" style="background:rgba({},{},{},{:.2f})"></span>'
    legend = (
        swatch.format(*_GREY[:3], _GREY[3] / 255)
        + escape(say("corridors.view3d_buildings", lang))
        + swatch.format(*_RED[:3], 1.0)
        + escape(say("corridors.view3d_excess", lang))
        + f" ({n_over})"
        + swatch.format(*_GREEN[:3], 0.5)
        + escape(say("corridors.section", lang))
    )
    if note:
        summary = escape(say("corridors.view3d_note_summary", lang))
        legend += f'<details class="note" open><summary>{summary}</summary><p>{escape(note)}</p></details>'

    deck_json = script_json(deck)
    return _PAGE.format(
        lang=lang, title=escape(title), bundle=_deck_bundle(), legend=legend, deck=deck_json
    )
