"""
Canonical columns on read: headers (zh/en aliases) renamed, coded values mapped, numbers parsed.

Used by `geo_renewal.io.read_layer` with ``kind=``; the aliases are data in
`geo_renewal.schema`. Dirty values stay text so that `validate_layer` reports them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal import schema
from geo_renewal._errors import InputError
from geo_renewal._headers import normalise_header

if TYPE_CHECKING:
    import geopandas as gpd

logger = logging.getLogger("geo_renewal.io")


def _norm(header: Any) -> str:
    return normalise_header(header)


def _canonical(
    gdf: gpd.GeoDataFrame, *, kind: str | None, columns: Mapping[str, str] | None, name: str
) -> gpd.GeoDataFrame:
    """Rename headers to canonical names and normalise coded/numeric values."""
    geom = gdf.geometry.name
    headers = [c for c in gdf.columns if c != geom]
    rename: dict[Any, str] = {}
    if columns:
        if not isinstance(columns, Mapping):
            msg = f"`columns` must be a mapping {{'原字段': 'canonical'}}; got {type(columns).__name__}."
            raise InputError(msg)
        by_norm: dict[str, Any] = {}
        for h in headers:
            by_norm.setdefault(_norm(h), h)
        missing = []
        for src, dst in columns.items():
            h = src if src in headers else by_norm.get(_norm(src))
            if h is None:
                missing.append(src)
            else:
                rename[h] = dst
        if missing:
            msg = (
                f"`columns` names headers that `{name}` does not have: {missing}; its headers "
                f"are {[str(h) for h in headers]}."
            )
            raise InputError(msg)
    if kind is not None:
        lookup = schema.column_aliases()
        present = {h for h in headers if h not in rename} | set(rename.values())
        for h in headers:
            if h in rename:
                continue
            canonical = lookup.get(_norm(h))
            if canonical is None or canonical == h:
                continue
            if canonical in present:
                logger.info("%s: keeping %r as is; %r is already a column", name, h, canonical)
                continue
            rename[h] = canonical
            present.discard(h)
            present.add(canonical)
    targets = list(rename.values())
    if len(set(targets)) != len(targets):
        dupes = sorted({t for t in targets if targets.count(t) > 1})
        msg = f"`columns` maps several headers of `{name}` onto {dupes}; map one header each."
        raise InputError(msg)
    out = gdf.rename(columns=rename) if rename else gdf
    if rename:
        logger.info("%s: renamed columns %s", name, rename)
    if kind is None:
        return out
    updates: dict[str, pd.Series] = {}
    for col, aliases in schema.VALUE_ALIASES.items():
        if col in out.columns and col != geom:
            mapped = _map_values(out[col], aliases)
            if mapped is not None:
                updates[col] = mapped
    if "planned_use" in out.columns and "land_use" in schema.VALUE_ALIASES:
        mapped = _map_values(out["planned_use"], schema.VALUE_ALIASES["land_use"])
        if mapped is not None:
            updates["planned_use"] = mapped
    for col in schema.NUMERIC_COLUMNS:
        if col in out.columns and _is_text(out[col]):
            number = _to_number(out[col])
            if number is None:
                logger.info("%s: %r has values that are not numbers; left as text", name, col)
            else:
                updates[col] = number
    for col in schema.BOOL_COLUMNS:
        if col in out.columns:
            flag = _to_bool(out[col])
            if flag is not None:
                updates[col] = flag
    if updates:
        out = out.assign(**updates)
    return out


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or isinstance(s.dtype, pd.StringDtype)


def _map_values(s: pd.Series, aliases: Mapping[str, str]) -> pd.Series | None:
    """Replace alias values by codes (looked up once per distinct value); None if none match."""
    if not _is_text(s):
        return None
    mapping = {}
    for u in s.unique():
        if isinstance(u, str):
            key = u.strip()
            v = aliases.get(u) or aliases.get(key) or aliases.get(key.lower())
            if v is not None and v != u:
                mapping[u] = v
    if not mapping:
        return None
    codes, uniques = pd.factorize(s)
    table = np.asarray([*(mapping.get(u, u) for u in uniques), None], dtype=object)
    return pd.Series(table[codes], index=s.index, name=s.name, dtype=s.dtype)


def _to_number(s: pd.Series) -> pd.Series | None:
    """Numbers if every non-blank value parses; None (leave the text) otherwise."""
    values = pd.to_numeric(s, errors="coerce")
    unparsed = values.isna() & s.notna()
    if unparsed.any():
        blank = s[unparsed].astype(str).str.strip() == ""
        if not blank.all():
            return None
    return values


def _to_bool(s: pd.Series) -> pd.Series | None:
    """Booleans (nullable) if every value is a yes/no spelling; None otherwise."""
    if s.dtype == bool or isinstance(s.dtype, pd.BooleanDtype):
        return None
    codes, uniques = pd.factorize(s)
    mapping = []
    for u in uniques:
        key = str(u).strip().lower()
        if key.endswith(".0"):
            key = key[:-2]
        if key in schema.TRUE_VALUES:
            mapping.append(True)
        elif key in schema.FALSE_VALUES:
            mapping.append(False)
        else:
            return None
    table = np.asarray([*mapping, None], dtype=object)
    return pd.Series(table[codes], index=s.index, name=s.name, dtype="boolean")
