"""
Meeting maps: folium maps of classified parcels, constraints, resettlement and projects.

`renewal_map` draws the layers of a renewal plan on one Leaflet map — one toggleable layer
per renewal category in the fixed palette of `schema.CATEGORIES`, a legend with parcel
counts and areas (公顷), street outlines with labels, renewal zones, constraint layers,
resettlement sites and flows, and projects coloured by stage — with Chinese labels by
default. `save_map` writes it atomically, optionally as one self-contained offline file.

The details are in the user guide, docs/guide/maps.md.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import shapely

from geo_renewal import _mapdata as md
from geo_renewal import settings
from geo_renewal._checks import check_lang
from geo_renewal._compat import import_optional
from geo_renewal._errors import InputError
from geo_renewal._folium import LEAFLET_CSS, LEAFLET_JS, elements
from geo_renewal._folium import inline_assets as _inline_assets
from geo_renewal._html import escape
from geo_renewal._mapdata import CONSTRAINT_STYLES, FALLBACK_PALETTE
from geo_renewal.crs import area as _area
from geo_renewal.crs import check_crs
from geo_renewal.schema import label
from geo_renewal.text import pick, say
from geo_renewal.tiles import TILES, datum_note, tile_layers

if TYPE_CHECKING:
    import folium

    import geopandas as gpd

__all__ = ["TILES", "renewal_map", "save_map"]

logger = logging.getLogger(__name__)


_DEFAULT_PARCEL_FIELDS = (
    "parcel_id",
    "name",
    "reason",
    "households",
    "population",
    "floor_area",
    "street",
)
_SITE_FIELDS = ("site_id", "name", "capacity_units", "allocated_households", "utilisation")
_FLOW_FIELDS = ("unit_id", "site_id", "households", "dist_m")
_PROJECT_TIP_FIELDS = (
    "project_id",
    "name",
    "project_type",
    "stage",
    "signing_rate",
    "days_behind",
)

_OFFLINE_DROP_HINT = (
    "pass tiles='none' for a map that makes no network request, or keep tiles and open the "
    "file where the tile server is reachable"
)


# --------------------------------------------------------------------------------------
# layer building
# --------------------------------------------------------------------------------------


@dataclass
class _Ctx:
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
    layer_names: set[str] = field(default_factory=set)


def _unique_name(ctx: _Ctx, name: str) -> str:
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


def _add_layer(
    m: folium.Map,
    ctx: _Ctx,
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
) -> int:
    """Add one data layer; returns the number of drawn features."""
    data_layer_cls = elements().DataLayer
    prep = md.prepare(gdf, arg, tolerance=ctx.tolerance, precision=ctx.precision, gcj02=ctx.gcj02)
    sub = gdf.iloc[prep.rows]
    fields = list(dict.fromkeys((*tip_fields, *pop_fields, *([head_field] if head_field else []))))
    columns = [md.format_values(sub[f], f, ctx.lang) for f in fields]
    data_json = md.layer_data(
        prep, ctx.precision, columns=columns, labels=labels, style_keys=style_keys
    )
    spec = md.layer_spec(
        style,
        styles,
        label_prio=md.label_priority(role) if labels is not None else None,
        tip=_field_spec(tip_fields, fields, head, head_field, ctx.lang) if tip_fields else None,
        popup=_field_spec(pop_fields, fields, head, head_field, ctx.lang) if pop_fields else None,
    )
    name = _unique_name(ctx, name)
    layer = data_layer_cls(
        escape(name), spec, data_json, n_features=len(prep.rows), show=show, role=role
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


def _check_fields(gdf: pd.DataFrame, fields: Iterable[str], arg: str, name: str) -> list[str]:
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


def _swatch(style: Mapping[str, Any], *, line: bool = False) -> str:
    color = _css_color(style.get("color", "#333"))
    fill = _css_color(style.get("fillColor", style.get("color", "#333")))
    dashed = "dashed" if style.get("dashArray") else "solid"
    if line:
        return (
            f'<span class="gr-sw" style="height:0;border-top:3px {dashed} {color};'
            f'margin-bottom:3px"></span>'
        )
    opacity = float(style.get("fillOpacity", 0.6)) if style.get("fill", True) else 0.0
    bg = _hex_to_rgba(fill, opacity)
    width = 2 if style.get("weight", 1) >= 2 else 1
    return f'<span class="gr-sw" style="background:{bg};border:{width}px {dashed} {color}"></span>'


_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _css_color(color: str) -> str:
    """Return `color` if it is a #rrggbb colour, else a neutral grey (never raw text)."""
    return color if isinstance(color, str) and _HEX.match(color) else "#777777"


