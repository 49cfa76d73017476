"""
Meeting maps: folium maps of classified parcels, constraints, resettlement and projects.

`renewal_map` draws the layers of a renewal plan on one Leaflet map — one toggleable layer
per renewal category in the fixed palette of `schema.CATEGORIES`, a legend with parcel
counts and areas (公顷), street outlines with labels, renewal zones, constraint layers,
resettlement sites and flows, and projects coloured by stage — with Chinese labels by
default. `save_map` writes it atomically, by default as one self-contained offline file
(no base map unless one is asked for, or the office's local tile package is registered).

The details are in the user guide, docs/guide/maps.md.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal import _mapdata as md
from geo_renewal import _mapflows as mf
from geo_renewal import _mapoverview as mo
from geo_renewal import settings
from geo_renewal._checks import check_lang
from geo_renewal._compat import import_optional
from geo_renewal._errors import InputError
from geo_renewal._folium import LEAFLET_CSS, LEAFLET_JS, elements
from geo_renewal._folium import inline_assets as _inline_assets
from geo_renewal._html import escape
from geo_renewal._mapdata import CONSTRAINT_STYLES, FALLBACK_PALETTE
from geo_renewal._maplayer import (
    Ctx,
    add_layer,
    category_label,
    check_fields,
    fmt_ha,
    label_texts,
    name_col,
    swatch,
    total_fields,
)
from geo_renewal._roles import class_colors, class_labels
from geo_renewal.crs import area as _area
from geo_renewal.crs import check_crs
from geo_renewal.schema import label
from geo_renewal.text import pick, say
from geo_renewal.tiles import (
    TILES,
    add_tile_layer,
    datum_note,
    map_crs,
    offline_tiles,
    tile_layers,
)

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
_PROJECT_TIP_FIELDS = (
    "project_id",
    "name",
    "project_type",
    "stage",
    "signing_rate",
    "days_behind",
)
#: What a meeting reads in a project's popup (under its name), when present.
_PROJECT_POPUP_FIELDS = (
    "project_id",
    "project_type",
    "street",
    "stage",
    "stage_planned",
    "days_behind",
    "overdue_stages",
    "signing_rate",
    "households",
    "signed_households",
    "target_date",
    "responsible_unit",
    "responsible_person",
)

_OFFLINE_DROP_HINT = (
    "pass tiles='none' for a map that makes no network request, or keep tiles and open the "
    "file where the tile server is reachable"
)


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
    return check_fields(gdf, value, arg, name)


def renewal_map(
    classified: gpd.GeoDataFrame | None,
    *,
    districts: gpd.GeoDataFrame | None = None,
    zones: gpd.GeoDataFrame | None = None,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    sites: gpd.GeoDataFrame | None = None,
    flows: gpd.GeoDataFrame | None = None,
    demand: gpd.GeoDataFrame | None = None,
    projects: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    tiles: str | None = None,
    lang: str | None = None,
    title: str | None = None,
    tooltip: bool | Sequence[str] | None = None,
    popup: bool | Sequence[str] | None = None,
    tianditu_key: str | None = None,
    simplify: float | None = None,
    category_col: str = "category",
    height: int | str = "100%",
    overview: bool | None = None,
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
        ``dist_m``; drawn as curved arrows to their site, wider with more households, in
        the colour of their site (used sites get distinct colours, neighbours differ).
    demand
        Demand units of a resettlement plan (``ResettlementPlan.demand``: ``unit_id``
        polygons), filled in the colour of the site that takes most of their households,
        so that each site's catchment reads at a glance; hovered for their totals.
    units
        Renewal units (更新单元 / 项目范围: ``name`` polygons, e.g. `geo_renewal.units.check_units`
        joined with the `geo_renewal.units.unit_checks` columns), drawn as thick solid
        purple outlines labelled with their name; hovered for their totals and 63号文
        figures (floor area, demolition share, 拆建比, nearby rate, verdict) when present.
    projects
        Projects (``project_id``, ``name``, ``project_type``, ``stage`` codes of
        `schema.STAGES`, ``overdue``, ``signing_rate``, ``days_behind`` and any ledger
        columns), coloured by stage; overdue ones get a red dashed outline; the popup shows
        the whole ledger row.
    tiles
        Base map, one of `TILES` (see `geo_renewal.tiles` and docs/guide/maps.md). ``"gaode"`` shifts the display
        copy of every layer to GCJ-02. None (default): offline, the office's registered
        local tile package if there is one, else no base map (`geo_renewal.tiles.offline_tiles`);
        an online base map (``"auto"``, ``"tianditu"`` …) is always asked for by name.
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
    overview
        A whole city's map: when zoomed out, a grid of the dominant class per cell (counts
        and areas of every class in its tooltip), the parcels from the zoom where they are
        a few pixels wide, decoded from compressed chunks only where the view reaches.
        None (default) from ``settings.map_overview_min_parcels`` parcels; False draws
        every parcel at every zoom; True always.

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
    tile_specs, gcj02 = tile_layers(
        offline_tiles() if tiles is None else tiles, lang, tianditu_key
    )
    ctx = _context(lang, simplify, gcj02=gcj02)
    given = (classified, districts, zones, sites, flows, demand, projects, units)
    if all(x is None for x in given) and not layers:
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
        demand=demand,
        units=units,
        overview=overview,
    )
    _add_controls(m, ctx, legend, title=title, no_tiles=not tile_specs)
    _warn_if_big(ctx)
    return m


def _context(lang: str, simplify: float | None, *, gcj02: bool) -> Ctx:
    tolerance = settings.map_simplify_tolerance if simplify is None else float(simplify)
    if tolerance < 0:
        msg = f"`simplify` must be a tolerance in metres ≥ 0, got {simplify!r}."
        raise InputError(msg)
    return Ctx(
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
        zoom_snap=0.1,
        crs=map_crs(tile_specs),  # EPSG4326 for a longitude/latitude WMTS grid
    )
    m.add_to(fig)
    # Leaflet only: the renewal map needs no jQuery, Bootstrap or Font Awesome.
    m.default_js = [("leaflet", LEAFLET_JS)]
    m.default_css = [("leaflet_css", LEAFLET_CSS)]
    for spec in tile_specs:
        add_tile_layer(m, spec)
    return m


def _data_layers(
    m: folium.Map,
    ctx: Ctx,
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
    demand: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    overview: bool | None = None,
) -> str:
    """Add the data layers in drawing order; returns the legend HTML."""
    legend: list[str] = []
    if classified is not None:
        legend.append(
            _parcel_layers(m, ctx, classified, category_col, tooltip, popup, overview=overview)
        )
    other_rows: list[str] = []
    if zones is not None:
        other_rows.append(_zone_layer(m, ctx, zones))
    if units is not None:
        other_rows.append(_unit_layer(m, ctx, units))
    if layers:
        for lname, lgdf in layers.items():
            other_rows.append(_constraint_layer(m, ctx, str(lname), lgdf))
    if districts is not None:
        other_rows.append(_district_layer(m, ctx, districts))
    colors = None
    if sites is not None and flows is not None:
        colors = mf.site_colors(sites, flows)
    if demand is not None:
        other_rows.append(mf.demand_layer(m, ctx, demand, flows, colors or {}))
    if projects is not None:
        legend.append(_project_layers(m, ctx, projects))
    if sites is not None:
        other_rows.append(mf.site_layer(m, ctx, sites, colors))
    if flows is not None:
        other_rows.append(mf.flow_layer(m, ctx, flows, colors))
    if other_rows:
        legend.append(
            f"<h5>{escape(say('map.other_layers', ctx.lang))}</h5>" + "".join(other_rows)
        )
    note = datum_note(ctx.lang, gcj02=ctx.gcj02)
    legend.append(f'<div class="gr-note">{escape(note)}</div>')
    return f"<h4>{escape(say('map.legend', ctx.lang))}</h4>" + "".join(legend)


def _add_controls(
    m: folium.Map, ctx: Ctx, legend: str, *, title: str | None, no_tiles: bool
) -> None:
    """Title and legend (the runtime's decorations), full screen, measuring, layer list."""
    import folium.plugins

    lang = ctx.lang
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
    # Last: the runtime measures the title, legend and layer list to fit the data beside them.
    elements().Decorations(
        {
            md.TITLE: escape(title) if title else "",
            md.LEGEND: legend,
            md.ZOOM_IN: escape(say("map.zoom_in", lang)),
            md.ZOOM_OUT: escape(say("map.zoom_out", lang)),
            md.NO_TILES: no_tiles,
            md.ATTRIBUTION: '<a href="https://leafletjs.com">Leaflet</a>',
            md.BOUNDS: _bounds(ctx),
            md.LEGEND_BUTTON: escape(say("map.legend", lang)),
            md.LAYERS_BUTTON: escape(say("map.layers", lang)),
        }
    ).add_to(m)


def _bounds(ctx: Ctx) -> list[list[float]] | None:
    """
    Return ``[[south, west], [north, east]]`` that the view fits, None if nothing is drawn.

    The streets when they are drawn (the district fills the map; a river running on
    beyond it does not shrink it), else every drawn layer.
    """
    if not ctx.bounds:
        return None
    b = np.vstack(ctx.focus or ctx.bounds)
    return [
        [float(b[:, 1].min()), float(b[:, 0].min())],
        [float(b[:, 3].max()), float(b[:, 2].max())],
    ]


def _warn_if_big(ctx: Ctx) -> None:
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
    ctx: Ctx,
    classified: gpd.GeoDataFrame,
    category_col: str,
    tooltip: bool | Sequence[str] | None,
    popup: bool | Sequence[str] | None,
    pane: str | None = None,
    prefix: str = "",
    *,
    overview: bool | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """
    Add one layer per category (in map pane `pane`, named after `prefix`); returns the legend.

    `labels` names classes the schema does not know (a rule set's own, e.g. 拆除重建类).
    """
    if category_col not in classified.columns:
        msg = (
            f"`classified` has no {category_col!r} column; classify the parcels first "
            "(classify_parcels) or pass `category_col=` naming the column with category codes."
        )
        raise InputError(msg)
    check_crs(classified, "classified")
    cats = classified[category_col]
    order = md.category_order(cats)
    colors = md.category_colors(order, class_colors(classified))  # the rule set's colours
    labels = {**class_labels(classified, ctx.lang), **(labels or {})}  # and names (拆除重建类)
    codes = cats.astype(object).where(cats.notna(), md.UNCLASSIFIED).map(str)
    areas = _area(classified).fillna(0.0) if len(classified) else pd.Series(dtype=float)
    tip, pop = _parcel_fields(classified, category_col, tooltip, popup)
    rows = []
    total_n, total_a = 0, 0.0
    code_arr = codes.to_numpy()
    groups = pd.Series(code_arr).groupby(code_arr, sort=False).indices
    swipe = pane is not None  # a side of a swipe map: every parcel (no overview pane yet)
    lazy, note = _overview(
        m, ctx, classified, code_arr, areas, order, colors, False if swipe else overview, labels
    )
    for code in order:
        idx = groups.get(code, np.empty(0, dtype=int))
        n = len(idx)
        a = float(areas.iloc[idx].sum()) if n else 0.0
        total_n += n
        total_a += a
        text = labels.get(code) or category_label(code, ctx.lang)
        style = md.category_style(code, colors[code])
        if pane is not None:  # e.g. one side of a swipe map (geo_renewal._scenario_maps)
            style = {**style, "pane": pane}
        rows.append(
            f'<tr><td class="gr-l">{swatch(style)}{escape(text)}</td>'
            f"<td>{n:,}</td><td>{fmt_ha(a)}</td></tr>"
        )
        if n == 0:
            continue
        add_layer(
            m,
            ctx,
            classified.iloc[idx],
            arg="classified",
            name=f"{prefix}{text} ({n:,})",
            style=style,
            tip_fields=tip,
            pop_fields=pop,
            head=escape(text),
            role=f"category:{code}",
            lazy_from_zoom=lazy,
        )
    return _category_table(rows, total_n, total_a, ctx.lang) + note


def _overview(
    m: folium.Map,
    ctx: Ctx,
    classified: gpd.GeoDataFrame,
    codes: np.ndarray,
    areas: pd.Series,
    order: list[str],
    colors: dict[str, str],
    overview: bool | None,
    labels: Mapping[str, str] | None = None,
) -> tuple[float | None, str]:
    """Add the grid overview of a whole city; returns the parcels' zoom and the legend note."""
    if not len(classified) or not mo.use_overview(len(classified), overview):
        return None, ""
    zoom = mo.switch_zoom(classified)
    grid = mo.overview_grid(classified, codes, areas.to_numpy(dtype=float), order)
    names = {c: (labels or {}).get(c) or category_label(c, ctx.lang) for c in order}
    return zoom, mo.add_overview(m, ctx, grid, colors, names, zoom)


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
        f"<td>{total_n:,}</td><td>{fmt_ha(total_a)}</td></tr>"
    )
    head = (
        f'<tr><th class="gr-l">{escape(say("map.category", lang))}</th>'
        f"<th>{escape(say('map.count', lang))}</th><th>{escape(say('map.area_ha', lang))}</th></tr>"
    )
    return f'<table class="gr-cats">{head}{"".join(rows)}{total}</table>'


