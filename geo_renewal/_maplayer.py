"""
One data layer of a meeting map: the build context, adding a layer, legend swatches.

`geo_renewal.maps` assembles the maps from these; `geo_renewal._mapflows` draws the
resettlement layers with them. The data format of a layer is `geo_renewal._mapdata`'s.

A polygon layer with totals (zones, renewal units, demand units) is hovered for them with
``add_layer(..., tip_fields=total_fields(gdf, id_col), style={..., "under": True})``:
``under`` lets the parcels below keep the mouse once they are big enough to point at.

Households are whole on every layer (`whole_households`): a zone that holds part of a
parcel by area shows 12 户, not 12.37 户, and the drawn zones still add up to the table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import shapely

from geo_renewal import _mapdata as md
from geo_renewal._errors import InputError
from geo_renewal._folium import elements
from geo_renewal._html import escape
from geo_renewal.demand import whole_counts
from geo_renewal.schema import label
from geo_renewal.text import say

if TYPE_CHECKING:
    import folium

    import geopandas as gpd

#: Totals shown when a zone, a renewal unit or a demand unit is hovered, when present.
TOTAL_FIELDS = (
    "category",
    "n_parcels",
    "households",
    "population",
    "flat_households",
    "cash_households",
    "floor_area",
    "floor_area_m2",
    "demolish_floor_area_m2",
    "area",
    "area_ha",
)


@dataclass
class Ctx:
    """What a map build counts and collects while its layers are added."""

    lang: str
    tolerance: float
    precision: int
    gcj02: bool
    n_features: int = 0
    n_vertices_in: int = 0
    n_vertices_out: int = 0
    n_fields: int = 0
    n_generic: int = 0
    bounds: list[np.ndarray] = field(default_factory=list)
    focus: list[np.ndarray] = field(default_factory=list)  # what the view fits: the district
    layer_names: set[str] = field(default_factory=set)


def _unique_name(ctx: Ctx, name: str) -> str:
    base, k = name, 2
    while name in ctx.layer_names:
        name = f"{base} ({k})"
        k += 1
    ctx.layer_names.add(name)
    return name


def _field_spec(
    shown: Sequence[str], fields: list[str], head: str, head_field: str | None, lang: str
) -> dict[str, Any]:
    """Tooltip or popup spec of the `shown` fields, positions into the exported `fields`."""
    return md.field_spec(
        [escape(label(f, lang)) for f in shown],
        [fields.index(f) for f in shown],
        head,
        fields.index(head_field) if head_field else None,
    )


def add_layer(
    m: folium.Map,
    ctx: Ctx,
    gdf: gpd.GeoDataFrame,
    *,
    arg: str,
    name: str,
    style: dict[str, Any],
    tip_fields: Sequence[str] = (),
    pop_fields: Sequence[str] = (),
    head: str = "",
    head_field: str | None = None,
    labels: Sequence[str] | None = None,
    style_keys: np.ndarray | None = None,
    styles: Sequence[dict[str, Any]] = (),
    show: bool = True,
    role: str = "",
    label_ranks: Sequence[int] | None = None,
    lazy_from_zoom: float | None = None,
) -> int:
    """
    Add one data layer; returns the number of drawn features.

    With `lazy_from_zoom`, the features are drawn from that zoom on only, and the page keeps
    them compressed in spatial chunks that the runtime decodes where the view reaches
    (`geo_renewal._mapdata.layer_chunks`; no labels).
    """
    data_layer_cls = elements().DataLayer
    prep = md.prepare(gdf, arg, tolerance=ctx.tolerance, precision=ctx.precision, gcj02=ctx.gcj02)
    sub = gdf.iloc[prep.rows]
    fields = list(dict.fromkeys((*tip_fields, *pop_fields, *([head_field] if head_field else []))))
    columns = [md.format_values(whole_households(sub[f], f), f, ctx.lang) for f in fields]
    chunks = md.layer_chunks(prep, ctx.precision, columns) if lazy_from_zoom is not None else None
    data_json = md.layer_data(
        prep if chunks is None else md.Prepared(prep.geoms[:0], prep.rows[:0]),
        ctx.precision,
        columns=columns if chunks is None else [[] for _ in columns],
        labels=labels,
        style_keys=style_keys,
        label_ranks=label_ranks,
    )
    spec = md.layer_spec(
        style,
        styles,
        label_prio=md.label_priority(role) if labels is not None else None,
        role=role,
        tip=_field_spec(tip_fields, fields, head, head_field, ctx.lang) if tip_fields else None,
        popup=_field_spec(pop_fields, fields, head, head_field, ctx.lang) if pop_fields else None,
    )
    if chunks is not None:
        spec[md.ZOOM_RANGE] = [lazy_from_zoom, None]
        spec[md.CHUNKS] = [[i, *c.bounds, c.n] for i, c in enumerate(chunks)]
        spec[md.NO_DECODE] = escape(say("map.no_decode", ctx.lang))
    name = _unique_name(ctx, name)
    layer = data_layer_cls(
        escape(name),
        spec,
        data_json,
        n_features=len(prep.rows),
        show=show,
        role=role,
        chunks=None if chunks is None else [c.data for c in chunks],
    )
    layer.add_to(m)
    ctx.n_features += len(prep.rows)
    ctx.n_vertices_in += prep.n_vertices_in
    ctx.n_vertices_out += prep.n_vertices_out
    ctx.n_fields = max(ctx.n_fields, len(fields))
    if len(prep.geoms):
        ctx.bounds.append(shapely.total_bounds(prep.geoms))
    return len(prep.rows)


# --------------------------------------------------------------------------------------
# fields and legend swatches
# --------------------------------------------------------------------------------------


def is_household_count(col: str) -> bool:
    """
    Tell whether column `col` counts households (户): shown whole on a map.

    Examples
    --------
    >>> [is_household_count(c) for c in ("households", "flat_households", "households:demolish",
    ...                                  "household_rate", "floor_area")]
    [True, True, True, False, False]
    """
    return col == "households" or col.endswith("_households") or col.startswith("households:")


def whole_households(values: pd.Series, col: str) -> pd.Series:
    """
    Return household counts of the drawn features whole, adding up to their rounded total.

    Households apportioned by area (a zone or a grid cell holding part of a parcel) are
    fractional; a tooltip shows whole households instead, rounded by the largest remainder
    (`geo_renewal.demand.whole_counts`) so the features still add up to the table's
    figure. Other columns, whole counts, missing and negative values are returned as they
    are.

    Parameters
    ----------
    values
        One column of the drawn features.
    col
        Its name (`is_household_count` decides).

    Returns
    -------
    values
        `values`, or whole households (missing values kept missing).

    Examples
    --------
    >>> whole_households(pd.Series([7.5, 7.5, 7.0]), "households").tolist()  # 22 in all
    [8, 7, 7]
    >>> whole_households(pd.Series([12.37, None]), "floor_area").tolist()
    [12.37, nan]
    """
    if not is_household_count(col) or not pd.api.types.is_float_dtype(values.dtype):
        return values
    ok = (values.notna() & (values >= 0)).to_numpy()
    if not (values[ok] % 1 != 0).any():
        return values  # whole already
    out = values.astype(object)
    out.iloc[np.flatnonzero(ok)] = [int(v) for v in whole_counts(values[ok].to_numpy())]
    out.attrs = dict(values.attrs)
    return out


def check_fields(gdf: pd.DataFrame, fields: Iterable[str], arg: str, name: str) -> list[str]:
    fields = list(fields)
    missing = [f for f in fields if f not in gdf.columns]
    if missing:
        available = [c for c in gdf.columns if c != gdf.geometry.name]
        msg = (
            f"`{arg}` names columns {missing} that `{name}` does not have; "
            f"choose from {available}."
        )
        raise InputError(msg)
    return fields


def swatch(style: Mapping[str, Any], *, line: bool = False) -> str:
    color = css_color(style.get("color", "#333"))
    fill = css_color(style.get("fillColor", style.get("color", "#333")))
    dashed = "dashed" if style.get("dashArray") else "solid"
    if line:
        return (
            f'<span class="gr-sw" style="height:0;border-top:3px {dashed} {color};'
            f'margin-bottom:3px"></span>'
        )
    opacity = float(style.get("fillOpacity", 0.6)) if style.get("fill", True) else 0.0
    bg = hex_to_rgba(fill, opacity)
    width = min(3, max(1, round(float(style.get("weight", 1)))))
    return f'<span class="gr-sw" style="background:{bg};border:{width}px {dashed} {color}"></span>'


_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def css_color(color: str) -> str:
    """Return `color` if it is a #rrggbb colour, else a neutral grey (never raw text)."""
    return color if isinstance(color, str) and _HEX.match(color) else "#777777"


def hex_to_rgba(color: str, alpha: float) -> str:
    c = css_color(color)
    r, g, b = int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)
    return f"rgba({r},{g},{b},{alpha:.2f})"


def category_label(code: str, lang: str) -> str:
    if code == md.UNCLASSIFIED:
        return say("map.unclassified", lang)
    return label(code, lang)


def fmt_ha(m2: float) -> str:
    return f"{m2 / 10_000:,.2f}"


def name_col(gdf: pd.DataFrame, candidates: Sequence[str]) -> str | None:
    return next((c for c in candidates if c in gdf.columns), None)


def label_texts(gdf: pd.DataFrame, col: str | None, lang: str) -> list[str] | None:
    if col is None:
        return None
    return md.format_values(gdf[col], col, lang)


def total_fields(gdf: pd.DataFrame, id_col: str | None) -> list[str]:
    """Return the hover fields of a polygon layer with totals: its id, then the totals."""
    head = [id_col] if id_col else []
    return head + [c for c in TOTAL_FIELDS if c in gdf.columns and c != id_col]
