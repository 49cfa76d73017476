"""Scenario comparison (方案比选): checked scenarios, shared steps, figures, maps, files."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from small_plan import write_small_plan

import geopandas as gpd
import shapely

from geo_renewal._comparison import Comparison, class_changes, indicator_table
from geo_renewal._errors import InputError
from geo_renewal._scenario_doc import deep_merge
from geo_renewal._scenario_maps import change_map, swipe_map
from geo_renewal._stepcache import StepCache
from geo_renewal.cli import cli
from geo_renewal.plan import load_plan
from geo_renewal.report import _map_legend
from geo_renewal.scenarios import compare_scenarios, scenario_names, write_comparison
from geo_renewal.workflow import OUTPUT_FIELDS, STEP_INPUTS, RunResult, compute_plan, run_plan

RULES = """
[[rules]]
id = "danger"
category = "demolish"
when = 'danger_grade in ["C", "D"]'
reason_zh = "危房"
reason_en = "Dangerous"

[[rules]]
id = "site"
category = "resettlement_site"
when = 'land_use == "industrial"'
reason_zh = "安置地块"
reason_en = "Site"
"""

STRICT_RULES = RULES.replace('["C", "D"]', '["D"]')


def _plan(folder: Path, parcels: gpd.GeoDataFrame, scenarios: str) -> Path:
    """The small project file with 8 demolition parcels, resettlement sites and `scenarios`."""
    path = write_small_plan(folder, parcels)
    (folder / "rules.toml").write_text(RULES, encoding="utf-8")
    (folder / "strict.toml").write_text(STRICT_RULES, encoding="utf-8")
    text = path.read_text(encoding="utf-8").replace("offline = false", "offline = true")
    path.write_text(f"{text}\n[resettlement]\ncash_share = 0.3\n\n{scenarios}", encoding="utf-8")
    return path


SCENARIOS = """
[scenarios.cash50.resettlement]
cash_share = 0.5

