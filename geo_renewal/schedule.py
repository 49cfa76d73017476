"""
Schedules (倒排工期): stage deadlines set backwards from a project's target date.

`backward_schedule` and `compare_schedule`; see the guide, ``docs/guide/ledger.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal import schema
from geo_renewal._checks import check_lang
from geo_renewal._errors import InputError
from geo_renewal.ledger import _as_timestamp, _ledger_parts, _normalise, _stage_lookup
from geo_renewal.text import lang_index

if TYPE_CHECKING:
    from geo_renewal.ledger import Ledger

__all__ = ["backward_schedule", "compare_schedule"]

_SCHEDULE_COLUMNS = [
    "project_id",
    "name",
    "project_type",
    "stage",
    "stage_label",
    "duration_days",
    "planned",
    "actual",
    "latest_start",
    "latest_finish",
    "slack_days",
    "plan_too_late",
]


def _as_days(value: Any, stage: str) -> float:
    if isinstance(value, pd.Timedelta | dt.timedelta):
        days = pd.Timedelta(value).total_seconds() / 86_400
    elif isinstance(value, str):
        try:
            days = pd.Timedelta(value).total_seconds() / 86_400
        except ValueError as e:
            msg = f"duration of {stage!r} is {value!r}; give days (90) or a Timedelta ('90D')."
            raise InputError(msg) from e
    else:
        try:
            days = float(value)
        except (TypeError, ValueError) as e:
            msg = f"duration of {stage!r} is {value!r}; give days (90) or a Timedelta ('90D')."
            raise InputError(msg) from e
    if not np.isfinite(days) or days < 0:
        msg = f"duration of {stage!r} must be ≥ 0 days; got {value!r}."
        raise InputError(msg)
    return days


def backward_schedule(
    target_date: Any,
    durations: Mapping[str, Any] | Sequence[tuple[str, Any]],
    *,
    lang: str | None = None,
) -> pd.DataFrame:
    """
    Set stage deadlines backwards from the target date (倒排工期).

    The last stage must finish on `target_date`; every stage must finish when the next one
    has to start, so its latest finish is the target minus the durations of all later
    stages, and its latest start is its latest finish minus its own duration. Durations are
    calendar days.

    Parameters
    ----------
    target_date
        The date the whole project must be done by.
    durations
        Stage -> duration in days (number, Timedelta or ``"90D"``), in pipeline order: a
        dict, or a sequence of ``(stage, days)`` pairs. Stages are codes or labels.
    lang
        Language of ``stage_label``; defaults to `settings.lang`.

    Returns
    -------
    schedule
        One row per stage in order: ``stage``, ``stage_label``, ``duration_days``,
        ``latest_start``, ``latest_finish``.

    Raises
    ------
    InputError
        If a duration is negative or not a number of days.

    See Also
    --------
    compare_schedule : Compare each project's planned dates with these deadlines.

    Examples
    --------
    >>> backward_schedule("2025-12-31", {"signing": 90, "demolition": 60, "approval": 30},
    ...                   lang="en")
            stage    stage_label  duration_days latest_start latest_finish
    0     signing        Signing           90.0   2025-07-04    2025-10-02
    1  demolition     Demolition           60.0   2025-10-02    2025-12-01
    2    approval  Land approval           30.0   2025-12-01    2025-12-31
    """
    lang = check_lang(lang)
    target = _as_timestamp(target_date, "target_date")
    items = list(durations.items()) if isinstance(durations, Mapping) else list(durations)
    lookup = _stage_lookup(schema.STAGES)
    stages = [lookup.get(_normalise(s), str(s)) for s, _ in items]
    days = np.array([_as_days(d, s) for s, (_, d) in zip(stages, items, strict=True)], dtype=float)
    after = np.concatenate([np.cumsum(days[::-1])[::-1][1:], [0.0]]) if len(days) else days
    finish = [target - pd.Timedelta(days=float(x)) for x in after]
    start = [f - pd.Timedelta(days=float(d)) for f, d in zip(finish, days, strict=True)]
    i_lab = lang_index(lang)
    return pd.DataFrame(
        {
            "stage": pd.Series(stages, dtype="str"),
            "stage_label": [schema.STAGES.get(s, (s, s))[i_lab] for s in stages],
            "duration_days": days,
            "latest_start": pd.to_datetime(pd.Series(start, dtype=object)).astype(
                "datetime64[us]"
            ),
            "latest_finish": pd.to_datetime(pd.Series(finish, dtype=object)).astype(
                "datetime64[us]"
            ),
        }
    )


def compare_schedule(
    ledger: Ledger | pd.DataFrame,
    durations: Mapping[str, Any],
    *,
    as_of: Any = None,
    pipelines: Mapping[str, Sequence[str]] | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """
    Compare each project's planned dates with deadlines set backwards from its target date.

    For every project and every stage of its pipeline, the latest finish is the project's
    ``target_date`` minus the durations of the later stages (`backward_schedule`). A
    planned date after the latest finish means the plan cannot meet the target.

    Parameters
    ----------
    ledger
        A `Ledger` or its table, with ``target_date`` and ``<stage>_planned`` columns.
    durations
        Stage -> days for every stage used (one mapping for all types), or project type ->
        (stage -> days).
    as_of
        Optional day; adds ``past_latest_finish`` (the latest finish has passed and the
        stage has no actual date on or before `as_of`).
    pipelines
        Overrides the ledger's pipelines.
    lang
        Language of ``stage_label``; defaults to `settings.lang`.

    Returns
    -------
    schedule
        One row per project and stage: ``project_id``, ``name``, ``project_type``,
        ``stage``, ``stage_label``, ``duration_days``, ``planned``, ``actual``,
        ``latest_start``, ``latest_finish``, ``slack_days`` (latest finish − planned;
        negative = the plan is too late), ``plan_too_late`` and, with `as_of`,
        ``past_latest_finish``.

    Raises
    ------
    InputError
        If a stage of a pipeline in use has no duration (the message lists them).

    Examples
    --------
    >>> raw = pd.DataFrame({
    ...     "project_id": ["A"], "project_type": ["retain_upgrade"], "目标日期": ["2025-12-31"],
    ...     "方案计划日期": ["2025-03-01"], "施工计划日期": ["2025-11-30"],
    ...     "竣工验收计划日期": ["2025-12-31"],
    ... })
    >>> sched = compare_schedule(gr.read_ledger(raw), {"design": 60, "works": 180, "acceptance": 30})
    >>> sched[["stage", "latest_finish", "slack_days", "plan_too_late"]]
            stage latest_finish  slack_days  plan_too_late
    0      design    2025-06-04        95.0          False
    1       works    2025-12-01         1.0          False
    2  acceptance    2025-12-31         0.0          False
    """
    table, resolved, registry = _ledger_parts(ledger, pipelines)
    lang = check_lang(lang)
    i_lab = lang_index(lang)
    day = None if as_of is None else _as_timestamp(as_of, "as_of")
    per_type = all(isinstance(v, Mapping) for v in durations.values()) and bool(durations)
    lookup = _stage_lookup(registry)
    pieces = []
    for ptype, stage_list in resolved.items():
        mask = (table["project_type"] == ptype).fillna(False)
        if not mask.any():
            continue
        spec = durations.get(ptype, {}) if per_type else durations
        days = _type_durations(ptype, stage_list, spec, lookup)
        for k, stage in enumerate(stage_list):
            piece = _stage_deadlines(table.loc[mask], ptype, stage_list, k, days, day)
            piece.insert(4, "stage_label", registry[stage][i_lab])
            piece["_pos"] = np.flatnonzero(mask.to_numpy())
            pieces.append(piece)
    if not pieces:
        return pd.DataFrame(columns=_SCHEDULE_COLUMNS)
    out = pd.concat(pieces, ignore_index=True).sort_values(["_pos", "stage_order"], kind="stable")
    return out.drop(columns=["_pos", "stage_order"]).reset_index(drop=True)


def _type_durations(
    ptype: str, stage_list: Sequence[str], spec: Mapping[str, Any], lookup: Mapping[str, str]
) -> np.ndarray:
    """Return the days of each stage of one type's pipeline, refusing missing stages."""
    spec = {lookup.get(_normalise(k), k): v for k, v in spec.items()}
    missing = [s for s in stage_list if s not in spec]
    if missing:
        msg = (
            f"`durations` gives no duration for stages {missing} of {schema.label(ptype)} "
            f"({ptype}) projects; give days for each of {list(stage_list)}."
        )
        raise InputError(msg)
    return np.array([_as_days(spec[s], s) for s in stage_list])


