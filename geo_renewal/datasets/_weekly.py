"""
The sample district's weekly cycle: four weekly snapshots of two streets' ledgers.

For the meetings of 2026-10-30, 11-06, 11-13 and 11-20 (the sample's AS_OF), each week
has the ledgers of 河畔街道 and 文庙街道 (their demolition projects of the sample ledger, as
they stood that week), a task table with dependencies (立项 … 开工, approvals in parallel
with signing), the household table (一户一档: one row per household of the projects,
placed in the project's buildings) and the running list of meeting decisions. Written to
``data/weekly/<date>/`` by `geo-renewal sample-data`. Uses its own random generator, so the
other sample layers do not change.

One truth: every week's ledgers are the sample ledger (``sample_ledger.xlsx``, made by
`geo_renewal.datasets._ledger`) as it stood that week — actual dates after the week
blanked, the signed count of that week — so the last week's snapshot IS the sample
ledger's rows of the two streets (tests/test_weekly.py checks stage, delay and signed
count per project). Nothing here changes a date of the ledger.

Deliberate features for the demo: GX09 is behind (its signing and every later task are
red, 12 households left, about 3 signed a week), GX10 has a yellow task, GX11 a blue one,
GX10 finishes 组卷报批 on 11-08 and changes stage in week 3, GX08's 组卷报批 falls due on
11-10 and is overdue from week 3, GX06's ledger counts 3 signed households more than its
household table (a reconciliation finding), and decision D01 stays open past its date.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from geo_renewal.datasets._generate import SampleDistrict

#: The four meeting days.
WEEKS = (dt.date(2026, 10, 30), dt.date(2026, 11, 6), dt.date(2026, 11, 13), dt.date(2026, 11, 20))
#: The two streets whose ledgers are sent each week.
STREETS = ("河畔街道", "文庙街道")
_SEED = 17_2026
_STAGE_HEADERS = {
    "签约": "签约",
    "拆除": "拆除",
    "组卷报批": "组卷报批",
    "供地": "供地",
    "开工": "开工",
}
#: task -> (tasks it waits for, responsible unit or None for the project's own)
_TASKS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "立项": ((), "区发展和改革局"),
    "用地预审": (("立项",), "区自然资源局"),
    "规划许可": (("用地预审",), "区自然资源局"),
    "环评": (("立项",), "区生态环境局"),
    "征收决定": (("立项",), "区人民政府征收办"),
    "签约": (("征收决定",), None),
    "拆除": (("签约",), None),
    "组卷报批": (("用地预审", "拆除"), "区自然资源局"),
    "供地": (("组卷报批", "规划许可", "环评"), "区自然资源局"),
    "开工": (("供地",), "项目建设单位"),
}
_NOTES = (
    "补偿方式未谈拢",
    "产权纠纷待法院判决",
    "家庭内部意见不一",
    "长期在外联系不上",
    "要求更换安置房源",
)
_PEOPLE = {
    "区发展和改革局": "宋立",
    "区自然资源局": "韩梅",
    "区生态环境局": "魏东",
    "区人民政府征收办": "蒋涛",
    "项目建设单位": "冯军",
}


def weekly_tables(district: SampleDistrict) -> dict[dt.date, dict[str, pd.DataFrame]]:
    """Return, per meeting day, file name -> table (Chinese headers as offices write them)."""
    rng = np.random.default_rng(_SEED)
    base = district.ledger[district.ledger["街道"].isin(STREETS)].reset_index(drop=True)
    for col in [c for c in base.columns if c.endswith("日期")]:
        base[col] = pd.to_datetime(base[col])
    signings = {r["项目编号"]: _signing_dates(r, rng) for _, r in base.iterrows()}
    homes = _households(base, district, rng)
    jitter = {r["项目编号"]: rng.integers(-10, 20, size=len(_TASKS)) for _, r in base.iterrows()}
    lag = {r["项目编号"]: rng.uniform(0.0, 0.08) for _, r in base.iterrows()}
    out = {}
    for k, day in enumerate(WEEKS):
        files: dict[str, pd.DataFrame] = {}
        ledger = _ledger_on(base, day, signings)
        for street in STREETS:
            files[f"{street}台账.xlsx"] = ledger[ledger["街道"] == street].reset_index(drop=True)
        homes_n = pd.to_numeric(ledger["户数"]).astype(float).replace(0.0, np.nan)
        share = pd.to_numeric(ledger["已签约户数"]).astype(float) / homes_n
        signed = dict(zip(ledger["项目编号"], share, strict=True))
        files["任务分解.xlsx"] = _tasks_on(base, day, jitter, lag, signed)
        files["一户一档.xlsx"] = _households_on(homes, base, day, signings)
        files["例会商定事项.xlsx"] = _decisions_on(k)
        out[day] = files
    return out


def _signing_dates(r: pd.Series, rng: np.random.Generator) -> np.ndarray:
    """Signing days of the households that are signed by the last week (sorted)."""
    n = int(r["已签约户数"]) - (3 if r["项目编号"] == "GX06" else 0)
    planned = pd.Timestamp(r["签约计划日期"])
    if r["项目编号"] == "GX09":  # still signing: 9 in the last three weeks, 3 a week
        recent = [
            pd.Timestamp(d) - pd.Timedelta(days=int(x)) for d in WEEKS[1:] for x in (1, 3, 5)
        ]
        early = _spread(planned - pd.Timedelta(days=200), pd.Timestamp(WEEKS[0]), n - 9, rng)
        return np.sort(np.concatenate([early, np.array(recent, dtype="datetime64[ns]")]))
    end = pd.Timestamp(r["签约实际日期"]) if pd.notna(r["签约实际日期"]) else planned
    return _spread(end - pd.Timedelta(days=150), end, n, rng)


def _spread(
    start: pd.Timestamp, end: pd.Timestamp, n: int, rng: np.random.Generator
) -> np.ndarray:
    days = max((end - start).days, 1)
    # fast at first, then the tail: a beta-shaped curve
    offsets = np.sort(rng.beta(1.2, 2.5, size=max(n, 0)) * days).astype(int)
    return (start + pd.to_timedelta(offsets, unit="D")).to_numpy(dtype="datetime64[ns]")


def _ledger_on(base: pd.DataFrame, day: dt.date, signings: dict[str, np.ndarray]) -> pd.DataFrame:
    """Return the ledger as it stood on `day`: later actual dates blank, that day's signed count."""
    out = base.copy()
    ts = pd.Timestamp(day)
    for col in [c for c in out.columns if c.endswith("实际日期")]:
        d = pd.to_datetime(out[col])
        out[col] = d.where(d <= ts)
    signed = [int((signings[p] <= np.datetime64(ts)).sum()) for p in out["项目编号"]]
    out["已签约户数"] = np.array(signed) + np.where(out["项目编号"] == "GX06", 3, 0)
    return out


