"""
The data format of a map layer, as the browser runtime (``maps_runtime.js``) reads it.

Every key of the format is a constant here, used by `geo_renewal.maps` to write a layer and
by the tests to read one; the header of ``maps_runtime.js`` lists the same names. Also here:
the styles and display texts the layers carry, and the geometries prepared for display
(simplified in metres, lon/lat, GCJ-02 if asked, rounded) and encoded as integer deltas.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import shapely

from geo_renewal._checks import check_threads
from geo_renewal._geos import background
from geo_renewal._html import escape_many
from geo_renewal._roles import CLASSES_ATTR, class_labels
from geo_renewal.crs import check_crs, to_working
from geo_renewal.schema import CATEGORIES, STAGE_ORDER, STAGES, label
from geo_renewal.text import say

if TYPE_CHECKING:
    import geopandas as gpd

logger = logging.getLogger("geo_renewal.maps")

# Keys of a layer's data: the JSON object in ``<script type="application/json">`` that the
# page passes to ``geoRenewal.layer(name, spec, data)``.
SCALE = "k"  #: integer coordinate units per degree (``10 ** precision``)
ORIGIN = "o"  #: ``[x, y]``: the integer origin of the first vertex delta
COORDS = "c"  #: ``[dx, dy, dx, dy, …]``: each vertex minus the previous (lon, lat units)
PATH_SIZES = "n"  #: vertices per path (a polygon ring without its closing vertex, a line, a point)
FEATURE_SIZES = "p"  #: paths per feature
FAMILIES = "t"  #: per feature: `POLYGON`, `LINE` or `POINT`
VALUES = "v"  #: optional, per feature: escaped field texts (tooltip, popup and head fields)
LABELS = "l"  #: optional, per feature: label HTML (``""``: no label)
LABEL_POINTS = "lp"  #: optional, per feature: label anchor ``[x, y]`` relative to `ORIGIN`
STYLE_KEYS = "s"  #: optional, per feature: index into the spec's `STYLES`
LABEL_RANKS = "lr"  #: optional, per feature: rank of its label in the layer (lower first)

#: Every key of a layer's data, in the order they are written.
DATA_KEYS = (
    SCALE, ORIGIN, COORDS, PATH_SIZES, FEATURE_SIZES, FAMILIES, VALUES, LABELS, LABEL_POINTS,
    STYLE_KEYS, LABEL_RANKS,
)  # fmt: skip

#: Values of `FAMILIES`; features of a family share the geometry tests of the hit testing.
POLYGON, LINE, POINT = 0, 1, 2

# Keys of a layer's spec (the second argument of ``geoRenewal.layer``).
STYLE = "style"  #: Leaflet path options of the layer (``color``, ``weight``, ``interactive`` …)
STYLES = "styles"  #: per style key: options merged over `STYLE`
LABEL_PRIORITY_KEY = "labelPrio"  #: rank of the layer's labels (lower wins when they overlap)
PLACE_KEY = "place"  #: label placement: 0 anchor only, 1 nudged inside, 2 also around
OBSTACLE_KEY = "obstacle"  #: true: other labels may not cover the layer's features
TIP = "tip"  #: optional: the tooltip fields (a field spec)
POPUP = "pop"  #: optional: the popup fields (a field spec)
ZOOM_RANGE = "zr"  #: optional: ``[min, max]``: drawn and hovered at min <= zoom < max (null: open)
CHUNKS = "chunks"  #: optional: ``[[id, west, south, east, north, n], …]``: the features in
#: spatial chunks, each a layer's data compressed (zlib, base64) in the element `id`,
#: decoded when the view at a zoom of `ZOOM_RANGE` reaches its box
NO_DECODE = "noDecode"  #: with `CHUNKS`: the notice shown where the browser cannot decode
SPEC_KEYS = (
    STYLE, STYLES, LABEL_PRIORITY_KEY, PLACE_KEY, OBSTACLE_KEY, TIP, POPUP, ZOOM_RANGE, CHUNKS,
    NO_DECODE,
)  # fmt: skip

# Keys of a field spec (`TIP`, `POPUP`).
FIELD_LABELS = "labels"  #: escaped field labels, one per shown field
FIELD_INDEX = "idx"  #: per shown field: its position in each feature's `VALUES`
HEAD = "head"  #: escaped heading shown above the fields
HEAD_INDEX = "headIdx"  #: position in `VALUES` of a per-feature heading, or null
FIELD_KEYS = (FIELD_LABELS, FIELD_INDEX, HEAD, HEAD_INDEX)

# Keys of the decorations (the argument of ``geoRenewal.decorate(map, spec)``).
TITLE = "title"  #: escaped map title (``""``: none)
LEGEND = "legend"  #: legend HTML (built from escaped text)
ZOOM_IN = "zoomIn"  #: title of the zoom-in button
ZOOM_OUT = "zoomOut"  #: title of the zoom-out button
NO_TILES = "noTiles"  #: true when there is no base map (plain background)
ATTRIBUTION = "attribution"  #: attribution prefix HTML (a literal)
BOUNDS = "bounds"  #: ``[[south, west], [north, east]]`` of the data, fitted at load
LEGEND_BUTTON = "legendButton"  #: text of the legend's fold button (small screens)
LAYERS_BUTTON = "layersButton"  #: text of the layer list's fold button
DECORATION_KEYS = (
    TITLE, LEGEND, ZOOM_IN, ZOOM_OUT, NO_TILES, ATTRIBUTION, BOUNDS, LEGEND_BUTTON, LAYERS_BUTTON,
)  # fmt: skip

#: Which labels win when labels overlap on screen (lower first); others are hidden. Keyed by
#: the layer's role (``"layer"`` for every constraint layer); other layers rank after these.
LABEL_PRIORITY = {"projects": 0, "sites": 1, "districts": 2, "units": 3, "layer": 4, "zones": 5}

#: Label placement of a layer role (`PLACE_KEY`): projects and sites move around their
#: polygon when the label does not fit inside; street names move inside their street.
LABEL_PLACEMENT = {"projects": 2, "sites": 2, "districts": 1}

#: Roles whose features no other label may cover (`OBSTACLE_KEY`).
OBSTACLE_ROLES = ("projects", "sites")


def label_priority(role: str) -> int:
    """Return the label rank of a layer role such as ``"layer:river"`` (see `LABEL_PRIORITY`)."""
    return LABEL_PRIORITY.get(role.split(":", 1)[0], len(LABEL_PRIORITY))


# --------------------------------------------------------------------------------------
# styles and display texts
# --------------------------------------------------------------------------------------

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

#: Code of the parcels without a category (and of the projects without a stage).
UNCLASSIFIED = "__unclassified__"

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

# Columns whose values are codes with labels in schema (translated in tooltips/popups).
CODED = ("category", "land_use", "planned_use", "structure", "stage", "project_type")


def category_order(values: pd.Series) -> list[str]:
    """
    Classes in display order, unclassified last.

    A rule set's classes (carried in ``attrs``) in its order (深圳: 拆除重建类 first); else
    the built-in categories first (schema order), then user categories.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        declared = [str(c) for c in values.cat.categories]
    else:
        declared = sorted({str(v) for v in values.dropna().unique()})
    present = {str(v) for v in values.dropna().unique()}
    first = [str(c) for c in values.attrs.get(CLASSES_ATTR, {})] + list(CATEGORIES)
    order = [c for c in dict.fromkeys(first) if c in declared or c in present]
    order += [c for c in declared if c not in order]
    order += sorted(c for c in present if c not in order)
    if values.isna().any():
        order.append(UNCLASSIFIED)
    return order


