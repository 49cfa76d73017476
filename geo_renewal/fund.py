"""
Fund balance (区域平衡): what a project, or a bundle of projects, costs and earns.

The roll-up follows DOMAIN.md §3 (money in 元; `fund_tables` converts to 万元). The cost and
revenue lines, the break-even FAR and the parameters are described in the guide,
``docs/guide/fund.md``; the parameters live in `geo_renewal.fund_params` (re-exported here).
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal import schema
from geo_renewal._checks import check_lang
from geo_renewal._errors import InputError, SchemaError
from geo_renewal._fund_inputs import (
    _id_text,
    _land_area,
    _normalise_plots,
    _read_fund_projects,
    _read_named,
    _read_plots,
    _require,
)
from geo_renewal._fund_tables import MONEY_COLUMNS, fund_tables, write_fund_tables
from geo_renewal.fund_params import (
    _OVERRIDABLE,
    _SHARES,
    FundParams,
    _as_params,
    load_fund_params,
)

if TYPE_CHECKING:
    from geo_renewal.cashflow import CashFlow
    from geo_renewal.compensation import Compensation

__all__ = [
    "MONEY_COLUMNS",
    "FundBalance",
    "FundParams",
    "fund_balance",
    "fund_balance_from_files",
    "fund_tables",
    "load_fund_params",
    "plots_from_projects",
    "write_fund_tables",
]

logger = logging.getLogger(__name__)

_SUMMABLE = (
    "land_area",
    "demolished_floor_area",
    "households",
    "business_floor_area",
    "resettlement_households",
    "resettlement_floor_area",
    "sale_plot_area",
    "sale_floor_area",
    "_plot_value_per_far",
    *MONEY_COLUMNS,
)
_EXPROPRIATION_TYPES = ("demolish",)
_UPGRADE_TYPES = ("retain_upgrade",)


@dataclass(frozen=True)
class FundBalance:
    """
    The result of `fund_balance`.

    Attributes
    ----------
    projects
        One row per project, aligned on the input index: the inputs (areas, households,
        the rates used), every cost and revenue line (元), ``balance`` and
        ``break_even_far``; ``bundle`` names the bundle of the project.
    plots
        One row per sale plot: ``project_id``, ``bundle``, ``plot_id``, ``plot_source``
        (declared / derived), ``plot_area``, ``far``, ``land_price_per_m2``,
        ``sale_floor_area``, ``land_revenue``, and the break-even FAR of its project and of
        its bundle.
    bundles
        Indexed by ``bundle``: one row per bundle (区域平衡) and a ``"total"`` row (合计, as in
        `geo_renewal.stats`): ``projects`` (count), ``project_ids``, sums of the project
        figures, ``balance`` and ``break_even_far``.
    sensitivity
        Land price ±: one row per bundle (and ``"total"``) and change, with ``bundle``,
        ``land_price_change``,
        ``land_revenue``, ``total_revenue``, ``total_cost``, ``balance`` and
        ``break_even_far``.
    params
        The `FundParams` used.
    cashflow
        The cash flow over time (`geo_renewal.cashflow.CashFlow`: ``peak_need``,
        ``peak_period``, ``capital_required``, ``closed``, ``bundles`` …) when asked for
        (``cashflow=True``), else None.
    compensation
        The per-building compensation (`geo_renewal.compensation.Compensation`) the
        balance used, else None.
    supply
        The sale plots as `geo_renewal.supply.check_plots` returns them (status, overdue,
        price) when the plots given have supply columns, else None.
    """

    projects: pd.DataFrame
    plots: pd.DataFrame
    bundles: pd.DataFrame
    sensitivity: pd.DataFrame
    params: FundParams
    cashflow: CashFlow | None = None
    compensation: Compensation | None = None
    supply: pd.DataFrame | None = None

    @property
    def district_balance(self) -> float:
        """
        The district's balance in 元, the one figure every output shows.

        The cash flow's (interest on the outstanding loan) when it was computed, else the
        static roll-up's (simple interest on all costs); the two differ by their financing
        cost, reconciled line by line in ``cashflow.reconciliation``.

        Returns
        -------
        balance
            Revenue minus cost of all bundles, 元.
        """
        if self.cashflow is not None:
            return float(self.cashflow.bundles.loc["total", "balance"])
        return float(self.bundles["balance"].iloc[-1])

    def __repr__(self) -> str:
        total = self.bundles.iloc[-1]
        return (
            f"<FundBalance: {len(self.projects)} projects, {len(self.bundles) - 1} bundles, "
            f"{len(self.plots)} sale plots; cost {total['total_cost'] / 1e4:,.0f} 万元, "
            f"revenue {total['total_revenue'] / 1e4:,.0f} 万元, "
            f"balance {total['balance'] / 1e4:,.0f} 万元>"
        )

    def summary_text(self, *, unit: str = "wan", lang: str | None = None) -> str:
        """
        Return each bundle's total cost, revenue, balance and break-even FAR as a text table.

        Parameters
        ----------
        unit
            ``"wan"`` (万元, default) or ``"yuan"`` (元).
        lang
            Header language; defaults to `settings.lang`.

        Returns
        -------
        text
            The bundles and the total row, as `geo_renewal.tables.format_table` prints them.
        """
        from geo_renewal.tables import format_table

        lang = check_lang(lang)
        bundles = next(iter(fund_tables(self, unit=unit, lang=lang).values()))
        suffix = "_wan" if unit == "wan" else ""
        cols = [f"total_cost{suffix}", f"total_revenue{suffix}", f"balance{suffix}"]
        return format_table(bundles[[*cols, "break_even_far"]], lang=lang).rstrip("\n")


# --------------------------------------------------------------------------- parameters
# --------------------------------------------------------------------------- plots


def plots_from_projects(
    projects: pd.DataFrame, *, params: FundParams | str | Path | Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """
    Derive one sale plot per expropriation (征收拆迁) project from its land area.

    The plot's area is ``sale_plots.net_share`` × the project's land area (the column
    ``land_area``, else the polygon's area in the working CRS), built at ``sale_plots.far``
    and sold at ``sale_plots.land_price_per_m2`` (楼面地价). A planning assumption for
    districts that have not drawn their sale plots yet; declare real plots when known.

    Parameters
    ----------
    projects
        Projects with ``project_id``, ``project_type`` and a land area or polygons.
    params
        Fund parameters (`load_fund_params`), a TOML path or overrides.

    Returns
    -------
    plots
        ``project_id``, ``plot_id`` (``<project_id>-1``), ``plot_area`` [m²], ``far``,
        ``land_price_per_m2``, ``plot_source`` = ``"derived"``. Projects without a land
        area get no plot.

    Examples
    --------
    >>> projects = pd.DataFrame({"project_id": ["A", "B"], "land_area": [10000.0, 5000.0],
    ...                          "project_type": ["demolish", "retain_upgrade"]})
    >>> plots_from_projects(projects)[["plot_id", "plot_area", "far"]]
      plot_id  plot_area  far
    0     A-1     5000.0  2.5
    """
    p = _as_params(params)
    _require(projects, ["project_id", "project_type"], "projects")
    land = _land_area(projects)
    keep = projects["project_type"].isin(_EXPROPRIATION_TYPES) & land.notna() & (land > 0)
    ids = projects.loc[keep, "project_id"].astype(str)
    return pd.DataFrame(
        {
            "project_id": ids.to_numpy(),
            "plot_id": (ids + "-1").to_numpy(),
            "plot_area": (land[keep] * p.net_share).to_numpy(dtype=float),
            "far": p.far,
            "land_price_per_m2": p.land_price_per_m2,
            "plot_source": "derived",
        }
    )


# --------------------------------------------------------------------------- balance


def _bundle_of(
    projects: pd.DataFrame, bundles: Mapping[str, Sequence[str]] | str | pd.Series | None
) -> pd.Series:
    ids = projects["project_id"].map(_id_text)
    if bundles is None:
        return ids.rename("bundle")
    if isinstance(bundles, str):
        if bundles not in projects.columns:
            msg = (
                f"`bundles` names column {bundles!r} which `projects` lacks; its columns are "
                f"{list(projects.columns)}."
            )
            raise SchemaError(msg)
        col = projects[bundles]
        return col.astype(object).where(col.notna(), ids).astype(str).rename("bundle")
    if isinstance(bundles, pd.Series):
        col = bundles.reindex(projects.index)
        return col.astype(object).where(col.notna(), ids).astype(str).rename("bundle")
    owner: dict[str, str] = {}
    known = set(ids)
    for name, members in bundles.items():
        if isinstance(members, str):
            members = [members]
        for m in members:
            m = _id_text(m)
            if m in owner:
                msg = (
                    f"project {m!r} is in bundles {owner[m]!r} and {name!r}; a project "
                    f"belongs to one bundle."
                )
                raise InputError(msg)
            if m not in known:
                msg = (
                    f"bundle {name!r} lists project {m!r} which is not in `projects`; "
                    f"check the id."
                )
                raise InputError(msg)
            owner[m] = str(name)
    return ids.map(lambda i: owner.get(i, i)).rename("bundle")


def _num(projects: pd.DataFrame, col: str) -> pd.Series:
    if col not in projects.columns:
        return pd.Series(np.nan, index=projects.index, dtype=float)
    return pd.to_numeric(projects[col], errors="coerce").astype(float)


def _rate(projects: pd.DataFrame, key: str, p: FundParams) -> pd.Series:
    default = float(getattr(p, key))
    if key not in projects.columns:
        return pd.Series(default, index=projects.index, dtype=float)
    vals = _num(projects, key)
    if (vals < 0).any():
        bad = projects.loc[vals < 0, "project_id"].tolist()
        msg = f"column {key!r} is negative for projects {bad}; rates and prices must be ≥ 0."
        raise InputError(msg)
    return vals.fillna(default)


def fund_balance(
    projects: pd.DataFrame | Any,
    *,
    params: FundParams | str | Path | Mapping[str, Any] | None = None,
    plots: pd.DataFrame | None = None,
    bundles: Mapping[str, Sequence[str]] | str | pd.Series | None = None,
    compensation: Compensation | None = None,
    cashflow: bool = False,
    as_of: dt.date | None = None,
) -> FundBalance:
    """
    Roll up costs and revenue per project and per bundle of projects (区域平衡).

    See the user guide (docs/guide/fund.md) for every line of the roll-up and the definition of the
    break-even FAR.

    Parameters
    ----------
    projects
        One row per project (a `Ledger`, its table, or any (Geo)DataFrame) with
        ``project_id`` and ``project_type``; used when present: ``households``,
        ``demolished_floor_area``, ``business_floor_area``, ``resettlement_floor_area``,
        ``other_revenue``, ``land_area`` (else the polygon area) and per-project parameter
        columns (e.g. ``appraised_value_per_m2``). Missing counts and areas count as 0 and
        are listed in ``missing_inputs`` (with one warning).
    params
        `FundParams`, a TOML path, a mapping of overrides, or None for the defaults.
    plots
        Sale plots: ``project_id``, ``plot_area`` (or 出让面积 / polygons), ``far``
        (容积率), ``land_price_per_m2`` (楼面地价), optional ``plot_id``. Defaults to the
        ``[[plots]]`` of `params`, and when there are none, to `plots_from_projects`
        (if ``sale_plots.derive``).
    bundles
        Bundle name -> project ids, a column of `projects`, or a Series aligned on
        `projects`. Projects in no bundle form a bundle of their own (named by id). By
        default, the ``bundle`` column of `plots` when it has one.
    compensation
        Per-building compensation (`geo_renewal.compensation.compensation_by_building`):
        the compensation lines of every project with compensated buildings come from its
        buildings instead of one appraised price (column ``compensation_basis``).
    cashflow
        Also place every line on the calendar and finance it (`geo_renewal.cashflow`):
        ``FundBalance.cashflow``. Stage dates come from `projects` (ledger columns).
    as_of
        The date assumed for projects without dates in the cash flow (today by default).

    Returns
    -------
    balance
        A `FundBalance` with ``projects``, ``plots``, ``bundles`` (with a total row) and
        ``sensitivity`` tables; money in 元; ``cashflow`` when asked for.

    Raises
    ------
    SchemaError
        If `projects` or `plots` lacks a required column.
    InputError
        For invalid parameters, negative rates, a plot of an unknown project, or a project
        in two bundles.

    See Also
    --------
    fund_tables : The tables in 万元 with labelled headers, ready for `write_tables`.

    Examples
    --------
    >>> projects = pd.DataFrame({
    ...     "project_id": ["A"], "project_type": ["demolish"], "households": [10],
    ...     "demolished_floor_area": [1000.0], "land_area": [2000.0]})
    >>> fb = fund_balance(projects, plots=pd.DataFrame(
    ...     {"project_id": ["A"], "plot_area": [1000.0], "far": [2.0], "land_price_per_m2": [10000]}))
    >>> fb.projects.loc[0, ["land_revenue", "comp_appraised"]].tolist()
    [20000000.0, 15000000.0]
    >>> round(float(fb.projects.loc[0, "break_even_far"]), 3)
    1.733
    """
    if hasattr(projects, "table") and hasattr(projects, "findings"):
        projects = projects.table
    _require(projects, ["project_id", "project_type"], "projects")
    p = _as_params(params)
    ids = _unique_ids(projects)
    inputs = _inputs(projects)
    r = _rates(projects, p)
    plots = _checked_plots(plots) if _checked_plots(plots, check=False) is not None else plots
    if bundles is None and plots is not None and "bundle" in plots.columns:
        bundles = _bundles_from_plots(projects, ids, plots)
    out = _costs(projects, ids, inputs, r, bundles)
    if compensation is not None:
        out = _use_compensation(out, compensation, r)
    plot_table = _sale_plots(projects, plots, p, ids, inputs["land_area"])
    out = _revenue(out, projects, ids, plot_table, r)
    out = _subsidies(out, p)
    out["missing_inputs"] = [", ".join(m) for m in inputs["missing"]]
    _warn_incomplete(out)
    bundle_table = _bundle_table(out)
    plot_out = _plot_columns(plot_table, ids, out, bundle_table)
    flow = None
    if cashflow:
        from geo_renewal.cashflow import cash_flow

        flow = cash_flow(
            out.drop(columns="_plot_value_per_far"),
            plot_out,
            params=p,
            schedule=projects,
            as_of=as_of,
        )
    return FundBalance(
        projects=out.drop(columns="_plot_value_per_far"),
        plots=plot_out,
        bundles=bundle_table.drop(columns="_plot_value_per_far"),
        sensitivity=_sensitivity(bundle_table, p.land_price_changes),
        params=p,
        cashflow=flow,
        compensation=compensation,
        supply=_checked_plots(plots),
    )


def _checked_plots(plots: pd.DataFrame | None, *, check: bool = True) -> pd.DataFrame | None:
    """Return the plots with their supply status (`check_plots`) when they have any."""
    if plots is None:
        return None
    if "overdue" in plots.columns:
        return plots
    columns = {"status", "deal_price", "start_price", "sold_planned", "sold_actual"}
    if columns & set(plots.columns) and "plot_id" in plots:
        if not check:
            return plots
        from geo_renewal.supply import check_plots

        return check_plots(plots, source="`plots`")
    return None


def _bundles_from_plots(projects: pd.DataFrame, ids: pd.Series, plots: pd.DataFrame) -> pd.Series:
    """Return each project's bundle as its sale plots name it (one bundle per project)."""
    pairs = plots[["project_id", "bundle"]].dropna().astype(str).drop_duplicates()
    twice = pairs[pairs["project_id"].duplicated(keep=False)]
    if len(twice):
        msg = (
            f"the sale plots put project {twice['project_id'].iloc[0]!r} in bundles "
            f"{sorted(twice['bundle'][twice['project_id'] == twice['project_id'].iloc[0]])}; "
            f"a project belongs to one bundle: correct the plots' 平衡单元."
        )
        raise InputError(msg)
    return ids.map(pairs.set_index("project_id")["bundle"]).set_axis(projects.index)


def _use_compensation(
    out: pd.DataFrame, compensation: Compensation, r: Mapping[str, pd.Series]
) -> pd.DataFrame:
    """Replace the compensation lines of projects with compensated buildings by their sums."""
    from geo_renewal.compensation import COMPENSATION_LINES

    sums = compensation.projects.drop(
        index=[schema.TOTAL_ROW, schema.OUTSIDE_ROW], errors="ignore"
    )
    unknown = sorted(set(sums.index.astype(str)) - set(out["project_id"]))
    if unknown:
        msg = (
            f"the compensation names projects {unknown[:10]} that are not in `projects`; "
            f"compute it with the same projects."
        )
        raise InputError(msg)
    has = out["project_id"].isin(sums.index) & (out["project_type"] == "demolish")
    out = out.copy()
    out["compensation_basis"] = np.where(has, "buildings", "appraised")
    for col in COMPENSATION_LINES:
        given = out["project_id"].map(sums[col])
        out[col] = given.where(has, out[col]).astype(float)
    out["compensation"] = out[list(COMPENSATION_LINES)].sum(axis=1)
    flat = out["project_id"].map(sums["flat_households"])
    out["resettlement_households"] = flat.where(has, out["resettlement_households"]).astype(float)
    out["resettlement_floor_area"] = (
        out["resettlement_households"] * r["floor_area_per_household"]
    ).where(has, out["resettlement_floor_area"])
    out["resettlement_construction"] = (
        out["resettlement_floor_area"] * r["construction_cost_per_m2"]
    )
    out["cost_base"] = out[
        [
            "compensation",
            "resettlement_construction",
            "demolition_cost",
            "infrastructure_cost",
            "upgrade_cost",
        ]
    ].sum(axis=1)
    out["financing_cost"] = out["cost_base"] * r["rate_per_year"] * r["years"]
    out["total_cost"] = out["cost_base"] + out["financing_cost"]
    return out


def _subsidies(out: pd.DataFrame, p: FundParams) -> pd.DataFrame:
    """Add the [[subsidies]] of kind subsidy (奖补资金) as revenue; bonds are repaid (net 0)."""
    amounts = pd.Series(0.0, index=out.index)
    first = out.drop_duplicates("bundle").set_index("bundle")["project_id"]
    for e in p.subsidies:
        if e.get("kind") != "subsidy":
            continue
        pid = str(e["project_id"]) if "project_id" in e else first.get(str(e.get("bundle")))
        hit = out["project_id"] == pid
        if not hit.any():
            where = e.get("project_id", e.get("bundle"))
            msg = f"[[subsidies]] {e.get('name', '')!r} names {where!r}, which is not a project or bundle."
            raise InputError(msg)
        amounts[hit] += float(e["amount"])
    out["subsidy_revenue"] = amounts
    out["total_revenue"] = out["total_revenue"] + amounts
    out["balance"] = out["total_revenue"] - out["total_cost"]
    out["break_even_far"] = _break_even(out)
    return out


def _unique_ids(projects: pd.DataFrame) -> pd.Series:
    ids = projects["project_id"].map(_id_text)
    dup = ids[ids.duplicated()].unique().tolist()
    if dup:
        msg = f"`projects` repeats project ids {dup}; give each project one row."
        raise InputError(msg)
    return ids


def _inputs(projects: pd.DataFrame) -> dict[str, Any]:
    """Return counts and areas (missing as 0), type masks and each project's missing inputs."""
    ptype = projects["project_type"].astype(object)
    expro = ptype.isin(_EXPROPRIATION_TYPES).to_numpy()
    upgrade = ptype.isin(_UPGRADE_TYPES).to_numpy()
    hh = _num(projects, "households")
    dfa = _num(projects, "demolished_floor_area")
    business = _num(projects, "business_floor_area")
    land = _land_area(projects)
    missing: list[list[str]] = [[] for _ in range(len(projects))]
    for name, series, needed in (
        ("households", hh, np.ones(len(projects), bool)),
        ("demolished_floor_area", dfa, expro),
        ("land_area", land, np.ones(len(projects), bool)),
    ):
        for i in np.flatnonzero(series.isna().to_numpy() & needed):
            missing[i].append(name)
    return {
        "project_type": ptype,
        "expropriation": pd.Series(expro.astype(float), index=projects.index),
        "upgrade": pd.Series(upgrade.astype(float), index=projects.index),
        "households": hh.fillna(0.0),
        "demolished_floor_area": dfa.fillna(0.0),
        "business_floor_area": business.fillna(0.0),
        "land_area": land.fillna(0.0),
        "missing": missing,
    }


def _rates(projects: pd.DataFrame, p: FundParams) -> dict[str, pd.Series]:
    """Return every overridable rate per project (the column if given, else the parameter)."""
    r = {k: _rate(projects, k, p) for k in _OVERRIDABLE}
    for k in _SHARES:
        if k in r and (r[k] > 1).any():
            msg = f"column {k!r} holds shares above 1; give fractions between 0 and 1."
            raise InputError(msg)
    return r


def _costs(
    projects: pd.DataFrame,
    ids: pd.Series,
    inputs: Mapping[str, Any],
    r: Mapping[str, pd.Series],
    bundles: Mapping[str, Sequence[str]] | str | pd.Series | None,
) -> pd.DataFrame:
    """Return the project inputs, the rates used and every cost line (元)."""
    e, u = inputs["expropriation"], inputs["upgrade"]
    hh, dfa, land = inputs["households"], inputs["demolished_floor_area"], inputs["land_area"]
    business = inputs["business_floor_area"]
    res_hh = (hh - _cash_households(hh * e, r["cash_share"], ids)) * e
    if "resettlement_floor_area" in projects.columns:
        given = _num(projects, "resettlement_floor_area")
        res_fa = given.fillna(res_hh * r["floor_area_per_household"]) * e
    else:
        res_fa = res_hh * r["floor_area_per_household"]
    out = pd.DataFrame(index=projects.index)
    out["project_id"] = ids
    out["name"] = projects["name"] if "name" in projects.columns else None
    out["project_type"] = inputs["project_type"]
    out["bundle"] = _bundle_of(projects, bundles)
    out["land_area"] = land
    out["demolished_floor_area"] = dfa * e
    out["households"] = hh
    out["business_floor_area"] = business * e
    out["resettlement_households"] = res_hh
    out["resettlement_floor_area"] = res_fa
    for k in _OVERRIDABLE:
        out[k] = r[k]
    out["comp_appraised"] = r["appraised_value_per_m2"] * dfa * e
    out["comp_moving"] = r["moving_per_household"] * hh * e
    out["comp_temporary"] = r["temporary_per_household_month"] * r["temporary_months"] * res_hh
    out["comp_business"] = r["business_loss_per_m2"] * business * e
    out["comp_incentive"] = r["incentive_per_household"] * hh * e
    out["compensation"] = out[
        ["comp_appraised", "comp_moving", "comp_temporary", "comp_business", "comp_incentive"]
    ].sum(axis=1)
    out["resettlement_construction"] = res_fa * r["construction_cost_per_m2"]
    out["demolition_cost"] = r["demolition_per_m2"] * dfa * e
    out["infrastructure_cost"] = r["infrastructure_per_m2"] * land * (e + u).clip(upper=1)
    out["upgrade_cost"] = r["upgrade_per_household"] * hh * u
    out["cost_base"] = out[
        [
            "compensation",
            "resettlement_construction",
            "demolition_cost",
            "infrastructure_cost",
            "upgrade_cost",
        ]
    ].sum(axis=1)
    out["financing_cost"] = out["cost_base"] * r["rate_per_year"] * r["years"]
    out["total_cost"] = out["cost_base"] + out["financing_cost"]
    return out


def _cash_households(households: pd.Series, share: pd.Series, ids: pd.Series) -> pd.Series:
    """
    Whole cash households per project (largest remainder; the district total conserved).

    Ties go to the smaller project id, as in `geo_renewal.compensation` (its groups).
    """
    from geo_renewal.demand import split_households

    cash = split_households(
        households.to_numpy(dtype=float), share.to_numpy(dtype=float), groups=ids.to_numpy()
    )
    return pd.Series(cash.astype(float), index=households.index)


def _sale_plots(
    projects: pd.DataFrame,
    plots: pd.DataFrame | None,
    p: FundParams,
    ids: pd.Series,
    land: pd.Series,
) -> pd.DataFrame:
    """Return the sale plots (given, declared in the parameters, or derived) with revenue."""
    if plots is not None:
        plot_table = _normalise_plots(plots, p)
    elif p.plots:
        plot_table = _normalise_plots(pd.DataFrame(list(p.plots)), p)
    elif p.derive:
        plot_table = plots_from_projects(projects.assign(land_area=land.where(land > 0)), params=p)
    else:
        plot_table = _normalise_plots(pd.DataFrame(columns=["project_id", "plot_area"]), p)
    unknown = sorted(set(plot_table["project_id"]) - set(ids))
    if unknown:
        msg = (
            f"sale plots name projects {unknown} that are not in `projects`; correct the "
            f"plot's project_id."
        )
        raise InputError(msg)
    plot_table["sale_floor_area"] = plot_table["plot_area"] * plot_table["far"]
    plot_table["land_revenue"] = plot_table["sale_floor_area"] * plot_table["land_price_per_m2"]
    plot_table["_value_per_far"] = plot_table["plot_area"] * plot_table["land_price_per_m2"]
    return plot_table


def _revenue(
    out: pd.DataFrame,
    projects: pd.DataFrame,
    ids: pd.Series,
    plot_table: pd.DataFrame,
    r: Mapping[str, pd.Series],
) -> pd.DataFrame:
    """Add the sale plots' totals, every revenue line, the balance and the break-even FAR."""
    per_project = plot_table.groupby("project_id")[
        ["plot_area", "sale_floor_area", "land_revenue", "_value_per_far"]
    ].sum()
    out["sale_plot_area"] = ids.map(per_project["plot_area"]).fillna(0.0).to_numpy()
    out["sale_floor_area"] = ids.map(per_project["sale_floor_area"]).fillna(0.0).to_numpy()
    out["_plot_value_per_far"] = ids.map(per_project["_value_per_far"]).fillna(0.0).to_numpy()
    out["land_revenue"] = ids.map(per_project["land_revenue"]).fillna(0.0).to_numpy()
    out["resettlement_settlement"] = out["resettlement_floor_area"] * r["settlement_price_per_m2"]
    out["other_revenue"] = _num(projects, "other_revenue").fillna(0.0)
    out["total_revenue"] = out[["land_revenue", "resettlement_settlement", "other_revenue"]].sum(
        axis=1
    )
    out["balance"] = out["total_revenue"] - out["total_cost"]
    out["break_even_far"] = _break_even(out)
    return out


def _warn_incomplete(out: pd.DataFrame) -> None:
    incomplete = out.loc[out["missing_inputs"] != "", "project_id"].tolist()
    if incomplete:
        warnings.warn(
            f"fund balance: {len(incomplete)} projects lack inputs counted as 0 "
            f"(see column missing_inputs): {incomplete[:10]}"
            + (" …" if len(incomplete) > 10 else ""),
            UserWarning,
            stacklevel=3,  # the caller of fund_balance
        )


def _plot_columns(
    plot_table: pd.DataFrame, ids: pd.Series, out: pd.DataFrame, bundle_table: pd.DataFrame
) -> pd.DataFrame:
    """Add each plot's bundle and break-even FARs; return the plot table's columns in order."""
    plot_table["bundle"] = plot_table["project_id"].map(dict(zip(ids, out["bundle"], strict=True)))
    plot_table["project_break_even_far"] = plot_table["project_id"].map(
        dict(zip(ids, out["break_even_far"], strict=True))
    )
    plot_table["bundle_break_even_far"] = plot_table["bundle"].map(bundle_table["break_even_far"])
    extra = [c for c in ("status", "price_basis", "sale_date") if c in plot_table.columns]
    return plot_table.drop(columns="_value_per_far")[
        [
            "project_id",
            "bundle",
            "plot_id",
            "plot_source",
            "plot_area",
            "far",
            "land_price_per_m2",
            "sale_floor_area",
            "land_revenue",
            "project_break_even_far",
            "bundle_break_even_far",
            *extra,
        ]
    ].reset_index(drop=True)


def _break_even(df: pd.DataFrame) -> pd.Series:
    need = df["total_cost"] - df["resettlement_settlement"] - df["other_revenue"]
    if "subsidy_revenue" in df.columns:
        need = need - df["subsidy_revenue"]
    per_far = df["_plot_value_per_far"]
    return (need / per_far.where(per_far > 0)).astype(float)


def _bundle_table(out: pd.DataFrame) -> pd.DataFrame:
    from geo_renewal.stats import TOTAL_ROW

    cols = [c for c in _SUMMABLE if c in out.columns]
    grouped = out.groupby("bundle", sort=False)
    b = grouped[cols].sum()
    b.insert(0, "projects", grouped.size())
    b.insert(1, "project_ids", grouped["project_id"].agg(lambda s: ", ".join(s)))
    total = pd.DataFrame([b[cols].sum()], index=[TOTAL_ROW])
    total.insert(0, "projects", int(b["projects"].sum()))
    total.insert(1, "project_ids", "")
    b = pd.concat([b, total])
    b["projects"] = b["projects"].astype(int)
    b["break_even_far"] = _break_even(b)
    b.index.name = "bundle"
    return b


def _sensitivity(bundles: pd.DataFrame, changes: Sequence[float]) -> pd.DataFrame:
    rows = []
    subsidy = bundles.get("subsidy_revenue", 0.0)
    for c in changes:
        land = bundles["land_revenue"] * (1 + c)
        revenue = land + bundles["resettlement_settlement"] + bundles["other_revenue"] + subsidy
        per_far = bundles["_plot_value_per_far"] * (1 + c)
        need = (
            bundles["total_cost"]
            - bundles["resettlement_settlement"]
            - bundles["other_revenue"]
            - subsidy
        )
        rows.append(
            pd.DataFrame(
                {
                    "bundle": bundles.index,
                    "land_price_change": float(c),
                    "land_revenue": land,
                    "total_revenue": revenue,
                    "total_cost": bundles["total_cost"],
                    "balance": revenue - bundles["total_cost"],
                    "break_even_far": (need / per_far.where(per_far > 0)).astype(float),
                }
            )
        )
    if not rows:
        return pd.DataFrame(
            columns=[
                "bundle",
                "land_price_change",
                "land_revenue",
                "total_revenue",
                "total_cost",
                "balance",
                "break_even_far",
            ]
        )
    sens = pd.concat(rows, ignore_index=True)
    order = {b: i for i, b in enumerate(bundles.index)}
    sens["_o"] = sens["bundle"].map(order)
    return (
        sens.sort_values(["_o", "land_price_change"], kind="stable")
        .drop(columns="_o")
        .reset_index(drop=True)
    )


def fund_balance_from_files(
    projects: str | Path,
    *,
    ledger: str | Path | None = None,
    layer: str | None = None,
    sheet: str | None = None,
    params: FundParams | str | Path | Mapping[str, Any] | None = None,
    plots: str | Path | pd.DataFrame | None = None,
    bundles: Mapping[str, Sequence[str]] | str | pd.Series | None = None,
    header_row: int | Sequence[int] | None = None,
    buildings: str | Path | pd.DataFrame | None = None,
    bands: str | Path | pd.DataFrame | None = None,
    scheme: str | Path | None = None,
    cashflow: bool = False,
    as_of: dt.date | None = None,
) -> FundBalance:
    """
    Read the projects (and sale plots) from files and balance their funds (区域平衡).

    What ``geo-renewal fund`` computes: `projects` is a polygon file, joined to `ledger`
    when given, or a ledger (CSV/XLSX) itself; then `fund_balance`.

    Parameters
    ----------
    projects
        Project polygons (GeoPackage, Shapefile …), or a ledger file when `ledger` is None.
    ledger
        Ledger (台账) with households and demolished floor area, joined to `projects`.
    layer
        Layer of `projects` to read.
    sheet
        Sheet of an XLSX ledger.
    params
        Fund parameters, as for `fund_balance`.
    plots
        Sale plots: a CSV (UTF-8), XLSX or polygon file, or a DataFrame.
    bundles
        Bundles, as for `fund_balance` (e.g. the name of a column of the projects).
    header_row
        The header row(s) of the ledger, as for `read_ledger` (found by default).
    buildings
        Buildings to price one by one (`geo_renewal.compensation.compensation_by_building`):
        a layer (a GeoPackage's ``buildings`` layer) or a frame; None: one price per project.
    bands
        Price bands (区位价): a layer (a GeoPackage's ``price_bands`` layer) or a frame.
    scheme
        The compensation scheme (TOML); the bundled placeholders when None.
    cashflow
        Also compute the cash flow (`FundBalance.cashflow`).
    as_of
        The meeting date (overdue plots, projects without dates); today by default.

    Returns
    -------
    balance
        The `FundBalance`.

    Raises
    ------
    InputError, SchemaError
        As `read_ledger` and `fund_balance` do.

    See Also
    --------
    write_fund_tables : Write the balance as a workbook.

    Examples
    --------
    >>> import warnings
    >>> path = gr.datasets.get_path("sample_district")
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # the polygons alone lack household counts
    ...     fb = fund_balance_from_files(path, layer="projects")
    >>> len(fb.projects) == len(gr.read_layer(path, layer="projects"))
    True
    """
    table = _read_fund_projects(
        projects, ledger=ledger, layer=layer, sheet=sheet, header_row=header_row
    )
    if plots is not None and not isinstance(plots, pd.DataFrame):
        plots = _read_plots(plots)
    compensation = None
    if buildings is not None:
        from geo_renewal.compensation import compensation_by_building

        if not isinstance(buildings, pd.DataFrame):
            buildings = _read_named(buildings, "buildings", "buildings")
        if bands is not None and not isinstance(bands, pd.DataFrame):
            bands = _read_named(bands, "price_bands", "price_bands")
        compensation = compensation_by_building(
            buildings, scheme=scheme, params=_as_params(params), projects=table, bands=bands
        )
    return fund_balance(
        table,
        params=params,
        plots=plots,
        bundles=bundles,
        compensation=compensation,
        cashflow=cashflow,
        as_of=as_of,
    )
