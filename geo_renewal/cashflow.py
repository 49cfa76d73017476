"""
Cash flow over time (现金流): per project and bundle, by year or quarter, with financing.

Every cost and revenue line of the fund balance is placed on the calendar (compensation as
households sign, demolition and infrastructure over their stages, resettlement housing over
its schedule, land revenue at each plot's 成交, subsidies and special bonds on their dates);
项目资本金 pays its share of every cost, a loan covers the cumulative deficit and accrues
interest on its outstanding balance, revenue repays it. Vectorised: one array per scenario
× bundle × period, no loop over buildings or periods. See ``docs/guide/fund.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal import schema
from geo_renewal._compat import import_optional
from geo_renewal._errors import InputError
from geo_renewal.fund_params import FundParams

__all__ = [
    "CASHFLOW_LINES",
    "CashFlow",
    "cash_flow",
    "cashflow_summary",
    "financing",
    "fund_inputs",
    "money_caveats",
    "money_over_time_tables",
]

#: Lines of the cash flow: code -> sign (−1 cost, +1 inflow) and timing class (0 fixed,
#: 1 moves with signing, 2 moves with signing and with land supply).
CASHFLOW_LINES: dict[str, tuple[int, int]] = {
    "compensation": (-1, 1),
    "comp_temporary": (-1, 1),
    "demolition_cost": (-1, 1),
    "infrastructure_cost": (-1, 1),
    "upgrade_cost": (-1, 1),
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


@dataclass(frozen=True)
class CashFlow:
    """
    The cash flow of a fund balance (`geo_renewal.fund.fund_balance` with ``cashflow=True``).

    Money in 元. ``"total"`` is the district as one closed loop (all projects together).

    Attributes
    ----------
    periods
        Period labels (``"2026"`` or ``"2026Q1"``), in order.
    projects
        One row per project and period: every line of `CASHFLOW_LINES` (costs negative),
        ``net_flow`` and ``cumulative_net``.
    by_period
        One row per bundle (and ``"total"``) and period: the lines, ``total_cost``,
        ``total_revenue``, ``net_flow``, ``equity`` (资本金 paid in), ``interest``,
        ``loan_balance``, ``cumulative_balance`` (after equity and interest).
    bundles
        One row per bundle (and ``"total"``): ``peak_need`` (融资需求, the peak loan) and
        ``peak_period``, ``capital_required`` (资本金), ``total_interest``, ``npv``, ``irr``,
        ``payback_period``, ``balance`` (revenue − cost − interest), ``credit_line``,
        ``closed`` and ``breaks_in`` (the period its loan passes the credit line, or the last
        period when the loan is not repaid), ``negative_after_months`` (the delay of land
        supply that turns the balance negative).
    sensitivity
        One row per bundle and scenario (land price, delays, cash share, compensation).
    reconciliation
        Each line summed over time against the static roll-up (they must be equal), and
        the interest against the static financing cost.
    params
        The `FundParams` used.
    """

    periods: tuple[str, ...]
    projects: pd.DataFrame
    by_period: pd.DataFrame
    bundles: pd.DataFrame
    sensitivity: pd.DataFrame
    reconciliation: pd.DataFrame
    params: FundParams

    @property
    def peak_need(self) -> float:
        """The district's peak financing need (融资需求, 元): the ``total`` row's peak loan."""
        return float(self.bundles.loc[schema.TOTAL_ROW, "peak_need"])

    @property
    def peak_period(self) -> str | None:
        """The period of the district's peak financing need."""
        v = self.bundles.loc[schema.TOTAL_ROW, "peak_period"]
        return None if v is None or pd.isna(v) else str(v)

    @property
    def capital_required(self) -> float:
        """The district's 项目资本金 (元)."""
        return float(self.bundles.loc[schema.TOTAL_ROW, "capital_required"])

    @property
    def closed(self) -> bool:
        """True when every bundle stays closed (within its credit line, loan repaid)."""
        rows = self.bundles.drop(index=schema.TOTAL_ROW, errors="ignore")
        return bool(rows["closed"].all())


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
    out["flat_ready"] = (
        pd.to_datetime(src["flat_ready"], errors="coerce")
        if "flat_ready" in src.columns
        else pd.NaT
    )
    return out