def _hex_to_rgba(color: str, alpha: float) -> str:
    c = _css_color(color)
    r, g, b = int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)
    return f"rgba({r},{g},{b},{alpha:.2f})"


def _category_label(code: str, lang: str) -> str:
    if code == md.UNCLASSIFIED:
        return say("map.unclassified", lang)
    return label(code, lang)


def _fmt_ha(m2: float) -> str:
    return f"{m2 / 10_000:,.2f}"


def _resolve_fields(
    gdf: gpd.GeoDataFrame,
    value: bool | Sequence[str] | None,
    default: Sequence[str],
    *,
    arg: str,
    name: str,
    all_columns: bool = False,
    exclude: Sequence[str] = (),
) -> list[str]:
    geom = gdf.geometry.name
    if value is False:
        return []
    if value is None:
        if all_columns:
            return [c for c in gdf.columns if c != geom and c not in exclude]
        return [c for c in default if c in gdf.columns and c not in exclude]
    if value is True:
        return [c for c in gdf.columns if c != geom and c not in exclude]
    if isinstance(value, str):
        value = [value]
    return _check_fields(gdf, value, arg, name)


def renewal_map(
    classified: gpd.GeoDataFrame | None,
    *,
    districts: gpd.GeoDataFrame | None = None,
    zones: gpd.GeoDataFrame | None = None,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    sites: gpd.GeoDataFrame | None = None,
    flows: gpd.GeoDataFrame | None = None,
    projects: gpd.GeoDataFrame | None = None,
    tiles: str = "auto",
    lang: str | None = None,
    title: str | None = None,
    tooltip: bool | Sequence[str] | None = None,
    popup: bool | Sequence[str] | None = None,
    tianditu_key: str | None = None,
    simplify: float | None = None,
    category_col: str = "category",
    height: int | str = "100%",
) -> folium.Map:
    """
    Draw a renewal plan on an interactive meeting map.

    Parcels are drawn as one toggleable layer per category (fixed order and colours of
    `schema.CATEGORIES`; user categories get a fallback palette; parcels without a
    category form an "未分类" layer), under a legend with each category's parcel count and
    area in 公顷 (measured in the working CRS on the unsimplified parcels). Further layers are
    drawn when given; every text from data is escaped. Only tooltip and popup fields are
    exported; polygons are simplified by `simplify` metres in the working CRS (topology of
    each feature kept) and coordinates rounded to ``settings.map_coordinate_precision``
    decimals. The inputs are not changed.

    Parameters
    ----------
    classified
        Parcels with a CRS and a `category_col` column (codes of `schema.CATEGORIES`
        or user codes), e.g. from ``classify_parcels``; None for a map of other layers only.
    districts
        Street / district polygons; drawn as outlines labelled by ``name`` (or
        ``district_id`` / ``street``).
    zones
        Renewal zones (``zone_id``, optional ``category``), drawn as dashed outlines.
    layers
        Constraint layers by name, e.g. ``{"heritage_core": gdf, "river": gdf}``; the names
        of `CONSTRAINT_STYLES` get their labels and styles, others a generic dashed style.
    sites
        Resettlement sites (``site_id``, ``name``, ``capacity_units``,
        ``allocated_households``, ``utilisation``), labelled with their capacity.
    flows
        Allocation flows, LineStrings with ``unit_id``, ``site_id``, ``households``,
        ``dist_m``; line width grows with households.
    projects
        Projects (``project_id``, ``name``, ``project_type``, ``stage`` codes of
        `schema.STAGES`, ``overdue``, ``signing_rate``, ``days_behind`` and any ledger
        columns), coloured by stage; overdue ones get a red dashed outline; the popup shows
        the whole ledger row.
    tiles
        Base map, one of `TILES` (see `geo_renewal.tiles` and docs/guide/maps.md). ``"gaode"`` shifts the display
        copy of every layer to GCJ-02.
    lang
        ``"zh"`` or ``"en"`` for labels; default ``settings.lang`` (``"zh"``).
    title
        Title shown on the map and as the page title.
    tooltip
        Parcel tooltip fields: None for the defaults present (``parcel_id``, ``name``,
        ``reason``, ``households``, ``population``, ``floor_area``, ``street``), False for
        none, or a list of columns.
    popup
        Parcel popup fields: None or False for none, True for every column, or a list.
    tianditu_key
        Tianditu key; default the ``TIANDITU_KEY`` environment variable.
    simplify
        Simplification tolerance in metres; default ``settings.map_simplify_tolerance``.
        0 keeps every vertex.
    category_col
        Name of the category column of `classified`.
    height
        Height of the map (CSS), e.g. ``"100%"`` or ``600``.

    Returns
    -------
    m
        A ``folium.Map``; save it with `save_map`, show it in Jupyter, or add folium
        elements. (It loads Leaflet only; restore ``m.default_js = folium.Map.default_js``
        and ``m.default_css`` before adding Font Awesome icon markers.)

    Raises
    ------
    InputError
        For an unknown `tiles` / `lang`, a missing Tianditu key, a layer without the
        needed column, or unknown tooltip / popup columns.
    CRSError
        If a layer has no CRS.

    Warns
    -----
    UserWarning
        When more than ``settings.map_feature_warning`` features are drawn, naming what
        was reduced and lighter alternatives.

    See Also
    --------
    save_map : Write the map to an HTML file, optionally self-contained.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(
    ...     {"parcel_id": ["P1", "P2"], "category": ["demolish", "unchanged"],
    ...      "reason": ["C级危房", "—"]},
    ...     geometry=[box(500000, 4063000, 500100, 4063100), box(500110, 4063000, 500200, 4063100)],
    ...     crs="EPSG:4548",
    ... )
    >>> m = renewal_map(parcels, tiles="none", title="东关片区")
    >>> "征收拆迁" in m.get_root().render()
    True
    """
    import_optional("folium", purpose="renewal_map")
    lang = check_lang(lang)
    tile_specs, gcj02 = tile_layers(tiles, lang, tianditu_key)
    ctx = _context(lang, simplify, gcj02=gcj02)
    if all(x is None for x in (classified, districts, zones, sites, flows, projects)) and not (
        layers
    ):
        msg = "renewal_map needs at least one layer; pass `classified` or another layer."
        raise InputError(msg)
    m = _new_map(title, height, tile_specs)
    legend = _data_layers(
        m,
        ctx,
        classified=classified,
        category_col=category_col,
        tooltip=tooltip,
        popup=popup,
        zones=zones,
        layers=layers,
        districts=districts,
        projects=projects,
        sites=sites,
        flows=flows,
    )
    _add_controls(m, ctx, legend, title=title, no_tiles=not tile_specs)
    _fit_bounds(m, ctx)
    _warn_if_big(ctx)
    return m


