"""Outputs and the command line under bad conditions: one sentence, the right exit code.

Each case makes the condition for real where it can (an empty layer, a rule file, an output
path that is a file) and by monkeypatching where it cannot (a full disk, a refused write, a
missing package, Ctrl-C), and checks the exit code, that no traceback is printed and that the
message names the file, row or column and the fix. Runs that fail leave earlier outputs
byte-identical.
"""

from __future__ import annotations

import errno
import hashlib
import sys

import pytest
from click.testing import CliRunner
from small_plan import FORMULA_STREET, RULES, write_small_plan

import geopandas as gpd
from shapely import Polygon

from geo_renewal import tables
from geo_renewal._errors import InputError, RuleError
from geo_renewal.cli import cli
from geo_renewal.io import write_layer
from geo_renewal.workflow import run_plan


def _invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _one_message(res, code: int) -> str:
    """The output of a failed command: the exit code, no traceback, one 'Error:' message."""
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output
    assert "Error: " in res.output
    return res.output


def _hashes(folder) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


@pytest.fixture
def plan(tmp_path, grid_parcels):
    return write_small_plan(tmp_path, grid_parcels)


@pytest.fixture
def previous(plan):
    """The plan run once into plan.parent/out: the outputs a failed run must not touch."""
    out = plan.parent / "out"
    run_plan(plan, out_dir=out)
    return out


# ----------------------------------------------------------------------- empty layers


def test_run_on_a_layer_without_rows_names_the_file(plan, grid_parcels):
    write_layer(grid_parcels.iloc[:0], plan.parent / "parcels.gpkg", layer="parcels")
    with pytest.raises(InputError, match=r"parcels\.gpkg \(layer 'parcels'\) has no rows"):
        run_plan(plan, out_dir=plan.parent / "out")
    out = _one_message(_invoke("run", plan, "--out", plan.parent / "out", "--silent"), 1)
    assert "parcels.gpkg" in out
    assert "nan is not in list" not in out
    assert not (plan.parent / "out").exists()  # nothing half-written


def test_run_on_a_layer_validation_empties_says_so(plan, grid_parcels):
    empty = grid_parcels.iloc[:2].set_geometry([Polygon(), Polygon()], crs=grid_parcels.crs)
    write_layer(empty, plan.parent / "parcels.gpkg", layer="parcels")
    out = _one_message(_invoke("run", plan, "--silent", "--out", plan.parent / "o"), 1)
    assert "every one of its 2 parcels was removed by validation" in out
    assert "geo-renewal validate" in out


def test_classify_on_a_layer_without_rows_names_the_file(tmp_path, grid_parcels):
    src = write_layer(grid_parcels.iloc[:0], tmp_path / "empty.gpkg", layer="parcels")
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    res = _invoke(
        "classify", src, "--rules", tmp_path / "rules.toml", "--out", tmp_path / "c.gpkg"
    )
    assert "empty.gpkg has no rows" in _one_message(res, 1)
    assert not (tmp_path / "c.gpkg").exists()


# ------------------------------------------------------------ params hiding columns


