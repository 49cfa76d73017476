"""
Province-scale runs: parcels in partitions (dask-geopandas), and the cluster that runs them.

A district has tens of thousands of parcels and fits any laptop; a city's or a province's
inventory has millions. For those, the same functions take a partitioned
``dask_geopandas.GeoDataFrame`` instead of a GeoDataFrame:

- `geo_renewal.classify.classify_parcels` returns a *lazy* dask GeoDataFrame with the same
  columns and dtypes as the in-memory result (nothing is computed until it is written or
  ``.compute()``-d);
- `geo_renewal.stats.zone_stats` returns the (small) computed pandas table.

Both give the same values as the in-memory path on the same data (a test proves it).

How it works
------------
- **Partitions are spatially sorted.** `partition_layer` orders parcels along a Hilbert curve
  (midpoints of their bounding boxes) before cutting them into partitions, so each
  partition covers a compact area. Each partition's STRtree is then queried by the few
  constraint features or zones near it only, and a raster is read in a small window per
  partition: the work of a partition is proportional to its size.
- **Constraint layers and zones are broadcast**: they are read, reprojected and checked once
  on the client and shipped to every worker as one shared object (a delayed value), never
  once per partition.
- **One working CRS.** The working CRS is chosen once from the bounds of all partitions (as
  the in-memory path chooses it from all parcels) and imposed on every partition.
- **Statistics stay exact.** Each partition computes the additive parts of the table (area
  pieces, shares of households, persons, buildings and floor area per group and category);
  the client adds them and builds the table, checking conservation on the combined sums.
  Group keys (`by` values, categories) are collected first when the frame's dtypes do not
  say them, so every partition codes groups alike.

Not distributed (documented limits)
-----------------------------------
- `geo_renewal.classify.zone_labels` / `zones_from_parcels` join neighbouring parcels across
  the whole layer: compute the classified parcels (or a region of them) first. The dask
  path of classification does not need them.
- ``buildings=`` in `classify_parcels`: aggregate buildings to parcels first
  (`geo_renewal.classify.aggregate_buildings`), per region if they are many.
- Raster statistics give a pixel to one parcel only where parcels *overlap*; across
  partitions both overlapping parcels count it. Valid cadastral layers do not overlap.
- Layers are broadcast whole: fine for constraint layers and zone sets up to tens of
  thousands of features.
- Apportioned statistics may differ from the in-memory ones in the last digits (sums are
  added in another order; the projection's scale correction uses each partition's mean
  latitude, < 1e-9 relative at city scale).

Files: `geo_renewal.io.read_layer` opens a GeoParquet *dataset* (a folder of ``.parquet``
files) as a dask frame, and ``read_layer(path, partitions=N)`` splits any layer into N
Hilbert-sorted partitions; `geo_renewal.io.write_layer` writes a dask frame (or an
in-memory one with ``partitions=N``) as such a folder, one file per partition, written by
the workers themselves.

Running: without anything else dask uses threads in the current process. `dask_client`
starts a `distributed.LocalCluster` of worker processes (``--workers N`` on the command
line) or connects to a running scheduler (``--scheduler ADDRESS``).
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
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import shapely

from geo_renewal import settings
from geo_renewal._compat import import_optional
from geo_renewal._errors import CRSError, GeoRenewalError, InputError

if TYPE_CHECKING:
    import geopandas as gpd
    from pyproj import CRS

__all__ = [
    "ROWS_PER_PARTITION",
    "auto_partitions",
    "dask_client",
    "is_partitioned",
    "partition_layer",
]

logger = logging.getLogger(__name__)

#: Parcels per partition chosen by ``partitions="auto"`` (≈ 100 MB of parcels in memory).
ROWS_PER_PARTITION = 100_000
_HILBERT_LEVEL = 16
_MALLOC_TRIM = 32 * 2**20


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


# --------------------------------------------------------------------------- partitions


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


def _working_crs(crs: Any, bounds: np.ndarray) -> CRS | None:
    """Choose the working CRS the in-memory path would choose for parcels with these bounds."""
    import geopandas as gpd

    from geo_renewal.crs import working_crs

    if settings.working_crs is None and not np.all(np.isfinite(bounds)):
        return None
    return working_crs(gpd.GeoSeries([shapely.box(*bounds)], crs=crs))


# --------------------------------------------------------------------------- files


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
    part.to_parquet(path)
    return len(part)


def _write_dataset(ddf: Any, folder: Path) -> Path:
    """
    Write every partition as ``part.NNNNN.parquet`` into a new folder, then swap it in.

    The files are written by the workers into a hidden temporary folder next to `folder`;
    only when all are written is an existing dataset at `folder` moved aside and replaced
    (two renames) and removed. A failure leaves any earlier dataset intact.
    """
    dask, _, _ = _dask()
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
        parts = ddf.to_delayed()
        width = max(5, len(str(len(parts))))
        writes = [
            dask.delayed(_write_part)(part, str(tmp / f"part.{i:0{width}d}.parquet"))
            for i, part in enumerate(parts)
        ]
        rows = dask.compute(*writes)
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
    logger.info("wrote %d features in %d files to %s", sum(rows), len(rows), folder)
    return folder


def _only_parquet(folder: Path) -> bool:
    return all(p.suffix.lower() == ".parquet" for p in folder.iterdir())


# --------------------------------------------------------------------------- scheduler


@contextlib.contextmanager
def dask_client(
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    threads_per_worker: int = 1,
    memory_limit: str | float | None = "auto",
) -> Iterator[Any]:
    """
    Run dask computations in the block on a local cluster of processes or a given scheduler.

    With `workers`, a `distributed.LocalCluster` of that many worker processes is started
    (dashboard on a free port) and closed at the end of the block; with `scheduler`, a
    client connects to a running scheduler (``tcp://host:8786``) and disconnects at the
    end. With neither,
    nothing is started and dask uses threads in this process. The client is the default
    scheduler inside the block.

    Parameters
    ----------
    workers
        Number of worker processes of a local cluster (1 thread each by default).
    scheduler
        Address of a running ``dask scheduler``.
    threads_per_worker
        Threads per local worker (shapely releases the GIL; the classification's rule
        evaluation does not, so processes scale better).
    memory_limit
        Per local worker, as `distributed.LocalCluster` takes it (``"2GB"``, ``"auto"``:
        the machine's memory divided among the workers).

    Yields
    ------
    client
        The `distributed.Client`, or None when neither option is given.

    Raises
    ------
    InputError
        If both options are given, or `workers` is not a positive number.

    Examples
    --------
    >>> with dask_client() as client:
    ...     print(client)
    None
    """
    if workers is not None and scheduler is not None:
        msg = "give one of `workers` (start a local cluster) and `scheduler` (connect), not both."
        raise InputError(msg)
    if workers is None and scheduler is None:
        yield None
        return
    distributed = import_optional("distributed", purpose="a dask cluster")
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout="30s")
        except OSError as e:
            msg = f"cannot reach the dask scheduler at {scheduler!r} ({e}); start it with `dask scheduler`."
            raise InputError(msg) from e
        logger.info("connected to dask scheduler %s", scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        msg = f"`workers` must be a positive number of processes, got {workers!r}."
        raise InputError(msg)
    # distributed makes glibc return freed memory at every 64 KiB (MALLOC_TRIM_THRESHOLD_):
    # with millions of small GEOS allocations that made reading and classifying 2-3x slower
    # in the workers than in this process. Trim at 32 MiB instead (memory is still returned).
    trim = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": _MALLOC_TRIM}
    import dask

    with dask.config.set(trim):
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            dashboard_address=":0",  # a free port: clusters of several users never clash
            memory_limit=memory_limit,
        )
    client = distributed.Client(cluster)
    logger.info("started a local dask cluster of %d worker processes", workers)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


# --------------------------------------------------------------------------- classify


def _classify_dask(
    parcels: Any,
    rules: Any,
    *,
    layers: Mapping[str, Any] | None,
    rasters: Mapping[str, Any] | None,
    buildings: Any,
    verbose: bool,
) -> Any:
    """`classify_parcels` of a dask-geopandas frame: lazily, partition by partition."""
    import geopandas as gpd

    from geo_renewal.classify import _classify, _requirements
    from geo_renewal.crs import check_crs, to_working
    from geo_renewal.io import read_named_layer
    from geo_renewal.rules import load_rules
    from geo_renewal.spatial import _layer_geoms, _ParcelIndex

    dask, _, _ = _dask()
    if buildings is not None:
        msg = (
            "`buildings=` is not supported with partitioned parcels: aggregate the buildings "
            "to the parcels first (geo_renewal.aggregate_buildings, per region if they are "
            "many) and pass the parcels with those columns."
        )
        raise InputError(msg)
    check_crs(parcels, "parcels")
    rules = load_rules(rules)
    layers = dict(layers or {})
    rasters = {k: str(v) for k, v in (rasters or {}).items()}
    meta = parcels._meta
    frame = pd.DataFrame(meta.drop(columns=meta.geometry.name))
    _requirements(rules, frame, layers, rasters)  # every missing column/layer now, not later

    wcrs = _working_crs(parcels.crs, _total_bounds(parcels))
    prepared: dict[str, np.ndarray] = {}
    if wcrs is not None:
        extent = to_working(gpd.GeoSeries([_extent(parcels)], crs=parcels.crs), crs=wcrs)
        probe = _ParcelIndex(np.asarray(extent.array), wcrs)
        for name in rules.layers:
            prepared[name] = _layer_geoms(read_named_layer(layers[name], name), probe, name)
    names = dict.fromkeys(layers)  # the layers' data travels once, in `prepared`
    out_meta = _classify(meta, rules, layers=names, rasters=rasters, wcrs=wcrs, prepared=prepared)
    shared = dask.delayed(
        {"rules": rules, "names": names, "rasters": rasters, "wcrs": wcrs, "prepared": prepared},
        pure=True,
    )
    result = parcels.map_partitions(_classify_partition, shared, meta=out_meta)
    result.spatial_partitions = getattr(parcels, "spatial_partitions", None)
    return result


def _extent(ddf: Any) -> shapely.Geometry:
    return shapely.box(*_total_bounds(ddf))


def _classify_partition(part: gpd.GeoDataFrame, shared: Mapping[str, Any]) -> gpd.GeoDataFrame:
    from geo_renewal.classify import _classify

    return _classify(
        part,
        shared["rules"],
        layers=shared["names"],
        rasters=shared["rasters"],
        wcrs=shared["wcrs"],
        prepared=shared["prepared"],
    )


# --------------------------------------------------------------------------- statistics


def _zone_stats_dask(
    parcels: Any,
    *,
    by: str | None,
    zones: gpd.GeoDataFrame | None,
    zone_col: str | None,
    how: str,
    categories: bool,
    category_col: str,
    planned_floor_area: Any,
    policy: bool,
    overlaps: str,
    lang: str,
    threads: int,
) -> pd.DataFrame:
    """`zone_stats` of a dask-geopandas frame: per-partition sums, added on the client."""
    import warnings

    from geo_renewal import stats as st
    from geo_renewal.crs import check_same_crs

    dask, _, _ = _dask()
    meta = parcels._meta
    wcrs = _working_crs(parcels.crs, _total_bounds(parcels))
    spec: dict[str, Any] = {
        "wcrs": wcrs,
        "how": how,
        "threads": threads,
        "by": by,
        "category_col": category_col,
        "categories": categories,
        "planned_col": (
            planned_floor_area
            if isinstance(planned_floor_area, str) and planned_floor_area in meta.columns
            else None
        ),
    }
    zone_groups = None
    if zones is not None:
        check_same_crs(parcels, zones, ("parcels", "zones"))
        keys_s, index_name = st._zone_keys(zones, zone_col)
        groups, uniq = pd.factorize(keys_s, sort=False)
        zone_groups = groups
        keys = list(uniq)
        st._check_reserved(keys, "`zones` keys")
        spec["zgeoms"] = None if wcrs is None else st._zone_geoms(zones, wcrs, keys_s, overlaps)
        spec["zone_groups"] = groups.astype(np.int64)
        keys.append(st.OUTSIDE_ROW)
    else:
        st._assign_by(meta, by, category_col)  # the same errors for a bad `by` as in memory
        index_name = str(by)
    spec["cat_order"], by_keys = _group_keys(parcels, by, category_col)
    if by is not None:
        if by == category_col:
            keys = [*spec["cat_order"], st.MISSING_ROW]
        else:
            st._check_reserved(by_keys, f"`parcels[{by!r}]`")
            keys = [*by_keys, st.MISSING_ROW]
        spec["by_keys"] = spec["cat_order"] if by == category_col else by_keys
    spec["keys"], spec["index_name"] = keys, index_name

    # Only the columns the table reads: a GeoParquet dataset then reads nothing else.
    used = (by, category_col, "n_buildings", "building_count", "floor_area", "households")
    used += ("population", spec["planned_col"], "illegal", "danger_grade")
    geometry = meta.geometry.name
    columns = [c for c in meta.columns if c == geometry or c in used]
    shared = dask.delayed(spec, pure=True)
    parts = [dask.delayed(_stats_partition)(p, shared) for p in parcels[columns].to_delayed()]
    sums_list = dask.compute(*parts)
    total = sums_list[0]
    for s in sums_list[1:]:
        total = total + s
    seen: dict[str, list[Any]] = {}
    for col, count, rows in total.notes:
        entry = seen.setdefault(col, [0, []])
        entry[0] += count
        entry[1] += rows
    for col, (count, rows) in seen.items():
        msg = st._missing_message(col, count, rows[:5])
        warnings.warn(msg, UserWarning, stacklevel=4)
    planned_group = None
    if planned_floor_area is not None and spec["planned_col"] is None:
        planned_group = st._planned_group(planned_floor_area, zones, keys, zone_groups)
    return st._finish(
        total,
        keys,
        index_name,
        planned_group=planned_group,
        policy=policy,
        lang=lang,
        how=how if zones is not None else "by",
        wcrs=wcrs,
    )


def _group_keys(
    parcels: Any, by: str | None, category_col: str
) -> tuple[list[str] | None, list[Any] | None]:
    """
    Category order and `by` groups of all partitions, as the in-memory path orders them.

    Known categoricals give them from the dtype; other columns are collected in one pass
    over those columns only.
    """
    from geo_renewal.schema import CATEGORIES

    meta = parcels._meta
    want = [c for c in dict.fromkeys([category_col, by]) if c is not None and c in meta.columns]
    known = {c: _known_categories(parcels, c) for c in want}
    todo = [c for c in want if known[c] is None]
    found: dict[str, tuple[bool, list[Any]]] = {}
    if todo:
        seen = parcels[todo].map_partitions(_observed, todo, meta=(None, object)).compute()
        for c in todo:
            is_cat, values = False, {}
            for item in seen:
                cat, vals = item[c]
                is_cat = is_cat or cat
                values.update(dict.fromkeys(vals))
            found[c] = (is_cat, list(values))
    cat_order = None
    if category_col in meta.columns:
        if known[category_col] is not None:
            cat_order = [str(c) for c in known[category_col]]
        else:
            is_cat, values = found[category_col]
            if is_cat:
                cat_order = [str(v) for v in values]
            else:
                observed = {str(v) for v in values}
                cat_order = list(CATEGORIES) + sorted(observed - set(CATEGORIES))
    by_keys = None
    if by is not None and by != category_col and by in meta.columns:
        if known[by] is not None:
            by_keys = list(known[by])
        else:
            is_cat, values = found[by]
            by_keys = values if is_cat else sorted(values)
    return cat_order, by_keys


def _known_categories(parcels: Any, col: str) -> list[Any] | None:
    dtype = parcels._meta[col].dtype
    if not isinstance(dtype, pd.CategoricalDtype):
        return None
    from dask.dataframe.utils import has_known_categories

    return list(dtype.categories) if has_known_categories(parcels[col]) else None


def _observed(part: pd.DataFrame, cols: list[str]) -> pd.Series:
    """Per column: (is categorical, its categories or distinct non-null values)."""
    out = {}
    for c in cols:
        s = part[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            out[c] = (True, list(s.cat.categories))
        else:
            out[c] = (False, pd.unique(s.dropna()).tolist())
    return pd.Series([out], dtype=object)


def _stats_partition(part: gpd.GeoDataFrame, spec: Mapping[str, Any]) -> Any:
    """Compute the additive parts of `zone_stats` for one partition."""
    from geo_renewal import stats as st
    from geo_renewal.crs import area, to_working

    n = len(part)
    wcrs = spec["wcrs"]
    if wcrs is not None and n:
        projected = to_working(part.geometry, crs=wcrs)
        pgeoms = np.asarray(projected.array, dtype=object)
        planar = np.nan_to_num(shapely.area(pgeoms), nan=0.0)
        parea = np.nan_to_num(area(projected).to_numpy(dtype=float), nan=0.0)
    else:
        planar = parea = np.zeros(n)
    keys = spec["keys"]
    if "zgeoms" in spec:
        if wcrs is not None and n:
            # A private copy: preparing geometries shared between threads is not safe.
            zgeoms = shapely.from_wkb(shapely.to_wkb(spec["zgeoms"]))
            p, g, w = st._assign_zones(
                pgeoms,
                planar,
                zgeoms,
                spec["zone_groups"],
                len(keys) - 1,
                spec["how"],
                spec["threads"],
            )
        else:
            p, g, w = np.arange(n), np.full(n, len(keys) - 1, dtype=np.int64), np.ones(n)
        assign = st._Assignment(p, g, w, keys, spec["index_name"])
    else:
        assign = st._assign_by(part, spec["by"], spec["category_col"], spec["by_keys"])
        if len(assign.keys) != len(keys):  # pragma: no cover - a bug
            msg = "internal error: partition groups differ from the collected groups."
            raise GeoRenewalError(msg)
    return st._sums(
        part,
        parea,
        assign,
        categories=spec["categories"],
        category_col=spec["category_col"],
        planned_col=spec["planned_col"],
        cat_order=spec["cat_order"],
        notes=[],
    )


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
