"""The weekly cycle's wording and joins: 提前天数, task progress as a share, streets' ledgers."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

import geopandas as gpd
import shapely

from geo_renewal.ledger import read_ledger
from geo_renewal.supervision import supervise_tasks
from geo_renewal.tables import format_table, write_table
from geo_renewal.tasks import read_tasks


def _header_cells(ws) -> dict[str, int]:
    for row in ws.iter_rows(min_row=1, max_row=6):
        names = {c.value: c.column for c in row if isinstance(c.value, str)}
        if "项目编号" in names:
            return names
    msg = "no header row"
    raise AssertionError(msg)


def test_a_lead_is_days_ahead_in_the_workbook_and_text(tmp_path):
    df = pd.DataFrame({"project_id": ["A", "B", "C"], "days_behind": [12.0, -60.0, None]})
    path = write_table(df, tmp_path / "t.xlsx", lang="zh")
    ws = openpyxl.load_workbook(path).active
    cols = _header_cells(ws)
    behind, ahead = cols["滞后天数（天）"], cols["提前天数（天）"]
    assert ahead == behind + 1  # right beside it
    first = ws.cell(row=min(c.row for c in ws["A"] if c.value == "A"), column=1).row
    values = [
        (ws.cell(row=r, column=behind).value, ws.cell(row=r, column=ahead).value)
        for r in range(first, first + 3)
    ]
    assert values == [(12, None), (None, 60), (None, None)]
    text = format_table(df, lang="en", index=False)
    assert "Days ahead of plan" in text
    assert "-60" not in text
    # the data keeps the signed figure: only the table splits it
    assert df["days_behind"].tolist()[1] == -60.0
    # a table with no lead is unchanged
    assert "提前" not in format_table(df.iloc[[0]], lang="zh", index=False)


def test_task_progress_is_a_share_shown_as_a_percentage(tmp_path):
    raw = pd.DataFrame(
        {
            "项目编号": ["A", "A"],
            "任务名称": ["立项", "签约"],
            "计划开始日期": ["2026-01-01", "2026-02-01"],
            "计划完成日期": ["2026-01-31", "2026-12-31"],
            "完成进度（%）": [100, 95],
        }
    )
    t = read_tasks(raw).table
    assert "progress" not in t.columns
    assert t["progress_share"].tolist() == [1.0, 0.95]
    path = write_table(t[["project_id", "task", "progress_share"]], tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path).active
    col = _header_cells(ws)["完成进度"]
    cells = next(iter(ws.iter_cols(min_col=col, max_col=col)))
    numbers = [c for c in cells if isinstance(c.value, float | int)]
    assert [c.value for c in numbers] == [1.0, 0.95]
    assert all("%" in c.number_format for c in numbers)
    assert "95.0%" in format_table(t[["task", "progress_share"]], lang="zh", index=False)


def test_tasks_written_with_the_old_progress_column_read_the_same():
    """A store or frame from before the `_share` name: `progress` (share or percent)."""
    tasks = pd.DataFrame(
        {
            "project_id": "A",
            "task": ["规划许可", "环评"],
            "planned_start": pd.to_datetime(["2026-01-01"] * 2),
            "planned_finish": pd.to_datetime(["2026-03-31", "2026-03-31"]),
            "actual_finish": pd.NaT,
        }
    )
    # 2026-03-01: 59 of 89 days elapsed = 66.3 %; 20 % done is 46.3 points behind
    new = supervise_tasks(tasks.assign(progress_share=[0.2, 0.6]), as_of="2026-03-01")
    old = supervise_tasks(tasks.assign(progress=[20.0, 0.6]), as_of="2026-03-01")
    for s in (new, old):
        got = s.set_index("task")
        assert got.loc["规划许可", "colour"] == "yellow"
        assert got.loc["规划许可", "behind_points"] == pytest.approx(59 / 89 * 100 - 20)
        assert "progress" not in s.columns
    assert "环评" not in set(new["task"])  # 6.3 points behind: not yellow, not due soon


def _polygons() -> gpd.GeoDataFrame:
    boxes = [shapely.box(i * 100, 0, i * 100 + 90, 90) for i in range(4)]
    return gpd.GeoDataFrame(
        {
            "project_id": ["P1", "P2", "P3", "P4"],
            "street": ["河畔街道", "河畔街道", "东关街道", "西关街道"],
        },
        geometry=boxes,
        crs="EPSG:4547",
    )


def test_a_street_ledger_expects_only_the_polygons_of_its_street():
    rows = pd.DataFrame(
        {"项目编号": ["P1"], "类型": ["征收拆迁"], "街道": ["河畔街道"], "户数": [10]}
    )
    ledger = read_ledger(rows, projects=_polygons())
    f = ledger.findings.set_index("problem")
    # P2 is of 河畔街道 and has no row: a missing row. P3 and P4 belong to other streets.
    assert f.loc["no_ledger_row", "id"] == "P2"
    other = f.loc["other_street_polygons"]
    assert other["severity"] == "info"
    assert "2 project polygon(s)" in other["message"]
    assert "东关街道 1, 西关街道 1" in other["message"]
    assert "P3, P4" in other["message"]
    # nothing is dropped: every polygon without a row is kept
    assert sorted(ledger.unmatched_projects["project_id"]) == ["P2", "P3", "P4"]


def test_a_ledger_without_streets_expects_every_polygon():
    rows = pd.DataFrame({"项目编号": ["P1"], "类型": ["征收拆迁"], "户数": [10]})
    ledger = read_ledger(rows, projects=_polygons().assign(street=None))
    missing = ledger.findings[ledger.findings["problem"] == "no_ledger_row"]
    assert sorted(missing["id"]) == ["P2", "P3", "P4"]
    assert "other_street_polygons" not in set(ledger.findings["problem"])


def _week(root, day: str, signed: int, **extra: str) -> None:
    folder = root / day
    folder.mkdir(parents=True)
    pd.DataFrame(
        {"项目编号": ["A"], "类型": ["征收拆迁"], "户数": [10], "已签约户数": [signed]}
    ).to_csv(folder / "东关街道台账.csv", index=False)
    for name, text in extra.items():
        (folder / name).write_text(text, encoding="utf-8")


def test_import_weeks_on_the_command_line_and_its_refusals(tmp_path):
    from click.testing import CliRunner

    from geo_renewal.cli import cli
    from geo_renewal.store import LedgerStore

    weeks = tmp_path / "weeks"
    _week(weeks, "2026-11-13", 4)
    _week(weeks, "2026-11-20", 8, **{"例会商定事项.csv": "事项编号,商定事项\nD1,约谈\n"})
    store = tmp_path / "renewal.gpkg"
    run = CliRunner().invoke(cli, ["ledger", "import-weeks", str(weeks), "--store", str(store)])
    assert run.exit_code == 0, run.output
    assert "snapshot 2026-11-13 imported: 1 projects" in run.output
    assert "snapshot 2026-11-20 imported: 1 projects" in run.output
    s = LedgerStore(store)
    assert s.snapshot().table["signed_households"].tolist() == [8]
    assert s.decisions()["decision_id"].tolist() == ["D1"]  # the file's role from its name
    again = CliRunner().invoke(cli, ["ledger", "import-weeks", str(weeks), "--store", str(store)])
    assert "nothing to import" in again.output
    (weeks / "旧资料").mkdir()
    bad = CliRunner().invoke(cli, ["ledger", "import-weeks", str(weeks), "--store", str(store)])
    assert bad.exit_code == 1
    assert "旧资料/, which is not named by a day" in bad.output
    assert "Traceback" not in bad.output


def test_a_week_with_two_task_tables_is_refused_naming_both(tmp_path):
    from geo_renewal._errors import InputError
    from geo_renewal._weekly_run import week_files

    _week(tmp_path, "2026-11-20", 4, **{"任务分解.csv": "x\n", "任务分解（修订）.csv": "x\n"})
    with pytest.raises(
        InputError, match=r"two tasks files, 任务分解.csv and 任务分解（修订）.csv"
    ):
        week_files(tmp_path / "2026-11-20")
