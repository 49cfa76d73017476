"""
The weekly meeting from the ledger store: 督办, meeting decisions, 考核 and household signing.

`weekly_meeting(store, as_of)` gathers, for one snapshot of a `LedgerStore`, everything the
weekly meeting reads: the coloured tasks per unit and person, the open and newly closed
meeting decisions, the scores of streets and units with their change since the last
snapshot, the signing forecasts, the 清零 lists and the reconciliation of the ledger with
the households; `WeeklyMeeting.tables` are its workbook sheets and `weekly_section` its
part of the meeting report. The project file's ``[weekly]`` section (`weekly_section_of`)
and the workflow step (`geo_renewal._weekly_run.weekly_step`) run it from ``plan.toml``. See
``docs/guide/weekly.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal._checks import check_lang
from geo_renewal._errors import InputError
from geo_renewal._html import escape
from geo_renewal.text import say

if TYPE_CHECKING:
    from geo_renewal.ledger import Ledger
    from geo_renewal.store import LedgerStore

__all__ = [
    "WeeklyMeeting",
    "WeeklySpec",
    "weekly_meeting",
    "weekly_section",
    "weekly_section_of",
    "write_weekly_meeting",
]

_KEYS = {"store", "weeks", "due_within_days", "behind_points", "assessment", "window_days"}


@dataclass(frozen=True)
class WeeklySpec:
    """
    The ``[weekly]`` section of a project file (see `weekly_section_of`).

    Attributes
    ----------
    store
        The ledger store (GeoPackage) whose snapshot the run uses; None with `weeks`.
    weeks
        A folder of weekly folders (``2026-11-20/`` …) the run imports into a new store of
        its own (`import_weeks`), written with its outputs as ``renewal.gpkg``; or None.
    projects
        The project polygons of the file's ``[layers.projects]`` (path, layer), imported
        with `weeks` so the playback map can draw them.
    due_within_days, behind_points
        The 督办 thresholds (`geo_renewal.supervision.supervise_tasks`).
    assessment
        The 考核 parameter file, or None for the bundled placeholders.
    window_days
        Days of the recent signing pace (`geo_renewal.households.signing_forecast`).
    """

    store: Path | None
    due_within_days: int = 7
    behind_points: float = 10.0
    assessment: Path | None = None
    window_days: int = 28
    weeks: Path | None = None
    projects: tuple[Path, str | None] | None = None


@dataclass
class WeeklyMeeting:
    """
    What the weekly meeting reads, for one snapshot of the store.

    Attributes
    ----------
    as_of, last_meeting
        The snapshot's day and the one before (None for the first).
    ledger, progress
        The snapshot's `Ledger` and its `project_progress`.
    tasks, supervised
        The tasks (the store's task table, else the ledger's stages) and their 督办 colours.
    by_unit, by_person
        Colour counts per responsible unit and person.
    decisions_open, decisions_closed
        The meeting decisions still open and those closed since the last meeting.
    assessment_street, assessment_unit
        考核 per street and per responsible unit.
    forecast, clearance, reconciliation, findings
        Signing forecasts, the 清零 list, the ledger against the households and the
        findings of the reconciliation.
    caveats
        Sentences a reader must know (placeholder weights, no household table).
    critical, critical_summary
        The tasks on each project's critical path (`geo_renewal.tasks.critical_path_table`,
        scheduled back from the ledger's 目标日期 on the snapshot's day) and one line per
        project: the path, its 总时差 and the earliest finish at the current state.
    """

    as_of: dt.date
    last_meeting: dt.date | None
    ledger: Ledger
    progress: pd.DataFrame
    tasks: pd.DataFrame
    supervised: pd.DataFrame
    by_unit: pd.DataFrame
    by_person: pd.DataFrame
    decisions_open: pd.DataFrame
    decisions_closed: pd.DataFrame
    assessment_street: pd.DataFrame
    assessment_unit: pd.DataFrame
    forecast: pd.DataFrame
    clearance: pd.DataFrame
    reconciliation: pd.DataFrame
    findings: pd.DataFrame
    caveats: list[str] = field(default_factory=list)
    due_within_days: int = 7
    critical: pd.DataFrame = field(default_factory=pd.DataFrame)
    critical_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    store_path: Path | None = None
    built_from: Path | None = None

    def summary(self, lang: str | None = None) -> str:
        """
        Return one line: the snapshot, the 督办 colours, open decisions, lost targets.

        Parameters
        ----------
        lang
            Language of the line.

        Returns
        -------
        line
            E.g. ``周例会（台账库 2026-11-20，7 个项目）：红 6、黄 2、蓝 1 项；未办结事项 4 项；…``.
        """
        lang = check_lang(lang)
        sup = self.supervised
        n = {
            c: int((sup["colour"] == c).sum()) if len(sup) else 0
            for c in ("red", "yellow", "blue")
        }
        cs = self.critical_summary
        lost = int((cs["float_days"] < 0).sum()) if len(cs) else 0
        return say(
            "weekly.summary",
            lang,
            day=self.as_of.isoformat(),
            n=len(self.progress),
            n_open=len(self.decisions_open),
            n_lost=lost,
            **n,
        )

    def tables(self, lang: str | None = None) -> dict[str, pd.DataFrame]:
        """
        Return the meeting's workbook sheets: 督办, decisions, 考核, signing, 清零, 核对.

        Parameters
        ----------
        lang
            Language of the sheet names.

        Returns
        -------
        sheets
            Sheet name -> table, in reading order (one 督办单 per unit).
        """
        from geo_renewal.supervision import supervision_sheets

        lang = check_lang(lang)
        out = {say("weekly.sheet.supervision", lang): self.by_unit}
        out.update(supervision_sheets(self.supervised, lang=lang))
        if len(self.critical):
            out[say("weekly.sheet.critical_path", lang)] = self.critical
        out[say("weekly.sheet.decisions_open", lang)] = _decision_cols(self.decisions_open)
        out[say("weekly.sheet.decisions_closed", lang)] = _decision_cols(self.decisions_closed)
        out[say("weekly.sheet.assessment_street", lang)] = self.assessment_street
        out[say("weekly.sheet.assessment_unit", lang)] = self.assessment_unit
        if len(self.forecast):
            out[say("weekly.sheet.households", lang)] = self.forecast
            out[say("weekly.sheet.clearance", lang)] = self.clearance
            out[say("weekly.sheet.reconcile", lang)] = self.reconciliation
        return {k[:31]: _whole(v) for k, v in out.items()}


#: Columns of the weekly sheets and the report's weekly section that count whole days, ranks
#: or households: a planner reads 最长逾期 3 天 and 名次变化 +1, not "3.00". A column is made
#: integer only when every value in it is whole: 考核's ``days_overdue`` is a mean (185.83
#: days) and keeps its fraction.
_WHOLE_COLUMNS = (
    "max_days_overdue",  # 督办汇总: the longest overdue red task of a unit
    "days_overdue",  # 督办单, 例会事项 (whole days); 考核 (a mean: left as it is)
    "days_left",  # 督办单
    "duration_days",  # 关键路径
    "float_days",  # 关键路径: 总时差
    "plan_slack_days",  # 关键路径
    "rank",  # 考核 (already Int64)
    "rank_change",  # 考核: 名次变化
    "ledger_households",  # 台账与户档核对
    "table_households",
    "ledger_signed",
    "table_signed",
    "signed_difference",
)


def _whole(df: pd.DataFrame) -> pd.DataFrame:
    """Return `df` with its whole-number columns as integers (missing stays missing)."""
    cols = [c for c in _WHOLE_COLUMNS if c in df.columns and _is_whole(df[c])]
    if not cols:
        return df
    out = df.copy()
    for c in cols:
        out[c] = out[c].astype("Int64")
    out.attrs = dict(df.attrs)
    return out


def _is_whole(values: pd.Series) -> bool:
    """Return whether a float column holds only whole numbers (or nothing) and no infinity."""
    if not pd.api.types.is_float_dtype(values):
        return False
    known = values.dropna().to_numpy()
    return bool(np.isfinite(known).all() and (known == np.round(known)).all())


def _decision_cols(d: pd.DataFrame) -> pd.DataFrame:
    cols = ["decision_id", "meeting_date", "item", "project_id", "responsible_unit"]
    cols += ["responsible_person", "due_date", "days_overdue", "closed_date", "note"]
    return d[[c for c in cols if c in d.columns]].reset_index(drop=True)


def weekly_meeting(
    store: LedgerStore | str | Path,
    as_of: Any = None,
    *,
    due_within_days: int = 7,
    behind_points: float = 10.0,
    assessment_params: str | Path | None = None,
    window_days: int = 28,
    lang: str | None = None,
) -> WeeklyMeeting:
    """
    Gather the weekly meeting of one snapshot of the store.

    Parameters
    ----------
    store
        A `LedgerStore` or its file.
    as_of
        The snapshot's day; the latest by default.
    due_within_days, behind_points
        The 督办 thresholds (`geo_renewal.supervision.supervise_tasks`).
    assessment_params
        A 考核 TOML file; the bundled placeholders by default (the caveats say so).
    window_days
        Days of the recent signing pace.
    lang
        Language of labels and notes.

    Returns
    -------
    meeting
        A `WeeklyMeeting`.

    Examples
    --------
    >>> import tempfile
    >>> raw = pd.DataFrame({"项目编号": ["A"], "类型": ["征收拆迁"], "街道": ["东关"],
    ...     "责任单位": ["征收中心"], "户数": [10], "已签约户数": [4],
    ...     "签约计划日期": ["2026-11-15"]})
    >>> store = gr.LedgerStore(Path(tempfile.mkdtemp()) / "renewal.gpkg")
    >>> _ = store.import_snapshot([raw], as_of="2026-11-20")
    >>> m = weekly_meeting(store, lang="en")
    >>> m.supervised[["project_id", "task_id", "colour", "days_overdue"]].to_dict("records")
    [{'project_id': 'A', 'task_id': 'signing', 'colour': 'red', 'days_overdue': 5.0}]
    >>> round(float(m.assessment_street["score"].iloc[0]), 1)
    37.9
    """
    from geo_renewal.store import LedgerStore

    lang = check_lang(lang)
    s = store if isinstance(store, LedgerStore) else LedgerStore(store)
    day = s._resolve(as_of)
    last = s.previous(day)
    thresholds = {"due_within_days": due_within_days, "behind_points": behind_points}
    now = _snapshot_parts(s, day, thresholds, assessment_params, lang)
    prev = _snapshot_parts(s, last, thresholds, assessment_params, lang) if last else None
    return _assemble(s, day, last, now, prev, window_days, lang, due_within_days)


def _snapshot_parts(
    s: LedgerStore,
    day: dt.date,
    thresholds: dict[str, Any],
    params: str | Path | None,
    lang: str,
) -> dict[str, Any]:
    """Progress, tasks, 督办 and 考核 of one snapshot (for this meeting and the last)."""
    from geo_renewal.assessment import assess_performance
    from geo_renewal.progress import project_progress
    from geo_renewal.supervision import supervise_tasks
    from geo_renewal.tasks import ledger_tasks

    ledger = s.snapshot(day)
    progress = project_progress(ledger, as_of=day, lang=lang)
    tasks = s.tasks(day)
    if tasks.empty:
        tasks = ledger_tasks(ledger)
    supervised = supervise_tasks(tasks, as_of=day, **thresholds)
    decisions = s.decisions(day)
    kw = {"as_of": day, "tasks": tasks, "supervised": supervised, "params": params}
    kw["decisions"] = decisions if len(decisions) else None
    plain = pd.DataFrame(progress.drop(columns="geometry", errors="ignore"))
    return {
        "ledger": ledger,
        "progress": progress,
        "tasks": tasks,
        "supervised": supervised,
        "decisions": decisions,
        "street": assess_performance(plain, by="street", **kw),
        "unit": assess_performance(plain, by="responsible_unit", **kw),
    }


def _assemble(
    s: LedgerStore,
    day: dt.date,
    last: dt.date | None,
    now: dict[str, Any],
    prev: dict[str, Any] | None,
    window_days: int,
    lang: str,
    due_within_days: int,
) -> WeeklyMeeting:
    from geo_renewal.households import clearance_list, reconcile_households, signing_forecast
    from geo_renewal.supervision import decision_status, supervision_summary

    street, unit = now["street"], now["unit"]
    if prev is not None:  # the change since the last snapshot
        street = _with_change(street, prev["street"], "street")
        unit = _with_change(unit, prev["unit"], "responsible_unit")
    caveats = []
    if street.attrs.get("placeholder"):
        caveats.append(say("weekly.caveat.assessment_placeholder", lang))
    d = now["decisions"]
    status = (
        decision_status(d, as_of=day, last_meeting=last)
        if len(d)
        else {"open": pd.DataFrame(), "closed_since": pd.DataFrame()}
    )
    hh = s.households(day)
    if len(hh):
        forecast = signing_forecast(hh, as_of=day, window_days=window_days, lang=lang)
        clearance = clearance_list(hh)
        reconciliation, findings = reconcile_households(now["ledger"], hh)
    else:
        forecast = clearance = reconciliation = pd.DataFrame()
        findings = pd.DataFrame()
    sup = now["supervised"]
    critical, summary, missing = _critical(
        _signing_expected(now["tasks"], forecast), now["ledger"], day
    )
    if missing:
        caveats.append(say("weekly.caveat.no_target", lang, ids="、".join(missing)))
    return WeeklyMeeting(
        as_of=day,
        last_meeting=last,
        ledger=now["ledger"],
        progress=now["progress"],
        tasks=now["tasks"],
        supervised=sup,
        by_unit=supervision_summary(sup) if len(sup) else pd.DataFrame(),
        by_person=supervision_summary(sup, by="responsible_person")
        if len(sup)
        else pd.DataFrame(),
        decisions_open=status["open"],
        decisions_closed=status["closed_since"],
        assessment_street=street,
        assessment_unit=unit,
        forecast=forecast,
        clearance=clearance,
        reconciliation=reconciliation,
        findings=findings,
        caveats=caveats,
        due_within_days=due_within_days,
        critical=critical,
        critical_summary=summary,
    )


def _signing_expected(tasks: pd.DataFrame, forecast: pd.DataFrame) -> pd.DataFrame:
    """
    Give each project's 签约 task the forecast finish of its signing (一户一档's recent pace).

    The critical path then agrees with the 签约预测 sheet: signing ends when the households
    say it will, not when the task's percentage would have it.
    """
    if tasks.empty or forecast is None or not len(forecast) or "forecast_date" not in forecast:
        return tasks
    when = forecast.set_index("project_id")["forecast_date"]
    when = when[~when.index.duplicated()]
    signing = tasks["task"].astype(str).eq("签约") | tasks["task_id"].astype(str).eq("signing")
    out = tasks.copy()
    out["expected_finish"] = pd.to_datetime(out["project_id"].map(when).where(signing))
    return out


def _critical(
    tasks: pd.DataFrame, ledger: Ledger, day: dt.date
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """
    Return the critical-path table, its summary per project and the projects without a target.

    Tasks are scheduled back from each project's 目标日期 as of the snapshot's day (finished
    tasks keep their actual finish, the others start no earlier than the day), so a negative
    总时差 says the target is lost at the current state. A project without a 目标日期 has no
    critical path; it is named in a caveat, not left out silently.
    """
    from geo_renewal.tasks import critical_path, critical_path_table, task_schedule

    empty = pd.DataFrame()
    table = pd.DataFrame(ledger.table)
    if tasks.empty or "target_date" not in table.columns:
        return empty, empty, []
    targets = table.set_index("project_id")["target_date"]
    targets = targets[~targets.index.duplicated()]
    has = targets.dropna()
    ids = pd.unique(tasks["project_id"])
    missing = [str(p) for p in ids if p not in has.index]
    finished = pd.to_datetime(tasks["actual_finish"]) <= pd.Timestamp(day)
    open_ids = set(tasks.loc[~finished.fillna(False).to_numpy(), "project_id"])
    missing = [p for p in missing if p in {str(i) for i in open_ids}]
    # a project whose every task is finished has no path left to keep
    own = tasks[tasks["project_id"].isin(has.index) & tasks["project_id"].isin(open_ids)]
    if own.empty:
        return empty, empty, missing
    schedule = task_schedule(own, has, as_of=day)
    critical = critical_path_table(schedule, has)
    paths = critical_path(schedule)
    by = critical.groupby("project_id", sort=False)
    summary = pd.DataFrame(
        {
            "project_id": list(by.groups),
            "critical_path": [paths.get(p, "") for p in by.groups],
            "float_days": by["float_days"].min().to_numpy(),
            "early_finish": by["early_finish"].max().to_numpy(),
            "target_date": by["target_date"].first().to_numpy(),
        }
    )
    return (
        critical,
        summary.sort_values("float_days", kind="stable").reset_index(drop=True),
        missing,
    )


def _with_change(now: pd.DataFrame, prev: pd.DataFrame, by: str) -> pd.DataFrame:
    out = now.copy()
    p = prev.set_index(by)
    out["score_change"] = out["score"] - out[by].map(p["score"])
    out["rank_change"] = out[by].map(p["rank"]).astype(float) - out["rank"].astype(float)
    out.attrs = dict(now.attrs)
    return out


# --------------------------------------------------------------------------- report


def weekly_section(meeting: WeeklyMeeting | None, lang: str | None = None) -> str:
    """
    Return the weekly meeting's part of the HTML report ("" without a meeting).

    Parameters
    ----------
    meeting
        A `WeeklyMeeting`, or None.
    lang
        Language of the texts.

    Returns
    -------
    html
        Sections: 督办 counts and the red tasks, meeting decisions, the 考核 ranking and
        the signing forecasts.
    """
    from geo_renewal.tables import format_table

    if meeting is None:
        return ""
    lang = check_lang(lang)

    def table(df: pd.DataFrame, cols: list[str]) -> str:
        if df is None or df.empty:
            return ""
        keep = [c for c in cols if c in df.columns]
        whole = _whole(df[keep].reset_index(drop=True))  # 3, not 3.00
        html = format_table(whole, lang=lang, style="html", index=False)
        return f'<div class="scroll">{html}</div>'

    sup = meeting.supervised
    n = {c: int((sup["colour"] == c).sum()) if len(sup) else 0 for c in ("red", "yellow", "blue")}
    parts = [
        _section(
            say("weekly.report.supervision", lang),
            _scope(meeting, lang)
            + say("weekly.report.supervision_counts", lang, days=meeting.due_within_days, **n),
            table(
                sup,
                [
                    "colour_label",
                    "project_id",
                    "task",
                    "responsible_unit",
                    "responsible_person",
                    "planned_finish",
                    "days_overdue",
                    "behind_points",
                ],
            ),
        )
    ]
    n_late = int((meeting.decisions_open.get("days_overdue", pd.Series(dtype=float)) > 0).sum())
    parts.append(
        _section(
            say("weekly.report.decisions", lang),
            say(
                "weekly.report.decisions_counts",
                lang,
                n_open=len(meeting.decisions_open),
                n_late=n_late,
                n_closed=len(meeting.decisions_closed),
            ),
            table(
                _decision_cols(meeting.decisions_open),
                list(_decision_cols(meeting.decisions_open)),
            )
            + table(
                _decision_cols(meeting.decisions_closed),
                ["decision_id", "item", "responsible_unit", "closed_date"],
            ),
        )
    )
    cols = [
        "street",
        "responsible_unit",
        "score",
        "rank",
        "score_change",
        "rank_change",
        "on_time_share",
        "signing_share",
        "decision_closure_rate",
        "days_overdue",
    ]
    caveat = "".join(f'<p class="bad">{escape(c)}</p>' for c in meeting.caveats)
    parts.append(
        _section(
            say("weekly.report.assessment", lang),
            None,
            caveat + table(meeting.assessment_street, cols) + table(meeting.assessment_unit, cols),
        )
    )
    if len(meeting.critical_summary):
        cs = meeting.critical_summary
        n_lost = int((cs["float_days"] < 0).sum())
        parts.append(
            _section(
                say("weekly.report.critical", lang),
                say("weekly.report.critical_counts", lang, n=len(cs), n_lost=n_lost),
                table(cs, list(cs.columns)),
            )
        )
    if len(meeting.forecast):
        fcols = [
            "project_id",
            "households",
            "signed",
            "remaining",
            "pace_per_week",
            "forecast_date",
            "forecast_earliest",
            "forecast_latest",
            "note",
        ]
        bad = "".join(f'<p class="bad">{escape(m)}</p>' for m in _finding_texts(meeting, lang))
        parts.append(
            _section(
                say("weekly.report.households", lang), None, bad + table(meeting.forecast, fcols)
            )
        )
    return "".join(parts)


def _scope(meeting: WeeklyMeeting, lang: str) -> str:
    """Say which snapshot, streets and how many projects the weekly sections are of."""
    prog = meeting.progress
    streets = prog["street"].dropna().astype(str).unique().tolist() if "street" in prog else []
    sep = say("progress.list_separator", lang)
    return say(
        "weekly.report.scope",
        lang,
        day=meeting.as_of.isoformat(),
        streets=sep.join(streets) or "—",
        n=len(prog),
    )


def _finding_texts(meeting: WeeklyMeeting, lang: str) -> list[str]:
    """Return the household findings as sentences in `lang` (`tables.findings_table`)."""
    from geo_renewal.tables import findings_table

    f = meeting.findings
    if f is None or not len(f):
        return []
    if lang == "en":
        return [str(m) for m in f["message"]]
    return [str(m) for m in findings_table(f, lang=lang)["finding_message"]]


def _section(title: str, lead: str | None, body: str) -> str:
    p = f"<p>{escape(lead)}</p>" if lead else ""
    return f"<section><h2>{escape(title)}</h2>{p}{body}</section>"


def write_weekly_meeting(
    meeting: WeeklyMeeting,
    out_dir: str | Path,
    *,
    lang: str | None = None,
    office: str | None = None,
) -> dict[str, Path]:
    """
    Write the weekly meeting's workbook (``weekly.xlsx``) and page (``weekly.html``).

    Parameters
    ----------
    meeting
        A `WeeklyMeeting`.
    out_dir
        The folder (created when missing).
    lang
        Language of the outputs.
    office
        制表单位 for the workbook's title rows.

    Returns
    -------
    files
        ``"workbook"`` and ``"page"`` -> paths written.
    """
    from geo_renewal._folium import runtime_css
    from geo_renewal.io import atomic_write
    from geo_renewal.tables import caveat_sheet, write_tables

    lang = check_lang(lang)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sheets = {**caveat_sheet(meeting.caveats, lang=lang), **meeting.tables(lang)}
    book = write_tables(sheets, out / "weekly.xlsx", lang=lang, office=office, as_of=meeting.as_of)
    title = say("weekly.report.supervision", lang)
    html_lang = {"zh": "zh-CN", "en": "en"}[lang]
    page = (
        f'<!DOCTYPE html><html lang="{html_lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width"><title>{escape(title)}</title>'
        f"<style>{runtime_css()}body{{font-family:sans-serif;margin:1.5em;max-width:1100px}}"
        ".bad{color:#b00020}.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>"
        f"<h1>{escape(meeting.as_of.isoformat())}</h1>{weekly_section(meeting, lang)}</body></html>"
    )
    path = out / "weekly.html"
    with atomic_write(path) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    return {"workbook": book, "page": path}


# --------------------------------------------------------------------------- project file


def weekly_section_of(doc: dict[str, Any], base: Path, path: Path) -> WeeklySpec | None:
    """
    Check the ``[weekly]`` section of a project file (None when there is none).

    Keys: ``store`` (the ledger store, relative to the project file; here or as
    ``[ledger] store``) or ``weeks`` (a folder of weekly folders: the run imports them into
    a store of its own, `import_weeks`, and writes it with its outputs),
    ``due_within_days`` (7), ``behind_points`` (10), ``assessment`` (a 考核 TOML file) and
    ``window_days`` (28).

    Parameters
    ----------
    doc
        The whole project file.
    base
        Its folder.
    path
        The file, for messages.

    Returns
    -------
    spec
        A `WeeklySpec`, or None.

    Raises
    ------
    InputError
        Naming the key at fault and the fix.

    Examples
    --------
    >>> weekly_section_of({}, Path("."), Path("plan.toml")) is None
    True
    """
    from geo_renewal._checks import did_you_mean

    sec = doc.get("weekly")
    in_ledger = doc.get("ledger", {}).get("store") if isinstance(doc.get("ledger"), dict) else None
    if sec is None and in_ledger is None:
        return None
    where = f"{path}: [weekly]"
    if sec is None:
        sec = {}
    if not isinstance(sec, dict):
        msg = f"{where} must be a table; write it as [weekly]."
        raise InputError(msg)
    if in_ledger is not None and "store" not in sec:
        sec = {**sec, "store": in_ledger}
        where = f"{path}: [ledger]"
    for k in sec:
        if k not in _KEYS:
            msg = f"{where} `{k}` is not a key; {did_you_mean(k, _KEYS)}valid keys: {', '.join(sorted(_KEYS))}."
            raise InputError(msg)
    store, weeks = _store_or_weeks(sec, where, base)
    assessment = sec.get("assessment")
    if assessment is not None:
        a = Path(assessment)
        assessment = a if a.is_absolute() else base / a
        if not assessment.exists():
            msg = f"{where} `assessment` names {assessment}, which does not exist; fix the path."
            raise InputError(msg)
    return WeeklySpec(
        store=store,
        due_within_days=int(_num(sec, "due_within_days", 7, where, 0, 365)),
        behind_points=_num(sec, "behind_points", 10.0, where, 0, 100),
        assessment=assessment,
        window_days=int(_num(sec, "window_days", 28, where, 7, 365)),
        weeks=weeks,
        projects=_projects_layer(doc, base) if weeks is not None else None,
    )


def _store_or_weeks(
    sec: dict[str, Any], where: str, base: Path
) -> tuple[Path | None, Path | None]:
    """Return the existing store, or the folder of weeks the run builds its own store from."""
    if "store" in sec and "weeks" in sec:
        msg = (
            f"{where} has both `store` and `weeks`; give `store` (the office's ledger store) "
            f"or `weeks` (a folder of weekly folders the run imports into a store of its own)."
        )
        raise InputError(msg)
    if isinstance(sec.get("weeks"), str):
        weeks = Path(sec["weeks"])
        weeks = weeks if weeks.is_absolute() else base / weeks
        if not weeks.is_dir():
            msg = (
                f"{where} `weeks` names {weeks}, which is not a folder; give the folder holding "
                f"one folder per meeting day (2026-11-20/ …)."
            )
            raise InputError(msg)
        return None, weeks.resolve()
    if not isinstance(sec.get("store"), str):
        msg = (
            f'{where} needs `store`, the ledger store file (e.g. store = "renewal.gpkg"), or '
            f'`weeks`, a folder of weekly folders (e.g. weeks = "weekly").'
        )
        raise InputError(msg)
    store = Path(sec["store"])
    store = store if store.is_absolute() else base / store
    if not store.exists():
        msg = (
            f"{where} `store` names {store}, which does not exist; import the week's ledgers "
            f"first with `geo-renewal ledger import … --store {sec['store']}`."
        )
        raise InputError(msg)
    return store.resolve(), None


def _projects_layer(doc: dict[str, Any], base: Path) -> tuple[Path, str | None] | None:
    """Return the file's ``[layers.projects]`` (path, layer), or None (checked by `plan`)."""
    layer = doc.get("layers", {}).get("projects") if isinstance(doc.get("layers"), dict) else None
    if isinstance(layer, str):
        layer = {"path": layer}
    if not isinstance(layer, dict) or not isinstance(layer.get("path"), str):
        return None
    p = Path(layer["path"])
    name = layer.get("layer")
    return (p if p.is_absolute() else base / p), (name if isinstance(name, str) else None)


def _num(sec: dict[str, Any], key: str, default: float, where: str, lo: float, hi: float) -> float:
    v = sec.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
        msg = f"{where} `{key}` must be a number from {lo:g} to {hi:g}, got {v!r}; fix it."
        raise InputError(msg)
    return float(v)