def _zone_layer(m: folium.Map, ctx: Ctx, zones: gpd.GeoDataFrame) -> str:
    """Zones as dashed outlines (in their class colour), hovered for their totals."""
    lang = ctx.lang
    style = {"color": "#08306b", "weight": 2.5, "dashArray": "6 4", "fill": False}
    style_keys, styles, order = None, [], []
    if "category" in zones.columns:
        codes = zones["category"].astype(object).where(zones["category"].notna(), md.UNCLASSIFIED)
        order = md.category_order(zones["category"])
        colors = md.category_colors(order, class_colors(zones))
        styles = [{"color": colors[c] if c != md.UNCLASSIFIED else "#08306b"} for c in order]
        style_keys = np.array([order.index(str(c)) for c in codes], dtype=int)
    id_col = name_col(zones, ("zone_name", "zone_id", "name"))
    labels = label_texts(zones, id_col, lang) if len(zones) <= 300 else None
    name = say("map.zones", lang)
    add_layer(
        m,
        ctx,
        zones,
        arg="zones",
        name=f"{name} ({len(zones):,})",
        style={**style, "under": True},
        labels=labels,
        style_keys=style_keys,
        styles=styles,
        tip_fields=total_fields(zones, id_col),
        head=escape(name),
        role="zones",
    )
    if not order:
        return f"<div>{swatch(style)}{escape(name)}</div>"
    present = {order[k] for k in np.unique(style_keys)} if style_keys is not None else set()
    names = class_labels(zones, lang)  # a rule set's own classes by their names
    rows = [
        f"<div>{swatch({**style, **sty})}{escape(name)} · "
        f"{escape(names.get(c) or category_label(c, lang))}</div>"
        for c, sty in zip(order, styles, strict=True)
        if c in present
    ]
    return "".join(rows)


