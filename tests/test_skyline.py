"""The skyline profile against hand-computed elevation angles, and its chart."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
from shapely import Point, box

from geo_renewal.skyline import (
    corridor_bearings,
    landmark_angles,
    planned_massing,
    skyline_chart,
    skyline_profile,
)

CRS = "EPSG:4548"
X0, Y0 = 500_000.0, 4_000_000.0
EYE = Point(X0, Y0)


def at(x, y):
    return X0 + x, Y0 + y


@pytest.fixture
def crafted():
    # A: front face 200 m north, 10 m wide, roof 50 m above the eye (1.6 m).
    # B: front face 400 m north, 40 m wide, roof 80 m above the eye.
    return gpd.GeoDataFrame(
        {"height_m": [51.6, 81.6]},
        geometry=[box(*at(-5, 200), *at(5, 210)), box(*at(-20, 400), *at(20, 410))],
        crs=CRS,
        index=["A", "B"],
    )


def expected(theta_deg):
    """Hand-computed: a ray at bearing θ meets a face y = d at t = d / cos θ."""
    c = math.cos(math.radians(theta_deg))
    a = (
        math.degrees(math.atan2(50.0, 200.0 / c))
        if abs(math.tan(math.radians(theta_deg))) * 200 <= 5
        else -90
    )
    b = (
        math.degrees(math.atan2(80.0, 400.0 / c))
        if abs(math.tan(math.radians(theta_deg))) * 400 <= 20
        else -90
    )
    return max(a, b), ("A" if a > b else "B")


def test_profile_matches_hand_computed_angles(crafted):
    p = skyline_profile(crafted, EYE, azimuths=(-4, 4), step=0.1)
    assert len(p) == 80
    assert p["azimuth"].iloc[0] == pytest.approx(-3.95)
    inside = p[p["azimuth"].abs() < 2.86]
    want = [expected(t) for t in inside["azimuth"]]
    assert inside["elevation_deg"].tolist() == pytest.approx([w[0] for w in want], abs=1e-6)
    assert inside["row"].tolist() == [w[1] for w in want]
    assert p.loc[p["azimuth"].abs() < 1.4, "row"].eq("A").all()
    assert p.loc[p["azimuth"].abs() > 2.9, "elevation_deg"].isna().all()  # open sky
    # at the centre: atan(50 / 200.0000…) = 14.036°, B alone atan(80 / 400) = 11.310°
    assert p.loc[p.azimuth.sub(0.05).abs().idxmin(), "elevation_deg"] == pytest.approx(
        14.036, abs=1e-3
    )
    assert p.loc[p.azimuth.sub(2.05).abs().idxmin(), "elevation_deg"] == pytest.approx(
        11.302, abs=1e-3
    )


def test_a_range_across_north_and_a_heading_east(crafted):
    across = skyline_profile(crafted, EYE, azimuths=(356, 4), step=0.1)
    plain = skyline_profile(crafted, EYE, azimuths=(-4, 4), step=0.1)
    assert across["elevation_deg"].tolist() == pytest.approx(
        plain["elevation_deg"].tolist(), nan_ok=True
    )
    east = crafted.copy()
    east.geometry = [box(*at(200, -5), *at(210, 5)), box(*at(400, -20), *at(410, 20))]
    p = skyline_profile(east, EYE, azimuths=(86, 94), step=0.1)
    assert p["elevation_deg"].tolist() == pytest.approx(
        plain["elevation_deg"].tolist(), nan_ok=True
    )


def test_a_building_narrower_than_a_bin_is_not_lost():
    # 0.5 m wide at 1000 m: 0.029°, between the centres 0.05° and 0.15° (at 0.07°–0.10°)
    x = 1000 * math.tan(math.radians(0.07))
    b = gpd.GeoDataFrame(
        {"height_m": [101.6]}, geometry=[box(*at(x, 1000), *at(x + 0.5, 1001))], crs=CRS
    )
    p = skyline_profile(b, EYE, azimuths=(0, 1), step=0.1)
    hit = p.dropna(subset=["elevation_deg"])
    assert hit["azimuth"].tolist() == pytest.approx([0.05])
    assert hit["elevation_deg"].iloc[0] == pytest.approx(
        math.degrees(math.atan(100 / 1000.0)), abs=0.01
    )


def test_breaches_ground_and_eye_from_the_viewpoint_frame(crafted):
    vp = gpd.GeoDataFrame({"eye_height": [11.6]}, geometry=[EYE], crs=CRS)
    p = skyline_profile(
        crafted,
        vp,
        azimuths=(-1, 1),
        step=0.5,
        ground=[0.0, 0.0],
        excess=pd.Series([3.0, -1.0], index=crafted.index),
    )
    # eye 11.6 m: A at atan(40 / t)
    assert p["elevation_deg"].iloc[1] == pytest.approx(
        math.degrees(math.atan2(40, 200 / math.cos(math.radians(0.25))))
    )
    assert p["breach"].all()


def test_landmark_angles_and_corridor_bearings():
    lm = gpd.GeoDataFrame(
        {"name": ["塔"], "height": [201.6]}, geometry=[Point(at(0, 2000))], crs=CRS
    )
    a = landmark_angles(lm, EYE, band=100)
    assert a["azimuth"].iloc[0] == pytest.approx(0.0)
    assert a["top_deg"].iloc[0] == pytest.approx(math.degrees(math.atan(0.1)))
    assert a["protected_deg"].iloc[0] == pytest.approx(math.degrees(math.atan(0.05)))
    from geo_renewal.corridors import corridors_from_points

    vp = gpd.GeoDataFrame({"name": ["V"]}, geometry=[EYE], crs=CRS)
    c = corridors_from_points(vp, lm, angle=10)
    span = corridor_bearings(c, EYE)
    assert span[["azimuth_from", "azimuth_to"]].iloc[0].tolist() == pytest.approx([355.0, 5.0])


def test_planned_massing_replaces_buildings_on_plots():
    b = gpd.GeoDataFrame(
        geometry=[box(0, 0, 10, 10), box(9, 0, 19, 10), box(50, 0, 60, 10)], crs=CRS
    )
    plots = gpd.GeoDataFrame(geometry=[box(-5, -5, 12, 20), box(100, 0, 110, 10)], crs=CRS)
    m = planned_massing(b, plots, building_heights=[9.0, 12.0, 6.0], plot_heights=[60.0, np.nan])
    # building 1 lies 30 % on the plot: kept; the second plot has no height: counted
    assert m["source"].tolist() == ["building", "building", "plot"]
    assert m["row"].tolist() == [1, 2, 0]
    assert m.attrs["unknown_plots"] == 1


def test_chart_png_and_svg(tmp_path, crafted):
    now = skyline_profile(crafted, EYE, azimuths=(-4, 4), step=0.1, excess=[1.0, -1.0])
    later = skyline_profile(crafted.assign(height_m=[21.6, 81.6]), EYE, azimuths=(-4, 4), step=0.1)
    lm = gpd.GeoDataFrame(
        {"name": ["塔"], "height": [201.6]}, geometry=[Point(at(0, 2000))], crs=CRS
    )
    for name in ("sky.png", "sky.svg"):
        skyline_chart(
            {"现状": now, "规划": later},
            landmarks=landmark_angles(lm, EYE, band=50),
            corridors=pd.DataFrame(
                {"surface": ["V → 塔"], "azimuth_from": [-1.0], "azimuth_to": [1.0]}
            ),
            path=tmp_path / name,
            title="天际线",
        )
    assert (tmp_path / "sky.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (tmp_path / "sky.svg").read_text("utf-8")
    assert "<svg" in svg
    assert svg.count("<path") > 10
    from PIL import Image

    with Image.open(tmp_path / "sky.png") as im:
        assert im.size == (1500, 510)


def test_layers_in_longitude_latitude_are_measured_in_metres(crafted):
    vp = gpd.GeoDataFrame({"eye_height": [1.6]}, geometry=[EYE], crs=CRS)
    plain = skyline_profile(crafted, vp, azimuths=(-4, 4), step=0.1)
    geographic = skyline_profile(
        crafted.to_crs("EPSG:4326"), vp.to_crs("EPSG:4326"), azimuths=(-4, 4), step=0.1
    )
    # the same picture (the projection's grid convergence at 117° E turns bearings slightly)
    assert geographic["elevation_deg"].max() == pytest.approx(
        plain["elevation_deg"].max(), abs=0.01
    )
    assert geographic["elevation_deg"].notna().sum() == pytest.approx(
        plain["elevation_deg"].notna().sum(), abs=2
    )
