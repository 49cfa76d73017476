"""
Meeting maps: folium maps of classified parcels, constraints, resettlement and projects.

`renewal_map` draws the layers of a renewal plan on one Leaflet map — one toggleable layer
per renewal category in the fixed palette of `schema.CATEGORIES`, a legend with parcel
counts and areas (公顷), street outlines with labels, renewal zones, constraint layers,
resettlement sites and flows, and projects coloured by stage — with Chinese labels by
default. `save_map` writes it atomically, optionally as one self-contained offline file.

Design
------
* **Safe.** Every text from data (attribute values, column and layer names, titles, legend
  and category labels) passes through `geo_renewal._html.escape`; folium's
  ``GeoJsonTooltip`` / ``GeoJsonPopup`` (which insert raw values with ``innerHTML``) are not
  used. Tooltips and popups are built in the browser from escaped values.
* **Fast with big layers.** Geometries are simplified in the working CRS (topology of each
  feature kept, ``settings.map_simplify_tolerance`` metres), rounded to
  ``settings.map_coordinate_precision`` decimals and written as integer deltas. In the
  browser a small script draws each layer as ONE path on Leaflet's canvas renderer (a fill
  and a stroke per style and 50 features, no Leaflet object per feature) and finds the
  feature under the mouse with a grid index, so 100k parcels open in seconds. Only tooltip
  and popup fields are exported. Styles are per layer (one layer per category), never a
  per-feature Python ``style_function``. Above ``settings.map_feature_warning`` features a
  warning says what was reduced and what lighter output to use.
* **Right over Chinese base maps.** ``tiles="gaode"`` tiles are in GCJ-02: the display copy
  of every layer is shifted with `geo_renewal.crs.wgs84_to_gcj02`, and the attribution says
  so. The data passed in is never changed. Tianditu tiles are CGCS2000 ≈ WGS84 (no shift).
* **Offline.** ``save_map(m, path, offline=True)`` embeds Leaflet and the plugins (scripts,
  stylesheets and their images as ``data:`` URIs) from the installed ``folium-offline``
  package; with ``tiles="none"`` the file makes no network request at all.

In the page, ``geoRenewal.layers`` lists the data layers in drawing order as
``{name, layer, path, count}`` (``layer`` is the ``L.FeatureGroup`` in the layer control,
``path`` the canvas path holding its ``count`` features), and
``geoRenewal.featureLatLng(entry, i)`` gives a point of feature ``i`` — a stable handle for
browser tests (hover, click) that does not depend on how features are drawn.

Base maps (``tiles=``)
----------------------
``"none"``
    No base map, no network; a plain background.
``"osm"``, ``"cartodb"``
    OpenStreetMap / CARTO Positron (WGS84; often unreachable from government networks).
``"tianditu"``, ``"tianditu-img"``
    天地图 vector or imagery with the annotation layer; CGCS2000, no shift. Needs a key
    (``tianditu_key=`` or the ``TIANDITU_KEY`` environment variable).
``"gaode"``, ``"gaode-img"``
    高德 vector or imagery (GCJ-02): every layer is shifted for display.
``"auto"``
    ``"tianditu"`` when a Tianditu key is available, else ``"osm"``. For machines
    without network pass ``tiles="none"`` (the CLI does so for ``--offline``).
"""

from __future__ import annotations

import html as _stdlib_html
import logging
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import shapely

from geo_renewal import settings
from geo_renewal._checks import check_lang
from geo_renewal._compat import import_optional
from geo_renewal._errors import InputError
from geo_renewal._html import escape, escape_many, script_json
from geo_renewal.crs import area as _area
from geo_renewal.crs import check_crs, to_working
from geo_renewal.schema import CATEGORIES, STAGES, label

if TYPE_CHECKING:
    import folium

    import geopandas as gpd

__all__ = ["TILES", "renewal_map", "save_map"]

logger = logging.getLogger(__name__)

#: Valid values of ``tiles=``.
TILES: tuple[str, ...] = (
    "auto",
    "none",
    "osm",
    "cartodb",
    "tianditu",
    "tianditu-img",
    "gaode",
    "gaode-img",
)

#: Colours for categories, stages and layers that have none of their own.
FALLBACK_PALETTE: tuple[str, ...] = (
    "#1f78b4",
    "#33a02c",
    "#e31a1c",
    "#ff7f00",
    "#6a3d9a",
    "#b15928",
    "#a6cee3",
    "#b2df8a",
    "#fb9a99",
    "#fdbf6f",
    "#cab2d6",
    "#ffff99",
)

_UNCLASSIFIED = "__unclassified__"

#: Constraint layers (``layers={name: gdf}``): name -> (zh, en, Leaflet path style).
CONSTRAINT_STYLES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "heritage_core": (
        "历史文化核心保护范围",
        "Heritage core zone",
        {"color": "#7b3294", "weight": 2.5, "dashArray": "6 4", "fillOpacity": 0.12},
    ),
    "heritage_control": (
        "建设控制地带",
        "Heritage construction-control zone",
        {"color": "#c2a5cf", "weight": 2, "dashArray": "2 4", "fillOpacity": 0.06},
    ),
    "eco_belt": (
        "生态保护带",
        "Ecological belt",
        {"color": "#238b45", "weight": 2, "dashArray": "8 4 2 4", "fillOpacity": 0.1},
    ),
    "view_corridor": (
        "视线通廊",
        "View corridor",
        {"color": "#e7298a", "weight": 2, "dashArray": "10 6", "fillOpacity": 0.05},
    ),
    "flood": (
        "洪涝风险区",
        "Flood risk area",
        {"color": "#2171b5", "weight": 1.5, "dashArray": "3 3", "fillOpacity": 0.15},
    ),
    "river": (
        "河道",
        "River",
        {"color": "#4292c6", "weight": 3, "fillColor": "#9ecae1", "fillOpacity": 0.4},
    ),
}

