"""
The statistics kernel: assign parcels to groups, add up their parts, build the table.

Both `geo_renewal.stats.zone_stats` (in memory) and the partitioned path
(`geo_renewal.partitioned`) run these steps; the partitioned path adds the `_Sums` of its
partitions before `_finish`. Nothing here reads files or dispatches on the input type.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import shapely

from geo_renewal import schema
from geo_renewal._errors import ConservationError, GeoRenewalError, InputError, SchemaError
from geo_renewal._geos import map_slices, overlap_areas
from geo_renewal._roles import CLASSES_ATTR, class_table, classes_of
from geo_renewal.crs import area, to_working
from geo_renewal.policy import policy_checks
from geo_renewal.schema import (
    CATEGORIES,
    MISSING_ROW,
    OUTSIDE_ROW,
    RESERVED_ROWS,
    TOTAL_ROW,
    UNCLASSIFIED,
)

if TYPE_CHECKING:
    import geopandas as gpd

logger = logging.getLogger(__name__)


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


#: Relative tolerance of the conservation check.
_CONSERVATION_RTOL = 1e-9


#: Relative size below which an overlay piece of a parcel is rounding noise (not a sliver).
_SLIVER_RTOL = 1e-9


#: Pairs above which the apportioning work is spread over threads.
_THREAD_MIN_PAIRS = 40_000


#: The roles (`geo_renewal.schema.ROLES`) whose classes the masked sums count.
_DEMOLISH, _PROTECT, _RESETTLE = "demolish", "retain_protect", "resettlement_site"


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


@dataclass
class _Assignment:
    """Each parcel's share of each group: parcel ``p[k]`` gives ``w[k]`` of itself to ``g[k]``."""

    p: np.ndarray
    g: np.ndarray
    w: np.ndarray
    keys: list[Any]  # group keys, in row order (special rows included)
    index_name: str | None


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


@dataclass
class _ZoneSetup:
    """Zones as groups: each polygon's group, the row keys (outside last), the geometries."""

    groups: np.ndarray
    keys: list[Any]
    index_name: str | None
    geoms: np.ndarray | None


def _zone_setup(
    zones: gpd.GeoDataFrame, zone_col: str | None, wcrs: Any, overlaps: str
) -> _ZoneSetup:
    """Key the zones (one row per key, `OUTSIDE_ROW` last) and put them in the working CRS."""
    keys_s, index_name = _zone_keys(zones, zone_col)
    groups, uniq = pd.factorize(keys_s, sort=False)
    keys = list(uniq)
    _check_reserved(keys, "`zones` keys")
    geoms = None if wcrs is None else _zone_geoms(zones, wcrs, keys_s, overlaps)
    return _ZoneSetup(groups.astype(np.int64), [*keys, OUTSIDE_ROW], index_name, geoms)


