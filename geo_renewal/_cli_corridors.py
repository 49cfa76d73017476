"""
``geo-renewal corridors``: only the view-corridor part of a project file (视廊与限高).

Reads the buildings (and the river) of the project file, runs `geo_renewal.views.run_corridors`
into an all-or-nothing output folder and prints the figures and the files, so a planner can
try corridor parameters without running the whole plan. See docs/guide/corridors.md.
"""

from __future__ import annotations

import dataclasses
import types
from pathlib import Path
from typing import Any

import click

from geo_renewal._cellsafe import terminal_text
from geo_renewal._cli_options import _friendly_errors

__all__ = ["corridors_command"]


@click.command("corridors")
@click.argument("plan", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="corridors",
    show_default=True,
    help="Output folder: corridors.gpkg, permitted_height.tif, skyline.png, view3d.html.",
)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default=None,
    help="Language of the chart and the 3D view (default: the project file's).",
)
@_friendly_errors
def corridors_command(plan: str, out: str, lang: str | None) -> None:
    """
    Check the view corridors and river height zones of a project file's [corridors].

    Reads [layers.buildings] (and [constraints.river] for river_zones), gives every
    building in a corridor or zone its permitted height and excess, and writes the layers,
    the permitted-height raster, the skyline chart (current and planned) and the offline
    3D view, all or nothing.

    Example:

    \b
        geo-renewal corridors plan.toml --out corridors/
    """
    from geo_renewal._errors import InputError
    from geo_renewal._staging import Staging
    from geo_renewal.io import read_layer
    from geo_renewal.plan import LayerSpec, load_plan
    from geo_renewal.text import say
    from geo_renewal.validate import validate_layer
    from geo_renewal.views import run_corridors

    loaded = load_plan(plan)
    if lang is not None:
        loaded = dataclasses.replace(loaded, lang=lang)
    if loaded.corridors is None:
        msg = f"{plan}: has no [corridors] section; add one (docs/guide/corridors.md)."
        raise InputError(msg)

    def read(s: LayerSpec, kind: str | None) -> Any:
        layer = read_layer(
            s.path, layer=s.layer, kind=s.kind, crs=s.crs, encoding=s.encoding, columns=s.columns
        )
        return validate_layer(layer, kind=kind).layer if kind else layer  # as a run does

    layers = {k: read(v, k) for k, v in loaded.layers.items() if k == "buildings"}
    river = {k: read(v, None) for k, v in loaded.constraints.items() if k == "river"}
    result = types.SimpleNamespace(plan=loaded, layers=layers, constraints=river, files={})
    with Staging(out) as stage:
        run_corridors(result, stage.path)
        stage.commit({"tool": "geo-renewal corridors", "project": loaded.name})
    s = result.corridors.summary()
    click.echo(terminal_text(say("corridors.summary", loaded.lang, **s)))
    if result.corridors.caveat(loaded.lang):
        click.echo(terminal_text(f"! {result.corridors.caveat(loaded.lang)}"))
    for key, path in result.files.items():
        click.echo(
            terminal_text(f"  {say(f'workflow.file.{key}', loaded.lang)}: {Path(out) / path.name}")
        )
