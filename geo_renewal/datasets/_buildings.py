"""
What stands on the sample parcels: building attributes by parcel type, names, footprints.

The distributions are documented in `geo_renewal.datasets._generate`, which calls these steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

#: Streets whose parcels also get building footprints (layer ``buildings``).
BUILDING_STREETS = ("文庙街道", "西关街道")

_LANES = ("文庙前", "曲水", "双井", "青石", "槐荫", "古井", "石板", "杨柳", "花墙", "钟楼")
_ROADS = ("纬一路", "纬二路", "经三路", "经五路", "建设路", "解放路", "和平路", "民生路")
_WORKS = ("机床厂", "第二纺织厂", "印染厂", "食品厂", "电缆厂", "铸造厂", "钢窗厂", "造纸厂")


@dataclass
class _Draws:
    """Building attributes of every parcel, filled in type by type by the `_draw_*` steps."""

    build_year: np.ndarray
    floors: np.ndarray
    structure: np.ndarray
    grade: np.ndarray
    coverage: np.ndarray
    m2_per_hh: np.ndarray
    pph: np.ndarray
    land_use: np.ndarray
    planned: np.ndarray
    listed: np.ndarray
    illegal: np.ndarray

    @classmethod
    def blank(cls, n: int) -> _Draws:
        return cls(
            build_year=np.full(n, np.nan),
            floors=np.full(n, np.nan),
            structure=np.full(n, None, dtype=object),
            grade=np.full(n, None, dtype=object),
            coverage=np.zeros(n),
            m2_per_hh=np.full(n, np.inf),
            pph=np.zeros(n),
            land_use=np.full(n, "residential", dtype=object),
            planned=np.full(n, None, dtype=object),
            listed=np.zeros(n, dtype=bool),
            illegal=np.zeros(n, dtype=bool),
        )


def _pick(
    rng: np.random.Generator, m: np.ndarray, values: list[Any], p: list[float]
) -> np.ndarray:
    return rng.choice(np.asarray(values, dtype=object), size=int(m.sum()), p=p)


def _attributes(
    kinds: np.ndarray, area: np.ndarray, in_core: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Draw building attributes per parcel type (see the module docstring)."""
    a = _Draws.blank(kinds.size)
    # The order of the types is the order of the random draws: keep it.
    for kind, draw in (
        ("courtyard", _draw_courtyard),
        ("walkup", _draw_walkup),
        ("highrise", _draw_highrise),
        ("industrial", _draw_industrial),
        ("commercial", _draw_commercial),
        ("public", _draw_public),
    ):
        draw(a, kinds == kind, in_core, rng)
    for kind_, use in (("green", "green"), ("vacant", "vacant")):
        m = kinds == kind_
        a.land_use[m] = use
        a.planned[m] = "green" if kind_ == "green" else "residential"
    floor_area, households, population = _occupants(a, area, rng)
    return pd.DataFrame(
        {
            "land_use": a.land_use,
            "planned_use": a.planned,
            "build_year": pd.array(a.build_year, dtype="Int64"),
            "floors": pd.array(a.floors, dtype="Int64"),
            "structure": a.structure,
            "danger_grade": a.grade,
            "households": households,
            "population": population,
            "floor_area": floor_area,
            "listed": a.listed,
            "illegal": a.illegal,
        }
    )


