"""
The layers of a printed map: what is drawn (a `Scene`) and how, one compound path per class.

A `Scene` holds the layers of one run in one projected CRS (the parcels' grid, or their
working CRS), with the run's name, office, date and sources. Polygons of one class are
drawn as one `PathPatch` (a compound path of every ring), not one artist per parcel, so an
A0 sheet of 100,000 parcels is a handful of PDF paths. Colours and labels are those of the
HTML maps (`schema.CATEGORIES`, `schema.STAGES`, `_mapdata.CONSTRAINT_STYLES`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal import _mapdata as md
from geo_renewal._print_frame import LegendRow
from geo_renewal._print_labels import Label
from geo_renewal._roles import class_colors, class_labels, in_role
from geo_renewal.schema import label
from geo_renewal.text import pick, say

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    import geopandas as gpd

__all__ = ["Scene", "draw_map_layers", "scene_from"]

#: Layers a scene may hold, in drawing order (bottom first).
_LAYERS = ("classified", "zones", "demand", "projects", "sites", "units", "districts")

#: Dash patterns of the HTML styles as matplotlib line styles.
_DASHES = {
    "6 4": (0, (6, 4)),
    "2 4": (0, (2, 4)),
    "8 4 2 4": (0, (8, 4, 2, 4)),
    "10 6": (0, (10, 6)),
    "3 3": (0, (3, 3)),
    "5 5": (0, (5, 5)),
}


@dataclass
class Scene:
    """
    The layers of one printed map, all in one projected CRS, and the sheet's notes.

    Attributes
    ----------
    crs
        The projected CRS every layer is in.
    lang
        ``"zh"`` or ``"en"``.
    name
        Project name (for titles), or None.
    office
        制图单位, or None.
    as_of
        截至日期 of progress, or None.
    sources
        数据来源: the input files' names.
    layers
        Role -> layer (``classified``, ``zones``, ``districts``, ``units``, ``projects``,
        ``demand``, ``sites``, ``flows``).
    constraints
        Constraint layers by name.
    """

    crs: Any
    lang: str
    name: str | None = None
    office: str | None = None
    as_of: dt.date | None = None
    sources: list[str] = field(default_factory=list)
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    constraints: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)

    def get(self, role: str) -> gpd.GeoDataFrame | None:
        """Return the layer of `role`, or None when the scene has none (or it is empty)."""
        gdf = self.layers.get(role)
        return gdf if gdf is not None and len(gdf) else None


def _from_result(result: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Return the layers, constraints and notes of a `RunResult` (duck-typed)."""
    plan = result.plan
    layers: dict[str, Any] = {
        "classified": result.classified,
        "zones": result.zones,
        "districts": result.layers.get("districts"),
        "units": result.layers.get("units"),
    }
    if result.progress is not None and "geometry" in result.progress.columns:
        layers["projects"] = result.progress
    layers["project_areas"] = result.layers.get("projects")
    rs = result.resettlement
    if rs is not None:
        layers.update(demand=rs.demand, sites=rs.sites, flows=rs.flows)
    sources = sorted({Path(spec.path).name for spec in plan.layers.values()})
    if plan.ledger is not None:
        sources.append(Path(plan.ledger).name)
    notes = {"name": plan.name, "office": plan.office, "as_of": plan.as_of, "sources": sources}
    return layers, dict(result.constraints), notes


def _read_classified(path: Path) -> dict[str, Any]:
    from geo_renewal.io import layers_in, read_layer

    names = layers_in(path, ("parcels", "zones", "districts", "units"))
    if "parcels" in names:
        out = {"classified": read_layer(path, layer="parcels")}
        for role in ("zones", "districts", "units"):
            if role in names:
                out[role] = read_layer(path, layer=role)
        return out
    return {"classified": read_layer(path)}


