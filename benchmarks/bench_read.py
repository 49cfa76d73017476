"""
Time `read_layer(kind="parcels")` against a plain geopandas read of the same file.

    .venv/bin/python -m benchmarks.bench_read [--sizes 10000 100000 1000000] [--repeat 3]

For each size the synthetic city (benchmarks.synth.cached_city) is read from a GeoPackage
and from GeoParquet. The baseline is ``geopandas.read_file(engine="pyogrio", use_arrow=True)``
and ``geopandas.read_parquet``; the runs alternate (baseline, read_layer) so both see the
same machine load. Prints the median of `repeat` runs and the ratio; target ≤ 1.2×.
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
    return out


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
    worst = max(o / b for _, _, b, o in rows)
    print(f"worst ratio {worst:.2f}× (target ≤ 1.20×)")


if __name__ == "__main__":
    main()
