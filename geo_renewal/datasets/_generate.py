"""
Deterministic generator of the sample district (样例片区) shipped in ``data/``.

The district is fictional but built like an old northern Chinese city quarter near Jinan,
centred on 117.0°E 36.7°N. Geometry is generated and stored in **EPSG:4548** (CGCS2000
3-degree Gauss–Krüger, CM 117°E, metres, no zone prefix), the grid Chinese survey offices
deliver; coordinates are rounded to 1 cm. Everything is a pure function of the seed
(`numpy.random.default_rng`), so `generate_sample_district()` always returns the same
layers and the files in ``data/`` can be checked against it.
Building attributes, names and footprints are drawn in `_buildings`, projects and the
ledger in `_ledger`; this module lays out the district and calls them in order.

Layout
------
- A road grid of about 20 × 16 lines whose spacing grows from ~110 m in the old town to
  ~300 m at the edges; road gaps are 8–10 m alleys in the old town, 12–18 m streets and
  30 m main roads (roads are gaps between blocks, not parcels). Grid nodes are jittered so
  blocks are irregular quadrilaterals. Two corners are cut off the district outline.
- Seven streets (街道, layer ``districts``: ``district_id``, ``name``) tile the district
  along road centre lines.
- A river (``river``) crosses the north of the district from west to east; its channel
  (18 m each side) is left free of parcels and its ecological belt (``eco_belt``) is the
  land within 100 m of the centre line.
- The heritage core (``heritage_core``, ~0.5 km²) sits in the old town in the west; the
  construction-control zone (``heritage_control``) is a 220 m ring around it. A 120 m wide
  view corridor (``view_corridor``) runs from a hill south of the district north across
  the old town.

Parcels (``parcels``): each block gets a type by its location, then is cut by recursive
straight splits into parcels of the type's size. Types and their documented
distributions (N = normal, U = uniform, T = triangular (low, mode, high)):

==========  ==========================  =================================================
type        where, size                 attributes
==========  ==========================  =================================================
courtyard   old town and its ring;      平房/大杂院: residential, built N(1955, 15) (core:
            220–480 m² each             N(1935, 20)), 1 storey (15 % 2), 砖木 brick_wood
                                        72 %, 砖混 brick_concrete 18 %, 简易 simple 10 %;
                                        grade A 10 / B 35 / C 38 / D 17 %; 60–85 %
                                        built over; one household per U(25, 45) m² of
                                        floor area, U(2.3, 3.2) persons per household
walkup      most of the district;       1980s–90s 老旧小区: built T(1976, 1992, 2004) (≈ 9 %
            1.8–4.2 thousand m²         after 2000), 5–7 storeys (a few 4), 砖混 90 % /
                                        框架 10 %, grade A 35 / B 55 / C 8 / D 2 %,
                                        22–32 % built over, U(55, 75) m² per household,
                                        U(2.5, 3.1) persons
highrise    east and south-east;        built U(2003, 2022), 18–33 storeys, 剪力墙 80 % /
            0.9–2 ha                    框架 20 %, grade A 95 / B 5 %, 15–22 % built
                                        over, U(90, 120) m² per household, U(2.8, 3.3)
                                        persons
industrial  north of the river, a few   old factories: built U(1958, 1995), 1–4 storeys,
            elsewhere; 1.2–4 ha         planned residential 50 % / commercial 20 % /
                                        industrial 30 %, 5 % house U(10, 40) dormitory
                                        households
commercial  along main roads; 0.25–0.8  built U(1990, 2020), 2–12 storeys, frame, A/B, 20 %
            ha                          with a few households above the shops
public      schools, hospitals,         built U(1960, 2015), 2–8 storeys, no households;
            temples; 0.5–1.5 ha         in the heritage core 30 % are listed (文保单位)
green       parks, the river banks      no building: build year, floors, structure and
                                        grade missing, zero households
vacant      cleared / reserve land      no building; the resettlement sites (1.2–3 ha)
==========  ==========================  =================================================

About 4 % of courtyard parcels are illegal sheds (简易, built 1990–2015, 1–2 households),
1 % of walk-up and 3 % of industrial parcels carry illegal structures; 4 % of courtyard
parcels in the heritage core and 0.5 % outside are listed. Planned use equals current use
except: industrial (see above), 15 % of courtyard parcels outside the core (commercial or
green) and 3 % of walk-ups (green or public).

Vacant land is placed so that the default rule set (``rules/default.toml``) finds every
category: suitable resettlement sites (≥ 0.5 ha, clear of the eco belt, heritage control
zone, view corridor and flood-prone land) whose capacity at DOMAIN.md §3 defaults
(``area × 2.5 × 0.9 × 0.8 ÷ 90 m²``) covers about 95 % of the flats needed by demolition
households at a 30 % cash share, chosen alternately near the demolition areas and 3–4 km
away so that distances matter; plus decoys the rules must refuse: small cleared lots,
vacant land in the eco belt, in the heritage control zone, in the view corridor and in a
flood-prone hollow.

Buildings (``buildings``, streets 文庙街道 and 西关街道 only): one footprint per built parcel
(two for walk-ups and half the courtyard houses), the parcel scaled to its built-over share;
attributes are the parcel's, with households, persons and floor area split so that they add
up to the parcel's values.

Projects (``projects``) and the ledger: ten demolition projects (征收拆迁) cover the
demolition parcels of the blocks with most demolition households, plus one factory
clearance; six upgrade projects (保留提升) cover the retained old communities of walk-up
blocks. Ledger dates are set backwards from each target date (倒排工期, stage lengths
120/90/90/60 days for 签约→拆除→组卷报批→供地→开工 and 210/30 days for 方案→施工→竣工验收)
and progressed to the "as of" date 2026-11-20; four projects are behind schedule.

Flood depth (``flood_depth.tif``): 10 m cells in EPSG:4548, float32 metres, nodata
−9999 outside the district: ``max(0, 2.4·exp(−d/170) − 0.2)`` for distance ``d`` (m) to
the river, plus a hollow of up to 0.9 m in the south-east and a ±0.08 m ripple.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from shapely.geometry import LineString, Polygon

from geo_renewal.datasets._buildings import BUILDING_STREETS as BUILDING_STREETS
from geo_renewal.datasets._buildings import _attributes, _buildings, _names
from geo_renewal.datasets._ledger import AS_OF, _projects
from geo_renewal.datasets._money import money_layers
from geo_renewal.datasets._views import view_layers

__all__ = ["AS_OF", "CRS", "SEED", "SampleDistrict", "generate_sample_district"]

SEED = 20261120
CRS = "EPSG:4548"

X0, Y0 = 497_400.0, 4_061_300.0  # south-west corner of the district's road grid
WIDTH, HEIGHT = 4_000.0, 3_000.0
OLD_TOWN = (X0 + 1_300.0, Y0 + 1_150.0)  # centre of the heritage core
HOLLOW = (X0 + 3_300.0, Y0 + 700.0)  # flood-prone hollow (易涝点)
CELL = 10.0  # flood raster cell size, metres
NODATA = -9999.0
RIVER_HALF_WIDTH = 18.0
ECO_HALF_WIDTH = 100.0
CASH_SHARE = 0.3
UNITS_PER_M2 = 2.5 * 0.9 * 0.8 / 90.0  # DOMAIN.md §3 capacity defaults

STREETS: tuple[tuple[str, float, float], ...] = (
    ("西关街道", 0.12, 0.35),
    ("文庙街道", 0.33, 0.40),
    ("北园街道", 0.22, 0.82),
    ("河畔街道", 0.55, 0.80),
    ("东关街道", 0.55, 0.33),
    ("工业北路街道", 0.85, 0.82),
    ("新城街道", 0.82, 0.28),
)

# Parcel size range (m²) per block type.
_SIZES = {
    "courtyard": (260.0, 560.0),
    "walkup": (1_800.0, 4_200.0),
    "highrise": (9_000.0, 20_000.0),
    "industrial": (12_000.0, 40_000.0),
    "commercial": (2_500.0, 8_000.0),
    "public": (5_000.0, 15_000.0),
    "green": (8_000.0, 30_000.0),
    "vacant": (12_000.0, 30_000.0),
}


@dataclass
class SampleDistrict:
    """
    The generated sample district: vector layers, flood raster and project ledger.

    Attributes
    ----------
    layers
        Layer name -> GeoDataFrame in `crs`: ``districts``, ``parcels``, ``buildings``,
        ``projects``, ``units``,
        ``river``, ``eco_belt``, ``heritage_core``, ``heritage_control``,
        ``view_corridor``.
    flood_depth
        Float32 array (rows north to south) of flood depth in metres, `nodata` outside.
    flood_transform
        The raster's affine transform (rasterio / affine convention, 10 m cells).
    ledger
        The project ledger (台账) with its Chinese headers, one row per project.
    crs
        ``"EPSG:4548"``.
    nodata
        The raster's nodata value.
    """

    layers: dict[str, gpd.GeoDataFrame]
    flood_depth: np.ndarray
    flood_transform: tuple[float, float, float, float, float, float]
    ledger: pd.DataFrame
    crs: str = CRS
    nodata: float = NODATA
    info: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- geometry


def _smooth(t: float) -> float:
    t = min(max(t, 0.0), 1.0)
    return t * t * (3 - 2 * t)


def _lines(rng: np.random.Generator, start: float, length: float, centre: float) -> np.ndarray:
    pos = [start]
    while pos[-1] < start + length:
        d = abs(pos[-1] - centre)
        pos.append(pos[-1] + (105.0 + 185.0 * _smooth(d / 1_500.0)) * rng.uniform(0.85, 1.15))
    arr = np.asarray(pos)
    return start + (arr - start) * length / (arr[-1] - start)


def _widths(rng: np.random.Generator, pos: np.ndarray, centre: float) -> np.ndarray:
    n = pos.size
    w = rng.uniform(12.0, 18.0, n)
    w[np.abs(pos - centre) < 450.0] = rng.uniform(
        8.0, 10.0, int((np.abs(pos - centre) < 450.0).sum())
    )
    w[np.arange(n) % 4 == 2] = 30.0  # main roads
    w[[0, -1]] = 24.0  # boundary roads
    return np.round(w, 1)


def _inset_quad(pts: np.ndarray, d: np.ndarray) -> Polygon:
    """Shrink a counter-clockwise quadrilateral by distance d[k] on edge k (pts[k]→pts[k+1])."""
    lines = []
    for k in range(4):
        p, q = pts[k], pts[(k + 1) % 4]
        t = (q - p) / np.hypot(*(q - p))
        nrm = np.array([-t[1], t[0]])  # inward (left) normal of a CCW ring
        lines.append((p + nrm * d[k], t))
    corners = []
    for k in range(4):
        (p1, t1), (p2, t2) = lines[k - 1], lines[k]
        den = t1[0] * t2[1] - t1[1] * t2[0]
        s = ((p2[0] - p1[0]) * t2[1] - (p2[1] - p1[1]) * t2[0]) / den
        corners.append(p1 + s * t1)
    return Polygon(corners)


def _river_line() -> LineString:
    x = np.arange(X0 - 300.0, X0 + WIDTH + 300.0 + 1, 20.0)
    u = x - X0
    y = (
        Y0
        + 2_350.0
        + 140.0 * np.sin(2 * np.pi * u / 2_600.0 + 0.7)
        + 60.0 * np.sin(2 * np.pi * u / 900.0)
    )
    return LineString(np.column_stack([x, np.round(y, 2)]))


def _split(
    polys: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """
    Cut polygons with straight lines until each piece is below a random size in [lo, hi].

    Breadth first and vectorised: every round draws a target size per piece; pieces above
    1.3× their target are cut across their longer side at 38–62 % (cut lines on a 1 cm
    grid, so neighbours share their edges exactly). Returns the pieces and, for each, the
    index of the polygon it came from.
    """
    done, done_src = [], []
    cur = np.asarray(polys, dtype=object)
    src = np.arange(cur.size)
    while cur.size:
        target = rng.uniform(lo[src], hi[src])
        leaf = shapely.area(cur) <= target * 1.3
        done.append(cur[leaf])
        done_src.append(src[leaf])
        cur, src = cur[~leaf], src[~leaf]
        if cur.size == 0:
            break
        b = shapely.bounds(cur)
        f = rng.uniform(0.38, 0.62, cur.size)
        vert = (b[:, 2] - b[:, 0]) >= (b[:, 3] - b[:, 1])
        cut = np.round(
            np.where(vert, b[:, 0] + f * (b[:, 2] - b[:, 0]), b[:, 1] + f * (b[:, 3] - b[:, 1])), 2
        )
        x0, y0, x1, y1 = b[:, 0] - 1, b[:, 1] - 1, b[:, 2] + 1, b[:, 3] + 1
        first = shapely.box(x0, y0, np.where(vert, cut, x1), np.where(vert, y1, cut))
        second = shapely.box(np.where(vert, cut, x0), np.where(vert, y0, cut), x1, y1)
        halves = np.concatenate(
            [shapely.intersection(cur, first), shapely.intersection(cur, second)]
        )
        parts, idx = shapely.get_parts(halves, return_index=True)
        ok = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 1.0)
        cur, src = parts[ok], np.concatenate([src, src])[idx[ok]]
    return np.concatenate(done), np.concatenate(done_src)


# --------------------------------------------------------------------------- flood


def _flood_depth(x: np.ndarray, y: np.ndarray, river: LineString) -> np.ndarray:
    """Design-flood depth (m) at points: river valley, a hollow, a small ripple."""
    c = shapely.get_coordinates(river)
    # The valley term is 0 beyond 170·ln(12) ≈ 422 m; the vertical offset from the river
    # times the cosine of its steepest segment bounds the distance from below, so only
    # points in a band around the river need the exact distance.
    slope = np.abs(np.diff(c[:, 1]) / np.diff(c[:, 0])).max()
    near = np.abs(y - np.interp(x, c[:, 0], c[:, 1])) / np.sqrt(1 + slope**2) < 450.0
    d = np.full(x.shape, 1e4)
    d[near] = _distance_to_line(x[near], y[near], c)
    depth = np.maximum(0.0, 2.4 * np.exp(-d / 170.0) - 0.2)
    r2 = (x - HOLLOW[0]) ** 2 + (y - HOLLOW[1]) ** 2
    depth = depth + 0.9 * np.exp(-r2 / (2 * 130.0**2))
    u, v = x - X0, y - Y0
    ripple = 0.05 * np.sin(u / 173.0 + 0.3) * np.cos(v / 211.0) + 0.03 * np.sin((u + v) / 97.0)
    depth = np.where(depth > 0.02, depth + ripple, np.maximum(0.0, ripple))
    return np.round(np.maximum(depth, 0.0), 2)


def _distance_to_line(x: np.ndarray, y: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Distance from points to a polyline (numpy, in chunks of points)."""
    ax, ay = coords[:-1, 0], coords[:-1, 1]
    dx, dy = coords[1:, 0] - ax, coords[1:, 1] - ay
    len2 = dx * dx + dy * dy
    out = np.empty(x.size)
    for start in range(0, x.size, 4096):
        px = x[start : start + 4096, None]
        py = y[start : start + 4096, None]
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / len2, 0.0, 1.0)
        out[start : start + 4096] = np.sqrt(
            ((px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2).min(axis=1)
        )
    return out


def _flood_raster(
    boundary: Polygon, river: LineString
) -> tuple[np.ndarray, tuple[float, float, float, float, float, float]]:
    minx, miny, maxx, maxy = boundary.bounds
    x0 = np.floor((minx - 100.0) / CELL) * CELL
    y1 = np.ceil((maxy + 100.0) / CELL) * CELL
    ncol = int(np.ceil((maxx + 100.0 - x0) / CELL))
    nrow = int(np.ceil((y1 - (miny - 100.0)) / CELL))
    xs = x0 + (np.arange(ncol) + 0.5) * CELL
    ys = y1 - (np.arange(nrow) + 0.5) * CELL
    gx, gy = np.meshgrid(xs, ys)
    depth = _flood_depth(gx.ravel(), gy.ravel(), river).reshape(nrow, ncol)
    inside = shapely.contains_xy(boundary, gx, gy)
    depth = np.where(inside, depth, NODATA).astype("float32")
    return depth, (CELL, 0.0, float(x0), 0.0, -CELL, float(y1))


def _flood_share_above(geoms: np.ndarray, river: LineString, limit: float = 0.5) -> np.ndarray:
    """Share of 10 m lattice points inside each polygon deeper than `limit` metres."""
    out = np.zeros(len(geoms))
    for i, g in enumerate(geoms):
        minx, miny, maxx, maxy = g.bounds
        xs = np.arange(np.floor(minx / CELL) * CELL + CELL / 2, maxx, CELL)
        ys = np.arange(np.floor(miny / CELL) * CELL + CELL / 2, maxy, CELL)
        gx, gy = np.meshgrid(xs, ys)
        inside = shapely.contains_xy(g, gx, gy)
        if inside.any():
            dep = _flood_depth(gx[inside], gy[inside], river)
            out[i] = float((dep > limit).mean())
    return out


# --------------------------------------------------------------------------- parcels


def expected_categories(
    parcels: gpd.GeoDataFrame,
    layers: dict[str, gpd.GeoDataFrame],
    *,
    river: LineString | None = None,
) -> pd.Series:
    """
    Classify parcels the way the default rule set does (for checking the sample only).

    A compact re-statement of ``rules/default.toml`` (DOMAIN.md §1, first match wins, the
    heritage rules forced): used to size the resettlement sites while generating and by the
    tests to check that every category occurs. Flood depth is evaluated from the same
    function that makes the raster, on a 10 m lattice.

    Parameters
    ----------
    parcels
        Parcels in EPSG:4548 with canonical columns.
    layers
        The constraint layers ``heritage_core``, ``heritage_control``, ``eco_belt``,
        ``view_corridor`` and ``river``.
    river
        The river centre line (defaults to the ``river`` layer's geometry).

    Returns
    -------
    category
        Category code per parcel, aligned on `parcels.index`.
    """
    g = np.asarray(parcels.geometry.array, dtype=object)
    area = shapely.area(g)
    core = shapely.union_all(layers["heritage_core"].geometry.array)
    river = river if river is not None else shapely.union_all(layers["river"].geometry.array)

    def share(name: str) -> np.ndarray:
        z = shapely.union_all(layers[name].geometry.array)
        shapely.prepare(z)
        out = np.zeros(len(g))
        hit = shapely.intersects(z, g)
        out[hit] = shapely.area(shapely.intersection(g[hit], z)) / area[hit]
        return out

    def text(col: str) -> np.ndarray:
        return parcels[col].astype("string").fillna("").to_numpy(dtype=object)

    lu, pu, grade, struct = (
        text(c) for c in ("land_use", "planned_use", "danger_grade", "structure")
    )
    year = parcels["build_year"].astype("float64").to_numpy()
    listed = parcels["listed"].astype(bool).to_numpy()
    illegal = parcels["illegal"].astype(bool).to_numpy()
    cat = np.full(len(g), "unchanged", dtype=object)
    vacant = lu == "vacant"
    site = vacant & (area >= 5_000)
    if site.any():
        for name in ("eco_belt", "heritage_control", "view_corridor"):
            site &= share(name) < 0.01
        site &= shapely.distance(g, river) >= 30
        idx = np.flatnonzero(site)
        site[idx] = _flood_share_above(g[idx], river) <= 0.05
    cat[site] = "resettlement_site"
    upgrade = (
        (lu == "residential")
        & (np.nan_to_num(year, nan=9999) <= 2000)
        & np.isin(grade, ["A", "B"])
    )
    cat[upgrade & ~site] = "retain_upgrade"
    conflict = (pu != lu) & ~np.isin(lu, ["vacant", "green", "road", "water"])
    demolish = (
        illegal | np.isin(grade, ["C", "D"]) | np.isin(struct, ["simple", "brick_wood"]) | conflict
    )
    cat[demolish] = "demolish"
    protect = listed | shapely.intersects(core, g)
    cat[protect] = "retain_protect"
    return pd.Series(cat, index=parcels.index, name="category")


# --------------------------------------------------------------------------- main


def generate_sample_district(*, seed: int = SEED) -> SampleDistrict:
    """
    Generate the sample district: layers, flood-depth raster and project ledger.

    Parameters
    ----------
    seed
        Seed of the random generator; the shipped files use `SEED`.

    Returns
    -------
    district
        A `SampleDistrict`; layers are in EPSG:4548.
    """
    # The steps draw from `rng` in this order; reordering them changes the district.
    rng = np.random.default_rng(seed)
    grid = _road_grid(rng)
    cell_street, districts = _streets(grid.cell_polys)
    zones = _zones(grid.boundary, rng)
    blocks = _blocks(grid, zones)
    blocks.types = _block_types(blocks, rng)
    decoys = _place_decoys(blocks)
    kinds = dict(enumerate(blocks.types))
    parcels = _make_parcels(blocks, zones.core, list(range(blocks.n)), kinds, rng)
    layers = _constraint_layers(zones)
    cats = expected_categories(parcels, layers, river=zones.river)
    site_parts, capacity = _choose_sites(
        blocks, zones, parcels, cats, np.random.default_rng(seed + 1)
    )
    parcels = _rebuild_vacant(
        parcels, blocks, zones.core, decoys, site_parts, np.random.default_rng(seed + 2)
    )
    parcels = _clear_small_lots(parcels, rng)
    parcels = _order_and_name(parcels, blocks, cell_street, rng)
    cats = expected_categories(parcels, layers, river=zones.river)
    projects, ledger = _projects(parcels, cats, rng)
    units = _units(parcels, cats)
    depth, transform = _flood_raster(grid.boundary, zones.river)
    parcels_out = _parcels_layer(parcels)
    buildings = _buildings(parcels_out, np.random.default_rng(seed + 3))
    layers = {
        "districts": districts,
        "parcels": parcels_out,
        "buildings": buildings,
        "projects": projects,
        "units": units,
        **layers,
    }
    # issue 16: price bands and sale plots, from their own generator (nothing above changes)
    layers.update(money_layers(layers, ledger, np.random.default_rng(seed + 16), AS_OF))
    # issue 20: viewpoints and a landmark for the view corridors, from their own generator
    layers.update(view_layers(layers, np.random.default_rng(seed + 20), (X0, Y0)))
    info = {
        "decoys": decoys,
        "sites": sorted(site_parts),
        "capacity": capacity,
        "categories": cats,
    }
    return SampleDistrict(
        layers=layers, flood_depth=depth, flood_transform=transform, ledger=ledger, info=info
    )


# --------------------------------------------------------------------------- layout


@dataclass
class _Grid:
    """The road grid: one quadrilateral cell per block, road widths per grid line."""

    cells: list[np.ndarray]
    cell_ij: list[tuple[int, int]]
    cell_polys: np.ndarray
    boundary: Polygon
    wx: np.ndarray
    wy: np.ndarray


@dataclass
class _Zones:
    """The river and the constraint zones (polygons in EPSG:4548)."""

    river: LineString
    channel: Polygon
    eco: Polygon
    core: Polygon
    control: Polygon
    corridor: Polygon
    river_in: LineString


@dataclass
class _Blocks:
    """Block pieces (blocks minus the river channel), where they lie and their type."""

    pieces: np.ndarray
    cell: np.ndarray
    pc: np.ndarray  # a point on each piece
    d_old: np.ndarray  # distance to the old-town centre
    in_core: np.ndarray
    eco_share: np.ndarray
    north: np.ndarray  # north of the river
    d_river: np.ndarray
    area: np.ndarray
    ctrl_share: np.ndarray
    corr_share: np.ndarray
    d_hollow: np.ndarray
    free: np.ndarray  # may still become a decoy
    types: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))

    @property
    def n(self) -> int:
        return len(self.pieces)


