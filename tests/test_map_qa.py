"""What a planner trips over on the maps and tables: stage order, legend swatches, small screens."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from browser import open_pages, requires_chromium

import geopandas as gpd
import shapely

from geo_renewal import schema
from geo_renewal.datasets import get_path
from geo_renewal.maps import renewal_map
from geo_renewal.progress import progress_meeting, progress_summary


def _projects() -> gpd.GeoDataFrame:
    """One project per stage code, in the reverse of every order, in two streets."""
    stages = list(reversed(schema.STAGES))
    return gpd.GeoDataFrame(
        {
            "project_id": [f"XM-{i:02d}" for i in range(len(stages))],
            "stage": stages,
            "street": ["东关街道", "西关街道"] * (len(stages) // 2),
            "overdue": [False] * len(stages),
        },
        geometry=[
            shapely.box(500000 + 200 * i, 4063000, 500100 + 200 * i, 4063100)
            for i in range(len(stages))
        ],
        crs="EPSG:4548",
    )


def _legend(m) -> str:
    dec = next(c for c in m._children.values() if c._name == "GeoRenewalDecorations")
    return json.loads(dec.spec_json)["legend"]


def _legend_stages(m) -> list[str]:
    table = re.search(r'class="gr-stages">(.*?)</table>', _legend(m)).group(1)
    return re.findall(r"</span>([^<]+)</td>", table)


def test_stage_order_keeps_every_pipeline_in_order_with_first_stages_together():
    order = list(schema.STAGE_ORDER)
    assert set(order) == set(schema.STAGES)
    assert order[0] == "not_started"
    assert order[-1] == "done"
    for pipeline in schema.PIPELINES.values():
        assert [s for s in order if s in pipeline] == list(pipeline)
    # 方案 starts its pipeline as 签约 starts its own: not after 开工, the last stage
    assert order.index("design") < order.index("demolition") < order.index("construction")
    assert order.index("acceptance") > order.index("land_supply")


def test_the_stage_legend_follows_the_one_stage_order():
    labels = _legend_stages(renewal_map(None, projects=_projects()))
    assert labels.pop() == "逾期项目"  # the overdue row closes the table
    assert labels == [schema.STAGES[s][0] for s in schema.STAGE_ORDER]
    assert labels.index("方案") < labels.index("开工")


def test_tables_by_street_follow_the_one_stage_order():
    meeting = progress_meeting(
        get_path("sample_ledger"),
        as_of="2026-11-20",
        projects=get_path("sample_district"),
        projects_layer="projects",
    )
    table = progress_summary(meeting.progress, by="street")
    stages = [c for c in table.columns if c in schema.STAGES]
    assert {"design", "construction"} <= set(stages) or len(stages) >= 3
    assert stages == [s for s in schema.STAGE_ORDER if s in stages]
    assert isinstance(table, pd.DataFrame)


#: The order of the work (docs/domain.md): 签约 → 拆除 → 组卷报批 → 供地 → 开工 of a 征收拆迁
#: project; an upgrade's 方案 starts with 签约, its 施工 and 竣工验收 after 供地 and 开工.
WORK_ORDER_ZH = [
    "未启动",
    "签约",
    "方案",
    "拆除",
    "组卷报批",
    "供地",
    "开工",
    "施工",
    "竣工验收",
    "已完成",
]


def test_the_one_stage_order_is_the_order_of_the_work():
    labels = [schema.STAGES[s][0] for s in schema.STAGE_ORDER]
    assert labels == WORK_ORDER_ZH
    assert labels.index("供地") < labels.index("施工")  # no works before the land is supplied


def test_the_map_legend_lists_stages_in_the_order_of_the_work():
    labels = _legend_stages(renewal_map(None, projects=_projects()))
    assert labels[:-1] == WORK_ORDER_ZH  # then the overdue row


def test_the_progress_sheet_by_street_lists_stages_in_the_order_of_the_work(tmp_path):
    from openpyxl import load_workbook

    from geo_renewal.tables import write_tables

    table = progress_summary(_projects(), by="street")
    path = write_tables({"按街道进度": table}, tmp_path / "progress.xlsx", lang="zh")
    rows = [[c.value for c in row] for row in load_workbook(path)["按街道进度"].iter_rows()]
    header = next(r for r in rows if "签约" in r)
    assert [h for h in header if h in WORK_ORDER_ZH] == WORK_ORDER_ZH


def test_the_report_chart_of_stages_follows_the_order_of_the_work(tmp_path, grid_parcels):
    from small_plan import write_small_plan

    from geo_renewal.report import _charts
    from geo_renewal.workflow import compute_plan

    result = compute_plan(write_small_plan(tmp_path, grid_parcels))
    result.progress = _projects()
    html = _charts(result, "zh")
    chart = html[html.index("项目所处阶段") :]  # the stage chart follows the class charts
    bars = re.findall(r'<div class="l" title="[^"]*">([^<]+)</div>', chart)
    assert bars == WORK_ORDER_ZH  # one project per stage, each its own bar


def test_a_comparison_report_opens_with_the_comparison_table(tmp_path, grid_parcels):
    from test_scenarios import SCENARIOS, _plan

    from geo_renewal.scenarios import compare_scenarios, write_comparison

    plan = _plan(tmp_path, grid_parcels, SCENARIOS)
    html = write_comparison(compare_scenarios(plan, names="strict"), tmp_path / "cmp")["report"]
    heads = re.findall(r"<h2>([^<]*)</h2>", html.read_text(encoding="utf-8"))
    assert heads[0] == "方案比选"
    assert "关键指标" in heads[1:]


@pytest.mark.browser
@requires_chromium
def test_on_a_phone_the_title_leaves_the_buttons_free(tmp_path):
    from geo_renewal.maps import save_map

    title = "样例片区城市更新 · 项目进度（挂图作战） 2026-11-20"
    out = save_map(renewal_map(None, projects=_projects(), title=title), tmp_path / "p.html")

    def boxes(page):
        return page.evaluate(
            "() => [...document.querySelectorAll('.gr-title, .leaflet-top .leaflet-control')]"
            ".map(e => { const r = e.getBoundingClientRect();"
            " return [e.className, r.left, r.top, r.right, r.bottom]; })"
        )

    for (res, found), size in zip(
        open_pages([(out, s, boxes) for s in ((390, 844), (1280, 720))]),
        ((390, 844), (1280, 720)),
        strict=True,
    ):
        assert res.errors == []
        title_box = next(b for b in found if "gr-title" in b[0])
        for other in (b for b in found if "gr-title" not in b[0]):
            apart = (
                title_box[3] <= other[1]
                or other[3] <= title_box[1]
                or title_box[4] <= other[2]
                or other[4] <= title_box[2]
            )
            assert apart, (size, title_box, other)
