"""Ledgers and tables as streets send them: every bad input is a finding or one clear error.

Each case builds a real file (openpyxl workbooks with merged cells, title rows, formulas
without saved values, unit headers, total rows …) from the sample ledger, and checks the
exact finding or error class and that the message names the file, sheet, row or column.
"""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest

from geo_renewal import datasets
from geo_renewal._errors import InputError, SchemaError
from geo_renewal.io import read_layer
from geo_renewal.ledger import read_ledger
from geo_renewal.progress import progress_summary, project_progress
from geo_renewal.validate import validate_layer


def _n_overdue(ledger) -> int:
    """Overdue projects on the sample's day, counted from each project's progress."""
    return int(project_progress(ledger, as_of=datasets.AS_OF)["overdue"].sum())


def _totals(ledger) -> pd.Series:
    prog = project_progress(ledger, as_of=datasets.AS_OF)
    return progress_summary(prog).loc["total"]


@pytest.fixture(scope="module")
def clean():
    """The sample ledger as shipped, and its totals."""
    ledger = read_ledger(datasets.get_path("sample_ledger"))
    return ledger, _totals(ledger)


@pytest.fixture
def book():
    """The sample ledger's workbook, to be spoilt by a test."""
    return openpyxl.load_workbook(datasets.get_path("sample_ledger"))


def _save(wb, tmp_path, name="台账.xlsx"):
    path = tmp_path / name
    wb.save(path)
    return path


def _col(ws, header):
    """1-based column of `header` in row 1."""
    return next(c.column for c in ws[1] if c.value == header)


def _one(ledger, problem):
    f = ledger.findings[ledger.findings["problem"] == problem]
    assert len(f) == 1, ledger.findings[["row", "problem", "message"]]
    return f.iloc[0]


def _sum(ws, header):
    j = _col(ws, header)
    return sum(ws.cell(r, j).value or 0 for r in range(2, ws.max_row + 1))


# ------------------------------------------------------------------- rows that are no project


def test_total_row_is_not_a_project(book, tmp_path, clean):
    ws = book.active
    n = ws.max_row
    hh, signed = _sum(ws, "户数"), _sum(ws, "已签约户数")
    ws.append(["合计", None, None, None, None, None, hh, signed])
    ledger = read_ledger(_save(book, tmp_path))
    got = _totals(ledger)
    assert got["projects"] == clean[1]["projects"]
    assert got["signing_rate"] == pytest.approx(clean[1]["signing_rate"])
    f = _one(ledger, "total_row")
    assert f["row"] == n + 1
    assert f"row {n + 1}" in f["message"]
    assert "total_mismatch" not in set(ledger.findings["problem"])


def test_total_row_that_disagrees_is_a_finding(book, tmp_path):
    ws = book.active
    n = ws.max_row
    hh = _sum(ws, "户数")
    ws.append(["合计", None, None, None, None, None, hh + 83])
    ledger = read_ledger(_save(book, tmp_path))
    f = _one(ledger, "total_mismatch")
    assert f["row"] == n + 1
    assert f["column"] == "户数"
    assert f"{hh + 83:,}" in f["message"]
    assert f"{hh:,}" in f["message"]
    assert "'户数'" in f["message"]


def test_subtotal_rows_per_street(book, tmp_path, clean):
    ws = book.active
    j_hh = _col(ws, "户数")
    # a 小计 row after row 5 and after the last row, each summing the rows above it
    last = ws.max_row
    first_block = sum(ws.cell(r, j_hh).value for r in range(2, 6))
    second_block = sum(ws.cell(r, j_hh).value for r in range(6, last + 1))
    ws.append(["小计", None, None, None, None, None, second_block])
    ws.insert_rows(6)
    ws.cell(6, 1).value = "东关街道小计"
    ws.cell(6, j_hh).value = first_block + 1  # off by one
    ledger = read_ledger(_save(book, tmp_path))
    got = _totals(ledger)
    assert got["households"] == clean[1]["households"]
    assert got["projects"] == clean[1]["projects"]
    subs = ledger.findings[ledger.findings["problem"] == "subtotal_row"]
    assert list(subs["row"]) == [6, last + 2]
    f = _one(ledger, "total_mismatch")
    assert f["row"] == 6
    assert "rows 2–5" in f["message"]


