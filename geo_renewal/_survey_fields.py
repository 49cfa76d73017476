"""
Fields of 三调 (DLTB) and 不动产 (ZD 宗地, ZRZ 自然幢) exports: values on read, stated areas.

The header aliases (BSM, TBBH, DLBM, QSDWMC, TBMJ, ZDMJ, JZMJ, ZCS, FWJG, JGRQ …) are data in
`geo_renewal.schema`. On read (`survey_values`): 房屋结构 codes of the 不动产 database (FWJG
1–6) become structure codes, 竣工日期 (JGRQ) dates become build years, and a layer without its
id takes the 标识码 (BSM). In validation (`check_stated_area`): a stated official area
(TBMJ, ZDMJ) that differs from the computed area by more than
`settings.stated_area_tolerance` is a warning with both figures.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal import schema, settings

if TYPE_CHECKING:
    from geo_renewal._findings import Findings

__all__ = ["FWJG_CODES", "check_stated_area", "survey_values"]

#: 房屋结构 codes of the 不动产登记数据库标准 (TD/T 1066-2021, FWJG) -> structure codes.
FWJG_CODES: dict[str, str] = {
    "1": "steel",  # 钢结构
    "2": "frame",  # 钢和钢筋混凝土结构
    "3": "frame",  # 钢筋混凝土结构
    "4": "brick_concrete",  # 混合结构
    "5": "brick_wood",  # 砖木结构
    "6": "other",  # 其它结构
}
#: Headers (lower-cased) whose values are 房屋结构 codes or dates.
_FWJG_HEADERS = frozenset({"fwjg", "房屋结构"})
_DATE_HEADERS = frozenset({"jgrq", "竣工日期"})
_YEAR = re.compile(r"^\s*((?:18|19|20)\d\d)(?:[-/.年]\s*\d{1,2}(?:[-/.月]\s*\d{1,2}日?)?|\d{4})?")


def survey_values(
    out: pd.DataFrame, rename: dict[Any, str], *, kind: str | None, name: str
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """
    Decode survey-coded values of a layer just renamed; return it and notes for validation.

    Parameters
    ----------
    out
        The layer with canonical headers.
    rename
        Original header -> canonical name (what reading renamed).
    kind
        The layer kind; a layer without its required id takes ``survey_id`` (BSM).
    name
        The file, for messages.

    Returns
    -------
    out, notes
        The layer and findings (`geo_renewal._findings.FINDING_COLUMNS`).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"structure": ["4", "5"], "build_year": ["1995-06-01", "19880101"]})
    >>> out, notes = survey_values(df, {"FWJG": "structure", "JGRQ": "build_year"},
    ...                            kind=None, name="zrz.shp")
    >>> out.values.tolist()
    [['brick_concrete', 1995], ['brick_wood', 1988]]
    """
    sources = {str(k).strip().lower(): v for k, v in rename.items()}
    notes: list[dict[str, Any]] = []
    updates: dict[str, pd.Series] = {}
    for header, target in sources.items():
        if target not in out.columns:
            continue
        if header in _FWJG_HEADERS:
            s = out[target]
            text = s.map(lambda v: None if pd.isna(v) else str(v).strip().removesuffix(".0"))
            if text.dropna().isin(list(FWJG_CODES)).any():
                coded = text.map(lambda v: FWJG_CODES.get(v, v) if v else None).astype(object)
                updates[target] = coded.where(coded.notna(), None)
        elif header in _DATE_HEADERS:
            years = _years(out[target])
            if years is not None:
                updates[target] = years
    if updates:
        out = out.assign(**updates)
    if kind is not None and "survey_id" in out.columns:
        required = schema.KINDS[kind]["required"]
        if required and required[0] not in out.columns:
            out = out.assign(**{required[0]: out["survey_id"]})
            notes.append(_note(name, required[0]))
    return out, notes


def _years(s: pd.Series) -> pd.Series | None:
    """Years of dates (datetime, ``1995-06-01``, ``19950601``, ``1995年6月``); None if any fails."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.year.astype("Int64")
    years: list[int | None] = []
    for v in s:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
            years.append(None)
            continue
        if hasattr(v, "year"):
            years.append(int(v.year))
            continue
        m = _YEAR.match(str(v).removesuffix(".0"))
        if m is None:
            return None
        years.append(int(m.group(1)))
    return pd.Series(years, index=s.index, name=s.name, dtype="Int64")


def _note(name: str, column: str) -> dict[str, Any]:
    return {
        "row": None,
        "id": None,
        "column": column,
        "problem": "id_from_survey",
        "severity": "info",
        "action": "reported",
        "message": f"`{name}` has no {column!r}; the 标识码 (BSM, survey_id) is used as {column!r}",
        "value": None,
    }


def check_stated_area(
    stated: Any,
    measured: Any,
    col: Findings,
    *,
    positions: np.ndarray | None = None,
    tolerance: float | None = None,
) -> None:
    """
    Report features whose stated official area differs from the computed one.

    Parameters
    ----------
    stated
        The ``stated_area`` values (TBMJ 图斑面积 or ZDMJ 宗地面积, m²).
    measured
        The computed area of the same features in m² (`geo_renewal.crs.area`).
    col
        The findings collector of `validate_layer`.
    positions
        Position of each feature in the collector's rows; default ``0 … n-1``.
    tolerance
        Relative difference allowed; default `settings.stated_area_tolerance`. Differences
        under 1 m² are never reported.

    Examples
    --------
    >>> from geo_renewal._findings import Findings
    >>> f = Findings(np.array([10, 11]))
    >>> check_stated_area([100.0, 150.0], [100.2, 100.0], f)
    >>> f.frame()[["row", "message"]].values.tolist()  # doctest: +ELLIPSIS
    [[11, 'stated area (TBMJ/ZDMJ) 150.00 m² but the computed area is 100.00 m² (-33.3 %...']]
    """
    tol = settings.stated_area_tolerance if tolerance is None else tolerance
    given = pd.to_numeric(pd.Series(np.asarray(stated, dtype=object)), errors="coerce")
    given_m2 = given.to_numpy(dtype=float, na_value=np.nan)
    area = np.asarray(measured, dtype=float)
    diff = area - given_m2
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(given_m2 > 0, diff / given_m2, np.inf)
    ok = np.isfinite(given_m2) & np.isfinite(area)
    bad = ok & (np.abs(diff) >= 1.0) & (np.abs(rel) > tol)
    idx = np.flatnonzero(bad)
    if not idx.size:
        return
    messages = [
        f"stated area (TBMJ/ZDMJ) {given_m2[i]:.2f} m² but the computed area is {area[i]:.2f} "
        f"m² ({rel[i] * 100:+.1f} %, over the tolerance of {tol * 100:g} %); check the "
        "geometry or the stated figure"
        for i in idx
    ]
    pos = idx if positions is None else np.asarray(positions)[idx]
    col.rows(
        pos,
        column="stated_area",
        problem="area_mismatch",
        severity="warning",
        action="none (kept)",
        message=np.asarray(messages, dtype=object),
        value=np.asarray([f"{given_m2[i]:.2f} ≠ {area[i]:.2f}" for i in idx], dtype=object),
    )
