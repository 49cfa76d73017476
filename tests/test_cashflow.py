"""Tests of geo_renewal.cashflow: the cash flow over time, its financing and sensitivity."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import numpy_financial as npf
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import geo_renewal as gr
from geo_renewal._errors import InputError
from geo_renewal.cashflow import cash_flow, financing
from geo_renewal.fund import fund_balance, fund_tables, write_fund_tables
from geo_renewal.fund_params import load_fund_params

AS_OF = dt.date(2025, 1, 1)
_LINES = (
    "compensation",
    "comp_temporary",
    "demolition_cost",
    "infrastructure_cost",
    "upgrade_cost",
    "resettlement_construction",
    "resettlement_settlement",
    "other_revenue",
)


def _params(**cashflow):
    """Round figures: 10 % interest, 20 % capital, 5 % discount, no delays searched."""
    return load_fund_params(
        overrides={
            "financing": {"rate_per_year": 0.10},
            "cashflow": {"discount_rate": 0.05, "capital_share": 0.2, "signing_months": 0.0}
            | cashflow,
            "sensitivity": {
                "delay_months": [],
                "land_price_changes": [],
                "cash_share_changes": [],
                "compensation_changes": [],
            },
        }
    )


def _two_projects(bundles=("B1", "B1")):
    """A: compensation 100 in 2025, land sold for 150 in 2027. B: 50 in 2026, other 30."""
    rollup = pd.DataFrame(
        {
            "project_id": ["A", "B"],
            "bundle": list(bundles),
            "project_type": ["demolish", "demolish"],
            **{k: [0.0, 0.0] for k in _LINES},
            "land_revenue": [150.0, 0.0],
        }
    )
    rollup.loc[0, "compensation"] = 100.0
    rollup.loc[1, "compensation"] = 50.0
    rollup.loc[1, "other_revenue"] = 30.0
    schedule = pd.DataFrame(
        {
            "signing_actual": ["2025-03-01", "2026-02-01"],
            "land_supply_actual": [None, "2026-09-01"],
        }
    )
    plots = pd.DataFrame(
        {"project_id": ["A"], "land_revenue": [150.0], "sale_date": pd.to_datetime(["2027-05-01"])}
    )
    return rollup, plots, schedule


def test_two_projects_three_years_by_hand():
    rollup, plots, schedule = _two_projects()
    cf = cash_flow(rollup, plots, params=_params(), schedule=schedule, as_of=AS_OF)
    assert cf.periods == ("2025", "2026", "2027")
    b1 = cf.by_period[cf.by_period["bundle"] == "B1"].set_index("period")
    assert b1["compensation"].tolist() == [-100.0, -50.0, 0.0]
    assert b1["other_revenue"].tolist() == [0.0, 30.0, 0.0]
    assert b1["land_revenue"].tolist() == [0.0, 0.0, 150.0]
    assert b1["net_flow"].tolist() == [-100.0, -20.0, 150.0]
    # 资本金 20 % of each cost; the loan covers the rest, 10 % on the opening balance
    assert b1["equity"].tolist() == [20.0, 10.0, 0.0]
    assert np.allclose(b1["interest"], [0.0, 8.0, 9.8])
    assert np.allclose(b1["loan_balance"], [80.0, 98.0, 0.0])
    assert np.allclose(b1["cumulative_balance"], [-80.0, -98.0, 42.2])
    head = cf.bundles.loc["B1"]
    assert head["peak_need"] == pytest.approx(98.0)
    assert head["peak_period"] == "2026"
    assert head["capital_required"] == pytest.approx(30.0)
    assert head["total_interest"] == pytest.approx(17.8)
    assert head["balance"] == pytest.approx(180 - 150 - 17.8)
    net = [-100.0, -20.0, 150.0]
    assert head["npv"] == pytest.approx(npf.npv(0.05, net))
    assert head["npv"] == pytest.approx(-100 - 20 / 1.05 + 150 / 1.05**2)
    assert head["irr_rate"] == pytest.approx(npf.irr(net))
    assert head["payback_period"] == "2027"
    assert bool(head["closed"])
    assert head["breaks_in"] is None
    # per project lines
    a = cf.projects[cf.projects["project_id"] == "A"]
    assert a["net_flow"].tolist() == [-100.0, 0.0, 150.0]
    assert a["cumulative_net"].tolist() == [-100.0, -100.0, 50.0]
    assert cf.peak_need == pytest.approx(98.0)
    assert cf.peak_period == "2026"


def test_financing_matches_a_loop_over_periods():
    rng = np.random.default_rng(3)
    costs = rng.uniform(0, 100, size=(5, 12)) * (rng.random((5, 12)) < 0.6)
    inflows = rng.uniform(0, 150, size=(5, 12)) * (rng.random((5, 12)) < 0.4)
    out = financing(costs, inflows, rate=0.05, capital_share=0.25)
    for row in range(5):
        balance, expect = 0.0, []
        for t in range(12):
            interest = 0.05 * max(-balance, 0.0)
            balance += inflows[row, t] + 0.25 * costs[row, t] - costs[row, t] - interest
            expect.append(balance)
        assert np.allclose(out["balance"][row], expect)


def test_a_bundle_breaking_its_credit_line_reports_the_year():
    rollup, plots, schedule = _two_projects(bundles=("A", "B"))
    p = _params(credit_lines={"B": 5.0})
    cf = cash_flow(rollup, plots, params=p, schedule=schedule, as_of=AS_OF)
    b = cf.bundles.loc["B"]
    # B: cost 50 and other revenue 30 in 2026 -> loan 10 > 5 in 2026
    assert not b["closed"]
    assert b["breaks_in"] == "2026"
    assert b["break_reason"] == "credit_line"
    assert bool(cf.bundles.loc["A", "closed"])
    assert not cf.closed


def test_a_loan_not_repaid_breaks_in_the_last_period():
    rollup, plots, schedule = _two_projects(bundles=("A", "B"))
    cf = cash_flow(rollup, plots, params=_params(), schedule=schedule, as_of=AS_OF)
    b = cf.bundles.loc["B"]
    assert not b["closed"]
    assert b["breaks_in"] == "2027"
    assert b["break_reason"] == "not_repaid"


def test_quarters_keep_the_totals_and_compound_the_rate():
    rollup, plots, schedule = _two_projects()
    p = _params(period="quarter")
    cf = cash_flow(rollup, plots, params=p, schedule=schedule, as_of=AS_OF)
    assert cf.periods[0] == "2025Q1"
    assert cf.periods[-1] == "2027Q2"
    b1 = cf.by_period[cf.by_period["bundle"] == "B1"].set_index("period")
    assert b1.loc["2025Q1", "compensation"] == -100.0
    assert b1.loc["2026Q3", "other_revenue"] == 30.0
    assert b1["net_flow"].sum() == pytest.approx(30.0)
    assert cf.bundles.loc["B1", "total_interest"] > 0


def _random_case(draw_amounts, draw_dates):
    rollup = pd.DataFrame(
        {
            "project_id": [f"P{i}" for i in range(len(draw_amounts))],
            "bundle": [f"B{i % 2}" for i in range(len(draw_amounts))],
            "project_type": "demolish",
            **dict.fromkeys(_LINES, 0.0),
        }
    )
    rollup["compensation"] = [a for a, _ in draw_amounts]
    rollup["land_revenue"] = [r for _, r in draw_amounts]
    sign = [AS_OF + dt.timedelta(days=d) for d, _ in draw_dates]
    sale = [s + dt.timedelta(days=g) for s, (_, g) in zip(sign, draw_dates, strict=True)]
    schedule = pd.DataFrame({"signing_actual": sign})
    plots = pd.DataFrame(
        {
            "project_id": rollup["project_id"],
            "land_revenue": rollup["land_revenue"],
            "sale_date": pd.to_datetime(sale),
        }
    )
    return rollup, plots, schedule


@settings(max_examples=40, deadline=None)
@given(
    amounts=st.lists(
        st.tuples(
            st.floats(0, 1e6, allow_subnormal=False), st.floats(0, 2e6, allow_subnormal=False)
        ),
        min_size=1,
        max_size=5,
    ),
    days=st.lists(st.tuples(st.integers(0, 1500), st.integers(0, 900)), min_size=5, max_size=5),
    delay=st.floats(0.5, 36),
    period=st.sampled_from(["year", "quarter"]),
)
def test_a_land_supply_delay_never_improves_the_balance(amounts, days, delay, period):
    rollup, plots, schedule = _random_case(amounts, days[: len(amounts)])
    p = load_fund_params(
        overrides={
            "cashflow": {"period": period},
            "sensitivity": {"delay_months": [delay]},
        }
    )
    cf = cash_flow(rollup, plots, params=p, schedule=schedule, as_of=AS_OF)
    sens = cf.sensitivity
    late = sens[sens["factor"] == "supply_delay"]
    assert (late["balance_change"] <= 1e-6).all()
    assert (late["peak_need_change"] >= -1e-6).all()
    base = sens[sens["factor"] == "base"].set_index("bundle")["npv"]
    assert (late["npv"].to_numpy() <= base[late["bundle"]].to_numpy() + 1e-6).all()


def test_the_delay_that_turns_a_bundle_negative():
    rollup, plots, schedule = _two_projects()
    p = _params()
    cf = cash_flow(rollup, plots, params=p, schedule=schedule, as_of=AS_OF)
    months = cf.bundles.loc["B1", "negative_after_months"]
    # the balance 12.2 at no delay is eaten by interest on a loan carried longer
    assert 0 < months <= 60
    later = load_fund_params(
        overrides={**p.to_dict(), "sensitivity": {"delay_months": [months - 1, months]}}
    )
    sens = cash_flow(rollup, plots, params=later, schedule=schedule, as_of=AS_OF).sensitivity
    rows = sens[(sens["bundle"] == "B1") & (sens["factor"] == "supply_delay")]
    assert rows["balance"].tolist()[0] >= 0 > rows["balance"].tolist()[1]


@pytest.fixture(scope="module")
def sample_balance():
    from geo_renewal.compensation import compensation_by_building
    from geo_renewal.supply import read_plots

    path = gr.datasets.get_path("sample_district")
    projects = gr.read_layer(path, layer="projects")
    ledger = gr.read_ledger(gr.datasets.get_path("sample_ledger"), projects=projects)
    buildings = gr.read_layer(path, layer="buildings", kind="buildings")
    comp = compensation_by_building(
        buildings,
        projects=ledger.table,
        parcels=gr.read_layer(path, layer="parcels", kind="parcels"),
        bands=gr.read_layer(path, layer="price_bands", kind="price_bands"),
    )
    plots = read_plots(path, as_of=dt.date(2026, 11, 20))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fund_balance(
            ledger.table,
            params=gr.datasets.get_path("sample_fund"),
            plots=plots,
            compensation=comp,
            cashflow=True,
            as_of=dt.date(2026, 11, 20),
        )


def test_the_cash_flow_reconciles_with_the_static_roll_up(sample_balance):
    cf = sample_balance.cashflow
    lines = cf.reconciliation[cf.reconciliation["line"] != "financing_cost"]
    assert (lines["difference"].abs() < 1.0).all()
    total = cf.by_period[cf.by_period["bundle"] == "total"]
    static = sample_balance.bundles.loc["total"]
    assert total["total_revenue"].sum() == pytest.approx(static["total_revenue"], rel=1e-9)
    assert total["total_cost"].sum() == pytest.approx(static["cost_base"], rel=1e-9)
    # bundles come from the plots layer; their sums are the district's
    rows = cf.bundles.drop(index="total")
    assert rows["total_cost"].sum() == pytest.approx(cf.bundles.loc["total", "total_cost"])
    assert set(sample_balance.projects["bundle"]) >= {"平衡单元1", "平衡单元2"}


def test_headline_attributes_for_scenario_comparison(sample_balance):
    cf = sample_balance.cashflow
    assert cf.peak_need == cf.bundles.loc["total", "peak_need"] > 0
    assert cf.peak_period in cf.periods
    assert isinstance(cf.closed, bool)
    assert cf.capital_required == pytest.approx(0.2 * cf.bundles.loc["total", "total_cost"])


def test_workbook_sheets_round_trip(sample_balance, tmp_path):
    from openpyxl import load_workbook

    path = write_fund_tables(sample_balance, tmp_path / "fund.xlsx", lang="zh")
    wb = load_workbook(path, read_only=True)
    for name in (
        "现金流量（按期）",
        "融资测算",
        "现金流敏感性",
        "年度供地计划",
        "征收补偿（按项目）",
    ):
        assert name in wb.sheetnames
    caveat = [c for row in wb["使用须知"].iter_rows(values_only=True) for c in row if c]
    assert any("占位值" in str(c) for c in caveat)
    sheets = fund_tables(sample_balance, lang="en")
    flow = sheets["Cash flow by period"]
    assert "loan_balance_wan" in flow.columns
    from geo_renewal.schema import label

    total = flow[flow["bundle"] == label("total", "en")]  # the total row by its label
    peak = sample_balance.cashflow.peak_need / 1e4
    assert total["loan_balance_wan"].max() == pytest.approx(peak)


def test_an_unknown_subsidy_target_is_refused():
    rollup, plots, schedule = _two_projects()
    p = load_fund_params(
        overrides={"subsidies": [{"bundle": "B9", "date": dt.date(2026, 1, 1), "amount": 10.0}]}
    )
    with pytest.raises(InputError, match="bundle 'B9'"):
        cash_flow(rollup, plots, params=p, schedule=schedule, as_of=AS_OF)


def test_subsidies_and_special_bonds_are_dated():
    rollup, plots, schedule = _two_projects()
    p = _params()
    p = load_fund_params(
        overrides={
            **p.to_dict(),
            "subsidies": [
                {"bundle": "B1", "date": dt.date(2026, 3, 1), "amount": 40.0},
                {
                    "project_id": "B",
                    "date": dt.date(2025, 6, 1),
                    "amount": 60.0,
                    "kind": "special_bond",
                    "repay_date": dt.date(2027, 6, 1),
                },
            ],
        }
    )
    cf = cash_flow(rollup, plots, params=p, schedule=schedule, as_of=AS_OF)
    b1 = cf.by_period[cf.by_period["bundle"] == "B1"].set_index("period")
    assert b1["subsidy_revenue"].tolist() == [0.0, 40.0, 0.0]
    assert b1["special_bonds"].tolist() == [60.0, 0.0, 0.0]
    assert b1["bond_repayment"].tolist() == [0.0, 0.0, -60.0]
    # the bond lowers the 2025 loan from 80 to 20
    assert b1.loc["2025", "loan_balance"] == pytest.approx(20.0)


def test_the_sample_credit_lines_subsidies_and_bond(sample_balance):
    cf = sample_balance.cashflow
    b4 = cf.bundles.loc["平衡单元4"]
    assert b4["credit_line"] == 8.0e8
    assert b4["peak_need"] > 8.0e8
    assert not b4["closed"]
    assert b4["break_reason"] == "credit_line"
    assert b4["breaks_in"] in cf.periods
    flows = cf.by_period[cf.by_period["bundle"] == "平衡单元1"]
    assert flows["special_bonds"].sum() == pytest.approx(3.0e8)
    assert flows["bond_repayment"].sum() == pytest.approx(-3.0e8)
    gx12 = sample_balance.projects.set_index("project_id").loc["GX12"]
    assert gx12["subsidy_revenue"] == 4.0e7
