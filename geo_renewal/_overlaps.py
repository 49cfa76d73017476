"""
The overlap search of `validate_layer`: pairs of polygons whose interiors overlap, and by how much.

Works on shapely arrays in a metric CRS, with an STRtree and, for big layers, threads (shapely
releases the GIL). `geo_renewal.validate` turns the pairs into findings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import shapely

from geo_renewal._geos import built, map_slices

if TYPE_CHECKING:
    from collections.abc import Callable

_SHRINK = 0.001  # metres: overlap candidates are found with polygons shrunk this much
_THREAD_MIN = 20_000  # features above which the overlap search uses threads


def _overlapping_pairs(
    w: np.ndarray, *, tolerance: float, threads: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """
    Return ``(a, b, overlap_m2, share_of_smaller)`` of the pairs overlapping by > `tolerance`.

    `a` < `b` are positions in `w` (polygons in metres); each pair appears once, in
    ascending order of (a, b); the share is 1 where the smaller polygon has no area.
    """
    area_all = shapely.area(w)
    a, b = _candidates(w, threads=threads)

    def overlap(sl: slice) -> np.ndarray:
        return shapely.area(shapely.intersection(w[a[sl]], w[b[sl]]))

    ov = _threaded(a.size, overlap, threads=threads) if a.size else np.zeros(0)
    big = ov > tolerance
    a, b, ov = a[big], b[big], ov[big]
    smaller = np.minimum(area_all[a], area_all[b])
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(smaller > 0, ov / smaller, 1.0)
    return a, b, ov, share


def _candidates(w: np.ndarray, *, threads: int) -> tuple[np.ndarray, np.ndarray]:
    """
    Pairs of positions (a < b) of polygons that may overlap.

    A copy of each polygon shrunk towards its bounding-box centre by at most `_SHRINK`
    metres still intersects a polygon it overlaps, but no longer one it only touches. The
    prepared `intersects` query is ~20x faster than `overlaps` / `contains` (which must node
    the shared edges); exact overlap areas are computed on the few candidates only.
    """
    tree = built(shapely.STRtree(w))  # built before threads share it (`_geos`)

    def query(sl: slice) -> np.ndarray:
        a, b = tree.query(_shrink(w[sl], _SHRINK), predicate="intersects")
        return np.stack([a + (sl.start or 0), b], axis=1)

    pairs = _threaded(w.size, query, threads=threads)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pairs = np.unique(np.sort(pairs, axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def _threaded(n: int, func: Callable[[slice], np.ndarray], *, threads: int) -> np.ndarray:
    """Run ``func(slice)`` over `n` items in order (`_geos.map_slices`), on threads when large."""
    return np.concatenate(map_slices(n, func, threads=threads if n >= _THREAD_MIN else 1))


def _shrink(geoms: np.ndarray, dist: float) -> np.ndarray:
    """Scale each geometry about its bounding-box centre so no vertex moves more than `dist`."""
    bounds = shapely.bounds(geoms)
    centre = (bounds[:, :2] + bounds[:, 2:]) / 2.0
    radius = np.hypot(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        eps = np.where(radius > 0, np.minimum(dist / radius, 0.5), 0.0)
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    new = coords + (centre[idx] - coords) * eps[idx, None]
    return shapely.set_coordinates(geoms.copy(), new)
