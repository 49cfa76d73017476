"""
The cash flow's schedule (现金流的时间安排): every line of a project as a dated item.

Private to `geo_renewal.cashflow`: the lines and their timing classes (`CASHFLOW_LINES`),
the dates of each project (ledger, else assumed from the meeting date), the items (amount,
start, end in months), their spreading over periods, and one scenario's project grid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal._errors import InputError
from geo_renewal.fund_params import FundParams

#: Lines of the cash flow: code -> sign (−1 cost, +1 inflow) and timing class (0 fixed,
#: 1 moves with a signing delay, 2 also with a land-supply delay). How far a line of a
#: project moves is its own: the plan's slack (`_signing_slack`, `_TIMING`).
CASHFLOW_LINES: dict[str, tuple[int, int]] = {
    "compensation": (-1, 1),
    "comp_temporary": (-1, 1),
    "demolition_cost": (-1, 1),
    "infrastructure_cost": (-1, 1),
    "upgrade_cost": (-1, 0),  # 保留提升 projects sign nothing
    "resettlement_construction": (-1, 0),
    "bond_repayment": (-1, 0),
    "land_revenue": (1, 2),
    "resettlement_settlement": (1, 0),
    "other_revenue": (1, 2),
    "subsidy_revenue": (1, 0),
    "special_bonds": (1, 0),
}
_LINES = tuple(CASHFLOW_LINES)
_SIGN = np.array([CASHFLOW_LINES[k][0] for k in _LINES], dtype=float)
_COSTS = [i for i, k in enumerate(_LINES) if CASHFLOW_LINES[k][0] < 0 and k != "bond_repayment"]
_MONTHS = {"year": 12, "quarter": 3}
#: Flat-household lines, scaled by (1 − cash share) in the cash-share sensitivity.
_FLAT_LINES = ("comp_temporary", "resettlement_construction", "resettlement_settlement")


# --------------------------------------------------------------------------- items


def _months(dates: pd.Series, year0: int) -> np.ndarray:
    """Return dates as months since 1 January of `year0` (fractional; NaN if missing)."""
    d = pd.to_datetime(dates, errors="coerce")
    out = (d.dt.year - year0) * 12 + (d.dt.month - 1) + (d.dt.day - 1) / d.dt.days_in_month
    return out.to_numpy(dtype=float)


def _first(projects: pd.DataFrame, stage: str) -> pd.Series:
    """Return a stage's actual date, else its planned date (NaT when neither)."""
    out = pd.Series(pd.NaT, index=projects.index, dtype="datetime64[ns]")
    for col in (f"{stage}_planned", f"{stage}_actual"):
        if col in projects.columns:
            d = pd.to_datetime(projects[col], errors="coerce").astype("datetime64[ns]")
            out = d.where(d.notna(), out)
    return out


def _schedule(rollup: pd.DataFrame, schedule: pd.DataFrame | None, p: FundParams) -> pd.DataFrame:
    """Return per project the dates that place its lines (NaT where not known)."""
    src = rollup if schedule is None else schedule
    src = src.set_axis(rollup.index) if len(src) == len(rollup) else rollup
    out = pd.DataFrame(index=rollup.index)
    for stage in ("signing", "demolition", "land_supply", "design", "works", "acceptance"):
        out[stage] = _first(src, stage)
    out["signed"] = (
        pd.to_datetime(src["signing_actual"], errors="coerce")
        if "signing_actual" in src.columns
        else pd.NaT
    )
    out["flat_ready"] = (
        pd.to_datetime(src["flat_ready"], errors="coerce")
        if "flat_ready" in src.columns
        else pd.NaT
    )
    return out


