"""
Project files (``plan.toml``): one file that describes a whole renewal run.

A project file names the input layers, the rule set, raster constraints, resettlement and
fund parameters, the ledger and the outputs. `load_plan` reads and checks it, resolving
every path relative to the file's folder, and refuses a bad file with the key at fault and
the fix. `geo_renewal.workflow.run_plan` runs it.

The details are in the user guide, docs/guide/workflow.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from geo_renewal import _print_plan
from geo_renewal._checks import LANGS, did_you_mean
from geo_renewal._errors import InputError, RuleError
from geo_renewal._scenario_doc import BASE, scenario_error, split_scenarios
from geo_renewal._toml import read_toml
from geo_renewal.fund_params import FundOptions, fund_options_from_doc
from geo_renewal.ledger import _checked_header_row
from geo_renewal.tiles import plan_tiles
from geo_renewal.views import corridors_section
from geo_renewal.weekly import WeeklySpec, weekly_section_of

__all__ = ["LayerSpec", "Plan", "load_plan", "plan_from_doc"]

_SECTIONS = {
    "project": {"name", "as_of", "lang", "working_crs", "office"},
    "layers": None,  # free names, each a layer spec
    "constraints": None,
    "rasters": None,
    "rules": {"set", "zone_dist"},
    "stats": {"by", "how"},
    "resettlement": {
        "cash_share",
        "demand_by",
        "keep_together",
        "nearby_dist",
        "max_dist",
        "exclude_on_site",
    },
    "ledger": {"path", "sheet", "store", "header_row"},  # store: a LedgerStore (weekly)
    "weekly": None,  # checked by geo_renewal.weekly.weekly_section_of
    "fund": {"params", "compensation", "cashflow"},
    "outputs": {"dir", "tiles", "offline", "lang"},
    "print": None,  # checked by geo_renewal._print_plan.print_section
    "corridors": None,  # checked by geo_renewal.views.corridors_section
    "basemap": None,  # the office's own base map, checked by tiles.tile_source
}
_LAYER_KEYS = {"path", "layer", "kind", "crs", "encoding", "columns"}
_KNOWN_LAYERS = {"parcels", "districts", "projects", "sites", "buildings", "units"}
_KNOWN_LAYERS |= {"plots", "price_bands"}  # issue 16: sale plots, compensation price bands


@dataclass(frozen=True)
class LayerSpec:
    """
    Where and how to read one layer of a project file.

    Parameters
    ----------
    path
        Absolute path of the file.
    layer
        Layer name inside a multi-layer file, or None.
    kind
        Layer kind for column mapping (``"parcels"`` …), or None.
    crs, encoding
        Declarations passed to `read_layer`.
    columns
        Extra header mappings ``{"原字段": "canonical"}``.
    """

    path: Path
    layer: str | None = None
    kind: str | None = None
    crs: str | None = None
    encoding: str | None = None
    columns: dict[str, str] = field(default_factory=dict)

    def read_kwargs(self) -> dict[str, Any]:
        """Return the keyword arguments for `geo_renewal.io.read_layer`."""
        return {
            "layer": self.layer,
            "kind": self.kind,
            "crs": self.crs,
            "encoding": self.encoding,
            "columns": self.columns or None,
        }


@dataclass(frozen=True)
class Plan:
    """
    A checked project file; paths are absolute.

    Parameters
    ----------
    path
        The project file.
    name
        Project name for titles.
    as_of
        Date of the progress meeting.
    lang
        ``"zh"`` or ``"en"``.
    working_crs
        Working CRS override, or None.
    layers
        Input layers by role (``"parcels"``, ``"districts"``, …). ``"units"`` are the
        renewal units (更新单元 / 项目范围) the 63号文 checks are made on
        (`geo_renewal.units`); without them the outputs say that the checks need them.
    constraints
        Named constraint layers the rules refer to.
    rasters
        Named GeoTIFF paths the rules refer to.
    rules
        Bundled rule-set name or path.
    zone_dist
        Metres between parcels of one renewal zone.
    stats_by
        Columns to group statistics by.
    resettlement
        Keywords for `plan_resettlement`.
    ledger
        Ledger file, or None.
    ledger_sheet
        Sheet of an XLSX ledger, or None.
    ledger_header_row
        ``[ledger] header_row``: the header's spreadsheet row (from 1), or two consecutive
        rows of a two-row (merged) header; None to find it (title rows above are skipped).
    fund_params
        Fund-balance parameter file, or None for the bundled defaults.
    out_dir
        Output folder, relative to the project file's folder like every other path
        (a CLI ``--out`` still wins).
    tiles
        Base map of the HTML maps.
    offline
        Whether maps are self-contained.
    stats_how
        How parcels crossing a zone, street or project border are counted
        (`geo_renewal.stats.zone_stats` ``how``).
    office
        制表单位, the office issuing the tables (``project.office``), or None.
    scenario
        The scenario (方案) this plan is, or None for the file's own values.
    scenarios
        The file's ``[scenarios.NAME]``, each a checked plan with that scenario's values
        (`geo_renewal.scenarios`); empty in a scenario's own plan.
    print
        The ``[print]`` section (printed maps, atlases, deck, report PDF written by a run;
        `geo_renewal._print_plan.print_section`), or None.
    weekly
        The ledger store and the weekly meeting's settings (``[ledger] store`` and
        ``[weekly]``, `geo_renewal.weekly.weekly_section_of`), or None.
    fund_options
        ``[fund] compensation`` (scheme file) and ``cashflow`` (`geo_renewal.fund_params`).
    """

    path: Path
    name: str
    as_of: dt.date
    lang: str
    working_crs: str | None
    layers: dict[str, LayerSpec]
    constraints: dict[str, LayerSpec]
    rasters: dict[str, Path]
    rules: str
    zone_dist: float
    stats_by: tuple[str, ...]
    resettlement: dict[str, Any]
    ledger: Path | None
    ledger_sheet: str | None
    fund_params: Path | None
    out_dir: Path
    tiles: str
    offline: bool
    stats_how: str = "apportion"
    office: str | None = None
    scenario: str | None = None
    scenarios: dict[str, Plan] = field(default_factory=dict, repr=False)
    print: dict[str, Any] | None = None
    weekly: WeeklySpec | None = None
    corridors: Any = None  # views.CorridorSpec of [corridors], or None
    fund_options: FundOptions = field(default_factory=FundOptions)
    ledger_header_row: tuple[int, ...] | None = None  # [ledger] header_row, rows from 1


def _refuse(path: Path, key: str, problem: str, fix: str) -> InputError:
    return InputError(f"{path}: `{key}` {problem}; {fix}")


def _suggest(word: str, options: set[str] | list[str]) -> str:
    valid = ", ".join(sorted(options))
    return f"{did_you_mean(word, sorted(options))}valid keys: {valid}"


def _existing(base: Path, value: Any, path: Path, key: str) -> Path:
    if not isinstance(value, str) or not value:
        raise _refuse(path, key, f"must be a file path, got {value!r}", "write it as a string")
    p = Path(value)
    p = p if p.is_absolute() else (base / p)
    if not p.exists():
        msg = f"names {p}, which does not exist"
        raise _refuse(path, key, msg, "fix the path (relative paths start at the project file)")
    return p.resolve()


def _layer_spec(base: Path, spec: Any, path: Path, key: str) -> LayerSpec:
    if isinstance(spec, str):
        spec = {"path": spec}
    if not isinstance(spec, dict):
        raise _refuse(path, key, "must be a table", 'write e.g. `path = "parcels.gpkg"`')
    unknown = set(spec) - _LAYER_KEYS
    if unknown:
        bad = sorted(unknown)[0]
        raise _refuse(path, f"{key}.{bad}", "is not a layer key", _suggest(bad, _LAYER_KEYS))
    if "path" not in spec:
        raise _refuse(path, f"{key}.path", "is missing", "add the file of this layer")
    columns = spec.get("columns", {})
    if not isinstance(columns, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
    ):
        msg = "must map header names to canonical names"
        raise _refuse(path, f"{key}.columns", msg, 'write e.g. `{ "地块号" = "parcel_id" }`')
    for opt in ("layer", "kind", "crs", "encoding"):
        if opt in spec and not isinstance(spec[opt], str):
            msg = f"must be a string, got {spec[opt]!r}"
            raise _refuse(path, f"{key}.{opt}", msg, "quote the value")
    return LayerSpec(
        path=_existing(base, spec["path"], path, f"{key}.path"),
        layer=spec.get("layer"),
        kind=spec.get("kind"),
        crs=spec.get("crs"),
        encoding=spec.get("encoding"),
        columns=dict(columns),
    )


def _number(value: Any, path: Path, key: str, *, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        msg = f"must be a number from {lo:g} to {hi:g}, got {value!r}"
        raise _refuse(path, key, msg, "fix the value")
    return float(value)


def _choice(value: Any, options: tuple[str, ...], path: Path, key: str) -> str:
    if value not in options:
        valid = ", ".join(repr(o) for o in options)
        hint = did_you_mean(value, options)
        raise _refuse(path, key, f"must be one of {valid}, got {value!r}", f"{hint}fix it")
    return str(value)


def _typed(value: Any, kind: type | tuple[type, ...], path: Path, key: str, example: str) -> Any:
    if isinstance(value, bool) and kind is not bool:
        value = None  # true/false is not a number or text here
    if value is None or not isinstance(value, kind):
        raise _refuse(path, key, f"has the wrong type ({value!r})", f"write e.g. {example}")
    return value


def load_plan(path: str | Path, *, scenario: str | None = None) -> Plan:
    """
    Read and check a project file (``plan.toml``) completely, before anything runs.

    Every section, key and value is checked: files exist, numbers are in range, choices
    (languages, tile providers, statistics modes) are valid, the working CRS measures
    metres and the rule set loads, so that a run never fails minutes later on the file.
    Each ``[scenarios.NAME]`` table is merged over the file and checked the same way.

    Parameters
    ----------
    path
        The project file. Relative paths inside it start at its folder.
    scenario
        Return the plan of this scenario (``[scenarios.NAME]``) instead of the file's own
        values; None (or ``"base"``) for the file's own values.

    Returns
    -------
    plan
        The checked plan, with absolute paths (its ``scenarios`` hold the checked plan of
        every scenario).

    Raises
    ------
    InputError
        Naming the file, the key at fault and the fix: unknown sections or keys (with the
        closest valid one), missing files, wrong types, unknown choices or out-of-range
        numbers; in a scenario, the scenario's name and its key.

    Examples
    --------
    >>> from geo_renewal.datasets import get_path
    >>> plan = load_plan(get_path("sample_plan"))
    >>> plan.layers["parcels"].layer, plan.rules, plan.stats_how
    ('parcels', 'default', 'apportion')
    """
    path = Path(path)
    doc = read_toml(path, what="project file", hint="pass the path of a plan.toml")
    own, docs = split_scenarios(doc, path)
    plan = plan_from_doc(own, path=path)
    scenarios = {}
    for name, merged in docs.items():
        try:
            scenarios[name] = replace(plan_from_doc(merged, path=path), scenario=name)
        except InputError as e:
            raise scenario_error(e, path, name) from e
    plan = replace(plan, scenarios=scenarios)
    if scenario is None or scenario == BASE:
        return plan
    if scenario not in scenarios:
        from geo_renewal._checks import check_choice

        check_choice(scenario, [BASE, *scenarios], name="scenario")
    return scenarios[scenario]


def plan_from_doc(doc: dict[str, Any], *, path: str | Path) -> Plan:
    """
    Check a parsed project document completely and return its plan.

    The checks of `load_plan`, on a document already in memory (e.g. a scenario merged
    over the project file); ``[scenarios]`` is not read here.

    Parameters
    ----------
    doc
        The parsed TOML document.
    path
        The project file it stands for: relative paths start at its folder, messages name
        it.

    Returns
    -------
    plan
        The checked plan, with absolute paths.

    Raises
    ------
    InputError
        As `load_plan`.

    Examples
    --------
    >>> from geo_renewal.datasets import get_path
    >>> doc = {"layers": {"parcels": {"path": "sample_district.gpkg", "layer": "parcels"}},
    ...        "rules": {"set": "shenzhen"}}
    >>> plan_from_doc(doc, path=get_path("sample_plan")).rules
    'shenzhen'
    """
    path = Path(path)
    base = path.parent.resolve()
    _check_sections(doc, path)
    project, outputs = doc.get("project", {}), doc.get("outputs", {})
    layers, constraints, rasters = _layer_sections(doc, base, path)
    rule_set, zone_dist = _rules_section(doc.get("rules", {}), base, path)
    stats_by, stats_how = _stats_section(doc.get("stats", {}), path)
    ledger, fund = doc.get("ledger", {}), doc.get("fund", {})
    return Plan(
        path=path.resolve(),
        name=str(_typed(project.get("name", path.stem), str, path, "project.name", '"东关片区"')),
        as_of=_as_of(project.get("as_of", dt.date.today()), path),
        lang=_lang(project, outputs, path),
        working_crs=_working_crs(project.get("working_crs"), path),
        layers=layers,
        constraints=constraints,
        rasters=rasters,
        rules=rule_set,
        zone_dist=zone_dist,
        stats_by=stats_by,
        resettlement=_resettlement_section(doc.get("resettlement", {}), path),
        ledger=_existing(base, ledger["path"], path, "ledger.path") if "path" in ledger else None,
        ledger_sheet=(
            _typed(ledger["sheet"], str, path, "ledger.sheet", '"台账"')
            if "sheet" in ledger
            else None
        ),
        fund_params=(
            _existing(base, fund["params"], path, "fund.params") if "params" in fund else None
        ),
        fund_options=fund_options_from_doc(fund, base=base, source=path),
        out_dir=base / _typed(outputs.get("dir", "maps"), str, path, "outputs.dir", '"maps"'),
        tiles=_tiles(plan_tiles(doc, base, path), path),  # [basemap] / [outputs] tiles
        offline=_typed(outputs.get("offline", True), bool, path, "outputs.offline", "true"),
        stats_how=stats_how,
        weekly=weekly_section_of(doc, base, path),
        office=(
            _typed(project["office"], str, path, "project.office", '"某某区城市更新局"')
            if "office" in project
            else None
        ),
        print=_print_plan.print_section(doc.get("print"), path),
        ledger_header_row=_header_row(ledger.get("header_row"), path, "ledger.header_row"),
        corridors=corridors_section(doc.get("corridors"), base, path),
    )


def _header_row(value: Any, path: Path, key: str) -> tuple[int, ...] | None:
    """Check the header row(s) a planner gives (spreadsheet rows from 1) when detection errs."""
    try:
        return _checked_header_row(value)
    except InputError:
        msg = f"must be the spreadsheet row of the header (from 1), got {value!r}"
        raise _refuse(
            path, key, msg, "write e.g. `header_row = 3`, or [3, 4] for two rows"
        ) from None


def _check_sections(doc: dict[str, Any], path: Path) -> None:
    """Refuse unknown sections and keys, with the closest valid one."""
    for section, value in doc.items():
        if section not in _SECTIONS:
            raise _refuse(path, section, "is not a section", _suggest(section, set(_SECTIONS)))
        if not isinstance(value, dict):
            raise _refuse(path, section, "must be a table", f"write it as [{section}]")
        keys = _SECTIONS[section]
        if keys is not None:
            for k in value:
                if k not in keys:
                    raise _refuse(path, f"{section}.{k}", "is not a key", _suggest(k, keys))


def _as_of(as_of: Any, path: Path) -> dt.date:
    if isinstance(as_of, str):
        try:
            as_of = dt.date.fromisoformat(as_of)
        except ValueError as e:
            msg = f"is not a date: {as_of!r}"
            raise _refuse(path, "project.as_of", msg, "write it as 2026-11-20") from e
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    if not isinstance(as_of, dt.date):
        raise _refuse(path, "project.as_of", "is not a date", "write it as 2026-11-20")
    return as_of


def _lang(project: dict[str, Any], outputs: dict[str, Any], path: Path) -> str:
    key = "outputs.lang" if "lang" in outputs else "project.lang"
    lang = outputs.get("lang", project.get("lang", "zh"))
    if lang not in LANGS:
        raise _refuse(path, key, f"must be 'zh' or 'en', got {lang!r}", "fix it")
    return str(lang)


def _working_crs(value: Any, path: Path) -> str | None:
    """Check the working CRS: it exists and measures metres (None: chosen per layer)."""
    if value is None:
        return None
    from pyproj.exceptions import CRSError as ProjCRSError

    from geo_renewal.crs import _checked_setting

    example = 'write the city\'s grid, e.g. "EPSG:4548", or leave it out'
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _refuse(path, "project.working_crs", f"is not a CRS ({value!r})", example)
    try:
        _checked_setting(value)
    except ProjCRSError as e:
        raise _refuse(
            path, "project.working_crs", f"is not a known CRS ({value!r})", example
        ) from e
    except InputError as e:
        msg = "cannot measure metres: " + str(e).split(": ", 1)[-1].split(";")[0]
        raise _refuse(path, "project.working_crs", msg, example) from e
    return str(value)


def _tiles(value: Any, path: Path) -> str:
    from geo_renewal.tiles import check_tiles, tile_names

    if isinstance(value, str) and value not in tile_names():
        with contextlib.suppress(InputError):  # a registered base map, template or package
            return check_tiles(value)
    return _choice(value, tuple(tile_names()), path, "outputs.tiles")


def _layer_sections(
    doc: dict[str, Any], base: Path, path: Path
) -> tuple[dict[str, LayerSpec], dict[str, LayerSpec], dict[str, Path]]:
    """Check the input layers by role (parcels required), constraint layers and rasters."""
    layers = {
        name: _layer_spec(base, spec, path, f"layers.{name}")
        for name, spec in doc.get("layers", {}).items()
    }
    for name in layers:
        if name not in _KNOWN_LAYERS:
            msg = "is not a layer role (constraint layers go under [constraints.NAME])"
            raise _refuse(path, f"layers.{name}", msg, _suggest(name, _KNOWN_LAYERS))
    if "parcels" not in layers:
        msg = "is missing"
        raise _refuse(path, "layers.parcels", msg, 'add [layers.parcels] with path = "..."')
    layers = {
        name: spec if spec.kind else LayerSpec(**{**spec.__dict__, "kind": name})
        for name, spec in layers.items()
    }
    constraints = {
        name: _layer_spec(base, spec, path, f"constraints.{name}")
        for name, spec in doc.get("constraints", {}).items()
    }
    rasters = {
        name: _existing(base, p, path, f"rasters.{name}")
        for name, p in doc.get("rasters", {}).items()
    }
    return layers, constraints, rasters


def _rules_section(rules: dict[str, Any], base: Path, path: Path) -> tuple[str, float]:
    """Check the rule set (a bundled name or a file, loaded now) and the zone gap."""
    from geo_renewal.rules import load_rules

    rule_set = rules.get("set", "default")
    if not isinstance(rule_set, str):
        raise _refuse(path, "rules.set", "must be a name or path", 'write e.g. "default"')
    if rule_set.endswith(".toml"):
        rule_set = str(_existing(base, rule_set, path, "rules.set"))
    try:
        load_rules(rule_set)
    except RuleError as e:
        raise _refuse(path, "rules.set", f"cannot be used: {e}", "fix the rule set") from e
    zone_dist = _number(rules.get("zone_dist", 30), path, "rules.zone_dist", lo=0, hi=1000)
    return rule_set, zone_dist


def _stats_section(stats: dict[str, Any], path: Path) -> tuple[tuple[str, ...], str]:
    from geo_renewal.stats import HOW

    by = stats.get("by", ["street", "category"])
    by = [by] if isinstance(by, str) else by
    if not isinstance(by, list) or not all(isinstance(b, str) for b in by):
        raise _refuse(path, "stats.by", "must be a list of column names", 'write ["street"]')
    how = _choice(stats.get("how", "apportion"), HOW, path, "stats.how")
    return tuple(by), how


#: Keys of [resettlement] -> (type, example) or a number range.
_RESETTLEMENT_TYPES: dict[str, tuple[type, str]] = {
    "demand_by": (str, '"zone_id"'),
    "keep_together": (bool, "true"),
    "exclude_on_site": (bool, "false"),
}
_RESETTLEMENT_RANGES = {
    "cash_share": (0.0, 1.0),
    "nearby_dist": (0.0, 1e6),
    "max_dist": (0.0, 1e6),
}


def _resettlement_section(section: dict[str, Any], path: Path) -> dict[str, Any]:
    out = dict(section)
    for key, value in section.items():
        if key in _RESETTLEMENT_RANGES:
            lo, hi = _RESETTLEMENT_RANGES[key]
            _number(value, path, f"resettlement.{key}", lo=lo, hi=hi)
        elif key in _RESETTLEMENT_TYPES:
            kind, example = _RESETTLEMENT_TYPES[key]
            _typed(value, kind, path, f"resettlement.{key}", example)
    return out
