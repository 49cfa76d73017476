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

A whole city (``--city``, e.g. ``--city --sizes 100000 1000000``): ``renewal_map`` with the
overview (grid of the dominant class when zoomed out, parcels in compressed chunks decoded
when zoomed in; the default from ``settings.map_overview_min_parcels``) against
``overview=False`` (every parcel drawn at every zoom: the route before issue 21) in the same
run — HTML size, build + save time, first paint (load event + two frames, as above, at
1600 × 1000) and, for the overview, the time from zooming in to the switch zoom + 1 at the
centre until every chunk in view is decoded and drawn. Targets at 1M: size ≤ ½, first paint
< 3 s.

Run: ``.venv/bin/python -m benchmarks.bench_maps [--sizes 1000 10000 100000] [--repeat 3]
[--city] [--build]``; ``--build``: the build + save times of ``--city`` alone, the two routes
alternating, wall and CPU time (no browser).
"""

from __future__ import annotations

import argparse
import os
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


def build_ours(city: object, path: Path, overview: bool | None = None) -> float:
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the big-layer warning is expected
        m = renewal_map(city, tiles="none", title="基准测试", overview=overview)
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


def figures(n: int, repeat: int = 3, *, city: bool = False) -> list[dict]:
    """
    Build and Chromium load times for `python -m benchmarks` (explore() is the baseline).

    With `city`, `city_figures`: the overview against every parcel drawn, first paint.
    """
    if city:
        return city_figures(n, repeat)
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


_ZOOM_IN_JS = """() => {
  const m = Object.values(window).find(v => v instanceof L.Map);
  const e = geoRenewal.layers.find(x => x.chunks);
  const t0 = performance.now();
  m.setZoom(Math.ceil(e.spec.zr[0]) + 1, {animate: false});
  return new Promise(done => {
    const poll = () => geoRenewal.pending() === 0 ? requestAnimationFrame(() => done({
      ms: performance.now() - t0,
      chunks: geoRenewal.layers.reduce((a, x) => a + (x.paths ? x.paths.length : 0), 0),
      parcels: geoRenewal.layers.reduce((a, x) => a + (x.paths ? x.paths.reduce(
        (b, p) => b + p._nf, 0) : 0), 0)})) : setTimeout(poll, 20);
    setTimeout(poll, 20);
  });
}"""


def zoom_in(path: Path) -> dict:
    """Open an overview map, zoom in past the switch zoom; time until the parcels are drawn."""
    out: dict = {}

    def act(page: object) -> None:
        out.update(page.evaluate(_ZOOM_IN_JS))  # type: ignore[attr-defined]

    res = open_in_chromium(
        path, actions=act, viewport=(1600, 1000), screenshot=False, timeout_s=900
    )
    out["errors"] = res.errors
    return out


def city_figures(n: int, repeat: int = 3, out: Path | None = None) -> list[dict]:
    """A whole city: the overview against ``overview=False`` (today's route) in one run."""
    out = out or Path(tempfile.mkdtemp(prefix="bench-maps-"))
    city = city_with_categories(n)
    rows = {}
    for route, flag in (("overview", True), ("every parcel (overview=False)", False)):
        path = out / f"city_{n}_{int(flag)}.html"
        build_s = build_ours(city, path, overview=flag)
        size = path.stat().st_size / 1e6
        times, errors = [], []
        for _ in range(repeat):
            res = open_in_chromium(path, screenshot=False, viewport=(1600, 1000), timeout_s=900)
            times.append(res.load_ms / 1000)
            errors = res.errors
        rows[route] = {"build": build_s, "mb": size, "paint": statistics.median(times)}
        if flag:
            rows[route]["zoom"] = zoom_in(path)
        if errors:
            print(f"  console errors ({route}): {errors[:2]}")
        path.unlink()
    base, ours = rows["every parcel (overview=False)"], rows["overview"]
    z = ours["zoom"]
    print(
        f"{n:>9,} parcels   {'build s':>8} {'size MB':>8} {'1st paint s':>12}\n"
        f"  every parcel   {base['build']:>8.1f} {base['mb']:>8.1f} {base['paint']:>12.2f}\n"
        f"  overview       {ours['build']:>8.1f} {ours['mb']:>8.1f} {ours['paint']:>12.2f}\n"
        f"  ratio          {ours['build'] / base['build']:>8.2f} {ours['mb'] / base['mb']:>8.3f} "
        f"{ours['paint'] / base['paint']:>12.3f}\n"
        f"  zoomed in: {z.get('chunks')} chunks, {z.get('parcels', 0):,} parcels decoded and "
        f"drawn in {z.get('ms', float('nan')) / 1000:.2f} s {z.get('errors') or ''}"
    )
    return [
        {"route": "renewal_map every parcel", "seconds": base["paint"], "baseline": None,
         "mb": base["mb"]},
        {"route": "renewal_map overview", "seconds": ours["paint"],
         "baseline": "renewal_map every parcel", "mb": ours["mb"],
         "size_ratio": ours["mb"] / base["mb"]},
    ]  # fmt: skip


def build_figures(n: int, repeat: int = 3, out: Path | None = None) -> dict[str, dict]:
    """
    Build + save time of a whole city with and without the overview, alternating in one run.

    The two routes take turns (on, off, on, off, …) so that a change of the machine's load
    hits both alike; medians of `repeat` of wall time, of CPU time (the process's, all
    threads) and of the main thread's CPU time (what the build takes on two free cores,
    the second thread keeping up; on a loaded machine the steadiest figure), and the sizes.
    """
    out = out or Path(tempfile.mkdtemp(prefix="bench-maps-"))
    for flag in (True, False):  # warm up (imports, templates) before either route is timed
        build_ours(city_with_categories(2_000), out / "warm.html", overview=flag)
    city = city_with_categories(n)
    runs: dict[str, dict[str, list[float]]] = {}
    for _ in range(repeat):
        for route, flag in (("overview", True), ("every parcel", False)):
            path = out / f"build_{n}_{int(flag)}.html"
            cpu, main = time.process_time(), time.thread_time()
            wall = build_ours(city, path, overview=flag)
            cpu, main = time.process_time() - cpu, time.thread_time() - main
            r = runs.setdefault(route, {"wall": [], "cpu": [], "main": [], "mb": []})
            r["wall"].append(wall)
            r["cpu"].append(cpu)
            r["main"].append(main)
            r["mb"].append(path.stat().st_size / 1e6)
            path.unlink()
    med = {k: {m: statistics.median(v) for m, v in r.items()} for k, r in runs.items()}
    on, off = med["overview"], med["every parcel"]
    print(
        f"{n:>9,} parcels, build + save, medians of {repeat} (alternating)\n"
        f"  {'':<14}{'wall s':>8}{'CPU s':>8}{'main s':>8}{'MB':>8}\n"
        + "".join(
            f"  {name:<14}{r['wall']:>8.1f}{r['cpu']:>8.1f}{r['main']:>8.1f}{r['mb']:>8.1f}\n"
            for name, r in (("every parcel", off), ("overview", on))
        )
        + f"  {'ratio':<14}"
        + "".join(
            f"{on[k] / off[k]:>8.{3 if k == 'mb' else 2}f}" for k in ("wall", "cpu", "main", "mb")
        )
        + f"   load average {os.getloadavg()[0]:.1f}"
    )
    return med


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--city", action="store_true", help="overview against every parcel")
    ap.add_argument("--build", action="store_true", help="--city's build times only (no browser)")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="bench-maps-"))
    if args.build:
        for n in args.sizes:
            build_figures(n, args.repeat, out)
        return
    if args.city:
        print("first paint: load event + two frames in headless Chromium, 1600 × 1000, median")
        for n in args.sizes:
            city_figures(n, args.repeat, out)
        return
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
