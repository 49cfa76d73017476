"""
The ``geo-renewal`` command: a thin layer over the library.

Every command calls library functions, catches `GeoRenewalError` and turns it into a
one-line error (exit code 1). Library imports happen inside the commands so that
``geo-renewal --help`` is fast and works without optional extras.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from geo_renewal import __version__
from geo_renewal._cellsafe import terminal_text
from geo_renewal._cli_options import (
    ErrorHandlingGroup,
    _constraint_options,
    _dask_options,
    _friendly_errors,
    _lang_option,
    _layer_option,
    _name_path_pairs,
    _offline_option,
    _partitions_for,
    _tiles_option,
    _unit_checks_text,
    _units_option,
)

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=ErrorHandlingGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="geo-renewal")
@click.option("-v", "--verbose", count=True, help="Log progress (-v info, -vv debug).")
@click.option(
    "--debug",
    is_flag=True,
    envvar="GEO_RENEWAL_DEBUG",
    help="Show the Python traceback of an error (for a bug report).",
)
def cli(verbose: int, debug: bool) -> None:
    """
    Urban-renewal planning: classify parcels, count households, map progress.

    An error is one message naming the file and the fix (exit code 1; 2 for a wrong
    option, 130 after Ctrl-C); `geo-renewal --debug COMMAND …` shows the traceback.
    """
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
@_layer_option("CLASSIFIED")
@click.option("--by", help="Column to group by: street, project_id, category …")
@click.option("--zones", "zones_path", type=click.Path(exists=True), help="Zone polygons.")
@click.option("--zones-layer", help="Layer of the zones file.")
@click.option("--zone-col", help="Column of the zones holding the zone key (default: row).")
@click.option(
    "--how",
    type=click.Choice(["apportion", "largest", "centroid"]),  # == stats.HOW (tested)
    default="apportion",
    show_default=True,
    help="How parcels crossing zone borders are counted.",
)
@click.option(
    "--planned-floor-area",
    help="Column (of the parcels or the zones) with the planned new floor area, for 拆建比.",
)
@_lang_option("the table")
@click.option(
    "--out", type=click.Path(dir_okay=False), help="Write the table: .xlsx, .csv or .md."
)
@click.option("--all-columns", is_flag=True, help="Print every column, not a summary.")
@_units_option
@_dask_options
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
    units_path: str | None,
    units_layer: str | None,
    workers: int | None,
    scheduler: str | None,
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
        geo-renewal stats classified.gpkg --units units.gpkg
        geo-renewal stats province_classified/ --by street --workers 2

    With --units (更新单元 polygons) the 63号文 checks are made on everything inside each
    unit, whatever its class, and printed (and written with --out) instead of a table.
    """
    from geo_renewal import settings
    from geo_renewal.io import read_layer
    from geo_renewal.partitioned import dask_client
    from geo_renewal.stats import zone_stats
    from geo_renewal.tables import format_table, write_table

    if units_path is not None and by is None and zones_path is None:
        parcels = read_layer(classified, layer=layer, kind="parcels")
        text, checks = _unit_checks_text(parcels, units_path, units_layer, lang=lang)
        click.echo(text, nl=False)
        if out is not None:
            click.echo(f"wrote {write_table(checks, out, lang=lang)}", err=True)
        return
    if (by is None) == (zones_path is None) or units_path is not None:
        msg = "give exactly one of --by COLUMN, --zones PATH and --units PATH."
        raise click.UsageError(msg)
    lang = lang or settings.lang
    with dask_client(workers=workers, scheduler=scheduler):
        partitions = _partitions_for(classified, workers, scheduler)
        parcels = read_layer(classified, layer=layer, kind="parcels", partitions=partitions)
        zones = None if zones_path is None else read_layer(zones_path, layer=zones_layer)
        table = zone_stats(
            parcels,
            by=by,
            zones=zones,
            zone_col=zone_col,
            how=how,
            planned_floor_area=planned_floor_area,
            policy=zones is not None,  # 63号文 limits hold per unit, not per street or class
            lang=lang,
        )
    if zones is None:
        click.echo("63号文 checks: give --units PATH (renewal units, 更新单元)", err=True)
    columns = None if all_columns else list(_STATS_TERMINAL_COLUMNS)
    click.echo(format_table(table, lang=lang, columns=columns), nl=False)
    if out is not None:
        path = write_table(table, out, lang=lang)
        click.echo(f"wrote {path}", err=True)


