import datetime as dt
import shutil

import pytest

from geo_renewal import InputError
from geo_renewal.datasets import get_path
from geo_renewal.plan import load_plan


@pytest.fixture
def plan_dir(tmp_path):
    """A copy of the sample plan next to the sample files it names."""
    data = get_path("sample_district").parent
    for name in (
        "sample_district.gpkg",
        "flood_depth.tif",
        "sample_ledger.xlsx",
        "sample_fund.toml",
    ):
        shutil.copy(data / name, tmp_path / name)
    shutil.copytree(data / "weekly", tmp_path / "weekly")  # [weekly] weeks = "weekly"
    shutil.copy(get_path("sample_plan"), tmp_path / "plan.toml")
    return tmp_path


def _write(plan_dir, text):
    path = plan_dir / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_plan_loads_with_absolute_paths(plan_dir):
    plan = load_plan(plan_dir / "plan.toml")
    assert plan.as_of == dt.date(2026, 11, 20)
    assert plan.layers["parcels"].path == (plan_dir / "sample_district.gpkg").resolve()
    assert plan.layers["parcels"].kind == "parcels"
    assert plan.layers["districts"].layer == "districts"
    assert set(plan.constraints) >= {"heritage_core", "eco_belt", "view_corridor"}
    assert plan.rasters["flood_depth"].name == "flood_depth.tif"
    assert plan.resettlement["cash_share"] == 0.3
    assert plan.ledger.name == "sample_ledger.xlsx"
    assert plan.offline is True
    assert plan.weekly.weeks == (plan_dir / "weekly").resolve()
    assert plan.weekly.store is None
    assert plan.weekly.projects == (plan_dir / "sample_district.gpkg", "projects")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[projekt]\nname='x'\n", r"`projekt` is not a section; did you mean `project`\?"),
        (
            "[layers.parcels]\npath='sample_district.gpkg'\nlayr='parcels'\n",
            r"`layers.parcels.layr` is not a layer key; did you mean `layer`\?",
        ),
        ("[layers.districts]\npath='sample_district.gpkg'\n", r"`layers.parcels` is missing"),
        ("[layers.parcels]\npath='nope.gpkg'\n", r"`layers.parcels.path` names .*nope.gpkg"),
        (
            "[layers.parcels]\npath='sample_district.gpkg'\n[resettlement]\ncash_share=1.5\n",
            r"`resettlement.cash_share` must be a number from 0 to 1, got 1.5",
        ),
        (
            "[layers.parcels]\npath='sample_district.gpkg'\n[resettlement]\ncash_shar=0.3\n",
            r"did you mean `cash_share`",
        ),
        (
            "[project]\nas_of='20.11.2026'\n[layers.parcels]\npath='sample_district.gpkg'\n",
            r"`project.as_of` is not a date",
        ),
        (
            "[layers.parcel]\npath='sample_district.gpkg'\n",
            r"`layers.parcel` is not a layer role",
        ),
        ("[layers.parcels\npath='x'\n", r"is not valid TOML"),
    ],
)
def test_broken_plans_are_refused_with_the_key(plan_dir, text, match):
    with pytest.raises(InputError, match=match):
        load_plan(_write(plan_dir, text))


def test_missing_plan_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_plan(tmp_path / "plan.toml")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[outputs]\ntiles = 'googel'\n", r"`outputs.tiles` must be one of .*got 'googel'"),
        ("[project]\nworking_crs = 'EPSG:3857'\n", r"`project.working_crs` cannot measure metres"),
        ("[project]\nworking_crs = 'EPSG:99999'\n", r"`project.working_crs` is not a known CRS"),
        ("[stats]\nhow = 'centriod'\n", r"`stats.how` must be one of .*did you mean `centroid`"),
        ("[project]\nlang = 'fr'\n", r"`project.lang` must be 'zh' or 'en'"),
        ("[outputs]\nlang = 'fr'\n", r"`outputs.lang` must be 'zh' or 'en'"),
        ("[rules]\nset = 'shenzen'\n", r"`rules.set` cannot be used: .*bundled sets"),
        (
            "[resettlement]\nkeep_together = 'yes'\n",
            r"`resettlement.keep_together` has the wrong type",
        ),
        ("[resettlement]\ndemand_by = 3\n", r"`resettlement.demand_by` has the wrong type"),
        ("[outputs]\noffline = 1\n", r"`outputs.offline` has the wrong type"),
        ("[ledger]\nsheet = 2\n", r"`ledger.sheet` has the wrong type"),
    ],
)
def test_every_value_is_checked_before_anything_runs(plan_dir, text, match):
    parcels = "[layers.parcels]\npath='sample_district.gpkg'\n"
    with pytest.raises(InputError, match=match):
        load_plan(_write(plan_dir, parcels + text))