def _items(
    rollup: pd.DataFrame,
    plots: pd.DataFrame,
    schedule: pd.DataFrame | None,
    p: FundParams,
    as_of: dt.date,
) -> tuple[pd.DataFrame, int, pd.Series]:
    """
    Return the dated items, the first year and how each project's dates were found.

    Items: project (position), line, amount ≥ 0, start and end in months since `year0`;
    the dates are the ledger's (``ledger``) or assumed from `as_of` (``assumed``).
    """
    dates = _schedule(rollup, schedule, p)
    known = dates.stack().dropna() if dates.notna().any().any() else pd.Series(dtype=object)
    year0 = int(min(pd.Timestamp(as_of).year, *(pd.DatetimeIndex(known).year.tolist() or [9999])))
    m = {c: _months(dates[c], year0) for c in dates.columns}
    now = float(_months(pd.Series([pd.Timestamp(as_of)]), year0)[0])
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
    r = rollup
    temporary = r["comp_temporary"].to_numpy(dtype=float)
    spans = {
        "compensation": (
            r["compensation"].to_numpy(dtype=float) - temporary,
            sign - p.signing_months,
            sign,
        ),
        "comp_temporary": (temporary, sign, ready),
        "demolition_cost": (r["demolition_cost"].to_numpy(dtype=float), sign, demo),
        "infrastructure_cost": (r["infrastructure_cost"].to_numpy(dtype=float), demo, land),
        "upgrade_cost": (r["upgrade_cost"].to_numpy(dtype=float), up_start, up_end),
        "resettlement_construction": (
            r["resettlement_construction"].to_numpy(dtype=float),
            sign,
            ready,
        ),
        "resettlement_settlement": (
            r["resettlement_settlement"].to_numpy(dtype=float),
            ready,
            ready,
        ),
        "other_revenue": (r["other_revenue"].to_numpy(dtype=float), land, land),
    }
    n = len(rollup)
    blocks = [
        pd.DataFrame(
            {"project": np.arange(n), "line": _LINES.index(k), "amount": a, "start": s, "end": e}
        )
        for k, (a, s, e) in spans.items()
    ]
    blocks.append(_plot_items(rollup, plots, land, year0))
    items = pd.concat(blocks, ignore_index=True)
    items = items[items["amount"] != 0].reset_index(drop=True)
    early = float(np.nanmin(np.r_[items["start"].to_numpy(), 0.0]))
    if early < 0:  # e.g. compensation paid in the months before the first signing date
        years = int(np.ceil(-early / 12))
        items[["start", "end"]] += 12 * years
        year0 -= years
    basis = pd.Series(np.where(assumed, "assumed", "ledger"), index=rollup.index)
    return items, year0, basis


