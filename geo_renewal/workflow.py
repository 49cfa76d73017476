"""
The planner's workflow end to end: one project file in, maps, tables and a meeting pack out.

`run_plan` chains the library's steps in the order a district office runs them:

1. read and validate every layer (`read_layer`, `validate_layer`);
2. classify the parcels with the rule set (`classify_parcels`) and group them into renewal
   zones (`zones_from_parcels`);
3. statistics by street, class, zone and project with the 63号文 checks (`zone_stats`);
4. resettlement: sites, capacity and allocation (`plan_resettlement`), then the 63号文
   checks on the renewal units, when the plan has a units layer (`unit_checks`);
5. progress of the ledger's projects as of the meeting date and the fund balance
   (`read_ledger`, `project_progress`, `fund_balance`);
6. the classification, resettlement and progress maps (`renewal_map`, `save_map`);
7. the statistics workbook and the meeting report (`write_tables`, `meeting_report`).

Every step is a library call a notebook can make on its own; `RunResult` keeps what each
step produced so that a notebook can look at any of it afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from tqdm.auto import tqdm

from geo_renewal import settings
from geo_renewal._errors import InputError, RuleError
from geo_renewal._print_plan import write_prints
from geo_renewal._staging import MANIFEST, Staging, file_entry, output_error, package_versions
from geo_renewal._stepcache import active_cache
from geo_renewal._weekly_run import weekly_step, write_weekly_outputs
from geo_renewal.plan import Plan, load_plan
from geo_renewal.text import say, say_or
from geo_renewal.views import corridor_tables, run_corridors

if TYPE_CHECKING:
    import geopandas as gpd

    from geo_renewal._comparison import Comparison
    from geo_renewal.fund import FundBalance
    from geo_renewal.fund_params import FundParams
    from geo_renewal.ledger import Ledger
    from geo_renewal.resettlement import ResettlementPlan
    from geo_renewal.validate import ValidationReport
    from geo_renewal.weekly import WeeklyMeeting

__all__ = ["OUTPUT_FILES", "STEP_INPUTS", "RunResult", "compute_plan", "run_plan"]

logger = logging.getLogger(__name__)

#: Output name -> file name inside the output folder.
OUTPUT_FILES: dict[str, str] = {
    "classification_map": "classification.html",
    "resettlement_map": "resettlement.html",
    "progress_map": "progress.html",
    "workbook": "statistics.xlsx",
    "report": "report.html",
    "classified": "classified.gpkg",
    "manifest": "manifest.json",
}

#: Computing step -> (the `Plan` fields it reads, the earlier steps whose results it uses).
#: `geo_renewal.scenarios.compare_scenarios` runs a step once for all the scenarios whose
#: values of these are equal (`geo_renewal._stepcache`); a step missing here always runs,
#: and so does every step after it. Declare a new step here.
STEP_INPUTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "read": (("layers", "constraints", "stats_by", "working_crs"), ()),
    "classify": (("rules", "rasters", "zone_dist", "lang", "working_crs"), ("read",)),
    "statistics": (("stats_by", "stats_how", "lang", "working_crs"), ("read", "classify")),
    "resettlement": (
        ("resettlement", "rasters", "zone_dist", "lang", "working_crs"),
        ("read", "classify"),
    ),
    "units": (
        ("layers", "resettlement", "lang", "working_crs"),
        ("read", "classify", "resettlement"),
    ),
    "progress": (
        (
            "ledger",
            "ledger_sheet",
            "ledger_header_row",
            "as_of",
            "fund_params",
            "fund_options",
            "resettlement",  # its cash share is the fund's (_fund_params)
            "weekly",  # the ledger store's snapshot when the plan has no ledger file
            "lang",
            "working_crs",
        ),
        ("read",),
    ),
    "weekly": (("weekly", "as_of", "lang", "working_crs"), ("read", "progress")),
}

#: `Plan` fields no computing step reads: titles, output options, the scenarios themselves.
OUTPUT_FIELDS = (
    "path",
    "name",
    "out_dir",
    "tiles",
    "offline",
    "office",
    "scenario",
    "scenarios",
    "print",
    "corridors",  # written by its own step after the maps (views.run_corridors), not cached
)


@dataclass
class RunResult:
    """
    Everything one run of a project file produced.

    Attributes
    ----------
    plan
        The project file that was run.
    layers
        Input layers by role, after validation (repaired, invalid rows removed).
    constraints
        Constraint layers by name.
    validation
        `ValidationReport` per input layer.
    classified
        Classified parcels with ``zone_id``.
    zones
        Renewal zones.
    stats
        Statistics tables by name (``"street"``, ``"category"``, ``"zone"``, …).
    resettlement
        The resettlement plan, or None when nothing is demolished.
    unit_checks
        The 63号文 checks per renewal unit (`geo_renewal.units.unit_checks`), or None
        without a units layer.
    ledger, progress, fund
        The ledger, per-project progress as of ``plan.as_of`` and the fund balance, or None
        without a ledger.
    weekly
        The weekly meeting (督办, 考核, households) of the ledger store's snapshot, or None
        without ``[ledger] store`` / ``[weekly]`` (`geo_renewal.weekly`).
    files
        Output name -> path written (see `OUTPUT_FILES`).
    timings
        Step name -> seconds.
    comparison
        The scenario comparison (`geo_renewal.scenarios.compare_scenarios`) this run is the
        base of, or None: the report and the workbook then show it.
    """

    plan: Plan
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    constraints: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    validation: dict[str, ValidationReport] = field(default_factory=dict)
    classified: gpd.GeoDataFrame | None = None
    zones: gpd.GeoDataFrame | None = None
    stats: dict[str, pd.DataFrame] = field(default_factory=dict)
    resettlement: ResettlementPlan | None = None
    unit_checks: pd.DataFrame | None = None
    ledger: Ledger | None = None
    progress: pd.DataFrame | None = None
    fund: FundBalance | None = None
    weekly: WeeklyMeeting | None = None
    corridors: Any = None  # views.CorridorRun of [corridors], or None
    files: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    comparison: Comparison | None = None

    def summary(self) -> str:
        """
        Return the key figures and the files written, as printed at the end of a run.

        Returns
        -------
        text
            A few lines of plain text in the run's language.
        """
        lang = self.plan.lang
        lines = []
        if "category" in self.stats:
            from geo_renewal._roles import class_labels
            from geo_renewal.schema import label
            from geo_renewal.stats import TOTAL_ROW

            table = self.stats["category"].drop(index=TOTAL_ROW)
            names = class_labels(self.stats["category"], lang)  # 拆除重建类, not its code
            lines.append(say("workflow.summary.classes", lang))
            for code, row in table.iterrows():
                extra = ""
                if "households" in table.columns:
                    extra = say("workflow.summary.class_households", lang, n=row["households"])
                n = say("workflow.summary.class_parcels", lang, n=row["n_parcels"])
                text = names.get(str(code)) or label(str(code), lang)
                lines.append(f"  {text}: {n}{extra}")
        if self.resettlement is not None:
            s = self.resettlement.summary
            lines.append(
                say(
                    "workflow.summary.resettlement",
                    lang,
                    placed=s.get("allocated_households", 0),
                    flats=s.get("flat_households", 0),
                )
            )
        if self.progress is not None:
            n_over = int(self.progress["overdue"].fillna(False).astype(bool).sum())
            lines.append(
                say("workflow.summary.projects", lang, n=len(self.progress), n_over=n_over)
            )
        if self.weekly is not None:  # the weekly meeting (geo_renewal.weekly)
            lines.append(self.weekly.summary(lang))
        short = {"signing": say("workflow.summary.signing", lang)}  # the paragraph: workbook
        lines.extend(f"! {short.get(k, text)}" for k, text in self.caveats().items())
        lines.append(say("workflow.summary.files", lang))
        lines.extend(f"  {say(f'workflow.file.{k}', lang)}: {v}" for k, v in self.files.items())
        return "\n".join(lines)

    def caveats(self) -> dict[str, str]:
        """
        Return what a reader must know before trusting the run's figures, in its language.

        Returns
        -------
        caveats
            ``"units"`` when no units layer was given (the 63号文 checks need one),
            ``"nearby"`` when the nearby rate is below the best achievable (the reason,
            measured on the allocation), ``"fund"`` when fund parameters are still the
            bundled placeholders.
        """
        from geo_renewal.units import nearby_reason

        lang, out = self.plan.lang, {}
        if self.unit_checks is None:
            out["units"] = say("policy.units_needed", lang)
        if self.resettlement is not None:
            reason = nearby_reason(self.resettlement, lang=lang)
            if reason:
                out["nearby"] = reason
        if self.fund is not None:
            from geo_renewal.fund_params import placeholder_caveat

            balance = self.fund.projects["balance"].to_numpy(dtype=float)
            text = placeholder_caveat(self.fund.params, balance=balance, lang=lang)
            if text:
                out["fund"] = text
            from geo_renewal.cashflow import money_caveats

            out.update(money_caveats(self.fund, lang=lang))  # cash flow, compensation scheme
        if self.corridors is not None and self.corridors.caveat(lang):
            out["corridors"] = self.corridors.caveat(lang)
        for k, text in enumerate([] if self.weekly is None else self.weekly.caveats):
            out[f"weekly{k}"] = text  # placeholder 考核 weights, the store against the ledger
        if self.classified is not None:  # a rule set's classes without a role, no site class
            from geo_renewal._roles import class_caveats

            out.update(class_caveats(self.classified, self.plan, self.resettlement))
        return out


def _step(result: RunResult, bar: Any, name: str, func: Callable[[], Any]) -> Any:
    bar.set_description(say_or(f"workflow.step.{name}", result.plan.lang, name))
    start = time.perf_counter()
    cache = active_cache()  # comparing scenarios: a step with unchanged inputs is reused
    value = func() if cache is None else cache.run(result, name, func)
    result.timings[name] = time.perf_counter() - start
    logger.info("%s: %.2f s", name, result.timings[name])
    bar.update(1)
    return value


def _read_layers(result: RunResult) -> None:
    from geo_renewal.io import read_layer
    from geo_renewal.validate import validate_layer

    plan = result.plan
    raw = {role: read_layer(spec.path, **spec.read_kwargs()) for role, spec in plan.layers.items()}
    districts = raw.get("districts")
    for role, gdf in raw.items():
        report = validate_layer(
            gdf, kind=role, districts=districts if role in ("parcels", "buildings") else None
        )
        result.validation[role] = report
        result.layers[role] = report.layer
    _refuse_empty(plan, raw["parcels"], result.layers["parcels"])
    for name, spec in plan.constraints.items():
        kwargs = spec.read_kwargs()
        kwargs["kind"] = kwargs["kind"] or "constraints"
        result.constraints[name] = read_layer(spec.path, **kwargs)
    available = {*result.layers["parcels"].columns, "category", "rule_id", "zone_id"}
    for col in plan.stats_by:
        if col not in available:
            msg = (
                f"{plan.path}: `stats.by` names column {col!r}, which the parcels do not have; "
                f"available: {', '.join(sorted(map(str, available)))}."
            )
            raise InputError(msg)


def _refuse_empty(plan: Plan, read: gpd.GeoDataFrame, kept: gpd.GeoDataFrame) -> None:
    """Refuse a run without parcels: there would be nothing to classify or count."""
    if len(kept):
        return
    spec = plan.layers["parcels"]
    layer = f" (layer {spec.layer!r})" if spec.layer else ""
    if len(read):
        problem = f": every one of its {len(read)} parcels was removed by validation"
        fix = f"run `geo-renewal validate {spec.path}` to see why"
    else:
        problem = " has no rows"
        fix = f"check the file, or `layers.parcels` in {plan.path}"
    msg = f"{spec.path}{layer}{problem}; nothing to classify. {fix[0].upper()}{fix[1:]}."
    raise InputError(msg)


def _classify(result: RunResult) -> None:
    from geo_renewal.classify import classify_parcels, zone_labels, zone_names, zones_from_parcels
    from geo_renewal.rules import load_rules

    plan = result.plan
    rules = load_rules(plan.rules, lang=plan.lang)
    try:
        classified = classify_parcels(
            result.layers["parcels"],
            rules,
            layers=result.constraints or None,
            rasters={k: str(v) for k, v in plan.rasters.items()} or None,
            buildings=result.layers.get("buildings"),
        )
    except RuleError as e:
        hint = ""
        if "which was not given" in str(e):
            hint = (
                " In a project file, declare every layer the rules name as "
                "[constraints.NAME] (path, layer) and every raster under [rasters]."
            )
        msg = f"{plan.path}: {e}.{hint}"
        raise InputError(msg) from e
    classified["zone_id"] = zone_labels(classified, dist=plan.zone_dist)
    classified["zone_name"] = zone_names(classified, lang=plan.lang)  # what meetings read
    result.classified = classified
    result.zones = zones_from_parcels(classified, dist=plan.zone_dist, lang=plan.lang)


def _statistics(result: RunResult) -> None:
    from geo_renewal.stats import zone_stats

    classified = result.classified
    lang = result.plan.lang
    tables: dict[str, pd.DataFrame] = {}
    for col in result.plan.stats_by:
        tables[col] = zone_stats(classified, by=col, policy=False, lang=lang)
    for col in ("category", "zone_id"):  # the report and the summary read these two
        if col not in tables:
            # zones are rows by their names (东关街道·征收拆迁·01), not their codes
            by = "zone_name" if col == "zone_id" else col
            tables[col] = zone_stats(classified, by=by, policy=False, lang=lang)
    districts = result.layers.get("districts")
    if districts is not None and "street" not in tables:
        tables["street"] = zone_stats(
            classified,
            zones=districts,
            zone_col="name",
            how=result.plan.stats_how,
            policy=False,  # 63号文 checks are made on renewal units only (`_units`)
            lang=lang,
        )
    projects = result.layers.get("projects")
    if projects is not None and "project_id" not in tables:
        # Project polygons may overlap (a retention project inside a demolition area): the
        # first listed project wins the overlap, so the table still adds up.
        tables["project_id"] = zone_stats(
            classified,
            zones=projects,
            zone_col="project_id",
            how=result.plan.stats_how,
            overlaps="first",
            policy=False,
            lang=lang,
        )
    if "zone_id" in tables and result.zones is not None:
        tables["zone_id"] = _by_class(tables["zone_id"], result.zones)
    result.stats = tables


def _by_class(table: pd.DataFrame, zones: pd.DataFrame) -> pd.DataFrame:
    """Zone rows in class order (征收拆迁 first), by name within a class; special rows last."""
    if "zone_name" not in zones.columns:
        return table
    order = list(pd.Categorical(zones["category"]).categories)
    rank = {
        n: (order.index(c) if c in order else len(order), str(n))
        for n, c in zip(zones["zone_name"], zones["category"].astype(object), strict=True)
    }
    named = sorted((k for k in table.index if k in rank), key=rank.__getitem__)
    return table.loc[named + [k for k in table.index if k not in rank]]


def _resettlement(result: RunResult) -> None:
    from geo_renewal._roles import in_role
    from geo_renewal.resettlement import plan_resettlement

    classified = result.classified
    assert classified is not None  # set by the classification step
    if not in_role(classified, "demolish").any():  # 征收拆迁, 拆除重建类 …
        logger.info("no parcel is in a class of role demolish; resettlement skipped")
        return
    kwargs = dict(result.plan.resettlement)
    kwargs["demand_by"] = _demand_by(result.plan)
    result.resettlement = plan_resettlement(
        classified,
        sites=result.layers.get("sites"),
        layers=result.constraints or None,
        rasters={k: str(v) for k, v in result.plan.rasters.items()} or None,
        zone_dist=result.plan.zone_dist,
        lang=result.plan.lang,
        **kwargs,
    )


def _units(result: RunResult) -> None:
    """Check the plan's renewal units against 63号文 (nothing without a units layer)."""
    from geo_renewal.units import check_units, unit_checks

    units = result.layers.get("units")
    if units is None or result.classified is None:
        return
    plan = result.plan
    checked = check_units(
        units, districts=result.layers.get("districts"), source=str(plan.layers["units"].path)
    )
    result.layers["units"] = checked
    result.unit_checks = unit_checks(
        result.classified,
        checked,
        buildings=result.layers.get("buildings"),
        resettlement=result.resettlement,
        demand_by=_demand_by(plan),
        lang=plan.lang,
    )


