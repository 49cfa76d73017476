"""
The map frame of a printed map (图框): paper, layout, scale, scale bar, north arrow, grid, legend.

Everything is measured in millimetres of paper. The map box is placed at an exact position
on the page and its data limits are set so that one millimetre of paper is exactly ``N /
1000`` metres of the working CRS: the stated ratio 1:N is true at the printed paper size,
and the scale bar, drawn in map coordinates, proves it (tests measure it in the PDF).
See docs/guide/print.md.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from geo_renewal._errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "MM",
    "PAPERS",
    "Layout",
    "LegendRow",
    "crs_text",
    "draw_frame",
    "draw_grid",
    "draw_legend",
    "draw_lines",
    "draw_north_arrow",
    "draw_scale_bar",
    "fit_scale",
    "layout_below",
    "page_layout",
    "paper_size",
    "parse_scale",
]

#: Inches per millimetre (matplotlib figures are sized in inches).
MM = 1 / 25.4

#: ISO 216 A sizes, portrait (width, height) in millimetres.
PAPERS: dict[str, tuple[float, float]] = {
    "A0": (841.0, 1189.0),
    "A1": (594.0, 841.0),
    "A2": (420.0, 594.0),
    "A3": (297.0, 420.0),
    "A4": (210.0, 297.0),
}

#: Stroke colour of the scale bar's outline: black to the eye, unique in the PDF (tests find it).
SCALE_BAR_COLOR = "#010203"

#: The ratios a drawing states (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k).
_NICE = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)


def paper_size(paper: str, *, landscape: bool = False) -> tuple[float, float]:
    """
    Return the (width, height) of an A-series sheet in millimetres.

    Parameters
    ----------
    paper
        ``"A0"`` … ``"A4"`` (case-insensitive).
    landscape
        If True, the long side is the width.

    Returns
    -------
    size_mm
        Width and height in millimetres.

    Raises
    ------
    InputError
        If `paper` is not an A-series size from A0 to A4.

    Examples
    --------
    >>> paper_size("a3", landscape=True)
    (420.0, 297.0)
    """
    from geo_renewal._checks import check_choice

    key = check_choice(str(paper).upper(), PAPERS, name="paper")
    w, h = PAPERS[key]
    return (h, w) if landscape else (w, h)


def parse_scale(scale: str | int | float | None) -> int | None:
    """
    Return the denominator N of a stated scale ``"1:N"`` (or N itself), None for "fit".

    Parameters
    ----------
    scale
        ``"1:5000"``, ``"1:5,000"``, ``5000`` or None.

    Returns
    -------
    n
        The denominator, or None.

    Raises
    ------
    InputError
        If the text is not a scale such as ``1:5000`` or N is not from 100 to 10,000,000.

    Examples
    --------
    >>> parse_scale("1:2,000"), parse_scale(500), parse_scale(None)
    (2000, 500, None)
    """
    if scale is None:
        return None
    text = str(scale).replace(",", "").replace("，", "").replace("：", ":").strip()
    if text.startswith("1:"):
        text = text[2:]
    try:
        n = float(text)
    except ValueError:
        n = math.nan
    if isinstance(scale, bool) or not (100 <= n <= 10_000_000) or not n.is_integer():
        msg = (
            f"`scale` must be a map scale such as 1:5000 (1:100 to 1:10,000,000), got "
            f"{scale!r}; write it as 1:N, or leave it out to fit the map to the paper."
        )
        raise InputError(msg)
    return int(n)


@dataclass(frozen=True)
class Layout:
    """
    Where the parts of a printed page go, in millimetres from the lower-left corner.

    Attributes
    ----------
    width, height
        Paper size.
    margin
        White margin around the outer frame line (no ink outside it).
    map_box
        (x, y, w, h) of the map.
    panel_box
        (x, y, w, h) of the side panel (legend, scale, notes).
    title_box
        (x, y, w, h) of the title band.
    k
        Text scale: 1 on A4, 4 on A0 (lengths of the short side over 210 mm).
    panel_below
        The panel is a band under the map (its blocks side by side), not a column beside it.
    """

    width: float
    height: float
    margin: float
    map_box: tuple[float, float, float, float]
    panel_box: tuple[float, float, float, float]
    title_box: tuple[float, float, float, float]
    k: float
    panel_below: bool = False

    def frac(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """Return a box in figure fractions, for `Figure.add_axes`."""
        x, y, w, h = box
        return (x / self.width, y / self.height, w / self.width, h / self.height)


def page_layout(paper: str, *, landscape: bool = False) -> Layout:
    """
    Lay out a sheet: outer margin, title band on top, map on the left, panel on the right.

    Parameters
    ----------
    paper
        ``"A0"`` … ``"A4"``.
    landscape
        If True, the long side is horizontal.

    Returns
    -------
    layout
        The page's boxes in millimetres.

    Examples
    --------
    >>> lay = page_layout("A4")
    >>> lay.width, lay.height, lay.margin
    (210.0, 297.0, 10.0)
    """
    w, h = paper_size(paper, landscape=landscape)
    k = min(w, h) / 210.0
    margin = 10.0 * math.sqrt(k)
    pad = 3.0 * k
    title_h = 14.0 * k
    inner_w, inner_h = w - 2 * margin, h - 2 * margin
    panel_w = max(inner_w * (0.24 if landscape else 0.30), 52.0 * k)
    map_h = inner_h - title_h - pad
    map_w = inner_w - panel_w - pad
    return Layout(
        width=w,
        height=h,
        margin=margin,
        map_box=(margin, margin, map_w, map_h),
        panel_box=(margin + map_w + pad, margin, panel_w, map_h),
        title_box=(margin, margin + map_h + pad, inner_w, title_h),
        k=k,
    )


def layout_below(lay: Layout, panel_h: float) -> Layout:
    """
    Return `lay` with its panel as a band of `panel_h` mm under a map as wide as the page.

    For a sheet whose map would otherwise leave empty bands (a wide district on portrait
    paper): `geo_renewal.printmap.compose_page` takes it when it prints the map larger.

    Examples
    --------
    >>> lay = layout_below(page_layout("A1"), 120.0)
    >>> lay.panel_below, lay.map_box[2] == lay.title_box[2], lay.panel_box[3]
    (True, True, 120.0)
    """
    m, pad = lay.margin, 3.0 * lay.k
    inner_w = lay.width - 2 * m
    map_h = lay.title_box[1] - pad - m - panel_h - pad
    return Layout(
        width=lay.width,
        height=lay.height,
        margin=m,
        map_box=(m, m + panel_h + pad, inner_w, map_h),
        panel_box=(m, m, inner_w, panel_h),
        title_box=lay.title_box,
        k=lay.k,
        panel_below=True,
    )


def _nice_up(n: float) -> int:
    """Return the smallest stated ratio (`_NICE` × 10^k) at least `n`."""
    n = max(float(n), 1.0)
    e = math.floor(math.log10(n))
    for base in (*_NICE, 10.0):
        cand = base * 10**e
        if cand >= n * (1 - 1e-9):
            return round(cand)
    return int(10 ** (e + 1))  # pragma: no cover - the loop always returns


def fit_scale(
    bounds: Sequence[float], box_mm: tuple[float, float], *, scale: int | None = None
) -> tuple[int, tuple[float, float], tuple[float, float], bool]:
    """
    Return the scale 1:N and map limits that show `bounds` in a box of `box_mm` on paper.

    Parameters
    ----------
    bounds
        (minx, miny, maxx, maxy) in metres of a projected CRS.
    box_mm
        (width, height) of the map box in millimetres.
    scale
        A stated denominator, or None to choose the smallest stated ratio that fits.

    Returns
    -------
    n, xlim, ylim, fits
        The denominator, the x and y limits (centred on `bounds`, exactly ``box × N / 1000``
        metres wide and high) and whether `bounds` fits inside.

    Examples
    --------
    >>> fit_scale((0, 0, 900, 400), (100.0, 50.0))
    (10000, (-50.0, 950.0), (-50.0, 450.0), True)
    """
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    bw, bh = box_mm
    need = max((maxx - minx) / bw, (maxy - miny) / bh) * 1000.0 * 1.04  # 2 % air each side
    n = _nice_up(need) if scale is None else int(scale)
    half_w, half_h = bw * n / 2000.0, bh * n / 2000.0
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    fits = (maxx - minx) <= 2 * half_w and (maxy - miny) <= 2 * half_h
    return n, (cx - half_w, cx + half_w), (cy - half_h, cy + half_h), fits


def crs_text(crs: Any) -> str:
    """
    Return the coordinate system as a drawing states it, e.g. ``CGCS2000 / 3° GK CM 117°E``.

    Parameters
    ----------
    crs
        Anything `pyproj.CRS.from_user_input` accepts.

    Returns
    -------
    text
        The CRS name shortened the way Chinese drawings write it, with its EPSG code.

    Examples
    --------
    >>> crs_text(4548)
    'CGCS2000 / 3° GK CM 117°E (EPSG:4548)'
    """
    import re

    from pyproj import CRS

    c = CRS.from_user_input(crs)
    name = c.name.replace("3-degree Gauss-Kruger", "3° GK").replace(
        "6-degree Gauss-Kruger", "6° GK"
    )
    name = re.sub(r"CM (\d+(?:\.\d+)?)([EW])", r"CM \1°\2", name)
    name = re.sub(r"zone (\d+)", r"zone \1", name)
    epsg = c.to_epsg()
    return f"{name} (EPSG:{epsg})" if epsg else name


# --------------------------------------------------------------------------------------
# drawing
# --------------------------------------------------------------------------------------


def draw_frame(fig: Figure, lay: Layout, title: str, subtitle: str | None = None) -> None:
    """Draw the outer frame line, the title band and the title (图名)."""
    from matplotlib.patches import Rectangle

    k, m = lay.k, lay.margin
    outer = Rectangle(
        (m / lay.width, m / lay.height),
        1 - 2 * m / lay.width,
        1 - 2 * m / lay.height,
        transform=fig.transFigure,
        fill=False,
        linewidth=1.6 * k,
        edgecolor="#000000",
    )
    fig.add_artist(outer)
    x, y, w, h = lay.title_box
    fig.text(
        (x + w / 2) / lay.width,
        (y + h * (0.58 if subtitle else 0.5)) / lay.height,
        title,
        ha="center",
        va="center",
        fontsize=20 * k,
        fontweight="bold",
    )
    if subtitle:
        fig.text(
            (x + w / 2) / lay.width,
            (y + h * 0.16) / lay.height,
            subtitle,
            ha="center",
            va="center",
            fontsize=9 * k,
            color="#333333",
        )


def panel_axes(
    fig: Figure, lay: Layout, box: tuple[float, float, float, float] | None = None
) -> Axes:
    """Return the side panel (or `box` in it) as axes in millimetres (0…w, 0…h), framed."""
    box = lay.panel_box if box is None else box
    w, h = box[2:]
    ax = fig.add_axes(lay.frac(box))
    ax.set_xlim(0, w)
    ax.set_ylim(0, h)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.8 * lay.k)
    return ax


@dataclass
class LegendRow:
    """
    One row of a printed legend.

    Attributes
    ----------
    label
        The text.
    style
        ``facecolor``, ``edgecolor``, ``linewidth``, ``linestyle``, ``alpha`` of the swatch.
    kind
        ``"fill"`` (a box), ``"line"`` or ``"outline"`` (a box without fill).
    figures
        Right-aligned columns (count, 公顷 …), already formatted.
    bold
        Bold text (the total row).
    """

    label: str
    style: dict[str, Any] = field(default_factory=dict)
    kind: str = "fill"
    figures: tuple[str, ...] = ()
    bold: bool = False


def draw_legend(
    ax: Axes,
    top: float,
    width: float,
    k: float,
    title: str,
    rows: Sequence[LegendRow],
    *,
    header: Sequence[str] = (),
) -> float:
    """Draw a legend block from `top` (mm) down in the panel; returns the height used."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    pad, row_h, fs = 3.0 * k, 4.6 * k, 7.5 * k
    y = top - pad
    ax.text(pad, y, title, fontsize=11 * k, fontweight="bold", va="top")
    y -= 6.5 * k
    cols = [width - pad - i * 19.0 * k for i in range(max(len(header) - 1, 1))][::-1]
    if header:
        ax.text(pad + 9 * k, y, header[0], fontsize=fs * 0.9, va="center", color="#333333")
        for x, text in zip(cols, header[1:], strict=False):
            ax.text(x, y, text, fontsize=fs * 0.9, va="center", ha="right", color="#333333")
        y -= row_h
    for row in rows:
        st = row.style
        sw, sh = 7.0 * k, 3.6 * k
        if row.kind == "line":
            ax.add_line(
                Line2D(
                    [pad, pad + sw],
                    [y, y],
                    color=st.get("edgecolor", "#000000"),
                    linewidth=st.get("linewidth", 1.0),  # map styles are already in points
                    linestyle=st.get("linestyle", "-"),
                )
            )
        elif row.kind != "none":
            ax.add_patch(
                Rectangle(
                    (pad, y - sh / 2),
                    sw,
                    sh,
                    facecolor=st.get("facecolor", "none") if row.kind == "fill" else "none",
                    edgecolor=st.get("edgecolor", "#555555"),
                    linewidth=st.get("linewidth", 0.5),
                    linestyle=st.get("linestyle", "-"),
                    alpha=st.get("alpha"),
                )
            )
        weight = "bold" if row.bold else "normal"
        ax.text(pad + sw + 2 * k, y, row.label, fontsize=fs, va="center", fontweight=weight)
        for x, text in zip(cols, row.figures, strict=False):
            ax.text(x, y, text, fontsize=fs, va="center", ha="right", fontweight=weight)
        y -= row_h
    return top - y + pad


