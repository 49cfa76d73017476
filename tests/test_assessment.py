"""考核: the score of a crafted table against a hand computation; weights from TOML."""

from __future__ import annotations

import pandas as pd
import pytest

from geo_renewal._errors import InputError
from geo_renewal.assessment import assess_performance, load_assessment_params


def _inputs():
    progress = pd.DataFrame(
        {
            "project_id": ["A", "B", "C"],
            "street": ["东关", "东关", "西关"],
            "responsible_unit": ["征收中心", "东关街道办", "征收中心"],
            "households": [100, 50, 40],
            "signed_households": [90, 30, 40],
            "signing_planned": pd.to_datetime(["2026-11-01", "2026-11-10", "2026-11-01"]),
        }
    )
    tasks = pd.DataFrame(
        {
            "project_id": ["A", "A", "B", "C", "C"],
            "responsible_unit": ["征收中心", "自然资源局", "东关街道办", "征收中心", "征收中心"],
            "planned_finish": pd.to_datetime(
                ["2026-11-01", "2026-11-10", "2026-11-15", "2026-11-05", "2026-12-30"]
            ),
            "actual_finish": pd.to_datetime(
                ["2026-10-30", None, "2026-11-16", "2026-11-05", None]
            ),
        }
    )
    supervised = pd.DataFrame(
        {
            "project_id": ["A", "B"],
            "responsible_unit": ["自然资源局", "东关街道办"],
            "colour": ["red", "red"],
            "days_overdue": [10.0, 5.0],
        }
    )
    decisions = pd.DataFrame(
        {
            "decision_id": ["D1", "D2", "D3"],
            "project_id": ["A", "A", "C"],
            "responsible_unit": ["征收中心", "征收中心", "征收中心"],
            "due_date": pd.to_datetime(["2026-11-10", "2026-11-15", "2026-11-30"]),
            "closed": [True, False, False],
            "closed_date": pd.to_datetime(["2026-11-09", None, None]),
        }
    )
    return progress, tasks, supervised, decisions


def test_score_per_street_against_a_hand_computation():
    progress, tasks, supervised, decisions = _inputs()
    s = assess_performance(
        progress, as_of="2026-11-20", tasks=tasks, supervised=supervised, decisions=decisions
    ).set_index("street")
    # 东关: signing (90+30)/(100+50) = 0.8 → 80; tasks due: A1 on time, A2 late, B late → 1/3
    # → 33.33; days overdue mean(10, 5) = 7.5 → (7.5 − 60)/(0 − 60) = 87.5;
    # decisions due: D1 closed, D2 open → 0.5 → 50.
    # score = (30·80 + 30·33.33 + 20·50 + 20·87.5) / 100 = 61.5
    assert s.loc["东关", "signing_share"] == pytest.approx(0.8)
    assert s.loc["东关", "on_time_share"] == pytest.approx(1 / 3)
    assert s.loc["东关", "days_overdue"] == 7.5
    assert s.loc["东关", "decision_closure_rate"] == 0.5
    assert s.loc["东关", "score"] == pytest.approx(61.5)
    # 西关: signing 1 → 100; tasks due: C1 on time → 100; no red → 0 days → 100;
    # no decision due yet → no value: its weight is left out → (30·100+30·100+20·100)/80 = 100
    assert pd.isna(s.loc["西关", "decision_closure_rate"])
    assert s.loc["西关", "score"] == 100
    assert s["rank"].to_dict() == {"西关": 1, "东关": 2}
    assert s.attrs["placeholder"]


def test_rank_and_score_change_since_the_last_snapshot(tmp_path):
    progress, tasks, supervised, decisions = _inputs()
    last = pd.DataFrame({"street": ["东关", "西关"], "score": [70.0, 90.0], "rank": [1, 2]})
    s = assess_performance(
        progress,
        as_of="2026-11-20",
        tasks=tasks,
        supervised=supervised,
        decisions=decisions,
        previous=last,
    ).set_index("street")
    assert s.loc["东关", "score_change"] == pytest.approx(-8.5)
    assert s.loc["东关", "rank_change"] == -1
    assert s.loc["西关", "rank_change"] == 1
    by_unit = assess_performance(progress, as_of="2026-11-20", tasks=tasks, by="responsible_unit")
    assert set(by_unit["responsible_unit"]) == {"征收中心", "东关街道办"}
    # own weights: only signing counts
    own = tmp_path / "考核.toml"
    own.write_text("[indicators.signing_share]\nweight = 1\n", encoding="utf-8")
    s2 = assess_performance(progress, as_of="2026-11-20", tasks=tasks, params=own).set_index(
        "street"
    )
    assert s2.loc["东关", "score"] == pytest.approx(80)
    assert not s2.attrs["placeholder"]


def test_a_bad_assessment_file_is_one_sentence(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[indicators.signing_vs_pln]\nweight = 1\n", encoding="utf-8")
    with pytest.raises(InputError, match="did you mean `signing_share`"):
        load_assessment_params(bad)
    bad.write_text("[indicators.days_overdue]\nweight = -1\n", encoding="utf-8")
    with pytest.raises(InputError, match="weight ≥ 0"):
        load_assessment_params(bad)
