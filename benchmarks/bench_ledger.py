"""
Ledger and fund-balance timings against reading the same CSV with pandas alone.

A district ledger has tens to hundreds of rows; a city-wide one a few thousand. Measured:
read_ledger (parse, check, join to polygons), project_progress, progress_summary,
compare_ledgers and fund_balance, each as a ratio to ``pd.read_csv`` of the same file
(the floor any ledger reader pays).

    .venv/bin/python -m benchmarks.bench_ledger [--sizes 1000 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from geo_renewal import schema
from geo_renewal.fund import fund_balance
from geo_renewal.ledger import compare_ledgers, progress_summary, project_progress, read_ledger


def synthetic_ledger(n: int, *, seed: int = 0) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """`n` projects (2/3 expropriation) with Chinese headers and square polygons."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("XM", np.arange(n).astype(str))
    demolish = rng.random(n) < 2 / 3
    target = pd.Timestamp("2027-06-30") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    hh = rng.integers(10, 800, n)
    df = pd.DataFrame(
        {
            "项目编号": ids,
            "项目名称": np.char.add("项目", np.arange(n).astype(str)),
            "类型": np.where(demolish, "征收拆迁", "保留提升"),
            "街道": rng.choice(["东关街道", "西关街道", "北园街道", "南郊街道"], n),
            "责任单位": "区住建局",
            "责任人": "张三",
            "户数": hh,
            "已签约户数": np.where(demolish, (hh * rng.random(n)).astype(int), 0),
            "拆除建筑面积": np.where(demolish, hh * 80.0, np.nan),
            "目标日期": target.strftime("%Y-%m-%d"),
        }
    )
    as_of = pd.Timestamp("2026-11-20")
    for ptype, gaps in (
        ("demolish", (360, 240, 150, 60, 0)),
        ("retain_upgrade", (240, 30, 0)),
    ):
        mask = demolish if ptype == "demolish" else ~demolish
        for stage, gap in zip(schema.PIPELINES[ptype], gaps, strict=True):
            zh = schema.STAGES[stage][0]
            planned = target - pd.Timedelta(days=gap)
            actual = planned + pd.to_timedelta(rng.integers(-20, 20, n), unit="D")
            df[f"{zh}计划日期"] = pd.Series(planned.strftime("%Y-%m-%d")).where(mask)
            df[f"{zh}实际日期"] = pd.Series(actual.strftime("%Y-%m-%d")).where(
                mask & (actual < as_of - pd.Timedelta(days=30))
            )
    side = int(np.ceil(np.sqrt(n)))
    x = 480_000 + (np.arange(n) % side) * 300.0
    y = 4_050_000 + (np.arange(n) // side) * 300.0
    polys = gpd.GeoDataFrame(
        {"project_id": ids}, geometry=shapely.box(x, y, x + 250, y + 250), crs="EPSG:4548"
    )
    return df, polys


def _time(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def figures(n: int, repeat: int = 3) -> list[dict]:
    """Medians for `n` projects for `python -m benchmarks`, against pd.read_csv."""
    df, polys = synthetic_ledger(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.csv"
        df.to_csv(path, index=False, encoding="utf-8-sig")
        base, _ = _time(lambda p=path: pd.read_csv(p, encoding="utf-8-sig"), repeat)
        t_read, ledger = _time(lambda p=path, g=polys: read_ledger(p, projects=g), repeat)
        t_prog, prog = _time(lambda led=ledger: project_progress(led, as_of="2026-11-20"), repeat)
        t_sum, _ = _time(lambda pr=prog: progress_summary(pr, by="street"), repeat)
        t_cmp, _ = _time(
            lambda led=ledger: compare_ledgers(
                led, led, as_of="2026-11-20", old_as_of="2026-10-01"
            ),
            repeat,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            t_fund, _ = _time(lambda led=ledger: fund_balance(led), repeat)
    b = "pd.read_csv"
    return [
        {"route": b, "seconds": base, "baseline": None},
        {"route": "read_ledger + join", "seconds": t_read, "baseline": b},
        {"route": "project_progress", "seconds": t_prog, "baseline": b},
        {"route": "progress_summary", "seconds": t_sum, "baseline": b},
        {"route": "compare_ledgers", "seconds": t_cmp, "baseline": b},
        {"route": "fund_balance", "seconds": t_fund, "baseline": b},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'projects':>9} {'step':<22} {'median s':>9} {'× read_csv':>11}")
    for n in args.sizes:
        df, polys = synthetic_ledger(n)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "ledger.csv"
            df.to_csv(path, index=False, encoding="utf-8-sig")
            base, _ = _time(lambda p=path: pd.read_csv(p, encoding="utf-8-sig"), args.repeat)
            t_read, ledger = _time(lambda p=path, g=polys: read_ledger(p, projects=g), args.repeat)
            t_prog, prog = _time(
                lambda led=ledger: project_progress(led, as_of="2026-11-20"), args.repeat
            )
            t_sum, _ = _time(lambda pr=prog: progress_summary(pr, by="street"), args.repeat)
            t_cmp, _ = _time(
                lambda led=ledger: compare_ledgers(
                    led, led, as_of="2026-11-20", old_as_of="2026-10-01"
                ),
                args.repeat,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                t_fund, _ = _time(lambda led=ledger: fund_balance(led), args.repeat)
        for name, t in (
            ("pd.read_csv (baseline)", base),
            ("read_ledger + join", t_read),
            ("project_progress", t_prog),
            ("progress_summary", t_sum),
            ("compare_ledgers", t_cmp),
            ("fund_balance", t_fund),
        ):
            print(f"{n:>9,} {name:<22} {t:>9.3f} {t / base:>11.1f}")


if __name__ == "__main__":
    main()