def wrap_text(text: str, width_mm: float, size_pt: float) -> list[str]:
    """
    Break `text` into lines no wider than `width_mm` at `size_pt`, after a separator if it can.

    CJK characters count one em, others about half.

    Examples
    --------
    >>> wrap_text("数据来源：a.gpkg、b.xlsx", 30, 8)
    ['数据来源：a.gpkg、', 'b.xlsx']
    """
    import re

    full = size_pt * 0.3528  # one em in millimetres

    def width(s: str) -> float:
        return sum(full if ord(ch) > 0x2E80 else full * 0.55 for ch in s)

    out, line = [], ""
    for token in re.findall(r"[^、，,；;\s]*[、，,；;\s]?", text):
        if line and width(line + token) > width_mm:
            out.append(line.rstrip())
            line = ""
        while width(token) > width_mm and len(token) > 1:  # a token longer than a line
            cut = max(1, int(len(token) * width_mm / width(token)))
            out.append(token[:cut])
            token = token[cut:]
        line += token
    return [*out, line] if line else out


def draw_lines(
    ax: Axes, top: float, k: float, lines: Sequence[str], *, width: float, size: float = 7.0
) -> float:
    """Draw notes (坐标系, 制图单位 …) from `top` down, wrapped to `width`; returns the height used."""
    pad, row_h = 3.0 * k, size * 0.5 * k
    y = top - pad
    for text in lines:
        for part in wrap_text(text, width - 2 * pad, size * k):
            ax.text(pad, y, part, fontsize=size * k, va="top")
            y -= row_h
    return top - y + pad


