"""
Text encodings of office files: Shapefiles without ``.cpg`` and CSV tables, GBK or UTF-8.

Strict UTF-8 when the sampled bytes decode as such, else GB18030 (a superset of GBK/GB2312).
"""

from __future__ import annotations

import codecs
import logging
from pathlib import Path

from geo_renewal._errors import InputError

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


def _shapefile_encoding(shp: Path) -> str | None:
    """Guess the encoding of a Shapefile's .dbf without .cpg; None lets GDAL decide."""
    if _sidecar(shp, ".cpg") is not None:
        return None
    dbf = _sidecar(shp, ".dbf")
    if dbf is None:
        return None
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
    encoding = _dbf_encoding(head, tail)
    if encoding is not None:
        logger.info("%s has no .cpg; its text looks like %s", shp, encoding)
    return encoding


def _dbf_encoding(head: bytes, tail: bytes = b"") -> str | None:
    """Guess the encoding of dBASE bytes: UTF-8 if strictly valid, else GB18030; None if ASCII."""
    if len(head) < 32:
        return None
    header_len = int.from_bytes(head[8:10], "little")
    record_len = max(int.from_bytes(head[10:12], "little"), 1)
    names = []
    i = 32
    while i + 32 <= min(header_len, len(head)) and head[i] != 0x0D:
        names.append(head[i : i + 11].split(b"\0", 1)[0])
        i += 32
    records = head[header_len:]
    records = records[: len(records) // record_len * record_len]
    sample = b"\n".join([*names, records, tail])
    if sample.isascii():
        return None
    for enc in ("utf-8", "gb18030"):
        try:
            sample.decode(enc)
        except UnicodeDecodeError:
            continue
        return "UTF-8" if enc == "utf-8" else "GB18030"
    return None


def _text_encoding(path: Path) -> str:
    """Guess a text file's encoding: UTF-8 (BOM or not) if its start decodes, else GB18030."""
    with path.open("rb") as f:
        head = f.read(4 * _SAMPLE_BYTES)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"
