"""
The ``geo-renewal ledger …`` commands: the weekly ledger store and its meeting.

``ledger import`` adds a week's ledgers (with tasks, households and meeting decisions) to
the store, ``ledger snapshots``, ``ledger history`` and ``ledger diff`` read it back,
``ledger meeting`` writes the 督办 / 考核 / households workbook and page, ``ledger playback``
the progress map with a time slider. Each command is one library call and prints what it
returns (docs/guide/weekly.md).
"""

from __future__ import annotations

import click

from geo_renewal._cellsafe import terminal_text
from geo_renewal._cli_options import _friendly_errors, _lang_option

_STORE = click.option(
    "--store",
    "store_path",
    default="renewal.gpkg",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The ledger store (a GeoPackage QGIS opens).",
)


def _open(store_path: str, *, must_exist: bool = True):  # type: ignore[no-untyped-def]
    from pathlib import Path

    from geo_renewal._errors import InputError
    from geo_renewal.store import LedgerStore

    if must_exist and not Path(store_path).exists():
        msg = (
            f"the store {store_path} does not exist; import a week first with "
            f"`geo-renewal ledger import FILE… --as-of DATE --store {store_path}`."
        )
        raise InputError(msg)
    return LedgerStore(store_path)


def _print(df, lang: str | None = None) -> None:  # type: ignore[no-untyped-def]
    from geo_renewal.tables import format_table

    click.echo(terminal_text(format_table(df, lang=lang, index=False)))


@click.group("ledger")
def ledger_group() -> None:
    """Keep the weekly ledger store: import snapshots, history, diffs, the weekly meeting."""


@ledger_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--as-of", required=True, help="Day of the snapshot (the meeting), e.g. 2026-11-20.")
@_STORE
@click.option(
    "--projects", "projects_path", type=click.Path(exists=True), help="Project polygons."
)
@click.option("--projects-layer", help="Layer of the projects file (default: projects).")
@click.option(
    "--tasks", type=click.Path(exists=True, dir_okay=False), help="Task table (任务分解)."
)
@click.option(
    "--households",
    type=click.Path(exists=True, dir_okay=False),
    help="Household table (一户一档).",
)
@click.option(
    "--decisions",
    type=click.Path(exists=True, dir_okay=False),
    help="Meeting decisions (例会商定事项).",
)
@click.option("--sheet", help="Sheet of the ledger workbooks.")
@click.option("--skip-known", is_flag=True, help="Skip files imported before instead of refusing.")
@_friendly_errors
def import_command(
    files: tuple[str, ...],
    as_of: str,
    store_path: str,
    projects_path: str | None,
    projects_layer: str | None,
    tasks: str | None,
    households: str | None,
    decisions: str | None,
    sheet: str | None,
    skip_known: bool,
) -> None:
    """
    Add the ledgers of one week (one file per street) to the store as one dated snapshot.

    The snapshot is written in one transaction (an interrupted import changes nothing);
    a file imported before (same content) is refused, or skipped with --skip-known.

    Example:

    \b
        geo-renewal ledger import 河畔街道台账.xlsx 文庙街道台账.xlsx --as-of 2026-11-20 \\
            --store renewal.gpkg --projects district.gpkg --tasks 任务分解.xlsx \\
            --households 一户一档.xlsx --decisions 例会商定事项.xlsx
    """
    store = _open(store_path, must_exist=False)
    layer = projects_layer or ("projects" if projects_path else None)
    result = store.import_snapshot(
        list(files),
        as_of=as_of,
        projects=projects_path,
        projects_layer=layer,
        tasks=tasks,
        households=households,
        decisions=decisions,
        on_duplicate="skip" if skip_known else "refuse",
        sheet=sheet,
    )
    click.echo(terminal_text(result.message))
    if result.imported:
        rest = f"`geo-renewal ledger findings --as-of {result.as_of} --store {store_path}`"
        _name_findings(result.findings, rest)