def _bar_length(metres: float) -> float:
    """Return a round scale-bar length (1, 2, 5 × 10^k m) about a fifth of `metres`."""
    target = metres / 5
    e = math.floor(math.log10(target))
    best = 10.0**e
    for base in (1.0, 2.0, 5.0, 10.0):
        if base * 10**e <= target:
            best = base * 10**e
    return best


def _distance_text(m: float, lang: str) -> str:
    from geo_renewal.text import say

    if m >= 1000:
        return say("print.km", lang, n=f"{m / 1000:g}")
    return say("print.m", lang, n=f"{m:g}")


def draw_scale_bar(ax: Axes, n: int, lay: Layout, lang: str) -> float:
    """
    Draw the scale bar in map coordinates at the map's lower left; return its length in metres.

    The bar has four alternating segments and an outline in `SCALE_BAR_COLOR`; its ends are
    labelled 0 and its length. Drawn in data coordinates, its printed length is
    ``length × 1000 / n`` millimetres only if the map really is at 1:n.
    """
    from matplotlib.patches import Rectangle

    k = lay.k
    (x0, x1), y0 = ax.get_xlim(), ax.get_ylim()[0]
    length = _bar_length(x1 - x0)
    per_mm = n / 1000.0  # metres per millimetre of paper
    bx, by = x0 + 8 * k * per_mm, y0 + 8 * k * per_mm
    bh = 1.6 * k * per_mm
    ax.add_patch(
        Rectangle(
            (bx - 3 * k * per_mm, by - 3.5 * k * per_mm),
            length + 9 * k * per_mm,
            bh + 10 * k * per_mm,
            facecolor="white",
            edgecolor="none",
            alpha=0.85,
            zorder=20,
        )
    )
    seg = length / 4
    for i in range(4):
        ax.add_patch(
            Rectangle(
                (bx + i * seg, by),
                seg,
                bh,
                facecolor="#000000" if i % 2 == 0 else "#ffffff",
                edgecolor="none",
                zorder=21,
            )
        )
    outline = Rectangle(
        (bx, by), length, bh, fill=False, edgecolor=SCALE_BAR_COLOR, linewidth=0.6 * k, zorder=22
    )
    outline.set_gid("scalebar")
    ax.add_patch(outline)
    fs = 7 * k
    for x, text in ((bx, "0"), (bx + length / 2, _distance_text(length / 2, lang).split()[0])):
        ax.text(
            x, by + bh + 1.0 * k * per_mm, text, ha="center", va="bottom", fontsize=fs, zorder=23
        )
    ax.text(
        bx + length,
        by + bh + 1.0 * k * per_mm,
        _distance_text(length, lang),
        ha="center",
        va="bottom",
        fontsize=fs,
        zorder=23,
    )
    stated = f"1:{n:,}"
    ax.text(
        bx + length / 2,
        by - 1.0 * k * per_mm,
        stated,
        ha="center",
        va="top",
        fontsize=fs,
        zorder=23,
    )
    return length


