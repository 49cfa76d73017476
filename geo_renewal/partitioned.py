"""
Province-scale runs: classification and statistics partition by partition on dask.

`geo_renewal.classify.classify_parcels` and `geo_renewal.stats.zone_stats` hand a
partitioned layer (`geo_renewal.geoparquet`) to this module: the same kernels
(`geo_renewal._classify_kernel`, `geo_renewal._stats_kernel`) run on every partition, with one
working CRS and the layers broadcast once. `dask_client` starts or connects the cluster.
How it works and its limits: the user guide, "Province-scale runs".
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import warnings
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import shapely

from geo_renewal import settings
from geo_renewal._classify_kernel import classify_frame
from geo_renewal._compat import import_optional
from geo_renewal._errors import GeoRenewalError, InputError
from geo_renewal._geos import private_copy
from geo_renewal._stats_kernel import (
    _assign_by,
    _assign_zones,
    _Assignment,
    _check_reserved,
    _finish,
    _missing_message,
    _planned_group,
    _project,
    _sums,
    _zone_setup,
)
from geo_renewal.crs import to_working, working_crs
from geo_renewal.geoparquet import _dask, _total_bounds
from geo_renewal.schema import CATEGORIES, MISSING_ROW
from geo_renewal.spatial import _layer_geoms, _ParcelIndex

if TYPE_CHECKING:
    import geopandas as gpd
    from pyproj import CRS

    from geo_renewal.rules import RuleSet

__all__ = ["classify_partitioned", "dask_client", "zone_stats_partitioned"]

logger = logging.getLogger(__name__)

_MALLOC_TRIM = 32 * 2**20
#: Threads of the GEOS work inside one partition's task: dask runs one task per worker
#: thread, so the cores are used across partitions (more threads inside a task only
#: competed with the other worker for the same cores).
_TASK_THREADS = 1
#: Columns `zone_stats` reads (besides `by`, the category and planned columns).
_STATS_COLUMNS: tuple[str, ...] = ("n_buildings", "building_count", "floor_area", "households")
_STATS_COLUMNS += ("population", "illegal", "danger_grade")
#: Set by `write_with_stats` around its `zone_stats` call: the partitions (delayed) the sums
#: are computed from and the writes computed with them, in the same `dask.compute`.
_ONE_PASS: contextvars.ContextVar[tuple[list[Any], list[Any]] | None] = contextvars.ContextVar(
    "geo_renewal_one_pass", default=None
)


# --------------------------------------------------------------------------- cluster


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
    dask, _, _ = _dask()
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


def _working_crs(crs: Any, bounds: np.ndarray) -> CRS | None:
    """Choose the working CRS the in-memory path would choose for parcels with these bounds."""
    import geopandas as gpd

    if settings.working_crs is None and not np.all(np.isfinite(bounds)):
        return None
    return working_crs(gpd.GeoSeries([shapely.box(*bounds)], crs=crs))


# --------------------------------------------------------------------------- classify


def classify_partitioned(
    parcels: Any,
    rules: RuleSet,
    *,
    layers: Mapping[str, gpd.GeoDataFrame | gpd.GeoSeries],
    rasters: Mapping[str, Any],
) -> Any:
    """
    Classify a partitioned layer lazily, partition by partition.

    Parameters
    ----------
    parcels
        A dask-geopandas GeoDataFrame with a CRS.
    rules
        A loaded rule set.
    layers
        The constraint layers the rules use, read (GeoDataFrames).
    rasters
        Raster paths every worker can open.

    Returns
    -------
    classified
        A lazy dask-geopandas GeoDataFrame with the columns and dtypes of the in-memory
        result.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> from geo_renewal.geoparquet import partition_layer
    >>> from geo_renewal.rules import parse_rules
    >>> parcels = gpd.GeoDataFrame({"floors": [2, 9]},
    ...     geometry=[box(0, 0, 50, 50), box(60, 0, 110, 50)], crs="EPSG:4548")
    >>> rules = parse_rules({"rules": [{"id": "low", "category": "demolish",
    ...     "when": "floors < 3", "reason_zh": "低层", "reason_en": "Low"}]})
    >>> out = classify_partitioned(partition_layer(parcels, 2), rules, layers={}, rasters={})
    >>> out.compute().sort_index()["category"].tolist()
    ['demolish', 'unchanged']
    """
    dask, _, _ = _dask()
    rasters = {k: str(v) for k, v in rasters.items()}
    meta = parcels._meta
    frame = pd.DataFrame(meta.drop(columns=meta.geometry.name))
    rules.check_inputs(frame.columns, layers=layers, rasters=rasters)  # now, not on a worker
    wcrs = _working_crs(parcels.crs, _total_bounds(parcels))
    prepared = _prepared_layers(parcels, rules, layers, wcrs)
    names = dict.fromkeys(layers)  # the layers' data travels once, in `prepared`
    out_meta = classify_frame(
        meta, rules, layers=names, rasters=rasters, wcrs=wcrs, prepared=prepared
    )
    shared = dask.delayed(
        {"rules": rules, "names": names, "rasters": rasters, "wcrs": wcrs, "prepared": prepared},
        pure=True,
    )
    result = parcels.map_partitions(_classify_partition, shared, meta=out_meta)
    result.spatial_partitions = getattr(parcels, "spatial_partitions", None)
    return result


def _prepared_layers(
    parcels: Any, rules: RuleSet, layers: Mapping[str, Any], wcrs: Any
) -> dict[str, np.ndarray]:
    """Put the rules' layers in the working CRS, checked once against all parcels' extent."""
    import geopandas as gpd

    if wcrs is None:
        return {}
    extent = to_working(
        gpd.GeoSeries([shapely.box(*_total_bounds(parcels))], crs=parcels.crs), crs=wcrs
    )
    probe = _ParcelIndex(np.asarray(extent.array), wcrs)
    return {name: _layer_geoms(layers[name], probe, name) for name in rules.layers}


def _classify_partition(part: gpd.GeoDataFrame, shared: Mapping[str, Any]) -> gpd.GeoDataFrame:
    # Private copies: dask's threads run several partitions at once, and a tree query with
    # a predicate prepares its query geometries (the layers): never shared between threads.
    own = {name: private_copy(geoms) for name, geoms in shared["prepared"].items()}
    return classify_frame(
        part,
        shared["rules"],
        layers=shared["names"],
        rasters=shared["rasters"],
        wcrs=shared["wcrs"],
        prepared=own,
        n_jobs=_TASK_THREADS,
    )


# --------------------------------------------------------------------------- statistics


def zone_stats_partitioned(
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
    """
    Compute `zone_stats` of a partitioned layer: per-partition sums, added on the client.

    The options are `geo_renewal.stats.zone_stats`'s, checked there; `threads` is not
    used: each partition's task runs on one thread and dask's workers use the cores.

    Returns
    -------
    stats
        The same (small, computed) table as the in-memory path.
    """
    spec = _stats_spec(
        parcels, by, zones, zone_col, how, category_col, planned_floor_area, overlaps
    )
    spec.update(threads=_TASK_THREADS, categories=categories)
    total = _partition_sums(parcels, spec, by, category_col)
    _warn_missing(total)
    keys = spec["keys"]
    planned_group = None
    if planned_floor_area is not None and spec["planned_col"] is None:
        planned_group = _planned_group(planned_floor_area, zones, keys, spec.get("zone_groups"))
    return _finish(
        total,
        keys,
        spec["index_name"],
        planned_group=planned_group,
        policy=policy,
        lang=lang,
        how=how if zones is not None else "by",
        wcrs=spec["wcrs"],
    )


@contextlib.contextmanager
def _one_pass(partitions: list[Any], also: list[Any]) -> Iterator[None]:
    """
    Make `zone_stats` of a partitioned layer sum `partitions` and compute `also` at once.

    Within the block, `partitions` are the layer's delayed partitions (``to_delayed()``), `also` other delayed
    tasks made from the same objects (e.g. their writes): dask then computes each partition
    once for both, in the same ``dask.compute``. Used by `geo_renewal.stats.write_with_stats`.
    """
    token = _ONE_PASS.set((partitions, also))
    try:
        yield
    finally:
        _ONE_PASS.reset(token)


def _stats_spec(
    parcels: Any,
    by: str | None,
    zones: gpd.GeoDataFrame | None,
    zone_col: str | None,
    how: str,
    category_col: str,
    planned_floor_area: Any,
    overlaps: str,
) -> dict[str, Any]:
    """Collect what every partition needs to code its groups alike: CRS, keys, zones."""
    meta = parcels._meta
    wcrs = _working_crs(parcels.crs, _total_bounds(parcels))
    planned_col = (
        planned_floor_area
        if isinstance(planned_floor_area, str) and planned_floor_area in meta.columns
        else None
    )
    spec: dict[str, Any] = {"wcrs": wcrs, "how": how, "by": by, "category_col": category_col}
    spec["planned_col"] = planned_col
    if zones is not None:
        setup = _zone_setup(zones, zone_col, wcrs, overlaps)
        spec.update(zgeoms=setup.geoms, zone_groups=setup.groups, keys=setup.keys)
        spec["index_name"] = setup.index_name
    else:
        _assign_by(meta, by, category_col)  # the same errors for a bad `by` as in memory
        spec["index_name"] = str(by)
    spec["cat_order"], by_keys = _group_keys(parcels, by, category_col)
    if by is not None:
        if by == category_col:
            spec["by_keys"] = spec["cat_order"]
        else:
            _check_reserved(by_keys or [], f"`parcels[{by!r}]`")
            spec["by_keys"] = by_keys
        spec["keys"] = [*spec["by_keys"], MISSING_ROW]
    return spec


def _partition_sums(parcels: Any, spec: Mapping[str, Any], by: Any, category_col: str) -> Any:
    """Add up the `_Sums` of every partition (only the columns the table reads are read)."""
    dask, _, _ = _dask()
    meta = parcels._meta
    used = {by, category_col, spec["planned_col"], *_STATS_COLUMNS}
    columns = [c for c in meta.columns if c == meta.geometry.name or c in used]
    shared = dask.delayed(spec, pure=True)
    one_pass = _ONE_PASS.get()
    partitions, also = one_pass or (parcels[columns].to_delayed(), [])
    parts = [dask.delayed(_stats_partition)(p, shared) for p in partitions]
    sums_list = dask.compute(*parts, *also)[: len(parts)]
    total = sums_list[0]
    for s in sums_list[1:]:
        total = total + s
    return total


def _warn_missing(total: Any) -> None:
    """One warning per column with missing values, over all partitions."""
    seen: dict[str, list[Any]] = {}
    for col, count, rows in total.notes:
        entry = seen.setdefault(col, [0, []])
        entry[0] += count
        entry[1] += rows
    for col, (count, rows) in seen.items():
        warnings.warn(_missing_message(col, count, rows[:5]), UserWarning, stacklevel=5)


def _group_keys(
    parcels: Any, by: str | None, category_col: str
) -> tuple[list[str] | None, list[Any] | None]:
    """
    Category order and `by` groups of all partitions, as the in-memory path orders them.

    Known categoricals give them from the dtype; other columns are collected in one pass
    over those columns only.
    """
    meta = parcels._meta
    want = [c for c in dict.fromkeys([category_col, by]) if c is not None and c in meta.columns]
    known = {c: _known_categories(parcels, c) for c in want}
    todo = [c for c in want if known[c] is None]
    found: dict[str, tuple[bool, list[Any]]] = {}
    if todo:
        seen = parcels[todo].map_partitions(_observed, todo, meta=(None, object)).compute()
        for c in todo:
            is_cat, distinct = False, {}
            for item in seen:
                cat, vals = item[c]
                is_cat = is_cat or cat
                distinct.update(dict.fromkeys(vals))
            found[c] = (is_cat, list(distinct))
    cat_order = None
    if category_col in meta.columns:
        if (cats := known[category_col]) is not None:
            cat_order = [str(c) for c in cats]
        else:
            is_cat, values = found[category_col]
            if is_cat:
                cat_order = [str(v) for v in values]
            else:
                observed = {str(v) for v in values}
                cat_order = list(CATEGORIES) + sorted(observed - set(CATEGORIES))
    by_keys: list[Any] | None = None
    if by is not None and by != category_col and by in meta.columns:
        if (groups := known[by]) is not None:
            by_keys = list(groups)
        else:
            is_cat, values = found[by]
            by_keys = values if is_cat else sorted(values)
    return cat_order, by_keys


def _known_categories(parcels: Any, col: str) -> list[Any] | None:
    dtype = parcels._meta[col].dtype
    if not isinstance(dtype, pd.CategoricalDtype):
        return None
    from dask.dataframe.utils import has_known_categories

    return list(dtype.categories) if has_known_categories(parcels[col]) else None  # type: ignore[no-untyped-call]


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
    n = len(part)
    wcrs = spec["wcrs"]
    pgeoms, planar, parea = _project(part.geometry, wcrs)
    keys = spec["keys"]
    if "zgeoms" in spec:
        if wcrs is not None and n:
            # A private copy: preparing geometries shared between threads is not safe.
            zgeoms = private_copy(spec["zgeoms"])
            p, g, w = _assign_zones(
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
        assign = _Assignment(p, g, w, keys, spec["index_name"])
    else:
        assign = _assign_by(part, spec["by"], spec["category_col"], spec["by_keys"])
        if len(assign.keys) != len(keys):  # pragma: no cover - a bug
            msg = "internal error: partition groups differ from the collected groups."
            raise GeoRenewalError(msg)
    return _sums(
        part,
        parea,
        assign,
        categories=spec["categories"],
        category_col=spec["category_col"],
        planned_col=spec["planned_col"],
        cat_order=spec["cat_order"],
        notes=[],
    )
