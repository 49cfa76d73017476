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

import ast
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

import geopandas as gpd
import shapely

from geo_renewal._errors import InputError, RuleError
from geo_renewal.crs import area as crs_area
from geo_renewal.crs import check_crs, to_working, working_crs
from geo_renewal.io import read_named_layer
from geo_renewal.rules import (
    RuleSet,
    _normalize,
    check_columns,
    evaluate_expression,
    load_rules,
    spatial_keys,
    uses_special,
)
from geo_renewal.schema import CATEGORIES
from geo_renewal.spatial import (
    _distance_to,
    _intersects,
    _layer_geoms,
    _ParcelIndex,
    _share_in,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "OUTPUT_COLUMNS",
    "aggregate_buildings",
    "classify_parcels",
    "zone_labels",
    "zones_from_parcels",
]

logger = logging.getLogger(__name__)

#: Columns `classify_parcels` adds to the parcels.
OUTPUT_COLUMNS = ("category", "rule_id", "reason", "matched")
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
        scale, see `geo_renewal.scale`) gives a *lazy* dask GeoDataFrame with the same
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
    if type(parcels).__module__.split(".")[0] == "dask_geopandas":
        from geo_renewal.scale import _classify_dask

        return _classify_dask(
            parcels, rules, layers=layers, rasters=rasters, buildings=buildings, verbose=verbose
        )
    if not isinstance(parcels, gpd.GeoDataFrame):
        msg = f"`parcels` must be a GeoDataFrame, got {type(parcels).__name__}; read it with read_layer()."
        raise InputError(msg)
    check_crs(parcels, "parcels")
    return _classify(
        parcels,
        load_rules(rules),
        layers=layers or {},
        rasters=rasters or {},
        buildings=buildings,
        verbose=verbose,
    )


def _classify(
    parcels: gpd.GeoDataFrame,
    rules: RuleSet,
    *,
    layers: Mapping[str, Any],
    rasters: Mapping[str, Any],
    buildings: gpd.GeoDataFrame | None = None,
    verbose: bool = False,
    wcrs: Any = None,
    prepared: Mapping[str, np.ndarray] | None = None,
) -> gpd.GeoDataFrame:
    """
    Classify in-memory parcels (checked) with a loaded rule set.

    `wcrs` fixes the working CRS and `prepared` gives layers' geometries already in it
    (without empties, checked): a partition of a dask frame is then classified exactly as
    the whole frame would be.
    """
    out = parcels.copy()
    if buildings is not None:
        out = _apply_buildings(out, buildings)
    existing = [c for c in OUTPUT_COLUMNS if c in out.columns]
    if existing:
        logger.info("replacing existing columns %s of the parcels", existing)

    frame = pd.DataFrame(out.drop(columns=out.geometry.name)).reset_index(drop=True)
    keys = _requirements(rules, frame, layers, rasters)

    n = len(out)
    crs = (working_crs(out) if n else None) if wcrs is None else wcrs
    index = _ParcelIndex(
        np.asarray(to_working(out.geometry, crs=crs).array) if n else np.empty(0, dtype=object),
        crs,  # type: ignore[arg-type]
    )
    special = _special_values(rules, frame, index)
    rows = _needed_rows(rules, frame, special, keys)
    values = _spatial_values(
        keys, out, index, layers, rasters, rows=rows, verbose=verbose, prepared=prepared
    )

    masks = np.zeros((len(rules.rules), n), dtype=bool)
    for i, rule in enumerate(tqdm(rules.rules, desc="rules", disable=not verbose)):
        masks[i] = evaluate_expression(
            rule.tree,  # type: ignore[arg-type]
            frame,
            values=values,
            special=special,
            params=rules.params,
            rule_id=rule.id,
            source=_normalize(rule.when),
        )
        logger.info("rule %s matched %d of %d parcels", rule.id, int(masks[i].sum()), n)
    decided = _decide(masks, [r.force for r in rules.rules])

    codes_of = list(rules.categories)
    rule_cat = np.array(
        [codes_of.index(r.category) for r in rules.rules] + [codes_of.index(rules.default)]
    )
    rule_ids = np.array([r.id for r in rules.rules] + ["default"], dtype=object)
    reasons = np.array(
        [r.reason(rules.language) for r in rules.rules] + [rules.default_reason()], dtype=object
    )
    pick = np.where(decided >= 0, decided, len(rules.rules))
    out["category"] = pd.Categorical.from_codes(rule_cat[pick], categories=codes_of)
    out["rule_id"] = pd.array(rule_ids[pick], dtype="str")
    out["reason"] = pd.array(reasons[pick], dtype="str")
    out["matched"] = pd.array(_matched_strings(masks, [r.id for r in rules.rules]), dtype="str")
    out.index = parcels.index
    return out


