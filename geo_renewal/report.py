"""
The meeting pack: a one-page, self-contained HTML report of a run.

`meeting_report` writes what a leader looks at first in a weekly meeting: the key figures
(households to move, land by class, resettlement sites and capacity, the 63号文 checks,
projects behind schedule), the classification map embedded in the page, bar charts and the
main tables. The page has no external resource at all: the map is embedded with
``iframe srcdoc`` and charts are plain HTML/CSS bars, so Chinese text renders with the
viewer's own fonts and the file opens from a USB stick on a meeting-room PC.

Every text that comes from data passes through `geo_renewal._html.escape`; tables are
rendered by `geo_renewal.tables.format_table(style="html")`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from geo_renewal._comparison import comparison_section
from geo_renewal._folium import runtime_css
from geo_renewal._html import escape
from geo_renewal._money_report import money_section
from geo_renewal._roles import classes_of
from geo_renewal.schema import CATEGORIES, STAGE_ORDER, STAGES, Category, label
from geo_renewal.stats import OUTSIDE_ROW, TOTAL_ROW
from geo_renewal.tables import format_table
from geo_renewal.text import say
from geo_renewal.views import corridor_report
from geo_renewal.weekly import weekly_section

if TYPE_CHECKING:
    from geo_renewal.workflow import RunResult

__all__ = ["bar_chart", "meeting_report"]

#: The ``lang`` attribute of the page.
_HTML_LANG = {"zh": "zh-CN", "en": "en"}

_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC","Source Han Sans SC",
 "WenQuanYi Zen Hei",sans-serif;margin:0;background:#f4f5f7;color:#222}
header{background:#8b1a1a;color:#fff;padding:14px 28px}
header h1{margin:0;font-size:24px}header p{margin:4px 0 0;opacity:.85}
main{padding:16px 28px;max-width:1400px}
section{background:#fff;border-radius:6px;padding:12px 18px;margin:0 0 16px;
 box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:18px;margin:4px 0 10px;border-left:4px solid #8b1a1a;padding-left:8px}
.kpis{display:grid;gap:12px;grid-template-columns:repeat(var(--n1),minmax(0,1fr))}
@media (max-width:1360px){.kpis{grid-template-columns:repeat(var(--n2),minmax(0,1fr))}}
@media (max-width:640px){.kpis{grid-template-columns:repeat(var(--n3),minmax(0,1fr))}}
.kpi{background:#fafafa;border:1px solid #eee;border-radius:6px;padding:8px 12px;min-width:0}
.kpi b{display:block;font-size:24px;color:#8b1a1a;white-space:nowrap}
.kpi span{font-size:13px;color:#555}
.kpi.bad b{color:#d7301f}
.charts{display:flex;flex-wrap:wrap;gap:24px}.chart{flex:1 1 380px}
.bar{display:flex;align-items:center;margin:3px 0;font-size:13px}
.bar .l{width:170px;text-align:right;padding-right:8px;white-space:nowrap;overflow:hidden}
.bar .t{flex:1;background:#f0f0f0;height:18px;border-radius:2px}
.bar .f{height:18px;border-radius:2px}.bar .v{width:90px;padding-left:6px}
.mapbox{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.mapbox iframe{flex:1 1 560px;min-width:0;width:100%;height:640px;border:1px solid #ddd;
 border-radius:4px}
.mapbox .gr-legend{flex:0 0 auto;box-shadow:none;border:1px solid #ddd;max-height:none}
@media (max-width:640px){main{padding:10px}section{padding:10px}.mapbox iframe{height:70vh}}
table.data{border-collapse:collapse;font-size:13px;margin:6px 0}
table.data th{background:#f0f0f0;padding:4px 8px;border:1px solid #ddd;font-weight:600}
table.data td{padding:3px 8px;border:1px solid #eee}table.data td.num{text-align:right}
table.data tr.total td{font-weight:700;background:#fafafa}
table.data caption{text-align:left;font-weight:600;padding:4px 0}
.scroll{overflow-x:auto}.bad{color:#d7301f}.ok{color:#1a9641}
footer{color:#888;font-size:12px;padding:0 28px 20px}
@page{size:A4 portrait;margin:12mm}
@page wallmap{size:A3 landscape;margin:10mm}
@media print{
 body{background:#fff;-webkit-print-color-adjust:exact;print-color-adjust:exact}
 header{padding:8px 0;background:#fff;color:#8b1a1a;border-bottom:2px solid #8b1a1a}
 main{padding:0;max-width:none}footer{display:none}
 section{box-shadow:none;padding:0;margin:0 0 6mm}
 h2,caption{break-after:avoid}tr,.kpi,.chart{break-inside:avoid}
 thead{display:table-header-group}
 .page{break-after:page}.page:last-of-type{break-after:auto}
 .kpis{grid-template-columns:repeat(var(--n2),minmax(0,1fr))}
 .charts{gap:10px}.chart{flex:1 1 45%}.chart h3{margin:4px 0;font-size:13px}
 .bar{font-size:11px;margin:2px 0}.bar .l{width:84px}.bar .v{width:56px}
 .bar .t,.bar .f{height:12px}
 .mapsec{page:wallmap}
 .mapbox{flex-wrap:nowrap}
 .mapbox iframe{flex:1 1 auto;height:250mm;border:1px solid #999}
 .mapbox .gr-legend{width:62mm}
 .scroll{overflow:visible}table.data{font-size:11px}
}
"""