def test_units_layer_is_a_checked_plan_key(plan_dir):
    plan = load_plan(plan_dir / "plan.toml")
    assert plan.layers["units"].layer == "units"
    assert plan.layers["units"].kind == "units"
    text = "[layers.parcels]\npath='sample_district.gpkg'\n[layers.units]\npath='nope.gpkg'\n"
    with pytest.raises(InputError, match=r"`layers.units.path` names .*nope.gpkg, which does not"):
        load_plan(_write(plan_dir, text))
    text = "[layers.parcels]\npath='sample_district.gpkg'\n[layers.unit]\npath='sample_district.gpkg'\n"
    with pytest.raises(
        InputError, match=r"`layers.unit` is not a layer role.*did you mean `units`"
    ):
        load_plan(_write(plan_dir, text))


def test_stats_how_reaches_the_plan(plan_dir):
    text = "[layers.parcels]\npath='sample_district.gpkg'\n[stats]\nhow = 'largest'\n"
    assert load_plan(_write(plan_dir, text)).stats_how == "largest"


def test_outputs_dir_is_relative_to_the_project_file_not_the_working_folder(
    tmp_path, monkeypatch, grid_parcels
):
    from click.testing import CliRunner
    from small_plan import write_small_plan

    from geo_renewal.cli import cli

    project, elsewhere = tmp_path / "项目", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    path = write_small_plan(project, grid_parcels, dir='"成果"')
    assert load_plan(path).out_dir == (project / "成果").resolve()
    monkeypatch.chdir(elsewhere)  # the planner runs D:/项目/plan.toml from another folder
    monkeypatch.setenv("GEO_RENEWAL_CACHE", str(tmp_path / "cache"))
    res = CliRunner().invoke(cli, ["run", str(path), "--silent"])
    assert res.exit_code == 0, res.output
    assert (project / "成果" / "classification.html").is_file()
    assert list(elsewhere.iterdir()) == []
    assert f"输出文件夹: {(project / '成果').resolve()}" in res.output
    other = tmp_path / "out"  # a CLI --out still wins
    res = CliRunner().invoke(cli, ["run", str(path), "--silent", "--out", str(other)])
    assert res.exit_code == 0, res.output
    assert (other / "classification.html").is_file()
    assert f"输出文件夹: {other.resolve()}" in res.output


def _office_ledger(source, target):
    """The sample ledger as an office keeps it: two title rows, a merged two-row header."""
    import openpyxl

    rows = list(openpyxl.load_workbook(source).worksheets[0].iter_rows(values_only=True))
    head, data = rows[0], rows[1:]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(["某区城市更新项目台账（2026年11月）"])
    ws.append(["填报单位：区城市更新指挥部", None, None, "单位：户、平方米"])
    top, below = [], []
    for name in head:
        stage = next((s for s in ("计划日期", "实际日期") if name.endswith(s)), None)
        top.append(name[: -len(stage)] if stage else name)
        below.append(stage)
    ws.append(top)
    ws.append(below)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(head))
    for j in range(1, len(head) + 1):
        if below[j - 1] is None:
            ws.merge_cells(start_row=3, start_column=j, end_row=4, end_column=j)
        elif below[j - 1] == "计划日期":
            ws.merge_cells(start_row=3, start_column=j, end_row=3, end_column=j + 1)
    for r in data:
        ws.append(list(r))
    wb.save(target)
    return len(data)


