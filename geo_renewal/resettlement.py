"""
Resettlement planning: site suitability, capacity, demand and a capacity-constrained allocation.

Every household of a demolition (`demolish`) parcel either takes cash compensation or needs
a resettlement flat. This module answers, for the district's candidate sites:

* `site_capacity` — flats and persons a site holds (DOMAIN.md §3)::

      units = site_area × FAR × residential_share × efficiency ÷ unit_floor_area

  floored to whole flats (FAR 2.5, residential share 0.9, efficiency 0.8, 90 m² per flat
  by default; a site layer's own ``far`` column overrides FAR row by row);
* `site_suitability` — which checks a site passes (size, outside heritage and ecological
  zones, flood depth, distance to constraint layers), why, and its capacity;
* `resettlement_demand` — flat households per demand unit (renewal zone, project, any
  column) after the cash-compensation share, rounded to whole households without losing any;
* `plan_resettlement` — the allocation of demand units to sites that minimises the
  household-weighted distance with capacities respected (HiGHS through
  `scipy.optimize.milp`), the flows for the map, unmet demand with reasons, and the
  就地就近安置率 (on-site-or-nearby resettlement rate) against the 50 % line of
  MOHURD 建科〔2021〕63号 (DOMAIN.md §2) next to the district's preference for a few
  concentrated sites: both are computed and reported, neither is silently preferred.

Distances are straight lines in the working CRS (metres), from a unit's centroid to a
site's representative point. Outputs keep the input CRS.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from geo_renewal import settings
from geo_renewal._checks import check_lang
from geo_renewal._errors import InputError, SchemaError
from geo_renewal.crs import check_crs, check_same_crs, to_working, working_crs
from geo_renewal.stats import MAX_REBUILD_RATIO

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "REASONS",
    "ResettlementPlan",
    "plan_resettlement",
    "resettlement_demand",
    "site_capacity",
    "site_suitability",
]

logger = logging.getLogger(__name__)

#: Minimum 就地就近安置率 per renewal unit (DOMAIN.md §2, 建科〔2021〕63号).
NEARBY_RATE_MIN = 0.5

#: Why demand stays unmet: code -> (zh, en).
REASONS: dict[str, tuple[str, str]] = {
    "no_sites": ("没有可用的安置地块", "no usable resettlement site"),
    "beyond_max_dist": (
        "所有安置地块均超出最大安置距离",
        "every usable site is beyond max_dist",
    ),
    "own_site_excluded": (
        "距离内仅有本单元内的地块（exclude_on_site 已排除）",
        "the only sites within reach lie inside the unit (excluded by exclude_on_site)",
    ),
    "no_capacity": ("可达安置地块容量不足", "the sites within reach are full"),
}


def _check_positive(name: str, value: float, *, upper: float | None = None) -> None:
    if not np.isfinite(value) or value <= 0 or (upper is not None and value > upper):
        rng = f"in (0, {upper}]" if upper is not None else "> 0"
        msg = f"`{name}` must be a number {rng}, got {value!r}."
        raise InputError(msg)


# --------------------------------------------------------------------------- capacity


def site_capacity(
    sites: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    far: float = 2.5,
    residential_share: float = 0.9,
    efficiency: float = 0.8,
    unit_floor_area: float = 90.0,
    persons_per_household: float | None = None,
    far_col: str = "far",
) -> pd.DataFrame:
    """
    Compute how many resettlement flats and persons each site holds (DOMAIN.md §3).

    ``units = floor(site_area × FAR × residential_share × efficiency ÷ unit_floor_area)``,
    one household per flat; ``persons = round(units × persons_per_household)``. The site
    area is measured in the working CRS.

    Parameters
    ----------
    sites
        Site polygons with a CRS.
    far
        Floor area ratio (容积率) where the site has no own value (default 2.5, high-rise).
    residential_share
        Share of the floor area that is housing (default 0.9; the rest is shops and
        services).
    efficiency
        Usable share of the residential floor area (得房率, default 0.8).
    unit_floor_area
        Gross floor area of one resettlement flat in m² (default 90).
    persons_per_household
        Persons per flat; defaults to `settings.persons_per_household` (3.2).
    far_col
        Column of `sites` holding a site's own FAR; where present and not null it
        overrides `far` row by row.

    Returns
    -------
    capacity
        DataFrame aligned on `sites.index` with ``area_m2`` (m²), ``far`` (the value
        used), ``residential_floor_area`` (m²), ``capacity_units`` (flats, int) and
        ``capacity_persons`` (int).

    Raises
    ------
    InputError
        If a parameter is not positive, a share is above 1 or `far_col` holds a
        non-positive value.

    See Also
    --------
    site_suitability : Checks and capacity together.

    Examples
    --------
    >>> from shapely import box
    >>> sites = gpd.GeoDataFrame(geometry=[box(500_000, 4_063_000, 500_100, 4_063_100)],
    ...                          crs="EPSG:4548")
    >>> cap = site_capacity(sites)
    >>> int(cap["capacity_units"].iloc[0])  # 10 000 m² × 2.5 × 0.9 × 0.8 / 90
    200
    >>> int(cap["capacity_persons"].iloc[0])
    640
    """
    _check_positive("far", far)
    _check_positive("residential_share", residential_share, upper=1.0)
    _check_positive("efficiency", efficiency, upper=1.0)
    _check_positive("unit_floor_area", unit_floor_area)
    pph = (
        settings.persons_per_household if persons_per_household is None else persons_per_household
    )
    _check_positive("persons_per_household", pph)
    check_crs(sites, "sites")
    geoms = sites.geometry if hasattr(sites, "geometry") else sites
    site_area = np.asarray(to_working(geoms).area, dtype=float)
    far_used = np.full(len(sites), float(far))
    if isinstance(sites, gpd.GeoDataFrame) and far_col in sites.columns:
        own = pd.to_numeric(sites[far_col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.isfinite(own) & (own <= 0)
        if bad.any():
            rows = list(sites.index[bad][:5])
            msg = (
                f"`sites[{far_col!r}]` must be > 0 where given; rows {rows} hold "
                f"{list(own[bad][:5])}. Fix the values or blank them to use far={far}."
            )
            raise InputError(msg)
        far_used = np.where(np.isfinite(own), own, far_used)
    residential = site_area * far_used * residential_share * efficiency
    units = np.floor(residential / unit_floor_area + 1e-9).astype("int64")
    persons = np.round(units * pph).astype("int64")
    return pd.DataFrame(
        {
            "area_m2": site_area,
            "far": far_used,
            "residential_floor_area": residential,
            "capacity_units": units,
            "capacity_persons": persons,
        },
        index=sites.index,
    )


# --------------------------------------------------------------------------- suitability

_CHECK_TEXT = {
    "size": ("面积", "area"),
    "heritage": ("文保范围", "heritage zone"),
    "ecology": ("生态带", "ecological belt"),
    "flood": ("淹没深度", "flood depth"),
    "distance": ("与管控要素距离", "distance to"),
    "not_checked": ("未检查", "not checked"),
}


def _as_names(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def site_suitability(
    sites: gpd.GeoDataFrame,
    *,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    rasters: Mapping[str, Any] | None = None,
    min_area: float = 5000.0,
    heritage: str | tuple[str, ...] | None = ("heritage_core", "heritage_control"),
    ecology: str | tuple[str, ...] | None = ("eco_belt", "ecological_belt"),
    max_constraint_share: float = 0.01,
    flood: str | None = "flood_depth",
    max_flood_depth: float = 0.5,
    max_flood_share: float = 0.05,
    min_dist: Mapping[str, float] | None = None,
    lang: str | None = None,
    **capacity: Any,
) -> gpd.GeoDataFrame:
    """
    Explain, site by site, which suitability checks pass, and give its capacity.

    Checks (each a nullable boolean column; null means "not checked" because the layer or
    raster was not given):

    * ``ok_size``: site area ≥ `min_area` (m², working CRS);
    * ``ok_heritage``: less than `max_constraint_share` of the site inside the `heritage`
      layers (core protection zone and construction-control zone, DOMAIN.md §1);
    * ``ok_ecology``: less than `max_constraint_share` inside the `ecology` layers;
    * ``ok_flood``: at most `max_flood_share` of the site's pixels of raster `flood` deeper
      than `max_flood_depth` (no pixel under the site counts as dry);
    * ``ok_distance``: at least `min_dist[name]` metres from every feature of layer `name`.

    The defaults are those of the bundled rule set (``rules/default.toml``), so a
    ``resettlement_site`` parcel of the default classification passes them.

    ``suitable`` is True when no checked test fails. ``checks`` spells every test out with
    its measured value (✓ pass, ✗ fail, – not checked) in `lang`.

    Parameters
    ----------
    sites
        Candidate site polygons with a CRS.
    layers
        Constraint layers by name (as for `classify_parcels`); a layer in another CRS is
        reprojected, as `geo_renewal.spatial` does.
    rasters
        Rasters by name: paths to GeoTIFFs (as for `classify_parcels`). Pixels follow
        `geo_renewal.raster.zonal_stats` (centre rule, touched pixels for small sites).
    min_area
        Smallest usable site in m² (default 5 000 m², 7.5 亩).
    heritage, ecology
        Names in `layers` of heritage protection and ecological zones (those of the sample
        district by default). When none of them is in `layers` the check is left unchecked
        (null) and ``checks`` says so.
    max_constraint_share
        Share of the site's area (0–1) tolerated inside those zones (default 0.01).
    flood
        Name in `rasters` of the flood-depth raster (metres).
    max_flood_depth
        Flood depth in metres above which a pixel counts as flooded (default 0.5).
    max_flood_share
        Largest tolerated share of flooded pixels (default 0.05).
    min_dist
        ``{layer name: metres}`` minimum distances to constraint layers, e.g.
        ``{"river": 50}``.
    lang
        Language of ``checks``: ``"zh"`` or ``"en"``; defaults to `settings.lang`.
    **capacity
        Keywords for `site_capacity` (``far``, ``residential_share``, ``efficiency``,
        ``unit_floor_area``, ``persons_per_household``, ``far_col``).

    Returns
    -------
    suitability
        A copy of `sites` (same index and columns) with ``area_m2``, measured values
        (``heritage_share``, ``ecology_share``, ``flood_depth_max``, ``flood_share``,
        ``dist_<name>``), the
        ``ok_*`` columns, ``suitable``, ``checks``, and the capacity columns of
        `site_capacity` (an existing ``capacity_units`` column is kept as the planned
        capacity and ``capacity_persons`` derived from it).

    Raises
    ------
    InputError
        If a named layer or raster is missing where the caller asked for it explicitly
        (`min_dist`), or a threshold is invalid.
    CRSError
        If `sites` or a layer has no CRS.

    See Also
    --------
    site_capacity : The capacity formula alone.
    plan_resettlement : Allocate households to suitable sites.

    Examples
    --------
    >>> from shapely import box
    >>> sites = gpd.GeoDataFrame(
    ...     {"site_id": ["S1", "S2"]},
    ...     geometry=[box(0, 0, 100, 100), box(200, 0, 240, 40)], crs="EPSG:4548")
    >>> heritage = gpd.GeoDataFrame(geometry=[box(50, 50, 150, 150)], crs="EPSG:4548")
    >>> suit = site_suitability(sites, layers={"heritage_core": heritage}, lang="en")
    >>> suit[["ok_size", "ok_heritage", "suitable"]].to_numpy().tolist()
    [[True, False, False], [False, True, False]]
    >>> print(suit["checks"].iloc[1])
    ✗ area 1600 m² < 5000 m²; ✓ heritage zone 0 % < 1 %; – ecological belt not checked (no layer 'eco_belt', 'ecological_belt'); – flood depth not checked (no raster 'flood_depth')
    """
    lang = check_lang(lang)
    li = 0 if lang == "zh" else 1
    check_crs(sites, "sites")
    layers = dict(layers or {})
    rasters = dict(rasters or {})
    _check_positive("min_area", min_area)
    if not np.isfinite(max_flood_depth) or max_flood_depth < 0:
        msg = f"`max_flood_depth` must be a number ≥ 0 (metres), got {max_flood_depth!r}."
        raise InputError(msg)
    for name, value in (
        ("max_constraint_share", max_constraint_share),
        ("max_flood_share", max_flood_share),
    ):
        if not (0.0 <= value <= 1.0):
            msg = f"`{name}` must be a share between 0 and 1, got {value!r}."
            raise InputError(msg)
    min_dist = dict(min_dist or {})
    missing = [k for k in min_dist if k not in layers]
    if missing:
        msg = (
            f"`min_dist` names layers {missing} that are not in `layers` "
            f"(given: {sorted(layers)}); pass them as layers={{name: GeoDataFrame}}."
        )
        raise InputError(msg)

    out = sites.copy()
    n = len(out)
    texts: list[list[str]] = [[] for _ in range(n)]
    nc = _CHECK_TEXT["not_checked"][li]

    cap = _capacity_table(sites, capacity)
    area = cap["area_m2"].to_numpy()
    out["area_m2"] = area
    ok_size = area >= min_area
    out["ok_size"] = pd.array(ok_size, dtype="boolean")
    for k in range(n):
        sign = "≥" if ok_size[k] else "<"
        texts[k].append(
            f"{'✓' if ok_size[k] else '✗'} {_CHECK_TEXT['size'][li]} {area[k]:.0f} m² "
            f"{sign} {min_area:.0f} m²"
        )

    ok_cols = ["ok_size"]
    for key, names in (("heritage", _as_names(heritage)), ("ecology", _as_names(ecology))):
        col, share_col = f"ok_{key}", f"{key}_share"
        ok_cols.append(col)
        present = [nm for nm in names if nm in layers]
        label = _CHECK_TEXT[key][li]
        if not present:
            out[share_col] = np.nan
            out[col] = pd.array([pd.NA] * n, dtype="boolean")
            what = ", ".join(repr(nm) for nm in names) or "—"
            for k in range(n):
                if lang == "zh":
                    texts[k].append(f"– {label}{nc}（缺少图层 {what}）")
                else:
                    texts[k].append(f"– {label} {nc} (no layer {what})")
            continue
        share = np.zeros(n)
        for nm in present:
            share = np.maximum(share, _share_in(sites, layers[nm]))
        out[share_col] = share
        ok = share < max_constraint_share
        out[col] = pd.array(ok, dtype="boolean")
        lim = f"{100 * max_constraint_share:g} %"
        for k in range(n):
            sign = "<" if ok[k] else "≥"
            texts[k].append(f"{'✓' if ok[k] else '✗'} {label} {100 * share[k]:.0f} % {sign} {lim}")

    ok_cols.append("ok_flood")
    flabel = _CHECK_TEXT["flood"][li]
    if flood is not None and flood in rasters:
        depth, wet = _flood(sites, rasters[flood], max_flood_depth)
        out["flood_depth_max"] = depth
        out["flood_share"] = wet
        # no raster cell under the site (outside the raster) counts as not flooded
        ok = ~(wet > max_flood_share)
        out["ok_flood"] = pd.array(ok, dtype="boolean")
        over = "深于" if lang == "zh" else "deeper than"
        for k in range(n):
            val = "—" if np.isnan(wet[k]) else f"{100 * wet[k]:.0f} %"
            top = "—" if np.isnan(depth[k]) else f"{depth[k]:.2f} m"
            sign = "≤" if ok[k] else ">"
            texts[k].append(
                f"{'✓' if ok[k] else '✗'} {flabel} {over} {max_flood_depth:g} m: {val} "
                f"{sign} {100 * max_flood_share:g} % (max {top})"
            )
    else:
        out["flood_depth_max"] = np.nan
        out["flood_share"] = np.nan
        out["ok_flood"] = pd.array([pd.NA] * n, dtype="boolean")
        for k in range(n):
            if lang == "zh":
                texts[k].append(f"– {flabel}{nc}（缺少栅格 {flood!r}）")
            else:
                texts[k].append(f"– {flabel} {nc} (no raster {flood!r})")

    if min_dist:
        ok_all = np.ones(n, dtype=bool)
        for nm, limit in min_dist.items():
            _check_positive(f"min_dist[{nm!r}]", float(limit))
            dist = _distance_to(sites, layers[nm])
            out[f"dist_{nm}"] = dist
            ok = dist >= limit
            ok_all &= ok
            for k in range(n):
                sign = "≥" if ok[k] else "<"
                texts[k].append(
                    f"{'✓' if ok[k] else '✗'} {_CHECK_TEXT['distance'][li]} {nm} "
                    f"{dist[k]:.0f} m {sign} {float(limit):.0f} m"
                )
        out["ok_distance"] = pd.array(ok_all, dtype="boolean")
        ok_cols.append("ok_distance")

    fails = np.zeros(n, dtype=bool)
    for col in ok_cols:
        fails |= (out[col] == False).fillna(False).to_numpy(dtype=bool)  # noqa: E712
    out["suitable"] = pd.array(~fails, dtype="boolean")
    out["checks"] = pd.array(["; ".join(t) for t in texts], dtype="string")
    for col in ("far", "residential_floor_area", "capacity_units", "capacity_persons"):
        out[col] = cap[col].to_numpy()
    return out


def _capacity_table(sites: gpd.GeoDataFrame, capacity: Mapping[str, Any]) -> pd.DataFrame:
    """Capacity per site; a `capacity_units` column already on `sites` wins (planned flats)."""
    valid = {
        "far",
        "residential_share",
        "efficiency",
        "unit_floor_area",
        "persons_per_household",
        "far_col",
    }
    unknown = sorted(set(capacity) - valid)
    if unknown:
        msg = f"unknown capacity keyword(s) {unknown}; valid ones are {sorted(valid)}."
        raise InputError(msg)
    cap = site_capacity(sites, **capacity)
    if "capacity_units" in sites.columns:
        planned = pd.to_numeric(sites["capacity_units"], errors="coerce")
        given = planned.notna().to_numpy()
        if (planned[given] < 0).any():
            msg = "`sites['capacity_units']` must be ≥ 0 where given (planned flats per site)."
            raise InputError(msg)
        units = cap["capacity_units"].to_numpy()
        units = np.where(given, np.floor(planned.fillna(0).to_numpy(dtype=float)), units)
        cap["capacity_units"] = units.astype("int64")
        pph = capacity.get("persons_per_household") or settings.persons_per_household
        cap["capacity_persons"] = np.round(units * pph).astype("int64")
    return cap


# Spatial and raster measures come from geo_renewal.spatial / geo_renewal.raster (the
# classification engine): one implementation of each predicate in the toolkit.


def _share_in(sites: gpd.GeoDataFrame, layer: gpd.GeoDataFrame) -> np.ndarray:
    from geo_renewal import spatial

    return np.asarray(spatial.share_in(sites, layer), dtype=float)


def _distance_to(sites: gpd.GeoDataFrame, layer: gpd.GeoDataFrame) -> np.ndarray:
    from geo_renewal import spatial

    return np.asarray(spatial.distance_to(sites, layer), dtype=float)


def _flood(sites: gpd.GeoDataFrame, path: Any, depth: float) -> tuple[np.ndarray, np.ndarray]:
    """Deepest pixel and share of pixels deeper than `depth` per site (null off-raster)."""
    from geo_renewal.raster import zonal_stats

    table = zonal_stats(sites, path, above=[depth])
    return (
        table["max"].to_numpy(dtype=float, na_value=np.nan),
        table[f"share_above_{depth:g}"].to_numpy(dtype=float, na_value=np.nan),
    )


# --------------------------------------------------------------------------- demand


def _largest_remainder(exact: np.ndarray) -> np.ndarray:
    """Round non-negative `exact` to integers whose sum is round(sum(exact))."""
    base = np.floor(exact + 1e-9)
    frac = exact - base
    short = int(np.floor(exact.sum() + 0.5 + 1e-9) - base.sum())
    if short > 0:
        # largest fractional parts first; stable, so ties go to the earlier unit
        order = np.argsort(-frac, kind="stable")[:short]
        base[order] += 1
    return base.astype("int64")


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
    category: str = "demolish",
    planned_floor_area_col: str = "planned_floor_area",
    zone_dist: float = 30.0,
) -> gpd.GeoDataFrame:
    """
    Count the households of demolition parcels per demand unit and split flats from cash.

    Households choosing a flat are ``households × (1 − cash_share)`` per unit, rounded to
    whole households by the largest-remainder method: the district total of flat
    households is ``round(total × (1 − cash_share))``, and in every unit
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
        Category code whose parcels are demolished (default ``"demolish"``).
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
    >>> d["flat_households"].tolist(), d["cash_households"].tolist()  # 3.5 each → 11 in all
    ([4, 4, 3], [1, 1, 2])
    """
    check_crs(classified, "classified")
    if "category" not in classified.columns:
        msg = "`classified` has no 'category' column; run `classify_parcels` first."
        raise SchemaError(msg)
    if not (0.0 <= cash_share <= 1.0):
        msg = f"`cash_share` must be between 0 and 1 (share taking cash), got {cash_share!r}."
        raise InputError(msg)
    labels = _unit_labels(classified, by, zone_dist)
    is_demo = (classified["category"].astype("string") == category).fillna(False).to_numpy(bool)
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
    fa = _floor_area(parcels)
    planned = (
        pd.to_numeric(parcels[planned_floor_area_col], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        if planned_floor_area_col in parcels.columns
        else np.full(len(parcels), np.nan)
    )
    frame = pd.DataFrame(
        {
            "unit_id": lab.to_numpy(dtype=object),
            "households": hh,
            "estimated": est.astype("int64"),
            "fa": fa,
            "planned": planned,
        }
    )
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
    flats = _largest_remainder(out["households"].to_numpy(dtype=float) * (1.0 - cash_share))
    out.insert(2, "flat_households", flats)
    out.insert(2, "cash_households", out["households"].to_numpy() - flats)
    codes = pd.Index(out.index).get_indexer(frame["unit_id"])
    geoms = _union_by(parcels.geometry.to_numpy(), codes, len(out))
    out = out.reset_index()
    demand = gpd.GeoDataFrame(out, geometry=geoms, crs=classified.crs)
    notes = []
    if est.any():
        notes.append(
            f"households of {int(est.sum())} demolition parcels were estimated from floor area "
            f"({settings.floor_area_per_household:g} m² per household)"
        )
    demand.attrs["notes"] = notes
    return demand


def _union_by(geoms: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """Union of `geoms` per group code 0..n-1 (one shapely call per group)."""
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n + 1))
    out = np.empty(n, dtype=object)
    for k in range(n):
        part = geoms[order[bounds[k] : bounds[k + 1]]]
        out[k] = part[0] if len(part) == 1 else shapely.union_all(part)
    return out


# --------------------------------------------------------------------------- allocation


@dataclass
class ResettlementPlan:
    """
    The result of `plan_resettlement`.

    Attributes
    ----------
    allocation
        One row per (unit, site) pair that receives households: ``unit_id``, ``site_id``,
        ``households`` (flat households), ``dist_m``, ``on_site`` (site overlaps the unit),
        ``nearby`` (on site or within `nearby_dist`).
    sites
        Candidate sites (input CRS): ``site_id``, ``name``, ``capacity_units``,
        ``capacity_persons``, ``usable``, ``allocated_households``, ``remaining_units``,
        ``utilisation`` (allocated ÷ capacity), ``units_served`` and the suitability columns
        of `site_suitability`.
    flows
        LineStrings from a unit's centroid to the site (input CRS), one per allocation row,
        with ``unit_id``, ``site_id``, ``households``, ``dist_m``, ``nearby``.
    unmet
        Units with households left without a flat: ``unit_id``, ``flat_households``,
        ``allocated``, ``unmet``, ``reason`` (a code of `REASONS`) and ``reason_text``.
    rates
        One row per unit: households, cash and flat households, allocated, unmet, sites
        used, ``nearby_households``, ``on_site_households``, ``nearby_rate``,
        ``meets_nearby_rule`` (≥ 50 %), ``demolish_floor_area_m2``, ``planned_floor_area_m2``,
        ``rebuild_ratio`` (拆建比) and ``meets_rebuild_ratio`` (≤ 2).
    demand
        The demand units (`resettlement_demand`) with their polygons, input CRS.
    summary
        Key figures: totals, coverage, overall rate, concentration, solver figures.
    notes
        Fallbacks, estimates and warnings in plain sentences.
    solver
        ``method`` ("milp" keep-together / "lp" split), ``status``, ``message``,
        ``objective`` (household·km), ``mip_gap`` (reported by HiGHS, None for an LP),
        ``bound_gap`` (gap to the split optimum, a valid lower bound), ``time_s``,
        ``time_limit`` and ``time_limit_hit``.
    """

    allocation: pd.DataFrame
    sites: gpd.GeoDataFrame
    flows: gpd.GeoDataFrame
    unmet: pd.DataFrame
    rates: pd.DataFrame
    demand: gpd.GeoDataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    solver: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"ResettlementPlan({s.get('units', 0)} units, {s.get('flat_households', 0)} flat "
            f"households → {s.get('allocated_households', 0)} placed at "
            f"{s.get('sites_used', 0)} sites, {s.get('unmet_households', 0)} unmet, "
            f"nearby rate {s.get('nearby_rate', float('nan')):.1%})"
        )


def _pair_matrices(
    n: int, m: int, ii: np.ndarray, jj: np.ndarray, row_weight: np.ndarray
) -> tuple[Any, Any]:
    """Sparse unit rows (Σ_j var + slack) and site rows (Σ_i weight · var) over pair vars."""
    from scipy import sparse

    k = len(ii)
    a_unit = sparse.csr_array(
        (np.ones(k + n), (np.r_[ii, np.arange(n)], np.r_[np.arange(k), k + np.arange(n)])),
        shape=(n, k + n),
    )
    a_site = sparse.csr_array((row_weight, (jj, np.arange(k))), shape=(m, k + n))
    return a_unit, a_site


def _penalty(cost: np.ndarray, n: int, m: int) -> float:
    """Per-household cost of leaving demand unmet: more than any reassignment chain saves."""
    top = float(cost.max()) if len(cost) else 1.0
    return top * max(1, min(n, m)) + 1.0


def _solve_split(
    d: np.ndarray,
    cap: np.ndarray,
    ii: np.ndarray,
    jj: np.ndarray,
    cost: np.ndarray,
    *,
    time_limit: float,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Min-cost transportation with unmet slack; returns households per pair (int)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    n, m, k = len(d), len(cap), len(ii)
    t0 = time.perf_counter()
    if k == 0:
        info = {"method": "lp", "status": 0, "message": "no allowed (unit, site) pair"}
        return np.zeros(0, dtype="int64"), {**info, "time_s": 0.0, "mip_gap": None}
    pen = _penalty(cost, n, m)
    c = np.r_[cost, np.full(n, pen)]
    a_unit, a_site = _pair_matrices(n, m, ii, jj, np.ones(k))
    cons = [LinearConstraint(a_unit, d, d), LinearConstraint(a_site, -np.inf, cap)]
    bounds = Bounds(0, np.r_[d[ii], d].astype(float))
    opts = {"time_limit": float(time_limit)}
    res = milp(c, constraints=cons, bounds=bounds, options=opts)
    if res.x is not None and np.abs(res.x - np.round(res.x)).max() > 1e-6:
        # a transportation LP has integral vertices; an interior answer is re-solved as MIP
        res = milp(c, constraints=cons, bounds=bounds, integrality=np.ones(k + n), options=opts)
    if res.x is None:
        msg = f"the allocation LP failed: {res.message}"
        raise InputError(msg)
    x = np.round(res.x[:k]).astype("int64")
    info = {
        "method": "lp",
        "status": int(res.status),
        "message": str(res.message),
        "mip_gap": None,
        "time_s": time.perf_counter() - t0,
    }
    return x, info


def _top2(wf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and second-smallest value per row (inf when missing)."""
    if wf.shape[1] == 1:
        return wf[:, 0].copy(), np.full(len(wf), np.inf)
    part = np.partition(wf, 1, axis=1)
    return part[:, 0], part[:, 1]


