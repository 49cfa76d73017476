"""
Ledger cells: blanks, dates and numbers as a district writes them, one finding per bad cell.

Private to `geo_renewal.ledger`, which reads the ledger (format: ``docs/guide/ledger.md``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal._findings import Findings

_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_BLANKS = frozenset({"", "-", "—", "/", "无", "nan", "nat", "none", "null", "n/a"})

# What the reader did about a finding (the ``action`` column).
_KEPT = "none (kept)"
_BLANKED = "set to missing"
_IGNORED = "column ignored"


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _report(
    findings: Findings,
    pos: np.ndarray | Sequence[int],
    problem: str,
    message: str,
    *,
    column: str | None = None,
    severity: str = "error",
    action: str = _KEPT,
    values: Sequence[Any] | np.ndarray | None = None,
    **fields: Any,
) -> None:
    """
    Add one finding per table position in `pos`; rows and ids come from `findings`.

    `message` is a `str.format` template of ``{row}`` (the spreadsheet row), ``{header}``
    (`column` as the file spells it), ``{value}`` (the offending cell, from `values`) and
    `fields`: a list or array gives one value per position, anything else one for all.
    """
    pos = np.asarray(pos, dtype=np.intp)
    rows = np.asarray(findings.labels)
    header = None if column is None else findings.header(column)
    per_row = {k: v for k, v in fields.items() if isinstance(v, list | np.ndarray)}
    same = {k: v for k, v in fields.items() if k not in per_row}
    messages = [
        message.format(
            row=rows[i],
            header=header,
            value=None if values is None else values[k],
            **same,
            **{name: v[k] for name, v in per_row.items()},
        )
        for k, i in enumerate(pos)
    ]
    findings.rows(
        pos,
        column=header,
        problem=problem,
        severity=severity,
        action=action,
        message=np.asarray(messages, dtype=object),
        value=values,
    )


def _looks_like_dates(values: pd.Series, key: str) -> bool:
    """Tell whether a column is a date column: named so, or all its filled cells are dates."""
    if re.search(r"(日期|时间|date)$", key):
        return True
    filled = [v for v in values.tolist() if not _isna(v) and str(v).strip().lower() not in _BLANKS]
    return bool(filled) and all(_parse_date(v) is not None for v in filled)


def _parse_date(v: Any) -> pd.Timestamp | None:
    """Return a midnight Timestamp, NaT for blank, or None if unparseable."""
    if v is None or v is pd.NaT:
        return pd.NaT
    if isinstance(v, pd.Timestamp | dt.datetime | dt.date):
        return pd.Timestamp(v).normalize()
    if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
        if np.isnan(v):
            return pd.NaT
        if float(v).is_integer() and 19_000_101 <= v <= 21_001_231:
            v = str(int(v))
        elif 1 <= v < 80_000:  # Excel serial day number
            return pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(v))
        else:
            return None
    s = str(v).strip()
    if s.lower() in _BLANKS:
        return pd.NaT
    s = re.split(r"[ T]", s, maxsplit=1)[0] if re.match(r"^\d{4}\D", s) else s
    m = _DATE_RE.match(s)
    if m is None and re.fullmatch(r"\d{8}", s):
        m = re.match(r"^(\d{4})(\d{2})(\d{2})$", s)
    if m is None:
        return None
    try:
        return pd.Timestamp(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _parse_dates(raw: pd.Series, col: str, findings: Findings) -> pd.Series:
    cache: dict[Any, Any] = {}
    out = []
    for v in raw.tolist():
        key = (type(v).__name__, str(v))
        if key not in cache:
            cache[key] = _parse_date(v)
        out.append(cache[key])
    bad = np.flatnonzero([v is None for v in out])
    cells = raw.tolist()
    _report(
        findings,
        bad,
        "bad_date",
        "row {row}, column {header!r}: cannot read {value!r} as a date; "
        "write it as 2024-03-01 or leave it blank.",
        column=col,
        action=_BLANKED,
        values=[cells[i] for i in bad],
    )
    out = [pd.NaT if v is None else v for v in out]
    return pd.Series(pd.to_datetime(pd.Series(out, dtype=object)), index=raw.index, name=col)


def _parse_numbers(raw: pd.Series, col: str, findings: Findings) -> pd.Series:
    text = raw.map(lambda v: v if not isinstance(v, str) else v.strip())
    text = text.map(
        lambda v: (
            re.sub(r"(,|，|\s|户|㎡|m2|平方米)", "", v, flags=re.IGNORECASE)
            if isinstance(v, str)
            else v
        )
    )
    blank = text.map(lambda v: _isna(v) or (isinstance(v, str) and v.lower() in _BLANKS))
    values = pd.to_numeric(text.where(~blank, None), errors="coerce").astype(float)
    cells = raw.to_numpy()
    bad = np.flatnonzero((values.isna() & ~blank).to_numpy())
    message = "row {row}, column {header!r}: {value!r} is not a number; "
    message += "write a plain number or leave it blank."
    _report(findings, bad, "bad_number", message, column=col, action=_BLANKED, values=cells[bad])
    neg = np.flatnonzero((values < 0).to_numpy())
    message = "row {row}, column {header!r}: {value!r} is negative; counts and areas must be ≥ 0."
    _report(findings, neg, "negative_value", message, column=col, values=cells[neg])
    return values.rename(col)


def _fmt(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d")
