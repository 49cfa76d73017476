"""
Partitioned layers: GeoParquet datasets on disk and Hilbert-sorted partitions in memory.

A partitioned layer is a ``dask_geopandas.GeoDataFrame``; on disk it is a folder of
GeoParquet files, one per partition. `geo_renewal.io.read_layer` and `write_layer` use this
module for such folders; `partition_layer` cuts any layer into spatially compact partitions.
See the user guide, "Province-scale runs".
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import shapely

from geo_renewal._checks import check_threads
from geo_renewal._compat import import_optional
from geo_renewal._errors import CRSError, InputError

if TYPE_CHECKING:
    import geopandas as gpd
    from pyproj import CRS

__all__ = ["ROWS_PER_PARTITION", "auto_partitions", "is_partitioned", "partition_layer"]

logger = logging.getLogger(__name__)


#: Parcels per partition chosen by ``partitions="auto"`` (≈ 100 MB of parcels in memory).
ROWS_PER_PARTITION = 100_000


_HILBERT_LEVEL = 16


def _dask() -> tuple[Any, Any, Any]:
    """Import dask, dask.dataframe and dask_geopandas, or say how to install them."""
    purpose = "a partitioned layer"
    dask_geopandas = import_optional("dask_geopandas", purpose=purpose)
    dask = import_optional("dask", purpose=purpose)
    dd = import_optional("dask.dataframe", purpose=purpose)
    return dask, dd, dask_geopandas


def is_partitioned(obj: Any) -> bool:
    """
    Tell whether `obj` is a partitioned (dask) layer rather than an in-memory one.

    Parameters
    ----------
    obj
        Anything.

    Returns
    -------
    partitioned
        True for dask(-geopandas) collections; dask is not imported to find out.

    Examples
    --------
    >>> import geopandas as gpd
    >>> is_partitioned(gpd.GeoDataFrame())
    False
    """
    return type(obj).__module__.split(".")[0] in ("dask_geopandas", "dask")


def auto_partitions(n_rows: int, *, rows_per_partition: int = ROWS_PER_PARTITION) -> int:
    """
    Return a number of partitions for `n_rows` parcels.

    About `rows_per_partition` parcels each, and at least 4 partitions (2 workers × 2, so
    that a worker always has a next partition to start) unless there are fewer rows.

    Parameters
    ----------
    n_rows
        Number of parcels.
    rows_per_partition
        Target size of a partition.

    Returns
    -------
    npartitions
        A positive number of partitions.

    Examples
    --------
    >>> auto_partitions(1_000), auto_partitions(1_000_000), auto_partitions(2)
    (4, 10, 2)
    """
    k = max(4, math.ceil(n_rows / max(1, rows_per_partition)))
    return max(1, min(k, n_rows))


def _hilbert(geoms: gpd.GeoSeries, bounds: np.ndarray) -> np.ndarray:
    """Hilbert distance of the bounding-box midpoints; missing or empty geometries last."""
    out = np.full(len(geoms), np.iinfo(np.int64).max, dtype=np.int64)
    arr = np.asarray(geoms.array)
    ok = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    if ok.any() and np.all(np.isfinite(bounds)):
        out[ok] = np.asarray(
            geoms[ok].hilbert_distance(total_bounds=bounds, level=_HILBERT_LEVEL), dtype=np.int64
        )
    return out


def _bounds_box(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> shapely.Geometry:
    b = gdf.total_bounds
    return shapely.box(*b) if np.all(np.isfinite(b)) else shapely.Polygon()


def partition_layer(gdf: gpd.GeoDataFrame | Any, npartitions: int | str = "auto") -> Any:
    """
    Cut a layer into spatially sorted partitions (a dask-geopandas GeoDataFrame).

    Features are ordered along a Hilbert curve through the midpoints of their bounding
    boxes (missing or empty geometries last) and cut into `npartitions` partitions of
    equal size, so that each partition covers a compact area. The index (labels and
    dtype) is kept, so results computed per partition join back on it; the row order
    changes. The partitions' bounding boxes are recorded (``spatial_partitions``).

    Parameters
    ----------
    gdf
        An in-memory GeoDataFrame, or a dask-geopandas one (then shuffled on the Hilbert
        distance: one pass over the data to find the cut points, one to move rows).
    npartitions
        Number of partitions, or ``"auto"`` (`auto_partitions`).

    Returns
    -------
    partitioned
        A dask-geopandas GeoDataFrame with the same columns, dtypes, CRS and index labels.

    Raises
    ------
    InputError
        If `gdf` is not a GeoDataFrame or `npartitions` is not a positive number.

    See Also
    --------
    geo_renewal.io.read_layer : ``partitions=`` reads a file straight into partitions.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(
    ...     {"parcel_id": ["a", "b", "c", "d"]},
    ...     geometry=[box(0, 0, 1, 1), box(100, 100, 101, 101), box(1, 0, 2, 1),
    ...               box(100, 101, 101, 102)], crs="EPSG:4548")
    >>> ddf = partition_layer(parcels, 2)
    >>> ddf.npartitions
    2
    >>> [sorted(p["parcel_id"]) for p in (ddf.partitions[i].compute() for i in range(2))]
    [['a', 'c'], ['b', 'd']]
    """
    import geopandas as gpd

    if npartitions != "auto" and (
        isinstance(npartitions, bool) or not isinstance(npartitions, int) or npartitions < 1
    ):
        msg = f"`npartitions` must be a positive number or 'auto', got {npartitions!r}."
        raise InputError(msg)
    if is_partitioned(gdf):
        return _shuffle_hilbert(gdf, npartitions)
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"`gdf` must be a GeoDataFrame, got {type(gdf).__name__}; read it with read_layer()."
        raise InputError(msg)
    dask, dd, _ = _dask()
    n = len(gdf)
    k = auto_partitions(n) if npartitions == "auto" else int(npartitions)
    k = max(1, min(k, n))
    order = np.argsort(_hilbert(gdf.geometry, gdf.total_bounds), kind="stable")
    cuts = np.linspace(0, n, k + 1).astype(int)
    parts = [gdf.iloc[order[a:b]] for a, b in itertools.pairwise(cuts)]
    with dask.config.set({"dataframe.convert-string": False}):  # keep pandas' own dtypes
        ddf = dd.from_map(_identity, parts, meta=gdf.iloc[:0], label="partition-layer")
    ddf.spatial_partitions = gpd.GeoSeries([_bounds_box(p) for p in parts], crs=gdf.crs)
    logger.info("cut %d features into %d Hilbert-sorted partitions", n, k)
    return ddf


def _identity(part: Any) -> Any:
    return part


def _shuffle_hilbert(ddf: Any, npartitions: int | str) -> Any:
    """Hilbert-shuffle a dask frame into `npartitions`, keeping its index labels."""
    bounds = _total_bounds(ddf)
    if npartitions == "auto":
        npartitions = auto_partitions(int(ddf.map_partitions(len).compute().sum()))
    meta = ddf._meta
    index_name = meta.index.name

    def tag(part: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return part.assign(
            __gr_hilbert=_hilbert(part.geometry, bounds), __gr_index=part.index.to_numpy()
        )

    def untag(part: pd.DataFrame) -> gpd.GeoDataFrame:
        out = part.set_index("__gr_index")
        out.index = out.index.astype(meta.index.dtype).rename(index_name)
        return out

    tagged = ddf.map_partitions(tag, meta=tag(meta))
    shuffled = tagged.set_index("__gr_hilbert", npartitions=npartitions, sorted=False)
    result = shuffled.map_partitions(untag, meta=meta)
    result.calculate_spatial_partitions()
    return result


def _total_bounds(ddf: Any) -> np.ndarray:
    """Bounds of all partitions: from ``spatial_partitions`` when known, else computed."""
    sp = getattr(ddf, "spatial_partitions", None)
    if sp is not None:
        return np.asarray(sp.total_bounds, dtype=float)
    return np.asarray(ddf.total_bounds.compute(), dtype=float)


def _is_dataset(path: Path) -> bool:
    """Tell whether `path` is a folder of GeoParquet files (and no Shapefiles)."""
    if not path.is_dir():
        return False
    names = [p.suffix.lower() for p in path.iterdir()]
    return ".parquet" in names and ".shp" not in names


def _dataset_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".parquet")


def _read_part(path: str, columns: list[str] | None = None, *, geometry: str) -> Any:
    """Read one file of a GeoParquet dataset; `columns` lets dask prune columns it never uses."""
    import geopandas as gpd

    if columns is not None and geometry not in columns:
        return pd.read_parquet(path, columns=list(columns))
    return gpd.read_parquet(path, columns=None if columns is None else list(columns))


def _read_dataset(folder: Path, *, name: str) -> Any:
    """Open a folder of GeoParquet files as a dask-geopandas frame, one partition a file."""
    import pyarrow.parquet as pq

    import geopandas as gpd

    dask, dd, _ = _dask()
    files = _dataset_files(folder)
    try:
        meta = gpd.read_parquet(files[0]).iloc[:0]
    except (ValueError, OSError) as e:
        msg = f"cannot read `{name}` as a GeoParquet dataset ({files[0].name}): {e}"
        raise InputError(msg) from e
    boxes = []
    for f in files:
        geo = json.loads(pq.read_schema(f).metadata.get(b"geo", b"{}") or b"{}")
        bbox = geo.get("columns", {}).get(meta.geometry.name, {}).get("bbox")
        boxes.append(shapely.box(*bbox) if bbox and len(bbox) == 4 else None)
    with dask.config.set({"dataframe.convert-string": False}):  # as geopandas reads them
        ddf = dd.from_map(
            _read_part,
            [str(f) for f in files],
            meta=meta,
            label="read-geoparquet",
            geometry=meta.geometry.name,
        )
    if all(b is not None for b in boxes):
        ddf.spatial_partitions = gpd.GeoSeries(boxes, crs=meta.crs)
    logger.info("opened %s: %d GeoParquet files as partitions", name, len(files))
    return ddf


def _write_part(part: gpd.GeoDataFrame, path: str) -> int:
    """Write one partition on the worker's thread with `write_file` (numpy WKB encoding)."""
    write_file(part, path, n_jobs=1)  # dask's workers already use the cores
    return len(part)