# -------------------------------------------------------------------------------- maps.py


@cli.command("map")
@click.argument("classified", type=click.Path(exists=True))
@_layer_option("CLASSIFIED", old="--layer-name")
@click.option(
    "--districts", "districts_path", type=click.Path(exists=True), help="Street polygons."
)
@click.option("--zones", "zones_path", type=click.Path(exists=True), help="Renewal zones.")
@_constraint_options("to draw", rasters=False)
@_tiles_option
@_offline_option
@_lang_option("the map")
@click.option("--title", help="Title shown on the map.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="HTML file to write.")
@_friendly_errors
def map_command(
    classified: str,
    layer: str | None,
    districts_path: str | None,
    zones_path: str | None,
    constraint_pairs: tuple[str, ...],
    tiles: str | None,
    offline: bool,
    lang: str | None,
    title: str | None,
    out: str,
) -> None:
    """
    Draw classified parcels on an interactive HTML meeting map.

    One layer per renewal category with a legend (parcel counts, 公顷), street outlines and
    constraint layers; tooltips in Chinese (--lang en for English). The file embeds
    Leaflet and opens without network; --tiles asks for an online base map (a warning
    names the file that needs the network).

    Example:

    \b
        geo-renewal map classified.gpkg --districts streets.gpkg \\
            --constraint heritage_core=heritage.gpkg --title 东关片区 --out maps/dongguan.html
        geo-renewal map classified.gpkg --tiles tianditu --out maps/online.html
    """
    from geo_renewal.io import read_layer, read_named_layer
    from geo_renewal.maps import renewal_map, save_map

    tiles = tiles or "none"
    pairs = _name_path_pairs(constraint_pairs, "--constraint")
    parcels = read_layer(classified, layer=layer, kind="parcels")
    districts = None if districts_path is None else read_named_layer(districts_path, "districts")
    zones = None if zones_path is None else read_named_layer(zones_path, "zones")
    layers = {name: read_named_layer(path, name) for name, path in pairs.items()}
    m = renewal_map(
        parcels,
        districts=districts,
        zones=zones,
        layers=layers or None,
        tiles=tiles,
        lang=lang,
        title=title,
    )
    path = save_map(m, out, offline=True)
    _warn_if_online(path, tiles, lang)
    click.echo(f"wrote {path}", err=True)


def _warn_if_online(
    path: Any, tiles: str, lang: str | None, *, scripts_online: bool = False
) -> None:
    """Say on stderr that the map at `path` needs the network (its scripts or base map)."""
    from geo_renewal.text import say
    from geo_renewal.tiles import needs_network

    if scripts_online:
        click.echo(say("map.needs_network_scripts", lang, path=path), err=True)
    elif needs_network(tiles):
        click.echo(say("map.needs_network", lang, path=path, tiles=tiles), err=True)


# ------------------------------------------------------------------------ resettlement.py


@cli.command("resettle")
@click.argument("classified", type=click.Path(exists=True, dir_okay=False))
@_layer_option("CLASSIFIED")
@click.option(
    "--sites",
    "sites_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Candidate sites layer (default: the resettlement_site parcels of CLASSIFIED).",
)
@click.option("--sites-layer", help="Layer of the sites file.")
@click.option(
    "--demand-by",
    default="zone_id",
    show_default=True,
    help="Column naming the demand unit: zone_id (computed if missing), project_id …",
)
@click.option(
    "--cash-share",
    type=click.FloatRange(0, 1),
    default=0.3,
    show_default=True,
    help="Share of households taking cash instead of a flat.",
)
@click.option("--max-dist", type=click.FloatRange(min=0, min_open=True), help="Metres.")
@click.option("--split", is_flag=True, help="Let a unit's households go to several sites.")
@click.option("--exclude-on-site", is_flag=True, help="No site inside a unit's own area.")
@click.option(
    "--nearby-dist",
    type=click.FloatRange(min=0, min_open=True),
    help="Metres counted as nearby for the 就地就近安置率 (default: settings, 1500).",
)
@_constraint_options("for the site checks")
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=20.0,
    show_default=True,
    help="Seconds per solver call.",
)
@_lang_option("the reasons and the CSV")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="GeoPackage to write (layers sites, flows, units) + OUT_allocation.csv.",
)
@_friendly_errors
def resettle_command(
    classified: str,
    layer: str | None,
    sites_path: str | None,
    sites_layer: str | None,
    demand_by: str,
    cash_share: float,
    max_dist: float | None,
    split: bool,
    exclude_on_site: bool,
    nearby_dist: float | None,
    constraint_pairs: tuple[str, ...],
    raster_pairs: tuple[str, ...],
    time_limit: float,
    lang: str | None,
    out: str,
) -> None:
    """
    Plan resettlement: allocate demolition households to sites, with the 50 % check.

    Households of demolish parcels, less the cash share, are grouped by --demand-by and
    sent to the nearest sites that have room (each unit to one site unless --split).
    Writes the GeoPackage layers `sites` (capacity, allocated, utilisation, checks),
    `flows` (lines unit → site with households) and `units` (demand, unmet and the
    就地就近安置率 per unit), the allocation table as OUT_allocation.csv, and prints a
    summary with every note and warning.

    Example:

    \b
        geo-renewal resettle classified.gpkg --out resettlement.gpkg
        geo-renewal resettle classified.gpkg --sites sites.gpkg --demand-by project_id \\
            --cash-share 0.4 --max-dist 5000 --exclude-on-site --out plan.gpkg
    """
    from pathlib import Path

    from geo_renewal import settings
    from geo_renewal.io import read_layer, read_named_layer
    from geo_renewal.resettlement import plan_resettlement

    lang = lang or settings.lang
    out_path = Path(out)
    if out_path.suffix.lower() != ".gpkg":
        msg = f"--out must be a GeoPackage (.gpkg), got {out!r}."
        raise click.BadParameter(msg)
    parcels = read_layer(classified, layer=layer, kind="parcels")
    sites = None if sites_path is None else read_layer(sites_path, layer=sites_layer, kind="sites")
    layers = {
        n: read_named_layer(p, n)
        for n, p in _name_path_pairs(constraint_pairs, "--constraint").items()
    }
    rasters = _name_path_pairs(raster_pairs, "--raster")
    plan = plan_resettlement(
        parcels,
        sites=sites,
        demand_by=demand_by,
        cash_share=cash_share,
        max_dist=max_dist,
        keep_together=not split,
        exclude_on_site=exclude_on_site,
        nearby_dist=nearby_dist,
        layers=layers or None,
        rasters=rasters or None,
        time_limit=time_limit,
        lang=lang,
    )
    files = plan.write(out_path, lang=lang)
    click.echo(terminal_text(plan.summary_text()))
    click.echo(
        f"wrote {files['layers']} (sites, flows, units) and {files['allocation']}", err=True
    )