def _draw_courtyard(
    a: _Draws, m: np.ndarray, in_core: np.ndarray, rng: np.random.Generator
) -> None:
    k = int(m.sum())
    a.build_year[m] = (
        np.where(in_core[m], rng.normal(1935, 20, k), rng.normal(1955, 15, k))
        .round()
        .clip(1890, 1985)
    )
    a.floors[m] = np.where(rng.random(k) < 0.15, 2, 1)
    a.structure[m] = _pick(rng, m, ["brick_wood", "brick_concrete", "simple"], [0.72, 0.18, 0.10])
    a.grade[m] = _pick(rng, m, ["A", "B", "C", "D"], [0.10, 0.35, 0.38, 0.17])
    a.coverage[m] = rng.uniform(0.55, 0.8, k)
    a.m2_per_hh[m] = rng.uniform(30, 55, k)
    a.pph[m] = rng.uniform(2.3, 3.2, k)
    a.planned[m] = np.where(
        in_core[m],
        "residential",
        _pick(rng, m, ["residential", "commercial", "green"], [0.85, 0.08, 0.07]),
    )
    a.listed[m] = rng.random(k) < np.where(in_core[m], 0.04, 0.005)
    shed = (rng.random(k) < 0.04) & ~a.listed[m]
    idx = np.flatnonzero(m)[shed]
    a.illegal[idx] = True
    a.structure[idx] = "simple"
    a.build_year[idx] = rng.integers(1990, 2016, idx.size)
    a.floors[idx] = 1
    a.m2_per_hh[idx] = 60.0


def _draw_walkup(a: _Draws, m: np.ndarray, in_core: np.ndarray, rng: np.random.Generator) -> None:
    k = int(m.sum())
    a.build_year[m] = np.floor(rng.triangular(1976, 1992, 2004, k))
    a.floors[m] = _pick(rng, m, [4, 5, 6, 7], [0.05, 0.37, 0.43, 0.15])
    a.structure[m] = _pick(rng, m, ["brick_concrete", "frame"], [0.9, 0.1])
    a.grade[m] = _pick(rng, m, ["A", "B", "C", "D"], [0.38, 0.58, 0.035, 0.005])
    a.coverage[m] = rng.uniform(0.22, 0.32, k)
    a.m2_per_hh[m] = rng.uniform(55, 75, k)
    a.pph[m] = rng.uniform(2.5, 3.1, k)
    a.planned[m] = _pick(rng, m, ["residential", "green", "public"], [0.99, 0.005, 0.005])
    a.illegal[m] = rng.random(k) < 0.005


def _draw_highrise(
    a: _Draws, m: np.ndarray, in_core: np.ndarray, rng: np.random.Generator
) -> None:
    k = int(m.sum())
    a.build_year[m] = rng.integers(2003, 2023, k)
    a.floors[m] = rng.integers(18, 34, k)
    a.structure[m] = _pick(rng, m, ["shear_wall", "frame"], [0.8, 0.2])
    a.grade[m] = _pick(rng, m, ["A", "B"], [0.95, 0.05])
    a.coverage[m] = rng.uniform(0.15, 0.22, k)
    a.m2_per_hh[m] = rng.uniform(90, 120, k)
    a.pph[m] = rng.uniform(2.8, 3.3, k)
    a.planned[m] = "residential"


def _draw_industrial(
    a: _Draws, m: np.ndarray, in_core: np.ndarray, rng: np.random.Generator
) -> None:
    k = int(m.sum())
    a.land_use[m] = "industrial"
    a.build_year[m] = rng.integers(1958, 1996, k)
    a.floors[m] = rng.integers(1, 5, k)
    a.structure[m] = _pick(
        rng, m, ["brick_concrete", "frame", "steel", "simple"], [0.5, 0.2, 0.2, 0.1]
    )
    a.grade[m] = _pick(rng, m, ["A", "B", "C", "D"], [0.2, 0.5, 0.2, 0.1])
    a.coverage[m] = rng.uniform(0.35, 0.55, k)
    dorm = rng.random(k) < 0.05
    a.m2_per_hh[np.flatnonzero(m)[dorm]] = 1.0  # replaced by a household count in _occupants
    a.pph[m] = rng.uniform(1.5, 2.5, k)
    a.planned[m] = _pick(rng, m, ["residential", "commercial", "industrial"], [0.5, 0.2, 0.3])
    a.illegal[m] = rng.random(k) < 0.03


def _draw_commercial(
    a: _Draws, m: np.ndarray, in_core: np.ndarray, rng: np.random.Generator
) -> None:
    k = int(m.sum())
    a.land_use[m] = "commercial"
    a.build_year[m] = rng.integers(1990, 2021, k)
    a.floors[m] = rng.integers(2, 13, k)
    a.structure[m] = "frame"
    a.grade[m] = _pick(rng, m, ["A", "B"], [0.7, 0.3])
    a.coverage[m] = rng.uniform(0.35, 0.6, k)
    shops = rng.random(k) < 0.2
    a.m2_per_hh[np.flatnonzero(m)[shops]] = 2.0  # replaced by a household count in _occupants
    a.pph[m] = rng.uniform(2.5, 3.0, k)
    a.planned[m] = "commercial"


