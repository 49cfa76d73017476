"""
The overview of a whole city's parcels on a meeting map: the dominant class per grid cell.

At a million parcels every parcel drawn at the city's extent is a pixel or less, and the
class colours wash out into grey. From `settings.map_overview_min_parcels` parcels,
`geo_renewal.maps.renewal_map` therefore draws, when zoomed out, a square grid (cells of a
round size in metres) in the colour of the class with the largest area in each cell, each
cell hovered for the parcels and area of every class in it; from `switch_zoom` on, the
parcels themselves, which the page keeps compressed in spatial chunks and decodes only where
the view reaches (`geo_renewal._mapdata.layer_chunks`). Counts and areas come from the data
(every parcel is in exactly one cell; the cells' sums are checked against the legend's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from geo_renewal import _mapdata as md
from geo_renewal import settings
from geo_renewal._errors import ConservationError
from geo_renewal._folium import elements
from geo_renewal._html import escape
from geo_renewal.crs import to_working
from geo_renewal.text import say

if TYPE_CHECKING:
    import folium

    from geo_renewal._maplayer import Ctx

#: Cells along the longer side of the parcels' extent, at most.
MAX_CELLS = 160

#: Cell sizes (metres) the grid chooses from: the smallest that keeps within `MAX_CELLS`.
CELL_SIZES = (25, 50, 100, 200, 250, 500, 1_000, 2_000, 2_500, 5_000, 10_000, 20_000, 50_000)

#: Parcels switch on where the typical parcel is this many pixels wide.
SWITCH_PX = 4.0


def use_overview(n_parcels: int, overview: bool | None) -> bool:
    """
    Tell whether a map of `n_parcels` draws the overview (`overview` None: by the setting).

    Examples
    --------
    >>> use_overview(1_000_000, None), use_overview(1_000_000, False), use_overview(10, True)
    (True, False, True)
    """
    if overview is not None:
        return bool(overview)
    return n_parcels >= settings.map_overview_min_parcels


@dataclass
class Grid:
    """The overview cells (working CRS) with their counts and areas per class."""

    cells: gpd.GeoDataFrame  # one row per non-empty cell: dominant, n, area, n_<k>, a_<k>
    size: float  # cell side, metres
    order: list[str]  # class codes, legend order (columns n_0, a_0, … follow it)


def cell_size(width: float, height: float) -> float:
    """
    Return the smallest of `CELL_SIZES` that covers `width` × `height` m in `MAX_CELLS`.

    Examples
    --------
    >>> cell_size(40_000, 30_000), cell_size(800, 600)
    (250, 25)
    """
    side = max(width, height, 1.0)
    return next((c for c in CELL_SIZES if side / c <= MAX_CELLS), CELL_SIZES[-1])


def overview_grid(
    parcels: gpd.GeoDataFrame, codes: np.ndarray, areas: np.ndarray, order: list[str]
) -> Grid:
    """
    Count parcels and sum their areas per grid cell and class; the dominant class by area.

    A parcel belongs to the cell of the centre of its bounding box (working CRS), so each is
    counted once; the totals of the cells are checked against the parcels'. Parcels without
    a geometry are in no cell (the legend counts them; the map cannot draw them).

    Examples
    --------
    >>> from shapely import box
    >>> p = gpd.GeoDataFrame(geometry=[box(500000, 4e6, 500010, 4e6 + 10),
    ...     box(500020, 4e6, 500040, 4e6 + 10), box(509000, 4e6, 509010, 4e6 + 10)],
    ...     crs="EPSG:4548")
    >>> g = overview_grid(p, np.array(["a", "b", "a"]), np.array([100., 200., 100.]), ["a", "b"])
    >>> g.size, g.cells["dominant"].tolist(), g.cells["n"].tolist()
    (100, ['b', 'a'], [2, 1])
    """
    work = to_working(parcels.geometry)
    b = shapely.bounds(np.asarray(work.array))
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    drawn = np.isfinite(cx) & np.isfinite(cy)  # no geometry: in the legend, in no cell
    cx, cy, codes, areas = cx[drawn], cy[drawn], np.asarray(codes)[drawn], np.asarray(areas)[drawn]
    if not drawn.any():
        cols = ["dominant", "n", "area", *(f"{x}_{k}" for x in "na" for k in range(len(order)))]
        empty = gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=work.crs)
        return Grid(cells=empty, size=float(CELL_SIZES[0]), order=list(order))
    size = cell_size(float(np.ptp(cx)) if len(cx) else 0.0, float(np.ptp(cy)) if len(cy) else 0.0)
    x0, y0 = math.floor(cx.min() / size) * size, math.floor(cy.min() / size) * size
    ix = np.floor((cx - x0) / size).astype(np.int64)
    iy = np.floor((cy - y0) / size).astype(np.int64)
    cell_id, cell = np.unique(iy * (int(ix.max()) + 1) + ix, return_inverse=True)
    klass = pd.Index(order).get_indexer(codes)
    n_cells, n_k = len(cell_id), len(order)
    counts = np.zeros((n_cells, n_k), dtype=np.int64)
    sums = np.zeros((n_cells, n_k))
    np.add.at(counts, (cell, klass), 1)
    np.add.at(sums, (cell, klass), areas)
    _check_totals(counts, sums, klass, areas, n_k)
    first = np.unique(cell, return_index=True)[1]
    gx, gy = x0 + ix[first] * size, y0 + iy[first] * size
    cells = gpd.GeoDataFrame(
        {
            "dominant": np.asarray(order, dtype=object)[np.argmax(sums, axis=1)],
            "n": counts.sum(axis=1),
            "area": sums.sum(axis=1),
            **{f"n_{k}": counts[:, k] for k in range(n_k)},
            **{f"a_{k}": sums[:, k] for k in range(n_k)},
        },
        geometry=shapely.box(gx, gy, gx + size, gy + size),
        crs=work.crs,
    )
    return Grid(cells=cells, size=size, order=list(order))


def _check_totals(
    counts: np.ndarray, sums: np.ndarray, klass: np.ndarray, areas: np.ndarray, n_k: int
) -> None:
    """Refuse an overview whose cells do not add up to the parcels (per class)."""
    want_n = np.bincount(klass, minlength=n_k)
    want_a = np.bincount(klass, weights=areas, minlength=n_k)
    if (klass < 0).any() or not np.array_equal(counts.sum(axis=0), want_n):
        msg = "internal error: the map overview lost parcels; please report this."
        raise ConservationError(msg)
    if not np.allclose(sums.sum(axis=0), want_a, rtol=1e-9, atol=1e-6):
        msg = "internal error: the map overview's areas differ from the parcels'; please report."
        raise ConservationError(msg)


def switch_zoom(parcels: gpd.GeoDataFrame) -> float:
    """
    Return the zoom from which parcels are drawn: the typical parcel `SWITCH_PX` wide.

    Examples
    --------
    >>> from shapely import box
    >>> p = gpd.GeoDataFrame(geometry=[box(500000, 4063000, 500036, 4063036)], crs="EPSG:4548")
    >>> round(switch_zoom(p), 1)
    13.8
    """
    geo = parcels.geometry
    arr = np.asarray(geo.array)
    geo = geo[~(shapely.is_missing(arr) | shapely.is_empty(arr))]
    if not len(geo):
        return 16.0  # nothing to draw: any zoom
    sample = geo.iloc[:: max(1, len(geo) // 2000)]
    work = np.asarray(to_working(sample).array)
    b = shapely.bounds(work)
    width = float(np.median(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])))
    lat = float(np.median(shapely.get_y(shapely.centroid(np.asarray(sample.to_crs(4326).array)))))
    metres_per_px_z0 = 156_543.03392 * math.cos(math.radians(lat))
    return round(math.log2(SWITCH_PX * metres_per_px_z0 / max(width, 0.01)), 1)


def add_overview(
    m: folium.Map,
    ctx: Ctx,
    grid: Grid,
    colors: dict[str, str],
    labels: dict[str, str],
    zoom: float,
) -> str:
    """
    Add the overview layer (drawn below `zoom`); returns the legend note (HTML).

    `labels` are the class labels (plain text) by code, `colors` their colours.
    """
    cells, lang = grid.cells, ctx.lang
    prep = md.prepare(cells, "overview", tolerance=0.0, precision=ctx.precision, gcj02=ctx.gcj02)
    columns = _cell_texts(grid, labels)
    style_keys = pd.Index(grid.order).get_indexer(cells["dominant"])
    styles = [
        {"fillColor": colors[c], "fillOpacity": 0.75, "color": colors[c], "weight": 0.3}
        for c in grid.order
    ]
    fields = [
        escape(say("map.overview.dominant", lang)),
        escape(say("map.count", lang)),
        escape(say("map.area_ha", lang)),
        *(escape(say("map.overview.class", lang, label=labels[c])) for c in grid.order),
    ]
    size = f"{grid.size:g}"
    tip = md.field_spec(
        fields, list(range(len(fields))), escape(say("map.overview.cell", lang, cell=size)), None
    )
    spec = md.layer_spec({"weight": 0.3, "fillOpacity": 0.75}, styles, tip=tip)
    spec[md.ZOOM_RANGE] = [None, zoom]
    data = md.layer_data(prep, ctx.precision, columns=columns, style_keys=style_keys)
    name = say("map.overview", lang, cell=size)
    ctx.layer_names.add(name)
    elements().DataLayer(
        escape(name), spec, data, n_features=len(prep.rows), role="overview"
    ).add_to(m)
    ctx.n_features += len(prep.rows)
    n = f"{int(cells['n'].sum()):,}"
    note = say("map.overview.note", lang, n=n, cell=size, zoom=f"{math.ceil(zoom)}")
    return f'<div class="gr-note">{escape(note)}</div>'


def _cell_texts(grid: Grid, labels: dict[str, str]) -> list[list[str]]:
    """Escaped tooltip texts per cell: dominant class, parcels, ha, then per class n / ha."""
    c = grid.cells
    out = [
        [escape(labels[k]) for k in c["dominant"]],
        [f"{v:,}" for v in c["n"].tolist()],
        [f"{v / 10_000:,.2f}" for v in c["area"].tolist()],
    ]
    for k in range(len(grid.order)):
        n, a = c[f"n_{k}"].tolist(), c[f"a_{k}"].tolist()
        out.append([f"{x:,} / {y / 10_000:,.2f}" if x else "" for x, y in zip(n, a, strict=True)])
    return out
