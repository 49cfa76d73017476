"""
Zone statistics: land, floor area, households and persons per zone, street, project and class.

`zone_stats` counts what a meeting table needs per group of parcels — a `by` column (street,
project, category) or a layer of `zones` polygons — and adds a total row. Numbers add up:
over all rows (the outside row included) land area, floor area, households, persons and
building counts equal the input totals to 1e-9 relative, and the function checks it.

Areas are always measured in the working CRS (`geo_renewal.crs.working_crs`) and corrected
for the projection's scale like `geo_renewal.crs.area`, never read from a column; a parcel's
pieces are its `crs.area` split in the ratio of their planar areas. Parcels crossing a zone border are split by exact intersection area
(``how="apportion"``) or given to one zone (``how="largest"`` / ``how="centroid"``).

The 63号文 indicators (MOHURD 建科〔2021〕63号, DOMAIN.md §2) are computed per group by
`policy_checks`, which `zone_stats` calls unless ``policy=False``.

Row labels
----------
The result is indexed by group key. Three reserved labels mark special rows; meeting writers
(`geo_renewal.tables.write_table`) translate them and print the total row in bold:

=================  =============================================================
``TOTAL_ROW``      ``"total"`` (合计): input totals, always the last row
``OUTSIDE_ROW``    ``"outside"`` (区外): parcels or parts outside every zone
``MISSING_ROW``    ``"missing"`` (未填写): parcels whose `by` value is missing
=================  =============================================================

Output columns
--------------
Metrics whose source column is absent from `parcels` are left out (never filled with
fake zeros); the table's ``attrs["absent"]`` names them.

===========================  ==================================================================
``n_parcels``                parcels with (a positive-area part) in the group; with
                             ``how="apportion"`` a straddling parcel counts in every zone it
                             touches, so rows may add up to more than the total row
``n_buildings``              buildings (from ``n_buildings`` or ``building_count``)
``area_m2``                  land area [m²]; ``area_ha`` [公顷], ``area_mu`` [亩]
``floor_area_m2``            floor area [m²]; ``floor_area_wan_m2`` [万㎡]
``households``               households [户]
``population``               persons [人]
``demolish_floor_area_m2``   floor area of ``demolish`` parcels [m²]
``demolish_households``      households of ``demolish`` parcels (and ``demolish_population``)
``exempt_floor_area_m2``     demolished floor area exempt from the 20 % limit: illegal
                             structures or danger grade C/D [m²]
``protect_area_m2``          land of ``retain_protect`` parcels [m²]
``resettlement_area_m2``     land of ``resettlement_site`` parcels [m²]
``planned_floor_area_m2``    planned new floor area, when given [m²]
``demolition_share``         counted demolished floor area ÷ existing floor area (fraction)
``rebuild_ratio``            拆建比: planned new floor area ÷ demolished floor area
``violations``               the broken 63号文 limits, in words ("" if none)
``area_m2:<category>``       land area per category (cross table, ``categories=True``)
``households:<category>``    households per category (cross table)
===========================  ==================================================================

With ``how="apportion"`` households, persons, buildings and floor area are shared in
proportion to area and so may be fractional; totals stay exact.
"""

from __future__ import annotations

import itertools
import logging
import os
import warnings
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import shapely

from geo_renewal import schema
from geo_renewal._checks import check_lang
from geo_renewal._errors import GeoRenewalError, InputError, SchemaError
from geo_renewal.crs import area, check_crs, check_same_crs, to_working, working_crs
from geo_renewal.schema import CATEGORIES

if TYPE_CHECKING:
    import geopandas as gpd


def _is_dask(obj: Any) -> bool:
    """Tell whether `obj` is a dask(-geopandas) collection, without importing dask."""
    return type(obj).__module__.split(".")[0] in ("dask_geopandas", "dask")


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
    "zone_stats",
]

logger = logging.getLogger(__name__)

#: Index label of the total row (合计).
TOTAL_ROW = "total"
#: Index label of the row of parcels (or parts of parcels) outside every zone (区外).
OUTSIDE_ROW = "outside"
#: Index label of the row of parcels whose `by` value is missing (未填写).
MISSING_ROW = "missing"
#: Category key of parcels with a missing category in the cross table (未分类).
UNCLASSIFIED = "unclassified"
_RESERVED = (TOTAL_ROW, OUTSIDE_ROW, MISSING_ROW)

#: Valid values of ``zone_stats(how=...)``.
HOW = ("apportion", "largest", "centroid")

#: m² per unit: 公顷 (hectare), 亩 (1 亩 = 10 000/15 m²), 万㎡ (10 000 m²), km².
AREA_UNITS: dict[str, float] = {
    "m2": 1.0,
    "ha": 10_000.0,
    "mu": 10_000.0 / 15.0,
    "wan_m2": 10_000.0,
    "km2": 1_000_000.0,
}

#: 63号文: demolished floor area at most 20 % of the unit's existing floor area.
MAX_DEMOLITION_SHARE = 0.20
#: 63号文: 拆建比 (new floor area ÷ demolished floor area) at most 2.
MAX_REBUILD_RATIO = 2.0