def test_rules_check_refuses_a_param_named_like_a_canonical_column(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(
        "[params]\nbuild_year = 2000\n" + RULES.replace("1985", "build_year"), "utf-8"
    )
    out = _one_message(_invoke("rules", "check", rules), 1)
    assert "param 'build_year'" in out
    assert "canonical column 'build_year'" in out
    assert "rename the parameter" in out
    assert "OK" not in out.replace("Error", "")


def test_classify_refuses_a_param_named_like_a_column_of_the_layer(tmp_path, grid_parcels):
    src = write_layer(grid_parcels.assign(plot_far=1.2), tmp_path / "p.gpkg", layer="parcels")
    rules = tmp_path / "far.toml"
    rules.write_text(
        "[params]\nplot_far = 2.0\n" + RULES.replace("build_year <= 1985", "plot_far > 1"), "utf-8"
    )
    from geo_renewal.classify import classify_file

    with pytest.raises(RuleError, match=r"param 'plot_far' has the name of the column 'plot_far'"):
        classify_file(src, tmp_path / "c.gpkg", rules=rules)
    out = _one_message(_invoke("classify", src, "--rules", rules, "--out", tmp_path / "c.gpkg"), 1)
    assert "far.toml" in out
    assert "rename the parameter" in out


# ------------------------------------------------------------------ the output folder


def test_a_full_disk_is_one_sentence_and_keeps_the_previous_outputs(plan, previous, monkeypatch):
    before = _hashes(previous)

    def full(sheets, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(tables, "_write_xlsx", full)
    out = _one_message(_invoke("run", plan, "--out", previous, "--silent"), 1)
    assert "statistics.xlsx: the disk is full" in out
    assert "previous outputs are unchanged" in out
    assert _hashes(previous) == before


def test_a_refused_write_is_one_sentence_and_keeps_the_previous_outputs(
    plan, previous, monkeypatch
):
    from geo_renewal import report

    before = _hashes(previous)

    def refused(result, path, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(report, "meeting_report", refused)
    out = _one_message(_invoke("run", plan, "--out", previous, "--silent"), 1)
    assert "report.html: permission denied" in out
    assert "close the file if it is open" in out
    assert _hashes(previous) == before


def test_a_read_only_parent_folder_is_one_sentence(plan, monkeypatch):
    from pathlib import Path

    real = Path.mkdir

    def read_only(self, *args, **kwargs):
        if ".staging-" in self.name:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    out = _one_message(_invoke("run", plan, "--out", plan.parent / "ro", "--silent"), 1)
    assert f"cannot write the outputs to {plan.parent / 'ro'}" in out
    assert "permission denied" in out


def test_out_that_is_a_file_is_a_usage_error(plan):
    (plan.parent / "notes.txt").write_text("mine", encoding="utf-8")
    out = _one_message(_invoke("run", plan, "--out", plan.parent / "notes.txt"), 2)
    assert "notes.txt" in out
    assert (plan.parent / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_out_inside_a_file_names_the_path(plan):
    (plan.parent / "notes.txt").write_text("mine", encoding="utf-8")
    out = _one_message(
        _invoke("run", plan, "--out", plan.parent / "notes.txt" / "maps", "--silent"), 1
    )
    assert "notes.txt" in out


# ------------------------------------------------------------- the command line itself


def test_a_missing_optional_package_names_what_to_install(tmp_path, grid_parcels, monkeypatch):
    src = write_layer(
        grid_parcels.assign(category="unchanged"), tmp_path / "c.gpkg", layer="parcels"
    )
    monkeypatch.setitem(sys.modules, "folium", None)  # import folium now fails
    out = _one_message(_invoke("map", src, "--out", tmp_path / "m.html"), 1)
    assert "needs folium: pip install" in out
    assert not (tmp_path / "m.html").exists()


def test_ctrl_c_exits_130_and_keeps_the_previous_outputs(plan, previous, monkeypatch):
    before = _hashes(previous)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tables, "_write_xlsx", interrupted)
    out = _one_message(_invoke("run", plan, "--out", previous, "--silent"), 130)
    assert "interrupted (Ctrl-C)" in out
    assert _hashes(previous) == before


def test_an_unexpected_error_points_to_debug_which_shows_the_traceback(plan, monkeypatch):
    from geo_renewal import workflow

    def bug(result):
        return 1 / 0

    monkeypatch.setattr(workflow, "_statistics", bug)
    out = _one_message(_invoke("run", plan, "--out", plan.parent / "o", "--silent"), 1)
    assert "unexpected error (ZeroDivisionError: division by zero)" in out
    assert "--debug" in out
    res = _invoke("--debug", "run", plan, "--out", plan.parent / "o", "--silent")
    assert isinstance(res.exception, ZeroDivisionError)  # raised: the traceback is printed
    res = _invoke("--debug", "rules", "check", plan.parent / "missing.toml")
    assert isinstance(res.exception, RuleError)


def test_bad_file_extensions_are_refused_before_any_work(tmp_path, grid_parcels):
    src = write_layer(grid_parcels, tmp_path / "p.gpkg", layer="parcels")
    out = _one_message(_invoke("validate", src, "--findings", tmp_path / "f.txt"), 2)
    assert "f.txt" in out
    src = write_layer(
        grid_parcels.assign(category="unchanged"), tmp_path / "c.gpkg", layer="parcels"
    )
    out = _one_message(_invoke("stats", src, "--by", "street", "--out", tmp_path / "s.docx"), 1)
    assert "s.docx" in out
    assert ".xlsx" in out


def test_formula_like_values_in_findings_stay_text(tmp_path, grid_parcels):
    import csv

    bad = grid_parcels.copy()
    bad["floors"] = bad["floors"].astype(object)
    bad.loc[bad.index[4], "parcel_id"] = "=1+2"
    bad.loc[bad.index[4], "floors"] = 0
    src = write_layer(bad, tmp_path / "bad.gpkg", layer="parcels")
    res = _invoke("validate", src, "--findings", tmp_path / "f.csv", "--lang", "en")
    assert res.exit_code == 1
    with (tmp_path / "f.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = [r for r in csv.DictReader(f) if "1+2" in r["ID"]]
    assert [r["ID"] for r in rows] == ["'=1+2"]


def test_control_characters_in_data_do_not_reach_the_terminal(tmp_path, grid_parcels):
    parcels = grid_parcels.assign(category="unchanged")
    parcels.loc[parcels.index[:5], "street"] = "东关\x1b[2J\x1b[31m街道"
    src = write_layer(parcels, tmp_path / "c.gpkg", layer="parcels")
    res = _invoke("stats", src, "--by", "street")
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.output
    assert "东关\\x1b[2J\\x1b[31m街道" in res.output


def test_formula_like_street_in_a_run_stays_text_in_every_workbook(previous):
    import openpyxl

    wb = openpyxl.load_workbook(previous / "statistics.xlsx")
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert {c.data_type for c in cells if c.value == FORMULA_STREET} == {"s"}
    assert isinstance(gpd.read_file(previous / "classified.gpkg", layer="zones"), gpd.GeoDataFrame)


def test_rules_check_against_a_layer_names_the_param_and_the_column(tmp_path, grid_parcels):
    src = write_layer(grid_parcels.assign(plot_far=1.2), tmp_path / "p.gpkg", layer="parcels")
    rules = tmp_path / "far.toml"
    rules.write_text("[params]\nplot_far = 2.0\n" + RULES.replace("1985", "plot_far"), "utf-8")
    assert _invoke("rules", "check", rules).exit_code == 0  # alone, the file is fine
    out = _one_message(_invoke("rules", "check", rules, "--parcels", src, "--layer", "parcels"), 1)
    assert "param 'plot_far' has the name of the column 'plot_far' of the parcels" in out
    assert "far.toml" in out
    missing = tmp_path / "missing.toml"
    missing.write_text(RULES.replace("build_year", "建成年份x"), "utf-8")
    out = _one_message(_invoke("rules", "check", missing, "--parcels", src), 1)
    assert "建成年份x" in out