def test_ledger_header_row_reads_a_merged_two_row_header_below_two_title_rows(plan_dir):
    from geo_renewal.ledger import read_ledger

    n = _office_ledger(plan_dir / "sample_ledger.xlsx", plan_dir / "台账.xlsx")
    text = (plan_dir / "plan.toml").read_text(encoding="utf-8")
    text = text.replace('path = "sample_ledger.xlsx"', 'path = "台账.xlsx"\nheader_row = [3, 4]')
    plan = load_plan(_write(plan_dir, text))
    assert plan.ledger_header_row == (3, 4)
    given = read_ledger(plan.ledger, sheet=plan.ledger_sheet, header_row=plan.ledger_header_row)
    sample = read_ledger(plan_dir / "sample_ledger.xlsx")
    assert len(given.table) == n == len(sample.table)
    assert given.table["project_id"].tolist() == sample.table["project_id"].tolist()
    assert given.table["households"].sum() == sample.table["households"].sum()
    for col in ("sign_plan", "sign_actual", "demolish_plan"):
        if col in sample.table:
            assert given.table[col].equals(sample.table[col]), col


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", r"`ledger.header_row` must be the spreadsheet row of the header .*header_row = 3"),
        ("[3, 5]", r"`ledger.header_row` must be .*got \[3, 5\]"),
        ('"3"', r"`ledger.header_row` must be .*got '3'"),
    ],
)
def test_ledger_header_row_is_checked(plan_dir, value, expected):
    text = (plan_dir / "plan.toml").read_text(encoding="utf-8")
    text = text.replace(
        'path = "sample_ledger.xlsx"', f'path = "sample_ledger.xlsx"\nheader_row = {value}'
    )
    with pytest.raises(InputError, match=expected):
        load_plan(_write(plan_dir, text))


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (99, r"`header_row` 99 is below the last row of .*台账\.xlsx \[台账\] \(24 rows\)"),
        (23, r"台账\.xlsx \[台账\] has no project id column.*\[ledger\] header_row = 3"),
    ],
)
def test_ledger_header_row_past_the_end_or_empty_is_one_sentence(plan_dir, row, expected):
    import openpyxl

    from geo_renewal.ledger import read_ledger

    book = plan_dir / "台账.xlsx"
    _office_ledger(plan_dir / "sample_ledger.xlsx", book)
    wb = openpyxl.load_workbook(book)
    wb.active.cell(row=24, column=1, value="合计")  # row 23 is left empty
    wb.save(book)
    text = (plan_dir / "plan.toml").read_text(encoding="utf-8")
    text = text.replace('path = "sample_ledger.xlsx"', f'path = "台账.xlsx"\nheader_row = {row}')
    plan = load_plan(_write(plan_dir, text))
    with pytest.raises(InputError, match=expected):
        read_ledger(plan.ledger, sheet=plan.ledger_sheet, header_row=plan.ledger_header_row)


@pytest.mark.slow
def test_a_run_reads_the_ledger_at_its_header_row(plan_dir):
    import json

    from geo_renewal.ledger import read_ledger
    from geo_renewal.workflow import run_plan

    n = _office_ledger(plan_dir / "sample_ledger.xlsx", plan_dir / "台账.xlsx")
    text = (plan_dir / "plan.toml").read_text(encoding="utf-8")
    text = text.replace('path = "sample_ledger.xlsx"', 'path = "台账.xlsx"\nheader_row = [3, 4]')
    with pytest.warns(UserWarning, match="63号"):  # the sample's nearby rate, as always
        result = run_plan(_write(plan_dir, text), out_dir=plan_dir / "out")
    assert len(result.progress) == n
    sample = read_ledger(plan_dir / "sample_ledger.xlsx").table
    assert result.ledger.table["households"].sum() == sample["households"].sum()
    taken = result.ledger.findings
    assert "header_rows" in set(taken["problem"])  # the findings say which rows were taken
    manifest = json.loads((plan_dir / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["ledger_header_row"] == [3, 4]