def category_colors(order: Sequence[str], own: Mapping[str, str] | None = None) -> dict[str, str]:
    """Colours of classes: a rule set's own (`own`), the schema's, then the fallback palette."""
    colors: dict[str, str] = {}
    k = 0
    for c in order:
        if own and c in own:
            colors[c] = own[c]
        elif c in CATEGORIES:
            colors[c] = CATEGORIES[c].color
        elif c == UNCLASSIFIED:
            colors[c] = "#ffffff"
        else:
            colors[c] = FALLBACK_PALETTE[k % len(FALLBACK_PALETTE)]
            k += 1
    return colors


def category_style(code: str, color: str) -> dict[str, Any]:
    return {
        "color": "#555555" if code != UNCLASSIFIED else "#999999",
        "weight": 0.6,
        "fillColor": color,
        "fillOpacity": 0.7 if code != UNCLASSIFIED else 0.3,
    }


def stage_colors(stage: pd.Series) -> tuple[list[str], dict[str, str]]:
    """Stages present in pipeline order (then user stages), and their colours."""
    present = list(dict.fromkeys(stage.tolist()))
    order = [s for s in STAGE_ORDER if s in present] + [s for s in present if s not in STAGES]
    colors: dict[str, str] = {}
    k = 0
    for s in order:
        if s in STAGES:
            colors[s] = STAGES[s][2]
        elif s == UNCLASSIFIED:
            colors[s] = "#ffffff"
        else:
            colors[s] = FALLBACK_PALETTE[k % len(FALLBACK_PALETTE)]
            k += 1
    return order, colors


