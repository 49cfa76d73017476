"""
Benchmark: validate_layer on synthetic cities of touching parcels.

Layers: a cadastral-like tiling (jittered grid quadrilaterals sharing their edges, the
hard case for overlap detection: every parcel touches 8 neighbours) with canonical
attribute columns from `benchmarks.synth.synthetic_city`, 0.1 % of the parcels shifted
by half a cell (overlaps) and 0.1 % made invalid (bow-ties); districts are
`synthetic_zones`.

Routes timed in the same run (medians of ``--repeat``):

- ``validate_layer(parcels, kind="parcels", districts=zones)`` — every check;
- baseline: the minimum a hand-written script does — ``is_valid`` on all geometries and
  ``duplicated`` on the ids (no repair, no overlaps, no districts);
- overlap search alone, ours (STRtree ``intersects`` query with polygons shrunk by 1 mm,
  exact areas on candidates) against the textbook STRtree query with predicates
  ``overlaps`` + ``contains`` (up to ``--textbook-limit`` parcels; it is ~20× slower).

Run: ``.venv/bin/python -m benchmarks.bench_validate [--sizes 10000 100000 1000000]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import geopandas as gpd
import shapely

from benchmarks.synth import CRS, X0, Y0, synthetic_city, synthetic_zones
from geo_renewal._overlaps import _shrink
from geo_renewal.validate import validate_layer

CELL = 40.0


def tiled_city(n: int, *, seed: int = 0) -> gpd.GeoDataFrame:
    """`n` touching quadrilateral parcels (shared edges) with the synthetic city's columns."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    gx = X0 + np.arange(side + 1) * CELL
    nodes_x = gx[:, None] + rng.uniform(-6, 6, (side + 1, side + 1))
    nodes_y = Y0 + np.arange(side + 1)[None, :] * CELL + rng.uniform(-6, 6, (side + 1, side + 1))
    i, j = np.divmod(np.arange(n), side)
    corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1), (i, j)]
    coords = np.stack([np.stack([nodes_x[a, b], nodes_y[a, b]], axis=-1) for a, b in corners], 1)
    geoms = shapely.polygons(coords)
    k = max(1, n // 1000)
    shifted = rng.choice(n, k, replace=False)
    geoms[shifted] = shapely.transform(geoms[shifted], lambda c: c + np.array([CELL / 2, 0.0]))
    bad = rng.choice(n, k, replace=False)
    c = shapely.get_coordinates(geoms[bad]).reshape(k, 5, 2)
    c[:, [1, 2]] = c[:, [2, 1]]  # swap two corners: a bow-tie
    geoms[bad] = shapely.polygons(c)
    attrs = synthetic_city(n, seed=seed).drop(columns="geometry")
    return gpd.GeoDataFrame(attrs, geometry=geoms, crs=CRS)


def baseline(parcels: gpd.GeoDataFrame) -> tuple[int, int]:
    """The hand-written minimum: invalid geometries and duplicate ids."""
    return int((~parcels.geometry.is_valid).sum()), int(parcels["parcel_id"].duplicated().sum())


def overlaps_ours(geoms: np.ndarray) -> int:
    tree = shapely.STRtree(geoms)
    a, b = tree.query(_shrink(geoms, 0.001), predicate="intersects")
    keep = a < b
    area = shapely.area(shapely.intersection(geoms[a[keep]], geoms[b[keep]]))
    return int((area > 1.0).sum())


def overlaps_textbook(geoms: np.ndarray) -> int:
    tree = shapely.STRtree(geoms)
    a1, b1 = tree.query(geoms, predicate="overlaps")
    a2, b2 = tree.query(geoms, predicate="contains")
    a, b = np.concatenate([a1, a2]), np.concatenate([b1, b2])
    keep = a != b
    pairs = np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)], 1)[keep], axis=0)
    area = shapely.area(shapely.intersection(geoms[pairs[:, 0]], geoms[pairs[:, 1]]))
    return int((area > 1.0).sum())


def median_time(func, *args, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = func(*args)
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def figures(n: int, repeat: int = 3, textbook_limit: int = 100_000) -> list[dict]:
    """Medians of one size for `python -m benchmarks`."""
    parcels = tiled_city(n)
    zones = synthetic_zones(n)
    t_val, report = median_time(
        lambda p=parcels, z=zones: validate_layer(p, kind="parcels", districts=z), repeat=repeat
    )
    t_base, _ = median_time(baseline, parcels, repeat=repeat)
    geoms = np.asarray(report.layer.geometry.array)
    t_ours, n_ours = median_time(overlaps_ours, geoms, repeat=repeat)
    assert len(report.overlaps) == n_ours
    out = [
        {"route": "is_valid + duplicated (minimum)", "seconds": t_base, "baseline": None},
        {
            "route": "validate_layer",
            "seconds": t_val,
            "baseline": "is_valid + duplicated (minimum)",
            "findings": len(report.findings),
        },
    ]
    if n <= textbook_limit:
        t_text, n_text = median_time(overlaps_textbook, geoms, repeat=1)
        assert n_text == n_ours, (n_text, n_ours)
        out.append({"route": "overlaps: textbook STRtree", "seconds": t_text, "baseline": None})
        out.append(
            {
                "route": "overlaps: ours",
                "seconds": t_ours,
                "baseline": "overlaps: textbook STRtree",
            }
        )
    else:
        out.append({"route": "overlaps: ours", "seconds": t_ours, "baseline": None})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--textbook-limit", type=int, default=100_000)
    args = ap.parse_args()
    print(
        f"{'n':>9} {'validate s':>10} {'baseline s':>10} {'ratio':>6} "
        f"{'overlap ours s':>14} {'textbook s':>10} {'speed-up':>8} {'findings':>8}"
    )
    for n in args.sizes:
        parcels = tiled_city(n)
        zones = synthetic_zones(n)
        repeat = args.repeat if n < 1_000_000 else 1
        t_val, report = median_time(
            lambda p=parcels, z=zones: validate_layer(p, kind="parcels", districts=z),
            repeat=repeat,
        )
        t_base, _ = median_time(baseline, parcels, repeat=repeat)
        geoms = np.asarray(report.layer.geometry.array)
        t_ours, n_ours = median_time(overlaps_ours, geoms, repeat=repeat)
        if n <= args.textbook_limit:
            t_text, n_text = median_time(overlaps_textbook, geoms, repeat=1)
            assert n_text == n_ours, (n_text, n_ours)
            text = f"{t_text:10.2f} {t_text / t_ours:7.1f}x"
        else:
            text = f"{'-':>10} {'-':>8}"
        assert len(report.overlaps) == n_ours
        print(
            f"{n:9d} {t_val:10.2f} {t_base:10.2f} {t_val / t_base:5.1f}x "
            f"{t_ours:14.2f} {text} {len(report.findings):8d}",
            flush=True,
        )


if __name__ == "__main__":
    main()