#: The 63号文 figures of a renewal unit shown when it is hovered, after its totals.
_UNIT_CHECK_FIELDS = ("demolition_share", "rebuild_ratio", "nearby_rate", "verdict")
#: Renewal units: thick solid purple outlines, unlike the dashed class-coloured zones and the
#: thin dark street boundaries.
_UNIT_STYLE = {"color": "#6a3d9a", "weight": 4, "fill": False, "opacity": 0.95}


def _unit_layer(m: folium.Map, ctx: Ctx, units: gpd.GeoDataFrame) -> str:
    """Renewal units as outlines labelled by name, hovered for their totals and 63号文 figures."""
    lang = ctx.lang
    id_col = name_col(units, ("name", "unit_name", "unit_id"))
    tip = [*total_fields(units, id_col), *(c for c in _UNIT_CHECK_FIELDS if c in units.columns)]
    name = say("map.renewal_units", lang)
    add_layer(
        m,
        ctx,
        units,
        arg="units",
        name=f"{name} ({len(units):,})",
        style={**_UNIT_STYLE, "under": True},
        labels=label_texts(units, id_col, lang) if len(units) <= 300 else None,
        tip_fields=tip,
        head=escape(name),
        role="units",
    )
    return f"<div>{swatch(_UNIT_STYLE)}{escape(name)}</div>"


