"""
Classify parcels with a rule set, and group classified parcels into renewal zones.

`classify_parcels` evaluates every rule of a `geo_renewal.rules.RuleSet` over all parcels
at once (vectorised masks), computing each spatial or raster value the rules need once per
(function, layer, arguments), whatever the number of rules that use it. Force rules win
over every other rule; otherwise the first matching rule decides; parcels no rule matches
get the set's default category. The result says why (`rule_id`, `reason`) and records
every rule that matched (`matched`) for audit.

`zone_labels` / `zones_from_parcels` join parcels of one category separated by gaps
narrower than `dist` (roads between blocks) into renewal zones (片区) with stable ids.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from geo_renewal._checks import check_lang
from geo_renewal._classify_kernel import OUTPUT_COLUMNS, classify_frame
from geo_renewal._errors import InputError
from geo_renewal._roles import CLASSES_ATTR, class_labels
from geo_renewal.crs import area as crs_area
from geo_renewal.crs import check_crs, to_working, working_crs
from geo_renewal.geoparquet import is_partitioned
from geo_renewal.io import read_named_layer
from geo_renewal.rules import RuleSet, load_rules
from geo_renewal.schema import CATEGORIES
from geo_renewal.text import say

__all__ = [
    "OUTPUT_COLUMNS",
    "ClassifiedFile",
    "aggregate_buildings",
    "category_summary",
    "classify_file",
    "classify_parcels",
    "zone_labels",
    "zone_names",
    "zones_from_parcels",
]

logger = logging.getLogger(__name__)

_GRADE_ORDER = {"A": 1, "B": 2, "C": 3, "D": 4}
_SUM_COLUMNS = ("households", "population", "floor_area")


# --------------------------------------------------------------------------- classify


def classify_parcels(
    parcels: gpd.GeoDataFrame,
    rules: RuleSet | str | Path,
    *,
    layers: Mapping[str, gpd.GeoDataFrame | gpd.GeoSeries | str | Path] | None = None,
    rasters: Mapping[str, str | Path] | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    verbose: bool = False,
) -> gpd.GeoDataFrame:
    """
    Classify parcels into renewal categories with an explainable rule set.

    Every rule is evaluated over all parcels (vectorised). Rules with ``force = true`` win
    over all others (the first forced rule that matches decides); otherwise the first
    matching rule decides; parcels no rule matches get ``rules.default``. Spatial values
    (``share_in``, ``intersects``, ``distance_to``) are computed once per function and layer
    in the parcels' working CRS (metres), raster statistics once per raster.

    Parameters
    ----------
    parcels
        Parcel polygons with a CRS and the columns the rules read (canonical names, see
        `geo_renewal.schema`). A partitioned ``dask_geopandas.GeoDataFrame`` (province
        scale, see `geo_renewal.partitioned`) gives a *lazy* dask GeoDataFrame with the same
        columns and values; layers and rasters are read once and broadcast to the workers,
        ``buildings`` is not supported there and `verbose` is ignored.
    rules
        A `RuleSet`, the name of a bundled set (``"default"``, ``"shenzhen"``) or the
        path of a TOML rule file.
    layers
        Constraint layers by the names the rules use (``"heritage_core"``, ``"eco_belt"``
        …): GeoDataFrames/GeoSeries or file paths (read with `geo_renewal.io.read_layer`;
        ``"file.gpkg::layer"`` picks a layer, and a GeoPackage holding a layer of the
        rule's name uses that one).
        A layer in another CRS than the parcels is reprojected (logged), one without a CRS
        is refused.
    rasters
        GeoTIFF paths by the names the rules use (``"flood_depth"``); see
        `geo_renewal.raster` for which pixels count.
    buildings
        Building footprints. If given, they are first aggregated to the parcel they overlap
        most (`aggregate_buildings`) and the aggregates replace the parcels' own values of
        ``households``, ``population``, ``floor_area``, ``build_year``, ``danger_grade``,
        ``structure``, ``listed`` and ``illegal`` where a parcel has buildings; the output
        gains ``n_buildings``.
    verbose
        If True, show a progress bar.

    Returns
    -------
    classified
        A copy of `parcels` (same index, same columns, same CRS) with ``category``
        (categorical, categories in the rule set's order), ``rule_id`` (``"default"`` where
        no rule matched), ``reason`` (in ``rules.language``) and ``matched`` (the ids of
        every rule that matched, in rule order, joined by ``";"``; ``""`` for none).

    Raises
    ------
    RuleError
        If a rule reads a column the parcels lack (listing the columns and the closest
        match) or needs a layer or raster that was not given (naming it and how to pass
        it); all such problems are reported at once.
    CRSError
        If the parcels or a layer have no CRS.
    InputError
        If `parcels` is not a GeoDataFrame or a layer holds invalid geometries.

    See Also
    --------
    geo_renewal.rules.load_rules : Load a rule set.
    zones_from_parcels : Dissolve classified parcels into renewal zones.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> from geo_renewal.rules import parse_rules
    >>> parcels = gpd.GeoDataFrame(
    ...     {"danger_grade": ["D", "A"], "listed": [True, False]},
    ...     geometry=[box(0, 0, 50, 50), box(60, 0, 110, 50)], crs="EPSG:4548")
    >>> rules = parse_rules({"rules": [
    ...     {"id": "danger", "category": "demolish", "when": "danger_grade == 'D'",
    ...      "reason_zh": "危房", "reason_en": "Dangerous"},
    ...     {"id": "listed", "category": "retain_protect", "when": "listed", "force": True,
    ...      "reason_zh": "文保", "reason_en": "Listed"}]})
    >>> out = classify_parcels(parcels, rules)
    >>> out[["category", "rule_id", "matched"]].values.tolist()
    [['retain_protect', 'listed', 'danger;listed'], ['unchanged', 'default', '']]
    """
    partitioned = is_partitioned(parcels)
    if not partitioned and not isinstance(parcels, gpd.GeoDataFrame):
        msg = f"`parcels` must be a GeoDataFrame, got {type(parcels).__name__}; read it with read_layer()."
        raise InputError(msg)
    check_crs(parcels, "parcels")
    rules = load_rules(rules)
    layers = _resolve_layers(rules, layers)
    if partitioned:
        from geo_renewal.partitioned import classify_partitioned

        if buildings is not None:
            msg = (
                "`buildings=` is not supported with partitioned parcels: aggregate the "
                "buildings to the parcels first (geo_renewal.aggregate_buildings, per region "
                "if they are many) and pass the parcels with those columns."
            )
            raise InputError(msg)
        return classify_partitioned(parcels, rules, layers=layers, rasters=rasters or {})
    if buildings is not None:
        parcels = _apply_buildings(parcels.copy(), buildings)
    return classify_frame(parcels, rules, layers=layers, rasters=rasters or {}, verbose=verbose)


def _resolve_layers(
    rules: RuleSet, layers: Mapping[str, Any] | None
) -> dict[str, gpd.GeoDataFrame | gpd.GeoSeries]:
    """Read the given layers the rules use (paths, ``file.gpkg::layer``); others stay as given."""
    needed = set(rules.layers)
    return {
        name: read_named_layer(value, name) if name in needed else value
        for name, value in (layers or {}).items()
    }


# --------------------------------------------------------------------------- buildings


def aggregate_buildings(
    buildings: gpd.GeoDataFrame, parcels: gpd.GeoDataFrame | gpd.GeoSeries
) -> pd.DataFrame:
    """
    Aggregate building attributes to the parcel each building overlaps most.

    Households, population and floor area are summed (a building's missing floor area is
    its footprint × floors), the earliest build year and the worst danger grade (D worst)
    are kept, the dominant structure is the one with the largest total footprint, and
    ``listed`` / ``illegal`` are True if any building is. Buildings overlapping no parcel
    are left out with a warning that names them.

    Parameters
    ----------
    buildings
        Building footprints with a CRS (reprojected to the parcels' working CRS for the
        overlap if it differs) and any of the columns above.
    parcels
        Parcel polygons with a CRS.

    Returns
    -------
    per_parcel
        DataFrame aligned on `parcels.index` with ``n_buildings`` and, for each column the
        buildings have, its aggregate (0 sums and null values for parcels without buildings).

    Raises
    ------
    CRSError
        If either layer has no CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parcels = gpd.GeoSeries([box(0, 0, 100, 100), box(100, 0, 200, 100)], crs="EPSG:4548")
    >>> buildings = gpd.GeoDataFrame(
    ...     {"households": [10, 5, 7], "danger_grade": ["A", "C", "B"]},
    ...     geometry=[box(10, 10, 30, 30), box(40, 40, 120, 60), box(150, 10, 160, 20)],
    ...     crs="EPSG:4548")
    >>> aggregate_buildings(buildings, parcels)[["n_buildings", "households", "danger_grade"]]
       n_buildings  households danger_grade
    0            2          15            C
    1            1           7            B
    """
    check_crs(buildings, "buildings")
    check_crs(parcels, "parcels")
    crs = working_crs(parcels)
    pgeoms = np.asarray(to_working(parcels.geometry, crs=crs).array)
    bgeoms = np.asarray(to_working(buildings.geometry, crs=crs).array)
    owner = _building_owners(bgeoms, pgeoms)
    lost = np.flatnonzero(owner < 0)
    if len(lost):
        ids = (
            buildings["building_id"].iloc[lost].tolist()
            if "building_id" in buildings
            else buildings.index[lost].tolist()
        )
        import warnings

        msg = (
            f"{len(lost)} of {len(bgeoms)} buildings overlap no parcel and are not counted: "
            f"{ids[:10]}{' …' if len(ids) > 10 else ''}; check their position or CRS."
        )
        warnings.warn(msg, UserWarning, stacklevel=2)
    b = pd.DataFrame(buildings.drop(columns=buildings.geometry.name)).reset_index(drop=True)
    b["_parcel"] = owner
    b["_footprint"] = (
        b["footprint_area"].astype(float).fillna(pd.Series(shapely.area(bgeoms)))
        if "footprint_area" in b
        else shapely.area(bgeoms)
    )
    b = b[b["_parcel"] >= 0]
    n = len(pgeoms)
    result = pd.DataFrame(index=pd.RangeIndex(n))
    grouped = b.groupby("_parcel")
    result["n_buildings"] = grouped.size().reindex(result.index, fill_value=0).astype("int64")
    if "floors" in b or "floor_area" in b:
        est = b["_footprint"] * b["floors"].astype(float) if "floors" in b else np.nan
        b["floor_area"] = b["floor_area"].astype(float).fillna(est) if "floor_area" in b else est
    for col in _SUM_COLUMNS:
        if col in b:
            result[col] = (
                b.groupby("_parcel")[col].sum(min_count=1).reindex(result.index).fillna(0)
            )
    if "build_year" in b:
        result["build_year"] = (
            b.groupby("_parcel")["build_year"].min().reindex(result.index).astype("Int64")
        )
    if "danger_grade" in b:
        rank = b["danger_grade"].map(_GRADE_ORDER)
        worst = rank.groupby(b["_parcel"]).max().reindex(result.index)
        inverse = {v: k for k, v in _GRADE_ORDER.items()}
        result["danger_grade"] = pd.array(worst.map(inverse), dtype="str")
    if "structure" in b:
        fp = b.groupby(["_parcel", "structure"])["_footprint"].sum().reset_index()
        fp = fp.sort_values(["_parcel", "_footprint"], ascending=[True, False])
        dom = fp.drop_duplicates("_parcel").set_index("_parcel")["structure"]
        result["structure"] = pd.array(dom.reindex(result.index), dtype="str")
    for col in ("listed", "illegal"):
        if col in b:
            flag = b[col].fillna(False).astype(bool).groupby(b["_parcel"]).any()
            result[col] = flag.reindex(result.index, fill_value=False).astype(bool)
    result.index = parcels.index
    return result


def _building_owners(bgeoms: np.ndarray, pgeoms: np.ndarray) -> np.ndarray:
    """Return the position of the parcel each building overlaps most (-1: overlaps none)."""
    bi, pi = shapely.STRtree(pgeoms).query(bgeoms, predicate="intersects")
    overlap = shapely.area(shapely.intersection(bgeoms[bi], pgeoms[pi]))
    keep = overlap > 0
    bi, pi, overlap = bi[keep], pi[keep], overlap[keep]
    order = np.lexsort((-overlap, bi))
    bi, pi = bi[order], pi[order]
    first = np.ones(len(bi), dtype=bool)
    first[1:] = bi[1:] != bi[:-1]
    owner = np.full(len(bgeoms), -1)
    owner[bi[first]] = pi[first]
    return owner


def _apply_buildings(out: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    agg = aggregate_buildings(buildings, out)
    has = agg["n_buildings"].to_numpy() > 0
    agg["n_buildings"] = _not_surveyed(agg["n_buildings"], out, has)
    for col in agg.columns:
        if col == "n_buildings" or col not in out.columns:
            out[col] = agg[col]
            continue
        replaced = agg[col].where(has & agg[col].notna().to_numpy(), out[col])
        out[col] = replaced.astype(agg[col].dtype) if col in ("listed", "illegal") else replaced
    logger.info(
        "aggregated %d buildings to %d parcels (columns %s)",
        len(buildings),
        int(has.sum()),
        [c for c in agg.columns if c != "n_buildings"],
    )
    return out


def _not_surveyed(counts: pd.Series, parcels: pd.DataFrame, has: np.ndarray) -> pd.Series:
    """
    Return building counts with "not surveyed" as missing.

    A parcel the parcel layer says is built (floor area or households > 0) but that holds
    no surveyed footprint has an unknown count, not 0 buildings; statistics show 未调查.
    """
    built = np.zeros(len(parcels), dtype=bool)
    for col in ("floor_area", "households"):
        if col in parcels.columns:
            v = pd.to_numeric(parcels[col], errors="coerce").to_numpy(dtype=float)
            built |= np.nan_to_num(v) > 0
    return counts.astype("Int64").mask(pd.Series(built & ~has, index=counts.index))


# --------------------------------------------------------------------------- zones


def _category_order(classified: gpd.GeoDataFrame) -> list[str]:
    if "category" not in classified.columns:
        msg = (
            "`classified` has no `category` column; classify the parcels first "
            f"(classify_parcels); columns: {list(classified.columns)}."
        )
        raise InputError(msg)
    cat = classified["category"]
    if isinstance(cat.dtype, pd.CategoricalDtype):
        return [str(c) for c in cat.cat.categories]
    present = [str(c) for c in pd.unique(cat.dropna())]
    return [c for c in CATEGORIES if c in present] + sorted(
        c for c in present if c not in CATEGORIES
    )


def _components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected-component label (smallest member) of n nodes joined by edges (i, j)."""
    label = np.arange(n)
    if len(i) == 0:
        return label
    while True:
        li, lj = label[i], label[j]
        low = np.minimum(li, lj)
        np.minimum.at(label, li, low)
        np.minimum.at(label, lj, low)
        while True:  # pointer jumping
            nxt = label[label]
            if np.array_equal(nxt, label):
                break
            label = nxt
        if np.array_equal(label[i], label[j]):
            return label


def zone_labels(classified: gpd.GeoDataFrame, *, dist: float = 30.0) -> pd.Series:
    """
    Label every parcel with the renewal zone it belongs to.

    Parcels of the same category whose gap is narrower than `dist` metres (measured in the
    working CRS, e.g. a road between two blocks) belong to the same zone, also through
    chains of parcels; parcels of different categories never share a zone. Zone ids are
    ``"<category>-NNN"``, numbered per category in map reading order (north to south, then
    west to east, by the zone's north-west corner), so the same data always gets the same
    ids; categories follow the order of the ``category`` column.

    Parameters
    ----------
    classified
        Parcels with a CRS and a ``category`` column (e.g. from `classify_parcels`).
    dist
        Largest gap in metres (exclusive) bridged within a zone.

    Returns
    -------
    zone_id
        String Series aligned on `classified.index`; null where the category is null.

    Raises
    ------
    InputError
        If there is no ``category`` column.
    CRSError
        If `classified` has no CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(
    ...     {"category": ["demolish", "demolish", "demolish", "unchanged"]},
    ...     geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10), box(100, 0, 110, 10),
    ...               box(40, 0, 50, 10)], crs="EPSG:4548")
    >>> zone_labels(parcels, dist=15).tolist()
    ['demolish-001', 'demolish-001', 'demolish-002', 'unchanged-001']
    """
    check_crs(classified, "classified")
    order = _category_order(classified)
    n = len(classified)
    result = pd.Series(pd.array([pd.NA] * n, dtype="str"), index=classified.index, name="zone_id")
    if n == 0:
        return result
    cats = pd.Categorical(classified["category"].astype(object), categories=order)
    codes = np.asarray(cats.codes)
    geoms = np.asarray(to_working(classified.geometry, crs=working_crs(classified)).array)
    ok = (codes >= 0) & ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="dwithin", distance=float(dist))
    keep = (i < j) & (codes[i] == codes[j]) & ok[i] & ok[j]
    i, j = i[keep], j[keep]
    close = shapely.distance(geoms[i], geoms[j]) < dist
    label = _components(n, i[close], j[close])

    bounds = shapely.bounds(geoms)
    frame = pd.DataFrame(
        {"label": label, "code": codes, "north": bounds[:, 3], "west": bounds[:, 0], "ok": ok}
    )[ok]
    corner = frame.groupby("label").agg(
        code=("code", "first"), north=("north", "max"), west=("west", "min")
    )
    corner["north"] = -np.round(corner["north"], 1)
    corner["west"] = np.round(corner["west"], 1)
    corner = corner.reset_index().sort_values(["code", "north", "west", "label"])
    corner["k"] = corner.groupby("code").cumcount() + 1
    width = max(3, len(str(int(corner["k"].max())))) if len(corner) else 3
    corner["zone_id"] = [
        f"{order[c]}-{k:0{width}d}" for c, k in zip(corner["code"], corner["k"], strict=True)
    ]
    ids = corner.set_index("label")["zone_id"]
    values = pd.Series(label).map(ids).to_numpy(dtype=object)
    values[~ok] = None
    result[:] = pd.array(values, dtype="str")
    return result


