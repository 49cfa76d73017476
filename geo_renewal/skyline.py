"""
The skyline seen from a viewpoint, current against planned, as a table and a chart.

Per bearing, the elevation angle of the highest roof, with landmarks and corridor breaches.
See docs/guide/corridors.md.

Bearings are compass azimuths (0° north, 90° east). The profile is vectorised over the
footprints' edges: each edge covers an arc of bearings; at every bin centre in that arc the
ray from the eye meets the edge at a distance ``t``, and the roof there rises
``atan((roof − eye) / t)`` above the horizon. The profile is the maximum per bin; no
per-bearing geometry loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import shapely

from geo_renewal._compat import import_optional
from geo_renewal._errors import InputError
from geo_renewal.crs import check_crs, to_working, working_crs
from geo_renewal.heights import _numbers
from geo_renewal.io import atomic_write
from geo_renewal.text import say

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "corridor_bearings",
    "landmark_angles",
    "planned_massing",
    "skyline_chart",
    "skyline_panels",
    "skyline_profile",
]

EYE_HEIGHT = 1.6
#: Fonts tried for Chinese chart text, first found wins (the Noto CJK fonts of Linux, then
#: the Windows and macOS ones).
_CJK_FONTS = [
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "DejaVu Sans",
]


def _eye(
    viewpoint: Any, crs: Any, eye_height: float | None, eye_ground: float
) -> tuple[float, float, float]:
    if hasattr(viewpoint, "geometry"):
        if len(viewpoint) != 1:
            msg = f"skyline_profile needs one viewpoint, got {len(viewpoint)}; pick one row."
            raise InputError(msg)
        if eye_height is None and "eye_height" in viewpoint.columns:
            eye_height = float(viewpoint["eye_height"].iloc[0])
        check_crs(viewpoint, "viewpoint")
        viewpoint = to_working(viewpoint.geometry, crs=crs).iloc[0]
    z = eye_ground + (EYE_HEIGHT if eye_height is None else eye_height)
    return float(viewpoint.x), float(viewpoint.y), z


def _edges(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments (start, end, owner position) of every ring of the footprints."""
    rings = (
        shapely.get_rings(geoms, return_index=True)
        if len(geoms)
        else (np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64))
    )
    ring_geoms, owner = rings
    coords, ri = shapely.get_coordinates(ring_geoms, return_index=True)
    same = ri[1:] == ri[:-1]
    return coords[:-1][same], coords[1:][same], owner[ri[:-1][same]]