def _stage_months(
    rollup: pd.DataFrame,
    dates: pd.DataFrame,
    m: Mapping[str, np.ndarray],
    now: float,
    p: FundParams,
) -> dict[str, np.ndarray]:
    """
    Return each project's stage months: signing end, 拆除, 供地, flats ready, upgrade works.

    A missing date follows from the one before it and the ``[cashflow]`` months; a later stage
    is never before an earlier one. ``assumed`` marks projects placed from the meeting date,
    ``signed`` those whose signing is done (an actual 签约 date).
    """
    demolish = (rollup["project_type"] == "demolish").to_numpy()
    sign = m["signing"]
    assumed = np.isnan(sign)
    sign = np.where(assumed, now, sign)
    demo = np.where(np.isnan(m["demolition"]), sign + p.demolition_months, m["demolition"])
    demo = np.maximum(demo, sign)
    land = np.where(np.isnan(m["land_supply"]), demo + p.infrastructure_months, m["land_supply"])
    land = np.maximum(land, demo)
    months_col = rollup.get("temporary_months", p.temporary_months)
    ready = np.where(
        np.isnan(m["flat_ready"]), sign + np.asarray(months_col, dtype=float), m["flat_ready"]
    )
    ready = np.maximum(ready, sign)
    up_start = np.where(np.isnan(m["design"]), now, m["design"])
    up_end = np.fmax(m["works"], m["acceptance"])
    up_end = np.where(np.isnan(up_end), up_start + p.upgrade_months, np.maximum(up_end, up_start))
    if not demolish.all():
        assumed = assumed & demolish | (~demolish & np.isnan(m["design"]))
    signed = dates["signed"].notna().to_numpy() if "signed" in dates else np.zeros(len(sign), bool)
    return {
        "sign": sign,
        "demo": demo,
        "land": land,
        "ready": ready,
        "up_start": up_start,
        "up_end": up_end,
        "assumed": assumed,
        "delayable": demolish & ~signed,
    }


def _signing_slack(t: Mapping[str, np.ndarray], p: FundParams) -> dict[str, np.ndarray]:
    """
    Return the months of a signing delay that each stage's plan absorbs (净地出让).

    Land is supplied only when it is cleared, and clearing needs the signing done: 拆除 no
    earlier than the signing end + ``demolition_months``, 供地 no earlier than it + the
    ``infrastructure_months`` (组卷报批, 净地) after that, and never before 拆除. Where the plan
    leaves more time than that, the difference is slack: a signing delay of N months moves
    拆除 by max(0, N − slack) and 供地 likewise. A plan tighter than the lead times is taken
    as it is (no slack). Projects whose signing is done, or that sign nothing (保留提升),
    have infinite slack: a signing delay does not move them.
    """
    sign, demo, land = t["sign"], t["demo"], t["land"]
    demo_slack = np.maximum(demo - sign - p.demolition_months, 0.0)
    land_slack = np.maximum(land - sign - p.demolition_months - p.infrastructure_months, 0.0)
    land_slack = np.minimum(land_slack, demo_slack + (land - demo))
    never = ~t["delayable"]
    return {
        "signing": np.where(never, np.inf, 0.0),
        "demolition": np.where(never, np.inf, demo_slack),
        "land_supply": np.where(never, np.inf, land_slack),
        "fixed": np.full(len(sign), np.inf),
    }


#: Per line: the stage slack of its start and of its end (`_signing_slack`), and whether it
#: moves with a delay of land supply.
_TIMING: dict[str, tuple[str, str, bool]] = {
    "compensation": ("signing", "signing", False),
    "comp_temporary": ("signing", "signing", False),
    "demolition_cost": ("signing", "demolition", False),
    "infrastructure_cost": ("demolition", "land_supply", False),
    "upgrade_cost": ("fixed", "fixed", False),
    "resettlement_construction": ("fixed", "fixed", False),
    "resettlement_settlement": ("fixed", "fixed", False),
    "other_revenue": ("land_supply", "land_supply", True),
}