def _households(
    base: pd.DataFrame, district: SampleDistrict, rng: np.random.Generator
) -> pd.DataFrame:
    """One row per household, placed in the buildings inside its project (by households)."""
    buildings = district.layers["buildings"]
    projects = district.layers["projects"].set_index("project_id")
    rows = []
    for _, r in base.iterrows():
        pid, n = r["项目编号"], int(r["户数"])
        if n == 0:
            continue
        inside = buildings[buildings.geometry.centroid.within(projects.geometry[pid])]
        weights = inside["households"].to_numpy(dtype=float)
        if not len(inside) or weights.sum() == 0:
            bids = [None] * n
        else:
            counts = np.floor(weights / weights.sum() * n).astype(int)
            counts[np.argsort(-(weights / weights.sum() * n - counts))[: n - counts.sum()]] += 1
            bids = np.repeat(inside["building_id"].to_numpy(), counts).tolist()
        for i in range(n):
            rows.append({"户编号": f"{pid}-{i + 1:04d}", "项目编号": pid, "楼栋编号": bids[i]})
    out = pd.DataFrame(rows)
    out["补偿方式"] = np.where(rng.random(len(out)) < 0.6, "产权调换", "货币补偿")
    return out


def _households_on(
    homes: pd.DataFrame, base: pd.DataFrame, day: dt.date, signings: dict[str, np.ndarray]
) -> pd.DataFrame:
    ts = np.datetime64(pd.Timestamp(day))
    info = base.set_index("项目编号")
    status: list[str] = []
    dates: list[pd.Timestamp | None] = []
    notes: list[str | None] = []
    for pid, sub in homes.groupby("项目编号", sort=False):
        sig = signings[pid]
        done = sig[sig <= ts]
        n = len(sub)
        demolished = pd.notna(info.loc[pid, "拆除实际日期"]) and info.loc[
            pid, "拆除实际日期"
        ] <= pd.Timestamp(day)
        for i in range(n):
            if i < len(done):
                status.append("已拆除" if demolished else ("已腾房" if i % 10 < 7 else "已签约"))
                dates.append(pd.Timestamp(done[i]))
                notes.append(None)
            else:
                status.append("未签约")
                dates.append(None)
                notes.append(_NOTES[i % len(_NOTES)])
    out = homes.copy()
    out.insert(3, "状态", status)
    out.insert(4, "签约日期", dates)
    out["备注"] = notes
    return out


