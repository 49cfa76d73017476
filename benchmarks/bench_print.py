"""
Benchmark: printed A0 classification maps against a plain ``GeoDataFrame.plot`` + ``savefig``.

For each size, the same parcels (synthetic city with a random ``category`` column; and the
sample district) are printed on A0 landscape

- by ``print_map(city, map="classification", paper="A0", landscape=True, out=...pdf)``: the
  full map frame (legend with counts and 公顷, scale bar, north arrow, notes), one compound
  path per class;
- by ``city.plot(column="category", categorical=True, legend=True)`` on an A0 figure saved
  with ``savefig(...pdf)``: geopandas' own static map (one path per parcel), no frame.

Reported per route: time to build and save the PDF, its size, and the time ``pdftoppm -r 72``
takes to render it (a viewer opening the sheet). Ratios are print_map ÷ plot (targets:
time ≤ 1, size ≤ 1/2; render of 100k < 10 s).

Run: ``.venv/bin/python -m benchmarks.bench_print [--sizes 10000 100000] [--repeat 1]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.synth import synthetic_city
from geo_renewal.schema import CATEGORIES


def city_with_categories(n: int) -> object:
    city = synthetic_city(n)
    rng = np.random.default_rng(42)
    city["category"] = rng.choice(list(CATEGORIES), size=n, p=[0.2, 0.3, 0.05, 0.05, 0.4])
    return city


def sample_parcels() -> object:
    """The sample district's classified parcels (the same layer for both routes)."""
    import warnings

    from geo_renewal.datasets import get_path
    from geo_renewal.workflow import compute_plan

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the sample's nearby-rate warning
        return compute_plan(get_path("sample_plan")).classified


def build_ours(city: object, path: Path) -> float:
    from geo_renewal.printmap import print_map

    t = time.perf_counter()
    print_map(city, map="classification", paper="A0", landscape=True, out=path, lang="zh")
    return time.perf_counter() - t


def build_plot(city: object, path: Path) -> float:
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    t = time.perf_counter()
    fig, ax = plt.subplots(figsize=(1189 / 25.4, 841 / 25.4))
    city.plot(
        column="category", categorical=True, legend=True, ax=ax, edgecolor="#555555", linewidth=0.1
    )
    fig.savefig(path)
    plt.close(fig)
    return time.perf_counter() - t


def render_s(path: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``pdftoppm -r 72 -png`` (CPU: the machine may be shared)."""
    import resource

    if shutil.which("pdftoppm") is None:
        return float("nan"), float("nan")
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(
        ["pdftoppm", "-r", "72", "-png", "-singlefile", str(path), str(path.with_suffix(""))],
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - t
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)


def _route(name: str, build: object, city: object, folder: Path, repeat: int) -> dict:
    path = folder / f"{name}.pdf"
    times = [build(city, path) for _ in range(repeat)]  # type: ignore[operator]
    wall, cpu = render_s(path)
    return {
        "route": name,
        "time_s": statistics.median(times),
        "mb": path.stat().st_size / 1e6,
        "render_s": wall,
        "render_cpu_s": cpu,
    }


def measure(n: int, repeat: int = 1, *, sample: bool = False) -> list[dict]:
    """Return one row per route: build + save seconds, PDF MB, pdftoppm -r 72 seconds."""
    city = sample_parcels() if sample else city_with_categories(n)
    with tempfile.TemporaryDirectory() as tmp:
        ours = _route("print_map", build_ours, city, Path(tmp), repeat)
        plain = _route("GeoDataFrame.plot", build_plot, city, Path(tmp), repeat)
    ours["time_ratio"] = ours["time_s"] / plain["time_s"]
    ours["size_ratio"] = ours["mb"] / plain["mb"]
    label = "sample" if sample else f"{len(city):,}"  # type: ignore[arg-type]
    return [{"parcels": label, **row} for row in (ours, plain)]


def figures(n: int, repeat: int = 1) -> list[dict]:
    """Rows for `python -m benchmarks` (GeoDataFrame.plot + savefig is the baseline)."""
    ours, plain = measure(n, repeat)
    base = "GeoDataFrame.plot build+save"
    rbase = "GeoDataFrame.plot pdftoppm -r 72 (CPU)"
    return [
        {"route": base, "seconds": plain["time_s"], "baseline": None, "mb": plain["mb"]},
        {
            "route": "print_map build+save",
            "seconds": ours["time_s"],
            "baseline": base,
            "mb": ours["mb"],
            "size_ratio": ours["size_ratio"],
        },
        {"route": rbase, "seconds": plain["render_cpu_s"], "baseline": None},
        {
            "route": "print_map pdftoppm -r 72 (CPU)",
            "seconds": ours["render_cpu_s"],
            "baseline": rbase,
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    rows = measure(0, args.repeat, sample=True)
    for n in args.sizes:
        rows += measure(n, args.repeat)
    print(
        f"{'parcels':>9} {'route':<18} {'time s':>7} {'PDF MB':>7} {'render s':>8} {'cpu s':>6} {'t ratio':>7} {'MB ratio':>8}"
    )
    for r in rows:
        ratio = f"{r['time_ratio']:7.2f} {r['size_ratio']:8.2f}" if "time_ratio" in r else ""
        print(
            f"{r['parcels']:>9} {r['route']:<18} {r['time_s']:7.2f} {r['mb']:7.2f} {r['render_s']:8.2f} {r['render_cpu_s']:6.2f} {ratio}"
        )


if __name__ == "__main__":
    main()
