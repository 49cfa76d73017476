"""The planner's workflow end to end: `geo-renewal demo`, `run` with project files, report."""

from __future__ import annotations

import hashlib
import json
import re
import shutil

import openpyxl
import pytest
from browser import chromium_available, open_in_chromium, pixel_stddev, static_urls
from click.testing import CliRunner
from small_plan import FORMULA_STREET, RULES, write_small_plan

import geopandas as gpd

import geo_renewal
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
    for name in (
        "sample_district.gpkg",
        "flood_depth.tif",
        "sample_ledger.xlsx",
        "sample_fund.toml",
    ):
        shutil.copy(data / name, tmp_path / name)
    shutil.copytree(data / "weekly", tmp_path / "weekly")  # [weekly] weeks = "weekly"
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
        "按片区统计",
        "按项目统计",
        "安置分配",
        "项目进度",
    ):
        assert sheet in names
    ws = wb["按街道统计"]
    assert ws.cell(1, 1).value == "按街道统计"
    assert ws.cell(2, 1).value.startswith("制表单位：")
    assert ws.cell(3, 1).value == "街道"
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
    for sheet in ("按片区统计", "按项目统计", "按街道统计"):
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
    # The classification map draws the units, labelled by name, hovered for their verdict.
    page = (demo[0] / OUTPUT_FILES["classification_map"]).read_text(encoding="utf-8")
    blobs = re.findall(r'<script type="application/json" id="[^"]+_data">(.*?)</script>', page)
    drawn = [d for d in map(json.loads, blobs) if d.get("l") == list(units["name"])]
    assert len(drawn) == 1
    verdicts = {row[-1] for row in drawn[0]["v"]}
    assert "不符合" in verdicts
    assert verdicts <= {"符合", "不符合", "未全部核查"}


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
    with pytest.warns(UserWarning, match="63号"):
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


# ------------------------------------------------------------- all-or-nothing outputs


def _hashes(folder) -> dict[str, str]:
    """SHA-256 of every file under `folder`, by relative path."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def small_run(tmp_path, grid_parcels):
    """A finished run of the small plan in tmp_path/out, with a planner's own file beside it."""
    plan = write_small_plan(tmp_path, grid_parcels)
    out = tmp_path / "out"
    run_plan(plan, out_dir=out)
    (out / "dongguan.html").write_text("<p>东关片区 (made by geo-renewal map)</p>", "utf-8")
    return plan, out


def _leftovers(out) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def test_a_full_disk_leaves_the_previous_outputs_byte_identical(small_run, monkeypatch):
    import errno

    from geo_renewal import tables

    plan, out = small_run
    before = _hashes(out)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(args[-1]))

    monkeypatch.setattr(tables, "_write_xlsx", full)  # after the maps are staged
    with pytest.raises(InputError, match=r"disk is full.*previous outputs are unchanged"):
        run_plan(plan, out_dir=out)
    assert _hashes(out) == before
    assert _leftovers(out) == []


def test_manifest_lists_inputs_rules_versions_and_every_output(small_run):
    plan, out = small_run
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    files = _hashes(out)
    written = {k: v for k, v in files.items() if k not in ("manifest.json", "dongguan.html")}
    assert {k: v["sha256"] for k, v in manifest["outputs"].items()} == written
    assert all(v["size"] == (out / k).stat().st_size for k, v in manifest["outputs"].items())
    inputs = {e["role"]: e for e in manifest["inputs"]}
    parcels = plan.parent / "parcels.gpkg"
    assert inputs["layers.parcels"]["sha256"] == hashlib.sha256(parcels.read_bytes()).hexdigest()
    assert inputs["layers.parcels"]["size"] == parcels.stat().st_size
    assert inputs["rules"]["path"] == str(plan.parent / "rules.toml")
    assert inputs["plan"]["path"] == str(plan)
    assert manifest["rules"]["n_rules"] == 1
    assert manifest["parameters"]["stats_by"] == ["street"]
    assert manifest["packages"]["geo_renewal"] == geo_renewal.__version__
    assert manifest["packages"]["geopandas"] == gpd.__version__
    assert manifest["started"] <= manifest["finished"]


def test_the_swap_keeps_other_files_and_drops_stale_outputs(small_run):
    plan, out = small_run
    mine = (out / "dongguan.html").read_bytes()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    # A map of an earlier run that this run does not make (no demolition any more).
    (out / "resettlement.html").write_text("old", encoding="utf-8")
    manifest["outputs"]["resettlement.html"] = {"path": "resettlement.html"}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = run_plan(plan, out_dir=out)
    assert (out / "dongguan.html").read_bytes() == mine
    assert not (out / "resettlement.html").exists()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["dongguan.html", *(p.name for p in result.files.values())]
    )
    assert _leftovers(out) == []


def test_a_failed_swap_puts_every_file_back(small_run, monkeypatch):
    import os

    from geo_renewal import _staging

    plan, out = small_run
    before = _hashes(out)
    calls = []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 4:  # old files moved aside, then the first new ones moved in
            raise PermissionError(13, "Permission denied", str(dst))
        os.replace(src, dst)

    monkeypatch.setattr(_staging.os, "replace", replace)
    with pytest.raises(InputError, match=r"permission denied.*previous outputs are unchanged"):
        run_plan(plan, out_dir=out)
    assert _hashes(out) == before
    assert _leftovers(out) == []


