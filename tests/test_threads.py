"""
Stress test of every threaded route (issue 21): no crash, and results equal one thread's.

Each route runs many times in a subprocess with two threads and the thread thresholds
lowered to 1, so that small crafted data (wiggly zones, a sinuous buffer, overlapping
polygons) reach the thread pools; a crash (SIGSEGV, SIGABRT from a corrupted heap) shows as
the subprocess's return code instead of killing pytest. ``python tests/test_threads.py
--shared-prepared`` re-creates the bug (one prepared copy shared by all threads) to show the
test catches it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely

ROOT = Path(__file__).resolve().parents[1]
CRS = "EPSG:4548"
X0, Y0 = 480_000.0, 4_050_000.0


def crafted(n_side: int, seed: int = 0) -> dict[str, gpd.GeoDataFrame]:
    """Parcels on a jittered grid, 4 wiggly zones, a sinuous buffer, points, lines."""
    rng = np.random.default_rng(seed)
    cell = 40.0
    i, j = np.meshgrid(np.arange(n_side), np.arange(n_side))
    cx, cy = X0 + i.ravel() * cell, Y0 + j.ravel() * cell
    ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    r = cell * 0.45 * (0.8 + 0.2 * rng.random((len(cx), 12)))
    rings = np.stack([cx[:, None] + r * np.cos(ang), cy[:, None] + r * np.sin(ang)], axis=-1)
    parcels = gpd.GeoDataFrame(
        {
            "households": rng.integers(0, 50, len(cx)),
            "floor_area": rng.uniform(100, 5000, len(cx)).round(1),
            "category": rng.choice(["demolish", "unchanged", "retain_protect"], len(cx)),
        },
        geometry=shapely.polygons(rings),
        crs=CRS,
    )
    side = n_side * cell
    t = np.linspace(-cell, side + cell, 400)
    wig = 0.08 * side * np.sin(t / side * 9) + rng.normal(0, 2, len(t))
    mid = side / 2
    left = shapely.Polygon(np.r_[np.c_[mid + wig, t], [[-2 * cell, t[-1]], [-2 * cell, t[0]]]])
    left = shapely.transform(left, lambda c: c + np.array([X0, Y0]))
    frame = shapely.box(X0 - cell, Y0 - cell, X0 + side, Y0 + side)
    west = shapely.intersection(frame, left)
    east = shapely.difference(frame, left)
    lower = shapely.transform(
        shapely.Polygon(np.r_[np.c_[t, mid + wig[::-1]], [[side + cell, -cell], [-cell, -cell]]]),
        lambda c: c + np.array([X0, Y0]),
    )
    zones = [
        shapely.intersection(west, lower),
        shapely.difference(west, lower),
        shapely.intersection(east, lower),
        shapely.difference(east, lower),
    ]
    river = shapely.LineString(np.c_[t + X0, Y0 + mid * 0.6 + wig]).buffer(25, quad_segs=4)
    sites = shapely.points(rng.uniform([X0, Y0], [X0 + side, Y0 + side], (15, 2)))
    return {
        "parcels": parcels,
        "zones": gpd.GeoDataFrame({"zone": list("ABCD")}, geometry=zones, crs=CRS),
        "river": gpd.GeoDataFrame(geometry=[river, river.buffer(-10)], crs=CRS),
        "sites": gpd.GeoDataFrame(geometry=sites, crs=CRS),
        "lines": gpd.GeoDataFrame(geometry=[shapely.LineString(np.c_[t + X0, t + Y0])], crs=CRS),
    }


def routes(data: dict[str, gpd.GeoDataFrame], n_jobs: int) -> dict[str, np.ndarray]:
    """Every threaded route of the toolkit, as arrays."""
    from geo_renewal.spatial import distance_to, intersects, share_in
    from geo_renewal.stats import zone_stats
    from geo_renewal.validate import validate_layer

    p, z = data["parcels"], data["zones"]
    out: dict[str, np.ndarray] = {}
    for how in ("apportion", "largest", "centroid"):
        table = zone_stats(p, zones=z, zone_col="zone", how=how, n_jobs=n_jobs, policy=False)
        out[f"zone_stats {how}"] = table.to_numpy(dtype=float)
    out["share_in"] = share_in(p, data["river"], n_jobs=n_jobs).to_numpy()
    out["intersects"] = intersects(p, data["lines"], n_jobs=n_jobs).to_numpy()
    out["distance_to"] = distance_to(p, data["sites"], n_jobs=n_jobs).to_numpy()
    out["distance_to max"] = distance_to(p, data["sites"], max_dist=300, n_jobs=n_jobs).to_numpy()
    moved = p.iloc[:400].copy()
    moved.geometry = moved.geometry.translate(7, 3)
    overlapping = pd.concat([p.iloc[:400], moved], ignore_index=True)
    report = validate_layer(overlapping, kind="parcels", n_jobs=n_jobs)
    cols = ["row_a", "row_b", "overlap_m2", "share_of_smaller"]
    out["validate overlaps"] = report.overlaps[cols].to_numpy(dtype=float)
    assert len(report.overlaps) >= 400
    return out


def _lower_thresholds() -> None:
    import geo_renewal._geos
    import geo_renewal._overlaps
    import geo_renewal._stats_kernel
    import geo_renewal.spatial

    geo_renewal._geos._PAIRS_PER_THREAD = 1
    geo_renewal._overlaps._THREAD_MIN = 1
    geo_renewal._stats_kernel._THREAD_MIN_PAIRS = 1
    geo_renewal.spatial._THREAD_MIN_PARCELS = 1


def _share_prepared() -> None:
    """Re-create the bug of issue 21: one prepared copy, shared by every thread."""
    import geo_renewal._geos as geos

    cache: dict[int, np.ndarray] = {}
    original = geos.private_prepared

    def shared(geoms: np.ndarray) -> np.ndarray:
        key = id(geoms)
        if key not in cache:
            cache[key] = original(geoms)
        return cache[key]

    geos.private_prepared = shared


def stress(n_side: int, repeat: int, *, shared_prepared: bool = False) -> int:
    """Run every route `repeat` times on two threads; 0 if all equal the one-thread result."""
    _lower_thresholds()
    if shared_prepared:
        _share_prepared()
    data = crafted(n_side)
    want = routes(data, 1)
    for _ in range(repeat):
        got = routes(data, 2)
        for name, values in want.items():
            if not np.array_equal(got[name], values):
                print(f"{name}: the threaded result differs from one thread's", flush=True)
                return 1
    print("ok", flush=True)
    return 0


def _run(n_side: int, repeat: int) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys; sys.path.insert(0, 'tests'); import test_threads; "
        f"sys.exit(test_threads.stress({n_side}, {repeat}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=900
    )


def test_threaded_routes_equal_one_thread_and_never_crash():
    result = _run(n_side=40, repeat=15)
    assert result.returncode == 0, f"rc={result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.stdout.strip().endswith("ok")


@pytest.mark.slow
def test_threaded_routes_heavy():
    for _ in range(5):  # fresh processes: heap layouts differ
        result = _run(n_side=120, repeat=20)
        assert result.returncode == 0, f"rc={result.returncode}\n{result.stdout}\n{result.stderr}"


def test_crafted_zones_partition_the_frame():
    data = crafted(10)
    zones = data["zones"].geometry
    assert shapely.is_valid(zones.array).all()
    side = 10 * 40.0
    assert zones.area.sum() == pytest.approx((side + 40) ** 2, rel=1e-9)
    assert zones.get_coordinates().shape[0] > 400  # wiggly, not boxes


if __name__ == "__main__":
    sys.exit(stress(40, 30, shared_prepared="--shared-prepared" in sys.argv))


# ------------------------------------------------------------- the stress harness (benchmarks)


def _harness(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "benchmarks.stress_threads", "--folder", str(tmp_path), *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)


def _table(stdout: str) -> dict[str, list[int]]:
    """The harness's table: route -> [runs, ok, SIGSEGV, SIGABRT, other, exit, timeout, mismatch]."""
    rows = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 10 and parts[1].isdigit():
            rows[parts[0]] = [int(x) for x in parts[1:9]]
    return rows


@pytest.mark.slow
def test_stress_harness_counts_crashes_and_mismatches(tmp_path):
    result = _harness(
        tmp_path, "--n", "2000", "--runs", "2", "--routes", "selftest_abort", "selftest_mismatch"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    table = _table(result.stdout)
    assert table["selftest_abort"] == [2, 0, 0, 2, 0, 0, 0, 0]
    assert table["selftest_mismatch"] == [2, 0, 0, 0, 0, 0, 0, 2]


@pytest.mark.slow
def test_every_threaded_route_five_fresh_processes_equal_one_thread(tmp_path):
    # a small city of the benchmark (wiggly zones, river buffers, heritage, corridors, the
    # flood raster) with the thread thresholds lowered, so every pool runs; 5 fresh
    # processes per route, each result compared exactly with the single-threaded one
    result = _harness(tmp_path, "--n", "3000", "--runs", "5")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = _table(result.stdout)
    from benchmarks.stress_threads import ROUTES

    assert set(table) == set(ROUTES)
    assert all(row[:2] == [5, 5] for row in table.values()), table