def _demand_by(plan: Plan) -> str:
    """Return the parcels' column of the resettlement demand units (zones by name)."""
    demand_by = str(plan.resettlement.get("demand_by", "zone_id"))
    return "zone_name" if demand_by == "zone_id" else demand_by


def _progress(result: RunResult) -> None:
    from geo_renewal.fund import fund_balance
    from geo_renewal.ledger import read_ledger
    from geo_renewal.progress import project_progress

    plan = result.plan
    if plan.ledger is None and plan.weekly is None:
        return
    if plan.ledger is None and plan.weekly is not None:  # the store's snapshot of as_of
        from geo_renewal._weekly_run import store_ledger

        ledger = store_ledger(plan.weekly, plan.as_of)
    else:
        ledger = read_ledger(
            plan.ledger,
            projects=result.layers.get("projects"),
            sheet=plan.ledger_sheet,
            header_row=plan.ledger_header_row,  # [ledger] header_row, when detection is wrong
        )
    result.ledger = ledger
    result.progress = project_progress(ledger, as_of=plan.as_of, lang=plan.lang)
    from geo_renewal.cashflow import fund_inputs

    params = _fund_params(plan)
    money = fund_inputs(
        result.layers, ledger.table, params=params, options=plan.fund_options, as_of=plan.as_of
    )
    result.fund = fund_balance(ledger.table, params=params, **money)