def draw_north_arrow(ax: Axes, n: int, lay: Layout) -> None:
    """Draw the north arrow (指北针) at the map's upper right (grid north of the working CRS)."""
    from matplotlib.patches import Polygon

    k = lay.k
    per_mm = n / 1000.0
    x1, y1 = ax.get_xlim()[1], ax.get_ylim()[1]
    size = 14 * k * per_mm
    cx, top = x1 - 12 * k * per_mm, y1 - 6 * k * per_mm
    base = top - size
    half = size * 0.32
    from matplotlib.patches import Circle

    backing = Circle(
        (cx, top - size / 2 + 1 * k * per_mm),
        size * 0.72,
        facecolor="white",
        edgecolor="none",
        alpha=0.85,
        zorder=21,
    )
    ax.add_patch(backing)
    mid = base + size * 0.28
    left = Polygon(
        [(cx, top), (cx - half, base), (cx, mid)],
        closed=True,
        facecolor="#000000",
        edgecolor="#000000",
        linewidth=0.5 * k,
        zorder=22,
    )
    right = Polygon(
        [(cx, top), (cx + half, base), (cx, mid)],
        closed=True,
        facecolor="#ffffff",
        edgecolor="#000000",
        linewidth=0.5 * k,
        zorder=22,
    )
    ax.add_patch(left)
    ax.add_patch(right)
    ax.text(
        cx,
        top + 1 * k * per_mm,
        "N",
        ha="center",
        va="bottom",
        fontsize=10 * k,
        fontweight="bold",
        zorder=23,
    )


