"""The terminal summary of a run: short caveat lines; the long explanations stay in the workbook."""

from __future__ import annotations

import dataclasses
import shutil

import openpyxl
import pytest
from click.testing import CliRunner

from geo_renewal.cli import cli
from geo_renewal.datasets import get_path
from geo_renewal.plan import load_plan
from geo_renewal.tables import write_tables
from geo_renewal.text import say
from geo_renewal.workflow import compute_plan, workbook_tables


def _run(lang):
    plan = dataclasses.replace(load_plan(get_path("sample_plan")), lang=lang)
    with pytest.warns(UserWarning, match="50%"):  # the sample's nearby rate, as always
        return compute_plan(plan)


@pytest.fixture(scope="module")
def zh_run():
    return _run("zh")


@pytest.fixture(scope="module")
def en_run():
    return _run("en")


def _caveat_cells(path, sheet):
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == sheet  # the first sheet a reader opens
    return [str(c) for row in book[sheet].iter_rows(values_only=True) for c in row if c]


@pytest.mark.parametrize(
    ("lang", "marker", "sheet", "workbook"),
    [
        ("zh", "不是符号错误", "使用须知", "统计表"),
        pytest.param("en", "not a sign error", "Caveats", "Workbook", marks=pytest.mark.slow),
    ],
)
def test_the_signing_delay_paragraph_is_one_line_in_the_terminal(
    request, tmp_path, lang, marker, sheet, workbook
):
    run = request.getfixturevalue(f"{lang}_run")
    paragraph = run.caveats()["signing"]
    assert marker in paragraph
    assert len(paragraph) > 200  # the reasoning a reader needs, for the workbook
    summary = run.summary()
    assert paragraph not in summary
    short = say("workflow.summary.signing", lang)
    lines = [line for line in summary.splitlines() if marker in line]
    assert lines == [f"! {short}"]
    # the line points at the sheet by the names the reader sees: the workbook's label in the
    # summary's file list and the sheet's own name
    assert sheet in short
    assert say("workflow.file.workbook", lang) == workbook
    assert workbook in short or workbook.lower() in short
    path = write_tables(workbook_tables(run), tmp_path / "statistics.xlsx", lang=lang)
    assert any(paragraph in c for c in _caveat_cells(path, sheet))  # where the line points


def test_the_other_caveats_are_still_printed_whole(zh_run):
    caveats = zh_run.caveats()
    others = {k: t for k, t in caveats.items() if k != "signing"}
    assert others  # the sample has placeholder fund parameters, a nearby rate below the best
    summary = zh_run.summary().splitlines()
    assert [line for line in summary if line.startswith("! ")] == [
        f"! {say('workflow.summary.signing', 'zh') if k == 'signing' else t}"
        for k, t in caveats.items()
    ]


@pytest.mark.slow
def test_run_prints_the_short_line_and_the_workbook_has_the_paragraph(tmp_path):
    data = get_path("sample_district").parent
    for name in ("sample_district.gpkg", "flood_depth.tif", "sample_ledger.xlsx"):
        shutil.copy(data / name, tmp_path / name)
    shutil.copy(data / "sample_fund.toml", tmp_path / "sample_fund.toml")
    shutil.copytree(data / "weekly", tmp_path / "weekly")
    shutil.copy(get_path("sample_plan"), tmp_path / "plan.toml")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["run", str(tmp_path / "plan.toml"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    short = say("workflow.summary.signing", "zh")
    assert f"! {short}" in res.output
    assert "不是符号错误：" not in res.output  # the paragraph's own wording stays out
    assert f"{say('workflow.file.workbook', 'zh')}: {out / 'statistics.xlsx'}" in res.output
    cells = _caveat_cells(out / "statistics.xlsx", "使用须知")
    assert any("不是符号错误：延迟不改变任何一笔收支的总额" in c for c in cells)
