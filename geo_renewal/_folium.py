"""
folium/branca elements of the meeting maps, and the offline inlining of their assets.

The element classes are built on first use (folium is an optional dependency, so this
module imports without it). `inline_assets` replaces external scripts and stylesheets with
their content from the installed ``folium-offline`` package.
"""

from __future__ import annotations

import functools
import html
import re
import warnings
from pathlib import Path
from typing import Any, NamedTuple

from geo_renewal._compat import import_optional
from geo_renewal._errors import InputError
from geo_renewal._html import script_json

#: Leaflet, the only library a renewal map loads (no jQuery, Bootstrap or Font Awesome).
LEAFLET_JS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"
LEAFLET_CSS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"

_HERE = Path(__file__).parent
_JS_HEADER = re.compile(r"/\*.*?\*/\n+", re.DOTALL)


def runtime_css() -> str:
    """Return the map runtime's stylesheet (maps_runtime.css), e.g. for a legend elsewhere."""
    return (_HERE / "maps_runtime.css").read_text(encoding="utf-8")


@functools.cache
def runtime_html() -> str:
    """
    Return the map runtime (maps_runtime.css and .js beside this module) for the page head.

    The documentation header of maps_runtime.js (its leading ``/* … */`` comment) is left
    out of the pages.
    """
    css = runtime_css()
    js = (_HERE / "maps_runtime.js").read_text(encoding="utf-8")
    header = _JS_HEADER.match(js)
    if header:
        js = js[header.end() :]
    return f"<style>{css}</style>\n<script>{js}</script>"


class Elements(NamedTuple):
    """The element classes of a renewal map."""

    DataLayer: type
    Decorations: type
    RawHTML: type


@functools.cache
def elements() -> Elements:
    """Build the folium element classes (once; folium is imported here)."""
    import_optional("folium", purpose="a map")
    from branca.element import Element, MacroElement
    from folium.map import Layer

    raw_html = _raw_html_class(Element)
    return Elements(
        DataLayer=_data_layer_class(Layer, raw_html),
        Decorations=_decorations_class(MacroElement, raw_html),
        RawHTML=raw_html,
    )