def _constraint_layer(m: folium.Map, ctx: Ctx, lname: str, gdf: gpd.GeoDataFrame) -> str:
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
    label_col = name_col(gdf, ("name",))
    labels = label_texts(gdf, label_col, lang) if label_col and len(gdf) <= 100 else None
    add_layer(
        m,
        ctx,
        gdf,
        arg=f"layers[{lname!r}]",
        name=text,
        style={**style, "interactive": False},
        labels=labels,
        role=f"layer:{lname}",
    )
    return f"<div>{swatch(style, line=is_line)}{escape(text)}</div>"


def _district_layer(m: folium.Map, ctx: Ctx, districts: gpd.GeoDataFrame) -> str:
    lang = ctx.lang
    style = {"color": "#252525", "weight": 2.2, "fill": False, "opacity": 0.9}
    col = name_col(districts, ("name", "street", "district_id"))
    labels = label_texts(districts, col, lang) if len(districts) <= 300 else None
    name = say("map.districts", lang)
    drawn = add_layer(
        m,
        ctx,
        districts,
        arg="districts",
        name=name,
        style={**style, "interactive": False},
        labels=labels,
        role="districts",
    )
    ctx.focus = ctx.bounds[-1:] if drawn else []
    return f"<div>{swatch(style)}{escape(name)}</div>"