def skyline_profile(
    buildings: gpd.GeoDataFrame,
    viewpoint: gpd.GeoDataFrame | Any,
    *,
    azimuths: tuple[float, float] = (120.0, 240.0),
    step: float = 0.1,
    heights: pd.Series | np.ndarray | None = None,
    height_col: str = "height_m",
    ground: pd.Series | np.ndarray | None = None,
    eye_height: float | None = None,
    eye_ground: float = 0.0,
    excess: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """
    Return the skyline from a viewpoint: the highest elevation angle per bearing.

    Parameters
    ----------
    buildings
        Footprints with a CRS (projected into the viewpoint's working CRS).
    viewpoint
        A one-row GeoDataFrame (with ``eye_height`` if known; any CRS) or a shapely Point
        in the buildings' working CRS (their own CRS when it is projected).
    azimuths
        (from, to) in compass degrees, clockwise; ``(300, 60)`` crosses north.
    step
        Bin width in degrees; each bin is evaluated at its centre. An edge narrower than a
        bin that covers no centre counts in its midpoint's bin, at its midpoint's distance.
    heights, height_col
        Roof heights above the ground (m) aligned on `buildings`, or their column.
    ground
        Ground levels of the buildings (the DEM's datum); None: 0.
    eye_height, eye_ground
        The eye above its ground (default the viewpoint's ``eye_height``, else 1.6 m) and
        that ground level.
    excess
        Optional excess over the permitted height per building (`height_checks`): bins
        whose highest roof has ``excess > 0`` are marked ``breach``.

    Returns
    -------
    profile
        DataFrame, one row per bin: ``azimuth`` (centre), ``elevation_deg`` (null where no
        building stands), ``distance_m``, ``row`` (index label of the highest building) and
        ``breach``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point, box
    >>> b = gpd.GeoDataFrame({"height_m": [101.6]}, geometry=[box(-50, 100, 50, 120)],
    ...                      crs="EPSG:4548")
    >>> p = skyline_profile(b, Point(0, 0), azimuths=(-10, 10), step=5)
    >>> p[["azimuth", "elevation_deg"]].round(2).values.tolist()
    [[-7.5, 44.75], [-2.5, 44.97], [2.5, 44.97], [7.5, 44.75]]
    """
    check_crs(buildings, "buildings")
    crs = working_crs(buildings)
    ex, ey, ez = _eye(viewpoint, crs, eye_height, eye_ground)
    start, span = float(azimuths[0]), (float(azimuths[1]) - float(azimuths[0])) % 360.0 or 360.0
    n_bins = max(1, round(span / step))
    geoms = np.asarray(to_working(buildings.geometry, crs=crs).array)
    h = _numbers(buildings, height_col) if heights is None else np.asarray(heights, dtype=float)
    g = np.zeros(len(geoms)) if ground is None else np.nan_to_num(np.asarray(ground, dtype=float))
    p1, p2, owner = _edges(geoms)
    p1, p2 = p1 - (ex, ey), p2 - (ex, ey)
    bins, t, who = _edge_hits(p1, p2, owner, start, step, n_bins)
    angle = np.degrees(np.arctan2(h[who] + g[who] - ez, t))
    ok = ~np.isnan(angle) & (t > 0)
    bins, t, who, angle = bins[ok], t[ok], who[ok], angle[ok]
    return _profile_table(buildings.index, bins, t, who, angle, start, step, n_bins, excess)


def _edge_hits(
    p1: np.ndarray, p2: np.ndarray, owner: np.ndarray, start: float, step: float, n_bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bin, distance, owner) for every bin centre inside an edge's arc, vectorised."""
    b1 = np.degrees(np.arctan2(p1[:, 0], p1[:, 1]))
    b2 = np.degrees(np.arctan2(p2[:, 0], p2[:, 1]))
    d = (b2 - b1 + 180.0) % 360.0 - 180.0  # the shorter arc, signed
    lo = (np.minimum(b1, b1 + d) - start) % 360.0
    width = np.abs(d)
    first = np.ceil((lo - step / 2) / step).astype(np.int64)
    last = np.floor((lo + width - step / 2) / step).astype(np.int64)
    count = np.clip(last - first + 1, 0, None)
    # an edge covering no bin centre counts once, in its midpoint's bin
    none = count == 0
    mid_bin = np.floor((lo + width / 2) / step).astype(np.int64)
    first = np.where(none, mid_bin, first)
    count = np.where(none, 1, count)
    edge = np.repeat(np.arange(len(p1)), count)
    offset = np.arange(len(edge)) - np.repeat(np.cumsum(count) - count, count)
    k = first[edge] + offset
    theta = np.radians(start + (k + 0.5) * step)
    dx, dy = np.sin(theta), np.cos(theta)
    e = p2[edge] - p1[edge]
    denom = dx * e[:, 1] - dy * e[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (p1[edge, 0] * e[:, 1] - p1[edge, 1] * e[:, 0]) / denom
    mids = np.hypot(*((p1[edge] + p2[edge]) / 2).T)
    t = np.where(none[edge] | ~np.isfinite(t), mids, t)
    wrap = round(360.0 / step)
    k = np.where(k >= wrap, k - wrap, k)
    keep = (k >= 0) & (k < n_bins)
    return k[keep], t[keep], owner[edge][keep]


def _profile_table(
    index: pd.Index,
    bins: np.ndarray,
    t: np.ndarray,
    who: np.ndarray,
    angle: np.ndarray,
    start: float,
    step: float,
    n_bins: int,
    excess: Any,
) -> pd.DataFrame:
    order = np.lexsort((angle, bins))
    last = order[np.r_[bins[order][1:] != bins[order][:-1], True]] if len(order) else order
    elev = np.full(n_bins, np.nan)
    dist = np.full(n_bins, np.nan)
    pos = np.full(n_bins, -1, dtype=np.int64)
    elev[bins[last]], dist[bins[last]], pos[bins[last]] = angle[last], t[last], who[last]
    breach = np.zeros(n_bins, dtype=bool)
    if excess is not None:
        ex = np.asarray(excess, dtype=float)
        breach[pos >= 0] = np.nan_to_num(ex[pos[pos >= 0]], nan=-1.0, neginf=-1.0) > 0
    rows = pd.array([index[p] if p >= 0 else None for p in pos], dtype=object)
    return pd.DataFrame(
        {
            "azimuth": start + (np.arange(n_bins) + 0.5) * step,
            "elevation_deg": elev,
            "distance_m": dist,
            "row": rows,
            "breach": breach,
        }
    )


def landmark_angles(
    landmarks: gpd.GeoDataFrame,
    viewpoint: gpd.GeoDataFrame | Any,
    *,
    height_col: str = "height",
    band: float | np.ndarray = 0.0,
    eye_height: float | None = None,
    eye_ground: float = 0.0,
    ground: pd.Series | np.ndarray | None = None,
    name_col: str = "name",
) -> pd.DataFrame:
    """
    Return where each landmark appears from a viewpoint: bearing and elevation angles.

    Parameters
    ----------
    landmarks
        Points or polygons (their centroid) with `height_col` (m above ground).
    viewpoint, eye_height, eye_ground
        As for `skyline_profile`.
    band
        The protected band below the top (m), one for all or one per landmark:
        ``protected_deg`` is its lower edge.
    ground
        Ground levels of the landmarks; None: 0.
    name_col
        The name column.

    Returns
    -------
    angles
        DataFrame with ``name``, ``azimuth``, ``top_deg``, ``protected_deg``,
        ``distance_m``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> lm = gpd.GeoDataFrame({"name": ["T"], "height": [101.6]}, geometry=[Point(100, 0)],
    ...                       crs="EPSG:4548")
    >>> landmark_angles(lm, Point(0, 0))[["azimuth", "top_deg"]].values.tolist()
    [[90.0, 45.0]]
    """
    check_crs(landmarks, "landmarks")
    crs = working_crs(landmarks)
    ex, ey, ez = _eye(viewpoint, crs, eye_height, eye_ground)
    pts = shapely.centroid(np.asarray(to_working(landmarks.geometry, crs=crs).array))
    dx, dy = shapely.get_x(pts) - ex, shapely.get_y(pts) - ey
    dist = np.hypot(dx, dy)
    top = _numbers(landmarks, height_col) + (
        0.0 if ground is None else np.asarray(ground, dtype=float)
    )
    names = (
        landmarks[name_col].astype(str).tolist()
        if name_col in landmarks
        else [f"L{i + 1}" for i in range(len(landmarks))]
    )
    return pd.DataFrame(
        {
            "name": names,
            "azimuth": np.degrees(np.arctan2(dx, dy)) % 360.0,
            "top_deg": np.degrees(np.arctan2(top - ez, dist)),
            "protected_deg": np.degrees(
                np.arctan2(top - np.asarray(band, dtype=float) - ez, dist)
            ),
            "distance_m": dist,
        },
        index=landmarks.index,
    )


def planned_massing(
    buildings: gpd.GeoDataFrame,
    plots: gpd.GeoDataFrame,
    *,
    building_heights: pd.Series | np.ndarray,
    plot_heights: pd.Series | np.ndarray,
) -> gpd.GeoDataFrame:
    """
    Return the planned massing: buildings off the planned plots, and the plots as blocks.

    Each plot stands at its permitted height (the envelope a skyline must allow for).

    A building whose footprint lies mostly (more than half) on a plot is replaced by it.
    Plots without a permitted height are left out and counted in ``attrs["unknown_plots"]``.

    Parameters
    ----------
    buildings, plots
        Footprints and planned plots with a CRS.
    building_heights, plot_heights
        Their heights in metres, aligned on each.

    Returns
    -------
    massing
        GeoDataFrame with ``source`` (``building`` / ``plot``), ``row`` (the label in its
        input) and ``height_m``, in the buildings' CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> b = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(50, 0, 60, 10)], crs="EPSG:4548")
    >>> p = gpd.GeoDataFrame(geometry=[box(-5, -5, 20, 20)], crs="EPSG:4548")
    >>> m = planned_massing(b, p, building_heights=[9.0, 12.0], plot_heights=[60.0])
    >>> m[["source", "height_m"]].values.tolist()
    [['building', 12.0], ['plot', 60.0]]
    """
    import geopandas as gpd

    check_crs(plots, "plots")
    plot_geoms = np.asarray(to_working(plots.geometry, crs=buildings.crs).array)
    geoms = np.asarray(buildings.geometry.array)
    tree = shapely.STRtree(plot_geoms)
    bi, pi = tree.query(geoms, predicate="intersects")
    covered = np.zeros(len(geoms))
    if len(bi):
        np.add.at(covered, bi, shapely.area(shapely.intersection(geoms[bi], plot_geoms[pi])))
    with np.errstate(invalid="ignore", divide="ignore"):
        keep = ~(covered / shapely.area(geoms) > 0.5)
    ph = np.asarray(plot_heights, dtype=float)
    known = ~np.isnan(ph)
    out = gpd.GeoDataFrame(
        {
            "source": ["building"] * int(keep.sum()) + ["plot"] * int(known.sum()),
            "row": list(buildings.index[keep]) + list(plots.index[known]),
            "height_m": np.r_[np.asarray(building_heights, dtype=float)[keep], ph[known]],
        },
        geometry=list(geoms[keep]) + list(plot_geoms[known]),
        crs=buildings.crs,
    )
    out.attrs["unknown_plots"] = int((~known).sum())
    return out


def skyline_chart(
    profiles: Mapping[str, pd.DataFrame],
    *,
    landmarks: pd.DataFrame | None = None,
    corridors: pd.DataFrame | None = None,
    path: str | Path | None = None,
    title: str | None = None,
    lang: str = "zh",
) -> Any:
    """
    Draw skyline profiles (e.g. current and planned) with landmarks and breaches.

    Parameters
    ----------
    profiles
        Label -> `skyline_profile` result, drawn in order (the first one filled).
    landmarks
        `landmark_angles` result: a marker at the top, a bar down to the protected band.
    corridors
        Rows with ``azimuth_from``, ``azimuth_to`` and ``surface``: shaded bearings.
    path
        PNG, SVG or PDF to write (atomically); None: only return the figure.
    title
        The chart's title.
    lang
        ``"zh"`` or ``"en"`` for the axis labels and legend.

    Returns
    -------
    figure
        The matplotlib Figure.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"azimuth": [0.5, 1.5], "elevation_deg": [2.0, 3.0],
    ...                   "breach": [False, True]})
    >>> fig = skyline_chart({"current": p}, lang="en")
    >>> fig.axes[0].get_xlabel()
    'Bearing (°, 0 = north)'
    """
    panel = {"profiles": profiles, "landmarks": landmarks, "corridors": corridors, "title": title}
    return skyline_panels([panel], path=path, lang=lang)


def skyline_panels(
    panels: list[dict[str, Any]],
    *,
    path: str | Path | None = None,
    lang: str = "zh",
    note: str | None = None,
) -> Any:
    """
    Draw several skylines (e.g. one per viewpoint) one above the other in one figure.

    Parameters
    ----------
    panels
        One mapping per panel with the keys of `skyline_chart`: ``profiles`` and optionally
        ``landmarks``, ``corridors``, ``title``.
    path
        PNG, SVG or PDF to write (atomically); None: only return the figure.
    lang
        ``"zh"`` or ``"en"``.
    note
        A sentence printed under the chart (e.g. that the parameters are placeholders).

    Returns
    -------
    figure
        The matplotlib Figure.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"azimuth": [0.5, 1.5], "elevation_deg": [2.0, 3.0]})
    >>> len(skyline_panels([{"profiles": {"a": p}}, {"profiles": {"b": p}}]).axes)
    2
    """
    mpl = import_optional("matplotlib", purpose="skyline charts")
    from matplotlib.figure import Figure

    with mpl.rc_context({"font.sans-serif": _CJK_FONTS, "axes.unicode_minus": False}):
        fig = Figure(figsize=(10, 3.4 * max(1, len(panels))), dpi=150)
        for i, panel in enumerate(panels, 1):
            ax = fig.add_subplot(len(panels), 1, i)
            _draw(
                ax,
                panel["profiles"],
                panel.get("landmarks"),
                panel.get("corridors"),
                panel.get("title"),
                lang,
            )
        if note:
            fig.text(
                0.01, 0.005, note, fontsize=7, color="#b22222", ha="left", va="bottom", wrap=True
            )
            fig.tight_layout(rect=(0, 0.03, 1, 1))
        else:
            fig.tight_layout()
        if path is not None:
            target = Path(path)
            with atomic_write(target) as tmp:
                fig.savefig(tmp, format=target.suffix.lstrip(".").lower() or "png")
    return fig


def _draw(
    ax: Any,
    profiles: Mapping[str, pd.DataFrame],
    landmarks: pd.DataFrame | None,
    corridors: pd.DataFrame | None,
    title: str | None,
    lang: str,
) -> None:
    colours = ["#9aa5b1", "#1f5fa8", "#e08a00", "#6a3d9a"]
    for i, (label, prof) in enumerate(profiles.items()):
        az, el = (
            prof["azimuth"].to_numpy(),
            np.nan_to_num(prof["elevation_deg"].to_numpy(dtype=float), nan=0.0),
        )
        el = np.maximum(el, 0.0)
        if i == 0:
            ax.fill_between(az, 0, el, step="mid", color=colours[0], alpha=0.6, label=label, lw=0)
        else:
            ax.step(az, el, where="mid", color=colours[i % len(colours)], lw=1.4, label=label)
        br = (
            prof["breach"].to_numpy(dtype=bool)
            if "breach" in prof
            else np.zeros(len(az), dtype=bool)
        )
        if br.any():
            ax.scatter(
                az[br],
                el[br],
                s=6,
                color="#d62728",
                zorder=5,
                label=f"{label}: {say('skyline.breach', lang)}",
            )
    _decorate(ax, landmarks, corridors, lang)
    if title:
        ax.set_title(title)


def _decorate(
    ax: Any, landmarks: pd.DataFrame | None, corridors: pd.DataFrame | None, lang: str
) -> None:
    if corridors is not None:
        for row in corridors.itertuples():
            ax.axvspan(row.azimuth_from, row.azimuth_to, color="#2ca02c", alpha=0.12, lw=0)
            ax.text(
                (row.azimuth_from + row.azimuth_to) / 2,
                0.2,
                str(row.surface),
                ha="center",
                va="bottom",
                fontsize=7,
                color="#2c7a2c",
            )
    if landmarks is not None:
        for row in landmarks.itertuples():
            ax.plot(
                [row.azimuth, row.azimuth],
                [row.protected_deg, row.top_deg],
                color="#b22222",
                lw=2.5,
            )
            ax.scatter([row.azimuth], [row.top_deg], marker="^", color="#b22222", zorder=6)
            ax.annotate(
                str(row.name),
                (row.azimuth, row.top_deg),
                textcoords="offset points",
                xytext=(0, 5),
                ha="center",
                fontsize=8,
                color="#b22222",
            )
    ax.set_xlabel(say("skyline.bearing", lang))
    ax.set_ylabel(say("skyline.elevation", lang))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3, lw=0.5)
    ax.legend(loc="upper right", fontsize=7, frameon=False)


def corridor_bearings(corridors: gpd.GeoDataFrame, viewpoint: Any) -> pd.DataFrame:
    """
    Return the bearings a corridor spans at its landmark end, seen from a viewpoint.

    A strip corridor spans ±90° right at the eye; the span that matters on a skyline is the
    one of its far half (the vertices farther than half the corridor's length).

    Parameters
    ----------
    corridors
        Corridors (`geo_renewal.corridors.corridors_from_points`).
    viewpoint
        A one-row GeoDataFrame or a shapely Point in the corridors' CRS.

    Returns
    -------
    spans
        DataFrame with ``surface``, ``azimuth_from`` and ``azimuth_to`` (degrees, 0–360).
    """
    ex, ey, _ = _eye(viewpoint, corridors.crs, 0.0, 0.0)
    rows = []
    for name, poly in zip(corridors["surface"], corridors.geometry.array, strict=True):
        xy = shapely.get_coordinates(poly) - (ex, ey)
        dist = np.hypot(xy[:, 0], xy[:, 1])
        far = dist > dist.max() / 2
        b = np.degrees(np.arctan2(xy[far, 0], xy[far, 1]))
        centre = b[0]
        rel = (b - centre + 180.0) % 360.0 - 180.0
        rows.append(
            {
                "surface": name,
                "azimuth_from": (centre + rel.min()) % 360.0,
                "azimuth_to": (centre + rel.max()) % 360.0,
            }
        )
    return pd.DataFrame(rows, columns=["surface", "azimuth_from", "azimuth_to"])
