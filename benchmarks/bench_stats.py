"""
Benchmark: area-apportioned per-zone statistics of synthetic parcels over 30 zones.

Compares, in the same run and on the same data:

- ``zone_stats(how="apportion")`` with one thread (the default) and with two threads;
- a hand-written script: STRtree of the parcels queried with the zones (predicate
  ``intersects``), ``contains_properly`` with prepared zones for wholly-inside parcels, exact
  ``shapely.intersection`` for the straddlers, ``np.bincount`` sums (single thread);
- ``geopandas.overlay(how="intersection")`` + groupby (skipped when its time, extrapolated
  linearly from the previous size, would exceed ``--overlay-limit`` seconds).

Every route's per-zone households are checked against the others before timing is reported.
The first three routes are timed round-robin (medians of ``--repeat``), so that load from
other processes on a shared machine slows them alike; overlay runs once at 500k and more.

Run: ``.venv/bin/python -m benchmarks.bench_stats [--sizes 10000 100000 1000000]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import geopandas as gpd
import shapely

from benchmarks.synth import cached_city, synthetic_zones
from geo_renewal.stats import zone_stats

COLS = ("households", "population", "floor_area")


def handwritten(city: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> np.ndarray:
    """Per-zone sums of households, population, floor area and area: the reference script."""
    parcels = np.asarray(city.geometry.array)
    zgeoms = shapely.from_wkb(shapely.to_wkb(np.asarray(zones.geometry.array)))
    tree = shapely.STRtree(parcels)
    zi, pi = tree.query(zgeoms, predicate="intersects")
    shapely.prepare(zgeoms)
    inside = shapely.contains_properly(zgeoms[zi], parcels[pi])
    parea = shapely.area(parcels)
    inter = parea[pi].copy()
    cross = ~inside
    inter[cross] = shapely.area(shapely.intersection(zgeoms[zi[cross]], parcels[pi[cross]]))
    w = inter / parea[pi]
    out = [np.bincount(zi, weights=inter, minlength=len(zgeoms))]
    for col in COLS:
        values = city[col].to_numpy(dtype=float)
        out.append(np.bincount(zi, weights=values[pi] * w, minlength=len(zgeoms)))
    return np.column_stack(out)


def overlay(city: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> np.ndarray:
    """The same sums with geopandas.overlay + groupby."""
    parcels = city[[*COLS, "geometry"]].copy()
    parcels["parcel_area"] = parcels.area
    pieces = gpd.overlay(parcels, zones[["zone_id", "geometry"]], how="intersection")
    pieces["piece_area"] = pieces.area
    w = pieces["piece_area"] / pieces["parcel_area"]
    for col in COLS:
        pieces[col] = pieces[col] * w
    sums = pieces.groupby("zone_id")[["piece_area", *COLS]].sum()
    return sums.reindex(zones["zone_id"]).fillna(0.0).to_numpy()


def ours(city: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, n_jobs: int) -> np.ndarray:
    stats = zone_stats(city, zones=zones, zone_col="zone_id", n_jobs=n_jobs)
    rows = stats.loc[list(zones["zone_id"])]
    # planar area (the hand-written script does not correct for the projection's scale)
    return rows[["households", "population", "floor_area_m2"]].to_numpy()


def timed(func, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def interleaved(funcs: dict[str, object], repeat: int) -> dict[str, tuple[float, object]]:
    """Time the routes round-robin, so that a busy machine slows them alike."""
    times: dict[str, list[float]] = {name: [] for name in funcs}
    results: dict[str, object] = {}
    for _ in range(repeat):
        for name, func in funcs.items():
            t = time.perf_counter()
            results[name] = func()
            times[name].append(time.perf_counter() - t)
    return {name: (statistics.median(times[name]), results[name]) for name in funcs}


def figures(n: int, repeat: int = 3, overlay_max: int = 100_000) -> list[dict]:
    """Medians of one size for `python -m benchmarks` (overlay only up to `overlay_max`)."""
    city = gpd.read_parquet(cached_city(n))
    zones = synthetic_zones(n)
    runs = interleaved(
        {
            "script": lambda c=city, z=zones: handwritten(c, z),
            "one": lambda c=city, z=zones: ours(c, z, 1),
            "pool": lambda c=city, z=zones: ours(c, z, 2),
        },
        repeat,
    )
    (t_script, ref), (t_one, one), (t_pool, pool) = runs.values()
    np.testing.assert_allclose(one, ref[:, 1:], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(pool, ref[:, 1:], rtol=1e-9, atol=1e-6)
    base = "hand-written STRtree script"
    out = [
        {"route": base, "seconds": t_script, "baseline": None},
        {"route": "zone_stats n_jobs=1", "seconds": t_one, "baseline": base},
        {"route": "zone_stats n_jobs=2", "seconds": t_pool, "baseline": base},
    ]
    if n <= overlay_max:
        t_overlay, ov = timed(lambda c=city, z=zones: overlay(c, z), 1 if n > 10_000 else repeat)
        np.testing.assert_allclose(ov, ref, rtol=1e-6, atol=1e-6)
        out.append(
            {"route": "geopandas.overlay + groupby", "seconds": t_overlay, "baseline": base}
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--overlay-limit", type=float, default=120.0)
    args = parser.parse_args()

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'parcels':>9}  {'route':<30} {'median s':>9}  {'× script':>8}  {'overlay ×':>9}")
    overlay_per_parcel, last_n = None, 0
    for n in args.sizes:
        city = gpd.read_parquet(cached_city(n))
        zones = synthetic_zones(n)  # 30 zones
        runs = interleaved(
            {
                "script": lambda c=city, z=zones: handwritten(c, z),
                "one": lambda c=city, z=zones: ours(c, z, 1),
                "pool": lambda c=city, z=zones: ours(c, z, 2),
            },
            args.repeat,
        )
        (t_script, ref), (t_one, one), (t_pool, pool) = runs.values()
        np.testing.assert_allclose(one, ref[:, 1:], rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(pool, ref[:, 1:], rtol=1e-9, atol=1e-6)

        estimate = None if overlay_per_parcel is None else overlay_per_parcel * n
        if estimate is not None and estimate > args.overlay_limit:
            t_overlay, note = estimate, f"(extrapolated from {last_n:,}; not run)"
        else:
            reps = 1 if n >= 500_000 else args.repeat
            t_overlay, ov = timed(lambda c=city, z=zones: overlay(c, z), reps)
            np.testing.assert_allclose(ov, ref, rtol=1e-6, atol=1e-6)
            note = f"(median of {reps})"
            overlay_per_parcel, last_n = t_overlay / n, n

        for route, t in (
            ("hand-written STRtree script", t_script),
            ("zone_stats (n_jobs=1, default)", t_one),
            ("zone_stats n_jobs=2", t_pool),
            ("geopandas.overlay + groupby", t_overlay),
        ):
            extra = f"  {note}" if route.startswith("geopandas") else ""
            print(
                f"{n:>9,}  {route:<30} {t:>9.3f}  {t / t_script:>8.2f}  "
                f"{t_overlay / t:>9.1f}{extra}",
                flush=True,
            )


if __name__ == "__main__":
    main()