# ------------------------------------------------------------------------------ ledger.py


def _stage_days(values: tuple[str, ...]) -> dict[str, float]:
    """Parse repeated ``STAGE=DAYS`` options (stage code or label) in the order given."""
    out: dict[str, float] = {}
    for v in values:
        stage, sep, days = v.partition("=")
        try:
            out[stage.strip()] = float(days)
        except ValueError:
            sep = ""
        if not sep or not stage.strip():
            msg = f"--duration expects STAGE=DAYS, got {v!r}; e.g. --duration 签约=120"
            raise click.BadParameter(msg)
    return out


@cli.command("progress")
@click.argument("ledger", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--projects",
    "projects_path",
    required=True,
    type=click.Path(exists=True),
    help="Project polygons with project_id (项目编号).",
)
@click.option("--projects-layer", help="Layer of the projects file (default: 'projects').")
@click.option("--sheet", help="Sheet of an XLSX ledger (default: 台账, else the first).")
@click.option(
    "--header-row",
    type=click.IntRange(min=1),
    help="Spreadsheet row of the ledger's header, from 1 (default: found below title rows; "
    "a two-row header is found too).",
)
@click.option("--as-of", help="Day of the assessment, e.g. 2026-11-20 (default: today).")
@click.option(
    "--previous",
    "previous_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Last meeting's ledger: adds a sheet of what changed.",
)
@click.option("--previous-as-of", help="Day of the previous ledger (default: --as-of).")
@click.option(
    "--duration",
    "durations",
    multiple=True,
    metavar="STAGE=DAYS",
    help="Stage length for the backward schedule (倒排工期), repeatable, in stage order; "
    "give every stage of the pipelines in use.",
)
@_tiles_option
@_offline_option
@_lang_option("the map and tables")
@click.option("--title", help="Map title (default: 项目进度 <date>).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="HTML map to write.")
@click.option(
    "--xlsx",
    type=click.Path(dir_okay=False),
    help="Workbook of the progress tables (default: OUT with .xlsx).",
)
@_friendly_errors
def progress_command(
    ledger: str,
    projects_path: str,
    projects_layer: str | None,
    sheet: str | None,
    header_row: int | None,
    as_of: str | None,
    previous_path: str | None,
    previous_as_of: str | None,
    durations: tuple[str, ...],
    tiles: str | None,
    offline: bool,
    lang: str | None,
    title: str | None,
    out: str,
    xlsx: str | None,
) -> None:
    """
    Map project progress (挂图作战) and write the progress tables from a ledger (台账).

    Reads the ledger (CSV or XLSX, Chinese or English headers), joins it to the project
    polygons, works out every project's stage, delay and signing rate on --as-of, draws the
    projects coloured by stage with overdue ones outlined, and writes a workbook with the
    progress of each project, summaries per street and per type, and the ledger's problems
    (plus what changed since --previous, and the backward schedule with --duration).

    Example:

    \b
        geo-renewal progress data/sample_ledger.xlsx --projects data/sample_district.gpkg \\
            --as-of 2026-11-20 --out maps/progress.html
        geo-renewal progress 台账.csv --projects projects.gpkg --previous 上周台账.xlsx \\
            --duration 签约=120 --duration 拆除=90 --duration 组卷报批=90 \\
            --duration 供地=60 --duration 开工=30 --duration 方案=210 \\
            --duration 施工=30 --duration 竣工验收=30 --out maps/progress.html
    """
    from geo_renewal.progress import progress_meeting, write_progress_meeting

    meeting = progress_meeting(
        ledger,
        projects=projects_path,
        projects_layer=projects_layer,
        sheet=sheet,
        as_of=as_of,
        previous=previous_path,
        previous_as_of=previous_as_of,
        durations=_stage_days(durations) if durations else None,
        lang=lang,
        header_row=header_row,
    )
    tiles = tiles or "none"
    map_path, xlsx_path = write_progress_meeting(
        meeting, out, xlsx=xlsx, tiles=tiles, offline=True, title=title
    )
    _warn_if_online(map_path, tiles, lang or meeting.lang)
    click.echo(terminal_text(meeting.summary_text()))
    problems = meeting.problems_text()
    if problems:
        click.echo(terminal_text(problems), err=True)
    click.echo(f"wrote {map_path} and {xlsx_path}", err=True)


# -------------------------------------------------------------------------------- fund.py


@cli.command("fund")
@click.argument("projects", type=click.Path(exists=True, dir_okay=False))
@_layer_option("PROJECTS (a polygon file)")
@click.option(
    "--ledger",
    "ledger_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Ledger (台账) with households and demolished floor area, joined to PROJECTS.",
)
@click.option("--sheet", help="Sheet of an XLSX ledger.")
@click.option(
    "--header-row",
    type=click.IntRange(min=1),
    help="Spreadsheet row of the ledger's header, from 1 (default: found below title rows; "
    "a two-row header is found too).",
)
@click.option(
    "--params",
    "params_path",
    type=click.Path(exists=True, dir_okay=False),
    help="TOML of fund parameters (default: the bundled fund_default.toml).",
)
@click.option(
    "--plots",
    "plots_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Sale plots: project_id, plot_area (or polygons), far, land_price_per_m2.",
)
@click.option("--bundle-col", help="Column of PROJECTS naming each project's bundle (区域平衡).")
@click.option(
    "--buildings",
    "buildings_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Buildings to price one by one with the compensation scheme (a GeoPackage's "
    "buildings layer).",
)
@click.option(
    "--bands",
    "bands_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Location-price bands (区位价; a GeoPackage's price_bands layer).",
)
@click.option(
    "--scheme",
    "scheme_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Compensation scheme TOML (default: the bundled placeholders).",
)
@click.option(
    "--cashflow", is_flag=True, help="Also the cash flow by year, financing and sensitivity."
)
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Meeting date (default today).")
@click.option(
    "--unit",
    type=click.Choice(["wan", "yuan"]),
    default="wan",
    show_default=True,
    help="Money unit of the workbook: 万元 or 元.",
)
@_lang_option("the tables")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="XLSX to write.")
@_friendly_errors
def fund_command(
    projects: str,
    layer: str | None,
    ledger_path: str | None,
    sheet: str | None,
    header_row: int | None,
    params_path: str | None,
    plots_path: str | None,
    bundle_col: str | None,
    buildings_path: str | None,
    bands_path: str | None,
    scheme_path: str | None,
    cashflow: bool,
    as_of: Any,
    unit: str,
    lang: str | None,
    out: str,
) -> None:
    """
    Balance the funds of renewal projects (区域平衡): costs, land revenue, break-even FAR.

    PROJECTS is a polygon file, or a ledger (CSV/XLSX) when --ledger is not given. Costs
    (compensation, resettlement construction, demolition, infrastructure, financing) and
    revenue (sale plots × FAR × 楼面地价) follow the parameters of --params; without
    --plots, sale plots are derived from the project polygons as the parameters say.
    Writes a workbook (bundles, projects, plots, land price sensitivity, parameters).

    Example:

    \b
        geo-renewal fund data/sample_district.gpkg --layer projects \\
            --ledger data/sample_ledger.xlsx --out maps/fund.xlsx
        geo-renewal fund projects.gpkg --ledger 台账.xlsx --params fund.toml \\
            --plots plots.csv --bundle-col 平衡单元 --out fund.xlsx
        geo-renewal fund data/sample_district.gpkg --layer projects \\
            --ledger data/sample_ledger.xlsx --plots data/sample_district.gpkg \\
            --buildings data/sample_district.gpkg --bands data/sample_district.gpkg \\
            --cashflow --out maps/fund.xlsx
    """
    from geo_renewal.fund import fund_balance_from_files, write_fund_tables
    from geo_renewal.fund_params import placeholder_caveat

    balance = fund_balance_from_files(
        projects,
        ledger=ledger_path,
        layer=layer,
        sheet=sheet,
        params=params_path,
        plots=plots_path,
        bundles=bundle_col,
        header_row=header_row,
        buildings=buildings_path,
        bands=bands_path,
        scheme=scheme_path,
        cashflow=cashflow,
        as_of=as_of.date() if as_of is not None else None,
    )
    path = write_fund_tables(balance, out, unit=unit, lang=lang)
    click.echo(terminal_text(balance.summary_text(unit=unit, lang=lang)))
    from geo_renewal.cashflow import cashflow_summary, money_caveats

    caveat = placeholder_caveat(
        balance.params, balance=balance.projects["balance"].to_numpy(dtype=float), lang=lang
    )
    more = money_caveats(balance, lang=lang or "zh")  # the cash flow's count, the scheme's
    caveat = more.pop("fund", caveat)
    if caveat:
        click.echo(f"! {caveat}")
    if balance.cashflow is not None:
        click.echo(terminal_text(cashflow_summary(balance, lang=lang)))
    for text in more.values():
        click.echo(f"! {text}")
    click.echo(f"wrote {path}", err=True)