#: Labels of map-only texts: key -> (zh, en).
_TEXT: dict[str, tuple[str, str]] = {
    "legend": ("图例", "Legend"),
    "category": ("更新类别", "Renewal class"),
    "count": ("地块数", "Parcels"),
    "area_ha": ("面积（公顷）", "Area (ha)"),
    "total": ("合计", "Total"),
    "unclassified": ("未分类", "Unclassified"),
    "districts": ("街道界线", "Street boundaries"),
    "zones": ("更新片区", "Renewal zones"),
    "sites": ("安置地块", "Resettlement sites"),
    "flows": ("安置流向", "Resettlement flows"),
    "projects": ("项目", "Projects"),
    "stage": ("项目阶段", "Project stage"),
    "overdue": ("逾期项目", "Overdue projects"),
    "other_layers": ("其他图层", "Other layers"),
    "capacity": ("容量", "Capacity"),
    "allocated": ("已安置", "Allocated"),
    "units": ("套", "units"),
    "hh": ("户", "households"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "zoom_in": ("放大", "Zoom in"),
    "zoom_out": ("缩小", "Zoom out"),
    "fullscreen": ("全屏", "Full screen"),
    "exit_fullscreen": ("退出全屏", "Exit full screen"),
    "no_tiles": ("无底图", "No base map"),
    "datum_wgs84": ("坐标系：WGS84（≈CGCS2000）", "Coordinates: WGS84 (≈ CGCS2000)"),
    "datum_gcj02": (
        "显示坐标已由 WGS84 偏移至 GCJ-02 以匹配高德底图（数据本身未改动）",
        "Overlays shifted from WGS84 to GCJ-02 for display over Gaode tiles (data unchanged)",
    ),
    "annotation": ("注记", "labels"),
}

# Columns whose values are codes with labels in schema (translated in tooltips/popups).
_CODED = ("category", "land_use", "planned_use", "structure", "stage", "project_type")

_DEFAULT_PARCEL_FIELDS = (
    "parcel_id",
    "name",
    "reason",
    "households",
    "population",
    "floor_area",
    "street",
)
_SITE_FIELDS = ("site_id", "name", "capacity_units", "allocated_households", "utilisation")
_FLOW_FIELDS = ("unit_id", "site_id", "households", "dist_m")
_PROJECT_TIP_FIELDS = (
    "project_id",
    "name",
    "project_type",
    "stage",
    "signing_rate",
    "days_behind",
)

_OFFLINE_DROP_HINT = (
    "pass tiles='none' for a map that makes no network request, or keep tiles and open the "
    "file where the tile server is reachable"
)

_LEAFLET_JS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"
_LEAFLET_CSS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"


def _t(key: str, lang: str) -> str:
    zh, en = _TEXT[key]
    return zh if lang == "zh" else en


# --------------------------------------------------------------------------------------
# geometry preparation and compact encoding
# --------------------------------------------------------------------------------------


@dataclass
class _Prepared:
    """Display copy of a layer: geometries in lon/lat (maybe GCJ-02) and kept row positions."""

    geoms: np.ndarray  # shapely geometries, display coordinates, rounded
    rows: np.ndarray  # positions (into the input frame) of the drawn rows
    n_vertices_in: int = 0
    n_vertices_out: int = 0


def _prepare(
    gdf: gpd.GeoDataFrame | gpd.GeoSeries,
    name: str,
    *,
    tolerance: float,
    precision: int,
    gcj02: bool,
) -> _Prepared:
    """Simplify in the working CRS, convert to EPSG:4326 (and GCJ-02), round coordinates."""
    import geopandas as gpd

    check_crs(gdf, name)
    geo = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    arr = np.asarray(geo.array)
    keep = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    rows = np.flatnonzero(keep)
    if len(rows) < len(arr):
        logger.info("%s: %d empty geometries not drawn", name, len(arr) - len(rows))
    series = gpd.GeoSeries(arr[rows], crs=geo.crs)
    n_in = int(shapely.get_num_coordinates(arr[rows]).sum())
    if len(series) and tolerance > 0:
        work = to_working(series)
        simplified = shapely.simplify(np.asarray(work.array), tolerance, preserve_topology=True)
        series = gpd.GeoSeries(simplified, crs=work.crs)
    if len(series) and series.crs is not None and not series.crs.equals("EPSG:4326"):
        series = series.to_crs(4326)
    if gcj02 and len(series):
        from geo_renewal.crs import wgs84_to_gcj02

        series = wgs84_to_gcj02(series)
    geoms = np.asarray(series.array)
    if len(geoms):
        geoms = shapely.transform(geoms, lambda c: np.round(c, precision))
        drawable = ~shapely.is_empty(geoms)
        if not drawable.all():  # collapsed by simplification
            geoms, rows = geoms[drawable], rows[drawable]
    n_out = int(shapely.get_num_coordinates(geoms).sum()) if len(geoms) else 0
    return _Prepared(geoms=geoms, rows=rows, n_vertices_in=n_in, n_vertices_out=n_out)


def _family(type_ids: np.ndarray) -> np.ndarray:
    """Map shapely type ids to 0 polygon, 1 line, 2 point (collections: -1)."""
    fam = np.full(type_ids.shape, -1, dtype=np.int8)
    fam[np.isin(type_ids, (3, 6))] = 0
    fam[np.isin(type_ids, (1, 2, 5))] = 1
    fam[np.isin(type_ids, (0, 4))] = 2
    return fam


def _encode_geoms(geoms: np.ndarray, precision: int) -> dict[str, str]:
    """
    Encode display geometries as flat JSON arrays for the runtime's canvas layer.

    Returns the JSON text of: ``c`` coordinates as integers in units of
    ``10**-precision`` degrees, each the difference from the previous vertex (the first
    from the origin ``o``); ``n`` vertices per path; ``p`` paths per feature; ``t`` the
    family per feature (0 polygon, 1 line, 2 point). Paths are polygon rings (closing vertex
    dropped; exteriors counter-clockwise and holes clockwise, so the non-zero fill rule
    draws holes and overlaps right), lines or points.
    """
    if len(geoms) == 0:
        return {"o": "0,0", "c": "", "n": "", "p": "", "t": ""}
    fam = _family(shapely.get_type_id(geoms))
    if (fam < 0).any():  # geometry collections: keep their highest-dimension parts
        fixed = []
        for g in geoms[fam < 0]:
            parts = shapely.get_parts(g)
            dims = shapely.get_dimensions(parts)
            top = parts[dims == dims.max()] if len(parts) else parts
            fixed.append(shapely.union_all(top) if len(top) else shapely.Point())
        geoms = geoms.copy()
        geoms[fam < 0] = fixed
        fam = _family(shapely.get_type_id(geoms))
    if (fam == 0).any():
        geoms = geoms.copy()
        geoms[fam == 0] = shapely.orient_polygons(geoms[fam == 0], exterior_cw=False)
    parts, part_feat = shapely.get_parts(geoms, return_index=True)
    part_fam = fam[part_feat]
    poly_idx = np.flatnonzero(part_fam == 0)
    rings, ring_part = shapely.get_rings(parts[poly_idx], return_index=True)
    other_idx = np.flatnonzero(part_fam != 0)
    paths = np.concatenate([rings, parts[other_idx]])
    path_part = np.concatenate([poly_idx[ring_part], other_idx])
    order = np.argsort(path_part, kind="stable")
    paths, path_part = paths[order], path_part[order]
    coords, coord_path = shapely.get_coordinates(paths, return_index=True)
    n = np.bincount(coord_path, minlength=len(paths))
    is_ring = part_fam[path_part] == 0
    keep = np.ones(len(coords), dtype=bool)
    keep[(np.cumsum(n) - 1)[is_ring & (n > 1)]] = False  # closing vertex of rings
    coords = coords[keep]
    n = n - (is_ring & (n > 1))
    path_feat = part_feat[path_part][n > 0]
    n = n[n > 0]
    per_feature = np.bincount(path_feat, minlength=len(geoms))
    ints = np.rint(coords * 10.0**precision).astype(np.int64)
    origin = ints.min(axis=0) if len(ints) else np.zeros(2, dtype=np.int64)
    deltas = np.empty_like(ints)
    if len(ints):
        deltas[0] = ints[0] - origin
        deltas[1:] = ints[1:] - ints[:-1]

    def join(a: np.ndarray) -> str:
        return ",".join(map(str, a.ravel().tolist()))

    return {
        "o": f"{int(origin[0])},{int(origin[1])}",
        "c": join(deltas),
        "n": join(n),
        "p": join(per_feature),
        "t": join(fam),
    }


def _label_points(geoms: np.ndarray, precision: int, origin: str) -> str:
    """Label anchors (inside polygons, line midpoints) as integer offsets from `origin`."""
    fam = _family(shapely.get_type_id(geoms))
    pts = shapely.point_on_surface(geoms)
    lines = fam == 1
    if lines.any():
        merged = shapely.line_merge(geoms[lines])
        pts[lines] = shapely.line_interpolate_point(merged, 0.5, normalized=True)
    xy = np.rint(shapely.get_coordinates(pts) * 10.0**precision).astype(np.int64)
    xy -= np.array([int(v) for v in origin.split(",")], dtype=np.int64)
    return ",".join(map(str, xy.ravel().tolist()))


# --------------------------------------------------------------------------------------
# value formatting
# --------------------------------------------------------------------------------------


def _fmt_number(x: float) -> str:
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _format_values(values: pd.Series, col: str, lang: str) -> list[str]:
    """Return display text (escaped) of a column: labels for codes, units for rates."""
    s = values
    yes, no = _t("yes", lang), _t("no", lang)
    is_rate = col.endswith(("_rate", "_share")) or col in ("utilisation", "utilization")

    def one(v: Any) -> str:
        if v is None or v is pd.NA or v is pd.NaT:
            return ""
        if isinstance(v, bool | np.bool_):
            return yes if v else no
        if isinstance(v, int | np.integer):
            return str(int(v))
        if isinstance(v, float | np.floating):
            if np.isnan(v):
                return ""
            if is_rate:
                return f"{v * 100:.1f}%"
            return _fmt_number(float(v))
        if isinstance(v, pd.Timestamp):
            return v.strftime("%Y-%m-%d") if v == v.normalize() else v.isoformat(" ")
        if col in _CODED and isinstance(v, str):
            return label(v, lang)
        return str(v)

    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    texts = np.asarray([*escape_many(list(uniques), one), ""], dtype=object)
    return texts[codes].tolist()  # code -1 (missing) picks the trailing ""


def _check_fields(gdf: pd.DataFrame, fields: Iterable[str], arg: str, name: str) -> list[str]:
    fields = list(fields)
    missing = [f for f in fields if f not in gdf.columns]
    if missing:
        available = [c for c in gdf.columns if c != gdf.geometry.name]
        msg = (
            f"`{arg}` names columns {missing} that `{name}` does not have; "
            f"choose from {available}."
        )
        raise InputError(msg)
    return fields


# --------------------------------------------------------------------------------------
# folium elements
# --------------------------------------------------------------------------------------


def _runtime() -> str:
    """Return the map runtime (maps_runtime.css and .js beside this module), read once."""
    global _RUNTIME
    if _RUNTIME is None:
        here = Path(__file__).parent
        css = (here / "maps_runtime.css").read_text(encoding="utf-8")
        js = (here / "maps_runtime.js").read_text(encoding="utf-8")
        _RUNTIME = f"<style>{css}</style>\n<script>{js}</script>"
    return _RUNTIME


_RUNTIME: str | None = None


#: Which labels win when labels overlap on screen (lower first); others are hidden.
_LABEL_PRIORITY = {"districts": 0, "sites": 1, "projects": 2, "layer": 3, "zones": 4}


def _elements() -> tuple[type, type, type]:
    """Build the folium element classes lazily (folium is an optional dependency)."""
    global _ELEMENTS
    if _ELEMENTS is not None:
        return _ELEMENTS
    import_optional("folium", purpose="a map")
    from branca.element import Element, MacroElement
    from folium.map import Layer

    class RawHTML(Element):
        """Literal HTML in the page (no Jinja: the runtime script is long)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self._name = "GeoRenewalRaw"
            self.text = text

        def render(self, **kwargs: Any) -> str:
            return self.text

    class DataLayer(Layer):
        """A toggleable layer of compactly encoded features, built by the runtime script."""

        def __init__(
            self,
            name: str,
            spec: dict[str, Any],
            data_json: str,
            *,
            n_features: int,
            show: bool = True,
            role: str = "",
        ) -> None:
            super().__init__(name=name, overlay=True, control=True, show=show)
            self._name = "GeoRenewalLayer"
            self.spec_json = script_json(spec)
            self.js_name = script_json(name)
            self.data_json = data_json
            self.n_features = n_features
            self.role = role

        def render(self, **kwargs: Any) -> None:
            # Written as literal text: branca would compile macro output (with data in it)
            # as a Jinja template. The data is JSON without "<" (see _add_layer).
            figure = self.get_root()
            _add_runtime(figure, RawHTML)
            var = self.get_name()
            figure.html.add_child(
                RawHTML(
                    f'<script type="application/json" id="{var}_data">{self.data_json}</script>'
                ),
                name=f"{var}_data",
            )
            figure.script.add_child(
                RawHTML(
                    f"var {var} = geoRenewal.layer({self.js_name}, {self.spec_json}, "
                    f'JSON.parse(document.getElementById("{var}_data").textContent));'
                ),
                name=var,
            )
            if self.show:
                figure.script.add_child(
                    RawHTML(f"{var}.addTo({self._parent.get_name()});"), name=f"{var}_add"
                )
            for child in self._children.values():
                child.render(**kwargs)

    class Decorations(MacroElement):
        """Title, legend, Chinese zoom control and attribution prefix of a renewal map."""

        def __init__(self, spec: dict[str, Any]) -> None:
            super().__init__()
            self._name = "GeoRenewalDecorations"
            self.spec_json = script_json(spec)

        def render(self, **kwargs: Any) -> None:
            figure = self.get_root()
            _add_runtime(figure, RawHTML)
            figure.script.add_child(
                RawHTML(f"geoRenewal.decorate({self._parent.get_name()}, {self.spec_json});"),
                name=self.get_name(),
            )

    _ELEMENTS = (DataLayer, Decorations, RawHTML)
    return _ELEMENTS


_ELEMENTS: tuple[type, type, type] | None = None


def _add_runtime(figure: Any, raw_cls: type) -> None:
    """Add the runtime CSS and script to the page header, once."""
    if "geo_renewal_runtime" not in figure.header._children:
        figure.header.add_child(
            raw_cls(_runtime()),
            name="geo_renewal_runtime",
        )


# --------------------------------------------------------------------------------------
# layer building
# --------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    lang: str
    tolerance: float
    precision: int
    gcj02: bool
    n_features: int = 0
    n_vertices_in: int = 0
    n_vertices_out: int = 0
    n_fields: int = 0
    n_generic: int = 0
    bounds: list[np.ndarray] = field(default_factory=list)
    layer_names: set[str] = field(default_factory=set)


def _unique_name(ctx: _Ctx, name: str) -> str:
    base, k = name, 2
    while name in ctx.layer_names:
        name = f"{base} ({k})"
        k += 1
    ctx.layer_names.add(name)
    return name


def _field_spec(fields: Sequence[str], positions: Sequence[int], lang: str) -> dict[str, Any]:
    return {
        "labels": [escape(label(f, lang)) for f in fields],
        "idx": list(positions),
        "head": "",
        "headIdx": None,
    }


def _add_layer(
    m: folium.Map,
    ctx: _Ctx,
    gdf: gpd.GeoDataFrame,
    *,
    arg: str,
    name: str,
    style: dict[str, Any],
    tip_fields: Sequence[str] = (),
    pop_fields: Sequence[str] = (),
    head: str = "",
    head_field: str | None = None,
    labels: Sequence[str] | None = None,
    style_keys: np.ndarray | None = None,
    styles: Sequence[dict[str, Any]] = (),
    show: bool = True,
    role: str = "",
) -> int:
    """Add one data layer; returns the number of drawn features."""
    data_layer_cls, _, _ = _elements()
    prep = _prepare(gdf, arg, tolerance=ctx.tolerance, precision=ctx.precision, gcj02=ctx.gcj02)
    sub = gdf.iloc[prep.rows]
    fields: list[str] = []
    for f in (*tip_fields, *pop_fields, *([head_field] if head_field else [])):
        if f not in fields:
            fields.append(f)
    columns = [_format_values(sub[f], f, ctx.lang) for f in fields]
    enc = _encode_geoms(prep.geoms, ctx.precision)
    parts = [
        f'{{"k":{10**ctx.precision},"o":[{enc["o"]}],"c":[{enc["c"]}],"n":[{enc["n"]}],'
        f'"p":[{enc["p"]}],"t":[{enc["t"]}]'
    ]
    if fields:
        rows = ['["' + '","'.join(r) + '"]' for r in zip(*columns, strict=True)]
        parts += [',"v":[', ",".join(rows), "]"]
    if labels is not None and len(prep.rows):
        lab = [labels[i] for i in prep.rows]
        anchors = _label_points(prep.geoms, ctx.precision, enc["o"])
        parts += [',"l":["', '","'.join(lab), '"],"lp":[', anchors, "]"]
    if style_keys is not None:
        keys = np.asarray(style_keys)[prep.rows]
        parts += [',"s":[', ",".join(map(str, keys.tolist())), "]"]
    parts.append("}")
    data_json = "".join(parts).replace("<", "\\u003c")
    spec: dict[str, Any] = {"style": style, "styles": list(styles)}
    if labels is not None:
        spec["labelPrio"] = _LABEL_PRIORITY.get(role.split(":", 1)[0], len(_LABEL_PRIORITY))
    if tip_fields:
        spec["tip"] = _field_spec(tip_fields, [fields.index(f) for f in tip_fields], ctx.lang)
        spec["tip"]["head"] = head
        if head_field:
            spec["tip"]["headIdx"] = fields.index(head_field)
    if pop_fields:
        spec["pop"] = _field_spec(pop_fields, [fields.index(f) for f in pop_fields], ctx.lang)
        spec["pop"]["head"] = head
        if head_field:
            spec["pop"]["headIdx"] = fields.index(head_field)
    name = _unique_name(ctx, name)
    layer = data_layer_cls(
        escape(name), spec, data_json, n_features=len(prep.rows), show=show, role=role
    )
    layer.add_to(m)
    ctx.n_features += len(prep.rows)
    ctx.n_vertices_in += prep.n_vertices_in
    ctx.n_vertices_out += prep.n_vertices_out
    ctx.n_fields = max(ctx.n_fields, len(fields))
    if len(prep.geoms):
        ctx.bounds.append(shapely.total_bounds(prep.geoms))
    return len(prep.rows)


def _swatch(style: Mapping[str, Any], *, line: bool = False) -> str:
    color = _css_color(style.get("color", "#333"))
    fill = _css_color(style.get("fillColor", style.get("color", "#333")))
    dashed = "dashed" if style.get("dashArray") else "solid"
    if line:
        return (
            f'<span class="gr-sw" style="height:0;border-top:3px {dashed} {color};'
            f'margin-bottom:3px"></span>'
        )
    opacity = float(style.get("fillOpacity", 0.6)) if style.get("fill", True) else 0.0
    bg = _hex_to_rgba(fill, opacity)
    width = 2 if style.get("weight", 1) >= 2 else 1
    return f'<span class="gr-sw" style="background:{bg};border:{width}px {dashed} {color}"></span>'


_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _css_color(color: str) -> str:
    """Return `color` if it is a #rrggbb colour, else a neutral grey (never raw text)."""
    return color if isinstance(color, str) and _HEX.match(color) else "#777777"


def _hex_to_rgba(color: str, alpha: float) -> str:
    c = _css_color(color)
    r, g, b = int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)
    return f"rgba({r},{g},{b},{alpha:.2f})"


