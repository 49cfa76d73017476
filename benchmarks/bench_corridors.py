"""
Benchmark: permitted heights in view corridors and the skyline profile.

Layers: `n` building footprints (rotated rectangles 8–40 m, 3–100 m high) scattered over a
square of 400 m² per building (100k: 12.6 km across); 20 corridors from viewpoints on the
north edge to landmarks on the south edge, 100–300 m wide.

Routes timed in the same run (medians of ``--repeat``):

- ``height_checks(buildings, corridors)`` — one STRtree query with the 20 corridors,
  overlaps only for footprints crossing an edge, the plane at every vertex, one lexsort;
- baseline: ``geopandas.sjoin`` + the overlap of each pair + per-building arithmetic
  (the plane's minimum over the overlap's vertices, row by row);
- ``skyline_profile`` over 120° at 0.1° (1,200 bearings) from one viewpoint — every
  footprint edge's arc of bearings at once, then a maximum per bin;
- baseline: per bearing, a ray intersected with the footprints it crosses (STRtree query,
  ``intersection``, the nearest hit), then the highest angle.

Both pairs of routes are checked to agree (permitted heights to 1e-6 m, the skyline on
every bearing to 1e-6°). Run: ``python -m benchmarks.bench_corridors [--sizes 10000 100000]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from benchmarks.bench_validate import median_time
from benchmarks.synth import CRS, X0, Y0
from geo_renewal.corridors import corridors_from_points, height_checks
from geo_renewal.skyline import skyline_profile


def synthetic_buildings(n: int, *, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    side = float(np.sqrt(n * 400.0))
    cx, cy = X0 + rng.uniform(0, side, n), Y0 + rng.uniform(0, side, n)
    w, d = rng.uniform(8, 40, n), rng.uniform(8, 20, n)
    a = rng.uniform(0, np.pi, n)
    corners = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)], dtype=float)
    lx, ly = corners[:, 0] * w[:, None] / 2, corners[:, 1] * d[:, None] / 2
    x = cx[:, None] + lx * np.cos(a)[:, None] - ly * np.sin(a)[:, None]
    y = cy[:, None] + lx * np.sin(a)[:, None] + ly * np.cos(a)[:, None]
    geoms = shapely.polygons(np.stack([x, y], axis=-1))
    height = np.round(rng.gamma(2.0, 9.0, n).clip(3, 100), 1)
    return gpd.GeoDataFrame({"height_m": height}, geometry=geoms, crs=CRS)


def synthetic_corridors(n: int, *, k: int = 20, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    side = float(np.sqrt(n * 400.0))
    vx = X0 + rng.uniform(0.1, 0.9, k) * side
    lx = X0 + rng.uniform(0.1, 0.9, k) * side
    vps = gpd.GeoDataFrame(
        {"name": [f"V{i}" for i in range(k)], "eye_height": 1.6},
        geometry=gpd.points_from_xy(vx, np.full(k, Y0 + side + 50)),
        crs=CRS,
    )
    lms = gpd.GeoDataFrame(
        {"name": [f"L{i}" for i in range(k)], "height": rng.uniform(80, 200, k)},
        geometry=gpd.points_from_xy(lx, np.full(k, Y0 - 50)),
        crs=CRS,
    )
    parts = [
        corridors_from_points(
            vps.iloc[[i]], lms.iloc[[i]], width=float(rng.uniform(100, 300)), band=20
        )
        for i in range(k)
    ]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=CRS)


def checks_baseline(buildings: gpd.GeoDataFrame, corridors: gpd.GeoDataFrame) -> pd.DataFrame:
    """The plain route: sjoin, the overlap of each pair, the plane row by row."""
    joined = gpd.sjoin(
        buildings, corridors[["surface", "a", "b", "c", "geometry"]], predicate="intersects"
    )
    overlap = joined.geometry.intersection(
        corridors.geometry.loc[joined["index_right"]].set_axis(joined.index)
    )
    rows = []
    for (label, row), part in zip(joined.iterrows(), overlap, strict=True):
        if part.is_empty or part.area <= 1e-9:
            continue
        xy = shapely.get_coordinates(part)
        permitted = float((row.a * xy[:, 0] + row.b * xy[:, 1] + row.c).min())
        rows.append((label, row.surface, permitted, row.height_m - permitted))
    return pd.DataFrame(rows, columns=["row", "surface", "permitted_m", "excess_m"])


def skyline_baseline(
    buildings: gpd.GeoDataFrame,
    eye: shapely.Point,
    *,
    start: float,
    stop: float,
    step: float,
    eye_z: float = 1.6,
) -> np.ndarray:
    """The plain route: one ray per bearing, intersected with the footprints it crosses."""
    geoms = np.asarray(buildings.geometry.array)
    heights = buildings["height_m"].to_numpy()
    tree = shapely.STRtree(geoms)
    reach = float(np.hypot(*np.ptp(shapely.get_coordinates(geoms), axis=0))) * 2
    out = []
    for az in np.arange(start + step / 2, stop, step):
        t = np.radians(az)
        ray = shapely.LineString(
            [(eye.x, eye.y), (eye.x + reach * np.sin(t), eye.y + reach * np.cos(t))]
        )
        hit = tree.query(ray, predicate="intersects")
        if len(hit) == 0:
            out.append(np.nan)
            continue
        dist = shapely.distance(eye, shapely.intersection(geoms[hit], ray))
        out.append(float(np.degrees(np.arctan2(heights[hit] - eye_z, dist)).max()))
    return np.array(out)


def _agree(ours: pd.DataFrame, base: pd.DataFrame) -> int:
    a = ours.set_index(["row", "surface"])["permitted_m"].sort_index()
    b = base.set_index(["row", "surface"])["permitted_m"].sort_index()
    assert a.index.equals(b.index), (len(a), len(b))
    assert np.allclose(a.to_numpy(), b.to_numpy(), atol=1e-6)
    return len(a)


def figures(n: int, repeat: int = 3, baseline_limit: int = 100_000) -> list[dict]:
    """Medians of one size for `python -m benchmarks`."""
    buildings = synthetic_buildings(n)
    corridors = synthetic_corridors(n)
    side = float(np.sqrt(n * 400.0))
    eye = shapely.Point(X0 + side / 2, Y0 + side + 50)
    cpu = time.process_time()
    t_ours, checks = median_time(height_checks, buildings, corridors, repeat=repeat)
    cpu_ours, cpu = (time.process_time() - cpu) / repeat, time.process_time()
    t_sky, prof = median_time(
        lambda: skyline_profile(buildings, eye, azimuths=(120, 240), step=0.1), repeat=repeat
    )
    cpu_sky = (time.process_time() - cpu) / repeat
    out = [
        {
            "route": "height_checks (20 corridors)",
            "seconds": t_ours,
            "cpu_seconds": cpu_ours,
            "baseline": None,
            "pairs": len(checks),
            "over": int((checks.excess_m > 0).sum()),
        },
        {
            "route": "skyline_profile 120° at 0.1°",
            "seconds": t_sky,
            "cpu_seconds": cpu_sky,
            "baseline": None,
        },
    ]
    if n <= baseline_limit:
        t_base, base = median_time(checks_baseline, buildings, corridors, repeat=1)
        _agree(checks, base)
        t_sbase, sbase = median_time(
            lambda: skyline_baseline(buildings, eye, start=120, stop=240, step=0.1), repeat=1
        )
        same = np.isclose(prof["elevation_deg"].to_numpy(), sbase, atol=1e-6, equal_nan=True)
        assert same.mean() > 0.999, same.mean()
        out[0]["baseline"] = "sjoin + per-building arithmetic"
        out[1]["baseline"] = "per-bearing ray intersections"
        out += [
            {"route": "sjoin + per-building arithmetic", "seconds": t_base, "baseline": None},
            {"route": "per-bearing ray intersections", "seconds": t_sbase, "baseline": None},
        ]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for n in args.sizes:
        figs = {f["route"]: f for f in figures(n, repeat=args.repeat)}
        print(f"n = {n:,} buildings", flush=True)
        for route, f in figs.items():
            base = figs.get(f["baseline"]) if f["baseline"] else None
            ratio = (
                f"  ({base['seconds'] / f['seconds']:.1f}x faster than {f['baseline']})"
                if base
                else ""
            )
            extra = f"  pairs {f['pairs']:,}, above {f['over']:,}" if "pairs" in f else ""
            cpu = f" (CPU {f['cpu_seconds']:.2f} s)" if "cpu_seconds" in f else ""
            print(f"  {route:34s} {f['seconds']:8.3f} s{cpu}{ratio}{extra}", flush=True)


if __name__ == "__main__":
    main()