def _context(lang: str, simplify: float | None, *, gcj02: bool) -> _Ctx:
    tolerance = settings.map_simplify_tolerance if simplify is None else float(simplify)
    if tolerance < 0:
        msg = f"`simplify` must be a tolerance in metres ≥ 0, got {simplify!r}."
        raise InputError(msg)
    return _Ctx(
        lang=lang,
        tolerance=tolerance,
        precision=int(settings.map_coordinate_precision),
        gcj02=gcj02,
    )


def _new_map(title: str | None, height: int | str, tile_specs: list[dict[str, Any]]) -> folium.Map:
    """Create a canvas-rendered map in its own page (Leaflet only), with the base-map tiles."""
    import folium
    from branca.element import Figure

    fig = Figure(title=escape(title) if title else None)
    m = folium.Map(
        tiles=None,
        prefer_canvas=True,
        control_scale=False,
        zoom_control=False,
        height=height,
    )
    m.add_to(fig)
    # Leaflet only: the renewal map needs no jQuery, Bootstrap or Font Awesome.
    m.default_js = [("leaflet", LEAFLET_JS)]
    m.default_css = [("leaflet_css", LEAFLET_CSS)]
    for spec in tile_specs:
        overlay = spec.pop("overlay", False)
        folium.TileLayer(
            overlay=overlay, control=True, show=True, **{**spec, "name": escape(spec["name"])}
        ).add_to(m)
    return m