def fmt_number(x: float) -> str:
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.2f}".rstrip("0").rstrip(".")


def format_values(values: pd.Series, col: str, lang: str) -> list[str]:
    """Return display text (escaped) of a column: labels for codes, units for rates."""
    s = values
    yes, no = say("map.yes", lang), say("map.no", lang)
    is_rate = col.endswith(("_rate", "_share")) or col in ("utilisation", "utilization")
    own = class_labels(s, lang) if CLASSES_ATTR in s.attrs else {}  # 拆除重建类, not its code

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
            return fmt_number(float(v))
        if isinstance(v, pd.Timestamp):
            return v.strftime("%Y-%m-%d") if v == v.normalize() else v.isoformat(" ")
        if col in CODED and isinstance(v, str):
            return own.get(v) or label(v, lang)
        return str(v)

    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    texts = np.asarray([*escape_many(list(uniques), one), ""], dtype=object)
    return texts[codes].tolist()  # code -1 (missing) picks the trailing ""


# --------------------------------------------------------------------------------------
# geometries
# --------------------------------------------------------------------------------------


@dataclass
class Prepared:
    """Display copy of a layer: geometries in lon/lat (maybe GCJ-02) and kept row positions."""

    geoms: np.ndarray  # shapely geometries, display coordinates, rounded
    rows: np.ndarray  # positions (into the input frame) of the drawn rows
    n_vertices_in: int = 0
    n_vertices_out: int = 0


def prepare(
    gdf: gpd.GeoDataFrame | gpd.GeoSeries,
    name: str,
    *,
    tolerance: float,
    precision: int,
    gcj02: bool,
) -> Prepared:
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
    return Prepared(geoms=geoms, rows=rows, n_vertices_in=n_in, n_vertices_out=n_out)


def _family(type_ids: np.ndarray) -> np.ndarray:
    """Map shapely type ids to `POLYGON`, `LINE`, `POINT` (collections: -1)."""
    fam = np.full(type_ids.shape, -1, dtype=np.int8)
    fam[np.isin(type_ids, (3, 6))] = POLYGON
    fam[np.isin(type_ids, (1, 2, 5))] = LINE
    fam[np.isin(type_ids, (0, 4))] = POINT
    return fam


def encode_geoms(geoms: np.ndarray, precision: int) -> dict[str, str]:
    """
    Encode display geometries as flat JSON arrays for the runtime's canvas layer.

    Returns the JSON text (without brackets) of: `COORDS` coordinates as integers in units
    of ``10**-precision`` degrees, each the difference from the previous vertex (the first
    from `ORIGIN`); `PATH_SIZES` vertices per path; `FEATURE_SIZES` paths per feature;
    `FAMILIES` the family per feature (`POLYGON`, `LINE`, `POINT`). Paths are polygon rings (closing vertex
    dropped; exteriors counter-clockwise and holes clockwise, so the non-zero fill rule
    draws holes and overlaps right), lines or points.
    """
    if len(geoms) == 0:
        return {ORIGIN: "0,0", COORDS: "", PATH_SIZES: "", FEATURE_SIZES: "", FAMILIES: ""}
    return _encoded_text(_encode_arrays(geoms, precision))


