"""
Resettlement sites: how many flats a site holds, and which suitability checks it passes.

`site_capacity` applies the capacity formula of DOMAIN.md §3; `site_suitability` checks a
site against constraint layers and rasters (measures from `geo_renewal.spatial` and
`geo_renewal.raster`). The checks and thresholds: ``docs/guide/resettlement.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import geopandas as gpd

from geo_renewal import settings
from geo_renewal._checks import check_lang, check_range
from geo_renewal._errors import InputError
from geo_renewal._roles import in_role
from geo_renewal.crs import check_crs, check_same_crs, to_working
from geo_renewal.text import say

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["candidate_sites", "site_capacity", "site_suitability"]

#: Keywords of `site_capacity` that `site_suitability` passes on.
CAPACITY_KEYWORDS = (
    "far",
    "residential_share",
    "efficiency",
    "unit_floor_area",
    "persons_per_household",
    "far_col",
)


def _check_positive(name: str, value: float, *, upper: float | None = None) -> None:
    check_range(value, name=name, low=0.0, low_open=True, high=upper)


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
    far_used = _far_per_site(sites, far, far_col)
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


def _far_per_site(sites: gpd.GeoDataFrame | gpd.GeoSeries, far: float, far_col: str) -> np.ndarray:
    """Return the FAR of each site: its own `far_col` value where given, else `far`."""
    far_used = np.full(len(sites), float(far))
    if not (isinstance(sites, gpd.GeoDataFrame) and far_col in sites.columns):
        return far_used
    own = pd.to_numeric(sites[far_col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.isfinite(own) & (own <= 0)
    if bad.any():
        rows = list(sites.index[bad][:5])
        msg = (
            f"`sites[{far_col!r}]` must be > 0 where given; rows {rows} hold "
            f"{list(own[bad][:5])}. Fix the values or blank them to use far={far}."
        )
        raise InputError(msg)
    return np.where(np.isfinite(own), own, far_used)


def _capacity_table(sites: gpd.GeoDataFrame, capacity: Mapping[str, Any]) -> pd.DataFrame:
    """Capacity per site; a `capacity_units` column already on `sites` wins (planned flats)."""
    unknown = sorted(set(capacity) - set(CAPACITY_KEYWORDS))
    if unknown:
        msg = f"unknown capacity keyword(s) {unknown}; valid ones are {sorted(CAPACITY_KEYWORDS)}."
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


# --------------------------------------------------------------------------- suitability

#: One check's result: columns to add (in order), the ``ok_*`` column, a text per site.
_Check = tuple[dict[str, Any], str, list[str]]


def _as_names(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def _not_checked(n: int, label: str, kind: str, names: str, lang: str) -> list[str]:
    """Return the "– … not checked (no layer …)" text of a check whose input is missing."""
    kind_text = say(f"sites.kind_{kind}", lang)
    return [say("sites.not_checked", lang, label=label, kind=kind_text, names=names)] * n


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
    check_crs(sites, "sites")
    layers = dict(layers or {})
    rasters = dict(rasters or {})
    min_dist = dict(min_dist or {})
    _check_suitability_options(
        layers, min_area, max_flood_depth, max_constraint_share, max_flood_share, min_dist
    )
    cap = _capacity_table(sites, capacity)
    area = cap["area_m2"].to_numpy()
    checks = [
        _size_check(area, min_area, lang),
        *(
            _zone_check(sites, layers, key, _as_names(names), max_constraint_share, lang)
            for key, names in (("heritage", heritage), ("ecology", ecology))
        ),
        _flood_check(sites, rasters, flood, max_flood_depth, max_flood_share, lang),
    ]
    if min_dist:
        checks.append(_distance_check(sites, layers, min_dist, lang))
    return _suitability_table(sites, area, checks, cap)


def _check_suitability_options(
    layers: Mapping[str, Any],
    min_area: float,
    max_flood_depth: float,
    max_constraint_share: float,
    max_flood_share: float,
    min_dist: Mapping[str, float],
) -> None:
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
    missing = [k for k in min_dist if k not in layers]
    if missing:
        msg = (
            f"`min_dist` names layers {missing} that are not in `layers` "
            f"(given: {sorted(layers)}); pass them as layers={{name: GeoDataFrame}}."
        )
        raise InputError(msg)
    for nm, limit in min_dist.items():
        _check_positive(f"min_dist[{nm!r}]", float(limit))


def _suitability_table(
    sites: gpd.GeoDataFrame, area: np.ndarray, checks: list[_Check], cap: pd.DataFrame
) -> gpd.GeoDataFrame:
    """Return a copy of `sites` with each check's columns, ``suitable``, ``checks``, capacity."""
    out = sites.copy()
    out["area_m2"] = area
    fails = np.zeros(len(out), dtype=bool)
    for columns, ok_col, _ in checks:
        for col, values in columns.items():
            out[col] = values
        fails |= (out[ok_col] == False).fillna(False).to_numpy(dtype=bool)  # noqa: E712
    texts = ["; ".join(parts) for parts in zip(*(t for _, _, t in checks), strict=True)]
    out["suitable"] = pd.array(~fails, dtype="boolean")
    out["checks"] = pd.array(texts, dtype="string")
    for col in ("far", "residential_floor_area", "capacity_units", "capacity_persons"):
        out[col] = cap[col].to_numpy()
    return out


def _size_check(area: np.ndarray, min_area: float, lang: str) -> _Check:
    ok = area >= min_area
    label = say("sites.size", lang)
    texts = [
        f"{_mark(ok[k])} {label} {area[k]:.0f} m² {'≥' if ok[k] else '<'} {min_area:.0f} m²"
        for k in range(len(area))
    ]
    return {"ok_size": pd.array(ok, dtype="boolean")}, "ok_size", texts


