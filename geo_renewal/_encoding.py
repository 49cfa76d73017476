"""
Text encodings of office files: Shapefiles without ``.cpg`` and CSV tables, GBK or UTF-8.

Strict UTF-8 when the sampled bytes decode as such, else GB18030 (a superset of GBK/GB2312).
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo_renewal._errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd

#: Bytes sampled from the start (and end) of a file to guess its encoding.
_SAMPLE_BYTES = 1 << 20

logger = logging.getLogger("geo_renewal.io")


def _codec_name(encoding: str) -> str:
    """Return the canonical name of `encoding` (one GDAL/iconv also knows)."""
    try:
        return codecs.lookup(encoding).name
    except LookupError as e:
        msg = (
            f"unknown `encoding` {encoding!r}; pass a codec name such as 'GB18030', 'GBK', "
            "'UTF-8' or 'latin-1'."
        )
        raise InputError(msg) from e


def _sidecar(shp: Path, ext: str) -> Path | None:
    for candidate in (shp.with_suffix(ext), shp.with_suffix(ext.upper())):
        if candidate.exists():
            return candidate
    return None


#: DBF language driver ids (byte 29 of the header) -> codec. 0x57 ("the writer's ANSI code
#: page": GBK on Chinese Windows) declares nothing, as 0x00 does: the bytes decide.
_LDID = {
    0x01: "cp437",
    0x02: "cp850",
    0x03: "cp1252",
    0x4D: "gbk",
    0x4E: "cp949",
    0x4F: "cp950",
    0x58: "cp1252",
    0x59: "cp1252",
    0x7A: "gbk",
    0x7B: "cp932",
}
#: Declared encodings whose fit the text's bytes can judge (others are trusted when they decode).
_JUDGED = ("utf-8", "gbk", "gb2312", "gb18030", "hz")
_MARGIN = 0.5  # share of common-Chinese characters by which the bytes overrule a declaration


@dataclass(frozen=True)
class TextChoice:
    """The encoding a Shapefile's text is read with, and what was declared."""

    encoding: str | None
    declared: str | None = None
    source: str | None = None
    override: str | None = None  # the sentence reporting an override, if any


def _cpg_codec(text: str) -> str | None:
    """Return the codec a ``.cpg`` names (``UTF-8``, ``936``, ``GBK``, ``1252``, ``88591`` …)."""
    key = text.strip().strip("\ufeff").upper().replace(" ", "").replace("_", "-")
    key = key.removeprefix("ANSI")
    if key.startswith("ISO8859") and "-" not in key:  # ISO88591 -> ISO8859-1
        key = "ISO8859-" + key[7:]
    if key.isdigit():
        key = {"65001": "utf-8", "936": "gbk"}.get(key) or (
            f"iso8859-{key[4:]}" if key.startswith("8859") else f"cp{key}"
        )
    try:
        return codecs.lookup(key).name
    except LookupError:
        return None


