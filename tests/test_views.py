"""The [corridors] section of a project file, its workflow step, sheet and report section."""

from __future__ import annotations

import types

import pytest

import geopandas as gpd
import pyogrio
import rasterio
from shapely import LineString, Point, box

from geo_renewal._errors import InputError
from geo_renewal.datasets import get_path
from geo_renewal.io import read_layer, write_layer
from geo_renewal.plan import load_plan
from geo_renewal.tables import write_tables
from geo_renewal.views import corridor_report, corridor_tables, corridors_section, run_corridors

CRS = "EPSG:4548"
X0, Y0 = 500_000.0, 4_000_000.0


@pytest.fixture
def views_gpkg(tmp_path):
    path = tmp_path / "views.gpkg"
    vp = gpd.GeoDataFrame({"name": ["V"], "eye_height": [1.6]}, geometry=[Point(X0, Y0)], crs=CRS)
    lm = gpd.GeoDataFrame(
        {"name": ["T"], "height": [121.6], "band": [20.0]},
        geometry=[Point(X0, Y0 - 2000)],
        crs=CRS,
    )
    plots = gpd.GeoDataFrame(
        {"plot_id": ["P1"], "far": [3.0], "density": [0.25], "land_use": ["residential"]},
        geometry=[box(X0 - 30, Y0 - 1060, X0 + 30, Y0 - 1000)],
        crs=CRS,
    )
    write_layer(vp, path, layer="viewpoints")
    write_layer(lm, path, layer="landmarks")
    write_layer(plots, path, layer="plots")
    return path


def section(path, **extra):
    return {
        "viewpoints": {"path": str(path), "layer": "viewpoints"},
        "landmarks": {"path": str(path), "layer": "landmarks"},
        **extra,
    }


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"widht": 100}, r"`corridors.widht` is not a key; did you mean `width`"),
        ({"width": 100, "angle": 5}, r"`corridors.angle` is given with width"),
        ({"clearance": -1}, r"`corridors.clearance` must be a number from 0 to 1000, got -1"),
        ({"dem": "nope.tif"}, r"`corridors.dem` names .*nope.tif, which does not exist"),
        ({"plots": {"file": "x"}}, r"`corridors.plots` must be a table with path"),
    ],
)
def test_section_errors_name_the_key(tmp_path, views_gpkg, extra, match):
    with pytest.raises(InputError, match=match):
        corridors_section(section(views_gpkg, **extra), tmp_path, tmp_path / "plan.toml")


def test_section_needs_viewpoints(tmp_path):
    with pytest.raises(InputError, match=r"`corridors.viewpoints` is missing"):
        corridors_section({"landmarks": "x.gpkg"}, tmp_path, tmp_path / "plan.toml")


def test_the_sample_plan_has_corridors():
    spec = load_plan(get_path("sample_plan")).corridors
    assert spec.width == 150.0
    assert spec.river_zones is True
    assert spec.viewpoints[1] == "viewpoints"


def test_step_writes_files_sheet_and_report(tmp_path, views_gpkg):
    # plane 1.6 + s × (101.6 − 1.6) / 2000 = 1.6 + 0.05 s; building A at s = 400: 21.6 m
    buildings = gpd.GeoDataFrame(
        {"building_id": ["A", "B"], "floors": [9, None]},
        geometry=[
            box(X0 - 10, Y0 - 420, X0 + 10, Y0 - 400),
            box(X0 - 10, Y0 - 820, X0 + 10, Y0 - 800),
        ],
        crs=CRS,
    )
    river = gpd.GeoDataFrame(
        geometry=[LineString([(X0 - 3000, Y0 - 300), (X0 + 3000, Y0 - 300)])], crs=CRS
    )
    spec = corridors_section(
        section(
            views_gpkg,
            plots={"path": str(views_gpkg), "layer": "plots"},
            river_zones=True,
            step=0.5,
        ),
        tmp_path,
        tmp_path / "plan.toml",
    )
    plan = types.SimpleNamespace(corridors=spec, lang="en", path=tmp_path / "plan.toml")
    result = types.SimpleNamespace(
        plan=plan, layers={"buildings": buildings}, constraints={"river": river}, files={}
    )
    out = tmp_path / "out"
    out.mkdir()
    run_corridors(result, out)
    assert sorted(result.files) == ["corridors", "permitted_height", "skyline", "view3d"]
    layers = [name for name, _ in pyogrio.list_layers(out / "corridors.gpkg")]
    assert layers == ["surfaces", "contours", "building_checks", "plot_checks"]
    checks = read_layer(out / "corridors.gpkg", layer="building_checks")
    a = checks[(checks["id"] == "A") & (checks["kind"] == "corridor")]
    assert a["height_m"].iloc[0] == pytest.approx(27.0)  # 9 floors × 3 m
    assert a["permitted_m"].iloc[0] == pytest.approx(21.6, abs=0.01)
    assert checks.loc[checks["id"] == "B", "excess_m"].isna().all()  # unknown height, kept
    # the plot: 3.0 / 0.25 = 12 floors × 3 m = 36 m against 1.6 + 0.05 × 1000 = 51.6 m
    plot = read_layer(out / "corridors.gpkg", layer="plot_checks")
    assert plot["excess_m"].iloc[0] == pytest.approx(36.0 - 51.6, abs=0.01)
    with rasterio.open(out / "permitted_height.tif") as f:
        assert f.crs.to_epsg() == 4548
    run = result.corridors
    assert run.n_unknown == 1
    assert run.summary()["n_over"] == 1  # A, in the corridor (5.4 m) and in no zone
    assert "bundled example parameters" in run.caveat("en")
    assert "bundled example parameters" in (out / "view3d.html").read_text("utf-8")
    sheet = next(iter(corridor_tables(result).values()))
    assert sheet["id"].tolist()[0] == "B"  # unknown heights first, then the worst
    write_tables(corridor_tables(result), tmp_path / "t.xlsx", lang="zh")
    html = corridor_report(result, "en")
    assert "1 exceed the permitted height" in html
    # the plot below its permitted height is said apart from the buildings
    assert run.summary()["n_plots_in"] == 1
    assert run.summary()["n_plots_over"] == 0
    assert "1 planned plots lie in the corridors or river zones; 0 have" in html
    assert "data:image/png;base64," in html
    assert set(run.skylines) == {"V"}
    assert set(run.skylines["V"]) == {"current", "planned"}