def scene_from(
    data: Any,
    *,
    lang: str,
    districts: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    office: str | None = None,
    as_of: dt.date | None = None,
) -> Scene:
    """Build the scene of a `RunResult`, a classified layer or a classified file's path."""
    import geopandas as gpd

    from geo_renewal._errors import InputError
    from geo_renewal.crs import check_crs, working_crs

    notes: dict[str, Any] = {"sources": []}
    constraints: dict[str, Any] = {}
    if hasattr(data, "plan") and hasattr(data, "classified"):
        layers, constraints, notes = _from_result(data)
    elif isinstance(data, gpd.GeoDataFrame):
        layers = {"classified": data}
    elif isinstance(data, str | Path):
        layers = _read_classified(Path(data))
        notes["sources"] = [Path(data).name]
    else:
        msg = (
            "`print_map` draws a run's result (run_plan), a classified GeoDataFrame or the path "
            f"of a classified file, got {type(data).__name__}; classify the parcels first."
        )
        raise InputError(msg)
    layers.update({k: v for k, v in (("districts", districts), ("units", units)) if v is not None})
    base = layers.get("classified")
    if base is None:
        base = next(v for v in layers.values() if v is not None)
    check_crs(base, "classified")
    target = base.crs if base.crs.is_projected else working_crs(base)
    projected = {k: v.to_crs(target) for k, v in layers.items() if v is not None and len(v)}
    return Scene(
        crs=target,
        lang=lang,
        name=notes.get("name"),
        office=office if office is not None else notes.get("office"),
        as_of=as_of if as_of is not None else notes.get("as_of"),
        sources=list(notes.get("sources", [])),
        layers=projected,
        constraints={k: v.to_crs(target) for k, v in constraints.items() if len(v)},
    )


# --------------------------------------------------------------------------------------
# geometry to matplotlib
# --------------------------------------------------------------------------------------


#: Polygons per path of a class: small spatial chunks keep a PDF viewer's scan conversion fast.
CHUNK = 1500
#: Vertices are snapped to this grid on paper (points; 0.1 pt = 0.035 mm): shorter numbers in
#: the PDF, no visible change.
SNAP_PT = 0.1


