"""
The ``geo-renewal print`` and ``geo-renewal deck`` commands.

``print PLAN_OR_CLASSIFIED`` draws a printed map or an atlas (`geo_renewal.printmap`,
`geo_renewal.atlas`); ``deck PLAN`` writes the meeting's PowerPoint deck
(`geo_renewal.deck`). A project file is computed in memory first (`workflow.compute_plan`:
nothing else is written). See docs/guide/print.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from geo_renewal._cli_options import _friendly_errors

if TYPE_CHECKING:
    pass

__all__ = ["deck_command", "print_command"]


def _data(source: str) -> Any:
    """Return a project file's in-memory run, or the path of a classified layer as it is."""
    if Path(source).suffix.lower() == ".toml":
        return _computed(source)
    return source


def _computed(source: str) -> Any:
    """Return the run `geo-renewal run` kept for the plan if nothing it read changed, else compute."""
    from geo_renewal._runcache import cache_dir, load_run
    from geo_renewal.plan import load_plan
    from geo_renewal.text import say
    from geo_renewal.workflow import compute_plan

    plan = load_plan(source)
    kept = load_run(plan)
    if kept is not None:
        click.echo(say("cli.reused_run", plan.lang, path=cache_dir()), err=True)
        return kept
    return compute_plan(plan)


def _wrote(path: Path, lang: str | None, data: Any) -> None:
    """Say which file was written, in `lang`, else the project file's language."""
    from geo_renewal.text import say

    plan = getattr(data, "plan", None)
    click.echo(say("cli.wrote", lang or getattr(plan, "lang", None), path=path))


@click.command("print")
@click.argument(
    "source", metavar="PLAN_OR_CLASSIFIED", type=click.Path(exists=True, dir_okay=False)
)
@click.option(
    "--map",
    "kind",
    type=click.Choice(["classification", "resettlement", "progress"]),
    default="classification",
    show_default=True,
    help="Which map to print.",
)
@click.option(
    "--paper",
    type=click.Choice(["A0", "A1", "A2", "A3", "A4"], case_sensitive=False),
    default="A3",
    show_default=True,
)
@click.option("--landscape", is_flag=True, help="Long side horizontal.")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="FILE.pdf, FILE.svg or FILE.png."
)
@click.option(
    "--dpi", type=click.IntRange(50, 1200), default=200, show_default=True, help="PNG resolution."
)
@click.option("--scale", default=None, help="Stated scale, e.g. 1:5000 (default: fit the paper).")
@click.option(
    "--lang", type=click.Choice(["zh", "en"]), default=None, help="Language (default: the plan's)."
)
@click.option(
    "--atlas",
    type=click.Choice(["street", "project", "unit"]),
    default=None,
    help="One page per street, project or renewal unit, in one PDF (分幅图).",
)
@click.option("--grid", is_flag=True, help="Draw a coordinate grid with ticks.")
@click.option(
    "--basemap",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A local GeoTIFF under the map.",
)
@_friendly_errors
def print_command(
    source: str,
    kind: str,
    paper: str,
    landscape: bool,
    out: str,
    dpi: int,
    scale: str | None,
    lang: str | None,
    atlas: str | None,
    grid: bool,
    basemap: str | None,
) -> None:
    """
    Print a map with a full map frame (图名, 图例, 比例尺, 指北针, 坐标系 …) as PDF, SVG or PNG.

    PLAN_OR_CLASSIFIED is a project file (run in memory first; every map) or a classified
    layer such as classified.gpkg (the classification map).

    Example:

    \b
        geo-renewal print plan.toml --map progress --paper A0 --out wall.pdf
        geo-renewal print plan.toml --atlas unit --paper A3 --out units.pdf
    """
    data = _data(source)
    if atlas is not None:
        from geo_renewal.atlas import print_atlas

        path = print_atlas(
            data,
            by=atlas,
            map=kind,
            paper=paper,
            landscape=landscape,
            out=out,
            scale=scale,
            lang=lang,
            grid=grid,
        )
    else:
        from geo_renewal.printmap import print_map

        written = print_map(
            data,
            map=kind,
            paper=paper,
            landscape=landscape,
            out=out,
            dpi=dpi,
            scale=scale,
            lang=lang,
            grid=grid,
            basemap=basemap,
        )
        assert isinstance(written, Path)  # a file, since --out is given
        path = written
    _wrote(path, lang, data)


@click.command("deck")
@click.argument("plan", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="FILE.pptx.")
@click.option(
    "--lang", type=click.Choice(["zh", "en"]), default=None, help="Language (default: the plan's)."
)
@_friendly_errors
def deck_command(plan: str, out: str, lang: str | None) -> None:
    """
    Write the meeting's PowerPoint deck (16:9): key figures, maps, late projects, checks, fund.

    Tables are real PowerPoint tables (editable); maps are pictures of the printed maps.

    Example:

        geo-renewal deck plan.toml --out meeting.pptx
    """
    from geo_renewal._errors import InputError
    from geo_renewal.deck import meeting_deck

    if Path(out).suffix.lower() != ".pptx":  # before the run, not after it
        msg = f"`--out` of a deck must end in .pptx, got {out!r}; name it e.g. meeting.pptx."
        raise InputError(msg)
    result = _computed(plan)
    _wrote(meeting_deck(result, out, lang=lang), lang, result)
