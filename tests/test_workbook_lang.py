"""The statistics workbook in both languages: sheets, headers, titles, formats, no codes."""

from __future__ import annotations

import dataclasses
import re
import warnings

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

import geopandas as gpd

from geo_renewal import schema
from geo_renewal.cli import cli
from geo_renewal.datasets import get_path
from geo_renewal.plan import load_plan
from geo_renewal.tables import findings_table, write_tables
from geo_renewal.text import MEETING_TEXT
from geo_renewal.workflow import OUTPUT_FILES, run_plan, workbook_tables

pytestmark = pytest.mark.slow

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The sample plan run once in Chinese and once in English."""
    plan = load_plan(get_path("sample_plan"))
    out = {}
    for lang in ("zh", "en"):
        folder = tmp_path_factory.mktemp(f"run_{lang}")
        with warnings.catch_warnings():  # the sample's nearby rate is below 50 % on purpose
            warnings.filterwarnings("ignore", ".*63号", UserWarning)
            result = run_plan(dataclasses.replace(plan, lang=lang), out_dir=folder)
        out[lang] = (result, openpyxl.load_workbook(result.files["workbook"]))
    return out


def _codes(result) -> set[str]:
    """Every code a Chinese reader must never see: classes, stages, zones, keys, problems."""
    codes = {*schema.CATEGORIES, *schema.STAGES, *schema.LAND_USES, *schema.STRUCTURES}
    codes |= set(schema.COLUMN_LABELS) | set(schema.RESERVED_ROWS) | {schema.UNCLASSIFIED}
    codes |= {code for table in schema.VALUE_LABELS.values() for code in table}
    codes |= {k.split(".")[-1] for k in MEETING_TEXT if k.startswith("findings.")}
    codes |= set(result.classified["zone_id"].dropna())  # demolish-001 …
    codes |= {"matched", "derived", "declared", "given", "reported", "repaired", "removed"}
    codes |= set(schema.KINDS)  # layer roles: parcels, buildings …
    return {c for c in codes if len(c) > 2}  # "A"…"D" danger grades are what a survey writes


def _cells(book):
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                yield ws.title, cell


def _header_row(ws) -> list:
    return [c.value for c in ws[3]]  # row 1 the title, row 2 制表单位 and 截至日期


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_table_is_a_sheet_uniquely_named(runs, lang, tmp_path):
    result, book = runs[lang]
    tables = workbook_tables(result)
    assert len(tables) >= 15
    assert book.sheetnames == list(tables)  # none lost to a collision
    assert len({n.lower() for n in book.sheetnames}) == len(book.sheetnames)
    assert all(len(n) <= 31 for n in book.sheetnames)
    # every table of the run, written again in the other language too, keeps every sheet
    other = "en" if lang == "zh" else "zh"
    path = write_tables(tables, tmp_path / "again.xlsx", lang=other)
    assert len(openpyxl.load_workbook(path).sheetnames) == len(tables)


def test_sheet_names_per_language(runs):
    zh = runs["zh"][1].sheetnames
    en = runs["en"][1].sheetnames
    stats_zh = ["按街道统计", "按更新类别统计", "按片区统计", "按项目统计"]
    stats_en = [f"Statistics by {g}" for g in ("street", "class", "zone", "project")]
    assert [n for n in zh if n in stats_zh] == stats_zh
    assert [n for n in en if n in stats_en] == stats_en
    assert zh.index("按片区统计") == en.index("Statistics by zone")  # the same sheets
    assert "By street" in en  # the progress table, beside the statistics one
    assert len(zh) == len(en)


def test_no_english_code_in_the_chinese_workbook(runs):
    result, book = runs["zh"]
    codes = _codes(result)
    found, n_text = [], 0
    for sheet, cell in _cells(book):
        if not isinstance(cell.value, str):
            continue
        n_text += 1
        words = set(WORD.findall(cell.value)) | {cell.value}
        hit = sorted(words & codes)
        if hit:
            found.append(f"{sheet}!{cell.coordinate}: {cell.value!r} ({hit})")
    assert n_text > 2000  # the scan saw the workbook
    assert found == []


def test_chinese_headers_and_names(runs):
    result, book = runs["zh"]
    ws = book["按片区统计"]
    assert _header_row(ws)[0] == "片区"
    names = [ws.cell(row=r, column=1).value for r in range(4, ws.max_row + 1)]
    assert names[-1] == "合计"
    pattern = re.compile(r"^\S+街道·(征收拆迁|保留提升|保护保留|安置用地|不涉及)·\d{2,}$")
    zones = [n for n in names if n not in ("合计", "片区范围外")]
    assert zones
    assert all(pattern.match(n) for n in zones), zones[:5]
    assert len(set(zones)) == len(zones) == result.zones["zone_id"].nunique()
    labels = [c.zh for c in schema.CATEGORIES.values()]
    classes = [labels.index(n.split("·")[1]) for n in zones]
    assert classes == sorted(classes)  # 征收拆迁 zones first, then 保留提升 …
    projects = book["按项目统计"]
    labels = [projects.cell(row=r, column=1).value for r in range(4, projects.max_row + 1)]
    assert "项目范围外" in labels
    assert "区外" not in labels
    by_street = _header_row(book["按街道"])
    assert "逾期项目数（个）" in by_street
    assert "是否逾期" not in by_street
    units = [c.value for c in book["安置分配"]["A"]][3:]
    assert all(CJK.search(u) for u in units)  # unit names, not zone codes
    plots = book["出让地块"]
    col = _header_row(plots).index("地块来源") + 1
    assert {plots.cell(row=r, column=col).value for r in range(4, plots.max_row + 1)} == {
        "已给出（出让地块图层或参数文件）"  # the sample's plots layer
    }


def _column(ws, header: str) -> list:
    j = _header_row(ws).index(header) + 1
    return [ws.cell(row=r, column=j) for r in range(4, ws.max_row + 1)]


def test_integer_and_percent_formats(runs):
    _, book = runs["zh"]
    days = [c for c in _column(book["项目进度"], "滞后天数（天）") if c.value is not None]
    assert days
    assert all(c.number_format == "#,##0" for c in days)
    assert all(float(c.value).is_integer() for c in days)
    use = _column(book["安置地块"], "容量利用率")
    assert use
    assert all(c.number_format == "0.0%" for c in use)
    params = book["测算参数"]
    rows = {
        params.cell(row=r, column=2).value: params.cell(row=r, column=3)
        for r in range(4, params.max_row + 1)
    }
    assert rows["货币化安置比例"].number_format == "0.0%"
    assert rows["货币化安置比例"].value == pytest.approx(0.3)
    assert rows["年融资利率"].number_format == "0.0%"
    assert isinstance(rows["评估单价（元/㎡）"].value, int | float)  # a number, not text
    assert rows["过渡期（月）"].number_format == "#,##0"
    assert rows["参数来源"].value == "sample_fund.toml（货币化安置比例取自项目文件的安置设置）"
    rate = _column(book["就近安置率"], "就地就近安置率")
    assert all(c.number_format == "0.0%" for c in rate)


@pytest.mark.parametrize(("lang", "office"), [("zh", "制表单位："), ("en", "Prepared by:")])
def test_title_rows_and_print_setup(runs, lang, office):
    result, book = runs[lang]
    for ws in book.worksheets:
        assert ws["A1"].value == ws.title
        assert ws["A1"].font.b
        assert ws["A2"].value.startswith(office)
        assert result.plan.as_of.isoformat() in ws["A2"].value
        assert "样例区城市更新工作办公室" in ws["A2"].value
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.fitToWidth == 1
        assert ws.page_setup.fitToHeight == 0
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_rows == "$1:$3"  # title, office and header rows on every page
        assert ws.freeze_panes in ("A4", "B4")


def test_findings_in_the_output_language_with_source_rows(tmp_path):
    rows = [
        {"地块编号": "P1", "层数": 3, "wkt": "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))"},
        {"地块编号": "P2", "层数": 0, "wkt": "POLYGON((20 0, 30 0, 30 10, 20 10, 20 0))"},
        {"地块编号": "P3", "层数": 5, "wkt": "POLYGON((40 0, 50 0, 50 10, 40 10, 40 0))"},
    ]
    src = tmp_path / "parcels.csv"
    pd.DataFrame(rows).to_csv(src, index=False, encoding="utf-8-sig")
    for lang in ("zh", "en"):
        out = tmp_path / f"findings_{lang}.csv"
        res = CliRunner().invoke(
            cli,
            [
                "validate",
                str(src),
                "--crs",
                "EPSG:4548",
                "--findings",
                str(out),
                "--lang",
                lang,
            ],
        )
        assert res.exit_code == 1, res.output
        table = pd.read_csv(out, encoding="utf-8-sig")
        if lang == "zh":
            assert list(table.columns[:4]) == ["行号", "编号", "列", "问题类型"]
            found = table[table["问题类型"] == "数值不合理"]
            assert found["行号"].tolist() == [3]  # header is row 1, P2 is row 3 of the file
            assert found["编号"].tolist() == ["P2"]
            assert found["列"].tolist() == ["层数"]
            message = found["问题说明"].iloc[0]
            assert "层数" in message
            assert not set(WORD.findall(message)) & {"floors", "row", "implausible_value"}
        else:
            found = table[table["Problem"] == "implausible value"]
            assert found["Row"].tolist() == [3]
            assert "floors" in found["Description"].iloc[0]
            assert found["Column"].tolist() == ["floors"]  # as the file spells it


def test_findings_table_keeps_ledger_rows():
    ledger_like = pd.DataFrame(
        {
            "row": [7],
            "id": ["XM-004"],
            "column": [None],
            "problem": ["no_polygon"],
            "severity": ["warning"],
            "action": ["kept without geometry"],
            "message": ["row 7: project 'XM-004' has no polygon"],
            "value": [None],
        }
    )
    zh = findings_table(ledger_like, lang="zh")
    assert zh["finding_row"].tolist() == [7]  # spreadsheet rows already
    assert zh["finding_problem"].tolist() == ["台账项目无项目范围"]
    assert zh["finding_severity"].tolist() == ["警告"]
    assert zh["finding_message"].iloc[0] == "台账项目无项目范围（编号“XM-004”），已保留，请核实。"
    en = findings_table(ledger_like, lang="en")
    assert en["finding_message"].iloc[0] == ledger_like["message"].iloc[0]


@pytest.mark.parametrize(
    ("lang", "heading", "workbook"),
    [("zh", "输出文件:", "统计表:"), ("en", "Files written:", "Workbook:")],
)
def test_run_summary_names_files_in_its_language(runs, lang, heading, workbook):
    listed = runs[lang][0].summary().split(heading)[1]
    assert not [name for name in OUTPUT_FILES if f"\n  {name}:" in listed]
    assert workbook in listed


def test_streets_not_surveyed_have_no_building_count(grid_parcels, tmp_path):
    from geo_renewal import classify_parcels, parse_rules, zone_stats
    from geo_renewal.tables import format_table, write_table

    east = grid_parcels[grid_parcels["street"] == "东关街道"]
    buildings = gpd.GeoDataFrame(  # one footprint inside every parcel of 东关街道 only
        {"building_id": [f"B{k}" for k in range(len(east))]},
        geometry=east.geometry.buffer(-20).to_numpy(),
        crs=grid_parcels.crs,
    )
    rule = {"id": "old", "category": "demolish", "when": "build_year <= 1980"}
    rules = parse_rules({"rules": [{**rule, "reason_zh": "老旧", "reason_en": "old"}]})
    classified = classify_parcels(grid_parcels, rules, buildings=buildings)
    stats = zone_stats(classified, by="street")
    assert stats.loc["东关街道", "n_buildings"] == len(east)
    assert pd.isna(stats.loc["西关街道", "n_buildings"])  # not surveyed, not 0
    assert pd.isna(stats.loc["total", "n_buildings"])
    assert stats.loc["total", "households"] == grid_parcels["households"].sum()
    text = format_table(stats, lang="zh", columns=["n_buildings"])
    assert "未调查" in text
    ws = openpyxl.load_workbook(write_table(stats, tmp_path / "s.xlsx")).active
    cells = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=3).value for r in (2, 3)}
    assert cells == {"东关街道": len(east), "西关街道": "未调查"}


def test_demo_streets_without_building_survey(runs):
    _, book = runs["zh"]
    ws = book["按街道统计"]
    counts = {
        ws.cell(row=r, column=1).value: ws.cell(row=r, column=3).value
        for r in range(4, ws.max_row + 1)
    }
    surveyed = {k: v for k, v in counts.items() if v != "未调查"}
    assert set(surveyed) == {"文庙街道", "西关街道"}  # the sample's building survey
    assert all(isinstance(v, int) and v > 0 for v in surveyed.values())
    assert sum(v == "未调查" for v in counts.values()) == 6  # five streets and the total


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_text_tables_show_days_as_integers_and_use_as_percent(lang):
    from geo_renewal.tables import format_table

    df = pd.DataFrame(
        {"days_behind": [419.0, None], "utilisation": [1.0, 0.5], "n_overdue": [3, 0]},
        index=pd.Index(["GX09", "GX08"], name="project_id"),
    )
    lines = format_table(df, lang=lang).splitlines()
    assert lines[2].split() == ["GX09", "419", "100.0%", "3"]
    assert lines[3].split() == ["GX08", "50.0%", "0"]  # no day count: blank, not 0
    assert "419.00" not in "\n".join(lines)


def test_a_repeated_sheet_name_never_replaces_a_sheet(tmp_path):
    from geo_renewal.workflow import _SheetNames

    tables = _SheetNames()
    one, two = pd.DataFrame({"households": [1]}), pd.DataFrame({"households": [2]})
    tables["By street"] = one
    tables["By street"] = two
    tables["x" * 40] = one
    tables["x" * 40] = two
    assert list(tables) == ["By street", "By street (2)", "x" * 31, "x" * 27 + " (2)"]
    book = openpyxl.load_workbook(write_tables(dict(tables), tmp_path / "t.xlsx", lang="en"))
    assert book.sheetnames == list(tables)


RULES = """
name = "crafted"
default = "unchanged"
default_reason_zh = "不涉及"
default_reason_en = "not concerned"

