"""
Base maps of the meeting maps (``tiles=``): a registry with one declaration per provider.

Adding a provider is one `TileProvider` in `PROVIDERS` (and its test in tests/test_tiles.py):
the maps, the CLI's ``--tiles`` choices and the project-file check all read the registry.
It imports neither folium, xyzservices nor pandas at import time (the CLI reads it for
``--help``).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import Any

from geo_renewal._checks import check_choice
from geo_renewal._errors import InputError
from geo_renewal.text import pick, say

__all__ = [
    "PROVIDERS",
    "TILES",
    "TileProvider",
    "check_tiles",
    "datum_note",
    "needs_network",
    "tile_layers",
    "tile_names",
]

logger = logging.getLogger(__name__)

#: Environment variable read for the Tianditu key when ``tianditu_key=`` is not given.
TIANDITU_KEY_ENV = "TIANDITU_KEY"


@dataclass(frozen=True)
class TileProvider:
    """
    One base map: how its tile layers are requested and credited.

    Attributes
    ----------
    name
        The value of ``tiles=`` (and of ``--tiles`` and the project file's ``tiles``).
    label
        Name of the base layer in the layer control, ``(zh, en)``.
    url
        Leaflet URL template (``{s}``, ``{z}``, ``{x}``, ``{y}``; ``{key}`` is replaced by
        the key), or ``"xyz:Group.Name"`` for an xyzservices provider, whose URL,
        attribution, subdomains and max zoom are then used unless given here.
    attribution
        Attribution HTML (a literal, never data); None for the xyzservices one.
    max_zoom
        Highest zoom with tiles; for an xyzservices provider, the fallback when it has none.
    subdomains
        Values of ``{s}``; None for the xyzservices ones (or Leaflet's ``"abc"``).
    labels_url
        URL templates ``(zh, en)`` of a label (注记) overlay drawn over the base, or None.
    labels_label
        Name of that overlay in the layer control, ``(zh, en)``.
    needs_key
        Whether the tiles need the Tianditu key (``tianditu_key=`` or ``TIANDITU_KEY``).
    gcj02
        Whether the tiles are in GCJ-02, so that the display copy of every layer is shifted.
    """

    name: str
    label: tuple[str, str]
    url: str
    attribution: str | None = None
    max_zoom: int = 19
    subdomains: str | None = None
    labels_url: tuple[str, str] | None = None
    labels_label: tuple[str, str] = ("", "")
    needs_key: bool = False
    gcj02: bool = False


def _tianditu(layer: str) -> str:
    """WMTS URL template of a Tianditu (天地图) layer in Web Mercator (``_w``)."""
    return (
        f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
        f"&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
        "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
    )


_TIANDITU_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图</a>'
_GAODE_ATTR = '&copy; <a href="https://www.gaode.com/">Gaode.com</a>'
_GAODE = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=7"
_GAODE_IMG = "https://webst0{s}.is.autonavi.com/appmaptile?style=6"
_GAODE_NOTE = "https://webst0{s}.is.autonavi.com/appmaptile?style=8"
_XYZ = "&x={x}&y={y}&z={z}"

#: The base maps by ``tiles=`` name, in the order the CLI lists them.
PROVIDERS: dict[str, TileProvider] = {
    p.name: p
    for p in (
        TileProvider("osm", ("OpenStreetMap", "OpenStreetMap"), "xyz:OpenStreetMap.Mapnik"),
        TileProvider(
            "cartodb",
            ("CartoDB Positron", "CartoDB Positron"),
            "xyz:CartoDB.Positron",
            max_zoom=20,
        ),
        TileProvider(
            "tianditu",
            ("天地图 (矢量)", "Tianditu (vector)"),
            _tianditu("vec"),
            attribution=_TIANDITU_ATTR,
            max_zoom=18,
            subdomains="01234567",
            labels_url=(_tianditu("cva"), _tianditu("eva")),
            labels_label=("天地图 注记", "Tianditu labels"),
            needs_key=True,
        ),
        TileProvider(
            "tianditu-img",
            ("天地图 (影像)", "Tianditu (imagery)"),
            _tianditu("img"),
            attribution=_TIANDITU_ATTR,
            max_zoom=18,
            subdomains="01234567",
            labels_url=(_tianditu("cia"), _tianditu("eia")),
            labels_label=("天地图 注记", "Tianditu labels"),
            needs_key=True,
        ),
        TileProvider(
            "gaode",
            ("高德地图 (矢量)", "Gaode (vector)"),
            _GAODE + _XYZ,
            attribution=_GAODE_ATTR,
            subdomains="1234",
            gcj02=True,
        ),
        TileProvider(
            "gaode-img",
            ("高德地图 (影像)", "Gaode (imagery)"),
            _GAODE_IMG + _XYZ,
            attribution=_GAODE_ATTR,
            subdomains="1234",
            labels_url=(_GAODE_NOTE + _XYZ, _GAODE_NOTE + _XYZ),
            labels_label=("高德地图 注记", "Gaode labels"),
            gcj02=True,
        ),
    )
}


def tile_names() -> tuple[str, ...]:
    """
    Return the valid values of ``tiles=``: ``"auto"``, ``"none"`` and every provider.

    Returns
    -------
    names
        ``("auto", "none", *PROVIDERS)``.

    Examples
    --------
    >>> tile_names()[:3]
    ('auto', 'none', 'osm')
    """
    return ("auto", "none", *PROVIDERS)


#: Valid values of ``tiles=`` (also ``geo_renewal.maps.TILES``).
TILES: tuple[str, ...] = tile_names()


def check_tiles(tiles: Any, *, name: str = "tiles") -> str:
    """
    Return `tiles` if it names a base map, else raise with the closest valid name.

    Parameters
    ----------
    tiles
        What was given, e.g. the project file's ``tiles``.
    name
        The argument or key, for the message.

    Returns
    -------
    tiles
        `tiles`, unchanged.

    Raises
    ------
    InputError
        If `tiles` is not one of `tile_names`.

    Examples
    --------
    >>> check_tiles("gaode")
    'gaode'
    >>> check_tiles("gaode-image")
    Traceback (most recent call last):
    ...
    geo_renewal._errors.InputError: `tiles` must be one of 'auto', 'none', 'osm', 'cartodb', 'tianditu', 'tianditu-img', 'gaode', 'gaode-img'; got 'gaode-image'; did you mean `gaode-img`?
    """
    return str(check_choice(tiles, tile_names(), name=name))


def needs_network(tiles: str) -> bool:
    """
    Tell whether a map with base map `tiles` loads tiles from the internet.

    Parameters
    ----------
    tiles
        One of `tile_names`; only ``"none"`` draws the layers without a tile server
        (``"auto"`` picks an online provider).

    Returns
    -------
    online
        True for every provider and ``"auto"``.

    Examples
    --------
    >>> needs_network("none"), needs_network("auto"), needs_network("gaode")
    (False, True, True)
    """
    return check_tiles(tiles) != "none"


def datum_note(lang: str, *, gcj02: bool) -> str:
    """
    Return the note on the coordinates of the overlays (not escaped).

    Parameters
    ----------
    lang
        ``"zh"`` or ``"en"``.
    gcj02
        Whether the overlays are shifted to GCJ-02 (see `TileProvider.gcj02`).

    Returns
    -------
    note
        One sentence, e.g. ``"Coordinates: WGS84 (≈ CGCS2000)"``.

    Examples
    --------
    >>> datum_note("en", gcj02=False)
    'Coordinates: WGS84 (≈ CGCS2000)'
    """
    return say("tiles.datum_gcj02" if gcj02 else "tiles.datum_wgs84", lang)


def tile_layers(
    tiles: str, lang: str, key: str | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """
    Return the ``folium.TileLayer`` keywords of a base map, and whether it is in GCJ-02.

    Parameters
    ----------
    tiles
        One of `tile_names`; ``"auto"`` is ``"tianditu"`` when a Tianditu key is
        available, else ``"osm"``.
    lang
        ``"zh"`` or ``"en"`` (layer names, Tianditu annotation language).
    key
        Tianditu key; default the ``TIANDITU_KEY`` environment variable.

    Returns
    -------
    layers
        One dict per tile layer (``tiles``, ``attr``, ``name``, ``max_zoom``, maybe
        ``subdomains`` and ``overlay``); empty for ``"none"``.
    gcj02
        Whether the overlays must be shifted to GCJ-02.

    Raises
    ------
    InputError
        For an unknown `tiles`, or a missing or malformed Tianditu key.

    Examples
    --------
    >>> layers, gcj02 = tile_layers("gaode", "en")
    >>> [layer["name"] for layer in layers], gcj02
    (['Gaode (vector)'], True)
    """
    check_tiles(tiles)
    key = key or os.environ.get(TIANDITU_KEY_ENV) or None
    if tiles == "auto":
        tiles = "tianditu" if key else "osm"
        logger.info("tiles='auto' chose %r", tiles)
    if tiles == "none":
        return [], False
    provider = PROVIDERS[tiles]
    if provider.needs_key:
        key = _check_key(key, tiles)
    return _layers_of(provider, lang, key or ""), provider.gcj02


def _check_key(key: str | None, tiles: str) -> str:
    if not key:
        msg = (
            f"tiles={tiles!r} needs a Tianditu (天地图) key: pass `tianditu_key=` "
            f"(CLI: set {TIANDITU_KEY_ENV}) or set the {TIANDITU_KEY_ENV} environment "
            "variable; get a key at https://console.tianditu.gov.cn/ or use tiles='none'."
        )
        raise InputError(msg)
    if not re.fullmatch(r"[A-Za-z0-9]{8,64}", key):
        msg = (
            "the Tianditu key must be 8–64 letters and digits (as issued by "
            f"console.tianditu.gov.cn); check `tianditu_key` / {TIANDITU_KEY_ENV}."
        )
        raise InputError(msg)
    return key


def _layers_of(provider: TileProvider, lang: str, key: str) -> list[dict[str, Any]]:
    """Return the base layer (and label overlay) of `provider` as TileLayer keywords."""
    from geo_renewal._html import escape  # numpy and pandas: not at import

    url, attr, options = _source(provider)
    attr = f"{attr} | {escape(datum_note(lang, gcj02=provider.gcj02))}"
    base = {"tiles": url.replace("{key}", key), "attr": attr}
    layers = [{**base, "name": pick(provider.label, lang), **options}]
    if provider.labels_url is not None:
        note = pick(provider.labels_url, lang).replace("{key}", key)
        name = pick(provider.labels_label, lang)
        layers.append({**base, "tiles": note, "name": name, **options, "overlay": True})
    return layers


def _source(provider: TileProvider) -> tuple[str, str, dict[str, Any]]:
    """Return the URL template, attribution and options (subdomains, max zoom) of `provider`."""
    if not provider.url.startswith("xyz:"):
        options: dict[str, Any] = {"max_zoom": provider.max_zoom}
        if provider.subdomains is not None:
            options = {"subdomains": provider.subdomains, **options}
        return provider.url, provider.attribution or "", options
    p = _xyz(provider.url[4:])
    # keep {s} for Leaflet; no retina suffix; drop an API-key parameter left empty
    url = p.build_url(fill_subdomain=False, r="", apikey="").replace("?key=", "")
    subdomains = provider.subdomains or p.get("subdomains")
    options = {"max_zoom": p.get("max_zoom", provider.max_zoom)}
    if subdomains is not None:
        options = {"subdomains": subdomains, **options}
    return url, provider.attribution or p.html_attribution, options


def _xyz(path: str) -> Any:
    from geo_renewal._compat import import_optional

    node: Any = import_optional("xyzservices", purpose="tile providers").providers
    for part in path.split("."):
        node = node[part]
    return node
