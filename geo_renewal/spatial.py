"""
Vectorised spatial predicates used by classification rules.

Every function measures in the working CRS of the parcels (`geo_renewal.crs.working_crs`),
in metres, and returns a Series aligned on the parcels' index. All of them use *reversed*
queries (PERF_NOTES.md): one STRtree over the parcels, queried with the few features of a
constraint layer, each of which is prepared once, instead of a tree over the layer queried
with every parcel or a row-wise spatial join.

CRS policy: a constraint layer in another CRS than the parcels is reprojected into the
parcels' working CRS (logged at INFO level), because every measurement happens there
anyway and rasters cannot be anything but reprojected; a layer without a CRS is refused
with `CRSError`, and a layer lying more than 50 km from the parcels raises a warning (a
wrongly declared CRS is the usual cause).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import shapely

from geo_renewal._errors import InputError
from geo_renewal._geomcheck import refuse_bad_coordinates
from geo_renewal._geos import (
    built,
    computed_once,
    map_slices,
    overlap_areas,
    private_copy,
    thread_count,
    union_parts,
)
from geo_renewal._rulefuncs import rule_function
from geo_renewal.crs import check_crs, to_working, working_crs

if TYPE_CHECKING:
    import geopandas as gpd
    from pyproj import CRS

__all__ = ["distance_to", "intersects", "share_in"]

logger = logging.getLogger(__name__)

_FAR_KM = 50.0
_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


@dataclass
class _ParcelIndex:
    """Parcel geometries in the working CRS, with a lazily built STRtree and areas."""

    geoms: np.ndarray
    crs: CRS
    _tree: shapely.STRtree | None = field(default=None, repr=False)
    _areas: np.ndarray | None = field(default=None, repr=False)
    _bounds: np.ndarray | None = field(default=None, repr=False)
    #: The parcels' columns, for rule functions that read them (``height_excess``).
    frame: pd.DataFrame | None = field(default=None, repr=False)
    #: Threads of the rule functions (None: `settings.n_jobs`); a dask task sets 1.
    n_jobs: int | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return len(self.geoms)

    @property
    def tree(self) -> shapely.STRtree:
        if self._tree is None:
            self._tree = shapely.STRtree(self.geoms)
        return self._tree

    @property
    def bounds(self) -> np.ndarray:
        if self._bounds is None:
            self._bounds = shapely.total_bounds(self.geoms)
        return self._bounds

    @property
    def areas(self) -> np.ndarray:
        if self._areas is None:
            self._areas = shapely.area(self.geoms)
        return self._areas


def _parcel_index(parcels: gpd.GeoDataFrame | gpd.GeoSeries) -> _ParcelIndex:
    check_crs(parcels, "parcels")
    refuse_bad_coordinates(
        parcels.geometry if hasattr(parcels, "geometry") else parcels, parcels.crs, name="parcels"
    )
    crs = working_crs(parcels)
    geoms = to_working(parcels.geometry if hasattr(parcels, "geometry") else parcels, crs=crs)
    return _ParcelIndex(np.asarray(geoms.array), crs)


def _layer_geoms(
    layer: gpd.GeoDataFrame | gpd.GeoSeries, index: _ParcelIndex, name: str
) -> np.ndarray:
    """Geometries of `layer` in the parcels' working CRS, without empties."""
    check_crs(layer, name)
    series = layer.geometry if hasattr(layer, "geometry") else layer
    projected = to_working(series, crs=index.crs)
    geoms = np.asarray(projected.array)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(geoms) and index.n:
        gap = _bbox_gap(shapely.total_bounds(geoms), index.bounds)
        if gap > _FAR_KM * 1000:
            msg = (
                f"layer {name!r} lies {gap / 1000:.0f} km from the parcels; check that its "
                "CRS is declared correctly (e.g. GCJ-02 or a Gauss–Krüger zone)."
            )
            warnings.warn(msg, UserWarning, stacklevel=3)
    return geoms


def _bbox_gap(a: np.ndarray, b: np.ndarray) -> float:
    dx = max(a[0] - b[2], b[0] - a[2], 0.0)
    dy = max(a[1] - b[3], b[1] - a[3], 0.0)
    return float(np.hypot(dx, dy))