def _items(
    rollup: pd.DataFrame,
    plots: pd.DataFrame,
    schedule: pd.DataFrame | None,
    p: FundParams,
    as_of: dt.date,
) -> tuple[pd.DataFrame, int, pd.DataFrame]:
    """
    Return the dated items, the first year, and per project how its dates were found.

    Items: project (position), line, amount ≥ 0, start and end in months since `year0`,
    ``start_slack`` / ``end_slack`` (the months of a signing delay the plan absorbs before
    the date moves; inf: it never moves) and ``supply`` (moves with a land-supply delay);
    the table per project: ``basis``, the ledger's dates (``ledger``) or assumed from `as_of`
    (``assumed``), and the slack of its ``signing``, ``demolition`` and ``land_supply``.
    """
    dates = _schedule(rollup, schedule, p)
    stages = dates.drop(columns="signed")
    known = stages.stack().dropna() if stages.notna().any().any() else pd.Series(dtype=object)
    year0 = int(min(pd.Timestamp(as_of).year, *(pd.DatetimeIndex(known).year.tolist() or [9999])))
    m = {c: _months(stages[c], year0) for c in stages.columns}
    now = float(_months(pd.Series([pd.Timestamp(as_of)]), year0)[0])
    t = _stage_months(rollup, dates, m, now, p)
    slack = _signing_slack(t, p)
    r = rollup
    temporary = r["comp_temporary"].to_numpy(dtype=float)
    sign = t["sign"]
    spans = {
        "compensation": (
            r["compensation"].to_numpy(dtype=float) - temporary,
            sign - p.signing_months,
            sign,
        ),
        "comp_temporary": (temporary, sign, t["ready"]),
        "demolition_cost": (r["demolition_cost"].to_numpy(dtype=float), sign, t["demo"]),
        "infrastructure_cost": (
            r["infrastructure_cost"].to_numpy(dtype=float),
            t["demo"],
            t["land"],
        ),
        "upgrade_cost": (r["upgrade_cost"].to_numpy(dtype=float), t["up_start"], t["up_end"]),
        "resettlement_construction": (
            r["resettlement_construction"].to_numpy(dtype=float),
            sign,
            t["ready"],
        ),
        "resettlement_settlement": (
            r["resettlement_settlement"].to_numpy(dtype=float),
            t["ready"],
            t["ready"],
        ),
        "other_revenue": (r["other_revenue"].to_numpy(dtype=float), t["land"], t["land"]),
    }
    n = len(rollup)
    blocks = [
        pd.DataFrame(
            {
                "project": np.arange(n),
                "line": _LINES.index(k),
                "amount": a,
                "start": s,
                "end": e,
                "start_slack": slack[_TIMING[k][0]],
                "end_slack": slack[_TIMING[k][1]],
                "supply": _TIMING[k][2],
            }
        )
        for k, (a, s, e) in spans.items()
    ]
    blocks.append(_plot_items(rollup, plots, t["land"], slack["land_supply"], year0))
    items = pd.concat(blocks, ignore_index=True)
    items = items[items["amount"] != 0].reset_index(drop=True)
    early = float(np.nanmin(np.r_[items["start"].to_numpy(), 0.0]))
    if early < 0:  # e.g. compensation paid in the months before the first signing date
        years = int(np.ceil(-early / 12))
        items[["start", "end"]] += 12 * years
        year0 -= years
    basis = pd.DataFrame(
        {
            "basis": np.where(t["assumed"], "assumed", "ledger"),
            **{k: slack[k] for k in ("signing", "demolition", "land_supply")},
        },
        index=rollup.index,
    )
    return items, year0, basis


