"""The planner's workflow end to end: `geo-renewal demo`, `run` with project files, report."""

from __future__ import annotations

import re
import shutil

import openpyxl
import pytest
from browser import chromium_available, open_in_chromium, pixel_stddev, static_urls
from click.testing import CliRunner

import geopandas as gpd

from geo_renewal import InputError
from geo_renewal.cli import cli
from geo_renewal.datasets import get_path
from geo_renewal.report import bar_chart
from geo_renewal.workflow import OUTPUT_FILES, run_plan

HOSTILE = "<img src=x onerror=alert(1)>`${alert(2)}`</script>"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`geo-renewal demo` run once into a temporary folder."""
    out = tmp_path_factory.mktemp("demo")
    res = CliRunner().invoke(cli, ["demo", "--out", str(out), "--silent"])
    assert res.exit_code == 0, res.output
    return out, res.output


@pytest.fixture
def plan_dir(tmp_path, sample_path):
    data = sample_path.parent
    for name in ("sample_district.gpkg", "flood_depth.tif", "sample_ledger.xlsx"):
        shutil.copy(data / name, tmp_path / name)
    return tmp_path


def test_demo_writes_every_file_and_says_where(demo):
    out, output = demo
    for name in OUTPUT_FILES.values():
        path = out / name
        assert path.is_file(), name
        assert path.stat().st_size > 1000, name
        assert str(path) in output
    assert "征收拆迁" in output


@pytest.mark.browser
@pytest.mark.skipif(not chromium_available(), reason="needs Debian's chromium")
@pytest.mark.parametrize(
    "name", ["classification_map", "resettlement_map", "progress_map", "report"]
)
def test_demo_pages_open_offline_in_chromium(demo, name):
    path = demo[0] / OUTPUT_FILES[name]
    html = path.read_text(encoding="utf-8")
    # The report embeds the classification map as escaped srcdoc text, checked on its own.
    html = re.sub(r'srcdoc="[^"]*"', 'srcdoc=""', html)
    assert static_urls(html) == []  # self-contained: nothing to fetch
    res = open_in_chromium(path)
    assert res.errors == []
    assert res.dialogs == []
    assert res.requests == [] or all(
        u.startswith(("file:", "data:", "about:")) for u in res.requests
    )
    assert pixel_stddev(res.screenshot) > 10


@pytest.mark.browser
@pytest.mark.skipif(not chromium_available(), reason="needs Debian's chromium")
def test_report_shows_key_figures_and_embedded_map(demo):
    res = open_in_chromium(
        demo[0] / OUTPUT_FILES["report"],
        evaluate={
            "kpis": "document.querySelectorAll('.kpi').length",
            "text": "document.body.innerText",
            "bars": "document.querySelectorAll('.bar').length",
            "frame": "document.querySelector('iframe') !== null",
        },
    )
    v = res.values
    assert v["kpis"] >= 6
    assert v["bars"] >= 10
    assert v["frame"]
    for words in ("征收拆迁户数", "安置需求", "滞后项目", "63号文"):
        assert words in v["text"]


def test_workbook_has_every_table_with_totals(demo):
    wb = openpyxl.load_workbook(demo[0] / OUTPUT_FILES["workbook"])
    names = wb.sheetnames
    for sheet in (
        "按街道统计",
        "按更新类别统计",
        "按片区编号统计",
        "按项目编号统计",
        "安置分配",
        "项目进度",
    ):
        assert sheet in names
    ws = wb["按街道统计"]
    assert ws.cell(1, 1).value == "街道"
    last = ws.max_row
    assert ws.cell(last, 1).value == "合计"
    assert ws.cell(last, 1).font.bold
    assert ws.freeze_panes == "A2" or ws.freeze_panes is not None


def _cells(ws) -> list:
    return [v for row in ws.iter_rows(values_only=True) for v in row if v is not None]


def test_demo_checks_63_on_the_sample_units_not_on_zones(demo):
    """The 63号文 sheet and report section hold the sample's mixed units, each with its verdict."""
    units = gpd.read_file(get_path("sample_district"), layer="units")
    wb = openpyxl.load_workbook(demo[0] / OUTPUT_FILES["workbook"])
    cells = _cells(wb["63号文核查"])
    for name in units["name"]:
        assert name in cells
    assert {"符合", "不符合"} <= set(cells)
    # No statistics sheet (zones, projects, streets) carries a 63号文 verdict any more.
    for sheet in ("按片区编号统计", "按项目编号统计", "按街道统计"):
        assert "超出63号文限值" not in _cells(wb[sheet])
    caveats = " ".join(map(str, _cells(wb["使用须知"])))
    assert "占位值" in caveats
    assert "低于现有安置容量可达的最高值" in caveats
    report = (demo[0] / OUTPUT_FILES["report"]).read_text(encoding="utf-8")
    section = report[report.index("63号文约束检查") :]
    section = section[: section.index("</section>")]
    assert f"{len(units)} 个更新单元" in section
    assert all(name in section for name in units["name"])
    assert "demolish-0" not in section  # no renewal zone stands in for a unit
    assert "原因：安置方案以总安置距离" in section
    assert "占位值" in report
    assert "占位值" in demo[1]  # the CLI summary


