"""
Shared pieces of the ``geo-renewal`` commands: option decorators and error handling.

One vocabulary across commands: ``--layer LAYER`` is the layer of the command's input file,
``--constraint NAME=PATH`` a constraint layer, ``--raster NAME=PATH`` a raster, ``--lang``
the language of meeting outputs, ``--tiles`` a provider of the registry.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from geo_renewal._checks import LANGS
from geo_renewal._errors import GeoRenewalError
from geo_renewal.tiles import tile_names


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


def _layer_option(what: str, *, old: str | None = None) -> Callable[..., Any]:
    """
    Add ``--layer LAYER``: the layer of the command's input file `what` (one vocabulary).

    Constraint layers are ``--constraint NAME=PATH`` in every command. The spelling of
    earlier versions, ``--layer NAME=PATH``, is still taken as a constraint with a note;
    `old` is a hidden earlier name of the option (``--parcels-layer``).
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, layer: tuple[str, ...] = (), **kwargs: Any) -> Any:
            old_value = kwargs.pop("old_layer", None)
            kwargs["layer"] = _split_layer((*layer, *([old_value] if old_value else [])), kwargs)
            return func(*args, **kwargs)

        option = click.option(
            "--layer",
            "layer",
            multiple=True,
            metavar="LAYER",
            help=f"Layer of {what} to read (GeoPackage, zip …); default: the only or first one.",
        )
        wrapped = option(wrapper)
        if old is not None:
            wrapped = click.option(old, "old_layer", hidden=True)(wrapped)
        return wrapped

    return decorate


def _split_layer(values: tuple[str, ...], kwargs: dict[str, Any]) -> str | None:
    """Return the input layer of ``--layer``; ``NAME=PATH`` values go to ``--constraint``."""
    pairs = tuple(v for v in values if "=" in v)
    names = [v for v in values if "=" not in v]
    if pairs:
        if "constraint_pairs" not in kwargs:
            msg = "takes the name of a layer of the input file, not NAME=PATH"
            raise click.BadParameter(msg, param_hint="--layer")
        click.echo("note: constraint layers are now --constraint NAME=PATH", err=True)
        kwargs["constraint_pairs"] = (*kwargs["constraint_pairs"], *pairs)
    if len(names) > 1:
        msg = f"give the input file's layer once, got {names}"
        raise click.BadParameter(msg, param_hint="--layer")
    return names[0] if names else None


def _constraint_options(purpose: str, *, rasters: bool = True) -> Callable[..., Any]:
    """Add ``--constraint NAME=PATH`` (and ``--raster NAME=PATH``), repeatable, in every command."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        if rasters:
            func = click.option(
                "--raster",
                "raster_pairs",
                multiple=True,
                metavar="NAME=PATH",
                help=f"GeoTIFF {purpose}, e.g. flood_depth=flood.tif. Repeatable.",
            )(func)
        return click.option(
            "--constraint",
            "constraint_pairs",
            multiple=True,
            metavar="NAME=PATH",
            help=f"Constraint layer {purpose} (heritage_core, eco_belt …); PATH may be "
            "file.gpkg::layer, and a GeoPackage holding a layer called NAME uses it. "
            "Repeatable.",
        )(func)

    return decorate


def _lang_option(what: str) -> Callable[..., Any]:
    """Add ``--lang zh|en`` (default: `settings.lang`)."""
    return click.option("--lang", type=click.Choice(LANGS), help=f"Language of {what}.")


def _tiles_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--tiles`` with the providers of the registry (`geo_renewal.tiles`)."""
    return click.option(
        "--tiles",
        type=click.Choice(tile_names()),
        help="Base map (default: auto; 'none' with --offline). Tianditu reads TIANDITU_KEY.",
    )(func)


def _dask_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """
    Add ``--workers N`` and ``--scheduler ADDRESS`` (province-scale runs on dask).

    The command receives ``workers`` and ``scheduler``; it runs its body inside
    ``geo_renewal.partitioned.dask_client(workers=workers, scheduler=scheduler)`` and reads its
    parcels with ``partitions=_partitions_for(path, workers, scheduler)``.
    """
    func = click.option(
        "--scheduler",
        metavar="ADDRESS",
        help="Run on a running dask scheduler (tcp://host:8786); parcels are read in "
        "partitions. See README 'Province-scale runs'.",
    )(func)
    return click.option(
        "--workers",
        type=click.IntRange(min=1),
        metavar="N",
        help="Run on a local dask cluster of N worker processes; parcels are read in "
        "partitions. For millions of parcels; see README 'Province-scale runs'.",
    )(func)


def _partitions_for(path: str, workers: int | None, scheduler: str | None) -> str | None:
    """``"auto"`` for a file read with --workers/--scheduler; None for a GeoParquet folder."""
    from pathlib import Path

    from geo_renewal.geoparquet import _is_dataset

    if (workers is None and scheduler is None) or _is_dataset(Path(path)):
        return None
    return "auto"


def _units_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--units PATH`` and ``--units-layer``: renewal units for the 63号文 checks."""
    func = click.option("--units-layer", help="Layer of the units file.")(func)
    return click.option(
        "--units",
        "units_path",
        type=click.Path(exists=True, dir_okay=False),
        help="Renewal units (更新单元 / 项目范围 polygons with a name, optional "
        "planned_floor_area in m² or far): the 63号文 checks are made on everything inside "
        "each unit and printed.",
    )(func)


#: Columns of the 63号文 checks printed in the terminal.
UNIT_TERMINAL_COLUMNS = (
    "name",
    "verdict",
    "demolition_share",
    "exempt_floor_area_m2",
    "rebuild_ratio",
    "nearby_rate",
    "violations",
)


def _unit_checks_text(
    parcels: Any, path: str, layer: str | None, *, buildings: Any = None, lang: str | None
) -> tuple[str, Any]:
    """Read and check the units at `path`, check 63号文 on `parcels`; (terminal text, table)."""
    from geo_renewal.io import read_layer
    from geo_renewal.tables import format_table
    from geo_renewal.units import check_units, unit_checks

    units = check_units(read_layer(path, layer=layer, kind="units"), source=path)
    table = unit_checks(parcels, units, buildings=buildings, lang=lang)
    return format_table(table, lang=lang, columns=list(UNIT_TERMINAL_COLUMNS)), table
