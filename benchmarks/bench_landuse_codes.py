"""
Time reading a 三调 layer: `read_layer(kind="parcels")` with DLBM/DLMC codes recognised.

    .venv/bin/python -m benchmarks.bench_landuse_codes [--sizes 10000 100000] [--repeat 3]

For each size a GeoParquet layer of n square parcels carries real 三调 codes and names
(DLBM/DLMC, 0.1 % typos) and the same columns under headers the reader does not know. The
baseline is `read_layer(kind="parcels")` of the layer whose code columns are not recognised
(same bytes, other headers); the runs alternate so both see the same machine load. Prints the
median of `repeat` runs and the ratio: the cost of the codes on read (target ≤ 1.3×).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

import geopandas as gpd
import shapely

from geo_renewal.io import read_layer
from geo_renewal.landuse_codes import code_tables


def _time(func: Callable[[], object]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    func()
    return time.perf_counter() - t0


def _layers(n: int, folder: Path) -> tuple[Path, Path]:
    """Write the coded layer and its twin with unknown headers; return both paths."""
    rng = np.random.default_rng(19)
    table = code_tables()["gbt21010"]
    codes = rng.choice([c for c, e in table.codes.items() if e.level >= 2], size=n)
    codes[rng.random(n) < 0.001] = "07O2"
    names = [table.codes[c].name_zh if c in table.codes else "" for c in codes]
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x, y = 500_000 + (i % side) * 60.0, 4_063_000 + (i // side) * 60.0
    gdf = gpd.GeoDataFrame(
        {"BSM": [str(v) for v in i], "DLBM": codes, "DLMC": names},
        geometry=shapely.box(x, y, x + 50, y + 50),
        crs="EPSG:4548",
    )
    coded, plain = folder / f"dltb_{n}.parquet", folder / f"plain_{n}.parquet"
    gdf.to_parquet(coded)
    gdf.rename(columns={"DLBM": "code_x", "DLMC": "name_x", "BSM": "parcel_id"}).to_parquet(plain)
    return coded, plain


def figures(n: int, repeat: int = 3) -> list[dict]:
    """Medians of one size for `python -m benchmarks`: codes recognised against not."""
    ((_, base, ours),) = bench([n], repeat)
    return [
        {"route": "read_layer, codes not recognised", "seconds": base, "baseline": None},
        {
            "route": "read_layer, DLBM/DLMC recognised",
            "seconds": ours,
            "baseline": "read_layer, codes not recognised",
        },
    ]


def bench(sizes: list[int], repeat: int) -> list[tuple[int, float, float]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            coded, plain = _layers(n, Path(tmp))

            def baseline(path=plain):
                return read_layer(path, kind="parcels")

            def ours(path=coded):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # the typos' findings
                    return read_layer(path, kind="parcels")

            ours()  # warm up (the code tables, pyproj) outside the timing
            baseline()
            base_t, ours_t = [], []
            for _ in range(repeat):
                base_t.append(_time(baseline))
                ours_t.append(_time(ours))
            b, o = statistics.median(base_t), statistics.median(ours_t)
            rows.append((n, b, o))
            print(
                f"{n:>9,d}  not recognised {b:7.3f} s  recognised {o:7.3f} s  ratio {o / b:5.2f}×"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bench(args.sizes, args.repeat)


if __name__ == "__main__":
    main()