#: Inserted into the embedded map's page: the report draws the legend beside the map.
_EMBED_CSS = "<style>.gr-legend{display:none!important}</style>"

_DECORATE = re.compile(r"geoRenewal\.decorate\([\w]+, (\{.*?\})\);", re.S)


def bar_chart(
    values: Sequence[float],
    labels: Sequence[str],
    *,
    colors: Sequence[str] | None = None,
    fmt: str = "{:,.1f}",
    title: str | None = None,
) -> str:
    """
    Render a horizontal bar chart as plain HTML, every label escaped.

    Plain HTML bars need no script and no font of their own: the browser draws Chinese
    labels with the viewer's fonts, and the page stays self-contained.

    Parameters
    ----------
    values
        Bar lengths (non-negative; NaN drawn as 0).
    labels
        One label per bar.
    colors
        CSS colours per bar; default a single blue.
    fmt
        Format of the value printed after each bar.
    title
        Heading above the chart.

    Returns
    -------
    html
        A ``<div class="chart">`` fragment.

    Examples
    --------
    >>> html = bar_chart([3.0, 1.0], ["征收拆迁", "<b>"])
    >>> "&lt;b&gt;" in html and "width:100.0%" in html
    True
    """
    clean = [0.0 if v is None or not math.isfinite(float(v)) else float(v) for v in values]
    top = max([*clean, 0.0]) or 1.0
    colors = list(colors) if colors is not None else ["#3182bd"] * len(clean)
    rows = [f"<h3>{escape(title)}</h3>"] if title else []
    for v, lab, col in zip(clean, labels, colors, strict=True):
        rows.append(
            f'<div class="bar"><div class="l" title="{escape(lab)}">{escape(lab)}</div>'
            f'<div class="t"><div class="f" style="width:{100.0 * v / top:.1f}%;'
            f'background:{escape(col)}"></div></div><div class="v">{escape(fmt.format(v))}'
            "</div></div>"
        )
    return f'<div class="chart">{"".join(rows)}</div>'


def _kpi(value: str, caption: str, *, bad: bool = False) -> str:
    cls = "kpi bad" if bad else "kpi"
    return f'<div class="{cls}"><b>{escape(value)}</b><span>{escape(caption)}</span></div>'


def _category_totals(result: RunResult) -> pd.DataFrame:
    """Return the run's statistics by class (one row per class present, no total row)."""
    return result.stats["category"].drop(index=TOTAL_ROW)


def _category_color(code: str, classes: Mapping[str, Category] | None = None) -> str:
    cat = (classes or CATEGORIES).get(code)
    return cat.color if cat else "#636363"