def test_note_and_breakdown_rows(book, tmp_path, clean):
    ws = book.active
    n = ws.max_row
    ws.append(["其中：征收拆迁", None, None, None, None, None, 100])
    ws.append(["填表说明：1. 户数以户籍为准；2. 日期写成2026-01-01。"])
    ws.merge_cells(start_row=n + 2, start_column=1, end_row=n + 2, end_column=10)
    ledger = read_ledger(_save(book, tmp_path))
    assert _one(ledger, "breakdown_row")["row"] == n + 1
    note = _one(ledger, "note_row")
    assert note["row"] == n + 2
    assert f"row {n + 2}" in note["message"]
    assert len(ledger.table) == clean[1]["projects"]


# ------------------------------------------------------------------- headers


def test_title_row_above_the_header(book, tmp_path, clean):
    ws = book.active
    ws.insert_rows(1)
    ws.cell(1, 1).value = "某某区城市更新项目台账（截至11月20日）"
    ws.merge_cells("A1:Z1")
    ledger = read_ledger(_save(book, tmp_path))
    assert _totals(ledger)["n_overdue"] == clean[1]["n_overdue"]
    f = _one(ledger, "header_rows")
    assert "row 2 was taken as the header" in f["message"]
    assert "某某区城市更新项目台账" in f["message"]
    assert "台账.xlsx [台账]" in f["message"]
    # rows keep the numbers a person sees
    assert ledger.table["ledger_row"].iloc[0] == 3


def _two_row_header(ws):
    heads = [c.value for c in ws[1]]
    ws.insert_rows(2)
    for j, h in enumerate(heads, start=1):
        if h.endswith(("计划日期", "实际日期")):
            ws.cell(1, j).value = h[:-4] if h.endswith("计划日期") else None
            ws.cell(2, j).value = h[-4:]
    for j, h in enumerate(heads, start=1):
        if h.endswith("计划日期"):
            ws.merge_cells(start_row=1, start_column=j, end_row=1, end_column=j + 1)
        elif not h.endswith("实际日期"):
            ws.merge_cells(start_row=1, start_column=j, end_row=2, end_column=j)


def test_two_row_header_with_merged_cells(book, tmp_path, clean):
    _two_row_header(book.active)
    ledger = read_ledger(_save(book, tmp_path))
    got = _totals(ledger)
    assert got["n_overdue"] == clean[1]["n_overdue"] == 5
    assert ledger.table["signing_planned"].notna().sum() == (
        clean[0].table["signing_planned"].notna().sum()
    )
    f = _one(ledger, "header_rows")
    assert "rows 1 and 2 were taken as the header" in f["message"]
    assert "missing_id" not in set(ledger.findings["problem"])


def _fmt(d):
    return "" if pd.isna(d) else f"{d:%Y-%m-%d}"


def test_title_rows_and_two_row_header_in_a_csv(tmp_path, clean):
    raw = clean[0].table
    lines = ["某区更新项目台账,,,,", "填报单位：东关街道,,,,", "项目编号,类型,户数,签约,"]
    lines.append(",,,计划日期,实际日期")
    for pid, t, hh, p, a in raw[
        ["project_id", "project_type", "households", "signing_planned", "signing_actual"]
    ].itertuples(index=False):
        lines.append(
            f"{pid},{'征收拆迁' if t == 'demolish' else '保留提升'},{hh},{_fmt(p)},{_fmt(a)}"
        )
    path = tmp_path / "台账.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    ledger = read_ledger(path)
    assert list(ledger.table["signing_planned"]) == list(raw["signing_planned"])
    f = _one(ledger, "header_rows")
    assert "rows 3 and 4" in f["message"]
    assert "rows 1–2" in f["message"]


