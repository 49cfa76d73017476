"""
Threads for GEOS work: how many (`settings.n_jobs`, `n_jobs=`), and the one way to use them.

shapely releases the GIL, so a thread pool runs GEOS calls on both cores. One rule makes it
safe: **a prepared geometry is never shared between threads.** GEOS builds the indexes of a
prepared geometry lazily, on the first predicate that needs them, and two threads building
them at once corrupt memory (issue 21: a threaded `zone_stats` died by SIGSEGV or SIGABRT
"malloc(): unaligned tcache chunk detected" in 6 of 40 runs; warming the indexes up in the
main thread first still crashed 3 of 10, because which index a predicate builds depends on
the predicate and the operands). Every task therefore gets its own copy, prepared inside the
task (`private_prepared`); unprepared geometries may be read by several threads at once
(0 crashes in 25 runs). `STRtree.query(..., predicate=...)` prepares its query geometries
itself, so only fresh, unprepared query geometries (`private_copy`) may be given to it from a
task; and an STRtree builds itself lazily on its first query, so a tree shared by threads is
`built` first.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

import shapely

from geo_renewal._checks import check_threads

if TYPE_CHECKING:
    from collections.abc import Callable


def thread_count(n_jobs: int | None, n_items: int, min_items: int) -> int:
    """
    Return the threads to use for `n_items` items: 1 below `min_items`, else the setting.

    Parameters
    ----------
    n_jobs
        Threads asked for by the caller; None reads `settings.n_jobs` (None there: the
        machine's cores, at most 4).
    n_items
        How many items (pairs, parcels) the work has.
    min_items
        Items below which threads do not pay (starting them costs more than they save).

    Returns
    -------
    threads
        A positive number.

    Examples
    --------
    >>> thread_count(2, 100, 1_000), thread_count(2, 5_000, 1_000)
    (1, 2)
    """
    threads = check_threads(n_jobs)
    return 1 if n_items < min_items else threads


class _InTurn:
    """A pool of no threads: `submit` runs the call at once (one-thread runs)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        done: Future[Any] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as e:  # re-raised by result(), as a pool's future does
            done.set_exception(e)
        return done

    def __enter__(self) -> _InTurn:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def background(threads: int) -> Any:
    """
    Return a context-managed pool of one background thread, or one that runs calls at once.

    For pipelines that overlap one step with the next (encode while writing): with
    ``threads > 1`` `submit` runs on a second thread, else in turn on this one; either way it
    returns a future whose ``result()`` re-raises the call's exception.

    Examples
    --------
    >>> with background(1) as pool:
    ...     pool.submit(sum, [1, 2]).result()
    3
    """
    return ThreadPoolExecutor(max_workers=1) if threads > 1 else _InTurn()


def map_slices(n: int, func: Callable[[slice], Any], *, threads: int) -> list[Any]:
    """
    Run ``func(slice)`` over `n` items in order: one slice, or ``4 × threads`` on threads.

    The results are the same whatever `threads` is (each item is computed on its own), as
    long as `func` follows the module's rule: no prepared geometry shared between calls.

    Examples
    --------
    >>> [s.stop - s.start for s in map_slices(10, lambda s: s, threads=2)]
    [1, 1, 1, 2, 1, 1, 1, 2]
    """
    if threads <= 1 or n == 0:
        return [func(slice(0, n))]
    bounds = np.linspace(0, n, threads * 4 + 1).astype(int)
    slices = [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(func, slices))


def private_copy(geoms: np.ndarray) -> np.ndarray:
    """
    Return an unprepared copy of `geoms`, safe to prepare (or query a tree with) in one task.

    Examples
    --------
    >>> from shapely import box
    >>> g = np.array([box(0, 0, 1, 1)])
    >>> private_copy(g)[0] == g[0], private_copy(g)[0] is g[0]
    (True, False)
    """
    return shapely.from_wkb(shapely.to_wkb(geoms))


def built(tree: shapely.STRtree) -> shapely.STRtree:
    """
    Return `tree` after making GEOS build it (it builds lazily, on the first query).

    Call it before threads query the same tree: two first queries at once would build it
    twice over the same memory.

    Examples
    --------
    >>> from shapely import box
    >>> tree = built(shapely.STRtree([box(0, 0, 1, 1)]))
    >>> tree.query(box(0, 0, 2, 2)).tolist()
    [0]
    """
    tree.query(shapely.points(0.0, 0.0))
    return tree


def private_prepared(geoms: np.ndarray) -> np.ndarray:
    """
    Return a private, prepared copy of `geoms` (call it inside the task that uses it).

    Examples
    --------
    >>> from shapely import box
    >>> g = np.array([box(0, 0, 1, 1)])
    >>> own = private_prepared(g)
    >>> bool(shapely.is_prepared(own[0])), bool(shapely.is_prepared(g[0])), own[0] is g[0]
    (True, False, False)
    """
    own = private_copy(geoms)
    shapely.prepare(own)
    return own


#: Vertices above which a polygon is cut into tiles before parcels are measured against it.
_TILE_MIN_VERTICES = 64

#: Average vertices per tile a complex polygon is cut to (64 measured best of 4…256).
_TILE_VERTICES = 64


def tile_polygons(polys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """
    Cut complex polygons into square tiles; return the tiles and the position of each owner.

    A polygon of more than 64 vertices is clipped to a grid over its bounding box with
    about 32 of its vertices per cell; simpler polygons are their own single tile. The tiles
    of one polygon do not overlap and together are the polygon, so per-tile areas add up to
    the polygon's. A clipped piece that comes out invalid (``clip_by_rect`` is fast but may
    leave a collapsed edge) is recomputed by an exact intersection with the cell.

    Examples
    --------
    >>> import shapely
    >>> circle = shapely.Point(0, 0).buffer(100, quad_segs=64)
    >>> tiles, owner = tile_polygons(np.array([circle, shapely.box(0, 0, 1, 1)]))
    >>> len(tiles) > 2, int(owner[-1])
    (True, 1)
    >>> bool(np.isclose(shapely.area(tiles[owner == 0]).sum(), circle.area, rtol=1e-12))
    True
    """
    out: list[Any] = []
    owner: list[int] = []
    counts = shapely.get_num_coordinates(polys)
    bounds = shapely.bounds(polys)
    for k, (poly, nv, (x0, y0, x1, y1)) in enumerate(zip(polys, counts, bounds, strict=True)):
        if nv <= _TILE_MIN_VERTICES or not (x1 > x0 and y1 > y0):
            out.append(poly)
            owner.append(k)
            continue
        cells = max(1, int(np.sqrt(nv / _TILE_VERTICES)))
        xs, ys = np.linspace(x0, x1, cells + 1), np.linspace(y0, y1, cells + 1)
        for a, b in itertools.pairwise(xs):
            for c, d in itertools.pairwise(ys):
                piece = shapely.clip_by_rect(poly, a, c, b, d)
                if not shapely.is_valid(piece):
                    piece = shapely.intersection(poly, shapely.box(a, c, b, d))
                for part in shapely.get_parts(piece):
                    if shapely.get_type_id(part) == shapely.GeometryType.POLYGON and part.area > 0:
                        out.append(part)
                        owner.append(k)
    return np.array(out, dtype=object), np.array(owner, dtype=np.int64)


def overlap_areas(
    polys: np.ndarray,
    geoms: np.ndarray,
    geom_areas: np.ndarray,
    tree: shapely.STRtree,
    *,
    threads: int,
    subset: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Return ``(poly, geom, area)``: the area of each geometry inside each polygon it meets.

    `tree` is the STRtree of `geoms` (the many parcels), `geom_areas` their planar areas.
    Big polygons cost what their part near each parcel costs: they are cut into tiles
    (`tile_polygons`); a parcel inside a tile or inside its (prepared) polygon counts whole,
    without an overlay, and only a parcel straddling the polygon's border is intersected,
    with the few tiles it meets. Pairs are every (polygon, geometry) whose bounding boxes
    meet, in ascending order of (polygon, geometry); disjoint pairs have area 0. With
    `subset` (a boolean mask over `geoms`) only the geometries it marks are measured.

    Examples
    --------
    >>> import shapely
    >>> parcels = np.array([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)])
    >>> zone = np.array([shapely.box(5, -5, 100, 50)])
    >>> overlap_areas(zone, parcels, shapely.area(parcels), shapely.STRtree(parcels), threads=1)
    (array([0, 0]), array([0, 1]), array([ 50., 100.]))
    """
    tiles, owner = computed_once("tiles", polys, tile_polygons)
    ti, gi = built(tree).query(tiles)
    if subset is not None:
        keep = subset[gi]
        ti, gi = ti[keep], gi[keep]
    order = np.lexsort((gi, owner[ti]))
    ti, gi = ti[order], gi[order]
    pair = owner[ti] * len(geoms) + gi  # (polygon, geometry), sorted
    first = np.ones(len(pair), dtype=bool)
    first[1:] = pair[1:] != pair[:-1]
    start = np.flatnonzero(first)
    group = np.cumsum(first) - 1

    tb = shapely.bounds(tiles)
    rect = (shapely.get_num_coordinates(tiles) == 5) & (
        shapely.area(tiles) == (tb[:, 2] - tb[:, 0]) * (tb[:, 3] - tb[:, 1])
    )

    def in_tile(s: slice) -> np.ndarray:
        # inside an axis-aligned rectangle: the bounding box strictly inside it, no GEOS call
        t, g = ti[s], gi[s]
        gb, b = shapely.bounds(geoms[g]), tb[t]
        out = (gb[:, 0] > b[:, 0]) & (gb[:, 1] > b[:, 1]) & (gb[:, 2] < b[:, 2])
        out &= gb[:, 3] < b[:, 3]
        other = ~rect[t]
        own = private_prepared(tiles)
        out[other] = shapely.contains_properly(own[t[other]], geoms[g[other]])
        return out

    whole = np.zeros(len(start), dtype=bool)
    hits = np.concatenate(map_slices(len(ti), in_tile, threads=_pays(threads, len(ti))))
    whole[group[hits]] = True
    rest = np.flatnonzero(~whole)
    rest_p, rest_g = owner[ti[start[rest]]], gi[start[rest]]

    def in_poly(s: slice) -> np.ndarray:
        own = private_prepared(polys)
        return shapely.contains_properly(own[rest_p[s]], geoms[rest_g[s]])

    parts = map_slices(len(rest), in_poly, threads=_pays(threads, len(rest)))
    whole[rest[np.concatenate(parts)]] = True
    area = np.where(whole, geom_areas[gi[start]], 0.0)
    cross = np.flatnonzero(~whole[group])  # (tile, geometry) pairs of straddlers

    def meets(s: slice) -> np.ndarray:
        own = private_prepared(tiles)
        return shapely.intersects(own[ti[cross[s]]], geoms[gi[cross[s]]])

    cross = cross[
        np.concatenate(map_slices(len(cross), meets, threads=_pays(threads, len(cross))))
    ]
    cross, derived = _complements(cross, group, start, owner[ti], gi, polys, geoms, threads)

    def piece(s: slice) -> np.ndarray:
        t, g = tiles[ti[cross[s]]], geoms[gi[cross[s]]]
        return shapely.area(shapely.intersection(t, g))

    pieces = np.concatenate(map_slices(len(cross), piece, threads=_pays(threads, len(cross))))
    area += np.bincount(group[cross], weights=pieces, minlength=len(start))
    if len(derived):  # the other side of a two-polygon straddler: the rest of it
        first_of, second_of = derived[:, 0], derived[:, 1]
        area[second_of] = np.maximum(geom_areas[gi[start[second_of]]] - area[first_of], 0.0)
    return owner[ti[start]], gi[start], area


def _complements(
    cross: np.ndarray,
    group: np.ndarray,
    start: np.ndarray,
    owner: np.ndarray,
    gi: np.ndarray,
    polys: np.ndarray,
    geoms: np.ndarray,
    threads: int,
) -> tuple[np.ndarray, np.ndarray]:
    """
    Straddlers of exactly two polygons, inside their union: intersect with one side only.

    The polygons do not overlap (zones, the parts of a union), so such a geometry's piece
    in the second polygon is its area minus its piece in the first. Returns the (tile,
    geometry) pairs still to intersect and the ``(first group, second group)`` pairs.
    """
    if len(cross) == 0:
        return cross, np.zeros((0, 2), dtype=np.int64)
    grp = np.unique(group[cross])  # (polygon, geometry) groups that straddle, sorted
    g_of = gi[start[grp]]
    order = np.argsort(g_of, kind="stable")
    g_sorted = g_of[order]
    first = np.ones(len(g_sorted), dtype=bool)
    first[1:] = g_sorted[1:] != g_sorted[:-1]
    counts = np.diff(np.append(np.flatnonzero(first), len(g_sorted)))
    two = np.flatnonzero(first)[counts == 2]
    if len(two) == 0:
        return cross, np.zeros((0, 2), dtype=np.int64)
    a, b = grp[order[two]], grp[order[two + 1]]  # the geometry's two groups
    cand = gi[start[a]]
    union = computed_once("union_all", polys, _union_of)

    def inside_union(s: slice) -> np.ndarray:
        own = private_prepared(union)[0]
        return shapely.contains_properly(own, geoms[cand[s]])

    ok = np.concatenate(map_slices(len(cand), inside_union, threads=_pays(threads, len(cand))))
    a, b = a[ok], b[ok]
    skip = np.zeros(group.max() + 1, dtype=bool)
    skip[b] = True
    return cross[~skip[group[cross]]], np.stack([a, b], axis=1)


#: Pairs below which a step of `overlap_areas` runs on one thread.
_PAIRS_PER_THREAD = 20_000


def _pays(threads: int, n: int) -> int:
    return threads if n >= _PAIRS_PER_THREAD else 1


# --------------------------------------------------------------------------- derived once

#: Derived geometries kept per process (`computed_once`): enough for a run's layers and zones.
_DERIVED_MAX = 16
_derived: dict[tuple[str, bytes], Any] = {}
_derived_lock = threading.Lock()


def computed_once(kind: str, polys: np.ndarray, make: Callable[[np.ndarray], Any]) -> Any:
    """
    Return ``make(polys)``, computed once per process for equal `polys` and `kind`.

    The union of a layer and the tiles of big polygons (`union_parts`, `polygon_tiles`)
    cost as much as measuring a partition of 100,000 parcels against them; a dask worker
    classifies many partitions with the same layers and zones, and scenarios classify the
    same parcels again. The key is the content (a digest of the WKB), so a result is the
    one ``make`` gives for these coordinates, whoever asks. Results are never prepared and
    their arrays are read-only: several threads may read them (the module's rule); at most
    16 are kept, the oldest dropped first.

    Examples
    --------
    >>> from shapely import box
    >>> polys = np.array([box(0, 0, 1, 1), box(1, 0, 2, 1)])
    >>> a = computed_once("union", polys, union_parts)
    >>> b = computed_once("union", np.array([box(0, 0, 1, 1), box(1, 0, 2, 1)]), union_parts)
    >>> a is b, len(a)
    (True, 1)
    """
    digest = hashlib.blake2b(kind.encode(), digest_size=20)
    digest.update(len(polys).to_bytes(8, "little"))
    for blob in shapely.to_wkb(polys, hex=False, include_srid=False):
        digest.update(len(blob).to_bytes(8, "little"))
        digest.update(blob)
    key = (kind, digest.digest())
    with _derived_lock:
        if key in _derived:
            return _derived[key]
    value = make(polys)
    for arr in value if isinstance(value, tuple) else (value,):
        if isinstance(arr, np.ndarray):
            arr.flags.writeable = False
    with _derived_lock:
        while len(_derived) >= _DERIVED_MAX:
            del _derived[next(iter(_derived))]
        return _derived.setdefault(key, value)


def union_parts(polys: np.ndarray) -> np.ndarray:
    """
    Return the polygons of the union of `polys` (disjoint, so per-part areas add up).

    Examples
    --------
    >>> from shapely import box
    >>> [p.area for p in union_parts(np.array([box(0, 0, 2, 1), box(1, 0, 3, 1)]))]
    [3.0]
    """
    return np.asarray(shapely.get_parts(shapely.union_all(polys)), dtype=object)


def _union_of(polys: np.ndarray) -> np.ndarray:
    return np.array([shapely.union_all(polys)], dtype=object)
