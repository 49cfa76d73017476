"""
The geometry checks of `validate_layer`: null and empty, unmeasurable, invalid, wrong type.

Each check adds findings (`geo_renewal._findings.Findings`) and marks rows for removal
(`_Removals`); invalid polygons are repaired with `shapely.make_valid`, keeping their polygon
parts. `geo_renewal.validate` runs them in order; docs/guide/validation.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

import shapely

from geo_renewal._geomcheck import bad_coordinates

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from geo_renewal._findings import Findings

_GEOM_TYPE_IDS = {
    "Point": 0,
    "LineString": 1,
    "LinearRing": 2,
    "Polygon": 3,
    "MultiPoint": 4,
    "MultiLineString": 5,
    "MultiPolygon": 6,
    "GeometryCollection": 7,
}


def _s(values: object, fmt: Callable[[object], str] = str) -> np.ndarray:
    """Format each value into an object array of str (elementwise `+` then works)."""
    out: np.ndarray = np.empty(len(values), dtype=object)  # type: ignore[arg-type]
    out[:] = [fmt(v) for v in values]  # type: ignore[attr-defined]
    return out


@dataclass
class _Removals:
    """Why each input row is removed (problem code and reason; None where it is kept)."""

    problem: np.ndarray
    reason: np.ndarray

    @classmethod
    def none(cls, n: int) -> _Removals:
        return cls(np.full(n, None, dtype=object), np.full(n, None, dtype=object))

    def mark(self, pos: np.ndarray, problem: str, reason: object) -> None:
        self.problem[pos] = problem
        self.reason[pos] = reason

    def pending(self) -> np.ndarray:
        """Return True for the rows not (yet) removed."""
        return self.problem == None  # noqa: E711 - elementwise on an object array


def _check_geometry(
    geoms: np.ndarray,
    allowed: Sequence[str],
    col: Findings,
    *,
    crs: object,
    repair: bool,
    act: Callable[[str], str],
) -> tuple[np.ndarray, _Removals]:
    """Null/empty, unmeasurable, invalid and wrong-type geometries; return repaired geoms and removals."""
    new = geoms.copy()
    removals = _Removals.none(geoms.size)
    allowed_ids = {_GEOM_TYPE_IDS[t] for t in allowed}
    polygonal = allowed_ids <= {3, 6}
    bad = _check_null_geometry(geoms, col, removals, repair=repair, act=act)
    bad |= _check_coordinates(geoms, crs, bad, col, removals, repair=repair, act=act)
    invalid = np.zeros(geoms.size, dtype=bool)
    invalid[~bad] = ~shapely.is_valid(geoms[~bad])
    pos = np.flatnonzero(invalid)
    if pos.size and repair:
        _repair_invalid(geoms, new, pos, col, removals, polygonal=polygonal)
    elif pos.size:
        col.rows(
            pos,
            column="geometry",
            problem="invalid_geometry",
            severity="error",
            action=act("repaired"),
            message=_s(shapely.is_valid_reason(geoms[pos])) + "; repair with shapely.make_valid",
        )
    # Wrong geometry type (checked on the repaired geometry).
    live = np.flatnonzero(removals.pending())
    check = new if repair else geoms
    wrong = ~np.isin(shapely.get_type_id(check[live]), list(allowed_ids))
    if wrong.any():
        _check_geometry_type(
            check,
            new,
            live[wrong],
            allowed,
            col,
            removals,
            polygonal=polygonal,
            repair=repair,
            act=act,
        )
    return new, removals


def _check_null_geometry(
    geoms: np.ndarray,
    col: Findings,
    removals: _Removals,
    *,
    repair: bool,
    act: Callable[[str], str],
) -> np.ndarray:
    """Report (and mark for removal) null and empty geometries; return their mask."""
    null = shapely.is_missing(geoms)
    empty = ~null & shapely.is_empty(geoms)
    bad = null | empty
    pos = np.flatnonzero(bad)
    msg = np.where(null[pos], "geometry is null", "geometry is empty")
    col.rows(
        pos,
        column="geometry",
        problem="null_geometry",
        severity="error",
        action=act("removed"),
        message=_s(msg) + ("; the row is removed" if repair else ""),
    )
    removals.mark(pos, "null_geometry", msg)
    return bad


def _check_coordinates(
    geoms: np.ndarray,
    crs: object,
    skip: np.ndarray,
    col: Findings,
    removals: _Removals,
    *,
    repair: bool,
    act: Callable[[str], str],
) -> np.ndarray:
    """Report (and mark for removal) NaN, infinite or implausible coordinates; return the mask."""
    live = np.flatnonzero(~skip)
    found, reasons = bad_coordinates(geoms[live], crs)
    pos = live[found]
    col.rows(
        pos,
        column="geometry",
        problem="bad_coordinates",
        severity="error",
        action=act("removed"),
        message="geometry "
        + reasons
        + "; no area or distance can be measured"
        + ("; the row is removed" if repair else ""),
    )
    removals.mark(pos, "bad_coordinates", "geometry " + reasons)
    mask = np.zeros(geoms.size, dtype=bool)
    mask[pos] = True
    return mask


def _repair_invalid(
    geoms: np.ndarray,
    new: np.ndarray,
    pos: np.ndarray,
    col: Findings,
    removals: _Removals,
    *,
    polygonal: bool,
) -> None:
    """Repair the invalid geometries at `pos` into `new`; mark those with nothing left."""
    reasons = shapely.is_valid_reason(geoms[pos])
    if polygonal:
        fixed = shapely.make_valid(geoms[pos], method="structure", keep_collapsed=False)
    else:
        fixed = shapely.make_valid(geoms[pos])
    new[pos] = fixed
    if polygonal:
        new[pos] = _polygon_parts(new[pos])
    gone = shapely.is_empty(new[pos]) | shapely.is_missing(new[pos])
    keep_pos, gone_pos = pos[~gone], pos[gone]
    col.rows(
        keep_pos,
        column="geometry",
        problem="invalid_geometry",
        severity="warning",
        action="repaired (make_valid)",
        message=_s(reasons[~gone]) + "; repaired with make_valid, polygon parts kept",
    )
    col.rows(
        gone_pos,
        column="geometry",
        problem="invalid_geometry",
        severity="error",
        action="removed",
        message=_s(reasons[gone]) + "; no area is left after repair, the row is removed",
    )
    removals.mark(gone_pos, "invalid_geometry", _s(reasons[gone]) + " (no area left after repair)")


def _check_geometry_type(
    check: np.ndarray,
    new: np.ndarray,
    pos: np.ndarray,
    allowed: Sequence[str],
    col: Findings,
    removals: _Removals,
    *,
    polygonal: bool,
    repair: bool,
    act: Callable[[str], str],
) -> None:
    """Rows at `pos` have a type not `allowed`: keep their polygon parts or remove them."""
    type_names = np.asarray(shapely.get_type_id(check[pos]))
    names = {v: k for k, v in _GEOM_TYPE_IDS.items()}
    tname = _s(type_names, lambda t: names[int(t)])  # type: ignore[call-overload]
    salvage = np.zeros(pos.size, dtype=bool)
    if polygonal and repair:
        parts = _polygon_parts(check[pos])
        salvage = ~shapely.is_empty(parts)
        new[pos[salvage]] = parts[salvage]
    allowed_txt = " or ".join(allowed)
    col.rows(
        pos[salvage],
        column="geometry",
        problem="wrong_geometry_type",
        severity="warning",
        action="polygon parts kept",
        message=tname[salvage]
        + f" where {allowed_txt} is expected; its polygon parts are kept, the rest dropped",
    )
    lost = pos[~salvage]
    col.rows(
        lost,
        column="geometry",
        problem="wrong_geometry_type",
        severity="error",
        action=act("removed"),
        message=tname[~salvage]
        + f" where {allowed_txt} is expected"
        + ("; the row is removed" if repair else ""),
    )
    removals.mark(
        lost, "wrong_geometry_type", tname[~salvage] + f" where {allowed_txt} is expected"
    )


def _polygon_parts(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygon parts of each geometry (empty polygon where there are none)."""
    out = np.asarray(geoms, dtype=object).copy()
    types = shapely.get_type_id(out)
    mixed = np.flatnonzero(~np.isin(types, [3, 6]))
    if mixed.size == 0:
        return out
    parts, idx = shapely.get_parts(out[mixed], return_index=True)
    # Collections can nest: flatten one more level.
    nested = shapely.get_type_id(parts) == 7
    if nested.any():
        sub, sub_idx = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        idx = np.concatenate([idx[~nested], idx[nested][sub_idx]])
    ptype = shapely.get_type_id(parts)
    multi = ptype == 6
    if multi.any():
        sub, sub_idx = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], sub])
        idx = np.concatenate([idx[~multi], idx[multi][sub_idx]])
        ptype = shapely.get_type_id(parts)
    poly = (ptype == 3) & ~shapely.is_empty(parts)
    result = np.full(mixed.size, shapely.Polygon(), dtype=object)
    if poly.any():
        pp, pi = parts[poly], idx[poly]
        order = np.argsort(pi, kind="stable")
        pp, pi = pp[order], pi[order]
        uniq, counts = np.unique(pi, return_counts=True)
        multis = shapely.multipolygons(pp, indices=np.repeat(np.arange(uniq.size), counts))
        singles = counts == 1
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        multis = np.asarray(multis, dtype=object)
        multis[singles] = pp[first[singles]]
        result[uniq] = multis
    out[mixed] = result
    return out