def _requirements(
    rules: RuleSet,
    frame: pd.DataFrame,
    layers: Mapping[str, Any],
    rasters: Mapping[str, Any],
) -> list[tuple[Any, ...]]:
    """Spatial keys the rules need; every missing column, layer or raster at once."""
    problems: list[str] = []
    for rule in rules.rules:
        try:
            check_columns(
                rule.tree,  # type: ignore[arg-type]
                frame.columns,
                params=rules.params,
                rule_id=rule.id,
                source=_normalize(rule.when),
            )
        except RuleError as e:
            problems.append(str(e))
    if (
        uses_special(rules, "floor_area")
        and "floor_area" not in frame.columns
        and not ({"footprint_area", "floors"} <= set(frame.columns))
    ):
        problems.append(
            "the rules use `floor_area`, but the parcels have neither a floor_area column nor "
            "footprint_area and floors; add one, or pass buildings= to aggregate it"
        )
    for kind, given, needed in (
        ("layer", layers, rules.layers),
        ("raster", rasters, rules.rasters),
    ):
        for name in needed:
            if name not in given:
                users = [
                    r.id
                    for r in rules.rules
                    if any(k[1] == name for k in spatial_keys(r.tree, rules.params))
                ]
                problems.append(
                    f"rules {users} need the {kind} {name!r}, which was not given (given: "
                    f"{sorted(given)}); pass {kind}s={{{name!r}: ...}} to classify_parcels, "
                    f"or --{kind} {name}=PATH on the command line"
                )
    if problems:
        raise RuleError("\n".join(problems))
    keys: dict[tuple[Any, ...], None] = {}
    for rule in rules.rules:
        for key in spatial_keys(rule.tree, rules.params):
            keys.setdefault(key, None)
    return list(keys)


def _special_values(rules: RuleSet, frame: pd.DataFrame, index: _ParcelIndex) -> dict[str, Any]:
    special: dict[str, Any] = {}
    if uses_special(rules, "area"):
        special["area"] = index.areas if index.n else np.empty(0)
    if uses_special(rules, "floor_area"):
        fa = (
            frame["floor_area"].to_numpy(dtype=float, na_value=np.nan)
            if "floor_area" in frame
            else np.full(len(frame), np.nan)
        )
        if {"footprint_area", "floors"} <= set(frame.columns):
            est = frame["footprint_area"].to_numpy(dtype=float, na_value=np.nan) * frame[
                "floors"
            ].to_numpy(dtype=float, na_value=np.nan)
            fa = np.where(np.isnan(fa), est, fa)
        special["floor_area"] = fa
    return special


def _is_cheap(node: ast.AST) -> bool:
    """Tell whether `node` reads no spatial or raster value (only columns, params, area)."""
    return not any(
        isinstance(n, ast.Call) and n.func.id != "isnull"  # type: ignore[attr-defined]
        for n in ast.walk(node)
    )


def _needed_rows(
    rules: RuleSet,
    frame: pd.DataFrame,
    special: Mapping[str, Any],
    keys: list[tuple[Any, ...]],
) -> dict[tuple[Any, ...], np.ndarray | None]:
    """
    Find the parcels on which each spatial value can change a rule's result.

    A rule ``a and b and share_in("x") < 0.01`` only needs ``share_in("x")`` where the cheap
    conjuncts ``a and b`` hold: elsewhere the rule is False whatever the value. Each value
    is still computed once, on the union of the parcels any rule needs it for (None: all).
    """
    need: dict[tuple[Any, ...], np.ndarray | None] = {}
    for rule in rules.rules:
        rule_keys = spatial_keys(rule.tree, rules.params)
        if not rule_keys:
            continue
        body = rule.tree.body  # type: ignore[union-attr]
        parts = (
            body.values
            if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.And)
            else [body]
        )
        cheap = [p for p in parts if _is_cheap(p)]
        mask: np.ndarray | None = None
        if cheap and len(cheap) < len(parts):
            expr = ast.Expression(cheap[0] if len(cheap) == 1 else ast.BoolOp(ast.And(), cheap))
            mask = evaluate_expression(
                expr,
                frame,
                special=special,
                params=rules.params,
                rule_id=rule.id,
                source=_normalize(rule.when),
            )
        for key in rule_keys:
            if mask is None:
                need[key] = None
            elif key not in need:
                need[key] = mask
            elif need[key] is not None:
                need[key] = need[key] | mask
    return {k: need.get(k) for k in keys}


