"""
The weekly cycle in a run: a store built from a folder of weeks, the step, its files.

`import_weeks` adds every week of a folder of weekly folders (``2026-11-20/`` holding the
streets' ledgers, the task table, the household table and the meeting decisions; each
file's role is read from its name) to a `LedgerStore`. A project file's ``[weekly]``
section names the office's store (``store``) or such a folder (``weeks``): then the run
imports the weeks into a store of its own and writes it with its outputs. `weekly_step`
(the workflow step) gathers the meeting of the snapshot on or before the plan's day and
checks it against the run's ledger file project by project (a difference is a caveat,
never two silent truths); `write_weekly_outputs` writes the playback map and the store.
"""

from __future__ import annotations

import atexit
import datetime as dt
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from geo_renewal._errors import InputError
from geo_renewal.text import say
from geo_renewal.weekly import WeeklySpec, weekly_meeting

if TYPE_CHECKING:
    import geopandas as gpd

    from geo_renewal.ledger import Ledger
    from geo_renewal.store import ImportResult, LedgerStore
    from geo_renewal.workflow import RunResult

__all__ = [
    "WEEK_FILE_ROLES",
    "import_weeks",
    "store_ledger",
    "weekly_step",
    "write_weekly_outputs",
]

#: A weekly folder's file role -> words of its file name (the first role that matches wins;
#: a file matching none is a street's ledger).
WEEK_FILE_ROLES: dict[str, tuple[str, ...]] = {
    "tasks": ("任务", "task"),
    "households": ("一户一档", "户档", "household"),
    "decisions": ("例会", "商定事项", "decision"),
}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SUFFIXES = (".xlsx", ".xlsm", ".csv")
#: Output name -> file name of the weekly outputs in the output folder.
WEEKLY_FILES = {"playback_map": "playback.html", "store": "renewal.gpkg"}


def week_files(folder: str | Path) -> dict[str, Any]:
    r"""
    Sort the files of one weekly folder by role: ``ledgers`` (a list) and the other roles.

    Parameters
    ----------
    folder
        One week's folder (``2026-11-20/``).

    Returns
    -------
    files
        ``"ledgers"`` -> the street ledgers (sorted by name); ``"tasks"``, ``"households"``,
        ``"decisions"`` -> one file each, when the folder has it.

    Raises
    ------
    InputError
        If the folder has no ledger, or two files of one role (the message names them).

    Examples
    --------
    >>> import tempfile
    >>> week = Path(tempfile.mkdtemp()) / "2026-11-20"
    >>> week.mkdir()
    >>> for name in ("河畔街道台账.csv", "任务分解.csv", "~$任务分解.xlsx"):
    ...     _ = (week / name).write_text("项目编号\n", encoding="utf-8")
    >>> {k: [p.name for p in v] if k == "ledgers" else v.name
    ...  for k, v in week_files(week).items()}
    {'ledgers': ['河畔街道台账.csv'], 'tasks': '任务分解.csv'}
    """
    folder = Path(folder)
    out: dict[str, Any] = {"ledgers": []}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith(("~$", ".")):
            continue  # Excel's lock files, hidden files
        if path.suffix.lower() not in _SUFFIXES:
            continue
        name = path.stem.lower()
        role = next(
            (r for r, words in WEEK_FILE_ROLES.items() if any(w in name for w in words)), None
        )
        if role is None:
            out["ledgers"].append(path)
        elif role in out:
            msg = (
                f"{folder} has two {role} files, {out[role].name} and {path.name}; keep one "
                f"(a week has one task table, one household table, one list of decisions)."
            )
            raise InputError(msg)
        else:
            out[role] = path
    if not out["ledgers"]:
        msg = (
            f"{folder} has no ledger: a week's folder holds the streets' ledgers (XLSX or CSV) "
            f"with the task, household and decision tables beside them."
        )
        raise InputError(msg)
    return out


