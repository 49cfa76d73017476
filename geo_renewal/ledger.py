"""
Project ledger (台账): read a ledger spreadsheet, check it, and join it to project polygons.

The ledger format (headers in Chinese or English, stage pipelines, dates) and the checks are
described in the guide, ``docs/guide/ledger.md``. Progress on a date is `geo_renewal.progress`,
deadlines set backwards (倒排工期) are `geo_renewal.schedule` (their names stay importable
from here); reading cells is `geo_renewal._ledger_cells`.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal import schema
from geo_renewal._errors import InputError, SchemaError
from geo_renewal._findings import Findings
from geo_renewal._ledger_cells import (
    _BLANKED,
    _IGNORED,
    _fmt,
    _isna,
    _looks_like_dates,
    _parse_date,
    _parse_dates,
    _parse_numbers,
    _report,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["LEDGER_COLUMNS", "Ledger", "read_ledger"]

logger = logging.getLogger(__name__)

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

#: Names that moved to `geo_renewal.progress` and `geo_renewal.schedule`; importable here.
_MOVED = {
    "compare_ledgers": "progress",
    "progress_summary": "progress",
    "progress_tables": "progress",
    "project_progress": "progress",
    "backward_schedule": "schedule",
    "compare_schedule": "schedule",
}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(f"geo_renewal.{module}"), name)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Ledger:
    """
    A ledger read by `read_ledger`: the table, what is wrong with it, and its pipelines.

    Attributes
    ----------
    table
        One row per ledger row, in file order, with canonical columns (`LEDGER_COLUMNS`),
        ``<stage>_planned`` / ``<stage>_actual`` dates for every stage of every pipeline,
        any other columns of the file unchanged, ``ledger_row`` (spreadsheet row number)
        and, when polygons were given, ``has_polygon`` and ``geometry`` (a GeoDataFrame
        in the polygons' CRS; rows without a polygon have an empty geometry).
    findings
        One row per problem, with the columns of every findings table
        (`geo_renewal._findings.FINDING_COLUMNS`): ``row`` (spreadsheet row, header = 1;
        missing for problems of a column or a polygon), ``id`` (the project id),
        ``column`` (the header as written in the file), ``problem`` (a code),
        ``severity`` (error / warning), ``action`` (what the reader did), ``message``
        and ``value`` (the offending cell as text). Sorted by row; findings without a
        row come last.
    pipelines
        Project type code -> stage codes, in order.
    stages
        Stage code -> (zh label, en label, colour) for every stage known to the ledger.
    unmatched_projects
        Project polygons whose id has no ledger row (None when no polygons were given).
    source
        The file read, or None for a DataFrame.
    """

    table: pd.DataFrame
    findings: pd.DataFrame
    pipelines: dict[str, tuple[str, ...]]
    stages: dict[str, tuple[str, str, str]] = field(repr=False)
    unmatched_projects: gpd.GeoDataFrame | None = field(default=None, repr=False)
    source: str | None = None

    @property
    def ok(self) -> bool:
        """True when the ledger has no error-level findings."""
        return not (self.findings["severity"] == "error").any()

    @property
    def errors(self) -> pd.DataFrame:
        """The error-level findings."""
        return self.findings[self.findings["severity"] == "error"]

    def __repr__(self) -> str:
        n_err = int((self.findings["severity"] == "error").sum())
        n_warn = int((self.findings["severity"] == "warning").sum())
        src = f" from {self.source}" if self.source else ""
        return f"<Ledger{src}: {len(self.table)} projects, {n_err} errors, {n_warn} warnings>"


# --------------------------------------------------------------------------- reading


def _normalise(header: Any) -> str:
    return re.sub(r"\s+", "", str(header)).strip().lower()


def _stage_registry(
    stages: Mapping[str, Sequence[str]] | None,
) -> dict[str, tuple[str, str, str]]:
    registry = dict(schema.STAGES)
    for code, spec in (stages or {}).items():
        spec = tuple(spec)
        if len(spec) not in (2, 3):
            msg = (
                f"`stages[{code!r}]` must be (zh label, en label) or (zh, en, colour); "
                f"got {spec!r}."
            )
            raise InputError(msg)
        registry[code] = (spec[0], spec[1], spec[2] if len(spec) == 3 else "#999999")
    return registry


def _resolve_pipelines(
    pipelines: Mapping[str, Sequence[str]] | None,
    registry: Mapping[str, tuple[str, str, str]],
) -> dict[str, tuple[str, ...]]:
    resolved = (
        dict(schema.PIPELINES)
        if pipelines is None
        else {k: tuple(v) for k, v in pipelines.items()}
    )
    lookup = _stage_lookup(registry)
    out: dict[str, tuple[str, ...]] = {}
    for ptype, stage_list in resolved.items():
        codes = []
        for s in stage_list:
            code = lookup.get(_normalise(s))
            if code is None or code in _SPECIAL_STAGES:
                valid = [c for c in registry if c not in _SPECIAL_STAGES]
                msg = (
                    f"`pipelines[{ptype!r}]` names unknown stage {s!r}; valid stages are "
                    f"{valid}; declare new ones with `stages={{code: (zh, en)}}`."
                )
                raise InputError(msg)
            codes.append(code)
        if len(set(codes)) != len(codes):
            msg = f"`pipelines[{ptype!r}]` repeats a stage: {codes}."
            raise InputError(msg)
        if not codes:
            msg = f"`pipelines[{ptype!r}]` is empty; give at least one stage."
            raise InputError(msg)
        out[ptype] = tuple(codes)
    return out


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


def _read_frame(path: Path, sheet: str | int | None) -> tuple[pd.DataFrame, str]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        try:
            book = pd.ExcelFile(path)
        except Exception as e:
            msg = f"cannot open ledger workbook {path}: {e}; save it as .xlsx or CSV."
            raise InputError(msg) from e
        with book:
            names = book.sheet_names
            if sheet is None:
                chosen: str | int = "台账" if "台账" in names else names[0]
            elif isinstance(sheet, int) or sheet in names:
                chosen = sheet
            else:
                msg = f"ledger workbook {path} has no sheet {sheet!r}; its sheets are {names}."
                raise InputError(msg)
            df = pd.read_excel(book, sheet_name=chosen, dtype=object)
        logger.info("read ledger %s, sheet %s: %d rows", path, chosen, len(df))
        return df, f"{path} [{chosen}]"
    if suffix in (".csv", ".txt", ".tsv"):
        sep = "\t" if suffix == ".tsv" else ","
        last: Exception | None = None
        for enc in ("utf-8-sig", "gb18030"):
            try:
                df = pd.read_csv(
                    path, dtype=str, keep_default_na=False, encoding=enc, sep=sep, na_filter=False
                )
            except UnicodeDecodeError as e:
                last = e
                continue
            logger.info("read ledger %s (%s): %d rows", path, enc, len(df))
            return df.astype(object), str(path)
        msg = f"cannot decode ledger {path} as UTF-8 or GBK ({last}); save it as UTF-8 CSV."
        raise InputError(msg)
    msg = f"ledger {path} has unsupported extension {suffix!r}; use .csv or .xlsx."
    raise InputError(msg)


def _map_headers(
    raw: pd.DataFrame,
    registry: Mapping[str, tuple[str, str, str]],
    findings: Findings,
) -> tuple[dict[Any, str], dict[str, str]]:
    """Return original header -> canonical name, and canonical -> original header."""
    general = schema.column_aliases()
    special = {_normalise(c): c for c in LEDGER_COLUMNS}
    stage_lookup = _stage_lookup(registry)
    rename: dict[Any, str] = {}
    back: dict[str, str] = {}
    for col in raw.columns:
        key = _normalise(col)
        canonical = special.get(key)
        if canonical is None and general.get(key) in LEDGER_COLUMNS:
            canonical = general[key]
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
    return rename, back


def _read_projects(projects: gpd.GeoDataFrame | str | Path, layer: str | None) -> gpd.GeoDataFrame:
    import geopandas as gpd

    if isinstance(projects, gpd.GeoDataFrame):
        gdf = projects
    else:
        try:
            from geo_renewal.io import read_layer
        except ImportError:  # pragma: no cover - io.py is part of the package
            gdf = gpd.read_file(projects, layer=layer)
        else:
            gdf = read_layer(projects, layer=layer, kind="projects")
    if "project_id" not in gdf.columns:
        lookup = schema.column_aliases()
        found = [c for c in gdf.columns if lookup.get(_normalise(c)) == "project_id"]
        if not found:
            msg = (
                f"`projects` has no project id column (项目编号 / project_id); its columns are "
                f"{list(gdf.columns)}; rename the id column to project_id."
            )
            raise SchemaError(msg)
        gdf = gdf.rename(columns={found[0]: "project_id"})
    return gdf


def read_ledger(
    path: str | Path | pd.DataFrame,
    *,
    projects: gpd.GeoDataFrame | str | Path | None = None,
    projects_layer: str | None = None,
    pipelines: Mapping[str, Sequence[str]] | None = None,
    stages: Mapping[str, Sequence[str]] | None = None,
    sheet: str | int | None = None,
) -> Ledger:
    """
    Read a project ledger (台账) from CSV or XLSX, check it, and join it to project polygons.

    Headers may be Chinese or English (see ``docs/guide/ledger.md``). Every cell problem is
    reported in `Ledger.findings` with its spreadsheet row and column; nothing is dropped:
    rows with problems stay in the table (an unreadable cell becomes blank), rows without a
    polygon get an empty geometry, and polygons without a row are kept in
    `Ledger.unmatched_projects`.

    Checks: missing or duplicate project ids, unknown project type, unknown stage (a stage
    column no pipeline knows, a date for a stage outside the project's pipeline, or an
    unknown ``当前阶段``), unparseable dates and numbers, negative counts, signed households
    exceeding households, actual dates out of stage order (a later stage finished before an
    earlier one), planned dates out of order, a stage finished while an earlier one is not,
    and a ``当前阶段`` that disagrees with the dates.

    Parameters
    ----------
    path
        A ``.csv`` (UTF-8 with or without BOM, or GBK) or ``.xlsx`` file, or a DataFrame
        laid out the same way.
    projects
        Project polygons (GeoDataFrame or a file path) with a ``project_id`` column
        (or 项目编号).
    projects_layer
        Layer of `projects` to read when it is a multi-layer file.
    pipelines
        Project type code -> ordered stage codes (or stage labels). Defaults to
        `schema.PIPELINES`.
    stages
        Extra stages: code -> (zh label, en label[, colour]).
    sheet
        Workbook sheet; defaults to the sheet named 台账, else the first.

    Returns
    -------
    ledger
        A `Ledger`: ``ledger.table`` (a GeoDataFrame when `projects` is given),
        ``ledger.findings`` and the pipelines used.

    Raises
    ------
    InputError
        If the file cannot be read, or `pipelines` / `stages` are malformed.
    SchemaError
        If the ledger has no project id column, or no project type column and the
        polygons carry none either.

    See Also
    --------
    project_progress : Where each project stands on a given day.

    Examples
    --------
    >>> raw = pd.DataFrame({
    ...     "项目编号": ["A", "B", "B"], "类型": ["征收拆迁", "保留提升", "保留提升"],
    ...     "户数": [100, 40, 40], "已签约户数": [120, 0, 0],
    ...     "签约计划日期": ["2024-03-01", None, None], "签约实际日期": ["2024-02-20", None, None],
    ... })
    >>> ledger = read_ledger(raw)
    >>> ledger.findings[["row", "problem"]].to_dict("records")
    [{'row': 2, 'problem': 'signed_exceeds_households'}, {'row': 4, 'problem': 'duplicate_id'}]
    >>> ledger.table.loc[0, "signing_actual"]
    Timestamp('2024-02-20 00:00:00')
    """
    registry = _stage_registry(stages)
    resolved = _resolve_pipelines(pipelines, registry)
    raw, source = _raw_ledger(path, sheet)
    findings = Findings(np.arange(len(raw)) + 2)  # spreadsheet row numbers, header = 1
    rename, back = _map_headers(raw, registry, findings)
    findings.headers = back
    _require_id_column(back, raw, source)
    canon = {v: raw[k] for k, v in rename.items()}
    file_stages = [c.rsplit("_", 1)[0] for c in back if c.endswith(("_planned", "_actual"))]
    df = _text_columns(raw, canon)
    findings.ids = df["project_id"].to_numpy(dtype=object)
    _value_columns(df, canon, resolved, file_stages, findings)
    for c in raw.columns:
        if c not in rename:
            df[str(c)] = raw[c]
    df["ledger_row"] = findings.labels

    _check_ids(df, findings)
    df["project_type"] = _check_types(df, resolved, findings, has_col="project_type" in canon)
    _check_counts(df, findings)
    _check_stage_dates(df, resolved, registry, findings, file_stages)
    _check_reported_stage(df, resolved, registry, findings)
    unmatched = None
    if projects is not None:
        polygons = _read_projects(projects, projects_layer)
        df, unmatched = _join_projects(df, polygons, resolved, findings)
    _require_types(
        df, resolved, source, has_col="project_type" in canon, joined=projects is not None
    )
    _check_missing_types(df, resolved, findings)

    result = Ledger(
        table=_ordered(df),
        findings=_findings_frame(findings),
        pipelines=resolved,
        stages=registry,
        unmatched_projects=unmatched,
        source=source,
    )
    logger.info("%r", result)
    return result


def _raw_ledger(
    path: str | Path | pd.DataFrame, sheet: str | int | None
) -> tuple[pd.DataFrame, str | None]:
    """Read the spreadsheet as text cells, without blank rows and blank unnamed columns."""
    if isinstance(path, pd.DataFrame):
        raw, source = path.copy().astype(object), None
    else:
        p = Path(path)
        if not p.exists():
            msg = f"ledger file {p} does not exist; check the path."
            raise InputError(msg)
        raw, source = _read_frame(p, sheet)
    raw = raw.dropna(how="all").reset_index(drop=True)
    raw = raw.loc[:, [not str(c).startswith("Unnamed:") or raw[c].notna().any() for c in raw]]
    return raw, source


def _require_id_column(back: Mapping[str, str], raw: pd.DataFrame, source: str | None) -> None:
    if "project_id" not in back:
        msg = (
            f"ledger {source or '(DataFrame)'} has no project id column; expected 项目编号 or "
            f"project_id among its headers {[str(c) for c in raw.columns]}."
        )
        raise SchemaError(msg)


def _text_or_none(v: Any) -> str | None:
    return None if _isna(v) or str(v).strip() == "" else str(v).strip()


def _text_columns(raw: pd.DataFrame, canon: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Return the text columns (`_TEXT`): stripped strings, None for blanks."""
    df = pd.DataFrame(index=raw.index)
    for col in _TEXT:
        if col in canon:
            s = canon[col].map(_text_or_none)
            df[col] = s.astype("str").where(s.notna(), None) if len(s) else s.astype("str")
        else:
            df[col] = pd.Series([None] * len(raw), index=raw.index, dtype="str")
    ids = canon["project_id"].map(
        lambda v: None if _isna(v) or str(v).strip() == "" else _id_text(v)
    )
    df["project_id"] = ids.astype("str").where(ids.notna(), None) if len(ids) else df["project_id"]
    return df


def _value_columns(
    df: pd.DataFrame,
    canon: Mapping[str, pd.Series],
    pipelines: Mapping[str, Sequence[str]],
    file_stages: Sequence[str],
    findings: Findings,
) -> None:
    """Add the numbers, dates, stage dates and reported stage to `df`, reporting bad cells."""
    index = df.index
    for col in _NUMERIC:
        df[col] = (
            _parse_numbers(canon[col], col, findings)
            if col in canon
            else pd.Series(np.nan, index=index)
        )
    all_stages = list(dict.fromkeys(s for p in pipelines.values() for s in p))
    stage_cols = [
        f"{stage}_{kind}"
        for stage in [*all_stages, *[s for s in file_stages if s not in all_stages]]
        for kind in ("planned", "actual")
    ]
    for col in [*_DATES, *stage_cols]:
        df[col] = (
            _parse_dates(canon[col], col, findings)
            if col in canon
            else pd.Series(pd.NaT, index=index, dtype="datetime64[us]")
        )
    if "reported_stage" in canon:
        df["reported_stage"] = canon["reported_stage"].map(_text_or_none)
    else:
        df["reported_stage"] = None


def _require_types(
    df: pd.DataFrame,
    pipelines: Mapping[str, Sequence[str]],
    source: str | None,
    *,
    has_col: bool,
    joined: bool,
) -> None:
    """Refuse a ledger without project types (neither a column nor the polygons give them)."""
    if not (has_col or (joined and df["project_type"].notna().any())):
        msg = (
            f"ledger {source or '(DataFrame)'} has no project type column (类型 / project_type) "
            f"and the polygons give none; add it with values "
            f"{[schema.label(t) for t in pipelines]}."
        )
        raise SchemaError(msg)


def _check_missing_types(
    df: pd.DataFrame, pipelines: Mapping[str, Sequence[str]], findings: Findings
) -> None:
    flagged = _flag_rows(findings, "unknown_type", df)
    pos = np.flatnonzero((df["project_type"].isna() & ~flagged).to_numpy())
    valid = [schema.label(t) for t in pipelines]
    message = "row {row}: project type is blank; fill in one of {valid}."
    _report(findings, pos, "missing_type", message, column="project_type", valid=str(valid))


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    order = [c for c in LEDGER_COLUMNS if c in df.columns]
    return df[order + [c for c in df.columns if c not in order]]


def _findings_frame(findings: Findings) -> pd.DataFrame:
    """Return the findings sorted by row (spreadsheet rows as integers; row-less last)."""
    frame = findings.frame(sort_by_row=True)
    frame["row"] = frame["row"].astype("Int64")
    return frame


def _id_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _flag_rows(findings: Findings, problem: str, df: pd.DataFrame) -> pd.Series:
    frame = findings.frame()
    flagged = set(frame.loc[frame["problem"] == problem, "row"].dropna())
    return df["ledger_row"].isin(flagged)


def _check_ids(df: pd.DataFrame, findings: Findings) -> None:
    ids = df["project_id"].to_numpy(dtype=object)
    pos = np.flatnonzero(df["project_id"].isna().to_numpy())
    message = "row {row}: project id (项目编号) is blank; fill it in."
    _report(findings, pos, "missing_id", message, column="project_id")
    dup = df["project_id"].notna() & df["project_id"].duplicated(keep=False)
    first_row = df.loc[dup].groupby("project_id")["ledger_row"].min()
    pos = np.flatnonzero((dup & df["project_id"].duplicated(keep="first")).to_numpy())
    _report(
        findings,
        pos,
        "duplicate_id",
        "row {row}: project id {value!r} already appears in row {first}; "
        "give each project one row (merge or renumber).",
        column="project_id",
        values=ids[pos],
        first=[first_row[pid] for pid in ids[pos]],
    )


def _check_types(
    df: pd.DataFrame,
    pipelines: Mapping[str, Sequence[str]],
    findings: Findings,
    *,
    has_col: bool,
) -> pd.Series:
    lookup = _type_lookup(pipelines)
    raw = df["project_type"]
    codes = raw.map(lambda v: None if v is None or _isna(v) else lookup.get(_normalise(v)))
    if has_col:
        valid = [f"{schema.label(t)} ({t})" if t in schema.CATEGORIES else t for t in pipelines]
        pos = np.flatnonzero((raw.notna() & codes.isna()).to_numpy())
        _report(
            findings,
            pos,
            "unknown_type",
            "row {row}, column {header!r}: unknown project type {value!r}; valid types are "
            "{valid} (or pass `pipelines=`).",
            column="project_type",
            action=_BLANKED,
            values=raw.to_numpy(dtype=object)[pos],
            valid=", ".join(valid),
        )
    return codes.astype("str").where(codes.notna(), None) if len(codes) else codes


def _check_counts(df: pd.DataFrame, findings: Findings) -> None:
    pos = np.flatnonzero((df["signed_households"] > df["households"]).to_numpy())
    _report(
        findings,
        pos,
        "signed_exceeds_households",
        "row {row}: signed households ({value}) exceed households ({households:g}); "
        "correct either figure.",
        column="signed_households",
        values=[f"{v:g}" for v in df["signed_households"].to_numpy()[pos]],
        households=df["households"].to_numpy()[pos],
    )


def _check_stage_dates(
    df: pd.DataFrame,
    pipelines: Mapping[str, Sequence[str]],
    registry: Mapping[str, tuple[str, str, str]],
    findings: Findings,
    file_stages: Sequence[str],
) -> None:
    """Check every type's stage dates: stages of its pipeline only, in order, none skipped."""
    present = list(dict.fromkeys(file_stages))
    for ptype, stage_list in pipelines.items():
        in_type = (df["project_type"] == ptype).fillna(False).to_numpy()
        if not in_type.any():
            continue
        chain = " → ".join(registry[s][0] for s in stage_list)
        _check_foreign_stages(df, in_type, ptype, stage_list, present, registry, findings, chain)
        for kind in ("actual", "planned"):
            _check_stage_order(df, in_type, stage_list, kind, registry, findings, chain)
        _check_skipped_stages(df, in_type, stage_list, registry, findings)
        _check_plan_target(df, in_type, stage_list, registry, findings)


def _check_foreign_stages(
    df: pd.DataFrame,
    in_type: np.ndarray,
    ptype: str,
    stage_list: Sequence[str],
    present: Sequence[str],
    registry: Mapping[str, tuple[str, str, str]],
    findings: Findings,
    chain: str,
) -> None:
    """Report dates given for stages outside the type's pipeline."""
    for stage in [s for s in present if s not in stage_list]:
        for kind in ("planned", "actual"):
            col = f"{stage}_{kind}"
            pos = np.flatnonzero(in_type & df[col].notna().to_numpy())
            _report(
                findings,
                pos,
                "stage_not_in_pipeline",
                "row {row}, column {header!r}: stage {label} ({stage}) is not a stage of "
                "{ptype} projects ({chain}); clear the date or correct the project type.",
                column=col,
                values=[_fmt(df[col].iloc[i]) for i in pos],
                label=registry[stage][0],
                stage=stage,
                ptype=schema.label(ptype),
                chain=chain,
            )


def _check_stage_order(
    df: pd.DataFrame,
    in_type: np.ndarray,
    stage_list: Sequence[str],
    kind: str,
    registry: Mapping[str, tuple[str, str, str]],
    findings: Findings,
    chain: str,
) -> None:
    """Report `kind` (actual / planned) dates before the date of an earlier stage."""
    latest = pd.Series(pd.NaT, index=df.index, dtype="datetime64[us]")
    latest_stage = pd.Series(None, index=df.index, dtype=object)
    for stage in stage_list:
        col = f"{stage}_{kind}"
        cur = df[col]
        pos = np.flatnonzero(in_type & (cur < latest).fillna(False).to_numpy())
        _report(
            findings,
            pos,
            f"{kind}_out_of_order",
            "row {row}: {kind} date of {label} ({value}, column {header!r}) is before the "
            "{kind} date of the earlier stage {earlier} ({earlier_date}); stages run in the "
            "order {chain}; correct the dates.",
            column=col,
            values=[_fmt(cur.iloc[i]) for i in pos],
            kind=kind,
            label=registry[stage][0],
            earlier=[registry[latest_stage.iloc[i]][0] for i in pos],
            earlier_date=[_fmt(latest.iloc[i]) for i in pos],
            chain=chain,
        )
        newer = cur.notna() & (latest.isna() | (cur > latest))
        latest = latest.where(~newer, cur)
        latest_stage = latest_stage.where(~newer, stage)


def _check_skipped_stages(
    df: pd.DataFrame,
    in_type: np.ndarray,
    stage_list: Sequence[str],
    registry: Mapping[str, tuple[str, str, str]],
    findings: Findings,
) -> None:
    """Warn about a stage finished while an earlier stage has no actual date."""
    missing_before = pd.Series(None, index=df.index, dtype=object)
    for stage in stage_list:
        col = f"{stage}_actual"
        pos = np.flatnonzero(in_type & (df[col].notna() & missing_before.notna()).to_numpy())
        _report(
            findings,
            pos,
            "stage_skipped",
            "row {row}: {label} has an actual date but the earlier stage {earlier} has none; "
            "fill in its actual date (progress counts the project as still in that stage).",
            column=col,
            severity="warning",
            values=[_fmt(df[col].iloc[i]) for i in pos],
            label=registry[stage][0],
            earlier=[registry[missing_before.iloc[i]][0] for i in pos],
        )
        missing_before = missing_before.where(missing_before.notna() | df[col].notna(), stage)


def _check_plan_target(
    df: pd.DataFrame,
    in_type: np.ndarray,
    stage_list: Sequence[str],
    registry: Mapping[str, tuple[str, str, str]],
    findings: Findings,
) -> None:
    """Warn when the last stage is planned after the target date."""
    last = f"{stage_list[-1]}_planned"
    pos = np.flatnonzero(in_type & (df["target_date"] < df[last]).fillna(False).to_numpy())
    _report(
        findings,
        pos,
        "plan_after_target",
        "row {row}: planned date of {label} ({value}) is after the target date ({target}); "
        "the plan cannot meet the target.",
        column=last,
        severity="warning",
        values=[_fmt(df[last].iloc[i]) for i in pos],
        label=registry[stage_list[-1]][0],
        target=[_fmt(df["target_date"].iloc[i]) for i in pos],
    )


def _check_reported_stage(
    df: pd.DataFrame,
    pipelines: Mapping[str, Sequence[str]],
    registry: Mapping[str, tuple[str, str, str]],
    findings: Findings,
) -> None:
    if df["reported_stage"].isna().all():
        return
    lookup = _stage_lookup(registry)
    pos, values, names = [], [], []
    for i, value in enumerate(df["reported_stage"].tolist()):
        if value is None or _isna(value):
            continue
        code = lookup.get(_normalise(value))
        ptype = df["project_type"].iloc[i]
        stage_list = pipelines.get(ptype, ()) if isinstance(ptype, str) else ()
        allowed = [*stage_list, *_SPECIAL_STAGES]
        if code is None or (stage_list and code not in allowed):
            pos.append(i)
            values.append(value)
            names.append(", ".join(registry[s][0] for s in allowed))
    _report(
        findings,
        pos,
        "unknown_stage",
        "row {row}, column {header!r}: unknown stage {value!r} for this project; "
        "valid stages are {names}.",
        column="reported_stage",
        values=values,
        names=names,
    )


def _join_projects(
    df: pd.DataFrame,
    polygons: gpd.GeoDataFrame,
    pipelines: Mapping[str, Sequence[str]],
    findings: Findings,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Join the polygons on project id; report rows without and polygons without a partner."""
    import geopandas as gpd

    polys = polygons.copy()
    polys["project_id"] = polys["project_id"].map(lambda v: None if _isna(v) else _id_text(v))
    polys_by_id = _polygons_by_id(polys, findings)
    gname = polys_by_id.geometry.name
    geoms = df["project_id"].map(polys_by_id[gname])
    has_polygon = df["project_id"].isin(polys_by_id.index) & df["project_id"].notna()
    out = _fill_from_polygons(df, polys_by_id, pipelines, findings)
    pos = np.flatnonzero((~has_polygon & out["project_id"].notna()).to_numpy())
    _report(
        findings,
        pos,
        "no_polygon",
        "row {row}: project {pid!r} has no polygon in the projects layer; it is kept without "
        "geometry and will not show on maps.",
        severity="warning",
        action="kept without geometry",
        pid=out["project_id"].to_numpy(dtype=object)[pos],
    )
    out["has_polygon"] = has_polygon.to_numpy()
    gdf = gpd.GeoDataFrame(
        out, geometry=gpd.GeoSeries(geoms.to_numpy(), index=out.index), crs=polys.crs
    )
    gdf = gdf.rename_geometry("geometry") if gdf.geometry.name != "geometry" else gdf
    unmatched = polys.loc[polys["project_id"].isna() | ~polys["project_id"].isin(df["project_id"])]
    pids = unmatched["project_id"].tolist()
    findings.add_many(
        "no_ledger_row",
        [
            f"project polygon {pid!r} has no ledger row; add a row for it or remove the polygon "
            f"(kept in `ledger.unmatched_projects`)."
            for pid in pids
        ],
        ids=pids,
        severity="warning",
        action="kept in ledger.unmatched_projects",
    )
    return gdf, unmatched


def _polygons_by_id(polys: gpd.GeoDataFrame, findings: Findings) -> gpd.GeoDataFrame:
    """Index the polygons by project id, merging the polygons of a repeated id (warned)."""
    import geopandas as gpd

    dup = polys["project_id"].notna() & polys["project_id"].duplicated(keep=False)
    if not dup.any():
        return polys.loc[polys["project_id"].notna()].set_index("project_id")
    pids = polys.loc[dup, "project_id"].unique().tolist()
    counts = polys["project_id"].value_counts()
    findings.add_many(
        "duplicate_polygon",
        [
            f"project {pid!r} has {int(counts[pid])} polygons; they are merged into one "
            f"multipolygon."
            for pid in pids
        ],
        ids=pids,
        severity="warning",
        action="merged",
    )
    geom = polys.loc[polys["project_id"].notna()].dissolve(by="project_id")
    attrs = polys.loc[polys["project_id"].notna()].drop_duplicates("project_id")
    attrs = attrs.set_index("project_id").drop(columns=polys.geometry.name)
    return gpd.GeoDataFrame(
        attrs.join(geom[[geom.geometry.name]]), geometry=geom.geometry.name, crs=polys.crs
    )


def _fill_from_polygons(
    df: pd.DataFrame,
    polys_by_id: gpd.GeoDataFrame,
    pipelines: Mapping[str, Sequence[str]],
    findings: Findings,
) -> pd.DataFrame:
    """Fill blank name, street and type from the polygons; the ledger's type wins (warned)."""
    out = df.copy()
    type_lookup = _type_lookup(pipelines)
    for col in ("name", "street", "project_type"):
        if col not in polys_by_id.columns:
            continue
        poly_val = df["project_id"].map(polys_by_id[col])
        if col == "project_type":
            poly_val = poly_val.map(
                lambda v: None if _isna(v) else type_lookup.get(_normalise(v), str(v))
            )
            conflict = out[col].notna() & poly_val.notna() & (out[col] != poly_val)
            pos = np.flatnonzero(conflict.fillna(False).to_numpy())
            _report(
                findings,
                pos,
                "type_mismatch",
                "row {row}: ledger type {ledger} differs from the polygon's {polygon}; the "
                "ledger's is used, correct one of them.",
                column=col,
                severity="warning",
                action="ledger value used",
                values=[poly_val.iloc[i] for i in pos],
                ledger=[schema.label(out[col].iloc[i]) for i in pos],
                polygon=[schema.label(poly_val.iloc[i]) for i in pos],
            )
        fill = out[col].isna() & poly_val.notna()
        if fill.any():
            out[col] = out[col].astype(object).where(~fill, poly_val).astype("str")
            out.loc[out[col].isin(["None", "nan"]), col] = None
    return out


# --------------------------------------------------------------------------- progress


def _as_timestamp(value: Any, name: str) -> pd.Timestamp:
    parsed = _parse_date(value)
    if parsed is None or parsed is pd.NaT:
        msg = f"`{name}` must be a date such as '2024-06-30'; got {value!r}."
        raise InputError(msg)
    return parsed


def _ledger_parts(
    ledger: Ledger | pd.DataFrame,
    pipelines: Mapping[str, Sequence[str]] | None,
    stages: Mapping[str, Sequence[str]] | None = None,
) -> tuple[pd.DataFrame, dict[str, tuple[str, ...]], dict[str, tuple[str, str, str]]]:
    if isinstance(ledger, Ledger):
        registry = {**ledger.stages, **_stage_registry(stages)} if stages else ledger.stages
        resolved = (
            ledger.pipelines if pipelines is None else _resolve_pipelines(pipelines, registry)
        )
        return ledger.table, resolved, registry
    if not isinstance(ledger, pd.DataFrame):
        msg = f"`ledger` must be a Ledger from read_ledger or a DataFrame; got {type(ledger)}."
        raise InputError(msg)
    registry = _stage_registry(stages)
    resolved = _resolve_pipelines(pipelines, registry)
    missing = [c for c in ("project_id", "project_type") if c not in ledger.columns]
    if missing:
        msg = (
            f"`ledger` is missing columns {missing}; read the file with `read_ledger` "
            f"or rename the columns."
        )
        raise SchemaError(msg)
    return ledger, resolved, registry