def _spatial_values(
    keys: Iterable[tuple[Any, ...]],
    parcels: gpd.GeoDataFrame,
    index: _ParcelIndex,
    layers: Mapping[str, Any],
    rasters: Mapping[str, Any],
    *,
    rows: Mapping[tuple[Any, ...], np.ndarray | None],
    verbose: bool,
    prepared: Mapping[str, np.ndarray] | None = None,
) -> dict[tuple[Any, ...], np.ndarray]:
    values: dict[tuple[Any, ...], np.ndarray] = {}
    keys = list(keys)
    geoms: dict[str, np.ndarray] = dict(prepared or {})
    raster_keys: dict[str, list[tuple[Any, ...]]] = {}
    for key in tqdm(keys, desc="spatial", disable=not verbose):
        fname, name = key[0], key[1]
        if fname.startswith("raster_"):
            raster_keys.setdefault(name, []).append(key)
            continue
        if index.n == 0:
            values[key] = np.zeros(0)
            continue
        if name not in geoms:
            geoms[name] = _layer_geoms(read_named_layer(layers[name], name), index, name)
        try:
            if fname == "share_in":
                values[key] = _share_in(index, geoms[name], name, rows.get(key))
            elif fname == "intersects":
                values[key] = _intersects(index, geoms[name])
            else:
                values[key] = _distance_to(index, geoms[name], key[2], rows.get(key))
        except shapely.errors.GEOSException as e:
            msg = (
                f"computing {fname}({name!r}) failed on invalid geometries ({e}); repair the "
                f"parcels and the {name!r} layer first (validate_layer, or shapely.make_valid)."
            )
            raise InputError(msg) from e
    for name, rkeys in raster_keys.items():
        from geo_renewal.raster import zonal_stats

        above = sorted({k[2] for k in rkeys if k[0] == "raster_share_above"})
        masks = [rows.get(k) for k in rkeys]
        sel = None if any(m is None for m in masks) else np.logical_or.reduce(masks)
        geometry = parcels.geometry if sel is None else parcels.geometry[sel]
        table = zonal_stats(geometry, rasters[name], above=above)
        for key in rkeys:
            column = {"raster_mean": "mean", "raster_max": "max"}.get(
                key[0], f"share_above_{key[2] if len(key) > 2 else 0:g}"
            )
            full = np.full(len(parcels), np.nan)
            full[slice(None) if sel is None else sel] = table[column].to_numpy(dtype=float)
            values[key] = full
    return values


def _decide(masks: np.ndarray, force: list[bool]) -> np.ndarray:
    """Index of the deciding rule per parcel (-1: none): forced rules first, then first match."""
    n_rules, n = masks.shape
    decided = np.full(n, -1, dtype=np.int64)
    if n_rules == 0 or n == 0:
        return decided
    forced = np.flatnonzero(force)
    if len(forced):
        fm = masks[forced]
        hit = fm.any(axis=0)
        decided[hit] = forced[fm.argmax(axis=0)[hit]]
    hit = masks.any(axis=0) & (decided < 0)
    decided[hit] = masks.argmax(axis=0)[hit]
    return decided


def _matched_strings(masks: np.ndarray, ids: list[str]) -> np.ndarray:
    """Join the ids of the matching rules per parcel with ";" (via distinct match patterns)."""
    n_rules, n = masks.shape
    if n == 0:
        return np.empty(0, dtype=object)
    if n_rules == 0:
        return np.full(n, "", dtype=object)
    packed = np.ascontiguousarray(np.packbits(masks, axis=0).T)
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    uniq, inverse = np.unique(keys, return_inverse=True)
    bits = np.unpackbits(uniq.view(np.uint8).reshape(len(uniq), -1), axis=1)[:, :n_rules]
    labels = np.array([";".join(np.asarray(ids)[row.astype(bool)]) for row in bits], dtype=object)
    return labels[inverse.ravel()]


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
    tree = shapely.STRtree(pgeoms)
    bi, pi = tree.query(bgeoms, predicate="intersects")
    overlap = shapely.area(shapely.intersection(bgeoms[bi], pgeoms[pi]))
    keep = overlap > 0
    bi, pi, overlap = bi[keep], pi[keep], overlap[keep]
    order = np.lexsort((-overlap, bi))
    bi, pi = bi[order], pi[order]
    first = np.ones(len(bi), dtype=bool)
    first[1:] = bi[1:] != bi[:-1]
    owner = np.full(len(bgeoms), -1)
    owner[bi[first]] = pi[first]
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


def _apply_buildings(out: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    agg = aggregate_buildings(buildings, out)
    has = agg["n_buildings"].to_numpy() > 0
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


def zones_from_parcels(classified: gpd.GeoDataFrame, *, dist: float = 30.0) -> gpd.GeoDataFrame:
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

    Returns
    -------
    zones
        GeoDataFrame in the CRS of `classified`, one row per zone in id order, with
        ``zone_id``, ``category`` (categorical, same order), ``n_parcels``, the sums of
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
    sort_key = [
        (order.index(c), z) for c, z in zip(zones["category"], zones["zone_id"], strict=True)
    ]
    zones = zones.iloc[sorted(range(len(zones)), key=sort_key.__getitem__)].reset_index(drop=True)
    return zones
