"""
The scenario comparison (方案比选) as figures: indicators, class changes, sheet, report.

`geo_renewal.scenarios.compare_scenarios` computes the scenarios and builds a `Comparison`
here; the run's workbook (`geo_renewal.workflow.workbook_tables`) and report
(`geo_renewal.report.meeting_report`) show it when a run carries one. Every indicator is one
small function of a run result in `INDICATORS` (adding a row is one line). See
docs/guide/scenarios.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal._html import escape
from geo_renewal._roles import classes_with_role
from geo_renewal.text import say

if TYPE_CHECKING:
    import geopandas as gpd

    from geo_renewal.workflow import RunResult

__all__ = ["INDICATORS", "Comparison", "class_changes", "comparison_section", "indicator_table"]

#: Indicators that are shares (shown as percentages).
SHARES = frozenset({"nearby_rate"})

#: Marker of a figure a scenario's run did not compute (shown as 未计算 / not computed).
NOT_COMPUTED = None


def has_demolition_class(result: RunResult) -> bool:
    """
    Whether the run's rule set has a class of role ``demolish`` (征收拆迁, 拆除重建类 …).

    Its figures (households, floor area, demand) count those classes; a set without one
    shows them as not computed.
    """
    classified = result.classified
    if classified is None:
        return False
    return bool(classes_with_role(classified, "demolish"))


def _total(result: RunResult, col: str) -> float | None:
    if not has_demolition_class(result):
        return NOT_COMPUTED  # another rule set's classes: not 征收拆迁 as the figures count it
    table = result.stats.get("category")
    if table is None or col not in table.columns or "total" not in table.index:
        return NOT_COMPUTED
    return float(table.loc["total", col])


def _demolish_households(result: RunResult) -> float | None:
    return _total(result, "demolish_households")


def _demolish_floor_area(result: RunResult) -> float | None:
    return _total(result, "demolish_floor_area_m2")


def _unit_rows(result: RunResult) -> pd.DataFrame | None:
    """Return the 63号文 checks of the renewal units (without the outside and total rows)."""
    checks = result.unit_checks
    if checks is None or "verdict" not in checks.columns or not has_demolition_class(result):
        return NOT_COMPUTED
    verdict = checks["verdict"].astype(object)
    return checks[verdict.notna().to_numpy() & (verdict.astype(str) != "").to_numpy()]


@dataclass(frozen=True)
class CheckCount:
    """
    A count of checks passed: ``ok`` of ``n`` (shown ``"6 / 8"``).

    Its difference to another is the signed change of ``ok`` (a number), not the other
    scenario's text: ``"0 / 8"`` in a difference column reads like a fraction.

    Examples
    --------
    >>> str(CheckCount(6, 8))
    '6 / 8'
    >>> _diff(CheckCount(6, 8), CheckCount(4, 8))
    -2
    """

    ok: int
    n: int

    def __str__(self) -> str:
        return f"{self.ok} / {self.n}"


def _units_compliant(result: RunResult) -> CheckCount | None:
    checks = _unit_rows(result)
    if checks is None:
        return NOT_COMPUTED
    ok = int((checks["verdict"] == say("policy.verdict_passes", result.plan.lang)).sum())
    return CheckCount(ok, len(checks))


def _unit_verdicts(result: RunResult) -> dict[str, Any]:
    checks = _unit_rows(result)
    if checks is None:
        return {}  # its rows (from the other scenarios) read "not computed"
    names = checks["name"] if "name" in checks.columns else checks.index.to_series()
    return {
        str(n if isinstance(n, str) and n else i): str(v)
        for i, n, v in zip(checks.index, names, checks["verdict"], strict=True)
    }


def _summary(key: str) -> Callable[[RunResult], float | None]:
    def figure(result: RunResult) -> float | None:
        if not has_demolition_class(result):
            return NOT_COMPUTED
        if result.resettlement is None:
            return 0.0 if key.endswith("households") or key == "capacity_units" else NOT_COMPUTED
        value = result.resettlement.summary.get(key)
        return None if value is None else float(value)

    return figure


def _fund_balance(result: RunResult) -> float | None:
    if result.fund is None:
        return NOT_COMPUTED
    return result.fund.district_balance / 1e4  # the report's figure (cash flow if run)


def _peak_financing(result: RunResult) -> float | None:
    """Return the peak financing need (融资需求峰值) of the fund's cash flow, if it has one."""
    flow = getattr(result.fund, "cashflow", None)
    peak = getattr(flow, "peak_need", None)
    return NOT_COMPUTED if peak is None else float(peak) / 1e4


def _overdue_projects(result: RunResult) -> float | None:
    if result.progress is None or "overdue" not in result.progress.columns:
        return NOT_COMPUTED
    return float(result.progress["overdue"].fillna(False).astype(bool).sum())


