"""
Progress on a date (挂图作战): where the projects of a ledger stand, and what moved.

Per project, street and type, the changes since the last ledger, and the tables, map and
workbook of a progress meeting; see the guide, ``docs/guide/ledger.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal import schema
from geo_renewal._checks import check_lang
from geo_renewal._errors import InputError, SchemaError
from geo_renewal._ledger_cells import _isna
from geo_renewal.ledger import Ledger, _as_timestamp, _ledger_parts, read_ledger
from geo_renewal.schedule import compare_schedule
from geo_renewal.text import MEETING_TEXT, lang_index, say

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "ProgressMeeting",
    "compare_ledgers",
    "progress_meeting",
    "progress_summary",
    "progress_tables",
    "project_progress",
    "write_progress_meeting",
]

#: Findings column -> column of the ledger problems sheet (translated by `write_tables`).
_FINDING_HEADERS = {
    "row": "ledger_row",
    "id": "project_id",
    "column": "ledger_column",
    "problem": "finding_problem",
    "severity": "finding_severity",
    "message": "finding_message",
}
_PROGRESS_COLUMNS = [
    "project_id",
    "name",
    "project_type",
    "street",
    "responsible_unit",
    "responsible_person",
    "stage",
    "stage_planned",
    "days_behind",
    "overdue",
    "overdue_stages",
    "households",
    "signed_households",
    "signing_rate",
    "demolished_floor_area",
    "target_date",
    "days_to_target",
]
#: Bookkeeping columns left out of the map's popups (with the duplicate stage label).
_MAP_INTERNAL = ["stage_label", "stage_index", "n_stages", "n_overdue_stages", "as_of"]
_MAP_INTERNAL += ["ledger_row", "has_polygon", "reported_stage"]
_CHANGE_COLUMNS = [
    "project_id",
    "name",
    "street",
    "change",
    "old_stage_label",
    "new_stage_label",
    "stage_steps",
    "old_overdue",
    "new_overdue",
    "old_signing_rate",
    "new_signing_rate",
    "signing_rate_change",
    "signed_change",
]


# --------------------------------------------------------------------------- progress


def project_progress(
    ledger: Ledger | pd.DataFrame,
    *,
    as_of: Any,
    pipelines: Mapping[str, Sequence[str]] | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """
    Tell where every project stands on `as_of`: current stage, delay, overdue flags.

    A stage counts as done when its actual date is on or before `as_of` (later actual
    dates are ignored, so an old meeting can be replayed). The current stage is the first
    stage of the project's pipeline not done; ``"done"`` when all are. With a ledger
    column ``start_date`` (启动日期), a project with no stage done whose start date is
    after `as_of` is ``"not_started"`` (a blank start date does not count).

    Parameters
    ----------
    ledger
        A `Ledger` from `read_ledger`, or its ``table``.
    as_of
        The day of the assessment (date, Timestamp or ``"2024-06-30"``).
    pipelines
        Overrides the ledger's pipelines (type code -> stage codes).
    lang
        Language of the label columns, ``"zh"`` or ``"en"``; defaults to `settings.lang`.

    Returns
    -------
    progress
        Aligned on the ledger table's index (a GeoDataFrame when the ledger has
        geometry), with ``project_id``, ``name``, ``project_type``, ``street``,
        ``stage`` (code), ``stage_label``, ``stage_index`` (1 = first stage; 0 not
        started; pipeline length + 1 done), ``n_stages``, ``stage_planned`` (planned date
        of the current stage), ``days_behind`` (days from that planned date to `as_of`:
        positive = late, negative = days left; NaN without a plan or when done),
        ``overdue`` (bool: the current stage's planned date is before `as_of`),
        ``overdue_stages`` (labels of every stage past its planned date and not done),
        ``n_overdue_stages``, ``signing_rate`` (signed ÷ households, NaN without
        households), ``days_to_target``, ``as_of``, then the other ledger columns.

    Raises
    ------
    InputError
        If `as_of` is not a date.

    See Also
    --------
    progress_summary : Projects by stage, signing and overdue counts per street or type.
    compare_schedule : The plan against deadlines set backwards from the target.

    Examples
    --------
    >>> raw = pd.DataFrame({
    ...     "project_id": ["A", "B"], "project_type": ["demolish", "retain_upgrade"],
    ...     "households": [100, 50], "signed_households": [80, 0],
    ...     "signing_planned": ["2024-03-01", None], "signing_actual": ["2024-02-20", None],
    ...     "demolition_planned": ["2024-05-01", None],
    ...     "design_planned": [None, "2024-07-01"],
    ... })
    >>> progress = project_progress(read_ledger(raw), as_of="2024-06-01", lang="en")
    >>> progress[["stage", "overdue", "days_behind", "signing_rate"]]
            stage  overdue  days_behind  signing_rate
    0  demolition     True         31.0           0.8
    1      design    False        -30.0           0.0
    """
    table, resolved, registry = _ledger_parts(ledger, pipelines)
    lang = check_lang(lang)
    day = _as_timestamp(as_of, "as_of")
    i_lab = lang_index(lang)
    where = _where_projects_stand(table, resolved, registry, day, i_lab)
    out = _progress_columns(table, where, registry, day, lang)
    rest = [c for c in table.columns if c not in out.columns]
    out = pd.concat([out, table[rest]], axis=1)
    if hasattr(table, "geometry") and "geometry" in table.columns:
        import geopandas as gpd

        out = gpd.GeoDataFrame(out, geometry="geometry", crs=table.crs)
    return out


def _dates(sub: pd.DataFrame, stage_list: Sequence[str], kind: str) -> list[pd.Series]:
    return [
        sub[f"{s}_{kind}"] if f"{s}_{kind}" in sub else pd.Series(pd.NaT, index=sub.index)
        for s in stage_list
    ]


def _type_stages(
    sub: pd.DataFrame, stage_list: Sequence[str], day: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """
    Return the current stage of the projects of one type, and which stages are late.

    The stage as a code and as a position (-1 not started, ``len(stage_list)`` done), the
    planned date of that stage, and a (projects × stages) mask of late stages.
    """
    done = np.column_stack(
        [(a <= day).fillna(False).to_numpy() for a in _dates(sub, stage_list, "actual")]
    )
    plan = np.column_stack(
        [
            pd.to_datetime(p).astype("datetime64[us]").to_numpy()
            for p in _dates(sub, stage_list, "planned")
        ]
    )
    all_done = done.all(axis=1)
    first_open = np.where(all_done, len(stage_list), np.argmin(done, axis=1))
    codes = np.array([*stage_list, "done"], dtype=object)[first_open]
    cur_plan = np.where(
        all_done,
        np.datetime64("NaT"),
        plan[np.arange(len(sub)), np.minimum(first_open, len(stage_list) - 1)],
    )
    if "start_date" in sub.columns:
        not_started = ~done.any(axis=1) & (sub["start_date"] > day).fillna(False).to_numpy()
        codes = np.where(not_started, "not_started", codes)
        first_open = np.where(not_started, -1, first_open)
    late = (plan < np.datetime64(day)) & ~done
    return codes, first_open, cur_plan, late


def _where_projects_stand(
    table: pd.DataFrame,
    pipelines: Mapping[str, Sequence[str]],
    registry: Mapping[str, tuple[str, str, str]],
    day: pd.Timestamp,
    i_lab: int,
) -> dict[str, Any]:
    """Return each project's stage, stage index, pipeline length, planned date, late stages."""
    n = len(table)
    stage = np.full(n, None, dtype=object)
    stage_index = np.zeros(n, dtype=int)
    n_stages = np.zeros(n, dtype=int)
    planned = pd.Series(pd.NaT, index=table.index, dtype="datetime64[us]")
    overdue_lists: list[list[str]] = [[] for _ in range(n)]
    for ptype, stage_list in pipelines.items():
        mask = (table["project_type"] == ptype).fillna(False).to_numpy()
        if not mask.any():
            continue
        codes, first_open, cur_plan, late = _type_stages(table.loc[mask], stage_list, day)
        idx = np.flatnonzero(mask)
        stage[idx] = codes
        stage_index[idx] = first_open + 1
        n_stages[idx] = len(stage_list)
        planned.iloc[idx] = cur_plan
        for j, row_late in zip(idx, late, strict=True):
            overdue_lists[j] = [
                registry[s][i_lab] for s, x in zip(stage_list, row_late, strict=True) if x
            ]
    return {
        "stage": stage,
        "stage_index": stage_index,
        "n_stages": n_stages,
        "planned": planned,
        "overdue_lists": overdue_lists,
    }


def _column(table: pd.DataFrame, col: str, empty: Any) -> pd.Series:
    return table[col] if col in table else pd.Series(empty, index=table.index)


def _progress_columns(
    table: pd.DataFrame,
    where: Mapping[str, Any],
    registry: Mapping[str, tuple[str, str, str]],
    day: pd.Timestamp,
    lang: str,
) -> pd.DataFrame:
    """Return the progress columns: stage, delay, overdue stages, signing rate, target."""
    i_lab = lang_index(lang)
    stage, planned, overdue_lists = where["stage"], where["planned"], where["overdue_lists"]
    days_behind = (day - planned).dt.days.astype(float)
    is_done = pd.Series(stage, index=table.index) == "done"
    days_behind = days_behind.where(~is_done.to_numpy())
    sep = say("progress.list_separator", lang)
    households = _column(table, "households", np.nan)
    signed = _column(table, "signed_households", np.nan)
    rate = (signed / households.where(households > 0)).astype(float)
    target = _column(table, "target_date", pd.NaT)
    stage_s = pd.Series(stage, index=table.index, dtype=object)
    return pd.DataFrame(
        {
            "project_id": table["project_id"],
            "name": table.get("name"),
            "project_type": table["project_type"],
            "street": table.get("street"),
            "stage": stage_s.astype("str").where(stage_s.notna(), None) if len(table) else stage_s,
            "stage_label": stage_s.map(
                lambda s: None if s is None else registry.get(s, (s, s))[i_lab]
            ),
            "stage_index": where["stage_index"],
            "n_stages": where["n_stages"],
            "stage_planned": planned,
            "days_behind": days_behind,
            "overdue": (days_behind > 0).fillna(False).astype(bool),
            "overdue_stages": [sep.join(x) for x in overdue_lists],
            "n_overdue_stages": [len(x) for x in overdue_lists],
            "signing_rate": rate,
            "days_to_target": (pd.to_datetime(target) - day).dt.days.astype(float),
            "as_of": pd.Series(day, index=table.index).astype("datetime64[us]"),
        },
        index=table.index,
    )


def progress_summary(
    progress: pd.DataFrame,
    *,
    by: str | Sequence[str] = "street",
    total: bool = True,
) -> pd.DataFrame:
    """
    Summarise progress per street, type or any column: projects by stage, signing, overdue.

    Laid out like `geo_renewal.stats.zone_stats`: one row per group, indexed by the group
    column(s), blank groups under ``"missing"`` (未填写) and a ``"total"`` row (合计), which
    `geo_renewal.tables.write_table` translates and prints in bold.

    Parameters
    ----------
    progress
        Output of `project_progress`.
    by
        Column(s) to group by: ``"street"`` (default), ``"project_type"``, or any column.
    total
        If True, append the total row over all projects.

    Returns
    -------
    summary
        Indexed by `by`, with ``projects``, one count column per stage code present
        (pipeline order, then ``done``), ``n_overdue`` (overdue projects), ``households``,
        ``signing_households`` (households of the projects that report signed households;
        upgrade projects do not sign), ``signed_households``, ``signing_rate`` (Σ signed ÷
        households to sign; blank where no project signs) and
        ``demolished_floor_area`` [m²]. The total row equals the sums over the groups.

    Raises
    ------
    SchemaError
        If `progress` lacks the `by` column(s) or the progress columns.

    Examples
    --------
    >>> raw = pd.DataFrame({
    ...     "project_id": ["A", "B", "C"], "street": ["东关", "东关", "西关"],
    ...     "project_type": ["demolish", "demolish", "retain_upgrade"],
    ...     "households": [100, 50, 30], "signed_households": [80, 50, 0],
    ...     "signing_planned": ["2024-03-01", "2024-03-01", None],
    ...     "signing_actual": [None, "2024-02-01", None],
    ... })
    >>> prog = project_progress(read_ledger(raw), as_of="2024-06-01")
    >>> progress_summary(prog, by="street")[["projects", "signing", "design", "n_overdue"]]
            projects  signing  design  n_overdue
    street
    东关             2        1       0          1
    西关             1        0       1          0
    total          3        1       1          1
    """
    from geo_renewal.stats import MISSING_ROW, TOTAL_ROW

    keys = [by] if isinstance(by, str) else list(by)
    missing = [k for k in [*keys, "stage", "overdue", "project_id"] if k not in progress.columns]
    if missing:
        msg = (
            f"`progress` is missing columns {missing}; pass the output of project_progress "
            f"and group by one of its columns."
        )
        raise SchemaError(msg)
    df = pd.DataFrame(progress.drop(columns="geometry", errors="ignore"))
    for k in keys:
        blank = df[k].isna() | (df[k].astype(object).map(lambda v: str(v).strip()) == "")
        df[k] = df[k].astype(object).where(~blank, MISSING_ROW)
    stage_order = _stage_order(df["stage"].dropna().unique().tolist())
    for c in ("households", "signed_households", "demolished_floor_area"):
        if c not in df:
            df[c] = np.nan
    # Signing rate over the projects that report signing (upgrade projects do not sign).
    df["signing_households"] = df["households"].where(df["signed_households"].notna())
    counts = pd.crosstab([df[k] for k in keys], df["stage"]).reindex(
        columns=stage_order, fill_value=0
    )
    summary = df.groupby(keys, sort=True).agg(
        projects=("project_id", "size"),
        n_overdue=("overdue", "sum"),
        households=("households", "sum"),
        signed_households=("signed_households", lambda x: x.sum(min_count=1)),
        demolished_floor_area=("demolished_floor_area", lambda x: x.sum(min_count=1)),
        signing_households=("signing_households", "sum"),
    )
    summary = summary.join(counts).fillna(dict.fromkeys(stage_order, 0))
    if total:
        name = TOTAL_ROW if len(keys) == 1 else (TOTAL_ROW, *[""] * (len(keys) - 1))
        row = summary.sum(numeric_only=True, min_count=1).to_frame().T
        row.index = pd.Index([name]) if len(keys) == 1 else pd.MultiIndex.from_tuples([name])
        summary = pd.concat([summary, row])
        summary.index.names = keys
    ints = ["projects", "n_overdue", *stage_order]
    summary[ints] = summary[ints].astype(int)
    summary["signing_rate"] = summary["signed_households"] / summary["signing_households"].where(
        summary["signing_households"] > 0
    )
    cols = ["projects", *stage_order, "n_overdue", "households", "signing_households"]
    cols += ["signed_households", "signing_rate", "demolished_floor_area"]
    return summary[cols]


def _stage_order(present: Sequence[str]) -> list[str]:
    known = [s for s in schema.STAGE_ORDER if s != "done"]
    ordered = [s for s in known if s in present]
    ordered += sorted(s for s in present if s not in known and s != "done")
    if "done" in present:
        ordered.append("done")
    return ordered


# --------------------------------------------------------------------------- comparison


def _to_progress(obj: Ledger | pd.DataFrame, as_of: Any, name: str, lang: str) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame) and "stage" in obj.columns:
        return obj
    if as_of is None:
        msg = (
            f"`{name}` is a ledger, not a progress table; pass `as_of=` (and `old_as_of=`) so "
            f"its progress can be computed, or pass project_progress output."
        )
        raise InputError(msg)
    return project_progress(obj, as_of=as_of, lang=lang)