def _road_grid(rng: np.random.Generator) -> _Grid:
    """Grid lines with growing spacing, road widths and jittered nodes; the corner cells cut."""
    xs = _lines(rng, X0, WIDTH, OLD_TOWN[0])
    ys = _lines(rng, Y0, HEIGHT, OLD_TOWN[1])
    wx, wy = _widths(rng, xs, OLD_TOWN[0]), _widths(rng, ys, OLD_TOWN[1])
    nx, ny = xs.size, ys.size
    jx = np.clip(rng.normal(0, 5.0, (nx, ny)), -12, 12)
    jy = np.clip(rng.normal(0, 5.0, (nx, ny)), -12, 12)
    jx[[0, -1], :] = 0.0
    jy[:, [0, -1]] = 0.0
    nodes_x = np.round(xs[:, None] + jx, 2)
    nodes_y = np.round(ys[None, :] + jy, 2)

    cells, cell_ij = [], []
    for i in range(nx - 1):
        for j in range(ny - 1):
            if (i < 2 and j >= ny - 4) or (i >= nx - 4 and j < 2):
                continue  # cut corners off the district outline
            cell_ij.append((i, j))
            cells.append(
                np.array(
                    [
                        (nodes_x[i, j], nodes_y[i, j]),
                        (nodes_x[i + 1, j], nodes_y[i + 1, j]),
                        (nodes_x[i + 1, j + 1], nodes_y[i + 1, j + 1]),
                        (nodes_x[i, j + 1], nodes_y[i, j + 1]),
                    ]
                )
            )
    cell_polys = np.array([Polygon(c) for c in cells], dtype=object)
    boundary = shapely.union_all(cell_polys)
    return _Grid(cells, cell_ij, cell_polys, boundary, wx, wy)