def _zone_check(
    sites: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    key: str,
    names: tuple[str, ...],
    max_share: float,
    lang: str,
) -> _Check:
    """Share of each site inside the `names` layers (the largest), against `max_share`."""
    n = len(sites)
    col, share_col = f"ok_{key}", f"{key}_share"
    label = say(f"sites.{key}", lang)
    present = [nm for nm in names if nm in layers]
    if not present:
        what = ", ".join(repr(nm) for nm in names) or "—"
        columns = {share_col: np.nan, col: pd.array([pd.NA] * n, dtype="boolean")}
        return columns, col, _not_checked(n, label, "layer", what, lang)
    share = np.zeros(n)
    for nm in present:
        share = np.maximum(share, _share_in(sites, layers[nm]))
    ok = share < max_share
    lim = f"{100 * max_share:g} %"
    texts = [
        f"{_mark(ok[k])} {label} {100 * share[k]:.0f} % {'<' if ok[k] else '≥'} {lim}"
        for k in range(n)
    ]
    return {share_col: share, col: pd.array(ok, dtype="boolean")}, col, texts


def _flood_check(
    sites: gpd.GeoDataFrame,
    rasters: Mapping[str, Any],
    flood: str | None,
    max_depth: float,
    max_share: float,
    lang: str,
) -> _Check:
    """Share of each site's pixels deeper than `max_depth`, against `max_share`."""
    n = len(sites)
    label = say("sites.flood", lang)
    if flood is None or flood not in rasters:
        columns = {
            "flood_depth_max": np.nan,
            "flood_share": np.nan,
            "ok_flood": pd.array([pd.NA] * n, dtype="boolean"),
        }
        return columns, "ok_flood", _not_checked(n, label, "raster", repr(flood), lang)
    depth, wet = _flood(sites, rasters[flood], max_depth)
    # no raster cell under the site (outside the raster) counts as not flooded
    ok = ~(wet > max_share)
    over = say("sites.deeper_than", lang)
    texts = []
    for k in range(n):
        val = "—" if np.isnan(wet[k]) else f"{100 * wet[k]:.0f} %"
        top = "—" if np.isnan(depth[k]) else f"{depth[k]:.2f} m"
        texts.append(
            f"{_mark(ok[k])} {label} {over} {max_depth:g} m: {val} "
            f"{'≤' if ok[k] else '>'} {100 * max_share:g} % ({say('sites.max_depth', lang, top=top)})"
        )
    columns = {"flood_depth_max": depth, "flood_share": wet}
    return columns | {"ok_flood": pd.array(ok, dtype="boolean")}, "ok_flood", texts


def _distance_check(
    sites: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    min_dist: Mapping[str, float],
    lang: str,
) -> _Check:
    """Distance of each site to every `min_dist` layer, each against its limit."""
    n = len(sites)
    label = say("sites.distance", lang)
    columns: dict[str, Any] = {}
    per_layer: list[list[str]] = []
    ok_all = np.ones(n, dtype=bool)
    for nm, limit in min_dist.items():
        dist = _distance_to(sites, layers[nm])
        columns[f"dist_{nm}"] = dist
        ok = dist >= limit
        ok_all &= ok
        per_layer.append(
            [
                f"{_mark(ok[k])} {label} {nm} {dist[k]:.0f} m {'≥' if ok[k] else '<'} "
                f"{float(limit):.0f} m"
                for k in range(n)
            ]
        )
    texts = ["; ".join(parts) for parts in zip(*per_layer, strict=True)]
    columns["ok_distance"] = pd.array(ok_all, dtype="boolean")
    return columns, "ok_distance", texts


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


# --------------------------------------------------------------------------- candidates


def candidate_sites(
    classified: gpd.GeoDataFrame, sites: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """
    Return the candidate resettlement sites of a plan, each with a unique ``site_id``.

    Without `sites`, the ``resettlement_site`` parcels of `classified` are the candidates
    (``site_id`` taken from ``parcel_id``). Sites without ids are numbered ``S0``, ``S1`` …
    in row order; ``name`` defaults to the id. What was assumed is listed in
    ``attrs["notes"]``.

    Parameters
    ----------
    classified
        Classified parcels (`classify_parcels` output) with a ``category`` column.
    sites
        Candidate site polygons, same CRS as `classified`; None takes them from
        `classified`.

    Returns
    -------
    sites
        A copy with ``site_id`` and ``name``; same CRS and index.

    Raises
    ------
    InputError
        If `sites` is not a GeoDataFrame, its ids are repeated or empty, or a site has no
        geometry.
    CRSError
        If `sites` has another CRS than `classified`.

    Examples
    --------
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(
    ...     {"parcel_id": ["A", "S"], "category": ["demolish", "resettlement_site"]},
    ...     geometry=[box(0, 0, 100, 100), box(200, 0, 300, 100)], crs="EPSG:4548")
    >>> cands = candidate_sites(parcels)
    >>> cands[["site_id", "name"]].to_numpy().tolist()
    [['S', 'S']]
    >>> cands.attrs["notes"]
    ['1 candidate sites taken from the classification (parcel_id)']
    """
    notes: list[str] = []
    if sites is None:
        sites = classified.loc[in_role(classified, "resettlement_site")]  # 安置用地 by role
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
    sites.attrs = {**sites.attrs, "notes": notes}  # a new dict: never the input's
    return sites