#: Indicator -> its figure from a run (a number, a text, None when not computed, or a
#: mapping of sub-rows such as one verdict per renewal unit). Order is the table's order;
#: labels are ``compare.row.<indicator>`` in `geo_renewal.text`.
INDICATORS: dict[str, Callable[[RunResult], Any]] = {
    "demolish_households": _demolish_households,
    "demolish_floor_area": _demolish_floor_area,
    "units_compliant": _units_compliant,
    "unit_verdict": _unit_verdicts,
    "flats_needed": _summary("flat_households"),
    "flats_supplied": _summary("capacity_units"),
    "flats_placed": _summary("allocated_households"),
    "flats_unmet": _summary("unmet_households"),
    "nearby_rate": _summary("nearby_rate"),
    "fund_balance": _fund_balance,
    "peak_financing": _peak_financing,
    "overdue_projects": _overdue_projects,
}


def indicator_table(
    results: Mapping[str, RunResult], *, base: str, lang: str = "zh"
) -> pd.DataFrame:
    """
    Return the indicators of every scenario side by side, with the difference to the base.

    Parameters
    ----------
    results
        Scenario name -> its run result, in column order.
    base
        The scenario the differences are taken to.
    lang
        Language of the row labels.

    Returns
    -------
    table
        One row per indicator (a row per renewal unit for the 63号文 verdict), indexed by
        ``indicator`` (the key, ``unit_verdict:<unit>`` for a unit): ``label`` and ``unit``,
        one column per scenario (None where not computed) and ``Δ <name>`` for every other
        scenario (numbers: the difference; a count of checks passed, shown ``"6 / 8"``:
        the signed change of the count, with the number of units checked when that differs
        too; texts: the other value when it differs, else "").
    """
    rows: dict[str, dict[str, Any]] = {}
    for name, result in results.items():
        for key, func in INDICATORS.items():
            value = func(result)
            if isinstance(value, Mapping):
                for sub, v in value.items():
                    _row(rows, f"{key}:{sub}", key, lang, sub)[name] = v
            else:
                _row(rows, key, key, lang)[name] = value
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "indicator"
    for name in results:
        if name not in table.columns:
            table[name] = None
        values = [None if _missing(v) else v for v in table[name]]
        table[name] = pd.Series(values, index=table.index, dtype=object)
    for name in results:
        if name != base:
            diffs = [_diff(b, v, lang) for b, v in zip(table[base], table[name], strict=True)]
            table[f"Δ {name}"] = pd.Series(diffs, index=table.index, dtype=object)
    for name in results:  # a count of checks is shown as its text ("6 / 8")
        shown = [str(v) if isinstance(v, CheckCount) else v for v in table[name]]
        table[name] = pd.Series(shown, index=table.index, dtype=object)
    return table[["label", "unit", *results, *(f"Δ {n}" for n in results if n != base)]]


def _row(
    rows: dict[str, dict[str, Any]], key: str, kind: str, lang: str, sub: str = ""
) -> dict[str, Any]:
    if key not in rows:
        text = say(f"compare.row.{kind}", lang)
        rows[key] = {
            "label": say("compare.row_of", lang, row=text, sub=sub) if sub else text,
            "unit": say(f"compare.unit.{kind}", lang),
        }
    return rows[key]


def _missing(value: Any) -> bool:
    """Tell None and NaN (a figure not computed) from a value."""
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _diff(base: Any, value: Any, lang: str = "zh") -> Any:
    if base is None or value is None:
        return None
    if isinstance(base, CheckCount) and isinstance(value, CheckCount):
        change = value.ok - base.ok
        if value.n == base.n:
            return change  # a signed count of compliant units (0: unchanged)
        return say("compare.count_change_of", lang, n=f"{change:+d}", a=base.n, b=value.n)
    if _is_number(base) and _is_number(value):
        if math.isnan(float(base)) or math.isnan(float(value)):
            return None
        return float(value) - float(base)
    return "" if str(value) == str(base) else str(value)