def _plot_items(
    rollup: pd.DataFrame, plots: pd.DataFrame, land: np.ndarray, slack: np.ndarray, year0: int
) -> pd.DataFrame:
    """
    Land revenue at each plot's sale date (成交 actual, else planned, else 供地).

    A signing delay moves a plot's sale no earlier than its project's delayed 供地: a sale
    planned after 供地 has that much more slack. A plot at 净地 or later (its land cleared)
    does not move with signing; a sold plot (成交) moves with nothing.
    """
    pos = pd.Series(np.arange(len(rollup)), index=rollup["project_id"].astype(str).to_numpy())
    project = pos.reindex(plots["project_id"].astype(str).to_numpy()).to_numpy()
    known = ~np.isnan(project.astype(float))
    project = np.where(known, project, 0).astype(int)
    sale = (
        _months(plots["sale_date"], year0)
        if "sale_date" in plots.columns
        else np.full(len(plots), np.nan)
    )
    when = np.where(np.isnan(sale), land[project], sale)
    status = (
        plots["status"].astype(object).to_numpy()
        if "status" in plots.columns
        else np.full(len(plots), None, dtype=object)
    )
    sold = status == "sold"
    cleared = np.isin(status, ["cleared", "announced", "sold"])
    own = slack[project] + np.maximum(when - land[project], 0.0)
    own = np.where(cleared, np.inf, own)
    return pd.DataFrame(
        {
            "project": project[known],
            "line": _LINES.index("land_revenue"),
            "amount": plots["land_revenue"].to_numpy(dtype=float)[known],
            "start": when[known],
            "end": when[known],
            "start_slack": own[known],
            "end_slack": own[known],
            "supply": ~sold[known],
        }
    )


def _subsidy_items(
    subsidies: Sequence[Mapping[str, Any]], rollup: pd.DataFrame, year0: int, last: float
) -> pd.DataFrame:
    """Subsidies and special bonds as items of a project (a bundle's go to its first project)."""
    ids = rollup["project_id"].astype(str).tolist()
    bundles = rollup["bundle"].astype(str).tolist()
    rows = []
    for i, e in enumerate(subsidies):
        if "project_id" in e:
            who, pool = str(e["project_id"]), ids
        else:
            who, pool = str(e["bundle"]), bundles
        if who not in pool:
            what = "project" if pool is ids else "bundle"
            msg = (
                f"[[subsidies]] #{i + 1} names {what} {who!r}, which is not among the "
                f"{what}s {sorted(set(pool))[:10]}; correct the name."
            )
            raise InputError(msg)
        k = pool.index(who)
        at = float(_months(pd.Series([pd.Timestamp(e["date"])]), year0)[0])
        bond = e.get("kind") == "special_bond"
        line = "special_bonds" if bond else "subsidy_revenue"
        rows.append((k, _LINES.index(line), float(e["amount"]), at, at))
        if bond:
            rd = e.get("repay_date")
            back = last if rd is None else float(_months(pd.Series([pd.Timestamp(rd)]), year0)[0])
            rows.append((k, _LINES.index("bond_repayment"), float(e["amount"]), back, back))
    out = pd.DataFrame(rows, columns=["project", "line", "amount", "start", "end"])
    return out.assign(start_slack=np.inf, end_slack=np.inf, supply=False)


# --------------------------------------------------------------------------- spreading


def _spread(start: np.ndarray, end: np.ndarray, n_periods: int, width: float) -> np.ndarray:
    """
    Return the share of each item in each period, shape ``start.shape + (n_periods,)``.

    An item spread over [start, end] months is split by overlap; a point item (start ==
    end) falls in the period holding it. Items past the last period go into the last one.
    """
    a = np.clip(start / width, 0, n_periods - 1e-9)[..., None]
    b = np.clip(end / width, 0, n_periods - 1e-9)[..., None]
    k = np.arange(n_periods, dtype=float)
    length = b - a
    overlap = np.clip(np.minimum(b, k + 1) - np.maximum(a, k), 0, None)
    point = np.floor(a) == k
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(length > 1e-9, overlap / np.where(length > 1e-9, length, 1), point)
    return share


@dataclass(frozen=True)
class _Scenario:
    land_factor: float = 1.0
    supply_delay: Any = 0.0  # months; an array gives each item its own
    signing_delay: float = 0.0
    cash_share_change: float = 0.0
    compensation_factor: float = 1.0