def zone_names(
    classified: pd.DataFrame, *, zone_col: str = "zone_id", lang: str | None = None
) -> pd.Series:
    """
    Name every parcel's renewal zone as a meeting reads it: street · class · number.

    A zone takes the street most of its parcels are in (``street`` column; left out where
    there is none) and the label of its class; zones of one street and class are numbered
    01, 02, … in the order of their ids (map reading order, see `zone_labels`), for
    example 千佛山街道·征收拆迁·03. The codes stay in `zone_col`.

    Parameters
    ----------
    classified
        Parcels with `zone_col` and ``category`` (e.g. `classify_parcels` with
        ``zone_id`` from `zone_labels`), optionally ``street``.
    zone_col
        Column of zone ids.
    lang
        ``"zh"`` or ``"en"`` (class labels and separator); defaults to `settings.lang`.

    Returns
    -------
    zone_name
        String Series aligned on `classified.index`; null where the zone id is null.

    Raises
    ------
    InputError
        If `zone_col` or ``category`` is missing, or for an unknown `lang`.

    Examples
    --------
    >>> parcels = pd.DataFrame({
    ...     "zone_id": ["demolish-001", "demolish-001", "demolish-002", "unchanged-001"],
    ...     "category": ["demolish", "demolish", "demolish", "unchanged"],
    ...     "street": ["东关街道", "西关街道", "东关街道", "东关街道"]})
    >>> parcels.assign(name=zone_names(parcels, lang="zh"))["name"].tolist()
    ['东关街道·征收拆迁·01', '东关街道·征收拆迁·01', '东关街道·征收拆迁·02', '东关街道·不涉及·01']
    >>> zone_names(parcels, lang="en").iloc[0]
    '东关街道 · Expropriate & demolish · 01'
    """
    lang = check_lang(lang)
    missing = [c for c in (zone_col, "category") if c not in classified.columns]
    if missing:
        msg = (
            f"`classified` has no {missing} column; label the zones first "
            f"(classified['zone_id'] = zone_labels(classified)); columns: "
            f"{list(classified.columns)}."
        )
        raise InputError(msg)
    per = _zone_streets(classified, zone_col)
    per["k"] = per.groupby(["street", "category"], sort=False).cumcount() + 1
    width = max(2, len(str(int(per["k"].max())))) if len(per) else 2
    names = {}
    labels = class_labels(classified, lang)  # a rule set's own classes by their names
    for zone, row in per.iterrows():
        code = str(row["category"])
        cat = labels.get(code, code)
        fields = {"street": row["street"], "category": cat, "number": f"{int(row['k']):0{width}d}"}
        key = "classify.zone_name" if row["street"] else "classify.zone_name_no_street"
        names[zone] = say(key, lang, **fields)
    values = classified[zone_col].astype(object).map(names)
    return pd.Series(
        pd.array(values.to_numpy(dtype=object), dtype="str"),
        index=classified.index,
        name="zone_name",
    )


