"""Tests of geo_renewal.tables: XLSX, CSV and Markdown meeting tables."""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest

from geo_renewal import tables as tb
from geo_renewal._errors import InputError
from geo_renewal.stats import OUTSIDE_ROW, TOTAL_ROW, zone_stats
from geo_renewal.tables import format_table, write_table, write_tables


@pytest.fixture
def stats(grid_parcels) -> pd.DataFrame:
    parcels = grid_parcels.copy()
    cats = ["demolish", "retain_upgrade", "retain_protect", "resettlement_site", "unchanged"]
    parcels["category"] = pd.Categorical(
        [cats[k % 5] for k in range(len(parcels))], categories=cats
    )
    parcels.loc[parcels.index[0], "street"] = None
    return zone_stats(parcels, by="street", planned_floor_area={"东关街道": 9000.0})


def _headers(ws, row: int) -> list[str]:
    return [c.value for c in ws[row]]


def test_xlsx_headers_formats_and_bold_total(stats, tmp_path):
    path = write_table(stats, tmp_path / "stats.xlsx")
    ws = openpyxl.load_workbook(path).active
    headers = _headers(ws, 1)
    assert headers[:4] == ["街道", "地块数（个）", "用地面积（㎡）", "用地面积（公顷）"]
    assert "用地面积（亩）" in headers
    assert "建筑面积（万㎡）" in headers
    assert "征收拆迁·用地面积（㎡）" in headers
    assert "拆除比例（%）" in headers
    col = {h: j + 1 for j, h in enumerate(headers)}
    n = len(stats)
    labels = [ws.cell(row=r, column=1).value for r in range(2, n + 2)]
    assert labels == ["东关街道", "西关街道", "未填写", "合计"]
    for r in range(2, n + 2):
        assert ws.cell(row=r, column=col["用地面积（㎡）"]).number_format == "#,##0.00"
        assert ws.cell(row=r, column=col["户数（户）"]).number_format == "#,##0"
        assert ws.cell(row=r, column=col["地块数（个）"]).number_format == "#,##0"
        assert ws.cell(row=r, column=col["拆除比例（%）"]).number_format == "0.0%"
        assert ws.cell(row=r, column=col["拆建比"]).number_format == "0.00"
        bold = r == n + 1
        assert all(ws.cell(row=r, column=j).font.b == bold for j in range(1, len(headers) + 1))
    # values are numbers, at full precision
    assert ws.cell(row=n + 1, column=col["户数（户）"]).value == stats.loc[TOTAL_ROW, "households"]
    assert ws.cell(row=2, column=col["用地面积（亩）"]).value == pytest.approx(
        stats.iloc[0]["area_mu"]
    )
    assert all(c.font.b for c in ws[1])  # bold header
    assert ws.freeze_panes == "B2"
    # widths: CJK counts double
    assert ws.column_dimensions["A"].width >= 2 * len("东关街道")


def test_xlsx_english_title_and_special_rows(grid_parcels, tmp_path):
    from geo_renewal.crs import area

    zones = grid_parcels.iloc[:2].dissolve()
    zones["zone_id"] = ["Z1"]
    stats = zone_stats(grid_parcels, zones=zones, zone_col="zone_id")
    assert stats.loc[TOTAL_ROW, "area_m2"] == pytest.approx(area(grid_parcels).sum())
    path = write_table(stats, tmp_path / "out" / "zones.xlsx", lang="en", title="Zones")
    ws = openpyxl.load_workbook(path)["Zones"]
    assert ws["A1"].value == "Zones"
    assert ws["A1"].font.b
    assert _headers(ws, 2)[:3] == ["Zone ID", "Parcels", "Land area (m²)"]
    assert [ws.cell(row=r, column=1).value for r in (3, 4, 5)] == [
        "Z1",
        "Outside every zone",
        "Total",
    ]
    assert ws.freeze_panes == "B3"
    assert ws.cell(row=5, column=2).font.b
    assert not ws.cell(row=4, column=2).font.b


