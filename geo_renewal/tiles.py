"""
Base maps of the meeting maps (``tiles=``): a registry with one declaration per provider.

Adding a provider is one `TileProvider` in `PROVIDERS` (and its test in tests/test_tiles.py):
the maps, the CLI's ``--tiles`` choices and the project-file check all read the registry.
An office's own base map — an XYZ / WMTS template, a WMTS capabilities URL, a local MBTiles
or PMTiles package — is a `TileSource` (`geo_renewal._tilesource`), given as ``tiles=`` text
or registered by name (`register_basemap`, the project file's ``[basemap]``).
It imports neither folium, xyzservices nor pandas at import time (the CLI reads it for
``--help``).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geo_renewal import _tilesource
from geo_renewal._checks import check_choice
from geo_renewal._errors import InputError
from geo_renewal._tilesource import TileSource, tile_source
from geo_renewal.text import pick, say

__all__ = [
    "BASEMAPS",
    "PROVIDERS",
    "TILES",
    "TileProvider",
    "TileSource",
    "add_tile_layer",
    "check_tiles",
    "datum_note",
    "map_crs",
    "needs_network",
    "offline_tiles",
    "plan_tiles",
    "register_basemap",
    "tile_layers",
    "tile_names",
    "tile_source",
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
    key_env
        Environment variable of the key (``{key}``) when it is not passed.
    host_env
        Environment variable of the server address (``{host}``, e.g. the 政务网 host of the
        政务版天地图), or None for a provider on the internet.
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
    key_env: str = "TIANDITU_KEY"
    host_env: str | None = None


def _tianditu(layer: str, host: str = "https://t{s}.tianditu.gov.cn") -> str:
    """WMTS URL template of a Tianditu (天地图) layer in Web Mercator (``_w``)."""
    return (
        f"{host}/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
        f"&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
        "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
    )


_TIANDITU_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图</a>'
_GAODE_ATTR = '&copy; <a href="https://www.gaode.com/">Gaode.com</a>'
_GAODE = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=7"
_GAODE_IMG = "https://webst0{s}.is.autonavi.com/appmaptile?style=6"
_GAODE_NOTE = "https://webst0{s}.is.autonavi.com/appmaptile?style=8"
_XYZ = "&x={x}&y={y}&z={z}"
_GOV_ATTR = "&copy; 天地图（政务版）"
_YIZHANGTU = (
    "{host}?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=img&STYLE=default"
    "&TILEMATRIXSET=GoogleMapsCompatible&FORMAT=image/png&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&token={key}"
)

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
        # the 政务网 editions: same layout on the office's own host, their own key
        TileProvider(
            "tianditu-gov",
            ("政务版天地图 (矢量)", "Tianditu government edition (vector)"),
            _tianditu("vec", "{host}"),
            attribution=_GOV_ATTR,
            max_zoom=18,
            labels_url=(_tianditu("cva", "{host}"), _tianditu("eva", "{host}")),
            labels_label=("政务版天地图 注记", "Tianditu government labels"),
            needs_key=True,
            key_env="TIANDITU_GOV_KEY",
            host_env="TIANDITU_GOV_HOST",
        ),
        TileProvider(
            "tianditu-gov-img",
            ("政务版天地图 (影像)", "Tianditu government edition (imagery)"),
            _tianditu("img", "{host}"),
            attribution=_GOV_ATTR,
            max_zoom=18,
            labels_url=(_tianditu("cia", "{host}"), _tianditu("eia", "{host}")),
            labels_label=("政务版天地图 注记", "Tianditu government labels"),
            needs_key=True,
            key_env="TIANDITU_GOV_KEY",
            host_env="TIANDITU_GOV_HOST",
        ),
        TileProvider(
            "yizhangtu",
            ("国土空间规划“一张图” (影像)", "Provincial spatial-plan map (imagery)"),
            _YIZHANGTU,
            attribution="&copy; 省级国土空间基础信息平台“一张图”",
            max_zoom=18,
            needs_key=True,
            key_env="YIZHANGTU_KEY",
            host_env="YIZHANGTU_URL",
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

#: The office's own base maps by name (`register_basemap`: the project file's [basemap]).
BASEMAPS: dict[str, TileSource] = {}


def check_tiles(tiles: Any, *, name: str = "tiles") -> str:
    """
    Return `tiles` if it names a base map, else raise with the closest valid name.

    A base map is one of `tile_names`, a name given to `register_basemap`, an XYZ / WMTS
    URL template (``https://…/{z}/{x}/{y}.png``, optionally ending in ``#gcj02``), or a
    local ``.mbtiles`` / ``.pmtiles`` tile package.

    Parameters
    ----------
    tiles
        What was given, e.g. the project file's ``tiles``.
    name
        The argument or key, for the message.

    Returns
    -------
    tiles
        `tiles`, unchanged (a package path as text).

    Raises
    ------
    InputError
        If `tiles` is none of these.

    Examples
    --------
    >>> check_tiles("gaode")
    'gaode'
    >>> check_tiles("http://10.1.1.1/tiles/{z}/{x}/{y}.png")
    'http://10.1.1.1/tiles/{z}/{x}/{y}.png'
    >>> check_tiles("gaode-image")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geo_renewal._errors.InputError: `tiles` must be one of 'auto', 'none', 'osm', 'cartodb', 'tianditu', 'tianditu-img', 'gaode', 'gaode-img', ...; got 'gaode-image'; did you mean `gaode-img`? ...
    """
    if isinstance(tiles, os.PathLike):
        tiles = os.fspath(tiles)
    if isinstance(tiles, str) and (tiles in BASEMAPS or _tilesource.source_from_text(tiles)):
        return tiles
    try:
        return str(check_choice(tiles, (*tile_names(), *BASEMAPS), name=name))
    except InputError as e:
        msg = (
            f"{e} A base map can also be an XYZ URL template "
            "(https://…/{z}/{x}/{y}.png, ending in #gcj02 for GCJ-02 tiles) or an .mbtiles / "
            ".pmtiles tile package (docs/guide/maps.md)."
        )
        raise InputError(msg) from None


def register_basemap(source: TileSource) -> str:
    """
    Make an office's own base map (a `TileSource`) a value of ``tiles=``; return its name.

    `geo_renewal.plan.load_plan` registers the project file's ``[basemap]``.

    Parameters
    ----------
    source
        From `tile_source` (a ``[basemap]`` table).

    Returns
    -------
    name
        ``source.name``.

    Raises
    ------
    InputError
        If the name is a built-in provider's (or ``auto`` / ``none``).

    Examples
    --------
    >>> register_basemap(tile_source({"name": "区影像", "url": "http://10.1.1.1/{z}/{x}/{y}.png"}))
    '区影像'
    >>> check_tiles("区影像")
    '区影像'
    """
    if source.name in tile_names():
        msg = (
            f"[basemap] name {source.name!r} is a built-in base map; choose another name, "
            "e.g. 'office'."
        )
        raise InputError(msg)
    BASEMAPS[source.name] = source
    return source.name


def plan_tiles(doc: dict[str, Any], base: Path, path: Path) -> Any:
    """
    Return the ``tiles`` of a project file, registering its own base map if it declares one.

    The base map is ``[outputs] tiles`` — a provider name, a URL template, a tile package
    (relative to the project file) or an inline table like ``[basemap]`` — else the
    ``[basemap]`` section (`tile_source`), else ``"none"``.

    Parameters
    ----------
    doc
        The parsed project file.
    base
        Its folder.
    path
        The file, for messages.

    Returns
    -------
    tiles
        The value for `check_tiles` (unchecked when it is not a base map of the file).

    Raises
    ------
    InputError
        Naming the file and the key, for a bad ``[basemap]`` or a missing package.
    """
    outputs = doc.get("outputs", {})
    given = outputs.get("tiles") if isinstance(outputs, dict) else None
    try:
        if isinstance(given, dict):
            return register_basemap(tile_source(given, where="[outputs] tiles", base=base))
        if isinstance(doc.get("basemap"), dict):
            name = register_basemap(tile_source(doc["basemap"], base=base))
            return name if given is None else given
        if isinstance(given, str) and given.lower().endswith((".mbtiles", ".pmtiles")):
            source = tile_source({"package": given}, where="[outputs] tiles", base=base)
            return source.package
    except InputError as e:
        msg = f"{path}: {e}"
        raise InputError(msg) from None
    return "none" if given is None else given


def offline_tiles() -> str:
    """
    Return the base map of a map that names none: the last registered tile package, or "none".

    A map built without ``tiles=`` opens without network: with the office's own local tile
    package when one is registered (`register_basemap`, the project file's ``[basemap]``
    with a ``package``), else with no base map. Online tiles are always an explicit choice.

    Returns
    -------
    tiles
        A name of `BASEMAPS` whose source is a package, or ``"none"``.

    Examples
    --------
    >>> offline_tiles() in ("none", *BASEMAPS)
    True
    >>> needs_network(offline_tiles())
    False
    """
    local = [name for name, source in BASEMAPS.items() if source.package is not None]
    return local[-1] if local else "none"


def needs_network(tiles: str) -> bool:
    """
    Tell whether a map with base map `tiles` requests tiles from a server.

    Parameters
    ----------
    tiles
        A value `check_tiles` accepts; ``"none"`` and tile packages draw without a tile
        server (``"auto"`` picks an online provider).

    Returns
    -------
    online
        True for every provider, template, WMTS source and ``"auto"``.

    Examples
    --------
    >>> needs_network("none"), needs_network("auto"), needs_network("gaode")
    (False, True, True)
    >>> needs_network("imagery.mbtiles")
    False
    """
    check_tiles(tiles)
    if tiles == "none":
        return False
    source = BASEMAPS.get(tiles) or _tilesource.source_from_text(tiles)
    return source is None or source.package is None


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
    source = BASEMAPS.get(tiles) or _tilesource.source_from_text(tiles)
    if source is not None:
        return _tilesource.source_layers(source, lang, key)
    provider = PROVIDERS.get(tiles)
    if provider is not None and provider.key_env != TIANDITU_KEY_ENV:
        key = key if key and provider.host_env is None else None
        key = key or os.environ.get(provider.key_env) or None
    else:
        key = key or os.environ.get(TIANDITU_KEY_ENV) or None
    if tiles == "auto":
        tiles = "tianditu" if key else "osm"
        logger.info("tiles='auto' chose %r", tiles)
    if tiles == "none":
        return [], False
    provider = PROVIDERS[tiles]
    if provider.needs_key:
        key = _check_key(key, tiles) if provider.host_env is None else _gov_key(key, provider)
    layers = _layers_of(provider, lang, key or "")
    if provider.host_env is not None:
        host = _host(provider)
        layers = [{**layer, "tiles": layer["tiles"].replace("{host}", host)} for layer in layers]
    return layers, provider.gcj02


def _host(provider: TileProvider) -> str:
    """Return the server address of a 政务网 provider, from its environment variable."""
    env = str(provider.host_env)
    host = os.environ.get(env, "").strip().rstrip("/")
    if not re.fullmatch(r"https?://[A-Za-z0-9.\-:\[\]]+(/[A-Za-z0-9._~/\-]*)?", host):
        msg = (
            f"tiles={provider.name!r} needs the address of the office's server: set {env} "
            f"(e.g. {env}=http://10.12.0.8:8080{'/wmts' if 'yizhangtu' in provider.name else ''}"
            f"){'; got ' + repr(host) if host else ''}. Or declare the server in the project "
            "file's [basemap] section (docs/guide/maps.md)."
        )
        raise InputError(msg)
    return host


def _gov_key(key: str | None, provider: TileProvider) -> str:
    if not key or not re.fullmatch(r"[A-Za-z0-9._~-]{8,128}", key):
        msg = (
            f"tiles={provider.name!r} needs the key of the office's server: set "
            f"{provider.key_env} (8–128 letters, digits or . _ ~ -)"
            + ("; the one given is malformed" if key else "")
            + "."
        )
        raise InputError(msg)
    return key


def map_crs(layers: list[dict[str, Any]]) -> str:
    """
    Return the Leaflet CRS of a map with these tile layers: ``"EPSG4326"`` or ``"EPSG3857"``.

    Examples
    --------
    >>> map_crs([]), map_crs([{"crs": "EPSG4326"}])
    ('EPSG3857', 'EPSG4326')
    """
    return next((str(layer["crs"]) for layer in layers if "crs" in layer), "EPSG3857")


def add_tile_layer(m: Any, spec: dict[str, Any]) -> None:
    """
    Add one tile layer of `tile_layers` to a folium map (a tile package: inlined tiles).

    Examples
    --------
    >>> import folium
    >>> m = folium.Map(tiles=None)
    >>> add_tile_layer(m, tile_layers("gaode", "en")[0][0])
    >>> "webrd0" in m.get_root().render()
    True
    """
    import folium

    from geo_renewal._html import escape

    spec = {k: v for k, v in spec.items() if k != "crs"}
    name = escape(spec.pop("name"))
    if "package" in spec:
        from geo_renewal._tilepackage import package_layer_class

        package_layer_class()(spec["package"], name=name, options=spec["options"]).add_to(m)
        return
    overlay = spec.pop("overlay", False)
    folium.TileLayer(overlay=overlay, control=True, show=True, name=name, **spec).add_to(m)


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
