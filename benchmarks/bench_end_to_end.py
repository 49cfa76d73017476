"""
Benchmark: the job of issue 21 end to end on a city like a real one (`benchmarks.city`).

The job: read the parcels (GeoParquet) → classify (heritage ``intersects``, river-buffer
``share_in``, view corridor × floors, flood share above 0.5 m × build year, distance to the
nearest resettlement site, column rules) → area-apportioned households, floor area and land
per zone (30 wiggly zones) → write the classified parcels (GeoParquet) and the table (CSV).

Routes, each run in a fresh process (medians of ``--repeat`` processes, per step):

- ``geo_renewal``: `read_layer` → `classify_parcels` → `zone_stats` → `write_layer` +
  `write_table`, in memory, threads as `settings.n_jobs` says (default: the cores);
- ``geo_renewal 1 thread``: the same with ``settings.n_jobs = 1``;
- ``geo_renewal dask``: the same on `dask_client(workers=2)`, the cluster start included
  (its own step); classify, statistics and the partitions' files in one pass
  (`write_with_stats`: each partition classified once, written by its worker and summed;
  the ``classify`` column holds the three);
- ``geo_renewal dask threads``: the same on dask's threaded scheduler (`dask_client()`
  starts nothing): no worker processes to start, import and feed;
- ``hand-written``: THE BASELINE, the best single-threaded shapely 2 / STRtree script of the
  same job: reversed prepared queries, straddler trick (``contains_properly`` with prepared
  polygons, exact ``intersection`` only for straddlers), the river buffers cut into 500 m
  tiles, a reversed ``dwithin`` for the sites, pixel centres tested with a vectorised
  ``contains_xy`` + ``bincount`` for the flood (not ``rasterize``, which loops in Python);
- ``naive geopandas``: ``sjoin``, ``overlay`` + groupby, ``sjoin_nearest``, GeoPackage
  output (only up to ``--naive-max`` parcels).

Every route's categories (per parcel) and households, floor area per zone are checked
against the baseline's before the table is printed (households to 1e-9 relative).
Run: ``.venv/bin/python -m benchmarks.bench_end_to_end [--sizes 100000 1000000]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.city import cached_real_city, partitioned_parcels
from benchmarks.synth import CACHE

ROUTES = ("hand-written", "geo_renewal", "geo_renewal 1 thread", "geo_renewal dask",
          "geo_renewal dask threads", "naive")  # fmt: skip
#: The dask routes and the in-memory route their totals are compared with (issue 21: ≤ 0.9×).
DASK_ROUTES = ("geo_renewal dask", "geo_renewal dask threads")
IN_MEMORY = "geo_renewal"
BASELINE = "hand-written"
STEPS = ("cluster", "read", "classify", "stats", "write")
TILE = 500.0  # metres: the hand-written script's tiles of the river buffers

RULES = """
name = "end_to_end"
description = "the job of benchmarks/bench_end_to_end.py"
language = "zh"
default = "unchanged"
default_reason_zh = "未命中任何规则"
default_reason_en = "No rule matched"

[[rules]]
id = "heritage"
category = "retain_protect"
force = true
when = 'intersects("heritage")'
reason_zh = "历史风貌区"
reason_en = "Heritage area"

[[rules]]
id = "river"
category = "demolish"
when = 'share_in("river_buffer") > 0.3'
reason_zh = "河道蓝线内"
reason_en = "Inside the river blue line"

[[rules]]
id = "corridor"
category = "demolish"
when = 'intersects("view_corridor") and floors > 18'
reason_zh = "视廊内高层"
reason_en = "Tall building in a view corridor"

[[rules]]
id = "flood"
category = "demolish"
when = 'build_year < 1980 and raster_share_above("flood_depth", 0.5) > 0.5'
reason_zh = "内涝高风险老旧建筑"
reason_en = "Old building at high flood risk"

[[rules]]
id = "danger"
category = "demolish"
when = 'danger_grade in ["D"]'
reason_zh = "D级危房"
reason_en = "Danger grade D"

[[rules]]
id = "site"
category = "resettlement_site"
when = 'land_use == "vacant" and distance_to("sites") < 800'
reason_zh = "近安置点空地"
reason_en = "Vacant land near a resettlement site"