def _zone_streets(classified: pd.DataFrame, zone_col: str) -> pd.DataFrame:
    """Per zone id (sorted): its category and the street most of its parcels are in ("")."""
    ok = classified[zone_col].notna().to_numpy()
    frame = pd.DataFrame(
        {
            "zone": classified[zone_col].astype(object).to_numpy()[ok],
            "category": classified["category"].astype(object).to_numpy()[ok],
        }
    )
    per = frame.groupby("zone", sort=True).agg(category=("category", "first"))
    per["street"] = ""
    if "street" in classified.columns:
        frame["street"] = classified["street"].astype(object).to_numpy()[ok]
        blank = frame["street"].isna() | (frame["street"].astype(str).str.strip() == "")
        counts = frame[~blank].groupby(["zone", "street"]).size().rename("n").reset_index()
        counts = counts.sort_values(["zone", "n", "street"], ascending=[True, False, True])
        top = counts.drop_duplicates("zone").set_index("zone")["street"].astype(str)
        per["street"] = top.reindex(per.index).fillna("")
    return per


def zones_from_parcels(
    classified: gpd.GeoDataFrame, *, dist: float = 30.0, lang: str | None = None
) -> gpd.GeoDataFrame:
    """
    Dissolve classified parcels into renewal zones (片区) of one category each.

    Parcels are grouped by `zone_labels` (same category, gaps narrower than `dist` metres)
    and each group is dissolved into one (multi)polygon; the gaps themselves are not added.

    Parameters
    ----------
    classified
        Parcels with a CRS and a ``category`` column (e.g. from `classify_parcels`).
    dist
        Largest gap in metres (exclusive) bridged within a zone.
    lang
        Language of the zone names (`zone_names`); defaults to `settings.lang`.

    Returns
    -------
    zones
        GeoDataFrame in the CRS of `classified`, one row per zone in id order, with
        ``zone_id``, ``zone_name`` (street · class · number), ``category`` (categorical, same order), ``n_parcels``, the sums of
        ``households``, ``population`` and ``floor_area`` (those present), ``area`` (m² of
        the dissolved zone in the working CRS) and the geometry. Sums over all zones equal
        the parcel totals (parcels without a category are not in any zone).

    Raises
    ------
    InputError
        If there is no ``category`` column.
    CRSError
        If `classified` has no CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(
    ...     {"category": ["demolish", "demolish", "unchanged"], "households": [3, 4, 5]},
    ...     geometry=[box(500_000, 4_063_000, 500_010, 4_063_010),
    ...               box(500_020, 4_063_000, 500_030, 4_063_010),
    ...               box(500_040, 4_063_000, 500_050, 4_063_010)],
    ...     crs="EPSG:4548")
    >>> zones = zones_from_parcels(parcels, dist=15)
    >>> zones[["zone_id", "n_parcels", "households"]].assign(area=zones["area"].round(1))
             zone_id  n_parcels  households   area
    0   demolish-001          2           7  200.0
    1  unchanged-001          1           5  100.0
    """
    labels = zone_labels(classified, dist=dist)
    order = _category_order(classified)
    ok = labels.notna().to_numpy()
    parcels = classified[ok]
    zone = labels[ok].to_numpy(dtype=object)
    geoms = np.asarray(parcels.geometry.array)
    codes = pd.Categorical(parcels["category"].astype(object), categories=order)
    ids, first, inverse = np.unique(zone, return_index=True, return_inverse=True)
    table = pd.DataFrame({"zone_id": zone, "_z": inverse})
    for col in _SUM_COLUMNS:
        if col in parcels.columns:
            table[col] = parcels[col].to_numpy()
    agg: dict[str, Any] = {"n_parcels": ("zone_id", "size")}
    for col in _SUM_COLUMNS:
        if col in table:
            agg[col] = (col, "sum")
    sums = table.groupby("_z").agg(**agg)
    by_zone = np.argsort(inverse, kind="stable")
    groups = np.split(geoms[by_zone], np.cumsum(np.bincount(inverse, minlength=len(ids)))[:-1])
    groups = groups if len(ids) else []  # np.split of nothing is one empty group: no zone
    dissolved = [shapely.union_all(g) for g in groups]
    zones = gpd.GeoDataFrame(
        {
            "zone_id": pd.array(ids, dtype="str"),
            "category": pd.Categorical(np.asarray(codes.astype(object))[first], categories=order),
            **{c: sums[c].to_numpy() for c in sums.columns},
        },
        geometry=gpd.GeoSeries(dissolved, crs=classified.crs).array,
        crs=classified.crs,
    )
    zones.insert(len(zones.columns) - 1, "area", crs_area(zones).to_numpy())
    named = pd.DataFrame({"zone_id": zone, "category": codes.astype(object)})
    if "street" in parcels.columns:
        named["street"] = parcels["street"].to_numpy()
    named.attrs = dict(classified.attrs)  # the rule set's class names (拆除重建类)
    names = zone_names(named, lang=lang).groupby(named["zone_id"].to_numpy()).first()
    zones.insert(1, "zone_name", pd.array(names.reindex(ids).to_numpy(dtype=object), dtype="str"))
    sort_key = [
        (order.index(c), z) for c, z in zip(zones["category"], zones["zone_id"], strict=True)
    ]
    zones = zones.iloc[sorted(range(len(zones)), key=sort_key.__getitem__)].reset_index(drop=True)
    if CLASSES_ATTR in classified.attrs:
        zones.attrs[CLASSES_ATTR] = classified.attrs[CLASSES_ATTR]
    return zones


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class ClassifiedFile:
    """
    What `classify_file` wrote.

    Parameters
    ----------
    path
        The GeoPackage (layers ``parcels`` and ``zones``) or the GeoParquet dataset folder.
    zones
        The renewal zones written, or None for a dataset (zones need the whole layer).
    summary
        Parcels and 公顷 per category, with a total row (`category_summary`).
    picked_layers
        Constraint layers taken from the parcels' GeoPackage: name -> ``file::layer``.
    lang
        Language of the summary's labels and of the reasons written.
    """

    path: Path
    zones: gpd.GeoDataFrame | None
    summary: pd.DataFrame
    picked_layers: dict[str, str]
    lang: str


