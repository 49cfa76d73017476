"""
Meeting tables: write statistics to Excel, CSV or Markdown, or format them for a terminal.

Headers are translated with `geo_renewal.schema.label` (units included), category codes and
the special rows of `geo_renewal.stats` (合计, 项目范围外, 未填写) and value codes are
labelled, numbers are formatted by what they measure (days as integers, shares as
percentages, a building count not surveyed as 未调查), and the total row (index label
`geo_renewal.stats.TOTAL_ROW`) is printed in bold. Cross-table columns ``metric:category``
(e.g. ``area_m2:demolish``) are labelled "<category>·<metric>".

The details are in the user guide, docs/guide/statistics.md.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geopandas.array import GeometryDtype

from geo_renewal._cellsafe import csv_field, set_cell, terminal_text
from geo_renewal._checks import check_lang
from geo_renewal._errors import InputError
from geo_renewal._roles import CLASSES_ATTR, class_labels
from geo_renewal.io import atomic_write
from geo_renewal.schema import (
    CATEGORIES,
    MISSING_TEXT,
    OUTSIDE_LABELS,
    VALUE_LABELS,
    label,
    value_label,
)
from geo_renewal.stats import MISSING_ROW, OUTSIDE_ROW, TOTAL_ROW, UNCLASSIFIED
from geo_renewal.text import finding_action as _action_text
from geo_renewal.text import finding_sentence as _finding_sentence
from geo_renewal.text import pick, say
from geo_renewal.text import say_or as _say_or

__all__ = [
    "VALID_EXTENSIONS",
    "caveat_sheet",
    "findings_table",
    "format_table",
    "write_table",
    "write_tables",
]

#: File extensions `write_table` understands.
VALID_EXTENSIONS = (".xlsx", ".csv", ".md")

_XLSX_FORMATS = {
    "share": "0.0%",
    "ratio": "0.00",
    "count": "#,##0",
    "area": "#,##0.00",
    "int": "#,##0",
    "float": "#,##0.00",
    "date": "yyyy-mm-dd",
    "year": "0",
}
_PY_FORMATS = {
    "share": "{:.1%}",
    "ratio": "{:.2f}",
    "count": "{:,.0f}",
    "area": "{:,.2f}",
    "int": "{:,.0f}",
    "float": "{:,.2f}",
    "date": "{:%Y-%m-%d}",
    "year": "{:.0f}",
}
#: Columns whose cells are codes with labels (categories, land uses, structures, stages).
_CODE_COLUMNS = frozenset(
    {"category", "land_use", "planned_use", "structure", "stage", "project_type"}
)
_ROW_CODES = frozenset({TOTAL_ROW, OUTSIDE_ROW, MISSING_ROW, UNCLASSIFIED, *CATEGORIES})
#: Table attribute naming, per value column, the column whose codes give each cell's number
#: kind (a parameter table: ``{"param_value": "param_name"}``; ``cash_share`` is a share).
KIND_BY_ATTR = "kind_by"


def _kind(col: Any, dtype: Any) -> str:
    """Return the number kind of a column from its name (docs/guide/statistics.md) and dtype."""
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    if not pd.api.types.is_numeric_dtype(dtype):
        return "text"
    base = str(col).split(":", 1)[0]
    if (
        base.endswith(("_share", "_rate"))
        or base.startswith("rate_")
        or base in {"share", "rate", "utilisation"}
    ):
        return "share"
    if base in {"year", "build_year", "base_year"} or base.endswith("_year"):
        return "year"  # 建成年代 1990, 年度 2026: not 1,990.00
    if base.startswith("days_") or base.endswith("_days"):
        return "count"  # whole days: 滞后天数 419, not 419.00
    if base.endswith("_ratio") or base in {"far", "ratio"}:
        return "ratio"
    if (
        base.startswith("n_")
        or base in {"households", "population", "count"}
        or base.endswith(("_households", "_population", "_count"))
    ):
        return "count"
    if base.endswith(("_m2", "_ha", "_mu", "area")):
        return "area"
    return "int" if pd.api.types.is_integer_dtype(dtype) else "float"


def _header(col: Any, lang: str, names: Mapping[str, str] | None = None) -> str:
    text = str(col)
    if ":" in text:
        metric, code = text.split(":", 1)
        code_text = (names or {}).get(code) or label(code, lang)
        return say("tables.metric_of_code", lang, code=code_text, metric=label(metric, lang))
    return label(text, lang)


def _class_names(df: pd.DataFrame, lang: str) -> dict[str, str]:
    """Return a table's own class names (a rule set's 拆除重建类), carried in its ``attrs``."""
    return class_labels(df, lang) if CLASSES_ATTR in df.attrs else {}


def _width(text: str) -> int:
    """Display width of `text`: East Asian wide and full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _python(value: Any) -> Any:
    """Turn a cell into a plain Python value; missing and non-finite numbers become None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        value = value.replace(tzinfo=None)  # Excel has no time zones
    return value


@dataclass
class _Column:
    header: str
    kind: str
    values: list[Any]  # plain Python values for the file
    texts: list[str]  # formatted for text output and widths (dates kept as dates in XLSX)
    formats: list[str | None] | None = None  # XLSX number format per cell, if they differ


def _ahead_split(df: pd.DataFrame) -> pd.DataFrame:
    """
    Show a lag ahead of plan as 提前天数: ``days_behind`` < 0 moves to ``days_ahead`` (positive).

    A table never shows a negative 滞后天数: a project 60 days ahead reads 提前天数 60 with
    滞后天数 blank (the data keeps the signed ``days_behind``; only the table splits it).
    """
    if "days_behind" not in df.columns or "days_ahead" in df.columns:
        return df
    lag = pd.to_numeric(df["days_behind"], errors="coerce")
    if not (lag < 0).any():
        return df
    out = df.copy()
    out["days_behind"] = lag.where(~(lag < 0))
    out.insert(out.columns.get_loc("days_behind") + 1, "days_ahead", (-lag).where(lag < 0))
    out.attrs = dict(df.attrs)
    return out


def _columns(df: pd.DataFrame, lang: str, index: bool | None) -> tuple[list[_Column], list[bool]]:
    """Prepare translated, formatted columns (the index first) and the total-row mask."""
    df = _ahead_split(df)
    if index is None:
        index = not isinstance(df.index, pd.RangeIndex) or df.index.name is not None
    total_label = df.attrs.get("total_row", TOTAL_ROW)
    is_total = [isinstance(k, str) and k == total_label for k in df.index]
    cols: list[_Column] = []
    names = _class_names(df, lang)
    if index:
        cols.append(_index_column(df.index, lang, names))
    seen: set[str] = set()
    kind_by: Mapping[str, str] = df.attrs.get(KIND_BY_ATTR, {})
    for col in df.columns:
        s = df[col]
        if isinstance(s.dtype, GeometryDtype):
            continue  # geometries belong in write_layer, not in a table
        header = _header(col, lang, names)
        if header in seen:
            header = f"{header} [{_header_hint(col, lang)}]"
        seen.add(header)
        if col in kind_by and kind_by[col] in df.columns:
            cols.append(_mixed_column(header, s, df[kind_by[col]], lang))
        else:
            cols.append(_column(header, col, s, lang, names))
    return cols, is_total


def _index_column(idx: pd.Index, lang: str, names: Mapping[str, str] | None = None) -> _Column:
    """Return the index as the first column, special rows and codes labelled."""
    name = idx.name
    header = "" if name is None else _header(name, lang)
    outside = OUTSIDE_LABELS.get(str(name))
    values = []
    for k in idx:
        if isinstance(k, str) and k == OUTSIDE_ROW and outside is not None:
            values.append(pick(outside, lang))
        elif isinstance(k, str) and names and k in names:
            values.append(names[k])  # a rule set's own class (拆除重建类)
        elif isinstance(k, str) and k in _ROW_CODES:
            values.append(label(k, lang))
        else:
            values.append(_python(k))
    return _Column(header, "text", values, ["" if v is None else str(v) for v in values])


def _header_hint(col: Any, lang: str) -> str:
    """Return what tells two columns of one label apart: the English label, or the code."""
    other = label(str(col), "en")
    return other if lang == "zh" and other != str(col) else str(col)


def _cells(kind: str, raw: list[Any], col: Any, lang: str) -> tuple[list[Any], list[str]]:
    """File values and texts of one column of number kind `kind` (not text or bool)."""
    fmt = _PY_FORMATS[kind]
    values = raw
    if kind in ("count", "year"):  # whole counts as integers (CSV shows 12, not 12.0)
        values = [int(v) if isinstance(v, float) and v.is_integer() else v for v in raw]
    missing = MISSING_TEXT.get(str(col).split(":", 1)[0])
    if missing is not None:  # e.g. 建筑栋数 of a street not surveyed: 未调查, not 0 or blank
        text = pick(missing, lang)
        values = [text if v is None else v for v in values]
        return values, [text if v is None else fmt.format(v) for v in raw]
    return values, ["" if v is None else fmt.format(v) for v in raw]


def _text_cells(
    col: Any, raw: list[Any], lang: str, names: Mapping[str, str] | None = None
) -> list[Any]:
    """Text cells, codes labelled: categories, stages, land uses and the value codes of `col`."""
    base = str(col).split(":", 1)[0]
    if base == "category" and names:  # a rule set's own classes by their names
        return [None if v is None else names.get(str(v)) or label(str(v), lang) for v in raw]
    if base in VALUE_LABELS:
        return [None if v is None else value_label(base, v, lang) for v in raw]
    if base in _CODE_COLUMNS:
        return [None if v is None else label(str(v), lang) for v in raw]
    return raw


def _column(
    header: str, col: Any, s: pd.Series, lang: str, names: Mapping[str, str] | None = None
) -> _Column:
    kind = _kind(col, s.dtype)
    raw = [_python(v) for v in s.astype(object).tolist()]
    if kind == "bool":
        yes, no = say("tables.yes", lang), say("tables.no", lang)
        values: list[Any] = [None if v is None else (yes if v else no) for v in raw]
        return _Column(header, "text", values, ["" if v is None else v for v in values])
    if kind == "text":
        values = _text_cells(col, raw, lang, names)
        return _Column(header, kind, values, ["" if v is None else str(v) for v in values])
    values, texts = _cells(kind, raw, col, lang)
    return _Column(header, kind, values, texts)


def _mixed_column(header: str, s: pd.Series, names: pd.Series, lang: str) -> _Column:
    """Return a value column whose cells take the number kind of the code beside them."""
    values: list[Any] = []
    texts: list[str] = []
    formats: list[str | None] = []
    yes, no = say("tables.yes", lang), say("tables.no", lang)
    for raw, name in zip(s.astype(object).tolist(), names.astype(object).tolist(), strict=True):
        v = _python(raw)
        if isinstance(v, bool):
            v = yes if v else no
        if isinstance(v, int | float):
            kind = _kind(name, np.float64)
            if kind == "float" and float(v).is_integer():
                kind = "int"  # 36 months, 15000 元/㎡: no decimals to show
            values.append(v)
            texts.append(_PY_FORMATS[kind].format(v))
            formats.append(_XLSX_FORMATS[kind])
            continue
        v = None if v is None else value_label(str(s.name), v, lang)
        values.append(v)
        texts.append("" if v is None else str(v))
        formats.append(None)
    return _Column(header, "text", values, texts, formats)


# --------------------------------------------------------------------------------------
# Text: Markdown and aligned plain text
# --------------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    """Escape a Markdown table cell: HTML (data is never markup), pipes, line breaks."""
    text = html.escape(terminal_text(text.replace("\r\n", "\n")), quote=False)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def _markdown(cols: list[_Column], is_total: list[bool], title: str | None) -> str:
    lines = [f"### {_md_cell(title)}", ""] if title else []
    lines.append("| " + " | ".join(_md_cell(c.header) for c in cols) + " |")
    lines.append("|" + "|".join("---:" if c.kind != "text" else ":---" for c in cols) + "|")
    for r, total in enumerate(is_total):
        cells = [_md_cell(c.texts[r]) for c in cols]
        if total:
            cells = [f"**{t}**" if t else t for t in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * max(0, width - _width(text))
    return fill + text if right else text + fill


def _plain(cols: list[_Column], is_total: list[bool], title: str | None) -> str:
    # Data text goes to a terminal: control characters (escape sequences, line breaks) escaped.
    cols = [
        _Column(
            terminal_text(c.header, cell=True),
            c.kind,
            c.values,
            [terminal_text(t, cell=True) for t in c.texts],
        )
        for c in cols
    ]
    title = None if title is None else terminal_text(title)
    widths = [max([_width(c.header), *(_width(t) for t in c.texts)]) for c in cols]
    lines = [title] if title else []
    lines.append(
        "  ".join(
            _pad(c.header, w, c.kind != "text") for c, w in zip(cols, widths, strict=True)
        ).rstrip()
    )
    lines.append("  ".join("-" * w for w in widths))
    for r, total in enumerate(is_total):
        if total:
            lines.append("  ".join("-" * w for w in widths))
        row = "  ".join(
            _pad(c.texts[r], w, c.kind != "text") for c, w in zip(cols, widths, strict=True)
        )
        lines.append(row.rstrip())
    return "\n".join(lines) + "\n"


def _html(cols: list[_Column], is_total: list[bool], title: str | None) -> str:
    from geo_renewal._html import escape

    parts = ['<table class="data">']
    if title:
        parts.append(f"<caption>{escape(title)}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th>{escape(c.header)}</th>" for c in cols))
    parts.append("</tr></thead><tbody>")
    for r, total in enumerate(is_total):
        cells = "".join(
            f'<td class="{"num" if c.kind != "text" else "txt"}">{escape(c.texts[r])}</td>'
            for c in cols
        )
        parts.append(f'<tr class="total">{cells}</tr>' if total else f"<tr>{cells}</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def format_table(
    df: pd.DataFrame,
    *,
    lang: str | None = None,
    style: str = "plain",
    columns: list[str] | None = None,
    title: str | None = None,
    index: bool | None = None,
) -> str:
    """
    Format a table as aligned plain text (terminal), Markdown (notebooks) or HTML (reports).

    Parameters
    ----------
    df
        The table, e.g. from `geo_renewal.stats.zone_stats`.
    lang
        Header language, ``"zh"`` or ``"en"``; defaults to `settings.lang`.
    style
        ``"plain"`` (columns aligned by display width, CJK characters counting double) or
        ``"markdown"`` (a pipe table; the total row in bold) or ``"html"`` (a ``<table
        class="data">`` with every text escaped, numeric cells of class ``num`` and the total
        row of class ``total``).
    columns
        Columns to show (those present, in this order); default all.
    title
        A line above the table.
    index
        Show the index as the first column; default: unless it is an unnamed RangeIndex.

    Returns
    -------
    text
        The formatted table, ending with a newline.

    Raises
    ------
    InputError
        For an unknown `style` or `lang`.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"households": [1200.0, 30.0]}, index=pd.Index(["东关", "total"], name="street"))
    >>> print(format_table(df, lang="zh"), end="")
    街道  户数（户）
    ----  ----------
    东关       1,200
    ----  ----------
    合计          30
    """
    lang = check_lang(lang)
    if style not in ("plain", "markdown", "html"):
        msg = f"unknown `style={style!r}`; use 'plain', 'markdown' or 'html'."
        raise InputError(msg)
    if columns is not None:
        df = df[[c for c in columns if c in df.columns]]
    cols, is_total = _columns(df, lang, index)
    if style == "markdown":
        return _markdown(cols, is_total, title)
    if style == "html":
        return _html(cols, is_total, title)
    return _plain(cols, is_total, title)


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------


def _extension(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in VALID_EXTENSIONS:
        msg = (
            f"cannot write a table to {str(path)!r}: unknown extension {ext or '(none)'!r}; "
            f"use one of {', '.join(VALID_EXTENSIONS)}."
        )
        raise InputError(msg)
    return ext


def _sheet_name(name: str, used: set[str]) -> str:
    clean = re.sub(r"[\[\]:*?/\\]", "_", str(name)).strip("'") or "Sheet"
    clean = clean[:31]
    base, k = clean, 2
    while clean.lower() in used:
        suffix = f" ({k})"
        clean = base[: 31 - len(suffix)] + suffix
        k += 1
    used.add(clean.lower())
    return clean


def _title_lines(
    title: str | None, name: str, office: str | None, as_of: dt.date | str | None, lang: str
) -> list[str]:
    """Return the lines above a sheet's table: its title, then 制表单位 and 截至日期."""
    if office is None and as_of is None:
        return [title] if title else []
    date = as_of.isoformat() if isinstance(as_of, dt.date) else as_of
    if office and date is not None:
        line = say("tables.office_as_of", lang, office=office, as_of=date)
    elif office:
        line = say("tables.office", lang, office=office)
    else:
        line = say("tables.as_of", lang, as_of=date)
    return [title or name, line]


