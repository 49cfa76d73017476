"""
WKB of many polygons at once: the bytes `shapely.to_wkb(..., flavor="iso")` writes, in numpy.

`shapely.to_wkb` makes one Python ``bytes`` object per geometry while holding the GIL (2
threads run no faster than 1: measured, issue 21), and pyarrow then copies those objects
into one buffer. A parcel layer is almost only simple polygons (one ring, 2D), whose WKB is
a 13-byte header and the coordinates, so it is written here straight into one Arrow buffer
with numpy: the same bytes, about 3× less CPU, no Python object per row. Every other row
(holes, multipolygons, points, 3D, empty) is encoded by shapely and copied in; missing
geometries are nulls.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

import shapely

#: Byte order 1 (little-endian), type 3 (polygon), 1 ring; the ring's point count follows.
_HEAD = np.array([1, 3, 0, 0, 0, 1, 0, 0, 0], dtype=np.uint8)

#: Other rows of a slice above which the whole slice is encoded by shapely.
_MAX_SPLICED = 20_000

#: Bytes an Arrow binary array (int32 offsets) holds.
_MAX_BYTES = 2**31 - 1


def wkb_array(geoms: np.ndarray) -> Any:
    """
    Return the ISO WKB of `geoms` as a ``pyarrow.BinaryArray`` (nulls for missing ones).

    The bytes equal ``shapely.to_wkb(geoms, flavor="iso")`` row for row (what geopandas
    writes into GeoParquet).

    Examples
    --------
    >>> import shapely
    >>> g = np.array([shapely.box(0, 0, 1, 1), None, shapely.Point(1, 2)], dtype=object)
    >>> arr = wkb_array(g)
    >>> arr.null_count, arr[0].as_py() == shapely.to_wkb(g[0], flavor="iso")
    (1, True)
    """
    import pyarrow as pa

    geoms = np.asarray(geoms, dtype=object)
    m = len(geoms)
    missing = shapely.is_missing(geoms)
    simple = _simple_polygons(geoms, missing)
    if sys.byteorder != "little" or m - int(simple.sum()) - int(missing.sum()) > _MAX_SPLICED:
        return _by_shapely(geoms)
    npts = np.zeros(m, dtype=np.int64)
    coords, idx = shapely.get_coordinates(geoms[simple], return_index=True)
    rows = np.flatnonzero(simple)
    npts[rows] = np.bincount(idx, minlength=len(rows))
    other = np.flatnonzero(~simple & ~missing)
    blobs = shapely.to_wkb(geoms[other], flavor="iso") if len(other) else np.array([])
    lengths = np.where(simple, 13 + 16 * npts, 0)
    lengths[other] = [len(b) for b in blobs]
    offsets = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] > _MAX_BYTES:
        return _by_shapely(geoms)
    buf = np.empty(int(offsets[-1]), dtype=np.uint8)
    _write_simple(buf, offsets[rows], npts[rows], coords)
    for k, b in zip(other, blobs, strict=True):
        buf[offsets[k] : offsets[k + 1]] = np.frombuffer(b, dtype=np.uint8)
    validity = None
    if missing.any():
        validity = pa.array(~missing).buffers()[1]
    return pa.BinaryArray.from_buffers(
        pa.binary(),
        m,
        [validity, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(buf)],
        null_count=int(missing.sum()),
    )


def _simple_polygons(geoms: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Rows that are 2D polygons of one non-empty ring."""
    simple = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
    simple &= ~missing
    simple[simple] = ~shapely.has_z(geoms[simple]) & ~shapely.is_empty(geoms[simple])
    simple[simple] = shapely.get_num_interior_rings(geoms[simple]) == 0
    return simple


def _write_simple(
    buf: np.ndarray, starts: np.ndarray, npts: np.ndarray, coords: np.ndarray
) -> None:
    """Write the headers and coordinates of simple polygons at byte positions `starts`."""
    m = len(starts)
    if m == 0:
        return
    head = np.empty((m, 13), dtype=np.uint8)
    head[:, :9] = _HEAD
    head[:, 9:] = npts.astype("<u4").view(np.uint8).reshape(m, 4)
    points = np.ascontiguousarray(coords, dtype="<f8").view(np.uint8).reshape(-1, 16)
    size = 13 + 16 * int(npts[0])
    if (npts == npts[0]).all() and (np.diff(starts) == size).all():  # one block of rows
        block = buf[starts[0] : starts[0] + m * size].reshape(m, size)
        block[:, :13] = head
        block[:, 13:] = points.reshape(m, -1)
        return
    total = len(buf)
    as_strided(buf, shape=(total - 12, 13), strides=(1, 1), writeable=True)[starts] = head
    first = np.zeros(m, dtype=np.int64)
    np.cumsum(npts[:-1], out=first[1:])
    owner = np.repeat(np.arange(m), npts)
    pos = starts[owner] + 13 + 16 * (np.arange(len(points)) - first[owner])
    as_strided(buf, shape=(total - 15, 16), strides=(1, 1), writeable=True)[pos] = points


def _by_shapely(geoms: np.ndarray) -> Any:
    import pyarrow as pa

    return pa.array(shapely.to_wkb(geoms, flavor="iso"), pa.binary())
