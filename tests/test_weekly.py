"""The weekly cycle end to end on the sample's four weeks: CLI, meeting, playback, project file."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from small_plan import write_small_plan

from geo_renewal import datasets, schema
from geo_renewal._errors import InputError
from geo_renewal.cli import cli
from geo_renewal.datasets._weekly import STREETS, WEEKS
from geo_renewal.plan import load_plan
from geo_renewal.store import LedgerStore
from geo_renewal.weekly import weekly_meeting, write_weekly_meeting
from geo_renewal.workflow import run_plan


def _import_args(day: dt.date, store) -> list[str]:
    week = datasets.get_path("weekly") / day.isoformat()
    return [
        "ledger",
        "import",
        *(str(week / f"{s}台账.xlsx") for s in STREETS),
        "--as-of",
        day.isoformat(),
        "--store",
        str(store),
        "--projects",
        str(datasets.get_path("sample_district")),
        "--tasks",
        str(week / "任务分解.xlsx"),
        "--households",
        str(week / "一户一档.xlsx"),
        "--decisions",
        str(week / "例会商定事项.xlsx"),
    ]


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    """The sample's four weeks imported with the CLI, as a planner does it."""
    store = tmp_path_factory.mktemp("weekly") / "renewal.gpkg"
    runner = CliRunner()
    for day in WEEKS:
        result = runner.invoke(cli, _import_args(day, store))
        assert result.exit_code == 0, result.output
        assert f"snapshot {day} imported: 7 projects from 2 ledger file(s)" in result.output
    return store


def test_the_cli_refuses_a_week_imported_twice_and_reads_the_store_back(sample_store):
    runner = CliRunner()
    again = runner.invoke(cli, _import_args(WEEKS[-1], sample_store))
    assert again.exit_code == 1
    assert "has a snapshot of 2026-11-20 already" in again.output
    later = _import_args(WEEKS[-1], sample_store)
    later[later.index("--as-of") + 1] = "2026-11-27"
    refused = runner.invoke(cli, later)
    assert "河畔街道台账.xlsx (ledger) was imported before" in refused.output
    assert "Traceback" not in refused.output
    skipped = runner.invoke(cli, [*later, "--skip-known"])
    assert skipped.exit_code == 0
    assert "nothing imported for 2026-11-27" in skipped.output
    snaps = runner.invoke(cli, ["ledger", "snapshots", "--store", str(sample_store)])
    assert snaps.output.count("河畔街道台账.xlsx") == 4
    hist = runner.invoke(cli, ["ledger", "history", "GX09", "--store", str(sample_store)])
    assert [int(n) for n in re.findall(r"  (22\d)  ", hist.output)] == [220, 223, 226, 229]
    diff = runner.invoke(
        cli,
        [
            "ledger",
            "diff",
            "--from",
            "2026-11-06",
            "--to",
            "2026-11-13",
            "--lang",
            "en",
            "--store",
            str(sample_store),
        ],
    )
    assert "Land approval → Land supply" in diff.output
    assert "GX08" in diff.output
    assert "GX10" in diff.output


def test_the_last_week_is_the_sample_ledger(sample_store):
    """One truth: the store's latest snapshot and sample_ledger.xlsx agree project by project."""
    from geo_renewal.ledger import read_ledger
    from geo_renewal.progress import project_progress

    store = LedgerStore(sample_store)
    assert store.dates()[-1] == WEEKS[-1]
    projects = datasets.get_path("sample_district")
    ledger = read_ledger(
        datasets.get_path("sample_ledger"), projects=projects, projects_layer="projects"
    )
    cols = ["stage", "overdue", "days_behind", "signed_households", "households"]
    want = project_progress(ledger, as_of=WEEKS[-1]).set_index("project_id")
    want = want[want["street"].isin(STREETS)][cols].sort_index()
    got = project_progress(store.snapshot(), as_of=WEEKS[-1]).set_index("project_id")
    got = got[cols].sort_index()
    assert got.index.tolist() == want.index.tolist()  # the two streets' 7 projects
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_index_type=False)
    # and the weeks before are the ledger as it stood: never more signed than in the ledger
    first = project_progress(store.snapshot(WEEKS[0]), as_of=WEEKS[0]).set_index("project_id")
    signed = first["signed_households"].sort_index().to_numpy()
    assert (signed <= want["signed_households"].to_numpy()).all()