def _title_rows(ws: Any, lines: list[str], ncols: int) -> int:
    """Write the title lines above the table (the first large and bold); return the header row."""
    from openpyxl.styles import Font

    for r, line in enumerate(lines, start=1):
        set_cell(ws, r, 1, line).font = Font(bold=True, size=14) if r == 1 else Font(size=10)
        if ncols > 1:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncols)
    return len(lines) + 1


def _print_setup(ws: Any, row0: int) -> None:
    """A4 landscape, fitted to the page width, title and header rows on every page."""
    ws.print_title_rows = f"1:{row0}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True


def _fill_sheet(ws: Any, cols: list[_Column], is_total: list[bool], title: list[str]) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    thin = Side(style="thin", color="808080")
    row0 = _title_rows(ws, title, len(cols))
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="D9E1F2")
    header_align = Alignment(horizontal="center", vertical="center", wrap_text=True)
    bold = Font(bold=True)
    top = Border(top=thin)
    max_lines = 1
    for j, col in enumerate(cols, start=1):
        cell = set_cell(ws, row0, j, col.header)
        cell.font, cell.fill, cell.alignment = header_font, header_fill, header_align
        cell.border = Border(bottom=thin)
        data_width = max([0, *(_width(t) for t in col.texts)])
        head_width = _width(col.header)
        width = min(max(data_width, min(head_width, 16), 6) + 2, 60)
        ws.column_dimensions[get_column_letter(j)].width = width
        max_lines = max(max_lines, math.ceil(head_width / max(width - 1, 1)))
        fmt = _XLSX_FORMATS.get(col.kind)
        for r, value in enumerate(col.values):
            c = set_cell(ws, row0 + 1 + r, j, value)  # text stays text (no formulas)
            cell_fmt = col.formats[r] if col.formats is not None else fmt
            if cell_fmt is not None:
                c.number_format = cell_fmt
            if is_total[r]:
                c.font = bold
                c.border = top
    ws.row_dimensions[row0].height = 15 * max_lines + 3
    ws.freeze_panes = ws.cell(row=row0 + 1, column=2 if len(cols) > 1 else 1)
    _print_setup(ws, row0)


