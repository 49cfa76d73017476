"""
Tests of the signing-delay model of the cash flow (签约延迟 → 拆除 → 净地 → 供地).

A signing delay moves the compensation and demolition of the projects not signed yet, and
their land supply no earlier than the signing end + the clearing lead times (净地出让); the
plan's slack absorbs the rest, project by project. Figures are hand-computed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from geo_renewal._cashflow_schedule import _LINES, _items, _project_grid, _Scenario
from geo_renewal._cashflow_tables import money_caveats, signing_note
from geo_renewal.cashflow import cash_flow
from geo_renewal.fund import fund_balance, fund_tables
from geo_renewal.fund_params import load_fund_params

AS_OF = dt.date(2026, 1, 1)
_ZERO = (
    "compensation",
    "comp_temporary",
    "demolition_cost",
    "infrastructure_cost",
    "upgrade_cost",
    "resettlement_construction",
    "resettlement_settlement",
    "other_revenue",
    "land_revenue",
)


def _params(delays=(6.0,), period="quarter", **cashflow):
    """10 % a year, 20 % capital, compensation paid at the signing end, leads 4 + 12 months."""
    return load_fund_params(
        overrides={
            "financing": {"rate_per_year": 0.10},
            "cashflow": {
                "period": period,
                "capital_share": 0.2,
                "signing_months": 0.0,
                "demolition_months": 4.0,
                "infrastructure_months": 12.0,
            }
            | cashflow,
            "sensitivity": {
                "delay_months": list(delays),
                "land_price_changes": [],
                "cash_share_changes": [],
                "compensation_changes": [],
            },
        }
    )


def _three_projects():
    """
    A: signs 2026-01, 拆除 planned 2026-09 (8 months: 4 of slack), 供地 2027-09 (20 months:
    4 of slack). B: signed 2025-06. C: signs 2026-01, no other date (no slack).
    """
    rollup = pd.DataFrame(
        {
            "project_id": ["A", "B", "C"],
            "bundle": ["A", "B", "C"],
            "project_type": "demolish",
            **dict.fromkeys(_ZERO, 0.0),
        }
    )
    rollup["compensation"] = [100.0, 100.0, 100.0]
    rollup["demolition_cost"] = [10.0, 10.0, 10.0]
    rollup["infrastructure_cost"] = [20.0, 20.0, 20.0]
    rollup["land_revenue"] = [200.0, 200.0, 200.0]
    schedule = pd.DataFrame(
        {
            "signing_planned": ["2026-01-01", "2025-06-01", "2026-01-01"],
            "signing_actual": [None, "2025-06-01", None],
            "demolition_planned": ["2026-09-01", None, None],
            "land_supply_planned": ["2027-09-01", None, None],
        }
    )
    plots = pd.DataFrame({"project_id": ["A", "B", "C"], "land_revenue": [200.0] * 3})
    return rollup, plots, schedule


def test_slack_per_project_by_hand():
    rollup, plots, schedule = _three_projects()
    _, _, timing = _items(rollup, plots, schedule, _params(), AS_OF)
    # A: 拆除 8 − 4 = 4 months of slack; 供地 20 − 4 − 12 = 4 (and ≤ 4 + 12 after 拆除)
    assert timing["signing"].tolist() == [0.0, np.inf, 0.0]
    assert timing["demolition"].tolist() == [4.0, np.inf, 0.0]
    assert timing["land_supply"].tolist() == [4.0, np.inf, 0.0]
    assert timing["basis"].tolist() == ["ledger", "ledger", "ledger"]


def test_a_signing_delay_moves_supply_no_earlier_than_clearing_allows():
    rollup, plots, schedule = _three_projects()
    cf = cash_flow(
        rollup, plots, params=_params(delays=(3.0, 6.0)), schedule=schedule, as_of=AS_OF
    )
    sens = cf.sensitivity.set_index(["bundle", "factor", "change"])
    # A: 3 months are absorbed by the slack; of 6, 2 move 供地
    assert sens.loc[("A", "signing_delay", 3.0), "supply_moved_max"] == 0.0
    assert sens.loc[("A", "signing_delay", 6.0), "signing_moved"] == 6.0
    assert sens.loc[("A", "signing_delay", 6.0), "supply_moved_max"] == 2.0
    # B has signed: nothing moves; C has no slack: everything moves 6 months
    assert sens.loc[("B", "signing_delay", 6.0), "projects_moved"] == 0
    assert sens.loc[("B", "signing_delay", 6.0), "balance_change"] == 0.0
    assert sens.loc[("C", "signing_delay", 6.0), "supply_moved_max"] == 6.0
    assert sens.loc[("total", "signing_delay", 6.0), "projects_moved"] == 2
    assert sens.loc[("total", "signing_delay", 6.0), "supply_moved_min"] == 2.0


def test_the_grid_places_the_delayed_lines_by_hand():
    rollup, plots, schedule = _three_projects()
    items, year0, _ = _items(rollup, plots, schedule, _params(), AS_OF)
    assert year0 == 2025
    arrays = {c: items[c].to_numpy() for c in items.columns}
    base = _project_grid(arrays, 3, 16, 3.0, _Scenario())
    late = _project_grid(arrays, 3, 16, 3.0, _Scenario(signing_delay=6.0))
    land, comp = _LINES.index("land_revenue"), _LINES.index("compensation")
    # quarters from 2025Q1: A sells 2027-09 (2027Q3, index 10) → 2027-11 (Q4, index 11)
    assert np.flatnonzero(base[0, land]).tolist() == [10]
    assert np.flatnonzero(late[0, land]).tolist() == [11]
    # its compensation 2026-01 (index 4) → 2026-07 (index 6)
    assert np.flatnonzero(base[0, comp]).tolist() == [4]
    assert np.flatnonzero(late[0, comp]).tolist() == [6]
    # C: 供地 = 2026-01 + 4 + 12 = 2027-05 (index 9) → 2027-11 (index 11)
    assert np.flatnonzero(base[2, land]).tolist() == [9]
    assert np.flatnonzero(late[2, land]).tolist() == [11]
    # B does not move; every line keeps its total
    assert np.array_equal(base[1], late[1])
    assert np.allclose(base.sum(axis=2), late.sum(axis=2))


def test_sold_and_cleared_plots_do_not_move_with_signing():
    rollup, plots, schedule = _three_projects()
    plots = pd.DataFrame(
        {
            "project_id": ["C", "C", "C"],
            "land_revenue": [50.0, 60.0, 90.0],
            "status": ["sold", "cleared", None],
            "sale_date": pd.to_datetime(["2026-03-01", "2027-06-01", "2027-06-01"]),
        }
    )
    rollup.loc[2, "land_revenue"] = 200.0
    items, _, _ = _items(rollup, plots, schedule, _params(), AS_OF)
    sale = items[items["line"] == _LINES.index("land_revenue")]
    assert sale["start_slack"].tolist()[:2] == [np.inf, np.inf]
    # the unsold plot sells a month after C's 供地 (2027-05): one more month of slack
    assert sale["start_slack"].tolist()[2] == pytest.approx(1.0, abs=0.05)
    assert sale["supply"].tolist() == [False, True, True]


def test_balance_changes_by_minus_the_interest_change():
    rollup, plots, schedule = _three_projects()
    cf = cash_flow(
        rollup, plots, params=_params(delays=(6.0, 12.0)), schedule=schedule, as_of=AS_OF
    )
    s = cf.sensitivity
    delays = s[s["factor"].isin(["signing_delay", "supply_delay"])]
    assert np.allclose(delays["balance_change"], -delays["interest_change"], atol=1e-6)


# --------------------------------------------------------------------------- properties


def _case(draw):
    """A signed anchor project borrowing from the start, and 1–3 unsigned projects."""
    n = draw(st.integers(1, 3))
    rows = [("ANCHOR", 5e6, 0.0)]
    rows += [(f"P{i}", draw(st.floats(1e3, 1e6)), draw(st.floats(0.0, 3e6))) for i in range(n)]
    rollup = pd.DataFrame(
        {
            "project_id": [r[0] for r in rows],
            "bundle": "B",
            "project_type": "demolish",
            **dict.fromkeys(_ZERO, 0.0),
        }
    )
    rollup["compensation"] = [r[1] for r in rows]
    rollup["land_revenue"] = [r[2] for r in rows]
    rollup["demolition_cost"] = [0.0] + [draw(st.floats(0, 1e5)) for _ in range(n)]
    sign = [AS_OF] + [AS_OF + dt.timedelta(days=draw(st.integers(0, 900))) for _ in range(n)]
    schedule = pd.DataFrame(
        {
            "signing_planned": pd.to_datetime(sign),
            "signing_actual": pd.to_datetime([AS_OF] + [None] * n),
        }
    )
    plots = pd.DataFrame(
        {"project_id": rollup["project_id"], "land_revenue": rollup["land_revenue"]}
    )
    return rollup, plots[plots["land_revenue"] > 0], schedule


@settings(max_examples=20, deadline=None)
@given(data=st.data(), period=st.sampled_from(["year", "quarter"]), k=st.integers(1, 3))
def test_a_signing_delay_worsens_the_balance_exactly_when_the_moved_flows_are_worth_more(
    data, period, k
):
    """
    While a bundle borrows throughout, its balance is minus its final loan: the sum of its
    net flows carried to the last period at the loan rate. A signing delay of k whole periods
    with no slack moves the unsigned projects' flows as a block, so the balance changes by
    ((1 + r)^−k − 1) × the carried value of the moved flows: it never improves when that value
    (land revenue minus the loan-financed costs, carried at the loan rate) is ≥ 0, and
    always improves when it is < 0.
    """
    rollup, plots, schedule = _case(data.draw)
    width = 12 if period == "year" else 3
    p = _params(delays=(k * width,), period=period, demolition_months=0.0)
    cf = cash_flow(rollup, plots, params=p, schedule=schedule, as_of=AS_OF)
    s = cf.sensitivity[cf.sensitivity["bundle"] == "B"].set_index("factor")
    by = cf.by_period[cf.by_period["bundle"] == "B"]
    assume((by["cumulative_balance"] <= 0).all())  # borrows throughout (and never repays)
    rate = (1.10) ** (width / 12) - 1
    n = len(cf.periods)
    moved = cf.projects[cf.projects["project_id"] != "ANCHOR"]
    costs = [c for c in _LINES if c.endswith("cost") or c.startswith("comp")]
    flow = moved.groupby("period", sort=False)[["land_revenue", *costs]].sum()
    flow = flow.reindex(cf.periods).fillna(0.0)
    net = flow["land_revenue"] + 0.8 * flow[costs].sum(axis=1)  # 资本金 pays 20 % of costs
    carried = float((net.to_numpy() * (1 + rate) ** (n - 1 - np.arange(n))).sum())
    expected = ((1 + rate) ** -k - 1) * carried
    assert s.loc["signing_delay", "balance_change"] == pytest.approx(expected, rel=1e-6, abs=1e-3)
    if carried >= 0:
        assert s.loc["signing_delay", "balance_change"] <= 1e-6
    else:
        assert s.loc["signing_delay", "balance_change"] > 0


@settings(max_examples=20, deadline=None)
@given(
    slack=st.integers(0, 24),
    delay=st.floats(0.5, 24.0),
    comp=st.floats(1e3, 1e6),
    revenue=st.floats(0.0, 3e6),
    period=st.sampled_from(["year", "quarter"]),
)
def test_a_signing_delay_the_slack_absorbs_never_worsens_the_balance(
    slack, delay, comp, revenue, period
):
    """Compensation and demolition later, land revenue not: less interest, never more."""
    assume(delay <= slack)
    rollup = pd.DataFrame(
        {
            "project_id": ["A"],
            "bundle": "A",
            "project_type": "demolish",
            **dict.fromkeys(_ZERO, 0.0),
        }
    )
    rollup["compensation"] = comp
    rollup["demolition_cost"] = comp / 10
    rollup["infrastructure_cost"] = comp / 5
    rollup["land_revenue"] = revenue
    supply = pd.Timestamp("2026-01-01") + pd.DateOffset(months=16 + slack)
    schedule = pd.DataFrame({"signing_planned": ["2026-01-01"], "land_supply_planned": [supply]})
    plots = pd.DataFrame({"project_id": ["A"], "land_revenue": [revenue]})
    p = _params(delays=(delay,), period=period)
    cf = cash_flow(rollup, plots, params=p, schedule=schedule, as_of=AS_OF)
    row = cf.sensitivity[
        (cf.sensitivity["factor"] == "signing_delay") & (cf.sensitivity["bundle"] == "A")
    ]
    assert float(row["supply_moved_max"].iloc[0]) == 0.0
    assert float(row["balance_change"].iloc[0]) >= -1e-6


# --------------------------------------------------------------------------- outputs


def test_the_sensitivity_sheet_says_what_each_row_moves():
    projects = pd.DataFrame(
        {
            "project_id": ["A", "B"],
            "project_type": ["demolish", "demolish"],
            "households": [10, 10],
            "demolished_floor_area": [1000.0, 1000.0],
            "land_area": [2000.0, 2000.0],
            "signing_planned": ["2026-06-30", "2025-06-30"],
            "signing_actual": [None, "2025-06-30"],
        }
    )
    fb = fund_balance(projects, cashflow=True, as_of=AS_OF, bundles={"东片": ["A", "B"]})
    sheet = fund_tables(fb, lang="zh")["现金流敏感性"]
    rows = sheet[sheet["bundle"] == "东片"].set_index("factor")
    assert (
        rows.loc["signing_delay", "moved_text"].iloc[0].startswith("A的签约、征收补偿和拆除推迟")
    )
    assert "已成交地块不动" in rows.loc["supply_delay", "moved_text"].iloc[0]
    assert rows.loc["land_price", "moved_text"].iloc[0].endswith("时点不变")
    en = fund_tables(fb, lang="en")["Cash-flow sensitivity"]
    assert en["moved_text"].str.startswith("A: signing, compensation").any()


def test_a_signing_delay_that_improves_a_balance_is_explained():
    # a loss-making unsigned project: built later, it costs less interest
    rollup, plots, schedule = _three_projects()
    rollup["land_revenue"] = [0.0, 0.0, 0.0]
    cf = cash_flow(rollup, plots.iloc[:0], params=_params(), schedule=schedule, as_of=AS_OF)
    up = cf.sensitivity[(cf.sensitivity["factor"] == "signing_delay")]
    assert (up.set_index("bundle").loc[["A", "C"], "balance_change"] > 0).all()
    note = signing_note(cf, lang="zh")
    assert note.startswith("签约延迟 6 个月时，A、C、全区")
    assert "不是符号错误" in note

    class _Balance:  # what money_caveats reads of a FundBalance
        cashflow = cf
        compensation = None
        params = cf.params
        projects = rollup.assign(balance=-100.0)

    assert money_caveats(_Balance(), lang="en")["signing"].startswith("A signing delay")


def test_a_sold_plot_keeps_its_revenue_when_signing_is_late():
    rollup, plots, schedule = _three_projects()
    plots = pd.DataFrame(
        {
            "project_id": ["C"],
            "land_revenue": [200.0],
            "status": ["sold"],
            "sale_date": pd.to_datetime(["2026-03-01"]),
        }
    )
    rollup["land_revenue"] = [0.0, 0.0, 200.0]
    cf = cash_flow(rollup, plots, params=_params(), schedule=schedule, as_of=AS_OF)
    row = cf.sensitivity.set_index(["bundle", "factor"]).loc[("C", "signing_delay")]
    assert row["supply_moved_max"] == 6.0  # 供地 (and its infrastructure) moves …
    assert row["revenue_moved"] == 0.0  # … the sold plot's revenue does not
    text = _signing_text(cf)
    assert "土地收入不动（地块已成交或已是净地）" in text


def _signing_text(cf):
    """The zh what-moved text of bundle C's signing-delay row."""
    from geo_renewal._cashflow_tables import _moved_text

    s = cf.sensitivity
    row = s[(s["bundle"] == "C") & (s["factor"] == "signing_delay")].iloc[0]
    return _moved_text(row, "zh")