# ------------------------------------------------------------------- validate.py / datasets


@cli.command("validate")
@click.argument("path", type=click.Path(exists=True))
@_layer_option("PATH")
@click.option(
    "--kind",
    type=click.Choice(["parcels", "buildings", "districts", "projects", "sites", "constraints"]),
    help="Layer kind: maps Chinese/English headers and sets the checks. Default: parcels, or "
    "the kind named like the layer.",
)
@click.option(
    "--districts",
    "districts_path",
    type=click.Path(exists=True),
    help="District polygons: report features outside every district.",
)
@click.option("--districts-layer", help="Layer of the districts file.")
@click.option("--crs", help="Declare the CRS of a file that has none (EPSG:4548, gcj02 …).")
@click.option("--encoding", help="Text encoding of a Shapefile/CSV (e.g. gbk), else detected.")
@click.option(
    "--findings",
    "findings_path",
    type=click.Path(dir_okay=False),
    help="Also write every finding to this CSV/XLSX file.",
)
@_lang_option("the printed report and the findings file")
@_friendly_errors
def validate_command(
    path: str,
    layer: str | None,
    kind: str | None,
    districts_path: str | None,
    districts_layer: str | None,
    crs: str | None,
    encoding: str | None,
    findings_path: str | None,
    lang: str | None,
) -> None:
    """
    Check a layer and print what is wrong; exit 1 when there are errors.

    Reports invalid, empty and wrong-type geometries, duplicate ids, missing columns,
    non-numeric and implausible values, overlapping parcels and (with --districts)
    features outside every district.

    Example:

        geo-renewal validate data/sample_district.gpkg --layer parcels
    """
    from geo_renewal.io import read_layer
    from geo_renewal.validate import validate_layer

    if kind is None:
        kind = layer if layer in ("parcels", "buildings", "districts", "projects") else "parcels"
    gdf = read_layer(path, layer=layer, kind=kind, crs=crs, encoding=encoding)
    districts = None
    if districts_path:
        districts = read_layer(districts_path, layer=districts_layer, kind="districts")
    report = validate_layer(gdf, kind=kind, districts=districts)
    first_row = gdf.attrs.get("first_row")
    click.echo(terminal_text(report.summary_text(lang=lang, first_row=first_row)))
    if findings_path:
        from geo_renewal.tables import findings_table

        table = findings_table(report.to_frame(), lang=lang, first_row=first_row)
        _write_findings(table, findings_path, lang)
        click.echo(f"findings written to {findings_path}")
    if not report.ok:
        raise SystemExit(1)