def _fund_params(plan: Plan) -> FundParams:
    """
    Return the plan's fund parameters, with the resettlement's cash share when it gives one.

    The share of households taking cash (货币化安置比例) is one figure of the plan: the
    resettlement demand and the fund balance (flats built, temporary housing paid) use the
    same one, ``[resettlement] cash_share`` over the fund file's ``[resettlement]``.
    """
    from geo_renewal.fund_params import load_fund_params

    path = str(plan.fund_params) if plan.fund_params else None
    share = plan.resettlement.get("cash_share")
    if share is None:
        return load_fund_params(path)
    params = load_fund_params(path, overrides={"resettlement": {"cash_share": float(share)}})
    name = Path(path).name if path else "(defaults)"
    return dataclasses.replace(params, source=say("fund.source_plan_share", plan.lang, name=name))


def _maps(result: RunResult, out: Path) -> None:
    from geo_renewal._roles import in_role
    from geo_renewal.maps import renewal_map, save_map

    plan = result.plan
    districts = result.layers.get("districts")
    common: dict[str, Any] = {"districts": districts, "tiles": plan.tiles, "lang": plan.lang}
    zones = result.zones
    if zones is not None and "category" in zones.columns:
        zones = zones[~in_role(zones, "unchanged")]  # nothing to outline there
    m = renewal_map(
        result.classified,
        zones=zones,
        units=_units_for_map(result),
        layers=result.constraints or None,
        title=say("workflow.map.classes", plan.lang, name=plan.name),
        **common,
    )
    result.files["classification_map"] = save_map(
        m, out / OUTPUT_FILES["classification_map"], offline=plan.offline
    )
    if result.resettlement is not None:
        m = renewal_map(
            None,
            demand=result.resettlement.demand,
            sites=result.resettlement.sites,
            flows=result.resettlement.flows,
            title=say("workflow.map.resettlement", plan.lang, name=plan.name),
            **common,
        )
        result.files["resettlement_map"] = save_map(
            m, out / OUTPUT_FILES["resettlement_map"], offline=plan.offline
        )
    if result.progress is not None and "geometry" in result.progress.columns:
        from geo_renewal.supply import overdue_plot_layers

        m = renewal_map(
            None,
            projects=result.progress,
            layers=overdue_plot_layers(getattr(result.fund, "supply", None), lang=plan.lang),
            title=say(
                "workflow.map.progress", plan.lang, name=plan.name, as_of=plan.as_of.isoformat()
            ),
            **common,
        )
        result.files["progress_map"] = save_map(
            m, out / OUTPUT_FILES["progress_map"], offline=plan.offline
        )