def _draw_public(a: _Draws, m: np.ndarray, in_core: np.ndarray, rng: np.random.Generator) -> None:
    k = int(m.sum())
    a.land_use[m] = "public"
    a.build_year[m] = rng.integers(1960, 2016, k)
    a.floors[m] = rng.integers(2, 9, k)
    a.structure[m] = _pick(rng, m, ["frame", "brick_concrete"], [0.6, 0.4])
    a.grade[m] = _pick(rng, m, ["A", "B"], [0.6, 0.4])
    a.coverage[m] = rng.uniform(0.25, 0.4, k)
    a.planned[m] = "public"
    a.listed[m] = in_core[m] & (rng.random(k) < 0.3)
    heritage = np.flatnonzero(m)[a.listed[m]]
    a.build_year[heritage] = rng.integers(1700, 1930, heritage.size).clip(1800)
    a.floors[heritage] = 1
    a.structure[heritage] = "brick_wood"


def _occupants(
    a: _Draws, area: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Floor area, households and persons of every parcel from its drawn attributes."""
    floor_area = np.round(area * a.coverage * np.nan_to_num(a.floors), 1)
    households = np.zeros(area.size, dtype=np.int64)
    m2_per_hh = a.m2_per_hh
    res = np.isfinite(m2_per_hh) & (m2_per_hh > 5)
    households[res] = np.maximum(1, np.round(floor_area[res] / m2_per_hh[res])).astype(np.int64)
    special = m2_per_hh == 1.0  # factory dormitories
    households[special] = rng.integers(10, 41, int(special.sum()))
    special = m2_per_hh == 2.0  # flats above shops
    households[special] = rng.integers(2, 13, int(special.sum()))
    population = np.round(households * a.pph).astype(np.int64)
    population = np.maximum(population, households)
    return floor_area, households, population


def _buildings(parcels: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """
    Make building footprints (幢) for the parcels of `BUILDING_STREETS` that carry buildings.

    One footprint per parcel, the parcel scaled about its centroid to the parcel's built-over
    share; walk-ups and half the courtyard houses get two buildings (the footprint cut in
    two across its longer side, with a gap). Buildings copy their parcel's year, floors,
    structure, grade and flags; households, population and floor area are split between a
    parcel's buildings so that they add up to the parcel's values exactly.
    """
    sel = parcels[parcels["street"].isin(BUILDING_STREETS) & parcels["floors"].notna()]
    sel = sel[sel["floor_area"] > 0]
    g = np.asarray(sel.geometry.array, dtype=object)
    area = shapely.area(g)
    floors = sel["floors"].astype("float64").to_numpy()
    share = np.clip(sel["floor_area"].to_numpy() / (area * floors), 0.05, 0.9)
    fp = _scale(g, np.sqrt(share))
    outside = ~shapely.within(fp, g)
    fp[outside] = shapely.intersection(fp[outside], g[outside])
    two = (sel["structure"].eq("brick_concrete") & (floors >= 4)).to_numpy() | (
        (floors <= 2) & (rng.random(len(sel)) < 0.5)
    )
    b = shapely.bounds(fp[two])
    vert = (b[:, 2] - b[:, 0]) >= (b[:, 3] - b[:, 1])
    mid = np.round(np.where(vert, b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]) / 2, 2)
    first = shapely.box(
        b[:, 0], b[:, 1], np.where(vert, mid, b[:, 2]), np.where(vert, b[:, 3], mid)
    )
    second = shapely.box(
        np.where(vert, mid, b[:, 0]), np.where(vert, b[:, 1], mid), b[:, 2], b[:, 3]
    )
    halves = [
        _scale(shapely.intersection(fp[two], h), np.full(int(two.sum()), 0.9))
        for h in (first, second)
    ]
    pos = np.flatnonzero(two)
    rows = np.concatenate([np.arange(len(sel)), pos])
    geoms = fp.copy()
    geoms[pos] = halves[0]
    geoms = np.concatenate([geoms, halves[1]])
    order = np.lexsort((np.r_[np.zeros(len(sel)), np.ones(pos.size)], rows))
    rows, geoms = rows[order], shapely.set_precision(geoms[order], 0.01)
    k = np.r_[0, (rows[1:] == rows[:-1]).astype(int)]  # 0 for the first building, 1 for the second
    n_b = np.bincount(rows, minlength=len(sel))[rows]
    fa = shapely.area(geoms)
    part = fa / np.bincount(rows, weights=fa)[rows]
    out = sel.iloc[rows].reset_index(drop=True)
    totals = {c: out[c].to_numpy() for c in ("households", "population")}
    for c, tot in totals.items():
        first_share = np.where(n_b == 2, np.round(tot * part).astype(np.int64), tot)
        other = tot - np.r_[0, first_share[:-1]]
        out[c] = np.where(k == 0, first_share, other).astype(np.int64)
    floor_area = out["floor_area"].to_numpy()
    first_fa = np.round(floor_area * part, 1)
    out["floor_area"] = np.where(
        k == 0, first_fa, np.round(floor_area - np.r_[0.0, first_fa[:-1]], 1)
    )
    out["footprint_area"] = np.round(fa, 1)
    out.insert(0, "building_id", out["parcel_id"] + "-" + pd.Series(k + 1).astype(str))
    cols = [
        "building_id",
        "parcel_id",
        "build_year",
        "floors",
        "structure",
        "danger_grade",
        "households",
        "population",
        "floor_area",
        "footprint_area",
        "listed",
        "illegal",
    ]
    return gpd.GeoDataFrame(out[cols], geometry=geoms, crs=parcels.crs)


def _scale(geoms: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Scale each geometry about its centroid by `factor` (vectorised)."""
    c = shapely.get_coordinates(shapely.centroid(geoms))
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    new = c[idx] + (coords - c[idx]) * factor[idx, None]
    return shapely.set_coordinates(np.asarray(geoms, dtype=object).copy(), new)


def _names(parcels: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Display names of non-residential parcels and community names of residential ones."""
    n = len(parcels)
    names = np.full(n, None, dtype=object)
    community = np.full(n, None, dtype=object)
    kind = parcels["kind"].to_numpy()
    block = parcels["block"].to_numpy()
    counters: dict[str, int] = {}
    block_name: dict[int, str] = {}
    for i in range(n):
        k, b = kind[i], int(block[i])
        if k in ("courtyard", "walkup", "highrise"):
            if b not in block_name:
                r = int(rng.integers(0, 1_000))
                if k == "courtyard":
                    block_name[b] = f"{_LANES[r % len(_LANES)]}街坊{r % 7 + 1}片"
                elif k == "walkup":
                    block_name[b] = (
                        f"{_WORKS[r % len(_WORKS)]}宿舍"
                        if r % 3 == 0
                        else f"{_ROADS[r % len(_ROADS)]}{r % 9 + 1}号院"
                    )
                else:
                    block_name[b] = (
                        f"{('锦绣', '泉城', '御景', '和园', '翡翠')[r % 5]}{('华府', '家园', '花园', '名苑')[r % 4]}"
                    )
            community[i] = block_name[b]
            continue
        counters[k] = counters.get(k, 0) + 1
        c = counters[k]
        names[i] = {
            "industrial": f"{_WORKS[c % len(_WORKS)]}{c // len(_WORKS) + 1}号厂区",
            "commercial": f"{_ROADS[c % len(_ROADS)]}商业楼{c}",
            "public": ("第{c}小学", "第{c}中学", "社区卫生服务中心{c}", "文化站{c}")[c % 4].format(
                c=c
            ),
            "green": f"游园{c}",
            "vacant": f"储备地块{c:02d}",
        }[k]
    return names, community