def compare_ledgers(
    old: Ledger | pd.DataFrame,
    new: Ledger | pd.DataFrame,
    *,
    as_of: Any = None,
    old_as_of: Any = None,
    only_changed: bool = True,
    lang: str | None = None,
) -> pd.DataFrame:
    """
    Tell what moved between two ledgers: stage changes, newly overdue, signing changes.

    Parameters
    ----------
    old, new
        Two ledgers (`Ledger` or table) or two `project_progress` outputs, e.g. from
        last week's and this week's meeting.
    as_of
        Day at which `new` is assessed when it is a ledger (required then).
    old_as_of
        Day at which `old` is assessed when it is a ledger; defaults to `as_of`
        (so only changes in the data show), give last meeting's date to also see what
        became overdue with time.
    only_changed
        If True (default), keep only projects where something changed.
    lang
        Language of ``change`` and the stage labels; defaults to `settings.lang`.

    Returns
    -------
    changes
        One row per project (outer join on ``project_id``, in new order then removed
        ones): ``project_id``, ``name``, ``street``, ``old_stage``, ``new_stage``,
        ``old_stage_label``, ``new_stage_label``, ``stage_steps`` (stages advanced, negative
        if moved back), ``old_overdue``, ``new_overdue``, ``old_signing_rate``,
        ``new_signing_rate``, ``signing_rate_change``, ``old_signed_households``,
        ``new_signed_households``, ``signed_change``, flags ``is_new``, ``is_removed``,
        ``stage_changed``, ``newly_overdue``, ``overdue_cleared``, ``signing_changed`` and
        ``change`` (a readable summary).

    Raises
    ------
    InputError
        If a ledger is given without `as_of`, or either side repeats a project id.

    Examples
    --------
    >>> old = pd.DataFrame({"project_id": ["A", "B"], "project_type": ["demolish"] * 2,
    ...     "households": [100, 10], "signed_households": [50, 0],
    ...     "signing_planned": ["2024-05-01"] * 2})
    >>> new = old.assign(signed_households=[100, 0], signing_actual=["2024-04-20", None])
    >>> diff = compare_ledgers(read_ledger(old), read_ledger(new), as_of="2024-06-01",
    ...                        old_as_of="2024-04-01", lang="en")
    >>> diff[["project_id", "old_stage", "new_stage", "newly_overdue", "signing_rate_change"]]
      project_id old_stage   new_stage  newly_overdue  signing_rate_change
    0          A   signing  demolition          False                  0.5
    1          B   signing     signing           True                  0.0
    """
    lang = check_lang(lang)
    p_new = _to_progress(new, as_of, "new", lang)
    p_old = _to_progress(old, as_of if old_as_of is None else old_as_of, "old", lang)
    for name, p in (("old", p_old), ("new", p_new)):
        dup = p["project_id"].dropna()
        dup = dup[dup.duplicated()].unique().tolist()
        if dup:
            msg = f"`{name}` repeats project ids {dup}; fix the ledger so each id appears once."
            raise InputError(msg)
    out = _changes(_join_sides(p_old, p_new))
    out["change"] = _change_text(out, lang)
    out = out.reset_index()
    if only_changed:
        flags = ["is_new", "is_removed", "stage_changed", "newly_overdue", "overdue_cleared"]
        flags.append("signing_changed")
        out = out[out[flags].any(axis=1)].reset_index(drop=True)
    return out


