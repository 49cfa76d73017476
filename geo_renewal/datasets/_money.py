"""
Sample money layers: location-price bands (``price_bands``) and sale plots (``plots``).

Drawn from their own random generator (seed + 16), after the district is laid out, so the
other layers and the golden tests do not change. The plots follow the ledger: each 征收拆迁
project yields one or two sale plots whose supply dates (收储 → 组卷报批 → 净地 → 挂牌公告 →
成交) are set from the project's demolition, approval and land-supply dates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
from shapely.geometry import Point, box

from geo_renewal import schema

__all__ = ["money_layers"]

#: Location prices (区位价, 元/m²) of the three sample bands, centre outwards.
BAND_PRICES: tuple[tuple[str, str, float], ...] = (
    ("QW1", "一类区位（老城核心）", 18000.0),
    ("QW2", "二类区位", 14000.0),
    ("QW3", "三类区位", 10000.0),
)
#: Days before (−) or after (+) a project's ledger date at which each plot status is planned.
_STATUS_DATES: dict[str, tuple[str, int]] = {
    "reserved": ("拆除计划日期", 0),
    "approval": ("组卷报批计划日期", 0),
    "cleared": ("组卷报批计划日期", 45),
    "announced": ("供地计划日期", -30),
    "sold": ("供地计划日期", 0),
}
#: Land uses, FAR, height limit, density and green ratio of the sample sale plots.
_CONTROLS: tuple[tuple[str, float, float, float, float], ...] = (
    ("residential", 2.5, 60.0, 0.25, 0.35),
    ("commercial", 3.0, 80.0, 0.40, 0.20),
    ("residential", 2.2, 45.0, 0.28, 0.35),
)


def money_layers(
    layers: dict[str, gpd.GeoDataFrame],
    ledger: pd.DataFrame,
    rng: np.random.Generator,
    as_of: dt.date,
) -> dict[str, gpd.GeoDataFrame]:
    """Return the ``price_bands`` and ``plots`` layers of the sample district."""
    return {
        "price_bands": _price_bands(layers["districts"]),
        "plots": _plots(layers["projects"], ledger, rng, as_of),
    }


def _price_bands(districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Three rings around the district's centre, together covering its bounding box."""
    minx, miny, maxx, maxy = districts.total_bounds
    centre = Point((minx + maxx) / 2, (miny + maxy) / 2)
    radius = max(maxx - minx, maxy - miny) / 2
    frame = box(minx - 100, miny - 100, maxx + 100, maxy + 100)
    inner = centre.buffer(radius * 0.35, 64)
    middle = centre.buffer(radius * 0.7, 64)
    geoms = [inner, middle.difference(inner), frame.difference(middle)]
    return gpd.GeoDataFrame(
        {
            "band_id": [b[0] for b in BAND_PRICES],
            "name": [b[1] for b in BAND_PRICES],
            "location_price": [b[2] for b in BAND_PRICES],
        },
        geometry=geoms,
        crs=districts.crs,
    )


def _plots(
    projects: gpd.GeoDataFrame, ledger: pd.DataFrame, rng: np.random.Generator, as_of: dt.date
) -> gpd.GeoDataFrame:
    """One or two sale plots per 征收拆迁 project: its polygon shrunk and split in two."""
    dates = ledger.set_index("项目编号")
    rows: list[dict[str, Any]] = []
    geoms = []
    demolish = projects[projects["project_type"] == "demolish"]
    for k, (pid, poly) in enumerate(zip(demolish["project_id"], demolish.geometry, strict=True)):
        core = poly.buffer(-12)
        if core.is_empty:
            continue
        parts = _split(core) if core.area > 20000 else [core]
        late = k % 4 == 1  # a quarter of the projects' plots slip behind plan
        for j, part in enumerate(parts):
            use, far, height, density, green = _CONTROLS[(k + j) % len(_CONTROLS)]
            row: dict[str, Any] = {
                "plot_id": f"{pid}-{chr(65 + j)}",
                "project_id": pid,
                "bundle": f"平衡单元{1 + k // 3}",
                "land_use": use,
                "far": far,
                "height_limit": height,
                "density": density,
                "green_ratio": green,
            }
            row.update(_status_dates(dates.loc[pid], rng, as_of, late=late and j == 0))
            area = float(part.area)
            price = {"residential": 7000.0, "commercial": 6000.0}[use] * rng.uniform(0.9, 1.1)
            row["start_price"] = round(area * far * price / 1e4, 1)
            sold = row["status"] == "sold"
            premium = rng.uniform(1.0, 1.25)
            row["deal_price"] = round(row["start_price"] * premium, 1) if sold else None
            rows.append(row)
            geoms.append(part)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=projects.crs)


def _split(poly: Any) -> list[Any]:
    """Split a polygon at its centre line across its longer side (two plots and a road)."""
    minx, miny, maxx, maxy = poly.bounds
    if maxx - minx >= maxy - miny:
        mid = (minx + maxx) / 2
        halves = [box(minx, miny, mid - 8, maxy), box(mid + 8, miny, maxx, maxy)]
    else:
        mid = (miny + maxy) / 2
        halves = [box(minx, miny, maxx, mid - 8), box(minx, mid + 8, maxx, maxy)]
    return [poly.intersection(h) for h in halves if not poly.intersection(h).is_empty]


def _status_dates(
    ledger_row: pd.Series, rng: np.random.Generator, as_of: dt.date, *, late: bool
) -> dict[str, Any]:
    """Planned dates from the ledger, actual dates up to `as_of`, the status reached."""
    out: dict[str, Any] = {}
    status = None
    stopped = False
    for code in schema.PLOT_STATUSES:
        column, shift = _STATUS_DATES[code]
        base = ledger_row[column]
        planned = None if base is None or pd.isna(base) else base + dt.timedelta(days=shift)
        out[f"{code}_planned"] = planned
        out[f"{code}_actual"] = None
        if stopped or planned is None or planned > as_of:
            stopped = True
            continue
        if late and planned < as_of - dt.timedelta(days=30):
            stopped = True  # overdue: planned long ago, not reached
            continue
        actual = planned + dt.timedelta(days=int(rng.integers(-15, 20)))
        if actual >= as_of:
            stopped = True
            continue
        out[f"{code}_actual"] = actual
        status = code
    out["status"] = status  # None: not reserved yet (未收储)
    return out