def _greedy_together(d: np.ndarray, cap: np.ndarray, w: np.ndarray) -> np.ndarray:
    """
    Regret greedy for the generalised assignment problem (Martello & Toth).

    `w` is the n × m cost of sending unit i whole to site j (inf where forbidden). Units are
    placed one by one, the one that would lose most by missing its best site first (units
    with a single fitting site before all others), each at its cheapest site with room.
    Returns the site per unit, -1 where none has room.
    """
    n = w.shape[0]
    res = cap.astype(float).copy()
    assign = np.full(n, -1, dtype="int64")
    if w.shape[1] == 0:
        return assign
    wf = np.where(res[None, :] >= d[:, None], w, np.inf)
    wf[d <= 0] = np.inf
    best, second = _top2(wf)
    active = np.isfinite(best)
    big = np.finfo(float).max / 4
    while active.any():
        with np.errstate(invalid="ignore"):
            regret = np.where(np.isfinite(second), second - best, big)
        regret[~active] = -np.inf
        i = int(np.argmax(regret))
        j = int(np.argmin(wf[i]))
        assign[i] = j
        res[j] -= d[i]
        wf[i] = np.inf
        active[i] = False
        changed = np.flatnonzero(np.isfinite(wf[:, j]) & (d > res[j]))
        if len(changed):
            wf[changed, j] = np.inf
            best[changed], second[changed] = _top2(wf[changed])
            active[changed] = np.isfinite(best[changed])
    return assign


