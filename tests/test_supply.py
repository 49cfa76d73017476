"""Tests of geo_renewal.supply: sale plots, the supply pipeline and the annual plan."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import geopandas as gpd
from shapely.geometry import box

import geo_renewal as gr
from geo_renewal import schema
from geo_renewal._errors import InputError, SchemaError
from geo_renewal.fund import fund_balance
from geo_renewal.supply import STATUS_CODES, check_plots, overdue_plots, read_plots, supply_plan

AS_OF = dt.date(2026, 6, 30)


def _plots():
    """P1 sold; P2 listed on time; P3 approval overdue by 30 days; P4 not reserved yet."""
    return pd.DataFrame(
        {
            "plot_id": ["P1", "P2", "P3", "P4"],
            "project_id": ["A", "A", "B", "C"],
            "plot_area": [10000.0, 5000.0, 8000.0, 4000.0],
            "far": [2.5, 3.0, 2.0, 2.0],
            "reserved_actual": ["2025-01-10", "2025-02-01", "2025-12-01", None],
            "approval_planned": [None, None, "2026-05-31", None],
            "approval_actual": ["2025-03-01", "2025-05-01", None, None],
            "cleared_actual": ["2025-06-01", "2025-09-01", None, None],
            "announced_actual": ["2025-08-01", "2026-06-01", None, None],
            "sold_planned": ["2025-09-01", "2026-07-15", "2026-12-31", "2027-06-30"],
            "sold_actual": ["2025-09-05", None, None, None],
            "start_price": [15000.0, 9000.0, 8000.0, None],
            "deal_price": [17000.0, None, None, None],
        }
    )


def test_status_pipeline_from_the_dates():
    out = check_plots(_plots(), as_of=AS_OF).set_index("plot_id")
    assert out["status"].tolist() == ["sold", "announced", "reserved", None]
    assert out["status_index"].tolist() == [4, 3, 0, -1]
    assert out["next_status"].tolist() == [None, "sold", "approval", "reserved"]
    assert out.loc["P2", "next_planned"] == pd.Timestamp("2026-07-15")


def test_overdue_plots():
    out = check_plots(_plots(), as_of=AS_OF)
    late = overdue_plots(out)
    assert late["plot_id"].tolist() == ["P3"]
    assert late["overdue_status"].tolist() == ["approval"]
    assert late["days_overdue"].tolist() == [30]
    # a sale date long past without a sale is overdue too
    later = check_plots(_plots(), as_of=dt.date(2026, 8, 14))
    assert overdue_plots(later)["plot_id"].tolist() == ["P3", "P2"]
    assert overdue_plots(later).set_index("plot_id").loc["P2", "days_overdue"] == 30


def test_price_deal_where_sold_else_start():
    out = check_plots(_plots(), as_of=AS_OF).set_index("plot_id")
    assert out["expected_price"].tolist()[:3] == [17000.0, 9000.0, 8000.0]
    assert out["price_basis"].tolist()[:3] == ["deal", "start", "start"]
    assert pd.isna(out.loc["P4", "expected_price"])


def test_supply_plan_per_year_and_status_conserves_the_totals():
    plan = supply_plan(check_plots(_plots(), as_of=AS_OF), lang="zh")
    body = plan[plan["year"] != "total"]
    assert body[["year", "status"]].values.tolist() == [
        ["2025", "成交"],
        ["2026", "收储"],
        ["2026", "挂牌公告"],
        ["2027", "未收储"],
    ]
    total = plan[plan["year"] == "total"].iloc[0]
    assert total["n_plots"] == 4
    assert total["plot_area"] == 27000.0
    assert body["plot_area"].sum() == total["plot_area"]
    assert total["n_overdue_plots"] == 1
    assert total["expected_price_wan"] == 17000 + 9000 + 8000


def test_a_given_status_label_wins_and_an_unknown_one_is_refused():
    plots = _plots().assign(status=["成交", "挂牌", None, "收储"])
    out = check_plots(plots, as_of=AS_OF)
    assert out["status"].tolist() == ["sold", "announced", "reserved", "reserved"]
    with pytest.raises(
        InputError, match=r"status '挂排' of plots \['P2'\] is not a supply step; use one of"
    ):
        check_plots(_plots().assign(status=[None, "挂排", None, None]), as_of=AS_OF)


def test_bad_plots_are_refused_in_one_sentence():
    with pytest.raises(InputError, match=r"repeats plot ids \['P1'\]"):
        check_plots(_plots().assign(plot_id=["P1", "P1", "P3", "P4"]))
    with pytest.raises(InputError, match=r"deal_price of plots \['P1'\] is negative"):
        check_plots(_plots().assign(deal_price=[-1.0, None, None, None]))
    with pytest.raises(InputError, match=r"density of plots \['P2'\]"):
        check_plots(_plots().assign(density=[0.3, 1.4, 0.2, 0.2]))
    with pytest.raises(InputError, match=r"sold_planned of plots \['P1'\].*not dates"):
        check_plots(_plots().assign(sold_planned=["soon", None, None, None]))
    with pytest.raises(SchemaError, match="no plot id"):
        check_plots(pd.DataFrame({"area": [1.0]}))


def test_dates_out_of_order_are_findings():
    plots = _plots()
    plots.loc[0, "approval_actual"] = "2024-12-01"  # before 收储 2025-01-10
    out = check_plots(plots, as_of=AS_OF)
    findings = out.attrs["findings"]
    assert findings["id"].tolist() == ["P1"]
    assert findings["problem"].tolist() == ["date_order"]


def test_a_workbook_with_chinese_headers_round_trips(tmp_path):
    zh = {
        "plot_id": "出让地块编号",
        "project_id": "项目编号",
        "plot_area": "出让面积",
        "far": "容积率",
        "sold_planned": "成交计划日期",
        "sold_actual": "成交实际日期",
        "start_price": "起始价",
        "deal_price": "成交价",
        "reserved_actual": "收储实际日期",
        "approval_planned": "组卷报批计划日期",
        "approval_actual": "组卷报批实际日期",
        "cleared_actual": "净地实际日期",
        "announced_actual": "挂牌公告实际日期",
    }
    path = tmp_path / "供地计划.xlsx"
    _plots().rename(columns=zh).to_excel(path, index=False)
    out = read_plots(path, as_of=AS_OF)
    assert out["status"].tolist() == ["sold", "announced", "reserved", None]
    assert overdue_plots(out)["plot_id"].tolist() == ["P3"]


def test_the_sample_plots_layer():
    path = gr.datasets.get_path("sample_district")
    raw = gr.read_layer(path, layer="plots", kind="plots")
    for col in ("plot_id", "project_id", "bundle", "land_use", "far", "height_limit", "density"):
        assert col in raw.columns
    assert {f"{c}_planned" for c in STATUS_CODES} <= set(raw.columns)
    plots = read_plots(path, as_of=dt.date(2026, 11, 20))
    assert plots["plot_area"].gt(0).all()  # computed from the polygons
    assert plots["status"].isin([*STATUS_CODES, None]).all()
    assert plots["overdue"].sum() >= 1
    assert set(plots["land_use"]) <= set(schema.LAND_USES)


def test_fund_revenue_comes_from_the_plot_prices():
    projects = pd.DataFrame(
        {
            "project_id": ["A", "B", "C"],
            "project_type": ["demolish"] * 3,
            "households": [10, 10, 10],
            "demolished_floor_area": [1000.0, 1000.0, 1000.0],
            "land_area": [20000.0, 10000.0, 5000.0],
        }
    )
    fb = fund_balance(projects, plots=check_plots(_plots(), as_of=AS_OF))
    per = fb.plots.set_index("plot_id")
    assert per.loc["P1", "land_revenue"] == pytest.approx(17000 * 1e4)
    assert per.loc["P2", "land_revenue"] == pytest.approx(9000 * 1e4)
    # no price: the land price per floor m² of the parameters
    assert per.loc["P4", "land_revenue"] == pytest.approx(4000 * 2.0 * 7000)
    assert fb.supply is not None
    assert fb.supply["overdue"].sum() == 1


def test_plot_polygons_give_the_area():
    plots = gpd.GeoDataFrame(
        {"plot_id": ["X"], "far": [2.0]},
        geometry=[box(500000, 4060000, 500100, 4060050)],
        crs="EPSG:4548",
    )
    assert check_plots(plots)["plot_area"].iloc[0] == pytest.approx(5000, rel=1e-3)
