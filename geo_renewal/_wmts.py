"""
WMTS base maps: a capabilities document, or a KVP / REST GetTile template, as a Leaflet URL.

Leaflet asks for tiles by ``{z}/{x}/{y}`` in Web Mercator (EPSG:3857) or, on a map in
longitude/latitude (``L.CRS.EPSG4326``), in a geographic grid of 2 × 1 tiles at zoom 0 — the
two kinds of tile matrix set an office's WMTS serves (天地图 ``w`` and ``c``, a province's
CGCS2000 一张图). `resolve` turns a capabilities document, a layer and a matrix set into a
URL template, the zoom offset between Leaflet's zoom and the matrix identifiers, and
whether the grid is geographic. Nothing here fetches a URL except `fetch_capabilities`.
"""

from __future__ import annotations

import math
import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import urlencode

from geo_renewal._errors import InputError

__all__ = ["WmtsLayer", "fetch_capabilities", "kvp_template", "resolve", "rest_template"]

_NS = {
    "wmts": "http://www.opengis.net/wmts/1.0",
    "ows": "http://www.opengis.net/ows/1.1",
    "xlink": "http://www.w3.org/1999/xlink",
}
_MERCATOR = ("3857", "900913", "102100", "3785", "googlemapscompatible")
_GEOGRAPHIC = ("4490", "4326", "crs84", "4610", "4214")


@dataclass(frozen=True)
class WmtsLayer:
    """
    A WMTS layer as Leaflet requests it.

    Attributes
    ----------
    url
        URL template with ``{z}``, ``{x}``, ``{y}`` (and ``{key}`` where the key goes).
    geographic
        Whether the matrix set is in longitude/latitude (the map then uses EPSG:4326).
    zoom_offset
        Matrix identifier minus Leaflet zoom (1 for 天地图's ``c`` sets).
    min_zoom, max_zoom
        Leaflet zooms with tiles.
    datum
        ``"cgcs2000"`` for a CGCS2000 matrix set, else ``"wgs84"``.
    """

    url: str
    geographic: bool
    zoom_offset: int
    min_zoom: int
    max_zoom: int
    datum: str


def fetch_capabilities(url: str, *, timeout: float = 10.0) -> bytes:
    """
    Fetch a WMTS capabilities document (the office's intranet server; no retry).

    Raises
    ------
    InputError
        If the server cannot be reached or answers with an error, in one sentence.
    """
    if not re.match(r"^https?://", url):
        msg = f"the WMTS capabilities URL must start with http:// or https://; got {url!r}."
        raise InputError(msg)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # http(s) only, checked above
            return bytes(r.read())
    except (urllib.error.URLError, OSError, ValueError) as e:
        msg = (
            f"cannot fetch the WMTS capabilities `{url}` ({e}); check the address and that "
            "this computer reaches the server (政务网), or give the GetTile URL template "
            "(`url = ...`) instead."
        )
        raise InputError(msg) from e


def kvp_template(
    endpoint: str, *, layer: str, matrix_set: str, style: str = "default", fmt: str = "image/png"
) -> str:
    """
    Return the KVP GetTile template of a WMTS endpoint.

    Examples
    --------
    >>> kvp_template("http://10.0.0.1/wmts", layer="img", matrix_set="c")
    'http://10.0.0.1/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=img&STYLE=default&TILEMATRIXSET=c&FORMAT=image%2Fpng&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}'
    """
    query = urlencode(
        {
            "SERVICE": "WMTS",
            "REQUEST": "GetTile",
            "VERSION": "1.0.0",
            "LAYER": layer,
            "STYLE": style,
            "TILEMATRIXSET": matrix_set,
            "FORMAT": fmt,
        }
    )
    base = endpoint.rstrip("?&")
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}{query}&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}"


def rest_template(
    template: str, *, matrix_set: str, style: str = "default", prefix: str = ""
) -> str:
    """
    Return a REST ResourceURL template with Leaflet's placeholders.

    Examples
    --------
    >>> rest_template("http://h/wmts/img/{Style}/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}.png",
    ...               matrix_set="w")
    'http://h/wmts/img/default/w/{z}/{y}/{x}.png'
    """
    out = template
    for name, value in (
        ("Style", style),
        ("TileMatrixSet", matrix_set),
        ("TileMatrix", prefix + "{z}"),
        ("TileRow", "{y}"),
        ("TileCol", "{x}"),
    ):
        out = re.sub(r"\{" + name + r"\}", value.replace("\\", "\\\\"), out, flags=re.IGNORECASE)
    return out