#: Relative tolerance of the conservation check.
_CONSERVATION_RTOL = 1e-9
#: Relative size below which an overlay piece of a parcel is rounding noise (not a sliver).
_SLIVER_RTOL = 1e-9
#: Pairs above which the apportioning work is spread over threads.
_THREAD_MIN_PAIRS = 40_000

_DEMOLISH, _PROTECT, _RESETTLE = "demolish", "retain_protect", "resettlement_site"


class ConservationError(GeoRenewalError, ArithmeticError):
    """Rows of a statistics table do not add up to the input totals (an internal error)."""


def convert_area(m2: Any, to: str = "ha") -> Any:
    """
    Convert an area in m² to another unit.

    Parameters
    ----------
    m2
        Area in square metres: a number, array or Series.
    to
        Target unit, one of `AREA_UNITS`: ``"m2"``, ``"ha"`` (公顷), ``"mu"`` (亩,
        1 亩 = 10 000/15 m²), ``"wan_m2"`` (万㎡) or ``"km2"``.

    Returns
    -------
    converted
        The area in `to`, of the same type as `m2`.

    Raises
    ------
    InputError
        If `to` is not a known unit.

    Examples
    --------
    >>> convert_area(10_000, "ha"), convert_area(10_000, "mu"), convert_area(10_000, "wan_m2")
    (1.0, 15.0, 1.0)
    """
    if to not in AREA_UNITS:
        msg = f"unknown area unit `to={to!r}`; use one of {', '.join(map(repr, AREA_UNITS))}."
        raise InputError(msg)
    return m2 / AREA_UNITS[to]


# --------------------------------------------------------------------------------------
# Assignment of parcels to groups: (parcel, group, weight) triples
# --------------------------------------------------------------------------------------


@dataclass
class _Assignment:
    """Each parcel's share of each group: parcel ``p[k]`` gives ``w[k]`` of itself to ``g[k]``."""

    p: np.ndarray
    g: np.ndarray
    w: np.ndarray
    keys: list[Any]  # group keys, in row order (special rows included)
    index_name: str | None


def _n_threads(n_jobs: int | None) -> int:
    if n_jobs is None:
        return max(1, min(4, os.cpu_count() or 1))
    if n_jobs < 1:
        msg = f"`n_jobs` must be a positive number of threads or None, got {n_jobs!r}."
        raise InputError(msg)
    return n_jobs


def _chunked(n: int, threads: int, func: Any) -> np.ndarray:
    """Run ``func(slice)`` over `n` items, on threads when it pays (shapely frees the GIL)."""
    if threads <= 1 or n < _THREAD_MIN_PAIRS:
        return func(slice(0, n))
    bounds = np.linspace(0, n, threads * 4 + 1).astype(int)
    slices = [slice(a, b) for a, b in itertools.pairwise(bounds) if b > a]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        parts = list(pool.map(func, slices))
    return np.concatenate(parts)


def _zone_keys(zones: gpd.GeoDataFrame, zone_col: str | None) -> tuple[pd.Series, str | None]:
    if zone_col is None:
        keys = zones.index.to_series(index=zones.index)
        return keys, zones.index.name or "zone"
    if zone_col not in zones.columns:
        msg = (
            f"`zone_col={zone_col!r}` is not a column of `zones`; available: "
            f"{[c for c in zones.columns if c != zones.geometry.name]}."
        )
        raise SchemaError(msg)
    keys = zones[zone_col]
    missing = keys.isna().to_numpy()
    if missing.any():
        rows = list(zones.index[missing][:5])
        msg = f"`zones[{zone_col!r}]` is missing for rows {rows}; give every zone a key."
        raise InputError(msg)
    return keys, zone_col


def _check_reserved(keys: list[Any], what: str) -> None:
    clash = [k for k in keys if isinstance(k, str) and k in _RESERVED]
    if clash:
        msg = (
            f"{what} uses the reserved row label(s) {clash}; rename them, because "
            f"{list(_RESERVED)} label the total, outside and missing rows."
        )
        raise InputError(msg)


