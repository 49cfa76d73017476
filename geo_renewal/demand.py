"""
Resettlement demand: the households of demolition parcels per demand unit, flats and cash.

`resettlement_demand` is the demand side of `geo_renewal.resettlement.plan_resettlement`;
see the guide, ``docs/guide/resettlement.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from geo_renewal import settings
from geo_renewal._errors import InputError, SchemaError
from geo_renewal._roles import in_role, warn_unknown_classes
from geo_renewal.crs import check_crs, to_working

__all__ = ["resettlement_demand", "split_households", "whole_counts"]


def _round(x: float) -> int:
    """Round half up (2.5 → 3), as a planner rounds a count; tolerant of float noise."""
    return int(np.floor(x + 0.5 + 1e-9))


def _apportion(exact: np.ndarray, groups: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """
    Round `exact` (≥ 0) to integers whose sum in each group is its target (largest remainder).

    Each value is its floor, plus one for the largest fractional parts of its group until
    the group reaches its target (ties go to the earlier row); a target between the sum of
    the floors and the sum of the ceilings is always met.
    """
    base = np.floor(exact + 1e-9)
    frac = exact - base
    short = targets - np.bincount(groups, base, minlength=len(targets))
    order = np.lexsort((-frac, groups))
    sorted_groups = groups[order]
    first = np.searchsorted(sorted_groups, sorted_groups, side="left")
    rank = np.arange(len(order)) - first
    base[order[rank < short[sorted_groups]]] += 1
    return base.astype("int64")


def whole_counts(values: Any) -> np.ndarray:
    """
    Round apportioned counts (≥ 0) to integers that keep their rounded sum (largest remainder).

    For households split by area across renewal units: each unit gets its floor plus one for
    the largest fractional parts, so the units still add up to the (whole) total.

    Parameters
    ----------
    values
        Counts per row, ≥ 0 (fractional where apportioned).

    Returns
    -------
    counts
        int64 per row, summing to round(sum(values)) (half up).

    Examples
    --------
    >>> whole_counts([0.4, 2.3, 1.3]).tolist()  # 4.0 in all
    [1, 2, 1]
    """
    exact = np.clip(np.asarray(values, dtype=float).reshape(-1), 0.0, None)
    return _apportion(exact, np.zeros(len(exact), dtype="int64"), np.array([_round(exact.sum())]))


def _group_codes(groups: Any) -> np.ndarray:
    """Codes 0..k-1 of group labels in their sorted text order (a missing label is its own)."""
    g = np.asarray(groups, dtype=object)
    codes, uniques = pd.factorize(np.where(pd.isna(g), "", g))
    rank = np.empty(len(uniques), dtype="int64")
    rank[np.argsort(np.asarray(uniques, dtype=object).astype(str), kind="stable")] = np.arange(
        len(uniques)
    )
    return rank[codes]


def split_households(
    households: Any,
    cash_share: Any,
    *,
    groups: Any = None,
    surveyed: Any = None,
) -> np.ndarray:
    """
    Return the whole households taking cash per row; the others take a flat.

    The expected ``households × cash_share`` of the rows without a survey count are rounded
    by the largest-remainder method: the district total of cash households is
    round(Σ households × cash_share) exactly, and with `groups` (e.g. the project of each
    building) every group gets the rounded share of that total first, then its rows. A
    survey count (`surveyed`, NaN where none) takes precedence for its row. In every row
    ``cash + flat == households`` (flat = households − cash).

    Parameters
    ----------
    households
        Households per row (unit, project or building), ≥ 0.
    cash_share
        The share taking cash (货币化安置比例), one number or one per row, 0–1.
    groups
        Optional group label per row: the total is apportioned to the groups (ties to the
        smaller label), then within each group (ties to the earlier row).
    surveyed
        Optional cash households from a household survey per row (NaN: not surveyed).

    Returns
    -------
    cash
        Integer cash households per row (int64).

    Raises
    ------
    ConservationError
        If the rounding lost or made a household (a bug: report it with the input).

    Examples
    --------
    >>> split_households([7, 5, 9], 0.3).tolist()  # 2.1, 1.5, 2.7: 6.3 → 6 in all
    [2, 1, 3]
    >>> split_households([5, 5, 5], 0.5).tolist()  # 2.5 each: 7.5 → 8, ties to the first
    [3, 3, 2]
    >>> split_households([4, 6, 10], 0.3, groups=["A", "A", "B"], surveyed=[np.nan, np.nan, 9]).tolist()
    [1, 2, 9]
    """
    from geo_renewal._errors import ConservationError

    hh = np.asarray(households, dtype=float).reshape(-1)
    share = np.broadcast_to(np.asarray(cash_share, dtype=float), hh.shape)
    given = (
        np.full(hh.shape, np.nan)
        if surveyed is None
        else np.asarray(pd.to_numeric(pd.Series(surveyed), errors="coerce"), dtype=float)
    )
    has = np.isfinite(given)
    exact = np.where(has, 0.0, np.clip(hh * share, 0.0, None))
    codes = np.zeros(len(hh), dtype="int64") if groups is None else _group_codes(groups)
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    per_group = np.bincount(codes, exact, minlength=n_groups)
    targets = _apportion(
        per_group, np.zeros(n_groups, dtype="int64"), np.array([_round(exact.sum())])
    )
    cash = _apportion(exact, codes, targets)
    cash = np.where(has, np.clip(np.round(given), 0, np.floor(hh + 1e-9)), cash).astype("int64")
    if cash[~has].sum() != _round(exact.sum()) or (cash > np.ceil(hh - 1e-9)).any():
        msg = (
            f"splitting {hh.sum():g} households into cash and flats lost or made households "
            f"({int(cash[~has].sum())} cash against {_round(exact.sum())} expected); this is a "
            f"bug, please report it with the input."
        )
        raise ConservationError(msg)
    return cash


def _households(parcels: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Household count per parcel (int) and a flag where it was estimated from floor area."""
    n = len(parcels)
    hh = (
        pd.to_numeric(parcels["households"], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        if "households" in parcels.columns
        else np.full(n, np.nan)
    )
    est = np.isnan(hh)
    if est.any():
        fa = _floor_area(parcels)
        hh = np.where(est, fa / settings.floor_area_per_household, hh)
    hh = np.where(np.isnan(hh), 0.0, hh)
    if (hh < 0).any():
        rows = list(parcels.index[hh < 0][:5])
        msg = f"`households` must be ≥ 0; demolition parcels {rows} hold negative counts."
        raise InputError(msg)
    return np.round(hh).astype("int64"), est


def _floor_area(parcels: pd.DataFrame) -> np.ndarray:
    n = len(parcels)
    fa = np.full(n, np.nan)
    if "floor_area" in parcels.columns:
        fa = pd.to_numeric(parcels["floor_area"], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
    if {"footprint_area", "floors"} <= set(parcels.columns):
        fp = pd.to_numeric(parcels["footprint_area"], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        fl = pd.to_numeric(parcels["floors"], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        fa = np.where(np.isnan(fa), fp * fl, fa)
    return fa


def _unit_labels(classified: gpd.GeoDataFrame, by: str, zone_dist: float) -> pd.Series:
    if by in classified.columns:
        return classified[by]
    if by == "zone_id":
        from geo_renewal.classify import zone_labels

        return zone_labels(classified, dist=zone_dist)
    msg = (
        f"`demand_by` column {by!r} is not in `classified` (columns: "
        f"{[c for c in classified.columns if c != classified.geometry.name]}); "
        f"use 'zone_id' (computed from the classification), 'project_id' or another column."
    )
    raise SchemaError(msg)


def resettlement_demand(
    classified: gpd.GeoDataFrame,
    *,
    by: str = "zone_id",
    cash_share: float = 0.3,
    category: str | None = None,
    planned_floor_area_col: str = "planned_floor_area",
    zone_dist: float = 30.0,
) -> gpd.GeoDataFrame:
    """
    Count the households of demolition parcels per demand unit and split flats from cash.

    Households taking cash are ``households × cash_share`` per unit, rounded to whole
    households by the largest-remainder method (`split_households`): the district total of
    cash households is ``round(total × cash_share)``, and in every unit
    ``flat_households + cash_households == households`` exactly.

    Parameters
    ----------
    classified
        Parcels with a ``category`` column (`classify_parcels` output), ``households``
        and, where counts are missing, ``floor_area`` (or ``footprint_area`` × ``floors``)
        to estimate them with `settings.floor_area_per_household`.
    by
        Column naming the demand unit: ``"zone_id"`` (renewal zone; computed with
        `geo_renewal.classify.zone_labels` when the column is missing), ``"project_id"``
        or any other column. A parcel with an empty label becomes a unit of its own
        (id ``"<parcel_id>"``), so no household is lost.
    cash_share
        Share of households taking cash compensation instead of a flat, 0–1 (default 0.3).
    category
        Category code whose parcels are demolished; default: every class whose role is
        ``demolish`` (征收拆迁, a rule set's 拆除重建类, see
        `geo_renewal.rules.classes_with_role`).
    planned_floor_area_col
        Column with the planned (new) floor area of a parcel, m²; summed per unit for the
        拆建比 (DOMAIN.md §2) where present.
    zone_dist
        Gap in metres bridged when renewal zones are computed (`zone_labels`).

    Returns
    -------
    demand
        GeoDataFrame, one row per unit (input CRS), with ``unit_id``, ``n_parcels``,
        ``households``, ``estimated_parcels`` (parcels whose households were estimated from
        floor area), ``cash_households``, ``flat_households``, ``demolish_floor_area_m2``,
        ``planned_floor_area_m2`` and the unit polygon (union of its demolition parcels).

    Raises
    ------
    SchemaError
        If ``category`` or the `by` column is missing.
    InputError
        If `cash_share` is outside 0–1 or household counts are negative.

    Examples
    --------
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(
    ...     {"parcel_id": ["a", "b", "c"], "category": ["demolish"] * 3,
    ...      "households": [5, 5, 5], "project_id": ["X", "Y", "Z"]},
    ...     geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10), box(40, 0, 50, 10)],
    ...     crs="EPSG:4548")
    >>> d = resettlement_demand(parcels, by="project_id", cash_share=0.3)
    >>> d["flat_households"].tolist(), d["cash_households"].tolist()  # cash 1.5 each → 5 in all
    ([3, 3, 4], [2, 2, 1])
    """
    return _count_demand(
        classified,
        by=by,
        cash_share=cash_share,
        category=category,
        planned_floor_area_col=planned_floor_area_col,
        zone_dist=zone_dist,
    ).frame()


@dataclass
class _Demand:
    """
    The demand units as a table, and what their polygons are made of (not yet dissolved).

    `frame` dissolves the demolition parcels into one polygon per unit (the GeoDataFrame of
    `resettlement_demand`); `centroids` gives the unit centroids without any dissolve.
    """

    table: pd.DataFrame  #: one row per unit: the columns of `resettlement_demand`, no geometry
    rows: np.ndarray  #: positions (in `classified`) of the demolition parcels
    codes: np.ndarray  #: per demolition parcel: its unit's position in `table`
    geoms: np.ndarray  #: the demolition parcels' geometries (input CRS)
    crs: Any
    notes: list[str] = field(default_factory=list)

    def frame(self) -> gpd.GeoDataFrame:
        """Return the units with their polygons (union of each unit's demolition parcels)."""
        geoms = _union_by(self.geoms, self.codes, len(self.table))
        demand = gpd.GeoDataFrame(self.table.copy(), geometry=geoms, crs=self.crs)
        demand.attrs["notes"] = list(self.notes)
        return demand

    def centroids(self, crs: Any) -> tuple[np.ndarray, np.ndarray]:
        """
        Area-weighted centroid (x, y in `crs`) of each unit's demolition parcels.

        Equal to the centroid of the unit's polygon where its parcels do not overlap, at the
        cost of one centroid and one area per parcel (no dissolve). A unit whose parcels have
        no area gets the mean of their centroids; a unit of empty geometries gets NaN.
        """
        geoms = np.asarray(
            to_working(gpd.GeoSeries(self.geoms, crs=self.crs), crs=crs).array, dtype=object
        )
        return _weighted_centroids(geoms, self.codes, len(self.table))


def _weighted_centroids(
    geoms: np.ndarray, codes: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """
    Area-weighted centroid (x, y) of the geometries of each group 0..n-1.

    Examples
    --------
    >>> from shapely import box
    >>> x, y = _weighted_centroids(
    ...     np.array([box(0, 0, 2, 2), box(2, 0, 4, 1), box(9, 9, 9, 9)]), np.array([0, 0, 1]), 2)
    >>> [round(float(v), 4) for v in (x[0], y[0], x[1], y[1])]
    [1.6667, 0.8333, 9.0, 9.0]
    """
    c = shapely.centroid(geoms)
    cx, cy = shapely.get_x(c), shapely.get_y(c)
    ok = np.isfinite(cx) & np.isfinite(cy)
    ref = (float(cx[ok].mean()), float(cy[ok].mean())) if ok.any() else (0.0, 0.0)
    dx, dy = np.where(ok, cx - ref[0], 0.0), np.where(ok, cy - ref[1], 0.0)
    a = np.where(ok, shapely.area(geoms), 0.0)
    sum_a = np.bincount(codes, a, minlength=n)
    cnt = np.bincount(codes, ok.astype(float), minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        wx = np.bincount(codes, a * dx, minlength=n) / sum_a
        wy = np.bincount(codes, a * dy, minlength=n) / sum_a
        mx = np.bincount(codes, dx, minlength=n) / cnt  # no area: the mean centroid
        my = np.bincount(codes, dy, minlength=n) / cnt
    flat = sum_a <= 0
    x = np.where(flat, mx, wx) + ref[0]
    y = np.where(flat, my, wy) + ref[1]
    return x, y


def _count_demand(
    classified: gpd.GeoDataFrame,
    *,
    by: str = "zone_id",
    cash_share: float = 0.3,
    category: str | None = None,
    planned_floor_area_col: str = "planned_floor_area",
    zone_dist: float = 30.0,
) -> _Demand:
    """
    Count the demand of `resettlement_demand` without dissolving the unit polygons.

    The arguments are those of `resettlement_demand`; ``_count_demand(...).frame()`` is its
    result. `geo_renewal.resettlement.plan_resettlement` uses the table and the
    area-weighted centroids, and dissolves the polygons only when they are read.

    Examples
    --------
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(
    ...     {"category": ["demolish"] * 2, "households": [4, 6], "project_id": ["X", "X"]},
    ...     geometry=[box(0, 0, 10, 10), box(10, 0, 30, 10)], crs="EPSG:4548")
    >>> d = _count_demand(parcels, by="project_id")
    >>> d.table[["unit_id", "households", "flat_households"]].to_numpy().tolist()
    [['X', 10, 7]]
    >>> d.frame().area.tolist()
    [300.0]
    """
    check_crs(classified, "classified")
    if "category" not in classified.columns:
        msg = "`classified` has no 'category' column; run `classify_parcels` first."
        raise SchemaError(msg)
    if not (0.0 <= cash_share <= 1.0):
        msg = f"`cash_share` must be between 0 and 1 (share taking cash), got {cash_share!r}."
        raise InputError(msg)
    labels = _unit_labels(classified, by, zone_dist)
    if category is None:  # the classes that mean demolition (拆除重建类 …)
        warn_unknown_classes(classified, stacklevel=4)
        is_demo = in_role(classified, "demolish")
    else:
        is_demo = (
            (classified["category"].astype("string") == category).fillna(False).to_numpy(bool)
        )
    parcels = classified.loc[is_demo]
    lab = labels.loc[parcels.index]
    if lab.isna().any():
        pid = (
            parcels["parcel_id"].astype("string")
            if "parcel_id" in parcels.columns
            else pd.Series(parcels.index.astype(str), index=parcels.index)
        )
        lab = lab.astype(object).where(lab.notna(), pid.astype(object))
    hh, est = _households(parcels)
    frame = pd.DataFrame(
        {
            "unit_id": lab.to_numpy(dtype=object),
            "households": hh,
            "estimated": est.astype("int64"),
            "fa": _floor_area(parcels),
            "planned": _planned(parcels, planned_floor_area_col),
        }
    )
    out = _unit_table(frame, cash_share)
    codes = pd.Index(out["unit_id"]).get_indexer(frame["unit_id"])
    notes = []
    if est.any():
        notes.append(
            f"households of {int(est.sum())} demolition parcels were estimated from floor area "
            f"({settings.floor_area_per_household:g} m² per household)"
        )
    return _Demand(
        table=out,
        rows=np.flatnonzero(is_demo),
        codes=codes,
        geoms=parcels.geometry.to_numpy(),
        crs=classified.crs,
        notes=notes,
    )


def _planned(parcels: pd.DataFrame, col: str) -> np.ndarray:
    if col not in parcels.columns:
        return np.full(len(parcels), np.nan)
    return pd.to_numeric(parcels[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _unit_table(frame: pd.DataFrame, cash_share: float) -> pd.DataFrame:
    """Sum the parcels of `frame` per unit and split flats from cash (largest remainder)."""
    grouped = frame.groupby("unit_id", sort=True, dropna=False)
    out = pd.DataFrame(
        {
            "n_parcels": grouped.size(),
            "households": grouped["households"].sum(),
            "estimated_parcels": grouped["estimated"].sum(),
            "demolish_floor_area_m2": grouped["fa"].sum(min_count=1),
            "planned_floor_area_m2": grouped["planned"].sum(min_count=1),
        }
    )
    cash = split_households(out["households"].to_numpy(dtype=float), cash_share)
    out.insert(2, "flat_households", out["households"].to_numpy() - cash)
    out.insert(2, "cash_households", cash)
    return out.reset_index()


def _union_by(geoms: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """Union of `geoms` per group code 0..n-1 (one shapely call per group)."""
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n + 1))
    out = np.empty(n, dtype=object)
    for k in range(n):
        part = geoms[order[bounds[k] : bounds[k + 1]]]
        out[k] = part[0] if len(part) == 1 else _union(part)
    return out


def _union(parts: np.ndarray) -> Any:
    """
    Return the union of `parts`: the cheapest exact route for parcels.

    Parcels whose bounding boxes meet no other's are the union as they are (a MultiPolygon
    of them). Parcels of a cadastre tile the ground (shared edges, no overlaps): their coverage
    union merges them some 15 times faster than `shapely.union_all`, and is taken when it is
    valid and its area is the sum of the parts' areas (no overlap); otherwise, e.g. for
    overlapping or badly noded parcels, the exact `shapely.disjoint_subset_union_all`.
    """
    polys = shapely.get_parts(parts)
    polys = polys[~(shapely.is_missing(polys) | shapely.is_empty(polys))]
    if (
        len(polys) and shapely.get_type_id(polys).max() == 3
    ):  # polygons only, no two boxes meet: disjoint
        a, b = shapely.STRtree(polys).query(shapely.envelope(polys))
        if not (a != b).any():
            return shapely.multipolygons(polys)
    try:
        union = shapely.coverage_union_all(parts)
    except shapely.errors.GEOSException:
        union = None
    if union is not None and shapely.is_valid(union):
        total = float(shapely.area(parts).sum())
        if abs(float(shapely.area(union)) - total) <= 1e-9 * max(total, 1.0):
            return union
    return shapely.disjoint_subset_union_all(parts)
