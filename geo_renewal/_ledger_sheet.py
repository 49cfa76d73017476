"""
Ledger sheets as offices send them: the cells of a workbook sheet or a CSV, row by row.

Private to `geo_renewal.ledger`. A sheet is read as a grid of cell values from its first
row (so row numbers are the ones a person sees), with its merged ranges and the formulas
that have no saved value; the ledger sheet of a workbook is chosen by its headers.
"""

from __future__ import annotations

import csv
import html
import io
import logging
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geo_renewal._errors import InputError
from geo_renewal._headers import HEADER_SCAN_ROWS, Header, find_header
from geo_renewal._tabular import check_file

logger = logging.getLogger("geo_renewal.ledger")

_WORKBOOKS = (".xlsx", ".xlsm")
_TEXTS = (".csv", ".txt", ".tsv")
_CELL = r"(?:\w+:)?c"
# A formula cell without a saved value: <c r="H7"><f>G7*0.9</f></c> or <f .../><v/>.
_UNCACHED = re.compile(
    rb"<" + _CELL.encode() + rb' r="([A-Z]+)([0-9]+)"[^>]*>\s*<(?:\w+:)?f(?:\s[^>]*)?'
    rb"(?:/>|>([^<]*)</(?:\w+:)?f>)\s*(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</"
    + _CELL.encode()
    + rb">"
)
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell ref="([A-Z]+)([0-9]+):([A-Z]+)([0-9]+)"')
_HAS_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row\s[^>]*>")
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')
_HIDDEN = re.compile(rb'\shidden="(?:1|true)"')