def _improve_together(
    d: np.ndarray, cap: np.ndarray, w: np.ndarray, assign: np.ndarray, *, deadline: float
) -> np.ndarray:
    """Local search on whole-unit assignments: insert, move, swap while anything improves."""
    n, m = w.shape
    assign = assign.copy()
    if m == 0:
        return assign
    on = assign >= 0
    res = cap - np.bincount(assign[on], weights=d[on], minlength=len(cap))
    units = np.arange(n)
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for i in range(n):
            a = assign[i]
            room = np.where(res >= d[i], w[i], np.inf)
            if a >= 0:
                room[a] = np.inf
            j = int(np.argmin(room))
            if np.isfinite(room[j]) and (a < 0 or room[j] < w[i, a] - 1e-9):
                if a >= 0:
                    res[a] += d[i]
                assign[i], res[j] = j, res[j] - d[i]
                improved = True
        for i in range(n):
            a = assign[i]
            if a < 0:
                continue
            b = np.where(assign >= 0, assign, a)
            with np.errstate(invalid="ignore"):
                gain = w[i, a] + w[units, b] - w[i, b] - w[units, a]
            ok = (b != a) & (res[a] + d[i] >= d) & (res[b] + d >= d[i]) & np.isfinite(gain)
            gain = np.where(ok, gain, 0.0)
            k = int(np.argmax(gain))
            if gain[k] > 1e-9:
                bk = assign[k]
                assign[i], assign[k] = bk, a
                res[a] += d[i] - d[k]
                res[bk] += d[k] - d[i]
                improved = True
    return assign


