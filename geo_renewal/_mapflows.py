"""
The resettlement map's geometry and colours: curved flows, one colour per used site.

Also the site each demand unit mostly goes to. No folium here: `geo_renewal.maps` draws what these functions return. A site's catchment
reads at a glance when its demand units are filled in the site's colour and the flows are
curved arrows (straight lines from many units to one site lie on top of each other).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

import shapely

from geo_renewal import _mapdata as md
from geo_renewal._html import escape
from geo_renewal._maplayer import Ctx, add_layer, hex_to_rgba, name_col, swatch, total_fields
from geo_renewal.crs import to_working
from geo_renewal.text import say

if TYPE_CHECKING:
    import folium

    import geopandas as gpd

#: Tooltip fields of the sites and of the flows, when present.
SITE_FIELDS = ("site_id", "name", "capacity_units", "allocated_households", "utilisation")
FLOW_FIELDS = ("unit_id", "site_id", "households", "dist_m")

#: Colours of the used sites (and of the units they take): distinct, dark enough for
#: white labels' outlines, none of them the red of demolition or the grey of unused land.
SITE_PALETTE: tuple[str, ...] = (
    "#1f78b4",
    "#33a02c",
    "#ff7f00",
    "#6a3d9a",
    "#b15928",
    "#e7298a",
    "#01665e",
    "#8c6d31",
    "#3f007d",
    "#66a61e",
)

#: Colour of sites that take nobody.
UNUSED_SITE = "#9e9e9e"


def main_site(flows: pd.DataFrame) -> pd.Series:
    """Return, per ``unit_id``, the ``site_id`` that takes most of its households."""
    if flows.empty or not {"unit_id", "site_id", "households"} <= set(flows.columns):
        return pd.Series(dtype=object)
    hh = pd.to_numeric(flows["households"], errors="coerce").fillna(0.0)
    ordered = flows.assign(_hh=hh).sort_values(["unit_id", "_hh"], ascending=[True, False])
    return ordered.drop_duplicates("unit_id").set_index("unit_id")["site_id"]


def site_colors(sites: gpd.GeoDataFrame, flows: pd.DataFrame) -> dict[str, str]:
    """
    Colour the used sites so that neighbouring sites differ (greedy, biggest first).

    Sites are taken by households placed, largest first; each gets the first palette colour
    not used by the sites nearest to it (its four nearest used neighbours). Unused sites get
    `UNUSED_SITE`.
    """
    ids = sites["site_id"].astype(str).to_numpy() if "site_id" in sites.columns else np.array([])
    placed = (
        pd.to_numeric(flows["households"], errors="coerce")
        .groupby(flows["site_id"].astype(str))
        .sum()
        if len(flows) and {"site_id", "households"} <= set(flows.columns)
        else pd.Series(dtype=float)
    )
    used = [i for i in ids if placed.get(i, 0) > 0]
    colors = dict.fromkeys(ids, UNUSED_SITE)
    if not used:
        return colors
    pos = pd.Index(ids)
    pts = shapely.centroid(to_working(sites).geometry.to_numpy())
    xy = np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])[pos.get_indexer(used)]
    order = np.argsort(-np.array([placed[i] for i in used]), kind="stable")
    k = min(4, len(used) - 1)
    for j in order:
        d = np.hypot(*(xy - xy[j]).T)
        near = [used[n] for n in np.argsort(d)[1 : k + 1]]
        taken = {colors[n] for n in near}
        free = [c for c in SITE_PALETTE if c not in taken]
        colors[used[j]] = free[0] if free else SITE_PALETTE[j % len(SITE_PALETTE)]
    return colors


def curved_flows(flows: gpd.GeoDataFrame, *, bend: float = 0.2, n: int = 17) -> np.ndarray:
    """
    Return each flow as a curve from its first to its last point (input CRS).

    A quadratic Bézier curve in the working CRS whose control point lies `bend` × the
    length to the right of the chord's midpoint, sampled at `n` points: flows from one unit
    to several sites, or from several units to one site, fan out instead of overlapping.
    """
    geoms = flows.geometry.to_numpy()
    if not len(geoms):
        return geoms
    work = to_working(flows)
    arr = work.geometry.to_numpy()
    first = shapely.get_coordinates(shapely.get_point(arr, 0))
    last = shapely.get_coordinates(shapely.get_point(arr, -1))
    chord = last - first
    normal = np.column_stack([chord[:, 1], -chord[:, 0]])  # to the right of the direction
    ctrl = (first + last) / 2 + bend * normal
    t = np.linspace(0.0, 1.0, n)[None, :, None]
    pts = (1 - t) ** 2 * first[:, None] + 2 * (1 - t) * t * ctrl[:, None] + t**2 * last[:, None]
    curves = shapely.linestrings(pts)
    same = np.hypot(*chord.T) == 0
    curves[same] = arr[same]
    import geopandas as gpd

    return gpd.GeoSeries(curves, crs=work.crs).to_crs(flows.crs).to_numpy()


def site_labels(sites: gpd.GeoDataFrame, lang: str) -> list[str]:
    """Return two short lines per site: its name, then households placed / capacity (套)."""
    col = name_col(sites, ("name", "site_id"))
    names = md.format_values(sites[col], col, lang) if col else [""] * len(sites)
    cap = pd.to_numeric(sites.get("capacity_units", pd.Series(np.nan, index=sites.index)))
    alloc = pd.to_numeric(sites.get("allocated_households", pd.Series(np.nan, index=sites.index)))
    unit, hh = escape(say("map.units", lang)), escape(say("map.hh", lang))
    labels = []
    for i in range(len(sites)):
        bits = [names[i]] if names[i] else []
        a, c = alloc.iloc[i], cap.iloc[i]
        if pd.notna(a) and pd.notna(c):
            bits.append(f"{md.fmt_number(float(a))} {hh} / {md.fmt_number(float(c))} {unit}")
        elif pd.notna(c):
            bits.append(f"{escape(say('map.capacity', lang))} {md.fmt_number(float(c))} {unit}")
        labels.append(f"<span class=gr-site>{'<br>'.join(bits)}</span>" if bits else "")
    return labels


def site_layer(
    m: folium.Map, ctx: Ctx, sites: gpd.GeoDataFrame, colors: Mapping[str, str] | None
) -> str:
    """Sites, filled in their catchment colour when `colors` (site_id -> colour) is given."""
    lang = ctx.lang
    style = {"color": "#00441b", "weight": 2, "fillColor": "#1a9641", "fillOpacity": 0.45}
    style_keys, styles = None, []
    if colors and "site_id" in sites.columns:
        palette = list(dict.fromkeys(colors.values()))
        styles = [{"fillColor": c, "fillOpacity": 0.85, "color": "#222222"} for c in palette]
        style_keys = np.array(
            [palette.index(colors.get(str(i), UNUSED_SITE)) for i in sites["site_id"]]
        )
    alloc = pd.to_numeric(sites.get("allocated_households", pd.Series(1, index=sites.index)))
    used = alloc.fillna(0).to_numpy() > 0
    ranks = np.argsort(np.argsort(-alloc.fillna(0).to_numpy(), kind="stable"), kind="stable")
    labels = site_labels(sites, lang)
    if colors:  # sites that take nobody: no label on a catchment map
        labels = [t if u else "" for t, u in zip(labels, used, strict=True)]
    tip = [c for c in SITE_FIELDS if c in sites.columns]
    name = say("map.sites", lang)
    add_layer(
        m,
        ctx,
        sites,
        arg="sites",
        name=f"{name} ({len(sites):,})",
        style=style,
        styles=styles,
        style_keys=style_keys,
        labels=labels if len(sites) <= 300 else None,
        label_ranks=ranks.tolist(),
        tip_fields=tip,
        role="sites",
    )
    if colors:
        return f"<div>{_palette_swatch(colors, '#222222', 0.85)}{escape(name)}</div>"
    return f"<div>{swatch(style)}{escape(name)}</div>"


def demand_layer(
    m: folium.Map,
    ctx: Ctx,
    demand: gpd.GeoDataFrame,
    flows: gpd.GeoDataFrame | None,
    colors: Mapping[str, str],
) -> str:
    """Demand units filled in the colour of the site that takes most of their households."""
    lang = ctx.lang
    goes_to = main_site(flows) if flows is not None else pd.Series(dtype=object)
    ids = demand["unit_id"] if "unit_id" in demand.columns else pd.Series("", index=demand.index)
    site = ids.map(goes_to)
    fill = [colors.get(str(x), "#ffffff") if pd.notna(x) else "#ffffff" for x in site]
    palette = list(dict.fromkeys(fill))
    style = {"color": "#555555", "weight": 0.8, "fillOpacity": 0.45, "under": True}
    name = say("map.demand_units", lang)
    shown = demand.assign(site_id=site.to_numpy())
    add_layer(
        m,
        ctx,
        shown,
        arg="demand",
        name=f"{name} ({len(demand):,})",
        style=style,
        styles=[{"fillColor": c} for c in palette],
        style_keys=np.array([palette.index(c) for c in fill], dtype=int),
        tip_fields=[*total_fields(shown, name_col(shown, ("unit_id",))), "site_id"],
        head=escape(name),
        role="demand",
    )
    sw = _palette_swatch(colors, "#555555", 0.45)
    return f"<div>{sw}{escape(say('map.demand_units_legend', lang))}</div>"


def flow_layer(
    m: folium.Map, ctx: Ctx, flows: gpd.GeoDataFrame, colors: Mapping[str, str] | None
) -> str:
    """Flows as curved arrows to their site, width by households, in the site's colour."""
    lang = ctx.lang
    style = {"color": "#08519c", "weight": 2, "opacity": 0.85, "fill": False, "arrow": True}
    hh = (
        pd.to_numeric(flows["households"], errors="coerce").fillna(0.0)
        if "households" in flows.columns
        else pd.Series(0.0, index=flows.index)
    )
    hmax = float(hh.max()) if len(hh) and hh.max() > 0 else 1.0
    weights = np.round(1.5 + 8.0 * np.sqrt(np.clip(hh.to_numpy(float), 0, None) / hmax), 1)
    site = flows["site_id"].astype(str) if "site_id" in flows.columns else None
    col = [colors.get(x, "#08519c") for x in site] if colors and site is not None else None
    keys_src = list(zip(weights.tolist(), col or ["#08519c"] * len(flows), strict=True))
    uniq = list(dict.fromkeys(keys_src))
    styles = [{"weight": w, "color": c} for w, c in uniq]
    keys = np.array([uniq.index(k) for k in keys_src], dtype=int)
    labels, ranks = None, None
    if "households" in flows.columns and len(flows) <= 200:
        unit = escape(say("map.hh", lang))
        labels = [f"{md.fmt_number(float(h))} {unit}" for h in hh]
        ranks = np.argsort(np.argsort(-hh.to_numpy(), kind="stable"), kind="stable").tolist()
    tip = [c for c in FLOW_FIELDS if c in flows.columns]
    name = say("map.flows", lang)
    curved = flows.set_geometry(curved_flows(flows), crs=flows.crs) if len(flows) else flows
    add_layer(
        m,
        ctx,
        curved,
        arg="flows",
        name=f"{name} ({len(flows):,})",
        style=style,
        styles=styles,
        style_keys=keys,
        labels=labels,
        label_ranks=ranks,
        tip_fields=tip,
        role="flows",
    )
    sw = _palette_swatch(colors, None, 0.85) if colors else swatch(style, line=True)
    return f"<div>{sw}{escape(name)} → {escape(say('map.flow_width', lang))}</div>"


def _palette_swatch(colors: Mapping[str, str], outline: str | None, alpha: float) -> str:
    """Return a legend swatch striped in the site colours in use (a line when no `outline`)."""
    used = [c for c in dict.fromkeys(colors.values()) if c != UNUSED_SITE][:4] or [UNUSED_SITE]
    stops = ",".join(
        f"{hex_to_rgba(c, alpha)} {100 * k / len(used):.0f}% {100 * (k + 1) / len(used):.0f}%"
        for k, c in enumerate(used)
    )
    if outline is None:
        return f'<span class="gr-sw" style="height:4px;background:linear-gradient(90deg,{stops})"></span>'
    return (
        f'<span class="gr-sw" style="background:linear-gradient(90deg,{stops});'
        f'border:1px solid {outline}"></span>'
    )
