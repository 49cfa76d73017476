"""
The sample projects (征收拆迁 and 保留提升) and their ledger (台账), set backwards from targets.

Called by `geo_renewal.datasets._generate` once the parcels are classified.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from geo_renewal import schema

AS_OF = dt.date(2026, 11, 20)

_PEOPLE = (
    "王建国",
    "李红梅",
    "张志强",
    "刘洋",
    "陈静",
    "杨帆",
    "赵磊",
    "黄海燕",
    "周涛",
    "吴晓东",
    "徐丽",
    "孙明",
    "马超",
    "朱琳",
    "胡斌",
    "郭峰",
)


def _projects(
    parcels: gpd.GeoDataFrame, cats: pd.Series, rng: np.random.Generator
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Ten demolition + one factory clearance + six upgrade projects, and their ledger."""
    block = parcels["block"].to_numpy()
    hh = parcels["households"].to_numpy()
    dem = (cats == "demolish").to_numpy()
    upg = (cats == "retain_upgrade").to_numpy()
    kind = parcels["kind"].to_numpy()
    dem_by_block = (
        pd.Series(np.where(dem, hh, 0)).groupby(block).sum().sort_values(ascending=False)
    )
    upg_by_block = pd.Series(np.where(upg & (kind == "walkup"), hh, 0)).groupby(block).sum()
    upg_by_block = upg_by_block.sort_values(ascending=False)
    factory = (
        pd.Series(np.where(dem & (kind == "industrial"), parcels["floor_area"].to_numpy(), 0.0))
        .groupby(block)
        .sum()
        .sort_values(ascending=False)
    )

    groups: list[tuple[str, np.ndarray]] = []
    used: set[int] = set()
    for b in dem_by_block.index[::2][:10]:  # every other block: projects spread out
        groups.append(("demolish", dem & (block == b)))
        used.add(int(b))
    b = next(int(b) for b in factory.index if int(b) not in used)
    groups.append(("demolish", dem & (block == b)))
    for b in upg_by_block.index[:6]:
        groups.append(("retain_upgrade", upg & (block == b)))

    streets = parcels["street"].to_numpy()
    rows, geoms = [], []
    for k, (ptype, mask) in enumerate(groups):
        sub = parcels[mask]
        street = pd.Series(streets[mask]).mode().iloc[0]
        place = sub["community"].dropna()
        place = place.iloc[0] if len(place) else sub["name"].dropna().iloc[0]
        name = f"{place}{'片区征收项目' if ptype == 'demolish' else '老旧小区改造项目'}"
        rows.append(
            {
                "project_id": f"GX{k + 1:02d}",
                "name": name,
                "project_type": ptype,
                "street": street,
                "households": int(sub["households"].sum()),
                "floor_area": float(sub["floor_area"].sum()),
            }
        )
        geoms.append(shapely.union_all(np.asarray(sub.geometry.array)))
    info = pd.DataFrame(rows)
    projects = gpd.GeoDataFrame(
        info[["project_id", "name", "project_type", "street"]].astype("string"),
        geometry=shapely.set_precision(np.array(geoms, dtype=object), 0.01),
        crs=parcels.crs,
    )
    return projects, _ledger(info, rng)


def _ledger(info: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Build the 台账: one row per project, planned dates set backwards from the target."""
    gaps = {
        "demolish": {
            "construction": 0,
            "land_supply": 60,
            "approval": 150,
            "demolition": 240,
            "signing": 360,
        },
        "retain_upgrade": {"acceptance": 0, "works": 30, "design": 240},
    }
    stages = [*schema.PIPELINES["demolish"], *schema.PIPELINES["retain_upgrade"]]
    n = len(info)
    behind = set(rng.choice(np.arange(n), size=4, replace=False).tolist())
    records = []
    for k, r in info.iterrows():
        ptype = r["project_type"]
        pipeline = schema.PIPELINES[ptype]
        if ptype == "demolish":
            target = dt.date(2026, 3, 31) + dt.timedelta(days=int(rng.integers(0, 640)))
        else:
            target = dt.date(2025, 10, 31) + dt.timedelta(days=int(rng.integers(0, 600)))
        planned = {s: target - dt.timedelta(days=gaps[ptype][s]) for s in pipeline}
        actual: dict[str, dt.date | None] = dict.fromkeys(pipeline)
        late = k in behind
        for s in pipeline:
            p = planned[s]
            if p <= AS_OF:
                if late and p < AS_OF - dt.timedelta(days=20):
                    break  # behind schedule: this stage is overdue
                a = p + dt.timedelta(days=int(rng.integers(-20, 25)))
                if a >= AS_OF:
                    break
                actual[s] = a
            else:
                if p - AS_OF < dt.timedelta(days=45) and rng.random() < 0.3:
                    actual[s] = AS_OF - dt.timedelta(days=int(rng.integers(1, 20)))
                break
        hh = int(r["households"])
        first = pipeline[0]
        if ptype != "demolish":
            signed = None
        elif actual[first] is not None:
            signed = hh if rng.random() < 0.7 else round(hh * rng.uniform(0.96, 0.995))
        else:
            start = planned[first] - dt.timedelta(days=120)
            frac = (AS_OF - start).days / 120.0
            signed = 0 if frac <= 0 else round(hh * min(0.95, max(0.1, frac * 0.85)))
        unit = (
            f"{r['street']}办事处"
            if k % 2 == 0
            else ("区房屋征收服务中心" if ptype == "demolish" else "区住房和城乡建设局")
        )
        rec = {
            "项目编号": r["project_id"],
            "项目名称": r["name"],
            "类型": schema.CATEGORIES[ptype].zh,
            "街道": r["street"],
            "责任单位": unit,
            "责任人": _PEOPLE[k % len(_PEOPLE)],
            "户数": hh,
            "已签约户数": signed,
            "拆除建筑面积": round(float(r["floor_area"])) if ptype == "demolish" else None,
            "目标日期": target,
        }
        for s in stages:
            zh = schema.STAGES[s][0]
            rec[f"{zh}计划日期"] = planned.get(s)
            rec[f"{zh}实际日期"] = actual.get(s)
        records.append(rec)
    return pd.DataFrame(records, dtype=object)