def _write_xlsx(
    sheets: list[tuple[str, list[_Column], list[bool], list[str]]], path: Path
) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for name, cols, is_total, title in sheets:
        ws = wb.create_sheet(_sheet_name(name, used))
        _fill_sheet(ws, cols, is_total, title)
    with atomic_write(path) as tmp:
        wb.save(tmp)


def _write_csv(cols: list[_Column], path: Path) -> None:
    # Formula-like text ('=…', '+…', '-…', '@…') gets a leading quote; numbers stay numbers.
    frame = pd.DataFrame(
        {j: [csv_field(v) for v in c.values] for j, c in enumerate(cols)}, dtype=object
    )
    frame.columns = [csv_field(c.header) for c in cols]
    with atomic_write(path) as tmp:
        frame.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")


def _write_text(text: str, path: Path) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_table(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    lang: str | None = None,
    title: str | None = None,
    index: bool | None = None,
    sheet_name: str | None = None,
    office: str | None = None,
    as_of: dt.date | str | None = None,
) -> Path:
    """
    Write a meeting table to XLSX, CSV or Markdown, chosen by the file extension.

    - ``.xlsx``: translated headers with units, number formats (thousands separators,
      2 decimals for areas, integers for counts and days, percentages for shares), the
      total row in bold, frozen header, column widths that count CJK characters double;
      `title` in a first row and, with `office` or `as_of`, a second row 制表单位 · 截至日期;
      printed A4 landscape, fitted to the page width, title and header rows on every page.
    - ``.csv``: UTF-8 with a byte-order mark so Excel shows Chinese correctly; raw numbers
      at full precision, translated headers; `title` is not written.
    - ``.md``: a Markdown pipe table (numbers formatted, total row in bold) under a
      ``### title`` heading.

    Parameters
    ----------
    df
        The table, e.g. from `geo_renewal.stats.zone_stats`.
    path
        Target file; folders are created. An existing file is replaced atomically.
    lang
        Header language, ``"zh"`` or ``"en"``; defaults to `settings.lang`.
    title
        Table title (XLSX and Markdown).
    index
        Write the index as the first column; default: unless it is an unnamed RangeIndex.
    sheet_name
        XLSX sheet name; defaults to `title` or ``"Sheet1"``.
    office, as_of
        制表单位 (the office issuing the table) and 截至日期 (the date the figures hold for),
        written under the title of an XLSX sheet.

    Returns
    -------
    path
        The written file.

    Raises
    ------
    InputError
        For an unknown extension (listing the valid ones) or `lang`.

    See Also
    --------
    write_tables : Several tables into one workbook, one sheet each.
    format_table : The same table as text.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> df = pd.DataFrame({"area_m2": [1500.0]}, index=pd.Index(["A"], name="zone_id"))
    >>> out = write_table(df, pathlib.Path(tempfile.mkdtemp()) / "t.csv")
    >>> out.read_text(encoding="utf-8-sig").splitlines()[0]
    '片区编号,用地面积（㎡）'
    """
    lang = check_lang(lang)
    path = Path(path)
    ext = _extension(path)
    cols, is_total = _columns(df, lang, index)
    if ext == ".xlsx":
        name = sheet_name or title or "Sheet1"
        lines = _title_lines(title, name, office, as_of, lang)
        _write_xlsx([(name, cols, is_total, lines)], path)
    elif ext == ".csv":
        _write_csv(cols, path)
    else:
        _write_text(_markdown(cols, is_total, title), path)
    return path