@dataclass
class Sheet:
    """
    The cells of one sheet.

    Attributes
    ----------
    grid
        Rows of cell values from the sheet's first row.
    merged
        Merged ranges (first row, first column, last row, last column), 0-based, inclusive.
    uncached
        (row, column), 0-based -> the formula of a cell that has no saved value.
    hidden
        0-based rows hidden in the sheet.
    file
        The file read.
    sheet
        The sheet's name (None for a CSV).
    sheets
        Every sheet of the workbook.
    """

    grid: list[tuple[Any, ...]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    uncached: dict[tuple[int, int], str] = field(default_factory=dict)
    hidden: set[int] = field(default_factory=set)
    file: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        """The file and sheet, as messages name them."""
        if self.file is None:
            return "(DataFrame)"
        return f"{self.file} [{self.sheet}]" if self.sheet is not None else self.file


def column_letter(j: int) -> str:
    """Return the spreadsheet letter of 0-based column `j` (0 -> A, 26 -> AA)."""
    from openpyxl.utils import get_column_letter

    return get_column_letter(j + 1)


def _column_index(letters: bytes) -> int:
    """Return the 0-based column of spreadsheet letters (b"A" -> 0, b"AA" -> 26)."""
    from openpyxl.utils import column_index_from_string

    return column_index_from_string(letters.decode("ascii")) - 1


def read_sheet(
    path: Path,
    *,
    sheet: str | int | None,
    known: Callable[[str], bool],
    required: Callable[[str], bool],
    header_row: int | Sequence[int] | None,
) -> Sheet:
    """Read the ledger sheet of `path`: `sheet`, or the sheet whose headers fit best."""
    check_file(path, "ledger file")
    suffix = path.suffix.lower()
    if suffix in _WORKBOOKS:
        return _read_workbook(path, sheet, known, required, header_row)
    if suffix in _TEXTS:
        return Sheet(grid=_read_text(path), file=str(path))
    if suffix == ".xls":
        return _read_old_workbook(path, sheet)
    msg = f"ledger {path} has unsupported extension {suffix!r}; use .csv or .xlsx."
    raise InputError(msg)


def _read_workbook(
    path: Path,
    sheet: str | int | None,
    known: Callable[[str], bool],
    required: Callable[[str], bool],
    header_row: int | Sequence[int] | None,
) -> Sheet:
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            book = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except Exception as e:
        msg = (
            f"cannot open ledger workbook {path}: it is not a readable .xlsx file (damaged, "
            f"encrypted or another format); open it in Excel or WPS and save it as .xlsx.\n{e}"
        )
        raise InputError(msg) from e
    try:
        names = list(book.sheetnames)
        chosen = _choose_sheet(book, names, path, sheet, known, required, header_row)
        ws = book[chosen]
        ws.reset_dimensions()
        grid = list(ws.iter_rows(values_only=True))
        xml = book._archive.read(ws._worksheet_path)
    finally:
        book.close()
    merged = [
        (int(r1) - 1, _column_index(c1), int(r2) - 1, _column_index(c2))
        for c1, r1, c2, r2 in _MERGE.findall(xml)
    ]
    uncached = {}
    if _HAS_FORMULA.search(xml):
        for col, row, formula in _UNCACHED.findall(xml):
            text = html.unescape(formula.decode("utf-8", "replace"))
            uncached[(int(row) - 1, _column_index(col))] = f"={text}"
    hidden = set()
    if _HIDDEN.search(xml):
        for tag in _ROW_TAG.findall(xml):
            number = _ROW_NUMBER.search(tag)
            if number and _HIDDEN.search(tag):
                hidden.add(int(number[1]) - 1)
    logger.info("read ledger %s, sheet %s: %d rows", path, chosen, len(grid))
    return Sheet(
        grid=grid,
        merged=merged,
        uncached=uncached,
        hidden=hidden,
        file=str(path),
        sheet=chosen,
        sheets=names,
    )


def _choose_sheet(
    book: Any,
    names: list[str],
    path: Path,
    sheet: str | int | None,
    known: Callable[[str], bool],
    required: Callable[[str], bool],
    header_row: int | Sequence[int] | None,
) -> str:
    """Choose the sheet asked for, the only one, or the one whose headers name most ledger columns."""
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if 0 <= sheet < len(names):
            return names[sheet]
        msg = f"ledger workbook {path} has no sheet {sheet} (counting from 0); its sheets are {names}."
        raise InputError(msg)
    if sheet is not None:
        if sheet in names:
            return sheet
        msg = f"ledger workbook {path} has no sheet {sheet!r}; its sheets are {names}."
        raise InputError(msg)
    if len(names) == 1:
        return names[0]
    scores: dict[str, int] = {}
    visible = [n for n in names if getattr(book[n], "sheet_state", "visible") == "visible"]
    for name in visible or names:
        top = list(book[name].iter_rows(max_row=HEADER_SCAN_ROWS, values_only=True))
        header = find_header(top, known=known, header_row=header_row)
        if any(required(k) for k in header.keys):
            scores[name] = header.score
    if not scores:
        msg = (
            f"no sheet of ledger workbook {path} looks like a ledger: none has a project id "
            f"header (项目编号 / project_id) in its first {HEADER_SCAN_ROWS} rows; its sheets "
            f"are {names}; pass the ledger's sheet with `sheet=` (--sheet)."
        )
        raise InputError(msg)
    best = max(scores.values())
    fits = [n for n in names if scores.get(n) == best]
    return "台账" if "台账" in fits else fits[0]


def _read_text(path: Path) -> list[tuple[Any, ...]]:
    """Read a CSV (UTF-8, GBK, or UTF-16 "Unicode text" with tabs) as rows of text cells."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    text = None
    for enc in encodings:
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        msg = (
            f"cannot decode ledger {path} as UTF-8 or GBK text; save it from Excel as "
            f"'CSV UTF-8' (or as .xlsx)."
        )
        raise InputError(msg)
    first = text.split("\n", 1)[0]
    tabbed = path.suffix.lower() == ".tsv" or first.count("\t") > first.count(",")
    try:
        return [tuple(r) for r in csv.reader(io.StringIO(text), delimiter="\t" if tabbed else ",")]
    except csv.Error as e:
        msg = f"cannot read ledger {path} as a table: {e}; save it from Excel as 'CSV UTF-8'."
        raise InputError(msg) from e


def _read_old_workbook(path: Path, sheet: str | int | None) -> Sheet:
    """Read an .xls workbook (through pandas and xlrd): cells only, no merges or formulas."""
    import pandas as pd

    try:
        frame = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, header=None)
    except ImportError as e:
        msg = f"cannot read {path}: .xls workbooks need xlrd; save the file as .xlsx.\n{e}"
        raise InputError(msg) from e
    except Exception as e:
        msg = f"cannot open ledger workbook {path}; save it as .xlsx or CSV.\n{e}"
        raise InputError(msg) from e
    grid = [tuple(None if pd.isna(v) else v for v in row) for row in frame.itertuples(index=False)]
    return Sheet(grid=grid, file=str(path), sheet=str(sheet or 0))


def refuse_no_rows(n_rows: int, header: Header, sheet: Sheet) -> None:
    """Refuse a ledger file whose header has no project rows below it (a header-only export)."""
    if n_rows or sheet.file is None:
        return
    rows = " and ".join(str(r + 1) for r in header.rows)
    msg = (
        f"ledger {sheet.source} has no rows below its header (row {rows}): the export holds "
        "the headers only; export the ledger again with its project rows."
    )
    raise InputError(msg)


def header_note(header: Header, sheet: Sheet) -> str | None:
    """Say which rows were taken as the header, when it is not simply row 1."""
    first = header.rows[0]
    if header.rows == (0,):
        return None
    rows = " and ".join(str(r + 1) for r in header.rows)
    text = (
        f"{sheet.source}: rows {rows} were taken as the header"
        if len(header.rows) > 1
        else (f"{sheet.source}: row {rows} was taken as the header")
    )
    if first > 0:
        title = next(
            (str(v).strip() for r in sheet.grid[:first] for v in r if v not in (None, "")), None
        )
        above = "row 1 above it was" if first == 1 else f"rows 1–{first} above it were"
        text += f"; {above} skipped" + (f" (a title: {title!r})" if title else "")
    fix = "pass `header_row=` (--header-row, `[ledger] header_row` in plan.toml)"
    return text + f"; {fix} if that is wrong."