def test_csv_read_back_with_chinese_intact(stats, tmp_path):
    path = write_table(stats, tmp_path / "stats.csv")
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"  # BOM for Excel
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert list(back.columns[:3]) == ["街道", "地块数（个）", "用地面积（㎡）"]
    assert list(back["街道"]) == ["东关街道", "西关街道", "未填写", "合计"]
    np.testing.assert_allclose(back["户数（户）"], stats["households"])
    assert back["户数（户）"].dtype.kind == "i"  # whole counts written as integers
    np.testing.assert_allclose(back["用地面积（㎡）"], stats["area_m2"], rtol=1e-15)
    assert back["超出63号文限值"].fillna("").tolist() == stats["violations"].tolist()


def test_markdown(stats, tmp_path):
    path = write_table(stats, tmp_path / "stats.md", lang="en", title="By street")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "### By street"
    assert lines[2].startswith("| Street | Parcels | Land area (m²) |")
    assert lines[3].startswith("|:---|---:|---:|")
    assert lines[-1].startswith("| **Total** | **20** | **")
    assert all(line.count("|") == lines[2].count("|") for line in lines[2:])
    text = format_table(stats, style="markdown", lang="en", columns=["households"])
    assert (
        text.splitlines()[-1] == f"| **Total** | **{stats.loc[TOTAL_ROW, 'households']:,.0f}** |"
    )


def test_markdown_escapes_pipes():
    df = pd.DataFrame({"name": ["a|b"]})
    assert "a\\|b" in format_table(df, style="markdown")


def test_plain_text_aligned_with_cjk_width(stats):
    text = format_table(stats, columns=["n_parcels", "households", "area_mu"])
    lines = text.splitlines()
    assert len({tb._width(line) for line in lines}) == 1  # every row as wide as the header
    header = lines[0]
    assert header.startswith("街道")
    # numbers right-aligned under their header
    col_end = tb._width(header[: header.index("户数（户）") + len("户数（户）")])
    first = lines[2]
    hh = f"{stats.iloc[0]['households']:,.0f}"
    assert tb._width(first[: first.index(hh) + len(hh)]) == col_end


