"""
Benchmark `classify_parcels` with the default rules against a hand-written vectorised script.

Both compute the same eight rule masks and the same category per parcel on the synthetic
city (`benchmarks.synth.synthetic_city`) with synthetic constraint layers over its extent
(heritage core + control ring, an eco belt along a sinuous river, a view corridor, the
river line) and a 10 m flood-depth GeoTIFF. The synthetic parcels are ~40 m wide, smaller
than the default 0.5 ha site threshold, so both run with ``site_min_area = 500`` to give the
resettlement rule (eco / control / corridor shares, river setback, flood raster) about 8 %
of the parcels to work on.

The hand-written script is what an experienced geopandas/shapely user writes: one STRtree
over the parcels queried with the few constraint features (reversed, prepared), exact
intersections only for parcels straddling a zone edge, a reversed ``dwithin`` query for the
river setback, the constraint tests and the flood raster only for the candidate sites
(vacant and large enough), the raster burnt with `rasterio.features.rasterize` and summed
with `numpy.bincount`.

Run: ``.venv/bin/python -m benchmarks.bench_classify [--sizes 10000 100000 1000000]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import geopandas as gpd
import rasterio
import rasterio.features
import shapely
from rasterio.transform import from_origin

from benchmarks.synth import CELL, CRS, X0, Y0, synthetic_city
from geo_renewal.classify import classify_parcels
from geo_renewal.rules import load_rules

RES = 10.0
CODES = ["demolish", "retain_upgrade", "retain_protect", "resettlement_site", "unchanged"]


def city_with_columns(n: int) -> gpd.GeoDataFrame:
    city = synthetic_city(n)
    rng = np.random.default_rng(1)
    land = city["land_use"].to_numpy(dtype=object)
    other = rng.choice(["residential", "commercial", "green", "public"], size=n)
    planned = np.where(rng.random(n) < 0.03, other, land)
    return city.assign(
        planned_use=planned, listed=rng.random(n) < 0.005, illegal=rng.random(n) < 0.01
    )


def _river_y(x: np.ndarray, side: float) -> np.ndarray:
    return Y0 + 0.62 * side + 0.05 * side * np.sin(6 * np.pi * (x - X0) / side)


def synthetic_layers(n: int, folder: Path) -> tuple[dict[str, gpd.GeoDataFrame], Path]:
    side = np.ceil(np.sqrt(n)) * CELL
    xs = np.linspace(X0 - 50, X0 + side + 50, 400)
    river = shapely.linestrings(xs, _river_y(xs, side))
    eco = shapely.buffer(river, 0.02 * side)
    core = shapely.Point(X0 + 0.3 * side, Y0 + 0.35 * side).buffer(0.06 * side, quad_segs=16)
    control = core.buffer(0.04 * side).difference(core)
    corridor = shapely.Polygon(
        [
            (X0 + 0.50 * side, Y0 - 10),
            (X0 + 0.52 * side, Y0 - 10),
            (X0 + 0.62 * side, Y0 + side + 10),
            (X0 + 0.60 * side, Y0 + side + 10),
        ]
    )
    layers = {
        name: gpd.GeoDataFrame(geometry=[geom], crs=CRS)
        for name, geom in (
            ("heritage_core", core),
            ("heritage_control", control),
            ("eco_belt", eco),
            ("view_corridor", corridor),
            ("river", river),
        )
    }
    ncol = nrow = int(np.ceil(side / RES)) + 2
    cx = X0 - RES + (np.arange(ncol) + 0.5) * RES
    cy = Y0 - RES + side + 2 * RES - (np.arange(nrow) + 0.5) * RES
    gap = np.abs(cy[:, None] - _river_y(cx[None, :], side))
    depth = np.maximum(0.0, 2.4 * np.exp(-gap / (0.03 * side)) - 0.2).astype("float32")
    tif = folder / f"flood_{n}.tif"
    with rasterio.open(
        tif,
        "w",
        driver="GTiff",
        width=ncol,
        height=nrow,
        count=1,
        dtype="float32",
        crs=CRS,
        nodata=-9999.0,
        transform=from_origin(X0 - RES, Y0 - RES + side + 2 * RES, RES, RES),
    ) as dst:
        dst.write(depth, 1)
    return layers, tif


def hand_written(
    city: gpd.GeoDataFrame, layers: dict[str, gpd.GeoDataFrame], tif: Path, params: dict
) -> np.ndarray:
    """The eight default-rule masks and the category codes, written by hand."""
    g = np.asarray(city.geometry.array)
    n = len(g)
    area = shapely.area(g)
    tree = shapely.STRtree(g)

    def hit(name: str) -> np.ndarray:
        mask = np.zeros(n, dtype=bool)
        _, ci = tree.query(np.asarray(layers[name].geometry.array), predicate="intersects")
        mask[ci] = True
        return mask

    def share(name: str, cand: np.ndarray) -> np.ndarray:
        parts = shapely.get_parts(shapely.union_all(layers[name].geometry.array))
        shapely.prepare(parts)
        pi, ci = tree.query(parts, predicate="intersects")
        keep = cand[ci]
        pi, ci = pi[keep], ci[keep]
        inside = shapely.contains_properly(parts[pi], g[ci])
        over = np.where(inside, area[ci], 0.0)
        over[~inside] = shapely.area(shapely.intersection(g[ci[~inside]], parts[pi[~inside]]))
        return np.bincount(ci, weights=over, minlength=n) / area

    land = city["land_use"]
    grade = city["danger_grade"]
    core = hit("heritage_core")
    listed = city["listed"].to_numpy(dtype=bool)
    illegal = city["illegal"].to_numpy(dtype=bool)
    danger = grade.isin(["C", "D"]).to_numpy()
    weak = city["structure"].isin(["simple", "brick_wood"]).to_numpy()
    conflict = (
        (city["planned_use"] != land)
        & ~land.isin(["vacant", "green", "road", "water"])
        & city["planned_use"].notna()
        & land.notna()
    ).to_numpy()
    old = (
        (land == "residential")
        & (city["build_year"] <= params["retain_max_year"])
        & grade.isin(["A", "B"])
    ).to_numpy()
    site = (land == "vacant").to_numpy() & (area >= params["site_min_area"])
    for name in ("eco_belt", "heritage_control", "view_corridor"):
        site &= share(name, site) < params["max_constraint_share"]
    river = np.asarray(layers["river"].geometry.array)
    _, ci = tree.query(river, predicate="dwithin", distance=params["river_setback"])
    near = np.zeros(n, dtype=bool)
    near[ci] = True
    near[ci] = shapely.distance(g[ci], river[0]) < params["river_setback"]
    site &= ~near
    idx = np.flatnonzero(site)
    with rasterio.open(tif) as src:
        data = src.read(1, masked=True)
        ids = rasterio.features.rasterize(
            zip(g[idx], np.arange(1, len(idx) + 1), strict=True),
            out_shape=data.shape,
            transform=src.transform,
            fill=0,
            dtype="int32",
        )
    sel = ids > 0
    pid = ids[sel] - 1
    deep = np.ma.filled(data, 0.0)[sel] > params["flood_max_depth"]
    n_pix = np.bincount(pid, minlength=len(idx))
    n_deep = np.bincount(pid[deep], minlength=len(idx))
    with np.errstate(invalid="ignore", divide="ignore"):
        site[idx] = (n_deep / n_pix) <= params["flood_max_share"]
    masks = np.vstack([core, listed, illegal, danger, weak, conflict, old, site])
    cats = np.array([2, 2, 0, 0, 0, 0, 1, 3, 4])
    decided = np.full(n, 8)
    forced = masks[:2].any(axis=0)
    decided[forced] = masks[:2].argmax(axis=0)[forced]
    rest = ~forced & masks.any(axis=0)
    decided[rest] = masks.argmax(axis=0)[rest]
    return cats[decided]


def _time(func, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def bench_rules():
    """The default rules with ``site_min_area = 500`` (the synthetic parcels are small)."""
    rules = load_rules("default")
    return dataclasses.replace(rules, params={**rules.params, "site_min_area": 500})


def one_size(n: int, repeat: int, folder: Path) -> dict:
    """Time engine and script at one size; print the row and return the figures."""
    rules = bench_rules()
    city = city_with_columns(n)
    layers, tif = synthetic_layers(n, folder)
    engine = functools.partial(
        classify_parcels, city, rules, layers=layers, rasters={"flood_depth": tif}
    )
    t_engine, out = _time(engine, repeat)
    script = functools.partial(hand_written, city, layers, tif, rules.params)
    t_script, codes = _time(script, repeat)
    engine_codes = out["category"].cat.codes.to_numpy()
    differ = int((engine_codes != codes).sum())
    counts = pd.Series(np.asarray(CODES)[engine_codes]).value_counts().to_dict()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        f"{n:>9} {t_engine:>9.2f} {t_script:>9.2f} {t_engine / t_script:>6.2f} "
        f"{peak:>11.2f}  {counts}" + (f"  MISMATCH {differ}" if differ else "")
    )
    return {"engine": t_engine, "script": t_script, "mismatch": differ}


def figures(n: int, repeat: int = 3) -> list[dict]:
    """Medians of one size for `python -m benchmarks`: engine against the script."""
    with tempfile.TemporaryDirectory() as tmp:
        r = one_size(n, repeat, Path(tmp))
    return [
        {"route": "hand-written script", "seconds": r["script"], "baseline": None},
        {
            "route": "classify_parcels",
            "seconds": r["engine"],
            "baseline": "hand-written script",
            "mismatch": r["mismatch"],
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{'parcels':>9} {'engine s':>9} {'script s':>9} {'ratio':>6} {'peak RSS GB':>11}  categories"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            one_size(n, args.repeat, Path(tmp))


if __name__ == "__main__":
    main()
