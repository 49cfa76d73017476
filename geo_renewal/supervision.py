"""
督办 in three colours, and the decisions of the weekly meeting (例会商定事项).

Every unfinished task (or ledger stage) gets a colour: red when overdue, yellow when it is
behind its 序时进度 (the elapsed share of its planned time against its progress) by more
than a set number of points, blue when due within a set number of days. The 督办单 of each
responsible unit lists its coloured tasks; meeting decisions are carried in the store from
snapshot to snapshot until closed. See ``docs/guide/weekly.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal._checks import check_lang, check_range
from geo_renewal._findings import Findings, concat_findings
from geo_renewal._weekly_table import TableSpec, read_weekly_table
from geo_renewal.ledger import _as_timestamp
from geo_renewal.tasks import TaskTable, _with_progress_share
from geo_renewal.text import say

__all__ = [
    "COLOURS",
    "decision_status",
    "read_decisions",
    "supervise_tasks",
    "supervision_sheets",
    "supervision_summary",
]

#: Colour code -> (zh, en, hex), most urgent first.
COLOURS: dict[str, tuple[str, str, str]] = {
    "red": ("红色（逾期）", "Red (overdue)", "#d62728"),
    "yellow": ("黄色（滞后于序时进度）", "Yellow (behind schedule)", "#f2b701"),
    "blue": ("蓝色（临近到期）", "Blue (due soon)", "#1f77b4"),
}
DECISION_SPEC = TableSpec(
    what="meeting decisions table",
    columns={
        "decision_id": ("事项编号", "编号", "序号", "decision"),
        "meeting_date": ("会议日期", "例会日期", "meeting"),
        "item": ("商定事项", "事项", "事项内容", "item"),
        "project_id": ("项目编号", "project"),
        "responsible_unit": ("责任单位", "牵头单位"),
        "responsible_person": ("责任人",),
        "due_date": ("完成时限", "时限", "due"),
        "status": ("状态", "办理状态", "status"),
        "closed_date": ("完成日期", "办结日期", "closed"),
        "note": ("备注", "办理情况"),
    },
    required=("decision_id", "item"),
    dates=("meeting_date", "due_date", "closed_date"),
    key=("decision_id",),
)
_CLOSED = {"已完成", "已办结", "办结", "完成", "closed", "done"}


def supervise_tasks(
    tasks: TaskTable | pd.DataFrame,
    *,
    as_of: Any,
    due_within_days: int = 7,
    behind_points: float = 10.0,
) -> pd.DataFrame:
    """
    Colour every unfinished task for 督办: red overdue, yellow behind, blue due soon.

    * **red**: the planned finish is before `as_of` and the task has no actual finish on
      or before `as_of`;
    * **yellow**: not red, and its 序时进度 — the share of its planned time elapsed on
      `as_of` ((as_of − planned start) ÷ (planned finish − planned start), 0–1) — exceeds
      its ``progress_share`` (0–1; an old ``progress`` column reads the same) by more
      than `behind_points` percentage points (a task without
      a progress figure is not judged);
    * **blue**: neither, and the planned finish is within `due_within_days` of `as_of`
      (the day itself and the last day included).

    Parameters
    ----------
    tasks
        A `TaskTable` (`read_tasks`), its table, or `ledger_tasks` of a ledger.
    as_of
        The day of the meeting.
    due_within_days
        Days ahead that make a task blue.
    behind_points
        Percentage points behind the 序时进度 that make a task yellow.

    Returns
    -------
    supervised
        One row per unfinished task with a colour: ``colour``, ``colour_label``,
        ``days_overdue`` (red), ``days_left``, ``elapsed_share``, ``progress_share``,
        ``behind_points``, and the task's own columns; most urgent first.

    Examples
    --------
    >>> t = pd.DataFrame({"project_id": "A", "task": ["签约", "规划许可", "环评", "供地"],
    ...     "planned_start": pd.to_datetime(["2026-01-01"] * 4),
    ...     "planned_finish": pd.to_datetime(["2026-03-01", "2026-03-31", "2026-03-08", "2026-06-01"]),
    ...     "actual_finish": pd.NaT, "progress_share": [0.95, 0.2, 0.9, 0.5]})
    >>> s = supervise_tasks(t, as_of="2026-03-01", due_within_days=7, behind_points=10)
    >>> s[["task", "colour"]].to_dict("records")
    [{'task': '规划许可', 'colour': 'yellow'}, {'task': '签约', 'colour': 'blue'}, {'task': '环评', 'colour': 'blue'}]
    """
    table = tasks.table if isinstance(tasks, TaskTable) else tasks
    day = _as_timestamp(as_of, "as_of")
    within = check_range(due_within_days, name="due_within_days", low=0)
    points = check_range(behind_points, name="behind_points", low=0, high=100)
    t = _with_progress_share(pd.DataFrame(table)).copy()
    for col in ("planned_start", "planned_finish", "actual_finish"):
        t[col] = pd.to_datetime(t[col]) if col in t else pd.NaT
    if "progress_share" not in t:
        t["progress_share"] = np.nan
    done = (t["actual_finish"] <= day).fillna(False)
    finish, start = t["planned_finish"], t["planned_start"]
    span = (finish - start).dt.days.astype(float)
    elapsed = ((day - start).dt.days.astype(float) / span.where(span > 0)).clip(0, 1)
    behind = (elapsed - t["progress_share"].astype(float)) * 100
    red = ~done & (finish < day).fillna(False)
    yellow = ~done & ~red & (behind > points + 1e-9).fillna(False)
    days_left = (finish - day).dt.days.astype(float)
    blue = ~done & ~red & ~yellow & (days_left >= 0) & (days_left <= within)
    colour = np.select([red, yellow, blue], ["red", "yellow", "blue"], default="")
    t["colour"] = colour
    t["days_overdue"] = (-days_left).where(red)
    t["days_left"] = days_left
    t["elapsed_share"] = elapsed
    t["behind_points"] = behind
    out = t[t["colour"] != ""].copy()
    out["_rank"] = out["colour"].map({"red": 0, "yellow": 1, "blue": 2})
    out = out.sort_values(["_rank", "days_left"], kind="stable").drop(columns="_rank")
    out.insert(0, "colour_label", out["colour"].map(lambda c: COLOURS[c][0]))
    out.insert(0, "colour", out.pop("colour"))
    return out.reset_index(drop=True)


def supervision_summary(supervised: pd.DataFrame, *, by: str = "responsible_unit") -> pd.DataFrame:
    """
    Count the coloured tasks per responsible unit (or person, or street).

    Parameters
    ----------
    supervised
        The output of `supervision`.
    by
        ``"responsible_unit"``, ``"responsible_person"`` or any column of it.

    Returns
    -------
    summary
        One row per value of `by`: ``n_red``, ``n_yellow``, ``n_blue``, ``n_supervised``,
        ``max_days_overdue``; most red first.

    Examples
    --------
    >>> s = pd.DataFrame({"responsible_unit": ["X", "X", "Y"], "colour": ["red", "blue", "red"],
    ...                   "days_overdue": [5.0, None, 9.0]})
    >>> supervision_summary(s).to_dict("records")[0]
    {'responsible_unit': 'X', 'n_red': 1, 'n_yellow': 0, 'n_blue': 1, 'n_supervised': 2, 'max_days_overdue': 5.0}
    """
    keys = supervised[by].fillna("—")
    counts = pd.crosstab(keys, supervised["colour"])
    out = pd.DataFrame(index=counts.index)
    for c in COLOURS:
        out[f"n_{c}"] = counts.get(c, 0)
    out["n_supervised"] = out.sum(axis=1)
    days = supervised.get("days_overdue", pd.Series(np.nan, index=supervised.index))
    out["max_days_overdue"] = days.groupby(keys).max()
    out.index.name = by
    out = out.sort_values(["n_red", "n_yellow", "n_blue"], ascending=False, kind="stable")
    return out.reset_index()


def supervision_sheets(
    supervised: pd.DataFrame, *, lang: str | None = None
) -> dict[str, pd.DataFrame]:
    """
    Return one 督办单 per responsible unit: its coloured tasks, most urgent first.

    Parameters
    ----------
    supervised
        The output of `supervision`.
    lang
        Language of the sheet names.

    Returns
    -------
    sheets
        Sheet name (``督办单-<unit>``) -> table.

    Examples
    --------
    >>> s = pd.DataFrame({"responsible_unit": ["征收中心"], "colour": ["red"], "task": ["签约"]})
    >>> list(supervision_sheets(s, lang="zh"))
    ['督办单-征收中心']
    """
    lang = check_lang(lang)
    cols = [
        c
        for c in (
            "colour_label",
            "project_id",
            "task",
            "responsible_person",
            "planned_finish",
            "days_overdue",
            "days_left",
            "elapsed_share",
            "progress_share",
            "behind_points",
            "note",
        )
        if c in supervised.columns
    ]
    out = {}
    for unit, sub in supervised.groupby(supervised["responsible_unit"].fillna("—"), sort=False):
        name = say("weekly.sheet.supervision_unit", lang, unit=unit)[:31]
        out[name] = sub[cols].reset_index(drop=True)
    return out


def read_decisions(
    source: str | Path | pd.DataFrame, *, sheet: str | int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """
    Read the decisions of the weekly meeting (例会商定事项: what, who, by when).

    Headers: 事项编号, 会议日期, 商定事项, 项目编号, 责任单位, 责任人, 完成时限, 状态
    (已完成 / 已办结 close an item), 完成日期, 备注.

    Parameters
    ----------
    source
        A ``.csv`` / ``.xlsx`` file or a DataFrame laid out the same way.
    sheet
        Workbook sheet; by default the one whose headers fit best.

    Returns
    -------
    decisions, findings
        One row per decision with ``closed`` (bool) and the findings (a closed item
        without 完成日期, repeated ids).

    Examples
    --------
    >>> raw = pd.DataFrame({"事项编号": ["D1", "D2"], "商定事项": ["协调供电", "补充评估"],
    ...     "完成时限": ["2026-11-20", "2026-12-01"], "状态": ["已完成", None],
    ...     "完成日期": ["2026-11-18", None]})
    >>> d, found = read_decisions(raw)
    >>> d["closed"].tolist(), len(found)
    ([True, False], 0)
    """
    table, found = read_weekly_table(source, DECISION_SPEC, sheet=sheet)
    for col in DECISION_SPEC.columns:
        if col not in table.columns:
            table[col] = pd.NaT if col in DECISION_SPEC.dates else None
    status = table["status"].map(lambda v: str(v).strip().lower() if v else "")
    table["closed"] = status.isin(_CLOSED) | table["closed_date"].notna()
    findings = Findings()
    for i in np.flatnonzero((table["closed"] & table["closed_date"].isna()).to_numpy()):
        r = table.iloc[i]
        findings.add(
            "closed_without_date",
            f"meeting decisions, row {r['source_row']}: item {r['decision_id']} is closed "
            f"without 完成日期; fill it in (the item counts as closed on the snapshot date).",
            row=r["source_row"],
            id=r["decision_id"],
            column="closed_date",
            severity="warning",
            action="closed on the snapshot date",
        )
    all_found = concat_findings(found, findings.frame())
    return table.reset_index(drop=True), all_found


def decision_status(
    decisions: pd.DataFrame, *, as_of: Any, last_meeting: Any = None
) -> dict[str, pd.DataFrame]:
    """
    Split the meeting decisions into the open ones and those closed since the last meeting.

    Parameters
    ----------
    decisions
        Decisions as carried by the store (`LedgerStore.decisions`) or `read_decisions`.
    as_of
        The day of this meeting.
    last_meeting
        The day of the last meeting (the previous snapshot); without it, every closed item
        counts as closed since.

    Returns
    -------
    status
        ``"open"`` (with ``days_overdue`` past the 完成时限, most overdue first) and
        ``"closed_since"``.

    Examples
    --------
    >>> d = pd.DataFrame({"decision_id": ["D1", "D2", "D3"], "closed": [False, True, True],
    ...     "due_date": pd.to_datetime(["2026-11-10", "2026-11-10", "2026-11-01"]),
    ...     "closed_date": pd.to_datetime([None, "2026-11-18", "2026-11-05"])})
    >>> st = decision_status(d, as_of="2026-11-20", last_meeting="2026-11-13")
    >>> st["open"][["decision_id", "days_overdue"]].to_dict("records"), st["closed_since"]["decision_id"].tolist()
    ([{'decision_id': 'D1', 'days_overdue': 10.0}], ['D2'])
    """
    day = _as_timestamp(as_of, "as_of")
    d = decisions.copy()
    closed_date = pd.to_datetime(d["closed_date"])
    closed = d["closed"].astype(bool) & ~(closed_date > day).fillna(False)
    open_ = d[~closed].copy()
    late = (day - pd.to_datetime(open_["due_date"])).dt.days.astype(float)
    open_["days_overdue"] = late.where(late > 0)
    open_ = open_.sort_values("days_overdue", ascending=False, kind="stable", na_position="last")
    since = closed
    if last_meeting is not None:
        last = _as_timestamp(last_meeting, "last_meeting")
        since = closed & ((closed_date > last) | closed_date.isna()).fillna(True)
    return {"open": open_.reset_index(drop=True), "closed_since": d[since].reset_index(drop=True)}
