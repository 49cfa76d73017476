"""督办 colours at their boundaries, per unit and person; meeting decisions open and closed."""

from __future__ import annotations

import pandas as pd
import pytest

from geo_renewal._errors import InputError
from geo_renewal.supervision import (
    decision_status,
    read_decisions,
    supervise_tasks,
    supervision_sheets,
    supervision_summary,
)
from geo_renewal.tables import write_tables

AS_OF = "2026-11-20"


def _tasks() -> pd.DataFrame:
    # planned 100 days from 2026-08-12 to 2026-11-20 unless said otherwise
    rows = [
        # task, unit, person, start, finish, actual, progress
        ("due yesterday", "征收中心", "王", "2026-08-12", "2026-11-19", None, 0.99),  # red, 1 day
        (
            "due today",
            "征收中心",
            "王",
            "2026-08-12",
            "2026-11-20",
            None,
            0.95,
        ),  # blue: 0 days left
        ("due in 7", "征收中心", "李", "2026-08-19", "2026-11-27", None, 0.95),  # blue: boundary
        ("due in 8", "自然资源局", "张", "2026-08-20", "2026-11-28", None, 0.95),  # none
        (
            "10 pts behind",
            "自然资源局",
            "张",
            "2026-08-12",
            "2026-11-30",
            None,
            0.80,
        ),  # not yellow
        ("10.5 behind", "自然资源局", "赵", "2026-08-12", "2026-11-30", None, 0.795),  # yellow
        ("done late", "征收中心", "王", "2026-08-12", "2026-11-01", "2026-11-15", 1.0),  # done
        ("no progress", "自然资源局", "赵", "2026-08-12", "2026-12-30", None, None),  # not judged
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "task",
            "responsible_unit",
            "responsible_person",
            "planned_start",
            "planned_finish",
            "actual_finish",
            "progress",
        ],
    )
    for c in ("planned_start", "planned_finish", "actual_finish"):
        df[c] = pd.to_datetime(df[c])
    df["progress"] = df["progress"].astype(float)
    return df.assign(project_id="P")


def test_the_three_colours_at_their_boundaries():
    # "10 pts behind": elapsed (11-20 − 08-12 = 100) / (11-30 − 08-12 = 110) = 0.9091, progress
    # 0.80 → 10.9 points behind. So shift it to exactly 10: progress = 0.8091 (rounded away below)
    t = _tasks()
    elapsed = 100 / 110
    t.loc[4, "progress"] = elapsed - 0.10  # exactly 10 points behind: not yellow
    t.loc[5, "progress"] = elapsed - 0.105  # 10.5 points behind: yellow
    s = supervise_tasks(t, as_of=AS_OF, due_within_days=7, behind_points=10).set_index("task")
    assert s["colour"].to_dict() == {
        "due yesterday": "red",
        "10.5 behind": "yellow",
        "due today": "blue",
        "due in 7": "blue",
    }
    assert s.loc["due yesterday", "days_overdue"] == 1
    assert s.loc["10.5 behind", "behind_points"] == pytest.approx(10.5)
    assert s.loc["due in 7", "days_left"] == 7
    # a red task also behind is red, not yellow; a yellow one due soon is yellow
    assert list(s.index[:2]) == ["due yesterday", "10.5 behind"]


def test_counts_per_unit_and_person_and_one_sheet_per_unit(tmp_path):
    t = _tasks()
    t.loc[5, "progress"] = 0.5
    s = supervise_tasks(t, as_of=AS_OF)
    units = supervision_summary(s).set_index("responsible_unit")
    assert units.loc["征收中心", ["n_red", "n_yellow", "n_blue"]].tolist() == [1, 0, 2]
    assert units.loc["自然资源局", ["n_red", "n_yellow", "n_blue"]].tolist() == [0, 2, 0]
    people = supervision_summary(s, by="responsible_person").set_index("responsible_person")
    assert people.loc["王", "n_supervised"] == 2
    assert people.loc["王", "max_days_overdue"] == 1
    sheets = supervision_sheets(s, lang="zh")
    assert list(sheets) == ["督办单-征收中心", "督办单-自然资源局"]
    path = write_tables(sheets, tmp_path / "督办单.xlsx", lang="zh")
    back = pd.read_excel(path, sheet_name=None, header=None)
    assert set(back) == set(sheets)
    assert back["督办单-征收中心"].astype(str).apply(lambda c: c.str.contains("红色").any()).any()


def test_bad_arguments_are_one_sentence():
    with pytest.raises(InputError, match="behind_points"):
        supervise_tasks(_tasks(), as_of=AS_OF, behind_points=150)
    with pytest.raises(InputError, match="as_of"):
        supervise_tasks(_tasks(), as_of="next friday")


def test_decisions_open_and_closed_since_the_last_meeting(tmp_path):
    raw = pd.DataFrame(
        {
            "事项编号": ["D1", "D2", "D3", "D4"],
            "会议日期": ["2026-11-06"] * 4,
            "商定事项": ["协调供电迁改", "补充评估报告", "约谈未签户", "上报组卷材料"],
            "责任单位": ["供电公司", "征收中心", "街道办", "自然资源局"],
            "责任人": ["周", "王", "李", "张"],
            "完成时限": ["2026-11-13", "2026-11-30", "2026-11-10", "2026-11-15"],
            "状态": ["已完成", None, "已办结", None],
            "完成日期": ["2026-11-18", None, "2026-11-12", None],
        }
    )
    path = tmp_path / "例会事项.xlsx"
    raw.to_excel(path, index=False)
    d, found = read_decisions(path)
    assert d["closed"].tolist() == [True, False, True, False]
    assert found.empty
    st = decision_status(d, as_of=AS_OF, last_meeting="2026-11-13")
    assert st["open"]["decision_id"].tolist() == ["D4", "D2"]  # most overdue first
    assert st["open"]["days_overdue"].tolist()[0] == 5
    assert st["closed_since"]["decision_id"].tolist() == ["D1"]  # D3 closed before 11-13
    no_date = raw.assign(完成日期=None)
    _, found = read_decisions(no_date)
    assert found["problem"].tolist() == ["closed_without_date"] * 2
