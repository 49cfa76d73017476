"""
The ``geo-renewal`` command: a thin layer over the library.

Every command calls library functions, catches `GeoRenewalError` and turns it into a
one-line error (exit code 1). Library imports happen inside the commands so that
``geo-renewal --help`` is fast and works without optional extras.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import click

from geo_renewal import __version__
from geo_renewal._errors import GeoRenewalError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn `GeoRenewalError` into a `click.ClickException` (message, exit code 1)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GeoRenewalError as e:
            raise click.ClickException(str(e)) from e

    return wrapper


def _name_path_pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    """Parse repeated ``NAME=PATH`` options into a dict, refusing malformed ones."""
    pairs: dict[str, str] = {}
    for v in values:
        name, sep, path = v.partition("=")
        if not sep or not name or not path:
            msg = f"{option} expects NAME=PATH, got {v!r}; e.g. {option} heritage=heritage.gpkg"
            raise click.BadParameter(msg)
        pairs[name] = path
    return pairs


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="geo-renewal")
@click.option("-v", "--verbose", count=True, help="Log progress (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Urban-renewal planning: classify parcels, count households, map progress."""
    if verbose:
        logging.basicConfig(
            level=logging.DEBUG if verbose > 1 else logging.INFO,
            format="%(levelname)s %(name)s: %(message)s",
        )


# Commands are added below, one section per library module.