def resolve(
    xml: bytes, *, layer: str | None, matrix_set: str | None, name: str = "WMTS"
) -> WmtsLayer:
    """
    Read a capabilities document: the layer's URL template, zooms and kind of grid.

    Parameters
    ----------
    xml
        The GetCapabilities response.
    layer, matrix_set
        The layer and tile matrix set identifiers; None takes the only (or first) one.
    name
        Where the source was declared, for messages.

    Returns
    -------
    layer
        A `WmtsLayer`.

    Raises
    ------
    InputError
        If the document cannot be read, or names no such layer or matrix set (the valid
        ones are listed), or the matrix set is neither Web Mercator nor longitude/latitude.
    """
    try:
        root = ET.fromstring(xml)  # the office's server; no entity expansion
    except ET.ParseError as e:
        msg = f"{name}: the WMTS capabilities are not XML ({e}); check the capabilities URL."
        raise InputError(msg) from e
    layers = {
        _text(el, "ows:Identifier"): el for el in root.iterfind("wmts:Contents/wmts:Layer", _NS)
    }
    lay = _pick(layers, layer, name, "layer")
    links = [_text(x, "wmts:TileMatrixSet") for x in lay.iterfind("wmts:TileMatrixSetLink", _NS)]
    sets = {
        _text(el, "ows:Identifier"): el
        for el in root.iterfind("wmts:Contents/wmts:TileMatrixSet", _NS)
        if _text(el, "ows:Identifier") in links
    }
    tms_id = _pick_id(sets, matrix_set, name)
    tms = sets[tms_id]
    supported = _text(tms, "ows:SupportedCRS").lower()
    geographic = _is_geographic(supported, tms_id, name)
    zooms = _zooms(tms, geographic, name, tms_id)
    prefix, offset = _identifier_form(zooms, name, tms_id)
    style = _style(lay)
    fmt = _text(lay, "wmts:Format") or "image/png"
    url = _url(root, lay, tms_id, style, fmt, prefix, name)
    return WmtsLayer(
        url=url,
        geographic=geographic,
        zoom_offset=offset,
        min_zoom=min(zooms),
        max_zoom=max(zooms),
        datum="cgcs2000" if "4490" in supported else "wgs84",
    )


def _text(el: ET.Element, path: str) -> str:
    found = el.find(path, _NS)
    return (found.text or "").strip() if found is not None else ""


def _pick(options: dict[str, ET.Element], wanted: str | None, name: str, what: str) -> ET.Element:
    return options[_pick_id(options, wanted, name, what)]


def _pick_id(
    options: dict[str, ET.Element], wanted: str | None, name: str, what: str = "matrix_set"
) -> str:
    if not options:
        msg = f"{name}: the WMTS capabilities list no {what}; check the capabilities URL."
        raise InputError(msg)
    if wanted is None:
        return next(iter(options))
    if wanted not in options:
        msg = f"{name}: the WMTS has no {what} {wanted!r}; it has {sorted(options)}."
        raise InputError(msg)
    return wanted


def _is_geographic(supported: str, tms_id: str, name: str) -> bool:
    if any(code in supported for code in _MERCATOR):
        return False
    if any(code in supported for code in _GEOGRAPHIC):
        return True
    msg = (
        f"{name}: matrix set {tms_id!r} is in {supported or 'an undeclared CRS'}; a map shows "
        "tiles in Web Mercator (EPSG:3857) or longitude/latitude (EPSG:4490, 4326) sets; "
        "pick another `matrix_set`."
    )
    raise InputError(msg)


def _zooms(tms: ET.Element, geographic: bool, name: str, tms_id: str) -> dict[int, str]:
    """Leaflet zoom -> matrix identifier, from each matrix's size in tiles."""
    out: dict[int, str] = {}
    for m in tms.iterfind("wmts:TileMatrix", _NS):
        ident = _text(m, "ows:Identifier")
        size = int(_text(m, "wmts:MatrixHeight" if geographic else "wmts:MatrixWidth") or 0)
        z = round(math.log2(size)) if size > 0 else -1
        if z >= 0 and 2**z == size:
            out[z] = ident
    if not out:
        msg = f"{name}: matrix set {tms_id!r} has no matrix of 2ⁿ tiles; it cannot be shown."
        raise InputError(msg)
    return out


def _identifier_form(zooms: dict[int, str], name: str, tms_id: str) -> tuple[str, int]:
    """Return the identifiers' text before the number and (number − zoom), alike for all."""
    forms = set()
    for z, ident in zooms.items():
        m = re.fullmatch(r"(.*?)(\d+)", ident)
        if m is None:
            forms.add(("?", 0))
        else:
            forms.add((m.group(1), int(m.group(2)) - z))
    if len(forms) != 1 or ("?", 0) in forms:
        msg = (
            f"{name}: the matrix identifiers of {tms_id!r} ({sorted(zooms.values())[:4]} …) "
            "do not follow the zoom; give the GetTile URL template (`url = ...`) instead."
        )
        raise InputError(msg)
    return forms.pop()


def _style(lay: ET.Element) -> str:
    styles = list(lay.iterfind("wmts:Style", _NS))
    for st in styles:
        if st.get("isDefault") == "true":
            return _text(st, "ows:Identifier") or "default"
    return _text(styles[0], "ows:Identifier") if styles else "default"


def _url(
    root: ET.Element, lay: ET.Element, tms_id: str, style: str, fmt: str, prefix: str, name: str
) -> str:
    for res in lay.iterfind("wmts:ResourceURL", _NS):
        if res.get("resourceType") == "tile" and res.get("template"):
            return rest_template(
                str(res.get("template")), matrix_set=tms_id, style=style, prefix=prefix
            )
    for op in root.iterfind("ows:OperationsMetadata/ows:Operation", _NS):
        if op.get("name") == "GetTile":
            get = op.find("ows:DCP/ows:HTTP/ows:Get", _NS)
            href = get.get(f"{{{_NS['xlink']}}}href") if get is not None else None
            if href:
                url = kvp_template(
                    href,
                    layer=_text(lay, "ows:Identifier"),
                    matrix_set=tms_id,
                    style=style,
                    fmt=fmt,
                )
                return url.replace("TILEMATRIX={z}", f"TILEMATRIX={prefix}{{z}}")
    msg = f"{name}: the WMTS capabilities give no GetTile address; give the URL template instead."
    raise InputError(msg)