def _share_in(
    index: _ParcelIndex,
    geoms: np.ndarray,
    name: str,
    rows: np.ndarray | None = None,
    n_jobs: int | None = None,
) -> np.ndarray:
    polys = geoms[np.isin(shapely.get_type_id(geoms), _POLYGONAL)]
    if len(polys) < len(geoms):
        msg = (
            f"share_in({name!r}) needs a polygon layer, but {len(geoms) - len(polys)} of its "
            f"{len(geoms)} features are lines or points; use intersects({name!r}) or "
            f"distance_to({name!r}) for them."
        )
        raise InputError(msg)
    share = np.zeros(index.n)
    share[shapely.is_missing(index.geoms) | shapely.is_empty(index.geoms)] = np.nan
    if len(polys) == 0 or index.n == 0:
        return share
    # Parts of the union are disjoint, so per-part overlaps add up without double counting.
    # Big parts (river buffers, eco belts) are measured by the tiles near each parcel.
    parts = computed_once("union", polys, union_parts)
    _, ci, overlap = overlap_areas(
        parts, index.geoms, index.areas, index.tree, threads=_threads(index, n_jobs), subset=rows
    )
    if rows is not None:
        share[~rows] = np.nan
    covered = np.bincount(ci, weights=overlap, minlength=index.n)
    areas = index.areas
    ok = areas > 0
    share[ok] = np.minimum(covered[ok] / areas[ok], 1.0)
    return share


#: Parcels below which a spatial rule function runs on one thread.
_THREAD_MIN_PARCELS = 50_000


def _threads(index: _ParcelIndex, n_jobs: int | None) -> int:
    return thread_count(index.n_jobs if n_jobs is None else n_jobs, index.n, _THREAD_MIN_PARCELS)


def _query_layer(
    index: _ParcelIndex, geoms: np.ndarray, threads: int, **query: Any
) -> tuple[np.ndarray, np.ndarray]:
    """``index.tree.query(geoms, **query)`` over slices of the layer on threads: (layer, parcel)."""
    if threads <= 1 or len(geoms) < 2:
        return index.tree.query(geoms, **query)
    tree = built(index.tree)

    def one(s: slice) -> np.ndarray:
        # the query prepares its geometries: private copies, never shared between threads
        li, pi = tree.query(private_copy(geoms[s]), **query)
        return np.stack([li + s.start, pi])

    parts = map_slices(len(geoms), one, threads=min(threads, len(geoms)))
    both = np.concatenate(parts, axis=1)
    return both[0], both[1]


def _intersects(index: _ParcelIndex, geoms: np.ndarray, n_jobs: int | None = None) -> np.ndarray:
    mask = np.zeros(index.n, dtype=bool)
    if len(geoms) == 0 or index.n == 0:
        return mask
    # STRtree.query prepares each query geometry (the layer's few features) itself.
    _, ci = _query_layer(index, geoms, _threads(index, n_jobs), predicate="intersects")
    mask[ci] = True
    return mask


def _distance_to(
    index: _ParcelIndex,
    geoms: np.ndarray,
    max_dist: float | None = None,
    rows: np.ndarray | None = None,
    n_jobs: int | None = None,
) -> np.ndarray:
    out = np.full(index.n, np.inf)
    missing = shapely.is_missing(index.geoms) | shapely.is_empty(index.geoms)
    if rows is not None:
        missing = missing | ~rows
    if len(geoms) == 0 or index.n == 0:
        out[missing] = np.nan
        return out
    threads = _threads(index, n_jobs)
    if max_dist is not None:
        # Only parcels within max_dist can compare below it: exact distances for those
        # (a reversed, prepared dwithin query), +inf for every other parcel.
        pi, ci = _query_layer(index, geoms, threads, predicate="dwithin", distance=float(max_dist))
        if rows is not None:
            keep = rows[ci]
            pi, ci = pi[keep], ci[keep]
        parts = map_slices(
            len(pi), lambda s: shapely.distance(index.geoms[ci[s]], geoms[pi[s]]), threads=threads
        )
        np.minimum.at(out, ci, np.concatenate(parts))
    else:
        tree = built(shapely.STRtree(shapely.get_parts(geoms)))
        ok = np.flatnonzero(~missing)

        def nearest(s: slice) -> np.ndarray:
            (qi, _), d = tree.query_nearest(
                index.geoms[ok[s]], return_distance=True, all_matches=False
            )
            return np.stack([ok[s][qi].astype(float), d])

        both = np.concatenate(map_slices(len(ok), nearest, threads=threads), axis=1)
        out[both[0].astype(np.int64)] = both[1]
    out[missing] = np.nan
    return out


# ------------------------------------------------------------- rule functions


@rule_function(
    "share_in",
    args=("layer",),
    result="number",
    summary="share 0–1 of the parcel's area inside the polygons of a layer",
)
def _rule_share_in(
    index: _ParcelIndex, geoms: np.ndarray, key: tuple[Any, ...], rows: np.ndarray | None
) -> np.ndarray:
    return _share_in(index, geoms, key[1], rows)


@rule_function(
    "intersects",
    args=("layer",),
    result="bool",
    summary="True where the parcel touches or overlaps a feature of a layer",
)
def _rule_intersects(
    index: _ParcelIndex, geoms: np.ndarray, key: tuple[Any, ...], rows: np.ndarray | None
) -> np.ndarray:
    return _intersects(index, geoms)