def _write_dataset(ddf: Any, folder: Path) -> Path:
    """
    Write every partition as ``part.NNNNN.parquet`` into a new folder, then swap it in.

    The files are written by the workers into a hidden temporary folder next to `folder`;
    only when all are written is an existing dataset at `folder` moved aside and replaced
    (two renames) and removed. A failure leaves any earlier dataset intact.
    """
    dask, _, _ = _dask()
    with _staged_dataset(folder) as tmp:
        rows = dask.compute(*_part_writes(ddf.to_delayed(), tmp))
    logger.info("wrote %d features in %d files to %s", sum(rows), len(rows), folder)
    return folder


@contextlib.contextmanager
def _staged_dataset(folder: Path) -> Iterator[Path]:
    """
    Yield a hidden temporary folder for a dataset's files; swap it in at `folder` on success.

    An existing folder is only replaced if it holds nothing but ``.parquet`` files, and only
    once the ``with`` block has finished (an earlier dataset is moved aside, the new one
    renamed into place, the old one removed); on an exception the temporary folder is
    removed and any earlier dataset stays as it was.
    """
    if folder.exists() and not (folder.is_dir() and _only_parquet(folder)):
        msg = (
            f"`{folder}` exists and is not a GeoParquet dataset folder; refusing to replace "
            f"it. Choose a new folder for the partitioned layer."
        )
        raise InputError(msg)
    folder.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    tmp = folder.parent / f".{folder.name}.tmp-{token}"
    tmp.mkdir()
    try:
        yield tmp
        old = None
        if folder.exists():
            old = folder.parent / f".{folder.name}.old-{token}"
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _part_writes(parts: list[Any], tmp: Path) -> list[Any]:
    """Return one delayed `_write_part` per delayed partition, into ``tmp/part.NNNNN.parquet``."""
    dask, _, _ = _dask()
    width = max(5, len(str(len(parts))))
    return [
        dask.delayed(_write_part)(part, str(tmp / f"part.{i:0{width}d}.parquet"))
        for i, part in enumerate(parts)
    ]