def _join_sides(p_old: pd.DataFrame, p_new: pd.DataFrame) -> pd.DataFrame:
    """Outer-join two progress tables on project id (new order, then removed projects)."""
    keep = ["project_id", "name", "street", "project_type", "stage", "stage_label"]
    keep += ["stage_index", "overdue", "signing_rate", "signed_households"]

    def side(p: pd.DataFrame, prefix: str) -> pd.DataFrame:
        cols = [c for c in keep if c in p.columns]
        s = pd.DataFrame(p[cols]).dropna(subset=["project_id"]).set_index("project_id")
        return s.add_prefix(prefix)

    a, b = side(p_old, "old_"), side(p_new, "new_")
    ids = list(dict.fromkeys([*b.index.tolist(), *a.index.tolist()]))
    df = b.join(a, how="outer").reindex(ids)
    df.index.name = "project_id"
    df["_is_new"] = ~df.index.isin(a.index)
    df["_is_removed"] = ~df.index.isin(b.index)
    for col in ("name", "street", "project_type"):
        nc, oc = f"new_{col}", f"old_{col}"
        vals = df[nc] if nc in df else pd.Series(None, index=df.index)
        if oc in df:
            vals = vals.astype(object).where(vals.notna(), df[oc])
        df[col] = vals
    return df


