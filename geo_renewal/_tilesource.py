"""
An office's own base map: an XYZ URL template, a WMTS source or a local tile package.

A `TileSource` is declared in the project file's ``[basemap]`` section (`tile_source`), or
given as text to ``tiles=`` / ``--tiles`` (`source_from_text`: a URL template, optionally
ending in ``#gcj02`` / ``#cgcs2000``, or an ``.mbtiles`` / ``.pmtiles`` file). Its datum
decides the display shift (GCJ-02 shifts every layer; WGS84 and CGCS2000 differ by
centimetres and are not shifted). `source_layers` turns it into the tile-layer keywords of
`geo_renewal.tiles.tile_layers`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from geo_renewal._checks import did_you_mean
from geo_renewal._errors import InputError

__all__ = [
    "DATUMS",
    "TileSource",
    "is_template",
    "source_from_text",
    "source_layers",
    "tile_source",
]

#: Datums a base map may be declared in.
DATUMS = ("wgs84", "cgcs2000", "gcj02")
_PACKAGE_SUFFIXES = (".mbtiles", ".pmtiles")
#: The note on the map's coordinates per datum (`geo_renewal.text`).
_DATUM_TEXT = {
    "wgs84": "tiles.datum_wgs84",
    "cgcs2000": "tiles.datum_cgcs2000",
    "gcj02": "tiles.datum_gcj02_own",
}
_KEYS = (
    "name",
    "label_zh",
    "label_en",
    "url",
    "capabilities",
    "layer",
    "matrix_set",
    "style",
    "format",
    "package",
    "datum",
    "attribution",
    "key",
    "key_env",
    "subdomains",
    "min_zoom",
    "max_zoom",
    "zoom_offset",
    "geographic",
)
_KEY_TEXT = re.compile(r"[A-Za-z0-9._~-]{4,256}")


@dataclass(frozen=True)
class TileSource:
    """
    A base map the office declares itself (see docs/guide/maps.md).

    Attributes
    ----------
    name
        How ``tiles=`` names it once registered (`geo_renewal.tiles.register_basemap`).
    url
        Leaflet URL template (``{z}``, ``{x}``, ``{y}``, ``{s}``, ``{key}``), also a WMTS KVP
        GetTile URL or REST template (``{TileMatrix}``, ``{TileRow}``, ``{TileCol}`` …).
    capabilities
        WMTS GetCapabilities URL, read when the map is made; with `layer` and `matrix_set`.
    package
        A local ``.mbtiles`` / ``.pmtiles`` file, inlined into the page (no request).
    datum
        ``"wgs84"``, ``"cgcs2000"`` or ``"gcj02"`` (only GCJ-02 shifts the layers).
    attribution
        Credit shown on the map (text; escaped).
    label
        Name in the layer control, ``(zh, en)``.
    key, key_env
        The key put into ``{key}``, or the environment variable holding it.
    min_zoom, max_zoom
        Zooms with tiles (a package: the zooms inlined; None: all it holds).
    zoom_offset
        Matrix identifier minus Leaflet zoom (a ``url`` on a geographic grid: usually 1).
    geographic
        Whether the tiles are a longitude/latitude grid (EPSG:4490/4326 matrix sets).
    """

    name: str
    url: str | None = None
    capabilities: str | None = None
    layer: str | None = None
    matrix_set: str | None = None
    style: str = "default"
    format: str = "image/png"
    package: str | None = None
    datum: str = "wgs84"
    attribution: str = ""
    label: tuple[str, str] = ("", "")
    key: str | None = field(default=None, repr=False)
    key_env: str | None = None
    subdomains: str | None = None
    min_zoom: int | None = None
    max_zoom: int | None = None
    zoom_offset: int = 0
    geographic: bool = False

    @property
    def gcj02(self) -> bool:
        """Whether the overlays are shifted to GCJ-02 for this base map."""
        return self.datum == "gcj02"


def is_template(text: Any) -> bool:
    """
    Tell whether `text` is a tile URL template (http(s) with ``{z}`` or a WMTS TileMatrix).

    Examples
    --------
    >>> is_template("https://tiles.example.gov.cn/{z}/{x}/{y}.png"), is_template("osm")
    (True, False)
    """
    if not isinstance(text, str) or not re.match(r"^https?://", text.strip()):
        return False
    low = text.lower()
    return ("{z}" in low and "{x}" in low and "{y}" in low) or "{tilematrix}" in low


def _is_package(text: Any) -> bool:
    return isinstance(text, str | os.PathLike) and str(text).lower().endswith(_PACKAGE_SUFFIXES)


def source_from_text(text: Any) -> TileSource | None:
    """
    Return the `TileSource` of a ``tiles=`` text that is a template or a package, else None.

    A template may end in ``#gcj02``, ``#cgcs2000`` or ``#wgs84`` to declare its datum.

    Examples
    --------
    >>> source_from_text("https://h.example/{z}/{x}/{y}.png#gcj02").datum
    'gcj02'
    >>> source_from_text("imagery.mbtiles").package
    'imagery.mbtiles'
    >>> source_from_text("osm") is None
    True
    """
    if _is_package(text):
        return TileSource(name=str(text), package=str(text))
    if not is_template(text):
        return None
    url, _, datum = str(text).strip().partition("#")
    datum = datum.removeprefix("datum=").strip().lower() or "wgs84"
    _check_datum(datum, f"the datum after `#` in {text!r}")
    host = urlsplit(url).hostname or "tiles"
    return TileSource(name=str(text), url=url, datum=datum, attribution=host, label=(host, host))


def _check_datum(datum: Any, where: str) -> None:
    if datum not in DATUMS:
        hint = did_you_mean(datum, DATUMS).rstrip()
        msg = f"{where} must be one of {list(DATUMS)}; got {datum!r}{'; ' + hint if hint else ''}."
        raise InputError(msg)


def tile_source(
    spec: Mapping[str, Any], *, where: str = "[basemap]", base: Path | None = None
) -> TileSource:
    """
    Check a ``[basemap]`` table and return its `TileSource`.

    Parameters
    ----------
    spec
        ``name`` and one of ``url``, ``capabilities`` (with ``layer``, ``matrix_set``) or
        ``package``; optional ``datum``, ``attribution``, ``label_zh``, ``label_en``,
        ``key`` / ``key_env``, ``subdomains``, ``min_zoom``, ``max_zoom``, ``zoom_offset``,
        ``geographic``, ``style``, ``format``.
    where
        The section, for messages.
    base
        Folder a relative ``package`` path is resolved against (the project file's).

    Returns
    -------
    source
        The checked `TileSource`.

    Raises
    ------
    InputError
        Naming the key and the fix: an unknown key, no or several sources, a datum that is
        not one of `DATUMS`, a template without ``{z}/{x}/{y}``, a missing package file.

    Examples
    --------
    >>> src = tile_source({"name": "zw", "url": "http://10.1.1.1/t/{z}/{x}/{y}.png",
    ...                    "datum": "cgcs2000", "attribution": "区政务网影像"})
    >>> src.datum, src.gcj02
    ('cgcs2000', False)
    >>> tile_source({"name": "zw"})
    Traceback (most recent call last):
    ...
    geo_renewal._errors.InputError: [basemap] needs one of `url`, `capabilities` or `package`; e.g. url = "http://10.1.1.1/tiles/{z}/{x}/{y}.png".
    """
    unknown = [k for k in spec if k not in _KEYS]
    if unknown:
        hint = did_you_mean(unknown[0], _KEYS).rstrip()
        msg = f"{where} has unknown key {unknown[0]!r}{'; ' + hint if hint else ''}; valid keys: {', '.join(_KEYS)}."
        raise InputError(msg)
    given = [k for k in ("url", "capabilities", "package") if spec.get(k)]
    if len(given) != 1:
        msg = (
            f"{where} needs one of `url`, `capabilities` or `package`"
            + (f", not {' and '.join(given)}" if given else "")
            + '; e.g. url = "http://10.1.1.1/tiles/{z}/{x}/{y}.png".'
        )
        raise InputError(msg)
    text = {
        k: spec[k] for k in spec if k not in ("min_zoom", "max_zoom", "zoom_offset", "geographic")
    }
    for k, v in text.items():
        if not isinstance(v, str):
            msg = f"{where} `{k}` must be text in quotes; got {v!r}."
            raise InputError(msg)
    name = str(spec.get("name") or "basemap").strip()
    datum = str(spec.get("datum", "wgs84")).strip().lower()
    _check_datum(datum, f"{where} `datum`")
    src = TileSource(
        name=name,
        datum=datum,
        attribution=str(spec.get("attribution", "")),
        label=(str(spec.get("label_zh") or name), str(spec.get("label_en") or name)),
        key=spec.get("key"),
        key_env=spec.get("key_env"),
        subdomains=spec.get("subdomains"),
        style=str(spec.get("style", "default")),
        format=str(spec.get("format", "image/png")),
        layer=spec.get("layer"),
        matrix_set=spec.get("matrix_set"),
        min_zoom=_int(spec, "min_zoom", where),
        max_zoom=_int(spec, "max_zoom", where),
        zoom_offset=_int(spec, "zoom_offset", where) or 0,
        geographic=_flag(spec, "geographic", where),
    )
    return _with_source(src, spec, given[0], where, base)


def _with_source(
    src: TileSource, spec: Mapping[str, Any], kind: str, where: str, base: Path | None
) -> TileSource:
    value = str(spec[kind]).strip()
    if kind == "package":
        path = Path(value).expanduser()
        if base is not None and not path.is_absolute():
            path = base / path
        if not _is_package(path):
            msg = f"{where} `package` must be an .mbtiles or .pmtiles file; got {value!r}."
            raise InputError(msg)
        if not path.is_file():
            msg = f"{where} `package` {str(path)!r} does not exist; check the path."
            raise InputError(msg)
        return replace(src, package=str(path))
    if not re.match(r"^https?://", value):
        msg = f"{where} `{kind}` must start with http:// or https://; got {value!r}."
        raise InputError(msg)
    if kind == "url" and not is_template(value):
        msg = (
            f"{where} `url` must hold {{z}}, {{x}} and {{y}} (or WMTS {{TileMatrix}}, "
            f"{{TileRow}}, {{TileCol}}); got {value!r}. For a WMTS endpoint give "
            "`capabilities` with `layer` and `matrix_set`."
        )
        raise InputError(msg)
    return replace(src, url=value) if kind == "url" else replace(src, capabilities=value)


def _int(spec: Mapping[str, Any], key: str, where: str) -> int | None:
    v = spec.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not -5 <= v <= 24:
        msg = f"{where} `{key}` must be a whole number from -5 to 24; got {v!r}."
        raise InputError(msg)
    return v


def _flag(spec: Mapping[str, Any], key: str, where: str) -> bool:
    v = spec.get(key, False)
    if not isinstance(v, bool):
        msg = f"{where} `{key}` must be true or false; got {v!r}."
        raise InputError(msg)
    return v


def _key_of(src: TileSource, key: str | None) -> str:
    """Return the key for ``{key}``: given, the source's, or its environment variable."""
    value = key or src.key or (os.environ.get(src.key_env) if src.key_env else None)
    if not value:
        env = f" or set {src.key_env}" if src.key_env else ""
        msg = f"base map {src.name!r} has {{key}} in its URL: give `key_env`{env} (the key)."
        raise InputError(msg)
    if not _KEY_TEXT.fullmatch(value):
        msg = f"the key of base map {src.name!r} must be 4–256 letters, digits or . _ ~ -."
        raise InputError(msg)
    return value


def source_layers(
    src: TileSource, lang: str, key: str | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """
    Return the tile-layer keywords of a `TileSource` and whether the overlays shift to GCJ-02.

    A package's keywords carry ``package`` (the `geo_renewal._tilepackage.TilePackage`);
    a geographic grid's carry ``crs = "EPSG4326"`` (the map's CRS).
    """
    from geo_renewal._html import escape
    from geo_renewal.text import pick, say

    note = escape(say(_DATUM_TEXT[src.datum], lang))
    label = pick(src.label, lang) or src.name
    attr = f"{escape(src.attribution or label)} | {note}"
    if src.package is not None:
        from geo_renewal._tilepackage import read_package

        pkg = read_package(src.package, min_zoom=src.min_zoom, max_zoom=src.max_zoom)
        label = pick(src.label, lang) or pkg.name or Path(src.package).stem
        credit = f"{escape(src.attribution or pkg.attribution or label)} | {note}"
        # Below minZoom and outside the tiles' bounds Leaflet asks for nothing: zoomed out,
        # it would otherwise ask for every tile of the world at the package's lowest zoom.
        options = {
            "minZoom": max(0, pkg.min_zoom - 1),
            "minNativeZoom": pkg.min_zoom,
            "maxNativeZoom": pkg.max_zoom,
            "maxZoom": max(pkg.max_zoom + 3, 18),
            "bounds": pkg.tile_bounds(),
            "attribution": credit,
        }
        return [{"package": pkg, "name": label, "attr": credit, "options": options}], src.gcj02
    url, geographic, offset = str(src.url or ""), src.geographic, src.zoom_offset
    lo, hi = src.min_zoom, src.max_zoom
    if src.capabilities is not None:
        from geo_renewal import _wmts

        wmts = _wmts.resolve(
            _wmts.fetch_capabilities(src.capabilities),
            layer=src.layer,
            matrix_set=src.matrix_set,
            name=f"base map {src.name!r}",
        )
        url, geographic, offset = wmts.url, wmts.geographic, wmts.zoom_offset
        lo = wmts.min_zoom if lo is None else lo
        hi = wmts.max_zoom if hi is None else hi
    elif "{tilematrix}" in url.lower():
        from geo_renewal._wmts import rest_template

        url = rest_template(url, matrix_set=src.matrix_set or "", style=src.style)
    if "{key}" in url:
        url = url.replace("{key}", _key_of(src, key))
    spec: dict[str, Any] = {
        "tiles": url,
        "attr": attr,
        "name": label,
        "min_zoom": lo or 0,
        "max_native_zoom": 18 if hi is None else hi,
        "max_zoom": max(18 if hi is None else hi, 18),
    }
    if offset:
        spec["zoom_offset"] = offset
    if src.subdomains:
        spec["subdomains"] = src.subdomains
    if geographic:
        spec["crs"] = "EPSG4326"
    return [spec], src.gcj02
