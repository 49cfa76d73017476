"""
View corridors (视廊), river height zones and the permitted heights inside them.

From viewpoints and landmarks to the corridor polygon and its viewing plane, the river
belt's stepped height zones, and the exact permitted height and excess of every building or
plot inside them. See docs/guide/corridors.md.

A *surface* is a row of a GeoDataFrame: a polygon and the plane ``z = a·x + b·y + c``
(metres, the datum of the DEM; 0 = the ground where no DEM is given) that no roof inside it
may exceed. A corridor's plane runs from the eye to the protected part of the landmark minus
the clearance; a river zone's plane is flat at its maximum height.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import shapely

from geo_renewal._errors import InputError
from geo_renewal._rulefuncs import rule_function
from geo_renewal._toml import parse_toml, read_toml
from geo_renewal.crs import check_crs, to_working, working_crs
from geo_renewal.heights import _frame_heights, _numbers, ground_levels

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "SURFACE_COLUMNS",
    "corridors_from_points",
    "height_checks",
    "river_height_zones",
    "surface_layer",
]

#: Columns of every surfaces frame (besides the geometry).
SURFACE_COLUMNS = ("surface", "kind", "a", "b", "c")
#: Default eye height above the ground (metres), as London's View Management Framework uses.
EYE_HEIGHT = 1.6


# ------------------------------------------------------------------ corridors


def _points_frame(layer: gpd.GeoDataFrame, crs: Any, what: str) -> gpd.GeoDataFrame:
    check_crs(layer, what)
    out = layer.copy()
    out = out.set_geometry(to_working(layer.geometry, crs=crs))
    bad = np.flatnonzero(
        shapely.is_missing(out.geometry.array) | shapely.is_empty(out.geometry.array)
    )
    if len(bad):
        msg = f"{what} row {layer.index[bad[0]]!r} has no geometry; give it a location or drop it."
        raise InputError(msg)
    return out


def _names(layer: gpd.GeoDataFrame, name_col: str, prefix: str) -> list[str]:
    if name_col in layer.columns:
        return [str(v) for v in layer[name_col]]
    return [f"{prefix}{i + 1}" for i in range(len(layer))]


def _column(layer: gpd.GeoDataFrame, col: str, what: str, default: float | None) -> np.ndarray:
    values = _numbers(layer, col)
    if col not in layer.columns and default is not None:
        return np.full(len(layer), default)
    bad = np.flatnonzero(np.isnan(values))
    if len(bad):
        msg = (
            f"{what} row {layer.index[bad[0]]!r}: {col!r} is blank or not a number of metres "
            f"({len(bad)} row(s)); fill it in."
        )
        raise InputError(msg)
    return values


def _ground(layer: gpd.GeoDataFrame, dem: str | Path | None, what: str) -> np.ndarray:
    if dem is None:
        return np.zeros(len(layer))
    ground = ground_levels(layer, dem).to_numpy()
    bad = np.flatnonzero(np.isnan(ground))
    if len(bad):
        msg = f"{what} row {layer.index[bad[0]]!r} lies outside the DEM {str(dem)!r}; extend the DEM."
        raise InputError(msg)
    return ground


def corridors_from_points(
    viewpoints: gpd.GeoDataFrame,
    landmarks: gpd.GeoDataFrame,
    *,
    width: float | None = None,
    angle: float | None = None,
    band: float | None = None,
    clearance: float = 0.0,
    pairs: Iterable[tuple[str, str]] | None = None,
    dem: str | Path | None = None,
    name_col: str = "name",
    eye_height_col: str = "eye_height",
    height_col: str = "height",
) -> gpd.GeoDataFrame:
    """
    Build view corridors and their viewing planes from viewpoints and landmarks.

    The corridor runs from the eye to the landmark (its point, or its polygon's centroid;
    a polygon landmark's own footprint is cut out): a strip of `width` metres, or a wedge
    of full opening `angle` degrees at the eye. Its plane is level across the sightline and
    rises (or falls) along it from the eye (ground + eye height) to the landmark's protected
    elevation (ground + height − `band`), lowered by `clearance`: a roof below it leaves the
    protected part of the landmark visible.

    Parameters
    ----------
    viewpoints
        Points with a CRS; `eye_height_col` (m above ground, default 1.6) and `name_col`.
    landmarks
        Points or polygons with a CRS, `height_col` (m above ground) and `name_col`.
    width, angle
        The corridor's width (m) or opening angle (degrees); exactly one. A polygon
        landmark without either spans its own width across the sightline.
    band
        Metres below the landmark's top that must stay visible (the protected band); None:
        the landmarks' ``band`` column if they have one, else 0.
    clearance
        Metres the permitted height stays below the plane.
    pairs
        (viewpoint name, landmark name) pairs; None: every viewpoint with every landmark.
    dem
        Ground elevation GeoTIFF; None: flat ground at 0.
    name_col, eye_height_col, height_col
        Columns of the two layers.

    Returns
    -------
    corridors
        GeoDataFrame in the working CRS, one row per corridor: ``surface`` (``viewpoint →
        landmark``), ``kind`` = ``corridor``, the plane ``a``, ``b``, ``c``, ``viewpoint``,
        ``landmark``, ``eye_x``, ``eye_y``, ``eye_z``, ``target_x``, ``target_y``,
        ``target_z`` (the protected elevation), ``length_m``, ``width_m`` (at the
        landmark), ``clearance_m`` and the polygon.

    Raises
    ------
    InputError
        If both or neither of `width` and `angle` are given for point landmarks, a height
        is blank, a pair names an unknown point, or a point lies outside the DEM.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> vp = gpd.GeoDataFrame({"name": ["V"], "eye_height": [1.5]}, geometry=[Point(0, 0)],
    ...                       crs="EPSG:4548")
    >>> lm = gpd.GeoDataFrame({"name": ["T"], "height": [101.5]}, geometry=[Point(0, 1000)],
    ...                       crs="EPSG:4548")
    >>> c = corridors_from_points(vp, lm, width=100)
    >>> c[["surface", "length_m", "width_m", "target_z"]].values.tolist()
    [['V → T', 1000.0, 100.0, 101.5]]
    >>> round(float(c.b.iloc[0]), 3)  # the plane rises 0.1 m per metre towards the tower
    0.1
    """
    import geopandas as gpd

    if width is not None and angle is not None:
        msg = "corridors_from_points: give width (metres) or angle (degrees), not both."
        raise InputError(msg)
    crs = working_crs(viewpoints)
    vps = _points_frame(viewpoints, crs, "viewpoints")
    lms = _points_frame(landmarks, crs, "landmarks")
    vnames, lnames = _names(vps, name_col, "V"), _names(lms, name_col, "L")
    eye = _column(vps, eye_height_col, "viewpoints", EYE_HEIGHT) + _ground(vps, dem, "viewpoints")
    top = _column(lms, height_col, "landmarks", None) + _ground(lms, dem, "landmarks")
    protected = top - (_column(lms, "band", "landmarks", 0.0) if band is None else float(band))
    rows = [
        _corridor(
            vps.geometry.iloc[i],
            eye[i],
            lms.geometry.iloc[j],
            protected[j],
            width=width,
            angle=angle,
            clearance=clearance,
        )
        | {"surface": f"{vnames[i]} → {lnames[j]}", "viewpoint": vnames[i], "landmark": lnames[j]}
        for i, j in _pairs(vnames, lnames, pairs)
    ]
    frame = pd.DataFrame(rows)
    geometry = frame.pop("geometry").to_numpy() if len(frame) else []
    cols = [
        "surface",
        "kind",
        "a",
        "b",
        "c",
        "viewpoint",
        "landmark",
        "eye_x",
        "eye_y",
        "eye_z",
        "target_x",
        "target_y",
        "target_z",
        "length_m",
        "width_m",
        "clearance_m",
    ]
    return gpd.GeoDataFrame(frame.reindex(columns=cols), geometry=list(geometry), crs=crs)


def _pairs(
    vnames: list[str], lnames: list[str], pairs: Iterable[tuple[str, str]] | None
) -> list[tuple[int, int]]:
    if pairs is None:
        return [(i, j) for i in range(len(vnames)) for j in range(len(lnames))]
    out = []
    for v, lm in pairs:
        if v not in vnames or lm not in lnames:
            msg = (
                f"corridor pair ({v!r}, {lm!r}): unknown "
                f"{'viewpoint' if v not in vnames else 'landmark'}; the viewpoints are "
                f"{vnames} and the landmarks {lnames}."
            )
            raise InputError(msg)
        out.append((vnames.index(v), lnames.index(lm)))
    return out


def _corridor(
    eye_pt: Any,
    eye_z: float,
    landmark: Any,
    target_z: float,
    *,
    width: float | None,
    angle: float | None,
    clearance: float,
) -> dict[str, Any]:
    """One corridor: its polygon and plane."""
    ex, ey = eye_pt.x, eye_pt.y
    point = shapely.get_type_id(landmark) == shapely.GeometryType.POINT
    tgt = landmark if point else landmark.centroid
    dx, dy = tgt.x - ex, tgt.y - ey
    length = math.hypot(dx, dy)
    if length == 0:
        msg = "a viewpoint stands on its landmark; move one of them."
        raise InputError(msg)
    ux, uy = dx / length, dy / length
    nx, ny = -uy, ux
    if width is None and angle is None:
        if point:
            msg = "corridors_from_points: give width (metres) or angle (degrees) for point landmarks."
            raise InputError(msg)
        across = shapely.get_coordinates(landmark) @ np.array([nx, ny]) - (tgt.x * nx + tgt.y * ny)
        width = float(across.max() - across.min())
    half_far = width / 2 if width is not None else length * math.tan(math.radians(angle) / 2)  # type: ignore[arg-type]
    half_near = half_far if width is not None else 0.0
    poly = shapely.Polygon(
        [(ex + s * half_near * nx, ey + s * half_near * ny) for s in (1, -1)]
        + [(tgt.x - s * half_far * nx, tgt.y - s * half_far * ny) for s in (1, -1)]
    )
    if not point:
        poly = shapely.difference(poly, landmark)
    k = (target_z - eye_z) / length
    return {
        "kind": "corridor",
        "a": k * ux,
        "b": k * uy,
        "c": eye_z - clearance - k * (ex * ux + ey * uy),
        "eye_x": ex,
        "eye_y": ey,
        "eye_z": eye_z,
        "target_x": tgt.x,
        "target_y": tgt.y,
        "target_z": target_z,
        "length_m": length,
        "width_m": 2 * half_far,
        "clearance_m": clearance,
        "geometry": shapely.normalize(poly),
    }


# ------------------------------------------------------------------ river zones


def _load_zones(params: str | Path | None) -> list[dict[str, Any]]:
    if params is None:
        res = resources.files("geo_renewal") / "params" / "river_height_zones.toml"
        data = parse_toml(
            res.read_text("utf-8"), source="bundled:river_height_zones", what="river height zones"
        )
        where = "bundled:river_height_zones"
    else:
        data, where = read_toml(params, what="river height zones"), str(params)
    zones = data.get("zones")
    if not isinstance(zones, list) or not zones:
        msg = f"river height zones {where!r}: no [[zones]] tables; add one per zone (name, to_m, max_height_m)."
        raise InputError(msg)
    last = 0.0
    for i, z in enumerate(zones, 1):
        to, top = z.get("to_m"), z.get("max_height_m")
        ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (to, top))
        if not ok or to <= last or top < 0:
            msg = (
                f"river height zones {where!r}, zone {i}: to_m must grow from the water "
                f"outwards and max_height_m be ≥ 0 (got to_m={to!r}, max_height_m={top!r})."
            )
            raise InputError(msg)
        last = float(to)
    return zones


def river_height_zones(
    river: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    params: str | Path | None = None,
    ground: float = 0.0,
    bank_offset: float = 0.0,
) -> gpd.GeoDataFrame:
    """
    Build the river belt's stepped height zones, by distance from the river's edge.

    Parameters
    ----------
    river
        The river (polygons or lines) with a CRS.
    params
        A TOML file of ``[[zones]]`` (``name``, ``to_m``, ``max_height_m``), from the
        water outwards; None: the bundled ``params/river_height_zones.toml``.
    ground
        The ground level of the belt in the DEM's datum (0: heights above the ground).
    bank_offset
        Metres from the river's geometry to its bank: half the width when the river is a
        centreline; 0 for water polygons.

    Returns
    -------
    zones
        Surfaces (`SURFACE_COLUMNS`, ``kind`` = ``zone``, a flat plane at ``ground +
        max_height_m``) with ``from_m``, ``to_m`` and ``max_height_m``; ring polygons.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> river = gpd.GeoSeries([LineString([(0, 0), (1000, 0)])], crs="EPSG:4548")
    >>> z = river_height_zones(river)
    >>> z[["surface", "from_m", "to_m", "c"]].values.tolist()[:2]
    [['蓝线退让带', 0.0, 50.0, 0.0], ['滨水第一层次', 50.0, 150.0, 24.0]]
    """
    import geopandas as gpd

    check_crs(river, "river")
    crs = working_crs(river)
    water = shapely.union_all(
        np.asarray(
            to_working(river.geometry if hasattr(river, "geometry") else river, crs=crs).array
        )
    )
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    last = 0.0
    if bank_offset > 0:
        water = shapely.buffer(water, float(bank_offset))
    inner = water if shapely.get_dimensions(water) == 2 else shapely.Polygon()
    for z in _load_zones(params):
        outer = shapely.buffer(water, float(z["to_m"]))
        geoms.append(shapely.difference(outer, inner))
        top = float(z["max_height_m"])
        rows.append(
            {
                "surface": str(z.get("name", f"zone {len(rows) + 1}")),
                "kind": "zone",
                "a": 0.0,
                "b": 0.0,
                "c": ground + top,
                "from_m": last,
                "to_m": float(z["to_m"]),
                "max_height_m": top,
            }
        )
        inner, last = outer, float(z["to_m"])
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=crs)


# ------------------------------------------------------------------ checks


def _check_surfaces(surfaces: gpd.GeoDataFrame) -> None:
    missing = [c for c in SURFACE_COLUMNS if c not in surfaces.columns]
    if missing:
        msg = (
            f"surfaces lack the column(s) {missing}; build them with corridors_from_points or "
            "river_height_zones."
        )
        raise InputError(msg)


def _plane_minimum(
    geoms: np.ndarray, polys: np.ndarray, planes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """
    Find the overlapping (surface, geometry) pairs and the plane's lowest value on each.

    Also the point where it is reached (the critical point): a plane is lowest on a vertex.
    """
    empty = np.zeros(0, dtype=np.int64)
    if len(geoms) == 0 or len(polys) == 0:
        return empty, empty, np.zeros(0), np.zeros((0, 2))
    si, gi, inside = _overlap_pairs(geoms, polys)
    parts = geoms[gi].copy()
    edge = np.flatnonzero(~inside)
    parts[edge] = shapely.intersection(geoms[gi[edge]], polys[si[edge]])
    polygonal = shapely.get_dimensions(geoms[gi]) == 2
    keep = inside | ~polygonal | (shapely.area(parts) > 1e-9)
    keep &= ~shapely.is_empty(parts)
    si, gi, parts = si[keep], gi[keep], parts[keep]
    coords, pair = shapely.get_coordinates(parts, return_index=True)
    z = (
        planes[si[pair], 0] * coords[:, 0]
        + planes[si[pair], 1] * coords[:, 1]
        + planes[si[pair], 2]
    )
    order = np.lexsort((z, pair))
    first = order[np.r_[True, pair[order][1:] != pair[order][:-1]]] if len(order) else order
    return si, gi, z[first], coords[first]


def _overlap_pairs(geoms: np.ndarray, polys: np.ndarray) -> tuple[np.ndarray, ...]:
    """
    Pair surfaces with the geometries that may overlap them; ``inside`` if wholly inside.

    Convex surfaces (corridor strips and wedges) are tested with numpy on the geometries'
    vertices against their edges' half-planes: all vertices inside means inside, all outside
    one edge means apart, anything else is intersected exactly. Other surfaces (rings of
    the river zones) go through GEOS predicates.
    """
    tree = shapely.STRtree(geoms)
    convex = np.array([_is_convex(p) for p in polys], dtype=bool)
    out_s, out_g, out_in = [], [], []
    if (~convex).any():
        which = np.flatnonzero(~convex)
        qi, gi = tree.query(polys[which], predicate="intersects")
        out_s.append(which[qi])
        out_g.append(gi)
        out_in.append(shapely.contains_properly(polys[which[qi]], geoms[gi]))
    if convex.any():
        coords, owner = shapely.get_coordinates(geoms, return_index=True)
        counts = np.bincount(owner, minlength=len(geoms))
        starts = np.cumsum(counts) - counts
        b = shapely.bounds(geoms)
        discs = np.column_stack(
            [
                (b[:, 0] + b[:, 2]) / 2,
                (b[:, 1] + b[:, 3]) / 2,
                np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) / 2 * (1 + 1e-9) + 1e-6,
            ]
        )
        for s in np.flatnonzero(convex):
            gi, inside = _convex_pairs(
                tree.query(polys[s]), polys[s], coords, starts, counts, discs
            )
            out_s.append(np.full(len(gi), s, dtype=np.int64))
            out_g.append(gi)
            out_in.append(inside)
    return np.concatenate(out_s), np.concatenate(out_g), np.concatenate(out_in)


def _is_convex(poly: Any) -> bool:
    if shapely.get_type_id(poly) != shapely.GeometryType.POLYGON or shapely.get_num_interior_rings(
        poly
    ):
        return False
    ring = shapely.get_coordinates(poly)[:-1]
    if len(ring) < 3:
        return False
    e = np.roll(ring, -1, axis=0) - ring
    cross = e[:, 0] * np.roll(e, -1, axis=0)[:, 1] - e[:, 1] * np.roll(e, -1, axis=0)[:, 0]
    scale = 1e-9 * float(np.abs(e).max()) ** 2
    return bool((cross >= -scale).all() or (cross <= scale).all())


def _convex_pairs(
    gi: np.ndarray,
    poly: Any,
    coords: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
    discs: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """
    Candidates `gi` of one convex polygon: (kept candidates, wholly inside).

    A geometry's bounding disc (`discs`: centre x, y, radius) decides most candidates at
    once — farther than its radius outside one edge: apart; farther than its radius inside
    every edge: inside; only the others are tested vertex by vertex.
    """
    gi = gi[counts[gi] > 0]
    ring = shapely.get_coordinates(poly)[:-1]
    if not shapely.is_ccw(poly.exterior):
        ring = ring[::-1]
    p, e = ring, np.roll(ring, -1, axis=0) - ring
    length = np.hypot(e[:, 0], e[:, 1])
    d = discs[gi]
    dist = (
        e[None, :, 0] * (d[:, None, 1] - p[None, :, 1])
        - e[None, :, 1] * (d[:, None, 0] - p[None, :, 0])
    ) / length
    apart = (dist < -d[:, 2:3]).any(axis=1)
    sure = (dist > d[:, 2:3]).all(axis=1)
    near = ~apart & ~sure
    g2 = gi[near]
    n = counts[g2]
    pair_start = np.cumsum(n) - n
    vertex = np.repeat(starts[g2] - pair_start, n) + np.arange(int(n.sum()))
    v = coords[vertex]
    side = e[None, :, 0] * (v[:, None, 1] - p[None, :, 1]) - e[None, :, 1] * (
        v[:, None, 0] - p[None, :, 0]
    )
    eps = 1e-7 * length[None, :]
    inside = sure.copy()
    if len(g2):
        inside[near] = np.logical_and.reduceat((side >= -eps).all(axis=1), pair_start)
        apart[near] = np.logical_and.reduceat(side <= eps, pair_start, axis=0).any(axis=1)
    return gi[~apart], inside[~apart]


def height_checks(
    buildings: gpd.GeoDataFrame,
    surfaces: gpd.GeoDataFrame,
    *,
    heights: pd.Series | np.ndarray | None = None,
    height_col: str = "height_m",
    ground: pd.Series | np.ndarray | None = None,
    id_col: str | None = None,
) -> pd.DataFrame:
    """
    Return the permitted height and the excess of every building (or plot) in a surface.

    The permitted height is exact: the plane's lowest value on the part of the footprint
    inside the surface (the critical point: for a corridor whose plane rises towards the
    landmark, the footprint's point nearest to the eye along the sightline) minus the
    building's ground level.

    Parameters
    ----------
    buildings
        Footprints (or plots) with a CRS.
    surfaces
        Corridors and zones (`corridors_from_points`, `river_height_zones`, concatenated).
    heights
        Heights in metres aligned on `buildings` (e.g. ``building_heights(b).height_m``);
        None: the `height_col` column.
    ground
        The buildings' ground levels in the DEM's datum; None: 0 (flat ground).
    id_col
        A column copied into the result as ``id``.

    Returns
    -------
    checks
        DataFrame, one row per building and surface it overlaps: ``row`` (the buildings'
        index label), ``id``, ``surface``, ``kind``, ``height_m``, ``permitted_m``,
        ``excess_m`` (> 0: above the permitted height; null where the height is unknown),
        ``critical_x``, ``critical_y``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point, box
    >>> vp = gpd.GeoDataFrame({"eye_height": [0.0]}, geometry=[Point(0, 0)], crs="EPSG:4548")
    >>> lm = gpd.GeoDataFrame({"height": [100.0]}, geometry=[Point(0, 1000)], crs="EPSG:4548")
    >>> c = corridors_from_points(vp, lm, width=100)
    >>> b = gpd.GeoDataFrame({"height_m": [30.0]}, geometry=[box(-10, 200, 10, 220)],
    ...                      crs="EPSG:4548")
    >>> height_checks(b, c)[["permitted_m", "excess_m"]].round(2).values.tolist()
    [[20.0, 10.0]]
    """
    _check_surfaces(surfaces)
    check_crs(buildings, "buildings")
    geoms = np.asarray(to_working(buildings.geometry, crs=surfaces.crs).array)
    polys = np.asarray(surfaces.geometry.array)
    planes = surfaces[["a", "b", "c"]].to_numpy(dtype=float)
    si, gi, low, point = _plane_minimum(geoms, polys, planes)
    h = _numbers(buildings, height_col) if heights is None else np.asarray(heights, dtype=float)
    g = (
        np.zeros(len(buildings))
        if ground is None
        else np.nan_to_num(np.asarray(ground, dtype=float))
    )
    permitted = low - g[gi]
    out = pd.DataFrame(
        {
            "row": buildings.index[gi],
            "id": buildings[id_col].to_numpy()[gi] if id_col else buildings.index[gi],
            "surface": surfaces["surface"].to_numpy()[si],
            "kind": surfaces["kind"].to_numpy()[si],
            "height_m": h[gi],
            "permitted_m": permitted,
            "excess_m": h[gi] - permitted,
            "critical_x": point[:, 0],
            "critical_y": point[:, 1],
        }
    )
    return out.sort_values(["surface", "row"], kind="stable", ignore_index=True)


# ------------------------------------------------------------------ rule function


def surface_layer(surfaces: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """
    Return the surfaces as 3D polygons whose Z is the plane: a layer for rule sets.

    ``height_excess("name")`` in a rule set reads such a layer given as
    ``layers={"name": surface_layer(corridors)}`` (or written to a GeoPackage and named in
    ``[constraints.name]``): the geometry alone carries the plane.

    Parameters
    ----------
    surfaces
        Corridors and zones.

    Returns
    -------
    layer
        The same rows with 3D polygons.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> z = river_height_zones(gpd.GeoSeries([LineString([(0, 0), (9, 0)])], crs="EPSG:4548"))
    >>> surface_layer(z).geometry.has_z.all()
    np.True_
    """
    _check_surfaces(surfaces)
    polys = np.asarray(surfaces.geometry.array)
    planes = surfaces[["a", "b", "c"]].to_numpy(dtype=float)
    coords, idx = shapely.get_coordinates(polys, return_index=True)
    z = planes[idx, 0] * coords[:, 0] + planes[idx, 1] * coords[:, 1] + planes[idx, 2]
    out = surfaces.copy()
    out.geometry = shapely.set_coordinates(shapely.force_3d(polys), np.column_stack([coords, z]))
    return out


def _planes_from_3d(geoms: np.ndarray, name: str) -> np.ndarray:
    """Fit the plane of each 3D polygon (least squares through its vertices)."""
    if len(geoms) and not shapely.has_z(geoms).all():
        msg = (
            f"height_excess({name!r}) needs a layer of permitted-height surfaces (3D polygons); "
            f"build it with corridors.surface_layer(...) and pass it as layer {name!r}."
        )
        raise InputError(msg)
    coords, idx = shapely.get_coordinates(geoms, include_z=True, return_index=True)
    planes = np.zeros((len(geoms), 3))
    for i in range(len(geoms)):
        pts = coords[idx == i]
        design = np.column_stack([pts[:, 0] - pts[0, 0], pts[:, 1] - pts[0, 1], np.ones(len(pts))])
        (a, b, c0), *_ = np.linalg.lstsq(design, pts[:, 2], rcond=None)
        planes[i] = a, b, c0 - a * pts[0, 0] - b * pts[0, 1]
    return planes


@rule_function(
    "height_excess",
    args=("layer",),
    result="number",
    summary=(
        "metres by which the parcel's height (height_m, or floors × storey height) exceeds "
        "the lowest permitted height of a surfaces layer over it (corridor plane or river "
        "zone; 3D polygons from corridors.surface_layer); −inf outside every surface"
    ),
)
def _rule_height_excess(
    index: Any, geoms: np.ndarray, key: tuple[Any, ...], rows: np.ndarray | None
) -> np.ndarray:
    frame = getattr(index, "frame", None)
    if frame is None:
        msg = "height_excess() needs the parcels' columns; run it through classify_parcels."
        raise InputError(msg)
    heights = _frame_heights(frame, "height_m")
    ground = _numbers(frame, "ground_m") if "ground_m" in frame.columns else np.zeros(index.n)
    planes = _planes_from_3d(geoms, key[1])
    _si, gi, low, _ = _plane_minimum(index.geoms, shapely.force_2d(geoms), planes)
    excess = np.full(index.n, -np.inf)
    np.maximum.at(excess, gi, heights[gi] + np.nan_to_num(ground[gi]) - low)
    excess[np.isnan(heights)] = np.nan
    return excess


def all_surfaces(*frames: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Concatenate surfaces frames (corridors and zones) into one, in the first one's CRS."""
    import geopandas as gpd

    crs = frames[0].crs
    parts = [f.to_crs(crs) if f.crs != crs else f for f in frames]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)


def max_excess(
    checks: pd.DataFrame, index: pd.Index, *, kinds: Mapping[str, str] | None = None
) -> pd.Series:
    """Return the largest excess per building over every surface (−inf outside all)."""
    if kinds:
        checks = checks[checks["kind"].isin(list(kinds))]
    worst = checks.groupby("row", sort=False)["excess_m"].max()
    return worst.reindex(index).fillna(-np.inf).rename("excess_m")
