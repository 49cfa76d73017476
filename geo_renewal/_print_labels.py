"""
Labels of printed maps that never collide, in the HTML maps' priority order.

Candidates carry a rank (`geo_renewal._mapdata.LABEL_PRIORITY`: projects, sites, streets,
units …; within projects, overdue ones by days behind first). `place_labels` draws them in
rank order and keeps a label only when its box (measured by the renderer, with a little
air) overlaps no label kept before and stays inside the map — on its anchor, or for project
and site labels beside, above or below it; the others are left out and counted, overdue
projects by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Label", "place_labels"]


@dataclass(order=True)
class Label:
    """
    A label candidate.

    Attributes
    ----------
    rank
        Lower wins (placed first).
    x, y
        Anchor in map coordinates (metres).
    text
        The text (may hold a line break).
    style
        Extra `Axes.text` keywords (colour, weight, size factor ``"scale"``), and two of the
        placement: ``"around": True`` tries beside, above and below the anchor when the label
        does not fit on it; ``"must": True`` (an overdue project) is reported by name in
        `place_labels`'s ``missed`` when it fits nowhere.
    """

    rank: tuple[float, ...]
    x: float = field(compare=False)
    y: float = field(compare=False)
    text: str = field(compare=False)
    style: dict[str, Any] = field(default_factory=dict, compare=False)


def _overlaps(box: np.ndarray, boxes: list[np.ndarray]) -> bool:
    if not boxes:
        return False
    b = np.asarray(boxes)
    return bool(
        np.any((b[:, 0] < box[2]) & (b[:, 2] > box[0]) & (b[:, 1] < box[3]) & (b[:, 3] > box[1]))
    )


def place_labels(
    ax: Axes,
    labels: Sequence[Label],
    *,
    k: float,
    size: float = 7.0,
    missed: list[str] | None = None,
) -> int:
    """
    Draw the labels that fit without overlapping, best rank first; return how many were left out.

    Parameters
    ----------
    ax
        The map axes (limits set).
    labels
        Candidates.
    k
        Text scale of the page.
    size
        Base font size in points (× `k`, × a label's ``scale``).
    missed
        If given, the first lines of the ``"must"`` labels left out are appended to it.

    Returns
    -------
    n_left_out
        Labels that would have collided with a better one or left the map.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    frame = ax.get_window_extent(renderer)
    placed: list[np.ndarray] = []
    air = 1.5 * k * fig.dpi / 72.0
    left_out = 0
    for lab in sorted(labels):
        style = dict(lab.style)
        scale = style.pop("scale", 1.0)
        around, must = style.pop("around", False), style.pop("must", False)
        text = ax.text(
            lab.x,
            lab.y,
            lab.text,
            ha="center",
            va="center",
            fontsize=size * k * scale,
            zorder=30,
            clip_on=True,
            **style,
        )
        box = _first_free(ax, text, renderer, frame, placed, air, around=around)
        if box is None:
            text.remove()
            left_out += 1
            if must and missed is not None:
                missed.append(lab.text.split("\n", 1)[0])
            continue
        placed.append(box)
    return left_out


def _first_free(
    ax: Axes,
    text: Any,
    renderer: Any,
    frame: Any,
    placed: list[np.ndarray],
    air: float,
    *,
    around: bool,
) -> np.ndarray | None:
    """Move `text` to its anchor, else (`around`) beside / above / below it, where it is free."""
    bb = text.get_window_extent(renderer)
    x0, y0 = ax.transData.transform(text.get_position())
    dx, dy = bb.width + air, bb.height + air
    offsets = [(0.0, 0.0)]
    if around:
        offsets += [
            (0, dy),
            (0, -dy),
            (dx, 0),
            (-dx, 0),
            (dx, dy),
            (-dx, dy),
            (dx, -dy),
            (-dx, -dy),
        ]
    inverse = ax.transData.inverted()
    for ox, oy in offsets:
        box = np.array([bb.x0 + ox - air, bb.y0 + oy - air, bb.x1 + ox + air, bb.y1 + oy + air])
        inside = (
            bb.x0 + ox >= frame.x0
            and bb.x1 + ox <= frame.x1
            and bb.y0 + oy >= frame.y0
            and bb.y1 + oy <= frame.y1
        )
        if inside and not _overlaps(box, placed):
            text.set_position(tuple(inverse.transform((x0 + ox, y0 + oy))))
            return box
    return None