def _only_parquet(folder: Path) -> bool:
    return all(p.suffix.lower() == ".parquet" for p in folder.iterdir())


def _crs_of_dataset(ddf: Any, declared: CRS | None, shift: str | None, name: str) -> Any:
    """Apply `read_layer`'s `crs=` rules to a dataset (no GCJ-02/BD-09 conversion)."""
    from pyproj import CRS as _CRS

    if shift is not None:
        msg = (
            f"`{name}` is a partitioned dataset; convert {shift} coordinates before writing "
            "it (read the source with crs=..., then write_layer)."
        )
        raise CRSError(msg)
    stored = None if ddf.crs is None else _CRS.from_user_input(ddf.crs)
    if declared is None:
        if stored is None:
            msg = (
                f"`{name}` has no CRS; declare the one its coordinates are in, e.g. "
                f"`read_layer(path, crs='EPSG:4548')`."
            )
            raise CRSError(msg)
        return ddf
    if stored is None:
        out = ddf.set_crs(declared)
        sp = getattr(ddf, "spatial_partitions", None)
        out.spatial_partitions = None if sp is None else sp.set_crs(declared)
        return out
    if stored == declared or stored.equals(declared, ignore_axis_order=True):
        return ddf
    msg = (
        f"`{name}` declares its CRS as {stored.to_string()} ({stored.name}), but "
        f"crs={declared.to_string()!r} was passed; `crs=` declares, it does not reproject."
    )
    raise CRSError(msg)


