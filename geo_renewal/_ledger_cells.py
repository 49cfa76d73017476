"""
Ledger cells: blanks, dates and numbers as a district writes them, one finding per bad cell.

Private to `geo_renewal.ledger`, which reads the ledger (format: ``docs/guide/ledger.md``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal._findings import Findings
from geo_renewal._headers import split_unit

_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_BLANKS = frozenset({"", "-", "—", "/", "无", "nan", "nat", "none", "null", "n/a"})

# What the reader did about a finding (the ``action`` column).
_KEPT = "none (kept)"
_BLANKED = "set to missing"
_IGNORED = "column ignored"


#: Dates outside these years are not plausible in a ledger: a typo, or a year typed as a number.
_FIRST_YEAR, _LAST_YEAR = 1990, 2100
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# Excel serial day numbers of 1990-01-01 and 2100-12-31.
_FIRST_SERIAL, _LAST_SERIAL = 32_874, 73_415


class LedgerFindings(Findings):
    """
    The findings of one ledger sheet: cells named as a person finds them (台账!H7).

    Parameters
    ----------
    labels, ids, headers
        As `geo_renewal._findings.Findings`.
    sheet
        The sheet's name, or None (a CSV or a DataFrame).
    letters
        Canonical column -> its spreadsheet column letter.
    prefixes
        One text per table position put before each row's message (the file and sheet,
        when several files are read as one ledger).
    """

    def __init__(
        self,
        labels: np.ndarray | None = None,
        ids: np.ndarray | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        sheet: str | None = None,
        letters: Mapping[str, str] | None = None,
        prefixes: np.ndarray | None = None,
    ) -> None:
        super().__init__(labels, ids, headers=headers)
        self.sheet = sheet
        self.letters: Mapping[str, str] = dict(letters or {})
        self.prefixes = prefixes

    def cell(self, column: str | None, row: Any) -> str:
        """Name the cell of canonical `column` in spreadsheet `row`: 台账!H7, H7 or row 7."""
        letter = None if column is None else self.letters.get(column)
        if letter is None:
            return f"row {row}"
        return f"{self.sheet}!{letter}{row}" if self.sheet else f"{letter}{row}"


def _where(findings: Findings, column: str | None, header: str | None, row: Any) -> str:
    """Name the cell of a finding: 台账!H7 (row 7, column '户数'), or row 7, column '户数'."""
    at = f"row {row}, column {header!r}"
    cell = findings.cell(column, row) if isinstance(findings, LedgerFindings) else f"row {row}"
    return at if cell.startswith("row ") else f"{cell} ({at})"


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
    if pos.size == 0:
        return
    rows = np.asarray(findings.labels)
    header = None if column is None else findings.header(column)
    if "{where}" in message:
        fields = {**fields, "where": [_where(findings, column, header, rows[i]) for i in pos]}
    prefixes = getattr(findings, "prefixes", None)
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
    if prefixes is not None:
        messages = [f"{prefixes[i]}: {m}" for m, i in zip(messages, pos, strict=True)]
    findings.rows(
        pos,
        column=header,
        problem=problem,
        severity=severity,
        action=action,
        message=np.asarray(messages, dtype=object),
        value=values,
    )


def _id_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


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
        elif _FIRST_SERIAL <= v <= _LAST_SERIAL:  # Excel serial day number, 1990–2100
            return _EXCEL_EPOCH + pd.Timedelta(days=int(v))
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


def _date_problem(v: Any) -> str:
    """Why cell value `v` is not a date, in a few words."""
    if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
        if float(v).is_integer() and 1900 <= v <= 2100:
            return f"{v:g} is a bare year, not a date"
        if 1 <= v < 100_000:
            day = _EXCEL_EPOCH + pd.Timedelta(days=int(v))
            return (
                f"the number {v:g} would be the Excel day {day:%Y-%m-%d}, outside "
                f"{_FIRST_YEAR}–{_LAST_YEAR}"
            )
        return f"the number {v:g} is not a date"
    if isinstance(v, pd.Timestamp | dt.datetime | dt.date):
        ts = pd.Timestamp(v)
        serial = (ts.normalize() - _EXCEL_EPOCH).days
        hint = f" (the year {serial} typed into a date cell?)" if 1900 <= serial <= 2100 else ""
        return f"{ts:%Y-%m-%d} is outside {_FIRST_YEAR}–{_LAST_YEAR}{hint}"
    return f"cannot read {str(v)!r} as a date"


def _dates_at_once(values: list[Any]) -> pd.Series | None:
    """Midnight Timestamps of a column holding only datetimes and blanks, all plausible."""
    if not all(v is None or isinstance(v, dt.datetime) for v in values):
        return None
    ts = pd.Series(pd.to_datetime(pd.Series(values, dtype=object))).dt.normalize()
    years = ts.dt.year
    return None if ((years < _FIRST_YEAR) | (years > _LAST_YEAR)).any() else ts


_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_dates(values: list[Any]) -> dict[Any, Any]:
    """Parse the distinct ISO date texts (2024-03-01) at once: (str, text) -> date or None."""
    iso = list({v for v in values if isinstance(v, str) and _ISO.fullmatch(v)})
    if not iso:
        return {}
    parsed = pd.to_datetime(pd.Series(iso, dtype=object), format="%Y-%m-%d", errors="coerce")
    plausible = parsed.notna() & parsed.dt.year.between(_FIRST_YEAR, _LAST_YEAR)
    return {
        (str, text): (ts if ok else None)
        for text, ts, ok in zip(iso, parsed.tolist(), plausible.tolist(), strict=True)
    }


def _parse_dates(raw: pd.Series, col: str, findings: Findings) -> pd.Series:
    fast = _dates_at_once(raw.tolist())
    if fast is not None:  # a workbook's date cells: no cell to report
        return pd.Series(pd.to_datetime(fast), index=raw.index, name=col)
    cache = _iso_dates(raw.tolist())
    out = []
    for v in raw.tolist():
        try:
            key: Any = (type(v), v)
            hash(key)
        except TypeError:
            key = (type(v), str(v))
        if key not in cache:
            parsed = _parse_date(v)
            if isinstance(parsed, pd.Timestamp) and not pd.isna(parsed):
                parsed = parsed if _FIRST_YEAR <= parsed.year <= _LAST_YEAR else None
            cache[key] = parsed
        out.append(cache[key])
    bad = np.flatnonzero([v is None for v in out])
    cells = raw.tolist()
    _report(
        findings,
        bad,
        "bad_date",
        "{where}: {why}; write the date as 2024-03-01 or leave it blank.",
        column=col,
        action=_BLANKED,
        values=[cells[i] for i in bad],
        why=[_date_problem(cells[i]) for i in bad],
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
    message = "{where}: {value!r} is not a number; "
    message += "write a plain number or leave it blank."
    _report(findings, bad, "bad_number", message, column=col, action=_BLANKED, values=cells[bad])
    neg = np.flatnonzero((values < 0).to_numpy())
    message = "row {row}, column {header!r}: {value!r} is negative; counts and areas must be ≥ 0."
    _report(findings, neg, "negative_value", message, column=col, values=cells[neg])
    return values.rename(col)


_COUNT_UNITS = {"户": 1.0, "hh": 1.0, "households": 1.0, "万户": 1e4}
#: Units a ledger writes in the brackets of a number header -> factor to the canonical unit.
_UNITS: dict[str, dict[str, float]] = {
    "households": _COUNT_UNITS,
    "signed_households": _COUNT_UNITS,
    "demolished_floor_area": {
        **dict.fromkeys(("m2", "平方米", "平米", "sqm"), 1.0),
        **dict.fromkeys(("万m2", "万平方米", "万平米"), 1e4),
        **dict.fromkeys(("ha", "公顷"), 1e4),
        "亩": 10_000 / 15,
    },
}
_CANONICAL_UNIT = {"households": "户", "signed_households": "户", "demolished_floor_area": "㎡"}


def _unit_factor(col: str, header: str, findings: Findings) -> float:
    """
    Return the factor from the unit in `header`'s brackets to `col`'s unit (㎡, 户).

    A known unit other than the canonical one (万㎡, 公顷, 亩) converts the column, reported;
    an unknown one (户数（人）) is a warning, and the values are taken as they are.
    """
    unit = split_unit(header)[1]
    table = _UNITS.get(col)
    if unit is None or table is None:
        return 1.0
    factor = table.get(unit)
    target = _CANONICAL_UNIT[col]
    if factor is None:
        findings.add(
            "unknown_unit",
            f"column {header!r} gives the unit {unit!r}, but {col} is counted in {target}; "
            f"the values are read as {target}: check the column, or convert it to {target}.",
            severity="warning",
            column=col,
            action=_KEPT,
            value=unit,
        )
        return 1.0
    if factor != 1.0:
        findings.add(
            "unit_converted",
            f"column {header!r} is in {unit}: its values are converted to {target} "
            f"(× {factor:,.6g}).",
            severity="info",
            column=col,
            action=f"converted to {target}",
            value=unit,
        )
    return factor


def _fmt(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d")