def test_the_import_expects_only_the_polygons_of_its_streets(sample_store):
    found = LedgerStore(sample_store).findings(WEEKS[-1])
    ledger = found[found["kind"] == "ledger"]
    assert "no_ledger_row" not in set(ledger["problem"])
    other = ledger[ledger["problem"] == "other_street_polygons"]
    assert len(other) == 1  # one line for the 10 polygons of four other streets
    assert other["severity"].iloc[0] == "info"
    assert "10 project polygon(s)" in other["message"].iloc[0]
    assert "工业北路街道 5" in other["message"].iloc[0]


def test_the_cli_names_the_findings_it_counts(tmp_path):
    store = tmp_path / "renewal.gpkg"
    runner = CliRunner()
    result = runner.invoke(cli, _import_args(WEEKS[0], store))
    assert result.exit_code == 0, result.output
    assert "1 findings" in result.output
    assert "! info other_street_polygons: 10 project polygon(s)" in result.output
    listed = runner.invoke(cli, ["ledger", "findings", "--store", str(store), "--lang", "en"])
    assert listed.exit_code == 0, listed.output
    assert "polygons of streets not in this ledger" in listed.output


def test_history_shows_a_lead_as_days_ahead(sample_store):
    runner = CliRunner()
    out = runner.invoke(cli, ["ledger", "history", "GX10", "--store", str(sample_store)])
    assert out.exit_code == 0, out.output
    assert "提前天数（天）" in out.output
    assert not re.search(r"\s-\d+\s", out.output)  # no negative 滞后天数
    lines = [ln for ln in out.output.splitlines() if ln.startswith("2026-11-20")]
    # GX10 finished 组卷报批 on 11-08; 供地 is due 2027-02-27: 99 days ahead
    assert re.search(r"\b99\b", lines[0])


def test_weekly_meeting_of_the_sample(sample_store):
    m = weekly_meeting(sample_store, lang="en")
    assert m.as_of == WEEKS[-1]
    assert m.last_meeting == WEEKS[-2]
    colours = m.supervised.groupby("colour")["project_id"].apply(set).to_dict()
    assert colours == {"red": {"GX08", "GX09"}, "yellow": {"GX08", "GX10"}, "blue": {"GX11"}}
    # GX09: signing and the four tasks after it; GX08: 组卷报批, due 11-10 as in the ledger
    assert (m.supervised["colour"] == "red").sum() == 6
    gx08 = m.supervised[m.supervised["project_id"] == "GX08"].set_index("task")
    assert gx08.loc["组卷报批", "days_overdue"] == 10
    # 供地 waits for 组卷报批: not begun, 10 of its 90 days gone: 11.1 points behind
    assert gx08.loc["供地", "colour"] == "yellow"
    assert gx08.loc["供地", "behind_points"] == pytest.approx(100 / 9)
    # the 签约 task's progress is the ledger's signed share: 229 of 241
    sign = m.supervised.set_index(["project_id", "task"]).loc[("GX09", "签约")]
    assert sign["progress_share"] == pytest.approx(round(229 / 241, 3))
    assert m.decisions_open["decision_id"].tolist()[0] == "D01"  # 7 days past its date
    assert m.decisions_closed["decision_id"].tolist() == ["D05"]
    # the reconciliation finding planted in GX06: the ledger counts 3 more signed households
    assert m.findings["problem"].tolist() == ["signed_count_differs"]
    assert "GX06" in m.findings["message"].iloc[0]
    f = m.forecast.set_index("project_id")
    assert f.loc["GX09", "remaining"] == 12
    assert f.loc["GX09", "pace_per_week"] == pytest.approx(9 / 4)
    assert f.loc["GX09", "forecast_date"] == pd.Timestamp("2026-11-20") + pd.Timedelta(days=38)
    assert len(m.clearance) == int(f["remaining"].sum())
    # households conserved: every household of the store is in a forecast row
    assert f["households"].sum() == len(LedgerStore(sample_store).households())
    s = m.assessment_street.set_index("street")
    assert s["rank"].to_dict() == {"河畔街道": 1, "文庙街道": 2}
    assert s["score_change"].notna().all()
    assert m.caveats


