"""Tests of geo_renewal.fund: the fund balance (区域平衡) against a hand-worked example."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely

from geo_renewal._errors import InputError, SchemaError
from geo_renewal.fund import (
    MONEY_COLUMNS,
    FundParams,
    fund_balance,
    fund_balance_from_files,
    fund_tables,
    load_fund_params,
    plots_from_projects,
    write_fund_tables,
)

#: Round figures so the expected values below can be checked by hand.
SIMPLE = {
    "compensation": {
        "appraised_value_per_m2": 10_000,
        "moving_per_household": 1_000,
        "temporary_per_household_month": 500,
        "temporary_months": 10,
        "business_loss_per_m2": 2_000,
        "incentive_per_household": 5_000,
    },
    "resettlement": {
        "cash_share": 0.5,
        "floor_area_per_household": 80,
        "construction_cost_per_m2": 3_000,
        "settlement_price_per_m2": 4_000,
    },
    "costs": {
        "demolition_per_m2": 50,
        "infrastructure_per_m2": 100,
        "upgrade_per_household": 20_000,
    },
    "financing": {"rate_per_year": 0.05, "years": 2},
    "sale_plots": {"derive": False, "net_share": 0.5, "far": 2.0, "land_price_per_m2": 5_000},
    "sensitivity": {"land_price_changes": [-0.2, -0.1, 0.0, 0.1, 0.2]},
}


@pytest.fixture
def projects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "project_id": ["P1", "P2", "P3"],
            "name": ["东关", "南苑", "北关"],
            "project_type": ["demolish", "retain_upgrade", "demolish"],
            "households": [100, 50, 10],
            "demolished_floor_area": [10_000.0, np.nan, 1_000.0],
            "business_floor_area": [500.0, np.nan, np.nan],
            "land_area": [20_000.0, 5_000.0, 2_000.0],
            "other_revenue": [1_000_000.0, np.nan, np.nan],
            # P3's appraisal is higher than the district default.
            "appraised_value_per_m2": [np.nan, np.nan, 12_000.0],
        },
        index=[10, 11, 12],
    )


@pytest.fixture
def plots() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "项目编号": ["P1", "P1"],
            "plot_id": ["P1-A", "P1-B"],
            "出让面积": [8_000.0, 4_000.0],
            "容积率": [2.5, 3.0],
            "楼面地价": [5_000.0, 6_000.0],
        }
    )


def test_hand_worked_example(projects, plots):
    fb = fund_balance(projects, params=SIMPLE, plots=plots, bundles={"东片": ["P1", "P3"]})
    p = fb.projects
    assert p.index.tolist() == [10, 11, 12]  # aligned on the input
    p1 = p.loc[10]
    # Compensation of P1, line by line.
    assert p1["comp_appraised"] == 10_000 * 10_000  # 100 000 000
    assert p1["comp_moving"] == 1_000 * 100  # 100 000
    assert p1["resettlement_households"] == 100 * (1 - 0.5)  # 50
    assert p1["comp_temporary"] == 500 * 10 * 50  # 250 000
    assert p1["comp_business"] == 2_000 * 500  # 1 000 000
    assert p1["comp_incentive"] == 5_000 * 100  # 500 000
    assert p1["compensation"] == 101_850_000
    assert p1["resettlement_floor_area"] == 50 * 80  # 4 000 m²
    assert p1["resettlement_construction"] == 4_000 * 3_000  # 12 000 000
    assert p1["demolition_cost"] == 50 * 10_000  # 500 000
    assert p1["infrastructure_cost"] == 100 * 20_000  # 2 000 000
    assert p1["cost_base"] == 116_350_000
    assert p1["financing_cost"] == pytest.approx(116_350_000 * 0.05 * 2)  # 11 635 000
    assert p1["total_cost"] == pytest.approx(127_985_000)
    # Revenue: plots 8000 × 2.5 × 5000 + 4000 × 3.0 × 6000.
    assert p1["land_revenue"] == 100_000_000 + 72_000_000
    assert p1["sale_floor_area"] == 20_000 + 12_000
    assert p1["resettlement_settlement"] == 4_000 * 4_000  # 16 000 000
    assert p1["total_revenue"] == 189_000_000
    assert p1["balance"] == pytest.approx(61_015_000)
    # Same FAR f on both plots: 8000·5000·f + 4000·6000·f = cost − settlement − other.
    assert p1["break_even_far"] == pytest.approx((127_985_000 - 16_000_000 - 1_000_000) / 64e6)

    p2 = p.loc[11]  # upgrade: works and infrastructure only
    assert p2["compensation"] == 0
    assert p2["resettlement_construction"] == 0
    assert p2["upgrade_cost"] == 20_000 * 50
    assert p2["infrastructure_cost"] == 100 * 5_000
    assert p2["total_cost"] == pytest.approx(1_500_000 * 1.1)
    assert p2["balance"] == pytest.approx(-1_650_000)
    assert np.isnan(p2["break_even_far"])

    p3 = p.loc[12]  # per-project appraisal override, no plot
    assert p3["appraised_value_per_m2"] == 12_000
    assert p3["comp_appraised"] == 12_000_000
    assert p3["compensation"] == 12_000_000 + 10_000 + 25_000 + 0 + 50_000
    assert p3["total_cost"] == pytest.approx(13_535_000 * 1.1)
    assert p3["total_revenue"] == 400 * 4_000
    assert np.isnan(p3["break_even_far"])

    b = fb.bundles
    assert b.index.tolist() == ["东片", "P2", "total"]
    assert b.loc["东片", "projects"] == 2
    assert b.loc["东片", "project_ids"] == "P1, P3"
    assert b.loc["东片", "total_cost"] == pytest.approx(127_985_000 + 14_888_500)
    assert b.loc["东片", "balance"] == pytest.approx(190_600_000 - 142_873_500)
    assert b.loc["东片", "break_even_far"] == pytest.approx(
        (142_873_500 - 17_600_000 - 1_000_000) / 64e6
    )
    # Totals conserved: the total row is the sum of the projects.
    for col in MONEY_COLUMNS:
        assert b.loc["total", col] == pytest.approx(p[col].sum()), col
    assert b.loc["total", "projects"] == 3

    pl = fb.plots.set_index("plot_id")
    assert pl.loc["P1-B", "land_revenue"] == 72_000_000
    assert pl.loc["P1-A", "plot_source"] == "declared"
    assert pl.loc["P1-A", "bundle"] == "东片"
    assert pl.loc["P1-A", "bundle_break_even_far"] == pytest.approx(
        b.loc["东片", "break_even_far"]
    )

    s = fb.sensitivity.set_index(["bundle", "land_price_change"])
    assert len(s) == 3 * 5
    assert s.loc[("东片", -0.2), "land_revenue"] == pytest.approx(172_000_000 * 0.8)
    assert s.loc[("东片", -0.2), "balance"] == pytest.approx(
        137_600_000 + 17_600_000 + 1_000_000 - 142_873_500
    )
    assert s.loc[("东片", 0.0), "balance"] == pytest.approx(b.loc["东片", "balance"])
    assert s.loc[("东片", 0.2), "break_even_far"] == pytest.approx(
        b.loc["东片", "break_even_far"] / 1.2
    )


def test_every_figure_traceable(projects, plots):
    """Each money line can be recomputed from the rate and quantity columns of its row."""
    fb = fund_balance(projects, params=SIMPLE, plots=plots)
    p = fb.projects
    e = (p["project_type"] == "demolish").astype(float)
    np.testing.assert_allclose(
        p["comp_appraised"], p["appraised_value_per_m2"] * p["demolished_floor_area"]
    )
    np.testing.assert_allclose(
        p["comp_temporary"],
        p["temporary_per_household_month"] * p["temporary_months"] * p["resettlement_households"],
    )
    np.testing.assert_allclose(
        p["resettlement_construction"],
        p["resettlement_floor_area"] * p["construction_cost_per_m2"],
    )
    np.testing.assert_allclose(p["comp_moving"], p["moving_per_household"] * p["households"] * e)
    np.testing.assert_allclose(
        p["financing_cost"], p["cost_base"] * p["rate_per_year"] * p["years"]
    )
    np.testing.assert_allclose(p["balance"], p["total_revenue"] - p["total_cost"])


def test_bundles_from_column_and_default(projects, plots):
    alone = fund_balance(projects, params=SIMPLE, plots=plots)
    assert alone.bundles.index.tolist() == ["P1", "P2", "P3", "total"]
    by_col = fund_balance(
        projects.assign(片区=["A", "A", None]),
        params=SIMPLE,
        plots=plots,
        bundles="片区",
    )
    assert by_col.bundles.index.tolist() == ["A", "P3", "total"]
    with pytest.raises(InputError, match="belongs to one bundle"):
        fund_balance(projects, params=SIMPLE, bundles={"a": ["P1"], "b": ["P1", "P2"]})
    with pytest.raises(InputError, match="not in `projects`"):
        fund_balance(projects, params=SIMPLE, bundles={"a": ["P9"]})
    with pytest.raises(SchemaError, match="lacks"):
        fund_balance(projects, params=SIMPLE, bundles="bundle_col")


def test_derived_plots_from_polygons():
    x0, y0 = 500_000.0, 4_063_000.0
    gdf = gpd.GeoDataFrame(
        {
            "project_id": ["D1", "U1"],
            "project_type": ["demolish", "retain_upgrade"],
            "households": [10, 10],
            "demolished_floor_area": [1_000.0, np.nan],
        },
        geometry=[shapely.box(x0, y0, x0 + 100, y0 + 200), shapely.box(x0, y0, x0 + 50, y0 + 50)],
        crs="EPSG:4548",
    )
    params = {**SIMPLE, "sale_plots": {**SIMPLE["sale_plots"], "derive": True}}
    fb = fund_balance(gdf, params=params)
    assert fb.plots["plot_id"].tolist() == ["D1-1"]
    assert fb.plots.loc[0, "plot_source"] == "derived"
    assert fb.plots.loc[0, "plot_area"] == pytest.approx(20_000 * 0.5)
    assert fb.projects.loc[0, "land_area"] == pytest.approx(20_000)
    assert fb.projects.loc[0, "land_revenue"] == pytest.approx(10_000 * 2.0 * 5_000)
    derived = plots_from_projects(gdf, params=params)
    assert derived["plot_area"].tolist() == pytest.approx([10_000])
    # Declared plots in the parameters take precedence over derived ones.
    declared = {**params, "plots": [{"project_id": "D1", "plot_id": "X", "area": 3000.0}]}
    fb2 = fund_balance(gdf, params=declared)
    assert fb2.plots["plot_id"].tolist() == ["X"]
    assert fb2.plots.loc[0, "land_revenue"] == 3000 * 2.0 * 5_000


def test_missing_inputs_warned_and_listed():
    df = pd.DataFrame({"project_id": ["A"], "project_type": ["demolish"], "households": [5]})
    with pytest.warns(UserWarning, match="lack inputs counted as 0"):
        fb = fund_balance(df, params=SIMPLE)
    assert fb.projects.loc[0, "missing_inputs"] == "demolished_floor_area, land_area"
    assert fb.projects.loc[0, "comp_appraised"] == 0


def test_params_defaults_file_and_validation(tmp_path):
    p = load_fund_params()
    assert isinstance(p, FundParams)
    assert p.source == "(defaults)"
    assert p.land_price_changes == (-0.2, -0.1, 0.0, 0.1, 0.2)
    assert p.to_dict()["compensation"]["appraised_value_per_m2"] == p.appraised_value_per_m2

    good = tmp_path / "fund.toml"
    good.write_text(
        '[compensation]\nappraised_value_per_m2 = 18000\n\n[[plots]]\nproject_id = "A"\n'
        "area = 1000.0\nfar = 3.0\n",
        encoding="utf-8",
    )
    q = load_fund_params(good)
    assert q.appraised_value_per_m2 == 18000.0
    assert q.moving_per_household == p.moving_per_household  # default kept
    assert q.plots == ({"project_id": "A", "area": 1000.0, "far": 3.0},)
    assert "fund.toml" in q.source

    bad_key = tmp_path / "bad_key.toml"
    bad_key.write_text("[compensation]\nappraised = 1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"unknown key 'appraised' in \[compensation\]") as e:
        load_fund_params(bad_key)
    assert "appraised_value_per_m2" in str(e.value)  # lists the valid keys
    with pytest.raises(InputError, match="unknown parameter 'land'; valid sections"):
        load_fund_params(overrides={"land": {}})
    with pytest.raises(InputError, match=r"land_price_per_m2 must be ≥ 0, got -5"):
        load_fund_params(overrides={"sale_plots": {"land_price_per_m2": -5}})
    with pytest.raises(InputError, match="cash_share is a share"):
        load_fund_params(overrides={"cash_share": 1.5})
    with pytest.raises(InputError, match="must be a number"):
        load_fund_params(overrides={"years": "three"})
    broken = tmp_path / "broken.toml"
    broken.write_text("[compensation\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid TOML"):
        load_fund_params(broken)
    with pytest.raises(InputError, match="does not exist"):
        load_fund_params(tmp_path / "none.toml")


def test_bad_inputs(projects, plots):
    with pytest.raises(InputError, match="negative"):
        fund_balance(projects.assign(construction_cost_per_m2=-1.0), params=SIMPLE)
    with pytest.raises(InputError, match=r"\['P9'\]"):
        fund_balance(projects, params=SIMPLE, plots=plots.assign(项目编号="P9"))
    with pytest.raises(SchemaError, match="project_type"):
        fund_balance(projects.drop(columns="project_type"))
    with pytest.raises(InputError, match="repeats project ids"):
        fund_balance(pd.concat([projects, projects]), params=SIMPLE)


def test_inputs_not_mutated(projects, plots):
    before, before_plots = projects.copy(), plots.copy()
    fund_balance(projects, params=SIMPLE, plots=plots)
    pd.testing.assert_frame_equal(projects, before)
    pd.testing.assert_frame_equal(plots, before_plots)


def test_fund_tables_in_wan_and_workbook(tmp_path, projects, plots):
    import openpyxl

    from geo_renewal.tables import write_tables

    fb = fund_balance(projects, params=SIMPLE, plots=plots, bundles={"东片": ["P1", "P3"]})
    sheets = fund_tables(fb)
    assert list(sheets) == ["区域平衡", "项目测算", "出让地块", "敏感性分析", "测算参数"]
    b = sheets["区域平衡"]
    assert b.loc["total", "total_cost_wan"] == pytest.approx(
        fb.bundles["total_cost"].iloc[-1] / 1e4
    )
    assert "total_cost" not in b.columns
    wide = sheets["敏感性分析"]
    assert list(wide.columns) == [f"土地价格 {c}" for c in ("-20%", "-10%", "0%", "+10%", "+20%")]
    assert wide.loc["东片", "土地价格 0%"] == pytest.approx(b.loc["东片", "balance_wan"])
    yuan = fund_tables(fb, unit="yuan", lang="en")
    assert yuan["Bundles"]["total_cost"].iloc[-1] == fb.bundles["total_cost"].iloc[-1]

    out = write_tables(sheets, tmp_path / "fund.xlsx")
    ws = openpyxl.load_workbook(out)["区域平衡"]
    headers = [c.value for c in next(ws.iter_rows(max_row=1))]
    assert "总成本（万元）" in headers
    assert "资金平衡（收入−成本）（万元）" in headers
    with pytest.raises(InputError, match="unit"):
        fund_tables(fb, unit="亿元")


def test_missing_inputs_warning_points_at_the_caller():
    df = pd.DataFrame({"project_id": ["A"], "project_type": ["demolish"], "households": [5]})
    with pytest.warns(UserWarning, match="lack inputs") as caught:
        fund_balance(df, params=SIMPLE)
    assert caught[0].filename == __file__


def test_fund_balance_from_files_and_workbook(tmp_path, projects, plots):
    import openpyxl

    ledger = tmp_path / "台账.csv"
    projects.rename(columns={"project_id": "项目编号", "project_type": "类型"}).to_csv(
        ledger, index=False, encoding="utf-8-sig"
    )
    plots_csv = tmp_path / "plots.csv"
    plots.to_csv(plots_csv, index=False, encoding="utf-8-sig")
    fb = fund_balance_from_files(ledger, params=SIMPLE, plots=plots_csv)
    direct = fund_balance(projects.reset_index(drop=True), params=SIMPLE, plots=plots)
    cols = ["project_id", "total_cost", "total_revenue", "balance", "break_even_far"]
    pd.testing.assert_frame_equal(fb.projects[cols], direct.projects[cols])
    same = fund_balance_from_files(ledger, params=SIMPLE, plots=plots)  # a DataFrame as is
    pd.testing.assert_frame_equal(same.projects[cols], direct.projects[cols])

    path = write_fund_tables(fb, tmp_path / "fund.xlsx", unit="yuan", lang="en")
    assert path == tmp_path / "fund.xlsx"
    book = openpyxl.load_workbook(path)
    # SIMPLE keeps the bundled net sale share: a placeholder, so the caveat comes first.
    sheets = ["Caveats", "Bundles", "Projects", "Sale plots", "Sensitivity", "Parameters"]
    assert book.sheetnames == sheets
    text = fb.summary_text(unit="wan", lang="en").splitlines()
    assert "Total" in text[-1]
    assert "万元" not in text[0]
    assert "（万元）" in fb.summary_text(lang="zh").splitlines()[0]


def test_fund_workbook_opens_with_the_placeholder_caveat(tmp_path, projects):
    """Placeholder parameters: the fund workbook's first sheet says so, as the run's does."""
    import openpyxl

    from geo_renewal.fund_params import placeholder_keys

    fb = fund_balance(projects, params=None)  # the bundled placeholders
    n_loss = int((fb.projects["balance"] < 0).sum())
    for lang, sheet, first in (("zh", "使用须知", "区域平衡"), ("en", "Caveats", "Bundles")):
        book = openpyxl.load_workbook(
            write_fund_tables(fb, tmp_path / f"f_{lang}.xlsx", lang=lang)
        )
        assert book.sheetnames[:2] == [sheet, first]
        cells = [v for r in book[sheet].iter_rows(values_only=True) for v in r if v]
        text = " ".join(map(str, cells))
        assert str(len(placeholder_keys(fb.params))) in text
        assert f"{n_loss}" in text
    assert "placeholder" in text
    # The district's own parameters: no caveat, the workbook opens with its balance.
    params = {**SIMPLE, "sale_plots": {**SIMPLE["sale_plots"], "net_share": 0.45}}
    own = fund_balance(projects, params=params)
    assert placeholder_keys(own.params) == []
    book = openpyxl.load_workbook(write_fund_tables(own, tmp_path / "own.xlsx", lang="en"))
    assert book.sheetnames[0] == "Bundles"