def _units_for_map(result: RunResult) -> gpd.GeoDataFrame | None:
    """Return the checked renewal units with their 63号文 figures, for the map (None without)."""
    units = result.layers.get("units")
    if units is None or result.unit_checks is None:
        return units
    checks = result.unit_checks
    return units.join(checks[[c for c in checks.columns if c not in units.columns]], on="unit_id")


def workbook_tables(result: RunResult) -> dict[str, pd.DataFrame]:
    """
    Return the tables of a run's statistics workbook, one per sheet, in sheet order.

    Parameters
    ----------
    result
        A finished `run_plan` result.

    Returns
    -------
    tables
        Sheet name (in the run's language) -> table.
    """
    from geo_renewal.tables import caveat_sheet, findings_table

    lang = result.plan.lang
    tables = _SheetNames()
    for name, df in caveat_sheet(result.caveats().values(), lang=lang).items():
        tables[name] = df  # first: what a reader must know before the figures
    for key, df in result.stats.items():
        tables[_stats_sheet_name(key, lang)] = df
    tables[say("policy.sheet", lang)] = _policy_sheet(result)
    rs = result.resettlement
    if rs is not None:
        # the classification's own columns (rule ids, zone codes) are no part of a site list
        internal = ["geometry", "rule_id", "matched", "zone_id"]
        sites = pd.DataFrame(rs.sites.drop(columns=internal, errors="ignore"))
        tables[say("workflow.sheet.sites", lang)] = sites.reset_index(drop=True)
        tables[say("workflow.sheet.allocation", lang)] = rs.allocation
        tables[say("workflow.sheet.nearby_rates", lang)] = rs.rates
        if len(rs.unmet):
            tables[say("workflow.sheet.unmet", lang)] = rs.unmet
    if result.progress is not None:
        from geo_renewal.progress import progress_tables

        for name, df in progress_tables(
            result.progress,
            findings=None if result.ledger is None else result.ledger.findings,
            lang=result.plan.lang,
        ).items():
            tables[name[:31]] = df
    for name, df in ({} if result.weekly is None else result.weekly.tables(lang)).items():
        tables[name] = df  # 督办, decisions, 考核, households (geo_renewal.weekly)
    if result.fund is not None:
        from geo_renewal.fund import fund_tables

        for name, df in fund_tables(result.fund, lang=result.plan.lang).items():
            tables[name[:31]] = df
    findings = [
        findings_table(
            report.to_frame().assign(layer=role),
            lang=lang,
            first_row=result.layers[role].attrs.get("first_row"),
        )
        for role, report in result.validation.items()
        if len(report.findings)
    ]
    if findings:
        tables[say("workflow.sheet.validation", lang)] = pd.concat(findings, ignore_index=True)
    if result.comparison is not None:
        tables[say("compare.sheet", lang)] = result.comparison.table_for_sheet()
    tables.update(corridor_tables(result))  # [corridors]: the height checks
    return dict(tables)