def _key_figures(result: RunResult, lang: str) -> str:
    # the total row's demolished figures count every class of role demolish (拆除重建类 …)
    dem = result.stats["category"].loc[TOTAL_ROW]
    households = float(dem.get("demolish_households", 0.0))
    persons = float(dem.get("demolish_population", 0.0))
    floor = float(dem.get("demolish_floor_area_m2", 0.0))
    kpis = [
        _kpi(say("report.n_households", lang, n=households), say("report.hh_move", lang)),
        _kpi(say("report.n_persons", lang, n=persons), say("report.persons_move", lang)),
        _kpi(say("report.wan_m2", lang, n=floor / 10_000), say("report.demolish_area", lang)),
    ]
    rs = result.resettlement
    if rs is not None:
        s = rs.summary
        demand = float(s.get("flat_households", 0))
        supply = float(s.get("capacity_units", rs.sites.get("capacity_units", pd.Series()).sum()))
        kpis.append(_kpi(say("report.n_flats", lang, n=demand), say("report.flats", lang)))
        kpis.append(
            _kpi(
                say("report.n_flats", lang, n=supply),
                say("report.capacity", lang),
                bad=supply < demand,
            )
        )
        rate = s.get("nearby_rate")
        if rate is not None and not pd.isna(rate):
            kpis.append(
                _kpi(
                    f"{100 * float(rate):.1f}%", say("report.nearby", lang), bad=float(rate) < 0.5
                )
            )
    if result.progress is not None:
        n_over = int(result.progress["overdue"].fillna(False).astype(bool).sum())
        kpis.append(
            _kpi(
                say("report.n_projects", lang, n=len(result.progress)),
                say("report.projects", lang),
            )
        )
        kpis.append(
            _kpi(
                say("report.n_projects", lang, n=n_over),
                say("report.overdue", lang),
                bad=n_over > 0,
            )
        )
    n = len(kpis)
    cols = f"--n1:{n};--n2:{math.ceil(n / 2)};--n3:{2 if n > 1 else 1}"  # rows stay even
    return (
        f"<section><h2>{escape(say('report.key_figures', lang))}</h2>"
        f'<div class="kpis" style="{cols}">{"".join(kpis)}</div></section>'
    )


def _charts(result: RunResult, lang: str) -> str:
    totals = _category_totals(result)
    classes = classes_of(result.stats["category"])  # the rule set's names and colours
    labels = [
        classes[c].label(lang) if c in classes else label(c, lang) for c in map(str, totals.index)
    ]
    colors = [_category_color(str(code), classes) for code in totals.index]
    charts = [
        bar_chart(
            totals["area_ha"].tolist(), labels, colors=colors, title=say("report.land", lang)
        ),
        bar_chart(
            totals.get("households", pd.Series(0.0, index=totals.index)).fillna(0).tolist(),
            labels,
            colors=colors,
            fmt="{:,.0f}",
            title=say("report.households", lang),
        ),
    ]
    if result.progress is not None:
        counts = result.progress["stage"].astype(str).value_counts()
        order = [s for s in STAGE_ORDER if s in counts.index] + [
            s for s in counts.index if s not in STAGES
        ]
        charts.append(
            bar_chart(
                [counts[s] for s in order],
                [label(s, lang) for s in order],
                colors=[STAGES[s][2] if s in STAGES else "#636363" for s in order],
                fmt="{:,.0f}",
                title=say("report.stages", lang),
            )
        )
    return f'<section><div class="charts">{"".join(charts)}</div></section>'


#: Columns of the report's 63号文 table, in order (those the checks have).
_POLICY_COLUMNS = (
    "name",
    "class_mix",
    "verdict",
    "demolition_share",
    "exempt_floor_area_m2",
    "rebuild_ratio",
    "nearby_rate",
    "reason",
)