def _streets(cell_polys: np.ndarray) -> tuple[np.ndarray, gpd.GeoDataFrame]:
    """Assign each cell to the nearest street seed; return the assignment and the streets."""
    seeds = np.array([(X0 + fx * WIDTH, Y0 + fy * HEIGHT) for _, fx, fy in STREETS])
    cc = shapely.get_coordinates(shapely.centroid(cell_polys))
    cell_street = np.argmin(((cc[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2), axis=1)
    districts = gpd.GeoDataFrame(
        {
            "district_id": [f"JD{k + 1:02d}" for k in range(len(STREETS))],
            "name": [s[0] for s in STREETS],
        },
        geometry=[shapely.union_all(cell_polys[cell_street == k]) for k in range(len(STREETS))],
        crs=CRS,
    )
    return cell_street, districts


def _zones(boundary: Polygon, rng: np.random.Generator) -> _Zones:
    """River, eco belt, heritage core and control ring, view corridor."""
    river = _river_line()
    channel = river.buffer(RIVER_HALF_WIDTH)
    eco = shapely.intersection(river.buffer(ECO_HALF_WIDTH), boundary)
    ang = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    rad = (
        330.0 + 50.0 * np.sin(3 * ang + 1.0) + 25.0 * np.cos(5 * ang) + rng.normal(0, 8, ang.size)
    )
    core = (
        Polygon(
            np.column_stack(
                [OLD_TOWN[0] + rad * np.cos(ang) * 1.15, OLD_TOWN[1] + rad * np.sin(ang) * 0.9]
            )
        )
        .buffer(30)
        .buffer(-30)
    )
    core = shapely.set_precision(core, 0.01)
    control = shapely.set_precision(shapely.difference(core.buffer(220.0), core), 0.01)
    corridor_axis = LineString(
        [(OLD_TOWN[0] + 200.0, Y0 - 800.0), (OLD_TOWN[0] + 500.0, Y0 + 2_400.0)]
    )
    corridor = shapely.intersection(corridor_axis.buffer(60.0, cap_style="flat"), boundary)
    minx, miny, maxx, maxy = boundary.bounds
    river_in = shapely.clip_by_rect(river, minx - 300, miny - 300, maxx + 300, maxy + 300)
    return _Zones(river, channel, eco, core, control, corridor, river_in)


def _constraint_layers(zones: _Zones) -> dict[str, gpd.GeoDataFrame]:
    return {
        "heritage_core": gpd.GeoDataFrame(
            {"name": ["历史文化街区核心保护范围"]}, geometry=[zones.core], crs=CRS
        ),
        "heritage_control": gpd.GeoDataFrame(
            {"name": ["建设控制地带"]}, geometry=[zones.control], crs=CRS
        ),
        "eco_belt": gpd.GeoDataFrame({"name": ["滨河生态带"]}, geometry=[zones.eco], crs=CRS),
        "view_corridor": gpd.GeoDataFrame(
            {"name": ["千佛山—古城视线通廊"]}, geometry=[zones.corridor], crs=CRS
        ),
        "river": gpd.GeoDataFrame({"name": ["小清河支流"]}, geometry=[zones.river_in], crs=CRS),
    }


def _blocks(grid: _Grid, zones: _Zones) -> _Blocks:
    """Inset each cell by half its roads, cut out the river channel, and locate the pieces."""
    pieces, piece_cell = [], []
    for c, (i, j) in enumerate(grid.cell_ij):
        roads = np.array([grid.wy[j], grid.wx[i + 1], grid.wy[j + 1], grid.wx[i]]) / 2.0
        quad = _inset_quad(grid.cells[c], roads)
        for part in shapely.get_parts(quad.difference(zones.channel)):
            if shapely.get_type_id(part) == 3 and part.area >= 300.0:
                pieces.append(part)
                piece_cell.append(c)
    arr = np.array(pieces, dtype=object)
    pc = shapely.get_coordinates(shapely.point_on_surface(arr))
    in_core = shapely.contains_xy(zones.core, pc[:, 0], pc[:, 1])
    area = shapely.area(arr)
    river_y = np.interp(pc[:, 0], *shapely.get_coordinates(zones.river).T)
    return _Blocks(
        pieces=arr,
        cell=np.array(piece_cell),
        pc=pc,
        d_old=np.hypot(pc[:, 0] - OLD_TOWN[0], pc[:, 1] - OLD_TOWN[1]),
        in_core=in_core,
        eco_share=shapely.area(shapely.intersection(arr, zones.eco)) / shapely.area(arr),
        north=pc[:, 1] > river_y,
        d_river=shapely.distance(arr, zones.river),
        area=area,
        ctrl_share=shapely.area(shapely.intersection(arr, zones.control)) / area,
        corr_share=shapely.area(shapely.intersection(arr, zones.corridor)) / area,
        d_hollow=np.hypot(pc[:, 0] - HOLLOW[0], pc[:, 1] - HOLLOW[1]),
        free=~in_core,
    )


#: Where a block lies -> the types it may get and their probabilities.
_BLOCK_MIX: dict[str, tuple[list[str], list[float]]] = {
    "core": (["courtyard", "public"], [0.88, 0.12]),
    "eco_belt": (["green", "courtyard"], [0.85, 0.15]),
    "north_east": (["industrial", "walkup", "green", "public"], [0.6, 0.2, 0.1, 0.1]),
    "north": (["courtyard", "walkup", "industrial", "green"], [0.2, 0.5, 0.2, 0.1]),
    "old_town": (
        ["courtyard", "walkup", "commercial", "public", "green"],
        [0.27, 0.55, 0.1, 0.05, 0.03],
    ),
    "east": (
        ["highrise", "walkup", "commercial", "public", "green"],
        [0.45, 0.27, 0.12, 0.09, 0.07],
    ),
    "rest": (
        ["walkup", "highrise", "commercial", "public", "green", "industrial", "courtyard"],
        [0.53, 0.12, 0.11, 0.1, 0.06, 0.05, 0.03],
    ),
}


def _block_types(blocks: _Blocks, rng: np.random.Generator) -> np.ndarray:
    """Draw a type for every block from the mix of where it lies (`_BLOCK_MIX`)."""
    types = np.empty(blocks.n, dtype=object)
    u = rng.random(blocks.n)
    for b in range(blocks.n):
        x = blocks.pc[b, 0] - X0
        if blocks.in_core[b]:
            where = "core"
        elif blocks.eco_share[b] > 0.4:
            where = "eco_belt"
        elif blocks.north[b] and x > 1_800:
            where = "north_east"
        elif blocks.north[b]:
            where = "north"
        elif blocks.d_old[b] < 650:
            where = "old_town"
        elif x > 2_500:
            where = "east"
        else:
            where = "rest"
        opts, p = _BLOCK_MIX[where]
        types[b] = opts[int(np.searchsorted(np.cumsum(p), u[b] * 0.999999))]
    return types


def _place_decoys(blocks: _Blocks) -> dict[str, int]:
    """Turn one block each into vacant land the rules must refuse as a resettlement site."""

    def take(mask: np.ndarray, key: np.ndarray) -> int:
        cand = np.flatnonzero(mask & blocks.free & (blocks.area >= 6_000))
        b = int(cand[np.argmin(key[cand])])
        blocks.types[b] = "vacant"
        blocks.free[b] = False
        return b

    eco, d_river = blocks.eco_share, blocks.d_river
    return {
        "eco_belt": take(eco > 0.3, -eco),
        "heritage_control": take(blocks.ctrl_share > 0.5, -blocks.ctrl_share),
        "view_corridor": take(
            (blocks.corr_share > 0.3) & (blocks.d_old > 700), -blocks.corr_share
        ),
        "flood": take((eco == 0) & (d_river > 130) & (d_river < 260), d_river),
        "hollow": take(eco == 0, blocks.d_hollow),
    }


# --------------------------------------------------------------------------- parcels


def _make_parcels(
    blocks: _Blocks,
    core: Polygon,
    block_ids: list[int],
    kinds_of: dict[int, str],
    r: np.random.Generator,
    pre: tuple[np.ndarray, np.ndarray] | None = None,
) -> gpd.GeoDataFrame:
    """Split blocks into parcels of their type's size (or take `pre` pieces); draw attributes."""
    if pre is None:
        kinds_b = np.array([kinds_of[b] for b in block_ids], dtype=object)
        lo = np.array([_SIZES[k][0] for k in kinds_b])
        hi = np.array([_SIZES[k][1] for k in kinds_b])
        g, src = _split(blocks.pieces[np.asarray(block_ids, dtype=np.intp)], lo, hi, r)
        g, blk_a = shapely.set_precision(g, 0.01), np.asarray(block_ids)[src]
    else:
        g, blk_a = pre
    kinds_a = np.array([kinds_of[int(b)] for b in blk_a], dtype=object)
    keep = (shapely.get_type_id(g) == 3) & (shapely.area(g) >= 20.0)
    g, blk_a, kinds_a = g[keep], blk_a[keep], kinds_a[keep]
    pts = shapely.get_coordinates(shapely.point_on_surface(g))
    in_core = shapely.contains_xy(core, pts[:, 0], pts[:, 1])
    attrs = _attributes(kinds_a, shapely.area(g), in_core, r)
    attrs["block"] = blk_a
    attrs["kind"] = kinds_a
    return gpd.GeoDataFrame(attrs, geometry=g, crs=CRS)


def _site_order(
    blocks: _Blocks, zones: _Zones, parcels: gpd.GeoDataFrame, cats: pd.Series
) -> list[int]:
    """Blocks fit for a resettlement site, alternately near and far from the demolitions."""
    dem_pts = parcels[cats == "demolish"]
    w = dem_pts["households"].to_numpy(dtype=float)
    dc = shapely.get_coordinates(shapely.centroid(np.asarray(dem_pts.geometry.array)))
    centre = (dc * w[:, None]).sum(axis=0) / w.sum()
    d_dem = np.hypot(blocks.pc[:, 0] - centre[0], blocks.pc[:, 1] - centre[1])
    ok_site = (
        blocks.free
        & np.isin(blocks.types, ["industrial", "commercial", "walkup", "highrise", "public"])
        & (blocks.eco_share == 0)
        & (blocks.ctrl_share == 0)
        & (blocks.corr_share == 0)
        & (blocks.d_river > 650)
        & (blocks.d_hollow > 600)
        & (blocks.area >= 12_000)
        & (shapely.distance(blocks.pieces, zones.core.buffer(220.0)) > 50)
    )
    near = [
        int(b)
        for b in np.flatnonzero(ok_site & (d_dem < 1_500))[
            np.argsort(d_dem[ok_site & (d_dem < 1_500)])
        ]
    ]
    far = [
        int(b)
        for b in np.flatnonzero(ok_site & (d_dem > 1_900))[
            np.argsort(-d_dem[ok_site & (d_dem > 1_900)])
        ]
    ]
    order = [b for pair in zip(near, far, strict=False) for b in pair]
    return order + near[len(far) :] + far[len(near) :]


def _choose_sites(
    blocks: _Blocks,
    zones: _Zones,
    parcels: gpd.GeoDataFrame,
    cats: pd.Series,
    site_rng: np.random.Generator,
) -> tuple[dict[int, list[Any]], int]:
    """Convert blocks into sites until their capacity covers ~95 % of the flats needed."""
    dem_hh = parcels["households"].where(cats == "demolish", 0).groupby(parcels["block"]).sum()
    dem_hh = dem_hh.reindex(list(range(blocks.n)), fill_value=0).to_numpy()
    order = _site_order(blocks, zones, parcels, cats)
    site_parts: dict[int, list[Any]] = {}
    capacity = 0
    demand_hh = int(dem_hh.sum())
    for b in order:
        lo, hi = _SIZES["vacant"]
        parts, _ = _split(blocks.pieces[[b]], np.array([lo]), np.array([hi]), site_rng)
        parts = shapely.set_precision(parts, 0.01)
        areas = shapely.area(parts)
        cap = int(np.floor(areas[areas >= 5_000] * UNITS_PER_M2).sum())
        flats = (demand_hh - dem_hh[b]) * (1 - CASH_SHARE)
        if capacity + cap > 1.05 * flats:
            continue
        site_parts[b] = parts
        capacity += cap
        demand_hh -= int(dem_hh[b])
        blocks.types[b] = "vacant"
        if capacity >= 0.92 * demand_hh * (1 - CASH_SHARE):
            break
    return site_parts, capacity


def _rebuild_vacant(
    parcels: gpd.GeoDataFrame,
    blocks: _Blocks,
    core: Polygon,
    decoys: dict[str, int],
    site_parts: dict[int, list[Any]],
    redo_rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """Replace the parcels of the decoy and site blocks with vacant parcels."""
    decoy_blocks, site_blocks = sorted(decoys.values()), sorted(site_parts)
    vacant = dict.fromkeys(decoy_blocks + site_blocks, "vacant")
    site_geoms = (
        np.concatenate([site_parts[b] for b in site_blocks]),
        np.concatenate([[b] * len(site_parts[b]) for b in site_blocks]).astype(np.intp),
    )
    return pd.concat(
        [
            parcels[~parcels["block"].isin(list(vacant))],
            _make_parcels(blocks, core, decoy_blocks, vacant, redo_rng),
            _make_parcels(blocks, core, site_blocks, vacant, redo_rng, pre=site_geoms),
        ],
        ignore_index=True,
    )


def _clear_small_lots(parcels: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Clear a few walk-up parcels (below the site minimum) into vacant lots."""
    lots = np.flatnonzero(
        (parcels["kind"] == "walkup").to_numpy()
        & (shapely.area(np.asarray(parcels.geometry.array)) > 2_500)
        & (shapely.area(np.asarray(parcels.geometry.array)) < 4_800)
    )
    lots = np.sort(rng.choice(lots, size=min(8, lots.size), replace=False))
    blank = {
        "land_use": "vacant",
        "planned_use": "residential",
        "build_year": pd.NA,
        "floors": pd.NA,
        "structure": None,
        "danger_grade": None,
        "households": 0,
        "population": 0,
        "floor_area": 0.0,
        "listed": False,
        "illegal": False,
        "kind": "vacant",
    }
    for col, v in blank.items():
        s = (
            parcels[col].astype(object)
            if col in ("structure", "danger_grade", "planned_use", "land_use", "kind")
            else parcels[col]
        )
        s = s.copy()
        s.iloc[lots] = v
        parcels[col] = s
    return parcels


def _order_and_name(
    parcels: gpd.GeoDataFrame, blocks: _Blocks, cell_street: np.ndarray, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Order parcels south-west to north-east within each block; ids, names, streets."""
    pts = shapely.get_coordinates(shapely.point_on_surface(np.asarray(parcels.geometry.array)))
    parcels["street"] = np.array(
        [STREETS[k][0] for k in cell_street[blocks.cell[parcels["block"]]]], dtype=object
    )
    parcels = parcels.iloc[
        np.lexsort((pts[:, 0], np.round(pts[:, 1], -2), parcels["block"].to_numpy()))
    ]
    parcels = parcels.reset_index(drop=True)
    parcels.insert(0, "parcel_id", [f"DK{k + 1:05d}" for k in range(len(parcels))])
    names, communities = _names(parcels, rng)
    parcels.insert(1, "name", names)
    parcels["community"] = communities
    return parcels


_PARCEL_COLUMNS = [
    "parcel_id",
    "name",
    "land_use",
    "planned_use",
    "build_year",
    "floors",
    "structure",
    "danger_grade",
    "households",
    "population",
    "floor_area",
    "street",
    "community",
    "listed",
    "illegal",
]


#: Planned floor area of the sample units as a multiple of their demolished floor area
#: (None: not yet planned), in the order the units are chosen.
_UNIT_PLANNED = (1.6, 2.6, None, 1.2, 1.8, None, 2.3, 1.0)
#: Blocks within this gap (m, across a road) of a unit's core block join the unit.
_UNIT_GAP = 45.0
#: At most this many neighbouring blocks join a unit.
_UNIT_NEIGHBOURS = 2


def _units(parcels: gpd.GeoDataFrame, cats: pd.Series) -> gpd.GeoDataFrame:
    """
    Renewal units (更新单元): a block with demolition and up to two neighbouring blocks.

    The core blocks are the blocks holding demolition parcels, taken alternately by the
    highest and the lowest expected demolition share (non-exempt demolished ÷ existing
    floor area), so that some units keep the 63号文 20 % limit and some break it; each
    unit adds its nearest unused neighbouring blocks across a road, so it mixes demolition
    with retention and protection. A unit's polygon is its blocks' parcels with the roads
    between them (a closing by half the gap), cut by the earlier units. Planned floor area
    is `_UNIT_PLANNED` × the demolished floor area (some above 拆建比 2, some not planned).
    """
    block = parcels["block"].to_numpy()
    floor = parcels["floor_area"].to_numpy(dtype=float)
    dem = (cats == "demolish").to_numpy()
    grade = parcels["danger_grade"].astype("string").fillna("").to_numpy(dtype=object)
    exempt = dem & (parcels["illegal"].astype(bool).to_numpy() | np.isin(grade, ["C", "D"]))
    frame = pd.DataFrame(
        {
            "block": block,
            "floor": floor,
            "dem": np.where(dem, floor, 0.0),
            "counted": np.where(dem & ~exempt, floor, 0.0),
        }
    )
    per = frame.groupby("block").agg(
        floor=("floor", "sum"), dem=("dem", "sum"), counted=("counted", "sum"),
        n=("floor", "size"),
    )  # fmt: skip
    ids = np.asarray(per.index)
    shapes = np.array(
        [shapely.union_all(np.asarray(parcels.geometry.array)[block == b]) for b in ids]
    )
    core = per[(per["dem"] > 0) & (per["n"] >= 6)]
    core = core.assign(share=core["counted"] / core["floor"]).sort_values("share")
    order = [b for pair in zip(core.index[::-1], core.index, strict=True) for b in pair]
    used: set[int] = set()
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    taken = shapely.Polygon()
    for b in dict.fromkeys(order):
        if len(rows) == len(_UNIT_PLANNED):
            break
        if int(b) in used:
            continue
        k = int(np.flatnonzero(ids == b)[0])
        gaps = shapely.distance(shapes[k], shapes)
        near = [
            int(ids[j])
            for j in np.argsort(gaps)
            if 0 < gaps[j] <= _UNIT_GAP and int(ids[j]) not in used
        ][:_UNIT_NEIGHBOURS]
        members = [int(b), *near]
        used.update(members)
        pos = np.isin(ids, members)
        half = _UNIT_GAP / 2
        shape = shapely.union_all(shapes[pos]).buffer(half, join_style="mitre")
        shape = shapely.difference(shape.buffer(-half, join_style="mitre"), taken)
        taken = shapely.union(taken, shape)
        sub = parcels[block == b]
        place = sub["community"].dropna()
        place = place.iloc[0] if len(place) else sub["name"].dropna().iloc[0]
        factor = _UNIT_PLANNED[len(rows)]
        demolished = float(per.loc[members, "dem"].sum())
        rows.append(
            {
                "unit_id": f"DY{len(rows) + 1:02d}",
                "name": f"{place}更新单元",
                "street": sub["street"].mode().iloc[0],
                "planned_floor_area": np.nan if factor is None else round(factor * demolished, -2),
            }
        )
        geoms.append(shape)
    info = pd.DataFrame(rows)
    return gpd.GeoDataFrame(
        {
            "unit_id": info["unit_id"].astype("string"),
            "name": info["name"].astype("string"),
            "street": info["street"].astype("string"),
            "planned_floor_area": info["planned_floor_area"].astype(float),
        },
        geometry=shapely.set_precision(np.array(geoms, dtype=object), 0.01),
        crs=parcels.crs,
    )


def _parcels_layer(parcels: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the shipped parcel layer: canonical columns, text columns as strings."""
    out = gpd.GeoDataFrame(
        parcels[_PARCEL_COLUMNS].copy(), geometry=parcels.geometry.array, crs=CRS
    )
    for c in (
        "name",
        "land_use",
        "planned_use",
        "structure",
        "danger_grade",
        "street",
        "community",
    ):
        out[c] = out[c].astype("string")
    return out
