"""
Scenario comparison (方案比选): the ``[scenarios.NAME]`` of a project file run side by side.

`compare_scenarios` computes every scenario, doing the shared work once: reading and
validation, and every step whose inputs a scenario does not change (the step table
`geo_renewal.workflow.STEP_INPUTS`, applied by `geo_renewal._stepcache`). Each scenario's
figures are those of a run of it alone (``load_plan(path, scenario=NAME)``).
`write_comparison` writes the comparison workbook, the report with its comparison section,
a change map per scenario and a swipe map of two scenarios. See docs/guide/scenarios.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from geo_renewal._checks import check_choice
from geo_renewal._comparison import Comparison, class_changes, indicator_table
from geo_renewal._errors import InputError
from geo_renewal._scenario_doc import BASE
from geo_renewal._staging import Staging, file_entry, output_error, package_versions
from geo_renewal._stepcache import StepCache
from geo_renewal.plan import Plan, load_plan
from geo_renewal.text import say
from geo_renewal.workflow import OUTPUT_FIELDS, STEP_INPUTS, RunResult, compute_plan

__all__ = ["COMPARISON_FILES", "compare_scenarios", "scenario_names", "write_comparison"]

logger = logging.getLogger(__name__)

#: Output name -> file name of `write_comparison` (``{name}``: the compared scenario).
COMPARISON_FILES = {
    "comparison": "comparison.xlsx",
    "report": "report.html",
    "change_map": "change_{name}.html",
    "swipe_map": "swipe.html",
}


def scenario_names(plan: Plan, names: str | Sequence[str] | None = None) -> list[str]:
    """
    Return the scenarios to compare, the base (the file's own values) first.

    Parameters
    ----------
    plan
        A project file's plan.
    names
        Scenario names (a list, or ``"A,B"`` as the CLI takes them); None for all of them.
        The base is always compared and need not be named.

    Returns
    -------
    names
        ``["base", …]`` without repeats.

    Raises
    ------
    InputError
        For a name the file does not have (with the closest one).

    Examples
    --------
    >>> from geo_renewal.datasets import get_path
    >>> scenario_names(load_plan(get_path("sample_plan")), "cash50")
    ['base', 'cash50']
    """
    if names is None:
        return [BASE, *plan.scenarios]
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if not plan.scenarios:
        msg = (
            f"{plan.path} has no scenarios; add e.g. [scenarios.cash50.resettlement] with "
            "cash_share = 0.5 (docs/guide/scenarios.md)."
        )
        raise InputError(msg)
    for name in names:
        check_choice(name, [BASE, *plan.scenarios], name="scenarios")
    return list(dict.fromkeys([BASE, *names]))


def compare_scenarios(
    plan: Plan | str | Path,
    *,
    names: str | Sequence[str] | None = None,
    verbose: bool = False,
) -> Comparison:
    """
    Compute the scenarios of a project file, sharing the work they have in common.

    Reading and validation run once; every computing step runs once for all the
    scenarios that give it the same inputs (e.g. a scenario changing only
    ``resettlement.cash_share`` reuses reading, classification, statistics and the
    ledger's progress of the base). Each scenario's figures are those a run of it alone
    gives.

    Parameters
    ----------
    plan
        A `Plan` or the path of a ``plan.toml`` with ``[scenarios.NAME]`` tables.
    names
        The scenarios to compare (see `scenario_names`); None for all.
    verbose
        If True, show a progress bar per step and scenario.

    Returns
    -------
    comparison
        A `geo_renewal._comparison.Comparison`: the results by scenario (the base's
        ``comparison`` is set to it), the indicator table, the class changes, caveats and
        which steps were reused.

    Raises
    ------
    InputError
        If the file or a scenario is invalid (naming the scenario and its key), or a name
        is unknown.

    Examples
    --------
    >>> from geo_renewal.datasets import get_path
    >>> comp = compare_scenarios(get_path("sample_plan"), names="cash50")  # doctest: +SKIP
    >>> ("cash50", "classify") in comp.reused  # doctest: +SKIP
    True
    """
    if not isinstance(plan, Plan):
        plan = load_plan(plan)
    chosen = scenario_names(plan, names)
    plans = {name: plan if name == BASE else plan.scenarios[name] for name in chosen}
    cache = StepCache(STEP_INPUTS, ignored=OUTPUT_FIELDS)
    results: dict[str, RunResult] = {}
    with cache.active():
        for name, scenario_plan in plans.items():
            logger.info("scenario %s", name)
            results[name] = compute_plan(scenario_plan, verbose=verbose)
    lang = plan.lang
    base = results[BASE]
    comparison = Comparison(
        base=BASE,
        results=results,
        table=indicator_table(results, base=BASE, lang=lang),
        changes={
            n: class_changes(base.classified, r.classified)
            for n, r in results.items()
            if n != BASE
        },
        caveats=_caveats(results, lang),
        ran=list(cache.ran),
        reused=list(cache.reused),
        lang=lang,
    )
    base.comparison = comparison
    return comparison


def _caveats(results: dict[str, RunResult], lang: str) -> list[str]:
    """Return what a reader must know: caveats, classes, peak need, differing cash shares."""
    seen: dict[str, list[str]] = {}
    for name, result in results.items():
        for text in result.caveats().values():
            seen.setdefault(text, []).append(name)
    out = [
        text
        if len(names) == len(results)
        else say("compare.caveat_of", lang, names=say("compare.and", lang).join(names), text=text)
        for text, names in seen.items()
    ]
    from geo_renewal._comparison import INDICATORS, has_demolition_class

    for name, result in results.items():
        if not has_demolition_class(result):
            out.append(
                say("compare.no_demolition_class", lang, name=name, rules=result.plan.rules)
            )
    if any(INDICATORS["peak_financing"](r) is None for r in results.values()):
        out.append(say("compare.peak_not_computed", lang))
    for name, result in results.items():
        plan_share = result.plan.resettlement.get("cash_share", 0.3)
        if result.fund is not None and abs(result.fund.params.cash_share - plan_share) > 1e-9:
            out.append(
                say(
                    "compare.cash_share_mismatch",
                    lang,
                    name=name,
                    fund=result.fund.params.cash_share,
                    plan=plan_share,
                )
            )
    return out


def write_comparison(
    comparison: Comparison,
    out_dir: str | Path,
    *,
    swipe: Sequence[str] | None = None,
) -> dict[str, Path]:
    """
    Write a comparison: its workbook, report, change maps and swipe map, all or nothing.

    Parameters
    ----------
    comparison
        From `compare_scenarios`.
    out_dir
        The output folder; its earlier outputs are replaced only when every file is
        complete (`geo_renewal._staging`).
    swipe
        The two scenarios of the swipe map (left, right); default the base and the first
        other scenario.

    Returns
    -------
    files
        Output name -> path (``change_map:<name>`` per compared scenario, ``manifest``).

    Raises
    ------
    InputError
        For an unknown swipe scenario, or when the folder cannot be written (the previous
        outputs are then unchanged).

    Examples
    --------
    >>> import tempfile
    >>> from geo_renewal.datasets import get_path
    >>> comp = compare_scenarios(get_path("sample_plan"), names="cash50")  # doctest: +SKIP
    >>> sorted(write_comparison(comp, tempfile.mkdtemp()))  # doctest: +SKIP
    ['change_map:cash50', 'comparison', 'manifest', 'report', 'swipe_map']
    """
    from geo_renewal import _scenario_maps as sm

    pair = _swipe_pair(comparison, swipe)
    out = Path(out_dir)
    base = comparison.results[comparison.base]
    plan = base.plan
    files: dict[str, str] = {}
    with Staging(out) as stage:
        tmp = stage.path
        try:
            files["comparison"] = _write_workbook(comparison, tmp).name
            files["report"] = _write_report(base, tmp).name
            for name in comparison.names[1:]:
                path = tmp / COMPARISON_FILES["change_map"].format(name=name)
                files[f"change_map:{name}"] = sm.save_change_map(comparison, name, path).name
            if pair is not None:
                path = tmp / COMPARISON_FILES["swipe_map"]
                files["swipe_map"] = sm.save_swipe_map(comparison, *pair, path).name
        except OSError as e:
            raise output_error(out, e) from e
        stage.commit(_manifest(comparison, plan))
    paths = {key: out / name for key, name in files.items()}
    paths["manifest"] = out / "manifest.json"
    return paths


def _swipe_pair(comparison: Comparison, swipe: Sequence[str] | None) -> tuple[str, str] | None:
    names = comparison.names
    if swipe is None:  # the base and the first scenario that changes classes (else the first)
        if len(names) < 2:
            return None
        changed = [n for n in names[1:] if len(comparison.changes[n])]
        return names[0], (changed or names[1:])[0]
    if isinstance(swipe, str):
        swipe = [s.strip() for s in swipe.split(",")]
    if len(swipe) != 2:
        msg = f"`swipe` names two scenarios (left, right), got {list(swipe)!r}."
        raise InputError(msg)
    for name in swipe:
        check_choice(name, names, name="swipe")
    return swipe[0], swipe[1]


def _write_workbook(comparison: Comparison, folder: Path) -> Path:
    from geo_renewal.tables import caveat_sheet, write_tables

    lang = comparison.lang
    plan = comparison.results[comparison.base].plan
    tables: dict[str, pd.DataFrame] = dict(caveat_sheet(comparison.caveats, lang=lang))
    tables[say("compare.sheet", lang)] = comparison.table_for_sheet()
    tables[say("compare.changes_sheet", lang)] = _change_sheet(comparison)
    return write_tables(
        tables,
        folder / COMPARISON_FILES["comparison"],
        lang=lang,
        office=plan.office or plan.name,
        as_of=plan.as_of,
    )


def _change_sheet(comparison: Comparison) -> pd.DataFrame:
    """Return the changed parcels per scenario: scenario, class change, number of parcels."""
    lang = comparison.lang
    rows = [
        {
            say("compare.col.scenario", lang): name,
            say("compare.col.change", lang): comparison.change_label(str(change)),
            "n_parcels": int(n),
        }
        for name in comparison.names[1:]
        for change, n in comparison.change_counts(name).items()
    ]
    columns = [say("compare.col.scenario", lang), say("compare.col.change", lang), "n_parcels"]
    return pd.DataFrame(rows, columns=columns)


def _write_report(base: RunResult, folder: Path) -> Path:
    from geo_renewal.report import meeting_report

    plan = base.plan
    title = f"{plan.name} · {say('compare.title', plan.lang)}"
    return meeting_report(base, folder / COMPARISON_FILES["report"], title=title, embed_map=False)


def _manifest(comparison: Comparison, plan: Plan) -> dict[str, Any]:
    return {
        "tool": "geo-renewal",
        "command": "compare",
        "project": plan.name,
        "inputs": [{"role": "plan", **file_entry(plan.path)}],
        "scenarios": {
            name: {
                "ran": [s for n, s in comparison.ran if n == name],
                "reused": [s for n, s in comparison.reused if n == name],
            }
            for name in comparison.names
        },
        "packages": package_versions(),
    }