def _check_reserved(keys: list[Any], what: str) -> None:
    clash = [k for k in keys if isinstance(k, str) and k in RESERVED_ROWS]
    if clash:
        msg = (
            f"{what} uses the reserved row label(s) {clash}; rename them, because "
            f"{list(RESERVED_ROWS)} label the total, outside and missing rows."
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
        points = np.concatenate(
            map_slices(
                n,
                lambda s: shapely.point_on_surface(parcel_geoms[s]),
                threads=threads if n >= _THREAD_MIN_PAIRS else 1,
            )
        )
        tree = shapely.STRtree(zone_geoms)
        pi, zi = tree.query(points, predicate="intersects")
        group = np.full(n, outside, dtype=np.int64)
        # A point on a shared border goes to the first zone: write in reverse order.
        order = np.lexsort((-zi, pi))
        group[pi[order]] = zone_group[zi[order]]
        return np.arange(n), group, np.ones(n)

    # Reversed query: the parcels' tree asked with the zones' tiles; only parcels straddling
    # a border are intersected, with the tiles they meet (`_geos.overlap_areas`).
    tree = shapely.STRtree(parcel_geoms)
    try:
        zi, pi, inter = overlap_areas(zone_geoms, parcel_geoms, parcel_area, tree, threads=threads)
    except shapely.errors.GEOSException as e:
        bad = np.flatnonzero(~shapely.is_valid(parcel_geoms))
        rows = bad[:5].tolist()
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
        own = [str(c) for c in parcels.attrs.get(CLASSES_ATTR, {})]  # a rule set's, in its order
        first = own or list(CATEGORIES)
        order = first + sorted(set(observed) - set(first))
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
                f"known groups: {[k for k in keys if k not in RESERVED_ROWS][:10]}."
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
    classes: dict[str, Any] | None = None  # the classes' labels and roles (`class_table`)

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
            classes=self.classes,
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
    p, g, w, n_rows = assign.p, assign.g, assign.w, len(assign.keys)

    def gsum(values: np.ndarray) -> np.ndarray:
        return np.bincount(g, weights=values[p] * w, minlength=n_rows)

    values, absent = _parcel_values(parcels, parea, planned_col, notes)
    counted = np.bincount(g, minlength=n_rows).astype(float) if len(p) else np.zeros(n_rows)
    masked: dict[str, np.ndarray] = {}
    cross: dict[str, np.ndarray] = {}
    cross_totals: dict[str, np.ndarray] = {}
    order = None
    n_unclassified = 0
    classes = None
    if category_col in parcels.columns:
        codes, order = _categories(parcels, category_col, cat_order)
        if order[-1] == UNCLASSIFIED:
            n_unclassified = int((codes == len(order) - 1).sum())
        classes = class_table(classes_of(parcels, category_col=category_col))
        masked = _class_sums(codes, order, values, gsum, parcels=parcels, classes=classes)
        if categories and assign.index_name != category_col:
            cross, cross_totals = _cross_table(assign, codes, len(order), values)
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
        classes=classes,
    )


#: Source column -> the additive metric it gives.
_METRICS: tuple[tuple[str, str], ...] = (
    ("floor_area", "floor_area_m2"),
    ("households", "households"),
    ("population", "population"),
)


#: Additive helper value: parcels whose buildings were not surveyed (n_buildings missing).
_UNSURVEYED = "_n_unsurveyed"


