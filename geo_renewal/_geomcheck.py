"""
Coordinates that cannot be measured: NaN or infinite, or far outside where the CRS applies.

`bad_coordinates` is the one vectorised check (bounds and lengths, no vertex copy), used by
`validate_layer` (error findings, rows removed) and, through `refuse_bad_coordinates`, by
`crs.area`, `zone_stats` and `classify_parcels` (an `InputError` naming the rows) so that no
figure is computed from such geometry. The plausible range of a CRS is its area of use
(pyproj) widened by `MARGIN_DEG` degrees on every side; see docs/guide/validation.md.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

import shapely
from pyproj import CRS, Transformer

from geo_renewal._errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Degrees by which a CRS's area of use is widened on each side to give its plausible range.
MARGIN_DEG = 30.0
#: Plausible range of a projected CRS without an area of use: |x|, |y| below this (metres).
_FALLBACK_METRES = 1e8
_LISTED = 5


@functools.lru_cache(maxsize=32)
def plausible_box(crs: CRS) -> tuple[float, float, float, float]:
    """Return (minx, miny, maxx, maxy) of the coordinates plausible in `crs`."""
    aou = crs.area_of_use
    if aou is None or aou.west > aou.east:  # unknown, or crossing the antimeridian
        w, s, e, n = -180.0, -90.0, 180.0, 90.0
    else:
        w, s = max(aou.west - MARGIN_DEG, -180.0), max(aou.south - MARGIN_DEG, -90.0)
        e, n = min(aou.east + MARGIN_DEG, 180.0), min(aou.north + MARGIN_DEG, 90.0)
    if crs.is_geographic:
        return (w, s, e, n)
    f = _FALLBACK_METRES
    if aou is None or crs.geodetic_crs is None:
        return (-f, -f, f, f)
    try:
        tr = Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True)
        box = tr.transform_bounds(w, max(s, -89.0), e, min(n, 89.0), densify_pts=21)
    except Exception:  # pyproj raises several kinds; fall back to a magnitude
        return (-f, -f, f, f)
    if not np.all(np.isfinite(box)):
        return (-f, -f, f, f)
    return tuple(float(v) for v in box)  # type: ignore[return-value]


def bad_coordinates(
    geoms: np.ndarray,
    crs: Any,
    *,
    bounds: np.ndarray | None = None,
    measure: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """
    Return the positions of geometries with unusable coordinates, and why (text).

    A geometry is bad when a coordinate is NaN or infinite, or when its bounds leave the
    plausible range of `crs` (`plausible_box`). Null and empty geometries are not bad here
    (they are reported as such elsewhere). `crs` None checks finiteness only. A caller that
    has the per-row `bounds` and planar areas or lengths (`measure`, NaN or infinite where
    a coordinate is) already passes them: the check then costs almost nothing.
    """
    geoms = np.asarray(geoms, dtype=object)
    if geoms.size == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=object)
    if measure is None:
        with np.errstate(invalid="ignore", over="ignore"):
            measure = shapely.length(geoms)
    if bounds is None:
        bounds = shapely.bounds(geoms)
    # Null geometries have a NaN measure and NaN bounds too: tell them apart on the few
    # candidates only (a NaN point has NaN bounds and a finite measure, as an empty has).
    finite = np.isfinite(measure)
    nonfinite = np.zeros(geoms.size, dtype=bool)
    cand = np.flatnonzero(~finite)
    nonfinite[cand[~shapely.is_missing(geoms[cand])]] = True
    cand = np.flatnonzero(finite & (np.isnan(bounds[:, 0]) | np.isnan(bounds[:, 1])))
    nonfinite[cand[~shapely.is_empty(geoms[cand])]] = True
    outside = np.zeros(geoms.size, dtype=bool)
    box = None if crs is None else plausible_box(CRS.from_user_input(crs))
    if box is not None and not _inside(bounds, box):
        with np.errstate(invalid="ignore"):
            outside = (
                (bounds[:, 0] < box[0])
                | (bounds[:, 1] < box[1])
                | (bounds[:, 2] > box[2])
                | (bounds[:, 3] > box[3])
            ) & ~nonfinite
    pos = np.flatnonzero(nonfinite | outside)
    reasons = np.empty(pos.size, dtype=object)
    for i, p in enumerate(pos):
        if nonfinite[p]:
            reasons[i] = "has a NaN or infinite coordinate"
        else:
            reasons[i] = (
                f"lies at {format_span(bounds[p])}, outside the plausible range of the CRS "
                f"({format_span(box)}: its area of use widened by {MARGIN_DEG:g}°)"  # type: ignore[arg-type]
            )
    return pos, reasons


def _inside(bounds: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    """Whether every row's bounds lie in `box` (NaN rows ignored): four reductions."""
    with np.errstate(invalid="ignore"):
        lo_x, lo_y = np.fmin.reduce(bounds[:, 0]), np.fmin.reduce(bounds[:, 1])
        hi_x, hi_y = np.fmax.reduce(bounds[:, 2]), np.fmax.reduce(bounds[:, 3])
    if np.isnan(lo_x):  # nothing but null and empty geometries
        return True
    return bool(lo_x >= box[0] and lo_y >= box[1] and hi_x <= box[2] and hi_y <= box[3])


def format_coordinate(v: float) -> str:
    """Return a coordinate as messages write it: 500 100, 36.6512, 1e+30."""
    if abs(v) >= 1e9:
        return f"{v:.3g}"
    return f"{v:,.0f}".replace(",", " ") if abs(v) >= 1000 else f"{v:.4f}"


def format_span(b: Sequence[float]) -> str:
    """Return bounds (minx, miny, maxx, maxy) as messages write them: x … to …, y … to …."""
    f = format_coordinate
    return f"x {f(b[0])} to {f(b[2])}, y {f(b[1])} to {f(b[3])}"


def refuse_bad_coordinates(
    geoms: Any,
    crs: Any,
    *,
    name: str,
    labels: Sequence[Any] | None = None,
    bounds: np.ndarray | None = None,
    measure: np.ndarray | None = None,
) -> None:
    """
    Raise `InputError` naming the rows whose coordinates are NaN, infinite or implausible.

    `geoms` is a GeoSeries or an array of geometries (in `crs`), `labels` their row labels
    (the GeoSeries' index by default); `bounds` and `measure` as for `bad_coordinates`.
    Cheap: two vectorised passes at most, no vertex copy.
    """
    array = np.asarray(getattr(geoms, "array", geoms), dtype=object)
    pos, reasons = bad_coordinates(array, crs, bounds=bounds, measure=measure)
    if pos.size == 0:
        return
    if labels is None:
        labels = list(getattr(geoms, "index", range(array.size)))
    listed = "; ".join(
        f"row {labels[p]!r} {r}" for p, r in zip(pos[:_LISTED], reasons, strict=False)
    )
    more = f" (and {pos.size - _LISTED} more)" if pos.size > _LISTED else ""
    crs_txt = "" if crs is None else f" in {CRS.from_user_input(crs).to_string()}"
    msg = (
        f"`{name}`: {pos.size} feature{'s' if pos.size != 1 else ''} cannot be measured{crs_txt}: "
        f"{listed}{more}. Fix the geometry at the source, or run "
        "`geo_renewal.validate_layer` and use `report.layer`, which leaves them out."
    )
    raise InputError(msg)