def _stage_deadlines(
    sub: pd.DataFrame,
    ptype: str,
    stage_list: Sequence[str],
    k: int,
    days: np.ndarray,
    day: pd.Timestamp | None,
) -> pd.DataFrame:
    """Return the deadlines of stage `k` for the projects of `sub` (one type)."""
    s = stage_list[k]
    after = np.concatenate([np.cumsum(days[::-1])[::-1][1:], [0.0]])
    target = pd.to_datetime(sub["target_date"]) if "target_date" in sub else None
    if target is None:
        finish = pd.Series(pd.NaT, index=sub.index, dtype="datetime64[us]")
    else:
        finish = target - pd.Timedelta(days=float(after[k]))
    start = finish - pd.Timedelta(days=float(days[k]))
    plan = sub.get(f"{s}_planned", pd.Series(pd.NaT, index=sub.index))
    actual = sub.get(f"{s}_actual", pd.Series(pd.NaT, index=sub.index))
    slack = (finish - pd.to_datetime(plan)).dt.days.astype(float)
    piece = pd.DataFrame(
        {
            "project_id": sub["project_id"],
            "name": sub.get("name"),
            "project_type": ptype,
            "stage": s,
            "stage_order": k,
            "duration_days": days[k],
            "planned": pd.to_datetime(plan).astype("datetime64[us]"),
            "actual": pd.to_datetime(actual).astype("datetime64[us]"),
            "latest_start": pd.to_datetime(start).astype("datetime64[us]"),
            "latest_finish": pd.to_datetime(finish).astype("datetime64[us]"),
            "slack_days": slack,
            "plan_too_late": (slack < 0).fillna(False).astype(bool),
        }
    )
    if day is not None:
        not_done = ~(pd.to_datetime(actual) <= day).fillna(False)
        piece["past_latest_finish"] = ((finish < day).fillna(False) & not_done).astype(bool)
    return piece
