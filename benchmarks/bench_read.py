"""
Time `read_layer(kind="parcels")` against a plain geopandas read of the same file.

    .venv/bin/python -m benchmarks.bench_read [--sizes 10000 100000 1000000] [--repeat 3]

For each size the synthetic city (benchmarks.synth.cached_city) is read from a GeoPackage
and from GeoParquet. The baseline is ``geopandas.read_file(engine="pyogrio", use_arrow=True)``
and ``geopandas.read_parquet``; the runs alternate (baseline, read_layer) so both see the
same machine load. Prints the median of `repeat` runs and the ratio; target ≤ 1.2×.

GeoParquet also on one thread (``n_jobs=1``), and writing: `write_layer` (atomic, two
threads) against ``GeoDataFrame.to_parquet`` and the one-thread `write_layer` (issue 21:
target ≤ 1.0× geopandas for both read and write).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable

import geopandas as gpd

from benchmarks.synth import cached_city
from geo_renewal.io import read_layer


def _time(func: Callable[[], object]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    func()
    return time.perf_counter() - t0


def figures(n: int, repeat: int = 3) -> list[dict]:
    """Medians of one size for `python -m benchmarks`: read_layer against plain geopandas."""
    out = []
    for fmt, _, base, ours in bench([n], repeat):
        out.append({"route": f"geopandas read {fmt}", "seconds": base, "baseline": None})
        out.append(
            {"route": f"read_layer {fmt}", "seconds": ours, "baseline": f"geopandas read {fmt}"}
        )
    for route, seconds in parquet_threads(n, repeat).items():
        base = _baseline_of(route)
        out.append(
            {"route": route, "seconds": seconds, "baseline": None if route == base else base}
        )
    return out


def _baseline_of(route: str) -> str:
    reads = route.startswith(("geopandas read", "read_layer"))
    return "geopandas read parquet" if reads else "geopandas to_parquet"


def parquet_threads(n: int, repeat: int) -> dict[str, float]:
    """Medians of GeoParquet read and write: geopandas, geo_renewal on 1 and 2 threads."""
    import tempfile
    from pathlib import Path

    from geo_renewal.io import write_layer

    path = cached_city(n, fmt="parquet")
    gdf = gpd.read_parquet(path)
    out = Path(tempfile.mkdtemp(prefix="bench-read-")) / "out.parquet"
    routes: dict[str, Callable[[], object]] = {
        "geopandas read parquet": lambda: gpd.read_parquet(path),
        "read_layer parquet, 1 thread": lambda: read_layer(path, n_jobs=1),
        "read_layer parquet, 2 threads": lambda: read_layer(path, n_jobs=2),
        "geopandas to_parquet": lambda: gdf.to_parquet(out),
        "write_layer parquet, 1 thread": lambda: write_layer(gdf, out, n_jobs=1),
        "write_layer parquet, 2 threads": lambda: write_layer(gdf, out, n_jobs=2),
    }
    times: dict[str, list[float]] = {r: [] for r in routes}
    for _ in range(repeat):
        for route, func in routes.items():
            times[route].append(_time(func))
    medians = {r: statistics.median(t) for r, t in times.items()}
    for r, t in medians.items():
        base = medians[_baseline_of(r)]
        print(f"{n:>9,d}  {r:<32s} {t:7.3f} s  ratio {t / base:5.2f}×")
    out.unlink(missing_ok=True)
    out.parent.rmdir()
    return medians


def bench(sizes: list[int], repeat: int) -> list[tuple[str, int, float, float]]:
    rows = []
    for n in sizes:
        for fmt in ("gpkg", "parquet"):
            path = cached_city(n, fmt=fmt)
            if fmt == "gpkg":

                def baseline(path=path):
                    return gpd.read_file(path, engine="pyogrio", use_arrow=True)
            else:

                def baseline(path=path):
                    return gpd.read_parquet(path)

            def ours(path=path):
                return read_layer(path, kind="parcels")

            ours()  # warm up caches (pyproj database, imports) outside the timing
            base_t, ours_t = [], []
            for _ in range(repeat):
                base_t.append(_time(baseline))
                ours_t.append(_time(ours))
            b, o = statistics.median(base_t), statistics.median(ours_t)
            rows.append((fmt, n, b, o))
            print(
                f"{fmt:8s} {n:>9,d}  plain {b:7.3f} s  read_layer {o:7.3f} s  ratio {o / b:5.2f}×"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = bench(args.sizes, args.repeat)
    for n in args.sizes:
        parquet_threads(n, args.repeat)
    worst = max(o / b for _, _, b, o in rows)
    print(f"worst ratio {worst:.2f}× (target ≤ 1.20×)")


if __name__ == "__main__":
    main()
