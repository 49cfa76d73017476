"""
Zonal statistics of a GeoTIFF over parcels (rasterio), vectorised.

The parcels are burnt into an integer grid of parcel numbers aligned with the raster window
that covers them, and per-parcel statistics are `numpy.bincount` sums over that grid: one
pass over the pixels whatever the number of parcels, no per-parcel masking.

The details are in the user guide, docs/guide/classification.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

import shapely
from pyproj import CRS

from geo_renewal._compat import import_optional
from geo_renewal._errors import CRSError, InputError
from geo_renewal._geos import map_slices, thread_count
from geo_renewal._rulefuncs import rule_function
from geo_renewal.crs import check_crs

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["zonal_stats"]

logger = logging.getLogger(__name__)

_CHUNK = 100_000

#: Parcels from which the burning runs on threads (`settings.n_jobs`).
_BURN_MIN_PARCELS = 50_000
_POLYGONAL = [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON]


def _rasterio() -> Any:
    rasterio = import_optional("rasterio", purpose="raster statistics")
    import_optional("rasterio.features", purpose="raster statistics")
    import_optional("rasterio.windows", purpose="raster statistics")
    return rasterio


def zonal_stats(
    parcels: gpd.GeoDataFrame | gpd.GeoSeries,
    path: str | Path,
    *,
    above: Iterable[float] = (),
    band: int = 1,
    all_touched: bool | Literal["auto"] = "auto",
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """
    Compute the mean, maximum and shares above thresholds of a raster for every parcel.

    Parameters
    ----------
    parcels
        Parcel polygons with a CRS.
    path
        GeoTIFF (any raster GDAL reads) with a CRS.
    above
        Thresholds: for each value ``v`` a column ``share_above_{v:g}`` holds the share
        (0–1) of the parcel's pixels whose value is greater than ``v``.
    band
        Band number (1-based).
    all_touched
        Which pixels belong to a parcel: ``"auto"``, ``False`` or ``True``; see the
        user guide, docs/guide/classification.md.
    n_jobs
        Threads for burning many parcels into the grid; None reads `settings.n_jobs`.
        The statistics do not depend on it.

    Returns
    -------
    stats
        DataFrame aligned on `parcels.index` with ``n_pixels`` (all pixels assigned to the
        parcel), ``n_valid`` (of them, not nodata), ``mean``, ``max`` and the
        ``share_above_*`` columns; nulls where the parcel has no (valid) pixel.

    Raises
    ------
    InputError
        If the file cannot be opened or `band` does not exist.
    CRSError
        If the raster or the parcels have no CRS.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np, rasterio, geopandas as gpd
    >>> from rasterio.transform import from_origin
    >>> from shapely import box
    >>> tif = pathlib.Path(tempfile.mkdtemp()) / "depth.tif"
    >>> depth = np.array([[0.0, 1.0], [2.0, 3.0]], dtype="float32")
    >>> with rasterio.open(tif, "w", driver="GTiff", width=2, height=2, count=1,
    ...                    dtype="float32", crs="EPSG:4548",
    ...                    transform=from_origin(500000, 4000020, 10, 10)) as dst:
    ...     dst.write(depth, 1)
    >>> parcels = gpd.GeoSeries([box(500000, 4000000, 500020, 4000020)], crs="EPSG:4548")
    >>> zonal_stats(parcels, tif, above=[1.5])[["mean", "max", "share_above_1.5"]].iloc[0].tolist()
    [1.5, 3.0, 0.5]
    """
    if all_touched not in (True, False, "auto"):
        msg = f"all_touched must be True, False or 'auto', got {all_touched!r}."
        raise InputError(msg)
    check_crs(parcels, "parcels")
    series = parcels.geometry if hasattr(parcels, "geometry") else parcels
    thresholds = [float(v) for v in above]
    rasterio = _rasterio()
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as e:
        msg = f"cannot open raster {str(path)!r}: {e}; pass a GeoTIFF path."
        raise InputError(msg) from e
    with src:
        if src.crs is None:
            msg = (
                f"raster {str(path)!r} has no CRS; assign one (e.g. gdal_edit.py -a_srs "
                "EPSG:4548) before using it."
            )
            raise CRSError(msg)
        if not 1 <= band <= src.count:
            msg = f"raster {str(path)!r} has bands 1..{src.count}, got band={band}."
            raise InputError(msg)
        raster_crs = CRS.from_user_input(src.crs.to_wkt())
        if CRS.from_user_input(series.crs) != raster_crs:
            logger.info("reprojecting %d parcels to the CRS of raster %s", len(series), path)
            series = series.to_crs(raster_crs)
        geoms = np.asarray(series.array)
        threads = thread_count(n_jobs, len(geoms), _BURN_MIN_PARCELS)
        table = _zonal(src, geoms, thresholds, band, all_touched, threads)
    table.index = parcels.index
    return table


def _zonal(
    src: Any,
    geoms: np.ndarray,
    thresholds: list[float],
    band: int,
    all_touched: bool | str,
    threads: int = 1,
) -> pd.DataFrame:
    rasterio = _rasterio()
    n = len(geoms)
    columns = ["n_pixels", "n_valid", "mean", "max", *(f"share_above_{v:g}" for v in thresholds)]
    out = pd.DataFrame(np.nan, index=pd.RangeIndex(n), columns=columns)
    out[["n_pixels", "n_valid"]] = 0.0
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return out
    bounds = shapely.total_bounds(geoms[ok])
    full = rasterio.windows.Window(0, 0, src.width, src.height)
    try:
        win = rasterio.windows.from_bounds(*bounds, transform=src.transform)
        col0, row0 = np.floor(win.col_off), np.floor(win.row_off)
        col1, row1 = np.ceil(win.col_off + win.width), np.ceil(win.row_off + win.height)
        win = rasterio.windows.Window(int(col0), int(row0), int(col1 - col0), int(row1 - row0))
        win = win.intersection(full)
    except rasterio.errors.WindowError:
        logger.info("no parcel overlaps raster %s", src.name)
        return out
    data = src.read(band, window=win, masked=True)
    values = np.ma.getdata(data).astype(float, copy=False)
    valid = ~np.ma.getmaskarray(data) & np.isfinite(values)
    transform = src.window_transform(win)

    ids = _burn(geoms, ok, transform, data.shape, all_touched, threads)
    _accumulate(out, ids, values, valid, thresholds, n)
    if all_touched == "auto":
        empty = ok & (out["n_pixels"].to_numpy() == 0)
        if empty.any():
            ids2 = _burn(geoms, empty, transform, data.shape, True)
            part = pd.DataFrame(np.nan, index=pd.RangeIndex(n), columns=columns)
            part[["n_pixels", "n_valid"]] = 0.0
            _accumulate(part, ids2, values, valid, thresholds, n)
            rows = empty & (part["n_pixels"].to_numpy() > 0)
            out.loc[rows] = part.loc[rows]
    return out


def _accumulate(
    out: pd.DataFrame,
    ids: np.ndarray,
    values: np.ndarray,
    valid: np.ndarray,
    thresholds: list[float],
    n: int,
) -> None:
    sel = ids > 0
    pid = ids[sel] - 1
    vals = values[sel]
    good = valid[sel]
    n_pix = np.bincount(pid, minlength=n).astype(float)
    gid, gval = pid[good], vals[good]
    n_valid = np.bincount(gid, minlength=n).astype(float)
    total = np.bincount(gid, weights=gval, minlength=n)
    vmax = np.full(n, -np.inf)
    np.maximum.at(vmax, gid, gval)
    has = n_valid > 0
    out["n_pixels"] = n_pix
    out["n_valid"] = n_valid
    out["mean"] = np.where(has, total / np.where(has, n_valid, 1.0), np.nan)
    out["max"] = np.where(has, vmax, np.nan)
    for v in thresholds:
        hits = np.bincount(gid[gval > v], minlength=n)
        out[f"share_above_{v:g}"] = np.where(
            n_pix > 0, hits / np.where(n_pix > 0, n_pix, 1), np.nan
        )


def _burn(
    geoms: np.ndarray,
    which: np.ndarray,
    transform: Any,
    shape: tuple[int, int],
    all_touched: bool | str,
    threads: int = 1,
) -> np.ndarray:
    """
    Grid of parcel numbers (position + 1; 0 = no parcel) for the parcels in `which`.

    Where parcels overlap, the pixel gets the highest parcel number. With `threads`, the
    pixel spans of slices of parcels are computed on threads (numpy releases the GIL; each
    slice has its own arrays) and written into the grid here, slice after slice, so the
    grid is the same whatever the number of threads. No rasterio or GDAL object is used on
    the threads (a dataset handle is not thread-safe; rasterio's advice is one per
    thread): the window is read once, here, and `rasterize` (``all_touched``) runs here.
    """
    idx = np.flatnonzero(which)
    north_up = transform.b == 0 and transform.d == 0 and transform.a > 0 and transform.e < 0
    if all_touched is True or not north_up:
        rasterio = _rasterio()
        if len(idx) == 0:
            return np.zeros(shape, dtype=np.int32)
        return rasterio.features.rasterize(
            zip(geoms[idx], idx + 1, strict=True),
            out_shape=shape,
            transform=transform,
            fill=0,
            all_touched=all_touched is True,
            dtype="int32",
        )
    grid = np.zeros(shape, dtype=np.int32)
    flat = grid.ravel()
    if threads > 1:

        def spans(s: slice) -> tuple[np.ndarray, np.ndarray]:
            return _spans(geoms[idx[s]], idx[s] + 1, transform, shape)

        for pixels, who in map_slices(len(idx), spans, threads=threads):
            flat[pixels] = who
        return grid
    for start in range(0, len(idx), _CHUNK):
        chunk = idx[start : start + _CHUNK]
        pixels, who = _spans(geoms[chunk], chunk + 1, transform, shape)
        flat[pixels] = who
    return grid


_NO_SPANS = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32))


def _spans(
    geoms: np.ndarray, values: np.ndarray, transform: Any, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """
    Return the pixels (flat positions) whose centres lie inside `geoms`, and their value.

    Ordered by value, so that writing them into a grid in this order leaves the highest
    value where geometries overlap.
    """
    height, width = shape
    polygonal = np.isin(shapely.get_type_id(geoms), _POLYGONAL)
    geoms, values = geoms[polygonal], values[polygonal]
    if len(geoms) == 0:
        return _NO_SPANS
    # Simple polygons (one ring, the usual parcel): coordinates straight from GEOS with
    # their geometry number. Multipolygons and polygons with holes: split into rings first.
    simple = (shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON) & (
        shapely.get_num_interior_rings(geoms) == 0
    )
    coords, coord_of = shapely.get_coordinates(geoms[simple], return_index=True)
    ring_owner = values[simple]
    if not simple.all():
        parts, part_of = shapely.get_parts(geoms[~simple], return_index=True)
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        extra, extra_of = shapely.get_coordinates(rings, return_index=True)
        coords = np.concatenate([coords, extra])
        coord_of = np.concatenate([coord_of, extra_of + len(ring_owner)])
        ring_owner = np.concatenate([ring_owner, values[~simple][part_of[ring_of]]])
    # Pixel space: column c = (x - x0) / a, row r = (y - y0) / e; centres at k + 0.5.
    c = (coords[:, 0] - transform.c) / transform.a
    r = (coords[:, 1] - transform.f) / transform.e
    same = coord_of[:-1] == coord_of[1:]
    c1, c2, r1, r2 = c[:-1][same], c[1:][same], r[:-1][same], r[1:][same]
    owner = ring_owner[coord_of[:-1][same]]
    # Rows whose centre lies in [min(r1, r2), max(r1, r2)): half-open, so a vertex on a
    # centre line is counted once and every row crosses a closed ring an even number of times.
    lo, hi = np.minimum(r1, r2), np.maximum(r1, r2)
    row0 = np.maximum(np.ceil(lo - 0.5), 0).astype(np.int64)
    row1 = np.minimum(np.ceil(hi - 0.5) - 1, height - 1).astype(np.int64)
    k = np.maximum(row1 - row0 + 1, 0)
    # Edges crossing rows above/below the grid are dropped by the clipping; crossings of a
    # kept row still come in pairs because clipping drops whole rows.
    e = np.repeat(np.arange(len(k)), k)
    if len(e) == 0:
        return _NO_SPANS
    offsets = np.arange(len(e)) - np.repeat(np.cumsum(k) - k, k)
    row = row0[e] + offsets
    t = (row + 0.5 - r1[e]) / (r2[e] - r1[e])
    col = c1[e] + t * (c2[e] - c1[e])
    who = owner[e]
    # Sort crossings by (parcel, row); a group of two (convex rows, the usual case) needs no
    # further order, larger groups are sorted by column too.
    key = who.astype(np.int64) * height + row
    order = np.argsort(key, kind="stable")
    key, col = key[order], col[order]
    new_group = np.ones(len(key), dtype=bool)
    new_group[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(new_group)
    sizes = np.diff(np.append(starts, len(key)))
    big = np.repeat(sizes > 2, sizes)
    if big.any():
        sub = np.flatnonzero(big)
        sub = sub[np.lexsort((col[sub], key[sub]))]
        key[big], col[big] = key[sub], col[sub]
    pair_first = np.repeat(starts, sizes)
    rank = np.arange(len(key)) - pair_first
    # Even–odd rule: within each (parcel, row) the 1st and 2nd crossing bound a span, the
    # 3rd and 4th the next one, and so on.
    first = np.flatnonzero((rank % 2 == 0)[:-1] & ~new_group[1:])
    left = np.minimum(col[first], col[first + 1])
    right = np.maximum(col[first], col[first + 1])
    rows, who_ = key[first] % height, key[first] // height
    start = np.maximum(np.ceil(left - 0.5), 0).astype(np.int64)
    stop = np.minimum(np.ceil(right - 0.5) - 1, width - 1).astype(np.int64)
    length = np.maximum(stop - start + 1, 0)
    s = np.repeat(np.arange(len(length)), length)
    if len(s) == 0:
        return _NO_SPANS
    cols = start[s] + (np.arange(len(s)) - np.repeat(np.cumsum(length) - length, length))
    return rows[s] * width + cols, who_[s]


# ------------------------------------------------------------- rule functions


@rule_function(
    "raster_mean",
    args=("raster",),
    result="number",
    summary="mean of the raster's valid pixels in the parcel",
    batched=True,
)
@rule_function(
    "raster_max",
    args=("raster",),
    result="number",
    summary="maximum of the raster's valid pixels in the parcel",
    batched=True,
)
@rule_function(
    "raster_share_above",
    args=("raster", "number"),
    result="number",
    summary="share 0–1 of the parcel's pixels whose value is greater than the number",
    batched=True,
)
def _rule_raster_values(
    geometry: gpd.GeoSeries, path: Any, keys: list[tuple[Any, ...]]
) -> dict[tuple[Any, ...], np.ndarray]:
    """Every raster value the rules ask of one raster, from one pass of `zonal_stats`."""
    above = sorted({k[2] for k in keys if k[0] == "raster_share_above"})
    table = zonal_stats(geometry, path, above=above)
    column = {"raster_mean": "mean", "raster_max": "max"}
    return {
        key: table[column.get(key[0]) or f"share_above_{key[2]:g}"].to_numpy(dtype=float)
        for key in keys
    }