def class_changes(
    base: gpd.GeoDataFrame, other: gpd.GeoDataFrame, *, category_col: str = "category"
) -> gpd.GeoDataFrame:
    """
    Return the parcels whose class differs between two classifications of the same parcels.

    Parameters
    ----------
    base, other
        Classified parcels of two scenarios (the same parcels: same index).
    category_col
        The class column.

    Returns
    -------
    changes
        The changed parcels of `other` (its geometry), with ``from_category``,
        ``to_category`` and ``change`` (``"from→to"`` codes); a parcel present in one side
        only counts as a change from or to ``"absent"``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> a = gpd.GeoDataFrame({"category": ["demolish", "unchanged"]},
    ...                      geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:4548")
    >>> b = a.assign(category=["retain_upgrade", "unchanged"])
    >>> class_changes(a, b)[["from_category", "to_category"]].to_numpy().tolist()
    [['demolish', 'retain_upgrade']]
    """
    import geopandas as gpd

    frm = base[category_col].astype(object).reindex(base.index.union(other.index))
    to = other[category_col].astype(object).reindex(frm.index)
    frm, to = frm.fillna("absent").astype(str), to.fillna("absent").astype(str)
    changed = frm.index[(frm != to).to_numpy()]
    geoms = other.geometry.reindex(changed)
    missing = geoms.isna().to_numpy()
    if missing.any():  # parcels the other scenario does not have: drawn where the base has them
        geoms[missing] = base.geometry.reindex(changed[missing]).to_numpy()
    keep = [c for c in ("parcel_id", "name", "street", "households") if c in other.columns]
    attrs = other[keep].reindex(changed) if keep else pd.DataFrame(index=changed)
    if missing.any():
        attrs = attrs.combine_first(base[[c for c in keep if c in base.columns]])
        attrs = attrs.reindex(changed)[keep]
    out = gpd.GeoDataFrame(
        attrs.assign(
            from_category=frm.loc[changed].to_numpy(),
            to_category=to.loc[changed].to_numpy(),
        ),
        geometry=geoms.to_numpy(),
        crs=other.crs if other.crs is not None else base.crs,
    )
    out["change"] = out["from_category"] + "→" + out["to_category"]
    return out


@dataclass
class Comparison:
    """
    Scenarios of one project file compared (`geo_renewal.scenarios.compare_scenarios`).

    Attributes
    ----------
    base
        The scenario differences are taken to (``"base"``: the file's own values).
    results
        Scenario name -> its `geo_renewal.workflow.RunResult`, the same as a run of that
        scenario alone.
    table
        The indicators side by side (`indicator_table`).
    changes
        Scenario name -> its parcels whose class differs from the base (`class_changes`),
        for every scenario but the base.
    caveats
        What a reader must know before trusting the comparison, in its language.
    ran, reused
        ``(scenario, step)`` pairs: the computing steps run, and those reused because the
        scenario does not change their inputs.
    lang
        Language of labels.
    """

    base: str
    results: dict[str, RunResult]
    table: pd.DataFrame
    changes: dict[str, gpd.GeoDataFrame]
    caveats: list[str] = field(default_factory=list)
    ran: list[tuple[str, str]] = field(default_factory=list)
    reused: list[tuple[str, str]] = field(default_factory=list)
    lang: str = "zh"

    @property
    def names(self) -> list[str]:
        """The scenarios, base first."""
        return list(self.results)

    def table_for_sheet(self) -> pd.DataFrame:
        """
        Return the comparison table as the workbook sheet shows it.

        Returns
        -------
        sheet
            The indicator label and unit, a column per scenario, the differences, with
            "not computed" written where a figure is missing; numbers rounded as the
            report shows them (shares in %, their differences in percentage points).
        """
        lang = self.lang
        kinds = [str(k).split(":", 1)[0] for k in self.table.index]
        table = self.table.reset_index(drop=True)
        blank = say("compare.not_computed", lang)
        diffs = [f"Δ {n}" for n in self.names if n != self.base]
        for col in [*self.names, *diffs]:
            fill = blank if col in self.names else None
            table[col] = [
                fill if v is None else _sheet_value(v, kind)
                for v, kind in zip(table[col], kinds, strict=True)
            ]
        headers = {
            "label": say("compare.col.indicator", lang),
            "unit": say("compare.col.unit", lang),
            **{f"Δ {n}": say("compare.col.diff", lang, name=n) for n in self.names},
        }
        return table.rename(columns=headers)

    def table_text(self) -> pd.DataFrame:
        """
        Return the comparison table as text, numbers written as the report writes them.

        Returns
        -------
        table
            `table_for_sheet` with every figure a string (``14,702``, ``58.5%``,
            ``+21.0 个百分点``), for a terminal or a notebook.
        """
        kinds = [str(k).split(":", 1)[0] for k in self.table.index]
        table = self.table_for_sheet()
        for k, name in enumerate(self.names):
            col = table.columns[2 + k]
            table[col] = [
                _number_text(float(v), kind, "", self.lang) if _is_number(v) else v
                for v, kind in zip(self.table[name], kinds, strict=True)
            ]
        for k, col in enumerate(table.columns[2 + len(self.names) :]):
            name = [n for n in self.names if n != self.base][k]
            table[col] = [
                ("0" if float(v) == 0 else _number_text(float(v), kind, "+", self.lang))
                if _is_number(v)
                else ("" if v is None else v)
                for v, kind in zip(self.table[f"Δ {name}"], kinds, strict=True)
            ]
        return table

    def change_label(self, change: str) -> str:
        """Return ``"from → to"`` of a ``from→to`` code in labels of the scenarios' rule sets."""
        from geo_renewal.rules import load_rules
        from geo_renewal.schema import label

        cats: dict[str, Any] = {}
        for result in self.results.values():
            cats.update(load_rules(result.plan.rules).categories)

        def one(code: str) -> str:
            if code == "absent":
                return say("compare.absent", self.lang)
            return str(cats[code].label(self.lang)) if code in cats else label(code, self.lang)

        frm, _, to = change.partition("→")
        return f"{one(frm)} → {one(to)}"

    def change_counts(self, name: str) -> pd.Series:
        """Return the number of changed parcels of scenario `name` by ``from→to``, largest first."""
        changes = self.changes[name]
        if not len(changes):
            return pd.Series(dtype="int64", name="n_parcels")
        return changes["change"].value_counts().rename("n_parcels")


