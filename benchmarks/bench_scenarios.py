"""
Benchmark: three scenarios of the sample district compared in one run (方案比选).

The sample plan (``data/sample_plan.toml``) with three scenarios that differ in the cash
share and the fund parameters: ``base`` (cash share 30 %, bundled fund parameters),
``cash50`` (cash share 50 %, fund parameters with the same 50 %) and ``land8000`` (楼面地价
8,000 instead of 7,000 元/m²). Timed as the planner runs them, each in a fresh process
(median of ``--repeat``):

- baseline: one ``geo-renewal run`` of the base plan (maps, workbook, report);
- ``geo-renewal compare`` of the three scenarios (the comparison workbook, report, change
  maps and swipe map); target ≤ 1.5 × the baseline: reading, validation, classification and
  statistics run once, resettlement once per cash share, the fund once per parameter file;
- three separate ``geo-renewal run`` calls, one plan file per scenario: what comparing
  them by hand costs.

Run: ``.venv/bin/python -m benchmarks.bench_scenarios [--repeat 3]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"

CASH50 = "[resettlement]\ncash_share = 0.5\n"
LAND8000 = "[sale_plots]\nland_price_per_m2 = 8000.0\n"


def _plan_text(extra: str = "", scenarios: str = "") -> str:
    """The sample plan with absolute paths (it is written outside data/), plus `extra`."""
    text = (DATA / "sample_plan.toml").read_text(encoding="utf-8")
    text = text.split("\n# Scenarios (方案比选)")[0]  # the sample's own scenarios are not timed
    for name in (
        "sample_district.gpkg",
        "sample_ledger.xlsx",
        "flood_depth.tif",
        "sample_fund.toml",
    ):
        text = text.replace(f'"{name}"', f'"{(DATA / name).as_posix()}"')
    return text + extra + scenarios


def write_plans(folder: Path) -> dict[str, Path]:
    """Write the fund parameter files, the three-scenario plan and one plan per scenario."""
    (folder / "fund_cash50.toml").write_text(CASH50, encoding="utf-8")
    (folder / "fund_land8000.toml").write_text(LAND8000, encoding="utf-8")
    scenarios = (
        "\n[scenarios.cash50.resettlement]\ncash_share = 0.5\n"
        '[scenarios.cash50.fund]\nparams = "fund_cash50.toml"\n'
        '\n[scenarios.land8000.fund]\nparams = "fund_land8000.toml"\n'
    )
    plans = {
        "compare": _plan_text(scenarios=scenarios),
        "base": _plan_text(),
        "cash50": _plan_text(extra='\n[fund]\nparams = "fund_cash50.toml"\n').replace(
            "cash_share = 0.3", "cash_share = 0.5"
        ),
        "land8000": _plan_text(extra='\n[fund]\nparams = "fund_land8000.toml"\n'),
    }
    paths = {}
    for name, text in plans.items():
        paths[name] = folder / f"plan_{name}.toml"
        paths[name].write_text(text, encoding="utf-8")
    return paths


def _cli(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "from geo_renewal.cli import cli; cli()", *args, "--silent"],
        check=True,
        cwd=ROOT,
        capture_output=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    return time.perf_counter() - start


def figures(n: int = 0, repeat: int = 3) -> list[dict]:
    """Medians for `python -m benchmarks` (the sample district; `n` is not used)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plans = write_plans(folder)
        one, compare, three = [], [], []
        for _ in range(repeat):
            one.append(_cli("run", str(plans["base"]), "--out", str(folder / "one")))
            compare.append(_cli("compare", str(plans["compare"]), "--out", str(folder / "cmp")))
            three.append(
                sum(
                    _cli("run", str(plans[s]), "--out", str(folder / f"run_{s}"))
                    for s in ("base", "cash50", "land8000")
                )
            )
    b = "geo-renewal run (one scenario)"
    return [
        {"route": b, "seconds": statistics.median(one), "baseline": None},
        {
            "route": "geo-renewal compare (3 scenarios)",
            "seconds": statistics.median(compare),
            "baseline": b,
        },
        {"route": "3 × geo-renewal run", "seconds": statistics.median(three), "baseline": b},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = figures(repeat=args.repeat)
    base = rows[0]["seconds"]
    for row in rows:
        print(f"{row['route']:<36} {row['seconds']:7.2f} s  {row['seconds'] / base:5.2f} ×")


if __name__ == "__main__":
    main()
