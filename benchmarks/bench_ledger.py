"""
Ledger and fund-balance timings against reading the same CSV with pandas alone.

A district ledger has tens to hundreds of rows; a city-wide one a few thousand. Measured:
read_ledger (parse, check, join to polygons), project_progress, progress_summary,
compare_ledgers and fund_balance, each as a ratio to ``pd.read_csv`` of the same file
(the floor any ledger reader pays); and read_ledger on a 2,000-project workbook as offices
send it (title rows, a two-row merged header, unit headers, 小计 and 合计 rows) against
``pd.read_excel`` of the same file (target: within 1.5×).

    .venv/bin/python -m benchmarks.bench_ledger [--sizes 1000 10000] [--repeat 3] [--messy-only]
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


def messy_workbook(n: int, path: Path, *, seed: int = 0) -> int:
    """
    Write `n` projects as a street office sends them; return the sheet's row count.

    Two title rows above a two-row header (stage names merged over 计划日期 / 实际日期,
    other headers merged vertically), headers with units, a 小计 row after each street's
    projects and a 合计 row at the bottom.
    """
    import openpyxl

    df, _ = synthetic_ledger(n, seed=seed)
    df = df.sort_values("街道", kind="stable").reset_index(drop=True)
    heads = list(df.columns)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(["某某区城市更新项目台账（截至11月20日）"])
    ws.append(["填报单位：区城市更新指挥部办公室"])
    top, sub = [], []
    for h in heads:
        if h.endswith(("计划日期", "实际日期")):
            top.append(h[:-4] if h.endswith("计划日期") else None)
            sub.append(h[-4:])
        else:
            top.append({"户数": "户数（户）", "拆除建筑面积": "拆除建筑面积（㎡）"}.get(h, h))
            sub.append(None)
    ws.append(top)
    ws.append(sub)
    for j, h in enumerate(heads, start=1):
        if h.endswith("计划日期"):
            ws.merge_cells(start_row=3, start_column=j, end_row=3, end_column=j + 1)
        elif not h.endswith("实际日期"):
            ws.merge_cells(start_row=3, start_column=j, end_row=4, end_column=j)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(heads))
    j_hh = heads.index("户数")
    values = df.astype(object).where(df.notna(), None).to_numpy().tolist()
    for street, rows in df.groupby("街道", sort=False).groups.items():
        for i in rows:
            ws.append(values[i])
        subtotal: list[object] = [f"{street}小计"] + [None] * (len(heads) - 1)
        subtotal[j_hh] = int(df.loc[rows, "户数"].sum())
        ws.append(subtotal)
    total: list[object] = ["合计"] + [None] * (len(heads) - 1)
    total[j_hh] = int(df["户数"].sum())
    ws.append(total)
    wb.save(path)
    return ws.max_row


def messy_figures(n: int = 2_000, repeat: int = 3) -> dict:
    """read_ledger vs pd.read_excel on `messy_workbook(n)`: seconds and their ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "台账.xlsx"
        messy_workbook(n, path)
        base, _ = _time(lambda p=path: pd.read_excel(p, dtype=object), repeat)
        t_read, ledger = _time(lambda p=path: read_ledger(p), repeat)
    assert len(ledger.table) == n, ledger  # every project, no total row among them
    return {"n": n, "read_excel": base, "read_ledger": t_read, "ratio": t_read / base}


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
    messy = messy_figures(n, repeat)
    b = "pd.read_csv"
    return [
        {
            "route": "pd.read_excel (messy workbook)",
            "seconds": messy["read_excel"],
            "baseline": None,
        },
        {
            "route": "read_ledger (messy workbook)",
            "seconds": messy["read_ledger"],
            "baseline": "pd.read_excel (messy workbook)",
        },
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
    parser.add_argument(
        "--messy-only",
        action="store_true",
        help="Only the 2,000-project workbook with title rows, merged headers and totals.",
    )
    args = parser.parse_args()
    messy = messy_figures(2_000, args.repeat)
    print(
        f"2,000 projects, title rows + two-row merged header + 小计/合计 rows (XLSX): "
        f"pd.read_excel {messy['read_excel']:.3f} s, read_ledger {messy['read_ledger']:.3f} s, "
        f"ratio {messy['ratio']:.2f}× (target ≤ 1.5×)"
    )
    if args.messy_only:
        return
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