def _zone_geoms(zones: gpd.GeoDataFrame, crs: Any, keys: pd.Series, overlaps: str) -> np.ndarray:
    """Zones in the working CRS as a private array (safe to prepare), checked for overlaps."""
    geoms = np.asarray(to_working(zones.geometry, crs=crs).array, dtype=object)
    null = shapely.is_missing(geoms)
    if null.any():
        msg = f"`zones` rows {list(zones.index[null][:5])} have no geometry; drop or draw them."
        raise InputError(msg)
    kinds = shapely.get_type_id(geoms)
    not_polygon = (kinds != shapely.GeometryType.POLYGON) & (
        kinds != shapely.GeometryType.MULTIPOLYGON
    )
    if not_polygon.any():
        rows = list(zones.index[not_polygon][:5])
        msg = (
            f"`zones` rows {rows} are "
            f"{shapely.GeometryType(kinds[not_polygon][0]).name.title()} geometries, "
            f"expected polygons; buffer points or lines into areas first."
        )
        raise InputError(msg)
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        rows = list(zones.index[bad][:5])
        msg = (
            f"`zones` rows {rows} have invalid geometries "
            f"({shapely.is_valid_reason(geoms[bad][0])}); repair them first, e.g. "
            f"`zones.geometry = zones.geometry.make_valid()` or `validate_layer(zones)`."
        )
        raise InputError(msg)
    # Private copies: preparing must not touch the caller's geometry objects.
    geoms = shapely.from_wkb(shapely.to_wkb(geoms))
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    if len(i):
        inter = shapely.area(shapely.intersection(geoms[i], geoms[j]))
        smaller = np.minimum(shapely.area(geoms[i]), shapely.area(geoms[j]))
        real = inter > 1e-10 * smaller
        i, j, inter = i[real], j[real], inter[real]
    if len(i) and overlaps == "raise":
        pairs = ", ".join(
            f"{keys.iloc[a]!r} (row {zones.index[a]!r}) and {keys.iloc[b]!r} "
            f"(row {zones.index[b]!r}) by {s:,.2f} m²"
            for a, b, s in zip(i[:5], j[:5], inter[:5], strict=True)
        )
        more = f" and {len(i) - 5} more pairs" if len(i) > 5 else ""
        msg = (
            f"`zones` overlap: {pairs}{more}. Totals can only add up over a partition; "
            f"fix the polygons or pass `overlaps='first'` to give each overlap to the "
            f"earlier zone."
        )
        raise InputError(msg)
    if len(i):  # overlaps="first": cut every zone by the earlier zones it overlaps
        fixed = geoms.copy()
        for b in np.unique(j):
            earlier = geoms[i[j == b]]
            fixed[b] = shapely.difference(geoms[b], shapely.union_all(earlier))
        logger.info("cut %d overlaps between zones (overlaps='first')", len(i))
        geoms = fixed
    return geoms


def _assign_by(
    parcels: gpd.GeoDataFrame, by: Any, category_col: str, keys: list[Any] | None = None
) -> _Assignment:
    """Group of every parcel by column `by`; with `keys` (global groups) coded by them."""
    if isinstance(by, list | tuple):
        msg = (
            f"`by` takes one column, got {list(by)!r}; group by one and use "
            f"`categories=True` for the cross table, or combine the columns first."
        )
        raise InputError(msg)
    if by not in parcels.columns:
        msg = (
            f"`by={by!r}` is not a column of `parcels`; available: "
            f"{[c for c in parcels.columns if c != parcels.geometry.name]}."
        )
        raise SchemaError(msg)
    col = parcels[by]
    n = len(parcels)
    if by == category_col:
        codes, keys = _categories(parcels, by, keys)
        if keys[-1] == UNCLASSIFIED:
            keys[-1] = MISSING_ROW
        return _Assignment(np.arange(n), codes, np.ones(n), keys, str(by))
    if keys is not None:
        codes = _recode(col, keys, f"`parcels[{by!r}]`")
        return _Assignment(np.arange(n), codes, np.ones(n), [*keys, MISSING_ROW], str(by))
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy().astype(np.int64)
        keys = list(col.cat.categories)
    else:
        codes, uniques = pd.factorize(col, sort=True, use_na_sentinel=True)
        codes = codes.astype(np.int64)
        keys = list(uniques)
    _check_reserved(keys, f"`parcels[{by!r}]`")
    missing = codes < 0
    if missing.any():
        codes = np.where(missing, len(keys), codes)
        keys.append(MISSING_ROW)
    return _Assignment(np.arange(n), codes, np.ones(n), keys, str(by))