def _labels(year0: int, n: int, period: str) -> tuple[str, ...]:
    if period == "year":
        return tuple(str(year0 + k) for k in range(n))
    return tuple(f"{year0 + k // 4}Q{k % 4 + 1}" for k in range(n))


def _shifted(items: Mapping[str, Any], sc: _Scenario) -> tuple[np.ndarray, np.ndarray]:
    """
    Return the items' start and end months under a scenario's delays.

    A signing delay of N months moves each date by max(0, N − its slack) (`_signing_slack`);
    a land-supply delay moves the items that wait for 供地 by its months.
    """
    supply = sc.supply_delay * np.asarray(items["supply"], dtype=float)
    start = np.asarray(items["start"], dtype=float) + supply
    end = np.asarray(items["end"], dtype=float) + supply
    if sc.signing_delay:
        n = float(sc.signing_delay)
        start = start + np.maximum(n - np.asarray(items["start_slack"], dtype=float), 0.0)
        end = end + np.maximum(n - np.asarray(items["end_slack"], dtype=float), 0.0)
    return start, end


def signing_moves(slack: pd.DataFrame, months: float) -> pd.DataFrame:
    """
    Return the months each project's signing, 拆除 and 供地 move under a signing delay.

    `slack` is the ``slack`` table of `_items` (months each stage's plan absorbs, inf where the
    stage never moves); a stage moves by max(0, months − slack).

    Examples
    --------
    >>> slack = pd.DataFrame({"signing": [0.0, np.inf], "demolition": [2.0, np.inf],
    ...                       "land_supply": [8.0, np.inf]})
    >>> signing_moves(slack, 6.0).to_dict("list")
    {'signing': [6.0, 0.0], 'demolition': [4.0, 0.0], 'land_supply': [0.0, 0.0]}
    """
    return np.maximum(months - slack[["signing", "demolition", "land_supply"]], 0.0)


def _project_grid(
    items: Mapping[str, Any],
    n_projects: int,
    n_periods: int,
    width: float,
    sc: _Scenario,
    *,
    cash_share: np.ndarray | None = None,
    flat_factor: np.ndarray | None = None,
) -> np.ndarray:
    """
    Return the signed flows ``(projects, lines, periods)`` of one scenario.

    A cash-share change scales each project's flat lines by `flat_factor` (its whole flat
    households under the new share ÷ under the base one) when given, else by the share of
    households taking a flat.
    """
    line = np.asarray(items["line"])
    start, end = _shifted(items, sc)
    amount = np.array(items["amount"], dtype=float)
    amount[line == _LINES.index("land_revenue")] *= sc.land_factor
    comp = np.isin(line, [_LINES.index("compensation"), _LINES.index("comp_temporary")])
    amount[comp] *= sc.compensation_factor
    if sc.cash_share_change and flat_factor is not None:
        flat = np.isin(line, [_LINES.index(k) for k in _FLAT_LINES])
        amount[flat] *= flat_factor[np.asarray(items["project"])][flat]
    elif sc.cash_share_change and cash_share is not None:
        flat = np.isin(line, [_LINES.index(k) for k in _FLAT_LINES])
        cs = cash_share[np.asarray(items["project"])]
        new = np.clip(cs + sc.cash_share_change, 0, 1)
        factor = np.where(cs < 1, (1 - new) / np.where(cs < 1, 1 - cs, 1), 0.0)
        amount[flat] *= factor[flat]
    share = _spread(start, end, n_periods, width)
    flows = share * (amount * _SIGN[line])[:, None]
    key = (np.asarray(items["project"]) * len(_LINES) + line)[:, None] * n_periods
    cells = (key + np.arange(n_periods)).ravel()
    size = n_projects * len(_LINES) * n_periods
    grid = np.bincount(cells, weights=flows.ravel(), minlength=size)
    return grid.reshape(n_projects, len(_LINES), n_periods)
