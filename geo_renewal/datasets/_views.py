"""
Sample view layers: viewpoints on the north bank and a landmark south of the district.

The ``viewpoints`` and ``landmarks`` layers of the view-corridor demo (issue 20).

Drawn from their own random generator (seed + 20), after the district is laid out, so the
other layers and the golden tests do not change. The landmark stands for a hill with a
pagoda on top (南山塔): 150 m of hill and 30 m of pagoda above the district's ground, the top
50 m (the pagoda and the hill's crown) protected. The viewpoints are two riverside squares
60–70 m north of the river's centreline, looking south across the river at the skyline.
"""

from __future__ import annotations

import numpy as np

import geopandas as gpd
from shapely import LineString
from shapely.geometry import Point

__all__ = ["view_layers"]

#: (name, x offset from the district's west edge, metres north of the river's centreline)
_VIEWPOINTS = (("北岸观景台", 550.0, 60.0), ("北岸滨河广场", 1_500.0, 70.0))
#: The landmark: name, position (offsets from the south-west corner), height, protected band.
LANDMARK = ("南山塔", 900.0, -200.0, 180.0, 50.0)


def _north_bank(river: LineString, x: float, offset: float) -> Point:
    y0, y1 = river.bounds[1] - 1_000.0, river.bounds[3] + 1_000.0
    hit = river.intersection(LineString([(x, y0), (x, y1)]))
    return Point(x, max(p.y for p in getattr(hit, "geoms", [hit])) + offset)


def view_layers(
    layers: dict[str, gpd.GeoDataFrame], rng: np.random.Generator, origin: tuple[float, float]
) -> dict[str, gpd.GeoDataFrame]:
    """Return the ``viewpoints`` and ``landmarks`` layers of the sample district."""
    river = layers["river"].geometry.iloc[0]
    crs = layers["river"].crs
    x0, y0 = origin
    vps = [_north_bank(river, x0 + dx, dy) for _, dx, dy in _VIEWPOINTS]
    eye = np.round(rng.uniform(1.5, 1.7, len(vps)), 1)  # standing adults on a promenade
    viewpoints = gpd.GeoDataFrame(
        {"name": [v[0] for v in _VIEWPOINTS], "eye_height": eye}, geometry=vps, crs=crs
    )
    name, dx, dy, height, band = LANDMARK
    landmarks = gpd.GeoDataFrame(
        {"name": [name], "height": [height], "band": [band]},
        geometry=[Point(x0 + dx, y0 + dy)],
        crs=crs,
    )
    return {"viewpoints": viewpoints, "landmarks": landmarks}
