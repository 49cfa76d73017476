"""
The ledger store at city scale: 52 weekly snapshots of 2,000 projects, 20,000 tasks, 200,000 households.

Measured, wall seconds and the CPU seconds of the process (the machine is shared: compare
ratios within one run, and read the load average printed with them), next to
``pd.read_excel`` of the same week's workbooks (the floor of any reader of them):

* every weekly import into the store (`LedgerStore.import_snapshot`) from DataFrames (the
  store's own work: checks, versioning, one transaction) — target < 5 s — first, week 2,
  median and last (week 52 must not be much slower than week 2), and one week from its
  XLSX workbooks (reading them included);
* diffs between two snapshots (`LedgerStore.diff`): adjacent weeks, 1 ↔ 52, 26 ↔ 52 —
  target < 1 s;
* the history of one project, the households valid on one week;
* the progress playback HTML over every snapshot — target < 10 MB — and its build time;
* the store's file size.

    .venv/bin/python -m benchmarks.bench_store [--projects 2000] [--weeks 52] [--no-xlsx]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from geo_renewal.store import LedgerStore

START = pd.Timestamp("2026-01-02")  # a Friday
_TASKS = (
    "立项",
    "用地预审",
    "规划许可",
    "环评",
    "征收决定",
    "签约",
    "拆除",
    "组卷报批",
    "供地",
    "开工",
)
_DEPS = ((), (0,), (1,), (0,), (0,), (4,), (5,), (1, 6), (7, 2, 3), (8,))


def synthetic_week(
    n: int, week: int, *, hh_per_project: int = 100, seed: int = 0
) -> dict[str, pd.DataFrame]:
    """The workbooks of week `week` (0-based) for `n` projects: two ledgers, tasks, households."""
    rng = np.random.default_rng(seed)
    day = START + pd.Timedelta(weeks=week)
    ids = np.char.add("XM", np.arange(n).astype(str).astype("U6"))
    target = pd.Timestamp("2027-06-30") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    sign_plan = target - pd.Timedelta(days=360)
    pace = rng.uniform(0.5, 3.0, n)  # households signed per week
    hh = np.full(n, hh_per_project)
    signed = np.minimum(hh, (pace * (week + 10)).astype(int))
    ledger = pd.DataFrame(
        {
            "项目编号": ids,
            "项目名称": np.char.add("项目", ids),
            "类型": "征收拆迁",
            "街道": np.where(np.arange(n) % 2 == 0, "东关街道", "西关街道"),
            "责任单位": rng.choice(["区征收中心", "东关街道办", "西关街道办"], n),
            "责任人": "张三",
            "户数": hh,
            "已签约户数": signed,
            "目标日期": target.strftime("%Y-%m-%d"),
            "签约计划日期": sign_plan.strftime("%Y-%m-%d"),
            "拆除计划日期": (target - pd.Timedelta(days=240)).strftime("%Y-%m-%d"),
            "组卷报批计划日期": (target - pd.Timedelta(days=150)).strftime("%Y-%m-%d"),
            "供地计划日期": (target - pd.Timedelta(days=60)).strftime("%Y-%m-%d"),
            "开工计划日期": target.strftime("%Y-%m-%d"),
        }
    )
    tasks = _tasks(ids, sign_plan, day, rng)
    households = _households(ids, hh_per_project, signed, pace)
    half = ledger["街道"] == "东关街道"
    return {
        "东关街道台账": ledger[half].reset_index(drop=True),
        "西关街道台账": ledger[~half].reset_index(drop=True),
        "任务分解": tasks,
        "一户一档": households,
    }


def _tasks(ids: np.ndarray, sign_plan: pd.DatetimeIndex, day: pd.Timestamp, rng) -> pd.DataFrame:
    n, k = len(ids), len(_TASKS)
    finish = np.repeat(sign_plan.to_numpy(), k) + np.tile(
        np.arange(-300, 300, 600 // k)[:k].astype("timedelta64[D]"), n
    )
    finish = pd.DatetimeIndex(finish)
    start = finish - pd.Timedelta(days=60)
    done = finish <= day
    pid = np.repeat(ids, k)
    tid = np.char.add(np.char.add(pid, "-"), np.tile(np.arange(k).astype(str), n))
    deps = np.tile(np.array(["、".join(str(d) for d in ds) for ds in _DEPS], dtype=object), n)
    deps = [
        "、".join(f"{p}-{d}" for d in ds.split("、")) if ds else None
        for p, ds in zip(pid, deps, strict=True)
    ]
    elapsed = np.clip((day - start).days / 60, 0, 1)
    return pd.DataFrame(
        {
            "项目编号": pid,
            "任务编号": tid,
            "任务名称": np.tile(np.array(_TASKS), n),
            "责任单位": "区自然资源局",
            "责任人": "李四",
            "计划开始日期": start,
            "计划完成日期": finish,
            "实际完成日期": pd.Series(finish).where(done).to_numpy(),
            "前置任务": deps,
            "完成进度": np.where(done, 100, np.round(elapsed * 90)),
        }
    )


def _households(ids: np.ndarray, per: int, signed: np.ndarray, pace: np.ndarray) -> pd.DataFrame:
    """The r-th household of a project signs (r / pace − 10) weeks after START: fixed days."""
    n = len(ids)
    pid = np.repeat(ids, per)
    rank = np.tile(np.arange(per), n)
    is_signed = rank < np.repeat(signed, per)
    weeks = rank / np.repeat(pace, per) - 10
    when = (START + pd.to_timedelta(np.floor(weeks * 7), unit="D")).to_numpy()
    return pd.DataFrame(
        {
            "户编号": np.char.add(np.char.add(pid, "-"), rank.astype(str)),
            "项目编号": pid,
            "楼栋编号": np.char.add(pid, np.char.add("-B", (rank // 20).astype(str))),
            "状态": np.where(is_signed, "已签约", "未签约"),
            "签约日期": pd.Series(when).where(is_signed).to_numpy(),
            "补偿方式": np.where(rank % 3 == 0, "货币补偿", "产权调换"),
        }
    )


def synthetic_polygons(n: int) -> gpd.GeoDataFrame:
    """One 80 m square per project on a grid near Jinan (EPSG:4548)."""
    i = np.arange(n)
    x, y = 500_000 + (i % 50) * 100.0, 4_060_000 + (i // 50) * 100.0
    return gpd.GeoDataFrame(
        {"project_id": np.char.add("XM", i.astype(str).astype("U6"))},
        geometry=shapely.box(x, y, x + 80, y + 80),
        crs="EPSG:4548",
    )


def _write_xlsx(files: dict[str, pd.DataFrame], folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, df in files.items():
        path = folder / f"{name}.xlsx"
        df.to_excel(path, index=False)
        out[name] = path
    return out


def _timed(f):
    """Return (wall seconds, CPU seconds of this process, result) of one call."""
    t, c = time.perf_counter(), time.process_time()
    out = f()
    return time.perf_counter() - t, time.process_time() - c, out


def _import_weeks(store: LedgerStore, n: int, weeks: int, polys) -> dict[str, list[float]]:
    """Import `weeks` synthetic weeks from DataFrames; wall and CPU seconds per import."""
    wall, cpu, gen = [], [], []
    for w in range(weeks):
        t = time.perf_counter()
        f = synthetic_week(n, w)
        gen.append(time.perf_counter() - t)
        day = (START + pd.Timedelta(weeks=w)).date()
        tw, tc, _ = _timed(
            lambda f=f, day=day, w=w: store.import_snapshot(
                [f["东关街道台账"], f["西关街道台账"]],
                as_of=day,
                tasks=f["任务分解"],
                households=f["一户一档"],
                projects=polys if w == 0 else None,
            )
        )
        wall.append(tw)
        cpu.append(tc)
        print(f"  week {w + 1}: import {tw:.2f} s wall, {tc:.2f} s CPU", flush=True)
    return {"wall": wall, "cpu": cpu, "generate": gen}


def _xlsx_week(store: LedgerStore, n: int, week: int, folder: Path) -> dict[str, float]:
    """One more week from its XLSX workbooks, next to pd.read_excel of the same files."""
    paths = _write_xlsx(synthetic_week(n, week), folder)
    t_read, c_read, _ = _timed(lambda: [pd.read_excel(p) for p in paths.values()])
    t_imp, c_imp, _ = _timed(
        lambda: store.import_snapshot(
            [paths["东关街道台账"], paths["西关街道台账"]],
            as_of=(START + pd.Timedelta(weeks=week)).date(),
            tasks=paths["任务分解"],
            households=paths["一户一档"],
        )
    )
    print(f"  xlsx: read_excel {t_read:.1f} s, import {t_imp:.1f} s (wall)", flush=True)
    return {
        "read_excel_s": t_read,
        "read_excel_cpu_s": c_read,
        "import_xlsx_s": t_imp,
        "import_xlsx_cpu_s": c_imp,
    }


def _diffs(store: LedgerStore) -> dict[str, float]:
    """Diffs of several pairs: adjacent weeks, the first and the last, the middle and the last."""
    dates = store.dates()
    k = len(dates)
    pairs = {
        "adjacent (last two)": (k - 2, k - 1),
        "adjacent (first two)": (0, 1),
        f"1 ↔ {k}": (0, k - 1),
        f"{k // 2} ↔ {k}": (k // 2 - 1, k - 1),
    }
    out = {}
    for label, (i, j) in pairs.items():
        tw, tc, _ = _timed(lambda i=i, j=j: store.diff(dates[i], dates[j]))
        out[f"diff {label} s"], out[f"diff {label} cpu_s"] = tw, tc
        print(f"  diff {label}: {tw:.2f} s wall, {tc:.2f} s CPU", flush=True)
    return out


def _reads(store: LedgerStore, tmp: Path) -> dict[str, float]:
    """History of one project, the households of one week, the playback page."""
    from geo_renewal._mapplayback import playback_map

    dates = store.dates()
    out: dict[str, float] = {}
    out["history_s"], out["history_cpu_s"], _ = _timed(lambda: store.history("XM7"))
    out["households_of_a_week_s"], out["households_of_a_week_cpu_s"], _ = _timed(
        lambda: store.households(dates[len(dates) // 2])
    )
    out["playback_s"], out["playback_cpu_s"], page = _timed(
        lambda: playback_map(store, tmp / "playback.html")
    )
    out["playback_mb"] = page.stat().st_size / 1e6
    out["store_mb"] = store.path.stat().st_size / 1e6
    return out


def run(n: int = 2_000, weeks: int = 52, *, xlsx: bool = True) -> dict[str, float]:
    """Build the store week by week and return the measured figures (wall and CPU seconds)."""
    polys = synthetic_polygons(n)
    figures: dict[str, float] = {"load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        store = LedgerStore(Path(tmp) / "renewal.gpkg")
        t = _import_weeks(store, n, weeks - (1 if xlsx else 0), polys)
        wall, cpu = t["wall"], t["cpu"]
        figures["import_first_s"], figures["import_first_cpu_s"] = wall[0], cpu[0]
        figures["import_week2_s"], figures["import_week2_cpu_s"] = wall[1], cpu[1]
        figures["import_last_s"], figures["import_last_cpu_s"] = wall[-1], cpu[-1]
        figures["import_frames_median_s"] = statistics.median(wall[1:])
        figures["import_frames_median_cpu_s"] = statistics.median(cpu[1:])
        figures["import_frames_max_s"] = max(wall[1:])
        figures["generate_week_s"] = statistics.median(t["generate"])
        if xlsx:
            figures |= _xlsx_week(store, n, weeks - 1, Path(tmp) / "last")
        figures |= _diffs(store)
        figures |= _reads(store, Path(tmp))
    figures["load_after"] = os.getloadavg()[0]
    return figures


def figures(n: int, repeat: int = 1) -> list[dict]:
    """Rows for `python -m benchmarks`: `n` projects, 8 weeks (52 with the script itself)."""
    f = run(n, weeks=8)
    base = "pd.read_excel (one week's workbooks)"
    rows = [
        {"route": base, "seconds": f["read_excel_s"], "baseline": None},
        {"route": "import_snapshot (the same workbooks)", "seconds": f["import_xlsx_s"]},
        {"route": "import_snapshot (DataFrames, median)", "seconds": f["import_frames_median_s"]},
        {"route": "import_snapshot (DataFrames, first)", "seconds": f["import_first_s"]},
    ]
    rows += [
        {"route": k.removesuffix(" s"), "seconds": v}
        for k, v in f.items()
        if k.startswith("diff ") and k.endswith(" s") and not k.endswith("cpu_s")
    ]
    rows.append({"route": "history of one project", "seconds": f["history_s"]})
    rows.append({"route": "playback HTML", "seconds": f["playback_s"], "mb": f["playback_mb"]})
    for r in rows[1:]:
        r["baseline"] = base
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=2_000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument(
        "--no-xlsx", action="store_true", help="leave out the week read from XLSX workbooks"
    )
    args = parser.parse_args()
    n = args.projects
    f = run(n, args.weeks, xlsx=not args.no_xlsx)
    print(
        f"{args.weeks} weekly snapshots of {n:,} projects, {10 * n:,} tasks, {100 * n:,} "
        f"households (load average {f['load_before']:.1f} before, {f['load_after']:.1f} after; "
        f"wall seconds, CPU seconds of the process in brackets)"
    )
    print(
        f"  import one week from DataFrames: first {f['import_first_s']:.2f} "
        f"({f['import_first_cpu_s']:.2f}), week 2 {f['import_week2_s']:.2f} "
        f"({f['import_week2_cpu_s']:.2f}), median {f['import_frames_median_s']:.2f} "
        f"({f['import_frames_median_cpu_s']:.2f}), last {f['import_last_s']:.2f} "
        f"({f['import_last_cpu_s']:.2f}); last / week 2 CPU "
        f"{f['import_last_cpu_s'] / f['import_week2_cpu_s']:.2f}× (target < 5 s)"
    )
    print(f"  generating one week's tables: {f['generate_week_s']:.2f} s")
    if "read_excel_s" in f:
        print(
            f"  import the last week from its XLSX workbooks: {f['import_xlsx_s']:.2f} "
            f"({f['import_xlsx_cpu_s']:.2f}); pd.read_excel of the same workbooks: "
            f"{f['read_excel_s']:.2f} ({f['read_excel_cpu_s']:.2f}); ratio "
            f"{f['import_xlsx_s'] / f['read_excel_s']:.2f}× wall, "
            f"{f['import_xlsx_cpu_s'] / f['read_excel_cpu_s']:.2f}× CPU"
        )
    for k, v in f.items():
        if k.startswith("diff ") and not k.endswith("cpu_s"):
            print(f"  {k.removesuffix(' s')}: {v:.2f} ({f[k[:-2] + ' cpu_s']:.2f}) (target < 1 s)")
    print(f"  history of one project: {f['history_s']:.2f} ({f['history_cpu_s']:.2f})")
    print(
        f"  households valid on one week: {f['households_of_a_week_s']:.2f} "
        f"({f['households_of_a_week_cpu_s']:.2f})"
    )
    print(
        f"  playback HTML: {f['playback_mb']:.1f} MB in {f['playback_s']:.1f} "
        f"({f['playback_cpu_s']:.1f}) (target < 10 MB)"
    )
    print(f"  store file: {f['store_mb']:.0f} MB")


if __name__ == "__main__":
    main()