class _SheetNames(dict[str, pd.DataFrame]):
    """Sheet name -> table, cut to Excel's 31 characters; a repeated name gets " (2)", …."""

    def __setitem__(self, name: str, df: pd.DataFrame) -> None:
        base, k = name[:31], 2
        name = base
        while name in self:  # never replace a sheet: two tables, two sheets
            suffix = f" ({k})"
            name, k = base[: 31 - len(suffix)] + suffix, k + 1
        super().__setitem__(name, df)


def _stats_sheet_name(key: str, lang: str) -> str:
    """Return the sheet name of the statistics grouped by `key` (按街道统计, …)."""
    from geo_renewal.schema import label
    from geo_renewal.text import MEETING_TEXT

    if f"workflow.sheet.by.{key}" in MEETING_TEXT:
        return say(f"workflow.sheet.by.{key}", lang)
    group = label(key, lang).split("（")[0].split(" (")[0]
    return say("workflow.sheet.by_group", lang, group=group)


#: Columns of the 63号文 sheet, in order (those the table has).
POLICY_COLUMNS = (
    "name",
    "class_mix",
    "verdict",
    "violations",
    "floor_area_m2",
    "demolish_floor_area_m2",
    "exempt_floor_area_m2",
    "demolition_share",
    "planned_floor_area_m2",
    "rebuild_ratio",
    "demolish_households",
    "flat_households",
    "nearby_households",
    "nearby_rate",
    "reason",
)


