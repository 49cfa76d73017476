"""
The classification kernel: classify in-memory parcels with a loaded rule set.

Both `geo_renewal.classify.classify_parcels` and the partitioned path
(`geo_renewal.partitioned`) run `classify_frame`. It takes GeoDataFrames only (layer paths
are resolved at the public entry) and asks the rule set what it needs; each spatial or
raster value is computed once, through the rule-function registry.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

import geopandas as gpd
import shapely

from geo_renewal._errors import InputError
from geo_renewal._geomcheck import refuse_bad_coordinates
from geo_renewal._roles import CLASSES_ATTR, class_table
from geo_renewal._rulefuncs import RULE_FUNCTIONS
from geo_renewal.crs import to_working, working_crs
from geo_renewal.rules import RuleSet
from geo_renewal.spatial import _layer_geoms, _ParcelIndex

logger = logging.getLogger(__name__)

#: Columns `classify_parcels` adds to the parcels.
OUTPUT_COLUMNS = ("category", "rule_id", "reason", "matched")


def classify_frame(
    parcels: gpd.GeoDataFrame,
    rules: RuleSet,
    *,
    layers: Mapping[str, gpd.GeoDataFrame | gpd.GeoSeries],
    rasters: Mapping[str, Any],
    verbose: bool = False,
    wcrs: Any = None,
    prepared: Mapping[str, np.ndarray] | None = None,
    n_jobs: int | None = None,
) -> gpd.GeoDataFrame:
    """
    Classify in-memory parcels (CRS checked) with a loaded rule set.

    `wcrs` fixes the working CRS and `prepared` gives layers' geometries already in it
    (without empties, checked): a partition of a dask frame is then classified exactly as
    the whole frame would be. `layers` may then map names to None. `n_jobs` sets the
    threads of the spatial rule functions (None: `settings.n_jobs`).
    """
    out = parcels.copy()
    existing = [c for c in OUTPUT_COLUMNS if c in out.columns]
    if existing:
        logger.info("replacing existing columns %s of the parcels", existing)
    frame = pd.DataFrame(out.drop(columns=out.geometry.name)).reset_index(drop=True)
    rules.check_inputs(frame.columns, layers=layers, rasters=rasters)
    index = _parcel_index(out, wcrs)
    index.frame = frame
    index.n_jobs = n_jobs
    special = _special_values(rules, frame, index)
    rows = rules.needed_rows(frame, special)
    values = _spatial_values(rows, out, index, layers, rasters, verbose=verbose, prepared=prepared)
    masks = rules.evaluate(frame, values=values, special=special)
    decided = _decide(masks, [r.force for r in rules.rules])
    _write_decision(out, rules, masks, decided)
    out.index = parcels.index
    return out


def _parcel_index(parcels: gpd.GeoDataFrame, wcrs: Any) -> _ParcelIndex:
    """Index the parcels in the working CRS (chosen from them unless `wcrs` is given)."""
    n = len(parcels)
    crs = (working_crs(parcels) if n else None) if wcrs is None else wcrs
    if not n:
        return _ParcelIndex(np.empty(0, dtype=object), crs)  # type: ignore[arg-type]
    geoms = np.asarray(to_working(parcels.geometry, crs=crs).array)
    # The areas and bounds the index needs anyway also show unmeasurable coordinates.
    with np.errstate(invalid="ignore", over="ignore"):
        areas = shapely.area(geoms)
    bounds = shapely.bounds(geoms)
    refuse_bad_coordinates(
        geoms, crs, name="parcels", labels=parcels.index, bounds=bounds, measure=areas
    )
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: only empty parcels
        total = np.concatenate(
            [np.nanmin(bounds[:, :2], axis=0), np.nanmax(bounds[:, 2:], axis=0)]
        )
    return _ParcelIndex(geoms, crs, _areas=areas, _bounds=total)  # type: ignore[arg-type]


def _write_decision(
    out: gpd.GeoDataFrame, rules: RuleSet, masks: np.ndarray, decided: np.ndarray
) -> None:
    """Add ``category``, ``rule_id``, ``reason`` and ``matched`` from the deciding rules."""
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
    out.attrs[CLASSES_ATTR] = class_table(rules.categories)  # labels and roles travel along


def _special_values(rules: RuleSet, frame: pd.DataFrame, index: _ParcelIndex) -> dict[str, Any]:
    special: dict[str, Any] = {}
    if rules.uses("area"):
        special["area"] = index.areas if index.n else np.empty(0)
    if rules.uses("floor_area"):
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


def _spatial_values(
    rows: Mapping[tuple[Any, ...], np.ndarray | None],
    parcels: gpd.GeoDataFrame,
    index: _ParcelIndex,
    layers: Mapping[str, Any],
    rasters: Mapping[str, Any],
    *,
    verbose: bool,
    prepared: Mapping[str, np.ndarray] | None = None,
) -> dict[tuple[Any, ...], np.ndarray]:
    """Compute every value the rules need (keys of `rows`), each once, via the registry."""
    values: dict[tuple[Any, ...], np.ndarray] = {}
    geoms: dict[str, np.ndarray] = dict(prepared or {})
    batches: dict[tuple[Any, str], list[tuple[Any, ...]]] = {}
    for key in tqdm(list(rows), desc="spatial", disable=not verbose):
        function, name = RULE_FUNCTIONS[key[0]], key[1]
        if function.batched:
            batches.setdefault((function.compute, name), []).append(key)
        elif index.n == 0:
            values[key] = np.zeros(0)
        else:
            if name not in geoms:
                geoms[name] = _layer_geoms(layers[name], index, name)
            values[key] = _layer_value(function, index, geoms[name], key, rows.get(key))
    for (compute, name), keys in batches.items():
        values.update(_batch_values(compute, parcels, rasters[name], keys, rows))
    return values


def _layer_value(
    function: Any, index: _ParcelIndex, geoms: np.ndarray, key: tuple[Any, ...], rows: Any
) -> np.ndarray:
    try:
        return function.compute(index, geoms, key, rows)
    except shapely.errors.GEOSException as e:
        msg = (
            f"computing {key[0]}({key[1]!r}) failed on invalid geometries ({e}); repair the "
            f"parcels and the {key[1]!r} layer first (validate_layer, or shapely.make_valid)."
        )
        raise InputError(msg) from e


def _batch_values(
    compute: Any,
    parcels: gpd.GeoDataFrame,
    source: Any,
    keys: list[tuple[Any, ...]],
    rows: Mapping[tuple[Any, ...], np.ndarray | None],
) -> dict[tuple[Any, ...], np.ndarray]:
    """Values of one batched source (a raster) on the union of the parcels that need them."""
    masks = [rows.get(k) for k in keys]
    sel = None if any(m is None for m in masks) else np.logical_or.reduce(masks)  # type: ignore[arg-type]
    geometry = parcels.geometry if sel is None else parcels.geometry[sel]
    out = {}
    for key, part in compute(geometry, source, keys).items():
        full = np.full(len(parcels), np.nan)
        full[slice(None) if sel is None else sel] = part
        out[key] = full
    return out


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