def test_demo_classified_layers_conserve_households(demo):
    path = demo[0] / OUTPUT_FILES["classified"]
    parcels = gpd.read_file(path, layer="parcels")
    zones = gpd.read_file(path, layer="zones")
    source = gpd.read_file(get_path("sample_district"), layer="parcels")
    assert len(parcels) == len(source)
    assert parcels["households"].sum() == source["households"].sum()
    assert zones["households"].sum() == pytest.approx(parcels["households"].sum())
    assert set(parcels["category"]) == {
        "demolish",
        "retain_upgrade",
        "retain_protect",
        "resettlement_site",
        "unchanged",
    }


def test_run_crafted_plan_in_english_without_ledger(plan_dir):
    (plan_dir / "plan.toml").write_text(
        f"""
[project]
name = "{HOSTILE}"
lang = "en"
as_of = 2026-11-20

[layers.parcels]
path = "sample_district.gpkg"
layer = "parcels"

[constraints.heritage_core]
path = "sample_district.gpkg"
layer = "heritage_core"

[rules]
set = "default"

[stats]
by = ["street"]
""".replace("{HOSTILE}", HOSTILE.replace('"', "'")),
        encoding="utf-8",
    )
    # The default rules need every constraint layer: a plan that forgets one is refused
    # with the layer named and how to pass it.
    with pytest.raises(InputError, match=r"eco_belt|heritage_control|view_corridor|river"):
        run_plan(plan_dir / "plan.toml", out_dir=plan_dir / "out")
    text = (plan_dir / "plan.toml").read_text(encoding="utf-8")
    for name in ("heritage_control", "eco_belt", "view_corridor", "river"):
        text += f'\n[constraints.{name}]\npath = "sample_district.gpkg"\nlayer = "{name}"\n'
    text += '\n[rasters]\nflood_depth = "flood_depth.tif"\n'
    (plan_dir / "plan.toml").write_text(text, encoding="utf-8")
    with pytest.warns(UserWarning, match="fewer than 50%"):
        result = run_plan(plan_dir / "plan.toml", out_dir=plan_dir / "out")
    assert result.progress is None
    assert "progress_map" not in result.files
    assert result.resettlement is not None
    report = (plan_dir / "out" / "report.html").read_text(encoding="utf-8")
    assert "Households to move" in report
    assert "<img src=x" not in report
    assert "${alert" not in report
    assert "&lt;img src=x onerror=alert(1)&gt;" in report
    # Without a units layer no unit check is reported, and both outputs say they need one.
    assert result.unit_checks is None
    section = report[report.index("MOHURD No. 63 checks") :]
    section = section[: section.index("</section>")]
    assert "need a units layer" in section
    assert "exceed" not in section
    assert "Verdict" not in section
    wb = openpyxl.load_workbook(plan_dir / "out" / OUTPUT_FILES["workbook"])
    cells = _cells(wb["MOHURD No. 63 checks"])
    assert any("need a units layer" in str(c) for c in cells)
    assert not any(c in ("passes", "fails") for c in cells)
    for sheet in wb.sheetnames:
        assert "Limits broken (MOHURD 2021 No. 63)" not in _cells(wb[sheet])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[layers.parcels]\npath = 'nope.gpkg'\n", "layers.parcels.path"),
        ("[layers.parcels]\npath = 'sample_district.gpkg'\n[outputz]\ndir='x'\n", "outputz"),
        (
            "[layers.parcels]\npath = 'sample_district.gpkg'\nlayer='parcels'\n"
            "[stats]\nby = ['no_such_column']\n",
            "no_such_column",
        ),
    ],
)
def test_run_refuses_broken_plans_with_the_key(plan_dir, text, match):
    (plan_dir / "plan.toml").write_text(text, encoding="utf-8")
    res = CliRunner().invoke(
        cli, ["run", str(plan_dir / "plan.toml"), "--out", str(plan_dir / "o"), "--silent"]
    )
    assert res.exit_code == 1
    assert match in res.output
    assert "Traceback" not in res.output


def test_bar_chart_escapes_and_scales():
    html = bar_chart([2.0, 1.0, float("nan")], ["a", HOSTILE, "c"], fmt="{:.0f}")
    assert "<img" not in html
    assert "width:50.0%" in html
    assert "width:0.0%" in html
