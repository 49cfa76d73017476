"""
The performance suite: every benchmark of `benchmarks/` at several sizes, one process each.

``python -m benchmarks`` (see ``--help``) runs each benchmark's ``figures(n, repeat)`` in a
fresh subprocess per (benchmark, size) — and per route for `benchmarks.bench_scale`, so that
the in-memory and the dask path each get their own memory budget — and prints one table:
median seconds of every route and its ratio to the baseline measured in the same process.

Peak memory per run: ``peak MB`` is the largest resident set of any single process of the
run (``os.wait4`` rusage of the child, which folds in its waited-for children, e.g. dask
workers); ``tree MB`` is the largest *sum* over the child and all its descendants, sampled
every 0.1 s with psutil — what a cgroup or a 4 GB machine would see.

Memory limit (``--mem-limit``, default 4 GB, applied to runs above 1M parcels, i.e. the
5M runs of the dask benchmark): ``--limit-kind rss`` (default) kills the whole process tree
when the sampled ``tree MB`` exceeds it, like a cgroup's memory.max; ``--limit-kind as``
sets ``RLIMIT_AS`` (``ulimit -v``) in the child, which its worker processes inherit *each*
(so it does not cap a cluster's total) and which counts reserved virtual memory, not use.
A run that hits the limit is reported as ``out of memory`` (not as a failure of the suite).

Sizes are parcels; benchmarks whose natural unit differs map them: the ledger has one
project per 100 parcels, the resettlement plan 500 demand units over the parcels, maps
stop at 100k parcels (a meeting map of more is not drawn), 5M runs only the dask benchmark.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = (10_000, 100_000, 1_000_000, 5_000_000)


@dataclass
class Bench:
    """How the suite runs one benchmark module."""

    name: str
    module: str
    max_size: int | None = 1_000_000  # larger sizes are skipped
    size_of: Any = None  # parcels -> the benchmark's own size argument
    routes: tuple[str, ...] = ()  # run each route in its own process
    prepare: bool = False  # write inputs first, in a process of its own without a limit
    note: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)


BENCHES: dict[str, Bench] = {
    b.name: b
    for b in (
        Bench("read", "benchmarks.bench_read"),
        Bench("classify", "benchmarks.bench_classify"),
        Bench("stats", "benchmarks.bench_stats"),
        Bench("validate", "benchmarks.bench_validate"),
        Bench("landuse_codes", "benchmarks.bench_landuse_codes", note="三调 DLBM/DLMC on read"),
        Bench(
            "ledger",
            "benchmarks.bench_ledger",
            size_of=lambda n: max(100, n // 100),
            note="one project per 100 parcels",
        ),
        Bench(
            "store",
            "benchmarks.bench_store",
            max_size=100_000,
            size_of=lambda n: max(100, n // 50),
            note="one project per 50 parcels, 10 tasks and 100 households each, 8 weeks",
        ),
        Bench(
            "resettlement",
            "benchmarks.bench_resettlement",
            note="500 demand units, 100 sites",
        ),
        Bench(
            "cashflow",
            "benchmarks.bench_cashflow",
            max_size=10_000,
            size_of=lambda n: 200,
            note="200 projects, 50,000 buildings, 100 plots, ~10 years, full sensitivity",
        ),
        Bench(
            "maps",
            "benchmarks.bench_maps",
            max_size=100_000,
            note="maps stop at 100k parcels",
        ),
        Bench(
            "scenarios",
            "benchmarks.bench_scenarios",
            max_size=10_000,
            note="the sample district (4,183 parcels) at any size",
        ),
        Bench(
            "corridors",
            "benchmarks.bench_corridors",
            max_size=100_000,
            note="buildings; 20 corridors, skyline 120° at 0.1°",
        ),
        Bench(
            "maps-city",
            "benchmarks.bench_maps",
            max_size=1_000_000,
            note="overview against every parcel drawn (overview=False)",
            kwargs={"city": True},
        ),
        Bench(
            "print",
            "benchmarks.bench_print",
            max_size=100_000,
            note="A0 PDF vs GeoDataFrame.plot + savefig",
        ),
        Bench(
            "scale",
            "benchmarks.bench_scale",
            max_size=None,
            routes=("in-memory classify", "dask classify", "in-memory stats", "dask stats"),
            prepare=True,
            note="2 worker processes",
        ),
        Bench(
            "end_to_end",
            "benchmarks.bench_end_to_end",
            prepare=True,
            note="the job of issue 21 on benchmarks/city.py; each run a fresh process",
        ),
    )
}


# --------------------------------------------------------------------------- child


def child(args: argparse.Namespace) -> None:
    """Run one benchmark (one size, maybe one route) and write its figures as JSON."""
    bench = BENCHES[args.bench]
    module = importlib.import_module(bench.module)
    size = bench.size_of(args.n) if bench.size_of else args.n
    kwargs = dict(bench.kwargs)
    if args.route:
        kwargs["route"] = args.route
    if args.prepare:
        getattr(module, "prepare", lambda n: None)(size)
        Path(args.out).write_text(json.dumps({"rows": []}), encoding="utf-8")
        return
    rows = module.figures(size, args.repeat, **kwargs)
    usage_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    usage_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    Path(args.out).write_text(
        json.dumps(
            {"rows": rows, "self_mb": usage_self, "children_mb": usage_children}, default=str
        ),
        encoding="utf-8",
    )


# --------------------------------------------------------------------------- parent


def _parse_size(text: str) -> int:
    text = text.strip().upper().removesuffix("B")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text and text[-1] in scale:
        return int(float(text[:-1]) * scale[text[-1]])
    return int(text)


def _tree_rss(proc: Any) -> int:
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def _kill_tree(proc: Any) -> None:
    import psutil

    try:
        procs = [*proc.children(recursive=True), proc]
    except psutil.Error:
        return
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.kill()


def run_one(
    bench: Bench,
    n: int,
    route: str | None,
    repeat: int,
    limit: int | None,
    limit_kind: str,
    *,
    prepare: bool = False,
) -> dict[str, Any]:
    """Run one child process; return its figures, timings and peak memory."""
    import psutil

    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
        out = Path(tmp) / "figures.json"
        log = Path(tmp) / "log.txt"
        cmd = [sys.executable, "-m", "benchmarks.suite", "--child", bench.name, str(n)]
        cmd += ["--repeat", str(repeat), "--out", str(out)]
        if route:
            cmd += ["--route", route]
        if prepare:
            cmd += ["--prepare"]
        env = dict(os.environ)
        preexec = None
        if limit is not None:
            # dask workers: spill and pause before the budget is reached (2 workers + client)
            env["GR_BENCH_WORKER_MEMORY"] = str(int(limit * 0.4))
            if limit_kind == "as":

                def preexec() -> None:
                    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        t0 = time.perf_counter()
        with log.open("w", encoding="utf-8") as fh:
            popen = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, preexec_fn=preexec
            )
            proc = psutil.Process(popen.pid)
            peak_tree, killed = 0, False
            while True:
                pid, status, usage = os.wait4(popen.pid, os.WNOHANG)
                if pid:
                    break
                peak_tree = max(peak_tree, _tree_rss(proc))
                if limit is not None and limit_kind == "rss" and peak_tree > limit and not killed:
                    killed = True
                    _kill_tree(proc)
                time.sleep(0.1)
            popen.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        text = log.read_text(encoding="utf-8", errors="replace")
        result: dict[str, Any] = {
            "bench": bench.name,
            "n": n,
            "route": route,
            "wall_s": round(wall, 2),
            "peak_mb": round(usage.ru_maxrss / 1024, 1),
            "tree_mb": round(peak_tree / 2**20, 1),
            "limit_mb": None if limit is None else round(limit / 2**20),
            "limit_kind": None if limit is None else limit_kind,
        }
        if popen.returncode == 0 and out.exists():
            data = json.loads(out.read_text(encoding="utf-8"))
            result["status"] = "ok"
            result["rows"] = data["rows"]
        else:
            oom = killed or "MemoryError" in text or popen.returncode in (-9, 137)
            result["status"] = "out of memory" if oom else f"failed ({popen.returncode})"
            result["log_tail"] = text[-2000:]
            result["rows"] = [{"route": route or "-", "seconds": None, "baseline": None}]
        return result


def _plan(args: argparse.Namespace) -> list[tuple[Bench, int, str | None]]:
    names = args.only or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        msg = f"unknown benchmark(s) {unknown}; choose from {list(BENCHES)}"
        raise SystemExit(msg)
    plan = []
    for name in names:
        bench = BENCHES[name]
        for n in args.sizes:
            if bench.max_size is not None and n > bench.max_size:
                continue
            for route in bench.routes or (None,):
                plan.append((bench, n, route))
    return plan


def flatten(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per (benchmark, size, route) with its ratio to the baseline."""
    records = []
    for res in results:
        for row in res["rows"]:
            rec = {
                "bench": res["bench"],
                "n": res["n"],
                "route": row["route"],
                "median_s": row["seconds"],
                "baseline": row.get("baseline"),
                "status": res["status"],
                "peak_mb": res["peak_mb"],
                "tree_mb": res["tree_mb"],
                "limit_mb": res["limit_mb"],
                "extra": {
                    k: v for k, v in row.items() if k not in ("route", "seconds", "baseline")
                },
            }
            records.append(rec)
    by_key = {(r["bench"], r["n"], r["route"]): r for r in records}
    for r in records:
        base = by_key.get((r["bench"], r["n"], r["baseline"])) if r["baseline"] else None
        ok = base and base["median_s"] and r["median_s"] is not None
        r["ratio"] = r["median_s"] / base["median_s"] if ok else None
    return records


