"""Tests of geo_renewal.ledger: reading, checks, progress, schedules, comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import geopandas as gpd
import shapely

from geo_renewal import schema
from geo_renewal._errors import InputError, SchemaError
from geo_renewal.ledger import (
    Ledger,
    backward_schedule,
    compare_ledgers,
    compare_schedule,
    progress_summary,
    project_progress,
    read_ledger,
)

ZH_HEADERS = [
    "项目编号",
    "项目名称",
    "类型",
    "街道",
    "责任单位",
    "责任人",
    "户数",
    "已签约户数",
    "拆除建筑面积",
    "目标日期",
    *[
        f"{schema.STAGES[s][0]}{k}日期"
        for s in (*schema.PIPELINES["demolish"], *schema.PIPELINES["retain_upgrade"])
        for k in ("计划", "实际")
    ],
]


def _row(pid, name, ptype, street, hh, signed, area, target, dates):
    """A ledger row with Chinese headers; `dates` maps '<stage>计划日期' -> value."""
    row = dict.fromkeys(ZH_HEADERS)
    row.update(
        {
            "项目编号": pid,
            "项目名称": name,
            "类型": ptype,
            "街道": street,
            "责任单位": "区住建局",
            "责任人": "张三",
            "户数": hh,
            "已签约户数": signed,
            "拆除建筑面积": area,
            "目标日期": target,
        }
    )
    row.update(dates)
    return row


@pytest.fixture
def clean_rows() -> list[dict]:
    return [
        # Demolition done, in approval; approval planned 2024-05-01 -> overdue at 2024-06-30.
        _row(
            "XM-001",
            "东关片区",
            "征收拆迁",
            "东关街道",
            120,
            120,
            9600.0,
            "2025-12-31",
            {
                "签约计划日期": "2024-01-31",
                "签约实际日期": "2024-01-20",
                "拆除计划日期": "2024-03-31",
                "拆除实际日期": "2024-04-10",
                "组卷报批计划日期": "2024-05-01",
                "供地计划日期": "2024-09-30",
                "开工计划日期": "2025-03-31",
            },
        ),
        # Still signing, plan in the future.
        _row(
            "XM-002",
            "西关片区",
            "征收拆迁",
            "西关街道",
            200,
            150,
            15000.0,
            "2026-06-30",
            {"签约计划日期": "2024-08-31", "拆除计划日期": "2024-12-31"},
        ),
        # Upgrade project, finished.
        _row(
            "XM-003",
            "南苑小区",
            "保留提升",
            "东关街道",
            80,
            None,
            None,
            "2024-12-31",
            {
                "方案计划日期": "2023-10-01",
                "方案实际日期": "2023-09-15",
                "施工计划日期": "2024-03-01",
                "施工实际日期": "2024-03-20",
                "竣工验收计划日期": "2024-05-01",
                "竣工验收实际日期": "2024-05-01",
            },
        ),
        # Upgrade project in works, works planned 2024-06-01 -> overdue.
        _row(
            "XM-004",
            "北园小区",
            "保留提升",
            "西关街道",
            60,
            None,
            None,
            "2024-12-31",
            {
                "方案计划日期": "2024-02-01",
                "方案实际日期": "2024-02-01",
                "施工计划日期": "2024-06-01",
                "竣工验收计划日期": "2024-09-01",
            },
        ),
    ]


@pytest.fixture
def projects() -> gpd.GeoDataFrame:
    x0, y0 = 500_000.0, 4_063_000.0
    ids = ["XM-001", "XM-002", "XM-003", "XM-009"]
    return gpd.GeoDataFrame(
        {"project_id": ids, "name": ["a", "b", "c", "d"]},
        geometry=[shapely.box(x0 + 200 * i, y0, x0 + 200 * i + 150, y0 + 150) for i in range(4)],
        crs="EPSG:4548",
    )


@pytest.fixture
def xlsx_ledger(tmp_path, clean_rows):
    path = tmp_path / "台账.xlsx"
    df = pd.DataFrame(clean_rows, columns=ZH_HEADERS)
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame({"说明": ["封面"]}).to_excel(xw, sheet_name="说明", index=False)
        df.to_excel(xw, sheet_name="台账", index=False)
    return path


# ---------------------------------------------------------------------------- reading


def test_read_xlsx_chinese_headers_and_join(xlsx_ledger, projects):
    ledger = read_ledger(xlsx_ledger, projects=projects)
    assert isinstance(ledger, Ledger)
    t = ledger.table
    assert isinstance(t, gpd.GeoDataFrame)
    assert t.crs == projects.crs
    assert t["project_id"].tolist() == ["XM-001", "XM-002", "XM-003", "XM-004"]
    assert t["project_type"].tolist() == ["demolish", "demolish", "retain_upgrade"] * 1 + [
        "retain_upgrade"
    ]
    assert t.loc[0, "signing_actual"] == pd.Timestamp("2024-01-20")
    assert t.loc[0, "households"] == 120
    assert t.loc[0, "responsible_person"] == "张三"
    assert t["ledger_row"].tolist() == [2, 3, 4, 5]
    # Not dropped: XM-004 has no polygon, XM-009 has no ledger row.
    assert t["has_polygon"].tolist() == [True, True, True, False]
    assert t.geometry.iloc[3] is None or t.geometry.iloc[3].is_empty
    assert ledger.unmatched_projects["project_id"].tolist() == ["XM-009"]
    problems = ledger.findings.set_index("problem")
    assert problems.loc["no_polygon", "id"] == "XM-004"
    assert problems.loc["no_polygon", "row"] == 5
    assert problems.loc["no_ledger_row", "id"] == "XM-009"
    assert ledger.ok  # only warnings


def test_read_csv_encodings_and_english_headers(tmp_path, clean_rows):
    df = pd.DataFrame(clean_rows, columns=ZH_HEADERS)
    for enc in ("utf-8-sig", "utf-8", "gbk"):
        path = tmp_path / f"ledger_{enc}.csv"
        df.to_csv(path, index=False, encoding=enc)
        ledger = read_ledger(path)
        assert ledger.table["name"].tolist()[0] == "东关片区", enc
        assert ledger.table.loc[1, "signed_households"] == 150
        assert ledger.ok, ledger.findings
    en = read_ledger(path).table
    english = pd.DataFrame(
        {
            "project_id": ["E1"],
            "project_type": ["demolish"],
            "households": [10],
            "signed_households": [4],
            "Signing planned": ["2024/3/1"],
            "signing_actual": ["2024年2月27日"],
            "demolition_planned": [20240501],
        }
    )
    epath = tmp_path / "en.csv"
    english.to_csv(epath, index=False)
    t = read_ledger(epath).table
    assert t.loc[0, "signing_planned"] == pd.Timestamp("2024-03-01")
    assert t.loc[0, "signing_actual"] == pd.Timestamp("2024-02-27")
    assert t.loc[0, "demolition_planned"] == pd.Timestamp("2024-05-01")
    assert set(en.columns) >= {f"{s}_actual" for s in schema.PIPELINES["demolish"]}


def test_bad_rows_reported_with_row_and_column(tmp_path, clean_rows):
    rows = [dict(r) for r in clean_rows]
    rows[1]["已签约户数"] = 250  # signed > households (200)
    rows[2]["类型"] = "拆违"  # unknown type
    rows[3]["项目编号"] = "XM-001"  # duplicate id
    rows[0]["开工实际日期"] = "2024-02-01"  # actual before demolition (and earlier stages missing)
    rows[0]["供地计划日期"] = "2024-04-01"  # planned before approval planned 2024-05-01
    rows[1]["拆除计划日期"] = "2024-13-45"  # unparseable date
    extra = _row(
        "XM-005",
        "北关",
        "保留提升",
        "东关街道",
        10,
        0,
        None,
        None,
        {"方案计划日期": "2024-01-01", "签约计划日期": "2024-01-01"},  # signing not upgrade
    )
    rows.append(extra)
    df = pd.DataFrame(rows, columns=ZH_HEADERS)
    df["测绘计划日期"] = None  # a stage nobody knows
    df["资金计划"] = "5000万"  # not a stage: an ordinary extra column
    path = tmp_path / "bad.xlsx"
    df.to_excel(path, sheet_name="台账", index=False)

    ledger = read_ledger(path)
    f = ledger.findings
    assert not ledger.ok
    assert len(ledger.table) == 5  # nothing dropped

    def one(problem):
        sub = f[f["problem"] == problem]
        assert len(sub) >= 1, (problem, f)
        return sub.iloc[0]

    r = one("signed_exceeds_households")
    assert (r["row"], r["column"], r["severity"]) == (3, "已签约户数", "error")
    assert "250" in r["message"]
    assert "200" in r["message"]
    r = one("unknown_type")
    assert (r["row"], r["column"]) == (4, "类型")
    assert "拆违" in r["message"]
    assert "征收拆迁" in r["message"]
    r = one("duplicate_id")
    assert (r["row"], r["id"]) == (5, "XM-001")
    assert "row 2" in r["message"]
    r = one("actual_out_of_order")
    assert (r["row"], r["column"]) == (2, "开工实际日期")
    assert "2024-02-01" in r["message"]
    assert "2024-04-10" in r["message"]
    r = one("planned_out_of_order")
    assert (r["row"], r["column"]) == (2, "供地计划日期")
    r = one("bad_date")
    assert (r["row"], r["column"]) == (3, "拆除计划日期")
    assert "2024-13-45" in r["message"]
    assert pd.isna(ledger.table.loc[1, "demolition_planned"])
    unknown = f[f["problem"] == "unknown_stage"]
    assert unknown["column"].tolist() == ["测绘计划日期"]
    assert ledger.table["资金计划"].iloc[0] == "5000万"
    assert unknown["row"].isna().all()
    r = one("stage_not_in_pipeline")
    assert (r["row"], r["column"]) == (6, "签约计划日期")
    skipped = f[f["problem"] == "stage_skipped"]
    assert (skipped["severity"] == "warning").all()
    # Findings are sorted by row; column-level ones last.
    rows_seen = f["row"].dropna().tolist()
    assert rows_seen == sorted(rows_seen)


def test_reported_stage_and_custom_pipeline(tmp_path):
    raw = pd.DataFrame(
        {
            "项目编号": ["A", "B"],
            "类型": ["征收拆迁", "征收拆迁"],
            "当前阶段": ["签约", "搬家"],
            "测绘计划日期": ["2024-01-01", "2024-01-01"],
            "测绘实际日期": ["2024-01-05", None],
            "签约计划日期": ["2024-02-01", "2024-02-01"],
        }
    )
    ledger = read_ledger(
        raw,
        pipelines={"demolish": ["survey", "签约", "拆除"]},
        stages={"survey": ("测绘", "Survey")},
    )
    f = ledger.findings
    assert f["problem"].tolist() == ["unknown_stage"]
    assert f.iloc[0]["row"] == 3
    assert "搬家" in f.iloc[0]["message"]
    assert ledger.pipelines["demolish"] == ("survey", "signing", "demolition")
    prog = project_progress(ledger, as_of="2024-03-01", lang="en")
    assert prog["stage"].tolist() == ["signing", "survey"]
    assert prog["stage_label"].tolist() == ["Signing", "Survey"]
    with pytest.raises(InputError, match="unknown stage 'moving'"):
        read_ledger(raw, pipelines={"demolish": ["moving"]})


def test_missing_id_column_is_a_schema_error(tmp_path):
    with pytest.raises(SchemaError, match="项目编号"):
        read_ledger(pd.DataFrame({"名称": ["x"], "类型": ["征收拆迁"]}))
    with pytest.raises(InputError, match="does not exist"):
        read_ledger(tmp_path / "nope.xlsx")
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(InputError, match=r"\.csv or \.xlsx"):
        read_ledger(tmp_path / "a.json")


def test_sheet_selection(xlsx_ledger):
    assert len(read_ledger(xlsx_ledger).table) == 4  # 台账 picked over the first sheet
    with pytest.raises(InputError, match="its sheets are"):
        read_ledger(xlsx_ledger, sheet="进度")


def test_inputs_not_mutated(clean_rows, projects):
    raw = pd.DataFrame(clean_rows, columns=ZH_HEADERS)
    before_raw, before_poly = raw.copy(), projects.copy()
    ledger = read_ledger(raw, projects=projects)
    project_progress(ledger, as_of="2024-06-30")
    pd.testing.assert_frame_equal(raw, before_raw)
    pd.testing.assert_frame_equal(pd.DataFrame(projects), pd.DataFrame(before_poly))


# ---------------------------------------------------------------------------- progress


def test_progress_and_overdue_on_fixed_dates(xlsx_ledger, projects):
    ledger = read_ledger(xlsx_ledger, projects=projects)
    p = project_progress(ledger, as_of="2024-06-30")
    assert isinstance(p, gpd.GeoDataFrame)
    assert p.index.equals(ledger.table.index)
    assert p["stage"].tolist() == ["approval", "signing", "done", "works"]
    assert p["stage_label"].tolist() == ["组卷报批", "签约", "已完成", "施工"]
    # approval planned 2024-05-01 -> 60 days behind at 2024-06-30.
    assert p.loc[0, "days_behind"] == 60
    assert p.loc[1, "days_behind"] == -62  # signing planned 2024-08-31
    assert pd.isna(p.loc[2, "days_behind"])
    assert p.loc[3, "days_behind"] == 29
    assert p["overdue"].tolist() == [True, False, False, True]
    assert p["overdue"].dtype == bool
    assert p.loc[0, "overdue_stages"] == "组卷报批"
    assert p.loc[1, "signing_rate"] == pytest.approx(0.75)
    assert p.loc[0, "signing_rate"] == 1.0
    assert pd.isna(p.loc[2, "signing_rate"])  # households 80, signed blank
    for col in ("project_id", "name", "project_type", "stage", "overdue", "signing_rate"):
        assert col in p.columns
    assert "responsible_unit" in p.columns
    assert "geometry" in p.columns

    # The day a stage is due is not overdue; the day after it is.
    on_day = project_progress(ledger, as_of="2024-05-01")
    assert on_day.loc[0, "stage"] == "approval"
    assert on_day.loc[0, "days_behind"] == 0
    assert not on_day.loc[0, "overdue"]
    assert project_progress(ledger, as_of="2024-05-02").loc[0, "overdue"]
    # Replaying an earlier date ignores later actual dates.
    early = project_progress(ledger, as_of="2024-04-01")
    assert early.loc[0, "stage"] == "demolition"
    assert early.loc[0, "days_behind"] == 1  # demolition planned 2024-03-31
    assert early.loc[2, "stage"] == "acceptance"
    # Several stages past their plan are all listed.
    late = project_progress(ledger, as_of="2025-01-01", lang="en")
    assert late.loc[0, "overdue_stages"] == "Land approval, Land supply"
    assert late.loc[0, "n_overdue_stages"] == 2


def test_not_started_with_start_date():
    raw = pd.DataFrame(
        {
            "project_id": ["A", "B"],
            "project_type": ["demolish", "demolish"],
            "启动日期": ["2024-09-01", "2024-01-01"],
            "signing_planned": ["2024-12-31", "2024-03-01"],
        }
    )
    p = project_progress(read_ledger(raw), as_of="2024-06-30")
    assert p["stage"].tolist() == ["not_started", "signing"]
    assert p["stage_index"].tolist() == [0, 1]
    assert p["overdue"].tolist() == [False, True]


def test_progress_requires_a_date(xlsx_ledger):
    with pytest.raises(InputError, match="as_of"):
        project_progress(read_ledger(xlsx_ledger), as_of="soon")


def test_progress_summary_by_street_and_type(xlsx_ledger):
    p = project_progress(read_ledger(xlsx_ledger), as_of="2024-06-30")
    s = progress_summary(p, by="street")
    assert s.index.name == "street"
    assert s.index.tolist() == ["东关街道", "西关街道", "total"]
    assert s.loc["东关街道", "projects"] == 2
    assert s.loc["东关街道", "approval"] == 1
    assert s.loc["东关街道", "done"] == 1
    assert s.loc["西关街道", "n_overdue"] == 1
    assert s.loc["total", "projects"] == len(p)
    assert s.loc["total", "n_overdue"] == int(p["overdue"].sum())
    assert s.loc["total", "households"] == p["households"].sum()
    assert s.loc["total", "signed_households"] == p["signed_households"].sum()
    # Upgrade projects do not sign: the rate counts the expropriation households only.
    assert s.loc["西关街道", "households"] == 260
    assert s.loc["西关街道", "signing_households"] == 200
    assert s.loc["西关街道", "signing_rate"] == pytest.approx(150 / 200)
    stage_cols = ["signing", "approval", "works", "done"]
    assert list(s.columns[1:5]) == stage_cols
    assert (s[stage_cols].sum(axis=1) == s["projects"]).all()
    t = progress_summary(p, by="project_type", total=False)
    assert t.loc["demolish", "projects"] == 2
    assert np.isnan(t.loc["retain_upgrade", "signing_rate"])
    assert "total" not in t.index
    blank = progress_summary(p.assign(street=[None, "", "东关街道", "东关街道"]))
    assert blank.loc["missing", "projects"] == 2
    two = progress_summary(p, by=["street", "project_type"])
    assert two.loc[("东关街道", "demolish"), "projects"] == 1
    assert two.loc[("total", ""), "projects"] == 4
    with pytest.raises(SchemaError, match="responsible"):
        progress_summary(p.drop(columns="responsible_unit"), by="responsible_unit")


# ---------------------------------------------------------------------------- schedules


def test_backward_schedule_chain():
    durations = {"签约": 90, "拆除": "60D", "组卷报批": 45, "供地": 30, "开工": 60}
    s = backward_schedule("2025-12-31", durations)
    assert s["stage"].tolist() == list(schema.PIPELINES["demolish"])
    target = pd.Timestamp("2025-12-31")
    assert s["latest_finish"].iloc[-1] == target
    assert s["latest_start"].iloc[0] == target - pd.Timedelta(days=90 + 60 + 45 + 30 + 60)
    # Each stage finishes when the next one must start.
    assert (s["latest_finish"].iloc[:-1].to_numpy() == s["latest_start"].iloc[1:].to_numpy()).all()
    assert ((s["latest_finish"] - s["latest_start"]).dt.days == s["duration_days"]).all()
    with pytest.raises(InputError, match="≥ 0"):
        backward_schedule("2025-12-31", {"signing": -5})


def test_compare_schedule_against_plan(xlsx_ledger):
    durations = {
        "demolish": {"签约": 90, "拆除": 60, "组卷报批": 45, "供地": 30, "开工": 60},
        "retain_upgrade": {"design": 60, "works": 120, "acceptance": 30},
    }
    c = compare_schedule(read_ledger(xlsx_ledger), durations, as_of="2024-06-30")
    assert len(c) == 2 * 5 + 2 * 3
    assert c["project_id"].tolist()[:5] == ["XM-001"] * 5
    row = c[(c["project_id"] == "XM-004") & (c["stage"] == "works")].iloc[0]
    # target 2024-12-31, acceptance 30 d -> works must finish by 2024-12-01; planned 06-01.
    assert row["latest_finish"] == pd.Timestamp("2024-12-01")
    assert row["latest_start"] == pd.Timestamp("2024-08-03")
    assert row["slack_days"] == (pd.Timestamp("2024-12-01") - pd.Timestamp("2024-06-01")).days
    assert not row["plan_too_late"]
    design = c[(c["project_id"] == "XM-004") & (c["stage"] == "design")].iloc[0]
    assert design["latest_finish"] == pd.Timestamp("2024-08-03")
    assert not design["past_latest_finish"]
    # XM-003: target 2024-12-31 but everything was done early.
    xm3 = c[c["project_id"] == "XM-003"]
    assert not xm3["past_latest_finish"].any()
    with pytest.raises(InputError, match=r"no duration for stages \['works', 'acceptance'\]"):
        compare_schedule(read_ledger(xlsx_ledger), {**durations, "retain_upgrade": {"方案": 1}})


# ---------------------------------------------------------------------------- comparison


def test_compare_ledgers(clean_rows):
    old_rows = [dict(r) for r in clean_rows]
    new_rows = [dict(r) for r in clean_rows]
    new_rows[1]["已签约户数"] = 200  # signing complete
    new_rows[1]["签约实际日期"] = "2024-07-10"
    del new_rows[2]  # XM-003 removed
    new_rows.append(
        _row(
            "XM-006",
            "新项目",
            "征收拆迁",
            "西关街道",
            5,
            0,
            100.0,
            None,
            {"签约计划日期": "2024-12-01"},
        )
    )
    old = read_ledger(pd.DataFrame(old_rows, columns=ZH_HEADERS))
    new = read_ledger(pd.DataFrame(new_rows, columns=ZH_HEADERS))
    d = compare_ledgers(old, new, old_as_of="2024-06-01", as_of="2024-07-15").set_index(
        "project_id"
    )
    assert set(d.index) == {"XM-002", "XM-003", "XM-004", "XM-006"}
    assert d.loc["XM-002", "old_stage"] == "signing"
    assert d.loc["XM-002", "new_stage"] == "demolition"
    assert d.loc["XM-002", "stage_steps"] == 1
    assert d.loc["XM-002", "signing_rate_change"] == pytest.approx(0.25)
    assert d.loc["XM-002", "signed_change"] == 50
    assert d.loc["XM-002", "signing_changed"]
    assert "签约 → 拆除" in d.loc["XM-002", "change"]
    # XM-004: works planned 2024-06-01 -> overdue by 07-15 but not on 06-01.
    assert d.loc["XM-004", "newly_overdue"]
    assert not d.loc["XM-004", "old_overdue"]
    assert d.loc["XM-003", "is_removed"]
    assert d.loc["XM-006", "is_new"]
    assert d.loc["XM-006", "change"] == "新增项目"
    # XM-001 was overdue before and still is, with unchanged data: not listed.
    assert "XM-001" not in d.index

    # Same data, same day: nothing moved.
    same = compare_ledgers(old, old, as_of="2024-06-01")
    assert same.empty
    full = compare_ledgers(old, old, as_of="2024-06-01", only_changed=False)
    assert len(full) == len(old.table)
    # Progress frames work as input; ledgers need a date.
    p_old = project_progress(old, as_of="2024-06-01")
    p_new = project_progress(new, as_of="2024-07-15")
    pd.testing.assert_frame_equal(compare_ledgers(p_old, p_new), d.reset_index(), check_like=False)
    with pytest.raises(InputError, match="as_of"):
        compare_ledgers(old, new)


def test_compare_refuses_duplicate_ids(clean_rows):
    rows = [dict(r) for r in clean_rows]
    rows[1]["项目编号"] = "XM-001"
    dup = read_ledger(pd.DataFrame(rows, columns=ZH_HEADERS))
    with pytest.raises(InputError, match=r"repeats project ids \['XM-001'\]"):
        compare_ledgers(dup, dup, as_of="2024-06-01")


# ---------------------------------------------------------------------------- CLI and map


@pytest.fixture
def projects_gpkg(tmp_path, projects):
    path = tmp_path / "district.gpkg"
    projects.to_file(path, layer="projects")
    return path


def _run_progress(tmp_path, xlsx_ledger, projects_gpkg, *extra):
    from click.testing import CliRunner

    from geo_renewal.cli import cli

    out = tmp_path / "maps" / "progress.html"
    args = ["progress", str(xlsx_ledger), "--projects", str(projects_gpkg)]
    args += ["--as-of", "2024-06-30", "--out", str(out), *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return out, result


def test_cli_progress_writes_map_and_workbook(tmp_path, xlsx_ledger, projects_gpkg):
    import openpyxl

    out, result = _run_progress(
        tmp_path,
        xlsx_ledger,
        projects_gpkg,
        "--previous",
        str(xlsx_ledger),
        "--previous-as-of",
        "2024-05-01",
        *[f"--duration={s}=30" for s in ("签约", "拆除", "组卷报批", "供地", "开工")],
        *[f"--duration={s}=30" for s in ("方案", "施工", "竣工验收")],
    )
    assert out.exists()
    html = out.read_text(encoding="utf-8")
    assert "组卷报批" in html
    assert "4 projects on 2024-06-30, 2 overdue" in result.output
    assert "XM-001" in result.output
    book = openpyxl.load_workbook(out.with_suffix(".xlsx"))
    assert book.sheetnames == ["项目进度", "按街道", "按类型", "台账问题", "变化情况", "倒排工期"]
    ws = book["项目进度"]
    headers = [c.value for c in ws[1]]
    for h in ("项目编号", "当前阶段", "是否逾期", "签约率", "滞后天数（天）", "责任人"):
        assert h in headers, h
    rows = {
        r[0]: dict(zip(headers, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)
    }
    assert rows["XM-001"]["当前阶段"] == "组卷报批"
    assert rows["XM-001"]["项目类型"] == "征收拆迁"
    assert rows["XM-001"]["是否逾期"] == "是"
    problems = [c.value for c in book["台账问题"]["F"]][1:]
    assert any("XM-004" in str(p) for p in problems)  # no polygon reported


def test_cli_progress_refuses_bad_input(tmp_path, xlsx_ledger, projects_gpkg):
    from click.testing import CliRunner

    from geo_renewal.cli import cli

    result = CliRunner().invoke(
        cli,
        ["progress", str(xlsx_ledger), "--projects", str(projects_gpkg), "--as-of", "soon",
         "--out", str(tmp_path / "p.html")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "as_of" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(
        cli,
        ["progress", str(xlsx_ledger), "--projects", str(projects_gpkg), "--duration", "签约",
         "--out", str(tmp_path / "p.html")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "STAGE=DAYS" in result.output


def test_cli_fund(tmp_path, xlsx_ledger, projects_gpkg):
    import openpyxl
    from click.testing import CliRunner

    from geo_renewal.cli import cli

    out = tmp_path / "fund.xlsx"
    args = ["fund", str(projects_gpkg), "--layer", "projects", "--ledger", str(xlsx_ledger)]
    result = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "XM-004" in result.output  # no polygon -> no land area, warned
    book = openpyxl.load_workbook(out)
    # The bundled placeholder parameters: the workbook opens with its caveat.
    assert book.sheetnames == [
        "使用须知",
        "区域平衡",
        "项目测算",
        "出让地块",
        "敏感性分析",
        "测算参数",
    ]
    assert any("占位值" in str(c.value) for row in book["使用须知"].iter_rows() for c in row)
    assert "总成本（万元）" in [c.value for c in book["区域平衡"][1]]


@pytest.mark.browser
def test_progress_map_in_chromium(tmp_path, xlsx_ledger, projects_gpkg):
    from browser import open_in_chromium, pixel_stddev, requires_chromium

    if requires_chromium.args[0]:
        pytest.fail("the progress map test needs playwright and /usr/bin/chromium")
    out, _ = _run_progress(tmp_path, xlsx_ledger, projects_gpkg, "--offline")

    def click_first_project(page):
        pt = page.evaluate(
            """() => {
            const e = geoRenewal.layers[0], m = e.path._map;
            const p = m.latLngToContainerPoint(geoRenewal.featureLatLng(e, 0));
            const r = m.getContainer().getBoundingClientRect();
            return [p.x + r.left, p.y + r.top];
        }"""
        )
        page.mouse.move(pt[0], pt[1])
        page.wait_for_timeout(80)
        page.mouse.click(pt[0], pt[1])
        page.wait_for_timeout(200)

    res = open_in_chromium(
        out,
        actions=click_first_project,
        evaluate={
            "layers": "geoRenewal.layers.map(e => [e.name, e.count, e.path._nf])",
            "legend": "document.querySelector('.gr-legend').textContent",
            "title": "document.querySelector('.gr-title').textContent",
            "popup": "(document.querySelector('.leaflet-popup-content') || {}).textContent || ''",
        },
    )
    assert res.errors == []
    assert res.dialogs == []
    assert res.external_requests == []
    layers = res.values["layers"]
    # Three projects have polygons (XM-004 has none); XM-001 is the overdue one among them.
    assert [(n.split(" ")[0], c, d) for n, c, d in layers] == [("项目", 3, 3), ("逾期项目", 1, 1)]
    legend = res.values["legend"]
    for text in ("项目阶段", "组卷报批", "签约", "已完成", "逾期项目"):
        assert text in legend
    assert res.values["title"] == "项目进度 2024-06-30"
    popup = res.values["popup"]
    assert "XM-001" in popup  # the first project's ledger row
    assert "张三" in popup
    assert "区住建局" in popup
    assert "组卷报批" in popup
    assert pixel_stddev(res.screenshot) > 5


# ---------------------------------------------------------------------------- sample district


def test_sample_district_ledger():
    from geo_renewal import datasets
    from geo_renewal.fund import fund_balance

    ledger = read_ledger(
        datasets.get_path("sample_ledger"), projects=datasets.get_path("sample_district")
    )
    assert ledger.findings.empty, ledger.findings
    assert ledger.table["has_polygon"].all()
    assert ledger.unmatched_projects.empty
    as_of = pd.Timestamp("2026-11-20")  # the sample's "as of" day
    p = project_progress(ledger, as_of=as_of)
    open_stage = p["stage"] != "done"
    assert (p["overdue"] == (open_stage & (p["stage_planned"] < as_of))).all()
    assert p["overdue"].sum() >= 4  # the generator puts four projects behind schedule
    s = progress_summary(p, by="street")
    assert s.loc["total", "projects"] == len(ledger.table)
    assert s.loc["total", "households"] == ledger.table["households"].sum()
    fb = fund_balance(ledger)
    n_demolish = int((ledger.table["project_type"] == "demolish").sum())
    assert len(fb.plots) == n_demolish  # one derived sale plot per expropriation project
    assert fb.bundles.loc["total", "balance"] == pytest.approx(fb.projects["balance"].sum())


# ---------------------------------------------------------------------------- total rows

_SPECIAL_LABELS = (
    "合计",
    "小计",
    "总计",
    "东关街道小计",
    "其中：征收拆迁",
    "备注：以上为初步数据",
    "合 计",
)


@pytest.fixture(scope="module")
def sample_raw() -> pd.DataFrame:
    """The sample ledger as a frame of cells (Chinese headers)."""
    from geo_renewal import datasets

    return pd.read_excel(datasets.get_path("sample_ledger"), dtype=object)


def _project_totals(ledger: Ledger) -> dict:
    t = ledger.table
    return {
        "ids": list(t["project_id"]),
        "households": t["households"].sum(),
        "signed_households": t["signed_households"].sum(),
        "area": t["demolished_floor_area"].sum(),
        "signing": list(t["signing_actual"]),
    }


@pytest.fixture(scope="module")
def sample_totals(sample_raw) -> dict:
    return _project_totals(read_ledger(sample_raw))


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_total_rows_anywhere_give_the_project_totals(sample_raw, sample_totals, data):
    """Total, subtotal, breakdown and note rows in random places do not change any total."""
    clean = sample_totals
    n_extra = data.draw(st.integers(1, 6), label="extra rows")
    raw = sample_raw.copy()
    for _ in range(n_extra):
        at = data.draw(st.integers(0, len(raw)), label="position")
        label = data.draw(st.sampled_from(_SPECIAL_LABELS), label="label")
        column = data.draw(st.sampled_from(["项目编号", "项目名称"]), label="label column")
        hh = data.draw(st.one_of(st.none(), st.integers(0, 100_000)), label="户数")
        row = pd.DataFrame([{column: label, "户数": hh, "已签约户数": hh}], dtype=object)
        raw = pd.concat([raw.iloc[:at], row, raw.iloc[at:]], ignore_index=True)
    ledger = read_ledger(raw)
    assert _project_totals(ledger) == clean
    special = ledger.findings["problem"].str.endswith("_row")
    assert special.sum() == n_extra
    assert not (ledger.findings["severity"] == "error").any(), ledger.findings