@ledger_group.command("import-weeks")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@_STORE
@click.option(
    "--projects", "projects_path", type=click.Path(exists=True), help="Project polygons."
)
@click.option("--projects-layer", help="Layer of the projects file (default: projects).")
@_friendly_errors
def import_weeks_command(
    folder: str, store_path: str, projects_path: str | None, projects_layer: str | None
) -> None:
    """
    Import every week of a folder of weekly folders that the store does not have yet.

    Each subfolder is named by its meeting day (2026-11-20/) and holds the streets' ledgers
    with the task table (任务…), the household table (一户一档…) and the meeting decisions
    (例会…), each file's role read from its name; weeks are imported oldest first.

    Example:

    \b
        geo-renewal ledger import-weeks data/weekly --store renewal.gpkg \\
            --projects data/sample_district.gpkg
    """
    from geo_renewal._weekly_run import import_weeks

    layer = projects_layer or ("projects" if projects_path else None)
    results = import_weeks(
        _open(store_path, must_exist=False), folder, projects=projects_path, projects_layer=layer
    )
    if not results:
        click.echo(f"nothing to import: the store {store_path} has every week of {folder}.")
    for r in results:
        click.echo(terminal_text(r.message))
        if r.imported:
            rest = f"`geo-renewal ledger findings --as-of {r.as_of} --store {store_path}`"
            _name_findings(r.findings, rest)


#: How many findings a command names before it says where the rest are.
_SHOWN = 5


def _name_findings(findings, rest: str) -> None:  # type: ignore[no-untyped-def]
    """Name the first findings (errors first) with their reason, and where the others are."""
    from geo_renewal._findings import SEVERITIES

    if findings is None or not len(findings):
        return
    order = (
        findings["severity"].map({s: i for i, s in enumerate(SEVERITIES)}).fillna(len(SEVERITIES))
    )
    first = findings.assign(_o=order).sort_values("_o", kind="stable").head(_SHOWN)
    for r in first.itertuples(index=False):
        click.echo(terminal_text(f"! {r.severity} {r.problem}: {r.message}"), err=True)
    if len(findings) > _SHOWN:
        click.echo(terminal_text(f"! … {len(findings) - _SHOWN} more: see {rest}."), err=True)


@ledger_group.command("snapshots")
@_STORE
@_friendly_errors
def snapshots_command(store_path: str) -> None:
    """
    List the store's snapshots: day, projects, files imported.

    Example:

    \b
        geo-renewal ledger snapshots --store renewal.gpkg
    """
    _print(_open(store_path).snapshots())


@ledger_group.command("findings")
@_STORE
@click.option("--as-of", help="Snapshot day (default: the latest).")
@_lang_option("the headers")
@_friendly_errors
def findings_command(store_path: str, as_of: str | None, lang: str | None) -> None:
    """
    List every finding of a snapshot: its ledgers, tasks, households and decisions.

    Example:

    \b
        geo-renewal ledger findings --as-of 2026-11-20 --store renewal.gpkg
    """
    from geo_renewal.tables import findings_table

    f = _open(store_path).findings(as_of)
    if not len(f):
        click.echo("no findings.")
        return
    table = findings_table(f.rename(columns={"kind": "layer"}), lang=lang)
    keep = ["finding_layer", "finding_severity", "finding_problem", "finding_row", "finding_id"]
    _print(table[[*keep, "finding_message"]], lang)


@ledger_group.command("history")
@click.argument("project")
@_STORE
@_lang_option("the stage labels")
@_friendly_errors
def history_command(project: str, store_path: str, lang: str | None) -> None:
    """
    Show one project week by week: stage, delay, signing, who is responsible.

    Example:

    \b
        geo-renewal ledger history GX09 --store renewal.gpkg
    """
    h = _open(store_path).history(project, lang=lang)
    _print(h.drop(columns=["stage"]), lang)