def _write_findings(frame: Any, path: str, lang: str | None) -> None:
    """Write a findings table to CSV (UTF-8 with BOM, for Excel) or XLSX, atomically."""
    from pathlib import Path

    from geo_renewal.tables import write_table

    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        msg = f"--findings must end in .csv or .xlsx, got {path!r}."
        raise click.BadParameter(msg)
    write_table(frame, path, lang=lang, index=False)


@cli.command("sample-data")
@click.option(
    "--out",
    default="data",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder to write the sample files into.",
)
@_friendly_errors
def sample_data_command(out: str) -> None:
    """
    Write the sample district: GeoPackage, flood GeoTIFF, ledger XLSX, GBK Shapefile.

    Example:

        geo-renewal sample-data --out data/
    """
    from geo_renewal.datasets import write_sample_data

    for name, p in write_sample_data(out).items():
        click.echo(f"{name:16s} {p}")


# ------------------------------------------------------------------------------ workflow.py


def _run_and_report(
    plan_path: Any, out: str | None, lang: str | None, silent: bool, scenario: str | None = None
) -> None:
    """Run a project file (or one of its scenarios), print the summary and every file."""
    import dataclasses

    from geo_renewal.plan import load_plan
    from geo_renewal.text import say
    from geo_renewal.workflow import run_plan

    plan = load_plan(plan_path, scenario=scenario)
    if lang is not None:
        plan = dataclasses.replace(plan, lang=lang)
    from geo_renewal._runcache import recorded_warnings, save_run

    with recorded_warnings() as warned:  # given again when `print` / `deck` reuse the run
        result = run_plan(plan, out_dir=out, verbose=not silent)
    save_run(result, warned)  # `print` / `deck` of this project file reuse it while unchanged
    click.echo(terminal_text(result.summary()))
    folder = result.files["manifest"].parent.resolve()  # [outputs] dir is relative to plan.toml
    click.echo(terminal_text(say("workflow.summary.out_dir", plan.lang, folder=folder)))
    for key, path in result.files.items():
        if key.endswith("_map"):
            _warn_if_online(path, plan.tiles, plan.lang, scripts_online=not plan.offline)