def test_weekly_meeting_files_open_back(sample_store, tmp_path):
    m = weekly_meeting(sample_store, lang="zh")
    files = write_weekly_meeting(m, tmp_path / "周例会", lang="zh")
    sheets = pd.read_excel(files["workbook"], sheet_name=None, header=None)
    for name in (
        "督办汇总",
        "督办单-文庙街道办事处",
        "例会事项-未办结",
        "考核-街道",
        "签约预测",
        "清零清单",
    ):
        assert name in sheets, list(sheets)
    first = next(iter(sheets.values())).astype(str).to_numpy().ravel()
    assert any("占位" in c for c in first)  # the placeholder weights come first
    page = files["page"].read_text(encoding="utf-8")
    assert "红色 6 项（逾期）" in page
    assert "约谈未签约户" in page


def test_playback_is_one_offline_file_with_every_week(sample_store, tmp_path):
    from geo_renewal.io import read_layer

    out = tmp_path / "playback.html"
    buildings = read_layer(datasets.get_path("sample_district"), layer="buildings")
    result = CliRunner().invoke(
        cli,
        [
            "ledger",
            "playback",
            "--store",
            str(sample_store),
            "--out",
            str(out),
            "--buildings",
            str(datasets.get_path("sample_district")),
        ],
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "cdn.jsdelivr" not in html  # Leaflet inlined
    data = json.loads(re.search(r"var PLAYBACK = (\{.*?\});</script>", html, re.S).group(1))
    assert data["dates"] == [d.isoformat() for d in WEEKS]
    ids = data["projects"]["project_id"]
    gx10, gx08 = ids.index("GX10"), ids.index("GX08")
    codes = data["weeks"]["codes"]
    assert codes == list(schema.STAGE_ORDER)  # the legend's order: the order of the work
    assert [codes[w[gx10]] for w in data["weeks"]["stage"]] == [
        "approval",
        "approval",
        "land_supply",
        "land_supply",
    ]
    assert [w[gx10] for w in data["weeks"]["changed"]] == ["0", "0", "1", "0"]
    # GX08 stays at 组卷报批, due 11-10: overdue from the third week
    assert [codes[w[gx08]] for w in data["weeks"]["stage"]] == ["approval"] * 4
    assert [w[gx08] for w in data["weeks"]["overdue"]] == ["0", "0", "1", "1"]
    assert data["weeks"]["overdue"][-1][ids.index("GX09")] == "1"
    # the 督办 layer: the most urgent colour of each project's tasks (3 red, 2 yellow, 1 blue)
    last = data["weeks"]["supervision"][-1]
    got = [last[ids.index(p)] for p in ("GX09", "GX08", "GX10", "GX11", "GX01")]
    assert got == ["3", "3", "2", "1", "0"]
    assert 0 < len(data["buildings"]["building_id"]) < len(buildings)


@pytest.mark.browser
def test_playback_slider_redraws_in_chromium(sample_store, tmp_path):
    from browser import chromium_available, open_in_chromium, pixel_stddev

    if not chromium_available():
        pytest.skip("no chromium")
    from geo_renewal._mapplayback import playback_map

    out = playback_map(LedgerStore(sample_store), tmp_path / "p.html", lang="en")

    def first_week(page):
        page.fill("#slider", "0")
        page.dispatch_event("#slider", "input")

    res = open_in_chromium(
        out, actions=first_week, evaluate={"day": "document.getElementById('day').textContent"}
    )
    assert not res.page_errors
    assert not res.external_requests
    assert res.values["day"] == "Snapshot 2026-10-30"
    assert pixel_stddev(res.screenshot) > 5


def test_a_project_file_takes_its_ledger_and_meeting_from_the_store(
    sample_store, tmp_path, grid_parcels
):
    plan_path = write_small_plan(tmp_path, grid_parcels)
    text = plan_path.read_text(encoding="utf-8")
    plan_path.write_text(
        text
        + f'\n[ledger]\nstore = "{sample_store.as_posix()}"\n\n[weekly]\nbehind_points = 20\n',
        encoding="utf-8",
    )
    plan = load_plan(plan_path)
    assert plan.weekly.store == sample_store.resolve()
    assert plan.weekly.behind_points == 20
    result = run_plan(plan, out_dir=tmp_path / "out")
    assert result.weekly.as_of == WEEKS[-1]  # the latest snapshot on or before 2026-11-20
    assert set(result.progress["project_id"]) == {
        "GX01",
        "GX03",
        "GX06",
        "GX08",
        "GX09",
        "GX10",
        "GX11",
    }
    assert (result.weekly.supervised["colour"] == "yellow").sum() == 1  # 29.7 points > 20
    sheets = pd.read_excel(result.files["workbook"], sheet_name=None)
    assert "督办汇总" in sheets
    assert "考核-街道" in sheets
    report = result.files["report"].read_text(encoding="utf-8")
    assert "督办（红/黄/蓝）" in report
    assert "考核排名" in report


def test_a_bad_weekly_section_names_the_key(tmp_path, grid_parcels, sample_store):
    plan_path = write_small_plan(tmp_path, grid_parcels)
    base = plan_path.read_text(encoding="utf-8")
    plan_path.write_text(base + '\n[weekly]\nstore = "nope.gpkg"\n', encoding="utf-8")
    with pytest.raises(
        InputError, match=r"\[weekly\] `store` names .*nope.gpkg, which does not exist"
    ):
        load_plan(plan_path)
    plan_path.write_text(
        base + f'\n[weekly]\nstore = "{sample_store.as_posix()}"\nbehind_point = 5\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="did you mean `behind_points`"):
        load_plan(plan_path)


def _weeks_plan(tmp_path, grid_parcels, ledger) -> Path:
    """The small plan with the sample's projects, a ledger file and [weekly] weeks."""
    plan_path = write_small_plan(tmp_path, grid_parcels)
    district = datasets.get_path("sample_district").as_posix()
    weeks = datasets.get_path("weekly").as_posix()
    plan_path.write_text(
        plan_path.read_text(encoding="utf-8")
        + f'\n[layers.projects]\npath = "{district}"\nlayer = "projects"\n'
        + f'\n[ledger]\npath = "{Path(ledger).as_posix()}"\n\n[weekly]\nweeks = "{weeks}"\n',
        encoding="utf-8",
    )
    return plan_path


def test_a_run_builds_its_store_from_the_weeks_and_writes_the_cycle(tmp_path, grid_parcels):
    plan = load_plan(_weeks_plan(tmp_path, grid_parcels, datasets.get_path("sample_ledger")))
    assert plan.weekly.store is None
    assert plan.weekly.weeks == datasets.get_path("weekly").resolve()
    result = run_plan(plan, out_dir=tmp_path / "out")
    m = result.weekly
    assert m.as_of == WEEKS[-1]
    # the store and the ledger file agree: no caveat says otherwise
    assert not [c for c in m.caveats if "不一致" in c or "differs" in c]
    # the store is written with the outputs, and the office can go on with it
    store = LedgerStore(result.files["store"])
    assert store.dates() == list(WEEKS)
    html = result.files["playback_map"].read_text(encoding="utf-8")
    data = json.loads(re.search(r"var PLAYBACK = (\{.*?\});</script>", html, re.S).group(1))
    assert data["dates"] == [d.isoformat() for d in WEEKS]
    manifest = json.loads(result.files["manifest"].read_text(encoding="utf-8"))
    assert {"playback.html", "renewal.gpkg"} <= {
        Path(o["path"]).name for o in manifest["outputs"].values()
    }
    sheets = pd.read_excel(result.files["workbook"], sheet_name=None, header=None)
    for name in ("督办汇总", "关键路径", "例会事项-未办结", "例会事项-已办结", "考核-街道"):
        assert name in sheets, list(sheets)
    for name in ("签约预测", "清零清单", "台账与户档核对"):
        assert name in sheets, list(sheets)
    crit = pd.read_excel(result.files["workbook"], sheet_name="关键路径", header=2)
    gx09 = crit[crit["项目编号"] == "GX09"]
    assert gx09["任务名称"].tolist() == ["签约", "拆除", "组卷报批", "供地", "开工"]
    assert gx09["序号"].tolist() == [1, 2, 3, 4, 5]
    assert (gx09["总时差（天）"] < 0).all()  # GX09's target 2026-09-22 is lost
    # signing ends when the households say: the forecast of the 签约预测 sheet, 11-20 + 38 days
    assert gx09["最早完成"].iloc[0] == pd.Timestamp("2026-12-28")
    assert m.forecast.set_index("project_id").loc["GX09", "forecast_date"] == pd.Timestamp(
        "2026-12-28"
    )
    # each figure agrees with the progress map of the same day: GX08 overdue 10 days
    prog = result.progress.set_index("project_id")
    assert prog.loc["GX08", "days_behind"] == 10
    red = m.supervised[m.supervised["colour"] == "red"].set_index("project_id")
    assert red.loc["GX08", "days_overdue"] == 10
    report = result.files["report"].read_text(encoding="utf-8")
    for text in (
        "关键路径与总时差",
        "督办（红/黄/蓝）",
        "例会商定事项",
        "考核排名",
        "签约进度与预测",
    ):
        assert text in report, text
    assert "考核指标权重为程序默认值" in next(iter(sheets.values())).astype(str).to_string()
    assert "取自台账库 2026-11-20 的快照（文庙街道、河畔街道，共 7 个项目）" in report
    assert "台账已签约户数与一户一档不一致" in report  # GX06's finding, in Chinese
    assert "the ledger says" not in report
    line = (
        "周例会（台账库 2026-11-20，7 个项目）：督办红 6、黄 2、蓝 1 项；未办结事项 4 项；4 个项目"
    )
    assert line in result.summary()


def test_a_store_that_contradicts_the_ledger_file_is_a_caveat(tmp_path, grid_parcels):
    import openpyxl

    book = openpyxl.load_workbook(datasets.get_path("sample_ledger"))
    ws = book.active
    headers = [c.value for c in ws[1]]
    col = headers.index("组卷报批实际日期") + 1
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "GX08":  # the file says GX08 finished 组卷报批; the store does not
            ws.cell(row=row[0].row, column=col, value=dt.datetime(2026, 11, 12))
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "GX03":  # and the file has lost GX03, which the store has
            ws.delete_rows(row[0].row)
            break
    ledger = tmp_path / "台账.xlsx"
    book.save(ledger)
    result = run_plan(_weeks_plan(tmp_path, grid_parcels, ledger), out_dir=tmp_path / "out")
    said = [c for c in result.weekly.caveats if "不一致" in c]
    assert len(said) == 1, result.weekly.caveats
    assert "GX08 当前阶段 供地 / 组卷报批" in said[0]
    assert "GX03 不在台账文件中" in said[0]
    assert said[0] in result.caveats().values()  # in the workbook's first sheet and the report


class _Tables(HTMLParser):
    """The cells of every <table> of a page, as text, one list of rows per table."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _html_column(page: str, header: str) -> list[list[str]]:
    """Per table of `page` with a column `header`: that column's body cells."""
    parser = _Tables()
    parser.feed(page)
    out = []
    for rows in parser.tables:
        if rows and header in rows[0]:
            j = rows[0].index(header)
            out.append([row[j] for row in rows[1:]])
    return out


def _xlsx_column(ws, header: str, n: int) -> list:
    """The `n` cells under `header` (in the first row that has it)."""
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == header:
                return [ws.cell(row=cell.row + 1 + i, column=cell.column) for i in range(n)]
    msg = f"no column {header} in {ws.title}"
    raise AssertionError(msg)


def _whole_cells(ws, header: str, n: int) -> list[int | None]:
    """The values under `header`, checked: whole numbers written as integers, or blank."""
    values = []
    for c in _xlsx_column(ws, header, n):
        if c.value is not None:
            assert type(c.value) is int, (ws.title, header, c.value)
            assert c.number_format == "#,##0", (ws.title, header, c.number_format)
        values.append(c.value)
    return values


def test_whole_numbers_are_integers_in_the_workbook_and_the_report(sample_store, tmp_path):
    import dataclasses

    import openpyxl

    from geo_renewal.weekly import weekly_section

    m = weekly_meeting(sample_store, lang="zh")
    # a 名次变化 of +1 and one street without a previous score (first assessed this week)
    street = m.assessment_street.copy()
    street["rank_change"] = [1.0, float("nan")]
    m = dataclasses.replace(m, assessment_street=street)
    files = write_weekly_meeting(m, tmp_path / "周例会", lang="zh")
    book = openpyxl.load_workbook(files["workbook"])

    # 最长逾期: each unit's longest red task (the 督办单 sheets: 419 签约 GX09, 209 组卷报批
    # GX09, 59 开工 GX09); 区生态环境局 has only a yellow task, so its cell is blank, not 0
    n = len(m.by_unit)
    units = [c.value for c in _xlsx_column(book["督办汇总"], "责任单位", n)]
    longest = _whole_cells(book["督办汇总"], "最长逾期（天）", n)
    assert dict(zip(units, longest, strict=True)) == {
        "区自然资源局": 209,
        "文庙街道办事处": 419,
        "项目建设单位": 59,
        "区生态环境局": None,
    }
    assert _whole_cells(book["考核-街道"], "名次变化（正数为上升）", 2) == [1, None]
    # the reconciliation: GX06's ledger counts 3 more signed than its households' table;
    # GX11 has no household in the table: blank, not 0
    rec, n = book["台账与户档核对"], len(m.reconciliation)
    ids = [c.value for c in _xlsx_column(rec, "项目编号", n)]
    cols = ("台账户数", "户档户数", "台账已签约", "户档已签约", "差额（台账−户档）")
    got = {h: dict(zip(ids, _whole_cells(rec, h, n), strict=True)) for h in cols}
    assert [got[h]["GX06"] for h in cols] == [335, 335, 323, 320, 3]
    assert [got[h]["GX11"] for h in cols] == [0, None, 0, None, None]
    for p in ids:
        signed, table, diff = (got[h][p] for h in cols[2:])
        assert diff == (None if table is None else signed - table), p
    # decisions: only D01 is past its date (7 days); the others are blank, not 0
    n = len(m.decisions_open)
    assert _whole_cells(book["例会事项-未办结"], "逾期天数（天）", n) == [7, None, None, None]
    # 考核's 逾期天数 is a mean of days: its fraction stays in the cell
    mean = _xlsx_column(book["考核-街道"], "逾期天数（天）", 2)[1].value
    assert mean == pytest.approx(m.assessment_street["days_overdue"].iloc[1])
    assert mean != round(mean)

    # the report's weekly section and the weekly page show them without decimals
    for page in (weekly_section(m, "zh"), files["page"].read_text(encoding="utf-8")):
        assert _html_column(page, "名次变化（正数为上升）")[0] == ["1", ""]
        overdue = _html_column(page, "逾期天数（天）")[0]  # the 督办 table: red, yellow, blue
        assert overdue == ["419", "299", "209", "119", "59", "10", "", "", ""]
        floats = _html_column(page, "总时差（天）")[0]
        assert floats == [f"{v:,.0f}" for v in m.critical_summary["float_days"]]