def _parcel_values(
    parcels: pd.DataFrame, parea: np.ndarray, planned_col: str | None, notes: list[Any] | None
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Additive per-parcel values (area, buildings, floor area, households …) and the absent ones."""
    cols = parcels.columns

    def numeric(col: str) -> np.ndarray:
        # the warning points at the caller of zone_stats
        return _numeric(parcels, col, notes=notes, stacklevel=8)

    values: dict[str, np.ndarray] = {"area_m2": parea}
    absent: list[str] = []
    bcol = next((c for c in ("n_buildings", "building_count") if c in cols), None)
    if bcol is not None:
        # a missing count is a parcel whose buildings were not surveyed (classify marks
        # them): counted as parcels not surveyed, so a group holding one has no count
        unsurveyed = parcels[bcol].isna().to_numpy()
        values["n_buildings"] = _numeric(parcels, bcol, notes=[] if unsurveyed.any() else notes)
        values[_UNSURVEYED] = unsurveyed.astype(float)
    else:
        absent.append("n_buildings")
    for col, name in _METRICS:
        if col in cols:
            values[name] = numeric(col)
        else:
            absent.append(name)
    if planned_col is not None:
        values["planned_floor_area_m2"] = numeric(planned_col)
    return values, absent


def _class_sums(
    codes: np.ndarray,
    order: list[str],
    values: Mapping[str, np.ndarray],
    gsum: Any,
    *,
    parcels: pd.DataFrame,
    classes: Mapping[str, Mapping[str, Any]],
) -> dict[str, np.ndarray]:
    """
    Per group (and in total): demolished floor area, its exempt part, households, land by class.

    A class counts by its role (`classes`: code -> its ``role``), so a rule set's own
    拆除重建类 with ``role = "demolish"`` is demolished like 征收拆迁.
    """

    def mask_sum(mask: np.ndarray, name: str) -> np.ndarray:
        v = np.where(mask, values[name], 0.0)
        return np.append(gsum(v), v.sum())

    def is_class(role: str) -> np.ndarray:
        wanted = [i for i, c in enumerate(order) if classes.get(c, {}).get("role") == role]
        return np.isin(codes, wanted)

    masked: dict[str, np.ndarray] = {}
    demolish = is_class(_DEMOLISH)
    if "floor_area_m2" in values:
        masked["demolish_floor_area_m2"] = mask_sum(demolish, "floor_area_m2")
        exempt = _exempt(parcels)
        masked["exempt_floor_area_m2"] = mask_sum(demolish & exempt, "floor_area_m2")
    for name in ("households", "population"):
        if name in values:
            masked[f"demolish_{name}"] = mask_sum(demolish, name)
    for code, name in ((_PROTECT, "protect_area_m2"), (_RESETTLE, "resettlement_area_m2")):
        masked[name] = mask_sum(is_class(code), "area_m2")
    return masked


def _exempt(parcels: pd.DataFrame) -> np.ndarray:
    """Parcels whose demolished floor area the 63号文 limit exempts: illegal, or danger C/D."""
    exempt = np.zeros(len(parcels), dtype=bool)
    if "illegal" in parcels.columns:
        exempt |= _flag(parcels, "illegal")
    if "danger_grade" in parcels.columns:
        grade = parcels["danger_grade"].astype("string").str.strip().str.upper()
        exempt |= grade.isin(["C", "D"]).fillna(False).to_numpy(dtype=bool)
    return exempt


def _cross_table(
    assign: _Assignment, codes: np.ndarray, n_cat: int, values: Mapping[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Group × category sums of land and households, and their per-category totals."""
    p, g, w, n_rows = assign.p, assign.g, assign.w, len(assign.keys)
    key = g * n_cat + codes[p]
    cross: dict[str, np.ndarray] = {}
    totals: dict[str, np.ndarray] = {}
    for name in ("area_m2", "households"):
        if name in values:
            c = np.bincount(key, weights=values[name][p] * w, minlength=n_rows * n_cat)
            cross[name] = c.reshape(n_rows, n_cat)
            totals[name] = np.bincount(codes, weights=values[name], minlength=n_cat)
    return cross, totals


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
        if _UNSURVEYED in rows:  # 未调查, not 0: see `_parcel_values`
            unsurveyed = np.append(rows[_UNSURVEYED], totals[_UNSURVEYED]) > 0
            out["n_buildings"] = np.where(unsurveyed, np.nan, out["n_buildings"])
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
    if sums.classes is not None:
        stats.attrs[CLASSES_ATTR] = sums.classes  # tables label the classes by their names
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


def _project(geometry: gpd.GeoSeries, wcrs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Parcel geometries in the working CRS, their planar areas and their areas in m².

    Planar areas give the split ratios of apportioned pieces; `crs.area` (corrected for the
    projection's scale) gives the m². Without a working CRS (no geometry) all areas are 0.
    """
    n = len(geometry)
    if wcrs is None or not n:
        return np.asarray(geometry.array, dtype=object), np.zeros(n), np.zeros(n)
    projected = to_working(geometry, crs=wcrs)
    pgeoms = np.asarray(projected.array, dtype=object)
    # `area` first: it refuses NaN, infinite and implausible coordinates (naming the rows).
    parea = np.nan_to_num(area(projected, name="parcels").to_numpy(dtype=float), nan=0.0)
    planar = np.nan_to_num(shapely.area(pgeoms), nan=0.0)
    return pgeoms, planar, parea