def _changes(df: pd.DataFrame) -> pd.DataFrame:
    """Return the old and new values side by side and the change flags of joined sides."""
    is_new, is_removed = df["_is_new"].to_numpy(), df["_is_removed"].to_numpy()
    same_type = (df.get("new_project_type") == df.get("old_project_type")).fillna(False)
    steps = (df["new_stage_index"] - df["old_stage_index"]).where(same_type)
    stage_changed = (df["new_stage"] != df["old_stage"]).fillna(False) & ~is_new & ~is_removed
    old_over = df["old_overdue"].astype(object).fillna(False).astype(bool)
    new_over = df["new_overdue"].astype(object).fillna(False).astype(bool)
    rate_change = (df["new_signing_rate"] - df["old_signing_rate"]).astype(float)
    signed_change = (
        (df["new_signed_households"] - df["old_signed_households"]).astype(float)
        if "new_signed_households" in df and "old_signed_households" in df
        else pd.Series(np.nan, index=df.index)
    )
    signing_changed = (rate_change.abs() > 1e-12).fillna(False) | (signed_change.abs() > 0).fillna(
        False
    )
    return pd.DataFrame(
        {
            "name": df["name"],
            "street": df["street"],
            "project_type": df["project_type"],
            "old_stage": df["old_stage"],
            "new_stage": df["new_stage"],
            "old_stage_label": df["old_stage_label"],
            "new_stage_label": df["new_stage_label"],
            "stage_steps": steps.astype(float),
            "old_overdue": df["old_overdue"].astype(object),
            "new_overdue": df["new_overdue"].astype(object),
            "old_signing_rate": df["old_signing_rate"].astype(float),
            "new_signing_rate": df["new_signing_rate"].astype(float),
            "signing_rate_change": rate_change,
            "old_signed_households": df.get("old_signed_households", np.nan),
            "new_signed_households": df.get("new_signed_households", np.nan),
            "signed_change": signed_change,
            "is_new": is_new,
            "is_removed": is_removed,
            "stage_changed": stage_changed.astype(bool),
            "newly_overdue": (new_over & ~old_over & ~is_new).astype(bool),
            "overdue_cleared": (old_over & ~new_over & ~is_removed).astype(bool),
            "signing_changed": signing_changed.astype(bool) & ~is_new & ~is_removed,
        },
        index=df.index,
    )