@dataclass
class _Encoded:
    """The integer arrays of `encode_geoms`: vertices (absolute), paths, features, families."""

    ints: np.ndarray  # (vertices, 2) int64, in units of 10**-precision degrees
    path_sizes: np.ndarray  # vertices per path
    feature_sizes: np.ndarray  # paths per feature
    families: np.ndarray  # per feature


def _encode_arrays(geoms: np.ndarray, precision: int) -> _Encoded:
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
    if (fam == POLYGON).any():
        geoms = geoms.copy()
        geoms[fam == POLYGON] = shapely.orient_polygons(geoms[fam == POLYGON], exterior_cw=False)
    parts, part_feat = shapely.get_parts(geoms, return_index=True)
    part_fam = fam[part_feat]
    poly_idx = np.flatnonzero(part_fam == POLYGON)
    rings, ring_part = shapely.get_rings(parts[poly_idx], return_index=True)
    other_idx = np.flatnonzero(part_fam != POLYGON)
    paths = np.concatenate([rings, parts[other_idx]])
    path_part = np.concatenate([poly_idx[ring_part], other_idx])
    order = np.argsort(path_part, kind="stable")
    paths, path_part = paths[order], path_part[order]
    coords, coord_path = shapely.get_coordinates(paths, return_index=True)
    n = np.bincount(coord_path, minlength=len(paths))
    is_ring = part_fam[path_part] == POLYGON
    keep = np.ones(len(coords), dtype=bool)
    keep[(np.cumsum(n) - 1)[is_ring & (n > 1)]] = False  # closing vertex of rings
    coords = coords[keep]
    n = n - (is_ring & (n > 1))
    path_feat = part_feat[path_part][n > 0]
    n = n[n > 0]
    per_feature = np.bincount(path_feat, minlength=len(geoms))
    ints = np.rint(coords * 10.0**precision).astype(np.int64)
    return _Encoded(ints=ints, path_sizes=n, feature_sizes=per_feature, families=fam)


def _join(a: np.ndarray) -> str:
    return ",".join(map(str, a.ravel().tolist()))


def _encoded_text(enc: _Encoded) -> dict[str, str]:
    """Write the JSON texts of `encode_geoms` from its arrays (deltas from the lowest corner)."""
    ints = enc.ints
    origin = ints.min(axis=0) if len(ints) else np.zeros(2, dtype=np.int64)
    deltas = np.empty_like(ints)
    if len(ints):
        deltas[0] = ints[0] - origin
        deltas[1:] = ints[1:] - ints[:-1]
    return {
        ORIGIN: f"{int(origin[0])},{int(origin[1])}",
        COORDS: _join(deltas),
        PATH_SIZES: _join(enc.path_sizes),
        FEATURE_SIZES: _join(enc.feature_sizes),
        FAMILIES: _join(enc.families),
    }


def label_points(geoms: np.ndarray, precision: int, origin: str) -> str:
    """Label anchors (inside polygons, line midpoints) as integer offsets from `origin`."""
    fam = _family(shapely.get_type_id(geoms))
    pts = shapely.point_on_surface(geoms)
    lines = fam == LINE
    if lines.any():
        merged = shapely.line_merge(geoms[lines])
        pts[lines] = shapely.line_interpolate_point(merged, 0.5, normalized=True)
    xy = np.rint(shapely.get_coordinates(pts) * 10.0**precision).astype(np.int64)
    xy -= np.array([int(v) for v in origin.split(",")], dtype=np.int64)
    return ",".join(map(str, xy.ravel().tolist()))