def import_weeks(
    store: LedgerStore | str | Path,
    folder: str | Path,
    *,
    projects: gpd.GeoDataFrame | str | Path | None = None,
    projects_layer: str | None = None,
) -> list[ImportResult]:
    r"""
    Import every week of a folder of weekly folders that the store does not have yet.

    Each subfolder named by its meeting day (``2026-10-30/``, ``2026-11-06/`` …) is one
    snapshot, imported oldest first with `LedgerStore.import_snapshot` (one transaction
    each); its files' roles are read from their names (`week_files`). A day the store has
    already is left out; a day before the store's latest is refused by the store.

    Parameters
    ----------
    store
        A `LedgerStore` or its file (created by the first import).
    folder
        The folder of weekly folders.
    projects, projects_layer
        Project polygons imported with each week (for maps and the playback).

    Returns
    -------
    results
        One `ImportResult` per week imported (``result.message`` says what happened).

    Raises
    ------
    InputError
        If the folder has no weekly folder, a subfolder is not named by a day, or a week's
        files cannot be imported (the message names the folder and the file).

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for day, signed in (("2026-11-13", 4), ("2026-11-20", 8)):
    ...     (root / "weeks" / day).mkdir(parents=True)
    ...     _ = (root / "weeks" / day / "台账.csv").write_text(
    ...         f"项目编号,类型,户数,已签约户数\nA,征收拆迁,10,{signed}\n", encoding="utf-8")
    >>> [r.as_of.isoformat() for r in import_weeks(root / "renewal.gpkg", root / "weeks")]
    ['2026-11-13', '2026-11-20']
    >>> import_weeks(root / "renewal.gpkg", root / "weeks")  # nothing new
    []
    """
    from geo_renewal.store import LedgerStore

    s = store if isinstance(store, LedgerStore) else LedgerStore(store)
    have = set(s.dates())
    results = []
    for day, week in _weeks(Path(folder)):
        if day in have:
            continue
        files = week_files(week)
        results.append(
            s.import_snapshot(
                files["ledgers"],
                as_of=day,
                projects=projects,
                projects_layer=projects_layer,
                tasks=files.get("tasks"),
                households=files.get("households"),
                decisions=files.get("decisions"),
            )
        )
    return results


def _weeks(folder: Path) -> list[tuple[dt.date, Path]]:
    if not folder.is_dir():
        msg = f"{folder} is not a folder; give the folder holding one folder per meeting day."
        raise InputError(msg)
    out = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not _DAY.match(sub.name):
            msg = (
                f"{folder} holds {sub.name}/, which is not named by a day; name each week's "
                f"folder by its meeting day (e.g. 2026-11-20) or move it out."
            )
            raise InputError(msg)
        try:
            out.append((dt.date.fromisoformat(sub.name), sub))
        except ValueError:
            msg = (
                f"{folder}/{sub.name} is not a calendar day; rename the folder (e.g. 2026-11-20)."
            )
            raise InputError(msg) from None
    if not out:
        msg = f"{folder} has no weekly folder (2026-11-20/ …); put each week's files in one."
        raise InputError(msg)
    return out


# --------------------------------------------------------------------------- the run's store

#: Stores built for runs in this process: (folder, its files, projects) -> temporary folder
#: (removed when the process ends).
_BUILT: dict[tuple[Any, ...], Path] = {}


