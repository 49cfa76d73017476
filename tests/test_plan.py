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
