"""
Resettlement planning: a capacity-constrained allocation of demand to sites.

`plan_resettlement` checks the sites (`geo_renewal.sites`), counts the demand
(`geo_renewal.demand`, re-exported here), allocates it (`geo_renewal.allocation`) and reports
flows, unmet demand and the 就地就近安置率; see the guide, ``docs/guide/resettlement.md``.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from geo_renewal import settings
from geo_renewal._checks import check_lang, check_range
from geo_renewal._errors import InputError, SchemaError
from geo_renewal.allocation import AllocationResult, allocate, max_nearby, require_solver
from geo_renewal.crs import check_crs, check_same_crs, to_working, working_crs
from geo_renewal.demand import _count_demand, _Demand, _union_by, _unit_labels, resettlement_demand
from geo_renewal.io import atomic_write, write_layer
from geo_renewal.sites import candidate_sites, site_capacity, site_suitability
from geo_renewal.stats import MAX_REBUILD_RATIO
from geo_renewal.tables import write_table
from geo_renewal.text import MEETING_TEXT, say

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Mapping

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
    code: MEETING_TEXT[f"resettlement.unmet.{code}"]
    for code in ("no_sites", "beyond_max_dist", "own_site_excluded", "no_capacity")
}


def _check_positive(name: str, value: float) -> None:
    check_range(value, name=name, low=0.0, low_open=True)


# --------------------------------------------------------------------------- plan


class _Pending:
    """A value computed on first read of a `_Deferred` attribute (e.g. dissolved polygons)."""

    def __init__(self, compute: Callable[[], Any]) -> None:
        self.compute = compute


class _Deferred:
    """
    A dataclass field that may be given as a `_Pending` value: computed once, when read.

    `plan_resettlement` needs no polygon of a demand unit (centroids are area-weighted, the
    on-site test runs on the parcels), so ``ResettlementPlan.demand`` is dissolved only
    when a map, a file or the caller reads it.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}_value"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            raise AttributeError(self.slot)  # no class-level default: a required field
        value = obj.__dict__[self.slot]
        if isinstance(value, _Pending):
            value = obj.__dict__[self.slot] = value.compute()
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = value


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
        The demand units (`resettlement_demand`) with their polygons, input CRS (the
        polygons are dissolved from the parcels when `demand` is first read).
    summary
        Key figures: totals, coverage, overall rate, concentration, solver figures.
    notes
        Fallbacks, estimates and warnings in plain sentences.
    solver
        ``method`` ("milp" keep-together / "lp" split), ``status``, ``message``,
        ``objective`` (household·km), ``mip_gap`` (reported by HiGHS, None for an LP),
        ``bound_gap`` (gap to the split optimum, a valid lower bound), ``time_s``,
        ``time_limit`` and ``time_limit_hit``.
    nearby_pairs
        The (``unit_id``, ``site_id``) pairs a unit may use that count as on site or nearby,
        for explaining the 就地就近安置率 (`geo_renewal.units.nearby_reason`).
    """

    allocation: pd.DataFrame
    sites: gpd.GeoDataFrame
    flows: gpd.GeoDataFrame
    unmet: pd.DataFrame
    rates: pd.DataFrame
    demand: gpd.GeoDataFrame = _Deferred()
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    solver: dict[str, Any] = field(default_factory=dict)
    nearby_pairs: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"unit_id": [], "site_id": []})
    )

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"ResettlementPlan({s.get('units', 0)} units, {s.get('flat_households', 0)} flat "
            f"households → {s.get('allocated_households', 0)} placed at "
            f"{s.get('sites_used', 0)} sites, {s.get('unmet_households', 0)} unmet, "
            f"nearby rate {s.get('nearby_rate', float('nan')):.1%})"
        )

    def summary_text(self) -> str:
        r"""
        Return the key figures and the notes as plain lines, as ``geo-renewal resettle`` prints.

        Returns
        -------
        text
            Lines for demand units, households, sites, allocated, mean distance, nearby rate
            and solver, then one ``note: …`` line per note. English (a CLI message).

        See Also
        --------
        write : Save the plan's layers and allocation table.

        Examples
        --------
        >>> from shapely import box
        >>> parcels = gpd.GeoDataFrame(
        ...     {"zone_id": ["Z1", "Z2", None], "households": [100, 50, 0],
        ...      "category": ["demolish", "demolish", "resettlement_site"]},
        ...     geometry=[box(0, 0, 100, 100), box(1200, 0, 1300, 100),
        ...               box(200, 0, 300, 100)], crs="EPSG:4548")
        >>> plan = plan_resettlement(parcels, cash_share=0.2, lang="en")
        >>> print("\n".join(plan.summary_text().splitlines()[1:4]))
        households          150 (cash 30, flats 120)
        sites               1 (1 usable), capacity 200 flats, coverage 167%
        allocated           120 households, sites used 1, unmet 0
        """
        s = self.summary
        lines = [
            f"demand units        {s['units']}",
            f"households          {s['households']:,} (cash {s['cash_households']:,}, "
            f"flats {s['flat_households']:,})",
            f"sites               {s['sites']} ({s['sites_usable']} usable), capacity "
            f"{s['capacity_units']:,} flats, coverage {s['coverage']:.0%}",
            f"allocated           {s['allocated_households']:,} households, "
            f"sites used {s['sites_used']}, unmet {s['unmet_households']:,}",
            f"mean distance       {s['mean_dist_m']:,.0f} m",
            f"nearby rate         {s['nearby_rate']:.1%} (≤ {s['nearby_dist']:g} m or on site; "
            f"best possible {s['max_nearby_rate']:.1%}; {s['units_below_nearby_rate']} units "
            f"below 50 %)",
            f"solver              {s['solver_method']}, status {s['solver_status']}, "
            f"MIP gap {s['mip_gap'] if s['mip_gap'] is not None else '—'}, "
            f"{s['solve_time_s']:.2f} s",
        ]
        return "\n".join([*lines, *(f"note: {note}" for note in self.notes)])

    def _units_layer(self) -> gpd.GeoDataFrame:
        """Join `demand`, `rates` and the unmet reasons per unit: the ``units`` layer."""
        extra = [c for c in self.rates.columns if c == "unit_id" or c not in self.demand.columns]
        units = self.demand.merge(self.rates[extra], on="unit_id", how="left").merge(
            self.unmet[["unit_id", "reason", "reason_text"]], on="unit_id", how="left"
        )
        units["unit_id"] = units["unit_id"].astype("string")
        return units

    def write(self, path: str | os.PathLike[str], *, lang: str | None = None) -> dict[str, Path]:
        """
        Write the plan: a GeoPackage with layers ``sites``, ``flows``, ``units`` and a CSV.

        The allocation table goes to ``<stem>_allocation.csv`` next to `path` (headers in
        `lang`, `geo_renewal.tables.write_table`). Both files are written to temporary
        files and moved into place at the end: if anything fails, neither is touched.
        Other layers of an existing GeoPackage are kept.

        Parameters
        ----------
        path
            The GeoPackage (``.gpkg``) to write; its folder is created if missing.
        lang
            Language of the CSV headers; defaults to `settings.lang`.

        Returns
        -------
        files
            ``{"layers": <path>, "allocation": <stem>_allocation.csv}``.

        Raises
        ------
        InputError
            If `path` is not a ``.gpkg`` file.

        See Also
        --------
        summary_text : The figures and notes as text.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from shapely import box
        >>> parcels = gpd.GeoDataFrame(
        ...     {"zone_id": ["Z1", None], "households": [100, 0],
        ...      "category": ["demolish", "resettlement_site"]},
        ...     geometry=[box(0, 0, 100, 100), box(200, 0, 300, 100)], crs="EPSG:4548")
        >>> plan = plan_resettlement(parcels, lang="en")
        >>> files = plan.write(pathlib.Path(tempfile.mkdtemp()) / "plan.gpkg", lang="en")
        >>> [p.name for p in files.values()]
        ['plan.gpkg', 'plan_allocation.csv']
        >>> int(gpd.read_file(files["layers"], layer="flows")["households"].sum())
        70
        """
        path = Path(path)
        if path.suffix.lower() != ".gpkg":
            msg = f"`path` must be a GeoPackage (.gpkg), got {str(path)!r}."
            raise InputError(msg)
        table_path = path.with_name(f"{path.stem}_allocation.csv")
        flows = self.flows.astype({"unit_id": "string", "site_id": "string"})
        with atomic_write(path, keep_existing=True) as tmp, atomic_write(table_path) as tmp_csv:
            write_layer(self.sites, tmp, layer="sites")
            write_layer(flows, tmp, layer="flows")
            write_layer(self._units_layer(), tmp, layer="units")
            write_table(self.allocation, tmp_csv, lang=lang)
        return {"layers": path, "allocation": table_path}


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
        used for the unit centroid and for "inside its own unit". Default: the centroid of
        the union of the unit's demolition parcels (their area-weighted centroid: no
        dissolve; overlapping parcels would count their overlap twice, `validate_layer`
        reports overlaps) and every parcel carrying the unit's label (any category) for the
        on-site test (an STRtree over the parcels).
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
    check_crs(classified, "classified")
    nearby_dist = _check_options(nearby_dist, max_dist, time_limit, mip_rel_gap, candidates)
    require_solver()  # before any work: a missing scipy is one sentence naming the extra
    notes: list[str] = []
    classified, demand, labels = _demand_units(
        classified, demand_by, cash_share, zone_dist, planned_floor_area_col, notes
    )
    wcrs = working_crs(classified)
    unit = _unit_points(classified, demand, labels, units, demand_by, wcrs)
    site = _usable_sites(
        classified,
        sites,
        wcrs,
        notes,
        layers=layers,
        rasters=rasters,
        suitability=suitability,
        only_suitable=only_suitable,
        lang=lang,
    )
    pairs = _pairs(
        unit, site, max_dist=max_dist, nearby_dist=nearby_dist, exclude_on_site=exclude_on_site
    )
    result = allocate(
        unit.flats,
        site.capacity,
        pairs.dist / 1000.0,  # km keeps the objective well scaled
        allowed=pairs.allowed,
        keep_together=keep_together,
        candidates=candidates,
        time_limit=time_limit,
        mip_rel_gap=mip_rel_gap,
    )
    options = {
        "nearby_dist": nearby_dist,
        "keep_together": bool(keep_together),
        "exclude_on_site": bool(exclude_on_site),
        "max_dist": max_dist,
        "cash_share": float(cash_share),
        "time_limit": float(time_limit),
        "lang": lang,
    }
    plan = _assemble_plan(unit, site, pairs, result, options, notes)
    _warn_below_nearby_rate(plan.rates, plan.summary, lang)
    for note in plan.notes:
        logger.info(note)
    return plan


# --------------------------------------------------------------------------- plan steps


@dataclass
class _Units:
    """Demand units: flat households, centroid (working CRS) and footprints for "on site"."""

    crs: Any
    wcrs: Any
    demand: _Demand
    index: pd.Index
    flats: np.ndarray
    x: np.ndarray
    y: np.ndarray
    footprints: np.ndarray
    owner: np.ndarray


@dataclass
class _Sites:
    """Checked sites: capacities (zero where unusable), geometry and point (working CRS)."""

    table: gpd.GeoDataFrame
    capacity_all: np.ndarray
    usable: np.ndarray
    capacity: np.ndarray
    geoms: np.ndarray
    x: np.ndarray
    y: np.ndarray


@dataclass
class _Pairs:
    """n × m matrices over (unit, site): distance (m), on site, within reach, allowed, nearby."""

    dist: np.ndarray
    on_site: np.ndarray
    within: np.ndarray
    allowed: np.ndarray
    nearby: np.ndarray


def _check_options(
    nearby_dist: float | None,
    max_dist: float | None,
    time_limit: float,
    mip_rel_gap: float,
    candidates: int | None,
) -> float:
    """Check the planning options; returns `nearby_dist` (default from settings)."""
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
    return nearby_dist


def _demand_units(
    classified: gpd.GeoDataFrame,
    demand_by: str,
    cash_share: float,
    zone_dist: float,
    planned_floor_area_col: str,
    notes: list[str],
) -> tuple[gpd.GeoDataFrame, _Demand, pd.Series]:
    """Count the demand; add the unit labels to (a copy of) `classified` if computed."""
    labels = _unit_labels(classified, demand_by, zone_dist)
    if demand_by not in classified.columns:
        classified = classified.assign(**{demand_by: labels})  # a copy: computed once
    demand = _count_demand(
        classified,
        by=demand_by,
        cash_share=cash_share,
        zone_dist=zone_dist,
        planned_floor_area_col=planned_floor_area_col,
    )
    notes.extend(demand.notes)
    return classified, demand, labels


def _unit_points(
    classified: gpd.GeoDataFrame,
    demand: _Demand,
    labels: pd.Series,
    units: gpd.GeoDataFrame | None,
    demand_by: str,
    wcrs: Any,
) -> _Units:
    """
    Centroid of each demand unit and the footprints that make a site "on site".

    Without `units`, the centroid is the area-weighted centroid of the unit's demolition
    parcels (the centroid of their union, without dissolving them) and the footprints are
    the parcels themselves (an STRtree over them finds the sites they overlap).
    """
    n = len(demand.table)
    unit_index = pd.Index(demand.table["unit_id"])
    x, y = demand.centroids(wcrs) if n else (np.empty(0), np.empty(0))
    if units is not None:
        check_same_crs(classified, units, ("classified", "units"))
        if demand_by not in units.columns:
            msg = f"`units` has no {demand_by!r} column to match the demand units by."
            raise SchemaError(msg)
        uw = to_working(units, crs=wcrs)
        owner = unit_index.get_indexer(units[demand_by])
        fp, fo = uw.geometry.to_numpy()[owner >= 0], owner[owner >= 0]
        grouped = _union_by(fp, fo, n) if n else np.empty(0, dtype=object)
        have = np.bincount(fo, minlength=n) > 0 if n else np.zeros(0, dtype=bool)
        cent = shapely.centroid(grouped[have])
        x[have], y[have] = shapely.get_x(cent), shapely.get_y(cent)
    elif n:
        cw = to_working(classified, crs=wcrs)
        owner_all = unit_index.get_indexer(labels.loc[cw.index])
        fp, fo = cw.geometry.to_numpy()[owner_all >= 0], owner_all[owner_all >= 0]
    else:
        fp, fo = np.empty(0, dtype=object), np.empty(0, dtype="int64")
    return _Units(
        crs=classified.crs,
        wcrs=wcrs,
        demand=demand,
        index=unit_index,
        flats=demand.table["flat_households"].to_numpy(dtype="int64"),
        x=x,
        y=y,
        footprints=fp,
        owner=fo,
    )


def _usable_sites(
    classified: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None,
    wcrs: Any,
    notes: list[str],
    *,
    layers: Mapping[str, gpd.GeoDataFrame] | None,
    rasters: Mapping[str, Any] | None,
    suitability: Mapping[str, Any] | None,
    only_suitable: bool,
    lang: str,
) -> _Sites:
    """Candidate sites with their checks and capacity; unusable ones get capacity 0."""
    site_gdf = candidate_sites(classified, sites)
    notes.extend(site_gdf.attrs.pop("notes", []))
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
    sw = to_working(suit, crs=wcrs).geometry.to_numpy()
    reps = shapely.point_on_surface(sw)
    return _Sites(
        table=suit,
        capacity_all=cap_all,
        usable=usable,
        capacity=np.where(usable, cap_all, 0),
        geoms=sw,
        x=shapely.get_x(reps),
        y=shapely.get_y(reps),
    )


def _pairs(
    unit: _Units,
    site: _Sites,
    *,
    max_dist: float | None,
    nearby_dist: float,
    exclude_on_site: bool,
) -> _Pairs:
    """Distances and the allowed, on-site and nearby (unit, site) pairs."""
    n, m = len(unit.flats), len(site.capacity)
    dist = (
        np.hypot(unit.x[:, None] - site.x[None, :], unit.y[:, None] - site.y[None, :])
        if n and m
        else (np.zeros((n, m)))
    )
    on_site = _on_site_pairs(unit.footprints, unit.owner, site.geoms, n)
    within = dist <= max_dist if max_dist is not None else np.ones((n, m), dtype=bool)
    allowed = within & (site.capacity[None, :] > 0) & (unit.flats[:, None] > 0)
    if exclude_on_site:
        allowed &= ~on_site
    nearby = (dist <= nearby_dist) | on_site
    return _Pairs(dist=dist, on_site=on_site, within=within, allowed=allowed, nearby=nearby)


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


def _assemble_plan(
    unit: _Units,
    site: _Sites,
    pairs: _Pairs,
    result: AllocationResult,
    options: dict[str, Any],
    notes: list[str],
) -> ResettlementPlan:
    """Build the plan's tables, summary and notes from the allocation."""
    notes.extend(_solver_notes(result, unit.index, options))
    allocation, flows = _allocation_tables(unit, site, pairs, result.households)
    rates = _unit_rates(unit, pairs, result, allocation)
    summary = _summary(unit, site, pairs, result, rates, options)
    unmet = _unmet_table(unit, site, pairs, result.unmet, options)
    notes.extend(_closing_notes(summary, unmet, rates, result.solver, unit.flats))
    return ResettlementPlan(
        allocation=allocation,
        sites=_site_table(site, result.households),
        flows=flows,
        unmet=unmet,
        rates=rates,
        demand=_Pending(unit.demand.frame),  # dissolved when first read
        summary=summary,
        notes=notes,
        solver=result.solver,
        nearby_pairs=_nearby_pairs(unit, site, pairs),
    )