def _policy(result: RunResult, lang: str) -> str:
    """Render the 63号文 checks on the renewal units (or why there are none) and the nearby reason."""
    caveats = result.caveats()
    checks = result.unit_checks
    if checks is None:
        body = f'<p class="bad">{escape(caveats["units"])}</p>'
    else:
        units = checks.drop(index=[TOTAL_ROW, OUTSIDE_ROW], errors="ignore")
        verdict = units["verdict"].astype(str)
        n_fail = int((verdict == say("policy.verdict_fails", lang)).sum())
        n_pass = int((verdict == say("policy.verdict_passes", lang)).sum())
        counts = say(
            "policy.units_summary",
            lang,
            n=len(units),
            n_pass=n_pass,
            n_fail=n_fail,
            n_incomplete=len(units) - n_pass - n_fail,
        )
        lead = say("report.policy_ok", lang) if n_fail == 0 else say("report.policy_bad", lang)
        cols = [c for c in _POLICY_COLUMNS if c in units.columns]
        body = (
            f'<p class="{"ok" if n_fail == 0 else "bad"}">{escape(counts)} {escape(lead)}</p>'
            + _scroll(format_table(units, lang=lang, style="html", columns=cols))
        )
    if "nearby" in caveats:
        body += f'<p class="bad">{escape(caveats["nearby"])}</p>'
    return f"<section><h2>{escape(say('report.policy', lang))}</h2>{body}</section>"


#: Caveats the report shows in their own section (the 63号文 checks; the signing-delay note
#: under the fund's tornado chart), not under 使用须知.
_SHOWN_ELSEWHERE = ("units", "nearby", "signing")


def _caveats(result: RunResult, lang: str) -> str:
    """Render every caveat behind the run's figures: placeholder parameters (fund, scheme, corridors …)."""
    texts = [t for k, t in result.caveats().items() if t and k not in _SHOWN_ELSEWHERE]
    if not texts:
        return ""
    body = "".join(f'<p class="bad">{escape(t)}</p>' for t in texts)
    return f"<section><h2>{escape(say('caveat.title', lang))}</h2>{body}</section>"


def _behind(result: RunResult, lang: str) -> str:
    p = result.progress
    if p is None:
        return ""
    late = p[p["overdue"].fillna(False).astype(bool)]
    if late.empty:
        body = f'<p class="ok">{escape(say("report.none_behind", lang))}</p>'
    else:
        late = pd.DataFrame(late.drop(columns="geometry", errors="ignore"))
        late = late.sort_values("days_behind", ascending=False)
        cols = [
            c
            for c in (
                "project_id",
                "name",
                "street",
                "stage",
                "days_behind",
                "signing_rate",
                "responsible_unit",
                "responsible_person",
            )
            if c in late.columns
        ]
        body = _scroll(
            format_table(
                late.reset_index(drop=True), lang=lang, style="html", columns=cols, index=False
            )
        )
    return f"<section><h2>{escape(say('report.behind', lang))}</h2>{body}</section>"


def _scroll(html: str) -> str:
    return f'<div class="scroll">{html}</div>'


def _tables(result: RunResult, lang: str) -> str:
    parts = []
    street = result.stats.get("street")
    if street is not None:
        cols = [
            c
            for c in (
                "n_parcels",
                "area_ha",
                "floor_area_wan",
                "households",
                "population",
                "demolish_households",
                "demolish_floor_area_m2",
            )
            if c in street.columns
        ]
        parts.append(
            f"<section><h2>{escape(say('report.streets', lang))}</h2>"
            + _scroll(format_table(street, lang=lang, style="html", columns=cols))
            + "</section>"
        )
    rs = result.resettlement
    if rs is not None:
        sites = pd.DataFrame(rs.sites.drop(columns="geometry"))
        if "usable" in sites.columns:
            sites = sites[sites["usable"].fillna(False).astype(bool)]
        cols = [
            c
            for c in (
                "site_id",
                "name",
                "capacity_units",
                "allocated_households",
                "utilisation",
                "units_served",
            )
            if c in sites.columns
        ]
        parts.append(
            f"<section><h2>{escape(say('report.sites', lang))}</h2>"
            + _scroll(format_table(sites, lang=lang, style="html", columns=cols, index=False))
            + "</section>"
        )
    return "".join(parts)


def _validation(result: RunResult, lang: str) -> str:
    n = sum(len(r.to_frame()) for r in result.validation.values())
    text = say("report.validation_ok", lang) if n == 0 else say("report.validation_bad", lang, n=n)
    cls = "ok" if n == 0 else "bad"
    return f'<section><h2>{escape(say("report.validation", lang))}</h2><p class="{cls}">{escape(text)}</p></section>'


