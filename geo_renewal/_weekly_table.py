"""
The tables of the weekly cycle (tasks, households, meeting decisions) read from a sheet.

Private to `geo_renewal.tasks`, `geo_renewal.households` and `geo_renewal.supervision`: a
CSV or XLSX sheet (or a DataFrame) with Chinese or English headers is mapped onto
canonical columns; dates and numbers are parsed cell by cell and every bad cell is a
finding naming the file, sheet, row and column. The ledger's sheet reader and cell parsers
are reused (`geo_renewal._ledger_sheet`, `geo_renewal._ledger_cells`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal._errors import InputError, SchemaError
from geo_renewal._headers import HEADER_SCAN_ROWS, find_header, normalise_header
from geo_renewal._ledger_cells import (
    _FIRST_YEAR,
    _LAST_YEAR,
    LedgerFindings,
    _id_text,
    _isna,
    _parse_dates,
    _parse_numbers,
)
from geo_renewal._ledger_sheet import column_letter, read_sheet


@dataclass(frozen=True)
class TableSpec:
    """
    What one kind of weekly table looks like.

    Attributes
    ----------
    what
        The table's name in messages (``"task table"``).
    columns
        Canonical column -> accepted headers (normalised by `normalise_header`).
    required
        Columns the table must have.
    dates, numbers
        Columns parsed as dates and as numbers.
    key
        Columns that identify a row (a blank or repeated key is a finding).
    alt_key
        The key used when a column of `key` is missing (tasks without 任务编号: the name).
    """

    what: str
    columns: Mapping[str, Sequence[str]]
    required: Sequence[str]
    dates: Sequence[str] = ()
    numbers: Sequence[str] = ()
    key: Sequence[str] = ()
    alt_key: Sequence[str] = ()

    def lookup(self) -> dict[str, str]:
        """Return normalised header -> canonical column."""
        out = {}
        for canon, names in self.columns.items():
            for n in (canon, *names):
                out[normalise_header(n).lower()] = canon
        return out


def read_weekly_table(
    source: str | Path | pd.DataFrame,
    spec: TableSpec,
    *,
    sheet: str | int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the table (canonical columns, ``source_row``) and its findings."""
    lookup = spec.lookup()
    if isinstance(source, pd.DataFrame):
        head = [tuple(source.columns), *source.head(HEADER_SCAN_ROWS).itertuples(index=False)]
        file, sheet_name = None, None
    else:
        found = _read_file(Path(source), spec, lookup, sheet)
        head, file, sheet_name = found.grid[:HEADER_SCAN_ROWS], str(source), found.sheet
    header = find_header(head, known=lambda k: k.lower() in lookup, pairs=False)
    row0 = header.rows[-1] + 1
    cols: dict[str, int] = {}
    for j, key in enumerate(header.keys):
        canon = lookup.get(key.lower())
        if canon is not None and canon not in cols:
            cols[canon] = j
    where = f"{file} [{sheet_name}]" if sheet_name else (file or "the table")
    missing = [c for c in spec.required if c not in cols]
    if missing:
        names = [f"{spec.columns[c][0]} / {c}" for c in missing]
        msg = (
            f"{spec.what} {where} has no column {', '.join(names)}; add the column "
            f"(headers found: {[n for n in header.names if n]})."
        )
        raise SchemaError(msg)
    if isinstance(source, pd.DataFrame):
        body = source.iloc[row0 - 1 :, list(cols.values())]  # row 0 of the grid: the headers
    else:
        width = max(cols.values()) + 1
        grid = [tuple(r[:width]) + (None,) * (width - len(r)) for r in found.grid[row0:]]
        body = (
            pd.DataFrame.from_records(grid, columns=range(width))
            if grid
            else pd.DataFrame(columns=range(width))
        )
        body = body.reindex(columns=list(cols.values()))
    body = pd.DataFrame({c: _cells(body.iloc[:, k]) for k, c in enumerate(cols)})
    rows = np.arange(row0 + 1, row0 + 1 + len(body))
    filled = ~_blank_rows(body, spec.required[0])
    raw = body[filled].reset_index(drop=True)
    return _frame(raw, rows[filled], cols, header.names, spec, file, sheet_name)


def _read_file(
    path: Path, spec: TableSpec, lookup: dict[str, str], sheet: str | int | None
) -> Any:
    required = spec.required[0]

    def known(key: str) -> bool:
        return key.lower() in lookup

    def needed(key: str) -> bool:
        return lookup.get(key.lower()) == required

    try:
        return read_sheet(path, sheet=sheet, known=known, required=needed, header_row=None)
    except InputError as e:
        msg = str(e).replace("ledger", spec.what).replace("a ledger", f"a {spec.what}")
        raise InputError(msg) from e


def _cells(col: pd.Series) -> Any:
    """
    Return a column's cells: text, number and datetime columns as they are, others as objects.

    A DataFrame's text (``str``), number and (naive) datetime columns are parsed column-wise
    (`_texts`, `_numbers`, `_dates`) without a Python object per cell; everything else is
    read cell by cell.
    """
    if isinstance(col.dtype, pd.StringDtype) or (
        isinstance(col.dtype, np.dtype) and col.dtype.kind in "iufM"
    ):
        return col.reset_index(drop=True)
    return col.to_numpy(dtype=object)