def _nearby_pairs(unit: _Units, site: _Sites, pairs: _Pairs) -> pd.DataFrame:
    """Return the allowed (unit, site) pairs that count as on site or nearby."""
    pi, pj = np.nonzero(pairs.allowed & pairs.nearby)
    return pd.DataFrame(
        {
            "unit_id": unit.index.to_numpy(dtype=object)[pi],
            "site_id": site.table["site_id"].to_numpy(dtype=object)[pj],
        }
    )


def _solver_notes(
    result: AllocationResult, unit_index: pd.Index, options: dict[str, Any]
) -> list[str]:
    """Say what the solver had to do: heuristic chosen, units split, time limit, households lost."""
    info, notes, time_limit = result.solver, [], options["time_limit"]
    if options["keep_together"]:
        if info.get("chosen") == "local_search":
            notes.append(
                f"HiGHS stopped ({info['message']}) with a plan worse than the local-search "
                f"heuristic's; the heuristic's plan is used"
            )
        if len(result.oversized):
            ids = [str(unit_index[i]) for i in result.oversized]
            notes.append(
                f"{len(ids)} units cannot be kept whole (larger than every site they may use, "
                f"or left out when the others are packed) and are split over several sites: "
                f"{', '.join(ids[:10])}{' …' if len(ids) > 10 else ''}"
            )
        if len(result.refilled):
            split_units = sorted({str(unit_index[i]) for i in result.refilled})
            notes.append(
                f"{len(split_units)} units could not be kept whole at one site and "
                f"were split over the remaining capacity: {', '.join(split_units[:10])}"
                f"{' …' if len(split_units) > 10 else ''}"
            )
        if info.get("status") == 1:
            notes.append(
                f"the solver hit its time limit ({time_limit:g} s); the plan is the best "
                f"found, MIP gap {info.get('mip_gap')}"
            )
    placed = int(result.households.sum())
    if placed < result.split_households:
        notes.append(
            f"keeping units together leaves {result.split_households - placed} more households "
            f"unmet than splitting would; plan with keep_together=False to place them"
        )
    return notes