def print_table(records: list[dict[str, Any]]) -> None:
    header = (
        f"{'bench':<13}{'parcels':>10}  {'route':<34}{'median s':>10}{'× base':>8}"
        f"{'peak MB':>9}{'tree MB':>9}  status"
    )
    print(header)
    print("-" * len(header))
    for r in records:
        med = "—" if r["median_s"] is None else f"{r['median_s']:.3f}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}"
        limit = f" (limit {r['limit_mb']} MB)" if r["limit_mb"] else ""
        print(
            f"{r['bench']:<13}{r['n']:>10,}  {r['route'][:33]:<34}{med:>10}{ratio:>8}"
            f"{r['peak_mb']:>9.0f}{r['tree_mb']:>9.0f}  {r['status']}{limit}"
        )


def compare(old_path: Path, new: list[dict[str, Any]]) -> None:
    """Print the change of every median between an earlier run and this one."""
    old = json.loads(old_path.read_text(encoding="utf-8"))["results"]
    before = {(r["bench"], r["n"], r["route"]): r for r in old}
    print(f"\nchange against {old_path}:")
    print(f"{'bench':<13}{'parcels':>10}  {'route':<34}{'old s':>9}{'new s':>9}{'change':>9}")
    for r in new:
        o = before.get((r["bench"], r["n"], r["route"]))
        if o is None or o["median_s"] is None or r["median_s"] is None:
            continue
        change = r["median_s"] / o["median_s"] - 1
        print(
            f"{r['bench']:<13}{r['n']:>10,}  {r['route'][:33]:<34}{o['median_s']:>9.3f}"
            f"{r['median_s']:>9.3f}{change:>+9.1%}"
        )