def test_header_row_given(book, tmp_path, clean):
    ws = book.active
    ws.insert_rows(1, amount=2)
    ws.cell(1, 1).value = "项目编号 说明"  # a title that looks a little like a header
    path = _save(book, tmp_path)
    ledger = read_ledger(path, header_row=3)
    assert len(ledger.table) == len(clean[0].table)
    with pytest.raises(SchemaError, match=r"row 2.*header_row="):
        read_ledger(path, header_row=2)
    with pytest.raises(InputError, match=r"`header_row` must be"):
        read_ledger(path, header_row=0)
    for bad in (3.0, "3", (3, 5)):  # a float or a text is refused in a sentence too
        with pytest.raises(InputError, match=r"`header_row` must be"):
            read_ledger(path, header_row=bad)
    with pytest.raises(InputError, match=r"below the last row of .*台账\.xlsx"):
        read_ledger(path, header_row=500)


def test_headers_with_units_spaces_and_full_width(book, tmp_path, clean):
    ws = book.active
    ws.cell(1, _col(ws, "户数")).value = "户数（户）"
    ws.cell(1, _col(ws, "拆除建筑面积")).value = "拆除建筑面积\n(㎡)"
    ws.cell(1, _col(ws, "已签约户数")).value = "已签约 户数〔户〕"
    ws.cell(1, _col(ws, "项目编号")).value = "项目编号＊"
    ledger = read_ledger(_save(book, tmp_path))
    got = _totals(ledger)
    assert got["households"] == clean[1]["households"]
    assert got["signing_rate"] == pytest.approx(clean[1]["signing_rate"])
    assert got["demolished_floor_area"] == clean[1]["demolished_floor_area"]
    assert ledger.findings.empty


def test_header_that_looks_like_a_known_one(book, tmp_path):
    ws = book.active
    ws.cell(1, _col(ws, "已签约户数")).value = "已签约户"  # cut short
    ledger = read_ledger(_save(book, tmp_path))
    f = _one(ledger, "unknown_header")
    assert f["column"] == "已签约户"
    assert "did you mean `已签约户数`?" in f["message"]
    assert f["severity"] == "warning"


# ------------------------------------------------------------------- cells


def test_formula_without_saved_value(book, tmp_path):
    ws = book.active
    j = _col(ws, "已签约户数")
    ws.cell(5, j).value = "=G5*0.9"
    ledger = read_ledger(_save(book, tmp_path))
    f = _one(ledger, "formula_without_value")
    letter = openpyxl.utils.get_column_letter(j)
    assert f"台账!{letter}5" in f["message"]
    assert "=G5*0.9" in f["message"]
    assert f["row"] == 5
    assert f["column"] == "已签约户数"
    assert pd.isna(ledger.table.loc[ledger.table["ledger_row"] == 5, "signed_households"]).all()


def test_bare_year_in_a_date_column(book, tmp_path):
    ws = book.active
    j = _col(ws, "目标日期")
    ws.cell(7, j).value = 2027
    ws.cell(7, j).number_format = "General"
    ledger = read_ledger(_save(book, tmp_path))
    f = _one(ledger, "bad_date")
    letter = openpyxl.utils.get_column_letter(j)
    assert f"台账!{letter}7" in f["message"]
    assert "bare year" in f["message"]
    assert f["row"] == 7


def test_year_typed_into_a_date_formatted_cell(book, tmp_path):
    ws = book.active
    j = _col(ws, "签约计划日期")
    ws.cell(4, j).value = dt.datetime(1905, 7, 19)  # what Excel shows for 2027 in a date cell
    ledger = read_ledger(_save(book, tmp_path))
    f = _one(ledger, "bad_date")
    assert "1905-07-19" in f["message"]
    assert "the year 2027" in f["message"]
    assert f["column"] == "签约计划日期"