def _map(result: RunResult, lang: str) -> str:
    path = result.files.get("classification_map")
    if path is None or not Path(path).exists():
        return ""
    html = Path(path).read_text(encoding="utf-8")
    legend = _map_legend(html)
    if legend:  # drawn beside the map (on paper too), not over it
        html = html.replace("</head>", f"{_EMBED_CSS}</head>", 1)
        legend = f'<div class="gr-legend">{legend}</div>'
    # srcdoc is an attribute: escaping makes the whole map inert text until the iframe
    # parses it as its own document; nothing in it can close the attribute.
    return (
        f'<section class="page mapsec"><h2>{escape(say("report.map", lang))}</h2>'
        f'<div class="mapbox"><iframe title="{escape(say("report.map", lang))}" '
        f'srcdoc="{escape(html)}"></iframe>{legend}</div></section>'
    )


def _map_legend(page: str) -> str:
    """Return the legend HTML of a map page written by `save_map` ("" if none is found).

    The legend is built by `geo_renewal.maps` from escaped text; it is read back from the
    runtime's ``geoRenewal.decorate`` call of the map's own page.
    """
    match = _DECORATE.search(page)
    if match is None:
        return ""
    try:
        spec = json.loads(match.group(1))
    except ValueError:
        return ""
    legend = spec.get("legend") if isinstance(spec, dict) else None
    return legend if isinstance(legend, str) else ""


def _page(*sections: str) -> str:
    """Group sections onto one printed page (a page break follows); "" if all are empty."""
    body = "".join(sections)
    return f'<div class="page">{body}</div>' if body else ""


def meeting_report(
    result: RunResult,
    path: str | Path,
    *,
    lang: str | None = None,
    title: str | None = None,
    embed_map: bool = True,
) -> Path:
    """
    Write the one-page meeting report of a run as a self-contained HTML file.

    Parameters
    ----------
    result
        A finished `geo_renewal.workflow.run_plan` result (its classification map must have
        been saved when `embed_map` is True).
    path
        The ``.html`` file to write (atomically).
    lang
        ``"zh"`` or ``"en"``; defaults to the run's language.
    title
        Page title; defaults to the plan's name.
    embed_map
        Embed the classification map (a self-contained map adds its size to the page).

    Returns
    -------
    path
        The file written.

    Examples
    --------
    >>> import tempfile
    >>> from geo_renewal.workflow import run_plan
    >>> from geo_renewal.datasets import get_path
    >>> out = tempfile.mkdtemp()
    >>> result = run_plan(get_path("sample_plan"), out_dir=out)  # doctest: +SKIP
    >>> meeting_report(result, f"{out}/report.html").name  # doctest: +SKIP
    'report.html'
    """
    from geo_renewal.io import atomic_write

    lang = lang or result.plan.lang
    title = title or result.plan.name
    as_of = result.plan.as_of
    stamp = as_of.isoformat() if isinstance(as_of, dt.date) else str(as_of)
    body = [
        f"<header><h1>{escape(title)}</h1>"
        f"<p>{escape(say('report.subtitle', lang, as_of=stamp))}</p></header><main>",
        comparison_section(result, lang),  # a comparison's report opens with its table
        _page(_key_figures(result, lang), _caveats(result, lang), _charts(result, lang)),
        _map(result, lang) if embed_map else "",
        _page(_validation(result, lang), _policy(result, lang), _behind(result, lang)),
        _page(weekly_section(getattr(result, "weekly", None), lang)),
        _page(corridor_report(result, lang)),
        _page(_tables(result, lang)),
        money_section(result, lang),
        f"</main><footer>{escape(say('report.footer', lang))}</footer>",
    ]
    page = (
        f'<!DOCTYPE html><html lang="{_HTML_LANG[lang]}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{escape(title)}</title><style>{runtime_css()}{_CSS}</style></head><body>"
        + "".join(body)
        + "</body></html>"
    )
    path = Path(path)
    with atomic_write(path) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    return path