@rule_function(
    "distance_to",
    args=("layer",),
    result="number",
    summary="metres from the parcel's edge to the nearest feature of a layer (0 if they meet)",
    capped=True,
)
def _rule_distance_to(
    index: _ParcelIndex, geoms: np.ndarray, key: tuple[Any, ...], rows: np.ndarray | None
) -> np.ndarray:
    return _distance_to(index, geoms, key[2], rows)


# ------------------------------------------------------------- public functions


def share_in(
    parcels: gpd.GeoDataFrame | gpd.GeoSeries,
    layer: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    n_jobs: int | None = None,
) -> pd.Series:
    """
    Return the share (0–1) of each parcel's area that lies inside a polygon layer.

    Overlapping features of `layer` are merged first, so nothing is counted twice. Parcels
    wholly inside (``contains_properly``, against prepared geometries) get 1 without an
    overlay; only parcels straddling an edge are intersected exactly.

    Parameters
    ----------
    parcels
        Parcel polygons with a CRS.
    layer
        Polygons with a CRS (reprojected to the parcels' working CRS if it differs).
    n_jobs
        Threads (shapely releases the GIL); None reads `geo_renewal.settings.n_jobs`. Below
        50,000 parcels one thread is used. Results do not depend on it.

    Returns
    -------
    share
        Float Series aligned on `parcels.index`; null for parcels without geometry and 0
        for zero-area ones.

    Raises
    ------
    CRSError
        If either layer has no CRS.
    InputError
        If `layer` holds lines or points.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10)],
    ...                            crs="EPSG:4548")
    >>> zone = gpd.GeoSeries([box(5, 0, 25, 10)], crs="EPSG:4548")
    >>> share_in(parcels, zone).tolist()
    [0.5, 0.5]
    """
    index = _parcel_index(parcels)
    values = _share_in(index, _layer_geoms(layer, index, "layer"), "layer", n_jobs=n_jobs)
    return pd.Series(values, index=parcels.index, name="share_in")


def intersects(
    parcels: gpd.GeoDataFrame | gpd.GeoSeries,
    layer: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    n_jobs: int | None = None,
) -> pd.Series:
    """
    Tell which parcels intersect (overlap or touch) any feature of a layer.

    Parameters
    ----------
    parcels
        Parcel polygons with a CRS.
    layer
        Features of any geometry type with a CRS (reprojected if it differs).
    n_jobs
        Threads (shapely releases the GIL); None reads `geo_renewal.settings.n_jobs`. Below
        50,000 parcels one thread is used. Results do not depend on it.

    Returns
    -------
    hit
        Boolean Series aligned on `parcels.index`.

    Raises
    ------
    CRSError
        If either layer has no CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10)],
    ...                            crs="EPSG:4548")
    >>> intersects(parcels, gpd.GeoSeries([box(10, 0, 15, 5)], crs="EPSG:4548")).tolist()
    [True, False]
    """
    index = _parcel_index(parcels)
    values = _intersects(index, _layer_geoms(layer, index, "layer"), n_jobs)
    return pd.Series(values, index=parcels.index, name="intersects")


def distance_to(
    parcels: gpd.GeoDataFrame | gpd.GeoSeries,
    layer: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    max_dist: float | None = None,
    n_jobs: int | None = None,
) -> pd.Series:
    """
    Return the distance in metres from each parcel's edge to the nearest feature of a layer.

    Parcels that intersect a feature are at distance 0.

    Parameters
    ----------
    parcels
        Parcel polygons with a CRS.
    layer
        Features of any geometry type with a CRS (reprojected if it differs).
    max_dist
        If given, distances are exact up to `max_dist` metres and +inf beyond: enough for
        any comparison with a constant ≤ `max_dist`, and much faster on large layers
        (one reversed, prepared ``dwithin`` query). Rules such as
        ``distance_to("river") >= 30`` are evaluated this way automatically.
    n_jobs
        Threads (shapely releases the GIL); None reads `geo_renewal.settings.n_jobs`. Below
        50,000 parcels one thread is used. Results do not depend on it.

    Returns
    -------
    dist
        Float Series (metres) aligned on `parcels.index`; +inf when the layer is empty,
        null for parcels without geometry.

    Raises
    ------
    CRSError
        If either layer has no CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> parcels = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10)],
    ...                            crs="EPSG:4548")
    >>> river = gpd.GeoSeries([LineString([(0, 40), (30, 40)])], crs="EPSG:4548")
    >>> distance_to(parcels, river).tolist()
    [30.0, 30.0]
    >>> distance_to(parcels, river, max_dist=10).tolist()
    [inf, inf]
    """
    index = _parcel_index(parcels)
    values = _distance_to(index, _layer_geoms(layer, index, "layer"), max_dist, n_jobs=n_jobs)
    return pd.Series(values, index=parcels.index, name="distance_to")