_LANG_OPTION = click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default=None,
    help="Language of maps, tables and report (default: the project file's).",
)
_SILENT_OPTION = click.option("--silent", is_flag=True, help="Hide the progress bar.")


@cli.command("run")
@click.argument("plan", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Output folder (default: the project file's [outputs] dir).",
)
@click.option(
    "--scenario",
    default=None,
    metavar="NAME",
    help="Run this [scenarios.NAME] of the file instead of its own values (see `compare`).",
)
@_LANG_OPTION
@_SILENT_OPTION
@_friendly_errors
def run_command(
    plan: str, out: str | None, scenario: str | None, lang: str | None, silent: bool
) -> None:
    """
    Run a project file end to end: maps, statistics workbook and meeting report.

    Reads and validates the layers, classifies the parcels, forms renewal zones, computes
    statistics by street, class, zone and project, plans resettlement, reads the ledger's
    progress and the fund balance, and writes the classification, resettlement and
    progress maps, statistics.xlsx, classified.gpkg and report.html.

    Example:

        geo-renewal run plan.toml --out maps/
    """
    _run_and_report(plan, out, lang, silent, scenario=scenario)


@cli.command("demo")
@click.option(
    "--out",
    default="maps",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder to write the maps, workbook and report into.",
)
@_LANG_OPTION
@_SILENT_OPTION
@_friendly_errors
def demo_command(out: str, lang: str | None, silent: bool) -> None:
    """
    Run the whole workflow on the bundled sample district (offline, about 15 s).

    Writes classification.html, resettlement.html and progress.html (self-contained
    maps), statistics.xlsx, classified.gpkg and report.html (the meeting page) into
    --out. The sample files themselves are written by `geo-renewal sample-data`.

    Example:

        geo-renewal demo --out maps/
    """
    from geo_renewal.datasets import get_path

    _run_and_report(get_path("sample_plan"), out, lang, silent)


# ---------------------------------------------------------------------- classify.py / rules.py


@cli.command("classify")
@click.argument("parcels", type=click.Path(exists=True))
@click.option(
    "--rules",
    "rules_spec",
    default="default",
    show_default=True,
    help="Rule file (.toml) or the name of a bundled set (default, shenzhen).",
)
@_layer_option("PARCELS", old="--parcels-layer")
@_constraint_options("the rules name")
@click.option(
    "--buildings",
    type=click.Path(exists=True, dir_okay=False),
    help="Building footprints, aggregated to the parcels before classifying.",
)
@click.option("--buildings-layer", help="Layer of the buildings file.")
@_units_option
@click.option(
    "--dist",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Gap in metres bridged within one renewal zone (roads between blocks).",
)
@_lang_option("the reasons")
@click.option("--silent", is_flag=True, help="Hide the progress bar.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="GeoPackage to write, with layers 'parcels' (classified) and 'zones'; or a folder "
    "(partitioned GeoParquet dataset of the classified parcels, no zones).",
)
@_dask_options
@_friendly_errors
def classify_command(
    parcels: str,
    rules_spec: str,
    layer: str | None,
    constraint_pairs: tuple[str, ...],
    raster_pairs: tuple[str, ...],
    buildings: str | None,
    buildings_layer: str | None,
    units_path: str | None,
    units_layer: str | None,
    dist: float,
    lang: str | None,
    silent: bool,
    out: str,
    workers: int | None,
    scheduler: str | None,
) -> None:
    """
    Classify parcels with a rule set; write classified parcels and renewal zones.

    Prints the number of parcels and the land area (公顷) per category. Layers the rules
    name (heritage_core, eco_belt …) are taken from PARCELS when it is a GeoPackage holding
    layers of those names, unless --constraint names another file.

    Example:

    \b
        geo-renewal classify data/sample_district.gpkg --layer parcels \\
            --raster flood_depth=data/flood_depth.tif --out classified.gpkg
        geo-renewal classify parcels.shp --constraint heritage_core=heritage.gpkg \\
            --constraint eco_belt=constraints.gpkg::eco_belt --out classified.gpkg
        geo-renewal classify province.parquet/ --constraint heritage_core=heritage.gpkg \\
            --workers 2 --out province_classified/
    """
    from geo_renewal.classify import classify_file
    from geo_renewal.partitioned import dask_client
    from geo_renewal.tables import format_table

    layers = _name_path_pairs(constraint_pairs, "--constraint")
    rasters = _name_path_pairs(raster_pairs, "--raster")
    with dask_client(workers=workers, scheduler=scheduler):
        done = classify_file(
            parcels,
            out,
            rules=rules_spec,
            layers=layers,
            rasters=rasters,
            parcels_layer=layer,
            buildings=buildings,
            buildings_layer=buildings_layer,
            dist=dist,
            partitions=_partitions_for(parcels, workers, scheduler),
            lang=lang,
            verbose=not silent,
        )
    for name, where in done.picked_layers.items():
        click.echo(
            f"using layer {name!r} of {where.split('::')[0]} for the rules "
            f"(--constraint {name}=PATH uses another file)",
            err=True,
        )
    click.echo(format_table(done.summary, lang=done.lang), nl=False)
    if done.zones is None:
        click.echo(f"written to {out} (partitioned GeoParquet; zones: classify in memory)")
    else:
        click.echo(f"{len(done.zones)} zones; written to {out} (layers 'parcels', 'zones')")
    if units_path is not None:
        blds = None if buildings is None else (buildings, buildings_layer)
        _print_unit_checks(out, done.zones is None, units_path, units_layer, blds, lang)


def _print_unit_checks(
    out: str,
    partitioned: bool,
    units_path: str,
    units_layer: str | None,
    buildings: tuple[str, str | None] | None,
    lang: str | None,
) -> None:
    """Print the 63号文 checks of the classified parcels written to `out` on the units."""
    from geo_renewal.io import read_layer

    if partitioned:
        msg = "--units needs a GeoPackage --out (the checks run on the whole layer in memory)."
        raise click.UsageError(msg)
    parcels = read_layer(out, layer="parcels", kind="parcels")
    blds = None
    if buildings is not None:
        blds = read_layer(buildings[0], layer=buildings[1], kind="buildings")
    text, _ = _unit_checks_text(parcels, units_path, units_layer, buildings=blds, lang=lang)
    click.echo(text, nl=False)


@cli.group("rules")
def rules_group() -> None:
    """Rule sets: check a rule file before using it."""


@rules_group.command("check")
@click.argument("rules")
@click.option(
    "--parcels",
    "parcels_path",
    type=click.Path(exists=True),
    help="Also check against this parcels layer: every column the rules read is there, "
    "and no [params] name hides one of its columns.",
)
@_layer_option("--parcels")
@_friendly_errors
def rules_check_command(rules: str, parcels_path: str | None, layer: str | None) -> None:
    """
    Validate a rule file (or bundled set), alone or against a parcels layer; exit 1 listing every problem.

    A `[params]` name that is also a canonical column (build_year …) or, with --parcels, a
    column of the layer is refused: in the rules it would replace the column's values.

    Example:

    \b
        geo-renewal rules check my_rules.toml
        geo-renewal rules check my_rules.toml --parcels parcels.gpkg --layer parcels
    """
    from geo_renewal.rules import load_rules

    rule_set = load_rules(rules)
    click.echo(terminal_text(rule_set.summary()))
    if parcels_path is not None:
        from geo_renewal.io import read_layer

        columns = read_layer(parcels_path, layer=layer, kind="parcels").columns
        # layers and rasters are not given here: only the columns are checked
        rule_set.check_inputs(columns, layers=rule_set.layers, rasters=rule_set.rasters)
    click.echo("OK")


from geo_renewal._cli_compare import compare_command  # noqa: E402 (scenario comparison)

cli.add_command(compare_command)
from geo_renewal._cli_print import deck_command, print_command  # noqa: E402 - printed maps, deck

cli.add_command(print_command)
cli.add_command(deck_command)
# ---------------------------------------------------------------- the weekly ledger store
from geo_renewal._cli_ledger import ledger_group  # noqa: E402 - added after the group exists

cli.add_command(ledger_group)
from geo_renewal._cli_corridors import corridors_command  # noqa: E402 - view corridors only

cli.add_command(corridors_command)


if __name__ == "__main__":  # python -m geo_renewal.cli …, as the docs regenerate the data
    cli()
