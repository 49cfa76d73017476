"""
Argument checks shared by every module: language, choices with a suggestion, ranges.

Each check raises `InputError` with one sentence: the argument, what was expected, what was
received and, for a misspelt choice, the closest valid one.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from geo_renewal import settings
from geo_renewal._errors import GeoRenewalError, InputError

__all__ = [
    "LANGS",
    "check_choice",
    "check_lang",
    "check_range",
    "check_threads",
    "did_you_mean",
]

#: Languages of meeting outputs.
LANGS = ("zh", "en")


def did_you_mean(word: Any, options: Iterable[Any]) -> str:
    """
    Return ``"did you mean `x`? "`` for the closest option, or an empty string.

    Parameters
    ----------
    word
        What was given.
    options
        The valid values.

    Returns
    -------
    hint
        A hint ending in a space, or ``""`` when nothing is close.

    Examples
    --------
    >>> did_you_mean("googel", ["osm", "google", "none"])
    'did you mean `google`? '
    >>> did_you_mean("zzz", ["osm"])
    ''
    """
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    return f"did you mean `{close[0]}`? " if close else ""


def check_choice(value: Any, options: Iterable[Any], *, name: str) -> Any:
    """
    Return `value` if it is one of `options`, else raise with the closest valid one.

    Parameters
    ----------
    value
        What was given.
    options
        The valid values (in the order the message lists them).
    name
        The argument or key, for the message (```how```, ``[map] tiles``).

    Returns
    -------
    value
        `value`, unchanged.

    Raises
    ------
    InputError
        If `value` is not among `options`.

    Examples
    --------
    >>> check_choice("largest", ["apportion", "largest", "centroid"], name="how")
    'largest'
    >>> check_choice("centriod", ["apportion", "largest", "centroid"], name="how")
    Traceback (most recent call last):
    ...
    geo_renewal._errors.InputError: `how` must be one of 'apportion', 'largest', 'centroid'; got 'centriod'; did you mean `centroid`?
    """
    opts = list(options)
    if value in opts:
        return value
    if len(opts) == 2:
        valid = f"{opts[0]!r} or {opts[1]!r}"
    else:
        valid = "one of " + ", ".join(repr(o) for o in opts)
    hint = did_you_mean(value, opts).rstrip()
    msg = f"`{name}` must be {valid}; got {value!r}" + (f"; {hint}" if hint else ".")
    raise InputError(msg)


def check_lang(lang: str | None, *, name: str = "lang") -> str:
    """
    Return the language of a meeting output: `lang`, or `settings.lang` when None.

    Parameters
    ----------
    lang
        ``"zh"``, ``"en"`` or None.
    name
        The argument, for the message.

    Returns
    -------
    lang
        ``"zh"`` or ``"en"``.

    Raises
    ------
    InputError
        For any other value.

    Examples
    --------
    >>> check_lang("en")
    'en'
    >>> check_lang(None) in ("zh", "en")
    True
    """
    return str(check_choice(settings.lang if lang is None else lang, LANGS, name=name))


def check_range(
    value: Any,
    *,
    name: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    unit: str = "",
) -> float:
    """
    Return `value` as a float if it is a finite number within ``[low, high]``.

    Parameters
    ----------
    value
        What was given.
    name
        The argument, for the message.
    low, high
        Bounds (inclusive; None for no bound).
    low_open
        If True, `low` itself is refused (``> low``).
    unit
        Unit for the message (``"m"``).

    Returns
    -------
    number
        `value` as a float.

    Raises
    ------
    InputError
        If `value` is not a number, not finite or out of range.

    Examples
    --------
    >>> check_range(0.3, name="cash_share", low=0, high=1)
    0.3
    >>> check_range(-5, name="dist", low=0, unit="m")
    Traceback (most recent call last):
    ...
    geo_renewal._errors.InputError: `dist` must be a number ≥ 0 m; got -5.
    """
    bounds = []
    if low is not None:
        bounds.append(f"{'>' if low_open else '≥'} {low:g}")
    if high is not None:
        bounds.append(f"≤ {high:g}")
    want = (
        "a number" + (" " + " and ".join(bounds) if bounds else "") + (f" {unit}" if unit else "")
    )
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        msg = f"`{name}` must be {want}; got {value!r}."
        raise InputError(msg)
    below = low is not None and (number <= low if low_open else number < low)
    if below or (high is not None and number > high):
        msg = f"`{name}` must be {want}; got {value!r}."
        raise InputError(msg)
    return number


def check_threads(n_jobs: int | None) -> int:
    """
    Return the number of threads for GEOS work: `n_jobs`, else `settings.n_jobs`, else cores.

    One setting for the whole toolkit: every `n_jobs=None` reads `settings.n_jobs`; when that
    is None too, the machine's cores are used, at most 4.

    Parameters
    ----------
    n_jobs
        A positive number of threads, or None.

    Returns
    -------
    threads
        A positive number.

    Raises
    ------
    InputError
        If `n_jobs` (or `settings.n_jobs`) is not a positive whole number or None.

    Examples
    --------
    >>> check_threads(2), 1 <= check_threads(None) <= 4
    (2, True)
    """
    name = "n_jobs"
    if n_jobs is None:
        n_jobs, name = settings.n_jobs, "settings.n_jobs"
    if n_jobs is None:
        return max(1, min(4, os.cpu_count() or 1))
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        msg = f"`{name}` must be a positive number of threads or None, got {n_jobs!r}."
        raise InputError(msg)
    return n_jobs


def check_file(
    path: Path,
    name: str,
    *,
    error: type[GeoRenewalError] = InputError,
    hint: str = "check the path",
) -> None:
    """
    Refuse a missing file, a folder or an empty file in one sentence naming it and the fix.

    The one check before any file is opened (layers, tables, ledgers, TOML files), so that an
    empty export never reaches a parser as "no columns to parse". `name` is how the message
    names the file (its role and path); `error` and `hint` fit the caller's kind of file.

    Examples
    --------
    >>> check_file(Path("no/such.csv"), "ledger `no/such.csv`")
    Traceback (most recent call last):
    ...
    geo_renewal._errors.InputError: ledger `no/such.csv` does not exist; check the path.
    """
    if path.is_dir():
        msg = f"{name} is a folder, not a {path.suffix or 'data'} file; pass the file itself."
        raise error(msg)
    if not path.is_file():
        msg = f"{name} does not exist; {hint}."
        raise error(msg)
    if path.stat().st_size == 0:
        msg = (
            f"{name} is empty (0 bytes): the copy, save or export did not finish; "
            "ask for the file again."
        )
        raise error(msg)
