"""
Stress harness of every threaded route (issue 21): N fresh processes per route, no crash.

The 100k-parcel city of `benchmarks.city` (30 wiggly zones, star-shaped heritage areas,
sinuous river buffers, corridors, sites, the flood raster) is written once as GeoParquet into
a temporary folder. For each route the single-threaded result (``n_jobs=1``) is computed
once and its digest (SHA-256 of the output array or frame) stored; then the route runs
``--runs`` times, each time in a fresh process with ``n_jobs=2``, and its digest must equal
the stored one EXACTLY. The thread thresholds are lowered to 1 (`lower_thresholds`), so
every step of a route runs on the pool, also those that 100k parcels leave below their
threshold (e.g. the few thousand straddlers of `_geos.overlap_areas`); ``--real-thresholds``
keeps the toolkit's own. The dask routes run dask's local threads (two partitions at once),
each partition's kernel on `n_jobs` threads too.

Per route the table shows runs, crashes by signal (SIGSEGV, SIGABRT, …), other non-zero
exits, timeouts and mismatches; the exit status is non-zero if any of them is.

Two ways to start a run's process (``--start``):

- ``fork`` (default): one server process per route imports the toolkit and reads the data
  once, then forks a child per run; the child computes the route on its threads, sends its
  digest through a pipe and exits. Each run is its own process (a crash kills only that
  child and shows as its signal) without paying ~3 s of interpreter start and reading.
- ``spawn``: every run is a new interpreter (``python -m benchmarks.stress_threads --child``)
  that imports, reads and computes: slower, the heap laid out from scratch each time.

``--malloc-check`` runs the children with ``MALLOC_CHECK_=3`` and ``MALLOC_PERTURB_=165``
(glibc's heap checks: a corrupted chunk aborts at once instead of later or never) and
``PYTHONMALLOC=debug`` with ``--start spawn`` (Python's own allocator checks).

Run: ``nice -n 10 .venv/bin/python -m benchmarks.stress_threads --runs 200 [--routes
zone_stats_apportion share_in …] [--jobs 1] [--n 100000] [--start fork|spawn]``;
``--list`` prints the routes.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
OVERLAPPING = 2_000  # parcels copied and shifted by a few metres: the validation's overlaps
TIMEOUT = 600.0  # seconds per run


# ------------------------------------------------------------------------------ the city


def build_city(n: int, folder: Path) -> dict[str, Path]:
    """Write the city of `n` parcels and its layers as GeoParquet (and the raster) in `folder`."""
    from benchmarks import city
    from benchmarks.synth import synthetic_city

    folder.mkdir(parents=True, exist_ok=True)
    paths = {"parcels": folder / "parcels.parquet"}
    if not paths["parcels"].exists():
        synthetic_city(n).to_parquet(paths["parcels"])
    makers: dict[str, Callable[[int], Any]] = {
        "zones": city.wiggly_zones,
        "heritage": city.heritage_areas,
        "river_buffer": city.river_buffers,
        "view_corridor": city.view_corridors,
        "sites": city.resettlement_sites,
    }
    for name, make in makers.items():
        paths[name] = folder / f"{name}.parquet"
        if not paths[name].exists():
            make(n).to_parquet(paths[name])
    paths["flood_depth"] = folder / "flood_depth.tif"
    if not paths["flood_depth"].exists():
        city.flood_raster(n, paths["flood_depth"])
    paths["parts"] = folder / "parts"
    if not paths["parts"].exists():
        parcels = __import__("geopandas").read_parquet(paths["parcels"])
        tmp = folder / "parts.tmp"
        tmp.mkdir()
        chunk = -(-len(parcels) // 8)
        for k, a in enumerate(range(0, len(parcels), chunk)):
            parcels.iloc[a : a + chunk].to_parquet(tmp / f"part.{k:05d}.parquet")
        tmp.rename(paths["parts"])
    return paths


def load(paths: dict[str, Path]) -> dict[str, Any]:
    """Read the city's layers (what every route's process reads before it computes)."""
    import geopandas as gpd

    data: dict[str, Any] = {
        k: gpd.read_parquet(v) for k, v in paths.items() if v.suffix == ".parquet"
    }
    data["flood_depth"] = paths["flood_depth"]
    data["parts"] = paths["parts"]
    data["folder"] = paths["parcels"].parent
    return data


# ------------------------------------------------------------------------------ the routes


def _zone_stats(how: str) -> Callable[[dict[str, Any], int], Any]:
    def route(data: dict[str, Any], n_jobs: int) -> Any:
        from geo_renewal.stats import zone_stats

        return zone_stats(
            data["parcels"], zones=data["zones"], zone_col="zone_id", how=how, n_jobs=n_jobs,
            policy=False,
        )  # fmt: skip

    return route


def _share_in(data: dict[str, Any], n_jobs: int) -> Any:
    from geo_renewal.spatial import share_in

    return share_in(data["parcels"], data["river_buffer"], n_jobs=n_jobs)


def _intersects(data: dict[str, Any], n_jobs: int) -> Any:
    from geo_renewal.spatial import intersects

    return intersects(data["parcels"], data["heritage"], n_jobs=n_jobs)


def _distance_to(data: dict[str, Any], n_jobs: int) -> Any:
    from geo_renewal.spatial import distance_to

    return distance_to(data["parcels"], data["sites"], n_jobs=n_jobs)


def _distance_to_max(data: dict[str, Any], n_jobs: int) -> Any:
    from geo_renewal.spatial import distance_to

    return distance_to(data["parcels"], data["sites"], max_dist=800, n_jobs=n_jobs)


def _validate(data: dict[str, Any], n_jobs: int) -> Any:
    from geo_renewal.validate import validate_layer

    parcels = data["parcels"]
    moved = parcels.iloc[:OVERLAPPING].copy()
    moved["parcel_id"] = "M" + moved["parcel_id"]
    moved.geometry = moved.geometry.translate(7.0, 3.0)
    layer = pd.concat([parcels, moved], ignore_index=True)
    report = validate_layer(layer, kind="parcels", n_jobs=n_jobs)
    if len(report.overlaps) < OVERLAPPING:  # the route must have found the overlaps
        msg = f"validate_layer found {len(report.overlaps)} overlaps, expected {OVERLAPPING}+"
        raise AssertionError(msg)
    return report.overlaps


def _classify(data: dict[str, Any], n_jobs: int) -> Any:
    from geo_renewal import settings
    from geo_renewal.classify import classify_parcels

    settings.n_jobs = n_jobs  # the rule functions read the one setting
    out = classify_parcels(
        data["parcels"], _rules(data["folder"]), layers=_layers(data),
        rasters={"flood_depth": data["flood_depth"]},
    )  # fmt: skip
    return pd.DataFrame(out.drop(columns=out.geometry.name))


def _zonal_stats(data: dict[str, Any], n_jobs: int) -> Any:
    """Raster burning of the parcels into the flood grid (slices of parcels on threads)."""
    from geo_renewal.raster import zonal_stats

    return zonal_stats(data["parcels"], data["flood_depth"], above=[0.5, 1.0], n_jobs=n_jobs)


def _read_parquet(data: dict[str, Any], n_jobs: int) -> Any:
    """read_layer of a GeoParquet file: WKB decoded while a second thread reads on."""
    from geo_renewal.io import read_layer

    return _with_wkb(read_layer(data["folder"] / "parcels.parquet", n_jobs=n_jobs))


def _write_parquet(data: dict[str, Any], n_jobs: int) -> Any:
    """write_layer to GeoParquet (WKB encoded while a second thread writes), read back."""
    import geopandas as gpd

    from geo_renewal.io import write_layer

    out = data["folder"] / f"written_{os.getpid()}.parquet"
    try:
        write_layer(data["parcels"], out, n_jobs=n_jobs)
        return _with_wkb(gpd.read_parquet(out))
    finally:
        out.unlink(missing_ok=True)


def _with_wkb(gdf: Any) -> pd.DataFrame:
    """A frame's columns with its geometry as WKB (hex), for an exact digest."""
    import shapely

    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    frame["wkb"] = shapely.to_wkb(np.asarray(gdf.geometry.array), hex=True)
    frame["crs"] = str(gdf.crs)
    return frame