def test_statistics_workbook_holds_formula_like_streets_as_text(small_run):
    _, out = small_run
    wb = openpyxl.load_workbook(out / "statistics.xlsx", data_only=False)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    streets = [c for c in cells if c.value == FORMULA_STREET]
    assert streets
    assert all(c.data_type == "s" for c in streets)


def test_classify_writes_both_layers_or_neither(tmp_path, grid_parcels, monkeypatch):
    from geo_renewal import io
    from geo_renewal.classify import classify_file

    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    src = io.write_layer(grid_parcels, tmp_path / "parcels.gpkg", layer="parcels")
    out = tmp_path / "classified.gpkg"
    classify_file(src, out, rules=rules)
    before = out.read_bytes()
    real = io.write_layer

    def no_zones(gdf, path, *, layer=None, **kw):
        if layer == "zones":
            raise OSError(28, "No space left on device", str(path))
        return real(gdf, path, layer=layer, **kw)

    monkeypatch.setattr(io, "write_layer", no_zones)
    with pytest.raises(OSError, match="No space"):
        classify_file(src, out, rules=rules)
    assert out.read_bytes() == before  # not the new parcels next to the old zones
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "classified.gpkg",
        "parcels.gpkg",
        "rules.toml",
    ]


_SLOW_RUN = """
import sys, time
from geo_renewal import tables
real = tables.write_tables
def slow(*args, **kwargs):  # the workbook is written, then the run takes its time
    path = real(*args, **kwargs)
    time.sleep(120)
    return path
tables.write_tables = slow
from geo_renewal.cli import cli
cli(["run", sys.argv[1], "--out", sys.argv[2], "--silent"])
"""


@pytest.mark.slow
def test_ctrl_c_during_run_leaves_the_previous_outputs_byte_identical(small_run):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    plan, out = small_run
    before = _hashes(out)
    env = {**os.environ, "PYTHONPATH": str(Path(geo_renewal.__file__).parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_RUN, str(plan), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        staged: list[Path] = []
        while not staged and time.monotonic() < deadline and proc.poll() is None:
            staged = list(out.parent.glob(f".{out.name}.staging-*/statistics.xlsx"))
            time.sleep(0.05)
        assert staged, "the run never staged its workbook"
        assert (staged[0].parent / "classification.html").is_file()  # outputs were written
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    assert _hashes(out) == before
    assert _leftovers(out) == []


def test_an_output_folder_on_its_own_disk_is_staged_inside_it(small_run, monkeypatch):
    from geo_renewal import _staging

    plan, out = small_run
    mine = (out / "dongguan.html").read_bytes()
    monkeypatch.setattr(_staging, "_same_disk", lambda a, b: False)  # e.g. a USB stick
    seen = []
    real = _staging.Staging.commit

    def commit(self, manifest):
        seen.append(self.path)
        return real(self, manifest)

    monkeypatch.setattr(_staging.Staging, "commit", commit)
    result = run_plan(plan, out_dir=out)
    assert seen[0].parent == out
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["dongguan.html", *(p.name for p in result.files.values())]
    )
    assert (out / "dongguan.html").read_bytes() == mine
    assert _leftovers(out) == []


def test_ctrl_c_during_the_swap_waits_for_the_swap(tmp_path, monkeypatch):
    import os
    import signal
    import threading

    from geo_renewal import _staging

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are delivered to the main thread only")
    out = tmp_path / "maps"
    out.mkdir()
    (out / "report.html").write_text("old", encoding="utf-8")
    real = os.replace
    calls = []

    def replace(src, dst):
        if not calls:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of the renames
        calls.append(dst)
        real(src, dst)

    with _staging.Staging(out) as stage:
        (stage.path / "report.html").write_text("new", encoding="utf-8")
        (stage.path / "statistics.xlsx").write_bytes(b"new")
        monkeypatch.setattr(_staging.os, "replace", replace)
        stage.commit({})
    assert len(calls) == 4  # old report aside, report, workbook, manifest in
    assert (out / "report.html").read_text(encoding="utf-8") == "new"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(manifest["outputs"]) == ["report.html", "statistics.xlsx"]


def test_the_fund_uses_the_plans_cash_share(tmp_path, grid_parcels):
    """One 货币化安置比例 for the plan: [resettlement] cash_share reaches the fund balance."""
    from geo_renewal.fund_params import load_fund_params
    from geo_renewal.plan import load_plan
    from geo_renewal.workflow import _fund_params

    path = write_small_plan(tmp_path, grid_parcels)
    bundled = load_fund_params().cash_share
    assert _fund_params(load_plan(path)).cash_share == bundled  # no share given: the file's
    text = path.read_text(encoding="utf-8") + "\n[resettlement]\ncash_share = 0.55\n"
    path.write_text(text, encoding="utf-8")
    assert _fund_params(load_plan(path)).cash_share == pytest.approx(0.55)
