"""
考核: a configurable score of streets and responsible units, each weekly snapshot.

Indicators (on-time task share, signing against plan, closure of the meeting's decisions,
days overdue) and their weights come from a TOML file over the bundled
``params/assessment_default.toml``; the score, the rank and their change since the last
snapshot come with the indicator values that produced them. See ``docs/guide/weekly.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal._checks import check_choice, did_you_mean
from geo_renewal._errors import InputError
from geo_renewal._toml import parse_toml, read_toml
from geo_renewal.ledger import _as_timestamp

__all__ = ["INDICATORS", "AssessmentParams", "assess_performance", "load_assessment_params"]

_DEFAULT = Path(__file__).parent / "params" / "assessment_default.toml"
#: The indicators the toolkit measures -> (zh, en) label.
INDICATORS: dict[str, tuple[str, str]] = {
    "on_time_share": ("任务按期完成率", "On-time task share"),
    "signing_share": ("签约完成率（到期项目）", "Signing against plan"),
    "decision_closure_rate": ("例会事项办结率", "Meeting decisions closed"),
    "days_overdue": ("平均逾期天数", "Mean days overdue"),
}
_KEYS = {"weight", "best", "worst"}


@dataclass(frozen=True)
class AssessmentParams:
    """
    The 考核 indicators used: name -> (weight, best, worst), and where they came from.

    Attributes
    ----------
    indicators
        Indicator -> ``{"weight": w, "best": b, "worst": x}``.
    source
        The file read, or ``"(defaults)"``.
    placeholder
        True when the weights are the bundled placeholders.
    """

    indicators: dict[str, dict[str, float]]
    source: str
    placeholder: bool


def load_assessment_params(path: str | Path | None = None) -> AssessmentParams:
    """
    Load the 考核 indicators and weights from a TOML file (or the bundled defaults).

    Parameters
    ----------
    path
        A TOML file of ``[indicators.<name>]`` tables with ``weight``, ``best`` and
        ``worst``; None for ``params/assessment_default.toml``.

    Returns
    -------
    params
        Checked `AssessmentParams`.

    Raises
    ------
    InputError
        If an indicator is unknown (the valid ones are listed), a key is unknown, a
        weight is negative, all weights are 0, or best equals worst.

    Examples
    --------
    >>> p = load_assessment_params()
    >>> p.indicators["days_overdue"], p.placeholder
    ({'weight': 20.0, 'best': 0.0, 'worst': 60.0}, True)
    """
    default = parse_toml(
        _DEFAULT.read_text("utf-8"), source="bundled:assessment", what="assessment file"
    )
    doc = default if path is None else read_toml(path, what="assessment parameter file")
    source = "(defaults)" if path is None else str(path)
    section = doc.get("indicators")
    extra = set(doc) - {"indicators"}
    if not isinstance(section, dict) or extra:
        msg = (
            f"{source}: write the indicators as [indicators.<name>] tables (found {sorted(doc)})."
        )
        raise InputError(msg)
    out: dict[str, dict[str, float]] = {}
    for name, spec in section.items():
        out[name] = _indicator(name, spec, source)
    if sum(v["weight"] for v in out.values()) <= 0:
        msg = f"{source}: every weight is 0; give at least one indicator a weight > 0."
        raise InputError(msg)
    base = {k: _indicator(k, v, "(defaults)") for k, v in default["indicators"].items()}
    return AssessmentParams(indicators=out, source=source, placeholder=out == base)


def _indicator(name: str, spec: Any, source: str) -> dict[str, float]:
    if name not in INDICATORS:
        msg = (
            f"{source}: [indicators.{name}] is no indicator the toolkit measures; "
            f"{did_you_mean(name, INDICATORS)}valid: {', '.join(INDICATORS)}."
        )
        raise InputError(msg)
    if not isinstance(spec, dict) or set(spec) - _KEYS or "weight" not in spec:
        msg = f"{source}: [indicators.{name}] takes weight, best and worst (got {spec!r})."
        raise InputError(msg)
    share = name != "days_overdue"
    vals = {"best": 1.0 if share else 0.0, "worst": 0.0 if share else 60.0, **spec}
    for k, v in vals.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            msg = f"{source}: indicators.{name}.{k} must be a number; got {v!r}."
            raise InputError(msg)
    if vals["weight"] < 0 or vals["best"] == vals["worst"]:
        msg = f"{source}: [indicators.{name}] needs weight ≥ 0 and best ≠ worst (got {spec!r})."
        raise InputError(msg)
    return {k: float(vals[k]) for k in ("weight", "best", "worst")}


def assess_performance(
    progress: pd.DataFrame,
    *,
    as_of: Any,
    tasks: pd.DataFrame | None = None,
    supervised: pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
    by: str = "street",
    params: AssessmentParams | str | Path | None = None,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """
    Score each street (or responsible unit) on the 考核 indicators, rank them, and compare.

    Indicators, per group:

    * ``on_time_share``: tasks with a planned finish on or before `as_of` that were
      finished by their planned finish ÷ those tasks;
    * ``signing_share``: households signed ÷ households, over the projects whose
      signing is planned on or before `as_of`;
    * ``decision_closure_rate``: meeting decisions due on or before `as_of` that are closed ÷
      those decisions;
    * ``days_overdue``: mean days overdue of the red tasks of `supervised` (0 when none).

    Each value becomes 0–100 points between the indicator's ``worst`` and ``best``; the
    score is the weighted mean of the points of the indicators that have a value.

    Parameters
    ----------
    progress
        `project_progress` of the snapshot (``project_id``, ``street``,
        ``responsible_unit``, ``households``, ``signed_households``, ``signing_planned``).
    as_of
        The day of the snapshot.
    tasks
        The task table (`read_tasks` or `ledger_tasks`); tasks take the project's
        street, and their own responsible unit.
    supervised
        `supervision` of the tasks, for ``days_overdue``.
    decisions
        The meeting decisions carried by the store.
    by
        ``"street"`` or ``"responsible_unit"``.
    params
        `AssessmentParams` or a TOML path; the bundled placeholders by default.
    previous
        The assessment of the last snapshot (same `by`), for ``score_change`` and
        ``rank_change`` (positive = moved up).

    Returns
    -------
    scores
        One row per group, best first: the group, each indicator's value and points
        (``<indicator>`` and ``<indicator>_points``), ``score``, ``rank``,
        ``score_change``, ``rank_change``; ``attrs["placeholder"]`` tells whether the
        weights are the bundled placeholders.

    Examples
    --------
    >>> prog = pd.DataFrame({"project_id": ["A", "B"], "street": ["东", "西"],
    ...     "households": [100, 50], "signed_households": [80, 50],
    ...     "signing_planned": pd.to_datetime(["2026-01-01", "2026-01-01"])})
    >>> s = assess_performance(prog, as_of="2026-02-01")
    >>> s[["street", "signing_share", "score", "rank"]].to_dict("records")
    [{'street': '西', 'signing_share': 1.0, 'score': 100.0, 'rank': 1}, {'street': '东', 'signing_share': 0.8, 'score': 80.0, 'rank': 2}]
    """
    by = check_choice(by, ("street", "responsible_unit"), name="by")
    day = _as_timestamp(as_of, "as_of")
    p = params if isinstance(params, AssessmentParams) else load_assessment_params(params)
    values = _indicator_values(progress, day, tasks, supervised, decisions, by)
    out = _score(values, p)
    if previous is not None and len(previous):
        prev = previous.set_index(by)
        out["score_change"] = out["score"] - out[by].map(prev["score"])
        out["rank_change"] = out[by].map(prev["rank"]) - out["rank"]
    else:
        out["score_change"] = np.nan
        out["rank_change"] = np.nan
    out.attrs["placeholder"] = p.placeholder
    out.attrs["source"] = p.source
    return out


def _indicator_values(
    progress: pd.DataFrame,
    day: pd.Timestamp,
    tasks: pd.DataFrame | None,
    supervised: pd.DataFrame | None,
    decisions: pd.DataFrame | None,
    by: str,
) -> pd.DataFrame:
    street_of = (
        pd.Series(progress[by].to_numpy(), index=progress["project_id"])
        if by in progress
        else None
    )
    groups = pd.Index(progress[by].dropna().unique() if by in progress else [], name=by)
    vals = pd.DataFrame(index=groups)
    plan = pd.to_datetime(progress.get("signing_planned", pd.Series(pd.NaT, index=progress.index)))
    due = progress[(plan <= day).fillna(False).to_numpy()]
    if len(due):
        g = due.groupby(by)
        hh = g["households"].sum()
        vals["signing_share"] = (g["signed_households"].sum() / hh.where(hh > 0)).clip(upper=1)
    if tasks is not None and len(tasks):
        t = _grouped(tasks, by, street_of)
        fin, act = pd.to_datetime(t["planned_finish"]), pd.to_datetime(t["actual_finish"])
        t_due = t[(fin <= day).fillna(False).to_numpy()]
        on_time = (act <= fin).fillna(False)[t_due.index]
        vals["on_time_share"] = on_time.groupby(t_due["_group"]).mean()
    if supervised is not None:
        s = _grouped(supervised, by, street_of)
        red = s[s["colour"] == "red"]
        mean = red.groupby("_group")["days_overdue"].mean()
        vals["days_overdue"] = pd.Series(mean, index=vals.index).fillna(0.0)
    if decisions is not None and len(decisions):
        d = _grouped(decisions, by, street_of)
        d = d[(pd.to_datetime(d["due_date"]) <= day).fillna(False).to_numpy()]
        closed = d["closed"].astype(bool) & ~(pd.to_datetime(d["closed_date"]) > day).fillna(False)
        vals["decision_closure_rate"] = closed.groupby(d["_group"]).mean()
    return vals.reindex(groups)


def _grouped(df: pd.DataFrame, by: str, group_of: pd.Series | None) -> pd.DataFrame:
    """Return `df` with ``_group``: its own `by` column, else its project's."""
    out = df.copy()
    own = out[by] if by in out else pd.Series(None, index=out.index, dtype=object)
    if group_of is not None and "project_id" in out:
        own = own.where(own.notna(), out["project_id"].map(group_of.groupby(level=0).first()))
    out["_group"] = own
    return out


def _score(values: pd.DataFrame, p: AssessmentParams) -> pd.DataFrame:
    out = values.copy()
    num = pd.Series(0.0, index=out.index)
    den = pd.Series(0.0, index=out.index)
    for name, spec in p.indicators.items():
        if name not in out:
            out[name] = np.nan
        points = ((out[name] - spec["worst"]) / (spec["best"] - spec["worst"])).clip(0, 1) * 100
        out[f"{name}_points"] = points
        has = points.notna()
        num += points.fillna(0) * spec["weight"]
        den += has * spec["weight"]
    out["score"] = num / den.where(den > 0)
    out = out.sort_values("score", ascending=False, kind="stable", na_position="last")
    out["rank"] = out["score"].rank(ascending=False, method="min").astype("Int64")
    return out.reset_index()