def run_store(spec: WeeklySpec) -> Path:
    """
    Return the store a run reads: the office's (``store``), or one built from ``weeks``.

    A store built from a folder of weeks is made once per process for the same files (a
    changed file builds a new one), in a temporary folder; the run copies it to its outputs.

    Parameters
    ----------
    spec
        The project file's ``[weekly]`` section.

    Returns
    -------
    path
        The store's file.
    """
    if spec.weeks is None:
        if spec.store is None:  # pragma: no cover - weekly_section_of requires one
            msg = "the [weekly] section names neither `store` nor `weeks`."
            raise InputError(msg)
        return spec.store
    files = tuple(
        (str(p.relative_to(spec.weeks)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(spec.weeks.rglob("*"))
        if p.is_file()
    )
    key = (str(spec.weeks), files, spec.projects)
    if key not in _BUILT:
        tmp = Path(tempfile.mkdtemp(prefix="geo-renewal-store-"))
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        projects, layer = spec.projects if spec.projects is not None else (None, None)
        try:
            import_weeks(
                tmp / WEEKLY_FILES["store"], spec.weeks, projects=projects, projects_layer=layer
            )
        except Exception:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _BUILT[key] = tmp
    return _BUILT[key] / WEEKLY_FILES["store"]


def store_ledger(spec: WeeklySpec, as_of: dt.date) -> Ledger:
    """
    Return the ledger of the store's snapshot of `as_of` (the latest one on or before it).

    Parameters
    ----------
    spec
        The project file's ``[weekly]`` section.
    as_of
        The meeting day of the project file.

    Returns
    -------
    ledger
        The snapshot's `Ledger`.

    Raises
    ------
    InputError
        If the store has no snapshot on or before `as_of`.
    """
    from geo_renewal.store import LedgerStore

    path = run_store(spec)
    store = LedgerStore(path)
    days = [d for d in store.dates() if d <= as_of]
    if not days:
        where = spec.weeks if spec.weeks is not None else path
        msg = (
            f"the store {where} has no snapshot on or before the project file's as_of "
            f"({as_of}); import that week's ledgers or change [project] as_of."
        )
        raise InputError(msg)
    return store.snapshot(days[-1])


def weekly_step(result: RunResult) -> None:
    """
    Run the weekly meeting of a project file with a ``[weekly]`` section (the workflow step).

    Sets ``result.weekly`` (a `WeeklyMeeting` of the store's snapshot on or before the plan's
    ``as_of``); nothing happens without the section. When the run also read a ledger file,
    every project of the snapshot is checked against it (stage, overdue, days behind,
    signed households): a difference, or a snapshot of another day, is a caveat of the run.

    Parameters
    ----------
    result
        The run so far.
    """
    spec = getattr(result.plan, "weekly", None)
    if spec is None:
        return
    path = run_store(spec)
    ledger = store_ledger(spec, result.plan.as_of)
    day = pd.Timestamp(ledger.source.rsplit("@", 1)[-1].strip()).date() if ledger.source else None
    meeting = weekly_meeting(
        path,
        day,
        due_within_days=spec.due_within_days,
        behind_points=spec.behind_points,
        assessment_params=spec.assessment,
        window_days=spec.window_days,
        lang=result.plan.lang,
    )
    meeting.store_path = path
    meeting.built_from = spec.weeks
    meeting.caveats.extend(_agreement(result, meeting))
    result.weekly = meeting


#: What must agree, per project, between the run's ledger file and the store's snapshot.
_AGREE = ("stage", "overdue", "days_behind", "signed_households")


def _agreement(result: RunResult, meeting: Any) -> list[str]:
    """Return the caveats where the store's snapshot and the run's ledger file disagree."""
    lang = result.plan.lang
    out = []
    if meeting.as_of != result.plan.as_of:
        out.append(
            say("weekly.caveat.other_day", lang, day=meeting.as_of, as_of=result.plan.as_of)
        )
    if result.progress is None or result.plan.ledger is None:
        return out  # the progress map is the store's own snapshot
    a = pd.DataFrame(result.progress).set_index("project_id")
    b = pd.DataFrame(meeting.progress).set_index("project_id")
    common = a.index.intersection(b.index)
    diffs = []
    for pid in common:
        for col in _AGREE:
            x, y = a.at[pid, col] if col in a else None, b.at[pid, col] if col in b else None
            if not _same(x, y):
                diffs.append(f"{pid} {_label(col, lang)} {_shown(x, lang)} / {_shown(y, lang)}")
    if diffs:
        shown = "；".join(diffs[:6]) + (" …" if len(diffs) > 6 else "")
        out.append(
            say("weekly.caveat.disagree", lang, day=meeting.as_of, n=len(diffs), diffs=shown)
        )
    return out


def _same(x: Any, y: Any) -> bool:
    if (x is None or pd.isna(x)) and (y is None or pd.isna(y)):
        return True
    if x is None or y is None or pd.isna(x) or pd.isna(y):
        return False
    if isinstance(x, bool | int | float) and isinstance(y, bool | int | float):
        return abs(float(x) - float(y)) < 1e-9
    return str(x) == str(y)


def _label(col: str, lang: str) -> str:
    from geo_renewal.schema import label

    return label(col, lang)


def _shown(v: Any, lang: str) -> str:
    from geo_renewal.schema import STAGES, label

    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return "—"
    if isinstance(v, str) and v in STAGES:
        return label(v, lang)
    if isinstance(v, bool):
        return say("tables.yes" if v else "tables.no", lang)
    return f"{v:g}" if isinstance(v, float) else str(v)


def write_weekly_outputs(result: RunResult, out: Path) -> None:
    """
    Write the run's weekly files: the playback map, and the store a run built from weeks.

    Adds ``playback_map`` (``playback.html``: every snapshot of the store with a slider,
    offline) and, with ``[weekly] weeks``, ``store`` (``renewal.gpkg``: the office can go
    on importing into it) to ``result.files``; nothing without a weekly meeting.

    Parameters
    ----------
    result
        The run so far (its weekly step done).
    out
        The (staging) folder to write into.
    """
    from geo_renewal._mapplayback import playback_map
    from geo_renewal.store import LedgerStore

    meeting = getattr(result, "weekly", None)
    if meeting is None or meeting.store_path is None:
        return
    store = LedgerStore(meeting.store_path)
    plan = result.plan
    if store.projects() is not None:
        result.files["playback_map"] = playback_map(
            store,
            out / WEEKLY_FILES["playback_map"],
            buildings=result.layers.get("buildings"),
            title=say("weekly.map.title", plan.lang, name=plan.name),
            lang=plan.lang,
        )
    if meeting.built_from is not None:
        path = out / WEEKLY_FILES["store"]
        shutil.copyfile(meeting.store_path, path)
        result.files["store"] = path