def _sheet_value(value: Any, kind: str) -> Any:
    """Return a figure as the sheet shows it: a share in %, other numbers rounded."""
    if not _is_number(value):
        return value
    v = float(value)
    if math.isnan(v):
        return None
    if kind in SHARES:
        return round(100 * v, 1)
    return round(v) if abs(v) >= 100 or v == round(v) else round(v, 2)


def _number_text(v: float, kind: str, sign: str = "", lang: str = "zh") -> str:
    if kind in SHARES and sign:  # a difference of two shares: percentage points
        return say("compare.points", lang, n=f"{100 * v:+.1f}")
    if kind in SHARES:
        return f"{v:.1%}"
    return f"{v:{sign},.0f}" if abs(v) >= 100 or v == round(v) else f"{v:{sign},.2f}"


def _cell(value: Any, kind: str, lang: str) -> str:
    if value is None:
        return f'<span class="bad">{escape(say("compare.not_computed", lang))}</span>'
    if _is_number(value):
        v = float(value)
        return "—" if math.isnan(v) else escape(_number_text(v, kind))
    return escape(str(value))


def _diff_cell(value: Any, kind: str, lang: str) -> str:
    if value is None or value == "":
        return "" if value == "" else "—"
    if _is_number(value):
        v = float(value)
        if math.isnan(v):
            return "—"
        return "0" if v == 0 else escape(_number_text(v, kind, "+", lang))
    return escape(str(value))


def comparison_section(result: RunResult, lang: str) -> str:
    """
    Return the report's comparison section (方案比选) of a run, "" when it carries none.

    Parameters
    ----------
    result
        A run result; its ``comparison`` is shown.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    html
        A ``<section>``: the indicators side by side with the differences, the changed
        parcels by class change, the caveats; every text escaped.
    """
    comp = getattr(result, "comparison", None)
    if comp is None:
        return ""
    names = comp.names
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    head += "".join(
        f"<th>{escape(say('compare.col.diff', lang, name=n))}</th>"
        for n in names
        if n != comp.base
    )
    body = []
    for key, row in comp.table.iterrows():
        unit, kind = str(row["unit"]), str(key).split(":", 1)[0]
        cells = "".join(f'<td class="num">{_cell(row[n], kind, lang)}</td>' for n in names)
        cells += "".join(
            f'<td class="num">{_diff_cell(row[f"Δ {n}"], kind, lang)}</td>'
            for n in names
            if n != comp.base
        )
        body.append(f"<tr><td>{escape(str(row['label']))}</td><td>{escape(unit)}</td>{cells}</tr>")
    table = (
        '<div class="scroll"><table class="data"><thead><tr>'
        f"<th>{escape(say('compare.col.indicator', lang))}</th>"
        f"<th>{escape(say('compare.col.unit', lang))}</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
    changes = "".join(_changes_list(comp, n, lang) for n in names if n != comp.base)
    caveats = "".join(f'<p class="bad">{escape(c)}</p>' for c in comp.caveats)
    return (
        f'<section class="page"><h2>{escape(say("compare.title", lang))}</h2>'
        f"<p>{escape(say('compare.lead', lang, base=comp.base, n=len(names)))}</p>"
        f"{caveats}{table}{changes}</section>"
    )


def _changes_list(comp: Comparison, name: str, lang: str) -> str:
    counts = comp.change_counts(name)
    if not len(counts):
        text = say("compare.no_change", lang, name=name, base=comp.base)
        return f"<p>{escape(text)}</p>"
    items = "".join(
        f"<li>{escape(comp.change_label(str(k)))}：{int(v):,}</li>" for k, v in counts.items()
    )
    text = say("compare.changed", lang, name=name, base=comp.base, n=int(counts.sum()))
    return f"<p>{escape(text)}</p><ul>{items}</ul>"
