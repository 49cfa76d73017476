"""
Fonts of the printed maps, atlases and deck pictures: a CJK font, or a refusal.

Chinese text must never print as tofu boxes. `cjk_font` finds a CJK font that matplotlib can
use — a file named by ``GEO_RENEWAL_CJK_FONT``, else an installed family such as Noto Sans
CJK SC (Debian's ``fonts-noto-cjk``), Source Han Sans, WenQuanYi or the Windows and macOS
system fonts — and `font_setup` refuses, in one sentence naming the fix, when Chinese text
is to be printed and none exists. PDFs embed TrueType/OpenType subsets (``pdf.fonttype``
42), SVGs carry the glyphs as paths. See docs/guide/print.md.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from geo_renewal._errors import InputError

__all__ = ["FONT_ENV", "cjk_font", "font_setup", "has_cjk"]

#: Environment variable naming a font file (.ttf, .otf, .ttc) to print Chinese with.
FONT_ENV = "GEO_RENEWAL_CJK_FONT"

#: CJK families in order of preference (simplified Chinese faces first).
_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Noto Serif CJK SC",
)

_CJK_TEXT = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def has_cjk(text: str) -> bool:
    """
    Tell whether `text` holds a Chinese (CJK) character or full-width punctuation.

    Parameters
    ----------
    text
        Any text.

    Returns
    -------
    cjk
        True when a CJK character is in `text`.

    Examples
    --------
    >>> has_cjk("东关街道"), has_cjk("Street 3")
    (True, False)
    """
    return bool(_CJK_TEXT.search(text))


@lru_cache(maxsize=4)
def _find(env_path: str | None) -> str | None:
    from matplotlib import font_manager

    if env_path:
        if not os.path.isfile(env_path):
            msg = (
                f"{FONT_ENV}={env_path!r} names no font file; set it to a .ttf, .otf or "
                ".ttc file with Chinese glyphs, or unset it to use the system's fonts."
            )
            raise InputError(msg)
        font_manager.fontManager.addfont(env_path)
        return str(font_manager.FontProperties(fname=env_path).get_name())
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((family for family in _CJK_FAMILIES if family in names), None)


def cjk_font() -> str | None:
    """
    Return the family name of the CJK font the printed outputs use, or None if none exists.

    Returns
    -------
    family
        E.g. ``"Noto Sans CJK SC"``; the font named by ``GEO_RENEWAL_CJK_FONT`` first.

    Raises
    ------
    InputError
        If ``GEO_RENEWAL_CJK_FONT`` names no file.

    Examples
    --------
    >>> family = cjk_font()
    >>> family is None or isinstance(family, str)
    True
    """
    return _find(os.environ.get(FONT_ENV) or None)


def font_setup(lang: str, texts: Iterable[str] = ()) -> dict[str, Any]:
    """
    Return the matplotlib settings for printing in `lang`, or refuse when Chinese would be tofu.

    Parameters
    ----------
    lang
        ``"zh"`` or ``"en"``.
    texts
        The data texts to be printed (names, labels): English maps of Chinese names need a
        CJK font too.

    Returns
    -------
    rc
        rcParams for `matplotlib.rc_context`: the font families (with a CJK fallback),
        TrueType subsets embedded in PDF (``pdf.fonttype`` 42), glyphs as paths in SVG.

    Raises
    ------
    InputError
        If Chinese text is to be printed and no CJK font is installed; the message names the
        package to install and ``GEO_RENEWAL_CJK_FONT``.

    Examples
    --------
    >>> font_setup("en", ["Street 1"])["pdf.fonttype"]
    42
    """
    family = cjk_font()
    if family is None and (lang == "zh" or any(has_cjk(str(t)) for t in texts)):
        msg = (
            "No Chinese (CJK) font is installed, so Chinese text would print as empty boxes; "
            "install one (Debian/Ubuntu: `apt install fonts-noto-cjk`; or `pip install` a "
            f"package that ships Noto Sans CJK SC) or set {FONT_ENV} to a .ttf/.otf/.ttc "
            "file with Chinese glyphs."
        )
        raise InputError(msg)
    families = ["DejaVu Sans"]
    if family is not None:
        families = [family, "DejaVu Sans"]  # Chinese glyph shapes first for a Chinese map,
        if lang != "zh":  # Latin ones first for an English map (Chinese names still print)
            families.reverse()
    return {
        "font.family": families,
        "pdf.fonttype": 42,
        "svg.fonttype": "path",
        "axes.unicode_minus": False,
        "path.simplify": True,
    }