@ledger_group.command("diff")
@click.option("--from", "from_date", required=True, help="The earlier snapshot day.")
@click.option("--to", "to_date", help="The later snapshot day (default: the latest).")
@_STORE
@click.option("--all", "show_all", is_flag=True, help="Every project, not only those that moved.")
@_lang_option("the change texts")
@_friendly_errors
def diff_command(
    from_date: str, to_date: str | None, store_path: str, show_all: bool, lang: str | None
) -> None:
    """
    Tell what moved between two snapshots: stage changes, newly overdue, signing.

    Example:

    \b
        geo-renewal ledger diff --from 2026-11-13 --to 2026-11-20 --store renewal.gpkg
    """
    d = _open(store_path).diff(from_date, to_date, only_changed=not show_all, lang=lang)
    _print(d[["project_id", "name", "street", "change"]], lang)


@ledger_group.command("meeting")
@_STORE
@click.option("--as-of", help="Snapshot day (default: the latest).")
@click.option(
    "--due-within", default=7, show_default=True, type=click.IntRange(0), help="Days: blue."
)
@click.option(
    "--behind-points",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0, 100),
    help="Points behind the 序时进度: yellow.",
)
@click.option("--assessment", type=click.Path(exists=True, dir_okay=False), help="考核 TOML file.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@_lang_option("the outputs")
@_friendly_errors
def meeting_command(
    store_path: str,
    as_of: str | None,
    due_within: int,
    behind_points: float,
    assessment: str | None,
    out: str,
    lang: str | None,
) -> None:
    """
    Write the weekly meeting: 督办单 per unit, decisions, 考核, signing forecasts, 清零 lists.

    Example:

    \b
        geo-renewal ledger meeting --store renewal.gpkg --out 周例会/
    """
    from geo_renewal.weekly import weekly_meeting, write_weekly_meeting

    m = weekly_meeting(
        _open(store_path),
        as_of,
        due_within_days=due_within,
        behind_points=behind_points,
        assessment_params=assessment,
        lang=lang,
    )
    files = write_weekly_meeting(m, out, lang=lang)
    n = m.supervised["colour"].value_counts().to_dict() if len(m.supervised) else {}
    click.echo(
        f"{m.as_of}: red {n.get('red', 0)}, yellow {n.get('yellow', 0)}, blue {n.get('blue', 0)}; "
        f"{len(m.decisions_open)} open decisions; {len(m.findings)} household findings."
    )
    for text in m.caveats:
        click.echo(terminal_text(f"! {text}"), err=True)
    from geo_renewal.text import say

    sheet = say("weekly.sheet.reconcile", lang)
    _name_findings(m.findings, f"sheet {sheet} of {files['workbook']} and {files['page']}")
    click.echo(f"wrote {files['workbook']} and {files['page']}", err=True)


@ledger_group.command("playback")
@_STORE
@click.option("--buildings", type=click.Path(exists=True), help="Buildings, coloured by signing.")
@click.option("--buildings-layer", help="Layer of the buildings file (default: buildings).")
@click.option("--title", help="Page title.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="HTML file to write.")
@_lang_option("the labels")
@_friendly_errors
def playback_command(
    store_path: str,
    buildings: str | None,
    buildings_layer: str | None,
    title: str | None,
    out: str,
    lang: str | None,
) -> None:
    """
    Write the progress map with a time slider over every snapshot (offline, one file).

    Example:

    \b
        geo-renewal ledger playback --store renewal.gpkg --buildings district.gpkg \\
            --out playback.html
    """
    from geo_renewal._mapplayback import playback_map

    b = None
    if buildings is not None:
        from geo_renewal.io import read_layer

        b = read_layer(buildings, layer=buildings_layer or "buildings")
    path = playback_map(_open(store_path), out, buildings=b, title=title, lang=lang)
    click.echo(f"wrote {path}", err=True)
