"""
Ledger headers: the canonical ledger columns and how a sheet's headers map onto them.

Private to `geo_renewal.ledger` (format: ``docs/guide/ledger.md``). Headers are compared
after `geo_renewal._headers.normalise_header`; stage dates are recognised from the stage
labels (签约计划日期, ``signing_actual``); a header close to a ledger column the sheet
lacks is a warning with the suggestion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from geo_renewal import schema
from geo_renewal._checks import did_you_mean
from geo_renewal._errors import SchemaError
from geo_renewal._findings import Findings
from geo_renewal._headers import Header
from geo_renewal._headers import normalise_header as _normalise
from geo_renewal._ledger_cells import _IGNORED, _looks_like_dates

#: Canonical ledger columns (besides the stage dates), in output order.
LEDGER_COLUMNS: tuple[str, ...] = (
    "project_id",
    "name",
    "project_type",
    "street",
    "responsible_unit",
    "responsible_person",
    "households",
    "signed_households",
    "demolished_floor_area",
    "target_date",
    "start_date",
    "reported_stage",
)


_NUMERIC = ("households", "signed_households", "demolished_floor_area")


_DATES = ("target_date", "start_date")


_TEXT = ("project_id", "name", "project_type", "street", "responsible_unit", "responsible_person")


_STAGE_ZH = re.compile(r"^(?P<stage>.+?)(?P<kind>计划|实际)(?:完成|完成的)?(?:日期|时间)?$")


_STAGE_EN = re.compile(r"^(?P<stage>.+?)[_ ]?(?P<kind>planned|plan|actual)(?:[_ ]?date)?$")


_SPECIAL_STAGES = ("not_started", "done")


def _stage_lookup(registry: Mapping[str, tuple[str, str, str]]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for code, (zh, en, _colour) in registry.items():
        for spelling in (code, zh, en, en.replace(" ", "_")):
            lookup.setdefault(_normalise(spelling), code)
    return lookup


def _type_lookup(pipelines: Mapping[str, Sequence[str]]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for code in pipelines:
        lookup[_normalise(code)] = code
        if code in schema.CATEGORIES:
            cat = schema.CATEGORIES[code]
            lookup[_normalise(cat.zh)] = code
            lookup[_normalise(cat.en)] = code
    for spelling, code in schema.VALUE_ALIASES.get("project_type", {}).items():
        if code in pipelines:
            lookup.setdefault(_normalise(spelling), code)
    return lookup


def _header_lookups(
    registry: Mapping[str, tuple[str, str, str]],
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Normalised header -> canonical: ledger columns, general aliases, stage labels."""
    general = {_normalise(k): v for k, v in schema.column_aliases().items() if v in LEDGER_COLUMNS}
    special = {_normalise(c): c for c in LEDGER_COLUMNS}
    return special, general, _stage_lookup(registry)


def _known_header(registry: Mapping[str, tuple[str, str, str]]) -> Any:
    """Return a predicate telling whether a normalised header is a ledger column or stage date."""
    special, general, stage_lookup = _header_lookups(registry)

    def known(key: str) -> bool:
        if key in special or key in general:
            return True
        m = _STAGE_ZH.match(key) or _STAGE_EN.match(key)
        return m is not None and _normalise(m["stage"]) in stage_lookup

    return known


def _is_id_header(key: str) -> bool:
    return key == "project_id" or schema.column_aliases().get(key) == "project_id"


def _map_headers(
    raw: pd.DataFrame,
    keys: Mapping[Any, str],
    registry: Mapping[str, tuple[str, str, str]],
    findings: Findings,
) -> tuple[dict[Any, str], dict[str, str]]:
    """Return original header -> canonical name, and canonical -> original header."""
    special, general, stage_lookup = _header_lookups(registry)
    rename: dict[Any, str] = {}
    back: dict[str, str] = {}
    unmatched = []
    for col in raw.columns:
        key = keys.get(col, _normalise(col))
        canonical = special.get(key) or general.get(key)
        if canonical is None:
            m = _STAGE_ZH.match(key) or _STAGE_EN.match(key)
            if m:
                kind = "actual" if m["kind"] in ("实际", "actual") else "planned"
                stage = stage_lookup.get(_normalise(m["stage"]))
                if (stage is None or stage in _SPECIAL_STAGES) and not _looks_like_dates(
                    raw[col], key
                ):
                    continue  # e.g. 资金计划 (a plan amount): an ordinary extra column
                if stage is None or stage in _SPECIAL_STAGES:
                    valid = [
                        f"{v[0]} ({k})" for k, v in registry.items() if k not in _SPECIAL_STAGES
                    ]
                    findings.add(
                        "unknown_stage",
                        f"column {col!r} names unknown stage {m['stage']!r}; known stages are "
                        f"{', '.join(valid)}; rename the column or declare the stage with "
                        f"`stages={{code: (zh, en)}}` and add it to `pipelines`.",
                        column=str(col),
                        action=_IGNORED,
                    )
                    continue
                canonical = f"{stage}_{kind}"
        if canonical is None:
            unmatched.append((col, key))
            continue
        if canonical in back:
            findings.add(
                "duplicate_column",
                f"columns {back[canonical]!r} and {col!r} both mean {canonical!r}; "
                f"the first is used, remove or rename the other.",
                column=str(col),
                action=_IGNORED,
            )
            continue
        rename[col] = canonical
        back[canonical] = str(col)
    _near_misses(unmatched, {**general, **special}, back, findings)
    return rename, back


def _near_misses(
    unmatched: Sequence[tuple[Any, str]],
    spellings: Mapping[str, str],
    back: Mapping[str, str],
    findings: Findings,
) -> None:
    """Report headers that look like a ledger column the sheet lacks, with the suggestion."""
    missing = {k: v for k, v in spellings.items() if v not in back}
    for col, key in unmatched:
        if not key or str(col).startswith("Unnamed:"):
            continue
        hint = did_you_mean(key, missing)
        if not hint:
            continue
        close = hint.split("`")[1]
        findings.add(
            "unknown_header",
            f"column {str(col)!r} is not a ledger column and is kept as an extra column; "
            f"{hint}(that header means {missing[close]}: rename the column if it holds it).",
            severity="warning",
            column=str(col),
            action="kept as an extra column",
        )


def _require_id_column(
    back: Mapping[str, str], raw: pd.DataFrame, source: str, header: Header
) -> None:
    if "project_id" not in back:
        at = " and ".join(str(r + 1) for r in header.rows)
        spellings = [k for k, v in schema.column_aliases().items() if v == "project_id"]
        hint = next(
            (
                f"column {str(c)!r} looks like one: rename it; "
                for c in raw.columns
                if did_you_mean(_normalise(c), spellings)
            ),
            "",
        )
        msg = (
            f"ledger {source} has no project id column; expected 项目编号 or project_id among "
            f"the headers of row {at}: {[str(c) for c in raw.columns]}; {hint}if the header "
            f"is in another row, pass `header_row=` (--header-row; in plan.toml "
            "`[ledger] header_row = 3`)."
        )
        raise SchemaError(msg)
