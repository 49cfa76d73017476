"""
Tasks with dependencies (任务分解) and the backward schedule over their graph (倒排工期).

A task table names, per project, each task (立项, 用地预审, 规划许可, 环评, 征收决定, 签约 …),
its responsible unit and person, planned and actual dates and the tasks it waits for, so
approvals can run in parallel with signing. `task_schedule` sets the latest dates backwards
from each project's target date over the dependency graph (critical path method), names
the critical path and gives each task its float in days. See ``docs/guide/weekly.md``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal import schema
from geo_renewal._errors import InputError
from geo_renewal._findings import Findings, concat_findings
from geo_renewal._weekly_table import TableSpec, read_weekly_table
from geo_renewal.ledger import Ledger, _as_timestamp

__all__ = [
    "TaskTable",
    "critical_path",
    "critical_path_table",
    "ledger_tasks",
    "read_tasks",
    "task_schedule",
]

TASK_SPEC = TableSpec(
    what="task table",
    columns={
        "project_id": ("项目编号", "项目代码", "project"),
        "task_id": ("任务编号", "序号", "task id"),
        "task": ("任务名称", "任务", "工作事项", "事项"),
        "responsible_unit": ("责任单位", "牵头单位"),
        "responsible_person": ("责任人", "具体责任人"),
        "duration_days": ("工期", "工期天", "计划工期", "duration"),
        "planned_start": ("计划开始日期", "计划开始", "planned start"),
        "planned_finish": ("计划完成日期", "计划完成", "完成时限", "planned finish"),
        "actual_start": ("实际开始日期", "实际开始", "actual start"),
        "actual_finish": ("实际完成日期", "实际完成", "actual finish"),
        "depends_on": ("前置任务", "紧前任务", "依赖", "depends on"),
        # a share 0–1 (a percentage is divided by 100); `progress`, the old name, still reads
        "progress_share": ("完成进度", "进度", "完成比例", "progress", "progress share"),
        "note": ("备注", "说明"),
    },
    required=("project_id", "task"),
    dates=("planned_start", "planned_finish", "actual_start", "actual_finish"),
    numbers=("duration_days", "progress_share"),
    key=("project_id", "task_id"),
    alt_key=("project_id", "task"),
)
_SEPARATORS = re.compile(r"[,，、;；/\s]+")
_SCHEDULE_COLUMNS = [
    "project_id",
    "task_id",
    "task",
    "responsible_unit",
    "responsible_person",
    "duration_days",
    "early_start",
    "early_finish",
    "late_start",
    "late_finish",
    "float_days",
    "critical",
    "planned_finish",
    "plan_slack_days",
]


@dataclass(frozen=True)
class TaskTable:
    """
    A task table read by `read_tasks`: the tasks and what is wrong with them.

    Attributes
    ----------
    table
        One row per task: ``project_id``, ``task_id`` (the task's name when the sheet has
        no 任务编号), ``task``, ``responsible_unit``, ``responsible_person``,
        ``duration_days``, ``planned_start``, ``planned_finish``, ``actual_start``,
        ``actual_finish``, ``depends_on`` (a tuple of task ids), ``progress_share`` (0–1),
        ``source_row``.
    findings
        One row per problem (`geo_renewal._findings.FINDING_COLUMNS`): unknown
        dependencies, cycles, bad dates, missing durations, each naming the row.
    """

    table: pd.DataFrame
    findings: pd.DataFrame


def read_tasks(source: str | Path | pd.DataFrame, *, sheet: str | int | None = None) -> TaskTable:
    """
    Read a task table (任务分解表) from CSV or XLSX (its own file or a ledger's sheet).

    Headers: 项目编号, 任务编号, 任务名称, 责任单位, 责任人, 工期（天）, 计划开始日期,
    计划完成日期, 实际开始日期, 实际完成日期, 前置任务 (task ids or names separated by
    、 , ; or spaces), 完成进度 (a percentage or a share), 备注; or their English names.

    Parameters
    ----------
    source
        A ``.csv`` / ``.xlsx`` file or a DataFrame laid out the same way.
    sheet
        Workbook sheet; by default the one whose headers name most task columns.

    Returns
    -------
    tasks
        A `TaskTable`. A dependency on a task the project does not have is a finding
        (the dependency is dropped); tasks in a cycle are findings and keep their row.

    Raises
    ------
    SchemaError
        If the table has no 项目编号 or 任务名称 column.

    Examples
    --------
    >>> raw = pd.DataFrame({"项目编号": ["A", "A", "A"], "任务名称": ["立项", "签约", "拆除"],
    ...                     "工期": [30, 90, 60], "前置任务": [None, "立项", "签约、供地"]})
    >>> t = read_tasks(raw)
    >>> t.table["depends_on"].tolist()
    [(), ('立项',), ('签约',)]
    >>> t.findings["problem"].tolist()
    ['unknown_dependency']
    """
    table, found = read_weekly_table(source, TASK_SPEC, sheet=sheet)
    findings = Findings()
    table = _normalise_tasks(table, findings)
    _check_dependencies(table, findings)
    _check_cycles(table, findings)
    all_findings = concat_findings(found, findings.frame())
    return TaskTable(table=table.reset_index(drop=True), findings=all_findings)


def _with_progress_share(table: pd.DataFrame) -> pd.DataFrame:
    """
    Return tasks with ``progress_share`` (0–1), taken from an old ``progress`` column if need be.

    Stores and frames written before the column had its ``_share`` name hold ``progress``
    (a share, or a percentage above 1); they read the same.
    """
    if "progress" not in table.columns:
        return table
    out = table.copy()
    old = pd.to_numeric(out.pop("progress"), errors="coerce").astype(float)
    old = old.where(~(old > 1), old / 100).clip(0, 1)
    if "progress_share" in out.columns:
        out["progress_share"] = pd.to_numeric(out["progress_share"], errors="coerce").fillna(old)
    else:
        out["progress_share"] = old
    return out


def _normalise_tasks(table: pd.DataFrame, findings: Findings) -> pd.DataFrame:
    out = table.copy()
    for col in TASK_SPEC.columns:
        if col not in out.columns:
            out[col] = (
                pd.NaT
                if col in TASK_SPEC.dates
                else (np.nan if col in TASK_SPEC.numbers else None)
            )
    for col in TASK_SPEC.dates:
        out[col] = pd.to_datetime(out[col]).astype("datetime64[us]")
    out["task_id"] = out["task_id"].where(out["task_id"].notna(), out["task"])
    out["depends_on"] = [
        tuple(p for p in _SEPARATORS.split(str(v)) if p) if isinstance(v, str) else ()
        for v in out["depends_on"]
    ]
    prog = out["progress_share"].astype(float)
    out["progress_share"] = prog.where(~(prog > 1), prog / 100).clip(0, 1)
    span = (out["planned_finish"] - out["planned_start"]).dt.days.astype(float)
    missing = out["duration_days"].isna()
    out["duration_days"] = out["duration_days"].where(~missing, span).astype(float)
    still = np.flatnonzero(out["duration_days"].isna().to_numpy())
    for i in still:
        r = out.iloc[i]
        findings.add(
            "no_duration",
            f"task table, row {r['source_row']}: task {r['task']!r} of project "
            f"{r['project_id']} has no 工期 and no planned start and finish; it is taken as "
            f"0 days; fill in 工期（天）.",
            row=r["source_row"],
            id=r["project_id"],
            column="duration_days",
            severity="warning",
            action="taken as 0 days",
        )
    out["duration_days"] = out["duration_days"].fillna(0.0)
    return out


def _check_dependencies(table: pd.DataFrame, findings: Findings) -> None:
    """Drop dependencies on tasks the project does not have (by id or name), as findings."""
    by_id: dict[Any, set[str]] = {}
    name_to_id: dict[tuple[Any, str], str] = {}
    for p, n, i in zip(
        *(table[c].tolist() for c in ("project_id", "task", "task_id")), strict=True
    ):
        by_id.setdefault(p, set()).add(i)
        name_to_id.setdefault((p, n), i)
    deps = []
    cols = ("project_id", "task", "source_row", "depends_on")
    for pid, task, row, wanted in zip(*(table[c].tolist() for c in cols), strict=True):
        kept = []
        own = by_id.get(pid, set())
        for d in wanted:
            if d in own:
                kept.append(d)
            elif (pid, d) in name_to_id:
                kept.append(name_to_id[(pid, d)])
            else:
                findings.add(
                    "unknown_dependency",
                    f"task table, row {row}: task {task!r} of project {pid} depends on "
                    f"{d!r}, which is no task of this project; write the 任务编号 or 任务名称 "
                    f"of a task of the same project (the dependency is ignored).",
                    row=row,
                    id=pid,
                    column="depends_on",
                    action="dependency ignored",
                    value=d,
                )
        deps.append(tuple(dict.fromkeys(kept)) if len(kept) > 1 else tuple(kept))
    table["depends_on"] = deps


def _order(ids: list[str], deps: Mapping[str, tuple[str, ...]]) -> tuple[list[str], list[str]]:
    """Return the tasks in topological order and those on or behind a cycle (Kahn)."""
    indeg = dict.fromkeys(ids, 0)
    succ: dict[str, list[str]] = {i: [] for i in ids}
    for i in ids:
        for d in deps[i]:
            indeg[i] += 1
            succ[d].append(i)
    queue = [i for i in ids if indeg[i] == 0]
    order = []
    while queue:
        i = queue.pop(0)
        order.append(i)
        for j in succ[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                queue.append(j)
    left = [i for i in ids if i not in set(order)]
    return order, left


def _cycle_members(left: list[str], deps: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Of the tasks Kahn could not order, keep those on a cycle (drop those merely behind one)."""
    rest = set(left)
    changed = True
    while changed:  # peel off tasks no remaining task waits for
        changed = False
        waited = {d for i in rest for d in deps[i] if d in rest}
        for i in list(rest):
            if i not in waited:
                rest.discard(i)
                changed = True
    return [i for i in left if i in rest]


def _check_cycles(table: pd.DataFrame, findings: Findings) -> None:
    groups: dict[Any, list[int]] = {}
    for k, pid in enumerate(table["project_id"].tolist()):
        groups.setdefault(pid, []).append(k)
    task_ids = table["task_id"].tolist()
    all_deps = table["depends_on"].tolist()
    source_rows = table["source_row"].tolist()
    in_cycle = np.zeros(len(table), dtype=bool)
    for pid, pos in groups.items():
        ids = [task_ids[k] for k in pos]
        deps = {task_ids[k]: all_deps[k] for k in pos}
        _, left = _order(ids, deps)
        if not left:
            continue
        cycle = _cycle_members(left, deps)
        rows = {task_ids[k]: source_rows[k] for k in pos}
        chain = " → ".join(str(t) for t in cycle)
        for t in left:
            on = t in cycle
            findings.add(
                "dependency_cycle" if on else "behind_cycle",
                f"task table, row {rows[t]}: task {t!r} of project {pid} "
                + (
                    f"is on a dependency cycle ({chain}); break the cycle in 前置任务."
                    if on
                    else f"waits for the dependency cycle {chain}; break the cycle in 前置任务."
                )
                + " It is left out of the schedule.",
                row=rows[t],
                id=pid,
                column="depends_on",
                action="left out of the schedule",
            )
        left_set = set(left)
        for k in pos:
            in_cycle[k] = task_ids[k] in left_set
    table["in_cycle"] = in_cycle


def ledger_tasks(ledger: Ledger | pd.DataFrame) -> pd.DataFrame:
    """
    Return the ledger's stages as a task table: one task per stage, each after the previous.

    The stage pipeline of a ledger is the simplest dependency graph (a chain); this lets
    the 督办 and the schedule work on a ledger without a task table. A stage's planned
    start is the previous stage's planned date.

    Parameters
    ----------
    ledger
        A `Ledger` or its table.

    Returns
    -------
    tasks
        The columns of `TaskTable.table`.

    Examples
    --------
    >>> raw = pd.DataFrame({"project_id": ["A"], "project_type": ["retain_upgrade"],
    ...     "design_planned": ["2025-01-31"], "works_planned": ["2025-06-30"],
    ...     "works_actual": [None], "responsible_person": ["王"]})
    >>> t = ledger_tasks(gr.read_ledger(raw))
    >>> t[["task_id", "depends_on", "planned_start", "duration_days"]].to_dict("records")[1]
    {'task_id': 'works', 'depends_on': ('design',), 'planned_start': Timestamp('2025-01-31 00:00:00'), 'duration_days': 150.0}
    """
    table = ledger.table if isinstance(ledger, Ledger) else ledger
    pipelines = ledger.pipelines if isinstance(ledger, Ledger) else schema.PIPELINES
    rows = []
    for r in table.to_dict("records"):
        stages = pipelines.get(r.get("project_type"), ())
        prev: str | None = None
        for s in stages:
            plan = r.get(f"{s}_planned")
            start = r.get(f"{prev}_planned") if prev else r.get("start_date")
            rows.append(
                {
                    "project_id": r["project_id"],
                    "task_id": s,
                    "task": schema.STAGES.get(s, (s, s))[0],
                    "responsible_unit": r.get("responsible_unit"),
                    "responsible_person": r.get("responsible_person"),
                    "planned_start": start,
                    "planned_finish": plan,
                    "actual_finish": r.get(f"{s}_actual"),
                    "depends_on": (prev,) if prev else (),
                    "source_row": r.get("ledger_row"),
                    "street": r.get("street"),
                }
            )
            prev = s
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=[*TASK_SPEC.columns, "source_row"])
    for col in ("planned_start", "planned_finish", "actual_finish"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[us]")
    out["actual_start"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[us]")
    out["duration_days"] = (out["planned_finish"] - out["planned_start"]).dt.days.astype(float)
    out["progress_share"] = np.where(out["actual_finish"].notna(), 1.0, np.nan)
    out["in_cycle"] = False
    return out


def task_schedule(
    tasks: TaskTable | pd.DataFrame,
    target_date: Any,
    *,
    as_of: Any = None,
) -> pd.DataFrame:
    """
    Set every task's latest dates backwards from the target over the dependency graph (CPM).

    The backward pass gives each task its latest finish (the earliest latest start of the
    tasks that wait for it, or the target for a task nothing waits for) and latest start
    (latest finish − duration). The forward pass starts when the longest chain must start
    (target − its length) — or, with `as_of`, a finished task keeps its actual finish, a
    task with an ``expected_finish`` (a forecast, e.g. of signing at the recent pace)
    finishes then (not before `as_of` or its predecessors), a task under way
    (``progress_share`` between 0 and 1) finishes the rest of its duration from `as_of`
    (or from its predecessors' finish), and one not begun cannot start before `as_of` —
    and gives the earliest dates. Float
    is latest start − earliest start in days; the critical path is the chain of tasks
    with the least float (0 without `as_of`; negative float: the target cannot be met) —
    with `as_of`, among the tasks not finished by then (a finished task's float is history).

    Parameters
    ----------
    tasks
        A `TaskTable` or its table.
    target_date
        One date for every project, or project id -> date (e.g. the ledger's
        ``target_date`` column as a Series indexed by project id).
    as_of
        Optional day of the assessment (see above).

    Returns
    -------
    schedule
        One row per task (tasks in a dependency cycle are left out, they are findings of
        `read_tasks`): ``project_id``, ``task_id``, ``task``, ``responsible_unit``,
        ``responsible_person``, ``duration_days``, ``early_start``, ``early_finish``,
        ``late_start``, ``late_finish``, ``float_days``, ``critical``,
        ``planned_finish`` and ``plan_slack_days`` (latest finish − planned finish;
        negative: the plan is too late for the target).

    Raises
    ------
    InputError
        If a project has no target date.

    Examples
    --------
    >>> raw = pd.DataFrame({"项目编号": ["A"] * 4, "任务名称": ["立项", "规划许可", "签约", "开工"],
    ...     "工期": [10, 30, 60, 5], "前置任务": [None, "立项", "立项", "规划许可、签约"]})
    >>> s = task_schedule(read_tasks(raw), "2025-12-31")
    >>> s[["task", "late_finish", "float_days", "critical"]]
       task late_finish  float_days  critical
    0    立项  2025-10-27         0.0      True
    1  规划许可  2025-12-26        30.0     False
    2    签约  2025-12-26         0.0      True
    3    开工  2025-12-31         0.0      True
    >>> critical_path(s)
    {'A': '立项 → 签约 → 开工'}
    """
    table = tasks.table if isinstance(tasks, TaskTable) else tasks
    day = None if as_of is None else _as_timestamp(as_of, "as_of")
    pieces = []
    for pid, sub in table.groupby("project_id", sort=False):
        if "in_cycle" in sub:
            sub = sub[~sub["in_cycle"].astype(bool)]
        target = _target(target_date, pid)
        pieces.append(_project_schedule(sub, target, day))
    if not pieces:
        return pd.DataFrame(columns=_SCHEDULE_COLUMNS)
    return pd.concat(pieces, ignore_index=True)


def _target(target_date: Any, pid: Any) -> pd.Timestamp:
    if isinstance(target_date, Mapping | pd.Series):
        value = target_date.get(pid)
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            msg = (
                f"project {pid} has no target date (目标日期); fill it in the ledger or give "
                f"`target_date` for it."
            )
            raise InputError(msg)
        return _as_timestamp(value, f"target_date[{pid!r}]")
    return _as_timestamp(target_date, "target_date")


def _project_schedule(
    sub: pd.DataFrame, target: pd.Timestamp, day: pd.Timestamp | None
) -> pd.DataFrame:
    ids = sub["task_id"].tolist()
    deps = dict(zip(ids, sub["depends_on"], strict=True))
    order, _ = _order(ids, deps)
    dur = dict(zip(ids, sub["duration_days"].astype(float), strict=True))
    succ: dict[str, list[str]] = {i: [] for i in ids}
    for i in ids:
        for d in deps[i]:
            succ[d].append(i)
    # backward pass, in days before the target (0 = the target)
    lf: dict[str, float] = {}
    for i in reversed(order):
        lf[i] = min((lf[j] - dur[j] for j in succ[i]), default=0.0)
    ls = {i: lf[i] - dur[i] for i in ids}
    es, ef = _forward(sub, order, deps, dur, min(ls.values(), default=0.0), target, day)
    flt = {i: ls[i] - es[i] for i in ids}
    # on a day, the path is what is left: a finished task's float is history
    finished = dict(zip(ids, sub["actual_finish"], strict=True))
    pool = ids if day is None else [i for i in ids if not (finished[i] <= day)]
    least = min((flt[i] for i in pool), default=0.0)
    crit = {i: i in pool and abs(flt[i] - least) < 1e-9 for i in ids}

    def at(x: float) -> pd.Timestamp:
        return target + pd.Timedelta(days=float(x))

    out = pd.DataFrame(
        {
            "project_id": sub["project_id"].to_numpy(),
            "task_id": ids,
            "task": sub["task"].to_numpy(),
            "responsible_unit": sub["responsible_unit"].to_numpy(),
            "responsible_person": sub["responsible_person"].to_numpy(),
            "duration_days": [dur[i] for i in ids],
            "early_start": [at(es[i]) for i in ids],
            "early_finish": [at(ef[i]) for i in ids],
            "late_start": [at(ls[i]) for i in ids],
            "late_finish": [at(lf[i]) for i in ids],
            "float_days": [flt[i] for i in ids],
            "critical": [crit[i] for i in ids],
            "planned_finish": sub["planned_finish"].to_numpy(),
        }
    )
    for col in ("early_start", "early_finish", "late_start", "late_finish", "planned_finish"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[us]")
    out["plan_slack_days"] = (out["late_finish"] - out["planned_finish"]).dt.days.astype(float)
    out.attrs["order"] = order
    return out


def _forward(
    sub: pd.DataFrame,
    order: list[str],
    deps: Mapping[str, tuple[str, ...]],
    dur: Mapping[str, float],
    start: float,
    target: pd.Timestamp,
    day: pd.Timestamp | None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Return earliest start and finish in days relative to the target."""

    def rel(ts: Any) -> float:
        return float((pd.Timestamp(ts) - target).days)

    done = dict(zip(sub["task_id"], sub["actual_finish"], strict=True))
    began = dict(zip(sub["task_id"], sub["actual_start"], strict=True))
    share = _with_progress_share(sub).get("progress_share")
    shares = share.to_numpy() if share is not None else np.full(len(sub), np.nan)
    part = dict(zip(sub["task_id"], shares, strict=True))
    expected = pd.to_datetime(sub["expected_finish"]) if "expected_finish" in sub else None
    due = dict(zip(sub["task_id"], expected, strict=True)) if expected is not None else {}
    es: dict[str, float] = {}
    ef: dict[str, float] = {}
    for i in order:
        base = max((ef[d] for d in deps[i]), default=start)
        if day is not None:
            if pd.notna(done[i]) and done[i] <= day:
                ef[i] = float(rel(done[i]))
                es[i] = ef[i] - dur[i] if pd.isna(began[i]) else float(rel(began[i]))
                continue
            now = float(rel(day))
            if pd.notna(due.get(i, pd.NaT)):  # a forecast of its finish (the signing pace)
                ef[i] = max(float(rel(due[i])), base, now)
                es[i] = ef[i] - dur[i]
                continue
            p = float(part[i]) if pd.notna(part[i]) else 0.0
            if 0 < p < 1:  # under way: what is left of it from the day on (or its predecessors)
                ef[i] = max(base, now) + math.ceil(dur[i] * (1 - p) - 1e-9)  # whole days
                es[i] = ef[i] - dur[i]
                continue
            base = max(base, now if pd.isna(began[i]) else float(rel(began[i])))
        es[i] = base
        ef[i] = base + dur[i]
    return es, ef


def critical_path(schedule: pd.DataFrame) -> dict[Any, str]:
    """
    Name the critical path of each project of a `task_schedule`: its critical tasks in order.

    Parameters
    ----------
    schedule
        The output of `task_schedule`.

    Returns
    -------
    paths
        Project id -> ``"立项 → 签约 → 开工"`` (critical tasks by earliest start).

    Examples
    --------
    >>> s = pd.DataFrame({"project_id": ["A", "A"], "task": ["签约", "拆除"],
    ...     "critical": [True, True], "early_start": pd.to_datetime(["2025-01-01", "2025-03-01"])})
    >>> critical_path(s)
    {'A': '签约 → 拆除'}
    """
    out = {}
    for pid, sub in schedule[schedule["critical"].astype(bool)].groupby("project_id", sort=False):
        sub = sub.sort_values("early_start", kind="stable")
        out[pid] = " → ".join(str(t) for t in sub["task"])
    return out


#: Columns of `critical_path_table`, in order.
CRITICAL_COLUMNS = [
    "project_id",
    "path_step",
    "task",
    "responsible_unit",
    "responsible_person",
    "duration_days",
    "late_start",
    "late_finish",
    "float_days",
    "early_start",
    "early_finish",
    "planned_finish",
    "plan_slack_days",
    "target_date",
    "days_before_target",
]


def critical_path_table(schedule: pd.DataFrame, target_date: Any) -> pd.DataFrame:
    """
    Return the tasks on each project's critical path, in order: the 关键路径 sheet.

    Parameters
    ----------
    schedule
        The output of `task_schedule`.
    target_date
        The targets the schedule was set from: one date, or project id -> date.

    Returns
    -------
    table
        One row per critical task (`CRITICAL_COLUMNS`): ``path_step`` (1, 2, … by earliest
        start), the task and who is responsible, its duration, latest start and finish
        (倒排: the day it must start and finish for the target), ``float_days`` (总时差;
        negative: the target cannot be met at the current state), the earliest dates,
        the planned finish and ``plan_slack_days``, ``target_date`` and
        ``days_before_target`` (target − latest finish).

    Examples
    --------
    >>> raw = pd.DataFrame({"项目编号": ["A"] * 3, "任务名称": ["立项", "环评", "签约"],
    ...     "工期": [10, 20, 60], "前置任务": [None, "立项", "立项"]})
    >>> s = task_schedule(read_tasks(raw), "2026-12-31")
    >>> t = critical_path_table(s, "2026-12-31")
    >>> t[["path_step", "task", "late_start", "late_finish", "days_before_target"]]
       path_step task late_start late_finish  days_before_target
    0          1   立项 2026-10-22  2026-11-01                  60
    1          2   签约 2026-11-01  2026-12-31                   0
    """
    crit = schedule[schedule["critical"].astype(bool)].copy()
    if crit.empty:
        return pd.DataFrame(columns=CRITICAL_COLUMNS)
    crit = crit.sort_values(["early_start", "late_start"], kind="stable")
    order = {pid: k for k, pid in enumerate(pd.unique(schedule["project_id"]))}
    crit["_p"] = crit["project_id"].map(order)
    crit = crit.sort_values("_p", kind="stable").drop(columns="_p").reset_index(drop=True)
    crit["path_step"] = crit.groupby("project_id", sort=False).cumcount() + 1
    targets = [_target(target_date, pid) for pid in crit["project_id"]]
    crit["target_date"] = pd.to_datetime(pd.Series(targets)).astype("datetime64[us]")
    crit["days_before_target"] = (crit["target_date"] - crit["late_finish"]).dt.days
    return crit[[c for c in CRITICAL_COLUMNS if c in crit.columns]]
