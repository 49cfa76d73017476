"""
Map atlases (分幅图): one printed page per street, project or renewal unit, in one PDF.

Each page is a full printed map (`geo_renewal.printmap.compose_page`) zoomed to its item,
with the item outlined, its key figures (parcels and hectares per class, households to
move) and an overview inset showing where the item lies. See docs/guide/print.md.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal._errors import InputError
from geo_renewal._print_layers import Scene, fill, scene_from
from geo_renewal._roles import class_labels, in_role
from geo_renewal.schema import label
from geo_renewal.text import say

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    import geopandas as gpd

__all__ = ["ATLAS_BY", "atlas_items", "print_atlas"]

#: What an atlas has one page per.
ATLAS_BY = ("street", "project", "unit")

_ROLE = {"street": "districts", "project": "project_areas", "unit": "units"}
_NAME_COLS = {
    "street": ("name", "street", "district_id"),
    "project": ("project_id", "name"),
    "unit": ("name", "unit_id"),
}


def atlas_items(scene: Scene, by: str) -> gpd.GeoDataFrame:
    """
    Return the items of an atlas by `by` (one row per page, in their layer's order).

    Parameters
    ----------
    scene
        The layers.
    by
        ``"street"``, ``"project"`` or ``"unit"``.

    Returns
    -------
    items
        The street, project or unit polygons with a ``page_name`` column.

    Raises
    ------
    InputError
        If the scene has no layer of those items.
    """
    role = _ROLE[by]
    gdf = scene.get(role)
    if gdf is None and by == "project":
        gdf = scene.get("projects")
    if gdf is None:
        layer = {"street": "districts", "project": "projects", "unit": "units"}[by]
        msg = (
            f"an atlas by {by} needs the {layer} layer, which the input does not have; add "
            f"[layers.{layer}] to the project file (or pass {layer}=), or choose another --atlas."
        )
        raise InputError(msg)
    col = next((c for c in _NAME_COLS[by] if c in gdf.columns), None)
    names = (
        gdf[col].astype(str)
        if col
        else pd.Series([str(i + 1) for i in range(len(gdf))], index=gdf.index)
    )
    return gdf.assign(page_name=names.to_numpy())


def _subscene(scene: Scene, bounds: tuple[float, float, float, float]) -> Scene:
    """Return the scene cut to the features touching `bounds` (drawing only what a page shows)."""
    x0, y0, x1, y1 = bounds
    layers = {k: v.cx[x0:x1, y0:y1] for k, v in scene.layers.items()}
    cons = {k: v.cx[x0:x1, y0:y1] for k, v in scene.constraints.items()}
    return Scene(
        scene.crs, scene.lang, scene.name, scene.office, scene.as_of, scene.sources, layers, cons
    )


def _key_figures(scene: Scene, geom: Any) -> list[str]:
    """Parcels and hectares per class inside the item (by the parcel's inner point)."""
    import shapely

    from geo_renewal.crs import area

    lang = scene.lang
    parcels = scene.get("classified")
    if parcels is None:
        return []
    pts = shapely.point_on_surface(parcels.geometry.to_numpy())
    inside = shapely.contains(geom, pts) | shapely.touches(geom, pts)
    sub = parcels[inside]
    lines = [f"{say('print.parcels', lang)}: {len(sub):,}  ·  {area(sub).sum() / 10_000:,.2f} ha"]
    if "category" in sub.columns and len(sub):
        a = area(sub)
        names = class_labels(parcels, lang)  # a rule set's own classes by their names
        for code, grp in sub.groupby(sub["category"].astype(str), sort=False):
            lines.append(
                f"  {names.get(str(code)) or label(str(code), lang)}: {len(grp):,}  ·  "
                f"{a.loc[grp.index].sum() / 10_000:,.2f} ha"
            )
        dem = sub[in_role(sub, "demolish", classes=parcels)]  # 征收拆迁, 拆除重建类 …
        if "households" in dem.columns:
            hh = pd.to_numeric(dem["households"]).fillna(0).sum()
            lines.append(f"{say('print.demolish_households', lang)}: {hh:,.0f}")
    return lines


def _figures_panel(lines: list[str], lang: str) -> Any:
    from geo_renewal._print_frame import draw_lines

    def panel(ax: Axes, top: float, width: float, k: float) -> float:
        ax.text(
            3 * k,
            top - 3 * k,
            say("print.key_figures", lang),
            fontsize=11 * k,
            fontweight="bold",
            va="top",
        )
        return 8 * k + draw_lines(ax, top - 8 * k, k, lines, width=width, size=8)

    return panel


def _overview(
    page: Any,
    scene: Scene,
    bounds: tuple[float, float, float, float],
    whole: tuple[float, ...],
    lang: str,
) -> None:
    """Draw a small map of the whole area in the map's lower right, the page's extent in red."""
    from matplotlib.patches import Rectangle

    ax, k = page.ax, page.layout.k
    gx0, gy0, gx1, gy1 = whole
    w_frac = 0.24
    aspect = (gy1 - gy0) / max(gx1 - gx0, 1e-9)
    box_w, box_h = page.layout.map_box[2:]
    h_frac = min(w_frac * aspect * box_w / box_h, 0.4)
    inset = ax.inset_axes((1 - w_frac - 0.01, 0.01, w_frac, h_frac), zorder=40)
    inset.set_xticks([])
    inset.set_yticks([])
    inset.set_facecolor("white")
    base = scene.get("districts")
    base = base if base is not None else scene.get("classified")
    if base is not None:
        fill(
            inset,
            base.geometry.to_numpy(),
            facecolor="#eeeeee",
            edgecolor="#555555",
            linewidth=0.3 * k,
        )
    x0, y0, x1, y1 = bounds
    inset.add_patch(
        Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="#e31a1c", linewidth=1.2 * k)
    )
    span_x = max(gx1 - gx0, (gy1 - gy0) * w_frac * box_w / (h_frac * box_h)) * 1.08
    span_y = span_x * h_frac * box_h / (w_frac * box_w)
    cx, cy = (gx0 + gx1) / 2, (gy0 + gy1) / 2
    inset.set_xlim(cx - span_x / 2, cx + span_x / 2)
    inset.set_ylim(cy - span_y / 2, cy + span_y / 2)
    inset.text(
        0.03,
        0.97,
        say("print.overview", lang),
        transform=inset.transAxes,
        fontsize=6.5 * k,
        va="top",
    )


def print_atlas(
    data: Any,
    *,
    by: str = "street",
    map: str = "classification",  # noqa: A002 - the CLI's --map
    paper: str = "A3",
    landscape: bool = False,
    out: str | os.PathLike[str],
    scale: str | int | None = None,
    lang: str | None = None,
    office: str | None = None,
    as_of: dt.date | None = None,
    grid: bool = False,
    districts: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
) -> Path:
    """
    Print an atlas: one page per street, project or renewal unit, in one multi-page PDF.

    Each page has its own frame, extent (the item with some surroundings, at its own
    stated scale unless `scale` is given), the item outlined in red, its key figures and an
    overview inset. Pages are in the order of the item layer.

    Parameters
    ----------
    data
        A `run_plan` result, classified parcels or a classified file (see `print_map`).
    by
        ``"street"`` (the districts layer), ``"project"`` (project polygons) or ``"unit"``
        (renewal units).
    map, paper, landscape, scale, lang, office, as_of, grid, districts, units
        As for `print_map`.
    out
        The ``.pdf`` to write.

    Returns
    -------
    path
        The PDF written (one page per item).

    Raises
    ------
    InputError
        For an unknown `by`, a missing item layer, or `out` not a PDF.

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
    >>> streets = gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[box(500_000, 4_000_000, 500_100, 4_000_080), box(500_100, 4_000_000, 500_180, 4_000_080)], crs=4548)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "atlas.pdf"
    >>> print_atlas(parcels, by="street", districts=streets, out=out, paper="A4", lang="en").name
    'atlas.pdf'
    """
    from matplotlib import rc_context
    from matplotlib.backends.backend_pdf import PdfPages

    from geo_renewal._checks import check_choice, check_lang
    from geo_renewal._print_fonts import font_setup
    from geo_renewal._print_frame import parse_scale
    from geo_renewal.io import atomic_write
    from geo_renewal.printmap import MAPS, _check_kind, _texts

    by = check_choice(by, ATLAS_BY, name="atlas")
    kind = check_choice(map, MAPS, name="map")
    if Path(out).suffix.lower() != ".pdf":
        msg = f"an atlas is one multi-page PDF: `out` must end in .pdf, got {str(out)!r}."
        raise InputError(msg)
    lang = check_lang(lang or getattr(getattr(data, "plan", None), "lang", None))
    scene = scene_from(
        data, lang=lang, districts=districts, units=units, office=office, as_of=as_of
    )
    _check_kind(scene, kind)
    items = atlas_items(scene, by)
    opts = {"paper": paper, "landscape": landscape, "scale": parse_scale(scale), "grid": grid}
    rc: Any = font_setup(lang, _texts(scene))
    with (
        rc_context(rc),
        atomic_write(Path(out)) as tmp,
        PdfPages(tmp, metadata={"Creator": "geo-renewal"}) as pdf,
    ):
        _atlas_pages(scene, items, kind, opts, pdf)
    return Path(out)


def _characters(scene: Scene, items: gpd.GeoDataFrame) -> frozenset[str]:
    """Every character an atlas page may print: one font subset serves all pages."""
    from geo_renewal.printmap import _texts
    from geo_renewal.schema import CATEGORIES, STAGES
    from geo_renewal.text import MEETING_TEXT

    lang = scene.lang
    texts = [chr(c) for c in range(32, 127)] + _texts(scene) + list(items["page_name"])
    texts += [
        say(k, lang) for k in MEETING_TEXT if k.startswith(("print.", "map.", "workflow.map."))
    ]
    texts += [label(c, lang) for c in (*CATEGORIES, *STAGES)] + ["　、，（）：；·…"]
    classified = scene.get("classified")
    if classified is not None:  # a rule set's own class names (拆除重建类)
        texts += list(class_labels(classified, lang).values())
    return frozenset("".join(texts))


def _atlas_pages(
    scene: Scene, items: gpd.GeoDataFrame, kind: str, opts: dict[str, Any], pdf: Any
) -> int:
    from geo_renewal._print_fonts import embed_subset
    from geo_renewal.printmap import compose_page

    lang = scene.lang
    chars = _characters(scene, items)
    whole = tuple(items.total_bounds)
    n = len(items)
    for i, (name, geom) in enumerate(
        zip(items["page_name"], items.geometry, strict=True), start=1
    ):
        x0, y0, x1, y1 = geom.bounds
        padx, pady = (x1 - x0) * 0.08 + 50, (y1 - y0) * 0.08 + 50
        bounds = (x0 - padx, y0 - pady, x1 + padx, y1 + pady)
        sub = _subscene(scene, bounds)
        page = compose_page(
            sub,
            kind,
            subtitle=f"{name}　{say('print.atlas_page', lang, i=i, n=n)}",
            bounds=bounds,
            panels=[_figures_panel(_key_figures(sub, geom), lang)],
            **opts,
        )
        fill(
            page.ax,
            np.asarray([geom], dtype=object),
            facecolor="none",
            edgecolor="#e31a1c",
            linewidth=2.0 * page.layout.k**0.5,
            zorder=9,
        )
        _overview(page, scene, bounds, whole, lang)
        embed_subset(page.figure, base=chars)
        pdf.savefig(page.figure)
    return n