def lower_thresholds() -> None:
    """Let every thread pool of the toolkit start from one item (small data reach them)."""
    import geo_renewal._geos
    import geo_renewal._overlaps
    import geo_renewal._stats_kernel
    import geo_renewal.geoparquet
    import geo_renewal.raster
    import geo_renewal.spatial

    geo_renewal._geos._PAIRS_PER_THREAD = 1
    geo_renewal._overlaps._THREAD_MIN = 1
    geo_renewal._stats_kernel._THREAD_MIN_PAIRS = 1
    geo_renewal.spatial._THREAD_MIN_PARCELS = 1
    geo_renewal.raster._BURN_MIN_PARCELS = 1
    geo_renewal.geoparquet.PIPELINE_MIN_ROWS = 1
    geo_renewal.geoparquet._SLICE_ROWS = 4_096  # many slices through the two threads


def _dask_scheduler(n_jobs: int) -> Any:
    import dask

    if n_jobs == 1:
        return dask.config.set(scheduler="synchronous")
    return dask.config.set(scheduler="threads", num_workers=n_jobs)


def _dask_classify(data: dict[str, Any], n_jobs: int) -> Any:
    """The partitioned route on dask's local threads (no cluster): partitions in parallel."""
    from geo_renewal import settings
    from geo_renewal.classify import classify_parcels
    from geo_renewal.io import read_layer

    settings.n_jobs = n_jobs  # dask's threads, each partition's kernel on threads too
    with _dask_scheduler(n_jobs):
        lazy = read_layer(data["parts"])
        out = classify_parcels(
            lazy, _rules(data["folder"]), layers=_layers(data),
            rasters={"flood_depth": data["flood_depth"]},
        ).compute()  # fmt: skip
    out = out.sort_index()
    return pd.DataFrame(out.drop(columns=out.geometry.name))