def _project_layers(m: folium.Map, ctx: Ctx, projects: gpd.GeoDataFrame) -> str:
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
    head = name_col(projects, ("name", "project_id"))
    add_layer(
        m,
        ctx,
        projects,
        arg="projects",
        name=f"{name} ({len(projects):,})",
        style=base,
        styles=[{"fillColor": colors[s]} for s in order],
        style_keys=np.array([order.index(s) for s in stage], dtype=int),
        tip_fields=[c for c in _PROJECT_TIP_FIELDS if c in projects.columns],
        pop_fields=_project_popup_fields(projects, head),
        head_field=head,
        labels=_project_labels(projects, stage, lang) if len(projects) <= 300 else None,
        label_ranks=_project_label_ranks(projects),
        role="projects",
    )
    counts = stage.value_counts()
    rows = []
    for s in order:
        text = say("map.unclassified", lang) if s == md.UNCLASSIFIED else label(s, lang)
        rows.append(
            f'<tr><td class="gr-l">{swatch({**base, "fillColor": colors[s]})}'
            f"{escape(text)}</td><td>{int(counts.get(s, 0)):,}</td></tr>"
        )
    if "overdue" in projects.columns:
        rows.append(_overdue_layer(m, ctx, projects))
    return f'<h5>{escape(say("map.stage", lang))}</h5><table class="gr-stages">{"".join(rows)}</table>'