def _raw_html_class(element: type) -> type:
    class RawHTML(element):  # type: ignore[misc]
        """Literal HTML in the page (no Jinja: the runtime script is long)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self._name = "GeoRenewalRaw"
            self.text = text

        def render(self, **kwargs: Any) -> str:
            return self.text

    return RawHTML


def _data_layer_class(layer: type, raw_html: type) -> type:
    class DataLayer(layer):  # type: ignore[misc]
        """A toggleable layer of compactly encoded features, built by the runtime script."""

        def __init__(
            self,
            name: str,
            spec: dict[str, Any],
            data_json: str,
            *,
            n_features: int,
            show: bool = True,
            role: str = "",
            chunks: list[str] | None = None,
        ) -> None:
            super().__init__(name=name, overlay=True, control=True, show=show)
            self._name = "GeoRenewalLayer"
            self.chunks = chunks or []  # base64 texts, in the order of spec["chunks"]
            self.spec_json = script_json(spec)
            self.js_name = script_json(name)
            self.data_json = data_json
            self.n_features = n_features
            self.role = role

        def render(self, **kwargs: Any) -> None:
            # Written as literal text: branca would compile macro output (with data in it)
            # as a Jinja template. The data is JSON without "<" (see _mapdata.layer_data).
            figure = self.get_root()
            add_runtime(figure)
            var = self.get_name()
            data = f'<script type="application/json" id="{var}_data">{self.data_json}</script>'
            figure.html.add_child(raw_html(data), name=f"{var}_data")
            for i, chunk in enumerate(self.chunks):  # decoded by the runtime when in view
                element = (
                    f'<script type="application/octet-stream" id="{var}_c{i}">{chunk}</script>'
                )
                figure.html.add_child(raw_html(element), name=f"{var}_c{i}")
            chunk_ids = f', "{var}_c"' if self.chunks else ""  # chunk i: element {var}_c{i}
            figure.script.add_child(
                raw_html(
                    f"var {var} = geoRenewal.layer({self.js_name}, {self.spec_json}, "
                    f'JSON.parse(document.getElementById("{var}_data").textContent){chunk_ids});'
                ),
                name=var,
            )
            if self.show:
                figure.script.add_child(
                    raw_html(f"{var}.addTo({self._parent.get_name()});"), name=f"{var}_add"
                )
            for child in self._children.values():
                child.render(**kwargs)

    return DataLayer


def _decorations_class(macro_element: type, raw_html: type) -> type:
    class Decorations(macro_element):  # type: ignore[misc]
        """Title, legend, Chinese zoom control and attribution prefix of a renewal map."""

        def __init__(self, spec: dict[str, Any]) -> None:
            super().__init__()
            self._name = "GeoRenewalDecorations"
            self.spec_json = script_json(spec)

        def render(self, **kwargs: Any) -> None:
            figure = self.get_root()
            add_runtime(figure)
            figure.script.add_child(
                raw_html(f"geoRenewal.decorate({self._parent.get_name()}, {self.spec_json});"),
                name=self.get_name(),
            )

    return Decorations


def add_runtime(figure: Any) -> None:
    """Add the runtime CSS and script to the page header, once."""
    if "geo_renewal_runtime" not in figure.header._children:
        figure.header.add_child(elements().RawHTML(runtime_html()), name="geo_renewal_runtime")


# --------------------------------------------------------------------------------------
# offline inlining
# --------------------------------------------------------------------------------------

_SCRIPT_SRC = re.compile(r'<script\s+src="([^"]+)"\s*>\s*</script>', re.IGNORECASE)
_CSS_URL = re.compile(r"(?<![\w.$])url\(\s*([^)]*?)\s*\)")
_CSS_LINK = re.compile(r"<link\s+[^>]*href=\"([^\"]+)\"[^>]*/?>", re.IGNORECASE)


def _offline_assets() -> dict[str, str]:
    elements = import_optional("offlinefolium.elements", purpose="save_map(offline=True)")
    return elements._res


def inline_assets(page: str) -> str:
    """Replace every external script and stylesheet with its content from folium-offline."""
    assets = _offline_assets()
    missing: list[str] = []
    dropped: list[str] = []

    def script(match: re.Match[str]) -> str:
        url = html.unescape(match.group(1))
        if url not in assets:
            missing.append(url)
            return match.group(0)
        body = assets[url].replace("</script", "<\\/script")
        return f"<script>{body}</script>"

    def css(match: re.Match[str]) -> str:
        tag = match.group(0)
        if "stylesheet" not in tag.lower():
            return tag
        url = html.unescape(match.group(1))
        if url not in assets:
            missing.append(url)
            return tag
        body = _CSS_URL.sub(lambda m: drop(m, url), assets[url]).replace("</style", "<\\/style")
        return f"<style>{body}</style>"

    def drop(m: re.Match[str], sheet: str) -> str:
        ref = m.group(1).strip("\"' ")
        if ref.startswith(("data:", "#")):
            return m.group(0)
        dropped.append(f"{sheet} -> {ref}")
        return "url(data:,)"

    page = _SCRIPT_SRC.sub(script, page)
    page = _CSS_LINK.sub(css, page)
    _report(missing, dropped)
    return page


def _report(missing: list[str], dropped: list[str]) -> None:
    """Refuse assets folium-offline lacks; warn about fonts and images left out."""
    if missing:
        msg = (
            f"save_map(offline=True) cannot embed {missing}: the installed folium-offline "
            "package does not provide them; remove the folium plugin that needs them or "
            "save with offline=False."
        )
        raise InputError(msg)
    if dropped:
        msg = (
            f"save_map(offline=True) removed {len(dropped)} font/image references that "
            f"folium-offline does not ship (e.g. {dropped[0]}); icon fonts such as Font "
            "Awesome and Glyphicons will not show in the offline file. Maps from "
            "renewal_map do not use them."
        )
        warnings.warn(msg, UserWarning, stacklevel=4)
