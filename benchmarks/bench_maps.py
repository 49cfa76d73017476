"""
Benchmark: meeting maps of synthetic parcels against ``GeoDataFrame.explore()``.

For each size, the same parcels (synthetic city with a random ``category`` column) are drawn

- by ``renewal_map(city, tiles="none")`` saved with ``save_map(offline=True)``;
- by ``city.explore(column="category", categorical=True, tiles=None)`` — geopandas' own
  interactive map (every column in the tooltip, a per-feature style function) — saved with
  folium and its CDN scripts inlined from folium-offline, so both files open without network.

Reported per route: Python build + save time, HTML size, and the time headless Chromium takes
from navigation start to the window load event plus two animation frames (the map's load
event has fired and one frame with every feature has been drawn), median of ``--repeat``
(``explore()`` above 10k parcels: one run, it takes minutes).
The ratios are renewal_map ÷ explore (targets at 100k: size ≤ 1/3, load ≤ 1/2).

Run: ``.venv/bin/python -m benchmarks.bench_maps [--sizes 1000 10000 100000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.synth import synthetic_city
from geo_renewal.maps import _inline_assets, renewal_map, save_map
from geo_renewal.schema import CATEGORIES
from tests.browser import open_in_chromium


def city_with_categories(n: int) -> object:
    city = synthetic_city(n)
    rng = np.random.default_rng(42)
    city["category"] = rng.choice(list(CATEGORIES), size=n, p=[0.2, 0.3, 0.05, 0.05, 0.4])
    city["reason"] = np.where(city["category"] == "demolish", "危房等级 C/D", "—")
    return city


def build_ours(city: object, path: Path) -> float:
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the big-layer warning is expected
        m = renewal_map(city, tiles="none", title="基准测试")
    save_map(m, path, offline=True)
    return time.perf_counter() - t


def build_explore(city: object, path: Path) -> float:
    t = time.perf_counter()
    m = city.explore(column="category", categorical=True, tiles=None)
    # folium-offline ships jQuery UI 1.10.2, not the 1.12.1 that explore's legend links
    page = (
        m.get_root()
        .render()
        .replace(
            "https://code.jquery.com/ui/1.12.1/jquery-ui.js",
            "https://cdnjs.cloudflare.com/ajax/libs/jqueryui/1.10.2/jquery-ui.min.js",
        )
    )
    page = _inline_assets(page)
    path.write_text(page, encoding="utf-8")
    return time.perf_counter() - t


def load_ms(path: Path, repeat: int) -> tuple[float, list[str]]:
    times, errors = [], []
    for _ in range(repeat):
        res = open_in_chromium(path, screenshot=False, timeout_s=900)
        times.append(res.load_ms)
        errors = res.errors
    return statistics.median(times), errors


def figures(n: int, repeat: int = 3) -> list[dict]:
    """Build and Chromium load times for `python -m benchmarks` (explore() is the baseline)."""
    out = Path(tempfile.mkdtemp(prefix="bench-maps-"))
    city = city_with_categories(n)
    rows = {}
    for route, build in (("renewal_map", build_ours), ("explore", build_explore)):
        path = out / f"{route}_{n}.html"
        build_s = statistics.median(build(city, path) for _ in range(1 if n > 10_000 else repeat))
        size = path.stat().st_size / 1e6
        load, _ = load_ms(path, repeat if route == "renewal_map" or n <= 10_000 else 1)
        rows[route] = (build_s, size, load / 1000)
        path.unlink()
    out.rmdir()
    (b_build, b_size, b_load), (o_build, o_size, o_load) = rows["explore"], rows["renewal_map"]
    return [
        {"route": "explore() build+save", "seconds": b_build, "baseline": None, "mb": b_size},
        {
            "route": "renewal_map build+save",
            "seconds": o_build,
            "baseline": "explore() build+save",
            "mb": o_size,
            "size_ratio": o_size / b_size,
        },
        {"route": "explore() Chromium load", "seconds": b_load, "baseline": None},
        {
            "route": "renewal_map Chromium load",
            "seconds": o_load,
            "baseline": "explore() Chromium load",
        },
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="bench-maps-"))
    print(f"{'parcels':>8} {'route':>12} {'build s':>8} {'size MB':>8} {'load s':>8}")
    for n in args.sizes:
        city = city_with_categories(n)
        rows = {}
        for route, build in (("renewal_map", build_ours), ("explore", build_explore)):
            path = out / f"{route}_{n}.html"
            build_s = statistics.median(build(city, path) for _ in range(1 if n > 10_000 else 3))
            size = path.stat().st_size / 1e6
            # explore() of 100k parcels loads for minutes: time it once at that size
            repeat = args.repeat if route == "renewal_map" or n <= 10_000 else 1
            load, errors = load_ms(path, repeat)
            rows[route] = (build_s, size, load / 1000)
            flag = f"  console errors: {errors[:2]}" if errors else ""
            print(f"{n:>8} {route:>12} {build_s:>8.2f} {size:>8.2f} {load / 1000:>8.2f}{flag}")
        ours, base = rows["renewal_map"], rows["explore"]
        print(
            f"{n:>8} {'ratio':>12} {ours[0] / base[0]:>8.2f} {ours[1] / base[1]:>8.3f} "
            f"{ours[2] / base[2]:>8.3f}"
        )
    print(f"files in {out}")


if __name__ == "__main__":
    main()