def _category_order(values: pd.Series) -> list[str]:
    """Built-in categories first (schema order), then user categories, then unclassified."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        declared = [str(c) for c in values.cat.categories]
    else:
        declared = sorted({str(v) for v in values.dropna().unique()})
    present = {str(v) for v in values.dropna().unique()}
    order = [c for c in CATEGORIES if c in declared or c in present]
    order += [c for c in declared if c not in CATEGORIES]
    order += sorted(c for c in present if c not in order)
    if values.isna().any():
        order.append(_UNCLASSIFIED)
    return order


def _category_colors(order: Sequence[str]) -> dict[str, str]:
    colors: dict[str, str] = {}
    k = 0
    for c in order:
        if c in CATEGORIES:
            colors[c] = CATEGORIES[c].color
        elif c == _UNCLASSIFIED:
            colors[c] = "#ffffff"
        else:
            colors[c] = FALLBACK_PALETTE[k % len(FALLBACK_PALETTE)]
            k += 1
    return colors


def _category_label(code: str, lang: str) -> str:
    if code == _UNCLASSIFIED:
        return _t("unclassified", lang)
    return label(code, lang)


def _fmt_ha(m2: float) -> str:
    return f"{m2 / 10_000:,.2f}"


def _resolve_fields(
    gdf: gpd.GeoDataFrame,
    value: bool | Sequence[str] | None,
    default: Sequence[str],
    *,
    arg: str,
    name: str,
    all_columns: bool = False,
    exclude: Sequence[str] = (),
) -> list[str]:
    geom = gdf.geometry.name
    if value is False:
        return []
    if value is None:
        if all_columns:
            return [c for c in gdf.columns if c != geom and c not in exclude]
        return [c for c in default if c in gdf.columns and c not in exclude]
    if value is True:
        return [c for c in gdf.columns if c != geom and c not in exclude]
    if isinstance(value, str):
        value = [value]
    return _check_fields(gdf, value, arg, name)


def _tile_layers(tiles: str, lang: str, key: str | None) -> tuple[list[dict[str, Any]], bool]:
    """Return folium TileLayer keyword sets for `tiles`, and whether overlays need GCJ-02."""
    import xyzservices.providers as xyz

    if tiles not in TILES:
        msg = f"`tiles` must be one of {list(TILES)}, got {tiles!r}."
        raise InputError(msg)
    key = key or os.environ.get("TIANDITU_KEY") or None
    if tiles == "auto":
        tiles = "tianditu" if key else "osm"
        logger.info("tiles='auto' chose %r", tiles)
    wgs = escape(_t("datum_wgs84", lang))
    if tiles == "none":
        return [], False
    if tiles == "osm":
        p = xyz.OpenStreetMap.Mapnik
        return [
            {
                "tiles": p.build_url(),
                "attr": f"{p.html_attribution} | {wgs}",
                "name": "OpenStreetMap",
                "max_zoom": p.get("max_zoom", 19),
            }
        ], False
    if tiles == "cartodb":
        p = xyz.CartoDB.Positron
        return [
            {
                "tiles": p.build_url(fill_subdomain=False, r="", apikey="").replace("?key=", ""),
                "attr": f"{p.html_attribution} | {wgs}",
                "name": "CartoDB Positron",
                "subdomains": p.get("subdomains", "abc"),
                "max_zoom": p.get("max_zoom", 20),
            }
        ], False
    if tiles.startswith("tianditu"):
        if not key:
            msg = (
                f"tiles={tiles!r} needs a Tianditu (天地图) key: pass `tianditu_key=` "
                "(CLI: set TIANDITU_KEY) or set the TIANDITU_KEY environment variable; "
                "get a key at https://console.tianditu.gov.cn/ or use tiles='none'."
            )
            raise InputError(msg)
        if not re.fullmatch(r"[A-Za-z0-9]{8,64}", key):
            msg = (
                "the Tianditu key must be 8–64 letters and digits (as issued by "
                "console.tianditu.gov.cn); check `tianditu_key` / TIANDITU_KEY."
            )
            raise InputError(msg)
        base, note = ("img", "cia") if tiles == "tianditu-img" else ("vec", "cva")
        if lang != "zh":
            note = "eia" if base == "img" else "eva"
        attr = f'&copy; <a href="https://www.tianditu.gov.cn/">天地图</a> | {wgs}'

        def url(layer: str) -> str:
            return (
                f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                f"&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                f"&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
            )

        name = "天地图" if lang == "zh" else "Tianditu"
        return [
            {
                "tiles": url(base),
                "attr": attr,
                "name": f"{name} ({'影像' if base == 'img' else '矢量'})"
                if lang == "zh"
                else f"{name} ({'imagery' if base == 'img' else 'vector'})",
                "subdomains": "01234567",
                "max_zoom": 18,
            },
            {
                "tiles": url(note),
                "attr": attr,
                "name": f"{name} {_t('annotation', lang)}",
                "subdomains": "01234567",
                "max_zoom": 18,
                "overlay": True,
            },
        ], False
    # gaode
    gcj = escape(_t("datum_gcj02", lang))
    p = xyz.Gaode.Satellite if tiles == "gaode-img" else xyz.Gaode.Normal
    tile_url = p.build_url().replace("http://", "https://").replace("01.", "0{s}.")
    name = "高德地图" if lang == "zh" else "Gaode"
    layers = [
        {
            "tiles": tile_url,
            "attr": f"{p.html_attribution.replace('http://', 'https://')} | {gcj}",
            "name": f"{name} ({'影像' if tiles == 'gaode-img' else '矢量'})"
            if lang == "zh"
            else f"{name} ({'imagery' if tiles == 'gaode-img' else 'vector'})",
            "subdomains": "1234",
            "max_zoom": p.get("max_zoom", 19),
        }
    ]
    if tiles == "gaode-img":
        layers.append(
            {
                "tiles": "https://webst0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}",
                "attr": layers[0]["attr"],
                "name": f"{name} {_t('annotation', lang)}",
                "subdomains": "1234",
                "max_zoom": 19,
                "overlay": True,
            }
        )
    return layers, True


def renewal_map(
    classified: gpd.GeoDataFrame | None,
    *,
    districts: gpd.GeoDataFrame | None = None,
    zones: gpd.GeoDataFrame | None = None,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    sites: gpd.GeoDataFrame | None = None,
    flows: gpd.GeoDataFrame | None = None,
    projects: gpd.GeoDataFrame | None = None,
    tiles: str = "auto",
    lang: str | None = None,
    title: str | None = None,
    tooltip: bool | Sequence[str] | None = None,
    popup: bool | Sequence[str] | None = None,
    tianditu_key: str | None = None,
    simplify: float | None = None,
    category_col: str = "category",
    height: int | str = "100%",
) -> folium.Map:
    """
    Draw a renewal plan on an interactive meeting map.

    Parcels are drawn as one toggleable layer per category (fixed order and colours of
    `schema.CATEGORIES`; user categories get a fallback palette; parcels without a
    category form an "未分类" layer), under a legend with each category's parcel count and
    area in 公顷 (measured in the working CRS on the unsimplified parcels). Further layers are
    drawn when given; every text from data is escaped. Only tooltip and popup fields are
    exported; polygons are simplified by `simplify` metres in the working CRS (topology of
    each feature kept) and coordinates rounded to ``settings.map_coordinate_precision``
    decimals. The inputs are not changed.

    Parameters
    ----------
    classified
        Parcels with a CRS and a `category_col` column (codes of `schema.CATEGORIES`
        or user codes), e.g. from ``classify_parcels``; None for a map of other layers only.
    districts
        Street / district polygons; drawn as outlines labelled by ``name`` (or
        ``district_id`` / ``street``).
    zones
        Renewal zones (``zone_id``, optional ``category``), drawn as dashed outlines.
    layers
        Constraint layers by name, e.g. ``{"heritage_core": gdf, "river": gdf}``; the names
        of `CONSTRAINT_STYLES` get their labels and styles, others a generic dashed style.
    sites
        Resettlement sites (``site_id``, ``name``, ``capacity_units``,
        ``allocated_households``, ``utilisation``), labelled with their capacity.
    flows
        Allocation flows, LineStrings with ``unit_id``, ``site_id``, ``households``,
        ``dist_m``; line width grows with households.
    projects
        Projects (``project_id``, ``name``, ``project_type``, ``stage`` codes of
        `schema.STAGES`, ``overdue``, ``signing_rate``, ``days_behind`` and any ledger
        columns), coloured by stage; overdue ones get a red dashed outline; the popup shows
        the whole ledger row.
    tiles
        Base map, one of `TILES` (see the module docstring). ``"gaode"`` shifts the display
        copy of every layer to GCJ-02.
    lang
        ``"zh"`` or ``"en"`` for labels; default ``settings.lang`` (``"zh"``).
    title
        Title shown on the map and as the page title.
    tooltip
        Parcel tooltip fields: None for the defaults present (``parcel_id``, ``name``,
        ``reason``, ``households``, ``population``, ``floor_area``, ``street``), False for
        none, or a list of columns.
    popup
        Parcel popup fields: None or False for none, True for every column, or a list.
    tianditu_key
        Tianditu key; default the ``TIANDITU_KEY`` environment variable.
    simplify
        Simplification tolerance in metres; default ``settings.map_simplify_tolerance``.
        0 keeps every vertex.
    category_col
        Name of the category column of `classified`.
    height
        Height of the map (CSS), e.g. ``"100%"`` or ``600``.

    Returns
    -------
    m
        A ``folium.Map``; save it with `save_map`, show it in Jupyter, or add folium
        elements. (It loads Leaflet only; restore ``m.default_js = folium.Map.default_js``
        and ``m.default_css`` before adding Font Awesome icon markers.)

    Raises
    ------
    InputError
        For an unknown `tiles` / `lang`, a missing Tianditu key, a layer without the
        needed column, or unknown tooltip / popup columns.
    CRSError
        If a layer has no CRS.

    Warns
    -----
    UserWarning
        When more than ``settings.map_feature_warning`` features are drawn, naming what
        was reduced and lighter alternatives.

    See Also
    --------
    save_map : Write the map to an HTML file, optionally self-contained.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(
    ...     {"parcel_id": ["P1", "P2"], "category": ["demolish", "unchanged"],
    ...      "reason": ["C级危房", "—"]},
    ...     geometry=[box(500000, 4063000, 500100, 4063100), box(500110, 4063000, 500200, 4063100)],
    ...     crs="EPSG:4548",
    ... )
    >>> m = renewal_map(parcels, tiles="none", title="东关片区")
    >>> "征收拆迁" in m.get_root().render()
    True
    """
    import_optional("folium", purpose="renewal_map")
    import folium
    import folium.plugins
    from branca.element import Figure

    lang = check_lang(lang)
    tile_specs, gcj02 = _tile_layers(tiles, lang, tianditu_key)
    tolerance = settings.map_simplify_tolerance if simplify is None else float(simplify)
    if tolerance < 0:
        msg = f"`simplify` must be a tolerance in metres ≥ 0, got {simplify!r}."
        raise InputError(msg)
    ctx = _Ctx(
        lang=lang,
        tolerance=tolerance,
        precision=int(settings.map_coordinate_precision),
        gcj02=gcj02,
    )
    if all(x is None for x in (classified, districts, zones, sites, flows, projects)) and not (
        layers
    ):
        msg = "renewal_map needs at least one layer; pass `classified` or another layer."
        raise InputError(msg)

    fig = Figure(title=escape(title) if title else None)
    m = folium.Map(
        tiles=None,
        prefer_canvas=True,
        control_scale=False,
        zoom_control=False,
        height=height,
    )
    m.add_to(fig)
    # Leaflet only: the renewal map needs no jQuery, Bootstrap or Font Awesome.
    m.default_js = [("leaflet", _LEAFLET_JS)]
    m.default_css = [("leaflet_css", _LEAFLET_CSS)]
    for spec in tile_specs:
        overlay = spec.pop("overlay", False)
        folium.TileLayer(
            overlay=overlay, control=True, show=True, **{**spec, "name": escape(spec["name"])}
        ).add_to(m)

    legend: list[str] = []
    if classified is not None:
        legend.append(_parcel_layers(m, ctx, classified, category_col, tooltip, popup))
    other_rows: list[str] = []
    if zones is not None:
        other_rows.append(_zone_layer(m, ctx, zones))
    if layers:
        for lname, lgdf in layers.items():
            other_rows.append(_constraint_layer(m, ctx, str(lname), lgdf))
    if districts is not None:
        other_rows.append(_district_layer(m, ctx, districts))
    if projects is not None:
        legend.append(_project_layers(m, ctx, projects))
    if sites is not None:
        other_rows.append(_site_layer(m, ctx, sites))
    if flows is not None:
        other_rows.append(_flow_layer(m, ctx, flows))
    if other_rows:
        legend.append(f"<h5>{escape(_t('other_layers', lang))}</h5>" + "".join(other_rows))
    datum = _t("datum_gcj02", lang) if gcj02 else _t("datum_wgs84", lang)
    legend.append(f'<div class="gr-note">{escape(datum)}</div>')

    _, decorations_cls, _ = _elements()
    decorations_cls(
        {
            "title": escape(title) if title else "",
            "legend": f"<h4>{escape(_t('legend', lang))}</h4>" + "".join(legend),
            "zoomIn": escape(_t("zoom_in", lang)),
            "zoomOut": escape(_t("zoom_out", lang)),
            "noTiles": not tile_specs,
            "attribution": '<a href="https://leafletjs.com">Leaflet</a>',
        }
    ).add_to(m)
    folium.plugins.Fullscreen(
        position="topleft",
        title=escape(_t("fullscreen", lang)),
        title_cancel=escape(_t("exit_fullscreen", lang)),
    ).add_to(m)
    folium.plugins.MeasureControl(
        position="topleft",
        primary_length_unit="meters",
        secondary_length_unit="kilometers",
        primary_area_unit="sqmeters",
        secondary_area_unit="hectares",
        localization="cn" if lang == "zh" else "en",
    ).add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    if ctx.bounds:
        b = np.vstack(ctx.bounds)
        m.fit_bounds([[b[:, 1].min(), b[:, 0].min()], [b[:, 3].max(), b[:, 2].max()]])
    if ctx.n_features > settings.map_feature_warning:
        msg = (
            f"the map draws {ctx.n_features:,} features (more than "
            f"settings.map_feature_warning = {settings.map_feature_warning:,}); to keep the "
            f"file small it was reduced: polygons simplified by {ctx.tolerance:g} m "
            f"({ctx.n_vertices_in:,} → {ctx.n_vertices_out:,} vertices), coordinates "
            f"rounded to {ctx.precision} decimals, {ctx.n_fields} attribute fields exported. "
            "Lighter alternatives: dissolve parcels into zones (zones_from_parcels) and map "
            "those, map one street or category at a time, pass tooltip=False, raise "
            "`simplify=`, or write a GeoPackage (write_layer) for QGIS."
        )
        warnings.warn(msg, UserWarning, stacklevel=2)
    return m


def _parcel_layers(
    m: folium.Map,
    ctx: _Ctx,
    classified: gpd.GeoDataFrame,
    category_col: str,
    tooltip: bool | Sequence[str] | None,
    popup: bool | Sequence[str] | None,
) -> str:
    lang = ctx.lang
    if category_col not in classified.columns:
        msg = (
            f"`classified` has no {category_col!r} column; classify the parcels first "
            "(classify_parcels) or pass `category_col=` naming the column with category codes."
        )
        raise InputError(msg)
    check_crs(classified, "classified")
    cats = classified[category_col]
    order = _category_order(cats)
    colors = _category_colors(order)
    codes = cats.astype(object).where(cats.notna(), _UNCLASSIFIED).map(str)
    areas = _area(classified).fillna(0.0) if len(classified) else pd.Series(dtype=float)
    tip = _resolve_fields(
        classified,
        tooltip,
        _DEFAULT_PARCEL_FIELDS,
        arg="tooltip",
        name="classified",
        exclude=(category_col,),
    )
    pop = _resolve_fields(
        classified,
        popup if popup is not None else False,
        (),
        arg="popup",
        name="classified",
        exclude=(),
    )
    rows = []
    total_n, total_a = 0, 0.0
    code_arr = codes.to_numpy()
    groups = pd.Series(code_arr).groupby(code_arr, sort=False).indices
    for code in order:
        idx = groups.get(code, np.empty(0, dtype=int))
        n = len(idx)
        a = float(areas.iloc[idx].sum()) if n else 0.0
        total_n += n
        total_a += a
        text = _category_label(code, lang)
        style = {
            "color": "#555555" if code != _UNCLASSIFIED else "#999999",
            "weight": 0.6,
            "fillColor": colors[code],
            "fillOpacity": 0.7 if code != _UNCLASSIFIED else 0.3,
        }
        rows.append(
            f'<tr><td class="gr-l">{_swatch(style)}{escape(text)}</td>'
            f"<td>{n:,}</td><td>{_fmt_ha(a)}</td></tr>"
        )
        if n == 0:
            continue
        _add_layer(
            m,
            ctx,
            classified.iloc[idx],
            arg="classified",
            name=f"{text} ({n:,})",
            style=style,
            tip_fields=tip,
            pop_fields=pop,
            head=escape(text),
            role=f"category:{code}",
        )
    rows.append(
        f'<tr class="gr-total"><td class="gr-l">{escape(_t("total", lang))}</td>'
        f"<td>{total_n:,}</td><td>{_fmt_ha(total_a)}</td></tr>"
    )
    head = (
        f'<tr><th class="gr-l">{escape(_t("category", lang))}</th>'
        f"<th>{escape(_t('count', lang))}</th><th>{escape(_t('area_ha', lang))}</th></tr>"
    )
    return f'<table class="gr-cats">{head}{"".join(rows)}</table>'


def _name_col(gdf: pd.DataFrame, candidates: Sequence[str]) -> str | None:
    return next((c for c in candidates if c in gdf.columns), None)


def _label_texts(gdf: pd.DataFrame, col: str | None, lang: str) -> list[str] | None:
    if col is None:
        return None
    return _format_values(gdf[col], col, lang)


def _zone_layer(m: folium.Map, ctx: _Ctx, zones: gpd.GeoDataFrame) -> str:
    lang = ctx.lang
    style = {"color": "#08306b", "weight": 2.5, "dashArray": "6 4", "fill": False}
    style_keys, styles = None, []
    if "category" in zones.columns:
        codes = zones["category"].astype(object).where(zones["category"].notna(), _UNCLASSIFIED)
        order = _category_order(zones["category"])
        colors = _category_colors(order)
        styles = [{"color": colors[c] if c != _UNCLASSIFIED else "#08306b"} for c in order]
        style_keys = np.array([order.index(str(c)) for c in codes], dtype=int)
    id_col = _name_col(zones, ("zone_id", "name"))
    labels = _label_texts(zones, id_col, lang) if len(zones) <= 300 else None
    name = _t("zones", lang)
    _add_layer(
        m,
        ctx,
        zones,
        arg="zones",
        name=f"{name} ({len(zones):,})",
        style={**style, "interactive": False},
        labels=labels,
        style_keys=style_keys,
        styles=styles,
        role="zones",
    )
    return f"<div>{_swatch(style, line=True)}{escape(name)}</div>"


def _constraint_layer(m: folium.Map, ctx: _Ctx, lname: str, gdf: gpd.GeoDataFrame) -> str:
    lang = ctx.lang
    if lname in CONSTRAINT_STYLES:
        zh, en, style = CONSTRAINT_STYLES[lname]
        text = zh if lang == "zh" else en
    else:
        color = FALLBACK_PALETTE[ctx.n_generic % len(FALLBACK_PALETTE)]
        ctx.n_generic += 1
        style = {"color": color, "weight": 2, "dashArray": "5 5", "fillOpacity": 0.08}
        text = lname
    geom_types = set(gdf.geom_type.dropna().unique()) if len(gdf) else set()
    is_line = bool(geom_types) and geom_types <= {"LineString", "MultiLineString"}
    label_col = _name_col(gdf, ("name",))
    labels = _label_texts(gdf, label_col, lang) if label_col and len(gdf) <= 100 else None
    _add_layer(
        m,
        ctx,
        gdf,
        arg=f"layers[{lname!r}]",
        name=text,
        style={**style, "interactive": False},
        labels=labels,
        role=f"layer:{lname}",
    )
    return f"<div>{_swatch(style, line=is_line)}{escape(text)}</div>"


def _district_layer(m: folium.Map, ctx: _Ctx, districts: gpd.GeoDataFrame) -> str:
    lang = ctx.lang
    style = {"color": "#252525", "weight": 2.2, "fill": False, "opacity": 0.9}
    col = _name_col(districts, ("name", "street", "district_id"))
    labels = _label_texts(districts, col, lang) if len(districts) <= 300 else None
    name = _t("districts", lang)
    _add_layer(
        m,
        ctx,
        districts,
        arg="districts",
        name=name,
        style={**style, "interactive": False},
        labels=labels,
        role="districts",
    )
    return f"<div>{_swatch(style, line=True)}{escape(name)}</div>"


def _site_layer(m: folium.Map, ctx: _Ctx, sites: gpd.GeoDataFrame) -> str:
    lang = ctx.lang
    style = {"color": "#00441b", "weight": 2, "fillColor": "#1a9641", "fillOpacity": 0.45}
    name_col = _name_col(sites, ("name", "site_id"))
    names = _format_values(sites[name_col], name_col, lang) if name_col else [""] * len(sites)
    cap = sites["capacity_units"] if "capacity_units" in sites.columns else None
    alloc = sites["allocated_households"] if "allocated_households" in sites.columns else None
    labels = []
    for i in range(len(sites)):
        bits = [names[i]] if names[i] else []
        if cap is not None and pd.notna(cap.iloc[i]):
            bits.append(
                f"{escape(_t('capacity', lang))} {_fmt_number(float(cap.iloc[i]))} "
                f"{escape(_t('units', lang))}"
            )
        if alloc is not None and pd.notna(alloc.iloc[i]):
            bits.append(
                f"{escape(_t('allocated', lang))} {_fmt_number(float(alloc.iloc[i]))} "
                f"{escape(_t('hh', lang))}"
            )
        labels.append("<br>".join(bits))
    tip = [c for c in _SITE_FIELDS if c in sites.columns]
    name = _t("sites", lang)
    _add_layer(
        m,
        ctx,
        sites,
        arg="sites",
        name=f"{name} ({len(sites):,})",
        style=style,
        labels=labels if len(sites) <= 300 else None,
        tip_fields=tip,
        role="sites",
    )
    return f"<div>{_swatch(style)}{escape(name)}</div>"


def _flow_layer(m: folium.Map, ctx: _Ctx, flows: gpd.GeoDataFrame) -> str:
    lang = ctx.lang
    style = {"color": "#08519c", "weight": 2, "opacity": 0.75, "fill": False}
    hh = (
        pd.to_numeric(flows["households"], errors="coerce").fillna(0.0)
        if "households" in flows.columns
        else pd.Series(0.0, index=flows.index)
    )
    hmax = float(hh.max()) if len(hh) and hh.max() > 0 else 1.0
    weights = np.round(1.5 + 8.0 * np.sqrt(np.clip(hh.to_numpy(float), 0, None) / hmax), 1)
    uniq, keys = np.unique(weights, return_inverse=True)
    styles = [{"weight": float(w)} for w in uniq]
    labels = None
    if "households" in flows.columns and len(flows) <= 200:
        unit = escape(_t("hh", lang))
        labels = [f"{_fmt_number(float(h))} {unit}" for h in hh]
    tip = [c for c in _FLOW_FIELDS if c in flows.columns]
    name = _t("flows", lang)
    _add_layer(
        m,
        ctx,
        flows,
        arg="flows",
        name=f"{name} ({len(flows):,})",
        style=style,
        styles=styles,
        style_keys=keys,
        labels=labels,
        tip_fields=tip,
        role="flows",
    )
    return f"<div>{_swatch(style, line=True)}{escape(name)}</div>"


def _project_layers(m: folium.Map, ctx: _Ctx, projects: gpd.GeoDataFrame) -> str:
    lang = ctx.lang
    stage = (
        projects["stage"].astype(object)
        if "stage" in projects.columns
        else pd.Series([None] * len(projects), index=projects.index, dtype=object)
    )
    stage = stage.where(stage.notna(), _UNCLASSIFIED).map(str)
    present = list(dict.fromkeys(stage.tolist()))
    order = [s for s in STAGES if s in present] + [s for s in present if s not in STAGES]
    colors: dict[str, str] = {}
    k = 0
    for s in order:
        if s in STAGES:
            colors[s] = STAGES[s][2]
        elif s == _UNCLASSIFIED:
            colors[s] = "#ffffff"
        else:
            colors[s] = FALLBACK_PALETTE[k % len(FALLBACK_PALETTE)]
            k += 1
    base = {"color": "#404040", "weight": 1.2, "fillOpacity": 0.7}
    styles = [{"fillColor": colors[s]} for s in order]
    keys = np.array([order.index(s) for s in stage], dtype=int)
    tip = [c for c in _PROJECT_TIP_FIELDS if c in projects.columns]
    pop = [c for c in projects.columns if c != projects.geometry.name]
    name_col = _name_col(projects, ("name", "project_id"))
    name = _t("projects", lang)
    # Wall-map labels: the project id and its stage (the name is in the tooltip).
    id_col = _name_col(projects, ("project_id", "name"))
    ids = _format_values(projects[id_col], id_col, lang) if id_col else [""] * len(projects)
    labels = [
        "<br>".join(
            b for b in (ids[i], "" if st == _UNCLASSIFIED else escape(label(st, lang))) if b
        )
        for i, st in enumerate(stage)
    ]
    _add_layer(
        m,
        ctx,
        projects,
        arg="projects",
        name=f"{name} ({len(projects):,})",
        style=base,
        styles=styles,
        style_keys=keys,
        tip_fields=tip,
        pop_fields=pop,
        head_field=name_col,
        labels=labels if len(projects) <= 300 else None,
        role="projects",
    )
    counts = stage.value_counts()
    rows = []
    for s in order:
        text = _t("unclassified", lang) if s == _UNCLASSIFIED else label(s, lang)
        rows.append(
            f'<tr><td class="gr-l">{_swatch({**base, "fillColor": colors[s]})}'
            f"{escape(text)}</td><td>{int(counts.get(s, 0)):,}</td></tr>"
        )
    if "overdue" in projects.columns:
        overdue_mask = projects["overdue"].fillna(False).astype(bool).to_numpy()
        n_over = int(overdue_mask.sum())
        over_style = {
            "color": "#e31a1c",
            "weight": 4,
            "dashArray": "8 6",
            "fill": False,
            "interactive": False,
        }
        if n_over:
            _add_layer(
                m,
                ctx,
                projects.iloc[np.flatnonzero(overdue_mask)],
                arg="projects",
                name=f"{_t('overdue', lang)} ({n_over:,})",
                style=over_style,
                role="overdue",
            )
        rows.append(
            f'<tr><td class="gr-l">{_swatch(over_style)}{escape(_t("overdue", lang))}</td>'
            f"<td>{n_over:,}</td></tr>"
        )
    return f'<h5>{escape(_t("stage", lang))}</h5><table class="gr-stages">{"".join(rows)}</table>'


# --------------------------------------------------------------------------------------
# saving
# --------------------------------------------------------------------------------------

_SCRIPT_SRC = re.compile(r'<script\s+src="([^"]+)"\s*>\s*</script>', re.IGNORECASE)
_CSS_URL = re.compile(r"(?<![\w.$])url\(\s*([^)]*?)\s*\)")
_CSS_LINK = re.compile(r"<link\s+[^>]*href=\"([^\"]+)\"[^>]*/?>", re.IGNORECASE)


def _offline_assets() -> dict[str, str]:
    elements = import_optional("offlinefolium.elements", purpose="save_map(offline=True)")
    return elements._res


def _inline_assets(page: str) -> str:
    """Replace every external script and stylesheet with its content from folium-offline."""
    assets = _offline_assets()
    missing: list[str] = []
    dropped: list[str] = []

    def script(match: re.Match[str]) -> str:
        url = _stdlib_html.unescape(match.group(1))
        if url not in assets:
            missing.append(url)
            return match.group(0)
        body = assets[url].replace("</script", "<\\/script")
        return f"<script>{body}</script>"

    def css(match: re.Match[str]) -> str:
        tag = match.group(0)
        if "stylesheet" not in tag.lower():
            return tag
        url = _stdlib_html.unescape(match.group(1))
        if url not in assets:
            missing.append(url)
            return tag
        body = _CSS_URL.sub(lambda m: drop(m, url), assets[url]).replace("</style", "<\\/style")
        return f"<style>{body}</style>"

    def drop(m: re.Match[str], sheet: str) -> str:
        ref = m.group(1).strip("\"' ")
        if ref.startswith(("data:", "#")):
            return m.group(0)
        dropped.append(f"{sheet} -> {ref}")
        return "url(data:,)"

    page = _SCRIPT_SRC.sub(script, page)
    page = _CSS_LINK.sub(css, page)
    if missing:
        msg = (
            f"save_map(offline=True) cannot embed {missing}: the installed folium-offline "
            "package does not provide them; remove the folium plugin that needs them or "
            "save with offline=False."
        )
        raise InputError(msg)
    if dropped:
        msg = (
            f"save_map(offline=True) removed {len(dropped)} font/image references that "
            f"folium-offline does not ship (e.g. {dropped[0]}); icon fonts such as Font "
            "Awesome and Glyphicons will not show in the offline file. Maps from "
            "renewal_map do not use them."
        )
        warnings.warn(msg, UserWarning, stacklevel=3)
    return page


def save_map(m: folium.Map, path: str | os.PathLike[str], *, offline: bool = False) -> Path:
    """
    Write a map to an HTML file atomically, optionally self-contained for offline use.

    Parameters
    ----------
    m
        A map from `renewal_map` (or any ``folium.Map``).
    path
        Output ``.html`` file; missing parent folders are created.
    offline
        If True, embed every script and stylesheet (with their images as ``data:`` URIs)
        from the installed ``folium-offline`` package, so the page opens without network.
        Base-map tiles still come from their servers: build the map with ``tiles="none"``
        for a file that makes no request at all.

    Returns
    -------
    path
        The written file.

    Raises
    ------
    InputError
        If `offline` and a resource of the map cannot be embedded.

    See Also
    --------
    renewal_map : Build the map.

    Examples
    --------
    >>> import tempfile, geopandas as gpd
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame({"parcel_id": ["P1"], "category": ["demolish"]},
    ...                            geometry=[box(0, 0, 100, 100)], crs="EPSG:4548")
    >>> out = save_map(renewal_map(parcels, tiles="none"),
    ...                Path(tempfile.mkdtemp()) / "m.html", offline=True)
    >>> "<script src=" in out.read_text(encoding="utf-8")
    False
    """
    from geo_renewal.io import atomic_write

    path = Path(path)
    page = m.get_root().render()
    if offline:
        page = _inline_assets(page)
        if "L.tileLayer(" in page:
            logger.info(
                "offline map %s keeps network base-map tiles; %s", path, _OFFLINE_DROP_HINT
            )
    with atomic_write(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    logger.info("map written to %s (%.1f MB)", path, len(page.encode("utf-8")) / 1e6)
    return path
