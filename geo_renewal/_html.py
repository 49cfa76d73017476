"""
Escaping of data text for HTML pages and the JavaScript that folium and Leaflet emit.

This is the one escaping helper of the toolkit: every value that comes from data (attribute
values, column and layer names, titles, legend and category labels) passes through
`escape` before it lands in a map, a popup, a legend or the HTML meeting report.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["escape", "escape_many", "html_table", "script_json"]

# Characters made inert by `escape`. C0 control characters other than tab / newline /
# carriage return cannot appear in HTML text and break JSON strings: they are replaced by
# U+FFFD. U+2028 / U+2029 end lines in old JavaScript engines.
_TABLE: dict[int, str] = {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord('"'): "&quot;",
    ord("'"): "&#39;",
    ord("`"): "&#96;",
    ord("$"): "&#36;",
    ord("\\"): "&#92;",
    ord("{"): "&#123;",
    ord("}"): "&#125;",
    ord("\t"): "&#9;",
    ord("\n"): "&#10;",
    ord("\r"): "&#13;",
    0x2028: "&#8232;",
    0x2029: "&#8233;",
    0x7F: "\ufffd",
    **{c: "\ufffd" for c in range(0x20) if c not in (9, 10, 13)},
}

_SCRIPT_SAFE = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "'": "\\u0027",
    "`": "\\u0060",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return False


def escape(value: Any) -> str:
    r"""
    Escape `value` for HTML text, HTML attributes, JavaScript strings and ``<script>``.

    Parameters
    ----------
    value
        Anything; it is converted with `str`. None, NaN and NA give ``""``.

    Returns
    -------
    text
        Text without ``& < > " ' ` $ \ { }`` or control characters (all replaced by HTML
        entities), which renders as the original text when parsed as HTML.

    Examples
    --------
    >>> escape("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    >>> escape("`${alert(1)}` \\u003c")
    '&#96;&#36;&#123;alert(1)&#125;&#96; &#92;u003c'
    >>> escape(None)
    ''
    """
    if _is_missing(value):
        return ""
    return str(value).translate(_TABLE)


def escape_many(values: Iterable[Any], fmt: Callable[[Any], Any] | None = None) -> list[str]:
    """
    Escape every item of `values`, formatting and escaping each distinct value once.

    Parameters
    ----------
    values
        An iterable, e.g. a list or a pandas Series.
    fmt
        Optional function turning a value into display text before escaping.

    Returns
    -------
    escaped
        One escaped string per item, in order.

    Examples
    --------
    >>> escape_many(["a&b", None, "a&b"])
    ['a&amp;b', '', 'a&amp;b']
    """
    cache: dict[Any, str] = {}
    out = []
    for v in values:
        try:
            s = cache.get(v)
        except TypeError:  # unhashable
            s = None
        if s is None:
            s = escape(v if fmt is None else fmt(v))
            with contextlib.suppress(TypeError):
                cache[v] = s
        out.append(s)
    return out


def script_json(obj: Any) -> str:
    r"""
    Serialise `obj` as compact JSON that is safe inside a ``<script>`` element.

    ``< > & '`` and backticks are written as ``\uXXXX`` escapes, so the text can neither
    close the script element nor end a surrounding single-quoted or template string. The
    values are not HTML-escaped: escape text that will be inserted as HTML with `escape`
    first.

    Parameters
    ----------
    obj
        Anything `json.dumps` accepts.

    Returns
    -------
    js
        A JavaScript expression (JSON) without ``<``, ``>``, ``&``, ``'`` or `````.

    Examples
    --------
    >>> script_json({"t": "</script>"})
    '{"t":"\\u003c/script\\u003e"}'
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, rep in _SCRIPT_SAFE.items():
        if ch in text:
            text = text.replace(ch, rep)
    return text


def html_table(rows: Mapping[str, Any] | Iterable[tuple[Any, Any]], *, cls: str = "") -> str:
    """
    Render label/value pairs as an HTML table, escaping labels and values.

    Parameters
    ----------
    rows
        A mapping or pairs of (label, value).
    cls
        CSS class of the table (a literal from the caller, escaped as well).

    Returns
    -------
    html
        ``<table>`` markup.

    Examples
    --------
    >>> html_table({"名称": "<b>x</b>"})
    '<table><tr><th>名称</th><td>&lt;b&gt;x&lt;/b&gt;</td></tr></table>'
    """
    items = rows.items() if isinstance(rows, Mapping) else rows
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in items)
    attr = f' class="{escape(cls)}"' if cls else ""
    return f"<table{attr}>{body}</table>"