def _policy_sheet(result: RunResult) -> pd.DataFrame:
    """Return the 63号文 checks per renewal unit, or the sentence saying they need units."""
    checks = result.unit_checks
    if checks is None:
        return pd.DataFrame({"note": [say("policy.units_needed", result.plan.lang)]})
    return checks[[c for c in POLICY_COLUMNS if c in checks.columns]]


def run_plan(
    plan: Plan | str | Path,
    *,
    out_dir: str | Path | None = None,
    verbose: bool = False,
) -> RunResult:
    """
    Run a project file end to end and write its maps, workbook and meeting report.

    Parameters
    ----------
    plan
        A `Plan` or the path of a ``plan.toml`` (see `geo_renewal.plan`).
    out_dir
        Output folder; defaults to the plan's ``outputs.dir`` (relative to the current
        working directory).
    verbose
        If True, show a progress bar per step.

    Returns
    -------
    result
        Every intermediate product and the files written (`RunResult`).

    Notes
    -----
    The outputs are all or nothing (`geo_renewal._staging`): they are written into a staging
    folder next to `out_dir` and swapped in when every one is complete, ``manifest.json``
    (inputs, rule set, parameters, versions and outputs with their SHA-256) last. A run that
    fails or is interrupted leaves the previous outputs unchanged. Only the toolkit's own
    files in the folder are replaced; other files there are left alone.

    Raises
    ------
    InputError
        If the project file or any input is invalid; the message names the file and key.
        Also when the outputs cannot be written (permission, full disk): the previous
        outputs are then unchanged.

    Examples
    --------
    >>> import tempfile
    >>> from geo_renewal.datasets import get_path
    >>> result = run_plan(get_path("sample_plan"), out_dir=tempfile.mkdtemp())  # doctest: +SKIP
    >>> sorted(result.files)  # doctest: +SKIP
    ['classification_map', 'classified', 'progress_map', 'report', 'resettlement_map', 'workbook']
    """
    if not isinstance(plan, Plan):
        plan = load_plan(plan)
    out = Path(out_dir) if out_dir is not None else plan.out_dir
    result = RunResult(plan=plan)
    steps, unit = 13, say("workflow.step_unit", plan.lang)
    with _plan_crs(plan):  # noqa: SIM117 (one block per concern keeps the steps' indent)
        with Staging(out) as stage, tqdm(total=steps, disable=not verbose, unit=unit) as bar:
            inputs = _input_files(plan)  # hashed before anything is read
            tmp = stage.path
            _compute(result, bar)
            _step(result, bar, "maps", lambda: _writing(out, _maps, result, tmp))
            _step(result, bar, "corridors", lambda: _writing(out, run_corridors, result, tmp))
            _step(result, bar, "workbook", lambda: _writing(out, _write_outputs, result, tmp))
            _step(result, bar, "report", lambda: _writing(out, _report, result, tmp))
            _step(result, bar, "print", lambda: _writing(out, write_prints, result, tmp))
            _step(
                result,
                bar,
                "weekly_files",
                lambda: _writing(out, write_weekly_outputs, result, tmp),
            )
            stage.commit(_manifest(result, inputs))
    result.files = {name: out / path.name for name, path in result.files.items()}
    result.files["manifest"] = out / MANIFEST
    return result