def classify_file(
    parcels: str | Path,
    out: str | Path,
    *,
    rules: RuleSet | str | Path = "default",
    layers: Mapping[str, Any] | None = None,
    rasters: Mapping[str, str | Path] | None = None,
    parcels_layer: str | None = None,
    buildings: str | Path | None = None,
    buildings_layer: str | None = None,
    dist: float = 30.0,
    partitions: int | str | None = None,
    lang: str | None = None,
    verbose: bool = False,
) -> ClassifiedFile:
    """
    Classify the parcels of a file and write them with their renewal zones.

    Layers the rules name that the parcels' GeoPackage holds are used without being given
    (the usual one-file delivery); `layers` overrides them.

    Parameters
    ----------
    parcels
        The parcels' file (any format `read_layer` reads; a GeoParquet folder reads lazily).
    out
        A GeoPackage (``.gpkg``: layers ``parcels`` and ``zones``), or a folder
        (``.parquet`` or no suffix: a partitioned GeoParquet dataset, no zones).
    rules
        Rule set, bundled name or rule file.
    layers, rasters
        Constraint layers (frames or paths, ``file.gpkg::layer``) and rasters by name.
    parcels_layer, buildings, buildings_layer
        The parcels' layer; building footprints to aggregate first, and their layer.
    dist
        Metres bridged within one renewal zone (`zones_from_parcels`).
    partitions
        Read the parcels in partitions (``"auto"`` or a number) for a dask cluster.
    lang
        Language of the reasons (default: the rule set's).
    verbose
        If True, show progress bars.

    Returns
    -------
    written
        What was written, the zones and the per-category summary.

    Raises
    ------
    InputError
        If `out` is neither a GeoPackage nor a folder name, or an input is refused.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from geo_renewal.datasets import get_path
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "classified.gpkg"
    >>> done = classify_file(get_path("sample_district"), out, parcels_layer="parcels",
    ...                      rasters={"flood_depth": get_path("flood_depth")})
    >>> sorted(done.picked_layers)[:2], done.summary.index[-1]
    (['eco_belt', 'heritage_control'], 'total')
    """
    from geo_renewal.io import atomic_write, layers_in, read_layer, write_layer

    to_dataset = _check_out(out)
    rules = load_rules(rules, lang=lang)
    layers = dict(layers or {})
    held = [n for n in layers_in(parcels, rules.layers) if n not in layers and n != parcels_layer]
    picked = {name: f"{parcels}::{name}" for name in held}
    layers.update(picked)
    gdf = read_layer(parcels, layer=parcels_layer, kind="parcels", partitions=partitions)
    if not is_partitioned(gdf) and not len(gdf):
        where = f" (layer {parcels_layer!r})" if parcels_layer else ""
        msg = f"{parcels}{where} has no rows; nothing to classify. Check the file and --layer."
        raise InputError(msg)
    bldg = read_layer(buildings, layer=buildings_layer, kind="buildings") if buildings else None
    classified = classify_parcels(
        gdf, rules, layers=layers, rasters=rasters, buildings=bldg, verbose=verbose
    )
    zones = None
    if to_dataset:
        write_layer(classified, out, partitions=None if is_partitioned(classified) else "auto")
        classified = read_layer(out)  # counted from the files, not classified again
    else:
        if is_partitioned(classified):
            classified = classified.compute().sort_index()
        zones = zones_from_parcels(classified, dist=dist)
        with atomic_write(out, keep_existing=True) as tmp:  # both layers or neither
            write_layer(classified, tmp, layer="parcels")
            write_layer(zones, tmp, layer="zones")
    summary = category_summary(classified, rules)
    return ClassifiedFile(Path(out), zones, summary, picked, rules.language)


