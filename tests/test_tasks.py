"""Tasks with dependencies: reading, cycles, and the CPM schedule against a hand computation."""

from __future__ import annotations

import pandas as pd
import pytest

from geo_renewal._errors import InputError, SchemaError
from geo_renewal.ledger import read_ledger
from geo_renewal.tasks import critical_path, ledger_tasks, read_tasks, task_schedule


def _graph() -> pd.DataFrame:
    # 立项(10) → 用地预审(20) ─┐
    #         → 规划许可(30) ──┼→ 组卷报批(15) → 开工(5)
    #         → 签约(60) → 拆除(25) ┘
    return pd.DataFrame(
        {
            "项目编号": ["P"] * 7,
            "任务编号": ["T1", "T2", "T3", "T4", "T5", "T6", "T7"],
            "任务名称": ["立项", "用地预审", "规划许可", "签约", "拆除", "组卷报批", "开工"],
            "责任单位": [
                "发改局",
                "自然资源局",
                "自然资源局",
                "征收中心",
                "征收中心",
                "自然资源局",
                "建设单位",
            ],
            "工期（天）": [10, 20, 30, 60, 25, 15, 5],
            "前置任务": [None, "T1", "立项", "T1", "T4", "T2、T3、T5", "T6"],
            "计划完成日期": [None, None, "2026-12-01", None, None, None, None],
        }
    )


def test_critical_path_and_floats_against_a_hand_computation():
    s = task_schedule(read_tasks(_graph()), "2027-06-30").set_index("task_id")
    # backward from 2027-06-30: 开工 LF 0, LS -5; 组卷 LF -5, LS -20;
    # 拆除 LF -20 LS -45; 签约 LF -45 LS -105; 规划 LF -20 LS -50; 预审 LF -20 LS -40;
    # 立项 LF = min(-40, -50, -105) = -105, LS -115. Start = -115.
    # forward: 立项 ES -115 EF -105; 预审 ES -105 EF -85; 规划 ES -105 EF -75;
    # 签约 ES -105 EF -45; 拆除 ES -45 EF -20; 组卷 ES -20; 开工 ES -5.
    target = pd.Timestamp("2027-06-30")
    lf = {"T1": -105, "T2": -20, "T3": -20, "T4": -45, "T5": -20, "T6": -5, "T7": 0}
    floats = {"T1": 0, "T2": 65, "T3": 55, "T4": 0, "T5": 0, "T6": 0, "T7": 0}
    for t, days in lf.items():
        assert s.loc[t, "late_finish"] == target + pd.Timedelta(days=days)
        assert s.loc[t, "float_days"] == floats[t]
    assert s.loc["T1", "early_start"] == target - pd.Timedelta(days=115)
    assert s["critical"].to_dict() == {t: floats[t] == 0 for t in floats}
    assert critical_path(s.reset_index()) == {"P": "立项 → 签约 → 拆除 → 组卷报批 → 开工"}
    # 规划许可 is planned to finish 2026-12-01; its latest finish is 2027-06-10: 191 days spare
    assert s.loc["T3", "plan_slack_days"] == 191


def test_as_of_uses_actual_dates_and_negative_float_says_the_target_is_lost():
    g = _graph().assign(实际完成日期=["2027-01-10", None, None, None, None, None, None])
    s = task_schedule(read_tasks(g), "2027-06-30", as_of="2027-03-01").set_index("task_id")
    # nothing else can start before 03-01: 签约 03-01 + 60 + 25 + 15 + 5 = 06-14 + ... :
    # 签约 EF = 04-30, 拆除 EF = 05-25, 组卷 EF = 06-09, 开工 EF = 06-14 → float 16 days
    assert s.loc["T7", "early_finish"] == pd.Timestamp("2027-06-14")
    assert s.loc["T4", "float_days"] == 16
    assert s.loc["T4", "critical"]
    late = task_schedule(read_tasks(g), "2027-06-30", as_of="2027-04-01").set_index("task_id")
    assert late.loc["T4", "float_days"] == -15  # the target cannot be met


def test_a_task_under_way_finishes_what_is_left_of_it_from_the_day():
    g = _graph().assign(
        实际完成日期=["2027-01-10", None, None, None, None, None, None],
        完成进度=[100.0, 0.0, 0.0, 50.0, 0.0, 0.0, 0.0],
    )
    s = task_schedule(read_tasks(g), "2027-06-30", as_of="2027-03-01").set_index("task_id")
    # 签约 half done: 30 of its 60 days left from 03-01 → 03-31; 拆除 04-25, 组卷 05-10,
    # 开工 05-15: 46 days before the target (16 without the progress)
    assert s.loc["T4", "early_finish"] == pd.Timestamp("2027-03-31")
    assert s.loc["T4", "early_start"] == pd.Timestamp("2027-01-30")  # as if begun 30 days ago
    assert s.loc["T7", "early_finish"] == pd.Timestamp("2027-05-15")
    assert s.loc["T4", "float_days"] == 46
    # 规划许可 not begun (0 %): from 03-01, 30 days → 03-31; it waits for nothing else
    assert s.loc["T3", "early_finish"] == pd.Timestamp("2027-03-31")
    # 立项 finished on 01-10: its float is history, it is not on the path that is left
    assert not s.loc["T1", "critical"]
    assert critical_path(s.reset_index()) == {"P": "签约 → 拆除 → 组卷报批 → 开工"}
    # a third done: 40 of 60 days left, in whole days (60 × 2/3 is 39.999… in floats)
    g.loc[3, "完成进度"] = 100 / 3
    third = task_schedule(read_tasks(g), "2027-06-30", as_of="2027-03-01").set_index("task_id")
    assert third.loc["T4", "early_finish"] == pd.Timestamp("2027-04-10")


