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


# ------------------------------------------------------------------------------- stats.py

#: Columns printed in the terminal by `geo-renewal stats` (the file gets all of them).
_STATS_TERMINAL_COLUMNS = (
    "n_parcels",
    "area_ha",
    "area_mu",
    "floor_area_wan_m2",
    "households",
    "population",
    "demolish_households",
    "demolition_share",
    "rebuild_ratio",
    "violations",
)


@cli.command("stats")
@click.argument("classified", type=click.Path(exists=True))
@click.option("--layer", help="Layer of CLASSIFIED to read (GeoPackage, zip …).")
@click.option("--by", help="Column to group by: street, project_id, category …")
@click.option("--zones", "zones_path", type=click.Path(exists=True), help="Zone polygons.")
@click.option("--zones-layer", help="Layer of the zones file.")
@click.option("--zone-col", help="Column of the zones holding the zone key (default: row).")
@click.option(
    "--how",
    type=click.Choice(["apportion", "largest", "centroid"]),
    default="apportion",
    show_default=True,
    help="How parcels crossing zone borders are counted.",
)
@click.option(
    "--planned-floor-area",
    help="Column (of the parcels or the zones) with the planned new floor area, for 拆建比.",
)
@click.option("--lang", type=click.Choice(["zh", "en"]), help="Table language.")
@click.option(
    "--out", type=click.Path(dir_okay=False), help="Write the table: .xlsx, .csv or .md."
)
@click.option("--all-columns", is_flag=True, help="Print every column, not a summary.")
@_friendly_errors
def stats_command(
    classified: str,
    layer: str | None,
    by: str | None,
    zones_path: str | None,
    zones_layer: str | None,
    zone_col: str | None,
    how: str,
    planned_floor_area: str | None,
    lang: str | None,
    out: str | None,
    all_columns: bool,
) -> None:
    """
    Count land, floor area, households and persons per group, with 63号文 checks.

    Groups are the values of a column (--by) or zone polygons (--zones); parcels crossing
    zone borders are split by area (--how apportion) or given to one zone. The table
    (with a total row that equals the input totals) is printed and, with --out, written.

    Example:

    \b
        geo-renewal stats classified.gpkg --by street --out stats.xlsx
        geo-renewal stats classified.gpkg --zones zones.gpkg --zone-col zone_id --lang en
    """
    from geo_renewal import settings
    from geo_renewal.io import read_layer
    from geo_renewal.stats import zone_stats
    from geo_renewal.tables import format_table, write_table

    if (by is None) == (zones_path is None):
        msg = "give exactly one of --by COLUMN and --zones PATH."
        raise click.UsageError(msg)
    lang = lang or settings.lang
    parcels = read_layer(classified, layer=layer, kind="parcels")
    zones = None if zones_path is None else read_layer(zones_path, layer=zones_layer)
    table = zone_stats(
        parcels,
        by=by,
        zones=zones,
        zone_col=zone_col,
        how=how,
        planned_floor_area=planned_floor_area,
        lang=lang,
    )
    columns = None if all_columns else list(_STATS_TERMINAL_COLUMNS)
    click.echo(format_table(table, lang=lang, columns=columns), nl=False)
    if out is not None:
        path = write_table(table, out, lang=lang)
        click.echo(f"wrote {path}", err=True)