def _change_text(out: pd.DataFrame, lang: str) -> list[str]:
    texts = []
    for r in out.itertuples():
        parts = []
        if r.is_new:
            parts.append(say("progress.change.new_project", lang))
        if r.is_removed:
            parts.append(say("progress.change.removed", lang))
        if r.stage_changed:
            parts.append(f"{r.old_stage_label} → {r.new_stage_label}")
        if r.newly_overdue:
            parts.append(say("progress.change.newly_overdue", lang))
        if r.overdue_cleared:
            parts.append(say("progress.change.overdue_cleared", lang))
        if r.signing_changed and np.isfinite(r.signing_rate_change):
            pts = r.signing_rate_change * 100
            parts.append(say("progress.change.signing", lang, pts=pts))
        texts.append(say("progress.change.separator", lang).join(parts))
    return texts


# --------------------------------------------------------------------------- meeting tables


def progress_tables(
    progress: pd.DataFrame,
    *,
    findings: pd.DataFrame | None = None,
    changes: pd.DataFrame | None = None,
    schedule: pd.DataFrame | None = None,
    lang: str | None = None,
) -> dict[str, pd.DataFrame]:
    """
    Return the progress tables of a meeting, ready for `geo_renewal.tables.write_tables`.

    Sheets: the progress of every project (项目进度), the summaries per street (按街道) and
    per type (按类型), and, when given, the ledger findings (台账问题), what changed since
    the last ledger (变化情况) and the backward schedule (倒排工期). Codes are kept in the
    code columns that `write_tables` translates (``stage``) and project types and
    severities are labelled in `lang`.

    Parameters
    ----------
    progress
        Output of `project_progress`.
    findings
        ``Ledger.findings`` of the ledger read.
    changes
        Output of `compare_ledgers`.
    schedule
        Output of `compare_schedule`.
    lang
        Language of sheet names and labelled values; defaults to `settings.lang`.

    Returns
    -------
    tables
        Sheet name -> DataFrame.

    Examples
    --------
    >>> raw = pd.DataFrame({"project_id": ["A"], "project_type": ["demolish"],
    ...                     "street": ["东关"], "signing_planned": ["2024-03-01"]})
    >>> ledger = read_ledger(raw)
    >>> sheets = progress_tables(project_progress(ledger, as_of="2024-06-01"),
    ...                          findings=ledger.findings, lang="en")
    >>> list(sheets)
    ['Progress', 'By street', 'By type', 'Ledger problems']
    >>> sheets["Progress"][["project_type", "stage", "overdue"]].to_dict("records")
    [{'project_type': 'Expropriate & demolish', 'stage': 'signing', 'overdue': True}]
    """
    lang = check_lang(lang)
    sheets = {
        say("progress.sheet.progress", lang): _progress_sheet(progress, lang),
        say("progress.sheet.by_street", lang): progress_summary(progress, by="street"),
        say("progress.sheet.by_type", lang): progress_summary(progress, by="project_type"),
    }
    if findings is not None:
        sheets[say("progress.sheet.ledger_problems", lang)] = _findings_sheet(findings, lang=lang)
    if changes is not None:
        sheets[say("progress.sheet.changes", lang)] = changes[
            [c for c in _CHANGE_COLUMNS if c in changes]
        ]
    if schedule is not None:
        sheets[say("progress.sheet.schedule", lang)] = schedule.drop(
            columns=["stage_label"], errors="ignore"
        )
    return sheets