def _compute(result: RunResult, bar: Any) -> None:
    """Run the computing steps, in order (each declared in `STEP_INPUTS`); write nothing."""
    _step(result, bar, "read", lambda: _read_layers(result))
    _step(result, bar, "classify", lambda: _classify(result))
    _step(result, bar, "statistics", lambda: _statistics(result))
    _step(result, bar, "resettlement", lambda: _resettlement(result))
    _step(result, bar, "units", lambda: _units(result))
    _step(result, bar, "progress", lambda: _progress(result))
    _step(result, bar, "weekly", lambda: weekly_step(result))


@contextlib.contextmanager
def _plan_crs(plan: Plan) -> Iterator[None]:
    """Use the plan's working CRS (if it names one) inside the block."""
    old_crs = settings.working_crs
    if plan.working_crs is not None:
        settings.working_crs = plan.working_crs
    try:
        yield
    finally:
        settings.working_crs = old_crs


def compute_plan(plan: Plan | str | Path, *, verbose: bool = False) -> RunResult:
    """
    Run the computing steps of a project file and write nothing.

    Reading and validation, classification, statistics, resettlement, the 63号文 checks and
    the ledger's progress and fund balance, exactly as `run_plan` computes them; no map,
    workbook or report is written.

    Parameters
    ----------
    plan
        A `Plan` or the path of a ``plan.toml``.
    verbose
        If True, show a progress bar per step.

    Returns
    -------
    result
        Every intermediate product (`RunResult`, ``files`` empty).

    Raises
    ------
    InputError
        If the project file or any input is invalid; the message names the file and key.

    Examples
    --------
    >>> from geo_renewal.datasets import get_path
    >>> result = compute_plan(get_path("sample_plan"))  # doctest: +SKIP
    >>> result.files  # doctest: +SKIP
    {}
    """
    if not isinstance(plan, Plan):
        plan = load_plan(plan)
    result, unit = RunResult(plan=plan), say("workflow.step_unit", plan.lang)
    with _plan_crs(plan), tqdm(total=len(STEP_INPUTS), disable=not verbose, unit=unit) as bar:
        _compute(result, bar)
    return result