[[rules]]
id = "old"
category = "demolish"
when = "build_year <= 1975"
reason_zh = "老旧"
reason_en = "old"
"""


@pytest.mark.parametrize(
    ("lang", "sheet", "row", "problem"),
    [("zh", "数据检查", "行号", "问题类型"), ("en", "Validation", "Row", "Problem")],
)
def test_workbook_findings_name_the_source_row(grid_parcels, tmp_path, lang, sheet, row, problem):
    frame = pd.DataFrame(grid_parcels.drop(columns="geometry"))
    frame["wkt"] = grid_parcels.geometry.to_wkt()
    frame.loc[3, "floors"] = 0  # the 4th parcel: row 5 of the file (header = row 1)
    frame.to_csv(tmp_path / "parcels.csv", index=False, encoding="utf-8-sig")
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    (tmp_path / "plan.toml").write_text(
        f'[project]\nname = "试点"\nlang = "{lang}"\nas_of = 2026-11-20\n\n'
        '[layers.parcels]\npath = "parcels.csv"\ncrs = "EPSG:4548"\n\n'
        '[rules]\nset = "rules.toml"\n',
        encoding="utf-8",
    )
    with pytest.warns(UserWarning, match="63号"):  # no site in the crafted plan
        result = run_plan(tmp_path / "plan.toml", out_dir=tmp_path / "out")
    ws = openpyxl.load_workbook(result.files["workbook"])[sheet]
    headers = _header_row(ws)
    found = {
        ws.cell(row=r, column=headers.index(row) + 1).value: r for r in range(4, ws.max_row + 1)
    }
    assert list(found) == [5]
    r = found[5]
    kind = ws.cell(row=r, column=headers.index(problem) + 1).value
    assert kind == ("数值不合理" if lang == "zh" else "implausible value")
    if lang == "zh":
        texts = [c.value for c in ws[r] if isinstance(c.value, str)]
        assert not [t for t in texts if set(WORD.findall(t)) & {"floors", "row", "parcels"}]


def test_no_english_code_in_the_chinese_workbook_of_the_shenzhen_rules(tmp_path):
    """A rule set's own classes (拆除重建类) are named, never coded, in the workbook."""
    plan = dataclasses.replace(load_plan(get_path("sample_plan")), rules="shenzhen", lang="zh")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*63号", UserWarning)
        result = run_plan(plan, out_dir=tmp_path)
    book = openpyxl.load_workbook(result.files["workbook"])
    codes = _codes(result) | {"demolish_rebuild", "comprehensive_renovation"}
    found = []
    for sheet, cell in _cells(book):
        if isinstance(cell.value, str):
            hit = sorted((set(WORD.findall(cell.value)) | {cell.value}) & codes)
            if hit:
                found.append(f"{sheet}!{cell.coordinate}: {cell.value!r} ({hit})")
    assert found == []
    classes = [c.value for c in book["按更新类别统计"]["A"]][3:]
    assert classes == ["拆除重建类", "综合整治类", "保护保留", "不涉及", "合计"]
    totals = result.stats["category"].loc["total"]
    demolished = result.classified["category"].astype(str) == "demolish_rebuild"
    assert totals["demolish_households"] == result.classified.loc[demolished, "households"].sum()
    assert totals["demolish_households"] > 0
