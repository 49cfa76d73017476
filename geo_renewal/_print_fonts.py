"""
Fonts of the printed maps, atlases and deck pictures: a CJK font, or a refusal.

Chinese text must never print as tofu boxes. `cjk_font` finds a CJK font that matplotlib can
use — a file named by ``GEO_RENEWAL_CJK_FONT``, else an installed family such as Noto Sans
CJK SC (Debian's ``fonts-noto-cjk``), Source Han Sans, WenQuanYi or the Windows and macOS
system fonts — and `font_setup` refuses, in one sentence naming the fix, when Chinese text
is to be printed and none exists. Before a page is saved, `embed_subset` replaces the CJK
font of its texts by a TrueType subset of the characters used (CFF outlines converted to
quadratic TrueType ones with fontTools): the PDF embeds a small, well-formed TrueType
font (``pdf.fonttype`` 42) that every viewer accepts, and saving is fast. SVGs carry the
glyphs as paths. See docs/guide/print.md.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from geo_renewal._errors import InputError

__all__ = ["FONT_ENV", "cjk_font", "embed_subset", "font_setup", "has_cjk"]

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


# --------------------------------------------------------------------------------------
# TrueType subsets of the CJK font
# --------------------------------------------------------------------------------------


def _entries(family: str) -> list[Any]:
    from matplotlib import font_manager

    return [
        f for f in font_manager.fontManager.ttflist if f.name == family and f.style == "normal"
    ]


def _to_truetype(font: Any) -> None:
    """Convert a CFF-flavoured OpenType font to TrueType outlines in place (fontTools)."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    for tag in ("CFF ", "CFF2", "VORG"):
        if tag in font:
            del font[tag]
    glyf.compile(font)
    hmtx = font["hmtx"]
    for name in order:
        g = glyf[name]
        hmtx[name] = (hmtx[name][0], getattr(g, "xMin", 0))
    maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, attr, 1 if attr == "maxZones" else 0)
    font["maxp"] = maxp
    post = font["post"]
    post.formatType, post.extraNames, post.mapping = 2.0, [], {}
    font.sfntVersion = "\x00\x01\x00\x00"


def _rename(font: Any, family: str, weight: int) -> None:
    style = "Bold" if weight >= 600 else "Regular"
    ps = family.replace(" ", "") + "-" + style
    for rec in font["name"].names:
        if rec.nameID in (1, 16):
            rec.string = family
        elif rec.nameID == 4:
            rec.string = f"{family} {style}"
        elif rec.nameID == 6:
            rec.string = ps


_FOLDER: list[str] = []


def _folder() -> str:
    import atexit
    import shutil
    import tempfile

    if not _FOLDER:
        _FOLDER.append(tempfile.mkdtemp(prefix="gr-fonts-"))
        atexit.register(shutil.rmtree, _FOLDER[0], True)
    return _FOLDER[0]


def _subset(font: Any, chars: frozenset[str]) -> None:
    """Keep the glyphs of `chars` only, as TrueType outlines."""
    from fontTools import subset

    opts = subset.Options()
    opts.name_IDs, opts.notdef_outline, opts.desubroutinize = ["*"], True, True
    opts.layout_features, opts.hinting = [], False
    opts.drop_tables = [*opts.drop_tables, "DSIG"]
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=sorted({ord(c) for c in chars}))
    sub.subset(font)
    if "CFF " in font or "CFF2" in font:
        _to_truetype(font)


@lru_cache(maxsize=32)
def _subset_family(family: str, chars: frozenset[str]) -> str | None:
    """Register TrueType subsets of `family` (each weight) holding `chars`; return their name."""
    import hashlib

    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    entries = _entries(family)
    if not entries:
        return None
    key = hashlib.sha1(("".join(sorted(chars)) + family).encode("utf-8")).hexdigest()[:10]
    name = f"GR Subset {key}"
    for entry in entries:
        weight = int(entry.weight) if str(entry.weight).isdigit() else 400
        path = os.path.join(_folder(), f"{key}-{weight}.ttf")
        with TTFont(entry.fname, fontNumber=getattr(entry, "index", 0) or 0, lazy=True) as font:
            _subset(font, chars)
            _rename(font, name, weight)
            font.save(path)  # `with`: a lazily read font holds its file open until closed
        font_manager.fontManager.addfont(path)
    return name


def embed_subset(fig: Any, *, base: frozenset[str] = frozenset()) -> None:
    """
    Let every text of `fig` use a TrueType subset of the CJK font (only the characters used).

    Parameters
    ----------
    fig
        A composed page; its texts' font family lists name the CJK family of `font_setup`.
    base
        Characters the pages of one document share (an atlas): when the page's characters
        are among them, the one subset of `base` is used for every page.
    """
    from matplotlib.text import Text

    family = cjk_font()
    if family is None:
        return
    texts = [t for t in fig.findobj(Text) if t.get_text()]
    chars = frozenset("".join(t.get_text() for t in texts)) - {"\n"}
    if not any(has_cjk(c) for c in chars):
        return
    if chars <= base:
        chars = base
    name = _subset_family(family, chars)
    if name is None:
        return
    for t in texts:
        t.set_fontfamily([name if f == family else f for f in t.get_fontfamily()])