def _data_layers(
    m: folium.Map,
    ctx: _Ctx,
    *,
    classified: gpd.GeoDataFrame | None,
    category_col: str,
    tooltip: bool | Sequence[str] | None,
    popup: bool | Sequence[str] | None,
    zones: gpd.GeoDataFrame | None,
    layers: Mapping[str, gpd.GeoDataFrame] | None,
    districts: gpd.GeoDataFrame | None,
    projects: gpd.GeoDataFrame | None,
    sites: gpd.GeoDataFrame | None,
    flows: gpd.GeoDataFrame | None,
) -> str:
    """Add the data layers in drawing order; returns the legend HTML."""
    legend: list[str] = []
    if classified is not None:
        legend.append(_parcel_layers(m, ctx, classified, category_col, tooltip, popup))
    other_rows: list[str] = []
    if zones is not None:
        other_rows.append(_zone_layer(m, ctx, zones))
    if layers:
        for lname, lgdf in layers.items():
            other_rows.append(_constraint_layer(m, ctx, str(lname), lgdf))
    if districts is not None:
        other_rows.append(_district_layer(m, ctx, districts))
    if projects is not None:
        legend.append(_project_layers(m, ctx, projects))
    if sites is not None:
        other_rows.append(_site_layer(m, ctx, sites))
    if flows is not None:
        other_rows.append(_flow_layer(m, ctx, flows))
    if other_rows:
        legend.append(
            f"<h5>{escape(say('map.other_layers', ctx.lang))}</h5>" + "".join(other_rows)
        )
    note = datum_note(ctx.lang, gcj02=ctx.gcj02)
    legend.append(f'<div class="gr-note">{escape(note)}</div>')
    return f"<h4>{escape(say('map.legend', ctx.lang))}</h4>" + "".join(legend)


def _add_controls(
    m: folium.Map, ctx: _Ctx, legend: str, *, title: str | None, no_tiles: bool
) -> None:
    """Title and legend (the runtime's decorations), full screen, measuring, layer list."""
    import folium.plugins

    lang = ctx.lang
    elements().Decorations(
        {
            md.TITLE: escape(title) if title else "",
            md.LEGEND: legend,
            md.ZOOM_IN: escape(say("map.zoom_in", lang)),
            md.ZOOM_OUT: escape(say("map.zoom_out", lang)),
            md.NO_TILES: no_tiles,
            md.ATTRIBUTION: '<a href="https://leafletjs.com">Leaflet</a>',
        }
    ).add_to(m)
    folium.plugins.Fullscreen(  # type: ignore[no-untyped-call]
        position="topleft",
        title=escape(say("map.fullscreen", lang)),
        title_cancel=escape(say("map.exit_fullscreen", lang)),
    ).add_to(m)
    folium.plugins.MeasureControl(  # type: ignore[no-untyped-call]
        position="topleft",
        primary_length_unit="meters",
        secondary_length_unit="kilometers",
        primary_area_unit="sqmeters",
        secondary_area_unit="hectares",
        localization={"zh": "cn", "en": "en"}[lang],
    ).add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)