def test_write_tables_one_sheet_each(stats, grid_parcels, tmp_path):
    by_cat = zone_stats(grid_parcels.assign(category="demolish"), by="category", categories=False)
    path = write_tables(
        {"街道": stats, "households": by_cat, "x/y:*": stats},
        tmp_path / "pack.xlsx",
        titles={"街道": "分街道统计"},
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["街道", "户数（户）", "x_y__"]
    assert wb["街道"]["A1"].value == "分街道统计"
    assert wb["户数（户）"]["A2"].value == "征收拆迁"
    md = write_tables({"a": stats, "b": by_cat}, tmp_path / "pack.md")
    assert md.read_text(encoding="utf-8").count("### ") == 2


def test_bad_extensions(stats, tmp_path):
    with pytest.raises(InputError, match=r"unknown extension '.txt'; use one of .xlsx, .csv, .md"):
        write_table(stats, tmp_path / "stats.txt")
    with pytest.raises(InputError, match="one table"):
        write_tables({"a": stats, "b": stats}, tmp_path / "x.csv")
    with pytest.raises(InputError, match="'zh' or 'en'"):
        write_table(stats, tmp_path / "x.csv", lang="de")


def test_failed_write_keeps_earlier_file(stats, tmp_path, monkeypatch):
    path = tmp_path / "stats.xlsx"
    path.write_bytes(b"earlier")

    def boom(self, filename):
        msg = "disk full"
        raise OSError(msg)

    monkeypatch.setattr(openpyxl.Workbook, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        write_table(stats, path)
    assert path.read_bytes() == b"earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["stats.xlsx"]  # no temp file left


def test_nan_and_plain_frames(tmp_path):
    df = pd.DataFrame({"area_m2": [1.0, np.nan, np.inf], "name": ["a", None, "c"]})
    path = write_table(df, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path).active
    assert _headers(ws, 1) == ["用地面积（㎡）", "名称"]  # RangeIndex not written
    assert ws["A3"].value is None
    assert ws["A4"].value is None
    assert OUTSIDE_ROW not in format_table(df)


def test_dates_booleans_and_geometries(grid_parcels, tmp_path):
    df = grid_parcels.iloc[:2][["parcel_id", "geometry"]].copy()
    df["target_date"] = pd.to_datetime(["2026-03-01", None])
    df["listed"] = [True, False]
    path = write_table(df, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path).active
    assert _headers(ws, 1) == ["地块编号", "目标日期", "文保单位"]
    assert ws["B2"].number_format == "yyyy-mm-dd"
    assert ws["B2"].value.year == 2026
    assert ws["B3"].value is None
    assert [ws["C2"].value, ws["C3"].value] == ["是", "否"]
    assert "2026-03-01" in format_table(df, lang="en")
    assert "Yes" in format_table(df, lang="en")


# ------------------------------------------------------------------ formula-like text
#
# OWASP CSV injection: text starting with = + - @ tab or CR is data, never a formula.

HOSTILE_TEXT = [
    '=HYPERLINK("http://x","点击查看")',
    "=cmd|' /C calc'!A0",
    "+1",
    "-2",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "东关街道",
]


@pytest.fixture
def hostile() -> pd.DataFrame:
    n = len(HOSTILE_TEXT)
    return pd.DataFrame(
        {
            "street": HOSTILE_TEXT,
            "households": [-2.0 - k for k in range(n)],  # negative numbers stay numbers
            "n_parcels": list(range(-3, n - 3)),
        }
    )


def _cells(path) -> list[openpyxl.cell.cell.Cell]:
    wb = openpyxl.load_workbook(path, data_only=False)
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def test_xlsx_formula_like_text_is_read_back_as_text(hostile, tmp_path):
    one = write_table(hostile, tmp_path / "one.xlsx", title="=TITLE()")
    many = write_tables({"=A": hostile, "B": hostile}, tmp_path / "many.xlsx")
    for path in (one, many):
        cells = _cells(path)
        assert not [c.coordinate for c in cells if c.data_type == "f"]
        texts = {c.value: c for c in cells if isinstance(c.value, str)}
        for text in HOSTILE_TEXT:
            # openpyxl's own XML writer turns a carriage return into a line break, its lxml
            # writer (lxml comes with python-pptx) keeps it: either way text, not a formula
            cell = texts.get(text) or texts[text.replace("\r", "\n")]
            assert cell.data_type == "s", text
        # The quote prefix keeps a formula-like text text even when a planner edits it.
        assert texts["=cmd|' /C calc'!A0"].quotePrefix
        numbers = [c.value for c in cells if c.data_type == "n" and c.value is not None]
        assert -2.0 in numbers
        assert -9.0 in numbers
        assert -3 in numbers
    ws = openpyxl.load_workbook(one).active
    assert ws["A1"].value == "=TITLE()"
    assert ws["A1"].data_type == "s"


def test_csv_formula_like_text_gets_a_quote_and_numbers_stay_numbers(hostile, tmp_path):
    import csv

    path = write_table(hostile, tmp_path / "t.csv", lang="en")
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    street = [r[0] for r in rows[1:]]
    assert street[:7] == [f"'{t}" for t in HOSTILE_TEXT[:7]]
    assert street[7] == "东关街道"
    households = [float(r[1]) for r in rows[1:]]
    assert households == hostile["households"].tolist()
    assert [r[2] for r in rows[1:4]] == ["-3", "-2", "-1"]


def test_markdown_escapes_html_and_plain_text_escapes_control_characters():
    df = pd.DataFrame({"name": ["<script>alert(1)</script>", "a|b", "东关\x1b[31m红\x07"]})
    md = format_table(df, style="markdown")
    assert "<script>" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "a\\|b" in md
    plain = format_table(df)
    assert "\x1b" not in plain
    assert "\x07" not in plain
    assert "东关\\x1b[31m红\\x07" in plain


def test_xlsx_holds_control_characters_as_visible_escapes(tmp_path):
    df = pd.DataFrame({"name": ["东关\x1b[31m", "line\nbreak"]})
    cells = _cells(write_table(df, tmp_path / "c.xlsx"))
    values = [c.value for c in cells]
    assert "东关\\x1b[31m" in values
    assert "line\nbreak" in values


def test_every_table_writer_goes_through_the_safe_cells():
    """No module writes XLSX or CSV around tables.py / _cellsafe (one safe writer)."""
    import re
    from pathlib import Path

    package = Path(tb.__file__).parent
    allowed = {"tables.py", "_cellsafe.py"}
    pattern = re.compile(r"\.to_excel\(|\.to_csv\(|csv\.writer|ExcelWriter|\bws\.append\(")
    offenders = [
        f"{p.relative_to(package)}:{i}"
        for p in package.rglob("*.py")
        if p.name not in allowed
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
