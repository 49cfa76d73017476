"""
Reading TOML files (project files, rule sets, parameter files) with one kind of message.

A file that does not exist, is not UTF-8 or is not valid TOML gets one sentence naming the
file, the line and the fix.
"""

from __future__ import annotations

import tomllib
from os import PathLike
from pathlib import Path
from typing import Any

from geo_renewal._checks import check_file
from geo_renewal._errors import GeoRenewalError, InputError

__all__ = ["parse_toml", "read_toml"]


def parse_toml(
    text: str, *, source: str, what: str, error: type[GeoRenewalError] = InputError
) -> dict[str, Any]:
    """
    Parse TOML text; a syntax error names the source, the line and the fix.

    Parameters
    ----------
    text
        The TOML text.
    source
        Where it comes from, for the message (a path or ``bundled:default``).
    what
        What the file is (``"project file"``, ``"rule file"``).
    error
        The error class to raise.

    Returns
    -------
    doc
        The parsed document.

    Raises
    ------
    InputError
        (or `error`) if the text is not valid TOML.

    Examples
    --------
    >>> parse_toml('a = 1', source="x.toml", what="project file")
    {'a': 1}
    >>> parse_toml('a = b', source="x.toml", what="project file")
    Traceback (most recent call last):
    ...
    geo_renewal._errors.InputError: project file x.toml is not valid TOML: Invalid value (at line 1, column 5); fix that line (text values need quotes, tables are written [name] or [[name]]).
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = (
            f"{what} {source} is not valid TOML: {e}; fix that line "
            "(text values need quotes, tables are written [name] or [[name]])."
        )
        raise error(msg) from e


def read_toml(
    path: str | PathLike[str],
    *,
    what: str,
    error: type[GeoRenewalError] = InputError,
    hint: str = "check the path",
) -> dict[str, Any]:
    """
    Read a UTF-8 TOML file; a missing file, wrong encoding or syntax error is one sentence.

    Parameters
    ----------
    path
        The file.
    what
        What the file is, for the message (``"fund parameter file"``).
    error
        The error class to raise.
    hint
        The fix for a missing file.

    Returns
    -------
    doc
        The parsed document.

    Raises
    ------
    InputError
        (or `error`) if the file is missing, not UTF-8 or not valid TOML.

    Examples
    --------
    >>> read_toml("no/such/plan.toml", what="project file")
    Traceback (most recent call last):
    ...
    geo_renewal._errors.InputError: project file no/such/plan.toml does not exist; check the path.
    """
    p = Path(path)
    check_file(p, f"{what} {p}", error=error, hint=hint)
    data = p.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        msg = (
            f"{what} {p} is not UTF-8 text (line {line} has a byte of another encoding, "
            "e.g. GBK); save it as UTF-8."
        )
        raise error(msg) from e
    return parse_toml(text, source=str(p), what=what, error=error)