def _dask_zone_stats(data: dict[str, Any], n_jobs: int) -> Any:
    from geo_renewal.io import read_layer
    from geo_renewal.stats import zone_stats

    with _dask_scheduler(n_jobs):
        lazy = read_layer(data["parts"])
        return zone_stats(
            lazy, zones=data["zones"], zone_col="zone_id", n_jobs=n_jobs, policy=False
        )


def _layers(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in ("heritage", "river_buffer", "view_corridor", "sites")}


def _rules(folder: Path) -> Any:
    from benchmarks.bench_end_to_end import RULES
    from geo_renewal.rules import load_rules

    path = folder / "stress_rules.toml"
    if not path.exists():
        path.write_text(RULES, encoding="utf-8")
    return load_rules(path)


#: Every threaded route of the toolkit: name -> (data, n_jobs) -> array or frame.
ROUTES: dict[str, Callable[[dict[str, Any], int], Any]] = {
    "zone_stats_apportion": _zone_stats("apportion"),
    "zone_stats_largest": _zone_stats("largest"),
    "zone_stats_centroid": _zone_stats("centroid"),
    "share_in": _share_in,
    "intersects": _intersects,
    "distance_to": _distance_to,
    "distance_to_max": _distance_to_max,
    "validate_overlaps": _validate,
    "zonal_stats": _zonal_stats,
    "read_parquet": _read_parquet,
    "write_parquet": _write_parquet,
    "classify": _classify,
    "dask_classify": _dask_classify,
    "dask_zone_stats": _dask_zone_stats,
}


def _selftest_abort(data: dict[str, Any], n_jobs: int) -> Any:
    """A route that dies as a corrupted heap does (the harness must count it)."""
    if n_jobs > 1:
        os.abort()
    return np.zeros(1)


def _selftest_mismatch(data: dict[str, Any], n_jobs: int) -> Any:
    """A route whose threaded result differs (the harness must count it)."""
    return np.full(3, float(n_jobs))


#: Routes that check the harness itself (not run by default).
SELF_TESTS: dict[str, Callable[[dict[str, Any], int], Any]] = {
    "selftest_abort": _selftest_abort,
    "selftest_mismatch": _selftest_mismatch,
}


