"""
The maps of a scenario comparison: the change map and the swipe (卷帘) map.

The change map draws the parcels whose class differs between the base and a scenario,
filled in the new class's colour and outlined in the old one's, one layer per
``from → to`` with its count in the legend. The swipe map draws two scenarios' classes in
two map panes of one Leaflet map, the right one clipped to the right of a slider (the
clip is this module's own small script, inlined: no plugin, no request). Both are built on
`geo_renewal.maps`' layers (`geo_renewal._maplayer`) and saved by `geo_renewal.maps.save_map`.
See docs/guide/scenarios.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from geo_renewal import _mapdata as md
from geo_renewal._folium import elements
from geo_renewal._html import escape, script_json
from geo_renewal._maplayer import add_layer, category_label, swatch
from geo_renewal.text import say

if TYPE_CHECKING:
    import folium

    from geo_renewal._comparison import Comparison
    from geo_renewal.workflow import RunResult

__all__ = ["change_map", "save_change_map", "save_swipe_map", "swipe_map"]

#: The two panes of a swipe map (Leaflet pane names).
PANES = ("grLeft", "grRight")

_UNCHANGED_STYLE = {"color": "#bdbdbd", "weight": 0.4, "fillColor": "#f0f0f0", "fillOpacity": 0.5}

_SWIPE_CSS = (
    ".gr-swipe-bar{position:absolute;top:0;bottom:0;width:4px;margin-left:-2px;"
    "background:#fff;box-shadow:0 0 4px rgba(0,0,0,.6);z-index:450;pointer-events:none}"
    ".gr-swipe-range{position:absolute;left:0;right:0;bottom:28px;width:100%;margin:0;"
    "z-index:460;background:transparent;-webkit-appearance:none;appearance:none;height:0}"
    ".gr-swipe-range::-webkit-slider-thumb{-webkit-appearance:none;width:34px;height:34px;"
    "border-radius:17px;background:#8b1a1a;border:3px solid #fff;cursor:ew-resize;"
    "box-shadow:0 0 4px rgba(0,0,0,.6)}"
    ".gr-swipe-range::-moz-range-thumb{width:28px;height:28px;border-radius:14px;"
    "background:#8b1a1a;border:3px solid #fff;cursor:ew-resize}"
    ".gr-swipe-side{position:absolute;top:54px;z-index:455;background:rgba(255,255,255,.9);"
    "padding:2px 8px;border-radius:3px;font-weight:600;pointer-events:none}"
)

# The clip: both panes are clipped to their side of the slider, in layer coordinates
# (the map pane moves while panning, so the clip is recomputed on every move).
_SWIPE_JS = """(function (map, panes, text) {
  var left = map.createPane(panes[0]), right = map.createPane(panes[1]), c = map.getContainer();
  left.style.zIndex = 400; right.style.zIndex = 401;
  var bar = L.DomUtil.create("div", "gr-swipe-bar", c);
  var range = L.DomUtil.create("input", "gr-swipe-range", c);
  range.type = "range"; range.min = 0; range.max = 1; range.step = "any"; range.value = 0.5;
  range.title = text.slider; range.setAttribute("aria-label", text.slider);
  var tl = L.DomUtil.create("div", "gr-swipe-side", c), tr = L.DomUtil.create("div", "gr-swipe-side", c);
  tl.textContent = text.left; tr.textContent = text.right;
  L.DomEvent.disableClickPropagation(range);
  L.DomEvent.on(range, "mousedown touchstart pointerdown", function (e) {
    L.DomEvent.stopPropagation(e); map.dragging.disable();
  });
  L.DomEvent.on(document, "mouseup touchend pointerup", function () { map.dragging.enable(); });
  function clip() {
    var size = map.getSize(), x = size.x * Number(range.value),
      nw = map.containerPointToLayerPoint([0, 0]), se = map.containerPointToLayerPoint(size),
      cx = nw.x + x;
    left.style.clip = "rect(" + [nw.y, cx, se.y, nw.x].join("px,") + "px)";
    right.style.clip = "rect(" + [nw.y, se.x, se.y, cx].join("px,") + "px)";
    bar.style.left = x + "px";
    var title = c.querySelector(".gr-title"), top = 54;  // the side names below the title
    if (title && title.offsetHeight) { top = title.offsetTop + title.offsetHeight + 8; }
    tl.style.top = tr.style.top = top + "px";
    tl.style.left = Math.max(4, x - tl.offsetWidth - 10) + "px";
    tr.style.left = Math.min(size.x - tr.offsetWidth - 4, x + 10) + "px";
  }
  range.addEventListener("input", clip);
  map.on("move zoom resize viewreset zoomend moveend", clip);
  setTimeout(clip, 0); clip();
  window.geoRenewalSwipe = {map: map, range: range, clip: clip, panes: [left, right]};
})"""


def _swipe_element(text: dict[str, str]) -> Any:
    """Return a map child whose script makes the two panes and the slider (before layers)."""
    import folium

    raw_html = elements().RawHTML
    macro: Any = folium.MacroElement

    class Swipe(macro):  # type: ignore[misc]
        def render(self, **kwargs: Any) -> None:
            figure = self.get_root()
            figure.header.add_child(raw_html(f"<style>{_SWIPE_CSS}</style>"), name="gr_swipe_css")
            call = (
                f"{_SWIPE_JS}({self._parent.get_name()}, {script_json(list(PANES))}, "
                f"{script_json(text)});"
            )
            figure.script.add_child(raw_html(call), name=self.get_name())

    el = Swipe()
    el._name = "GeoRenewalSwipe"
    return el


def _base_map(result: RunResult, title: str) -> tuple[folium.Map, Any, bool]:
    """Return a new map of the plan's tiles and language, its context, and "no tiles"."""
    from geo_renewal.maps import _context, _new_map
    from geo_renewal.tiles import tile_layers

    plan = result.plan
    tile_specs, gcj02 = tile_layers(plan.tiles, plan.lang, None)
    ctx = _context(plan.lang, None, gcj02=gcj02)
    m = _new_map(title, "100%", tile_specs)
    return m, ctx, not tile_specs


