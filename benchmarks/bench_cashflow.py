"""
Cash flow of the fund balance against the static roll-up on the same data.

200 projects (2/3 征收拆迁, in 20 bundles), 50,000 buildings and 100 sale plots over about
10 years, with the full sensitivity (land price ±10/20 %, delays of 6 and 12 months in 供地
and in signing, cash share ±10 points, compensation ±10 %, and the delay that turns each
bundle negative, searched month by month up to 60 months). Measured: the static
``fund_balance``; the per-building compensation (`compensation_by_building`); and
``fund_balance(..., compensation=, cashflow=True)``, the whole route (target < 2 s).

    .venv/bin/python -m benchmarks.bench_cashflow [--sizes 200 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import pandas as pd

from geo_renewal.compensation import compensation_by_building
from geo_renewal.fund import fund_balance

AS_OF = pd.Timestamp("2026-11-20").date()


def synthetic(n: int, *, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """`n` projects with ledger dates, 250 buildings per 征收 project, n / 2 sale plots."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("XM", np.arange(n).astype(str)).astype(object)
    demolish = rng.random(n) < 2 / 3
    sign = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 5 * 365, n), unit="D")
    projects = pd.DataFrame(
        {
            "project_id": ids,
            "project_type": np.where(demolish, "demolish", "retain_upgrade"),
            "households": rng.integers(20, 600, n),
            "demolished_floor_area": rng.uniform(5e3, 5e4, n),
            "land_area": rng.uniform(1e4, 8e4, n),
            "signing_planned": sign,
            "demolition_planned": sign + pd.Timedelta(days=120),
            "land_supply_planned": sign + pd.Timedelta(days=420),
            "design_planned": sign,
            "works_planned": sign + pd.Timedelta(days=300),
        }
    )
    n_b = 50_000
    owner = rng.choice(ids[demolish], n_b)
    buildings = pd.DataFrame(
        {
            "building_id": np.char.add("B", np.arange(n_b).astype(str)),
            "project_id": owner,
            "floor_area": rng.uniform(50, 3000, n_b),
            "households": rng.integers(0, 40, n_b),
            "structure": rng.choice(["brick_wood", "brick_concrete", "frame"], n_b),
            "build_year": rng.integers(1960, 2010, n_b),
            "illegal": rng.random(n_b) < 0.05,
            "land_use": rng.choice(["residential", "commercial"], n_b, p=[0.9, 0.1]),
        }
    )
    n_p = max(1, n // 2)
    plot_project = rng.choice(ids[demolish], n_p, replace=False)
    sold = rng.random(n_p) < 0.3
    plots = pd.DataFrame(
        {
            "plot_id": np.char.add("DK", np.arange(n_p).astype(str)),
            "project_id": plot_project,
            "bundle": [f"平衡单元{int(p[2:]) % 20}" for p in plot_project],
            "plot_area": rng.uniform(5e3, 3e4, n_p),
            "far": rng.uniform(1.8, 3.5, n_p),
            "sold_planned": projects.set_index("project_id")
            .loc[plot_project, "land_supply_planned"]
            .to_numpy(),
            "sold_actual": pd.NaT,
            "start_price": rng.uniform(5e3, 5e4, n_p),
            "deal_price": np.where(sold, rng.uniform(5e3, 6e4, n_p), np.nan),
        }
    )
    plots.loc[sold, "sold_actual"] = plots.loc[sold, "sold_planned"]
    projects["bundle"] = [f"平衡单元{k % 20}" for k in range(n)]
    return projects, buildings, plots


def _time(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def figures(n: int = 200, repeat: int = 3) -> list[dict]:
    """Medians for `n` projects for `python -m benchmarks`, against the static roll-up."""
    projects, buildings, plots = synthetic(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        t_static, _ = _time(lambda: fund_balance(projects, plots=plots, bundles="bundle"), repeat)
        t_comp, comp = _time(
            lambda: compensation_by_building(buildings, projects=projects), repeat
        )
        t_flow, fb = _time(
            lambda: fund_balance(
                projects,
                plots=plots,
                bundles="bundle",
                compensation=comp,
                cashflow=True,
                as_of=AS_OF,
            ),
            repeat,
        )
        t_all = t_comp + t_flow
    periods = len(fb.cashflow.periods)  # type: ignore[union-attr]
    scenarios = fb.cashflow.sensitivity["factor"].nunique()  # type: ignore[union-attr]
    note = (
        f"{len(buildings):,} buildings, {len(plots)} plots, {periods} periods, {scenarios} factors"
    )
    base = "fund_balance (static)"
    return [
        {"route": base, "seconds": t_static, "baseline": None, "note": note},
        {"route": "compensation_by_building", "seconds": t_comp, "baseline": base},
        {"route": "fund_balance + cash flow + sensitivity", "seconds": t_flow, "baseline": base},
        {"route": "whole route (compensation + cash flow)", "seconds": t_all, "baseline": base},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for n in args.sizes:
        rows = figures(n, args.repeat)
        secs = {r["route"]: r["seconds"] for r in rows}
        print(f"{n} projects: {rows[0]['note']}")
        for r in rows:
            ratio = "" if r["baseline"] is None else f"  {r['seconds'] / secs[r['baseline']]:.1f}×"
            print(f"  {r['route']:<42} {r['seconds']:7.3f} s{ratio}")


if __name__ == "__main__":
    main()