def digest(result: Any) -> str:
    """
    SHA-256 of a route's result: exact bytes of the values (a frame: index, columns, cells).

    Examples
    --------
    >>> digest(np.array([1.0, 2.0])) == digest(np.array([1.0, 2.0]))
    True
    >>> digest(np.array([1.0, 2.0])) == digest(np.array([1.0, np.nextafter(2.0, 3.0)]))
    False
    """
    h = hashlib.sha256()
    if isinstance(result, pd.Series):
        result = result.to_frame()
    if isinstance(result, pd.DataFrame):
        h.update(repr([list(map(str, result.columns)), list(map(str, result.dtypes))]).encode())
        frame = result.copy()
        for col in frame.columns:  # categorical / object cells by their text
            if not pd.api.types.is_numeric_dtype(frame[col]):
                frame[col] = frame[col].astype(str)
        frame.columns = range(frame.shape[1])
        h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
        for col in frame.columns:  # hash_pandas_object folds -0.0 / NaN payloads: raw bytes too
            if pd.api.types.is_float_dtype(frame[col]):
                h.update(np.ascontiguousarray(frame[col].to_numpy()).tobytes())
        return h.hexdigest()
    arr = np.asarray(result)
    h.update(repr((arr.shape, str(arr.dtype))).encode())
    h.update(np.ascontiguousarray(arr).tobytes() if arr.dtype != object else repr(arr).encode())
    return h.hexdigest()


# ------------------------------------------------------------------------------ the runs


@dataclass
class Tally:
    """What the runs of one route gave."""

    route: str
    runs: int = 0
    ok: int = 0
    signals: dict[str, int] = field(default_factory=dict)
    exits: int = 0
    timeouts: int = 0
    mismatches: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(self.signals.values()) + self.exits + self.timeouts + self.mismatches

    def add(self, status: int | None, got: str | None, want: str, note: str = "") -> None:
        """Count one run: `status` as `os.waitstatus_to_exitcode` (negative: a signal)."""
        self.runs += 1
        if status is None or status == -signal.SIGALRM:
            self.timeouts += 1
            self.notes.append("timeout: the stacks of its threads are in hang_*.txt")
        elif status < 0:
            name = signal.Signals(-status).name
            self.signals[name] = self.signals.get(name, 0) + 1
        elif status != 0 or got is None:
            self.exits += 1
        elif got != want:
            self.mismatches += 1
        else:
            self.ok += 1
            return
        if note and len(self.notes) < 3:
            self.notes.append(note.strip()[-400:])


def _flags(args: argparse.Namespace) -> list[str]:
    return [] if args.real_thresholds else ["--low"]


def _child_env(malloc_check: bool, spawn: bool) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if malloc_check:
        env.update(MALLOC_CHECK_="3", MALLOC_PERTURB_="165")
        if spawn:
            env["PYTHONMALLOC"] = "debug"
    return env


def _spawn_one(
    route: str, folder: Path, n_jobs: int, env: dict[str, str], flags: list[str]
) -> tuple[Any, ...]:
    """One run in a new interpreter: (status, digest, note)."""
    cmd = [sys.executable, "-m", "benchmarks.stress_threads", "--child", route]
    cmd += ["--folder", str(folder), "--n-jobs", str(n_jobs), *flags]
    try:
        res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=TIMEOUT)  # fmt: skip
    except subprocess.TimeoutExpired:
        return None, None, "timeout"
    lines = [x for x in res.stdout.splitlines() if x.startswith("DIGEST ")]
    got = lines[-1].split()[1] if lines else None
    return res.returncode, got, res.stderr


#: Seconds before the timeout at which a run still running writes every thread's stack.
HANG_MARGIN = 30.0


@contextlib.contextmanager
def _hang_dump(folder: Path, route: str) -> Any:
    """
    Write every thread's Python stack to ``hang_<route>_<pid>.txt`` if the run hangs.

    `faulthandler` writes the stacks `HANG_MARGIN` seconds before the run's timeout; a run
    that finishes cancels it and removes the (empty) file, so any file left names a hang.
    """
    import faulthandler

    path = folder / f"hang_{route}_{os.getpid()}.txt"
    with path.open("w", encoding="utf-8") as f:
        faulthandler.dump_traceback_later(TIMEOUT - HANG_MARGIN, exit=False, file=f)
        try:
            yield
        finally:
            faulthandler.cancel_dump_traceback_later()
    path.unlink(missing_ok=True)


