r"""
Data text made safe for the places it is written: spreadsheet cells, CSV fields, terminals.

A street called ``=HYPERLINK("http://…","点击查看")`` is data, not a formula. Following
OWASP's CSV-injection guidance, a text that starts with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return is

- written to XLSX as a text cell (data type ``s``, with Excel's quote prefix, so that even
  editing the cell does not turn it into a formula): `set_cell`;
- written to CSV with a leading single quote (``'=HYPERLINK(…)``): `csv_field`.

Numbers are never touched: ``-2`` the number stays a number, ``"-2"`` the text becomes text.
Characters that XLSX cannot hold (C0 controls other than tab and line breaks) are written as
visible escapes (``\x1b``) instead of making openpyxl fail.

`terminal_text` escapes control characters of data text printed in a terminal (an escape
sequence in a street name must not recolour or rewrite the screen), keeping line breaks.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["FORMULA_PREFIXES", "csv_field", "formula_like", "set_cell", "terminal_text"]

#: First characters that make a spreadsheet read a text as a formula (OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: Characters an XLSX file cannot store (openpyxl refuses them).
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: C0 and C1 controls, DEL, and the bidirectional overrides that can disguise a line.
_TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CELL_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def formula_like(value: Any) -> bool:
    """
    Tell whether `value` is a text a spreadsheet would read as a formula.

    Examples
    --------
    >>> formula_like("=1+1"), formula_like("-2"), formula_like(-2), formula_like("东关")
    (True, True, False, False)
    """
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def csv_field(value: Any) -> Any:
    """
    Return `value` as it is written to a CSV field: formula-like text gets a leading quote.

    Examples
    --------
    >>> csv_field("=cmd|' /C calc'!A0"), csv_field(-2.5), csv_field("东关街道")
    ("'=cmd|' /C calc'!A0", -2.5, '东关街道')
    """
    return f"'{value}" if formula_like(value) else value


def set_cell(ws: Any, row: int, column: int, value: Any) -> Any:
    """
    Write `value` into an openpyxl worksheet cell; every text is stored as text.

    Parameters
    ----------
    ws
        An openpyxl worksheet.
    row, column
        1-based cell position.
    value
        A plain Python value (text, number, date, bool or None).

    Returns
    -------
    cell
        The openpyxl cell.

    Examples
    --------
    >>> from openpyxl import Workbook
    >>> cell = set_cell(Workbook().active, 1, 1, '=HYPERLINK("http://x","点击查看")')
    >>> cell.data_type, cell.value
    ('s', '=HYPERLINK("http://x","点击查看")')
    """
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        cell.value = _XLSX_ILLEGAL.sub(_escape, value)
        cell.data_type = "s"  # never "f": openpyxl would store a live formula
        if formula_like(value):
            cell.quotePrefix = True  # Excel keeps it text even when the cell is edited
    else:
        cell.value = value
    return cell


def terminal_text(text: str, *, cell: bool = False) -> str:
    r"""
    Escape the control characters of `text` for a terminal (line breaks kept unless `cell`).

    Parameters
    ----------
    text
        Text that holds data (names, values, messages quoting them).
    cell
        If True, line breaks and tabs are escaped too (one table cell on one line).

    Examples
    --------
    >>> terminal_text("东关\x1b[31m街道")
    '东关\\x1b[31m街道'
    >>> terminal_text("a\nb"), terminal_text("a\nb", cell=True)
    ('a\nb', 'a\\x0ab')
    """
    pattern = _CELL_CONTROL if cell else _TERMINAL_CONTROL
    return pattern.sub(_escape, text)