def _blank_rows(df: pd.DataFrame, key: str) -> np.ndarray:
    """Tell which rows are blank: every cell missing or spaces (checked where the key is)."""
    k = df[key]
    if isinstance(k.dtype, pd.StringDtype):
        maybe = (k.isna() | k.str.strip().eq("")).to_numpy(dtype=bool, na_value=True)
    else:
        maybe = np.array(k.isna().to_numpy(dtype=bool))
        text = np.flatnonzero(~maybe)
        cells = pd.Series(k.to_numpy(dtype=object)[text], dtype=object)
        is_str = cells.map(type).eq(str).to_numpy(dtype=bool)
        maybe[text[is_str]] = cells[is_str].str.strip().eq("").to_numpy(dtype=bool)
    out = np.zeros(len(df), dtype=bool)
    for i in np.flatnonzero(maybe):
        out[i] = all(_isna(v) or (isinstance(v, str) and not v.strip()) for v in df.iloc[i])
    return out


def _texts(raw: pd.Series) -> pd.Series:
    """Return cells as trimmed text (whole numbers without .0), None for blanks; vectorised."""
    kind = pd.api.types.infer_dtype(raw, skipna=True)
    if kind in ("string", "empty"):
        stripped = raw.astype("str").str.strip()
        return stripped.where(stripped.notna() & (stripped != ""))
    if kind in ("integer", "floating", "mixed-integer-float"):
        num = pd.to_numeric(raw, errors="coerce")
        whole = num.notna() & (num == num.round())
        out = num.astype(object).where(~whole, num.where(whole).astype("Int64").astype(str))
        out = out.map(lambda v: str(v), na_action="ignore")
        return out.where(num.notna(), None).astype(object)
    vals = raw.map(lambda v: None if _isna(v) else _id_text(v))
    return vals.where(vals.notna() & (vals != ""), None).astype(object)


def _numbers(raw: pd.Series, col: str, findings: LedgerFindings) -> pd.Series:
    """Return a number column: one of numbers none negative as it is, else cell by cell."""
    if isinstance(raw.dtype, np.dtype) and raw.dtype.kind in "iuf":
        values = raw.astype(float)
        if not (values < 0).any():  # negatives are findings: `_parse_numbers` names them
            return values.rename(col)
        raw = pd.Series(raw.to_numpy(dtype=object), index=raw.index)  # -5.0, not np.float64
    return _parse_numbers(raw, col, findings)


def _dates(raw: pd.Series, col: str, findings: LedgerFindings) -> pd.Series:
    """Return a date column: a datetime column of plausible days as it is, else cell by cell."""
    if raw.dtype.kind == "M" and not isinstance(raw.dtype, pd.DatetimeTZDtype):
        days = raw.dt.normalize()
        years = days.dt.year
        if not ((years < _FIRST_YEAR) | (years > _LAST_YEAR)).any():
            return days.astype("datetime64[us]").rename(col)
        raw = pd.Series(raw.to_numpy(dtype=object), index=raw.index)
    return _parse_dates(raw, col, findings).astype("datetime64[us]")


def _frame(
    raw: pd.DataFrame,
    rows: np.ndarray,
    cols: dict[str, int],
    names: Sequence[str],
    spec: TableSpec,
    file: str | None,
    sheet: str | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    findings = LedgerFindings(
        np.asarray(rows, dtype=object),
        None,
        headers={c: names[j] for c, j in cols.items()},
        sheet=sheet,
        letters={c: column_letter(j) for c, j in cols.items()},
        prefixes=np.asarray([file] * len(rows), dtype=object) if file else None,
    )
    out = pd.DataFrame(index=raw.index)
    for c in cols:
        if c in spec.dates:
            out[c] = _dates(raw[c], c, findings)
        elif c in spec.numbers:
            out[c] = _numbers(raw[c], c, findings)
        else:
            out[c] = _texts(raw[c])
    out["source_row"] = rows
    if file is not None:
        out["source_file"] = Path(file).name
    out = _check_key(out, spec, findings)
    return out.reset_index(drop=True), findings.frame()


def _check_key(out: pd.DataFrame, spec: TableSpec, findings: LedgerFindings) -> pd.DataFrame:
    """Report blank and repeated keys; return the table without those rows."""
    key = list(spec.key)
    if not all(c in out.columns for c in key):
        key = list(spec.alt_key)
    if not key or not all(c in out.columns for c in key):
        return out
    blank = np.flatnonzero(out[key].isna().any(axis=1).to_numpy())
    for i in blank:
        findings.add(
            "blank_key",
            f"{spec.what}, row {out['source_row'].iloc[i]}: {' / '.join(key)} is blank; "
            f"fill it in (the row is left out).",
            row=out["source_row"].iloc[i],
            column=key[0],
            action="row dropped",
        )
    dup = out[key].duplicated(keep="first") & ~out[key].isna().any(axis=1)
    for i in np.flatnonzero(dup.to_numpy()):
        findings.add(
            "duplicate_key",
            f"{spec.what}, row {out['source_row'].iloc[i]}: "
            f"{' / '.join(str(out[k].iloc[i]) for k in key)} is repeated; each must appear "
            f"once (the later row is left out).",
            row=out["source_row"].iloc[i],
            column=key[0],
            action="row dropped",
        )
    drop = blank.tolist() + np.flatnonzero(dup.to_numpy()).tolist()
    return out.drop(index=out.index[drop])
