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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal import schema
from geo_renewal._cashflow_schedule import (
    _COSTS,
    _LINES,
    _MONTHS,
    CASHFLOW_LINES,
    _items,
    _labels,
    _project_grid,
    _Scenario,
    _subsidy_items,
    signing_moves,
)
from geo_renewal._cashflow_tables import (
    cashflow_summary,
    fund_inputs,
    money_caveats,
    money_over_time_tables,
    signing_note,
)
from geo_renewal._compat import import_optional
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
    "signing_note",
]


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
    items, year0, timing = _items(rollup, plots, schedule, p, as_of)
    basis = timing["basis"]
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
    sens = _sensitivity(items, rollup, member, bundle_names, periods, width, rate, p, timing)
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


def _flat_factor(rollup: pd.DataFrame, shares: np.ndarray, change: float) -> np.ndarray | None:
    """
    Return per project its whole flat households at the changed share ÷ at the base one.

    The households are split again by the largest remainder (`split_households`), so a
    scenario builds whole flats too; None when the roll-up has no household columns.
    """
    if not change or not {"households", "resettlement_households"} <= set(rollup.columns):
        return None
    from geo_renewal.demand import split_households

    e = (rollup["project_type"] == "demolish").to_numpy(dtype=float)
    hh = rollup["households"].to_numpy(dtype=float) * e
    new = hh - split_households(hh, np.clip(shares + change, 0.0, 1.0))
    old = rollup["resettlement_households"].to_numpy(dtype=float)
    return np.where(old > 0, new / np.where(old > 0, old, 1.0), 0.0)


def _sensitivity(
    items: Mapping[str, Any],
    rollup: pd.DataFrame,
    member: np.ndarray,
    names: list[str],
    periods: tuple[str, ...],
    width: float,
    rate: float,
    p: FundParams,
    timing: pd.DataFrame,
) -> pd.DataFrame:
    """
    Balance, peak need, NPV, closed and what moved, per bundle under each scenario.

    What moved (for the delays): ``projects_moved`` (projects whose dates move, their ids in
    ``moved_ids``),
    ``signing_moved`` (months their signing moves), ``supply_moved_min`` / ``_max`` (months
    their 供地 moves, the plan's slack absorbing the rest), ``revenue_moved`` (the most months
    a land revenue moves: sold or cleared plots stay), and ``interest_change``: the
    delays keep every line's total, so a balance changes by minus its interest change.
    """
    scen = _scenarios(p)
    shares = _cash_shares(rollup, p)
    grids = np.stack(
        [
            _project_grid(
                items,
                len(rollup),
                len(periods),
                width,
                sc,
                cash_share=shares,
                flat_factor=_flat_factor(rollup, shares, sc.cash_share_change),
            )
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
            "interest_change": (h["total_interest"] - h["total_interest"][0]).reshape(-1),
            **_moved(scen, items, timing, member, rollup["project_id"].astype(str).to_numpy()),
        }
    )
    order = {b: i for i, b in enumerate(names)}
    out = out.sort_values("bundle", key=lambda s: s.map(order), kind="stable")
    return out.reset_index(drop=True)


def _moved(
    scen: list[tuple[str, float, _Scenario]],
    items: Mapping[str, Any],
    timing: pd.DataFrame,
    member: np.ndarray,
    ids: np.ndarray,
) -> dict[str, np.ndarray]:
    """Return per scenario and bundle (flattened) the projects and months a delay moves."""
    n_p = member.shape[1]
    waits = np.zeros(n_p, dtype=bool)  # projects with revenue that waits for 供地
    waits[np.asarray(items["project"], dtype=int)[np.asarray(items["supply"], dtype=bool)]] = True
    project = np.asarray(items["project"], dtype=int)
    sale = np.asarray(items["line"]) == _LINES.index("land_revenue")
    rows: dict[str, list[np.ndarray]] = {k: [] for k in _MOVED}
    for factor, change, _ in scen:
        sign = np.zeros(n_p)
        supply = np.zeros(n_p)
        revenue = np.zeros(n_p)  # the largest move of a project's land revenue
        if factor == "signing_delay":
            moves = signing_moves(timing, change)
            sign, supply = moves["signing"].to_numpy(), moves["land_supply"].to_numpy()
            late = np.maximum(change - np.asarray(items["start_slack"], dtype=float), 0.0)
            np.maximum.at(revenue, project[sale], late[sale])
            hit = sign > 0
        elif factor == "supply_delay":
            supply = np.where(waits, change, 0.0)
            revenue = supply
            hit = waits.copy()
        else:
            hit = np.zeros(n_p, dtype=bool)
        inside = member.astype(bool) & hit[None, :]
        rows["moved_ids"].append(np.array([", ".join(ids[row]) for row in inside], dtype=object))
        with np.errstate(invalid="ignore"):
            rows["projects_moved"].append(inside.sum(axis=1))
            rows["signing_moved"].append(np.where(inside, sign, 0.0).max(axis=1))
            lo = np.where(inside, supply, np.inf).min(axis=1)
            rows["supply_moved_min"].append(np.where(np.isfinite(lo), lo, 0.0))
            rows["supply_moved_max"].append(np.where(inside, supply, 0.0).max(axis=1))
            rows["revenue_moved"].append(np.where(inside, revenue, 0.0).max(axis=1))
    return {k: np.concatenate(v) for k, v in rows.items()}


#: The what-moved columns of the sensitivity (`_moved`).
_MOVED = (
    "projects_moved",
    "moved_ids",
    "signing_moved",
    "supply_moved_min",
    "supply_moved_max",
    "revenue_moved",
)


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