def _plot_items(
    rollup: pd.DataFrame, plots: pd.DataFrame, land: np.ndarray, year0: int
) -> pd.DataFrame:
    """Land revenue at each plot's sale date (成交 actual, else planned, else 供地)."""
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
    return pd.DataFrame(
        {
            "project": project[known],
            "line": _LINES.index("land_revenue"),
            "amount": plots["land_revenue"].to_numpy(dtype=float)[known],
            "start": when[known],
            "end": when[known],
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
    return pd.DataFrame(rows, columns=["project", "line", "amount", "start", "end"])


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


# --------------------------------------------------------------------------- financing


def financing(
    costs: np.ndarray,
    inflows: np.ndarray,
    *,
    rate: float,
    capital_share: float,
) -> dict[str, np.ndarray]:
    """
    Finance a cash flow: 资本金 pays its share of costs, a loan the cumulative deficit.

    Interest accrues at `rate` per period on the loan outstanding at the start of each
    period (the negative part of the cumulative balance) and is added to it; revenue repays
    the loan before any surplus is kept (a surplus earns nothing). Vectorised over any
    leading axes: the recursion is solved by fixed-point iteration on whole arrays, exact
    after at most as many iterations as periods (usually a handful).

    Parameters
    ----------
    costs, inflows
        Arrays ``(..., periods)`` of costs and inflows (元, ≥ 0).
    rate
        Interest rate per period.
    capital_share
        Share of each period's costs paid from 资本金 (0–1).

    Returns
    -------
    arrays
        ``equity``, ``interest``, ``balance`` (cumulative, after equity and interest) and
        ``loan`` (the outstanding loan at the end of each period), each ``(..., periods)``.

    Examples
    --------
    >>> out = financing(np.array([100.0, 0, 0]), np.array([0.0, 0, 130]), rate=0.1,
    ...                 capital_share=0.2)
    >>> out["loan"].round(2).tolist(), out["interest"].round(2).tolist()
    ([80.0, 88.0, 0.0], [0.0, 8.0, 8.8])
    """
    equity = capital_share * costs
    s = inflows + equity - costs
    balance = np.cumsum(s, axis=-1)
    interest = np.zeros_like(balance)
    for _ in range(s.shape[-1] + 1):  # exact after n iterations; stops when nothing moves
        opening = np.concatenate([np.zeros_like(balance[..., :1]), balance[..., :-1]], axis=-1)
        new = rate * np.maximum(-opening, 0.0)
        if np.allclose(new, interest, rtol=0, atol=1e-6):
            break
        interest = new
        balance = np.cumsum(s - interest, axis=-1)
    return {
        "equity": np.broadcast_to(equity, balance.shape).copy(),
        "interest": interest,
        "balance": balance,
        "loan": np.maximum(-balance, 0.0),
    }


# --------------------------------------------------------------------------- public


def cash_flow(
    rollup: pd.DataFrame,
    plots: pd.DataFrame,
    *,
    params: FundParams,
    schedule: pd.DataFrame | None = None,
    as_of: dt.date | None = None,
) -> CashFlow:
    """
    Place a fund roll-up on the calendar and finance it (per project, bundle and district).

    Usually called through `geo_renewal.fund.fund_balance` (``cashflow=True``).

    Parameters
    ----------
    rollup
        `FundBalance.projects`: one row per project with ``project_id``, ``bundle``,
        ``project_type`` and the cost and revenue lines (元).
    plots
        `FundBalance.plots` with ``project_id``, ``land_revenue`` and optional ``sale_date``.
    params
        The fund parameters (``[cashflow]``, ``[financing] rate_per_year``,
        ``[sensitivity]``, ``[[subsidies]]``).
    schedule
        The projects' stage dates (``signing_planned`` / ``_actual`` …, ``flat_ready``),
        aligned with `rollup` (the ledger table); `rollup` itself when None.
    as_of
        The date assumed for projects without dates (today by default).

    Returns
    -------
    cashflow
        A `CashFlow`.

    Examples
    --------
    >>> import geo_renewal as gr
    >>> projects = pd.DataFrame({"project_id": ["A"], "project_type": ["demolish"],
    ...     "households": [10], "demolished_floor_area": [1000.0], "land_area": [2000.0],
    ...     "signing_actual": ["2026-06-30"], "land_supply_planned": ["2027-06-30"]})
    >>> cf = gr.fund_balance(projects, cashflow=True, as_of=dt.date(2026, 1, 1)).cashflow
    >>> cf.periods[:3], cf.peak_period, bool(cf.bundles.loc["A", "closed"])
    (('2025', '2026', '2027'), '2026', True)
    """
    p = params
    as_of = as_of or dt.date.today()
    items, year0, basis = _items(rollup, plots, schedule, p, as_of)
    width = float(_MONTHS[p.period])
    delays = [0.0, *p.delay_months]
    last_month = float(np.nanmax(np.r_[items["end"].to_numpy(), 0.0])) + max(delays)
    subsidies = _subsidy_items(p.subsidies, rollup, year0, last_month)
    if len(subsidies):
        items = pd.concat([items, subsidies], ignore_index=True)
    last_month = max(last_month, float(np.r_[items["end"].to_numpy(), 0.0].max()))
    n_periods = int(np.floor(last_month / width)) + 1
    periods = _labels(year0, n_periods, p.period)
    items = {c: items[c].to_numpy() for c in items.columns}  # arrays: no pandas per scenario
    grid = _project_grid(items, len(rollup), n_periods, width, _Scenario())
    projects = _project_table(rollup, grid, periods)
    bundle_names, member = _bundles(rollup)
    rate = (1 + p.rate_per_year) ** (width / 12) - 1
    by_period, summary = _finance_bundles(grid[None], member, bundle_names, periods, rate, p)
    sens = _sensitivity(items, rollup, member, bundle_names, periods, width, rate, p)
    summary["negative_after_months"] = _delay_to_negative(
        items, rollup, member, n_periods, width, rate, p
    )
    summary["schedule_assumed"] = [
        int((basis[rollup["bundle"] == b] == "assumed").sum())
        if b != schema.TOTAL_ROW
        else int((basis == "assumed").sum())
        for b in summary.index
    ]
    return CashFlow(
        periods=periods,
        projects=projects,
        by_period=by_period,
        bundles=summary,
        sensitivity=sens,
        reconciliation=_with_interest(
            _reconcile(rollup, grid, p), rollup, summary.loc[schema.TOTAL_ROW, "total_interest"]
        ),
        params=p,
    )


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


def _project_grid(
    items: Mapping[str, Any],
    n_projects: int,
    n_periods: int,
    width: float,
    sc: _Scenario,
    *,
    cash_share: np.ndarray | None = None,
) -> np.ndarray:
    """Return the signed flows ``(projects, lines, periods)`` of one scenario."""
    line = np.asarray(items["line"])
    cls = np.array([CASHFLOW_LINES[k][1] for k in _LINES])[line]
    shift = sc.signing_delay * (cls >= 1) + sc.supply_delay * (cls == 2)
    amount = np.array(items["amount"], dtype=float)
    amount[line == _LINES.index("land_revenue")] *= sc.land_factor
    comp = np.isin(line, [_LINES.index("compensation"), _LINES.index("comp_temporary")])
    amount[comp] *= sc.compensation_factor
    if sc.cash_share_change and cash_share is not None:
        flat = np.isin(line, [_LINES.index(k) for k in _FLAT_LINES])
        cs = cash_share[np.asarray(items["project"])]
        new = np.clip(cs + sc.cash_share_change, 0, 1)
        factor = np.where(cs < 1, (1 - new) / np.where(cs < 1, 1 - cs, 1), 0.0)
        amount[flat] *= factor[flat]
    share = _spread(
        np.asarray(items["start"]) + shift, np.asarray(items["end"]) + shift, n_periods, width
    )
    flows = share * (amount * _SIGN[line])[:, None]
    key = (np.asarray(items["project"]) * len(_LINES) + line)[:, None] * n_periods
    cells = (key + np.arange(n_periods)).ravel()
    size = n_projects * len(_LINES) * n_periods
    grid = np.bincount(cells, weights=flows.ravel(), minlength=size)
    return grid.reshape(n_projects, len(_LINES), n_periods)


def _project_table(
    rollup: pd.DataFrame, grid: np.ndarray, periods: tuple[str, ...]
) -> pd.DataFrame:
    n, _, n_p = grid.shape
    flat = grid.transpose(0, 2, 1).reshape(n * n_p, len(_LINES))
    out = pd.DataFrame(flat, columns=list(_LINES))
    out.insert(0, "project_id", np.repeat(rollup["project_id"].astype(str).to_numpy(), n_p))
    out.insert(1, "bundle", np.repeat(rollup["bundle"].astype(str).to_numpy(), n_p))
    out.insert(2, "period", np.tile(np.array(periods, dtype=object), n))
    out["net_flow"] = flat.sum(axis=1)
    out["cumulative_net"] = out.groupby("project_id", sort=False)["net_flow"].cumsum()
    return out


def _bundles(rollup: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """Return the bundle names (then ``total``) and the membership matrix (bundles, projects)."""
    names = list(dict.fromkeys(rollup["bundle"].astype(str)))
    codes = pd.Categorical(rollup["bundle"].astype(str), categories=names).codes
    member = np.zeros((len(names) + 1, len(rollup)))
    member[codes, np.arange(len(rollup))] = 1.0
    member[-1] = 1.0
    return [*names, schema.TOTAL_ROW], member


def _finance_bundles(
    grids: np.ndarray,
    member: np.ndarray,
    names: list[str],
    periods: tuple[str, ...],
    rate: float,
    p: FundParams,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Finance each bundle of the first scenario; return the period table and the summary."""
    flows, costs, inflows, fin = _bundle_flows(grids, member, rate, p)
    first = {k: v[0] for k, v in fin.items()}
    by_period = _period_table(flows[0], costs[0], inflows[0], first, names, periods)
    h = _headline(costs[0], inflows[0], first, names, len(periods), p)
    return by_period, _summary_frame(h, names, periods, inflows[0] - costs[0], p)


def _bundle_flows(
    grids: np.ndarray, member: np.ndarray, rate: float, p: FundParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Sum project grids ``(scenarios, projects, lines, periods)`` to bundles and finance them."""
    flows = np.einsum("bp,splt->sblt", member, grids)
    costs = -flows[:, :, _COSTS, :].sum(axis=2)
    inflows = flows.sum(axis=2) + costs
    fin = financing(costs, inflows, rate=rate, capital_share=p.capital_share)
    return flows, costs, inflows, fin


def _period_table(
    flows: np.ndarray,
    costs: np.ndarray,
    inflows: np.ndarray,
    fin: Mapping[str, np.ndarray],
    names: list[str],
    periods: tuple[str, ...],
) -> pd.DataFrame:
    nb, _, n_p = flows.shape
    out = pd.DataFrame(
        flows.transpose(0, 2, 1).reshape(nb * n_p, len(_LINES)), columns=list(_LINES)
    )
    out.insert(0, "bundle", np.repeat(np.array(names, dtype=object), n_p))
    out.insert(1, "period", np.tile(np.array(periods, dtype=object), nb))
    out["total_cost"] = costs.reshape(-1)
    out["total_revenue"] = inflows.reshape(-1)
    out["net_flow"] = (inflows - costs).reshape(-1)
    out["cumulative_net"] = np.cumsum(inflows - costs, axis=-1).reshape(-1)
    for k in ("equity", "interest", "loan", "balance"):
        out[{"loan": "loan_balance", "balance": "cumulative_balance"}.get(k, k)] = fin[k].reshape(
            -1
        )
    return out


def _headline(
    costs: np.ndarray,
    inflows: np.ndarray,
    fin: Mapping[str, np.ndarray],
    names: list[str],
    n_periods: int,
    p: FundParams,
) -> dict[str, np.ndarray]:
    """
    Return the headline figures of every row of ``(..., bundles, periods)`` arrays.

    Peak loan and its period, capital, interest, NPV, payback, and whether the bundle stays
    closed: its loan within its credit line, repaid by the end, and revenue covering cost
    and interest (else ``breaks_in`` is the period it breaks and ``break_reason`` why).
    """
    loan, interest = fin["loan"], fin["interest"]
    net = inflows - costs
    credit = np.array([p.credit_lines.get(n, p.credit_line) for n in names], dtype=float)
    over = (loan > credit[:, None] + 0.5) & (credit[:, None] > 0)
    first_over = np.where(over.any(axis=-1), over.argmax(axis=-1), -1)
    unpaid = loan[..., -1] > 0.5
    balance = inflows.sum(axis=-1) - costs.sum(axis=-1) - interest.sum(axis=-1)
    negative = balance < -0.5
    last = n_periods - 1
    breaks = np.where(first_over >= 0, first_over, np.where(unpaid | negative, last, -1))
    reason = np.where(
        first_over >= 0,
        "credit_line",
        np.where(unpaid, "not_repaid", np.where(negative, "balance_negative", "")),
    )
    per_year = 12 / _MONTHS[p.period]
    rate = (1 + p.discount_rate) ** (1 / per_year) - 1
    cum = np.cumsum(net, axis=-1)
    below = cum < -0.5
    last_below = np.where(below.any(axis=-1), last - below[..., ::-1].argmax(axis=-1), -1)
    payback = np.where(cum[..., -1] < -0.5, -1, np.minimum(last_below + 1, last))
    return {
        "peak_need": loan.max(axis=-1),
        "peak_index": np.where(loan.max(axis=-1) > 0, loan.argmax(axis=-1), -1),
        "capital_required": fin["equity"].sum(axis=-1),
        "total_interest": interest.sum(axis=-1),
        "total_cost": costs.sum(axis=-1),
        "total_revenue": inflows.sum(axis=-1),
        "balance": balance,
        "npv": (net / (1 + rate) ** np.arange(n_periods)).sum(axis=-1),
        "payback_index": payback,
        "credit_line": np.broadcast_to(np.where(credit > 0, credit, np.nan), balance.shape),
        "closed": breaks < 0,
        "breaks_index": breaks,
        "break_reason": reason,
    }


def _label(index: np.ndarray, periods: tuple[str, ...]) -> list[str | None]:
    return [periods[i] if i >= 0 else None for i in np.asarray(index).reshape(-1)]


def _summary_frame(
    h: Mapping[str, np.ndarray],
    names: list[str],
    periods: tuple[str, ...],
    net: np.ndarray,
    p: FundParams,
) -> pd.DataFrame:
    """Return the headline figures of one scenario as a table (IRR by numpy-financial)."""
    npf = import_optional("numpy_financial", purpose="NPV and IRR of the cash flow")
    per_year = 12 / _MONTHS[p.period]
    irr = []
    for row in net:
        with np.errstate(all="ignore"):  # IRR of tiny or one-signed flows: NaN, not a warning
            try:
                r = npf.irr(row) if (row < -0.5).any() and (row > 0.5).any() else np.nan
            except np.linalg.LinAlgError:  # flows so uneven (e.g. 4 and 1e-308) no root is found
                r = np.nan
        irr.append(float((1 + r) ** per_year - 1) if np.isfinite(r) else np.nan)
    data = {
        "peak_need": h["peak_need"],
        "peak_period": _label(h["peak_index"], periods),
        "capital_required": h["capital_required"],
        "total_interest": h["total_interest"],
        "total_cost": h["total_cost"],
        "total_revenue": h["total_revenue"],
        "balance": h["balance"],
        "npv": h["npv"],
        "irr_rate": irr,
        "payback_period": _label(h["payback_index"], periods),
        "credit_line": h["credit_line"],
        "closed": h["closed"],
        "breaks_in": _label(h["breaks_index"], periods),
        "break_reason": [r or None for r in h["break_reason"]],
    }
    return pd.DataFrame(data, index=pd.Index(names, name="bundle"))


def _reconcile(rollup: pd.DataFrame, grid: np.ndarray, p: FundParams) -> pd.DataFrame:
    """Each line summed over time against the static roll-up (must agree to the yuan)."""
    totals = np.abs(grid.sum(axis=(0, 2)))
    static = {
        "compensation": float((rollup["compensation"] - rollup["comp_temporary"]).sum()),
        "comp_temporary": float(rollup["comp_temporary"].sum()),
        **{
            k: float(rollup[k].sum())
            for k in (
                "demolition_cost",
                "infrastructure_cost",
                "upgrade_cost",
                "resettlement_construction",
                "land_revenue",
                "resettlement_settlement",
                "other_revenue",
            )
        },
    }
    if "subsidy_revenue" in rollup.columns:
        static["subsidy_revenue"] = float(rollup["subsidy_revenue"].sum())
    rows = [
        {"line": k, "static": static[k], "cashflow": float(totals[_LINES.index(k)])}
        for k in static
    ]
    out = pd.DataFrame(rows)
    out["difference"] = out["cashflow"] - out["static"]
    bad = out[out["difference"].abs() > 1.0]
    if len(bad):
        from geo_renewal._errors import ConservationError

        msg = (
            f"the cash flow does not add up to the fund balance for lines "
            f"{bad['line'].tolist()} (differences {bad['difference'].round(2).tolist()} 元); "
            f"this is a bug, please report it with the input."
        )
        raise ConservationError(msg)
    return out


def _with_interest(table: pd.DataFrame, rollup: pd.DataFrame, interest: float) -> pd.DataFrame:
    """Add the static financing cost beside the cash flow's interest (they differ by design)."""
    static = float(rollup["financing_cost"].sum()) if "financing_cost" in rollup else np.nan
    total = float(interest)
    row = {
        "line": "financing_cost",
        "static": static,
        "cashflow": total,
        "difference": total - static,
    }
    return pd.concat([table, pd.DataFrame([row])], ignore_index=True)


# --------------------------------------------------------------------------- sensitivity

#: The longest delay of land supply searched for the one that turns a bundle negative.
MAX_DELAY_MONTHS = 60


def _scenarios(p: FundParams) -> list[tuple[str, float, _Scenario]]:
    """Return (factor, change, scenario) for the base and every change of ``[sensitivity]``."""
    out: list[tuple[str, float, _Scenario]] = [("base", 0.0, _Scenario())]
    out += [("land_price", c, _Scenario(land_factor=1 + c)) for c in p.land_price_changes if c]
    out += [("supply_delay", d, _Scenario(supply_delay=d)) for d in p.delay_months if d]
    out += [("signing_delay", d, _Scenario(signing_delay=d)) for d in p.delay_months if d]
    out += [("cash_share", c, _Scenario(cash_share_change=c)) for c in p.cash_share_changes if c]
    out += [
        ("compensation", c, _Scenario(compensation_factor=1 + c))
        for c in p.compensation_changes
        if c
    ]
    return out


def _cash_shares(rollup: pd.DataFrame, p: FundParams) -> np.ndarray:
    if "cash_share" in rollup.columns:
        return rollup["cash_share"].fillna(p.cash_share).to_numpy(dtype=float)
    return np.full(len(rollup), p.cash_share)


def _sensitivity(
    items: Mapping[str, Any],
    rollup: pd.DataFrame,
    member: np.ndarray,
    names: list[str],
    periods: tuple[str, ...],
    width: float,
    rate: float,
    p: FundParams,
) -> pd.DataFrame:
    """Balance, peak need, NPV and closed per bundle under each scenario."""
    scen = _scenarios(p)
    shares = _cash_shares(rollup, p)
    grids = np.stack(
        [
            _project_grid(items, len(rollup), len(periods), width, sc, cash_share=shares)
            for _, _, sc in scen
        ]
    )
    _, costs, inflows, fin = _bundle_flows(grids, member, rate, p)
    h = _headline(costs, inflows, fin, names, len(periods), p)  # (scenarios, bundles)
    n_s, n_b = h["balance"].shape
    out = pd.DataFrame(
        {
            "bundle": np.tile(np.array(names, dtype=object), n_s),
            "factor": np.repeat(np.array([f for f, _, _ in scen], dtype=object), n_b),
            "change": np.repeat([c for _, c, _ in scen], n_b),
            "balance": h["balance"].reshape(-1),
            "balance_change": (h["balance"] - h["balance"][0]).reshape(-1),
            "peak_need": h["peak_need"].reshape(-1),
            "peak_need_change": (h["peak_need"] - h["peak_need"][0]).reshape(-1),
            "peak_period": _label(h["peak_index"], periods),
            "npv": h["npv"].reshape(-1),
            "closed": h["closed"].reshape(-1),
            "breaks_in": _label(h["breaks_index"], periods),
        }
    )
    order = {b: i for i, b in enumerate(names)}
    out = out.sort_values("bundle", key=lambda s: s.map(order), kind="stable")
    return out.reset_index(drop=True)


def _delay_to_negative(
    items: Mapping[str, Any],
    rollup: pd.DataFrame,
    member: np.ndarray,
    n_periods: int,
    width: float,
    rate: float,
    p: FundParams,
) -> list[float]:
    """
    Return the months of land-supply delay that first turn each bundle's balance negative.

    0 when it is negative already, NaN when no delay up to `MAX_DELAY_MONTHS` does. The
    balance never rises with the delay, so a search every `_COARSE` months, then month by
    month inside the bracket (each bundle its own, in one pass), finds the first month.
    """
    n = n_periods + int(np.ceil(MAX_DELAY_MONTHS / width))

    def balances(scenarios: list[_Scenario]) -> np.ndarray:
        grids = np.stack([_project_grid(items, len(rollup), n, width, sc) for sc in scenarios])
        _, costs, inflows, fin = _bundle_flows(grids, member, rate, p)
        total = inflows.sum(axis=-1) - costs.sum(axis=-1) - fin["interest"].sum(axis=-1)
        return total < -0.5  # (scenarios, bundles)

    coarse = np.arange(0, MAX_DELAY_MONTHS + 1, _COARSE, dtype=float)
    negative = balances([_Scenario(supply_delay=d) for d in coarse])
    hit = negative.any(axis=0)
    first = negative.argmax(axis=0)
    result = np.where(hit, coarse[first], np.nan)
    start = np.where(hit & (first > 0), coarse[np.maximum(first - 1, 0)], np.nan)
    if not np.isfinite(start).any():
        return result.tolist()
    # month by month inside each bracket: every project shifted by its own bundle's start
    owner = member[:-1].argmax(axis=0)[np.asarray(items["project"])]
    steps = np.arange(1, _COARSE, dtype=float)
    per_bundle = np.nan_to_num(start[:-1])[owner]
    fine = balances([_Scenario(supply_delay=per_bundle + k) for k in steps])
    fine_total = balances([_Scenario(supply_delay=np.nan_to_num(start[-1]) + k) for k in steps])
    fine[:, -1] = fine_total[:, -1]
    for j in np.flatnonzero(np.isfinite(start)):
        months = np.flatnonzero(fine[:, j])
        if len(months):
            result[j] = start[j] + steps[months[0]]
    return result.tolist()


#: Step of the coarse search of `_delay_to_negative`, months.
_COARSE = 6


# --------------------------------------------------------------------------- tables


def _change_text(factor: str, change: float, lang: str) -> str:
    from geo_renewal.text import say

    if factor == "base":
        return ""
    if factor in ("supply_delay", "signing_delay"):
        return say("fund.change.months", lang, n=change)
    if factor == "cash_share":
        return say("fund.change.points", lang, n=change * 100)
    return f"{change:+.0%}"


def money_over_time_tables(
    balance: Any, *, convert: Any = None, lang: str = "zh"
) -> dict[str, pd.DataFrame]:
    """
    Return the sheets of compensation, land supply, cash flow and financing of a balance.

    Used by `geo_renewal.fund.fund_tables`; sheets only for what the balance holds
    (``compensation``, ``supply``, ``cashflow``).

    Parameters
    ----------
    balance
        A `geo_renewal.fund.FundBalance`.
    convert
        Money conversion of a table (万元); identity when None.
    lang
        Sheet-name language.

    Returns
    -------
    tables
        Sheet name -> table.

    Examples
    --------
    >>> import geo_renewal as gr
    >>> projects = pd.DataFrame({"project_id": ["A"], "project_type": ["demolish"],
    ...     "households": [10], "demolished_floor_area": [1000.0], "land_area": [2000.0],
    ...     "signing_actual": ["2026-06-30"]})
    >>> fb = gr.fund_balance(projects, cashflow=True, as_of=dt.date(2026, 1, 1))
    >>> list(money_over_time_tables(fb, lang="en"))
    ['Cash flow by period', 'Financing', 'Cash-flow sensitivity', 'Static vs cash flow']
    """
    from geo_renewal.supply import overdue_plots, supply_plan
    from geo_renewal.text import say

    conv = convert or (lambda df: df)
    out: dict[str, pd.DataFrame] = {}
    comp = getattr(balance, "compensation", None)
    if comp is not None:
        out[say("fund.sheet.compensation_projects", lang)] = conv(comp.projects.reset_index())
        inside = comp.buildings[comp.buildings["project_id"].notna()]
        out[say("fund.sheet.compensation_buildings", lang)] = conv(inside.reset_index(drop=True))
        out[say("fund.sheet.compensation_scheme", lang)] = _scheme_sheet(comp.scheme, lang)
    plots = getattr(balance, "supply", None)
    if plots is not None:
        out[say("fund.sheet.supply_plan", lang)] = supply_plan(plots, lang=lang)
        late = overdue_plots(plots).drop(columns="geometry", errors="ignore")
        out[say("fund.sheet.overdue_plots", lang)] = late.reset_index(drop=True)
    cf = getattr(balance, "cashflow", None)
    if cf is not None:
        out[say("fund.sheet.cashflow", lang)] = conv(cf.by_period)
        out[say("fund.sheet.financing", lang)] = conv(cf.bundles.reset_index())
        sens = cf.sensitivity.copy()
        sens.insert(
            2,
            "change_text",
            [
                _change_text(f, c, lang)
                for f, c in zip(sens["factor"], sens["change"], strict=True)
            ],
        )
        out[say("fund.sheet.cashflow_sensitivity", lang)] = conv(sens.drop(columns="change"))
        out[say("fund.sheet.reconciliation", lang)] = conv(_reconciliation_sheet(cf, lang))
    return {name: _reserved_rows(table, lang) for name, table in out.items()}


def _scheme_sheet(scheme: Any, lang: str) -> pd.DataFrame:
    """Return the scheme's prices with structure and grade codes by their labels."""
    from geo_renewal.schema import label
    from geo_renewal.text import say_or

    table = scheme.table()
    table["param_name"] = [
        say_or(f"fund.scheme.{k}", lang, None) or label(k, lang) for k in table["param_name"]
    ]
    return table


def _reconciliation_sheet(cf: Any, lang: str) -> pd.DataFrame:
    """Return the reconciliation with its lines named and differences to the fen."""
    from geo_renewal.text import say_or

    table = cf.reconciliation.copy()
    if "line" in table:
        table["line"] = [say_or(f"fund.line.{x}", lang, x) for x in table["line"]]
    if "difference" in table:
        table["difference"] = table["difference"].astype(float).round(2) + 0.0  # no -0.0
    return table


def _reserved_rows(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Write the total / outside rows of text columns as their labels (合计, 区外)."""
    from geo_renewal.schema import RESERVED_ROWS, label

    out = table.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            values = out[col].astype(object)
            hit = values.isin(RESERVED_ROWS)
            if hit.any():
                out[col] = values.where(~hit, values[hit].map(lambda v: label(v, lang)))
    return out


# --------------------------------------------------------------------------- runs


def fund_inputs(
    layers: Mapping[str, pd.DataFrame],
    projects: pd.DataFrame,
    *,
    params: Any = None,
    options: Any = None,
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """
    Return the money arguments of `geo_renewal.fund.fund_balance` for a project file's run.

    Sale plots from the ``plots`` layer (checked, `geo_renewal.supply.check_plots`), the
    per-building compensation when there is a ``buildings`` layer (priced by the ``[fund]
    compensation`` scheme, the ``price_bands`` layer and the parcels' streets and uses), and
    the cash flow as ``[fund] cashflow`` says.

    Parameters
    ----------
    layers
        The run's layers by role.
    projects
        The ledger's projects (with polygons when joined), for placing buildings.
    params
        The fund parameters (path or None).
    options
        `geo_renewal.fund_params.FundOptions` (None: the defaults).
    as_of
        The meeting date.

    Returns
    -------
    kwargs
        ``plots``, ``compensation``, ``cashflow``, ``as_of``.

    Examples
    --------
    >>> fund_inputs({}, pd.DataFrame({"project_id": []}))["cashflow"]
    True
    """
    from geo_renewal.fund_params import FundOptions, _as_params

    options = options or FundOptions()
    out: dict[str, Any] = {"cashflow": options.cashflow, "as_of": as_of}
    if layers.get("plots") is not None:
        from geo_renewal.supply import check_plots

        out["plots"] = check_plots(layers["plots"], as_of=as_of, source="[layers.plots]")
    buildings = layers.get("buildings")
    has_place = "project_id" in (buildings.columns if buildings is not None else ()) or (
        "geometry" in projects.columns and projects.geometry.notna().any()
    )
    if buildings is not None and has_place:
        from geo_renewal.compensation import compensation_by_building

        out["compensation"] = compensation_by_building(
            buildings,
            scheme=options.compensation,
            params=_as_params(params),
            projects=projects,
            bands=layers.get("price_bands"),
            parcels=layers.get("parcels"),
        )
    return out


def money_caveats(balance: Any, *, lang: str = "zh") -> dict[str, str]:
    """
    Return the caveats of a balance's compensation scheme and cash-flow parameters.

    Parameters
    ----------
    balance
        A `geo_renewal.fund.FundBalance`.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    caveats
        ``"fund"`` (the fund parameters, the ``[cashflow]`` ones included) when there is a
        cash flow, ``"scheme"`` when the compensation prices are placeholders; {} if none.

    Examples
    --------
    >>> import geo_renewal as gr
    >>> fb = gr.fund_balance(pd.DataFrame({"project_id": ["A"], "project_type": ["demolish"],
    ...     "households": [1], "demolished_floor_area": [10.0], "land_area": [20.0]}))
    >>> money_caveats(fb)
    {}
    """
    from geo_renewal.fund_params import placeholder_caveat
    from geo_renewal.text import say

    out: dict[str, str] = {}
    if getattr(balance, "cashflow", None) is not None:
        values = balance.projects["balance"].to_numpy(dtype=float)
        text = placeholder_caveat(balance.params, balance=values, lang=lang, cashflow=True)
        if text:
            out["fund"] = text
    comp = getattr(balance, "compensation", None)
    if comp is not None:
        from geo_renewal.compensation import scheme_placeholder_keys

        keys = scheme_placeholder_keys(comp.scheme)
        if keys:
            names = say("progress.list_separator", lang).join(keys[:4])
            names += say("caveat.and_more", lang) if len(keys) > 4 else ""
            if lang == "zh":  # the keys are the file's own; the sheet names them in full
                names = "见“" + say("fund.sheet.compensation_scheme", lang) + "”工作表"
            out["scheme"] = say("caveat.scheme_placeholder", lang, n=len(keys), keys=names)
    return out


def cashflow_summary(balance: Any, *, lang: str | None = None) -> str:
    """
    Return the cash flow's headline sentence: peak need and when, capital, interest, closed.

    Parameters
    ----------
    balance
        A `geo_renewal.fund.FundBalance` with a cash flow.
    lang
        Language; defaults to `settings.lang`.

    Returns
    -------
    text
        One sentence (万元), "" without a cash flow.

    Examples
    --------
    >>> import geo_renewal as gr
    >>> projects = pd.DataFrame({"project_id": ["A"], "project_type": ["demolish"],
    ...     "households": [10], "demolished_floor_area": [1000.0], "land_area": [2000.0],
    ...     "signing_actual": ["2026-06-30"]})
    >>> fb = gr.fund_balance(projects, cashflow=True, as_of=dt.date(2026, 1, 1))
    >>> cashflow_summary(fb, lang="en")[:46]
    'The district as one project: peak financing ne'
    """
    from geo_renewal._checks import check_lang
    from geo_renewal.text import say

    cf = getattr(balance, "cashflow", None)
    if cf is None:
        return ""
    lang = check_lang(lang)
    total = cf.bundles.loc[schema.TOTAL_ROW]
    rows = cf.bundles.drop(index=schema.TOTAL_ROW)
    return say(
        "cashflow.report.summary",
        lang,
        peak=total["peak_need"] / 1e4,
        when=cf.peak_period or "—",
        capital=total["capital_required"] / 1e4,
        interest=total["total_interest"] / 1e4,
        balance=total["balance"] / 1e4,
        closed=int(rows["closed"].sum()),
        n=len(rows),
    )
