"""Tests of geo_renewal.progress: the meeting functions and the names kept in ledger."""

from __future__ import annotations

import pandas as pd
import pytest

import geopandas as gpd
import shapely

import geo_renewal
from geo_renewal import ledger, progress, schedule
from geo_renewal._errors import InputError
from geo_renewal._findings import FINDING_COLUMNS


@pytest.fixture
def raw() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "项目编号": ["A", "B", "C"],
            "项目名称": ["东关", "西关", "南苑"],
            "类型": ["征收拆迁", "征收拆迁", "保留提升"],
            "街道": ["东关街道", "西关街道", "东关街道"],
            "责任单位": ["区住建局", None, "街道办"],
            "户数": [100, 50, 30],
            "已签约户数": [80, 60, None],
            "签约计划日期": ["2024-03-01", "2024-09-01", None],
            "签约实际日期": [None, "2024-13-45", None],
            "方案计划日期": [None, None, "2024-05-01"],
        }
    )


@pytest.fixture
def polygons() -> gpd.GeoDataFrame:
    x0, y0 = 500_000.0, 4_063_000.0
    return gpd.GeoDataFrame(
        {"project_id": ["A", "B", "Z"]},
        geometry=[shapely.box(x0 + 200 * i, y0, x0 + 200 * i + 150, y0 + 150) for i in range(3)],
        crs="EPSG:4548",
    )


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("project_progress", progress),
        ("progress_summary", progress),
        ("compare_ledgers", progress),
        ("progress_tables", progress),
        ("backward_schedule", schedule),
        ("compare_schedule", schedule),
    ],
)
def test_moved_names_still_importable_from_ledger(name, module):
    assert getattr(ledger, name) is getattr(module, name)
    if name != "progress_tables":
        assert getattr(geo_renewal, name) is getattr(module, name)


def test_ledger_has_no_other_attribute():
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = ledger.no_such_name


def test_ledger_findings_have_the_common_columns(raw):
    book = ledger.read_ledger(raw)
    f = book.findings
    assert list(f.columns) == FINDING_COLUMNS
    assert f["row"].dtype.name == "Int64"
    bad = f[f["problem"] == "bad_date"].iloc[0]
    assert (bad["row"], bad["id"], bad["column"]) == (3, "B", "签约实际日期")
    assert (bad["action"], bad["value"]) == ("set to missing", "2024-13-45")
    over = f[f["problem"] == "signed_exceeds_households"].iloc[0]
    assert (over["id"], over["value"], over["action"]) == ("B", "60", "none (kept)")


def test_progress_meeting_and_texts(raw):
    meeting = progress.progress_meeting(raw, as_of="2024-06-01", lang="en")
    assert meeting.as_of == "2024-06-01"
    assert meeting.changes is None
    assert meeting.schedule is None
    assert list(meeting.tables) == ["Progress", "By street", "By type", "Ledger problems"]
    sheet = meeting.tables["Ledger problems"]
    assert list(sheet.columns) == [
        "ledger_row",
        "project_id",
        "ledger_column",
        "finding_problem",
        "finding_severity",
        "finding_message",
    ]
    text = meeting.summary_text().splitlines()
    assert "3 projects on 2024-06-01, 2 overdue" in text
    assert "  overdue: A 东关 — Signing, 92 days behind (区住建局)" in text
    problems = meeting.problems_text(limit=1).splitlines()
    assert problems[0] == "ledger problems: 2 errors, 0 warnings (sheet 'Ledger problems')"
    assert len(problems) == 2
    assert problems[1].startswith("  error: row 3")


def test_progress_meeting_with_previous_and_durations(raw):
    old = ledger.read_ledger(raw.assign(已签约户数=[40, 50, None]))
    durations = {"签约": 30, "拆除": 30, "组卷报批": 30, "供地": 30, "开工": 30}
    durations |= {"方案": 30, "施工": 30, "竣工验收": 30}
    meeting = progress.progress_meeting(
        ledger.read_ledger(raw.assign(目标日期="2025-12-31")),
        previous=old,
        previous_as_of="2024-01-01",
        as_of=pd.Timestamp("2024-06-01"),
        durations=durations,
    )
    assert meeting.as_of == "2024-06-01"
    assert meeting.changes["project_id"].tolist() == ["A", "B", "C"]
    assert list(meeting.tables)[-2:] == ["变化情况", "倒排工期"]
    assert meeting.summary_text().endswith("3 projects changed since the previous ledger")


def test_write_progress_meeting(tmp_path, raw, polygons):
    openpyxl = pytest.importorskip("openpyxl")
    pytest.importorskip("folium")
    meeting = progress.progress_meeting(raw, projects=polygons, as_of="2024-06-01")
    map_path, xlsx_path = progress.write_progress_meeting(
        meeting, tmp_path / "p.html", tiles="none"
    )
    assert map_path.exists()
    assert xlsx_path == tmp_path / "p.xlsx"
    html = map_path.read_text(encoding="utf-8")
    assert "项目进度 2024-06-01" in html
    assert openpyxl.load_workbook(xlsx_path).sheetnames == [
        "项目进度",
        "按街道",
        "按类型",
        "台账问题",
    ]
    _, other = progress.write_progress_meeting(
        meeting, tmp_path / "q.html", xlsx=tmp_path / "x.xlsx", tiles="none", title="T"
    )
    assert other == tmp_path / "x.xlsx"
    assert other.exists()


def test_write_progress_meeting_needs_polygons(tmp_path, raw):
    meeting = progress.progress_meeting(raw, as_of="2024-06-01")
    with pytest.raises(InputError, match="projects="):
        progress.write_progress_meeting(meeting, tmp_path / "p.html")
