"""
Zone statistics: land, floor area, households and persons per zone, street, project and class.

`zone_stats` counts what a meeting table needs per group of parcels (a `by` column or
`zones` polygons) and adds a total row; the totals are conserved and checked. The columns,
row labels and the apportioning rules are described in the user guide
(docs/guide/statistics.md); the 63号文 checks live in `geo_renewal.policy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal._checks import check_choice, check_lang, check_threads
from geo_renewal._errors import ConservationError, InputError
from geo_renewal._roles import warn_unknown_classes
from geo_renewal._stats_kernel import (
    AREA_UNITS,
    HOW,
    _assign_by,
    _assign_zones,
    _Assignment,
    _project,
    _tabulate,
    _zone_setup,
    convert_area,
)
from geo_renewal.crs import check_crs, check_same_crs, working_crs
from geo_renewal.geoparquet import _part_writes, _staged_dataset, is_partitioned
from geo_renewal.policy import MAX_DEMOLITION_SHARE, MAX_REBUILD_RATIO, policy_checks
from geo_renewal.schema import MISSING_ROW, OUTSIDE_ROW, TOTAL_ROW, UNCLASSIFIED

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "AREA_UNITS",
    "HOW",
    "MAX_DEMOLITION_SHARE",
    "MAX_REBUILD_RATIO",
    "MISSING_ROW",
    "OUTSIDE_ROW",
    "TOTAL_ROW",
    "UNCLASSIFIED",
    "ConservationError",
    "convert_area",
    "policy_checks",
    "write_with_stats",
    "zone_stats",
]

#: Valid values of ``zone_stats(overlaps=...)``.
OVERLAPS = ("raise", "first")


def zone_stats(
    parcels: gpd.GeoDataFrame,
    *,
    by: str | None = None,
    zones: gpd.GeoDataFrame | None = None,
    zone_col: str | None = None,
    how: str = "apportion",
    categories: bool = True,
    category_col: str = "category",
    planned_floor_area: str | Mapping[Any, float] | pd.Series | None = None,
    policy: bool = True,
    overlaps: str = "raise",
    lang: str | None = None,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """
    Count land, floor area, households and persons per group of parcels, with a total row.

    Group by an attribute (`by`) or by polygons (`zones`). Land area is measured in the
    working CRS. Over all rows (the outside and missing rows included) land area, floor
    area, households, persons and building counts add up to the input totals; the function
    checks this to 1e-9 relative and raises `ConservationError` otherwise.

    Parameters
    ----------
    parcels
        Parcel polygons with a CRS. Optional columns: ``households``, ``population``,
        ``floor_area`` (m²), ``n_buildings`` or ``building_count``, `category_col`,
        ``illegal`` and ``danger_grade`` (for the 63号文 exemption). A metric whose column is
        absent is left out of the result; missing values count as 0 with a warning. A
        partitioned ``dask_geopandas.GeoDataFrame`` (province scale, see
        `geo_renewal.partitioned`) gives the same table: each partition's sums are computed where
        it lives and added up.
    by
        Column of `parcels` to group by (street, project, category …). Parcels with a
        missing value form the ``MISSING_ROW`` row.
    zones
        Zone polygons (same CRS as `parcels`) to group by. Zones must not overlap (see
        `overlaps`); several polygons with the same key form one row. Exactly one of `by`
        and `zones` is required.
    zone_col
        Column of `zones` holding the zone key; defaults to the zones' index.
    how
        With `zones`: ``"apportion"`` splits a parcel crossing zone borders by exact
        intersection area, sharing households, persons, buildings and floor area in
        proportion; ``"largest"`` gives the whole parcel to the zone holding its largest
        part (the part outside every zone competes too); ``"centroid"`` gives it to the
        zone containing its representative point. Parcels (or parts) outside every zone
        form the ``OUTSIDE_ROW`` row.
    categories
        If True and `parcels` has `category_col`, add the zone × category cross table:
        ``area_m2:<code>`` and ``households:<code>`` columns.
    category_col
        Column holding the renewal category codes (Categorical or text).
    planned_floor_area
        Planned new floor area for the 拆建比: a column of `parcels` (apportioned like floor
        area) or of `zones` (per zone), or a mapping from group key to m².
    policy
        If True, add the 63号文 indicators with `policy_checks` (needs floor area and
        categories).
    overlaps
        ``"raise"`` (default) refuses overlapping zones naming the pairs; ``"first"`` gives
        each overlap to the earlier zone.
    lang
        Language of the ``violations`` texts; defaults to `settings.lang`.
    n_jobs
        Threads for the geometry work (shapely releases the GIL); None reads
        `geo_renewal.settings.n_jobs` (None there: the machine's cores, at most 4). Small
        inputs (below 20,000 parcel–zone pairs) run on one thread. Results do not depend
        on it: every threaded step equals the single-threaded one exactly.

    Returns
    -------
    stats
        One row per group in order (categories or sorted values for `by`; zone order for
        `zones`), then ``OUTSIDE_ROW`` / ``MISSING_ROW`` when anything falls there, then
        ``TOTAL_ROW``. Columns are described in the user guide (docs/guide/statistics.md); ``attrs`` records
        ``how``, the working CRS and absent metrics.

    Raises
    ------
    InputError
        For a bad option, overlapping or invalid zones, or non-numeric columns.
    CRSError
        If a layer has no CRS or `zones` is in another CRS.
    ConservationError
        If the rows do not add up to the input totals (a bug: please report it).

    See Also
    --------
    policy_checks : The 63号文 indicators of a statistics table.
    geo_renewal.tables.write_table : Write the table to XLSX, CSV or Markdown.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> x, y = 500_000, 4_060_000  # on the central meridian of EPSG:4548
    >>> parcels = gpd.GeoDataFrame(
    ...     {"households": [10, 20], "category": ["demolish", "unchanged"]},
    ...     geometry=[box(x, y, x + 100, y + 100), box(x + 100, y, x + 200, y + 100)],
    ...     crs="EPSG:4548")
    >>> zones = gpd.GeoDataFrame({"zone_id": ["A", "B"]},
    ...     geometry=[box(x, y, x + 150, y + 100), box(x + 150, y, x + 300, y + 100)],
    ...     crs="EPSG:4548")
    >>> stats = zone_stats(parcels, zones=zones, zone_col="zone_id")
    >>> stats[["area_m2", "area_mu", "households"]].round(3)
             area_m2  area_mu  households
    zone_id
    A        15000.0     22.5        20.0
    B         5000.0      7.5        10.0
    total    20000.0     30.0        30.0
    """
    _check_options(parcels, by=by, zones=zones, zone_col=zone_col, how=how, overlaps=overlaps)
    warn_unknown_classes(parcels, category_col=category_col)  # a foreign layer's own classes
    options: dict[str, Any] = {
        "by": by,
        "zones": zones,
        "zone_col": zone_col,
        "how": how,
        "categories": categories,
        "category_col": category_col,
        "planned_floor_area": planned_floor_area,
        "policy": policy,
        "overlaps": overlaps,
        "lang": check_lang(lang),
        "threads": check_threads(n_jobs),
    }
    if is_partitioned(parcels):
        from geo_renewal.partitioned import zone_stats_partitioned

        return zone_stats_partitioned(parcels, **options)
    return _zone_stats(parcels, **options)


def write_with_stats(parcels: Any, path: str | Path, **options: Any) -> pd.DataFrame:
    """
    Write a partitioned layer as a GeoParquet dataset and count it, in one pass.

    The same as ``write_layer(parcels, path)`` followed by ``zone_stats(parcels,
    **options)``, but every partition is computed once (e.g. classified), written by its
    worker and summed, and then released: no ``persist()``, and memory holds only the
    partitions in flight, however many there are. The dataset is swapped in at `path` only
    when every partition is written and the table is complete and conserved (an earlier
    dataset there stays intact otherwise).

    Parameters
    ----------
    parcels
        A partitioned (dask-geopandas) layer, typically the lazy result of
        `geo_renewal.classify_parcels`.
    path
        The dataset folder to write (as `geo_renewal.io.write_layer` writes a partitioned
        layer).
    **options
        The options of `geo_renewal.stats.zone_stats` (``zones=``, ``zone_col=``, ``by=``,
        ``how=`` …), checked there. A `by` column whose values the dtype does not declare
        (not a categorical) is collected in a pass of its own first, which computes the
        partitions once more: group by a categorical column, or by zones, for one pass.

    Returns
    -------
    stats
        The table `zone_stats` returns.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> from geo_renewal.geoparquet import partition_layer
    >>> x, y = 500_000, 4_060_000
    >>> parcels = gpd.GeoDataFrame({"households": [10, 20], "category": ["demolish", "keep"]},
    ...     geometry=[box(x, y, x + 100, y + 100), box(x + 100, y, x + 200, y + 100)],
    ...     crs="EPSG:4548")
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "classified.parquet"
    >>> stats = write_with_stats(partition_layer(parcels, 2), out, by="category")
    >>> stats.loc[["demolish", "keep", "total"], "households"].tolist()
    [10.0, 20.0, 30.0]
    >>> len(list(out.glob("part.*.parquet")))
    2
    """
    from geo_renewal.partitioned import _one_pass  # only for partitioned layers, as zone_stats

    _check_partitioned(parcels)
    with _staged_dataset(Path(path)) as tmp:
        partitions = parcels.to_delayed()
        with _one_pass(partitions, _part_writes(partitions, tmp)):
            return zone_stats(parcels, **options)


def _check_partitioned(parcels: Any) -> None:
    if not is_partitioned(parcels):
        msg = (
            "`write_with_stats` takes a partitioned (dask) layer; for an in-memory layer call "
            "`write_layer` and `zone_stats`, or cut it first with `partition_layer`."
        )
        raise InputError(msg)


def _check_options(
    parcels: Any, *, by: Any, zones: Any, zone_col: Any, how: str, overlaps: str
) -> None:
    """Refuse conflicting or unknown options before any work."""
    check_crs(parcels, "parcels")
    if (by is None) == (zones is None):
        msg = "give exactly one of `by` (a column of `parcels`) and `zones` (polygons)."
        raise InputError(msg)
    if by is not None and (how != "apportion" or zone_col is not None):
        msg = (
            "`how` and `zone_col` apply to `zones` only; with `by` every parcel belongs to "
            "the group of its value. Drop them or pass `zones=`."
        )
        raise InputError(msg)
    check_choice(how, HOW, name="how")
    check_choice(overlaps, OVERLAPS, name="overlaps")
    if zones is not None:
        check_same_crs(parcels, zones, ("parcels", "zones"))


def _zone_stats(
    parcels: gpd.GeoDataFrame,
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
    """`zone_stats` of an in-memory layer: project, assign to groups, tabulate."""
    n = len(parcels)
    has_geom = bool(n) and bool(parcels.geometry.notna().any())
    wcrs = working_crs(parcels) if has_geom else None
    pgeoms, planar, parea = _project(parcels.geometry, wcrs)
    zone_groups = None
    if zones is not None:
        setup = _zone_setup(zones, zone_col, wcrs, overlaps)
        zone_groups = setup.groups
        if has_geom and setup.geoms is not None:
            p, g, w = _assign_zones(
                pgeoms, planar, setup.geoms, setup.groups, len(setup.keys) - 1, how, threads
            )
        else:
            p, g, w = np.arange(n), np.full(n, len(setup.keys) - 1, dtype=np.int64), np.ones(n)
        assign = _Assignment(p, g, w, setup.keys, setup.index_name)
    else:
        assign = _assign_by(parcels, by, category_col)
    return _tabulate(
        parcels,
        parea,
        assign,
        zones=zones,
        zone_groups=zone_groups,
        categories=categories,
        category_col=category_col,
        planned_floor_area=planned_floor_area,
        policy=policy,
        lang=lang,
        how=how if zones is not None else "by",
        wcrs=wcrs,
    )