def _serve(route: str, folder: Path) -> None:
    """
    Read once; for each line ``n`` on stdin fork `n` children at once, one run each.

    Prints one JSON line per run: its exit status (negative: the signal), the digest it
    sent through its pipe, or the error text.
    """
    data = load(_paths(folder))
    func = {**ROUTES, **SELF_TESTS}[route]
    for command in sys.stdin:
        pending: dict[int, tuple[int, float]] = {}  # pid -> (read end, start)
        for _ in range(int(command)):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: compute on threads, send the digest, exit at once
                os.close(r)
                signal.alarm(int(TIMEOUT))  # a hung run dies by SIGALRM: a timeout
                code = 0
                try:
                    with _hang_dump(folder, route):
                        result = digest(func(data, 2))
                    os.write(w, result.encode())
                except BaseException as e:
                    os.write(w, f"ERROR {type(e).__name__}: {e}".encode()[:2000])
                    code = 1
                os._exit(code)
            os.close(w)
            pending[pid] = (r, time.monotonic())
        while pending:
            pid, status = os.wait()
            r, t0 = pending.pop(pid)
            with os.fdopen(r, "rb") as f:
                text = f.read().decode(errors="replace")
            code = os.waitstatus_to_exitcode(status)
            got = text if code == 0 and not text.startswith("ERROR") else None
            line = {"status": code, "digest": got, "note": "" if got else text}
            print(json.dumps({**line, "s": time.monotonic() - t0}), flush=True)


class _Servers:
    """One fork server per route, started on first use, asked for a few runs at a time."""

    def __init__(self, folder: Path, args: argparse.Namespace) -> None:
        self.folder, self.args = folder, args
        self.procs: dict[str, subprocess.Popen[str]] = {}

    def runs(self, route: str, n: int) -> list[tuple[Any, ...]]:
        """Run `route` `n` times at once: (status, digest, note) per run."""
        proc = self.procs.get(route)
        if proc is None or proc.poll() is not None:
            cmd = [sys.executable, "-m", "benchmarks.stress_threads", "--serve", route]
            cmd += ["--folder", str(self.folder), *_flags(self.args)]
            env = _child_env(self.args.malloc_check, False)
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, text=True,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
            self.procs[route] = proc
        assert proc.stdin is not None
        assert proc.stdout is not None
        out = []
        try:
            proc.stdin.write(f"{n}\n")
            proc.stdin.flush()
            for _ in range(n):
                line = json.loads(proc.stdout.readline())
                out.append((line["status"], line["digest"], line["note"]))
        except (BrokenPipeError, json.JSONDecodeError):  # the server itself died
            proc.kill()
            out += [(1, None, f"the fork server exited ({proc.wait()})")] * (n - len(out))
        return out

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait()


def run_all(routes: list[str], folder: Path, args: argparse.Namespace) -> list[Tally]:
    """
    Run every route ``args.runs`` times on two threads, the routes taking turns.

    Round by round each route gets ``args.jobs`` runs, so a run stopped early has covered
    every route alike; the table so far is written to ``table.txt`` in `folder` after each
    round.
    """
    wants = {route: reference(route, folder) for route in routes}
    tallies = {route: Tally(route) for route in routes}
    servers = _Servers(folder, args) if args.start == "fork" else None
    env, flags = _child_env(args.malloc_check, True), _flags(args)
    t0 = time.perf_counter()
    try:
        for done in range(0, args.runs, args.jobs):
            batch = min(args.jobs, args.runs - done)
            for route in routes:
                t = time.perf_counter()
                if servers is not None:
                    results = servers.runs(route, batch)
                else:
                    with ThreadPoolExecutor(max_workers=batch) as pool:
                        futures = [
                            pool.submit(_spawn_one, route, folder, 2, env, flags)
                            for _ in range(batch)
                        ]
                        results = [f.result() for f in futures]
                for status, got, note in results:
                    tallies[route].add(status, got, wants[route], note)
                tallies[route].seconds += time.perf_counter() - t
            text = table(list(tallies.values()), time.perf_counter() - t0, args)
            (folder / "table.txt").write_text(text, encoding="utf-8")
    finally:
        if servers is not None:
            servers.close()
    return list(tallies.values())


