"""
Printed maps (挂图作战): a classification, resettlement or progress map with a full map frame.

`print_map` draws a run's layers with matplotlib on an A-series sheet — 图名, 图例 with
counts and 公顷, a scale bar and the stated ratio 1:N true at the paper size, 指北针,
坐标系, 制图单位, 制图日期, 数据来源, 截至日期 for progress, an optional coordinate grid —
and writes vector PDF or SVG (fonts embedded) or PNG. `compose_page` builds one page and is
shared with the atlas (`geo_renewal.atlas`). See docs/guide/print.md.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo_renewal._compat import import_optional
from geo_renewal._errors import InputError
from geo_renewal._print_frame import (
    Layout,
    crs_text,
    draw_frame,
    draw_grid,
    draw_legend,
    draw_lines,
    draw_north_arrow,
    draw_scale_bar,
    fit_scale,
    layout_below,
    page_layout,
    panel_axes,
    parse_scale,
)
from geo_renewal._print_layers import Scene, draw_map_layers, label_candidates, scene_from
from geo_renewal.text import say

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    import geopandas as gpd

__all__ = ["FORMATS", "MAPS", "Page", "compose_page", "print_map"]

#: The maps that can be printed.
MAPS = ("classification", "resettlement", "progress")
#: Output formats by file suffix.
FORMATS = ("pdf", "svg", "png")

#: A side-panel block: draws into the panel axes from ``top`` (mm) down, returns its height.
Panel = Callable[["Axes", float, float, float], float]


@dataclass
class Page:
    """
    What one composed page shows, for tests and the atlas.

    Attributes
    ----------
    figure
        The matplotlib figure (paper-sized).
    ax
        The map's axes (metres of the scene's CRS).
    layout
        Its boxes in millimetres.
    scale
        The stated denominator N (1:N).
    bar_m
        The scale bar's length in metres.
    fits
        Whether the whole extent is inside the map.
    labels_left_out
        Labels not drawn (they would have collided).
    legend
        The legend texts, in order.
    """

    figure: Figure
    layout: Layout
    ax: Axes
    scale: int
    bar_m: float
    fits: bool
    labels_left_out: int
    legend: list[str] = field(default_factory=list)


def _titles(scene: Scene, kind: str) -> str:
    name = scene.name or say("print.parcels", scene.lang)
    if kind == "classification":
        return say("workflow.map.classes", scene.lang, name=name)
    if kind == "resettlement":
        return say("workflow.map.resettlement", scene.lang, name=name)
    as_of = scene.as_of.isoformat() if scene.as_of else ""
    return say("workflow.map.progress", scene.lang, name=name, as_of=as_of).strip()


def _notes(scene: Scene, kind: str, n: int, fits: bool, fit_n: int, left_out: int) -> list[str]:
    lang = scene.lang
    lines = [
        say("print.scale", lang, n=f"{n:,}"),
        say("print.crs", lang, crs=crs_text(scene.crs)),
    ]
    if scene.office:
        lines.append(say("print.office", lang, office=scene.office))
    lines.append(say("print.date", lang, date=dt.date.today().isoformat()))
    if scene.sources:
        lines.append(
            say(
                "print.sources",
                lang,
                sources=say("print.list_sep", lang).join(scene.sources),
            )
        )
    if kind == "progress" and scene.as_of is not None:
        lines.append(say("print.as_of", lang, as_of=scene.as_of.isoformat()))
    if not fits:
        lines.append(say("print.not_fit", lang, n=f"{n:,}", fit=f"{fit_n:,}"))
    if left_out:
        lines.append(say("print.labels_left_out", lang, n=left_out))
    return lines


def _bounds(scene: Scene, kind: str) -> tuple[float, float, float, float]:
    roles = {
        "classification": ("classified", "districts", "units"),
        "resettlement": ("demand", "sites", "flows", "districts"),
        "progress": ("projects", "districts"),
    }[kind]
    import numpy as np

    boxes = [scene.layers[r].total_bounds for r in roles if scene.get(r) is not None]
    if not boxes:
        boxes = [g.total_bounds for g in scene.layers.values()]
    b = np.asarray(boxes, dtype=float)
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


def _check_kind(scene: Scene, kind: str) -> None:
    need = {
        "classification": ("classified",),
        "resettlement": ("demand", "sites"),
        "progress": ("projects",),
    }[kind]
    if any(scene.get(r) is not None for r in need):
        return
    fix = {
        "classification": "pass classified parcels",
        "resettlement": "pass a run whose plan demolishes parcels (run_plan), or choose --map classification",
        "progress": "pass a run with a ledger and project polygons (run_plan), or choose --map classification",
    }[kind]
    msg = f"`map={kind!r}` has nothing to draw: the input has no {' or '.join(need)} layer; {fix}."
    raise InputError(msg)


def compose_page(
    scene: Scene,
    kind: str,
    *,
    paper: str = "A3",
    landscape: bool = False,
    scale: int | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    bounds: Sequence[float] | None = None,
    grid: bool = False,
    basemap: str | os.PathLike[str] | None = None,
    panels: Sequence[Panel] = (),
    dpi: float = 100,
) -> Page:
    """
    Compose one printed page of map `kind` (frame, map, legend, scale, notes, extra panels).

    Parameters
    ----------
    scene
        The layers (`geo_renewal._print_layers.scene_from`).
    kind
        One of `MAPS`.
    paper, landscape
        The sheet.
    scale
        Stated denominator, or None to fit the extent.
    title, subtitle
        图名 (default: the HTML map's title) and a line below it.
    bounds
        Extent to show (metres of the scene's CRS); default: the map's layers.
    grid
        Draw a coordinate grid with ticks.
    basemap
        A local GeoTIFF drawn under the layers, or None (no tiles: printing is offline).
    panels
        Extra side-panel blocks, drawn below the notes: each is called as
        ``panel(ax, top_mm, width_mm, k)`` and returns the height it used (e.g. a chart).
    dpi
        Figure dpi (only PNG output and label measuring use it).

    Returns
    -------
    page
        The figure and what it shows (`Page`).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    box = bounds if bounds is not None else _bounds(scene, kind)
    lay = page_layout(paper, landscape=landscape)
    fig = Figure(figsize=(lay.width / 25.4, lay.height / 25.4), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes(lay.frac(lay.map_box))
    # one map (not an atlas page, no stated scale, no base map): the larger print wins
    fitted = bounds is None and not panels and scale is None and basemap is None
    if fitted:
        main, other = draw_map_layers(ax, scene, kind, lay.k)
        lay = _fitted_layout(lay, box, len(main) + 1, len(other))
        ax.set_position(lay.frac(lay.map_box))
    draw_frame(fig, lay, title or _titles(scene, kind), subtitle)
    n, xlim, ylim, fits = fit_scale(box, lay.map_box[2:], scale=scale)
    fit_n = fit_scale(box, lay.map_box[2:])[0]
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("auto")
    _map_axes_style(ax, lay, grid=grid, n=n)
    if basemap is not None:
        _draw_basemap(ax, basemap, scene)
    if not fitted:
        main, other = draw_map_layers(ax, scene, kind, lay.k)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    bar = draw_scale_bar(ax, n, lay, scene.lang)
    draw_north_arrow(ax, n, lay)
    from geo_renewal._print_labels import place_labels

    missed: list[str] = []  # overdue projects whose label fits nowhere: named in the notes
    left_out = place_labels(ax, label_candidates(scene, kind, lay.k), k=lay.k, missed=missed)
    notes = _notes(scene, kind, n, fits, fit_n, left_out)
    if missed:
        ids = say("print.list_sep", scene.lang).join(missed)
        notes.append(say("print.overdue_left_out", scene.lang, n=len(missed), ids=ids))
    legend = _panel(fig, lay, scene, kind, main, other, notes, panels)
    return Page(fig, lay, ax, n, bar, fits, left_out, legend)


def _fitted_layout(lay: Layout, box: Sequence[float], main_rows: int, other_rows: int) -> Layout:
    """
    Return the layout that prints `box` largest: the panel beside the map, or under it.

    A district wider than the map column of a portrait sheet leaves bands of empty paper
    above and below it; with the panel as a band under a full-width map (legend, other
    layers and notes side by side, as high as the longest of them) it prints larger.
    """
    k = lay.k
    legend_h = 12.5 * k + (max(main_rows, other_rows) + 1) * 4.6 * k  # as `draw_legend`
    notes_h = 6.0 * k + 12 * 3.5 * k  # about nine notes, some wrapped
    below = layout_below(lay, min(max(legend_h, notes_h), 0.45 * lay.height))
    if fit_scale(box, below.map_box[2:])[0] < fit_scale(box, lay.map_box[2:])[0]:
        return below
    return lay


def _map_axes_style(ax: Axes, lay: Layout, *, grid: bool, n: int) -> None:
    for spine in ax.spines.values():
        spine.set_linewidth(0.9 * lay.k)
    if grid:
        draw_grid(ax, n, lay)
    else:
        ax.set_xticks([])
        ax.set_yticks([])


def _panel(
    fig: Figure,
    lay: Layout,
    scene: Scene,
    kind: str,
    main: list[Any],
    other: list[Any],
    notes: list[str],
    panels: Sequence[Panel],
) -> list[str]:
    lang, k = scene.lang, lay.k
    pax = panel_axes(fig, lay)
    width, top = lay.panel_box[2], lay.panel_box[3]
    columns = [pax]
    if lay.panel_below:  # a band under the map: legend, other layers and notes side by side
        columns = _band_columns(fig, lay, 3 if other else 2)
        width = columns[0].get_xlim()[1]
    header = {
        "classification": (
            say("map.category", lang),
            say("map.count", lang),
            say("map.area_ha", lang),
        ),
        "progress": (say("map.stage", lang), say("print.count", lang)),
        "resettlement": ("", say("print.count", lang), say("print.households", lang)),
    }[kind]
    tops = [top] * len(columns)
    col = 0
    tops[col] -= draw_legend(
        columns[col], tops[col], width, k, say("map.legend", lang), main, header=header
    )
    if other:
        col = min(col + 1, len(columns) - 1)
        tops[col] -= draw_legend(
            columns[col], tops[col], width, k, say("print.legend_other", lang), other
        )
    col = len(columns) - 1
    tops[col] -= draw_lines(columns[col], tops[col], k, notes, width=width)
    for panel in panels:
        tops[col] -= panel(columns[col], tops[col], width, k)
    if min(tops) < 0:  # more than the panel holds: cut at its frame (never into the margin)
        for artist in (a for c in columns for a in (*c.texts, *c.patches, *c.lines)):
            artist.set_clip_on(True)
        msg = say("print.panel_full", lang, mm=f"{-min(tops):.0f}")
        warnings.warn(msg, UserWarning, stacklevel=4)
    return [r.label for r in (*main, *other)]


def _band_columns(fig: Figure, lay: Layout, n: int) -> list[Axes]:
    """Split the band under the map into `n` columns (axes in millimetres, no frame line)."""
    x, y, w, h = lay.panel_box
    out = []
    for i in range(n):
        ax = panel_axes(fig, lay, (x + i * w / n, y, w / n, h))
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.patch.set_alpha(0.0)
        out.append(ax)
    return out


def _draw_basemap(ax: Axes, path: str | os.PathLike[str], scene: Scene) -> None:
    """Draw a local GeoTIFF under the layers, warped to the map's extent and CRS."""
    import numpy as np

    rasterio = import_optional("rasterio", purpose="a printed map's basemap")
    from rasterio.transform import from_bounds
    from rasterio.warp import Resampling, reproject

    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    w = 1600
    h = max(1, int(w * (y1 - y0) / (x1 - x0)))
    with rasterio.open(path) as src:
        bands = min(src.count, 3)
        dest = np.zeros((bands, h, w), dtype=np.float32)
        for b in range(bands):
            reproject(
                rasterio.band(src, b + 1),
                dest[b],
                dst_transform=from_bounds(x0, y0, x1, y1, w, h),
                dst_crs=scene.crs,
                resampling=Resampling.bilinear,
            )
    img = dest.transpose(1, 2, 0)
    lo, hi = np.nanpercentile(img, 2), np.nanpercentile(img, 98)
    img = np.clip((img - lo) / max(hi - lo, 1e-9), 0, 1)
    if bands == 1:
        img = img[..., 0]
    ax.imshow(img, extent=(x0, x1, y0, y1), origin="upper", cmap="Greys", alpha=0.45, zorder=0)


def _out_format(out: str | os.PathLike[str]) -> str:
    suffix = Path(out).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        msg = (
            f"`out` must end in .pdf, .svg or .png, got {str(out)!r}; name the file e.g. map.pdf."
        )
        raise InputError(msg)
    return suffix


def _texts(scene: Scene) -> list[str]:
    texts: list[str] = [*scene.sources, scene.name or "", scene.office or ""]
    for role in ("districts", "units", "sites", "projects"):
        gdf = scene.get(role)
        if gdf is not None:
            for col in ("name", "project_id", "street"):
                if col in gdf.columns:
                    texts.extend(str(v) for v in gdf[col].dropna().unique()[:500])
    return texts


def save_figure(fig: Figure, out: str | os.PathLike[str], *, dpi: float = 200) -> Path:
    """Write a page to `out` (PDF, SVG or PNG by its suffix) atomically."""
    from geo_renewal._print_fonts import embed_subset
    from geo_renewal.io import atomic_write

    fmt = _out_format(out)
    path = Path(out)
    if fmt == "pdf":
        embed_subset(fig)
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, metadata=_metadata(fmt))
    return path


def _metadata(fmt: str) -> dict[str, Any] | None:
    if fmt == "pdf":
        return {"Creator": "geo-renewal", "Producer": "geo-renewal (matplotlib)"}
    if fmt == "svg":
        return {"Creator": "geo-renewal"}
    return None


def print_map(
    data: Any,
    *,
    map: str = "classification",  # noqa: A002 - the CLI's --map
    paper: str = "A3",
    landscape: bool = False,
    out: str | os.PathLike[str] | None = None,
    dpi: float = 200,
    scale: str | int | None = None,
    lang: str | None = None,
    title: str | None = None,
    office: str | None = None,
    as_of: dt.date | None = None,
    grid: bool = False,
    basemap: str | os.PathLike[str] | None = None,
    districts: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    panels: Sequence[Panel] = (),
) -> Path | Figure:
    """
    Print a classification, resettlement or progress map with a full map frame.

    The page holds 图名, the map at a stated scale 1:N (true at the paper size: the map box
    is ``w × h`` mm and shows exactly ``w × N / 1000`` metres), 图例 with counts and 公顷,
    a scale bar, 指北针, 坐标系, 制图单位, 制图日期, 数据来源 and 截至日期 (progress), and
    optionally a coordinate grid. Labels (overdue projects first) never collide: those that
    would are left out and counted on the sheet. Parcels of one class are one path.

    Parameters
    ----------
    data
        A `run_plan` result (every map), classified parcels, or the path of a classified
        file (``classified.gpkg``: its ``parcels``, ``zones`` layers).
    map
        ``"classification"``, ``"resettlement"`` or ``"progress"``.
    paper
        ``"A0"`` … ``"A4"``.
    landscape
        If True, the long side is horizontal.
    out
        ``.pdf`` or ``.svg`` (vector, fonts embedded) or ``.png``; None returns the figure.
    dpi
        Resolution of PNG output.
    scale
        Stated scale ``"1:5000"``; default: the smallest of 1, 2, 2.5, 5 × 10^k that fits.
    lang
        ``"zh"`` or ``"en"``; default: the run's language, else `settings.lang`.
    title
        图名; default: the HTML map's title.
    office, as_of
        制图单位 and 截至日期; default: the run's ``project.office`` and ``as_of``.
    grid
        Draw a coordinate grid with ticks.
    basemap
        A local GeoTIFF (orthophoto, DEM) drawn faintly under the layers; no tiles are
        fetched.
    districts, units
        Street boundaries and renewal units to draw with a classified layer.
    panels
        Extra side-panel blocks (see `compose_page`).

    Returns
    -------
    path_or_figure
        The file written, or the figure when `out` is None.

    Raises
    ------
    InputError
        For an unknown map, paper, scale or suffix, a map with nothing to draw, or Chinese
        text without a CJK font (the message names the font package).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(
    ...     {"category": ["demolish", "unchanged"]},
    ...     geometry=[box(500_000, 4_000_000, 500_100, 4_000_080), box(500_100, 4_000_000, 500_180, 4_000_080)],
    ...     crs=4548,
    ... )
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "map.pdf"
    >>> print_map(parcels, paper="A4", out=out, lang="en").name
    'map.pdf'
    """
    from matplotlib import rc_context

    from geo_renewal._checks import check_choice, check_lang
    from geo_renewal._print_fonts import font_setup

    import_optional("matplotlib", purpose="printed maps")
    kind = check_choice(map, MAPS, name="map")
    run_lang = getattr(getattr(data, "plan", None), "lang", None)
    lang = check_lang(lang or run_lang)
    n = parse_scale(scale)
    if out is not None:
        _out_format(out)
    scene = scene_from(
        data, lang=lang, districts=districts, units=units, office=office, as_of=as_of
    )
    _check_kind(scene, kind)
    rc: Any = font_setup(lang, _texts(scene))
    with rc_context(rc):
        page = compose_page(
            scene,
            kind,
            paper=paper,
            landscape=landscape,
            scale=n,
            title=title,
            grid=grid,
            basemap=basemap,
            panels=panels,
            dpi=dpi if out is not None and _out_format(out) == "png" else 100,
        )
        if not page.fits:
            warnings.warn(
                say("print.not_fit", lang, n=f"{page.scale:,}", fit="…"), UserWarning, stacklevel=2
            )
        if out is None:
            return page.figure
        return save_figure(page.figure, out, dpi=dpi)
