"""
Shared pieces of the ``geo-renewal`` commands: option decorators and error handling.

One vocabulary across commands: ``--layer LAYER`` is the layer of the command's input file,
``--constraint NAME=PATH`` a constraint layer, ``--raster NAME=PATH`` a raster, ``--lang``
the language of meeting outputs, ``--tiles`` a provider of the registry.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import click

from geo_renewal._cellsafe import terminal_text
from geo_renewal._checks import LANGS
from geo_renewal._errors import GeoRenewalError, InputError
from geo_renewal.text import say, say_or
from geo_renewal.tiles import tile_names

#: Exit code of a run stopped with Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


#: A Chinese character: a warning written in Chinese gets a Chinese prefix.
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _debug() -> bool:
    """Tell whether ``geo-renewal --debug`` was given (show tracebacks)."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.find_root().params.get("debug"))


def _friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """
    Run a command: errors as one message, warnings as ``Warning: …`` lines.

    `GeoRenewalError` becomes a `click.ClickException` (message, exit code 1); warnings
    are shown the planner's way (`shown_warnings`).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with shown_warnings():
                return func(*args, **kwargs)
        except GeoRenewalError as e:
            if _debug():
                raise
            raise click.ClickException(terminal_text(str(e))) from e

    return wrapper


@contextlib.contextmanager
def shown_warnings() -> Iterator[None]:
    """
    Collect the warnings of a command and print each once as ``Warning: …`` on stderr.

    The one way every command shows what reading and computing resolved (an encoding
    override, a column mapped by its alias …): never Python's ``file.py:123: UserWarning``
    lines. They are printed when the command ends, also when it ends in an error (before
    the error's message). Warnings that are not `UserWarning` (library deprecations,
    numpy's runtime notes) are for developers: shown only with ``geo-renewal --debug``.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            _print_warnings(caught)


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Print the `UserWarning` texts of `caught` once each, in order; others with --debug."""
    seen: set[str] = set()
    for w in caught:
        text = str(w.message)
        if not issubclass(w.category, UserWarning):
            if _debug():
                click.echo(
                    warnings.formatwarning(text, w.category, w.filename, w.lineno),
                    err=True,
                    nl=False,
                )
            continue
        if text not in seen:
            seen.add(text)
            click.echo(terminal_text(_warning_line(text)), err=True)


def _warning_line(text: str) -> str:
    """
    Return ``提示：…`` for a warning written in Chinese, ``Warning: …`` otherwise.

    A warning is Chinese when it has at least half as many Chinese characters as ASCII
    letters: an English message quoting a few Chinese values (a street name) stays English.
    """
    from geo_renewal.text import say

    cjk, letters = len(_CJK.findall(text)), sum(c.isascii() and c.isalpha() for c in text)
    lang = "zh" if cjk and 2 * cjk >= letters else "en"
    return say("cli.warning", lang, text=text)


class _Interrupted(click.ClickException):
    exit_code = EXIT_INTERRUPTED


def _os_message(e: OSError) -> str:
    """One sentence for an operating-system error: the file, what happened, what to do."""
    from geo_renewal._staging import shown_path

    where = f"{shown_path(e.filename)}: " if e.filename else ""
    if e.errno == errno.ENOSPC:
        return f"{where}the disk is full; free some space or write to another disk (--out)."
    if isinstance(e, PermissionError):
        return (
            f"{where}permission denied; check that you may read or write it and that it is "
            "not open in another program (Excel, WPS), or choose another --out."
        )
    if isinstance(e, FileNotFoundError):
        return f"{where}no such file or folder; check the path."
    return f"{where}{e.strerror or e}; check the file and the folder."


def user_error(e: BaseException) -> click.ClickException:
    """
    Turn any error of a command into one message for the terminal (no traceback).

    Input problems (`GeoRenewalError`) keep their message; permission, full-disk and other
    operating-system errors name the file and the fix; a missing optional package names what
    to install; Ctrl-C says nothing was replaced (exit code 130). Anything else is reported
    as an unexpected error with a pointer to ``--debug``.
    """
    if isinstance(e, KeyboardInterrupt):
        msg = "interrupted (Ctrl-C); files being written were not replaced, earlier outputs are unchanged."
        return _Interrupted(msg)
    if isinstance(e, GeoRenewalError):
        msg = str(e)
    elif isinstance(e, OSError):
        msg = _os_message(e)
    elif isinstance(e, ImportError):
        msg = (
            str(e)
            if "pip install" in str(e)
            else (
                f"a package is missing ({e.name or e}): pip install {e.name or 'geo-renewal[all]'}."
            )
        )
    elif isinstance(e, MemoryError):
        msg = (
            "not enough memory for this input; run with --workers N (dask) or on a larger machine."
        )
    else:
        msg = (
            f"unexpected error ({type(e).__name__}: {e}); this is a bug or an input the "
            "toolkit does not understand: run again with `geo-renewal --debug …` and report "
            "the traceback."
        )
    return click.ClickException(terminal_text(msg))


class ErrorHandlingGroup(click.Group):
    """The top-level command group: every error becomes one message unless ``--debug``."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands, in a Chinese session by their zh summaries (`text.py`)."""
        lang = help_lang()
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            limit = formatter.width - 6 - max(len(n) for n in self.list_commands(ctx))
            rows.append((name, _summary(name, lang) or cmd.get_short_help_str(limit)))
        if rows:
            with formatter.section(say("cli.help.commands", lang)):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn errors other than click's own into `user_error` messages."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (Exception, KeyboardInterrupt) as e:
            if ctx.params.get("debug") and not isinstance(e, KeyboardInterrupt):
                raise
            raise user_error(e) from e


def help_lang() -> str:
    """
    Return the language of ``--help``: ``GEO_RENEWAL_LANG`` if set, else ``settings.lang``.

    Examples
    --------
    >>> help_lang() in ("zh", "en")
    True
    """
    from geo_renewal import settings

    lang = os.environ.get("GEO_RENEWAL_LANG", "").strip().lower() or settings.lang
    return lang if lang in ("zh", "en") else "zh"


def _summary(name: str, lang: str) -> str | None:
    """Return the Chinese summary of a command in a Chinese session (click's own in English)."""
    return None if lang == "en" else say_or(f"cli.help.{name.replace('-', '_')}", "zh", None)


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


class _TilesChoice(click.Choice):  # type: ignore[type-arg]
    """The providers of the registry, or an XYZ / WMTS URL template (checked by `tiles`)."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        from geo_renewal.tiles import check_tiles

        if isinstance(value, str) and value not in self.choices and "{" in value:
            try:
                return check_tiles(value, name="--tiles")
            except InputError as e:
                self.fail(str(e), param, ctx)
        return super().convert(value, param, ctx)


_BOTH_TILES = "give either --tiles or --tile-package, not both."


def _tile_package(ctx: click.Context, param: Any, value: Any) -> Any:
    """``--tile-package FILE``: the base map is that local package (inlined, no request)."""
    if value is not None:
        if ctx.params.get("tiles"):
            raise click.UsageError(_BOTH_TILES)
        ctx.meta["tile_package"] = str(value)
        ctx.params["tiles"] = str(value)
    return value


def _tiles_value(ctx: click.Context, param: Any, value: Any) -> Any:
    package = ctx.meta.get("tile_package")
    if value is not None and package is not None:
        raise click.UsageError(_BOTH_TILES)
    return package if value is None else value


def _tiles_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--tiles`` (the registry's providers or a URL template) and ``--tile-package``."""
    func = click.option(
        "--tile-package",
        type=click.Path(exists=True, dir_okay=False),
        expose_value=False,
        callback=_tile_package,
        help="Local MBTiles/PMTiles base map, embedded in the page (opens without network).",
    )(func)
    return click.option(
        "--tiles",
        type=_TilesChoice(tile_names()),
        callback=_tiles_value,
        help="Online base map (default: none, the map opens without network), or an XYZ/WMTS "
        "URL template ('https://…/{z}/{x}/{y}.png', '#gcj02' at the end for GCJ-02 tiles). "
        "Tianditu reads TIANDITU_KEY.",
    )(func)


def _offline_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--offline``: accepted for old scripts; every map is written self-contained."""
    return click.option(
        "--offline",
        is_flag=True,
        help="Kept for old scripts: every map embeds its scripts and opens without network.",
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