# ---------------------------------------------------------------------------------------
# one GeoParquet file, on both cores
# ---------------------------------------------------------------------------------------

#: Rows from which one GeoParquet file is read and written on two threads (below, the
#: thread start and the slicing cost more than they save).
PIPELINE_MIN_ROWS = 50_000

#: Rows per slice: decoded (read) or encoded (write) while the other thread moves the last.
_SLICE_ROWS = 131_072


def read_file(path: str | os.PathLike[str], *, n_jobs: int | None = None) -> gpd.GeoDataFrame:
    """
    Read one GeoParquet file: the frame ``geopandas.read_parquet(path)`` returns, faster.

    shapely's WKB decoding holds the GIL, so it cannot be split over threads; instead,
    while the main thread decodes one slice of geometries, a second thread reads the next
    slice and the attribute columns from the file (pyarrow releases the GIL). Files of
    fewer than `PIPELINE_MIN_ROWS` rows, one thread (`n_jobs` or `settings.n_jobs`), and
    files this does not cover (several geometry columns, GeoArrow encodings, a bbox
    covering column, no ``geo`` metadata in the schema) are read by geopandas itself.

    Parameters
    ----------
    path
        A GeoParquet file.
    n_jobs
        Threads; None reads `settings.n_jobs`.

    Returns
    -------
    gdf
        Equal to ``geopandas.read_parquet(path)``: columns, dtypes, index, CRS, ``attrs``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "p.parquet"
    >>> gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)], crs=4548).to_parquet(out)
    >>> read_file(out, n_jobs=2)["a"].tolist()
    [1]
    """
    import pyarrow.parquet as pq

    import geopandas as gpd

    from geo_renewal._geos import thread_count

    pf = pq.ParquetFile(path, pre_buffer=False)
    geo = _plain_wkb(pf)
    threads = thread_count(n_jobs, pf.metadata.num_rows, PIPELINE_MIN_ROWS)
    if geo is None or threads < 2:
        return gpd.read_parquet(path)
    return _read_pipelined(path, pf, geo)


def _plain_wkb(pf: Any) -> dict[str, Any] | None:
    """Return the file's ``geo`` metadata if it has one WKB geometry column and no covering."""
    import pyarrow as pa

    from geopandas.io.arrow import _validate_and_decode_metadata

    schema = pf.schema_arrow
    if not schema.metadata or b"geo" not in schema.metadata:
        return None
    try:
        geo = _validate_and_decode_metadata(schema.metadata)
    except ValueError:
        return None
    columns = geo.get("columns", {})
    name = geo.get("primary_column")
    if len(columns) != 1 or name not in columns or name not in schema.names:
        return None
    meta = columns[name]
    if meta.get("encoding") != "WKB" or "covering" in meta:
        return None
    if schema.names.count(name) != 1 or schema.field(name).type not in (
        pa.binary(),
        pa.large_binary(),
    ):
        return None
    return dict(geo)


