"""
Household signing (一户一档): the household table, signing curves, forecasts and 清零 lists.

A household table (户编号, 楼栋 or 地块, 项目编号, 状态 未签约 / 已签约 / 已腾房 / 已拆除, 日期,
补偿方式, 备注) is imported with each weekly snapshot. Per project: the signing curve, the
forecast date of 完成签约 at the recent pace with a range, the 清零 list of the households
left, and the ledger's signed count reconciled with the households (a difference is a
finding). See ``docs/guide/weekly.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal._errors import InputError
from geo_renewal._findings import Findings, concat_findings
from geo_renewal._weekly_table import TableSpec, read_weekly_table
from geo_renewal.ledger import Ledger, _as_timestamp
from geo_renewal.text import say

__all__ = [
    "HOUSEHOLD_STATUSES",
    "clearance_list",
    "read_households",
    "reconcile_households",
    "signing_curve",
    "signing_forecast",
]

#: Status code -> (zh, en, map colour), in the order a household passes through them.
HOUSEHOLD_STATUSES: dict[str, tuple[str, str, str]] = {
    "unsigned": ("未签约", "Not signed", "#d7301f"),
    "signed": ("已签约", "Signed", "#fdae61"),
    "vacated": ("已腾房", "Vacated", "#a6d96a"),
    "demolished": ("已拆除", "Demolished", "#1a9641"),
}
#: Statuses that count as signed.
SIGNED = ("signed", "vacated", "demolished")
_STATUS_ALIASES = {
    **{v[0]: k for k, v in HOUSEHOLD_STATUSES.items()},
    **{v[1].lower(): k for k, v in HOUSEHOLD_STATUSES.items()},
    **{k: k for k in HOUSEHOLD_STATUSES},
    "未签": "unsigned",
    "已签": "signed",
    "已搬迁": "vacated",
    "已交房": "vacated",
}
HOUSEHOLD_SPEC = TableSpec(
    what="household table",
    columns={
        "household_id": ("户编号", "户号", "档案号", "household"),
        "project_id": ("项目编号", "项目代码", "project"),
        "building_id": ("楼栋编号", "楼栋", "楼号", "building"),
        "parcel_id": ("地块编号", "宗地编号", "parcel"),
        "status": ("状态", "签约状态", "status"),
        "status_date": ("日期", "签约日期", "状态日期", "date"),
        "compensation": ("补偿方式", "安置方式", "compensation"),
        "note": ("备注", "说明", "未签原因"),
    },
    required=("household_id", "project_id", "status"),
    dates=("status_date",),
    key=("household_id",),
)


def read_households(
    source: str | Path | pd.DataFrame, *, sheet: str | int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """
    Read a household table (一户一档) from CSV or XLSX.

    Parameters
    ----------
    source
        A ``.csv`` / ``.xlsx`` file or a DataFrame laid out the same way.
    sheet
        Workbook sheet; by default the one whose headers fit best.

    Returns
    -------
    households, findings
        One row per household (``household_id``, ``project_id``, ``building_id``,
        ``parcel_id``, ``status`` as a code of `HOUSEHOLD_STATUSES`, ``status_date``,
        ``compensation``, ``note``, ``source_row``) and the findings (unknown status,
        a signed household without a date, repeated ids), each naming the row.

    Raises
    ------
    SchemaError
        If the table has no 户编号, 项目编号 or 状态 column.

    Examples
    --------
    >>> raw = pd.DataFrame({"户编号": ["H1", "H2", "H3"], "项目编号": ["A"] * 3,
    ...     "状态": ["已签约", "未签约", "签了"], "日期": ["2026-01-05", None, None]})
    >>> hh, found = read_households(raw)
    >>> hh["status"].tolist(), found["problem"].tolist()
    (['signed', 'unsigned', 'unsigned'], ['unknown_status'])
    """
    table, found = read_weekly_table(source, HOUSEHOLD_SPEC, sheet=sheet)
    for col in HOUSEHOLD_SPEC.columns:
        if col not in table.columns:
            table[col] = pd.NaT if col == "status_date" else None
    findings = Findings()
    codes = table["status"].astype(object).str.strip().str.lower().map(_STATUS_ALIASES)
    for i in np.flatnonzero(codes.isna().to_numpy()):
        r = table.iloc[i]
        valid = "、".join(v[0] for v in HOUSEHOLD_STATUSES.values())
        findings.add(
            "unknown_status",
            f"household table, row {r['source_row']}: household {r['household_id']} has "
            f"status {r['status']!r}; write one of {valid} (counted as 未签约 until fixed).",
            row=r["source_row"],
            id=r["household_id"],
            column="status",
            action="counted as 未签约",
            value=r["status"],
        )
    table["status"] = codes.fillna("unsigned")
    table["status_date"] = pd.to_datetime(table["status_date"]).astype("datetime64[us]")
    undated = table["status"].isin(SIGNED) & table["status_date"].isna()
    for i in np.flatnonzero(undated.to_numpy()):
        r = table.iloc[i]
        findings.add(
            "signed_without_date",
            f"household table, row {r['source_row']}: household {r['household_id']} is "
            f"{HOUSEHOLD_STATUSES[r['status']][0]} without a date; fill in 日期 (it is left "
            f"out of the signing curve).",
            row=r["source_row"],
            id=r["household_id"],
            column="status_date",
            severity="warning",
            action="left out of the signing curve",
        )
    all_found = concat_findings(found, findings.frame())
    return table.reset_index(drop=True), all_found


def signing_curve(households: pd.DataFrame, *, freq: str = "W-FRI") -> pd.DataFrame:
    """
    Return the signing curve of each project: households signed by the end of each week.

    Parameters
    ----------
    households
        A household table (`read_households`).
    freq
        The period of the curve (a pandas frequency; weeks ending on Friday by default).

    Returns
    -------
    curve
        One row per project and period: ``project_id``, ``period_end``, ``signed`` (in
        the period), ``signed_total`` (cumulative), ``households``, ``signed_share``.

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": ["1", "2", "3"], "project_id": ["A"] * 3,
    ...     "status": ["signed", "signed", "unsigned"],
    ...     "status_date": pd.to_datetime(["2026-01-05", "2026-01-14", None])})
    >>> signing_curve(hh)[["period_end", "signed_total", "signed_share"]].to_dict("records")
    [{'period_end': Timestamp('2026-01-09 00:00:00'), 'signed_total': 1, 'signed_share': 0.3333333333333333}, {'period_end': Timestamp('2026-01-16 00:00:00'), 'signed_total': 2, 'signed_share': 0.6666666666666666}]
    """
    total = households.groupby("project_id").size()
    signed = households[households["status"].isin(SIGNED) & households["status_date"].notna()]
    if signed.empty:
        cols = ["project_id", "period_end", "signed", "signed_total", "households", "signed_share"]
        return pd.DataFrame(columns=cols)
    period = pd.to_datetime(signed["status_date"]).dt.to_period(freq).dt.end_time.dt.normalize()
    counts = signed.assign(period_end=period).groupby(["project_id", "period_end"]).size()
    pieces = []
    for pid, s in counts.groupby(level=0):
        s = s.droplevel(0)
        full = pd.date_range(s.index.min(), s.index.max(), freq=freq)
        s = s.reindex(full, fill_value=0)
        pieces.append(
            pd.DataFrame(
                {
                    "project_id": pid,
                    "period_end": s.index.astype("datetime64[us]"),
                    "signed": s.to_numpy(),
                    "signed_total": s.cumsum().to_numpy(),
                }
            )
        )
    out = pd.concat(pieces, ignore_index=True)
    out["households"] = out["project_id"].map(total).astype(int)
    out["signed_share"] = out["signed_total"] / out["households"]
    return out


def signing_forecast(
    households: pd.DataFrame, *, as_of: Any, window_days: int = 28, lang: str | None = None
) -> pd.DataFrame:
    """
    Forecast the day each project finishes signing (完成签约) at its recent pace, with a range.

    The pace is the households signed in the `window_days` before `as_of` (inclusive)
    per day; the forecast is `as_of` + households left ÷ pace. The range takes the
    slowest and the fastest week of the window (weeks of 7 days counted back from
    `as_of`): the latest date at the slowest week's pace (none when a week had no
    signing), the earliest at the fastest's.

    Parameters
    ----------
    households
        A household table (`read_households`).
    as_of
        The day of the assessment; signings dated later are ignored.
    window_days
        Days of the recent pace (a multiple of 7 for the weekly range).
    lang
        Language of ``note``; defaults to `settings.lang`.

    Returns
    -------
    forecast
        One row per project: ``project_id``, ``households``, ``signed``, ``remaining``,
        ``pace_per_week``, ``forecast_date``, ``forecast_earliest``, ``forecast_latest``
        (NaT when there is no pace: the note says so), ``note``.

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": [str(i) for i in range(10)], "project_id": "A",
    ...     "status": ["signed"] * 6 + ["unsigned"] * 4,
    ...     "status_date": pd.to_datetime(["2026-01-02"] * 2 + ["2026-01-09"] * 4 + [None] * 4)})
    >>> f = signing_forecast(hh, as_of="2026-01-09", window_days=14)
    >>> f[["remaining", "pace_per_week", "forecast_date", "forecast_earliest"]].to_dict("records")
    [{'remaining': 4, 'pace_per_week': 3.0, 'forecast_date': Timestamp('2026-01-19 00:00:00'), 'forecast_earliest': Timestamp('2026-01-16 00:00:00')}]
    """
    day = _as_timestamp(as_of, "as_of")
    if not isinstance(window_days, int) or window_days < 7:
        msg = f"`window_days` must be a whole number of days ≥ 7; got {window_days!r}."
        raise InputError(msg)
    dates = pd.to_datetime(households["status_date"])
    signed_now = households["status"].isin(SIGNED) & ~(dates > day).fillna(False)
    rows = []
    for pid, sub in households.groupby("project_id", sort=False):
        d = pd.to_datetime(sub["status_date"])
        is_signed = signed_now.loc[sub.index]
        n, k = len(sub), int(is_signed.sum())
        age = (day - d[is_signed]).dt.days
        recent = age[(age >= 0) & (age < window_days)]
        weeks = np.bincount((recent // 7).astype(int), minlength=window_days // 7)[
            : window_days // 7
        ]
        row = _forecast_row(pid, n, k, len(recent) / window_days, weeks, day)
        note = row.pop("note")
        row["note"] = None if note is None else say(note, lang, days=window_days)
        rows.append(row)
    return pd.DataFrame(rows)


def _forecast_row(
    pid: Any, n: int, k: int, pace: float, weeks: np.ndarray, day: pd.Timestamp
) -> dict[str, Any]:
    left = n - k
    row: dict[str, Any] = {
        "project_id": pid,
        "households": n,
        "signed": k,
        "remaining": left,
        "pace_per_week": pace * 7,
        "forecast_date": pd.NaT,
        "forecast_earliest": pd.NaT,
        "forecast_latest": pd.NaT,
        "note": None,
    }

    def after(per_day: float) -> pd.Timestamp:
        return day + pd.Timedelta(days=int(np.ceil(left / per_day)))

    if left == 0:
        row.update(forecast_date=day, forecast_earliest=day, forecast_latest=day)
        row["note"] = "weekly.forecast.complete"
    elif pace == 0:
        row["note"] = "weekly.forecast.no_pace"
    else:
        row["forecast_date"] = after(pace)
        row["forecast_earliest"] = after(weeks.max() / 7)
        if weeks.min() > 0:
            row["forecast_latest"] = after(weeks.min() / 7)
        else:
            row["note"] = "weekly.forecast.no_latest"
    return row


def clearance_list(households: pd.DataFrame) -> pd.DataFrame:
    """
    Return the 清零 list: every household not yet signed, by project, with its notes.

    Parameters
    ----------
    households
        A household table (`read_households`).

    Returns
    -------
    remaining
        ``project_id``, ``household_id``, ``building_id``, ``parcel_id``, ``note``, sorted
        by project and household.

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": ["2", "1"], "project_id": "A",
    ...     "status": ["unsigned", "signed"], "note": ["补偿分歧", None]})
    >>> clearance_list(hh)[["household_id", "note"]].to_dict("records")
    [{'household_id': '2', 'note': '补偿分歧'}]
    """
    cols = [
        c
        for c in ("project_id", "household_id", "building_id", "parcel_id", "note")
        if c in households
    ]
    left = households[~households["status"].isin(SIGNED)]
    return (
        left[cols]
        .sort_values(["project_id", "household_id"], kind="stable")
        .reset_index(drop=True)
    )


def reconcile_households(
    ledger: Ledger | pd.DataFrame, households: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """
    Compare each project's signed count in the ledger with its household table.

    Parameters
    ----------
    ledger
        A `Ledger` or its table (``project_id``, ``households``, ``signed_households``).
    households
        A household table (`read_households`).

    Returns
    -------
    table, findings
        One row per project of either side: ``project_id``, ``ledger_households``,
        ``table_households``, ``ledger_signed``, ``table_signed``, ``signed_difference``
        (ledger − table); and one finding per difference (signed count, household count,
        a project on one side only).

    Examples
    --------
    >>> led = pd.DataFrame({"project_id": ["A", "B"], "households": [3, 1],
    ...                     "signed_households": [2, 0]})
    >>> hh = pd.DataFrame({"household_id": ["1", "2", "3"], "project_id": "A",
    ...                    "status": ["signed", "unsigned", "unsigned"]})
    >>> table, found = reconcile_households(led, hh)
    >>> table["signed_difference"].tolist(), found["problem"].tolist()
    ([1.0, nan], ['signed_count_differs', 'no_households'])
    """
    table = ledger.table if isinstance(ledger, Ledger) else ledger
    led = pd.DataFrame(table[["project_id", "households", "signed_households"]]).set_index(
        "project_id"
    )
    grouped = households.groupby("project_id")
    hh = pd.DataFrame(
        {
            "table_households": grouped.size(),
            "table_signed": grouped["status"].apply(lambda s: int(s.isin(SIGNED).sum())),
        }
    )
    ids = list(dict.fromkeys([*led.index.tolist(), *hh.index.tolist()]))
    out = pd.DataFrame(index=pd.Index(ids, name="project_id"))
    out["ledger_households"] = led["households"].astype(float)
    out["table_households"] = hh["table_households"].astype(float)
    out["ledger_signed"] = led["signed_households"].astype(float)
    out["table_signed"] = hh["table_signed"].astype(float)
    out["signed_difference"] = out["ledger_signed"] - out["table_signed"]
    findings = Findings()
    for pid, r in out.iterrows():
        _reconcile_finding(findings, pid, r)
    return out.reset_index(), findings.frame()


def _reconcile_finding(findings: Findings, pid: Any, r: pd.Series) -> None:
    if pd.isna(r["table_households"]):
        if r["ledger_households"] > 0:
            findings.add(
                "no_households",
                f"project {pid}: the ledger counts {r['ledger_households']:.0f} households but "
                f"the household table has none; import its households (一户一档).",
                id=pid,
                column="households",
                severity="warning",
            )
        return
    if pd.isna(r["ledger_households"]):
        findings.add(
            "households_without_project",
            f"project {pid}: the household table has {r['table_households']:.0f} households "
            f"but the ledger has no such project; fix the 项目编号.",
            id=pid,
            column="project_id",
        )
        return
    if r["signed_difference"] != 0 and not pd.isna(r["signed_difference"]):
        findings.add(
            "signed_count_differs",
            f"project {pid}: the ledger says {r['ledger_signed']:.0f} households signed, the "
            f"household table {r['table_signed']:.0f} (difference {r['signed_difference']:+.0f}); "
            f"correct the ledger's 已签约户数 or the households' 状态.",
            id=pid,
            column="signed_households",
            value=f"{r['ledger_signed']:.0f} / {r['table_signed']:.0f}",  # ledger / households
        )
    if r["ledger_households"] != r["table_households"]:
        findings.add(
            "household_count_differs",
            f"project {pid}: the ledger counts {r['ledger_households']:.0f} households, the "
            f"household table {r['table_households']:.0f}; correct one of them.",
            id=pid,
            column="households",
            severity="warning",
            value=f"{r['ledger_households']:.0f} / {r['table_households']:.0f}",
        )