def _meta(args: argparse.Namespace) -> dict[str, Any]:
    import geopandas
    import shapely

    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "load_avg_start": os.getloadavg()[0],
        "python": platform.python_version(),
        "geopandas": geopandas.__version__,
        "shapely": shapely.__version__,
        "sizes": args.sizes,
        "repeat": args.repeat,
        "mem_limit": args.mem_limit,
        "limit_kind": args.limit_kind,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run every benchmark at several sizes, one process each; print medians, "
        "ratios to each baseline and peak memory; write JSON; compare two runs.",
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--only", nargs="+", metavar="NAME", help=f"of {list(BENCHES)}")
    parser.add_argument("--quick", action="store_true", help="10k parcels, 1 repeat (smoke run)")
    parser.add_argument(
        "--repeat", type=int, help="runs per median (default 3; 1 at 1M parcels and more)"
    )
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--compare", type=Path, help="an earlier --json file to compare with")
    parser.add_argument("--mem-limit", default="4GB", help="budget of runs above 1M parcels")
    parser.add_argument("--limit-kind", choices=["rss", "as"], default="rss")
    parser.add_argument("--child", nargs=2, metavar=("BENCH", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--route", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.bench, args.n = args.child[0], int(args.child[1])
        args.repeat = args.repeat or 1
        child(args)
        return
    if args.quick:
        args.sizes, args.repeat = [10_000], 1
    limit = _parse_size(args.mem_limit) if args.mem_limit else None
    plan = _plan(args)
    print(
        f"{len(plan)} runs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        flush=True,
    )
    results = []
    prepared = set()
    for bench, n, route in plan:
        if (
            bench.prepare and (bench.name, n) not in prepared
        ):  # inputs are written outside any memory limit
            prepared.add((bench.name, n))
            res = run_one(bench, n, None, 1, None, args.limit_kind, prepare=True)
            if res["status"] != "ok":
                print(f"  preparing {bench.name} {n:,}: {res['status']}", flush=True)
        repeat = args.repeat or (1 if n >= 1_000_000 else 3)
        run_limit = limit if n > 1_000_000 else None
        label = f"{bench.name} {n:,}{f' {route}' if route else ''}"
        print(f"  running {label} …", end="", flush=True)
        res = run_one(bench, n, route, repeat, run_limit, args.limit_kind)
        print(f" {res['status']} in {res['wall_s']:.0f} s", flush=True)
        if res["status"].startswith("failed"):
            print(res.get("log_tail", ""), file=sys.stderr)
        results.append(res)
    records = flatten(results)
    print()
    print_table(records)
    notes = {b.name: b.note for b, _, _ in plan if b.note}
    for name, note in notes.items():
        print(f"  {name}: {note}")
    medians = [r["ratio"] for r in records if r["ratio"] is not None]
    if medians:
        print(f"  median ratio to baseline over all routes: {statistics.median(medians):.2f}")
    if args.json:
        payload = {"meta": _meta(args), "results": records, "runs": results}
        args.json.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
        print(f"wrote {args.json}")
    if args.compare:
        compare(args.compare, records)


if __name__ == "__main__":
    main()
