"""
Synthetic city for benchmarks: n parcels of 13 vertices with canonical columns.

Parcels are jittered 12-gons (13 vertices with the closing one) on a square grid in
EPSG:4548 around Jinan (117°E, 36.7°N); zones are a grid of `n_zones` rectangles that
do not align with parcel edges, so many parcels straddle zone borders. Deterministic for a
seed. Files are cached under ``benchmarks/_cache`` (git-ignored).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

CRS = "EPSG:4548"
X0, Y0 = 480_000.0, 4_050_000.0
CELL = 40.0  # metres between parcel centres
CACHE = Path(__file__).parent / "_cache"


def synthetic_city(n: int, *, seed: int = 0) -> gpd.GeoDataFrame:
    """Return `n` parcels with canonical attribute columns in EPSG:4548."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    idx = np.arange(n)
    cx = X0 + (idx % side) * CELL + CELL / 2
    cy = Y0 + (idx // side) * CELL + CELL / 2
    angles = np.linspace(0.0, 2 * np.pi, 12, endpoint=False)
    radius = CELL * 0.45 * (0.8 + 0.2 * rng.random((n, 12)))
    xs = cx[:, None] + radius * np.cos(angles)[None, :]
    ys = cy[:, None] + radius * np.sin(angles)[None, :]
    coords = np.stack([xs, ys], axis=-1)
    coords = np.concatenate([coords, coords[:, :1, :]], axis=1)  # close rings: 13 vertices
    rings = shapely.linearrings(coords.reshape(-1, 2), indices=np.repeat(idx, 13))
    geoms = shapely.polygons(rings)
    land_use = rng.choice(
        ["residential", "commercial", "industrial", "public", "green", "vacant"],
        size=n,
        p=[0.55, 0.1, 0.1, 0.1, 0.07, 0.08],
    )
    floors = rng.integers(1, 30, size=n)
    footprint = shapely.area(geoms)
    households = np.where(land_use == "residential", rng.integers(0, 120, size=n), 0)
    df = pd.DataFrame(
        {
            "parcel_id": np.char.add("P", idx.astype(str)),
            "land_use": land_use,
            "build_year": rng.integers(1950, 2024, size=n),
            "floors": floors,
            "structure": rng.choice(
                ["simple", "brick_wood", "brick_concrete", "frame", "shear_wall"],
                size=n,
                p=[0.05, 0.1, 0.45, 0.25, 0.15],
            ),
            "danger_grade": rng.choice(["A", "B", "C", "D"], size=n, p=[0.6, 0.25, 0.1, 0.05]),
            "households": households,
            "population": np.round(households * 3.2).astype(int),
            "floor_area": np.round(footprint * 0.6 * floors, 1),
            "street": np.char.add("街道", ((idx % side) * 8 // side).astype(str)),
        }
    )
    return gpd.GeoDataFrame(df, geometry=geoms, crs=CRS)


def synthetic_zones(n: int, *, n_zones: int = 30) -> gpd.GeoDataFrame:
    """Return `n_zones` rectangles (5 × 6 grid) covering ~95 % of the city of `n` parcels."""
    side = int(np.ceil(np.sqrt(n))) * CELL
    nx, ny = 6, int(np.ceil(n_zones / 6))
    w, h = side / nx, side * 0.95 / ny
    boxes = [
        shapely.box(
            X0 + i * w + 7.3, Y0 + j * h + 3.1, X0 + (i + 1) * w + 7.3, Y0 + (j + 1) * h + 3.1
        )
        for j in range(ny)
        for i in range(nx)
    ][:n_zones]
    return gpd.GeoDataFrame(
        {"zone_id": [f"Z{k:02d}" for k in range(len(boxes))]}, geometry=boxes, crs=CRS
    )


def cached_city(n: int, *, fmt: str = "parquet", seed: int = 0) -> Path:
    """Write the synthetic city once to ``_cache/city_{n}.{fmt}`` and return the path."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"city_{n}_{seed}.{fmt}"
    if not path.exists():
        city = synthetic_city(n, seed=seed)
        tmp = path.with_suffix(".tmp" + path.suffix)
        if fmt == "parquet":
            city.to_parquet(tmp)
        else:
            city.to_file(tmp, engine="pyogrio", use_arrow=True)
        tmp.replace(path)
    return path
