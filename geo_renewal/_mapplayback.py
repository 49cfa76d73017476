"""
Progress playback: one offline HTML map with a slider over the ledger store's snapshots.

Each week the project polygons take the colour of their stage on that snapshot's day,
overdue projects are outlined in red and a stage change since the week before is drawn
with a thick border; with a buildings layer and the store's household table, the buildings
are coloured by their households' signing status of that week. The polygons are sent once
(simplified, rounded, in WGS 84); each week adds only small arrays. Leaflet is inlined from
folium-offline (`geo_renewal._folium.inline_assets`), so the page needs no internet.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal._checks import check_lang
from geo_renewal._errors import InputError
from geo_renewal._folium import LEAFLET_CSS, LEAFLET_JS, inline_assets
from geo_renewal._html import escape, script_json
from geo_renewal.schema import STAGE_ORDER, STAGES
from geo_renewal.supervision import COLOURS
from geo_renewal.text import pick, say

if TYPE_CHECKING:
    import geopandas as gpd

    from geo_renewal.store import LedgerStore

__all__ = ["playback_map"]

#: Signing share of a building -> colour (none, some, most, all signed).
_SIGNING_BINS = ((0.0, "#d7301f", "<50%"), (0.5, "#fdae61", "50–99%"), (1.0, "#1a9641", "100%"))


def playback_map(
    store: LedgerStore,
    path: str | Path,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    lang: str | None = None,
    precision: int = 6,
    simplify: float = 1.0,
) -> Path:
    """
    Write the progress playback of every snapshot of `store` as one offline HTML file.

    Parameters
    ----------
    store
        A `LedgerStore` with project polygons (import with ``projects=``).
    path
        The ``.html`` file to write (atomically).
    buildings
        Optional buildings (``building_id``, geometry) coloured by their households'
        signing status each week (from the store's household table).
    title
        Page title.
    lang
        Language of labels.
    precision
        Decimals of the WGS 84 coordinates (6: about 0.1 m).
    simplify
        Tolerance in metres of the polygons' simplification (in their own CRS).

    Returns
    -------
    path
        The file written.

    Raises
    ------
    InputError
        If the store has no snapshot or no project polygons.
    """
    from geo_renewal.io import atomic_write

    lang = check_lang(lang)
    polys = store.projects()
    dates = store.dates()
    if not dates or polys is None or polys.empty:
        msg = (
            f"the store {store.path} has no snapshots with project polygons; import the "
            f"ledgers with --projects (projects=) to draw the playback."
        )
        raise InputError(msg)
    weeks = _weeks(store, dates, polys["project_id"].astype(str).tolist(), lang)
    data: dict[str, Any] = {
        "dates": [d.isoformat() for d in dates],
        "projects": _features(polys, precision, simplify, ["project_id", "name", "street"]),
        "weeks": weeks,
        "stages": {k: [pick((v[0], v[1]), lang), v[2]] for k, v in STAGES.items()},
        "text": {
            k: say(f"weekly.map.{k}", lang)
            for k in (
                "week",
                "play",
                "pause",
                "changed",
                "overdue",
                "signing",
                "buildings",
                "supervision",
            )
        },
    }
    data["supervision_labels"] = [pick(COLOURS[c][:2], lang) for c in ("blue", "yellow", "red")]
    if buildings is not None:
        buildings = _buildings_with_households(store, buildings)
    if buildings is not None and len(buildings):
        data["buildings"] = _features(buildings, precision, simplify, ["building_id"])
        data["building_weeks"] = _building_weeks(store, dates, buildings)
        data["signing_bins"] = [list(b) for b in _SIGNING_BINS]
    name = title or say("weekly.map.title", lang, name="")
    page = _PAGE.format(
        lang={"zh": "zh-CN", "en": "en"}[lang],
        title=escape(name),
        leaflet_js=LEAFLET_JS,
        leaflet_css=LEAFLET_CSS,
        data=script_json(data),
        script=_SCRIPT,
    )
    out = Path(path)
    with atomic_write(out) as tmp:
        Path(tmp).write_text(inline_assets(page), encoding="utf-8")
    return out


def _features(
    gdf: gpd.GeoDataFrame, precision: int, simplify: float, cols: list[str]
) -> dict[str, Any]:
    """Return polygons as WGS 84 GeoJSON coordinates (rounded) and their attribute columns."""
    import shapely

    g = gdf.geometry
    if gdf.crs is not None and gdf.crs.is_projected and simplify > 0:
        g = g.simplify(simplify, preserve_topology=True)
    if gdf.crs is not None:
        g = g.to_crs(4326)
    g = shapely.set_precision(np.asarray(g.array), 10.0**-precision)
    geo = json.loads(shapely.to_geojson(shapely.GeometryCollection(list(g))))["geometries"]
    out: dict[str, Any] = {"geometry": geo}
    for c in cols:
        if c in gdf.columns:
            out[c] = [None if pd.isna(v) else str(v) for v in gdf[c]]
    return out


def _weeks(store: LedgerStore, dates: list[dt.date], ids: list[str], lang: str) -> dict[str, Any]:
    """Per snapshot: stage code index, overdue flag, stage change, signing % per project."""
    from geo_renewal.progress import project_progress

    codes = list(STAGE_ORDER)  # the legend lists the stages in this order
    pos = {p: i for i, p in enumerate(ids)}
    n = len(ids)
    stage = np.full((len(dates), n), -1, dtype=int)
    overdue = np.zeros((len(dates), n), dtype=int)
    signing = np.full((len(dates), n), -1, dtype=int)
    labels = np.full((len(dates), n), "", dtype=object)
    for k, day in enumerate(dates):
        prog = project_progress(store.snapshot(day), as_of=day, lang=lang)
        idx = [pos.get(str(p), -1) for p in prog["project_id"]]
        keep = np.array(idx) >= 0
        cols = np.array(idx)[keep]
        stage[k, cols] = [codes.index(s) if s in codes else -1 for s in prog["stage"][keep]]
        overdue[k, cols] = prog["overdue"].fillna(False).astype(bool).to_numpy()[keep]
        rate = prog["signing_rate"].to_numpy(dtype=float)[keep]
        signing[k, cols] = np.where(np.isfinite(rate), np.round(rate * 100), -1)
        labels[k, cols] = prog["stage_label"].astype(str).to_numpy()[keep]
    supervised = _supervision_weeks(store, dates, pos)
    changed = np.zeros_like(stage)
    changed[1:] = (stage[1:] != stage[:-1]) & (stage[1:] >= 0) & (stage[:-1] >= 0)
    return {
        "codes": codes,
        "stage": stage.tolist(),
        "overdue": ["".join(map(str, r)) for r in overdue],
        "changed": ["".join(map(str, r)) for r in changed],
        "signing": signing.tolist(),
        "supervision": ["".join(map(str, r)) for r in supervised],
    }


def _supervision_weeks(
    store: LedgerStore, dates: list[dt.date], pos: dict[str, int]
) -> np.ndarray:
    """Per snapshot and project: its most urgent 督办 colour (0 none, 1 blue, 2 yellow, 3 red)."""
    from geo_renewal.supervision import supervise_tasks
    from geo_renewal.tasks import ledger_tasks

    out = np.zeros((len(dates), len(pos)), dtype=int)
    rank = {"blue": 1, "yellow": 2, "red": 3}
    for k, day in enumerate(dates):
        tasks = store.tasks(day)
        if tasks.empty:
            tasks = ledger_tasks(store.snapshot(day))
        sup = supervise_tasks(tasks, as_of=day)
        if sup.empty:
            continue
        worst = sup["colour"].map(rank).groupby(sup["project_id"].astype(str)).max()
        for pid, v in worst.items():
            if pid in pos:
                out[k, pos[pid]] = int(v)
    return out


def _buildings_with_households(
    store: LedgerStore, buildings: gpd.GeoDataFrame
) -> gpd.GeoDataFrame | None:
    """Keep the buildings that have households in the store (None without a household table)."""
    if "building_id" not in buildings.columns:
        msg = "the buildings layer has no building_id column; the households name their 楼栋编号."
        raise InputError(msg)
    hh = store.backend.read("households")
    if hh.empty or "building_id" not in hh:
        return None
    ids = set(hh["building_id"].dropna().astype(str))
    return buildings[buildings["building_id"].astype(str).isin(ids)]


def _building_weeks(
    store: LedgerStore, dates: list[dt.date], buildings: gpd.GeoDataFrame
) -> list[list[int]]:
    """Per snapshot, the signed share (%) of each building's households (-1: none)."""
    from geo_renewal.households import SIGNED

    hh = store.backend.read("households")
    ids = buildings["building_id"].astype(str).tolist()
    out = []
    for day in dates:
        d = day.isoformat()
        if hh.empty:
            out.append([-1] * len(ids))
            continue
        valid = (hh["valid_from"] <= d) & (hh["valid_to"].isna() | (hh["valid_to"] > d))
        sub = hh[valid.to_numpy()]
        g = sub["status"].isin(SIGNED).groupby(sub["building_id"].astype(str)).mean()
        share = pd.Series(ids).map(g)
        out.append([-1 if pd.isna(v) else round(v * 100) for v in share])
    return out


_PAGE = """<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{leaflet_css}"/>
<script src="{leaflet_js}"></script>
<style>
html,body{{margin:0;height:100%;font-family:"PingFang SC","Microsoft YaHei",sans-serif}}
#map{{position:absolute;top:0;bottom:64px;left:0;right:0;background:#f7f7f4}}
#bar{{position:absolute;bottom:0;left:0;right:0;height:64px;display:flex;align-items:center;
gap:12px;padding:0 14px;background:#fff;border-top:1px solid #ccc;box-sizing:border-box}}
#bar input[type=range]{{flex:1}} #day{{font-weight:bold;min-width:7em}}
#legend{{position:absolute;top:10px;right:10px;background:#fff;padding:8px 10px;z-index:500;
font-size:13px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);max-width:45vw;
max-height:calc(100% - 100px);overflow:auto}}
#legend i{{display:inline-block;width:14px;height:14px;margin-right:5px;vertical-align:-2px;
border:1px solid #666}}
h1{{position:absolute;top:10px;left:56px;margin:0;font-size:18px;background:rgba(255,255,255,.85);
padding:4px 8px;border-radius:4px;z-index:500}}
@media (max-width:600px){{h1{{font-size:14px;top:10px;left:50px;max-width:calc(100% - 66px)}}
#legend{{font-size:10px;padding:4px 6px;top:auto;bottom:72px;right:6px}}
#legend i{{width:10px;height:10px}} #day{{min-width:5em;font-size:12px}}}}
</style></head><body>
<h1>{title}</h1><div id="map"></div><div id="legend"></div>
<div id="bar"><button id="play"></button><input id="slider" type="range" min="0" value="0">
<span id="day"></span></div>
<script>var PLAYBACK = {data};</script>
<script>{script}</script>
</body></html>"""

_SCRIPT = r"""
(function () {
  var D = PLAYBACK, T = D.text, W = D.weeks;
  var map = L.map('map', {zoomSnap: 0.25});
  function fc(part) {
    return {type: 'FeatureCollection', features: part.geometry.map(function (g, i) {
      return {type: 'Feature', geometry: g, properties: {i: i}}; })};
  }
  var week = D.dates.length - 1;
  function projStyle(f) {
    var i = f.properties.i, s = W.stage[week][i];
    var code = s >= 0 ? W.codes[s] : null, col = code ? D.stages[code][1] : '#ffffff';
    var over = W.overdue[week][i] === '1', ch = W.changed[week][i] === '1';
    return {fillColor: col, fillOpacity: 0.75, color: over ? '#d62728' : (ch ? '#111' : '#555'),
            weight: ch ? 5 : (over ? 3 : 1), dashArray: ch ? '6 3' : null};
  }
  var projects = L.geoJSON(fc(D.projects), {style: projStyle}).addTo(map);
  projects.bindTooltip(function (layer) {
    var i = layer.feature.properties.i, s = W.stage[week][i], p = D.projects;
    var parts = [(p.project_id ? p.project_id[i] : '') + ' ' + (p.name && p.name[i] ? p.name[i] : '')];
    if (s >= 0) parts.push(D.stages[W.codes[s]][0]);
    if (W.overdue[week][i] === '1') parts.push(T.overdue);
    if (W.changed[week][i] === '1') parts.push(T.changed);
    if (W.signing[week][i] >= 0) parts.push(T.signing + ' ' + W.signing[week][i] + '%');
    var sv = +W.supervision[week][i];
    if (sv) parts.push(T.supervision + ': ' + D.supervision_labels[sv - 1]);
    return parts.map(function (t) { return String(t).replace(/[&<>]/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;'}[c]; }); }).join('<br>');
  });
  var SUP = ['', '#1f77b4', '#f2b701', '#d62728'];
  function supStyle(f) {
    var v = +W.supervision[week][f.properties.i];
    return {fill: false, color: SUP[v] || '#000', weight: v ? 6 : 0, opacity: v ? 0.9 : 0};
  }
  var supervision = L.geoJSON(fc(D.projects), {style: supStyle, interactive: false});
  var buildings = null;
  function binColour(v) {
    if (v < 0) return '#bbbbbb';
    var c = D.signing_bins[0][1];
    D.signing_bins.forEach(function (b) { if (v >= b[0] * 100) c = b[1]; });
    return c;
  }
  var overlays = {};
  overlays[T.supervision] = supervision;
  if (D.buildings) {
    buildings = L.geoJSON(fc(D.buildings), {style: function (f) {
      return {fillColor: binColour(D.building_weeks[week][f.properties.i]), fillOpacity: 0.9,
              color: '#333', weight: 0.5}; }}).addTo(map);
    overlays[T.buildings] = buildings;
  }
  L.control.layers(null, overlays, {collapsed: false, position: 'bottomleft'}).addTo(map);
  map.fitBounds(projects.getBounds(), {padding: [20, 20]});
  var legend = document.getElementById('legend'), html = [];
  var present = {};
  W.stage.forEach(function (row) { row.forEach(function (v) { if (v >= 0) present[v] = 1; }); });
  W.codes.forEach(function (c, k) { if (!present[k]) return; html.push('<div><i style="background:' + D.stages[c][1] + '"></i>' + D.stages[c][0] + '</div>'); });
  html.push('<div><i style="background:#fff;border:3px solid #d62728"></i>' + T.overdue + '</div>');
  html.push('<div><i style="background:#fff;border:3px dashed #111"></i>' + T.changed + '</div>');
  html.push('<div style="margin-top:4px"><b>' + T.supervision + '</b></div>' + [3, 2, 1].map(function (v) {
    return '<i style="background:#fff;border:3px solid ' + SUP[v] + '"></i>' + D.supervision_labels[v - 1] + ' '; }).join(''));
  if (D.buildings) html.push('<div style="margin-top:4px"><b>' + T.buildings + '</b></div>' +
    D.signing_bins.map(function (b) { return '<i style="background:' + b[1] + '"></i>' + b[2] + ' '; }).join(''));
  legend.innerHTML = html.join('');
  var slider = document.getElementById('slider'), day = document.getElementById('day');
  var play = document.getElementById('play'), timer = null;
  slider.max = D.dates.length - 1; slider.value = week;
  function show(k) {
    week = k; slider.value = k; day.textContent = T.week + ' ' + D.dates[k];
    projects.setStyle(projStyle);
    supervision.setStyle(supStyle);
    if (buildings) buildings.setStyle(function (f) {
      return {fillColor: binColour(D.building_weeks[week][f.properties.i]), fillOpacity: 0.9,
              color: '#333', weight: 0.5}; });
  }
  slider.addEventListener('input', function () { show(+slider.value); });
  function stop() { clearInterval(timer); timer = null; play.textContent = '▶ ' + T.play; }
  play.addEventListener('click', function () {
    if (timer) { stop(); return; }
    if (week >= D.dates.length - 1) show(0);
    play.textContent = '❚❚ ' + T.pause;
    timer = setInterval(function () {
      if (week >= D.dates.length - 1) { stop(); return; }
      show(week + 1);
    }, 1200);
  });
  stop(); show(week);
})();
"""