def _assign_zones(
    parcel_geoms: np.ndarray,
    parcel_area: np.ndarray,
    zone_geoms: np.ndarray,
    zone_group: np.ndarray,
    n_groups: int,
    how: str,
    threads: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (parcel, group, weight) triples; group ``n_groups`` is the outside row."""
    n = len(parcel_geoms)
    outside = n_groups
    if how == "centroid":
        points = _chunked(n, threads, lambda s: shapely.point_on_surface(parcel_geoms[s]))
        tree = shapely.STRtree(zone_geoms)
        pi, zi = tree.query(points, predicate="intersects")
        group = np.full(n, outside, dtype=np.int64)
        # A point on a shared border goes to the first zone: write in reverse order.
        order = np.lexsort((-zi, pi))
        group[pi[order]] = zone_group[zi[order]]
        return np.arange(n), group, np.ones(n)

    # Reversed query: the parcels' tree asked with the (few) zones, bounding boxes only.
    tree = shapely.STRtree(parcel_geoms)
    zi, pi = tree.query(zone_geoms)
    shapely.prepare(zone_geoms)

    def overlap(s: slice) -> np.ndarray:
        z, p = zone_geoms[zi[s]], parcel_geoms[pi[s]]
        inside = shapely.contains_properly(z, p)
        out = parcel_area[pi[s]].copy()
        cross = ~inside
        out[cross] = shapely.area(shapely.intersection(z[cross], p[cross]))
        return out

    try:
        inter = _chunked(len(zi), threads, overlap)
    except shapely.errors.GEOSException as e:
        bad = np.flatnonzero(~shapely.is_valid(parcel_geoms[np.unique(pi)]))
        rows = np.unique(pi)[bad][:5].tolist()
        msg = (
            f"intersecting parcels with zones failed ({e}); parcel positions {rows} have "
            f"invalid geometries: repair them first with `validate_layer`."
        )
        raise InputError(msg) from e
    # Pieces below _SLIVER_RTOL of their parcel are floating-point noise of the overlay
    # (a parcel on a zone border built from the same coordinates): they are not counted.
    hit = inter > _SLIVER_RTOL * parcel_area[pi]
    zi, pi, inter = zi[hit], pi[hit], inter[hit]
    gi = zone_group[zi]
    if len(np.unique(zone_group)) < len(zone_group):
        # Several polygons share a key: merge a parcel's pieces per group first.
        pair, inv = np.unique(pi * (n_groups + 1) + gi, return_inverse=True)
        inter = np.bincount(inv, weights=inter)
        pi, gi = pair // (n_groups + 1), pair % (n_groups + 1)
    covered = np.bincount(pi, weights=inter, minlength=n)
    # The part outside every zone; rounding noise is no part, and shares never exceed the
    # whole parcel, so each parcel's weights add up to one.
    rest = np.maximum(parcel_area - covered, 0.0)
    rest[rest <= _SLIVER_RTOL * parcel_area] = 0.0
    denom = covered + rest

    if how == "largest":
        # Largest piece per parcel among the zones and the outside part.
        order = np.lexsort((-inter, pi))
        first = np.ones(len(order), dtype=bool)
        first[1:] = pi[order][1:] != pi[order][:-1]
        best_p, best_g, best_a = pi[order][first], gi[order][first], inter[order][first]
        group = np.full(n, outside, dtype=np.int64)
        wins = best_a >= rest[best_p]
        group[best_p[wins]] = best_g[wins]
        return np.arange(n), group, np.ones(n)

    with np.errstate(invalid="ignore", divide="ignore"):
        w = inter / denom[pi]
        w_out = np.where(denom > 0, rest / denom, 1.0)
    p = np.concatenate([pi, np.arange(n)])
    g = np.concatenate([gi, np.full(n, outside, dtype=np.int64)])
    w = np.concatenate([w, w_out])
    keep = w > 0
    return p[keep], g[keep], w[keep]


# --------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------


def _missing_message(col: str, count: int, rows: list[Any]) -> str:
    return (
        f"`parcels[{col!r}]` is missing for {count} rows (e.g. {rows}); they "
        f"count as 0. Fill them (e.g. from floor area, DOMAIN.md §3) to silence this."
    )


def _numeric(
    parcels: pd.DataFrame, col: str, *, notes: list[Any] | None = None, stacklevel: int = 3
) -> np.ndarray:
    """Read a numeric column as floats, missing values as 0 (warned, or noted in `notes`)."""
    s = parcels[col]
    if not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        msg = (
            f"`parcels[{col!r}]` holds {s.dtype} values, expected numbers; convert it, e.g. "
            f"`parcels[{col!r}] = pd.to_numeric(parcels[{col!r}], errors='coerce')`."
        )
        raise SchemaError(msg)
    values = s.to_numpy(dtype=float, na_value=np.nan)
    nan = np.isnan(values)
    if nan.any():
        rows = list(parcels.index[nan][:5])
        if notes is not None:
            notes.append((col, int(nan.sum()), rows))
        else:
            msg = _missing_message(col, int(nan.sum()), rows)
            warnings.warn(msg, UserWarning, stacklevel=stacklevel)
        values = np.where(nan, 0.0, values)
    return values


def _flag(parcels: pd.DataFrame, col: str) -> np.ndarray:
    """Read a truthy column (bool, 0/1, 是/否, yes/no) as a bool array; missing is False."""
    s = parcels[col]
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return s.fillna(0).to_numpy(dtype=float) != 0
    text = s.astype("string").str.strip().str.lower()
    return text.isin(schema.TRUE_VALUES).fillna(False).to_numpy(dtype=bool)


def _categories(
    parcels: pd.DataFrame, col: str, order: list[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """
    Category codes and order of `col`; missing values get the code of ``UNCLASSIFIED``.

    With `order` (the global order of a partitioned table) the values are coded by it and
    the ``UNCLASSIFIED`` slot is always there (dropped later when it stays empty).
    """
    s = parcels[col]
    if order is not None:
        codes = _recode(s, order, f"`parcels[{col!r}]`")
        return codes, [*order, UNCLASSIFIED]
    if isinstance(s.dtype, pd.CategoricalDtype):
        order = [str(c) for c in s.cat.categories]
        codes = s.cat.codes.to_numpy().astype(np.int64)
    else:
        text = s.astype("string")
        observed = [str(v) for v in text.dropna().unique()]
        order = list(CATEGORIES) + sorted(set(observed) - set(CATEGORIES))
        codes = pd.Categorical(text, categories=order).codes.astype(np.int64)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(order), codes)
        order = [*order, UNCLASSIFIED]
    return codes, order


def _recode(s: pd.Series, keys: list[Any], what: str) -> np.ndarray:
    """Codes of `s` in `keys` (missing: ``len(keys)``); a value outside `keys` is an error."""
    values = s.astype("string") if all(isinstance(k, str) for k in keys) else s
    codes = pd.Categorical(values, categories=keys).codes.astype(np.int64)
    lost = (codes < 0) & s.notna().to_numpy(dtype=bool)
    if lost.any():
        msg = (
            f"internal error: {what} holds values {list(pd.unique(s[lost]))[:5]} that were not "
            f"seen when the groups were collected ({list(keys)[:10]}); please report this."
        )
        raise GeoRenewalError(msg)
    return np.where(codes < 0, len(keys), codes)


def _planned_per_group(
    planned: Any, zones: gpd.GeoDataFrame | None, keys: list[Any], groups_of_zones: Any
) -> np.ndarray | None:
    """Planned new floor area given per group (a zones column or a mapping)."""
    out = np.zeros(len(keys))
    if isinstance(planned, str):
        if zones is None or planned not in zones.columns:
            return None
        values = _numeric(zones, planned)
        np.add.at(out, groups_of_zones, values)
        return out
    if isinstance(planned, Mapping | pd.Series):
        mapping = dict(planned.items())
        unknown = [k for k in mapping if k not in keys]
        if unknown:
            msg = (
                f"`planned_floor_area` names groups {unknown[:5]} that are not in the table; "
                f"known groups: {[k for k in keys if k not in _RESERVED][:10]}."
            )
            raise InputError(msg)
        for i, k in enumerate(keys):
            out[i] = float(mapping.get(k, 0.0))
        return out
    msg = (
        "`planned_floor_area` must be a column name (of `parcels` or `zones`) or a mapping "
        f"from group key to m², got {type(planned).__name__}."
    )
    raise InputError(msg)


# --------------------------------------------------------------------------------------
# zone_stats
# --------------------------------------------------------------------------------------


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
    n_jobs: int | None = 1,
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
        `geo_renewal.scale`) gives the same table: each partition's sums are computed where
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
        Threads for the geometry work (shapely releases the GIL); None uses up to 4. Worth it
        on an idle multi-core machine with 100k+ parcels; on a busy one, one thread was
        faster (benchmarks/bench_stats.py). Results do not depend on it.

    Returns
    -------
    stats
        One row per group in order (categories or sorted values for `by`; zone order for
        `zones`), then ``OUTSIDE_ROW`` / ``MISSING_ROW`` when anything falls there, then
        ``TOTAL_ROW``. Columns are described in the module docstring; ``attrs`` records
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
    if how not in HOW:
        msg = f"unknown `how={how!r}`; use one of {', '.join(map(repr, HOW))}."
        raise InputError(msg)
    if overlaps not in ("raise", "first"):
        msg = f"unknown `overlaps={overlaps!r}`; use 'raise' or 'first'."
        raise InputError(msg)
    lang = check_lang(lang)
    threads = _n_threads(n_jobs)
    if _is_dask(parcels):
        from geo_renewal.scale import _zone_stats_dask

        return _zone_stats_dask(
            parcels,
            by=by,
            zones=zones,
            zone_col=zone_col,
            how=how,
            categories=categories,
            category_col=category_col,
            planned_floor_area=planned_floor_area,
            policy=policy,
            overlaps=overlaps,
            lang=lang,
            threads=threads,
        )
    n = len(parcels)

    # Geometry in the working CRS and parcel areas.
    has_geom = bool(n) and bool(parcels.geometry.notna().any())
    wcrs = working_crs(parcels) if has_geom else None
    if has_geom:
        projected = to_working(parcels.geometry, crs=wcrs)
        pgeoms = np.asarray(projected.array, dtype=object)
        # Planar areas give the split ratios; `crs.area` (scale-corrected) the m².
        planar = np.nan_to_num(shapely.area(pgeoms), nan=0.0)
        parea = np.nan_to_num(area(projected).to_numpy(dtype=float), nan=0.0)
    else:
        pgeoms = np.asarray(parcels.geometry.array, dtype=object)
        planar = parea = np.zeros(n)

    zone_groups = None
    if zones is not None:
        check_same_crs(parcels, zones, ("parcels", "zones"))
        keys_s, index_name = _zone_keys(zones, zone_col)
        zone_groups, uniq = pd.factorize(keys_s, sort=False)
        keys = list(uniq)
        _check_reserved(keys, "`zones` keys")
        if has_geom:
            zgeoms = _zone_geoms(zones, wcrs, keys_s, overlaps)
            p, g, w = _assign_zones(
                pgeoms, planar, zgeoms, zone_groups.astype(np.int64), len(keys), how, threads
            )
        else:
            p, g, w = np.arange(n), np.full(n, len(keys), dtype=np.int64), np.ones(n)
        keys.append(OUTSIDE_ROW)
        assign = _Assignment(p, g, w, keys, index_name)
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


def _tabulate(
    parcels: gpd.GeoDataFrame,
    parea: np.ndarray,
    assign: _Assignment,
    *,
    zones: gpd.GeoDataFrame | None,
    zone_groups: np.ndarray | None,
    categories: bool,
    category_col: str,
    planned_floor_area: Any,
    policy: bool,
    lang: str,
    how: str,
    wcrs: Any,
) -> pd.DataFrame:
    planned_col = (
        planned_floor_area
        if isinstance(planned_floor_area, str) and planned_floor_area in parcels.columns
        else None
    )
    sums = _sums(
        parcels,
        parea,
        assign,
        categories=categories,
        category_col=category_col,
        planned_col=planned_col,
    )
    planned_group = None
    if planned_floor_area is not None and planned_col is None:
        planned_group = _planned_group(planned_floor_area, zones, assign.keys, zone_groups)
    return _finish(
        sums,
        assign.keys,
        assign.index_name,
        planned_group=planned_group,
        policy=policy,
        lang=lang,
        how=how,
        wcrs=wcrs,
    )


def _planned_group(
    planned_floor_area: Any, zones: gpd.GeoDataFrame | None, keys: list[Any], zone_groups: Any
) -> np.ndarray:
    planned_group = _planned_per_group(planned_floor_area, zones, keys, zone_groups)
    if planned_group is None:
        msg = (
            f"`planned_floor_area={planned_floor_area!r}` is neither a column of "
            f"`parcels` nor of `zones`; name the column holding the planned new "
            f"floor area (m²) or pass a mapping from group key to m²."
        )
        raise SchemaError(msg)
    return planned_group


@dataclass
class _Sums:
    """
    The additive parts of a statistics table.

    Sums of two sets of parcels (e.g. two partitions of a dask frame, coded with the same
    groups and category order) are the sums of the union: `_finish` turns them into the
    table, so a partitioned table is exact and conserved like an in-memory one.
    """

    n: int  # parcels
    counted: np.ndarray  # (parcel, group) pairs per row
    rows: dict[str, np.ndarray]  # per-row sums of the additive values
    totals: dict[str, float]  # input totals of the additive values
    scale: dict[str, float]  # sums of absolute values (tolerance of the conservation check)
    masked: dict[str, np.ndarray]  # per-row sums and total of masked values (demolish …)
    cross: dict[str, np.ndarray]  # rows × categories
    cross_totals: dict[str, np.ndarray]  # per category
    n_unclassified: int  # parcels without a category
    order: list[str] | None  # category order (None: no category column)
    absent: list[str]
    notes: list[Any]  # (column, missing count, example rows), when collected

    def __add__(self, other: _Sums) -> _Sums:
        def add(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
            return {k: a[k] + b[k] for k in a}

        return _Sums(
            n=self.n + other.n,
            counted=self.counted + other.counted,
            rows=add(self.rows, other.rows),
            totals=add(self.totals, other.totals),
            scale=add(self.scale, other.scale),
            masked=add(self.masked, other.masked),
            cross=add(self.cross, other.cross),
            cross_totals=add(self.cross_totals, other.cross_totals),
            n_unclassified=self.n_unclassified + other.n_unclassified,
            order=self.order,
            absent=self.absent,
            notes=self.notes + other.notes,
        )


def _sums(
    parcels: pd.DataFrame,
    parea: np.ndarray,
    assign: _Assignment,
    *,
    categories: bool,
    category_col: str,
    planned_col: str | None,
    cat_order: list[str] | None = None,
    notes: list[Any] | None = None,
) -> _Sums:
    """
    Compute the additive parts of the table for `parcels` (see `_Sums`).

    `cat_order` codes the categories by a global order (partitions); `notes` collects
    missing-value notes instead of warning.
    """
    p, g, w, keys = assign.p, assign.g, assign.w, assign.keys
    n_rows = len(keys)
    cols = parcels.columns

    def gsum(values: np.ndarray) -> np.ndarray:
        return np.bincount(g, weights=values[p] * w, minlength=n_rows)

    def numeric(col: str) -> np.ndarray:
        return _numeric(parcels, col, notes=notes, stacklevel=5)

    # Additive per-parcel values
    values: dict[str, np.ndarray] = {"area_m2": parea}
    absent: list[str] = []
    bcol = next((c for c in ("n_buildings", "building_count") if c in cols), None)
    if bcol is not None:
        values["n_buildings"] = numeric(bcol)
    else:
        absent.append("n_buildings")
    for col, name in (
        ("floor_area", "floor_area_m2"),
        ("households", "households"),
        ("population", "population"),
    ):
        if col in cols:
            values[name] = numeric(col)
        else:
            absent.append(name)
    if planned_col is not None:
        values["planned_floor_area_m2"] = numeric(planned_col)

    counted = np.zeros(n_rows)
    if len(p):
        counted = np.bincount(g, minlength=n_rows).astype(float)  # (p, g) pairs are unique
    masked: dict[str, np.ndarray] = {}
    cross: dict[str, np.ndarray] = {}
    cross_totals: dict[str, np.ndarray] = {}
    order = None
    n_unclassified = 0
    if category_col in cols:
        codes, order = _categories(parcels, category_col, cat_order)
        n_cat = len(order)
        if order[-1] == UNCLASSIFIED:
            n_unclassified = int((codes == n_cat - 1).sum())

        def mask_sum(mask: np.ndarray, name: str) -> np.ndarray:
            v = np.where(mask, values[name], 0.0)
            return np.append(gsum(v), v.sum())

        demolish = (
            codes == order.index(_DEMOLISH) if _DEMOLISH in order else np.zeros(len(codes), bool)
        )
        if "floor_area_m2" in values:
            masked["demolish_floor_area_m2"] = mask_sum(demolish, "floor_area_m2")
            exempt = np.zeros(len(parcels), dtype=bool)
            if "illegal" in cols:
                exempt |= _flag(parcels, "illegal")
            if "danger_grade" in cols:
                grade = parcels["danger_grade"].astype("string").str.strip().str.upper()
                exempt |= grade.isin(["C", "D"]).fillna(False).to_numpy(dtype=bool)
            masked["exempt_floor_area_m2"] = mask_sum(demolish & exempt, "floor_area_m2")
        for name in ("households", "population"):
            if name in values:
                masked[f"demolish_{name}"] = mask_sum(demolish, name)
        for code, name in ((_PROTECT, "protect_area_m2"), (_RESETTLE, "resettlement_area_m2")):
            mask = codes == order.index(code) if code in order else np.zeros(len(codes), bool)
            masked[name] = mask_sum(mask, "area_m2")
        if categories and assign.index_name != category_col:
            key = g * n_cat + codes[p]
            for name in ("area_m2", "households"):
                if name not in values:
                    continue
                c = np.bincount(key, weights=values[name][p] * w, minlength=n_rows * n_cat)
                cross[name] = c.reshape(n_rows, n_cat)
                cross_totals[name] = np.bincount(codes, weights=values[name], minlength=n_cat)
    else:
        absent += ["demolish_floor_area_m2", "protect_area_m2", "resettlement_area_m2"]

    return _Sums(
        n=len(parcels),
        counted=counted,
        rows={name: gsum(v) for name, v in values.items()},
        totals={name: float(v.sum()) for name, v in values.items()},
        scale={name: float(np.abs(v).sum()) for name, v in values.items()},
        masked=masked,
        cross=cross,
        cross_totals=cross_totals,
        n_unclassified=n_unclassified,
        order=order,
        absent=absent,
        notes=[] if notes is None else notes,
    )


def _finish(
    sums: _Sums,
    keys: list[Any],
    index_name: str | None,
    *,
    planned_group: np.ndarray | None,
    policy: bool,
    lang: str,
    how: str,
    wcrs: Any,
) -> pd.DataFrame:
    """Turn the additive parts into the table: conservation check, units, special rows."""
    _check_conservation(sums.rows, sums.totals, {k: np.array([v]) for k, v in sums.scale.items()})
    n_rows = len(keys)
    rows, totals = sums.rows, sums.totals
    out: dict[str, np.ndarray] = {}
    out["n_parcels"] = np.append(sums.counted, sums.n).astype(np.int64)

    def add(name: str) -> None:
        out[name] = np.append(rows[name], totals[name])

    if "n_buildings" in rows:
        add("n_buildings")
    add("area_m2")
    out["area_ha"] = convert_area(out["area_m2"], "ha")
    out["area_mu"] = convert_area(out["area_m2"], "mu")
    if "floor_area_m2" in rows:
        add("floor_area_m2")
        out["floor_area_wan_m2"] = convert_area(out["floor_area_m2"], "wan_m2")
    for name in ("households", "population"):
        if name in rows:
            add(name)
    out.update(sums.masked)
    if "planned_floor_area_m2" in rows:
        add("planned_floor_area_m2")
    elif planned_group is not None:
        out["planned_floor_area_m2"] = np.append(planned_group, planned_group.sum())
    order = sums.order or []
    if order and order[-1] == UNCLASSIFIED and sums.n_unclassified == 0:
        order = order[:-1]  # the slot of a partitioned table that stayed empty
    for name, cross in sums.cross.items():
        for c, code in enumerate(order):
            out[f"{name}:{code}"] = np.append(cross[:, c], sums.cross_totals[name][c])

    # Drop special rows that stayed empty (nothing outside, nothing missing).
    keep = np.ones(n_rows + 1, dtype=bool)
    for r, k in enumerate(keys):
        if isinstance(k, str) and k in (OUTSIDE_ROW, MISSING_ROW):
            keep[r] = bool(sums.counted[r] > 0)
    index = pd.Index([*keys, TOTAL_ROW], name=index_name)
    stats = pd.DataFrame(out, index=index).loc[keep]
    stats.attrs.update(
        {
            "how": how,
            "working_crs": None if wcrs is None else wcrs.to_string(),
            "absent": list(sums.absent),
            "total_row": TOTAL_ROW,
        }
    )
    if policy and "floor_area_m2" in stats.columns and sums.order is not None:
        stats = policy_checks(stats, lang=lang)
    return stats


def _check_conservation(
    sums: dict[str, np.ndarray], totals: dict[str, float], values: dict[str, np.ndarray]
) -> None:
    for name, rows in sums.items():
        got, want = float(rows.sum()), totals[name]
        scale = max(float(np.abs(values[name]).sum()), np.finfo(float).tiny)
        if abs(got - want) > _CONSERVATION_RTOL * scale:
            msg = (
                f"internal error: the rows of `{name}` add up to {got!r} but the input total "
                f"is {want!r} (relative difference {abs(got - want) / scale:.2e} > "
                f"{_CONSERVATION_RTOL}); please report this with the data."
            )
            raise ConservationError(msg)


# --------------------------------------------------------------------------------------
# 63号文 indicators
# --------------------------------------------------------------------------------------

_VIOLATION_TEXT = {
    "zh": ("拆除比例 {v:.1%} > {lim:.0%}", "拆建比 {v:.2f} > {lim:g}", "；"),
    "en": ("demolition share {v:.1%} > {lim:.0%}", "rebuild ratio {v:.2f} > {lim:g}", "; "),
}


def policy_checks(
    stats: pd.DataFrame,
    *,
    max_demolition_share: float = MAX_DEMOLITION_SHARE,
    max_rebuild_ratio: float = MAX_REBUILD_RATIO,
    lang: str | None = None,
) -> pd.DataFrame:
    """
    Add the 63号文 indicators and their violations to a `zone_stats` table.

    MOHURD 建科〔2021〕63号 (DOMAIN.md §2) limits, per renewal unit, the demolished floor area
    to 20 % of the unit's existing floor area — illegal structures and C/D dangerous
    buildings are exempt, so ``demolition_share = (demolish_floor_area_m2 −
    exempt_floor_area_m2) ÷ floor_area_m2`` — and the 拆建比 ``rebuild_ratio =
    planned_floor_area_m2 ÷ demolish_floor_area_m2`` to 2. A ratio whose denominator is 0
    is NaN (nothing to limit). Limits are checked on the group rows only: the outside,
    missing and total rows get indicators but no violations.

    Parameters
    ----------
    stats
        A table from `zone_stats` with ``floor_area_m2`` and ``demolish_floor_area_m2``
        (``exempt_floor_area_m2`` and ``planned_floor_area_m2`` when available).
    max_demolition_share
        Limit of the demolition share (fraction).
    max_rebuild_ratio
        Limit of the 拆建比.
    lang
        Language of the ``violations`` texts (``"zh"`` or ``"en"``); defaults to
        `settings.lang`.

    Returns
    -------
    checked
        A copy of `stats` with ``demolition_share``, ``rebuild_ratio`` (when planned floor
        area is known) and ``violations`` (the broken limits in words, "" if none).

    Raises
    ------
    SchemaError
        If `stats` lacks the floor-area columns.

    Examples
    --------
    >>> import pandas as pd
    >>> stats = pd.DataFrame({"floor_area_m2": [1000.0, 1000.0],
    ...     "demolish_floor_area_m2": [300.0, 100.0], "exempt_floor_area_m2": [0.0, 0.0],
    ...     "planned_floor_area_m2": [400.0, 500.0]}, index=["A", "B"])
    >>> policy_checks(stats, lang="en")["violations"].tolist()
    ['demolition share 30.0% > 20%', 'rebuild ratio 5.00 > 2']
    """
    lang = check_lang(lang)
    if lang not in _VIOLATION_TEXT:
        msg = f"unknown `lang={lang!r}`; use 'zh' or 'en'."
        raise InputError(msg)
    need = [c for c in ("floor_area_m2", "demolish_floor_area_m2") if c not in stats.columns]
    if need:
        msg = (
            f"`stats` lacks {need}; compute it with `zone_stats` on parcels that have "
            f"`floor_area` and `category` columns."
        )
        raise SchemaError(msg)
    out = stats.copy()
    floor = out["floor_area_m2"].to_numpy(dtype=float)
    demolished = out["demolish_floor_area_m2"].to_numpy(dtype=float)
    exempt = (
        out["exempt_floor_area_m2"].to_numpy(dtype=float)
        if "exempt_floor_area_m2" in out.columns
        else np.zeros(len(out))
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(floor > 0, (demolished - exempt) / floor, np.nan)
    out["demolition_share"] = share
    ratio = None
    if "planned_floor_area_m2" in out.columns:
        planned = out["planned_floor_area_m2"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(demolished > 0, planned / demolished, np.nan)
        out["rebuild_ratio"] = ratio
    share_t, ratio_t, sep = _VIOLATION_TEXT[lang]
    texts = []
    for r, key in enumerate(out.index):
        if isinstance(key, str) and key in _RESERVED:
            texts.append("")
            continue
        broken = []
        if share[r] > max_demolition_share:
            broken.append(share_t.format(v=share[r], lim=max_demolition_share))
        if ratio is not None and ratio[r] > max_rebuild_ratio:
            broken.append(ratio_t.format(v=ratio[r], lim=max_rebuild_ratio))
        texts.append(sep.join(broken))
    out["violations"] = pd.Series(texts, index=out.index, dtype="string")
    return out