def _dbf_sample(head: bytes, tail: bytes = b"") -> tuple[bytes, int | None]:
    """Return the text of a dBASE sample (field names and character fields) and its LDID."""
    if len(head) < 32:
        return b"", None
    header_len = int.from_bytes(head[8:10], "little")
    record_len = max(int.from_bytes(head[10:12], "little"), 1)
    ldid = head[29] or None
    names, fields = [], []
    i, offset = 32, 1
    while i + 32 <= min(header_len, len(head)) and head[i] != 0x0D:
        names.append(head[i : i + 11].split(b"\0", 1)[0])
        width = head[i + 16]
        if head[i + 11 : i + 12] in (b"C", b"M"):
            fields.append((offset, offset + width))
        offset += width
        i += 32
    values = list(names)
    for block in (head[header_len:], tail):
        block = block[: len(block) // record_len * record_len]
        for r in range(0, len(block), record_len):
            values.extend(block[r + a : r + b].rstrip(b" \0") for a, b in fields)
    return b"\n".join(v for v in values if not v.isascii()), ldid


@functools.cache
def _common_chinese() -> frozenset[str]:
    """Return the 3,755 level-1 characters of GB 2312 and its punctuation and full-width rows."""
    chars = set()
    for lead in [0xA1, 0xA3, *range(0xB0, 0xD8)]:
        for trail in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                chars.add(bytes([lead, trail]).decode("gb2312"))
    return frozenset(chars)


def _score(text: str) -> float:
    """Share of the (first 20,000) non-ASCII characters that are common Chinese ones."""
    common = _common_chinese()
    odd = [c for c in text if ord(c) > 127][:20_000]
    return sum(c in common for c in odd) / len(odd) if odd else 0.0


def _decodings(sample: bytes, declared: str | None) -> dict[str, tuple[str, float]]:
    out: dict[str, tuple[str, float]] = {}
    for enc in dict.fromkeys([declared, "utf-8", "gb18030"]):
        if enc is None:
            continue
        try:
            text = sample.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        out[enc] = (text, _score(text))
    return out


def _judged(codec: str) -> bool:
    """Whether the bytes may overrule a declaration of `codec` (Chinese, UTF-8, one-byte)."""
    if codec in _JUDGED:
        return True
    try:
        return len(bytes(range(256)).decode(codec, errors="replace")) == 256
    except LookupError:
        return False


def _preview(text: str) -> str:
    for part in text.split("\n"):
        if not part.isascii():
            return part[:12]
    return text[:12]


def choose_text_encoding(
    head: bytes, tail: bytes, *, declared: str | None, source: str | None, name: str
) -> TextChoice:
    """
    Choose the encoding of a dBASE file's text from its bytes and what it declares.

    The declaration (`encoding=`, the ``.cpg`` or the language byte) is used when its
    decoding is at least as plausible as the others; the bytes win when the declaration
    cannot decode them, or when UTF-8 or GB18030 reads as Chinese text by a clear margin
    (`_MARGIN`) where the declaration gives mojibake. Without declaration: UTF-8 if valid,
    else GB18030. Raises `InputError` when no encoding fits, saying what to pass.
    """
    sample, ldid = _dbf_sample(head, tail)
    if declared is None and ldid in _LDID:
        declared, source = _LDID[ldid], f"its language byte (LDID {ldid})"
    said = declared.upper() if declared else None
    if declared in ("gbk", "gb2312"):
        declared = "gb18030"  # the superset fits a GBK or GB 2312 declaration
    if not sample:
        return TextChoice(declared, declared, source)
    options = _decodings(sample, declared)
    if declared in options and not _judged(declared):
        return TextChoice(declared, declared, source)
    if not options:
        _refuse(sample, declared, source, name)
    ranked = sorted(options, key=lambda e: (-options[e][1], e != "utf-8", e != declared))
    best = ranked[0]
    if declared in options:
        if options[best][1] - options[declared][1] < _MARGIN:
            return TextChoice(declared, declared, source)
    elif declared is None:
        pick = (
            "utf-8"
            if "utf-8" in options and (options[best][1] - options["utf-8"][1] < _MARGIN)
            else best
        )
        return TextChoice("UTF-8" if pick == "utf-8" else "GB18030")
    if best != "utf-8" and options[best][1] < _MARGIN:
        _refuse(sample, declared, source, name)
    text = options[best][0]
    used = "UTF-8" if best == "utf-8" else "GB18030"
    if declared in options:
        seen = f"as {said} it reads as mojibake ({_preview(options[declared][0])!r})"
    else:
        seen = f"it is not valid {said}"
    if source == "`encoding=`":
        fix = f"drop `encoding=` or pass `encoding={used!r}`"
    else:
        fix = f"write {used} into its .cpg so that other programs read it right"
    msg = (
        f"`{name}`: {source} declares the text encoding {said}, but {seen}, while "
        f"{used} reads it as Chinese text ({_preview(text)!r}); read as {used}. To silence "
        f"this, {fix}."
    )
    logger.info(msg)
    return TextChoice(used, declared, source, msg)


def _refuse(sample: bytes, declared: str | None, source: str | None, name: str) -> None:
    bad = sample
    for enc in ("utf-8", "gb18030"):
        try:
            sample.decode(enc)
        except UnicodeDecodeError as e:
            bad = sample[max(e.start - 4, 0) : e.end + 4]
            break
    said = f"{source} declares {declared.upper()}, but " if declared else ""
    msg = (
        f"`{name}`: {said}its text reads neither as {declared or 'UTF-8'} nor as UTF-8 or "
        f"GBK/GB18030 Chinese text (e.g. the bytes {bad!r}); pass the right encoding, e.g. "
        "`read_layer(path, encoding='big5')` or `encoding='latin-1'`, or re-export the file "
        "as UTF-8."
    )
    raise InputError(msg)


def _read_dbf_sample(dbf: Path) -> tuple[bytes, bytes]:
    """Read the first `_SAMPLE_BYTES` of a .dbf and, if big, about as many from its end."""
    with dbf.open("rb") as f:
        head = f.read(_SAMPLE_BYTES)
        tail = b""
        size = dbf.stat().st_size
        if size > 2 * _SAMPLE_BYTES and len(head) >= 12:
            header_len = int.from_bytes(head[8:10], "little")
            record_len = max(int.from_bytes(head[10:12], "little"), 1)
            n_tail = _SAMPLE_BYTES // record_len
            n_records = (size - header_len) // record_len
            f.seek(header_len + max(n_records - n_tail, 0) * record_len)
            tail = f.read(n_tail * record_len)
    return head, tail


def _declared(
    encoding: str | None, cpg_text: str | None
) -> tuple[str | None, str | None, str | None]:
    """(codec, source, note) of what a Shapefile declares: `encoding=` first, then its .cpg."""
    if encoding is not None:
        return _codec_name(encoding), "`encoding=`", None
    if cpg_text is None:
        return None, None, None
    codec = _cpg_codec(cpg_text)
    if codec is None:
        return None, None, f".cpg {cpg_text.strip()[:40]!r} names no known encoding"
    return codec, "its .cpg", None


def _shapefile_encoding(shp: Path, encoding: str | None = None) -> TextChoice:
    """Choose the encoding of a Shapefile's .dbf from `encoding=`, its .cpg and its bytes."""
    cpg = _sidecar(shp, ".cpg")
    cpg_text = cpg.read_text("latin-1") if cpg is not None else None
    declared, source, note = _declared(encoding, cpg_text)
    dbf = _sidecar(shp, ".dbf")
    if dbf is None:
        return TextChoice(declared, declared, source)
    head, tail = _read_dbf_sample(dbf)
    choice = choose_text_encoding(head, tail, declared=declared, source=source, name=str(shp))
    if declared is None and choice.encoding is not None:
        logger.info("%s has no usable .cpg; its text looks like %s", shp, choice.encoding)
        if note:
            return TextChoice(
                choice.encoding, None, None, f"`{shp}`: its {note}; read as {choice.encoding}."
            )
    return choice


def _dbf_encoding(head: bytes, tail: bytes = b"") -> str | None:
    """Guess the encoding of dBASE bytes: UTF-8 if strictly valid, else GB18030; None if ASCII."""
    return choose_text_encoding(head, tail, declared=None, source=None, name="dbf").encoding


def _text_encoding(path: Path) -> str:
    """Guess a text file's encoding: UTF-8 (BOM or not) if its start decodes, else GB18030."""
    with path.open("rb") as f:
        head = f.read(4 * _SAMPLE_BYTES)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _valid_text(gdf: gpd.GeoDataFrame, name: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """
    Return `gdf` with every text column valid Unicode, and the sentences reporting repairs.

    Arrow-backed text columns are checked for valid UTF-8 (one pass in C); a column that
    is not (a GeoPackage written with GBK bytes, rows of a big ``.dbf`` beyond the sample)
    is decoded value by value from its bytes: UTF-8 where valid, else GB18030 when that
    reads as Chinese text. Anything else raises `InputError` naming the column and row.
    """
    import pandas as pd
    import pyarrow as pa

    fixes: dict[Any, pd.Series] = {}
    notes: list[str] = []
    for c in gdf.columns:
        arr = getattr(gdf[c].array, "_pa_array", None)
        if c == gdf.geometry.name or arr is None:
            continue
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            continue
        try:
            arr.validate(full=True)
            continue
        except pa.ArrowInvalid:
            pass
        raw = arr.cast(pa.large_binary()).to_pylist()
        values, odd = _decode_values(raw, gdf.index, column=c, name=name)
        fixes[c] = pd.Series(values, index=gdf.index, name=c, dtype=object)
        notes.append(
            f"`{name}`: column {c!r} holds text that is not valid UTF-8 ({len(odd)} values, "
            f"e.g. row {odd[0][0]!r}); it reads as GB18030 Chinese text ({odd[0][1][:12]!r}), "
            "so it was read as GB18030. Re-export the file as UTF-8."
        )
    return (gdf.assign(**{str(k): v for k, v in fixes.items()}) if fixes else gdf), notes


def _decode_values(
    raw: list[bytes | None], index: Any, *, column: Any, name: str
) -> tuple[list[str | None], list[tuple[Any, str]]]:
    """Decode each value as UTF-8, else GB18030; refuse values neither reads as Chinese."""
    values: list[str | None] = []
    odd: list[tuple[Any, str]] = []
    for label, v in zip(index, raw, strict=True):
        if v is None:
            values.append(None)
            continue
        try:
            values.append(v.decode("utf-8"))
            continue
        except UnicodeDecodeError:
            pass
        try:
            text = v.decode("gb18030")
        except UnicodeDecodeError:
            text = None
        if text is None or _score(text) < _MARGIN:
            msg = (
                f"`{name}`: column {column!r}, row {label!r} holds bytes {v[:16]!r} that are "
                "neither UTF-8 nor GBK/GB18030 Chinese text; re-export the file as UTF-8, or "
                "for a Shapefile pass its encoding, e.g. `encoding='big5'`."
            )
            raise InputError(msg)
        values.append(text)
        odd.append((label, text))
    return values, odd
