"""
Renewal units (更新单元 / 项目范围) as an input, and the 63号文 checks on what lies inside them.

`check_units` checks a units layer (a name per unit, no overlaps, inside the district);
`unit_checks` apportions every parcel to the units by area share, whatever its class,
conserves the totals (units + "outside every unit" = the layer) and adds the checks of
`geo_renewal.policy.unit_policy`. See DOMAIN.md §2 and docs/guide/statistics.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from geo_renewal._checks import check_lang
from geo_renewal._errors import ConservationError, InputError, SchemaError
from geo_renewal._overlaps import _overlapping_pairs
from geo_renewal._roles import class_labels, in_role
from geo_renewal._stats_kernel import _assign_zones, _project, _zone_setup
from geo_renewal.classify import _building_owners
from geo_renewal.crs import area, check_crs, check_same_crs, to_working, working_crs
from geo_renewal.policy import (
    MAX_DEMOLITION_SHARE,
    MAX_REBUILD_RATIO,
    MIN_NEARBY_RATE,
    unit_policy,
)
from geo_renewal.schema import OUTSIDE_LABELS, OUTSIDE_ROW, RESERVED_ROWS, TOTAL_ROW, label
from geo_renewal.text import pick, say

if TYPE_CHECKING:
    from geo_renewal.resettlement import ResettlementPlan

__all__ = ["UNIT_NAME_COLUMNS", "check_units", "nearby_reason", "unit_checks"]

#: Columns (in order of preference) that name a unit.
UNIT_NAME_COLUMNS = ("name", "unit_name", "更新单元名称", "单元名称", "项目名称", "名称")
#: Columns holding the planned floor area (m²) of a unit, and its planned FAR.
_PLANNED_COLUMNS = ("planned_floor_area", "planned_floor_area_m2", "规划建筑面积")
_FAR_COLUMNS = ("far", "planned_far", "容积率", "规划容积率")
#: Relative tolerance of the conservation check.
_RTOL = 1e-9
#: Overlap (m²) between two units below which it is drawing noise.
_OVERLAP_M2 = 1.0
#: Share of a unit's area that may lie outside the district (drawing noise).
_OUTSIDE_SHARE = 0.01


def check_units(
    units: gpd.GeoDataFrame,
    *,
    districts: gpd.GeoDataFrame | None = None,
    source: str = "units",
) -> gpd.GeoDataFrame:
    """
    Check a units layer and return it with canonical columns.

    A unit needs a name (``name`` or one of `UNIT_NAME_COLUMNS`); its key ``unit_id`` is the
    ``unit_id`` or ``zone_id`` column when present, else the name. Units are polygons that
    do not overlap each other (totals can only add up over a partition) and, when
    `districts` is given, lie inside the district. The planned floor area (m²) is read
    from ``planned_floor_area`` or computed as planned FAR × the unit's land area.

    Parameters
    ----------
    units
        Unit polygons with a CRS.
    districts
        The district's streets, to check that every unit lies inside.
    source
        The file (or name) the units came from, for the messages.

    Returns
    -------
    units
        A copy with ``unit_id``, ``name``, ``planned_floor_area_m2`` (NaN where unknown)
        and the geometry.

    Raises
    ------
    InputError
        Naming the file, the column or the units: no name column, a blank or repeated name,
        not polygons, overlapping units, a unit outside the district, a bad planned value.
    CRSError
        If the layer has no CRS.

    Examples
    --------
    >>> from shapely import box
    >>> x, y = 500_000, 4_060_000
    >>> units = gpd.GeoDataFrame({"name": ["老城单元"], "far": [1.5]},
    ...     geometry=[box(x, y, x + 100, y + 100)], crs="EPSG:4548")
    >>> check_units(units)[["unit_id", "name", "planned_floor_area_m2"]].round(-1)
      unit_id  name  planned_floor_area_m2
    0    老城单元  老城单元                15000.0
    >>> check_units(units.rename(columns={"name": "x"}), source="units.gpkg")
    Traceback (most recent call last):
    ...
    geo_renewal._errors.InputError: units.gpkg: the units layer has no name column ...
    """
    check_crs(units, source)
    out = _named(units, source)
    _check_polygons(out, source)
    _check_overlaps(out, source)
    if districts is not None:
        _check_inside(out, districts, source)
    out["planned_floor_area_m2"] = _planned(out, source)
    keep = ["unit_id", "name", "planned_floor_area_m2"]
    rest = [c for c in out.columns if c not in keep and c != out.geometry.name]
    return out[[*keep, *rest, out.geometry.name]]


def _named(units: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    """Return a copy with ``name`` and ``unit_id`` text columns, both given and unique."""
    col = next((c for c in UNIT_NAME_COLUMNS if c in units.columns), None)
    if col is None:
        cols = [c for c in units.columns if c != units.geometry.name]
        msg = (
            f"{source}: the units layer has no name column (expected one of "
            f"{', '.join(UNIT_NAME_COLUMNS)}; found {cols}); add a column `name` with each "
            f'更新单元\'s name, or map yours with `columns = {{ "单元名" = "name" }}`.'
        )
        raise InputError(msg)
    out = units.copy()
    names = out[col].astype("string").str.strip()
    blank = names.isna() | (names == "")
    if blank.any():
        rows = [int(i) + 1 for i in np.flatnonzero(blank.to_numpy())[:5]]
        msg = f"{source}: units at rows {rows} have no name in column {col!r}; name every unit."
        raise InputError(msg)
    id_col = next((c for c in ("unit_id", "zone_id") if c in out.columns), None)
    ids = names if id_col is None else out[id_col].astype("string").str.strip().fillna(names)
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        msg = (
            f"{source}: unit {dup.iloc[0]!r} appears {len(dup)} times "
            f"(column {id_col or col!r}); give each unit one polygon (dissolve the parts "
            f"into a multipolygon) and its own name."
        )
        raise InputError(msg)
    reserved = [k for k in ids if k in RESERVED_ROWS]
    if reserved:
        msg = f"{source}: unit names {reserved} are reserved row labels; rename those units."
        raise InputError(msg)
    out["name"] = names.astype(object)
    out["unit_id"] = ids.astype(object)
    return out


def _check_polygons(units: gpd.GeoDataFrame, source: str) -> None:
    geoms = units.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    bad = shapely.is_missing(geoms) | ~np.isin(
        kinds, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON]
    )
    bad |= ~bad & ~shapely.is_valid(geoms)
    if bad.any():
        names = list(units["name"][bad][:5])
        msg = (
            f"{source}: units {names} are not valid polygons; draw each unit as a polygon "
            f"(repair with `validate_layer(units, kind='units')`)."
        )
        raise InputError(msg)


def _check_overlaps(units: gpd.GeoDataFrame, source: str) -> None:
    wcrs = working_crs(units)
    geoms = np.asarray(to_working(units.geometry, crs=wcrs).array, dtype=object)
    i, j, inter, _share = _overlapping_pairs(geoms, tolerance=_OVERLAP_M2, threads=1)
    if len(i):
        names = units["name"].to_numpy(dtype=object)
        pairs = "; ".join(
            f"{names[a]} and {names[b]} by {s:,.0f} m²"
            for a, b, s in zip(i[:5], j[:5], inter[:5], strict=True)
        )
        msg = (
            f"{source}: units overlap ({pairs}); a parcel can belong to one renewal unit "
            f"only, so fix the boundaries so that the units do not overlap."
        )
        raise InputError(msg)


def _check_inside(units: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, source: str) -> None:
    check_same_crs(units, districts, (source, "districts"))
    wcrs = working_crs(units)
    geoms = np.asarray(to_working(units.geometry, crs=wcrs).array, dtype=object)
    district = shapely.union_all(to_working(districts.geometry, crs=wcrs).to_numpy())
    outside = shapely.area(shapely.difference(geoms, district))
    share = outside / np.maximum(shapely.area(geoms), 1e-12)
    bad = share > _OUTSIDE_SHARE
    if bad.any():
        names = list(units["name"][bad][:5])
        msg = (
            f"{source}: units {names} lie (partly, {share[bad].max():.0%} at most) outside "
            f"the district; check their position and CRS, or clip them to the district."
        )
        raise InputError(msg)


def _planned(units: gpd.GeoDataFrame, source: str) -> np.ndarray:
    """Planned floor area per unit (m²): the column, else planned FAR × land area, else NaN."""
    n = len(units)
    planned = np.full(n, np.nan)
    for cols, what in ((_PLANNED_COLUMNS, "planned floor area (m²)"), (_FAR_COLUMNS, "FAR")):
        col = next((c for c in cols if c in units.columns), None)
        if col is None:
            continue
        values = pd.to_numeric(units[col], errors="coerce").to_numpy(dtype=float)
        text = units[col].astype("string").str.strip()
        bad = (np.isnan(values) & text.notna().to_numpy() & (text != "").to_numpy()) | (values < 0)
        if bad.any():
            names = list(units["name"][bad][:5])
            msg = (
                f"{source}: column {col!r} of units {names} is not a {what} ≥ 0; "
                f"write a number or leave the cell empty."
            )
            raise InputError(msg)
        if cols is _FAR_COLUMNS:
            values = values * area(units).to_numpy(dtype=float)
        planned = np.where(np.isnan(planned), values, planned)
    return planned


# --------------------------------------------------------------------------- the checks


def unit_checks(
    parcels: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    resettlement: ResettlementPlan | None = None,
    demand_by: str = "zone_id",
    category_col: str = "category",
    max_demolition_share: float = MAX_DEMOLITION_SHARE,
    max_rebuild_ratio: float = MAX_REBUILD_RATIO,
    min_nearby_rate: float = MIN_NEARBY_RATE,
    lang: str | None = None,
) -> pd.DataFrame:
    """
    Compute the 63号文 checks on everything inside each renewal unit, whatever its class.

    Every parcel is apportioned to the units by area share (a parcel straddling a unit
    boundary gives each unit the share of its land, floor area and households that lies
    inside it; the rest goes to the "outside every unit" row). Per unit: existing floor
    area, demolished floor area (parcels of class ``demolish``), its exempt part (illegal
    structures and C/D dangerous buildings: per building when `buildings` is given, else
    the parcel's own flags), the planned floor area of the unit, and — with a
    `resettlement` plan — the households needing a flat and those placed on site or
    nearby (each demolition parcel at the rate of its demand unit). The unit rows plus the
    outside row equal the layer's totals; this is checked.

    Parameters
    ----------
    parcels
        Classified parcels with a CRS, ``floor_area`` and `category_col`; optional
        ``households``, ``illegal``, ``danger_grade`` and the `demand_by` column.
    units
        Unit polygons (`check_units` is applied).
    buildings
        Building footprints with ``floor_area`` (or ``floors``), ``illegal`` and
        ``danger_grade``, for the exempt floor area per building. Each building belongs to
        the parcel it overlaps most.
    resettlement
        A `geo_renewal.resettlement.ResettlementPlan` of the same parcels, for the
        就地就近安置率 per unit.
    demand_by
        Column of `parcels` naming the demand unit of the resettlement plan.
    category_col
        Column of renewal class codes.
    max_demolition_share, max_rebuild_ratio, min_nearby_rate
        The limits (DOMAIN.md §2).
    lang
        Language of the texts; defaults to `settings.lang`.

    Returns
    -------
    checks
        One row per unit (index ``renewal_unit``: the ``unit_id`` of `check_units`), then
        ``OUTSIDE_ROW`` when anything lies outside every unit, then ``TOTAL_ROW``: ``name``, ``class_mix`` (land by class),
        ``n_parcels`` (parcels touching the unit), ``area_m2``, ``floor_area_m2``,
        ``demolish_floor_area_m2``, ``exempt_floor_area_m2``, ``planned_floor_area_m2``,
        ``households``, ``demolish_households``, ``flat_households``, ``nearby_households``
        and the columns of `geo_renewal.policy.unit_policy`.

    Raises
    ------
    SchemaError
        If `parcels` lacks ``floor_area`` or `category_col`.
    InputError
        For a bad units layer (see `check_units`).
    ConservationError
        If the rows do not add up to the layer's totals.

    Examples
    --------
    >>> from shapely import box
    >>> x, y = 500_000, 4_060_000
    >>> parcels = gpd.GeoDataFrame({"floor_area": [1000.0, 4000.0],
    ...     "category": ["demolish", "retain_upgrade"], "illegal": [False, False]},
    ...     geometry=[box(x, y, x + 100, y + 100), box(x + 100, y, x + 200, y + 100)],
    ...     crs="EPSG:4548")
    >>> units = gpd.GeoDataFrame({"name": ["东单元"], "planned_floor_area": [1500.0]},
    ...     geometry=[box(x, y, x + 200, y + 100)], crs="EPSG:4548")
    >>> t = unit_checks(parcels, units, lang="en")
    >>> row = t.loc["东单元"]
    >>> float(row["demolition_share"]), float(row["rebuild_ratio"]), row["verdict"]
    (0.2, 1.5, 'incomplete')
    >>> row["reason"].split("; ")[-1]  # households not known and no resettlement plan
    'no resettlement plan: nearby rate not checked'
    >>> row["class_mix"]
    'Expropriate & demolish 50%, Retain & upgrade 50%'
    """
    lang = check_lang(lang)
    check_crs(parcels, "parcels")
    units = check_units(units) if "planned_floor_area_m2" not in units.columns else units
    check_same_crs(parcels, units, ("parcels", "units"))
    missing = [c for c in ("floor_area", category_col) if c not in parcels.columns]
    if missing:
        msg = (
            f"`parcels` lacks {missing}: the 63号文 checks need the classified parcels "
            f"(`classify_parcels`) with floor area (from the parcels or their buildings)."
        )
        raise SchemaError(msg)
    values = _parcel_values(parcels, buildings, resettlement, demand_by, category_col)
    p, g, w, keys, parea_share = _apportion(parcels, units)
    table = _sum_rows(values, p, g, w, len(keys), parea_share)
    _whole_households(table)
    table.index = pd.Index([*keys, TOTAL_ROW], name="renewal_unit")
    outside = pick(OUTSIDE_LABELS["renewal_unit"], lang)  # as the workbook labels the row
    names = [*units["name"], outside, label(TOTAL_ROW, lang)]
    table.insert(0, "name", names)
    # Planned floor area is known per unit only: no 拆建比 outside or over the whole layer.
    table["planned_floor_area_m2"] = [*units["planned_floor_area_m2"], np.nan, np.nan]
    table.insert(1, "class_mix", _class_mix(table, lang, class_labels(parcels, lang)))
    if resettlement is None:
        table = table.drop(columns=["flat_households", "nearby_households"])
    if "households" not in parcels.columns:  # not known, never 0: the nearby rate not checked
        table = table.drop(columns=["households", "demolish_households"], errors="ignore")
    table = table.drop(columns=[c for c in table.columns if c.startswith("area_m2:")])
    if table.loc[OUTSIDE_ROW, "n_parcels"] == 0:
        table = table.drop(index=OUTSIDE_ROW)
    return unit_policy(
        table,
        max_demolition_share=max_demolition_share,
        max_rebuild_ratio=max_rebuild_ratio,
        min_nearby_rate=min_nearby_rate,
        lang=lang,
    )


def _parcel_values(
    parcels: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None,
    plan: ResettlementPlan | None,
    demand_by: str,
    category_col: str,
) -> dict[str, np.ndarray]:
    """Additive per-parcel values: floor area, demolished and exempt parts, households."""
    floor = _numbers(parcels, "floor_area")
    codes = parcels[category_col].astype("string").fillna("").to_numpy(dtype=object)
    demolish = in_role(parcels, "demolish", category_col=category_col)  # 拆除重建类 too
    households = _numbers(parcels, "households")
    exempt = np.where(demolish, _exempt_floor_area(parcels, buildings, floor), 0.0)
    values = {
        "floor_area_m2": floor,
        "demolish_floor_area_m2": np.where(demolish, floor, 0.0),
        "exempt_floor_area_m2": exempt,
        "households": households,
        "demolish_households": np.where(demolish, households, 0.0),
    }
    flat, nearby = _resettled(parcels, plan, demand_by, values["demolish_households"])
    values["flat_households"], values["nearby_households"] = flat, nearby
    for code in pd.unique(codes):
        if code:
            values[f"area_m2:{code}"] = (codes == code).astype(float)  # × land area later
    return values


def _numbers(parcels: pd.DataFrame, col: str) -> np.ndarray:
    if col not in parcels.columns:
        return np.zeros(len(parcels))
    values = pd.to_numeric(parcels[col], errors="coerce").to_numpy(dtype=float)
    return np.nan_to_num(values, nan=0.0)


def _is_exempt(frame: pd.DataFrame) -> np.ndarray:
    """Illegal structures and C/D dangerous buildings (63号文 exempts their demolition)."""
    exempt = np.zeros(len(frame), dtype=bool)
    if "illegal" in frame.columns:
        exempt |= frame["illegal"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    if "danger_grade" in frame.columns:
        grade = frame["danger_grade"].astype("string").str.strip().str.upper()
        exempt |= grade.isin(["C", "D"]).fillna(False).to_numpy(dtype=bool)
    return exempt


def _exempt_floor_area(
    parcels: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame | None, floor: np.ndarray
) -> np.ndarray:
    """Exempt floor area per parcel: its exempt buildings', else all of it if it is exempt."""
    by_parcel = np.where(_is_exempt(parcels), floor, 0.0)
    if buildings is None or not len(buildings) or not len(parcels):
        return by_parcel
    check_same_crs(parcels, buildings, ("parcels", "buildings"))
    wcrs = working_crs(parcels)
    pg = np.asarray(to_working(parcels.geometry, crs=wcrs).array, dtype=object)
    bg = np.asarray(to_working(buildings.geometry, crs=wcrs).array, dtype=object)
    owner = _building_owners(bg, pg)  # as aggregate_buildings assigns them
    fa = _building_floor_area(buildings, bg)
    ex = _is_exempt(buildings) & (owner >= 0)
    n = len(parcels)
    from_buildings = np.bincount(owner[ex], weights=fa[ex], minlength=n)
    has = np.bincount(owner[owner >= 0], minlength=n) > 0
    return np.where(has, np.minimum(from_buildings, floor), by_parcel)


def _building_floor_area(buildings: gpd.GeoDataFrame, geoms: np.ndarray) -> np.ndarray:
    """Floor area per building: given, else footprint × floors (as `aggregate_buildings`)."""
    nan = pd.Series(np.nan, index=buildings.index)
    given = pd.to_numeric(buildings.get("floor_area", nan), errors="coerce")
    floors = pd.to_numeric(buildings.get("floors", nan), errors="coerce")
    est = pd.Series(shapely.area(geoms), index=buildings.index) * floors
    return given.fillna(est).fillna(0.0).to_numpy(dtype=float)


def _resettled(
    parcels: pd.DataFrame, plan: ResettlementPlan | None, demand_by: str, hh: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Flat and nearby households per parcel, at the rates of its demand unit."""
    n = len(parcels)
    if plan is None or demand_by not in parcels.columns:
        return np.zeros(n), np.zeros(n)
    rates = plan.rates.set_index("unit_id")
    total = pd.to_numeric(rates["households"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        flat_share = np.where(total > 0, rates["flat_households"].to_numpy(float) / total, 0.0)
        near_share = np.where(total > 0, rates["nearby_households"].to_numpy(float) / total, 0.0)
    pos = rates.index.get_indexer(parcels[demand_by].to_numpy(dtype=object))
    found = pos >= 0
    flat = np.where(found, hh * flat_share[np.maximum(pos, 0)], 0.0)
    near = np.where(found, hh * near_share[np.maximum(pos, 0)], 0.0)
    return flat, near


def _apportion(
    parcels: gpd.GeoDataFrame, units: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Any], np.ndarray]:
    """(parcel, unit, weight) triples by area share; the last group is outside every unit."""
    wcrs = working_crs(parcels)
    pgeoms, planar, parea = _project(parcels.geometry, wcrs)
    setup = _zone_setup(units, "unit_id", wcrs, "raise")
    assert setup.geoms is not None  # a working CRS is known
    p, g, w = _assign_zones(
        pgeoms, planar, setup.geoms, setup.groups, len(setup.keys) - 1, "apportion", 1
    )
    return p, g, w, list(setup.keys), parea


def _sum_rows(
    values: dict[str, np.ndarray],
    p: np.ndarray,
    g: np.ndarray,
    w: np.ndarray,
    n_rows: int,
    parea: np.ndarray,
) -> pd.DataFrame:
    """Per-unit sums, the outside row and the total row; conservation checked."""
    cols: dict[str, np.ndarray] = {}
    counted = np.bincount(g, minlength=n_rows).astype(np.int64)
    cols["n_parcels"] = np.append(counted, len(parea))
    per_parcel = {"area_m2": parea}
    for name, v in values.items():
        per_parcel[name] = v * parea if name.startswith("area_m2:") else v
    for name, v in per_parcel.items():
        rows = np.bincount(g, weights=v[p] * w, minlength=n_rows)
        total = float(v.sum())
        scale = max(float(np.abs(v).sum()), np.finfo(float).tiny)
        if abs(float(rows.sum()) - total) > _RTOL * scale:
            msg = (
                f"internal error: the units and the outside row add up to {float(rows.sum())!r} "
                f"`{name}`, the layer holds {total!r}; please report this with the data."
            )
            raise ConservationError(msg)
        cols[name] = np.append(rows, total)
    return pd.DataFrame(cols)


#: Household columns from the fewest to the most: each is part of the next in every row.
_NESTED_HOUSEHOLDS = ("nearby_households", "flat_households", "demolish_households", "households")


def _whole_households(table: pd.DataFrame) -> None:
    """
    Round the apportioned households of the units and the outside row to whole households.

    The parts between nested columns (nearby, the rest of the flats, the rest of the
    demolished, the others) are rounded by the largest remainder
    (`geo_renewal.demand.whole_counts`), so every row keeps nearby ≤ flats ≤ demolished ≤
    households and every column still adds up to its (whole) total row.
    """
    from geo_renewal.demand import whole_counts

    cols = [c for c in _NESTED_HOUSEHOLDS if c in table.columns]
    rows = table.iloc[:-1]  # the units and the outside row; the last row is the total
    below = np.zeros(len(rows))
    whole = np.zeros(len(rows))
    for col in cols:
        v = rows[col].to_numpy(dtype=float)
        whole = whole + whole_counts(v - below)
        below = v
        table.iloc[:-1, table.columns.get_loc(col)] = whole
        table.iloc[-1, table.columns.get_loc(col)] = whole.sum()


def _class_mix(table: pd.DataFrame, lang: str, names: dict[str, str]) -> list[str]:
    """Land by class per row in words, largest first: ``征收拆迁 35%、保留提升 65%``."""
    cross = [c for c in table.columns if c.startswith("area_m2:")]
    land = table["area_m2"].to_numpy(dtype=float)
    sep = say("progress.list_separator", lang)
    texts = []
    for r in range(len(table)):
        parts = sorted(
            ((float(table[c].iloc[r]), c.split(":", 1)[1]) for c in cross), reverse=True
        )
        texts.append(
            sep.join(
                f"{names.get(code) or label(code, lang)} {a / land[r]:.0%}"
                for a, code in parts
                if land[r] > 0 and a / land[r] >= 0.005
            )
        )
    return texts


# --------------------------------------------------------------------------- nearby rate


def nearby_reason(plan: ResettlementPlan, *, lang: str | None = None) -> str:
    """
    Say why the plan's 就地就近安置率 is below the best the capacities allow, from its numbers.

    The reasons are measured on the allocation: households of units with no usable site on
    site or nearby (no plan can place them nearby); households placed at a site that is
    nearby for another unit but not for them (the plan minimises total household·km, not
    the count placed nearby); capacity left free at such sites while a unit kept whole did
    not fit. "" when the plan reaches the best rate.

    Parameters
    ----------
    plan
        A `geo_renewal.resettlement.ResettlementPlan`.
    lang
        Language of the text; defaults to `settings.lang`.

    Returns
    -------
    reason
        One or two sentences, or "".

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> from geo_renewal.resettlement import plan_resettlement
    >>> x, y = 500_000, 4_060_000
    >>> parcels = gpd.GeoDataFrame(
    ...     {"category": ["demolish", "demolish", "resettlement_site"],
    ...      "households": [100, 100, 0], "zone_id": ["A", "B", None]},
    ...     geometry=[box(x, y, x + 50, y + 50), box(x + 3000, y, x + 3050, y + 50),
    ...               box(x + 1400, y, x + 1500, y + 100)], crs="EPSG:4548")
    >>> p = plan_resettlement(parcels, cash_share=0.0, nearby_dist=2000)
    >>> p.summary["nearby_rate"], nearby_reason(p, lang="en")  # the best rate: nothing to say
    (1.0, '')
    """
    lang = check_lang(lang)
    s = plan.summary
    flats = int(s.get("flat_households", 0))
    nb, best = int(s.get("nearby_households", 0)), s.get("max_nearby_rate", float("nan"))
    if not flats or not np.isfinite(best) or nb >= round(best * flats):
        return ""
    rates = plan.rates.set_index("unit_id")
    near_units = set(plan.nearby_pairs["unit_id"])
    need = rates["flat_households"] > 0
    no_site = need & ~rates.index.isin(list(near_units))
    short = need & (rates["nearby_households"] < rates["flat_households"]) & ~no_site
    near_sites = set(
        plan.nearby_pairs.loc[plan.nearby_pairs["unit_id"].isin(short[short].index), "site_id"]
    )
    alloc = plan.allocation
    pair = set(zip(plan.nearby_pairs["unit_id"], plan.nearby_pairs["site_id"], strict=True))
    is_pair = np.array(
        [(u, st) in pair for u, st in zip(alloc["unit_id"], alloc["site_id"], strict=True)],
        dtype=bool,
    )
    taken = alloc["site_id"].isin(list(near_sites)).to_numpy() & ~is_pair
    sites = plan.sites
    free = sites.loc[sites["site_id"].isin(list(near_sites)), "remaining_units"]
    parts = [
        say(
            "units.nearby.head",
            lang,
            rate=s["nearby_rate"],
            best=best,
            gap=round(best * flats) - nb,
            dist=s["nearby_dist"],
        )
    ]
    if no_site.any():
        parts.append(
            say(
                "units.nearby.no_site",
                lang,
                hh=int(rates.loc[no_site, "flat_households"].sum()),
                n=int(no_site.sum()),
                dist=s["nearby_dist"],
            )
        )
    if taken.any():
        parts.append(
            say(
                "units.nearby.taken",
                lang,
                hh=int(alloc.loc[taken, "households"].sum()),
                n_sites=int(alloc.loc[taken, "site_id"].nunique()),
            )
        )
    if s.get("keep_together") and float(free.clip(lower=0).sum()) > 0:
        parts.append(say("units.nearby.kept_whole", lang, free=int(free.clip(lower=0).sum())))
    return say("policy.separator", lang).join(parts) + say("units.nearby.end", lang)
