"""
``geo-renewal compare``: the scenarios of a project file side by side (方案比选).

The command parses its options, calls `geo_renewal.scenarios.compare_scenarios` and
`geo_renewal.scenarios.write_comparison`, and prints the table and the files. See
docs/guide/scenarios.md.
"""

from __future__ import annotations

import dataclasses

import click

from geo_renewal._cellsafe import terminal_text
from geo_renewal._cli_options import _friendly_errors

__all__ = ["compare_command"]


@click.command("compare")
@click.argument("plan", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--scenarios",
    "names",
    default=None,
    metavar="A,B",
    help="Scenarios to compare with the base, comma-separated (default: all of the file's).",
)
@click.option(
    "--swipe",
    default=None,
    metavar="LEFT,RIGHT",
    help="The two scenarios of the swipe map (default: base and the first other one).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="comparison",
    show_default=True,
    help="Output folder: comparison.xlsx, report.html, change_<name>.html, swipe.html.",
)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default=None,
    help="Language of maps, tables and report (default: the project file's).",
)
@click.option("--silent", is_flag=True, help="Hide the progress bar.")
@_friendly_errors
def compare_command(
    plan: str, names: str | None, swipe: str | None, out: str, lang: str | None, silent: bool
) -> None:
    """
    Compare the [scenarios.NAME] of a project file with its own values (方案比选).

    Each scenario overrides keys of the file (rule set, cash share, fund parameters …).
    Shared work runs once: a scenario changing only the cash share reuses reading,
    classification and statistics. Writes the indicator table (comparison.xlsx), the
    report with the comparison section, a change map per scenario and a swipe map, all
    or nothing.

    Example:

    \b
        geo-renewal compare plan.toml --out comparison/
        geo-renewal compare plan.toml --scenarios cash50 --swipe base,cash50
    """
    from geo_renewal.plan import load_plan
    from geo_renewal.scenarios import compare_scenarios, write_comparison
    from geo_renewal.tables import format_table
    from geo_renewal.text import say

    loaded = load_plan(plan)
    if lang is not None:
        scenarios = {n: dataclasses.replace(p, lang=lang) for n, p in loaded.scenarios.items()}
        loaded = dataclasses.replace(loaded, lang=lang, scenarios=scenarios)
    comparison = compare_scenarios(loaded, names=names, verbose=not silent)
    files = write_comparison(comparison, out, swipe=swipe.split(",") if swipe else None)
    lang = loaded.lang
    click.echo(terminal_text(format_table(comparison.table_text(), lang=lang, index=False)))
    for text in comparison.caveats:
        click.echo(terminal_text(f"! {text}"))
    for key, path in files.items():
        kind = key.split(":", 1)[0]
        name = say(
            f"compare.file.{kind}" if kind != "manifest" else "workflow.file.manifest", lang
        )
        click.echo(terminal_text(f"  {name}: {path}"))