def _check_out(out: str | Path) -> bool:
    """Tell whether `out` names a dataset folder (True) or a GeoPackage (False); refuse others."""
    suffix = Path(out).suffix.lower()
    if suffix in ("", ".parquet", ".geoparquet"):
        return True
    if suffix != ".gpkg":
        msg = (
            f"`out` must be a GeoPackage (.gpkg) to hold the parcels and zones layers, or a "
            f"folder for a partitioned GeoParquet dataset (no zones), got {str(out)!r}."
        )
        raise InputError(msg)
    return False


def category_summary(classified: Any, rules: RuleSet) -> pd.DataFrame:
    """
    Count parcels and 公顷 per category, labelled in the rule set's language, with a total row.

    Parameters
    ----------
    classified
        Classified parcels (in memory or partitioned).
    rules
        The rule set that classified them (for the category labels).

    Returns
    -------
    summary
        Columns ``n_parcels`` and ``area_ha``, indexed ``"<code> <label>"``; the last row
        is the total.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> from geo_renewal.rules import load_rules
    >>> parcels = gpd.GeoDataFrame({"category": ["demolish"]},
    ...     geometry=[box(500000, 4060000, 500100, 4060100)], crs="EPSG:4548")
    >>> summary = category_summary(parcels, load_rules("default", lang="en"))
    >>> summary.iloc[0].tolist(), summary.index[0]
    ([1.0, 1.0], 'demolish Expropriate & demolish')
    """
    from geo_renewal.stats import zone_stats

    with warnings.catch_warnings():  # missing households etc. are validate's business
        warnings.simplefilter("ignore", UserWarning)
        table = zone_stats(classified, by="category", categories=False, policy=False)
    shown = table[["n_parcels", "area_ha"]].copy()
    names = []
    for code in shown.index:
        cat = rules.categories.get(str(code))
        names.append(f"{code} {cat.label(rules.language)}" if cat else code)
    shown.index = pd.Index(names, name="category")  # "total" stays: labelled 合计 / Total
    return shown