def caveat_sheet(caveats: Iterable[str], *, lang: str | None = None) -> dict[str, pd.DataFrame]:
    """
    Return the 使用须知 (caveats) sheet that opens every workbook a reader must not trust blindly.

    The run's workbook (`geo_renewal.workflow.workbook_tables`) and the fund workbook
    (`geo_renewal.fund.write_fund_tables`) both put it first: one row per caveat (placeholder
    parameters, a units layer missing, a nearby rate below the best achievable).

    Parameters
    ----------
    caveats
        The sentences, in the reader's language; blank ones are skipped.
    lang
        Language of the sheet name; defaults to `settings.lang`.

    Returns
    -------
    sheet
        ``{sheet name: table}`` to put before the other sheets, or ``{}`` without a caveat.

    Examples
    --------
    >>> caveat_sheet(["Fund parameters are placeholders."], lang="en")["Caveats"]
                                  caveat
    0  Fund parameters are placeholders.
    >>> caveat_sheet(["", None], lang="zh")
    {}
    """
    lang = check_lang(lang)
    texts = [str(c) for c in caveats if c]
    if not texts:
        return {}
    return {say("caveat.sheet", lang): pd.DataFrame({"caveat": texts})}


def write_tables(
    tables: Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    lang: str | None = None,
    titles: Mapping[str, str] | None = None,
    office: str | None = None,
    as_of: dt.date | str | None = None,
) -> Path:
    """
    Write several tables into one file: one XLSX sheet each, or Markdown sections.

    Parameters
    ----------
    tables
        Sheet name -> table, in sheet order. Names are translated with
        `geo_renewal.schema.label` (so ``"households"`` becomes 户数（户）), cleaned of
        characters Excel refuses and cut to 31 characters.
    path
        ``.xlsx`` or ``.md`` file; replaced atomically.
    lang
        Header language, ``"zh"`` or ``"en"``; defaults to `settings.lang`.
    titles
        Optional sheet name -> title written above that table.
    office, as_of
        制表单位 and 截至日期: with either, every XLSX sheet opens with a title row (its
        title or sheet name) and a row naming the office and the date.

    Returns
    -------
    path
        The written file.

    Raises
    ------
    InputError
        For ``.csv`` (one table per file), an unknown extension, or no tables.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> df = pd.DataFrame({"households": [3]})
    >>> out = write_tables({"A": df, "B": df}, pathlib.Path(tempfile.mkdtemp()) / "pack.xlsx")
    >>> import openpyxl
    >>> openpyxl.load_workbook(out).sheetnames
    ['A', 'B']
    """
    lang = check_lang(lang)
    path = Path(path)
    ext = _extension(path)
    if not tables:
        msg = "`tables` is empty; pass a mapping of sheet name -> DataFrame."
        raise InputError(msg)
    if ext == ".csv":
        msg = (
            f"a CSV file holds one table, got {len(tables)} for {str(path)!r}; write a .xlsx "
            f"workbook (one sheet per table) or call `write_table` once per table."
        )
        raise InputError(msg)
    titles = dict(titles or {})
    prepared = []
    for name, df in tables.items():
        cols, is_total = _columns(df, lang, None)
        sheet = label(str(name), lang)
        lines = _title_lines(titles.get(name), sheet, office, as_of, lang)
        prepared.append((sheet, cols, is_total, lines))
    if ext == ".xlsx":
        _write_xlsx(prepared, path)
    else:
        parts = [
            _markdown(cols, is_total, lines[0] if lines else name)
            for name, cols, is_total, lines in prepared
        ]
        _write_text("\n".join(parts), path)
    return path