def test_step_needs_buildings(tmp_path, views_gpkg):
    spec = corridors_section(section(views_gpkg), tmp_path, tmp_path / "plan.toml")
    plan = types.SimpleNamespace(corridors=spec, lang="en", path=tmp_path / "plan.toml")
    result = types.SimpleNamespace(plan=plan, layers={}, constraints={}, files={})
    with pytest.raises(InputError, match=r"needs the buildings layer; add \[layers.buildings\]"):
        run_corridors(result, tmp_path)


@pytest.mark.slow
def test_sample_run_shows_breaches_and_skylines(tmp_path):
    from geo_renewal.workflow import run_plan, workbook_tables

    with pytest.warns(UserWarning, match="63号"):  # the sample's nearby rate, not ours
        result = run_plan(get_path("sample_plan"), out_dir=tmp_path)
    assert {"corridors", "permitted_height", "skyline", "view3d"} <= set(result.files)
    s = result.corridors.summary()
    assert s["n_corridors"] == 2
    assert s["n_over"] > 0
    assert "视廊限高校核" in workbook_tables(result)
    assert "视廊与限高" in (tmp_path / "report.html").read_text("utf-8")


def test_skyline_slide_in_a_deck(tmp_path, views_gpkg):
    pptx = pytest.importorskip("pptx")
    from PIL import Image

    from geo_renewal.views import CorridorRun, corridor_slide

    png = tmp_path / "c.png"
    Image.new("RGB", (1500, 1020), "white").save(png)
    run = CorridorRun(surfaces=None, checks=None, chart_png=png.read_bytes())
    result = types.SimpleNamespace(corridors=run)
    prs = pptx.Presentation()
    prs.slide_width, prs.slide_height = 12192000, 6858000

    def new_slide(p, title):
        slide = p.slides.add_slide(p.slide_layouts[5])
        slide.shapes.title.text = title
        return slide

    corridor_slide(prs, result, "zh", new_slide)
    prs.save(tmp_path / "d.pptx")
    back = pptx.Presentation(tmp_path / "d.pptx")
    slide = back.slides[0]
    assert slide.shapes.title.text == "视廊与限高"
    pictures = [s for s in slide.shapes if s.shape_type == 13]
    assert len(pictures) == 1
    assert pictures[0].width / pictures[0].height == pytest.approx(1500 / 1020, rel=1e-3)
    corridor_slide(prs, types.SimpleNamespace(corridors=None), "zh", new_slide)
    assert len(prs.slides) == 1


def test_cli_refuses_a_plan_without_corridors(tmp_path):
    from click.testing import CliRunner

    from geo_renewal.cli import cli

    plan = tmp_path / "plan.toml"
    plan.write_text(
        f'[layers.parcels]\npath = "{get_path("sample_district").as_posix()}"\nlayer = "parcels"\n',
        "utf-8",
    )
    res = CliRunner().invoke(cli, ["corridors", str(plan), "--out", str(tmp_path / "c")])
    assert res.exit_code == 1
    assert "has no [corridors] section" in res.output
    assert not (tmp_path / "c").exists()


@pytest.mark.slow
def test_cli_runs_the_corridors_of_the_sample(tmp_path):
    from click.testing import CliRunner

    from geo_renewal.cli import cli

    out = tmp_path / "c"
    res = CliRunner().invoke(
        cli, ["corridors", str(get_path("sample_plan")), "--out", str(out), "--lang", "en"]
    )
    assert res.exit_code == 0, res.output
    assert "12 exceed the permitted height" in res.output
    assert sorted(p.name for p in out.iterdir()) == [
        "corridors.gpkg",
        "manifest.json",
        "permitted_height.tif",
        "skyline.png",
        "view3d.html",
    ]