def _fit_bounds(m: folium.Map, ctx: _Ctx) -> None:
    if ctx.bounds:
        b = np.vstack(ctx.bounds)
        m.fit_bounds([[b[:, 1].min(), b[:, 0].min()], [b[:, 3].max(), b[:, 2].max()]])


def _warn_if_big(ctx: _Ctx) -> None:
    if ctx.n_features > settings.map_feature_warning:
        msg = (
            f"the map draws {ctx.n_features:,} features (more than "
            f"settings.map_feature_warning = {settings.map_feature_warning:,}); to keep the "
            f"file small it was reduced: polygons simplified by {ctx.tolerance:g} m "
            f"({ctx.n_vertices_in:,} → {ctx.n_vertices_out:,} vertices), coordinates "
            f"rounded to {ctx.precision} decimals, {ctx.n_fields} attribute fields exported. "
            "Lighter alternatives: dissolve parcels into zones (zones_from_parcels) and map "
            "those, map one street or category at a time, pass tooltip=False, raise "
            "`simplify=`, or write a GeoPackage (write_layer) for QGIS."
        )
        warnings.warn(msg, UserWarning, stacklevel=3)


def _parcel_layers(
    m: folium.Map,
    ctx: _Ctx,
    classified: gpd.GeoDataFrame,
    category_col: str,
    tooltip: bool | Sequence[str] | None,
    popup: bool | Sequence[str] | None,
) -> str:
    """Add one layer per category; returns the legend table of counts and areas."""
    if category_col not in classified.columns:
        msg = (
            f"`classified` has no {category_col!r} column; classify the parcels first "
            "(classify_parcels) or pass `category_col=` naming the column with category codes."
        )
        raise InputError(msg)
    check_crs(classified, "classified")
    cats = classified[category_col]
    order = md.category_order(cats)
    colors = md.category_colors(order)
    codes = cats.astype(object).where(cats.notna(), md.UNCLASSIFIED).map(str)
    areas = _area(classified).fillna(0.0) if len(classified) else pd.Series(dtype=float)
    tip, pop = _parcel_fields(classified, category_col, tooltip, popup)
    rows = []
    total_n, total_a = 0, 0.0
    code_arr = codes.to_numpy()
    groups = pd.Series(code_arr).groupby(code_arr, sort=False).indices
    for code in order:
        idx = groups.get(code, np.empty(0, dtype=int))
        n = len(idx)
        a = float(areas.iloc[idx].sum()) if n else 0.0
        total_n += n
        total_a += a
        text = _category_label(code, ctx.lang)
        style = md.category_style(code, colors[code])
        rows.append(
            f'<tr><td class="gr-l">{_swatch(style)}{escape(text)}</td>'
            f"<td>{n:,}</td><td>{_fmt_ha(a)}</td></tr>"
        )
        if n == 0:
            continue
        _add_layer(
            m,
            ctx,
            classified.iloc[idx],
            arg="classified",
            name=f"{text} ({n:,})",
            style=style,
            tip_fields=tip,
            pop_fields=pop,
            head=escape(text),
            role=f"category:{code}",
        )
    return _category_table(rows, total_n, total_a, ctx.lang)


def _parcel_fields(
    classified: gpd.GeoDataFrame,
    category_col: str,
    tooltip: bool | Sequence[str] | None,
    popup: bool | Sequence[str] | None,
) -> tuple[list[str], list[str]]:
    """Return the parcels' tooltip and popup fields (checked against the columns)."""
    tip = _resolve_fields(
        classified,
        tooltip,
        _DEFAULT_PARCEL_FIELDS,
        arg="tooltip",
        name="classified",
        exclude=(category_col,),
    )
    pop = _resolve_fields(
        classified,
        popup if popup is not None else False,
        (),
        arg="popup",
        name="classified",
        exclude=(),
    )
    return tip, pop