def _writing(
    out: Path, write: Callable[[RunResult, Path], None], result: RunResult, tmp: Path
) -> None:
    """Run a writing step into the staging folder; a full disk or a refusal is one sentence."""
    try:
        write(result, tmp)
    except OSError as e:
        raise output_error(out, e) from e


def _write_outputs(result: RunResult, out: Path) -> None:
    from geo_renewal.io import atomic_write, write_layer
    from geo_renewal.tables import write_tables

    plan = result.plan
    result.files["workbook"] = write_tables(
        workbook_tables(result),
        out / OUTPUT_FILES["workbook"],
        lang=plan.lang,
        office=plan.office or plan.name,
        as_of=plan.as_of,
    )
    path = out / OUTPUT_FILES["classified"]
    with atomic_write(path) as tmp:  # both layers or neither: one file, renamed when complete
        write_layer(result.classified, tmp, layer="parcels")
        write_layer(result.zones, tmp, layer="zones")
    result.files["classified"] = path


def _report(result: RunResult, out: Path) -> None:
    from geo_renewal.report import meeting_report

    result.files["report"] = meeting_report(result, out / OUTPUT_FILES["report"])


def _input_files(plan: Plan) -> list[dict[str, Any]]:
    """Every input file of the plan with its size and SHA-256 (each file hashed once)."""
    items: list[tuple[str, Path | None, str | None]] = [("plan", plan.path, None)]
    items += [(f"layers.{r}", spec.path, spec.layer) for r, spec in plan.layers.items()]
    items += [(f"constraints.{n}", spec.path, spec.layer) for n, spec in plan.constraints.items()]
    items += [(f"rasters.{n}", path, None) for n, path in plan.rasters.items()]
    items += [("ledger", plan.ledger, plan.ledger_sheet), ("fund_params", plan.fund_params, None)]
    if Path(plan.rules).suffix.lower() == ".toml":
        items.append(("rules", Path(plan.rules), None))
    seen: dict[Path, dict[str, Any]] = {}
    entries = []
    for role, path, layer in items:
        if path is None:
            continue
        if path not in seen:
            seen[path] = file_entry(path)
        entries.append({"role": role, **({"layer": layer} if layer else {}), **seen[path]})
    return entries


def _manifest(result: RunResult, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """Build the run manifest (`Staging.commit` adds the outputs and the times)."""
    from geo_renewal.rules import load_rules

    plan = result.plan
    rules = load_rules(plan.rules, lang=plan.lang)
    return {
        "tool": "geo-renewal",
        "project": plan.name,
        "inputs": inputs,
        "rules": {
            "set": plan.rules,
            "name": rules.name,
            "source": rules.source,
            "n_rules": len(rules.rules),
            "params": rules.params,
            **_bundled_hash(rules.source),
        },
        "parameters": {
            "as_of": plan.as_of.isoformat(),
            "lang": plan.lang,
            "working_crs": str(settings.working_crs),
            "zone_dist": plan.zone_dist,
            "stats_by": list(plan.stats_by),
            "stats_how": plan.stats_how,
            "resettlement": dict(plan.resettlement),
            "ledger_sheet": plan.ledger_sheet,
            "ledger_header_row": (
                None if plan.ledger_header_row is None else list(plan.ledger_header_row)
            ),
            "tiles": plan.tiles,
            "offline": plan.offline,
            "floor_area_per_household": settings.floor_area_per_household,
            "persons_per_household": settings.persons_per_household,
            "nearby_dist": settings.nearby_dist,
        },
        "packages": package_versions(),
    }


def _bundled_hash(source: str) -> dict[str, str]:
    """Hash a bundled rule set (a rule file is hashed with the inputs)."""
    import hashlib
    import importlib.resources

    if not source.startswith("bundled:"):
        return {}
    res = importlib.resources.files("geo_renewal") / "rules" / f"{source[8:]}.toml"
    return {"sha256": hashlib.sha256(res.read_bytes()).hexdigest()}