def layer_data(
    prep: Prepared,
    precision: int,
    *,
    columns: Sequence[Sequence[str]] = (),
    labels: Sequence[str] | None = None,
    style_keys: np.ndarray | None = None,
    label_ranks: Sequence[int] | None = None,
) -> str:
    """
    Return the JSON text of a layer's data (the keys of `DATA_KEYS`).

    `columns` are the escaped field texts of the drawn rows (one sequence per field, in the
    order of `VALUES`); `labels` (escaped label HTML), `style_keys` and `label_ranks` are
    given for every input row and picked with ``prep.rows``. The text contains no ``<`` (it sits in a
    ``<script>`` element).
    """
    enc = encode_geoms(prep.geoms, precision)
    rows = _value_rows(columns) if columns else None
    parts = [_geoms_values_text(enc, rows, precision)]
    if labels is not None and len(prep.rows):
        texts = '","'.join(labels[i] for i in prep.rows)
        anchors = label_points(prep.geoms, precision, enc[ORIGIN])
        parts += [f',"{LABELS}":["', texts, f'"],"{LABEL_POINTS}":[', anchors, "]"]
    if style_keys is not None:
        keys = np.asarray(style_keys)[prep.rows]
        parts += [f',"{STYLE_KEYS}":[', ",".join(map(str, keys.tolist())), "]"]
    if label_ranks is not None and labels is not None:
        ranks = np.asarray(label_ranks, dtype=np.int64)[prep.rows]
        parts += [f',"{LABEL_RANKS}":[', ",".join(map(str, ranks.tolist())), "]"]
    parts.append("}")
    return "".join(parts).replace("<", "\\u003c")


def _value_rows(columns: Sequence[Sequence[str]]) -> list[str]:
    """Per feature, the JSON array of its escaped field texts."""
    return ['["' + '","'.join(r) + '"]' for r in zip(*columns, strict=True)]


def _geoms_values_text(enc: dict[str, str], rows: list[str] | None, precision: int) -> str:
    """Write the start of a layer's data text: scale, geometry arrays, `rows` (values)."""
    arrays = (ORIGIN, COORDS, PATH_SIZES, FEATURE_SIZES, FAMILIES)
    parts = [f'{{"{SCALE}":{10**precision}', *(f',"{k}":[{enc[k]}]' for k in arrays)]
    if rows is not None:
        parts += [f',"{VALUES}":[', ",".join(rows), "]"]
    return "".join(parts)


def field_spec(
    labels: Sequence[str], positions: Sequence[int], head: str, head_index: int | None
) -> dict[str, Any]:
    """Return a field spec (`TIP`, `POPUP`): escaped labels and their `VALUES` positions."""
    return {
        FIELD_LABELS: list(labels),
        FIELD_INDEX: list(positions),
        HEAD: head,
        HEAD_INDEX: head_index,
    }


def layer_spec(
    style: dict[str, Any],
    styles: Sequence[dict[str, Any]] = (),
    *,
    label_prio: int | None = None,
    role: str = "",
    tip: dict[str, Any] | None = None,
    popup: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a layer's spec (the keys of `SPEC_KEYS`; absent ones are left out)."""
    spec: dict[str, Any] = {STYLE: style, STYLES: list(styles)}
    kind = role.split(":", 1)[0]
    if label_prio is not None:
        spec[LABEL_PRIORITY_KEY] = label_prio
        spec[PLACE_KEY] = LABEL_PLACEMENT.get(kind, 0)
    if kind in OBSTACLE_ROLES:
        spec[OBSTACLE_KEY] = True
    if tip is not None:
        spec[TIP] = tip
    if popup is not None:
        spec[POPUP] = popup
    return spec


# --------------------------------------------------------------------------------------
# chunked layers (the parcels of a whole city: decoded only where the view is zoomed in)
# --------------------------------------------------------------------------------------

#: Features per chunk of a chunked layer (a chunk is decoded as a whole when in view).
CHUNK_FEATURES = 4_000

#: zlib level of the chunks: 1 is 8× faster to write than 6 for ~20 % more bytes.
CHUNK_ZLIB_LEVEL = 4


@dataclass
class Chunk:
    """One spatial chunk of a layer: its box (lon/lat), feature count and compressed data."""

    bounds: tuple[float, float, float, float]
    n: int
    data: str  # base64 of the zlib-compressed JSON text of a layer's data (`layer_data`)


def chunk_positions(geoms: np.ndarray, size: int | None = None) -> list[np.ndarray]:
    """
    Split features into spatial chunks of about `size` (default `CHUNK_FEATURES`).

    The chunks are the cells of a square grid over the features' centres.

    Returns the positions (into `geoms`) of each non-empty grid cell, in data order within
    a chunk, cells row by row.

    Examples
    --------
    >>> pts = shapely.points(np.arange(10.0), np.zeros(10))
    >>> [c.tolist() for c in chunk_positions(pts, size=4)]
    [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    """
    n, size = len(geoms), CHUNK_FEATURES if size is None else size
    k = max(1, int(np.ceil(np.sqrt(n / max(size, 1)))))
    b = shapely.bounds(geoms)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    x0, x1, y0, y1 = cx.min(), cx.max(), cy.min(), cy.max()
    ix = np.minimum((k * (cx - x0) / max(x1 - x0, 1e-12)).astype(int), k - 1)
    iy = np.minimum((k * (cy - y0) / max(y1 - y0, 1e-12)).astype(int), k - 1)
    cell = iy * k + ix
    order = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[order], np.arange(k * k + 1))
    return [order[a:e] for a, e in itertools.pairwise(bounds) if e > a]


