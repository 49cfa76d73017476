"""
The cash-flow charts and the meeting report's fund section (资金平衡与现金流).

`cashflow_chart` draws the cumulative net flow, the loan balance and the peak need marked;
`tornado_chart` the sensitivity of the balance; `money_section` puts both (inline SVG), the
headline figures, the bundles that break and the placeholder caveats into the report.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from geo_renewal import schema
from geo_renewal._compat import import_optional
from geo_renewal._html import escape
from geo_renewal.skyline import _CJK_FONTS
from geo_renewal.text import say

if TYPE_CHECKING:
    from geo_renewal.cashflow import CashFlow

__all__ = ["cashflow_chart", "money_section", "tornado_chart"]


def _save(fig: Any, path: str | Path | None) -> None:
    if path is None:
        return
    from geo_renewal.io import atomic_write

    target = Path(path)
    with atomic_write(target) as tmp:
        fig.savefig(tmp, format=target.suffix.lstrip(".").lower() or "png")


def cashflow_chart(
    cf: CashFlow, *, bundle: str = "total", path: str | Path | None = None, lang: str = "zh"
) -> Any:
    """
    Draw a bundle's cumulative net flow and loan balance by period, the peak need marked.

    Parameters
    ----------
    cf
        `geo_renewal.fund.FundBalance.cashflow`.
    bundle
        The bundle (``"total"``: the district as one project).
    path
        PNG or SVG to write (atomically); None: only return the figure.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    figure
        The matplotlib Figure.

    Examples
    --------
    >>> import datetime as dt, pandas as pd, geo_renewal as gr
    >>> projects = pd.DataFrame({"project_id": ["A"], "project_type": ["demolish"],
    ...     "households": [10], "demolished_floor_area": [1000.0], "land_area": [2000.0],
    ...     "signing_actual": ["2026-06-30"]})
    >>> cf = gr.fund_balance(projects, cashflow=True, as_of=dt.date(2026, 1, 1)).cashflow
    >>> [line.get_label() for line in cashflow_chart(cf, lang="en").axes[0].lines][:2]
    ['Cumulative net flow (before financing)', 'Loan balance']
    """
    mpl = import_optional("matplotlib", purpose="cash-flow charts")
    from matplotlib.figure import Figure

    rows = cf.by_period[cf.by_period["bundle"] == bundle]
    x = np.arange(len(rows))
    cum = rows["cumulative_net"].to_numpy(dtype=float) / 1e4
    loan = rows["loan_balance"].to_numpy(dtype=float) / 1e4
    with mpl.rc_context({"font.sans-serif": _CJK_FONTS, "axes.unicode_minus": False}):
        fig = Figure(figsize=(8, 3.4), dpi=110)
        ax = fig.add_subplot()
        ax.bar(
            x,
            rows["net_flow"].to_numpy(dtype=float) / 1e4,
            color="#c6dbef",
            width=0.6,
            label=say("cashflow.chart.net_flow", lang),
        )
        ax.plot(
            x, cum, color="#1f5fa8", lw=2, marker="o", label=say("cashflow.chart.balance", lang)
        )
        ax.plot(x, loan, color="#d62728", lw=2, marker="s", label=say("cashflow.chart.loan", lang))
        if loan.max() > 0:
            k = int(loan.argmax())
            ax.annotate(  # above the peak, on white: no line runs through the label
                say("cashflow.chart.peak", lang, peak=loan[k]),
                (k, loan[k]),
                xytext=(0, 9),
                textcoords="offset points",
                ha="center",
                va="bottom",
                color="#d62728",
                fontsize=9,
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.9},
                zorder=5,
            )
            ax.margins(y=0.15)
        ax.axhline(0, color="#666", lw=0.8)
        ax.yaxis.set_major_formatter(_thousands())
        ax.set_xticks(x, rows["period"].tolist(), rotation=45 if len(x) > 12 else 0)
        ax.set_title(say("cashflow.chart.title", lang), fontsize=11)
        ax.legend(loc="best", fontsize=8, frameon=False)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        _save(fig, path)
    return fig


def tornado_chart(
    cf: CashFlow, *, bundle: str = "total", path: str | Path | None = None, lang: str = "zh"
) -> Any:
    """
    Draw the change of a bundle's balance under each sensitivity scenario (a tornado).

    Parameters
    ----------
    cf
        `geo_renewal.fund.FundBalance.cashflow`.
    bundle
        The bundle (``"total"``: the district).
    path
        PNG or SVG to write; None: only return the figure.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    figure
        The matplotlib Figure, the largest swing on top.

    Examples
    --------
    >>> import datetime as dt, pandas as pd, geo_renewal as gr
    >>> projects = pd.DataFrame({"project_id": ["A"], "project_type": ["demolish"],
    ...     "households": [10], "demolished_floor_area": [1000.0], "land_area": [2000.0],
    ...     "signing_actual": ["2026-06-30"]})
    >>> cf = gr.fund_balance(projects, cashflow=True, as_of=dt.date(2026, 1, 1)).cashflow
    >>> len(tornado_chart(cf, lang="en").axes[0].patches) > 4
    True
    """
    from geo_renewal._cashflow_tables import _change_text

    mpl = import_optional("matplotlib", purpose="cash-flow charts")
    from matplotlib.figure import Figure

    s = cf.sensitivity
    s = s[(s["bundle"] == bundle) & (s["factor"] != "base")].copy()
    s["swing"] = s["balance_change"].abs()
    s = s.sort_values("swing", kind="stable")
    labels = [
        f"{schema.value_label('factor', f, lang)} {_change_text(f, c, lang)}"
        for f, c in zip(s["factor"], s["change"], strict=True)
    ]
    values = s["balance_change"].to_numpy(dtype=float) / 1e4
    with mpl.rc_context({"font.sans-serif": _CJK_FONTS, "axes.unicode_minus": False}):
        fig = Figure(figsize=(8, 0.32 * len(values) + 1.2), dpi=110)
        ax = fig.add_subplot()
        colours = np.where(values < 0, "#d62728", "#2ca02c")
        bars = ax.barh(np.arange(len(values)), values, color=colours)
        ax.bar_label(bars, labels=[f"{v:+,.0f}" for v in values], padding=3, fontsize=7)
        ax.set_yticks(np.arange(len(values)), labels, fontsize=8)
        ax.axvline(0, color="#333", lw=0.8)
        ax.xaxis.set_major_formatter(_thousands())
        ax.margins(x=0.12)  # room for the value labels
        ax.set_title(say("cashflow.tornado.title", lang), fontsize=11)
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        _save(fig, path)
    return fig


def _thousands() -> Any:
    """Return a tick formatter with thousands separators (197,643, not 197643)."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: f"{v:,.0f}")