def reference(route: str, folder: Path) -> str:
    """The single-threaded result's digest, computed once in a fresh process."""
    cache = folder / f"reference_{route}.txt"
    if cache.exists():
        return cache.read_text().strip()
    status, got, note = _spawn_one(route, folder, 1, _child_env(False, True), [])
    if status != 0 or got is None:
        msg = f"the single-threaded run of {route} failed (status {status}):\n{note}"
        raise SystemExit(msg)
    cache.write_text(got)
    return str(got)


def _paths(folder: Path) -> dict[str, Path]:
    names = ("parcels", "zones", "heritage", "river_buffer", "view_corridor", "sites")
    paths = {k: folder / f"{k}.parquet" for k in names}
    paths["flood_depth"] = folder / "flood_depth.tif"
    paths["parts"] = folder / "parts"
    return paths


def table(tallies: list[Tally], wall: float, args: argparse.Namespace) -> str:
    """One row per route: runs, crashes by signal, exits, timeouts, mismatches, seconds."""
    head = f"{'route':<24}{'runs':>6}{'ok':>6}{'SIGSEGV':>9}{'SIGABRT':>9}{'other sig':>10}"
    head += f"{'exit≠0':>8}{'timeout':>9}{'mismatch':>10}{'s/run':>8}"
    lines = [
        f"{args.runs} runs per route asked, n_jobs=2 against n_jobs=1, {args.n:,} parcels, "
        f"start={args.start}, jobs={args.jobs}, malloc_check={args.malloc_check}, "
        f"thresholds={'real' if args.real_thresholds else 'lowered to 1'}",
        head,
    ]
    for t in tallies:
        seg, abrt = t.signals.get("SIGSEGV", 0), t.signals.get("SIGABRT", 0)
        other = sum(t.signals.values()) - seg - abrt
        per = t.seconds / max(t.runs, 1)
        lines.append(f"{t.route:<24}{t.runs:>6}{t.ok:>6}{seg:>9}{abrt:>9}{other:>10}"
                     f"{t.exits:>8}{t.timeouts:>9}{t.mismatches:>10}{per:>8.2f}")  # fmt: skip
        lines += ["    " + note.replace("\n", "\n    ") for note in t.notes]
    load_avg = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines.append(f"total wall time {wall / 60:.1f} min; load average now {load_avg}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--routes", nargs="*", default=None, help="default: every route")
    p.add_argument("--jobs", type=int, default=1, help="runs at once (processes)")
    p.add_argument("--n", type=int, default=100_000, help="parcels of the city")
    p.add_argument("--start", choices=("fork", "spawn"), default="fork")
    p.add_argument("--malloc-check", action="store_true")
    p.add_argument("--folder", type=Path, default=None, help="keep the city here")
    p.add_argument("--real-thresholds", action="store_true", help="keep the thread thresholds")
    p.add_argument("--list", action="store_true")
    p.add_argument("--low", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    p.add_argument("--n-jobs", type=int, default=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.list:
        print("\n".join(ROUTES))
        return 0
    if args.low:
        lower_thresholds()
    if args.child:  # one run: read, compute, print the digest
        func = {**ROUTES, **SELF_TESTS}[args.child]
        with _hang_dump(args.folder, args.child):
            print("DIGEST", digest(func(load(_paths(args.folder)), args.n_jobs)))
        return 0
    if args.serve:
        _serve(args.serve, args.folder)
        return 0
    routes = args.routes or list(ROUTES)
    unknown = sorted(set(routes) - set(ROUTES) - set(SELF_TESTS))
    if unknown:
        p.error(f"unknown routes {unknown}; --list shows them")
    with contextlib.ExitStack() as stack:
        folder = args.folder or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        t0 = time.perf_counter()
        build_city(args.n, folder)
        tallies = run_all(routes, folder, args)
        print("\n" + table(tallies, time.perf_counter() - t0, args), end="")
    return 1 if any(t.failed for t in tallies) else 0


if __name__ == "__main__":
    sys.exit(main())