def _tasks_on(
    base: pd.DataFrame,
    day: dt.date,
    jitter: dict[str, np.ndarray],
    lag: dict[str, float],
    signed: dict[str, float],
) -> pd.DataFrame:
    """Return the task table of `day`; 签约's progress is the ledger's signed share that day."""
    ts = pd.Timestamp(day)
    rows = []
    for _, r in base.iterrows():
        plan = _task_plan(r)
        finished: dict[str, bool] = {}
        for j, (task, (deps, unit)) in enumerate(_TASKS.items()):
            start, finish = plan[task]
            actual = _task_actual(r, task, finish, int(jitter[r["项目编号"]][j]))
            done = actual is not None and actual <= ts
            finished[task] = done
            span = max((finish - start).days, 1)
            elapsed = min(max((ts - start).days / span, 0.0), 1.0)
            behind = 0.3 if (r["项目编号"], task) == ("GX10", "环评") else lag[r["项目编号"]]
            progress = 100.0 if done else round(max(elapsed - behind, 0.0) * 100, 0)
            if not done and not all(finished[d] for d in deps):
                progress = 0.0  # waits for an unfinished task: not begun, whatever the calendar
            elif not done and task == "签约" and np.isfinite(signed[r["项目编号"]]):
                progress = round(min(signed[r["项目编号"]], 1.0) * 100, 1)  # as the ledger says
            owner = unit or r["责任单位"]
            rows.append(
                {
                    "项目编号": r["项目编号"],
                    "任务编号": f"{r['项目编号']}-{j + 1:02d}",
                    "任务名称": task,
                    "责任单位": owner,
                    "责任人": _PEOPLE.get(owner, r["责任人"]),
                    "计划开始日期": start,
                    "计划完成日期": finish,
                    "实际完成日期": actual if done else None,
                    "前置任务": "、".join(
                        f"{r['项目编号']}-{list(_TASKS).index(d) + 1:02d}" for d in deps
                    ),
                    "完成进度（%）": progress,
                }
            )
    return pd.DataFrame(rows)


def _task_plan(r: pd.Series) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    sign = pd.Timestamp(r["签约计划日期"])
    d = pd.Timedelta
    plan: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = {}
    lixiang = sign - d(days=240)
    plan["立项"] = (lixiang - d(days=30), lixiang)
    plan["用地预审"] = (lixiang, lixiang + d(days=45))
    plan["规划许可"] = (lixiang + d(days=45), lixiang + d(days=135))
    plan["环评"] = (lixiang, lixiang + d(days=60))
    plan["征收决定"] = (lixiang, sign - d(days=120))
    plan["签约"] = (sign - d(days=120), sign)
    plan["拆除"] = (sign, pd.Timestamp(r["拆除计划日期"]))
    plan["组卷报批"] = (pd.Timestamp(r["拆除计划日期"]), pd.Timestamp(r["组卷报批计划日期"]))
    plan["供地"] = (pd.Timestamp(r["组卷报批计划日期"]), pd.Timestamp(r["供地计划日期"]))
    plan["开工"] = (pd.Timestamp(r["供地计划日期"]), pd.Timestamp(r["开工计划日期"]))
    if r["项目编号"] == "GX11":  # a planning permit due in the week after the last meeting
        plan["规划许可"] = (pd.Timestamp("2026-08-01"), pd.Timestamp("2026-11-25"))
    if r["项目编号"] == "GX10":  # an environmental review behind its schedule
        plan["环评"] = (pd.Timestamp("2026-09-01"), pd.Timestamp("2026-12-20"))
    return plan


