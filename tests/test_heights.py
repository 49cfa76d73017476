"""Building heights (column, DSM − DEM, floors × storey height) and permitted plot heights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
from shapely import Point, box

from geo_renewal._errors import InputError
from geo_renewal.heights import building_heights, ground_levels, load_storey_heights, plot_heights
from tests.test_raster import _write as write_raster

CRS = "EPSG:4548"


@pytest.fixture
def buildings():
    return gpd.GeoDataFrame(
        {
            "height": [None, 25.0, None, None],
            "floors": [6, 9, 3, None],
            "land_use": ["residential", "commercial", "industrial", "residential"],
        },
        geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10), box(40, 0, 60, 20), box(70, 0, 80, 10)],
        crs=CRS,
        index=[10, 11, 12, 13],
    )


def test_height_from_column_then_floors_by_use_and_missing_kept(buildings):
    h = building_heights(buildings)
    assert h.index.tolist() == [10, 11, 12, 13]
    assert h["height_m"].tolist()[:3] == [18.0, 25.0, 18.0]  # 6 × 3.0; column; 3 × 6.0
    assert np.isnan(h["height_m"].iloc[3])
    assert h["height_source"].tolist() == ["floors", "column", "floors", "missing"]


def test_storey_heights_from_a_file_override_only_their_keys(tmp_path, buildings):
    path = tmp_path / "h.toml"
    path.write_text("[storey_height_m]\nresidential = 2.8\n\n[roof]\nallowance_m = 1.5\n", "utf-8")
    params = load_storey_heights(path)
    assert params["residential"] == 2.8
    assert params["commercial"] == 4.5
    h = building_heights(buildings, params=path)
    assert h["height_m"].iloc[0] == pytest.approx(6 * 2.8 + 1.5)


def test_bad_storey_height_is_one_sentence(tmp_path):
    path = tmp_path / "h.toml"
    path.write_text("[storey_height_m]\nresidential = -3\n", "utf-8")
    with pytest.raises(InputError, match=r"residential = -3 is not a positive number"):
        load_storey_heights(path)


def test_dsm_minus_dem(tmp_path, buildings):
    # DSM 40 m on the left half, DEM 12 m everywhere: height 28 m where no column is given.
    dsm = write_raster(
        tmp_path / "dsm.tif",
        np.where(np.arange(10) < 5, 40.0, 12.0)[None, :].repeat(10, 0),
        origin=(0.0, 100.0),
    )
    dem = write_raster(tmp_path / "dem.tif", np.full((10, 10), 12.0), origin=(0.0, 100.0))
    h = building_heights(buildings, dsm=dsm, dem=dem)
    assert h["height_source"].tolist() == ["dsm", "column", "dsm", "dsm"]
    assert h["height_m"].tolist() == [28.0, 25.0, 28.0, 0.0]
    assert h["ground_m"].tolist() == [12.0] * 4


def test_ground_levels_of_points_take_their_pixel(tmp_path):
    dem = write_raster(
        tmp_path / "dem.tif", np.arange(100, dtype=float).reshape(10, 10), origin=(0.0, 100.0)
    )
    g = ground_levels(gpd.GeoSeries([Point(15, 95), Point(95, 5)], crs=CRS), dem)
    assert g.tolist() == [1.0, 99.0]


def test_plot_heights_limit_wins_then_far_over_density():
    plots = pd.DataFrame(
        {
            "height_limit": [None, 54.0, None, None],
            "far": [2.5, 3.0, 1.2, None],
            "density": [0.25, 0.3, 0.35, 0.3],
            "land_use": ["residential", "residential", "commercial", "residential"],
        }
    )
    h = plot_heights(plots)
    # 2.5 / 0.25 = 10 floors × 3 m; 1.2 / 0.35 = 3.43 → 4 floors × 4.5 m
    assert h["height_m"].tolist()[:3] == [30.0, 54.0, 18.0]
    assert h["floors"].tolist()[0] == 10.0
    assert h["floors"].tolist()[2] == 4.0
    assert h["height_source"].tolist() == ["far_density", "height_limit", "far_density", "missing"]


def test_density_as_percent_is_refused_naming_the_row():
    plots = pd.DataFrame({"far": [2.0], "density": [35.0]}, index=["P7"])
    with pytest.raises(InputError, match=r"plots row 'P7': density = 35 is above 1"):
        plot_heights(plots)