def layer_chunks(
    prep: Prepared, precision: int, columns: Sequence[Sequence[str]] = ()
) -> list[Chunk]:
    """
    Return a layer's data as spatial chunks (`CHUNKS`), each compressed.

    Each chunk is the `layer_data` of its features (with their `columns`), compressed with
    zlib and written as base64; the runtime decodes a chunk when the view reaches its box.
    Every feature is in exactly one chunk.

    The geometries are encoded once for the whole layer (in chunk order; on a second thread,
    GEOS releases the GIL, while this one writes the values) and cut per chunk; each chunk's
    text is compressed on the second thread (zlib releases the GIL too) while the next one
    is written. With `settings.n_jobs` 1, all on one thread; the chunks are the same.

    Examples
    --------
    >>> prep = Prepared(shapely.points(np.arange(5.0), np.zeros(5)), np.arange(5))
    >>> chunks = layer_chunks(prep, 6, [list("abcde")])
    >>> [c.n for c in chunks], chunks[0].bounds
    ([5], (0.0, 0.0, 4.0, 0.0))
    """
    if not len(prep.geoms):
        return []
    positions = chunk_positions(prep.geoms)
    order = np.concatenate(positions)
    geoms = prep.geoms[order]
    out, texts = [], []
    with background(check_threads(None)) as pool:
        submit: Callable[..., Future[Any]] = pool.submit
        encoding = submit(_encode_arrays, geoms, precision)  # GEOS, without the GIL ...
        rows = (
            _value_rows([np.asarray(c, dtype=object)[order] for c in columns]) if columns else None
        )
        enc = encoding.result()  # ... while this thread wrote the values
        paths = np.concatenate([[0], np.cumsum(enc.feature_sizes)])
        verts = np.concatenate([[0], np.cumsum(enc.path_sizes)])
        bounds = shapely.bounds(geoms)
        a = 0
        for pos in positions:
            b = a + len(pos)
            p0, p1 = paths[a], paths[b]
            sub = _Encoded(
                enc.ints[verts[p0] : verts[p1]], enc.path_sizes[p0:p1],
                enc.feature_sizes[a:b], enc.families[a:b],
            )  # fmt: skip
            text = _geoms_values_text(_encoded_text(sub), None if rows is None else rows[a:b],
                                      precision) + "}"  # fmt: skip
            texts.append(submit(_packed, text.replace("<", "\\u003c")))
            lo, hi = np.nanmin(bounds[a:b, :2], axis=0), np.nanmax(bounds[a:b, 2:], axis=0)
            out.append(((float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])), len(pos)))
            a = b
        return [
            Chunk(bounds=bb, n=k, data=t.result()) for (bb, k), t in zip(out, texts, strict=True)
        ]


def _packed(text: str) -> str:
    """Compress `text` with zlib (`CHUNK_ZLIB_LEVEL`) and write it as base64."""
    import base64
    import zlib

    return base64.b64encode(zlib.compress(text.encode("utf-8"), CHUNK_ZLIB_LEVEL)).decode()