def _category_table(rows: list[str], total_n: int, total_a: float, lang: str) -> str:
    total = (
        f'<tr class="gr-total"><td class="gr-l">{escape(say("map.total", lang))}</td>'
        f"<td>{total_n:,}</td><td>{_fmt_ha(total_a)}</td></tr>"
    )
    head = (
        f'<tr><th class="gr-l">{escape(say("map.category", lang))}</th>'
        f"<th>{escape(say('map.count', lang))}</th><th>{escape(say('map.area_ha', lang))}</th></tr>"
    )
    return f'<table class="gr-cats">{head}{"".join(rows)}{total}</table>'


def _name_col(gdf: pd.DataFrame, candidates: Sequence[str]) -> str | None:
    return next((c for c in candidates if c in gdf.columns), None)


def _label_texts(gdf: pd.DataFrame, col: str | None, lang: str) -> list[str] | None:
    if col is None:
        return None
    return md.format_values(gdf[col], col, lang)


def _zone_layer(m: folium.Map, ctx: _Ctx, zones: gpd.GeoDataFrame) -> str:
    lang = ctx.lang
    style = {"color": "#08306b", "weight": 2.5, "dashArray": "6 4", "fill": False}
    style_keys, styles = None, []
    if "category" in zones.columns:
        codes = zones["category"].astype(object).where(zones["category"].notna(), md.UNCLASSIFIED)
        order = md.category_order(zones["category"])
        colors = md.category_colors(order)
        styles = [{"color": colors[c] if c != md.UNCLASSIFIED else "#08306b"} for c in order]
        style_keys = np.array([order.index(str(c)) for c in codes], dtype=int)
    id_col = _name_col(zones, ("zone_name", "zone_id", "name"))
    labels = _label_texts(zones, id_col, lang) if len(zones) <= 300 else None
    name = say("map.zones", lang)
    _add_layer(
        m,
        ctx,
        zones,
        arg="zones",
        name=f"{name} ({len(zones):,})",
        style={**style, "interactive": False},
        labels=labels,
        style_keys=style_keys,
        styles=styles,
        role="zones",
    )
    return f"<div>{_swatch(style, line=True)}{escape(name)}</div>"


def _constraint_layer(m: folium.Map, ctx: _Ctx, lname: str, gdf: gpd.GeoDataFrame) -> str:
    lang = ctx.lang
    if lname in CONSTRAINT_STYLES:
        zh, en, style = CONSTRAINT_STYLES[lname]
        text = pick((zh, en), lang)
    else:
        color = FALLBACK_PALETTE[ctx.n_generic % len(FALLBACK_PALETTE)]
        ctx.n_generic += 1
        style = {"color": color, "weight": 2, "dashArray": "5 5", "fillOpacity": 0.08}
        text = lname
    geom_types = set(gdf.geom_type.dropna().unique()) if len(gdf) else set()
    is_line = bool(geom_types) and geom_types <= {"LineString", "MultiLineString"}
    label_col = _name_col(gdf, ("name",))
    labels = _label_texts(gdf, label_col, lang) if label_col and len(gdf) <= 100 else None
    _add_layer(
        m,
        ctx,
        gdf,
        arg=f"layers[{lname!r}]",
        name=text,
        style={**style, "interactive": False},
        labels=labels,
        role=f"layer:{lname}",
    )
    return f"<div>{_swatch(style, line=is_line)}{escape(text)}</div>"


def _district_layer(m: folium.Map, ctx: _Ctx, districts: gpd.GeoDataFrame) -> str:
    lang = ctx.lang
    style = {"color": "#252525", "weight": 2.2, "fill": False, "opacity": 0.9}
    col = _name_col(districts, ("name", "street", "district_id"))
    labels = _label_texts(districts, col, lang) if len(districts) <= 300 else None
    name = say("map.districts", lang)
    _add_layer(
        m,
        ctx,
        districts,
        arg="districts",
        name=name,
        style={**style, "interactive": False},
        labels=labels,
        role="districts",
    )
    return f"<div>{_swatch(style, line=True)}{escape(name)}</div>"


