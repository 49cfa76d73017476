"""
Ledger rows that are not projects, and cells that cannot be read as they stand.

Private to `geo_renewal.ledger`: total, subtotal, breakdown (其中) and note rows are taken
out of the projects and listed, and the sums a total row carries are compared with the sum
of the project rows; merged cells in the body and formulas without a saved value are
findings naming the cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal._findings import Findings
from geo_renewal._headers import ROW_KINDS, row_kind
from geo_renewal._ledger_cells import _BLANKED, _isna, _parse_numbers
from geo_renewal._ledger_sheet import Sheet, column_letter

_NOT_A_PROJECT = "not counted as a project"


def _say(prefix: str | None, text: str) -> str:
    return f"{prefix}: {text}" if prefix else text


def special_rows(
    raw: pd.DataFrame,
    label_cols: Sequence[Any],
    rows: np.ndarray,
    findings: Findings,
    *,
    prefix: str | None = None,
) -> list[tuple[str, str] | None]:
    """
    Recognise the total, subtotal, breakdown and note rows of `raw`; list each in `findings`.

    A row's labels are its first filled cell and its cells in `label_cols` (id, name,
    street). Returns the kind of every row (None for a project row).
    """
    values = raw.to_numpy(dtype=object)
    label_idx = [raw.columns.get_loc(c) for c in label_cols]
    kinds: list[tuple[str, str] | None] = []
    for i, row in enumerate(values):
        first = next((v for v in row if isinstance(v, str) and v.strip()), None)
        kind = row_kind([first, *(row[j] for j in label_idx)])
        if kind is not None and kind[0] == "section" and sum(not _isna(v) for v in row) > 1:
            kind = None  # a heading is alone in its row; this row holds a project
        kinds.append(kind)
        if kind is None:
            continue
        findings.add(
            f"{kind[0]}_row",
            _say(
                prefix,
                f"row {rows[i]} is {ROW_KINDS[kind[0]]} ({kind[1]!r}): {_NOT_A_PROJECT}; the "
                f"ledger's totals are the sums of its project rows.",
            ),
            severity="info",
            row=int(rows[i]),
            action=_NOT_A_PROJECT,
            value=kind[1],
        )
    return kinds


def compare_totals(
    raw: pd.DataFrame,
    kinds: Sequence[tuple[str, str] | None],
    numeric: Mapping[str, Any],
    rows: np.ndarray,
    findings: Findings,
    *,
    prefix: str | None = None,
) -> None:
    """
    Compare each total and subtotal row with the sum of the project rows it sums.

    A total row sums every project row of the sheet (above or below it); a subtotal row
    the project rows since the previous subtotal or total. `numeric` maps canonical number columns to
    their headers in `raw`. A difference is a warning naming the row, column and both sums.
    """
    is_project = np.array([k is None for k in kinds], dtype=bool)
    if is_project.all() or not numeric:
        return
    scratch = Findings(np.asarray(rows))
    for canonical, col in numeric.items():
        values = _parse_numbers(raw[col], canonical, scratch).to_numpy(dtype=float)
        start = 0
        for i, kind in enumerate(kinds):
            if kind is None or kind[0] not in ("total", "subtotal"):
                continue
            block = slice(0, len(kinds)) if kind[0] == "total" else slice(start, i)
            start = i + 1
            given = values[i]
            members = is_project[block]
            if np.isnan(given) or not members.any():
                continue
            summed = float(np.nansum(values[block][members]))
            if abs(given - summed) <= max(0.5, 1e-9 * abs(summed)):  # rounding only
                continue
            rows_in = np.asarray(rows)[block][members]
            findings.add(
                "total_mismatch",
                _say(
                    prefix,
                    f"row {rows[i]} ({kind[1]!r}), column {col!r}: the {kind[0]} row says "
                    f"{given:,.10g} but its {int(members.sum())} project rows "
                    f"(rows {rows_in[0]}–{rows_in[-1]}) sum to {summed:,.10g} (difference "
                    f"{given - summed:+,.10g}); the project rows' sum is used: correct the "
                    f"rows or the {kind[0]}.",
                ),
                severity="warning",
                row=int(rows[i]),
                column=canonical,
                value=f"{given:g}",
            )


def uncached_formulas(
    sheet: Sheet,
    rows: Mapping[int, int],
    columns: Mapping[int, str],
    findings: Findings,
    *,
    prefix: str | None = None,
) -> None:
    """
    Report every formula cell of a project row that has no saved value (read as blank).

    `rows` maps 0-based grid rows of project rows to their spreadsheet row; `columns`
    maps 0-based grid columns to the canonical column (or header) they hold.
    """
    for (r, c), formula in sorted(sheet.uncached.items()):
        if r not in rows or c not in columns:
            continue
        cell = (
            f"{sheet.sheet}!{column_letter(c)}{r + 1}"
            if sheet.sheet
            else f"{column_letter(c)}{r + 1}"
        )
        findings.add(
            "formula_without_value",
            _say(
                prefix,
                f"cell {cell} (row {r + 1}, column {findings.header(columns[c])!r}) holds the "
                f"formula {formula} but no saved value (the file was written by a program, "
                f"not saved by Excel), so it is read as blank; open the file in Excel or WPS "
                f"and save it, or type the value.",
            ),
            row=r + 1,
            column=columns[c],
            action=_BLANKED,
            value=formula,
        )


_EXCEL_ERRORS = frozenset(
    {"#REF!", "#DIV/0!", "#N/A", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!"}
)


def error_cells(
    raw: pd.DataFrame,
    sheet: Sheet,
    rows: np.ndarray,
    columns: Mapping[str, int],
    findings: Findings,
) -> pd.DataFrame:
    """
    Blank and report every cell holding an Excel error value (#REF!, #DIV/0!, #N/A …).

    `columns` maps `raw`'s headers to their 0-based grid column (for the cell's name).
    """
    out = raw
    for col in raw.columns:
        values = raw[col].to_numpy(dtype=object)
        hits = [
            i for i, v in enumerate(values) if isinstance(v, str) and v.strip() in _EXCEL_ERRORS
        ]
        if not hits:
            continue
        if out is raw:
            out = raw.copy()
        out.loc[out.index[hits], col] = None
        for i in hits:
            j = columns.get(col)
            cell = "" if j is None else f"{column_letter(j)}{rows[i]}"
            if cell and sheet.sheet:
                cell = f"{sheet.sheet}!{cell}"
            at = (
                f"cell {cell} (row {rows[i]}, column {col!r})"
                if cell
                else (f"row {rows[i]}, column {col!r}")
            )
            findings.add(
                "formula_error",
                f"{at} holds the Excel error {values[i].strip()}: its formula cannot be "
                f"computed, so it is read as blank; correct the formula or type the value.",
                row=int(rows[i]),
                column=col,
                action=_BLANKED,
                value=values[i],
            )
    return out


def hidden_rows(sheet: Sheet, rows: np.ndarray, findings: Findings) -> None:
    """Warn about project rows hidden in the sheet: they count, though nobody sees them."""
    for r in rows:
        if int(r) - 1 in sheet.hidden:
            findings.add(
                "hidden_row",
                f"row {r} of {sheet.source} is hidden in the sheet but holds a project, which "
                f"is counted; unhide it to check it, or delete the row if the project is "
                f"cancelled.",
                severity="warning",
                row=int(r),
                action="counted as a project",
            )


def merged_body_cells(
    raw: pd.DataFrame,
    sheet: Sheet,
    positions: Mapping[int, int],
    columns: Mapping[int, str],
    numeric: set[str],
    findings: Findings,
    *,
    prefix: str | None = None,
) -> pd.DataFrame:
    """
    Resolve merged cells below the header: text and dates repeat, numbers are not copied.

    `positions` maps 0-based grid rows to positions in `raw`; `columns` maps grid columns
    to `raw`'s headers. A number merged over several rows belongs to none of them alone:
    it stays in the first row and the range is a warning.
    """
    out = raw
    for r1, c1, r2, c2 in sheet.merged:
        rows = [positions[r] for r in range(r1, r2 + 1) if r in positions]
        if r2 == r1 or len(rows) < 2 or r1 not in positions:
            continue
        ref = f"{column_letter(c1)}{r1 + 1}:{column_letter(c2)}{r2 + 1}"
        where = f"{sheet.sheet}!{ref}" if sheet.sheet else ref
        for c in range(c1, c2 + 1):
            col = columns.get(c)
            if col is None:
                continue
            value = raw.iat[positions[r1], raw.columns.get_loc(col)]
            if _isna(value):
                continue
            if col in numeric:
                findings.add(
                    "merged_number",
                    _say(
                        prefix,
                        f"cells {where} (column {findings.header(col)!r}) are merged over rows "
                        f"{r1 + 1}–{r2 + 1}: the number {value!r} is counted once, in row "
                        f"{r1 + 1}; give each project row its own figure.",
                    ),
                    severity="warning",
                    row=r1 + 1,
                    column=col,
                    value=value,
                )
                continue
            if out is raw:
                out = raw.copy()
            out.iloc[rows[1:], raw.columns.get_loc(col)] = value
    return out