def _read_pipelined(path: Any, pf: Any, geo: dict[str, Any]) -> gpd.GeoDataFrame:
    """Decode slices of WKB on this thread while another reads the next one and the rest."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.parquet as pq

    import geopandas as gpd
    from geopandas.io.arrow import _arrow_to_geopandas, _restore_pandas_metadata

    name = geo["primary_column"]
    schema = pf.schema_arrow
    others = [c for c in schema.names if c != name]
    batches = pf.iter_batches(batch_size=_SLICE_ROWS, columns=[name], use_pandas_metadata=False)
    parts: list[np.ndarray] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        rest = pool.submit(lambda: pq.ParquetFile(path).read(columns=others))
        pending = pool.submit(next, batches, None)
        while (batch := pending.result()) is not None:
            pending = pool.submit(next, batches, None)
            parts.append(shapely.from_wkb(np.asarray(batch.column(0))))
        table = rest.result()
    n = table.num_rows
    metadata = schema.metadata
    table = _restore_pandas_metadata(table, metadata)
    table = table.add_column(
        schema.get_field_index(name), schema.field(name), pa.nulls(n, pa.binary())
    )
    attrs = metadata.get(b"PANDAS_ATTRS")
    gdf = _arrow_to_geopandas(table, geo, None, attrs)
    geoms = np.concatenate(parts) if parts else np.empty(0, dtype=object)
    gdf[name] = gpd.array.from_shapely(geoms, crs=gdf.crs)
    return gdf


def write_file(
    gdf: gpd.GeoDataFrame, path: str | os.PathLike[str], *, n_jobs: int | None = None
) -> None:
    """
    Write one GeoParquet file as ``gdf.to_parquet(path)`` does (same schema and metadata).

    The geometries are encoded to WKB by numpy (`geo_renewal._wkb.wkb_array`: the bytes
    shapely writes, no Python object per row) slice by slice, and while the main thread
    encodes one slice a second thread compresses and writes the last one (pyarrow releases
    the GIL), one row group per slice; on one thread (`n_jobs` or `settings.n_jobs`) the
    slices are encoded and written in turn. Below `PIPELINE_MIN_ROWS` rows, and for frames
    with several geometry columns, geopandas writes the file itself.

    Parameters
    ----------
    gdf
        The layer.
    path
        The file to write (not atomic here: `geo_renewal.io.write_layer` is).
    n_jobs
        Threads; None reads `settings.n_jobs`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "p.parquet"
    >>> write_file(gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)], crs=4548), out)
    >>> gpd.read_parquet(out)["a"].tolist()
    [1]
    """
    threads = check_threads(n_jobs)
    if len(gdf) < PIPELINE_MIN_ROWS or int((gdf.dtypes == "geometry").sum()) != 1:
        gdf.to_parquet(path)
        return
    _write_pipelined(gdf, path, threads)


def _write_pipelined(gdf: gpd.GeoDataFrame, path: str | os.PathLike[str], threads: int) -> None:
    """Encode slices of WKB here while another thread writes the last one (a row group)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from geopandas.io.arrow import _create_metadata, _encode_metadata, _validate_dataframe

    from geo_renewal._geos import background
    from geo_renewal._wkb import wkb_array

    _validate_dataframe(gdf)  # string column names, as to_parquet demands
    name = gdf.geometry.name
    geoms = np.asarray(gdf.geometry.array)
    with background(threads) as pool:
        geo = pool.submit(_create_metadata, gdf)  # bounds and types: GEOS without the GIL
        stub = pd.DataFrame(gdf.copy(deep=False))
        stub[name] = None
        table = pa.Table.from_pandas(stub, preserve_index=None)
        field = _wkb_field(gdf)
        metadata = dict(table.schema.metadata or {})
        metadata[b"geo"] = _encode_metadata(geo.result())
        if gdf.attrs:
            metadata[b"PANDAS_ATTRS"] = json.dumps(gdf.attrs).encode()
        i = table.schema.get_field_index(name)
        schema = table.schema.set(i, field).with_metadata(metadata)
        with pq.ParquetWriter(path, schema, compression="snappy") as writer:
            pending = None
            for a in range(0, max(len(gdf), 1), _SLICE_ROWS):
                b = min(a + _SLICE_ROWS, len(gdf))
                part = table.slice(a, b - a).set_column(i, field, wkb_array(geoms[a:b]))
                if pending is not None:
                    pending.result()
                pending = pool.submit(
                    writer.write_table,
                    part.replace_schema_metadata(metadata),
                    row_group_size=_SLICE_ROWS,
                )
            if pending is not None:
                pending.result()


def _wkb_field(gdf: gpd.GeoDataFrame) -> Any:
    """Return the geometry field geopandas writes: binary, geoarrow.wkb extension metadata."""
    import pyarrow as pa

    crs = gdf.geometry.crs
    meta = {"ARROW:extension:name": "geoarrow.wkb"}
    meta["ARROW:extension:metadata"] = json.dumps({"crs": crs.to_json_dict()}) if crs else "{}"
    return pa.field(gdf.geometry.name, type=pa.binary(), nullable=True, metadata=meta)