def _finish(
    m: folium.Map, ctx: Any, result: RunResult, legend: list[str], title: str, no_tiles: bool
) -> None:
    from geo_renewal.maps import _add_controls, _district_layer
    from geo_renewal.tiles import datum_note

    districts = result.layers.get("districts")
    if districts is not None:
        row = _district_layer(m, ctx, districts)
        legend.append(f"<h5>{escape(say('map.other_layers', ctx.lang))}</h5>{row}")
    legend.append(f'<div class="gr-note">{escape(datum_note(ctx.lang, gcj02=ctx.gcj02))}</div>')
    html = f"<h4>{escape(say('map.legend', ctx.lang))}</h4>" + "".join(legend)
    _add_controls(m, ctx, html, title=title, no_tiles=no_tiles)


def change_map(comparison: Comparison, name: str) -> folium.Map:
    """
    Draw the parcels whose class differs between the base and scenario `name`.

    Parameters
    ----------
    comparison
        A scenario comparison.
    name
        A scenario other than the base.

    Returns
    -------
    m
        A ``folium.Map``: unchanged parcels in light grey, each ``from → to`` change one
        layer (filled in the new class's colour, outlined thick in the old one's) with its
        number of parcels in the legend and the layer list, the streets outlined.
    """
    base = comparison.results[comparison.base]
    plan, lang = base.plan, comparison.lang
    title = say("compare.map.change_title", lang, name=plan.name, other=name, base=comparison.base)
    m, ctx, no_tiles = _base_map(base, title)
    other = comparison.results[name].classified
    assert other is not None  # a computed run has its classified parcels
    changes = comparison.changes[name]
    unchanged = other.drop(index=changes.index.intersection(other.index))
    add_layer(
        m,
        ctx,
        unchanged,
        arg="classified",
        name=f"{say('compare.map.unchanged', lang)} ({len(unchanged):,})",
        style={**_UNCHANGED_STYLE, "interactive": False},
    )
    rows = _change_layers(m, ctx, changes, lang, _categories(comparison, name))
    total = (
        f'<tr class="gr-total"><td class="gr-l">{escape(say("map.total", lang))}</td>'
        f"<td>{len(changes):,}</td></tr>"
    )
    head = (
        f'<tr><th class="gr-l">{escape(say("compare.col.change", lang))}</th>'
        f"<th>{escape(say('map.count', lang))}</th></tr>"
    )
    legend = [
        f'<table class="gr-cats">{head}{"".join(rows)}{total}</table>',
        f"<div>{swatch(_UNCHANGED_STYLE)}{escape(say('compare.map.unchanged', lang))} "
        f"({len(unchanged):,})</div>",
    ]
    _finish(m, ctx, base, legend, title, no_tiles)
    return m