def _svg(fig: Any) -> str:
    """Return the figure as inline SVG (drawn with the CJK fonts: text is laid out now)."""
    mpl = import_optional("matplotlib", purpose="cash-flow charts")
    buf = io.StringIO()
    with mpl.rc_context({"font.sans-serif": _CJK_FONTS, "axes.unicode_minus": False}):
        fig.savefig(buf, format="svg")
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    # scale with the page (phones): the viewBox keeps the proportions
    return re.sub(
        r'<svg([^>]*?) width="[^"]+" height="[^"]+"',
        r'<svg\1 style="width:100%;max-width:860px;height:auto"',
        text,
        count=1,
    )


def money_section(result: Any, lang: str) -> str:
    """
    Return the report's fund section: headline figures, charts, bundles that break.

    Parameters
    ----------
    result
        A run result; its ``fund.cashflow`` is shown ("" when there is none).
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    html
        A ``<div class="page">`` fragment, every data text escaped.
    """
    fund: Any = getattr(result, "fund", None)
    cf = getattr(fund, "cashflow", None)
    if fund is None or cf is None:
        return ""
    from geo_renewal.cashflow import cashflow_summary
    from geo_renewal.fund_params import placeholder_caveat

    rows = cf.bundles.drop(index=schema.TOTAL_ROW)
    head = cashflow_summary(fund, lang=lang)
    parts = [f"<h2>{escape(say('cashflow.report.title', lang))}</h2><p>{escape(head)}</p>"]
    values = fund.projects["balance"].to_numpy(dtype=float)
    caveat = placeholder_caveat(fund.params, balance=values, lang=lang, cashflow=True)
    if caveat:
        parts.append(f'<p class="caveat">{escape(caveat)}</p>')
    broken = rows[~rows["closed"]]
    items = [
        say(
            "cashflow.breaks",
            lang,
            bundle=b,
            when=r["breaks_in"],
            reason=schema.value_label("break_reason", r["break_reason"], lang),
        )
        for b, r in broken.iterrows()
    ]
    if items:
        parts.append("<ul>" + "".join(f"<li>{escape(t)}</li>" for t in items[:12]) + "</ul>")
    parts.append(f'<div class="chart">{_svg(cashflow_chart(cf, lang=lang))}</div>')
    parts.append(f'<div class="chart">{_svg(tornado_chart(cf, lang=lang))}</div>')
    from geo_renewal._cashflow_tables import signing_note

    note = signing_note(cf, lang=lang)
    if note:
        parts.append(f'<p class="note">{escape(note)}</p>')
    return f'<div class="page">{"".join(parts)}</div>'