def _task_actual(
    r: pd.Series, task: str, finish: pd.Timestamp, jitter: int
) -> pd.Timestamp | None:
    if task in _STAGE_HEADERS:
        v = r[f"{_STAGE_HEADERS[task]}实际日期"]
        return None if pd.isna(v) else pd.Timestamp(v)
    if (r["项目编号"], task) in (("GX11", "规划许可"), ("GX10", "环评")):
        return None
    if r["项目编号"] == "GX09" and task == "征收决定":
        return finish + pd.Timedelta(days=25)
    return finish + pd.Timedelta(days=jitter)


_DECISIONS = [
    # id, meeting week, item, project, unit, person, due, closed on
    (
        "D01",
        0,
        "约谈未签约户，逐户制定一户一策",
        "GX09",
        "文庙街道办事处",
        "周涛",
        "2026-11-13",
        None,
    ),
    ("D02", 0, "协调组卷报批材料补正", "GX08", "区自然资源局", "韩梅", "2026-11-10", "2026-11-12"),
    ("D03", 0, "机床厂地块土壤污染状况调查", "GX11", "区生态环境局", "魏东", "2026-11-27", None),
    ("D04", 0, "供电线路迁改方案报审", "GX10", "区供电公司", "钱进", "2026-11-06", "2026-11-05"),
    (
        "D05",
        1,
        "3户未签约户司法程序准备",
        "GX06",
        "区房屋征收服务中心",
        "杨帆",
        "2026-11-20",
        "2026-11-19",
    ),
    (
        "D06",
        1,
        "更新两街道一户一档",
        None,
        "区房屋征收服务中心",
        "黄海燕",
        "2026-11-13",
        "2026-11-13",
    ),
    ("D07", 2, "征收补偿方案复核", "GX09", "区住房和城乡建设局", "孙明", "2026-11-27", None),
    ("D08", 3, "剩余未签约户清零", "GX01", "河畔街道办事处", "王建国", "2026-12-18", None),
]


def _decisions_on(k: int) -> pd.DataFrame:
    day = pd.Timestamp(WEEKS[k])
    rows = []
    for did, week, item, pid, unit, person, due, closed in _DECISIONS:
        if week > k:
            continue
        shut = closed is not None and pd.Timestamp(closed) <= day
        rows.append(
            {
                "事项编号": did,
                "会议日期": WEEKS[week],
                "商定事项": item,
                "项目编号": pid,
                "责任单位": unit,
                "责任人": person,
                "完成时限": pd.Timestamp(due),
                "状态": "已完成" if shut else "办理中",
                "完成日期": pd.Timestamp(closed) if shut else None,
            }
        )
    return pd.DataFrame(rows)


def write_weekly(district: SampleDistrict, out_dir: str | Path) -> dict[str, Path]:
    """Write the four weeks' files under `out_dir` (``<date>/<file>.xlsx``); return them."""
    from geo_renewal.io import atomic_write

    out = Path(out_dir)
    written = {}
    for day, files in weekly_tables(district).items():
        folder = out / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        for name, table in files.items():
            path = folder / name
            sheet = "台账" if name.endswith("台账.xlsx") else name[:-5]
            with atomic_write(path) as tmp:
                _write_xlsx(table, tmp, sheet=sheet, day=day)
            written[f"{day.isoformat()}/{name}"] = path
    return written


def _write_xlsx(table: pd.DataFrame, path: Path, *, sheet: str, day: dt.date) -> None:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    from geo_renewal._cellsafe import set_cell

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for j, col in enumerate(table.columns, start=1):
        set_cell(ws, 1, j, col)
        ws.column_dimensions[get_column_letter(j)].width = max(10, 2 * len(str(col)) + 2)
    for i, row in enumerate(table.itertuples(index=False), start=2):
        for j, v in enumerate(row, start=1):
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                continue
            if isinstance(v, pd.Timestamp | dt.date):
                cell = ws.cell(row=i, column=j, value=pd.Timestamp(v).to_pydatetime())
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(v, np.integer | np.floating):
                ws.cell(row=i, column=j, value=v.item())
            else:
                set_cell(ws, i, j, v)
    ws.freeze_panes = "B2"
    # saved on its meeting day: stable bytes from one run to the next, and a street's ledger
    # in a week where nothing moved is still that week's file (the store refuses a file it has)
    saved = dt.datetime.combine(day, dt.time(9))
    wb.properties.created = saved
    wb.properties.modified = saved
    wb.save(path)
