"""The meeting deck opened back with python-pptx; the [print] section; the commands."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

pptx = pytest.importorskip("pptx")
pytest.importorskip("matplotlib")

from geo_renewal._errors import InputError  # noqa: E402
from geo_renewal._print_plan import print_section  # noqa: E402
from geo_renewal.cli import cli  # noqa: E402
from geo_renewal.deck import ROWS_PER_SLIDE, meeting_deck  # noqa: E402


@pytest.fixture(scope="module")
def sample_run():
    from geo_renewal.datasets import get_path
    from geo_renewal.workflow import compute_plan

    with pytest.warns(UserWarning, match="50%"):
        return compute_plan(get_path("sample_plan"))


@pytest.fixture(scope="module")
def deck(sample_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("deck") / "meeting.pptx"
    meeting_deck(sample_run, out)
    return pptx.Presentation(str(out))


def _titles(prs) -> list[str]:
    return [s.shapes.title.text for s in prs.slides]


def test_deck_is_16_9_with_the_expected_slides(deck):
    assert deck.slide_width * 9 == deck.slide_height * 16
    titles = _titles(deck)
    assert titles[0] == "样例片区城市更新 工作调度会"
    for expected in (
        "使用前须知",
        "主要指标",
        "更新分类图",
        "安置规划图",
        "项目进度图（挂图作战）",
        "滞后项目",
        "更新单元 63号文 校核",
    ):
        assert expected in titles
    assert any(t.startswith("安置地块") for t in titles)
    assert any(t.startswith("资金平衡") for t in titles)


def test_maps_are_pictures_and_tables_are_editable(deck, sample_run):
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    by_title = {s.shapes.title.text: s for s in deck.slides}
    for title in ("更新分类图", "安置规划图", "项目进度图（挂图作战）"):
        kinds = [sh.shape_type for sh in by_title[title].shapes]
        assert MSO_SHAPE_TYPE.PICTURE in kinds
    late = by_title["滞后项目"]
    table = next(sh for sh in late.shapes if sh.has_table).table
    n_over = int(sample_run.progress["overdue"].fillna(False).astype(bool).sum())
    assert len(table.rows) == n_over + 1  # header + every overdue project
    assert table.cell(0, 0).text == "项目编号"
    # editable: a real table whose cells take text
    table.cell(1, 0).text = "改"
    assert table.cell(1, 0).text == "改"


def test_long_tables_continue_and_drop_no_row(deck, sample_run):
    sites = [s for s in deck.slides if s.shapes.title.text.startswith("安置地块")]
    rows = sum(len(next(sh for sh in s.shapes if sh.has_table).table.rows) - 1 for s in sites)
    assert rows == len(sample_run.resettlement.sites)
    assert len(sites) == -(-len(sample_run.resettlement.sites) // ROWS_PER_SLIDE)


def test_key_figures_are_the_runs(deck, sample_run):
    slide = next(s for s in deck.slides if s.shapes.title.text == "主要指标")
    table = next(sh for sh in slide.shapes if sh.has_table).table
    cells = {table.cell(i, 0).text: table.cell(i, 1).text for i in range(1, len(table.rows))}
    assert cells["地块总数"] == f"{len(sample_run.classified):,}"
    n_dem = int((sample_run.classified["category"] == "demolish").sum())
    assert cells["征收拆迁地块"] == f"{n_dem:,}"


def test_fund_slides_say_the_parameters_are_placeholders(deck):
    fund = [s for s in deck.slides if s.shapes.title.text.startswith("资金平衡")]
    assert fund
    for slide in fund:
        notes = [
            sh.text_frame.text
            for sh in slide.shapes
            if sh.has_text_frame and sh.text_frame.text.startswith("!")
        ]
        assert any("占位值" in n for n in notes)


def test_deck_refuses_other_suffix(sample_run, tmp_path):
    with pytest.raises(InputError, match=r"must end in .pptx"):
        meeting_deck(sample_run, tmp_path / "m.ppt")


def test_print_section_checks_every_key(tmp_path):
    plan = tmp_path / "plan.toml"
    assert print_section(None, plan) is None
    spec = print_section(
        {"maps": ["progress"], "paper": "a1", "scale": "1:2000", "atlas": "unit"}, plan
    )
    assert spec["paper"] == "A1"
    assert spec["scale"] == 2000
    assert spec["atlas"] == ("unit",)
    with pytest.raises(InputError, match=r"`print.papr` is not a key; did you mean `paper`"):
        print_section({"papr": "A3"}, plan)
    with pytest.raises(InputError, match=r"`print.maps` names 'progres'; did you mean `progress`"):
        print_section({"maps": ["progres"]}, plan)
    with pytest.raises(InputError, match=r"`print.scale`"):
        print_section({"scale": "big"}, plan)


def test_run_writes_the_print_section_with_the_rest(tmp_path, sample_path):
    from geo_renewal.workflow import run_plan

    data = Path(sample_path).parent
    for name in (
        "sample_district.gpkg",
        "flood_depth.tif",
        "sample_ledger.xlsx",
        "sample_fund.toml",
    ):
        shutil.copy(data / name, tmp_path / name)
    shutil.copytree(data / "weekly", tmp_path / "weekly")  # [weekly] weeks = "weekly"
    text = (data / "sample_plan.toml").read_text(encoding="utf-8")
    text = text.split("[print]")[0] + '[print]\nmaps = ["progress"]\npaper = "A4"\ndeck = false\n'
    (tmp_path / "plan.toml").write_text(text, encoding="utf-8")
    with pytest.warns(UserWarning, match="50%"):
        result = run_plan(tmp_path / "plan.toml", out_dir=tmp_path / "out")
    pdf = tmp_path / "out" / "progress.pdf"
    assert result.files["print_progress"] == pdf
    assert pdf.read_bytes().startswith(b"%PDF")
    import json

    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert "progress.pdf" in manifest["outputs"]


def test_print_command_on_a_classified_file(tmp_path, sample_run):
    from geo_renewal.io import write_layer

    path = tmp_path / "classified.gpkg"
    write_layer(sample_run.classified, path, layer="parcels")
    res = CliRunner().invoke(
        cli, ["print", str(path), "--paper", "A4", "--out", str(tmp_path / "m.pdf")]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "m.pdf").read_bytes().startswith(b"%PDF")
    res = CliRunner().invoke(cli, ["print", str(path), "--out", str(tmp_path / "m.doc")])
    assert res.exit_code == 1
    assert "`out` must end in .pdf, .svg or .png" in res.output


def test_deck_command_refuses_a_wrong_suffix_before_running(tmp_path):
    from geo_renewal.datasets import get_path

    res = CliRunner().invoke(
        cli, ["deck", str(get_path("sample_plan")), "--out", str(tmp_path / "m.ppt")]
    )
    assert res.exit_code == 1
    assert "must end in .pptx" in res.output
    assert not (tmp_path / "m.ppt").exists()


def test_the_units_checks_count_the_flats_the_resettlement_plans(sample_run):
    """The 63号文 nearby rate per unit uses the resettlement's own demand units (by name)."""
    units = sample_run.unit_checks
    rates = sample_run.resettlement.rates
    assert units.loc["total", "flat_households"] == pytest.approx(rates["flat_households"].sum())
    assert units.loc["total", "nearby_households"] == pytest.approx(
        rates["nearby_households"].sum()
    )
    inside = units.drop(index=["outside", "total"])
    assert (inside["flat_households"] > 0).all()