def _progress_sheet(progress: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Return the progress of every project: the meeting's columns and the filled dates."""
    table = pd.DataFrame(progress.drop(columns="geometry", errors="ignore"))
    dates = [
        c
        for c in table.columns
        if c.endswith(("_planned", "_actual")) and c != "stage_planned" and table[c].notna().any()
    ]
    cols = [c for c in _PROGRESS_COLUMNS if c in table.columns] + dates
    table = table[cols].copy()
    table["project_type"] = table["project_type"].map(
        lambda v: None if v is None or _isna(v) else schema.label(str(v), lang)
    )
    return table


def _findings_sheet(findings: pd.DataFrame, *, lang: str) -> pd.DataFrame:
    """Return the ledger problems sheet: row, project, column, problem, severity, message."""
    from geo_renewal.tables import findings_table

    f = findings_table(findings, lang=lang)  # rows are spreadsheet rows already
    f = f.rename(columns={"finding_row": "ledger_row", "finding_id": "project_id"})
    f = f.rename(columns={"finding_column": "ledger_column"})
    return f[[c for c in _FINDING_HEADERS.values() if c in f.columns]]


# --------------------------------------------------------------------------- the meeting


@dataclass(frozen=True)
class ProgressMeeting:
    """
    The progress of a ledger's projects on a meeting day, with the meeting's tables.

    Made by `progress_meeting`; `write_progress_meeting` writes its map and workbook.

    Attributes
    ----------
    ledger
        The `Ledger` read.
    as_of
        The meeting day, as text (``"2026-11-20"``).
    lang
        Language of the labels, tables and texts.
    progress
        `project_progress` of the ledger on `as_of`.
    tables
        `progress_tables`: sheet name -> table.
    changes
        `compare_ledgers` against the previous ledger, or None.
    schedule
        `compare_schedule` with the given durations, or None.
    """

    ledger: Ledger
    as_of: str
    lang: str
    progress: pd.DataFrame = field(repr=False)
    tables: dict[str, pd.DataFrame] = field(repr=False)
    changes: pd.DataFrame | None = field(default=None, repr=False)
    schedule: pd.DataFrame | None = field(default=None, repr=False)

    def summary_text(self) -> str:
        """
        Return the meeting in a few lines: projects per type and stage, and the overdue ones.

        Returns
        -------
        text
            The summary per project type, the count of projects and overdue ones, one line
            per overdue project and, with a previous ledger, how many projects changed.
        """
        from geo_renewal.tables import format_table

        progress = self.progress
        summary = progress_summary(progress, by="project_type")
        lines = [format_table(summary, lang=self.lang).rstrip("\n")]
        n_over = int(progress["overdue"].sum())
        lines.append(f"{len(progress)} projects on {self.as_of}, {n_over} overdue")
        lines += [
            f"  overdue: {r.project_id} {r.name or ''} — {r.stage_label}, "
            f"{r.days_behind:.0f} days behind ({r.responsible_unit or '—'})"
            for r in progress[progress["overdue"]].itertuples()
        ]
        if self.changes is not None:
            lines.append(f"{len(self.changes)} projects changed since the previous ledger")
        return "\n".join(lines)

    def problems_text(self, *, limit: int = 10) -> str:
        """
        Return the ledger's problems in a few lines, or ``""`` when it has none.

        Parameters
        ----------
        limit
            Print at most this many error messages.

        Returns
        -------
        text
            The count of errors and warnings, the sheet that lists them, and the first
            `limit` error messages.
        """
        findings = self.ledger.findings
        if not len(findings):
            return ""
        errors = findings[findings["severity"] == "error"]
        n_warn = int((findings["severity"] == "warning").sum())
        sheet = next(k for k in self.tables if k in MEETING_TEXT["progress.sheet.ledger_problems"])
        lines = [f"ledger problems: {len(errors)} errors, {n_warn} warnings (sheet '{sheet}')"]
        lines += [f"  error: {msg}" for msg in errors["message"].head(limit)]
        return "\n".join(lines)


def _meeting_day(as_of: Any) -> str:
    if as_of is None or (isinstance(as_of, str) and not as_of):
        return dt.date.today().isoformat()
    if isinstance(as_of, str):
        return as_of
    return _as_timestamp(as_of, "as_of").date().isoformat()


def progress_meeting(
    ledger: Ledger | str | Path | pd.DataFrame,
    *,
    projects: gpd.GeoDataFrame | str | Path | None = None,
    projects_layer: str | None = None,
    sheet: str | int | None = None,
    as_of: Any = None,
    previous: Ledger | str | Path | pd.DataFrame | None = None,
    previous_as_of: Any = None,
    durations: Mapping[str, Any] | None = None,
    lang: str | None = None,
    header_row: int | Sequence[int] | None = None,
) -> ProgressMeeting:
    """
    Prepare a progress meeting (挂图作战): read the ledger, its progress and the tables.

    What ``geo-renewal progress`` computes: the ledger joined to the project polygons,
    every project's progress on `as_of`, what changed since the `previous` ledger, the
    backward schedule when `durations` are given, and the meeting's tables.

    Parameters
    ----------
    ledger
        A `Ledger`, or a ledger file (CSV / XLSX) or DataFrame to read with `read_ledger`.
    projects
        Project polygons (GeoDataFrame or file) joined to a ledger that is read.
    projects_layer
        Layer of the `projects` file.
    sheet
        Sheet of an XLSX ledger (also used for `previous`).
    as_of
        The meeting day (``"2026-11-20"``, a date or Timestamp); defaults to today.
    previous
        Last meeting's ledger (a `Ledger` or a file): adds `ProgressMeeting.changes`.
    previous_as_of
        The day `previous` is assessed at; defaults to `as_of`.
    durations
        Stage -> days (or type -> stage -> days), in stage order: adds the backward
        schedule (`compare_schedule`).
    lang
        Language of labels and tables; defaults to `settings.lang`.
    header_row
        The header row(s) of a ledger file, as for `read_ledger` (found by default; also
        used for `previous`).

    Returns
    -------
    meeting
        A `ProgressMeeting`.

    Raises
    ------
    InputError, SchemaError
        As `read_ledger`, `project_progress`, `compare_ledgers` and `compare_schedule` do.

    See Also
    --------
    write_progress_meeting : Write the meeting's map and workbook.

    Examples
    --------
    >>> raw = pd.DataFrame({"project_id": ["A", "B"], "project_type": ["demolish"] * 2,
    ...     "name": ["东关", "西关"], "responsible_unit": ["区住建局", None],
    ...     "signing_planned": ["2024-03-01", "2024-09-01"]})
    >>> meeting = progress_meeting(raw, as_of="2024-06-01", lang="en")
    >>> list(meeting.tables)
    ['Progress', 'By street', 'By type', 'Ledger problems']
    >>> print(meeting.summary_text().splitlines()[-2])
    2 projects on 2024-06-01, 1 overdue
    """
    lang = check_lang(lang)
    day = _meeting_day(as_of)
    book = (
        ledger
        if isinstance(ledger, Ledger)
        else read_ledger(
            ledger,
            projects=projects,
            projects_layer=projects_layer,
            sheet=sheet,
            header_row=header_row,
        )
    )
    progress = project_progress(book, as_of=day, lang=lang)
    changes = None
    if previous is not None:
        old = (
            previous
            if isinstance(previous, Ledger)
            else read_ledger(previous, sheet=sheet, header_row=header_row)
        )
        old_day = day if previous_as_of is None or previous_as_of == "" else previous_as_of
        changes = compare_ledgers(old, book, as_of=day, old_as_of=old_day, lang=lang)
    schedule = compare_schedule(book, durations, as_of=day, lang=lang) if durations else None
    tables = progress_tables(
        progress, findings=book.findings, changes=changes, schedule=schedule, lang=lang
    )
    return ProgressMeeting(
        ledger=book,
        as_of=day,
        lang=lang,
        progress=progress,
        tables=tables,
        changes=changes,
        schedule=schedule,
    )


def write_progress_meeting(
    meeting: ProgressMeeting,
    out: str | Path,
    *,
    xlsx: str | Path | None = None,
    tiles: str | None = None,
    offline: bool = True,
    title: str | None = None,
) -> tuple[Path, Path]:
    """
    Write a progress meeting's map (projects coloured by stage) and its workbook.

    Parameters
    ----------
    meeting
        Output of `progress_meeting`, with project polygons.
    out
        HTML map to write.
    xlsx
        Workbook of the meeting's tables; defaults to `out` with the suffix ``.xlsx``.
    tiles
        Base map (as for `geo_renewal.maps.renewal_map`); default ``"none"``: the map
        opens without network. An online base map is logged as a warning naming the file.
    offline
        Embed every script (default): one file that opens without network. False loads
        Leaflet from its CDN.
    title
        Map title; defaults to 项目进度 <as_of> (Project progress <as_of>).

    Returns
    -------
    map_path, xlsx_path
        The two files written.

    Raises
    ------
    InputError
        If the ledger was read without project polygons.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> meeting = progress_meeting(gr.datasets.get_path("sample_ledger"), as_of="2026-11-20",
    ...     projects=gr.datasets.get_path("sample_district"), projects_layer="projects")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = write_progress_meeting(meeting, Path(tmp) / "progress.html", tiles="none")
    ...     [p.name for p in paths]
    ['progress.html', 'progress.xlsx']
    """
    from geo_renewal.maps import renewal_map, save_map
    from geo_renewal.tables import write_tables

    progress = meeting.progress
    if "geometry" not in progress.columns:
        msg = (
            "the meeting's ledger has no project polygons to draw; pass `projects=` to "
            "progress_meeting (or read_ledger)."
        )
        raise InputError(msg)
    tiles = tiles or "none"
    drawn = progress[progress["has_polygon"]] if "has_polygon" in progress else progress
    drawn = drawn.drop(columns=[c for c in _MAP_INTERNAL if c in drawn.columns])
    title = title or say("progress.map_title", meeting.lang, as_of=meeting.as_of)
    m = renewal_map(None, projects=drawn, tiles=tiles, lang=meeting.lang, title=title)
    map_path = save_map(m, out, offline=offline)
    xlsx_path = Path(xlsx) if xlsx else Path(out).with_suffix(".xlsx")
    write_tables(meeting.tables, xlsx_path, lang=meeting.lang)
    return map_path, xlsx_path