def draw_grid(ax: Axes, n: int, lay: Layout) -> None:
    """Draw a coordinate grid (公里网) with ticks and labels in metres of the working CRS."""
    k = lay.k
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    step = _bar_length((x1 - x0) * 1.25)
    import numpy as np

    xs = np.arange(math.ceil(x0 / step) * step, x1, step)
    ys = np.arange(math.ceil(y0 / step) * step, y1, step)
    ax.set_xticks(xs)
    ax.set_yticks(ys)
    ax.tick_params(
        direction="in",
        length=2.5 * k,
        width=0.5 * k,
        top=True,
        right=True,
        labelbottom=False,
        labelleft=False,
    )  # labels go inside the frame: nothing is printed in the margin
    ax.grid(True, color="#666666", linewidth=0.25 * k, alpha=0.6)
    gap = 3.2 * k * n / 1000.0  # metres of 3.2 mm on paper
    halo = {"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.7}
    edge = 14 * k * n / 1000.0  # a label this close to a corner would cross the frame
    text: dict[str, Any] = {"fontsize": 5.5 * k, "zorder": 24, "bbox": halo}
    for x in xs[(xs > x0 + edge) & (xs < x1 - edge)]:  # eastings along the bottom
        ax.text(x, y0 + gap, f"{x:,.0f}", ha="center", va="bottom", **text)
    for y in ys[(ys > y0 + edge) & (ys < y1 - edge)]:  # northings up the left side
        ax.text(x0 + gap, y, f"{y:,.0f}", ha="left", va="center", rotation=90, **text)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def today_text() -> str:
    """Return today's date as drawings write it (制图日期)."""
    return dt.date.today().isoformat()
