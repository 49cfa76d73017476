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
    gdf: gpd.GeoDataFrame,
    *,
    kind: str | None,
    columns: Mapping[str, str] | None,
    name: str,
    notes: list[dict[str, Any]] | None = None,
    lazy: bool = False,
) -> gpd.GeoDataFrame:
    """
    Rename headers to canonical names and normalise coded/numeric values.

    Several headers claiming one canonical name (the name itself, a zh/en alias, a
    `columns` target) are resolved by `_claims`: empty columns are dropped, the one with
    values takes the name; findings go to `notes`. `lazy` (a dask frame's empty meta):
    values cannot be looked at, so any such clash is refused.
    """
    geom = gdf.geometry.name
    headers = [c for c in gdf.columns if c != geom]
    explicit = _explicit_renames(headers, columns, name)
    rename = dict(explicit)
    if kind is not None:
        lookup = schema.column_aliases()
        for h in headers:
            canonical = lookup.get(_norm(h))
            if h not in rename and canonical is not None and canonical != h:
                rename[h] = canonical
    rename, drop = _claims(gdf, headers, rename, set(explicit), name, notes, lazy=lazy)
    out = gdf.drop(columns=drop) if drop else gdf
    out = out.rename(columns=rename) if rename else out
    if rename:
        logger.info("%s: renamed columns %s", name, rename)
    if kind is None:
        return out
    return _office_codes(_normalise_values(out, name), rename, kind, name, notes, lazy=lazy)


def _office_codes(
    out: gpd.GeoDataFrame,
    rename: dict[Any, str],
    kind: str,
    name: str,
    notes: list[dict[str, Any]] | None,
    *,
    lazy: bool,
) -> gpd.GeoDataFrame:
    """Survey-coded values (FWJG, JGRQ, BSM) and land-use codes (三调, 用地用海, 控规)."""
    if lazy:
        return out
    from geo_renewal import _survey_fields, landuse_codes

    out, found = _survey_fields.survey_values(out, rename, kind=kind, name=name)
    out, coded = landuse_codes.recognise_land_use(out, name=name)
    for finding in (*found, *coded):
        logger.info(finding["message"])
        if notes is not None:
            notes.append(finding)
    return out


def _explicit_renames(
    headers: list[Any], columns: Mapping[str, str] | None, name: str
) -> dict[Any, str]:
    """Return the `columns` renames by the file's header; refuse unknown headers."""
    if not columns:
        return {}
    if not isinstance(columns, Mapping):
        msg = (
            f"`columns` must be a mapping {{'原字段': 'canonical'}}; got {type(columns).__name__}."
        )
        raise InputError(msg)
    by_norm: dict[str, Any] = {}
    for h in headers:
        by_norm.setdefault(_norm(h), h)
    rename: dict[Any, str] = {}
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
    targets = list(rename.values())
    if len(set(targets)) != len(targets):
        dupes = sorted({t for t in targets if targets.count(t) > 1})
        msg = f"`columns` maps several headers of `{name}` onto {dupes}; map one header each."
        raise InputError(msg)
    return rename


def _is_empty(s: pd.Series) -> bool:
    """Return True when no row holds a value (missing, or blank text)."""
    if _is_text(s):
        return bool(s.isna().all() or (s.dropna().astype(str).str.strip() == "").all())
    return bool(s.isna().all())


def _claims(
    gdf: gpd.GeoDataFrame,
    headers: list[Any],
    rename: dict[Any, str],
    explicit: set[Any],
    name: str,
    notes: list[dict[str, Any]] | None,
    *,
    lazy: bool,
) -> tuple[dict[Any, str], list[Any]]:
    """
    Resolve headers that would end with one name; return the renames and the columns to drop.

    The rule (docs/guide/reading.md): empty columns among them are dropped (reported); if
    one with values remains it takes the name. If several hold values, a `columns` target
    among them is refused; otherwise the header already spelled canonically keeps the name
    and the aliases keep their own headers (reported); with none so spelled, refused.
    """
    final: dict[str, list[Any]] = {}
    for h in headers:
        final.setdefault(str(rename.get(h, h)), []).append(h)
    rename, drop = dict(rename), []
    for target, members in final.items():
        if len(members) < 2:
            continue
        members.sort(key=lambda m: m != target)  # the header spelled canonically first
        if lazy:
            _refuse_clash(name, target, members, explicit, None)
        full = [m for m in members if not _is_empty(gdf[m])]
        empty = [m for m in members if m not in full]
        if not full:
            full, empty = empty[:1], empty[1:]
        for m in empty:
            drop.append(m)
            rename.pop(m, None)
            _note(
                notes,
                f"`{name}`: columns {' and '.join(repr(str(x)) for x in members)} "
                f"{'both' if len(members) == 2 else 'all'} mean "
                f"{target!r}; {str(m)!r} is empty and was dropped, {str(full[0])!r} is used",
                column=target,
            )
        if len(full) == 1:
            continue
        keeper = [m for m in full if m == target and m not in rename]
        if any(m in explicit for m in full) or not keeper:
            _refuse_clash(name, target, full, explicit, gdf)
        for m in full:
            if m != keeper[0]:
                rename.pop(m, None)
                _note(
                    notes,
                    f"`{name}`: {str(m)!r} also means {target!r} but holds other values; "
                    f"{target!r} is used and {str(m)!r} kept under its own header. If "
                    f"{str(m)!r} is the right one, pass `columns={{{target!r}: "
                    f"'{target}_old', {str(m)!r}: {target!r}}}`",
                    column=target,
                )
    return rename, drop


def _refuse_clash(
    name: str, target: str, members: list[Any], explicit: set[Any], gdf: gpd.GeoDataFrame | None
) -> None:
    both = " and ".join(repr(str(m)) for m in members)
    via = " (through `columns=`)" if any(m in explicit for m in members) else ""
    held = "" if gdf is None else ", and both hold values"
    other = next((m for m in members if m not in explicit), members[0])
    fix = {str(other): f"{target}_old", **{str(m): target for m in members if m in explicit}}
    msg = (
        f"`{name}`: columns {both} would both become {target!r}{via}{held}; keep one: "
        f"rename the other, e.g. `columns={fix!r}`, or map a different header."
    )
    raise InputError(msg)


def _note(notes: list[dict[str, Any]] | None, message: str, *, column: str) -> None:
    logger.info(message)
    if notes is not None:
        notes.append(
            {
                "row": None,
                "id": None,
                "column": column,
                "problem": "duplicate_column",
                "severity": "warning",
                "action": "resolved on read",
                "message": message,
                "value": None,
            }
        )


def _normalise_values(out: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """Map coded values, parse numbers and yes/no of the canonical columns."""
    geom = out.geometry.name
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
