"""Households (一户一档): reading, the signing curve, the forecast, 清零 and the reconciliation."""

from __future__ import annotations

import pandas as pd
import pytest

from geo_renewal.households import (
    clearance_list,
    read_households,
    reconcile_households,
    signing_curve,
    signing_forecast,
)
from geo_renewal.ledger import read_ledger


def _curve() -> pd.DataFrame:
    # project A: 40 households; signed 10, 6, 8, 4 and 2 in the weeks ending
    # 10-23, 10-30, 11-06, 11-13, 11-20 → 30 signed, 10 left
    dates = (
        ["2026-10-20"] * 10
        + ["2026-10-28"] * 6
        + ["2026-11-04"] * 8
        + ["2026-11-12"] * 4
        + ["2026-11-19"] * 2
    )
    status = ["已签约"] * 20 + ["已腾房"] * 6 + ["已拆除"] * 4 + ["未签约"] * 10
    return pd.DataFrame(
        {
            "户编号": [f"A{i:03d}" for i in range(40)],
            "项目编号": "A",
            "楼栋编号": [f"B{i % 4}" for i in range(40)],
            "状态": status,
            "日期": dates + [None] * 10,
            "备注": [None] * 30 + ["补偿方式未谈拢"] + [None] * 9,
        }
    )


def test_signing_curve_counts_households_per_week(tmp_path):
    path = tmp_path / "一户一档.xlsx"
    _curve().to_excel(path, index=False)
    hh, found = read_households(path)
    assert found.empty
    assert hh["status"].value_counts().to_dict() == {
        "signed": 20,
        "unsigned": 10,
        "vacated": 6,
        "demolished": 4,
    }
    c = signing_curve(hh)
    assert c["signed"].tolist() == [10, 6, 8, 4, 2]
    assert c["signed_total"].tolist() == [10, 16, 24, 28, 30]
    assert c["signed_share"].iloc[-1] == 0.75
    assert c["period_end"].iloc[0] == pd.Timestamp("2026-10-23")


def test_forecast_at_the_recent_pace_with_a_range():
    hh, _ = read_households(_curve())
    f = signing_forecast(hh, as_of="2026-11-20", window_days=28, lang="en").iloc[0]
    # the 28 days before 11-20 (10-24 … 11-20): 6 + 8 + 4 + 2 = 20 signed → 5 per week;
    # 10 left → 10 / (20/28) = 14 days → 12-04. Weeks (counted back from 11-20):
    # 11-14…11-20: 2, 11-07…11-13: 4, 10-31…11-06: 8, 10-24…10-30: 6 → fastest 8/week
    # → 10 / (8/7) = 8.75 → 9 days → 11-29; slowest 2/week → 35 days → 12-25.
    assert f["remaining"] == 10
    assert f["pace_per_week"] == pytest.approx(5.0)
    assert f["forecast_date"] == pd.Timestamp("2026-12-04")
    assert f["forecast_earliest"] == pd.Timestamp("2026-11-29")
    assert f["forecast_latest"] == pd.Timestamp("2026-12-25")
    # signings after as_of are not known yet; no signing in the window: no forecast
    stale = signing_forecast(hh, as_of="2027-03-01", window_days=28, lang="en").iloc[0]
    assert pd.isna(stale["forecast_date"])
    assert "no signing in the last 28 days" in stale["note"]


def test_clearance_list_names_every_household_left_with_its_note():
    hh, _ = read_households(_curve())
    left = clearance_list(hh)
    assert len(left) == 10
    assert left["household_id"].iloc[0] == "A030"
    assert left["note"].iloc[0] == "补偿方式未谈拢"


def test_ledger_and_households_are_reconciled_differences_are_findings():
    ledger = read_ledger(
        pd.DataFrame(
            {
                "项目编号": ["A", "B", "C"],
                "类型": ["征收拆迁"] * 3,
                "户数": [40, 12, 5],
                "已签约户数": [32, 0, 5],
            }
        )
    )
    hh, _ = read_households(
        pd.concat(
            [_curve(), pd.DataFrame({"户编号": ["Z1"], "项目编号": ["Z"], "状态": ["未签约"]})],
            ignore_index=True,
        )
    )
    table, found = reconcile_households(ledger, hh)
    t = table.set_index("project_id")
    assert t.loc["A", "signed_difference"] == 2  # 32 in the ledger, 30 in the table
    assert list(zip(found["problem"], found["id"], strict=True)) == [
        ("signed_count_differs", "A"),
        ("no_households", "B"),
        ("no_households", "C"),
        ("households_without_project", "Z"),
    ]
    assert "(difference +2)" in found["message"].iloc[0]
    # totals conserved: every household of the table is counted on some row
    assert t["table_households"].sum() == len(hh)


def test_bad_status_is_a_finding_naming_the_row():
    raw = _curve()
    raw.loc[3, "状态"] = "签了一半"
    hh, found = read_households(raw)
    assert found["problem"].tolist() == ["unknown_status"]
    assert found["row"].tolist() == [5]
    assert hh.loc[3, "status"] == "unsigned"