def _solve_together(
    d: np.ndarray,
    cap: np.ndarray,
    ii: np.ndarray,
    jj: np.ndarray,
    cost: np.ndarray,
    *,
    time_limit: float,
    mip_rel_gap: float,
    candidates: int | None,
    split: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """
    Each unit wholly to one site (or wholly unmet) where a site can hold it; households per pair.

    Units flagged in `split` (bool per unit) are split like oversized ones.

    A unit larger than every site it may use ("oversized") cannot be kept whole: it is split
    inside the same model (integer households per site), so that the rest of the plan
    leaves room for it. Two routes, the better plan wins (fewest unplaced households, then
    least household-distance): a regret greedy improved by local search (fast, no
    guarantee; oversized units then split over what is left), and the MILP solved by HiGHS
    with `time_limit` over each unit's `candidates` nearest sites that can hold it whole
    plus the site the heuristic chose (optimal within `mip_rel_gap` of that restricted
    problem when HiGHS finishes).
    """
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    n, m = len(d), len(cap)
    t0 = time.perf_counter()
    fits = (cap[jj] >= d[ii]) & (d[ii] > 0)
    keepable = np.zeros(n, dtype=bool)
    keepable[ii[fits]] = True
    if split is not None:
        keepable &= ~split
        fits &= keepable[ii]
    oversized = ~keepable & (d > 0) & np.isin(np.arange(n), ii)
    info: dict[str, Any] = {"method": "milp", "oversized": np.flatnonzero(oversized)}
    pair_of = np.full((n, m), -1, dtype="int64")
    pair_of[ii, jj] = np.arange(len(ii))

    # -- heuristic: whole units first, oversized ones split over what is left
    w = np.full((n, m), np.inf)
    w[ii[fits], jj[fits]] = d[ii[fits]] * cost[fits]
    heur = _greedy_together(d, cap, w)
    heur = _improve_together(d, cap, w, heur, deadline=t0 + max(1.0, 0.25 * time_limit))
    x_heur = np.zeros(len(ii), dtype="int64")
    placed = heur >= 0
    x_heur[pair_of[np.flatnonzero(placed), heur[placed]]] = d[placed]
    big_pairs = np.flatnonzero(oversized[ii])
    if len(big_pairs):
        used = np.bincount(jj, weights=x_heur, minlength=m).astype("int64")
        xb, _ = _solve_split(
            np.where(oversized, d, 0), cap - used, ii[big_pairs], jj[big_pairs],
            cost[big_pairs], time_limit=time_limit,
        )  # fmt: skip
        x_heur[big_pairs] = xb
    info["heuristic_s"] = time.perf_counter() - t0

    # -- MILP: binary y per (keepable unit, candidate site), integer x per oversized pair
    keep = fits.copy()
    if candidates is not None and keep.any():
        order = np.lexsort((cost, ii))
        order = order[keep[order]]
        ui = ii[order]
        first = np.searchsorted(ui, ui, side="left")
        rank = np.arange(len(order)) - first
        keep = np.zeros(len(ii), dtype=bool)
        keep[order[rank < candidates]] = True
        keep[pair_of[np.flatnonzero(placed), heur[placed]]] = True
    sel_y = np.flatnonzero(keep)
    sel_x = big_pairs
    ky, kx = len(sel_y), len(sel_x)
    info["pairs"] = ky + kx
    if ky + kx == 0:
        info |= {"status": 0, "message": "no (unit, site) pair to decide", "mip_gap": 0.0}
        info |= {"time_s": time.perf_counter() - t0, "chosen": "milp"}
        info |= {"heuristic_objective": 0.0, "milp_objective": 0.0, "mip_dual_bound": None}
        return x_heur, info
    yi, yj, yc = ii[sel_y], jj[sel_y], cost[sel_y]
    xi, xj, xc = ii[sel_x], jj[sel_x], cost[sel_x]
    pen = _penalty(cost[np.r_[sel_y, sel_x]], n, m)
    rhs = np.where(keepable, 1, np.where(oversized, d, 0)).astype(float)
    slack_cost = np.where(keepable, pen * d, pen)
    slack_ub = rhs
    c = np.r_[d[yi] * yc, xc, slack_cost]
    nv = ky + kx + n
    a_unit = sparse.csr_array(
        (np.ones(nv), (np.r_[yi, xi, np.arange(n)], np.arange(nv))), shape=(n, nv)
    )
    a_site = sparse.csr_array(
        (np.r_[d[yi].astype(float), np.ones(kx)], (np.r_[yj, xj], np.arange(ky + kx))),
        shape=(m, nv),
    )
    res = milp(
        c,
        constraints=[LinearConstraint(a_unit, rhs, rhs), LinearConstraint(a_site, -np.inf, cap)],
        bounds=Bounds(0, np.r_[np.ones(ky), d[xi].astype(float), slack_ub]),
        integrality=np.ones(nv),
        options={"time_limit": float(time_limit), "mip_rel_gap": float(mip_rel_gap)},
    )
    info |= {
        "status": int(res.status),
        "message": str(res.message),
        "mip_gap": None if res.mip_gap is None else float(res.mip_gap),
        "mip_dual_bound": None if res.mip_dual_bound is None else float(res.mip_dual_bound),
        "mip_node_count": res.mip_node_count,
        "time_s": time.perf_counter() - t0,
    }
    x_milp = None
    if res.x is not None:
        x_milp = np.zeros(len(ii), dtype="int64")
        x_milp[sel_y] = np.where(res.x[:ky] > 0.5, d[yi], 0)
        x_milp[sel_x] = np.round(res.x[ky : ky + kx]).astype("int64")

    def score(x: np.ndarray) -> tuple[int, float]:
        return int(d.sum() - x.sum()), float((x * cost).sum())

    info["heuristic_objective"] = score(x_heur)[1]
    info["milp_objective"] = None if x_milp is None else score(x_milp)[1]
    if x_milp is not None and score(x_milp) <= score(x_heur):
        info["chosen"] = "milp"
        return x_milp, info
    info["chosen"] = "local_search"
    return x_heur, info


def _max_nearby(
    d: np.ndarray, cap: np.ndarray, ii: np.ndarray, jj: np.ndarray, *, time_limit: float
) -> int:
    """Most flat households that capacities allow to place on pairs (ii, jj)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    n, m, k = len(d), len(cap), len(ii)
    if k == 0:
        return 0
    a_unit, a_site = _pair_matrices(n, m, ii, jj, np.ones(k))
    cons = [
        LinearConstraint(a_unit[:, :k], -np.inf, d),
        LinearConstraint(a_site[:, :k], -np.inf, cap),
    ]
    res = milp(
        -np.ones(k),
        constraints=cons,
        bounds=Bounds(0, d[ii].astype(float)),
        options={"time_limit": float(time_limit)},
    )
    return 0 if res.x is None else int(np.floor(-res.fun + 1e-6))


def _prepare_sites(
    classified: gpd.GeoDataFrame, sites: gpd.GeoDataFrame | None, notes: list[str]
) -> gpd.GeoDataFrame:
    if sites is None:
        cat = classified["category"].astype("string")
        sites = classified.loc[(cat == "resettlement_site").fillna(False).to_numpy(bool)]
        idcol = "site_id" if "site_id" in sites.columns else "parcel_id"
        if "site_id" not in sites.columns and "parcel_id" in sites.columns:
            sites = sites.assign(site_id=sites["parcel_id"])
        notes.append(f"{len(sites)} candidate sites taken from the classification ({idcol})")
    else:
        if not isinstance(sites, gpd.GeoDataFrame):
            msg = f"`sites` must be a GeoDataFrame of site polygons, got {type(sites).__name__}."
            raise InputError(msg)
        check_same_crs(classified, sites, ("classified", "sites"))
        sites = sites.copy()
        if "site_id" not in sites.columns and "parcel_id" in sites.columns:
            sites["site_id"] = sites["parcel_id"]
    if "site_id" not in sites.columns:
        sites = sites.assign(site_id=[f"S{k}" for k in range(len(sites))])
        notes.append("sites have no 'site_id' column: numbered S0, S1, … in row order")
    dup = sites["site_id"][sites["site_id"].duplicated()]
    if len(dup):
        msg = (
            f"`sites['site_id']` must be unique; {sorted(map(str, dup.unique()))[:5]} occur "
            f"more than once. Dissolve the duplicates or renumber them."
        )
        raise InputError(msg)
    if sites["site_id"].isna().any():
        msg = "`sites['site_id']` has empty values; give every site an id."
        raise InputError(msg)
    empty = sites.geometry.isna() | sites.geometry.is_empty
    if empty.any():
        msg = (
            f"sites {list(sites['site_id'][empty][:5])} have no geometry; "
            f"repair them with `validate_layer` or drop them."
        )
        raise InputError(msg)
    if "name" not in sites.columns:
        sites = sites.assign(name=sites["site_id"].astype("string"))
    return sites


def _on_site_pairs(
    footprints: np.ndarray, owner: np.ndarray, site_geoms: np.ndarray, n: int
) -> np.ndarray:
    """Boolean n × m: site j overlaps (positive area) a footprint of unit i."""
    m = len(site_geoms)
    on = np.zeros((n, m), dtype=bool)
    if len(footprints) == 0 or m == 0:
        return on
    tree = shapely.STRtree(footprints)
    s_idx, f_idx = tree.query(site_geoms, predicate="intersects")
    if len(s_idx):
        inter = shapely.area(shapely.intersection(site_geoms[s_idx], footprints[f_idx]))
        hit = inter > 0.01  # m²: more than touching
        on[owner[f_idx[hit]], s_idx[hit]] = True
    return on


def plan_resettlement(
    classified: gpd.GeoDataFrame,
    *,
    sites: gpd.GeoDataFrame | None = None,
    demand_by: str = "zone_id",
    cash_share: float = 0.3,
    max_dist: float | None = None,
    keep_together: bool = True,
    exclude_on_site: bool = False,
    nearby_dist: float | None = None,
    units: gpd.GeoDataFrame | None = None,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    rasters: Mapping[str, Any] | None = None,
    suitability: Mapping[str, Any] | None = None,
    only_suitable: bool = True,
    candidates: int | None = 20,
    time_limit: float = 20.0,
    mip_rel_gap: float = 0.005,
    zone_dist: float = 30.0,
    planned_floor_area_col: str = "planned_floor_area",
    lang: str | None = None,
) -> ResettlementPlan:
    """
    Allocate the flat households of demolition units to resettlement sites.

    The allocation minimises the household-weighted straight-line distance (unit centroid
    to site representative point, working CRS) with site capacities respected, after
    placing as many households as the capacities and constraints allow. With
    ``keep_together=True`` each unit goes whole to one site (a mixed-integer programme,
    HiGHS via `scipy.optimize.milp`); a unit that cannot be kept whole is then split over
    the remaining capacity, and said so in ``notes``. With ``keep_together=False`` units
    are split freely (a transportation LP, integral at its optimum).

    The 就地就近安置率 — the share of a unit's flat households placed on site (a site
    overlapping the unit) or within `nearby_dist` — is reported per unit and overall
    against the 50 % line (DOMAIN.md §2), together with the best rate the capacities allow
    and how concentrated the plan is (the district's preference). A `UserWarning` is
    raised when units fall below 50 %; the plan is not changed to meet it.

    Parameters
    ----------
    classified
        Classified parcels (`classify_parcels` output) with ``category`` and households.
    sites
        Candidate site polygons (``site_id``, optional ``name``, ``far``,
        ``capacity_units`` for planned flats), same CRS as `classified`. Default: the
        ``resettlement_site`` parcels of `classified`, one site per parcel.
    demand_by
        Column naming the demand unit; ``"zone_id"`` is computed with
        `geo_renewal.classify.zone_labels` when missing. See `resettlement_demand`.
    cash_share
        Share of households taking cash instead of a flat (default 0.3).
    max_dist
        Metres; a unit may not be sent to a site farther away (default: no limit).
    keep_together
        Send each unit's households to one site where capacities allow (default True).
    exclude_on_site
        Forbid sending a unit to a site inside its own unit (the district's "no on-the-spot
        resettlement" policy). Default False.
    nearby_dist
        Metres within which a site counts as nearby; defaults to `settings.nearby_dist`.
    units
        Polygons of the demand units with a `demand_by` column (e.g. project boundaries):
        used for the unit centroid and for "inside its own unit". Default: the union of the
        unit's demolition parcels for the centroid and every parcel carrying the unit's
        label (any category) for the on-site test.
    layers, rasters
        Constraint layers and rasters for `site_suitability`.
    suitability
        Further keywords for `site_suitability` (``min_area``, ``max_flood_depth``,
        ``max_flood_share``, ``max_constraint_share``, ``min_dist``, ``heritage``,
        ``ecology``, ``flood``, capacity keywords such as
        ``far`` or ``unit_floor_area``).
    only_suitable
        Give sites that fail a suitability check no households (default True).
    candidates
        With `keep_together`, the number of nearest sites (that can hold the unit whole)
        offered to each unit in the MILP; None offers all. Splitting always considers all.
    time_limit
        Seconds per solver call (HiGHS ``time_limit``, default 20); hitting it is reported
        in ``solver`` and ``notes``.
    mip_rel_gap
        Relative optimality gap at which the MILP stops (default 0.5 %).
    zone_dist
        Gap in metres bridged when renewal zones are computed.
    planned_floor_area_col
        Column of `classified` with the planned new floor area (m²) of a parcel, for the
        拆建比 of each unit (DOMAIN.md §2); units without it get a null ratio.
    lang
        Language of reasons (``"zh"``/``"en"``); defaults to `settings.lang`.

    Returns
    -------
    plan
        A `ResettlementPlan`; allocated + unmet equals the flat demand of every unit.

    Raises
    ------
    InputError
        On invalid parameters or sites.
    CRSError
        If `sites`, `units` or a layer has another CRS than `classified`.

    See Also
    --------
    resettlement_demand : The demand side alone.
    site_suitability : Site checks and capacity.

    Examples
    --------
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(
    ...     {"parcel_id": ["A", "B", "S"], "zone_id": ["Z1", "Z2", None],
    ...      "category": ["demolish", "demolish", "resettlement_site"],
    ...      "households": [100, 50, 0]},
    ...     geometry=[box(0, 0, 100, 100), box(1200, 0, 1300, 100),
    ...               box(200, 0, 300, 100)], crs="EPSG:4548")
    >>> plan = plan_resettlement(parcels, cash_share=0.2, lang="en")
    >>> plan.allocation[["unit_id", "site_id", "households", "dist_m"]].to_numpy().tolist()
    [['Z1', 'S', 80, 200.0], ['Z2', 'S', 40, 1000.0]]
    >>> plan.summary["nearby_rate"], plan.summary["capacity_units"]  # 1 000 m < 1 500 m
    (1.0, 200)
    """
    lang = check_lang(lang)
    li = 0 if lang == "zh" else 1
    check_crs(classified, "classified")
    nearby_dist = settings.nearby_dist if nearby_dist is None else float(nearby_dist)
    _check_positive("nearby_dist", nearby_dist)
    if max_dist is not None:
        _check_positive("max_dist", float(max_dist))
    _check_positive("time_limit", float(time_limit))
    if not (0.0 <= mip_rel_gap < 1.0):
        msg = f"`mip_rel_gap` must be in [0, 1), got {mip_rel_gap!r}."
        raise InputError(msg)
    if candidates is not None and candidates < 1:
        msg = f"`candidates` must be ≥ 1 or None (all sites), got {candidates!r}."
        raise InputError(msg)
    notes: list[str] = []

    # ---- demand
    labels = _unit_labels(classified, demand_by, zone_dist)
    if demand_by not in classified.columns:
        classified = classified.assign(**{demand_by: labels})  # a copy: computed once
    demand = resettlement_demand(
        classified,
        by=demand_by,
        cash_share=cash_share,
        zone_dist=zone_dist,
        planned_floor_area_col=planned_floor_area_col,
    )
    notes.extend(demand.attrs.get("notes", []))
    n = len(demand)
    d = demand["flat_households"].to_numpy(dtype="int64")
    wcrs = working_crs(classified)
    unit_index = pd.Index(demand["unit_id"])
    if units is not None:
        check_same_crs(classified, units, ("classified", "units"))
        if demand_by not in units.columns:
            msg = f"`units` has no {demand_by!r} column to match the demand units by."
            raise SchemaError(msg)
        uw = to_working(units, crs=wcrs)
        owner = unit_index.get_indexer(units[demand_by])
        fp, fo = uw.geometry.to_numpy()[owner >= 0], owner[owner >= 0]
        cent = np.empty(n, dtype=object)
        have = np.zeros(n, dtype=bool)
        grouped = _union_by(fp, fo, n) if n else np.empty(0, dtype=object)
        for k in range(n):
            if np.any(fo == k):
                cent[k], have[k] = shapely.centroid(grouped[k]), True
        dw = to_working(demand, crs=wcrs).geometry.to_numpy()
        cent[~have] = shapely.centroid(dw[~have])
        centroids = np.asarray(cent)
    else:
        centroids = shapely.centroid(to_working(demand, crs=wcrs).geometry.to_numpy())
        if n:
            cw = to_working(classified, crs=wcrs)
            owner_all = unit_index.get_indexer(labels.loc[cw.index])
            fp, fo = cw.geometry.to_numpy()[owner_all >= 0], owner_all[owner_all >= 0]
        else:
            fp, fo = np.empty(0, dtype=object), np.empty(0, dtype="int64")

    # ---- sites
    site_gdf = _prepare_sites(classified, sites, notes)
    suit = site_suitability(
        site_gdf, layers=layers, rasters=rasters, lang=lang, **dict(suitability or {})
    )
    m = len(suit)
    cap_all = suit["capacity_units"].to_numpy(dtype="int64")
    usable = suit["suitable"].fillna(True).to_numpy(bool) if only_suitable else np.ones(m, bool)
    if only_suitable and (~usable).any():
        bad = list(suit["site_id"][~usable].astype(str)[:10])
        notes.append(
            f"{int((~usable).sum())} sites fail a suitability check and receive no households: "
            f"{', '.join(bad)}{' …' if (~usable).sum() > 10 else ''}"
        )
    cap = np.where(usable, cap_all, 0)
    sw = to_working(suit, crs=wcrs).geometry.to_numpy()
    reps = shapely.point_on_surface(sw)

    # ---- distances and allowed pairs
    ux, uy = shapely.get_x(centroids), shapely.get_y(centroids)
    sx, sy = shapely.get_x(reps), shapely.get_y(reps)
    dist = (
        np.hypot(ux[:, None] - sx[None, :], uy[:, None] - sy[None, :])
        if n and m
        else (np.zeros((n, m)))
    )
    on_site = _on_site_pairs(fp, fo, sw, n)
    within = dist <= max_dist if max_dist is not None else np.ones((n, m), dtype=bool)
    allowed = within & (cap[None, :] > 0) & (d[:, None] > 0)
    if exclude_on_site:
        allowed &= ~on_site
    ii, jj = np.nonzero(allowed)
    cost = dist[ii, jj] / 1000.0  # km keeps the objective well scaled
    nearby = (dist <= nearby_dist) | on_site

    # ---- solve
    ref_x, ref_info = _solve_split(d, cap, ii, jj, cost, time_limit=time_limit)
    ref_km = float(d.sum() and (ref_x * cost).sum())
    if keep_together:
        kw = {"time_limit": time_limit, "mip_rel_gap": mip_rel_gap, "candidates": candidates}
        x, info = _solve_together(d, cap, ii, jj, cost, **kw)
        short = np.bincount(ii, weights=x, minlength=n) < d
        short &= ~np.isin(np.arange(n), info["oversized"])
        if short.any():
            # units the packing left out: solve again, splitting them inside the model
            x2, info2 = _solve_together(d, cap, ii, jj, cost, split=short, **kw)
            if (int(x2.sum()), -float((x2 * cost).sum())) >= (
                int(x.sum()),
                -float((x * cost).sum()),
            ):
                info2["time_s"] += info["time_s"]
                x, info = x2, info2
        if info.get("chosen") == "local_search":
            notes.append(
                f"HiGHS stopped ({info['message']}) with a plan worse than the local-search "
                f"heuristic's; the heuristic's plan is used"
            )
        big = info.pop("oversized")
        if len(big):
            ids = [str(unit_index[i]) for i in big]
            notes.append(
                f"{len(ids)} units cannot be kept whole (larger than every site they may use, "
                f"or left out when the others are packed) and are split over several sites: "
                f"{', '.join(ids[:10])}{' …' if len(ids) > 10 else ''}"
            )
        placed = np.bincount(ii, weights=x, minlength=n).astype("int64")
        rest = np.where(np.isin(np.arange(n), big), 0, d - placed)
        left = np.flatnonzero(rest > 0)
        if len(left):
            used = np.bincount(jj, weights=x, minlength=m).astype("int64")
            mask = np.isin(ii, left)
            x2, _ = _solve_split(
                rest, cap - used, ii[mask], jj[mask], cost[mask], time_limit=time_limit
            )
            if x2.sum():
                x = x.copy()
                np.add.at(x, np.flatnonzero(mask), x2)
                split_units = sorted({str(unit_index[i]) for i in ii[mask][x2 > 0]})
                notes.append(
                    f"{len(split_units)} units could not be kept whole at one site and "
                    f"were split over the remaining capacity: {', '.join(split_units[:10])}"
                    f"{' …' if len(split_units) > 10 else ''}"
                )
        info["fallback"] = bool(len(left) or len(big))
        if info.get("status") == 1:
            notes.append(
                f"the solver hit its time limit ({time_limit:g} s); the plan is the best "
                f"found, MIP gap {info.get('mip_gap')}"
            )
    else:
        x, info = ref_x, {**ref_info, "fallback": False}
    x = np.asarray(x, dtype="int64")
    km = float((x * cost).sum())
    info |= {
        "objective": km,
        "split_objective": ref_km,
        "bound_gap": (km - ref_km) / km if km > 0 else 0.0,
        "time_limit": float(time_limit),
        "time_limit_hit": info.get("status") == 1,
    }
    if keep_together:
        info["time_s"] = info.get("time_s", 0.0) + ref_info["time_s"]

    # ---- conservation
    placed = np.bincount(ii, weights=x, minlength=n).astype("int64") if n else np.zeros(0, int)
    used = np.bincount(jj, weights=x, minlength=m).astype("int64") if m else np.zeros(0, int)
    unmet_hh = d - placed
    if (unmet_hh < 0).any() or (used > cap).any() or (x < 0).any():
        msg = "internal error: the allocation breaks a demand or capacity constraint."
        raise RuntimeError(msg)
    ref_placed = int(ref_x.sum())
    if int(x.sum()) < ref_placed:
        notes.append(
            f"keeping units together leaves {ref_placed - int(x.sum())} more households "
            f"unmet than splitting would; plan with keep_together=False to place them"
        )

    # ---- tables
    pos = x > 0
    pi, pj, ph = ii[pos], jj[pos], x[pos]
    site_ids = suit["site_id"].to_numpy(dtype=object)
    allocation = pd.DataFrame(
        {
            "unit_id": unit_index.to_numpy(dtype=object)[pi],
            "site_id": site_ids[pj],
            "households": ph,
            "dist_m": np.round(dist[pi, pj], 1),
            "on_site": on_site[pi, pj],
            "nearby": nearby[pi, pj],
        }
    )
    lines = shapely.linestrings(
        np.stack(
            [np.c_[ux[pi], uy[pi]], np.c_[sx[pj], sy[pj]]],
            axis=1,
        ).reshape(-1, 2, 2)
        if len(pi)
        else np.empty((0, 2, 2))
    )
    flows = gpd.GeoDataFrame(
        allocation.drop(columns=["on_site"]),
        geometry=gpd.GeoSeries(lines, crs=wcrs).to_crs(classified.crs).to_numpy(),
        crs=classified.crs,
    )

    nearby_hh = np.bincount(pi, weights=ph * nearby[pi, pj], minlength=n).astype("int64")
    onsite_hh = np.bincount(pi, weights=ph * on_site[pi, pj], minlength=n).astype("int64")
    n_sites = np.bincount(pi, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(d > 0, nearby_hh / np.maximum(d, 1), np.nan)
        fa = demand["demolish_floor_area_m2"].to_numpy(dtype=float)
        pf = demand["planned_floor_area_m2"].to_numpy(dtype=float)
        ratio = np.where((fa > 0) & np.isfinite(pf), pf / fa, np.nan)
    rates = pd.DataFrame(
        {
            "unit_id": unit_index.to_numpy(dtype=object),
            "households": demand["households"].to_numpy(),
            "cash_households": demand["cash_households"].to_numpy(),
            "flat_households": d,
            "allocated": placed,
            "unmet": unmet_hh,
            "n_sites": n_sites,
            "kept_together": (n_sites == 1) & (unmet_hh == 0),
            "nearby_households": nearby_hh,
            "on_site_households": onsite_hh,
            "nearby_rate": rate,
            "meets_nearby_rule": pd.array(
                np.where(np.isnan(rate), None, rate >= NEARBY_RATE_MIN), dtype="boolean"
            ),
            "demolish_floor_area_m2": fa,
            "planned_floor_area_m2": pf,
            "rebuild_ratio": ratio,
            "meets_rebuild_ratio": pd.array(
                np.where(np.isnan(ratio), None, ratio <= MAX_REBUILD_RATIO),
                dtype="boolean",
            ),
        }
    )
    rates["sites"] = pd.array(
        allocation.groupby("unit_id", sort=False)["site_id"]
        .agg(lambda s: ", ".join(map(str, s)))
        .reindex(rates["unit_id"])
        .fillna("")
        .to_numpy(dtype=object),
        dtype="string",
    )
    if not np.array_equal(rates["allocated"] + rates["unmet"], rates["flat_households"]):
        msg = "internal error: allocated + unmet differs from the flat demand of a unit."
        raise RuntimeError(msg)

    # ---- unmet reasons
    reach_any = within & (cap[None, :] > 0)
    reach_excl = reach_any & ~on_site if exclude_on_site else reach_any
    codes = np.full(n, "no_capacity", dtype=object)
    if not (cap > 0).any():
        codes[:] = "no_sites"
    else:
        codes[~reach_any.any(axis=1)] = "beyond_max_dist"
        codes[reach_any.any(axis=1) & ~reach_excl.any(axis=1)] = "own_site_excluded"
    um = unmet_hh > 0
    unmet = pd.DataFrame(
        {
            "unit_id": unit_index.to_numpy(dtype=object)[um],
            "flat_households": d[um],
            "allocated": placed[um],
            "unmet": unmet_hh[um],
            "reason": pd.array(codes[um], dtype="string"),
            "reason_text": pd.array([REASONS[c][li] for c in codes[um]], dtype="string"),
        }
    )

    # ---- sites table
    out_sites = suit.copy()
    out_sites["usable"] = usable
    out_sites["allocated_households"] = used
    out_sites["remaining_units"] = cap - used
    with np.errstate(invalid="ignore", divide="ignore"):
        out_sites["utilisation"] = np.where(cap_all > 0, used / np.maximum(cap_all, 1), np.nan)
    out_sites["units_served"] = np.bincount(pj, minlength=m)
    first = ["site_id", "name", "capacity_units", "capacity_persons", "usable",
             "allocated_households", "remaining_units", "utilisation", "units_served"]  # fmt: skip
    geom = out_sites.geometry.name
    rest_cols = [c for c in out_sites.columns if c not in first and c != geom]
    out_sites = out_sites[[*first, *rest_cols, geom]]

    # ---- max achievable nearby rate, summary, warnings
    total_flat = int(d.sum())
    total_nb = int(nearby_hh.sum())
    if total_nb == total_flat:
        max_nb = total_nb  # nothing to gain: every flat household is placed nearby
    else:
        ni, nj = np.nonzero(allowed & nearby)
        max_nb = _max_nearby(d, cap, ni, nj, time_limit=time_limit)
    overall = total_nb / total_flat if total_flat else float("nan")
    max_rate = max_nb / total_flat if total_flat else float("nan")
    below = rates.loc[rates["meets_nearby_rule"].fillna(True) == False, "unit_id"]  # noqa: E712
    share_top = float(used.max() / max(int(used.sum()), 1)) if m else 0.0
    known = np.isfinite(ratio)
    summary: dict[str, Any] = {
        "units": n,
        "households": int(demand["households"].sum()),
        "cash_households": int(demand["cash_households"].sum()),
        "flat_households": total_flat,
        "estimated_parcels": int(demand["estimated_parcels"].sum()),
        "sites": m,
        "sites_usable": int(usable.sum()),
        "capacity_units": int(cap.sum()),
        "coverage": float(cap.sum() / total_flat) if total_flat else float("nan"),
        "allocated_households": int(x.sum()),
        "unmet_households": int(unmet_hh.sum()),
        "sites_used": int((used > 0).sum()),
        "largest_site_share": share_top,
        "units_split": int(((n_sites > 1) | ((n_sites == 1) & (unmet_hh > 0))).sum()),
        "mean_dist_m": float((ph * dist[pi, pj]).sum() / ph.sum()) if ph.sum() else float("nan"),
        "household_km": km,
        "nearby_dist": nearby_dist,
        "nearby_households": total_nb,
        "on_site_households": int(onsite_hh.sum()),
        "nearby_rate": overall,
        "max_nearby_rate": max_rate,
        "units_below_nearby_rate": len(below),
        "rebuild_ratio": float(np.nansum(pf[known]) / np.nansum(fa[known]))
        if known.any()
        else float("nan"),
        "keep_together": bool(keep_together),
        "exclude_on_site": bool(exclude_on_site),
        "max_dist": max_dist,
        "cash_share": float(cash_share),
        "solver_method": info["method"],
        "solver_status": info.get("status"),
        "mip_gap": info.get("mip_gap"),
        "bound_gap": info["bound_gap"],
        "solve_time_s": info.get("time_s"),
        "time_limit_hit": info["time_limit_hit"],
    }
    if summary["unmet_households"]:
        by_reason = unmet.groupby("reason")["unmet"].sum()
        notes.append(
            f"{summary['unmet_households']} of {total_flat} flat households have no flat: "
            + ", ".join(f"{int(v)} ({REASONS[str(k)][1]})" for k, v in by_reason.items())
        )
    if total_flat:
        notes.append(
            f"就地就近安置率 {overall:.1%} overall (on site or within {nearby_dist:g} m); "
            f"{len(below)} of {int((d > 0).sum())} units below {NEARBY_RATE_MIN:.0%}; the best "
            f"the capacities allow is {max_rate:.1%}. District preference for concentrated "
            f"sites: {summary['sites_used']} sites used, the largest takes {share_top:.0%}"
            f"{', on-site resettlement excluded' if exclude_on_site else ''}"
        )
    if keep_together and ref_km > 0:
        notes.append(
            f"keeping units together costs {info['bound_gap']:.1%} more household-distance "
            f"than splitting them ({km:,.0f} vs {ref_km:,.0f} household·km)"
        )
    if len(below):
        ids = ", ".join(map(str, below.iloc[:10]))
        msg = (
            f"{len(below)} demand units resettle fewer than {NEARBY_RATE_MIN:.0%} of their "
            f"flat households on site or within {nearby_dist:g} m (建科〔2021〕63号): {ids}"
            f"{' …' if len(below) > 10 else ''}; overall {overall:.1%}, best possible "
            f"{max_rate:.1%}. See plan.rates."
        )
        warnings.warn(msg, UserWarning, stacklevel=2)
    bad_ratio = rates["meets_rebuild_ratio"].fillna(True) == False  # noqa: E712
    if bad_ratio.any():
        notes.append(
            f"{int(bad_ratio.sum())} units exceed 拆建比 {MAX_REBUILD_RATIO:g}: "
            + ", ".join(map(str, rates.loc[bad_ratio, "unit_id"].iloc[:10]))
        )
    for note in notes:
        logger.info(note)
    return ResettlementPlan(
        allocation=allocation,
        sites=out_sites,
        flows=flows,
        unmet=unmet,
        rates=rates,
        demand=demand,
        summary=summary,
        notes=notes,
        solver=info,
    )