def _site_layer(m: folium.Map, ctx: _Ctx, sites: gpd.GeoDataFrame) -> str:
    lang = ctx.lang
    style = {"color": "#00441b", "weight": 2, "fillColor": "#1a9641", "fillOpacity": 0.45}
    name_col = _name_col(sites, ("name", "site_id"))
    names = md.format_values(sites[name_col], name_col, lang) if name_col else [""] * len(sites)
    cap = sites["capacity_units"] if "capacity_units" in sites.columns else None
    alloc = sites["allocated_households"] if "allocated_households" in sites.columns else None
    labels = []
    for i in range(len(sites)):
        bits = [names[i]] if names[i] else []
        if cap is not None and pd.notna(cap.iloc[i]):
            bits.append(
                f"{escape(say('map.capacity', lang))} {md.fmt_number(float(cap.iloc[i]))} "
                f"{escape(say('map.units', lang))}"
            )
        if alloc is not None and pd.notna(alloc.iloc[i]):
            bits.append(
                f"{escape(say('map.allocated', lang))} {md.fmt_number(float(alloc.iloc[i]))} "
                f"{escape(say('map.hh', lang))}"
            )
        labels.append("<br>".join(bits))
    tip = [c for c in _SITE_FIELDS if c in sites.columns]
    name = say("map.sites", lang)
    _add_layer(
        m,
        ctx,
        sites,
        arg="sites",
        name=f"{name} ({len(sites):,})",
        style=style,
        labels=labels if len(sites) <= 300 else None,
        tip_fields=tip,
        role="sites",
    )
    return f"<div>{_swatch(style)}{escape(name)}</div>"


def _flow_layer(m: folium.Map, ctx: _Ctx, flows: gpd.GeoDataFrame) -> str:
    lang = ctx.lang
    style = {"color": "#08519c", "weight": 2, "opacity": 0.75, "fill": False}
    hh = (
        pd.to_numeric(flows["households"], errors="coerce").fillna(0.0)
        if "households" in flows.columns
        else pd.Series(0.0, index=flows.index)
    )
    hmax = float(hh.max()) if len(hh) and hh.max() > 0 else 1.0
    weights = np.round(1.5 + 8.0 * np.sqrt(np.clip(hh.to_numpy(float), 0, None) / hmax), 1)
    uniq, keys = np.unique(weights, return_inverse=True)
    styles = [{"weight": float(w)} for w in uniq]
    labels = None
    if "households" in flows.columns and len(flows) <= 200:
        unit = escape(say("map.hh", lang))
        labels = [f"{md.fmt_number(float(h))} {unit}" for h in hh]
    tip = [c for c in _FLOW_FIELDS if c in flows.columns]
    name = say("map.flows", lang)
    _add_layer(
        m,
        ctx,
        flows,
        arg="flows",
        name=f"{name} ({len(flows):,})",
        style=style,
        styles=styles,
        style_keys=keys,
        labels=labels,
        tip_fields=tip,
        role="flows",
    )
    return f"<div>{_swatch(style, line=True)}{escape(name)}</div>"


def _project_layers(m: folium.Map, ctx: _Ctx, projects: gpd.GeoDataFrame) -> str:
    """Add the projects coloured by stage and the overdue outlines; returns their legend."""
    lang = ctx.lang
    stage = (
        projects["stage"].astype(object)
        if "stage" in projects.columns
        else pd.Series([None] * len(projects), index=projects.index, dtype=object)
    )
    stage = stage.where(stage.notna(), md.UNCLASSIFIED).map(str)
    order, colors = md.stage_colors(stage)
    base = {"color": "#404040", "weight": 1.2, "fillOpacity": 0.7}
    name = say("map.projects", lang)
    _add_layer(
        m,
        ctx,
        projects,
        arg="projects",
        name=f"{name} ({len(projects):,})",
        style=base,
        styles=[{"fillColor": colors[s]} for s in order],
        style_keys=np.array([order.index(s) for s in stage], dtype=int),
        tip_fields=[c for c in _PROJECT_TIP_FIELDS if c in projects.columns],
        pop_fields=[c for c in projects.columns if c != projects.geometry.name],
        head_field=_name_col(projects, ("name", "project_id")),
        labels=_project_labels(projects, stage, lang) if len(projects) <= 300 else None,
        role="projects",
    )
    counts = stage.value_counts()
    rows = []
    for s in order:
        text = say("map.unclassified", lang) if s == md.UNCLASSIFIED else label(s, lang)
        rows.append(
            f'<tr><td class="gr-l">{_swatch({**base, "fillColor": colors[s]})}'
            f"{escape(text)}</td><td>{int(counts.get(s, 0)):,}</td></tr>"
        )
    if "overdue" in projects.columns:
        rows.append(_overdue_layer(m, ctx, projects))
    return f'<h5>{escape(say("map.stage", lang))}</h5><table class="gr-stages">{"".join(rows)}</table>'