def polygon_paths(geoms: Any, *, ax: Axes | None = None) -> list[Any]:
    """
    Return compound `matplotlib.path.Path` objects of every polygon ring (holes stay holes).

    Polygons are ordered along a coarse grid and cut into chunks of `CHUNK`; with `ax`, the
    vertices are snapped to `SNAP_PT` on paper and repeated vertices dropped.
    """
    from matplotlib.path import Path as MplPath

    import shapely

    g = shapely.get_parts(np.asarray(geoms, dtype=object))
    g = g[shapely.get_type_id(g) == 3]
    if not len(g):
        return []
    g = shapely.orient_polygons(g)  # exteriors counter-clockwise, holes clockwise: non-zero fill
    b = shapely.bounds(g)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    cell = max(float(np.ptp(cx)), float(np.ptp(cy)), 1.0) / 24
    g = g[np.lexsort(((cx // cell), (cy // cell)))]
    paths = []
    for start in range(0, len(g), CHUNK):
        coords, idx = shapely.get_coordinates(
            shapely.get_rings(g[start : start + CHUNK]), return_index=True
        )
        codes = np.full(len(coords), MplPath.LINETO, dtype=np.uint8)
        codes[np.r_[0, np.flatnonzero(np.diff(idx)) + 1]] = MplPath.MOVETO
        if ax is not None:
            coords, codes = _snapped(ax, coords, codes)
        paths.append(MplPath(coords, codes))
    return paths


def _snapped(ax: Axes, coords: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Snap vertices to `SNAP_PT` on paper and drop the repeated ones."""
    scale = 72.0 / ax.figure.dpi  # display units -> points
    trans = ax.transData
    pts = np.round(trans.transform(coords) * scale / SNAP_PT) * SNAP_PT
    same = np.r_[False, np.all(pts[1:] == pts[:-1], axis=1)] & (codes != 1)
    keep = ~same
    return trans.inverted().transform(pts[keep] / scale), codes[keep]


def fill(ax: Axes, geoms: Any, *, zorder: float = 2, **style: Any) -> bool:
    """Draw polygons as one collection (one artist); returns False when nothing was drawn."""
    from matplotlib.collections import PathCollection

    paths = polygon_paths(geoms, ax=ax)
    if not paths:
        return False
    style = {k: v for k, v in style.items() if v is not None}
    coll = PathCollection(paths, zorder=zorder, transform=ax.transData, **style)
    ax.add_artist(coll)  # not add_collection: no data-limit update over every vertex
    return True


def lines(ax: Axes, geoms: Any, *, widths: Any = 1.0, zorder: float = 5, **style: Any) -> None:
    """Draw line features (flows, rivers) as one `LineCollection`."""
    from matplotlib.collections import LineCollection

    import shapely

    segs = [np.asarray(shapely.get_coordinates(g)) for g in np.asarray(geoms, dtype=object)]
    ax.add_collection(LineCollection(segs, linewidths=widths, zorder=zorder, **style))


def _hex_style(style: dict[str, Any], k: float) -> dict[str, Any]:
    """Translate a Leaflet path style (`_mapdata.CONSTRAINT_STYLES`) to matplotlib."""
    out: dict[str, Any] = {
        "edgecolor": style.get("color", "#333333"),
        "linewidth": float(style.get("weight", 1.5)) * 0.6 * k,
        "facecolor": style.get("fillColor", style.get("color", "#333333")),
        "alpha": None,
    }
    dash = style.get("dashArray")
    if dash:
        out["linestyle"] = _DASHES.get(dash, "--")
    return out


# --------------------------------------------------------------------------------------
# the three maps
# --------------------------------------------------------------------------------------


def _ha(m2: float) -> str:
    return f"{m2 / 10_000:,.2f}"


def _classification(ax: Axes, scene: Scene, k: float) -> list[LegendRow]:
    from geo_renewal.crs import area

    parcels = scene.get("classified")
    if parcels is None:
        return []
    lang = scene.lang
    cats = (
        parcels["category"]
        if "category" in parcels.columns
        else pd.Series(np.nan, index=parcels.index)
    )
    order = md.category_order(cats)
    colors = md.category_colors(order, class_colors(parcels))  # the rule set's own colours
    names = class_labels(parcels, lang)  # and names (拆除重建类, not its code)
    codes = cats.astype(object).where(cats.notna(), md.UNCLASSIFIED).map(str).to_numpy()
    areas = area(parcels).fillna(0.0).to_numpy()
    geoms = parcels.geometry.to_numpy()
    rows, n_all, a_all = [], 0, 0.0
    edge = {"edgecolor": "#555555", "linewidth": 0.12 * k**0.5}
    for code in order:
        mask = codes == code
        n, a = int(mask.sum()), float(areas[mask].sum())
        n_all, a_all = n_all + n, a_all + a
        face = colors[code]
        fill(ax, geoms[mask], facecolor=face, zorder=2, **edge)
        text = (
            say("map.unclassified", lang)
            if code == md.UNCLASSIFIED
            else names.get(code) or label(code, lang)
        )
        rows.append(LegendRow(text, {"facecolor": face, **edge}, figures=(f"{n:,}", _ha(a))))
    rows.append(
        LegendRow(
            say("map.total", lang), kind="none", figures=(f"{n_all:,}", _ha(a_all)), bold=True
        )
    )
    return rows


def _progress(ax: Axes, scene: Scene, k: float) -> list[LegendRow]:
    projects = scene.get("projects")
    if projects is None:
        return []
    lang = scene.lang
    stage = (
        projects["stage"].astype(object)
        if "stage" in projects.columns
        else pd.Series(None, index=projects.index, dtype=object)
    )
    stage = stage.where(stage.notna(), md.UNCLASSIFIED).map(str)
    order, colors = md.stage_colors(stage)
    geoms = projects.geometry.to_numpy()
    rows = []
    edge = {"edgecolor": "#404040", "linewidth": 0.5 * k**0.5}
    for s in order:
        mask = (stage == s).to_numpy()
        fill(ax, geoms[mask], facecolor=colors[s], zorder=4, **edge)
        text = say("map.unclassified", lang) if s == md.UNCLASSIFIED else label(s, lang)
        rows.append(
            LegendRow(text, {"facecolor": colors[s], **edge}, figures=(f"{int(mask.sum()):,}",))
        )
    over = (
        projects["overdue"].fillna(False).astype(bool).to_numpy()
        if "overdue" in projects.columns
        else np.zeros(len(projects), bool)
    )
    style = {"edgecolor": "#e31a1c", "linewidth": 1.6 * k**0.5, "linestyle": (0, (4, 3))}
    fill(ax, geoms[over], facecolor="none", zorder=6, **style)
    rows.append(
        LegendRow(
            say("map.overdue", lang), style, kind="outline", figures=(f"{int(over.sum()):,}",)
        )
    )
    return rows


def _resettlement(ax: Axes, scene: Scene, k: float) -> list[LegendRow]:
    lang = scene.lang
    rows = []
    parcels = scene.get("classified")
    if parcels is not None:
        fill(
            ax,
            parcels.geometry.to_numpy(),
            facecolor="#f2f2f2",
            edgecolor="#cccccc",
            linewidth=0.1 * k**0.5,
            zorder=1,
        )
    demand, sites, flows = scene.get("demand"), scene.get("sites"), scene.get("flows")
    if demand is not None:
        style = {"facecolor": "#fcae91", "edgecolor": "#cb181d", "linewidth": 0.6 * k**0.5}
        fill(ax, demand.geometry.to_numpy(), zorder=3, **style)
        hh = (
            pd.to_numeric(demand.get("flat_households", pd.Series(0, index=demand.index)))
            .fillna(0)
            .sum()
        )
        rows.append(
            LegendRow(
                say("map.demand_units", lang), style, figures=(f"{len(demand):,}", f"{hh:,.0f}")
            )
        )
    if sites is not None:
        style = {"facecolor": "#1a9641", "edgecolor": "#00441b", "linewidth": 0.6 * k**0.5}
        fill(ax, sites.geometry.to_numpy(), zorder=4, **style)
        cap = (
            pd.to_numeric(sites.get("allocated_households", pd.Series(0, index=sites.index)))
            .fillna(0)
            .sum()
        )
        rows.append(
            LegendRow(say("map.sites", lang), style, figures=(f"{len(sites):,}", f"{cap:,.0f}"))
        )
    if flows is not None:
        hh = pd.to_numeric(flows["households"]).fillna(0).to_numpy(float)
        widths = 0.4 * k**0.5 + 2.2 * k**0.5 * np.sqrt(hh / max(hh.max(), 1.0))
        lines(ax, flows.geometry.to_numpy(), widths=widths, colors="#08519c", alpha=0.75, zorder=7)
        style = {"edgecolor": "#08519c", "linewidth": 1.5}
        rows.append(
            LegendRow(
                say(
                    "print.flows_legend",
                    lang,
                    flows=say("map.flows", lang),
                    width=say("map.flow_width", lang),
                ),
                style,
                kind="line",
                figures=(f"{len(flows):,}", f"{hh.sum():,.0f}"),
            )
        )
    return rows


def _context(ax: Axes, scene: Scene, k: float, *, zones: bool) -> list[LegendRow]:
    """Draw constraint layers, zones, units and street boundaries (outlines); their legend rows."""
    lang, rows = scene.lang, []
    for name, gdf in scene.constraints.items():
        if name in md.CONSTRAINT_STYLES:
            zh, en, st = md.CONSTRAINT_STYLES[name]
            text = pick((zh, en), lang)
        else:
            st, text = {"color": "#1f78b4", "weight": 2, "dashArray": "5 5"}, name
        style = _hex_style(st, k)
        kinds = set(gdf.geom_type.dropna().unique())
        if kinds and kinds <= {"LineString", "MultiLineString"}:
            lines(
                ax,
                gdf.geometry.to_numpy(),
                widths=style["linewidth"],
                colors=style["edgecolor"],
                zorder=5,
            )
            rows.append(LegendRow(text, style, kind="line"))
            continue
        fill(
            ax,
            gdf.geometry.to_numpy(),
            facecolor="none",
            zorder=5,
            **{k_: v for k_, v in style.items() if k_ not in ("facecolor", "alpha")},
        )
        rows.append(LegendRow(text, style, kind="outline"))
    zone_layer = scene.get("zones") if zones else None
    if zone_layer is not None and "category" in zone_layer.columns:
        zone_layer = zone_layer[~in_role(zone_layer, "unchanged")]  # by role, not code
        style = {"edgecolor": "#08306b", "linewidth": 0.9 * k**0.5, "linestyle": (0, (5, 3))}
        fill(ax, zone_layer.geometry.to_numpy(), facecolor="none", zorder=6, **style)
        rows.append(
            LegendRow(
                say("map.zones", lang), style, kind="outline", figures=(f"{len(zone_layer):,}",)
            )
        )
    units = scene.get("units")
    if units is not None:
        style = {"edgecolor": "#6a3d9a", "linewidth": 1.6 * k**0.5}
        fill(ax, units.geometry.to_numpy(), facecolor="none", zorder=7, **style)
        rows.append(
            LegendRow(
                say("map.renewal_units", lang), style, kind="outline", figures=(f"{len(units):,}",)
            )
        )
    districts = scene.get("districts")
    if districts is not None:
        style = {"edgecolor": "#252525", "linewidth": 1.3 * k**0.5, "linestyle": (0, (8, 2, 2, 2))}
        fill(ax, districts.geometry.to_numpy(), facecolor="none", zorder=8, **style)
        rows.append(
            LegendRow(
                say("map.districts", lang), style, kind="line", figures=(f"{len(districts):,}",)
            )
        )
    return rows


def draw_map_layers(
    ax: Axes, scene: Scene, kind: str, k: float
) -> tuple[list[LegendRow], list[LegendRow]]:
    """Draw the layers of map `kind`; return its main legend rows and the other layers' rows."""
    main = {
        "classification": _classification,
        "progress": _progress,
        "resettlement": _resettlement,
    }[kind](ax, scene, k)
    if kind == "progress" and scene.get("classified") is not None:
        fill(
            ax,
            scene.layers["classified"].geometry.to_numpy(),
            facecolor="#f7f7f7",
            edgecolor="#d9d9d9",
            linewidth=0.1 * k**0.5,
            zorder=1,
        )
    other = _context(ax, scene, k, zones=kind == "classification")
    return main, other


# --------------------------------------------------------------------------------------
# labels
# --------------------------------------------------------------------------------------


def _points(gdf: gpd.GeoDataFrame) -> np.ndarray:
    import shapely

    return shapely.get_coordinates(shapely.point_on_surface(gdf.geometry.to_numpy()))


def _names(gdf: gpd.GeoDataFrame, cols: tuple[str, ...]) -> list[str]:
    col = next((c for c in cols if c in gdf.columns), None)
    if col is None:
        return [""] * len(gdf)
    return ["" if pd.isna(v) else str(v) for v in gdf[col]]


def label_candidates(scene: Scene, kind: str, k: float) -> list[Label]:
    """Return the label candidates of map `kind`, ranked like the HTML maps' labels."""
    # a light box, not a stroked halo: path effects turn text into outlines, and a planner
    # searches the PDF for "GX09"
    halo = {"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none", "alpha": 0.7}
    out: list[Label] = []
    lang = scene.lang
    projects = scene.get("projects") if kind == "progress" else None
    if projects is not None:
        over = (
            projects["overdue"].fillna(False).astype(bool).to_numpy()
            if "overdue" in projects.columns
            else np.zeros(len(projects), bool)
        )
        days = pd.to_numeric(
            projects.get("days_behind", pd.Series(np.nan, index=projects.index))
        ).to_numpy(float)
        ids = _names(projects, ("project_id", "name"))
        stages = (
            projects["stage"].astype(object).tolist()
            if "stage" in projects.columns
            else [None] * len(projects)
        )
        for i, (x, y) in enumerate(_points(projects)):
            text = ids[i]
            if stages[i] is not None and not pd.isna(stages[i]):
                text += "\n" + label(str(stages[i]), lang)
            if over[i] and not np.isnan(days[i]):
                text += " " + say("map.days_behind", lang, n=int(days[i]))
            style = {"color": "#b10026", "fontweight": "bold"} if over[i] else {}
            rank = (
                md.label_priority("projects"),
                0 if over[i] else 1,
                -(days[i] if over[i] and not np.isnan(days[i]) else 0),
                i,
            )
            place = {"around": True, "must": bool(over[i])}  # overdue: placed or named
            out.append(Label(rank, x, y, text, {**style, **place, "bbox": halo}))
    sites = scene.get("sites") if kind == "resettlement" else None
    if sites is not None:
        for i, ((x, y), name) in enumerate(
            zip(_points(sites), _names(sites, ("name", "site_id")), strict=True)
        ):
            out.append(
                Label(
                    (md.label_priority("sites"), i),
                    x,
                    y,
                    name,
                    {"color": "#00441b", "bbox": halo, "around": True},
                )
            )
    for role, cols, scale in (
        ("districts", ("name", "street", "district_id"), 1.6),
        ("units", ("name", "unit_id"), 1.0),
    ):
        gdf = scene.get(role)
        if gdf is None or len(gdf) > 300:
            continue
        color = "#252525" if role == "districts" else "#6a3d9a"
        for i, ((x, y), name) in enumerate(zip(_points(gdf), _names(gdf, cols), strict=True)):
            if name:
                out.append(
                    Label(
                        (md.label_priority(role), i),
                        x,
                        y,
                        name,
                        {
                            "color": color,
                            "fontweight": "bold" if role == "districts" else "normal",
                            "scale": scale,
                            "bbox": halo,
                        },
                    )
                )
    return out