def test_an_expected_finish_is_kept_not_before_the_day():
    g = _graph().assign(实际完成日期=["2027-01-10", None, None, None, None, None, None])
    t = read_tasks(g).table
    t["expected_finish"] = pd.to_datetime([None, None, None, "2027-04-20", None, None, None])
    s = task_schedule(t, "2027-06-30", as_of="2027-03-01").set_index("task_id")
    # 签约 forecast to end 04-20 (its 60 days would end 04-30): 拆除 05-15, 组卷 05-30,
    # 开工 06-04: 26 days of float
    assert s.loc["T4", "early_finish"] == pd.Timestamp("2027-04-20")
    assert s.loc["T7", "early_finish"] == pd.Timestamp("2027-06-04")
    assert s.loc["T4", "float_days"] == 26
    t.loc[3, "expected_finish"] = pd.Timestamp("2027-02-01")  # a forecast in the past
    s = task_schedule(t, "2027-06-30", as_of="2027-03-01").set_index("task_id")
    assert s.loc["T4", "early_finish"] == pd.Timestamp("2027-03-01")  # not before the day


def test_the_critical_path_table_lists_the_path_in_order_against_the_target():
    from geo_renewal.tasks import critical_path_table

    s = task_schedule(read_tasks(_graph()), "2027-06-30")
    t = critical_path_table(s, {"P": "2027-06-30"})
    assert t["task"].tolist() == ["立项", "签约", "拆除", "组卷报批", "开工"]
    assert t["path_step"].tolist() == [1, 2, 3, 4, 5]
    assert (t["float_days"] == 0).all()
    # latest finishes from the hand computation above: -105, -45, -20, -5, 0 days
    assert t["days_before_target"].tolist() == [105, 45, 20, 5, 0]
    assert t["late_start"].iloc[0] == pd.Timestamp("2027-06-30") - pd.Timedelta(days=115)
    assert (t["target_date"] == pd.Timestamp("2027-06-30")).all()


def test_cycles_and_unknown_dependencies_are_findings_naming_the_row():
    g = _graph()
    g.loc[0, "前置任务"] = "T6"  # 立项 waits for 组卷报批: a cycle through every branch
    g.loc[6, "前置任务"] = "T6、T99"
    t = read_tasks(g)
    f = t.findings.set_index("problem")
    assert "T99" in f.loc["unknown_dependency", "message"]
    assert f.loc["unknown_dependency", "row"] == 8
    cyc = t.findings[t.findings["problem"] == "dependency_cycle"]
    assert sorted(cyc["row"]) == [2, 3, 4, 5, 6, 7]
    assert "break the cycle" in cyc["message"].iloc[0]
    behind = t.findings[t.findings["problem"] == "behind_cycle"]
    assert behind["row"].tolist() == [8]  # 开工 only waits for the cycle
    s = task_schedule(t, "2027-06-30")
    assert s.empty  # every task is on or behind the cycle: none is scheduled, all are findings


def test_read_tasks_from_a_workbook_sheet_with_a_ledger(tmp_path):
    path = tmp_path / "ledger.xlsx"
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame({"项目编号": ["P"], "类型": ["征收拆迁"]}).to_excel(
            xl, sheet_name="台账", index=False
        )
        _graph().to_excel(xl, sheet_name="任务分解", index=False)
    t = read_tasks(path)
    assert len(t.table) == 7
    assert t.table["depends_on"].iloc[5] == ("T2", "T3", "T5")
    with pytest.raises(SchemaError, match="has no column 任务名称"):
        read_tasks(pd.DataFrame({"项目编号": ["P"], "工期": [3]}))
    with pytest.raises(InputError, match="no target date"):
        task_schedule(t, {"Q": "2027-01-01"})


def test_ledger_stages_become_a_chain_of_tasks():
    raw = pd.DataFrame(
        {
            "project_id": ["A"],
            "project_type": ["demolish"],
            "target_date": ["2027-06-30"],
            "signing_planned": ["2026-12-31"],
            "demolition_planned": ["2027-02-28"],
        }
    )
    t = ledger_tasks(read_ledger(raw))
    assert t["task_id"].tolist() == [
        "signing",
        "demolition",
        "approval",
        "land_supply",
        "construction",
    ]
    assert t["depends_on"].tolist()[1] == ("signing",)
    assert t.loc[1, "duration_days"] == 59