@pytest.mark.parametrize("serial", [20_000, 80_000])
def test_excel_serial_outside_1990_2100(book, tmp_path, serial):
    ws = book.active
    j = _col(ws, "目标日期")
    ws.cell(3, j).value = serial
    ws.cell(3, j).number_format = "General"
    ledger = read_ledger(_save(book, tmp_path))
    f = _one(ledger, "bad_date")
    assert f"{serial}" in f["message"]
    assert "row 3" in f["message"]


def test_merged_number_cells(book, tmp_path, clean):
    ws = book.active
    j = _col(ws, "户数")
    ws.merge_cells(start_row=2, start_column=j, end_row=3, end_column=j)
    j_street = _col(ws, "街道")
    ws.merge_cells(start_row=4, start_column=j_street, end_row=5, end_column=j_street)
    ledger = read_ledger(_save(book, tmp_path))
    f = _one(ledger, "merged_number")
    assert "rows 2–3" in f["message"]
    assert f["column"] == "户数"
    # the merged street is repeated to each of its rows
    assert ledger.table["street"].iloc[3] == ledger.table["street"].iloc[2]


def test_blank_rows_keep_spreadsheet_row_numbers(book, tmp_path):
    ws = book.active
    ws.insert_rows(4, amount=2)
    j = _col(ws, "户数")
    ws.cell(9, j).value = "很多"
    ledger = read_ledger(_save(book, tmp_path))
    f = _one(ledger, "bad_number")
    assert f["row"] == 9
    assert "row 9" in f["message"]


# ------------------------------------------------------------------- sheets and files


def test_ledger_sheet_chosen_by_headers(book, tmp_path, clean):
    book.active.title = "2026年11月"
    notes = book.create_sheet("说明", 0)
    notes.append(["填表说明"])
    notes.append(["本表由各街道每周五报送。"])
    ledger = read_ledger(_save(book, tmp_path))
    assert len(ledger.table) == len(clean[0].table)
    assert "[2026年11月]" in ledger.source


def test_no_sheet_fits(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["填表说明"])
    wb.create_sheet("统计").append(["街道", "户数"])
    path = _save(wb, tmp_path, "报表.xlsx")
    with pytest.raises(InputError, match=r"报表\.xlsx.*\['说明', '统计'\].*`sheet=`"):
        read_ledger(path)
    with pytest.raises(
        InputError, match=r"has no sheet '台账'; its sheets are \['说明', '统计'\]"
    ):
        read_ledger(path, sheet="台账")


def test_one_file_per_street_as_one_ledger(book, tmp_path, clean):
    ws = book.active
    rows = list(ws.iter_rows(values_only=True))
    paths = []
    for k, part in enumerate((rows[1:9], rows[8:])):  # the row of GX08 is in both files
        wb = openpyxl.Workbook()
        wb.active.title = "台账"
        wb.active.append(rows[0])
        for r in part:
            wb.active.append(r)
        paths.append(_save(wb, tmp_path, f"街道{k}.xlsx"))
    ledger = read_ledger(paths)
    assert len(ledger.table) == len(clean[0].table) + 1
    assert set(ledger.table["source_file"]) == {str(p) for p in paths}
    assert set(ledger.table["source_sheet"]) == {"台账"}
    f = _one(ledger, "duplicate_id")
    assert "街道1.xlsx" in f["message"]
    assert "街道0.xlsx" in f["message"]
    assert f["id"] == rows[8][0]