# --------------------------------------------------------------------------------------
# Findings as a meeting reads them
# --------------------------------------------------------------------------------------

#: Findings columns (`geo_renewal._findings.FINDING_COLUMNS`) -> their labelled columns.
_FINDING_OUT = {
    "row": "finding_row",
    "id": "finding_id",
    "column": "finding_column",
    "problem": "finding_problem",
    "severity": "finding_severity",
    "action": "finding_action",
    "message": "finding_message",
    "value": "finding_value",
    "layer": "finding_layer",
}


def findings_table(
    findings: pd.DataFrame, *, lang: str | None = None, first_row: int | None = None
) -> pd.DataFrame:
    """
    Return findings as a meeting or a findings file shows them: labelled, in `lang`.

    Problem kinds, severities and actions are labelled; in Chinese the message is a Chinese
    sentence built from them (the kind, the column as the file spells it, the value and
    what was done), in English the checker's own message. Row numbers are those a person
    sees in the source file when `first_row` is given: a finding of the layer's row label
    ``k`` (0, 1, … as read) is row ``k + first_row`` (2 in a spreadsheet whose header is
    row 1, as `geo_renewal.io.read_layer` notes in ``attrs["first_row"]``).

    Parameters
    ----------
    findings
        A findings table (`geo_renewal._findings.FINDING_COLUMNS`, optionally ``layer``),
        e.g. `ValidationReport.to_frame` or `Ledger.findings`.
    lang
        ``"zh"`` or ``"en"``; defaults to `settings.lang`.
    first_row
        The row number of the source's first data row, or None to keep the rows as they are
        (ledger findings already hold spreadsheet rows).

    Returns
    -------
    table
        Columns ``finding_row``, ``finding_id``, ``finding_column``, ``finding_problem``,
        ``finding_severity``, ``finding_action``, ``finding_message``, ``finding_value``
        (and ``finding_layer``), labelled by `write_table`.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"row": [0], "id": ["P1"], "column": ["层数"],
    ...     "problem": ["implausible_value"], "severity": ["warning"], "action": ["none"],
    ...     "message": ["row 0: floors 300 is not 1 to 200 storeys"], "value": ["300"]})
    >>> t = findings_table(f, lang="zh", first_row=2)
    >>> t[["finding_row", "finding_problem", "finding_severity"]].to_dict("records")
    [{'finding_row': 2, 'finding_problem': '数值不合理', 'finding_severity': '警告'}]
    >>> t["finding_message"].iloc[0]
    '数值不合理（编号“P1”，列“层数”，值“300”），未处理，请核实。'
    """
    lang = check_lang(lang)
    out = pd.DataFrame(index=findings.index)
    rows = findings["row"] if "row" in findings else pd.Series(None, index=findings.index)
    if first_row is not None:
        rows = rows.map(
            lambda r: (
                r + first_row if isinstance(r, int | np.integer) and not isinstance(r, bool) else r
            )
        )
    out["finding_row"] = rows.astype(object)
    records = findings.to_dict("records")
    for col, name in _FINDING_OUT.items():
        if col == "row" or col not in findings:
            continue
        values = findings[col].astype(object)
        if col == "problem":
            values = values.map(lambda v: _say_or(f"findings.kind.{v}", lang, v))
        elif col == "severity":
            values = values.map(lambda v: _say_or(f"findings.severity.{v}", lang, v))
        elif col == "action":
            values = values.map(lambda v: _action_text(v, lang))
        elif col == "column" and lang == "zh":  # a canonical key (floors) reads 层数
            values = values.map(lambda v: v if v is None or pd.isna(v) else label(str(v), lang))
        elif col == "message" and lang == "zh":
            values = pd.Series([_finding_sentence(r, lang) for r in records], index=out.index)
        out[name] = values
    return out.reset_index(drop=True)
