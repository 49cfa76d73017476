"""
The cash flow's outputs: workbook sheets, caveats, the headline sentence, a run's inputs.

Private to `geo_renewal.cashflow`, which re-exports `money_over_time_tables`,
`money_caveats`, `cashflow_summary` and `fund_inputs`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from geo_renewal import schema

__all__ = [
    "cashflow_summary",
    "fund_inputs",
    "money_caveats",
    "money_over_time_tables",
    "signing_note",
]


def _change_text(factor: str, change: float, lang: str) -> str:
    from geo_renewal.text import say

    if factor == "base":
        return ""
    if factor in ("supply_delay", "signing_delay"):
        return say("fund.change.months", lang, n=change)
    if factor == "cash_share":
        return say("fund.change.points", lang, n=change * 100)
    return f"{change:+.0%}"


def _moved_text(row: Mapping[str, Any], lang: str) -> str:
    """Say what a sensitivity row moves: which projects, which dates, by how many months."""
    from geo_renewal.text import say

    factor, change = row["factor"], float(row["change"])
    pct = f"{change:+.0%}"
    if factor == "signing_delay":
        if not row.get("projects_moved", 0):
            return say("cashflow.moved.signing_none", lang)
        lo, hi = float(row["supply_moved_min"]), float(row["supply_moved_max"])
        if hi <= 0:
            supply = say("cashflow.moved.absorbed", lang)
        elif lo < hi or hi < float(row["signing_moved"]):
            supply = say("cashflow.moved.range", lang, lo=lo, hi=hi)
        else:
            supply = say("cashflow.moved.months", lang, n=hi)
        rev = float(row.get("revenue_moved", hi))
        revenue = (
            say("cashflow.moved.revenue", lang, n=rev)
            if rev > 0
            else say("cashflow.moved.revenue_stays", lang)
        )
        return say(
            "cashflow.moved.signing",
            lang,
            who=_who(row, lang),
            sign=float(row["signing_moved"]),
            supply=supply,
            revenue=revenue,
        )
    if factor == "supply_delay":
        return say("cashflow.moved.supply", lang, who=_who(row, lang), months=change)
    if factor in ("land_price", "compensation"):
        return say(f"cashflow.moved.{factor}", lang, pct=pct)
    if factor == "cash_share":
        return say("cashflow.moved.cash_share", lang)
    return ""


def _who(row: Mapping[str, Any], lang: str) -> str:
    """Name the projects a row moves: their ids when a few, else how many."""
    from geo_renewal.text import say

    n = int(row["projects_moved"])
    ids = str(row.get("moved_ids") or "")
    if 0 < n <= 4 and ids:
        return ids.replace(", ", say("progress.list_separator", lang))  # the projects' own ids
    return say("cashflow.moved.count", lang, n=n)


def signing_note(cf: Any, *, lang: str = "zh") -> str:
    """
    Return the note on signing delays that improve a balance ("" when none does).

    Parameters
    ----------
    cf
        A `geo_renewal.cashflow.CashFlow`.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    note
        One paragraph: which delays improve which bundles, by how much at most, and the
        exact condition under which a signing delay saves interest.

    Examples
    --------
    >>> import geo_renewal as gr
    >>> projects = pd.DataFrame({"project_id": ["A"], "project_type": ["demolish"],
    ...     "households": [10], "demolished_floor_area": [1000.0], "land_area": [2000.0],
    ...     "signing_actual": ["2026-06-30"]})
    >>> signing_note(gr.fund_balance(projects, cashflow=True).cashflow)
    ''
    """
    from geo_renewal.text import say

    s = cf.sensitivity
    up = s[(s["factor"] == "signing_delay") & (s["balance_change"] > 0.5)]
    if up.empty:
        return ""
    sep = say("progress.list_separator", lang)
    months = sep.join(say("fund.change.months", lang, n=m) for m in sorted(set(up["change"])))
    names = list(dict.fromkeys(str(b) for b in up["bundle"] if b != schema.TOTAL_ROW))
    if (up["bundle"] == schema.TOTAL_ROW).any():
        names.append(say("cashflow.district", lang))
    bundles = sep.join(names[:6]) + (say("caveat.and_more", lang) if len(names) > 6 else "")
    gain = float(up["balance_change"].max()) / 1e4
    return say("cashflow.signing_note", lang, months=months, bundles=bundles, gain=gain)


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
        sens.insert(3, "moved_text", [_moved_text(row, lang) for _, row in sens.iterrows()])
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
        cash flow, ``"signing"`` when a signing delay improves a balance (`signing_note`),
        ``"scheme"`` when the compensation prices are placeholders; {} if none.

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
    cf = getattr(balance, "cashflow", None)
    note = signing_note(cf, lang=lang) if cf is not None else ""
    if note:
        out["signing"] = note
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