def _categories(comparison: Comparison, name: str) -> dict[str, Any]:
    """Return the classes of the two rule sets (code -> `Category`: labels and colour)."""
    from geo_renewal.rules import load_rules

    cats: dict[str, Any] = {}
    for scenario in (name, comparison.base):
        cats.update(load_rules(comparison.results[scenario].plan.rules).categories)
    return cats


def _change_layers(
    m: folium.Map, ctx: Any, changes: pd.DataFrame, lang: str, cats: dict[str, Any]
) -> list[str]:
    """Add one layer per class change, largest first; returns the legend rows."""
    colors = md.category_colors(
        md.category_order(pd.concat([changes["from_category"], changes["to_category"]]))
    )
    colors.update({code: cat.color for code, cat in cats.items() if cat.color})
    counts = changes["change"].value_counts()
    tip = [c for c in ("parcel_id", "name", "households") if c in changes.columns]
    tip.insert(min(2, len(tip)), "class_change")
    rows = []
    for change, n in counts.items():
        frm, _, to = str(change).partition("→")
        text = f"{_label(frm, lang, cats)} → {_label(to, lang, cats)}"
        style = {
            "color": colors.get(frm, "#777777") if frm != "absent" else "#000000",
            "weight": 2.5,
            "fillColor": colors.get(to, "#ffffff") if to != "absent" else "#ffffff",
            "fillOpacity": 0.85,
        }
        sub = changes[changes["change"] == change].assign(class_change=text)
        add_layer(
            m,
            ctx,
            sub,
            arg="changes",
            name=f"{text} ({int(n):,})",
            style=style,
            tip_fields=tip,
            head=escape(text),
            role="category:change",
        )
        rows.append(
            f'<tr><td class="gr-l">{swatch(style)}{escape(text)}</td><td>{int(n):,}</td></tr>'
        )
    return rows


def _label(code: str, lang: str, cats: dict[str, Any]) -> str:
    if code == "absent":
        return say("compare.absent", lang)
    return str(cats[code].label(lang)) if code in cats else category_label(code, lang)


def swipe_map(comparison: Comparison, left: str, right: str) -> folium.Map:
    """
    Draw two scenarios' classes on one map, split by a slider (卷帘对比).

    Parameters
    ----------
    comparison
        A scenario comparison.
    left, right
        The scenarios drawn left and right of the slider.

    Returns
    -------
    m
        A ``folium.Map`` whose two panes show the two classifications, each clipped to its
        side of the slider; the legend has each side's classes with counts and areas.
    """
    from geo_renewal.maps import _parcel_layers

    lang = comparison.lang
    base = comparison.results[comparison.base]
    title = say("compare.map.swipe_title", lang, name=base.plan.name, left=left, right=right)
    m, ctx, no_tiles = _base_map(base, title)
    text = {"left": left, "right": right, "slider": say("compare.map.slider", lang)}
    m.add_child(_swipe_element(text))  # set as textContent: never parsed as HTML
    legend = []
    for side, pane in zip((left, right), PANES, strict=True):
        classified = comparison.results[side].classified
        cats = _categories(comparison, side)  # the side's rule set names its own classes
        table = _parcel_layers(
            m,
            ctx,
            classified,
            "category",
            None,
            None,
            pane=pane,
            prefix=f"{side} · ",
            labels={code: str(cat.label(lang)) for code, cat in cats.items()},
        )
        legend.append(f"<h5>{escape(side)}</h5>{table}")
    _finish(m, ctx, base, legend, title, no_tiles)
    return m


def save_change_map(comparison: Comparison, name: str, path: str | Path) -> Path:
    """
    Write the change map of scenario `name` (`change_map`) to an HTML file.

    Parameters
    ----------
    comparison
        A scenario comparison.
    name
        A scenario other than the base.
    path
        The ``.html`` file; self-contained when the plan's maps are offline.

    Returns
    -------
    path
        The file written.
    """
    from geo_renewal.maps import save_map

    offline = comparison.results[comparison.base].plan.offline
    return save_map(change_map(comparison, name), path, offline=offline)


def save_swipe_map(comparison: Comparison, left: str, right: str, path: str | Path) -> Path:
    """
    Write the swipe map of two scenarios (`swipe_map`) to one HTML file.

    Parameters
    ----------
    comparison
        A scenario comparison.
    left, right
        The scenarios left and right of the slider.
    path
        The ``.html`` file; self-contained when the plan's maps are offline.

    Returns
    -------
    path
        The file written.
    """
    from geo_renewal.maps import save_map

    offline = comparison.results[comparison.base].plan.offline
    return save_map(swipe_map(comparison, left, right), path, offline=offline)