def _allocation_tables(
    unit: _Units, site: _Sites, pairs: _Pairs, households: np.ndarray
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """One row per (unit, site) pair that receives households, and its flow line."""
    pi, pj = np.nonzero(households)
    allocation = pd.DataFrame(
        {
            "unit_id": unit.index.to_numpy(dtype=object)[pi],
            "site_id": site.table["site_id"].to_numpy(dtype=object)[pj],
            "households": households[pi, pj],
            "dist_m": np.round(pairs.dist[pi, pj], 1),
            "on_site": pairs.on_site[pi, pj],
            "nearby": pairs.nearby[pi, pj],
        }
    )
    ends = np.stack([np.c_[unit.x[pi], unit.y[pi]], np.c_[site.x[pj], site.y[pj]]], axis=1)
    lines = shapely.linestrings(ends.reshape(-1, 2, 2) if len(pi) else np.empty((0, 2, 2)))
    flows = gpd.GeoDataFrame(
        allocation.drop(columns=["on_site"]),
        geometry=gpd.GeoSeries(lines, crs=unit.wcrs).to_crs(unit.crs).to_numpy(),
        crs=unit.crs,
    )
    return allocation, flows


def _unit_rates(
    unit: _Units, pairs: _Pairs, result: AllocationResult, allocation: pd.DataFrame
) -> pd.DataFrame:
    """Per unit: households, allocated, unmet, sites, the 就地就近安置率 and the 拆建比."""
    x, d, demand = result.households, unit.flats, unit.demand.table
    nearby_hh = (x * pairs.nearby).sum(axis=1)
    onsite_hh = (x * pairs.on_site).sum(axis=1)
    n_sites = (x > 0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(d > 0, nearby_hh / np.maximum(d, 1), np.nan)
        fa = demand["demolish_floor_area_m2"].to_numpy(dtype=float)
        pf = demand["planned_floor_area_m2"].to_numpy(dtype=float)
        ratio = np.where((fa > 0) & np.isfinite(pf), pf / fa, np.nan)
    rates = pd.DataFrame(
        {
            "unit_id": unit.index.to_numpy(dtype=object),
            "households": demand["households"].to_numpy(),
            "cash_households": demand["cash_households"].to_numpy(),
            "flat_households": d,
            "allocated": x.sum(axis=1),
            "unmet": result.unmet,
            "n_sites": n_sites,
            "kept_together": (n_sites == 1) & (result.unmet == 0),
            "nearby_households": nearby_hh,
            "on_site_households": onsite_hh,
            "nearby_rate": rate,
            "meets_nearby_rule": _nullable(rate, rate >= NEARBY_RATE_MIN),
            "demolish_floor_area_m2": fa,
            "planned_floor_area_m2": pf,
            "rebuild_ratio": ratio,
            "meets_rebuild_ratio": _nullable(ratio, ratio <= MAX_REBUILD_RATIO),
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
    return rates


def _nullable(value: np.ndarray, test: np.ndarray) -> pd.arrays.BooleanArray:
    """`test` as a nullable boolean, null where `value` is NaN."""
    out = pd.array(test, dtype="boolean")
    out[np.isnan(value)] = pd.NA
    return out


def _unmet_table(
    unit: _Units,
    site: _Sites,
    pairs: _Pairs,
    unmet_hh: np.ndarray,
    options: dict[str, Any],
) -> pd.DataFrame:
    """Units with households left without a flat, and why (a code of `REASONS`)."""
    cap = site.capacity
    reach_any = pairs.within & (cap[None, :] > 0)
    reach_excl = reach_any & ~pairs.on_site if options["exclude_on_site"] else reach_any
    codes = np.full(len(unit.flats), "no_capacity", dtype=object)
    if not (cap > 0).any():
        codes[:] = "no_sites"
    else:
        codes[~reach_any.any(axis=1)] = "beyond_max_dist"
        codes[reach_any.any(axis=1) & ~reach_excl.any(axis=1)] = "own_site_excluded"
    um = unmet_hh > 0
    return pd.DataFrame(
        {
            "unit_id": unit.index.to_numpy(dtype=object)[um],
            "flat_households": unit.flats[um],
            "allocated": (unit.flats - unmet_hh)[um],
            "unmet": unmet_hh[um],
            "reason": pd.array(codes[um], dtype="string"),
            "reason_text": pd.array(
                [say(f"resettlement.unmet.{c}", options["lang"]) for c in codes[um]],
                dtype="string",
            ),
        }
    )


def _site_table(site: _Sites, households: np.ndarray) -> gpd.GeoDataFrame:
    """Add what each checked site receives; the planning columns first."""
    used = households.sum(axis=0)
    out = site.table.copy()
    out["usable"] = site.usable
    out["allocated_households"] = used
    out["remaining_units"] = site.capacity - used
    cap_all = site.capacity_all
    with np.errstate(invalid="ignore", divide="ignore"):
        out["utilisation"] = np.where(cap_all > 0, used / np.maximum(cap_all, 1), np.nan)
    out["units_served"] = (households > 0).sum(axis=0)
    first = ["site_id", "name", "capacity_units", "capacity_persons", "usable",
             "allocated_households", "remaining_units", "utilisation", "units_served"]  # fmt: skip
    geom = out.geometry.name
    rest_cols = [c for c in out.columns if c not in first and c != geom]
    return out[[*first, *rest_cols, geom]]


def _summary(
    unit: _Units,
    site: _Sites,
    pairs: _Pairs,
    result: AllocationResult,
    rates: pd.DataFrame,
    options: dict[str, Any],
) -> dict[str, Any]:
    """Key figures of the plan: totals, coverage, rates, concentration, solver."""
    x, info, d, demand, cap = (
        result.households,
        result.solver,
        unit.flats,
        unit.demand.table,
        site.capacity,
    )
    used = x.sum(axis=0)
    pi, pj = np.nonzero(x)
    ph = x[pi, pj]
    unmet_hh, n_sites = result.unmet, rates["n_sites"].to_numpy()
    total_flat = int(d.sum())
    total_nb = int(rates["nearby_households"].sum())
    if total_nb == total_flat:
        max_nb = total_nb  # nothing to gain: every flat household is placed nearby
    else:
        max_nb = max_nearby(d, cap, pairs.allowed & pairs.nearby, time_limit=options["time_limit"])
    ratio = rates["rebuild_ratio"].to_numpy()
    fa, pf = rates["demolish_floor_area_m2"].to_numpy(), rates["planned_floor_area_m2"].to_numpy()
    known = np.isfinite(ratio)
    return {
        "units": len(d),
        "households": int(demand["households"].sum()),
        "cash_households": int(demand["cash_households"].sum()),
        "flat_households": total_flat,
        "estimated_parcels": int(demand["estimated_parcels"].sum()),
        "sites": len(cap),
        "sites_usable": int(site.usable.sum()),
        "capacity_units": int(cap.sum()),
        "coverage": float(cap.sum() / total_flat) if total_flat else float("nan"),
        "allocated_households": int(x.sum()),
        "unmet_households": int(unmet_hh.sum()),
        "sites_used": int((used > 0).sum()),
        "largest_site_share": float(used.max() / max(int(used.sum()), 1)) if len(cap) else 0.0,
        "units_split": int(((n_sites > 1) | ((n_sites == 1) & (unmet_hh > 0))).sum()),
        "mean_dist_m": float((ph * pairs.dist[pi, pj]).sum() / ph.sum())
        if ph.sum()
        else float("nan"),
        "household_km": info["objective"],
        "nearby_dist": options["nearby_dist"],
        "nearby_households": total_nb,
        "on_site_households": int(rates["on_site_households"].sum()),
        "nearby_rate": total_nb / total_flat if total_flat else float("nan"),
        "max_nearby_rate": max_nb / total_flat if total_flat else float("nan"),
        "units_below_nearby_rate": len(_below_nearby_rate(rates)),
        "rebuild_ratio": float(np.nansum(pf[known]) / np.nansum(fa[known]))
        if known.any()
        else float("nan"),
        "keep_together": options["keep_together"],
        "exclude_on_site": options["exclude_on_site"],
        "max_dist": options["max_dist"],
        "cash_share": options["cash_share"],
        "solver_method": info["method"],
        "solver_status": info.get("status"),
        "mip_gap": info.get("mip_gap"),
        "bound_gap": info["bound_gap"],
        "solve_time_s": info.get("time_s"),
        "time_limit_hit": info["time_limit_hit"],
    }


def _below_nearby_rate(rates: pd.DataFrame) -> pd.Series:
    """Ids of the units whose 就地就近安置率 is below the 50 % line."""
    return rates.loc[rates["meets_nearby_rule"].fillna(True) == False, "unit_id"]  # noqa: E712


def _closing_notes(
    summary: dict[str, Any],
    unmet: pd.DataFrame,
    rates: pd.DataFrame,
    info: dict[str, Any],
    flats: np.ndarray,
) -> list[str]:
    """Unmet demand by reason, the 就地就近安置率, the cost of keeping units whole, 拆建比."""
    s, notes = summary, []
    total_flat, nearby_dist = s["flat_households"], s["nearby_dist"]
    if s["unmet_households"]:
        by_reason = unmet.groupby("reason")["unmet"].sum()
        notes.append(
            f"{s['unmet_households']} of {total_flat} flat households have no flat: "
            + ", ".join(f"{int(v)} ({REASONS[str(k)][1]})" for k, v in by_reason.items())
        )
    if total_flat:
        notes.append(
            f"就地就近安置率 {s['nearby_rate']:.1%} overall (on site or within {nearby_dist:g} m); "
            f"{s['units_below_nearby_rate']} of {int((flats > 0).sum())} units below "
            f"{NEARBY_RATE_MIN:.0%}; the best the capacities allow is {s['max_nearby_rate']:.1%}. "
            f"District preference for concentrated sites: {s['sites_used']} sites used, the "
            f"largest takes {s['largest_site_share']:.0%}"
            f"{', on-site resettlement excluded' if s['exclude_on_site'] else ''}"
        )
    km, ref_km = info["objective"], info["split_objective"]
    if s["keep_together"] and ref_km > 0:
        notes.append(
            f"keeping units together costs {info['bound_gap']:.1%} more household-distance "
            f"than splitting them ({km:,.0f} vs {ref_km:,.0f} household·km)"
        )
    bad_ratio = rates["meets_rebuild_ratio"].fillna(True) == False  # noqa: E712
    if bad_ratio.any():
        notes.append(
            f"{int(bad_ratio.sum())} units exceed 拆建比 {MAX_REBUILD_RATIO:g}: "
            + ", ".join(map(str, rates.loc[bad_ratio, "unit_id"].iloc[:10]))
        )
    return notes


def _warn_below_nearby_rate(rates: pd.DataFrame, summary: dict[str, Any], lang: str) -> None:
    """Warn (`UserWarning`, in `lang`) of the units below the 50 % line; the plan is kept."""
    below = _below_nearby_rate(rates)
    if not len(below):
        return
    msg = say(
        "resettlement.warn_below_nearby",
        lang,
        n=len(below),
        rate=NEARBY_RATE_MIN,
        dist=summary["nearby_dist"],
        ids=say("resettlement.id_separator", lang).join(map(str, below.iloc[:10]))
        + (" …" if len(below) > 10 else ""),
        overall=summary["nearby_rate"],
        best=summary["max_nearby_rate"],
    )
    warnings.warn(msg, UserWarning, stacklevel=3)  # the caller of plan_resettlement