def _project_labels(projects: gpd.GeoDataFrame, stage: pd.Series, lang: str) -> list[str]:
    """Wall-map labels: the project id and its stage (the name is in the tooltip)."""
    id_col = _name_col(projects, ("project_id", "name"))
    ids = md.format_values(projects[id_col], id_col, lang) if id_col else [""] * len(projects)
    return [
        "<br>".join(
            b for b in (ids[i], "" if st == md.UNCLASSIFIED else escape(label(st, lang))) if b
        )
        for i, st in enumerate(stage)
    ]


def _overdue_layer(m: folium.Map, ctx: _Ctx, projects: gpd.GeoDataFrame) -> str:
    """Outline the overdue projects in red; returns their legend row."""
    overdue_mask = projects["overdue"].fillna(False).astype(bool).to_numpy()
    n_over = int(overdue_mask.sum())
    over_style = {
        "color": "#e31a1c",
        "weight": 4,
        "dashArray": "8 6",
        "fill": False,
        "interactive": False,
    }
    text = say("map.overdue", ctx.lang)
    if n_over:
        _add_layer(
            m,
            ctx,
            projects.iloc[np.flatnonzero(overdue_mask)],
            arg="projects",
            name=f"{text} ({n_over:,})",
            style=over_style,
            role="overdue",
        )
    return f'<tr><td class="gr-l">{_swatch(over_style)}{escape(text)}</td><td>{n_over:,}</td></tr>'


# --------------------------------------------------------------------------------------
# saving
# --------------------------------------------------------------------------------------


def save_map(m: folium.Map, path: str | os.PathLike[str], *, offline: bool = False) -> Path:
    """
    Write a map to an HTML file atomically, optionally self-contained for offline use.

    Parameters
    ----------
    m
        A map from `renewal_map` (or any ``folium.Map``).
    path
        Output ``.html`` file; missing parent folders are created.
    offline
        If True, embed every script and stylesheet (with their images as ``data:`` URIs)
        from the installed ``folium-offline`` package, so the page opens without network.
        Base-map tiles still come from their servers: build the map with ``tiles="none"``
        for a file that makes no request at all.

    Returns
    -------
    path
        The written file.

    Raises
    ------
    InputError
        If `offline` and a resource of the map cannot be embedded.

    See Also
    --------
    renewal_map : Build the map.

    Examples
    --------
    >>> import tempfile, geopandas as gpd
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame({"parcel_id": ["P1"], "category": ["demolish"]},
    ...                            geometry=[box(0, 0, 100, 100)], crs="EPSG:4548")
    >>> out = save_map(renewal_map(parcels, tiles="none"),
    ...                Path(tempfile.mkdtemp()) / "m.html", offline=True)
    >>> "<script src=" in out.read_text(encoding="utf-8")
    False
    """
    from geo_renewal.io import atomic_write

    path = Path(path)
    page = m.get_root().render()
    if offline:
        page = _inline_assets(page)
        if "L.tileLayer(" in page:
            logger.info(
                "offline map %s keeps network base-map tiles; %s", path, _OFFLINE_DROP_HINT
            )
    with atomic_write(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    logger.info("map written to %s (%.1f MB)", path, len(page.encode("utf-8")) / 1e6)
    return path
