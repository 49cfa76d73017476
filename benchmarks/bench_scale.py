"""
Benchmark: the dask path (2 worker processes) against the in-memory path, end to end.

A synthetic city (the parcels of `benchmarks.synth`, with the columns, constraint layers and
flood raster of `benchmarks.bench_classify`) is written once as a GeoParquet dataset of
100 000-parcel files (horizontal strips, as a previous step would leave it) under
``benchmarks/_cache``. Routes, medians of ``--repeat``:

- ``in-memory classify``: ``geopandas.read_parquet(folder)`` → `classify_parcels` →
  ``to_parquet``; ``dask classify``: `read_layer(folder)` (a dask frame) → `classify_parcels`
  → `write_layer` (each worker writes its partitions) on a `dask_client(workers=2)`;
- ``in-memory stats`` / ``dask stats``: read → `zone_stats` over 30 zones (apportioned).

The cluster is started once per process, outside the timing (its start-up is reported).
Run alone: ``.venv/bin/python -m benchmarks.bench_scale [--sizes 100000 1000000]``; the suite
(``python -m benchmarks``) runs each route in its own process, at 5M parcels under a memory
limit.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from benchmarks.bench_classify import bench_rules, synthetic_layers
from benchmarks.synth import CACHE, CELL, CRS, X0, Y0, synthetic_zones

ROUTES = ("in-memory classify", "dask classify", "in-memory stats", "dask stats")
BASELINE = {"dask classify": "in-memory classify", "dask stats": "in-memory stats"}
CHUNK = 100_000
WORKERS = 2
WARM_UP_SIZE = 10_000


def city_chunk(n: int, a: int, b: int, *, seed: int = 0) -> gpd.GeoDataFrame:
    """Parcels ``a..b`` of a city of `n` (`benchmarks.synth` layout, bench_classify columns)."""
    rng = np.random.default_rng([seed, a])
    m = b - a
    side = int(np.ceil(np.sqrt(n)))
    idx = np.arange(a, b)
    cx = X0 + (idx % side) * CELL + CELL / 2
    cy = Y0 + (idx // side) * CELL + CELL / 2
    angles = np.linspace(0.0, 2 * np.pi, 12, endpoint=False)
    radius = CELL * 0.45 * (0.8 + 0.2 * rng.random((m, 12)))
    xs = cx[:, None] + radius * np.cos(angles)[None, :]
    ys = cy[:, None] + radius * np.sin(angles)[None, :]
    coords = np.stack([xs, ys], axis=-1)
    coords = np.concatenate([coords, coords[:, :1, :]], axis=1)
    rings = shapely.linearrings(coords.reshape(-1, 2), indices=np.repeat(np.arange(m), 13))
    geoms = shapely.polygons(rings)
    uses = ["residential", "commercial", "industrial", "public", "green", "vacant"]
    land_use = rng.choice(uses, size=m, p=[0.55, 0.1, 0.1, 0.1, 0.07, 0.08])
    floors = rng.integers(1, 30, size=m)
    households = np.where(land_use == "residential", rng.integers(0, 120, size=m), 0)
    other = rng.choice(["residential", "commercial", "green", "public"], size=m)
    df = pd.DataFrame(
        {
            "parcel_id": np.char.add("P", idx.astype(str)),
            "land_use": land_use,
            "planned_use": np.where(rng.random(m) < 0.03, other, land_use),
            "build_year": rng.integers(1950, 2024, size=m),
            "floors": floors,
            "structure": rng.choice(
                ["simple", "brick_wood", "brick_concrete", "frame", "shear_wall"],
                size=m,
                p=[0.05, 0.1, 0.45, 0.25, 0.15],
            ),
            "danger_grade": rng.choice(["A", "B", "C", "D"], size=m, p=[0.6, 0.25, 0.1, 0.05]),
            "households": households,
            "population": np.round(households * 3.2).astype(int),
            "floor_area": np.round(shapely.area(geoms) * 0.6 * floors, 1),
            "street": np.char.add("街道", ((idx % side) * 8 // side).astype(str)),
            "listed": rng.random(m) < 0.005,
            "illegal": rng.random(m) < 0.01,
        },
        index=pd.RangeIndex(a, b),
    )
    return gpd.GeoDataFrame(df, geometry=geoms, crs=CRS)


def cached_inputs(n: int) -> dict[str, Path]:
    """Write (once) the dataset folder, the constraint layers and the flood raster of size n."""
    folder = CACHE / f"scale_{n}"
    done = folder / "DONE"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "parcels").mkdir(parents=True)
        chunk = min(CHUNK, max(1, -(-n // 8)))  # at least 8 files: 4 per worker
        for k, a in enumerate(range(0, n, chunk)):
            city_chunk(n, a, min(n, a + chunk)).to_parquet(
                folder / "parcels" / f"part.{k:05d}.parquet"
            )
        layers, tif = synthetic_layers(n, folder)
        for name, layer in layers.items():
            layer.to_file(folder / "layers.gpkg", layer=name, engine="pyogrio")
        tif.rename(folder / "flood.tif")
        done.write_text("ok", encoding="utf-8")
    return {
        "parcels": folder / "parcels",
        "layers": folder / "layers.gpkg",
        "flood": folder / "flood.tif",
    }


def _layers(path: Path) -> dict[str, gpd.GeoDataFrame]:
    import pyogrio

    return {
        str(name): gpd.read_file(path, layer=str(name), engine="pyogrio")
        for name in pyogrio.list_layers(path)[:, 0]
    }


def _warm_up() -> None:
    import geo_renewal.classify
    import geo_renewal.io
    import geo_renewal.raster
    import geo_renewal.scale
    import geo_renewal.stats  # noqa: F401


def _median(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run_route(route: str, n: int, repeat: int) -> dict:
    """Time one route at size `n` (median of `repeat`); the cluster starts outside the timing."""
    from geo_renewal.classify import classify_parcels
    from geo_renewal.io import read_layer, write_layer
    from geo_renewal.scale import dask_client
    from geo_renewal.stats import zone_stats

    paths = cached_inputs(n)
    rules = bench_rules()
    layers = _layers(paths["layers"])
    rasters = {"flood_depth": paths["flood"]}
    zones = synthetic_zones(n)
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-", dir=CACHE))
    extra: dict = {}
    distributed = route.startswith("dask")
    stack = contextlib.ExitStack()
    try:
        if distributed:
            t = time.perf_counter()
            limit = os.environ.get("GR_BENCH_WORKER_MEMORY", "auto")
            client = stack.enter_context(dask_client(workers=WORKERS, memory_limit=limit))
            client.run(_warm_up)  # imports in the workers, as the in-memory route has them
            extra["cluster_start_s"] = round(time.perf_counter() - t, 2)
            extra["worker_memory_limit"] = limit

        def classify_in_memory() -> None:
            city = gpd.read_parquet(paths["parcels"])
            out = classify_parcels(city, rules, layers=layers, rasters=rasters)
            out.to_parquet(tmp / "classified.parquet")

        def classify_dask() -> None:
            lazy = classify_parcels(
                read_layer(paths["parcels"]), rules, layers=layers, rasters=rasters
            )
            write_layer(lazy, tmp / "classified")

        def stats_in_memory() -> None:
            zone_stats(gpd.read_parquet(paths["parcels"]), zones=zones, zone_col="zone_id")

        def stats_dask() -> None:
            zone_stats(read_layer(paths["parcels"]), zones=zones, zone_col="zone_id")

        func = {
            "in-memory classify": classify_in_memory,
            "dask classify": classify_dask,
            "in-memory stats": stats_in_memory,
            "dask stats": stats_dask,
        }[route]
        if n > WARM_UP_SIZE:  # first calls (imports, caches, worker start-up) on small data
            big = paths
            paths = cached_inputs(WARM_UP_SIZE)
            func()
            paths = big
        else:
            func()
        seconds = _median(func, repeat)
    finally:
        stack.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return {"route": route, "seconds": seconds, "baseline": BASELINE.get(route), **extra}


def prepare(n: int) -> None:
    """Write the inputs of size `n` (the suite calls this outside any memory limit)."""
    cached_inputs(n)
    if n > WARM_UP_SIZE:
        cached_inputs(WARM_UP_SIZE)


def figures(n: int, repeat: int = 3, route: str | None = None) -> list[dict]:
    """Figures for `python -m benchmarks`: one route (its own process) or all of them."""
    return [run_route(r, n, repeat) for r in ([route] if route else ROUTES)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'parcels':>9}  {'route':<20} {'median s':>9} {'× in-memory':>12}")
    for n in args.sizes:
        rows = {r["route"]: r for r in figures(n, args.repeat)}
        for name, row in rows.items():
            base = rows.get(row["baseline"]) if row["baseline"] else None
            ratio = f"{row['seconds'] / base['seconds']:>12.2f}" if base else f"{'':>12}"
            print(f"{n:>9,}  {name:<20} {row['seconds']:>9.2f} {ratio}", flush=True)


if __name__ == "__main__":
    main()