def _project_labels(projects: gpd.GeoDataFrame, stage: pd.Series, lang: str) -> list[str]:
    """Wall-map labels: the project id and its stage (the name is in the tooltip).

    Overdue projects' labels are red and say how many days behind they are.
    """
    id_col = name_col(projects, ("project_id", "name"))
    ids = md.format_values(projects[id_col], id_col, lang) if id_col else [""] * len(projects)
    over = _overdue_mask(projects)
    days = pd.to_numeric(projects.get("days_behind", pd.Series(np.nan, index=projects.index)))
    labels = []
    for i, st in enumerate(stage):
        text = "" if st == md.UNCLASSIFIED else escape(label(st, lang))
        if over[i] and pd.notna(days.iloc[i]):
            text = f"{text} {escape(say('map.days_behind', lang, n=int(days.iloc[i])))}"
        body = "<br>".join(b for b in (ids[i], text.strip()) if b)
        labels.append(f"<span class=gr-hot>{body}</span>" if over[i] else body)
    return labels


def _project_popup_fields(projects: pd.DataFrame, head: str | None) -> list[str]:
    """Return what a meeting reads (`_PROJECT_POPUP_FIELDS`), then the user's own columns.

    Columns the package knows but a meeting does not read (stage numbers, milestone dates,
    ledger rows) are left out; columns it does not know (a ledger's extra columns) are
    shown after the others. The heading field is not repeated as a row.
    """
    geom = projects.geometry.name if hasattr(projects, "geometry") else "geometry"
    known = [c for c in _PROJECT_POPUP_FIELDS if c in projects.columns]
    extra = [
        c
        for c in projects.columns
        if c not in known
        and c != geom
        and isinstance(c, str)
        and label(c, "zh") == c
        and label(c, "en") == c
    ]
    return [c for c in (*known, *extra) if c != head]


def _overdue_mask(projects: pd.DataFrame) -> np.ndarray:
    if "overdue" not in projects.columns:
        return np.zeros(len(projects), dtype=bool)
    return projects["overdue"].fillna(False).astype(bool).to_numpy()


def _project_label_ranks(projects: pd.DataFrame) -> list[int]:
    """Label order of a meeting: overdue projects by days behind (most first), then the rest."""
    days = pd.to_numeric(projects.get("days_behind", pd.Series(np.nan, index=projects.index)))
    key = np.where(_overdue_mask(projects), 0, 1)
    order = np.lexsort((-days.fillna(-np.inf).to_numpy(float), key))
    ranks = np.empty(len(order), dtype=int)
    ranks[order] = np.arange(len(order))
    return ranks.tolist()


def _overdue_layer(m: folium.Map, ctx: Ctx, projects: gpd.GeoDataFrame) -> str:
    """Outline the overdue projects in red; returns their legend row."""
    overdue_mask = _overdue_mask(projects)
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
        add_layer(
            m,
            ctx,
            projects.iloc[np.flatnonzero(overdue_mask)],
            arg="projects",
            name=f"{text} ({n_over:,})",
            style=over_style,
            role="overdue",
        )
    return f'<tr><td class="gr-l">{swatch(over_style)}{escape(text)}</td><td>{n_over:,}</td></tr>'


# --------------------------------------------------------------------------------------
# saving
# --------------------------------------------------------------------------------------


def save_map(m: folium.Map, path: str | os.PathLike[str], *, offline: bool = True) -> Path:
    """
    Write a map to an HTML file atomically, self-contained for offline use by default.

    Parameters
    ----------
    m
        A map from `renewal_map` (or any ``folium.Map``).
    path
        Output ``.html`` file; missing parent folders are created.
    offline
        True (default): embed every script and stylesheet (with their images as ``data:``
        URIs) from the installed ``folium-offline`` package, so the page opens without
        network. An online base map asked for by name still comes from its servers (the
        default of `renewal_map` has none). False loads Leaflet from its CDN: a smaller
        file that opens blank without network.

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
    >>> out = save_map(renewal_map(parcels), Path(tempfile.mkdtemp()) / "m.html")
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