def test_utf16_tab_separated_ledger(tmp_path, clean):
    raw = clean[0].table
    text = "项目编号\t类型\t户数（户）\t已签约户数\n"
    for pid, t, hh, s in raw[
        ["project_id", "project_type", "households", "signed_households"]
    ].itertuples(index=False):
        signed = "" if pd.isna(s) else f"{s:g}"
        text += f"{pid}\t{'征收拆迁' if t == 'demolish' else '保留提升'}\t{hh:g}\t{signed}\n"
    text += "合计\t\t" + f"{raw['households'].sum():g}" + "\t\n"
    path = tmp_path / "台账.txt"
    path.write_bytes(text.encode("utf-16"))  # Excel's "Unicode text"
    ledger = read_ledger(path)
    assert ledger.table["households"].sum() == raw["households"].sum()
    assert len(ledger.table) == len(raw)
    assert _one(ledger, "total_row")["row"] == len(raw) + 2


def test_damaged_workbook(tmp_path):
    path = tmp_path / "台账.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(InputError, match=r"台账\.xlsx.*save it as \.xlsx"):
        read_ledger(path)


# ------------------------------------------------------------------- tables read as layers


def test_total_row_in_a_parcels_csv_is_not_a_parcel(tmp_path):
    path = tmp_path / "parcels.csv"
    path.write_text(
        "地块编号,经度,纬度,户数\nP1,117.01,36.66,10\nP2,117.02,36.67,5\n合计,,,15\n",
        encoding="utf-8",
    )
    parcels = read_layer(path, crs="EPSG:4490", kind="parcels")
    assert list(parcels["parcel_id"]) == ["P1", "P2"]
    report = validate_layer(parcels, kind="parcels")
    f = report.findings[report.findings["problem"] == "total_row"].iloc[0]
    assert f["row"] == 4
    assert "parcels.csv" in f["message"]
    assert "row 4" in f["message"]


def test_utf16_tab_separated_layer(tmp_path):
    path = tmp_path / "sites.csv"
    text = "编号\t经度\t纬度\t层数\nA\t117.01\t36.66\t6\nB\t117.02\t36.67\t4\n"
    path.write_bytes(text.encode("utf-16"))
    sites = read_layer(path, crs="EPSG:4490")
    assert list(sites["层数"]) == [6, 4]
    assert len(sites) == 2


