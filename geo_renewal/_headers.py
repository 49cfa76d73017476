"""
Headers and rows of office spreadsheets: normalised header text, the header row, total rows.

One normaliser serves every reader (`geo_renewal._columns`, `geo_renewal._tabular`,
`geo_renewal.ledger`): full-width characters, spaces, line breaks and units in brackets
(户数（户）, 面积(㎡), 资金〔万元〕) do not change what a header means. The header row is
found below title rows, and a two-row header (a stage name merged over 计划日期 / 实际日期,
other headers merged vertically) is read as one. Rows that are not records (合计, 小计,
其中, 备注, 填表说明 …) are recognised by their label.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "Header",
    "find_header",
    "normalise_header",
    "row_kind",
    "split_unit",
]

# Brackets offices put around units and notes, in either width (NFKC maps （）［］ to ASCII).
_BRACKETED = re.compile(r"[(\[{〔【〖<《]([^()\[\]{}〔〕【】〖〗<>《》]*)[)\]}〕】〗>》]")
# Invisible characters Excel and web forms leave in cells.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\xad"), None)
_SPACE_BETWEEN_WORDS = re.compile(r"(?<=[a-z0-9])\s+(?=[a-z0-9])")
_SPACES = re.compile(r"\s+")
_MARKS = re.compile(r"^[*※★#]+|[*※★:：]+$")

#: How many rows from the top are searched for the header.
HEADER_SCAN_ROWS = 30


def split_unit(header: Any) -> tuple[str, str | None]:
    r"""
    Split a header into its text and the unit in brackets, both normalised.

    Parameters
    ----------
    header
        A header cell as written.

    Returns
    -------
    text, unit
        The normalised header without the bracketed parts, and the last bracketed part
        (None when there is none).

    Examples
    --------
    >>> split_unit("户数（户）")
    ('户数', '户')
    >>> split_unit("拆除建筑面积\n(㎡)")
    ('拆除建筑面积', 'm2')
    """
    return _split_unit(str(header))


@functools.lru_cache(maxsize=4096)
def _split_unit(header: str) -> tuple[str, str | None]:
    text = unicodedata.normalize("NFKC", header).translate(_INVISIBLE).lower()
    units = _BRACKETED.findall(text)
    bare = _BRACKETED.sub("", text)
    if not _SPACES.sub("", bare):  # the whole header is bracketed: keep its content
        bare, units = text.strip("()[]{}〔〕【】〖〗<>《》"), []
    bare = _SPACE_BETWEEN_WORDS.sub("_", bare.strip())
    bare = _MARKS.sub("", _SPACES.sub("", bare))
    unit = _SPACES.sub("", units[-1]) if units else None
    return bare, unit or None


def normalise_header(header: Any) -> str:
    r"""
    Return the spelling of `header` that readers look up: what offices add removed.

    Full-width characters become half-width, units in brackets of either width are
    dropped, line breaks and spaces are removed (a space between two Latin words becomes
    ``_``), required-field marks (``*``) and trailing colons go, and the text is lower-cased.
    Canonical names and the aliases of `geo_renewal.schema` are unchanged by it.

    Parameters
    ----------
    header
        A header cell as written.

    Returns
    -------
    key
        The normalised header.

    Examples
    --------
    >>> normalise_header("户数（户）"), normalise_header("拆除建筑面积(㎡)")
    ('户数', '拆除建筑面积')
    >>> normalise_header("资金〔万元〕"), normalise_header("签约\n计划日期")
    ('资金', '签约计划日期')
    >>> normalise_header("Ｐｒｏｊｅｃｔ ＩＤ"), normalise_header(" *项目编号：")
    ('project_id', '项目编号')
    """
    return split_unit(header)[0]


# --------------------------------------------------------------------------- header rows


@dataclass(frozen=True)
class Header:
    """
    The header of a sheet: which rows it spans and the header of each column.

    Attributes
    ----------
    rows
        Positions (0-based, in the grid given to `find_header`) of the header rows: one,
        or two for a two-row header.
    names
        The header of each column as a person reads it (``"签约 / 计划日期"`` for a
        two-row header); ``""`` for a blank header cell.
    keys
        The normalised headers that readers look up (``"签约计划日期"``).
    score
        How many columns have a known header.
    """

    rows: tuple[int, ...]
    names: tuple[str, ...]
    keys: tuple[str, ...]
    score: int


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v != v:  # NaN
        return ""
    return str(v).strip()


def _filled(
    grid: Sequence[Sequence[Any]], merged: Sequence[tuple[int, int, int, int]], r: int, width: int
) -> list[str]:
    """Row `r` of `grid` as text, merged ranges filled with their top-left value."""
    row = [_text(v) for v in grid[r]] + [""] * (width - len(grid[r]))
    for r1, c1, r2, c2 in merged:
        if r1 <= r <= r2:
            value = _text(grid[r1][c1]) if c1 < len(grid[r1]) else ""
            for c in range(c1, min(c2, width - 1) + 1):
                row[c] = value
    return row


def _combined(
    top: list[str], bottom: list[str], top_merged: set[int], known: Callable[[str], bool]
) -> list[tuple[str, str]]:
    """
    Per column: (name, key) of a two-row header of `top` over `bottom`.

    Both rows read together (签约 over 计划日期), else the lower one alone (a group name
    such as 基本情况 over 项目编号), else the upper one: the first that is a known header.
    """
    out = []
    carried = ""
    for j, (t, b) in enumerate(zip(top, bottom, strict=True)):
        if t:
            carried = t
        elif b and carried and j not in top_merged:
            t = carried  # a CSV: the stage name is written once over its sub-headers
        if t and b and t != b:
            both = (f"{t} / {b}", normalise_header(t + b))
            alone = [(b, normalise_header(b)), (t, normalise_header(t))]
            out.append(next((c for c in (both, *alone) if known(c[1])), both))
        else:
            name = t or b
            out.append((name, normalise_header(name)))
    return out


def find_header(
    grid: Sequence[Sequence[Any]],
    *,
    known: Callable[[str], bool],
    merged: Sequence[tuple[int, int, int, int]] = (),
    header_row: int | Sequence[int] | None = None,
    pairs: bool = True,
) -> Header:
    """
    Find the header of a sheet: the row (or two rows) with the most known headers.

    Rows above it (a title, 填报单位, 单位：户) are skipped. A two-row header is taken
    when reading two rows together names more columns than the first row alone: a stage
    name merged over 计划日期 / 实际日期, other headers merged vertically over both rows
    (or, in a CSV, written once with the cell below left blank).

    Parameters
    ----------
    grid
        The sheet's rows of cell values, from the top.
    known
        Tells whether a normalised header is one the reader knows.
    merged
        Merged ranges as (first row, first column, last row, last column), 0-based and
        inclusive, in `grid` positions.
    header_row
        The header row(s) as grid positions, when the caller gives them.
    pairs
        If False, only single header rows are considered.

    Returns
    -------
    header
        A `Header`; its score is 0 when no row of the first `HEADER_SCAN_ROWS` has a
        known header (the first non-blank row is then returned).

    Examples
    --------
    >>> grid = [["某区城市更新项目台账", None, None, None], ["项目编号", "户数（户）", "签约", None],
    ...         [None, None, "计划日期", "实际日期"], ["A1", 10, "2024-01-01", None]]
    >>> h = find_header(grid, known=lambda k: k in {"项目编号", "户数", "签约计划日期",
    ...     "签约实际日期"}, merged=[(0, 0, 0, 3), (1, 0, 2, 0), (1, 1, 2, 1), (1, 2, 1, 3)])
    >>> h.rows, h.names[2:], h.score
    ((1, 2), ('签约 / 计划日期', '签约 / 实际日期'), 4)
    """
    width = max((len(r) for r in grid), default=0)
    if header_row is not None:
        rows = (header_row,) if isinstance(header_row, int) else tuple(header_row)
        return _header_at(grid, merged, rows, width, known)
    n = min(len(grid), HEADER_SCAN_ROWS)
    singles = [_header_at(grid, merged, (r,), width, known) for r in range(n)]
    best = max(singles, key=lambda h: h.score, default=None)  # the first of the best
    for r in range(n - 1 if pairs else 0):
        cand = _header_at(grid, merged, (r, r + 1), width, known)
        # two rows only when they name more than either row alone (and than the best)
        if cand.score > max(singles[r].score, singles[r + 1].score) and (
            best is None or cand.score > best.score
        ):
            best = cand
    first_filled = next((r for r in range(n) if any(_text(v) for v in grid[r])), None)
    if best is None or best.score == 0:
        return replace(_header_at(grid, merged, (first_filled or 0,), width, known), score=0)
    return best


def _header_at(
    grid: Sequence[Sequence[Any]],
    merged: Sequence[tuple[int, int, int, int]],
    rows: tuple[int, ...],
    width: int,
    known: Callable[[str], bool],
) -> Header:
    if not grid:
        return Header(rows=rows, names=(), keys=(), score=0)
    top = _filled(grid, merged, rows[0], width)
    if len(rows) == 1:
        pairs = [(t, normalise_header(t)) for t in top]
    else:
        bottom = _filled(grid, merged, rows[1], width)
        top_merged = {
            c for r1, c1, r2, c2 in merged if r1 <= rows[0] <= r2 for c in range(c1, c2 + 1)
        }
        pairs = _combined(top, bottom, top_merged, known)
    keys = tuple(k for _, k in pairs)
    score = len({k for k in keys if k and known(k)})
    return Header(rows=rows, names=tuple(n for n, _ in pairs), keys=keys, score=score)


# --------------------------------------------------------------------------- row kinds

_TOTAL = re.compile(r"^(?:总计|合计|共计|总合计|累计|全区合计|全部合计|grandtotal|total|sum)$")
_TOTAL_SUFFIX = re.compile(r"^(?P<group>.{1,20}?)(?:合计|总计)$")
_SUBTOTAL = re.compile(r"^(?:(?P<group>.{0,20}?)小计|subtotal)$")
_SECTION = re.compile(r"^(?:[一二三四五六七八九十]+[、.]|\([一二三四五六七八九十]+\))\S")
_BREAKDOWN = re.compile(r"^(?:其中|其中[:：].*|ofwhich.*|including.*)$")
_NOTE = re.compile(
    r"^(?:备注|说明|填表说明|填报说明|注|注释|附注|note|notes|remarks?)(?:[:：0-9.、].*)?$"
    r"|^(?:制表人|填表人|填报人|审核人|审核|负责人|联系人|联系电话|制表单位|填报单位|填报日期|"
    r"制表日期|数据来源|单位)[:：].*$"
)

# What any label of a row kind contains (a quick test before the patterns).
_CANDIDATE = re.compile(
    r"计|其|备|注|说|明|填|制|审|负|联|单|数|一|二|三|四|五|六|七|八|九|十|total|sum|note|"
    r"remark|of\s*which|includ",
    re.IGNORECASE,
)

#: Row kinds `row_kind` recognises, and what they are in a sentence.
ROW_KINDS = {
    "total": "a total row",
    "subtotal": "a subtotal row",
    "breakdown": "a breakdown row (其中)",
    "note": "a note row",
    "section": "a section heading",
}


def row_kind(labels: Sequence[Any]) -> tuple[str, str] | None:
    """
    Tell whether a row is a total, subtotal, breakdown (其中) or note row, from its labels.

    Parameters
    ----------
    labels
        The row's label cells: its first filled cell and the cells of its id, name and
        group columns. Numbers and dates are ignored. A section heading (一、…, （二）…) is
        recognised in the first label only.

    Returns
    -------
    kind
        ``(kind, label)`` with kind one of `ROW_KINDS` and the label that shows it, or
        None for a record.

    Examples
    --------
    >>> row_kind(["合 计", None]), row_kind(["东关街道小计"]), row_kind(["填表说明：1. 户数…"])
    (('total', '合 计'), ('subtotal', '东关街道小计'), ('note', '填表说明：1. 户数…'))
    >>> row_kind(["一、征收拆迁类项目", None])
    ('section', '一、征收拆迁类项目')
    >>> row_kind(["GX01", "东关片区征收项目"]) is None
    True
    """
    for v in labels:
        if not isinstance(v, str) or not _CANDIDATE.search(v):
            continue
        raw = v.strip()
        key = _SPACES.sub("", unicodedata.normalize("NFKC", raw).lower())
        if not key:
            continue
        if _TOTAL.match(key):
            return "total", raw
        if _SUBTOTAL.match(key):
            return "subtotal", raw
        if _BREAKDOWN.match(key):
            return "breakdown", raw
        if _NOTE.match(key):
            return "note", raw
        m = _TOTAL_SUFFIX.match(key)
        if m and len(key) <= 20:
            # 全区合计 / 某某市合计: the whole; 东关街道合计: the total of one group
            return (
                "total" if m["group"].endswith(("区", "市", "县", "全部")) else "subtotal"
            ), raw
        if v is labels[0] and _SECTION.match(key):
            return "section", raw  # 一、征收拆迁类项目: a heading over the rows below it
    return None
