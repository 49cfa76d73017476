"""
Benchmark: allocation of demand units to resettlement sites (HiGHS via scipy.optimize.milp).

A synthetic city (`benchmarks.synth.synthetic_city`) is cut into ``--units`` demand units
(a grid of blocks, the ``zone_id``); its residential parcels are marked ``demolish``;
``--sites`` square sites of 0.64–2 ha are scattered over it with planned capacities that sum
to ~1.15 × the flat demand (0.5–1.5 × the mean each), so that capacities bind. Then, median of
``--repeat``:

- ``plan_resettlement(keep_together=True)``: the MILP (each unit whole to one site) plus the
  split LP that bounds it and the nearby-rate LP;
- ``plan_resettlement(keep_together=False)``: the split LP plus the nearby-rate LP;
- baseline: the bare transportation LP of the same distance matrix, built by hand and solved
  with ``scipy.optimize.linprog(method="highs")`` — what the library call costs on top of it.

Printed per route: wall time of the call, solver time, HiGHS status, the MIP gap reported by
the solver, the gap to the split optimum (a valid bound), whether the time limit was hit,
and the ratio to the baseline. Targets: keep-together < 30 s, split < 2 s.

The demand side (``--parcels``, e.g. 1 000 000): the time before the solver (wall − solver),
and the unit polygons two ways in the same run — ``union_all`` per unit (the route before
issue 21, which the plan took on every call: 58.7 s of 61.1 s at 1M) against reading
``plan.demand`` now (coverage union, checked; the plan itself uses area-weighted centroids
and never dissolves). Targets at 1M: < 5 s before the solver, ≤ 8 s in all (split).

Run: ``.venv/bin/python -m benchmarks.bench_resettlement [--units 500] [--sites 100]
[--repeat 3] [--time-limit 60] [--parcels 1000000] [--old-route]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np

import geopandas as gpd
import shapely

from benchmarks.synth import CELL, CRS, X0, Y0, synthetic_city
from geo_renewal.resettlement import plan_resettlement


def scenario(
    n_units: int, n_sites: int, *, seed: int = 0, n_parcels: int | None = None
) -> tuple[object, object]:
    """Classified parcels with `n_units` zones and a sites layer of `n_sites` polygons."""
    rng = np.random.default_rng(seed)
    n_parcels = max(20 * n_units, 10_000) if n_parcels is None else n_parcels
    city = synthetic_city(n_parcels, seed=seed)
    side = int(np.ceil(np.sqrt(n_parcels))) * CELL
    gx = max(k for k in range(1, int(np.sqrt(n_units)) + 1) if n_units % k == 0)
    gy = n_units // gx
    c = shapely.centroid(city.geometry.to_numpy())
    ix = np.minimum((shapely.get_x(c) - X0) / side * gx, gx - 1).astype(int)
    iy = np.minimum((shapely.get_y(c) - Y0) / side * gy, gy - 1).astype(int)
    block = iy * gx + ix
    city["zone_id"] = np.char.add("Z", block.astype(str))
    demolish = (city["land_use"] == "residential").to_numpy() & (city["households"] > 0)
    city["category"] = np.where(demolish, "demolish", "unchanged")
    flats = city.loc[demolish, "households"].sum() * 0.7
    half = rng.uniform(40, 70, n_sites)  # 0.64–1.96 ha, all above the 5 000 m² minimum
    sx = X0 + rng.uniform(0.05, 0.95, n_sites) * side
    sy = Y0 + rng.uniform(0.05, 0.95, n_sites) * side
    weight = rng.uniform(0.5, 1.5, n_sites)
    capacity = np.floor(weight / weight.sum() * flats * 1.15).astype(int)
    sites = gpd.GeoDataFrame(
        {
            "site_id": [f"S{j:03d}" for j in range(n_sites)],
            "capacity_units": capacity,
        },
        geometry=shapely.box(sx - half, sy - half, sx + half, sy + half),
        crs=CRS,
    )
    return city, sites


def baseline(plan_demand: object, sites: object) -> float:
    """Time the bare transportation LP (linprog, HiGHS) on the plan's own distances."""
    from scipy import sparse
    from scipy.optimize import linprog

    d = plan_demand["flat_households"].to_numpy(dtype=float)
    cap = sites["capacity_units"].to_numpy(dtype=float)
    u = shapely.centroid(plan_demand.geometry.to_numpy())
    s = shapely.point_on_surface(sites.geometry.to_numpy())
    dist = np.hypot(
        shapely.get_x(u)[:, None] - shapely.get_x(s)[None, :],
        shapely.get_y(u)[:, None] - shapely.get_y(s)[None, :],
    )
    n, m = dist.shape
    k = np.arange(n * m)
    a_eq = sparse.csr_array((np.ones(n * m), (k // m, k)), shape=(n, n * m))
    a_ub = sparse.csr_array((np.ones(n * m), (k % m, k)), shape=(m, n * m))
    t = time.perf_counter()
    res = linprog(
        dist.ravel() / 1000.0,
        A_ub=a_ub,
        b_ub=cap,
        A_eq=a_eq,
        b_eq=d,
        bounds=(0, None),
        method="highs",
    )
    elapsed = time.perf_counter() - t
    if res.status != 0:
        print(f"  baseline LP status {res.status}: {res.message}")
    return elapsed


def dissolve_times(city: object, sites: object, old_route: bool) -> tuple[float, float | None]:
    """Seconds to read ``plan.demand`` (dissolved now) and, if asked, the old union_all route."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        plan = plan_resettlement(city, sites=sites, keep_together=False, lang="en")
    t = time.perf_counter()
    now = plan.demand  # the coverage union of each unit's demolition parcels, checked
    t_now = time.perf_counter() - t
    if not old_route:
        return t_now, None
    demo = city[city["category"] == "demolish"]
    t = time.perf_counter()
    old = [shapely.union_all(g.geometry.to_numpy()) for _, g in demo.groupby("zone_id", sort=True)]
    t_old = time.perf_counter() - t
    same = np.allclose(shapely.area(np.array(old)), now.area.to_numpy(), rtol=1e-9)
    print(f"  union_all per unit (old route) and plan.demand agree on every area: {same}")
    return t_now, t_old


def run(
    n_units: int,
    n_sites: int,
    repeat: int,
    time_limit: float,
    n_parcels: int | None = None,
    old_route: bool = False,
) -> None:
    import scipy.optimize  # noqa: F401  (warm up: importing scipy.optimize takes ~2 s)

    city, sites = scenario(n_units, n_sites, n_parcels=n_parcels)
    print(
        f"{n_units} demand units → {n_sites} sites; {len(city):,} parcels, "
        f"{int((city['category'] == 'demolish').sum()):,} demolished; "
        f"capacity {int(sites['capacity_units'].sum()):,} flats; time limit {time_limit:g} s"
    )
    results: dict[str, list[tuple[float, object]]] = {"keep_together": [], "split": []}
    base: list[float] = []
    for _ in range(repeat):
        for name, keep in (("keep_together", True), ("split", False)):
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # 50 % rule warnings expected
                plan = plan_resettlement(
                    city, sites=sites, keep_together=keep, time_limit=time_limit, lang="en"
                )
            results[name].append((time.perf_counter() - t, plan))
        base.append(baseline(plan.demand, sites))
    b = statistics.median(base)
    flats = plan.summary["flat_households"]
    print(f"  flat demand {flats:,} households in {plan.summary['units']} units")
    print(f"  baseline transportation LP (linprog/HiGHS): {b:.3f} s")
    header = (
        f"  {'route':<14}{'wall s':>8}{'solver s':>10}{'before':>8}{'ratio':>8}{'status':>8}"
        f"{'MIP gap':>10}{'bound gap':>11}{'limit hit':>11}{'unmet':>7}{'split':>7}"
        f"{'nearby':>8}{'hh·km':>10}"
    )
    print(header)
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        plan = runs[-1][1]
        s = plan.solver
        gap = "—" if s.get("mip_gap") is None else f"{s['mip_gap']:.4%}"
        before = statistics.median(r[0] - r[1].solver["time_s"] for r in runs)
        print(
            f"  {name:<14}{wall:>8.2f}{s['time_s']:>10.2f}{before:>8.2f}{wall / b:>8.1f}"
            f"{s['status']:>8}"
            f"{gap:>10}{s['bound_gap']:>11.3%}{'yes' if s['time_limit_hit'] else 'no':>11}"
            f"{plan.summary['unmet_households']:>7}{plan.summary['units_split']:>7}"
            f"{plan.summary['nearby_rate']:>8.1%}{s['objective']:>10,.0f}"
        )
        if s["time_limit_hit"]:
            print(f"  ! {name}: HiGHS stopped at the time limit of {time_limit:g} s")
        if "chosen" in s:
            milp_obj = "—" if s["milp_objective"] is None else f"{s['milp_objective']:,.0f}"
            print(
                f"    plan from {s['chosen']}: local search {s['heuristic_objective']:,.0f} "
                f"hh·km in {s['heuristic_s']:.2f} s; HiGHS incumbent {milp_obj} hh·km, "
                f"dual bound {s['mip_dual_bound'] or float('nan'):,.0f} (restricted to "
                f"{s['pairs']:,} candidate pairs); split LP bound {s['split_objective']:,.0f}"
            )
    print("  targets: keep_together < 30 s, split < 2 s (wall time of plan_resettlement)")
    t_now, t_old = dissolve_times(city, sites, old_route)
    old = "" if t_old is None else f"; union_all per unit (old route) {t_old:.2f} s"
    ratio = "" if t_old is None else f" (×{t_old / t_now:.1f})"
    print(f"  unit polygons when read: plan.demand {t_now:.2f} s{old}{ratio}")
    print("  'before' = wall − solver: demand, centroids, sites, pairs; < 5 s at 1M parcels")


def figures(
    n: int, repeat: int = 3, *, units: int = 500, sites: int = 100, time_limit: float = 20.0
) -> list[dict]:
    """Medians for `python -m benchmarks`: `units` demand units over `n` parcels."""
    import scipy.optimize  # noqa: F401  (warm up outside the timing)

    city, site_layer = scenario(units, sites, n_parcels=max(n, 20 * units))
    times: dict[str, list[float]] = {"keep_together": [], "split": []}
    base: list[float] = []
    plans = {}
    for _ in range(repeat):
        for name, keep in (("keep_together", True), ("split", False)):
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                plans[name] = plan_resettlement(
                    city, sites=site_layer, keep_together=keep, time_limit=time_limit, lang="en"
                )
            times[name].append(time.perf_counter() - t)
        base.append(baseline(plans["split"].demand, site_layer))
    b = "transportation LP (linprog)"
    out = [{"route": b, "seconds": statistics.median(base), "baseline": None}]
    for name, ts in times.items():
        s = plans[name].solver
        out.append(
            {
                "route": f"plan_resettlement {name}",
                "seconds": statistics.median(ts),
                "baseline": b,
                "time_limit_hit": bool(s["time_limit_hit"]),
                "bound_gap": float(s["bound_gap"]),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--parcels", type=int, default=None, help="default 20 × units")
    parser.add_argument("--old-route", action="store_true", help="also time union_all per unit")
    args = parser.parse_args()
    run(args.units, args.sites, args.repeat, args.time_limit, args.parcels, args.old_route)


if __name__ == "__main__":
    main()