[scenarios.strict.rules]
set = "strict.toml"
"""


@pytest.fixture
def plan_path(tmp_path, grid_parcels):
    return _plan(tmp_path, grid_parcels, SCENARIOS)


# ------------------------------------------------------------------ checked like the file


def test_deep_merge_merges_tables_and_replaces_values():
    base = {"resettlement": {"cash_share": 0.3, "nearby_dist": 1500}, "stats": {"by": ["a"]}}
    merged = deep_merge(base, {"resettlement": {"cash_share": 0.5}, "stats": {"by": ["b"]}})
    assert merged == {
        "resettlement": {"cash_share": 0.5, "nearby_dist": 1500},
        "stats": {"by": ["b"]},
    }
    assert base["resettlement"]["cash_share"] == 0.3  # not changed


def test_scenarios_are_loaded_as_checked_plans(plan_path):
    plan = load_plan(plan_path)
    assert list(plan.scenarios) == ["cash50", "strict"]
    assert plan.scenario is None
    cash50 = plan.scenarios["cash50"]
    assert cash50.scenario == "cash50"
    assert cash50.resettlement == {"cash_share": 0.5}
    assert cash50.rules == plan.rules
    assert cash50.layers == plan.layers
    assert plan.scenarios["strict"].rules.endswith("strict.toml")
    assert load_plan(plan_path, scenario="strict") == plan.scenarios["strict"]


def test_a_scenario_key_that_does_not_exist_is_refused_with_the_scenario_and_key(
    tmp_path, grid_parcels
):
    path = _plan(tmp_path, grid_parcels, "[scenarios.cash50.resettlement]\ncash_shar = 0.5\n")
    msg = (
        r"scenario 'cash50': `scenarios\.cash50\.resettlement\.cash_shar` is not a key; "
        r"did you mean `cash_share`\?"
    )
    with pytest.raises(InputError, match=msg):
        load_plan(path)


@pytest.mark.parametrize(
    ("scenarios", "match"),
    [
        (
            "[scenarios.a.resettlment]\ncash_share = 0.5\n",
            r"`scenarios\.a\.resettlment` is not a section; did you mean `resettlement`",
        ),
        (
            "[scenarios.a.resettlement]\ncash_share = 1.5\n",
            r"`scenarios\.a\.resettlement\.cash_share` must be a number from 0 to 1, got 1\.5",
        ),
        (
            '[scenarios.a.rules]\nset = "nowhere.toml"\n',
            r"`scenarios\.a\.rules\.set` names .*nowhere\.toml, which does not exist",
        ),
        (
            "[scenarios.base.resettlement]\ncash_share = 0.5\n",
            r"'base' names the file's own values",
        ),
        ('[scenarios."a,b".resettlement]\ncash_share = 0.5\n', r"not a usable scenario name"),
        ("[scenarios.a.scenarios.b.rules]\nzone_dist = 10\n", r"a scenario cannot hold scenarios"),
    ],
)
def test_bad_scenarios_are_refused_before_anything_runs(tmp_path, grid_parcels, scenarios, match):
    path = _plan(tmp_path, grid_parcels, scenarios)
    with pytest.raises(InputError, match=match):
        load_plan(path)


def test_unknown_scenario_names_get_the_closest(plan_path):
    plan = load_plan(plan_path)
    assert scenario_names(plan, "cash50") == ["base", "cash50"]
    assert scenario_names(plan, None) == ["base", "cash50", "strict"]
    with pytest.raises(InputError, match=r"did you mean `cash50`"):
        scenario_names(plan, "cash5")
    with pytest.raises(InputError, match=r"did you mean `strict`"):
        load_plan(plan_path, scenario="stric")


# ------------------------------------------------------------------ shared work, same figures


def _same(a: RunResult, b: RunResult) -> None:
    """Assert two runs give the same figures (frames exactly equal)."""
    pd.testing.assert_frame_equal(pd.DataFrame(a.classified), pd.DataFrame(b.classified))
    assert a.stats.keys() == b.stats.keys()
    for key in a.stats:
        pd.testing.assert_frame_equal(a.stats[key], b.stats[key])
    assert (a.resettlement is None) == (b.resettlement is None)
    if a.resettlement is not None and b.resettlement is not None:
        pd.testing.assert_frame_equal(a.resettlement.allocation, b.resettlement.allocation)
        pd.testing.assert_frame_equal(a.resettlement.rates, b.resettlement.rates)
        sa = {k: v for k, v in a.resettlement.summary.items() if k != "solve_time_s"}
        sb = {k: v for k, v in b.resettlement.summary.items() if k != "solve_time_s"}
        assert sa == pytest.approx(sb, nan_ok=True)


def test_two_scenarios_differing_in_one_parameter_equal_two_separate_runs(plan_path, tmp_path):
    comparison = compare_scenarios(plan_path, names="cash50")
    alone_base = run_plan(load_plan(plan_path), out_dir=tmp_path / "base")
    alone_cash = run_plan(load_plan(plan_path, scenario="cash50"), out_dir=tmp_path / "cash50")
    _same(comparison.results["base"], alone_base)
    _same(comparison.results["cash50"], alone_cash)
    # hand-computed: 8 demolition parcels (danger C or D, columns 0-3 of rows 0-1) with
    # 10 and 20 households: 4 × 10 + 4 × 20 = 120; flats = households × (1 − cash share)
    table = comparison.table
    assert table.loc["demolish_households", "base"] == 120
    assert table.loc["demolish_households", "cash50"] == 120
    flats_base = table.loc["flats_needed", "base"]
    flats_cash = table.loc["flats_needed", "cash50"]
    assert flats_base == alone_base.resettlement.summary["flat_households"]
    assert flats_cash == alone_cash.resettlement.summary["flat_households"]
    assert flats_cash < flats_base
    assert table.loc["flats_needed", "Δ cash50"] == flats_cash - flats_base


def test_a_cash_share_scenario_reuses_reading_classification_and_statistics(plan_path):
    comparison = compare_scenarios(plan_path)
    reused = {(s, step) for s, step in comparison.reused}
    assert {("cash50", "read"), ("cash50", "classify"), ("cash50", "statistics")} <= reused
    assert ("cash50", "resettlement") not in reused  # its input changed
    assert ("strict", "read") in reused
    assert ("strict", "classify") not in reused
    assert ("strict", "resettlement") not in reused
    assert [step for s, step in comparison.ran if s == "base"] == list(STEP_INPUTS)


def test_every_computing_step_is_declared(plan_path):
    cache = StepCache(STEP_INPUTS, ignored=OUTPUT_FIELDS)
    with cache.active():
        compute_plan(plan_path)
    assert [step for _, step in cache.ran] == list(STEP_INPUTS)


@dataclass
class _Plan:
    layers: str = "same"
    extra: str = "a"
    scenario: str | None = None


@dataclass
class _Result:
    plan: _Plan
    value: object = None


def test_an_undeclared_step_always_runs_and_so_do_the_steps_after_it():
    cache = StepCache({"read": (("layers",), ()), "late": (("layers",), ("read",))})
    calls = []

    def run(result):
        cache.run(result, "read", lambda: calls.append("read"))
        cache.run(result, "unknown", lambda: calls.append("unknown"))
        cache.run(result, "late", lambda: calls.append("late"))

    run(_Result(_Plan()))
    run(_Result(_Plan()))
    assert calls == ["read", "unknown", "late", "unknown", "late"]


def test_a_plan_field_no_step_declares_is_read_by_every_step():
    cache = StepCache({"read": (("layers",), ())})
    calls = []
    for extra in ("a", "a", "b"):
        cache.run(_Result(_Plan(extra=extra)), "read", lambda: calls.append(1))
    assert len(calls) == 2  # "b" is new: read again


def test_a_reused_step_gives_its_results_to_the_run():
    cache = StepCache({"read": (("layers",), ())})
    first, second = _Result(_Plan()), _Result(_Plan())

    def step(result):
        result.value = pd.DataFrame({"x": [1, 2]})

    cache.run(first, "read", lambda: step(first))
    cache.run(second, "read", lambda: pytest.fail("reused, not run"))
    pd.testing.assert_frame_equal(second.value, first.value)
    second.value["y"] = 0  # its own frame: the first run's is unchanged
    assert list(first.value.columns) == ["x"]


# ------------------------------------------------------------------ change map


def _crafted() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    geoms = [
        shapely.box(500_000 + 110 * i, 4_063_000, 500_100 + 110 * i, 4_063_100) for i in range(5)
    ]
    a = gpd.GeoDataFrame(
        {
            "parcel_id": [f"P{i}" for i in range(5)],
            "category": ["demolish", "demolish", "demolish", "unchanged", "retain_upgrade"],
        },
        geometry=geoms,
        crs="EPSG:4548",
    )
    b = a.assign(
        category=["demolish", "retain_upgrade", "retain_upgrade", "demolish", "retain_upgrade"]
    )
    return a, b


def test_class_changes_count_a_crafted_pair():
    a, b = _crafted()
    changes = class_changes(a, b)
    assert changes["parcel_id"].tolist() == ["P1", "P2", "P3"]
    assert changes["change"].value_counts().to_dict() == {
        "demolish→retain_upgrade": 2,
        "unchanged→demolish": 1,
    }
    missing = class_changes(a, b.drop(index=[4]))
    assert missing.set_index("parcel_id").loc["P4", "to_category"] == "absent"


def _comparison(a, b) -> Comparison:
    from geo_renewal.plan import LayerSpec, Plan

    plan = Plan(
        path=Path("plan.toml"),
        name="小片区",
        as_of=pd.Timestamp("2026-11-20").date(),
        lang="zh",
        working_crs=None,
        layers={"parcels": LayerSpec(Path("p.gpkg"))},
        constraints={},
        rasters={},
        rules="default",
        zone_dist=30.0,
        stats_by=(),
        resettlement={},
        ledger=None,
        ledger_sheet=None,
        fund_params=None,
        out_dir=Path("out"),
        tiles="none",
        offline=True,
    )
    results = {
        "base": RunResult(plan=plan, classified=a),
        "alt": RunResult(plan=plan, classified=b),
    }
    return Comparison(
        base="base",
        results=results,
        table=indicator_table(results, base="base"),
        changes={"alt": class_changes(a, b)},
    )


def test_the_change_map_legend_counts_the_changed_parcels():
    a, b = _crafted()
    comp = _comparison(a, b)
    html = change_map(comp, "alt").get_root().render()
    assert "征收拆迁 → 保留提升" in html
    legend = _map_legend(html)  # the legend as the page's runtime gets it
    cells = re.findall(r"<td>([\d,]+)</td>", legend)
    assert cells == ["2", "1", "3"]  # two changes (largest first) and the total
    assert comp.change_counts("alt").sum() == 3


def test_the_swipe_map_has_both_sides_in_their_panes():
    a, b = _crafted()
    html = swipe_map(_comparison(a, b), "base", "alt").get_root().render()
    assert len(re.findall(r'"pane":\s*"grLeft"', html)) >= 2
    assert len(re.findall(r'"pane":\s*"grRight"', html)) >= 2
    assert html.index("createPane") < html.index("geoRenewal.layer(")  # panes first


# ------------------------------------------------------------------ the count of compliant units


def _with_units(comp: Comparison, verdicts: dict[str, list[str]]) -> Comparison:
    """`comp` with 63号文 verdicts per scenario (units U0, U1 …) and its table rebuilt."""
    for name, values in verdicts.items():
        comp.results[name].unit_checks = pd.DataFrame(
            {"name": [f"U{i}" for i in range(len(values))], "verdict": values}
        )
    comp.table = indicator_table(comp.results, base=comp.base)
    return comp


def test_the_difference_of_compliant_units_is_a_signed_count_not_a_fraction():
    a, b = _crafted()
    comp = _with_units(
        _comparison(a, b),
        {
            "base": ["符合", "符合", "符合", "不符合"],
            "alt": ["符合", "不符合", "不符合", "不符合"],
        },
    )
    row = comp.table.loc["units_compliant"]
    assert (row["base"], row["alt"]) == ("3 / 4", "1 / 4")  # the scenarios' own cells
    assert row["Δ alt"] == -2  # 1 − 3 compliant units, a number
    text = comp.table_text().set_index("指标").loc["符合63号文的更新单元"]
    assert text["alt 较基准"] == "-2"
    sheet = comp.table_for_sheet().set_index("指标").loc["符合63号文的更新单元"]
    assert sheet["alt 较基准"] == -2
    assert sheet["base"] == "3 / 4"


def test_an_unchanged_count_of_compliant_units_reads_zero_in_the_report():
    from geo_renewal._comparison import comparison_section

    a, b = _crafted()
    comp = _with_units(_comparison(a, b), {"base": ["符合", "不符合"], "alt": ["不符合", "符合"]})
    assert comp.table.loc["units_compliant", "Δ alt"] == 0
    result = comp.results["base"]
    result.comparison = comp
    html = comparison_section(result, "zh")
    row = re.search(r"<tr><td>符合63号文的更新单元</td>(.*?)</tr>", html).group(1)
    assert re.findall(r'<td class="num">([^<]*)</td>', row) == ["1 / 2", "1 / 2", "0"]


def test_a_count_of_compliant_units_over_other_units_says_how_many_were_checked():
    a, b = _crafted()
    comp = _with_units(_comparison(a, b), {"base": ["符合", "不符合"], "alt": ["符合"] * 3})
    assert comp.table.loc["units_compliant", "Δ alt"] == "+2（核查单元 2 → 3 个）"


def test_the_compliant_units_difference_is_a_number_in_the_workbook(tmp_path):
    from openpyxl import load_workbook

    from geo_renewal.tables import write_tables

    a, b = _crafted()
    comp = _with_units(
        _comparison(a, b), {"base": ["不符合", "不符合", "符合"], "alt": ["符合", "符合", "符合"]}
    )
    path = write_tables({"方案比选": comp.table_for_sheet()}, tmp_path / "cmp.xlsx", lang="zh")
    rows = [[c.value for c in row] for row in load_workbook(path)["方案比选"].iter_rows()]
    row = next(r for r in rows if r[0] == "符合63号文的更新单元")
    assert row[2:] == ["1 / 3", "3 / 3", 2]  # the difference: +2 compliant units, a number


# ------------------------------------------------------------------ files and the command


def test_write_comparison_writes_workbook_report_and_maps(plan_path, tmp_path):
    from openpyxl import load_workbook

    comparison = compare_scenarios(plan_path)
    out = tmp_path / "cmp"
    files = write_comparison(comparison, out)
    assert sorted(p.name for p in out.iterdir()) == [
        "change_cash50.html",
        "change_strict.html",
        "comparison.xlsx",
        "manifest.json",
        "report.html",
        "swipe.html",
    ]
    wb = load_workbook(files["comparison"])
    assert "方案比选" in wb.sheetnames
    assert "地块类别变化" in wb.sheetnames
    values = [[c.value for c in row] for row in wb["方案比选"].iter_rows()]
    flat = [v for row in values for v in row]
    assert "征收拆迁户数" in flat
    assert "cash50" in flat
    assert "未计算" in flat
    report = files["report"].read_text(encoding="utf-8")
    assert "方案比选" in report
    assert "cash50 较基准" in report
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "classify" in manifest["scenarios"]["cash50"]["reused"]


def test_the_workbook_of_a_run_with_a_comparison_has_the_sheet(plan_path):
    from geo_renewal.workflow import workbook_tables

    comparison = compare_scenarios(plan_path, names="cash50")
    tables = workbook_tables(comparison.results["base"])
    assert "方案比选" in tables
    assert "方案比选" not in workbook_tables(comparison.results["cash50"])


def test_the_compare_command_writes_the_folder(plan_path, tmp_path):
    out = tmp_path / "cmp"
    result = CliRunner().invoke(
        cli, ["compare", str(plan_path), "--scenarios", "cash50", "--out", str(out), "--silent"]
    )
    assert result.exit_code == 0, result.output
    assert "征收拆迁户数" in result.output
    assert (out / "change_cash50.html").exists()
    assert not (out / "change_strict.html").exists()
    bad = CliRunner().invoke(cli, ["compare", str(plan_path), "--scenarios", "cash5"])
    assert bad.exit_code == 1
    assert "did you mean `cash50`" in bad.output


# ------------------------------------------------------------------ in the browser


@pytest.mark.browser
def test_the_swipe_map_opens_offline_with_both_sides_drawn(plan_path, tmp_path):
    from browser import chromium_available, open_in_chromium, static_urls

    if not chromium_available():
        pytest.skip("needs /usr/bin/chromium and playwright")
    files = write_comparison(compare_scenarios(plan_path, names="strict"), tmp_path / "cmp")
    html = files["swipe_map"].read_text(encoding="utf-8")
    assert static_urls(html) == []
    drawn = (
        "(function (cls) { var c = document.querySelector('.leaflet-' + cls + '-pane canvas');"
        " if (!c) return -1; var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data,"
        " n = 0; for (var i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } return n; })"
    )
    res = open_in_chromium(
        files["swipe_map"],
        viewport=(1600, 1000),
        evaluate={
            "left": f"{drawn}('grLeft')",
            "right": f"{drawn}('grRight')",
            "clip": "document.querySelector('.leaflet-grRight-pane').style.clip",
            "moved": "(function () { var s = window.geoRenewalSwipe, before ="
            " s.panes[1].style.clip; s.range.value = 0.2;"
            " s.range.dispatchEvent(new Event('input')); return before !== s.panes[1].style.clip; })()",
        },
    )
    assert not res.errors
    assert not res.external_requests
    assert res.values["left"] > 1000
    assert res.values["right"] > 1000
    assert res.values["clip"].startswith("rect(")
    assert res.values["moved"]  # the slider moves the clip


def test_run_runs_one_scenario_alone(plan_path, tmp_path):
    out = tmp_path / "cash50"
    result = CliRunner().invoke(
        cli, ["run", str(plan_path), "--scenario", "cash50", "--out", str(out), "--silent"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["resettlement"]["cash_share"] == 0.5
    bad = CliRunner().invoke(cli, ["run", str(plan_path), "--scenario", "cash5"])
    assert bad.exit_code == 1
    assert "did you mean `cash50`" in bad.output


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*就近安置:UserWarning")
def test_the_sample_scenarios_equal_their_separate_runs(tmp_path):
    """The sample district: units, ledger and fund too (a cash-share and a rule-set scenario)."""
    from geo_renewal.datasets import get_path

    path = get_path("sample_plan")
    comparison = compare_scenarios(path)
    for name in ("cash50", "shenzhen"):
        alone = compute_plan(load_plan(path, scenario=name))
        mine = comparison.results[name]
        _same(mine, alone)
        pd.testing.assert_frame_equal(mine.unit_checks, alone.unit_checks)
        pd.testing.assert_frame_equal(mine.fund.bundles, alone.fund.bundles)
        pd.testing.assert_frame_equal(
            pd.DataFrame(mine.progress).drop(columns="geometry"),
            pd.DataFrame(alone.progress).drop(columns="geometry"),
        )
    assert ("shenzhen", "progress") in comparison.reused