def test_layer_workbook_with_header_under_a_title(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "地块"
    ws.append(["某区地块调查表（2026年）"])
    ws.append([])
    ws.append(["地块编号", "经度", "纬度", "户数"])
    ws.append(["P1", 117.01, 36.66, 10])
    ws.append(["P2", "东经117度", 36.67, 5])
    path = _save(wb, tmp_path, "地块.xlsx")
    with pytest.raises(InputError, match=r"地块\.xlsx.*'经度'.*rows \[5\]"):
        read_layer(path, crs="EPSG:4490", kind="parcels")
    ws["B5"] = 117.02
    wb.save(path)
    parcels = read_layer(path, crs="EPSG:4490", kind="parcels")
    assert list(parcels["households"]) == [10, 5]
    report = validate_layer(parcels, kind="parcels")
    f = report.findings[report.findings["problem"] == "header_rows"].iloc[0]
    assert "row 3" in f["message"]
    assert "[地块]" in f["message"]


def test_empty_table_layer(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.csv.*empty"):
        read_layer(path, crs="EPSG:4490")


# ------------------------------------------------------------------- units, hidden sheets, ids


def test_area_in_ten_thousand_square_metres_is_converted(book, tmp_path, clean):
    ws = book.active
    j = _col(ws, "拆除建筑面积")
    ws.cell(1, j).value = "拆除建筑面积（万㎡）"
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, j).value is not None:
            ws.cell(r, j).value = ws.cell(r, j).value / 10_000
    ledger = read_ledger(_save(book, tmp_path))
    area = ledger.table["demolished_floor_area"].sum()
    assert area == pytest.approx(clean[0].table["demolished_floor_area"].sum())
    f = _one(ledger, "unit_converted")
    assert f["column"] == "拆除建筑面积（万㎡）"
    assert "10,000" in f["message"]


def test_households_header_in_persons_is_a_warning(book, tmp_path):
    ws = book.active
    ws.cell(1, _col(ws, "户数")).value = "户数（人）"
    ledger = read_ledger(_save(book, tmp_path))
    f = _one(ledger, "unknown_unit")
    assert f["column"] == "户数（人）"
    assert "'人'" in f["message"]
    assert f["severity"] == "warning"


def test_hidden_old_copy_of_the_ledger_is_not_chosen(book, tmp_path, clean):
    current = book["台账"]
    current.title = "本周"
    old = book.copy_worksheet(current)
    old.title = "旧台账"
    old.append(["GX99", "旧项目", "征收拆迁"])
    old.sheet_state = "hidden"
    book.move_sheet(old, offset=-1)
    book.active = 1
    ledger = read_ledger(_save(book, tmp_path))
    assert "[本周]" in ledger.source
    assert len(ledger.table) == len(clean[0].table)


def test_id_header_close_to_a_known_one(book, tmp_path):
    ws = book.active
    ws.cell(1, _col(ws, "项目编号")).value = "项目编码"
    with pytest.raises(SchemaError, match=r"台账\.xlsx \[台账\].*'项目编码' looks like one"):
        read_ledger(_save(book, tmp_path))


def test_excel_error_values_are_blank_and_named(book, tmp_path):
    ws = book.active
    j_street = _col(ws, "街道")
    ws.cell(6, j_street).value = "#REF!"
    ws.cell(8, _col(ws, "户数")).value = "#DIV/0!"
    ledger = read_ledger(_save(book, tmp_path))
    errors = ledger.findings[ledger.findings["problem"] == "formula_error"]
    assert list(errors["row"]) == [6, 8]
    letter = openpyxl.utils.get_column_letter(j_street)
    assert f"台账!{letter}6" in errors["message"].iloc[0]
    assert "#REF!" in errors["message"].iloc[0]
    assert ledger.table.loc[ledger.table["ledger_row"] == 6, "street"].isna().all()
    assert "bad_number" not in set(ledger.findings["problem"])


def test_section_headings_and_a_total_above_the_projects(book, tmp_path, clean):
    ws = book.active
    hh = _sum(ws, "户数")
    ws.insert_rows(2, amount=2)
    ws.cell(2, 1).value = "合计"
    ws.cell(2, _col(ws, "户数")).value = hh - 1  # a total row above the projects, wrong
    ws.cell(3, 1).value = "一、征收拆迁类项目"
    ledger = read_ledger(_save(book, tmp_path))
    assert len(ledger.table) == len(clean[0].table)
    assert _one(ledger, "section_row")["row"] == 3
    f = _one(ledger, "total_mismatch")
    assert f["row"] == 2
    assert f"{hh:,}" in f["message"]


def test_group_names_over_the_headers(book, tmp_path, clean):
    _two_row_header(book.active)
    ws = book.active
    for rng in [r for r in ws.merged_cells.ranges if r.min_row == 1 and r.max_col <= 6]:
        ws.unmerge_cells(str(rng))
    for j in range(1, 7):  # 基本情况 over 项目编号 … 责任人 instead of vertical merges
        ws.cell(1, j).value = "基本情况" if j == 1 else None
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=6)
    for j, h in enumerate(["项目编号", "项目名称", "类型", "街道", "责任单位", "责任人"], start=1):
        ws.cell(2, j).value = h
    ledger = read_ledger(_save(book, tmp_path))
    assert _n_overdue(ledger) == _n_overdue(clean[0]) == 5
    assert list(ledger.table["project_id"]) == list(clean[0].table["project_id"])
    assert "rows 1 and 2" in _one(ledger, "header_rows")["message"]


def test_hidden_project_row_is_counted_and_named(book, tmp_path, clean):
    ws = book.active
    ws.row_dimensions[7].hidden = True
    ledger = read_ledger(_save(book, tmp_path))
    assert len(ledger.table) == len(clean[0].table)
    f = _one(ledger, "hidden_row")
    assert f["row"] == 7
    assert "row 7 of" in f["message"]
    assert "台账.xlsx [台账]" in f["message"]