[[rules]]
id = "old"
category = "retain_upgrade"
when = 'land_use == "residential" and build_year <= 2000'
reason_zh = "老旧小区"
reason_en = "Old residential estate"
"""
CATS = np.array(["retain_protect", "demolish", "demolish", "demolish", "demolish",
                 "resettlement_site", "retain_upgrade", "unchanged"])  # fmt: skip


# ------------------------------------------------------------------ the hand-written script


def _tiles(poly: Any, size: float) -> np.ndarray:
    import shapely

    x0, y0, x1, y1 = poly.bounds
    out = []
    for x in np.arange(x0, x1, size):
        for y in np.arange(y0, y1, size):
            piece = shapely.clip_by_rect(poly, x, y, x + size, y + size)
            if not shapely.is_valid(piece):
                piece = shapely.intersection(poly, shapely.box(x, y, x + size, y + size))
            out.extend(p for p in shapely.get_parts(piece) if p.geom_type == "Polygon")
    return np.array(out, dtype=object)


def _cells(g: np.ndarray, tr: Any, shape: tuple[int, int], touched: bool) -> tuple:
    """(parcel, row, col) of the pixels in each box: centres inside it, or every cell it meets."""
    import shapely

    b = shapely.bounds(g)
    c0, c1 = (b[:, 0] - tr.c) / tr.a, (b[:, 2] - tr.c) / tr.a
    r0, r1 = (b[:, 3] - tr.f) / tr.e, (b[:, 1] - tr.f) / tr.e
    if touched:
        c0, c1, r0, r1 = np.floor(c0), np.floor(c1), np.floor(r0), np.floor(r1)
    else:
        c0, c1 = np.ceil(c0 - 0.5), np.floor(c1 - 0.5)
        r0, r1 = np.ceil(r0 - 0.5), np.floor(r1 - 0.5)
    h, w = shape
    c0, c1 = np.clip(c0, 0, w - 1).astype(np.int64), np.clip(c1, -1, w - 1).astype(np.int64)
    r0, r1 = np.clip(r0, 0, h - 1).astype(np.int64), np.clip(r1, -1, h - 1).astype(np.int64)
    nc, nr = np.maximum(c1 - c0 + 1, 0), np.maximum(r1 - r0 + 1, 0)
    k = nc * nr
    p = np.repeat(np.arange(len(g)), k)
    j = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
    return p, r0[p] + j // nc[p], c0[p] + j % nc[p]


def _flood_share(g: np.ndarray, tif: Path) -> np.ndarray:
    """
    Share of each polygon's pixels deeper than 0.5 m, by hand: no per-polygon Python.

    The pixel centres inside each polygon's bounding box are tested with one vectorised
    ``shapely.contains_xy`` (``rasterio.features.rasterize`` walks the polygons in Python:
    15× slower here); polygons with no centre inside count every cell they meet
    (``intersects`` with the cells' boxes), as ``all_touched`` does.
    """
    import rasterio
    import shapely

    with rasterio.open(tif) as src:
        depth, tr = src.read(1), src.transform
    n = len(g)
    p, r, c = _cells(g, tr, depth.shape, touched=False)
    inside = shapely.contains_xy(g[p], tr.c + (c + 0.5) * tr.a, tr.f + (r + 0.5) * tr.e)
    p, r, c = p[inside], r[inside], c[inside]
    n_pix = np.bincount(p, minlength=n)
    n_deep = np.bincount(p[depth[r, c] > 0.5], minlength=n)
    empty = np.flatnonzero(n_pix == 0)
    if len(empty):  # polygons between pixel centres: every cell they touch
        p, r, c = _cells(g[empty], tr, depth.shape, touched=True)
        x0, y0 = tr.c + c * tr.a, tr.f + r * tr.e
        hit = shapely.intersects(g[empty][p], shapely.box(x0, y0 + tr.e, x0 + tr.a, y0))
        p, r, c = empty[p[hit]], r[hit], c[hit]
        n_pix += np.bincount(p, minlength=n)
        n_deep += np.bincount(p[depth[r, c] > 0.5], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return n_deep / n_pix


def hand_written(paths: dict[str, Path], out: Path, steps: dict[str, float]) -> dict:
    """The job by hand, single-threaded: shapely 2, STRtree, numpy, rasterio."""
    import geopandas as gpd
    import shapely

    t = time.perf_counter()
    city = gpd.read_parquet(paths["parcels"])
    steps["read"] = time.perf_counter() - t

    t = time.perf_counter()
    g = np.asarray(city.geometry.array)
    n = len(g)
    area = shapely.area(g)
    tree = shapely.STRtree(g)

    def layer(name: str) -> np.ndarray:
        return np.asarray(gpd.read_parquet(paths[name]).geometry.array)

    def hit(geoms: np.ndarray) -> np.ndarray:
        mask = np.zeros(n, dtype=bool)
        mask[tree.query(geoms, predicate="intersects")[1]] = True
        return mask

    heritage = hit(layer("heritage"))
    # river share: the union cut into 500 m tiles, inside-tile parcels whole, the rest cut
    union = shapely.union_all(layer("river_buffer"))
    tiles = np.concatenate([_tiles(p, TILE) for p in shapely.get_parts(union)])
    shapely.prepare(tiles)
    ti, pi = tree.query(tiles, predicate="intersects")
    inside = shapely.contains_properly(tiles[ti], g[pi])
    over = np.where(inside, area[pi], 0.0)
    cut = ~inside
    over[cut] = shapely.area(shapely.intersection(g[pi[cut]], tiles[ti[cut]]))
    river = np.minimum(np.bincount(pi, weights=over, minlength=n) / area, 1.0) > 0.3
    corridor = hit(layer("view_corridor")) & (city["floors"].to_numpy() > 18)
    year = city["build_year"].to_numpy()
    old = year < 1980
    flood = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(old)
    flood[idx] = _flood_share(g[idx], paths["flood_depth"]) > 0.5
    land = city["land_use"].to_numpy()
    danger = city["danger_grade"].to_numpy() == "D"
    vacant = land == "vacant"
    sites = layer("sites")
    si, ci = tree.query(sites, predicate="dwithin", distance=800.0)
    keep = vacant[ci]
    si, ci = si[keep], ci[keep]
    near = np.zeros(n, dtype=bool)
    near[ci[shapely.distance(g[ci], sites[si]) < 800.0]] = True
    site = vacant & near
    upgrade = (land == "residential") & (year <= 2000)
    masks = np.vstack([heritage, river, corridor, flood, danger, site, upgrade])
    decided = np.full(n, len(masks))
    anyhit = masks.any(axis=0)
    decided[anyhit] = masks.argmax(axis=0)[anyhit]  # heritage (forced) is the first rule
    category = CATS[decided]
    steps["classify"] = time.perf_counter() - t

    t = time.perf_counter()
    zones = gpd.read_parquet(paths["zones"])
    zg = shapely.from_wkb(shapely.to_wkb(np.asarray(zones.geometry.array)))
    shapely.prepare(zg)
    zi, pi = tree.query(zg, predicate="intersects")
    inside = shapely.contains_properly(zg[zi], g[pi])
    inter = area[pi].copy()
    cut = ~inside
    inter[cut] = shapely.area(shapely.intersection(zg[zi[cut]], g[pi[cut]]))
    w = inter / area[pi]
    k = len(zg)
    table = {"area_m2": np.bincount(zi, weights=inter, minlength=k)}
    for col in ("households", "floor_area"):
        v = city[col].to_numpy(dtype=float)
        inz = np.bincount(zi, weights=v[pi] * w, minlength=k)
        table[col] = np.append(inz, v.sum() - inz.sum())
    table["area_m2"] = np.append(table["area_m2"], area.sum() - table["area_m2"].sum())
    frame = pd.DataFrame(table, index=[*zones["zone_id"], "outside"])
    steps["stats"] = time.perf_counter() - t

    t = time.perf_counter()
    city["category"] = category
    city.to_parquet(out / "classified.parquet")
    frame.to_csv(out / "zones.csv")
    steps["write"] = time.perf_counter() - t
    return _result(city["parcel_id"], category, frame["households"], frame["floor_area"])


# ------------------------------------------------------------------ geo_renewal


def ours(paths: dict[str, Path], out: Path, steps: dict[str, float], threads: int | None) -> dict:
    """The job with geo_renewal, in memory."""
    from geo_renewal import settings
    from geo_renewal.classify import classify_parcels
    from geo_renewal.io import read_layer, write_layer
    from geo_renewal.rules import load_rules
    from geo_renewal.stats import zone_stats
    from geo_renewal.tables import write_table

    settings.n_jobs = threads
    rules = load_rules(_rules_file(out))
    layers = {k: paths[k] for k in ("heritage", "river_buffer", "view_corridor", "sites")}
    t = time.perf_counter()
    parcels = read_layer(paths["parcels"])
    steps["read"] = time.perf_counter() - t
    t = time.perf_counter()
    classified = classify_parcels(
        parcels, rules, layers=layers, rasters={"flood_depth": paths["flood_depth"]}
    )
    steps["classify"] = time.perf_counter() - t
    t = time.perf_counter()
    zones = read_layer(paths["zones"])
    stats = zone_stats(classified, zones=zones, zone_col="zone_id")
    steps["stats"] = time.perf_counter() - t
    t = time.perf_counter()
    write_layer(classified, out / "classified.parquet")
    write_table(stats, out / "zones.csv", lang="en")
    steps["write"] = time.perf_counter() - t
    return _ours_result(classified, stats, zones)


def ours_dask(
    paths: dict[str, Path], out: Path, steps: dict[str, float], workers: int | None = 2
) -> dict:
    """
    The job with geo_renewal on dask: 2 worker processes, or (``workers=None``) dask's threads.

    The cluster start is its own step; the threaded scheduler starts nothing. Classify,
    statistics and the partitions' files are one pass (`write_with_stats`: each partition
    classified once, written and summed): the ``classify`` step holds all three, ``write``
    the table only.
    """
    from geo_renewal.classify import classify_parcels
    from geo_renewal.io import read_layer
    from geo_renewal.partitioned import dask_client
    from geo_renewal.rules import load_rules
    from geo_renewal.stats import write_with_stats
    from geo_renewal.tables import write_table

    rules = load_rules(_rules_file(out))
    layers = {k: paths[k] for k in ("heritage", "river_buffer", "view_corridor", "sites")}
    t = time.perf_counter()
    with dask_client(workers=workers):
        steps["cluster"] = time.perf_counter() - t
        t = time.perf_counter()
        lazy = read_layer(partitioned_parcels(paths))
        zones = read_layer(paths["zones"])
        steps["read"] = time.perf_counter() - t
        t = time.perf_counter()
        classified = classify_parcels(
            lazy, rules, layers=layers, rasters={"flood_depth": paths["flood_depth"]}
        )
        stats = write_with_stats(classified, out / "classified", zones=zones, zone_col="zone_id")
        steps["classify"] = time.perf_counter() - t
        t = time.perf_counter()
        write_table(stats, out / "zones.csv", lang="en")
        steps["write"] = time.perf_counter() - t
        done = read_layer(out / "classified").compute()
    return _ours_result(done, stats, zones)


def naive(paths: dict[str, Path], out: Path, steps: dict[str, float]) -> dict:
    """The job as a geopandas user first writes it: sjoin, overlay, sjoin_nearest, GPKG."""
    import geopandas as gpd

    t = time.perf_counter()
    city = gpd.read_parquet(paths["parcels"])
    steps["read"] = time.perf_counter() - t
    t = time.perf_counter()
    n = len(city)
    city["parcel_area"] = city.area

    def hit(name: str) -> np.ndarray:
        j = gpd.sjoin(city[["geometry"]], gpd.read_parquet(paths[name])[["geometry"]])
        return city.index.isin(j.index)

    heritage = hit("heritage")
    buffers = gpd.read_parquet(paths["river_buffer"]).dissolve()
    pieces = gpd.overlay(city[["parcel_area", "geometry"]].reset_index(), buffers[["geometry"]])
    covered = pieces.area.groupby(pieces["index"]).sum().reindex(city.index, fill_value=0)
    river = (covered / city["parcel_area"]).clip(upper=1.0).to_numpy() > 0.3
    corridor = hit("view_corridor") & (city["floors"].to_numpy() > 18)
    # no naive zonal statistics in geopandas: the raster step is the hand-written one
    old = np.flatnonzero(city["build_year"].to_numpy() < 1980)
    flood = np.zeros(n, dtype=bool)
    flood[old] = _flood_share(np.asarray(city.geometry.array)[old], paths["flood_depth"]) > 0.5
    land = city["land_use"].to_numpy()
    near = gpd.sjoin_nearest(
        city[["geometry"]], gpd.read_parquet(paths["sites"]), distance_col="d"
    )
    dist = near["d"].groupby(level=0).min().reindex(city.index).to_numpy()
    site = (land == "vacant") & (dist < 800)
    danger = city["danger_grade"].to_numpy() == "D"
    upgrade = (land == "residential") & (city["build_year"].to_numpy() <= 2000)
    masks = np.vstack([heritage, river, corridor, flood, danger, site, upgrade])
    decided = np.full(n, len(masks))
    anyhit = masks.any(axis=0)
    decided[anyhit] = masks.argmax(axis=0)[anyhit]
    city["category"] = CATS[decided]
    steps["classify"] = time.perf_counter() - t
    t = time.perf_counter()
    zones = gpd.read_parquet(paths["zones"])
    cols = ["households", "floor_area"]
    pieces = gpd.overlay(city[[*cols, "parcel_area", "geometry"]], zones, how="identity")
    w = pieces.area / pieces["parcel_area"]
    for c in cols:
        pieces[c] = pieces[c] * w
    frame = pieces.groupby(pieces["zone_id"].fillna("outside"))[cols].sum()
    frame = frame.reindex([*zones["zone_id"], "outside"]).fillna(0.0)
    steps["stats"] = time.perf_counter() - t
    t = time.perf_counter()
    city.drop(columns="parcel_area").to_file(out / "classified.gpkg", engine="pyogrio")
    frame.to_csv(out / "zones.csv")
    steps["write"] = time.perf_counter() - t
    return _result(
        city["parcel_id"], city["category"].to_numpy(), frame["households"], frame["floor_area"]
    )


# ------------------------------------------------------------------ results and runner


def _rules_file(out: Path) -> Path:
    path = out / "end_to_end.toml"
    path.write_text(RULES, encoding="utf-8")
    return path


def _result(ids: Any, category: np.ndarray, households: pd.Series, floor_area: pd.Series) -> dict:
    counts = pd.Series(category).value_counts().sort_index()
    ordered = np.asarray(category, dtype=object)[np.argsort(np.asarray(ids), kind="stable")]
    return {
        "category_digest": hashlib.sha1(pd.util.hash_array(ordered).tobytes()).hexdigest(),
        "counts": {str(k): int(v) for k, v in counts.items()},
        "households": [float(v) for v in households],
        "floor_area": [float(v) for v in floor_area],
    }


def _ours_result(classified: Any, stats: pd.DataFrame, zones: Any) -> dict:
    from geo_renewal.schema import OUTSIDE_ROW

    table = stats.rename(index={OUTSIDE_ROW: "outside"})
    table = table.reindex([*zones["zone_id"], "outside"]).fillna(0.0)
    category = classified["category"].astype(str).to_numpy()
    return _result(classified["parcel_id"], category, table["households"], table["floor_area_m2"])


def run_once(route: str, n: int) -> dict:
    """One run of one route in this process; returns the step times and the result."""
    paths = cached_real_city(n)
    tmp = Path(tempfile.mkdtemp(prefix="bench-e2e-", dir=CACHE))
    steps: dict[str, float] = {}
    try:
        if route == "hand-written":
            result = hand_written(paths, tmp, steps)
        elif route == "geo_renewal":
            result = ours(paths, tmp, steps, None)
        elif route == "geo_renewal 1 thread":
            result = ours(paths, tmp, steps, 1)
        elif route == "geo_renewal dask":
            result = ours_dask(paths, tmp, steps)
        elif route == "geo_renewal dask threads":
            result = ours_dask(paths, tmp, steps, workers=None)
        else:
            result = naive(paths, tmp, steps)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"steps": steps, "result": result, "peak_mb": _peak_mb()}


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM: ``ru_maxrss`` keeps the parent's over exec)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fresh_process(route: str, n: int) -> dict:
    code = (
        "import json, sys; from benchmarks.bench_end_to_end import run_once; "
        f"print('RESULT' + json.dumps(run_once({route!r}, {n})))"
    )
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True
    )
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")]
    if proc.returncode or not line:
        msg = f"route {route!r} at {n:,} failed (rc={proc.returncode}):\n{proc.stderr[-3000:]}"
        raise RuntimeError(msg)
    return json.loads(line[0][len("RESULT") :])


def _check(route: str, got: dict, want: dict) -> None:
    """The same categories per parcel and the same sums per zone as the baseline."""
    if got["category_digest"] != want["category_digest"]:
        msg = f"{route}: categories differ from the baseline: {got['counts']} vs {want['counts']}"
        raise AssertionError(msg)
    for col in ("households", "floor_area"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-9, atol=1e-6, err_msg=route)


def prepare(n: int) -> None:
    """Write the city of `n` parcels (the suite calls this outside any memory limit)."""
    partitioned_parcels(cached_real_city(n))


def figures(
    n: int, repeat: int = 3, naive_max: int = 100_000, only: list[str] | None = None
) -> list[dict]:
    """Per route: median seconds per step and in total (fresh processes, round-robin)."""
    prepare(n)
    routes = [r for r in ROUTES if r != "naive" or n <= naive_max]
    if only:  # the baseline always runs: every ratio is against it, in the same run
        routes = [r for r in routes if r == BASELINE or r in only]
    runs: dict[str, list[dict]] = {r: [] for r in routes}
    for _ in range(repeat):
        for route in routes:
            if route == "naive" and runs[route]:
                continue  # one run is enough to show its size
            runs[route].append(_fresh_process(route, n))
    want = runs[BASELINE][0]["result"]
    out = []
    for route, rs in runs.items():
        _check(route, rs[0]["result"], want)
        steps = {s: statistics.median(r["steps"].get(s, 0.0) for r in rs) for s in STEPS}
        total = statistics.median(sum(r["steps"].values()) for r in rs)
        out.append(
            {
                "route": route,
                "seconds": total,
                "baseline": None if route == BASELINE else BASELINE,
                "steps": steps,
                "peak_mb": max(r["peak_mb"] for r in rs),
                "runs": len(rs),
                "counts": rs[0]["result"]["counts"],
            }
        )
    return out


def print_table(n: int, rows: list[dict]) -> None:
    base = next(r for r in rows if r["route"] == BASELINE)
    print(f"\n{n:,} parcels (load average {os.getloadavg()[0]:.1f}); medians of fresh processes")
    head = "".join(f"{s:>10}" for s in STEPS)
    print(f"{'route':<22}{head}{'total':>10}{'× script':>10}{'peak MB':>9}  runs")
    for r in rows:
        cells = "".join(f"{r['steps'][s]:>10.2f}" for s in STEPS)
        print(
            f"{r['route']:<22}{cells}{r['seconds']:>10.2f}{r['seconds'] / base['seconds']:>10.2f}"
            f"{r['peak_mb']:>9.0f}  {r['runs']}"
        )
    per_step = {
        s: [f"{r['steps'][s] / base['steps'][s]:.2f}" for r in rows if base["steps"][s] > 0]
        for s in STEPS
    }
    print("step ratios to the script:", json.dumps(per_step))
    mem = next((r for r in rows if r["route"] == IN_MEMORY), None)
    for r in rows:
        if mem is not None and r["route"] in DASK_ROUTES:
            print(
                f"{r['route']}: {r['seconds'] / mem['seconds']:.2f}× {IN_MEMORY} end to end "
                f"(cluster start {r['steps']['cluster']:.2f} s included)"
            )
    print("categories:", base["counts"])


def markdown(everything: dict[int, list[dict]]) -> str:
    """The README's performance table, from the figures of one run."""
    head = "| parcels | route | cluster | read | classify | stats | write | total | × script |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for n, rows in everything.items():
        base = next(r for r in rows if r["route"] == BASELINE)["seconds"]
        for r in rows:
            cells = " | ".join(f"{r['steps'][s]:.1f} s" if r["steps"][s] else "—" for s in STEPS)
            lines.append(
                f"| {int(n) / 1e6:g}M | {r['route']} | {cells} | **{r['seconds']:.1f} s** | "
                f"{r['seconds'] / base:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-max", type=int, default=100_000)
    parser.add_argument(
        "--routes", nargs="+", choices=ROUTES, help="only these (and the baseline)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--markdown", type=Path, nargs="+", help="print the README table of JSONs")
    args = parser.parse_args()
    if args.markdown:
        merged = {}
        for path in args.markdown:
            merged.update(json.loads(path.read_text(encoding="utf-8")))
        print(markdown(merged))
        return
    everything = {}
    for n in args.sizes:
        rows = figures(n, args.repeat, args.naive_max, args.routes)
        print_table(n, rows)
        everything[n] = rows
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
