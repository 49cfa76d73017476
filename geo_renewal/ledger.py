"""
Project ledger (台账): stages, deadlines, signing rates, and what moved since last meeting.

A district runs its renewal as a list of projects. Each has a ledger row with a person
responsible, household counts, and a planned and an actual date for every stage of its
pipeline (DOMAIN.md §4). This module reads such ledgers, tells where every project stands
on a given day, sets deadlines backwards from the target date (倒排工期), and compares two
ledgers.

Ledger format
-------------
One row per project; headers in Chinese or English (canonical name in brackets):

===============================  =========================================================
项目编号 (project_id)              project identifier, joins to the project polygons
项目名称 (name)                    display name
类型 (project_type)                征收拆迁 / 保留提升, or a category code (`schema.CATEGORIES`)
街道 (street)                      street / sub-district
责任单位 (responsible_unit)        responsible unit
责任人 (responsible_person)        person responsible
户数 (households)                  households concerned
已签约户数 (signed_households)      households that have signed
拆除建筑面积 (demolished_floor_area) floor area to demolish [m²]
目标日期 (target_date)             date the whole project must be done by
启动日期 (start_date)              optional; before it a project is "not started"
当前阶段 (reported_stage)          optional; the stage the ledger claims (checked)
<阶段>计划日期 (<stage>_planned)    planned completion date of a stage, e.g. 签约计划日期
<阶段>实际日期 (<stage>_actual)     actual completion date of a stage, blank until reached
===============================  =========================================================

The stage pipeline of each project type is configurable (`pipelines=`); the default is
`schema.PIPELINES`: 签约 → 拆除 → 组卷报批 → 供地 → 开工 for 征收拆迁 and 方案 → 施工 → 竣工验收
for 保留提升. Further stages are declared with ``stages={"survey": ("测绘", "Survey")}``.

Dates are read from Excel dates or text such as ``2024-03-01``, ``2024/3/1``, ``2024.3.1``,
``2024年3月1日`` and ``20240301``. Every problem is reported with the spreadsheet row number
(the header is row 1) and the column header as written in the file; no row is dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal import schema
from geo_renewal._checks import check_lang
from geo_renewal._errors import InputError, SchemaError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "LEDGER_COLUMNS",
    "Ledger",
    "backward_schedule",
    "compare_ledgers",
    "compare_schedule",
    "progress_summary",
    "progress_tables",
    "project_progress",
    "read_ledger",
]

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
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_BLANKS = frozenset({"", "-", "—", "/", "无", "nan", "nat", "none", "null", "n/a"})

_SPECIAL_STAGES = ("not_started", "done")
_SEVERITIES = ("error", "warning")
_FINDING_COLUMNS = ("row", "project_id", "column", "problem", "severity", "message")


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
        One row per problem: ``severity`` (error / warning), ``row`` (spreadsheet row,
        header = 1; missing for problems of a column or a polygon), ``project_id``,
        ``column`` (the header as written in the file), ``problem`` (a code) and
        ``message``.
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


class _Findings:
    """Collects findings; each one names the row, the column as written, and the problem."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self.rows: list[dict[str, Any]] = []
        self.headers = headers

    def header(self, col: str) -> str:
        return self.headers.get(col, col)

    def add(
        self,
        problem: str,
        message: str,
        *,
        severity: str = "error",
        row: int | None = None,
        project_id: Any = None,
        column: str | None = None,
    ) -> None:
        self.rows.append(
            {
                "severity": severity,
                "row": row,
                "project_id": None if _isna(project_id) else str(project_id),
                "column": None if column is None else self.header(column),
                "problem": problem,
                "message": message,
            }
        )

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows, columns=list(_FINDING_COLUMNS))
        df["_order"] = df["row"].fillna(10**9)
        df = df.sort_values("_order", kind="stable").drop(columns="_order")
        df["row"] = df["row"].astype("Int64")
        for c in ("severity", "project_id", "column", "problem", "message"):
            df[c] = df[c].astype("str") if len(df) else pd.Series([], dtype="str")
            df.loc[df[c].isin(["None", "nan"]), c] = None
        return df.reset_index(drop=True)


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


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
    findings: _Findings,
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
            )
            continue
        rename[col] = canonical
        back[canonical] = str(col)
    return rename, back


def _looks_like_dates(values: pd.Series, key: str) -> bool:
    """Tell whether a column is a date column: named so, or all its filled cells are dates."""
    if re.search(r"(日期|时间|date)$", key):
        return True
    filled = [v for v in values.tolist() if not _isna(v) and str(v).strip().lower() not in _BLANKS]
    return bool(filled) and all(_parse_date(v) is not None for v in filled)


def _parse_date(v: Any) -> pd.Timestamp | None:
    """Return a midnight Timestamp, NaT for blank, or None if unparseable."""
    if v is None or v is pd.NaT:
        return pd.NaT
    if isinstance(v, pd.Timestamp | dt.datetime | dt.date):
        return pd.Timestamp(v).normalize()
    if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
        if np.isnan(v):
            return pd.NaT
        if float(v).is_integer() and 19_000_101 <= v <= 21_001_231:
            v = str(int(v))
        elif 1 <= v < 80_000:  # Excel serial day number
            return pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(v))
        else:
            return None
    s = str(v).strip()
    if s.lower() in _BLANKS:
        return pd.NaT
    s = re.split(r"[ T]", s, maxsplit=1)[0] if re.match(r"^\d{4}\D", s) else s
    m = _DATE_RE.match(s)
    if m is None and re.fullmatch(r"\d{8}", s):
        m = re.match(r"^(\d{4})(\d{2})(\d{2})$", s)
    if m is None:
        return None
    try:
        return pd.Timestamp(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _parse_dates(
    raw: pd.Series, col: str, rows: np.ndarray, ids: pd.Series, findings: _Findings
) -> pd.Series:
    cache: dict[Any, Any] = {}
    out = []
    for i, v in enumerate(raw.tolist()):
        key = (type(v).__name__, str(v))
        if key not in cache:
            cache[key] = _parse_date(v)
        parsed = cache[key]
        if parsed is None:
            findings.add(
                "bad_date",
                f"row {rows[i]}, column {findings.header(col)!r}: cannot read {v!r} as a date; "
                f"write it as 2024-03-01 or leave it blank.",
                row=int(rows[i]),
                project_id=ids.iloc[i],
                column=col,
            )
            parsed = pd.NaT
        out.append(parsed)
    return pd.Series(pd.to_datetime(pd.Series(out, dtype=object)), index=raw.index, name=col)


def _parse_numbers(
    raw: pd.Series, col: str, rows: np.ndarray, ids: pd.Series, findings: _Findings
) -> pd.Series:
    text = raw.map(lambda v: v if not isinstance(v, str) else v.strip())
    text = text.map(
        lambda v: (
            re.sub(r"(,|，|\s|户|㎡|m2|平方米)", "", v, flags=re.IGNORECASE)
            if isinstance(v, str)
            else v
        )
    )
    blank = text.map(lambda v: _isna(v) or (isinstance(v, str) and v.lower() in _BLANKS))
    values = pd.to_numeric(text.where(~blank, None), errors="coerce").astype(float)
    bad = values.isna() & ~blank
    for i in np.flatnonzero(bad.to_numpy()):
        findings.add(
            "bad_number",
            f"row {rows[i]}, column {findings.header(col)!r}: {raw.iloc[i]!r} is not a number; "
            f"write a plain number or leave it blank.",
            row=int(rows[i]),
            project_id=ids.iloc[i],
            column=col,
        )
    neg = values < 0
    for i in np.flatnonzero(neg.to_numpy()):
        findings.add(
            "negative_value",
            f"row {rows[i]}, column {findings.header(col)!r}: {raw.iloc[i]!r} is negative; "
            f"counts and areas must be ≥ 0.",
            row=int(rows[i]),
            project_id=ids.iloc[i],
            column=col,
        )
    return values.rename(col)


def _fmt(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d")


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

    Headers may be Chinese or English (see the module docstring). Every cell problem is
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
    if isinstance(path, pd.DataFrame):
        raw, source = path.copy(), None
        raw = raw.astype(object)
    else:
        p = Path(path)
        if not p.exists():
            msg = f"ledger file {p} does not exist; check the path."
            raise InputError(msg)
        raw, source = _read_frame(p, sheet)
    raw = raw.dropna(how="all").reset_index(drop=True)
    raw = raw.loc[:, [not str(c).startswith("Unnamed:") or raw[c].notna().any() for c in raw]]
    findings = _Findings({})
    rename, back = _map_headers(raw, registry, findings)
    findings.headers = back
    if "project_id" not in back:
        msg = (
            f"ledger {source or '(DataFrame)'} has no project id column; expected 项目编号 or "
            f"project_id among its headers {[str(c) for c in raw.columns]}."
        )
        raise SchemaError(msg)
    rows = np.arange(len(raw)) + 2  # spreadsheet row numbers, header = 1
    extra_cols = [c for c in raw.columns if c not in rename]
    df = pd.DataFrame(index=raw.index)
    ids = raw[next(k for k, v in rename.items() if v == "project_id")].map(
        lambda v: None if _isna(v) or str(v).strip() == "" else _id_text(v)
    )
    canon = {v: raw[k] for k, v in rename.items()}

    for col in _TEXT:
        if col in canon:
            s = canon[col].map(
                lambda v: None if _isna(v) or str(v).strip() == "" else str(v).strip()
            )
            df[col] = s.astype("str").where(s.notna(), None) if len(s) else s.astype("str")
        else:
            df[col] = pd.Series([None] * len(raw), index=raw.index, dtype="str")
    df["project_id"] = ids.astype("str").where(ids.notna(), None) if len(ids) else df["project_id"]
    for col in _NUMERIC:
        df[col] = (
            _parse_numbers(canon[col], col, rows, df["project_id"], findings)
            if col in canon
            else pd.Series(np.nan, index=raw.index)
        )
    for col in _DATES:
        df[col] = (
            _parse_dates(canon[col], col, rows, df["project_id"], findings)
            if col in canon
            else pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]")
        )
    all_stages = list(dict.fromkeys(s for p in resolved.values() for s in p))
    file_stages = [c.rsplit("_", 1)[0] for c in back if c.endswith(("_planned", "_actual"))]
    for stage in [*all_stages, *[s for s in file_stages if s not in all_stages]]:
        for kind in ("planned", "actual"):
            col = f"{stage}_{kind}"
            df[col] = (
                _parse_dates(canon[col], col, rows, df["project_id"], findings)
                if col in canon
                else pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]")
            )
    if "reported_stage" in canon:
        df["reported_stage"] = canon["reported_stage"].map(
            lambda v: None if _isna(v) or str(v).strip() == "" else str(v).strip()
        )
    else:
        df["reported_stage"] = None
    for c in extra_cols:
        df[str(c)] = raw[c]
    df["ledger_row"] = rows

    _check_ids(df, findings)
    df["project_type"] = _check_types(df, resolved, findings, has_col="project_type" in canon)
    _check_counts(df, findings)
    _check_stage_dates(df, resolved, registry, findings, file_stages)
    _check_reported_stage(df, resolved, registry, findings)

    unmatched = None
    if projects is not None:
        df, unmatched = _join_projects(
            df, _read_projects(projects, projects_layer), resolved, findings
        )
    missing_type = df["project_type"].isna() & ~_flag_rows(findings, "unknown_type", df)
    if not (
        "project_type" in canon or (projects is not None and df["project_type"].notna().any())
    ):
        msg = (
            f"ledger {source or '(DataFrame)'} has no project type column (类型 / project_type) "
            f"and the polygons give none; add it with values "
            f"{[schema.label(t) for t in resolved]}."
        )
        raise SchemaError(msg)
    for i in np.flatnonzero(missing_type.to_numpy()):
        findings.add(
            "missing_type",
            f"row {rows[i]}: project type is blank; fill in one of "
            f"{[schema.label(t) for t in resolved]}.",
            row=int(rows[i]),
            project_id=df["project_id"].iloc[i],
            column="project_type",
        )
    order = [c for c in LEDGER_COLUMNS if c in df.columns]
    order += [c for c in df.columns if c not in order]
    table = df[order]
    result = Ledger(
        table=table,
        findings=findings.frame(),
        pipelines=resolved,
        stages=registry,
        unmatched_projects=unmatched,
        source=source,
    )
    logger.info("%r", result)
    return result


def _id_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _flag_rows(findings: _Findings, problem: str, df: pd.DataFrame) -> pd.Series:
    flagged = {f["row"] for f in findings.rows if f["problem"] == problem}
    return df["ledger_row"].isin(flagged)


def _check_ids(df: pd.DataFrame, findings: _Findings) -> None:
    rows = df["ledger_row"].to_numpy()
    for i in np.flatnonzero(df["project_id"].isna().to_numpy()):
        findings.add(
            "missing_id",
            f"row {rows[i]}: project id (项目编号) is blank; fill it in.",
            row=int(rows[i]),
            column="project_id",
        )
    dup = df["project_id"].notna() & df["project_id"].duplicated(keep=False)
    first_row = df.loc[dup].groupby("project_id")["ledger_row"].min()
    for i in np.flatnonzero((dup & df["project_id"].duplicated(keep="first")).to_numpy()):
        pid = df["project_id"].iloc[i]
        findings.add(
            "duplicate_id",
            f"row {rows[i]}: project id {pid!r} already appears in row {first_row[pid]}; "
            f"give each project one row (merge or renumber).",
            row=int(rows[i]),
            project_id=pid,
            column="project_id",
        )


def _check_types(
    df: pd.DataFrame,
    pipelines: Mapping[str, Sequence[str]],
    findings: _Findings,
    *,
    has_col: bool,
) -> pd.Series:
    lookup = _type_lookup(pipelines)
    raw = df["project_type"]
    codes = raw.map(lambda v: None if v is None or _isna(v) else lookup.get(_normalise(v)))
    if not has_col:
        return codes.astype("str").where(codes.notna(), None) if len(codes) else codes
    valid = [f"{schema.label(t)} ({t})" if t in schema.CATEGORIES else t for t in pipelines]
    rows = df["ledger_row"].to_numpy()
    for i in np.flatnonzero((raw.notna() & codes.isna()).to_numpy()):
        findings.add(
            "unknown_type",
            f"row {rows[i]}, column {findings.header('project_type')!r}: unknown project type "
            f"{raw.iloc[i]!r}; valid types are {', '.join(valid)} (or pass `pipelines=`).",
            row=int(rows[i]),
            project_id=df["project_id"].iloc[i],
            column="project_type",
        )
    return codes.astype("str").where(codes.notna(), None) if len(codes) else codes


def _check_counts(df: pd.DataFrame, findings: _Findings) -> None:
    over = df["signed_households"] > df["households"]
    rows = df["ledger_row"].to_numpy()
    for i in np.flatnonzero(over.to_numpy()):
        findings.add(
            "signed_exceeds_households",
            f"row {rows[i]}: signed households ({df['signed_households'].iloc[i]:g}) exceed "
            f"households ({df['households'].iloc[i]:g}); correct either figure.",
            row=int(rows[i]),
            project_id=df["project_id"].iloc[i],
            column="signed_households",
        )


def _check_stage_dates(
    df: pd.DataFrame,
    pipelines: Mapping[str, Sequence[str]],
    registry: Mapping[str, tuple[str, str, str]],
    findings: _Findings,
    file_stages: Sequence[str],
) -> None:
    rows = df["ledger_row"].to_numpy()
    ids = df["project_id"]
    present = list(dict.fromkeys(file_stages))
    for ptype, stage_list in pipelines.items():
        in_type = (df["project_type"] == ptype).fillna(False).to_numpy()
        if not in_type.any():
            continue
        # Dates given for stages outside this type's pipeline.
        for stage in present:
            if stage in stage_list:
                continue
            for kind in ("planned", "actual"):
                col = f"{stage}_{kind}"
                has = in_type & df[col].notna().to_numpy()
                for i in np.flatnonzero(has):
                    findings.add(
                        "stage_not_in_pipeline",
                        f"row {rows[i]}, column {findings.header(col)!r}: stage "
                        f"{registry[stage][0]} ({stage}) is not a stage of "
                        f"{schema.label(ptype)} projects "
                        f"({' → '.join(registry[s][0] for s in stage_list)}); "
                        f"clear the date or correct the project type.",
                        row=int(rows[i]),
                        project_id=ids.iloc[i],
                        column=col,
                    )
        for kind, problem in (
            ("actual", "actual_out_of_order"),
            ("planned", "planned_out_of_order"),
        ):
            latest = pd.Series(pd.NaT, index=df.index, dtype="datetime64[us]")
            latest_stage = pd.Series(None, index=df.index, dtype=object)
            for stage in stage_list:
                col = f"{stage}_{kind}"
                cur = df[col]
                bad = in_type & (cur < latest).fillna(False).to_numpy()
                for i in np.flatnonzero(bad):
                    prev = latest_stage.iloc[i]
                    findings.add(
                        problem,
                        f"row {rows[i]}: {kind} date of {registry[stage][0]} "
                        f"({_fmt(cur.iloc[i])}, column {findings.header(col)!r}) is before the "
                        f"{kind} date of the earlier stage {registry[prev][0]} "
                        f"({_fmt(latest.iloc[i])}); stages run in the order "
                        f"{' → '.join(registry[s][0] for s in stage_list)}; correct the dates.",
                        row=int(rows[i]),
                        project_id=ids.iloc[i],
                        column=col,
                    )
                newer = cur.notna() & (latest.isna() | (cur > latest))
                latest = latest.where(~newer, cur)
                latest_stage = latest_stage.where(~newer, stage)
        # A stage finished while an earlier stage has no actual date.
        missing_before = pd.Series(None, index=df.index, dtype=object)
        for stage in stage_list:
            col = f"{stage}_actual"
            skipped = in_type & (df[col].notna() & missing_before.notna()).to_numpy()
            for i in np.flatnonzero(skipped):
                findings.add(
                    "stage_skipped",
                    f"row {rows[i]}: {registry[stage][0]} has an actual date but the earlier "
                    f"stage {registry[missing_before.iloc[i]][0]} has none; fill in its actual "
                    f"date (progress counts the project as still in that stage).",
                    severity="warning",
                    row=int(rows[i]),
                    project_id=ids.iloc[i],
                    column=col,
                )
            missing_before = missing_before.where(missing_before.notna() | df[col].notna(), stage)
        # Target date before the last planned stage.
        last = f"{stage_list[-1]}_planned"
        late = in_type & (df["target_date"] < df[last]).fillna(False).to_numpy()
        for i in np.flatnonzero(late):
            findings.add(
                "plan_after_target",
                f"row {rows[i]}: planned date of {registry[stage_list[-1]][0]} "
                f"({_fmt(df[last].iloc[i])}) is after the target date "
                f"({_fmt(df['target_date'].iloc[i])}); the plan cannot meet the target.",
                severity="warning",
                row=int(rows[i]),
                project_id=ids.iloc[i],
                column=last,
            )


def _check_reported_stage(
    df: pd.DataFrame,
    pipelines: Mapping[str, Sequence[str]],
    registry: Mapping[str, tuple[str, str, str]],
    findings: _Findings,
) -> None:
    if df["reported_stage"].isna().all():
        return
    lookup = _stage_lookup(registry)
    rows = df["ledger_row"].to_numpy()
    for i, value in enumerate(df["reported_stage"].tolist()):
        if value is None or _isna(value):
            continue
        code = lookup.get(_normalise(value))
        ptype = df["project_type"].iloc[i]
        stage_list = pipelines.get(ptype, ()) if isinstance(ptype, str) else ()
        allowed = [*stage_list, *_SPECIAL_STAGES]
        if code is None or (stage_list and code not in allowed):
            names = ", ".join(registry[s][0] for s in allowed)
            findings.add(
                "unknown_stage",
                f"row {rows[i]}, column {findings.header('reported_stage')!r}: unknown stage "
                f"{value!r} for this project; valid stages are {names}.",
                row=int(rows[i]),
                project_id=df["project_id"].iloc[i],
                column="reported_stage",
            )


def _join_projects(
    df: pd.DataFrame,
    polygons: gpd.GeoDataFrame,
    pipelines: Mapping[str, Sequence[str]],
    findings: _Findings,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    import geopandas as gpd

    polys = polygons.copy()
    polys["project_id"] = polys["project_id"].map(lambda v: None if _isna(v) else _id_text(v))
    dup = polys["project_id"].notna() & polys["project_id"].duplicated(keep=False)
    if dup.any():
        for pid in polys.loc[dup, "project_id"].unique():
            n = int((polys["project_id"] == pid).sum())
            findings.add(
                "duplicate_polygon",
                f"project {pid!r} has {n} polygons; they are merged into one multipolygon.",
                severity="warning",
                project_id=pid,
            )
        geom = polys.loc[polys["project_id"].notna()].dissolve(by="project_id")
        attrs = polys.loc[polys["project_id"].notna()].drop_duplicates("project_id")
        attrs = attrs.set_index("project_id").drop(columns=polys.geometry.name)
        polys_by_id = gpd.GeoDataFrame(
            attrs.join(geom[[geom.geometry.name]]), geometry=geom.geometry.name, crs=polys.crs
        )
    else:
        polys_by_id = polys.loc[polys["project_id"].notna()].set_index("project_id")
    gname = polys_by_id.geometry.name
    geoms = df["project_id"].map(polys_by_id[gname])
    has_polygon = df["project_id"].isin(polys_by_id.index) & df["project_id"].notna()
    out = df.copy()
    type_lookup = _type_lookup(pipelines)
    for col in ("name", "street", "project_type"):
        if col in polys_by_id.columns:
            poly_val = df["project_id"].map(polys_by_id[col])
            if col == "project_type":
                poly_val = poly_val.map(
                    lambda v: None if _isna(v) else type_lookup.get(_normalise(v), str(v))
                )
                conflict = out[col].notna() & poly_val.notna() & (out[col] != poly_val)
                rows = out["ledger_row"].to_numpy()
                for i in np.flatnonzero(conflict.fillna(False).to_numpy()):
                    findings.add(
                        "type_mismatch",
                        f"row {rows[i]}: ledger type {schema.label(out[col].iloc[i])} differs "
                        f"from the polygon's {schema.label(poly_val.iloc[i])}; the ledger's is "
                        f"used, correct one of them.",
                        severity="warning",
                        row=int(rows[i]),
                        project_id=out["project_id"].iloc[i],
                        column=col,
                    )
            fill = out[col].isna() & poly_val.notna()
            if fill.any():
                out[col] = out[col].astype(object).where(~fill, poly_val).astype("str")
                out.loc[out[col].isin(["None", "nan"]), col] = None
    rows = out["ledger_row"].to_numpy()
    for i in np.flatnonzero((~has_polygon & out["project_id"].notna()).to_numpy()):
        findings.add(
            "no_polygon",
            f"row {rows[i]}: project {out['project_id'].iloc[i]!r} has no polygon in the "
            f"projects layer; it is kept without geometry and will not show on maps.",
            severity="warning",
            row=int(rows[i]),
            project_id=out["project_id"].iloc[i],
        )
    out["has_polygon"] = has_polygon.to_numpy()
    gdf = gpd.GeoDataFrame(
        out, geometry=gpd.GeoSeries(geoms.to_numpy(), index=out.index), crs=polys.crs
    )
    gdf = gdf.rename_geometry("geometry") if gdf.geometry.name != "geometry" else gdf
    unmatched_mask = polys["project_id"].isna() | ~polys["project_id"].isin(df["project_id"])
    unmatched = polys.loc[unmatched_mask]
    for pid in unmatched["project_id"].tolist():
        findings.add(
            "no_ledger_row",
            f"project polygon {pid!r} has no ledger row; add a row for it or remove the polygon "
            f"(kept in `ledger.unmatched_projects`).",
            severity="warning",
            project_id=pid,
        )
    return gdf, unmatched


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


def project_progress(
    ledger: Ledger | pd.DataFrame,
    *,
    as_of: Any,
    pipelines: Mapping[str, Sequence[str]] | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """
    Tell where every project stands on `as_of`: current stage, delay, overdue flags.

    A stage counts as done when its actual date is on or before `as_of` (later actual
    dates are ignored, so an old meeting can be replayed). The current stage is the first
    stage of the project's pipeline not done; ``"done"`` when all are. With a ledger
    column ``start_date`` (启动日期), a project with no stage done whose start date is
    after `as_of` is ``"not_started"`` (a blank start date does not count).

    Parameters
    ----------
    ledger
        A `Ledger` from `read_ledger`, or its ``table``.
    as_of
        The day of the assessment (date, Timestamp or ``"2024-06-30"``).
    pipelines
        Overrides the ledger's pipelines (type code -> stage codes).
    lang
        Language of the label columns, ``"zh"`` or ``"en"``; defaults to `settings.lang`.

    Returns
    -------
    progress
        Aligned on the ledger table's index (a GeoDataFrame when the ledger has
        geometry), with ``project_id``, ``name``, ``project_type``, ``street``,
        ``stage`` (code), ``stage_label``, ``stage_index`` (1 = first stage; 0 not
        started; pipeline length + 1 done), ``n_stages``, ``stage_planned`` (planned date
        of the current stage), ``days_behind`` (days from that planned date to `as_of`:
        positive = late, negative = days left; NaN without a plan or when done),
        ``overdue`` (bool: the current stage's planned date is before `as_of`),
        ``overdue_stages`` (labels of every stage past its planned date and not done),
        ``n_overdue_stages``, ``signing_rate`` (signed ÷ households, NaN without
        households), ``days_to_target``, ``as_of``, then the other ledger columns.

    Raises
    ------
    InputError
        If `as_of` is not a date.

    See Also
    --------
    progress_summary : Projects by stage, signing and overdue counts per street or type.
    compare_schedule : The plan against deadlines set backwards from the target.

    Examples
    --------
    >>> raw = pd.DataFrame({
    ...     "project_id": ["A", "B"], "project_type": ["demolish", "retain_upgrade"],
    ...     "households": [100, 50], "signed_households": [80, 0],
    ...     "signing_planned": ["2024-03-01", None], "signing_actual": ["2024-02-20", None],
    ...     "demolition_planned": ["2024-05-01", None],
    ...     "design_planned": [None, "2024-07-01"],
    ... })
    >>> progress = project_progress(read_ledger(raw), as_of="2024-06-01", lang="en")
    >>> progress[["stage", "overdue", "days_behind", "signing_rate"]]
            stage  overdue  days_behind  signing_rate
    0  demolition     True         31.0           0.8
    1      design    False        -30.0           0.0
    """
    table, resolved, registry = _ledger_parts(ledger, pipelines)
    lang = check_lang(lang)
    day = _as_timestamp(as_of, "as_of")
    i_lab = 0 if lang == "zh" else 1
    n = len(table)
    stage = np.full(n, None, dtype=object)
    stage_index = np.zeros(n, dtype=int)
    n_stages = np.zeros(n, dtype=int)
    planned = pd.Series(pd.NaT, index=table.index, dtype="datetime64[us]")
    overdue_lists: list[list[str]] = [[] for _ in range(n)]
    for ptype, stage_list in resolved.items():
        mask = (table["project_type"] == ptype).fillna(False).to_numpy()
        if not mask.any():
            continue
        sub = table.loc[mask]
        cols_a = [
            sub[f"{s}_actual"] if f"{s}_actual" in sub else pd.Series(pd.NaT, index=sub.index)
            for s in stage_list
        ]
        cols_p = [
            sub[f"{s}_planned"] if f"{s}_planned" in sub else pd.Series(pd.NaT, index=sub.index)
            for s in stage_list
        ]
        done = np.column_stack([(a <= day).fillna(False).to_numpy() for a in cols_a])
        plan = np.column_stack(
            [pd.to_datetime(p).astype("datetime64[us]").to_numpy() for p in cols_p]
        )
        all_done = done.all(axis=1)
        first_open = np.where(all_done, len(stage_list), np.argmin(done, axis=1))
        codes = np.array([*stage_list, "done"], dtype=object)[first_open]
        cur_plan = np.where(
            all_done,
            np.datetime64("NaT"),
            plan[np.arange(len(sub)), np.minimum(first_open, len(stage_list) - 1)],
        )
        if "start_date" in sub.columns:
            not_started = ~done.any(axis=1) & (sub["start_date"] > day).fillna(False).to_numpy()
            codes = np.where(not_started, "not_started", codes)
            first_open = np.where(not_started, -1, first_open)
        late = (plan < np.datetime64(day)) & ~done
        idx = np.flatnonzero(mask)
        stage[idx] = codes
        stage_index[idx] = first_open + 1
        n_stages[idx] = len(stage_list)
        planned.iloc[idx] = cur_plan
        for j, row_late in zip(idx, late, strict=True):
            overdue_lists[j] = [
                registry[s][i_lab] for s, x in zip(stage_list, row_late, strict=True) if x
            ]
    days_behind = (day - planned).dt.days.astype(float)
    is_done = pd.Series(stage, index=table.index) == "done"
    days_behind = days_behind.where(~is_done.to_numpy())
    sep = "、" if lang == "zh" else ", "
    households = (
        table["households"] if "households" in table else pd.Series(np.nan, index=table.index)
    )
    signed = (
        table["signed_households"]
        if "signed_households" in table
        else pd.Series(np.nan, index=table.index)
    )
    rate = (signed / households.where(households > 0)).astype(float)
    target = (
        table["target_date"] if "target_date" in table else pd.Series(pd.NaT, index=table.index)
    )
    stage_s = pd.Series(stage, index=table.index, dtype=object)
    out = pd.DataFrame(
        {
            "project_id": table["project_id"],
            "name": table.get("name"),
            "project_type": table["project_type"],
            "street": table.get("street"),
            "stage": stage_s.astype("str").where(stage_s.notna(), None) if n else stage_s,
            "stage_label": stage_s.map(
                lambda s: None if s is None else registry.get(s, (s, s))[i_lab]
            ),
            "stage_index": stage_index,
            "n_stages": n_stages,
            "stage_planned": planned,
            "days_behind": days_behind,
            "overdue": (days_behind > 0).fillna(False).astype(bool),
            "overdue_stages": [sep.join(x) for x in overdue_lists],
            "n_overdue_stages": [len(x) for x in overdue_lists],
            "signing_rate": rate,
            "days_to_target": (pd.to_datetime(target) - day).dt.days.astype(float),
            "as_of": pd.Series(day, index=table.index).astype("datetime64[us]"),
        },
        index=table.index,
    )
    rest = [c for c in table.columns if c not in out.columns]
    out = pd.concat([out, table[rest]], axis=1)
    if hasattr(table, "geometry") and "geometry" in table.columns:
        import geopandas as gpd

        out = gpd.GeoDataFrame(out, geometry="geometry", crs=table.crs)
    return out


def progress_summary(
    progress: pd.DataFrame,
    *,
    by: str | Sequence[str] = "street",
    total: bool = True,
) -> pd.DataFrame:
    """
    Summarise progress per street, type or any column: projects by stage, signing, overdue.

    Laid out like `geo_renewal.stats.zone_stats`: one row per group, indexed by the group
    column(s), blank groups under ``"missing"`` (未填写) and a ``"total"`` row (合计), which
    `geo_renewal.tables.write_table` translates and prints in bold.

    Parameters
    ----------
    progress
        Output of `project_progress`.
    by
        Column(s) to group by: ``"street"`` (default), ``"project_type"``, or any column.
    total
        If True, append the total row over all projects.

    Returns
    -------
    summary
        Indexed by `by`, with ``projects``, one count column per stage code present
        (pipeline order, then ``done``), ``overdue``, ``households``,
        ``signing_households`` (households of the projects that report signed households;
        upgrade projects do not sign), ``signed_households``, ``signing_rate`` (Σ signed ÷
        households to sign; blank where no project signs) and
        ``demolished_floor_area`` [m²]. The total row equals the sums over the groups.

    Raises
    ------
    SchemaError
        If `progress` lacks the `by` column(s) or the progress columns.

    Examples
    --------
    >>> raw = pd.DataFrame({
    ...     "project_id": ["A", "B", "C"], "street": ["东关", "东关", "西关"],
    ...     "project_type": ["demolish", "demolish", "retain_upgrade"],
    ...     "households": [100, 50, 30], "signed_households": [80, 50, 0],
    ...     "signing_planned": ["2024-03-01", "2024-03-01", None],
    ...     "signing_actual": [None, "2024-02-01", None],
    ... })
    >>> prog = project_progress(read_ledger(raw), as_of="2024-06-01")
    >>> progress_summary(prog, by="street")[["projects", "signing", "design", "overdue"]]
            projects  signing  design  overdue
    street
    东关             2        1       0        1
    西关             1        0       1        0
    total          3        1       1        1
    """
    from geo_renewal.stats import MISSING_ROW, TOTAL_ROW

    keys = [by] if isinstance(by, str) else list(by)
    missing = [k for k in [*keys, "stage", "overdue", "project_id"] if k not in progress.columns]
    if missing:
        msg = (
            f"`progress` is missing columns {missing}; pass the output of project_progress "
            f"and group by one of its columns."
        )
        raise SchemaError(msg)
    df = pd.DataFrame(progress.drop(columns="geometry", errors="ignore"))
    for k in keys:
        blank = df[k].isna() | (df[k].astype(object).map(lambda v: str(v).strip()) == "")
        df[k] = df[k].astype(object).where(~blank, MISSING_ROW)
    stage_order = _stage_order(df["stage"].dropna().unique().tolist())
    for c in ("households", "signed_households", "demolished_floor_area"):
        if c not in df:
            df[c] = np.nan
    # Signing rate over the projects that report signing (upgrade projects do not sign).
    df["signing_households"] = df["households"].where(df["signed_households"].notna())
    counts = pd.crosstab([df[k] for k in keys], df["stage"]).reindex(
        columns=stage_order, fill_value=0
    )
    summary = df.groupby(keys, sort=True).agg(
        projects=("project_id", "size"),
        overdue=("overdue", "sum"),
        households=("households", "sum"),
        signed_households=("signed_households", lambda x: x.sum(min_count=1)),
        demolished_floor_area=("demolished_floor_area", lambda x: x.sum(min_count=1)),
        signing_households=("signing_households", "sum"),
    )
    summary = summary.join(counts).fillna(dict.fromkeys(stage_order, 0))
    if total:
        name = TOTAL_ROW if len(keys) == 1 else (TOTAL_ROW, *[""] * (len(keys) - 1))
        row = summary.sum(numeric_only=True, min_count=1).to_frame().T
        row.index = pd.Index([name]) if len(keys) == 1 else pd.MultiIndex.from_tuples([name])
        summary = pd.concat([summary, row])
        summary.index.names = keys
    ints = ["projects", "overdue", *stage_order]
    summary[ints] = summary[ints].astype(int)
    summary["signing_rate"] = summary["signed_households"] / summary["signing_households"].where(
        summary["signing_households"] > 0
    )
    cols = ["projects", *stage_order, "overdue", "households", "signing_households"]
    cols += ["signed_households", "signing_rate", "demolished_floor_area"]
    return summary[cols]


def _stage_order(present: Sequence[str]) -> list[str]:
    known = list(
        dict.fromkeys(["not_started", *[s for p in schema.PIPELINES.values() for s in p]])
    )
    known += [s for s in schema.STAGES if s not in known and s != "done"]
    ordered = [s for s in known if s in present]
    ordered += sorted(s for s in present if s not in known and s != "done")
    if "done" in present:
        ordered.append("done")
    return ordered


# --------------------------------------------------------------------------- schedules


def _as_days(value: Any, stage: str) -> float:
    if isinstance(value, pd.Timedelta | dt.timedelta):
        days = pd.Timedelta(value).total_seconds() / 86_400
    elif isinstance(value, str):
        try:
            days = pd.Timedelta(value).total_seconds() / 86_400
        except ValueError as e:
            msg = f"duration of {stage!r} is {value!r}; give days (90) or a Timedelta ('90D')."
            raise InputError(msg) from e
    else:
        try:
            days = float(value)
        except (TypeError, ValueError) as e:
            msg = f"duration of {stage!r} is {value!r}; give days (90) or a Timedelta ('90D')."
            raise InputError(msg) from e
    if not np.isfinite(days) or days < 0:
        msg = f"duration of {stage!r} must be ≥ 0 days; got {value!r}."
        raise InputError(msg)
    return days


def backward_schedule(
    target_date: Any,
    durations: Mapping[str, Any] | Sequence[tuple[str, Any]],
    *,
    lang: str | None = None,
) -> pd.DataFrame:
    """
    Set stage deadlines backwards from the target date (倒排工期).

    The last stage must finish on `target_date`; every stage must finish when the next one
    has to start, so its latest finish is the target minus the durations of all later
    stages, and its latest start is its latest finish minus its own duration. Durations are
    calendar days.

    Parameters
    ----------
    target_date
        The date the whole project must be done by.
    durations
        Stage -> duration in days (number, Timedelta or ``"90D"``), in pipeline order: a
        dict, or a sequence of ``(stage, days)`` pairs. Stages are codes or labels.
    lang
        Language of ``stage_label``; defaults to `settings.lang`.

    Returns
    -------
    schedule
        One row per stage in order: ``stage``, ``stage_label``, ``duration_days``,
        ``latest_start``, ``latest_finish``.

    Raises
    ------
    InputError
        If a duration is negative or not a number of days.

    See Also
    --------
    compare_schedule : Compare each project's planned dates with these deadlines.

    Examples
    --------
    >>> backward_schedule("2025-12-31", {"signing": 90, "demolition": 60, "approval": 30},
    ...                   lang="en")
            stage    stage_label  duration_days latest_start latest_finish
    0     signing        Signing           90.0   2025-07-04    2025-10-02
    1  demolition     Demolition           60.0   2025-10-02    2025-12-01
    2    approval  Land approval           30.0   2025-12-01    2025-12-31
    """
    lang = check_lang(lang)
    target = _as_timestamp(target_date, "target_date")
    items = list(durations.items()) if isinstance(durations, Mapping) else list(durations)
    lookup = _stage_lookup(schema.STAGES)
    stages = [lookup.get(_normalise(s), str(s)) for s, _ in items]
    days = np.array([_as_days(d, s) for s, (_, d) in zip(stages, items, strict=True)], dtype=float)
    after = np.concatenate([np.cumsum(days[::-1])[::-1][1:], [0.0]]) if len(days) else days
    finish = [target - pd.Timedelta(days=float(x)) for x in after]
    start = [f - pd.Timedelta(days=float(d)) for f, d in zip(finish, days, strict=True)]
    i_lab = 0 if lang == "zh" else 1
    return pd.DataFrame(
        {
            "stage": pd.Series(stages, dtype="str"),
            "stage_label": [schema.STAGES.get(s, (s, s))[i_lab] for s in stages],
            "duration_days": days,
            "latest_start": pd.to_datetime(pd.Series(start, dtype=object)).astype(
                "datetime64[us]"
            ),
            "latest_finish": pd.to_datetime(pd.Series(finish, dtype=object)).astype(
                "datetime64[us]"
            ),
        }
    )


def compare_schedule(
    ledger: Ledger | pd.DataFrame,
    durations: Mapping[str, Any],
    *,
    as_of: Any = None,
    pipelines: Mapping[str, Sequence[str]] | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """
    Compare each project's planned dates with deadlines set backwards from its target date.

    For every project and every stage of its pipeline, the latest finish is the project's
    ``target_date`` minus the durations of the later stages (`backward_schedule`). A
    planned date after the latest finish means the plan cannot meet the target.

    Parameters
    ----------
    ledger
        A `Ledger` or its table, with ``target_date`` and ``<stage>_planned`` columns.
    durations
        Stage -> days for every stage used (one mapping for all types), or project type ->
        (stage -> days).
    as_of
        Optional day; adds ``past_latest_finish`` (the latest finish has passed and the
        stage has no actual date on or before `as_of`).
    pipelines
        Overrides the ledger's pipelines.
    lang
        Language of ``stage_label``; defaults to `settings.lang`.

    Returns
    -------
    schedule
        One row per project and stage: ``project_id``, ``name``, ``project_type``,
        ``stage``, ``stage_label``, ``duration_days``, ``planned``, ``actual``,
        ``latest_start``, ``latest_finish``, ``slack_days`` (latest finish − planned;
        negative = the plan is too late), ``plan_too_late`` and, with `as_of`,
        ``past_latest_finish``.

    Raises
    ------
    InputError
        If a stage of a pipeline in use has no duration (the message lists them).

    Examples
    --------
    >>> raw = pd.DataFrame({
    ...     "project_id": ["A"], "project_type": ["retain_upgrade"], "目标日期": ["2025-12-31"],
    ...     "方案计划日期": ["2025-03-01"], "施工计划日期": ["2025-11-30"],
    ...     "竣工验收计划日期": ["2025-12-31"],
    ... })
    >>> sched = compare_schedule(read_ledger(raw), {"design": 60, "works": 180, "acceptance": 30})
    >>> sched[["stage", "latest_finish", "slack_days", "plan_too_late"]]
            stage latest_finish  slack_days  plan_too_late
    0      design    2025-06-04        95.0          False
    1       works    2025-12-01         1.0          False
    2  acceptance    2025-12-31         0.0          False
    """
    table, resolved, registry = _ledger_parts(ledger, pipelines)
    lang = check_lang(lang)
    i_lab = 0 if lang == "zh" else 1
    day = None if as_of is None else _as_timestamp(as_of, "as_of")
    per_type = all(isinstance(v, Mapping) for v in durations.values()) and bool(durations)
    lookup = _stage_lookup(registry)
    pieces = []
    for ptype, stage_list in resolved.items():
        mask = (table["project_type"] == ptype).fillna(False)
        if not mask.any():
            continue
        spec = durations.get(ptype, {}) if per_type else durations
        spec = {lookup.get(_normalise(k), k): v for k, v in spec.items()}
        missing = [s for s in stage_list if s not in spec]
        if missing:
            msg = (
                f"`durations` gives no duration for stages {missing} of {schema.label(ptype)} "
                f"({ptype}) projects; give days for each of {list(stage_list)}."
            )
            raise InputError(msg)
        days = np.array([_as_days(spec[s], s) for s in stage_list])
        after = np.concatenate([np.cumsum(days[::-1])[::-1][1:], [0.0]])
        sub = table.loc[mask]
        target = pd.to_datetime(sub["target_date"]) if "target_date" in sub else None
        for k, s in enumerate(stage_list):
            if target is None:
                finish = pd.Series(pd.NaT, index=sub.index, dtype="datetime64[us]")
            else:
                finish = target - pd.Timedelta(days=float(after[k]))
            start = finish - pd.Timedelta(days=float(days[k]))
            plan = sub.get(f"{s}_planned", pd.Series(pd.NaT, index=sub.index))
            actual = sub.get(f"{s}_actual", pd.Series(pd.NaT, index=sub.index))
            slack = (finish - pd.to_datetime(plan)).dt.days.astype(float)
            piece = pd.DataFrame(
                {
                    "project_id": sub["project_id"],
                    "name": sub.get("name"),
                    "project_type": ptype,
                    "stage": s,
                    "stage_label": registry[s][i_lab],
                    "stage_order": k,
                    "duration_days": days[k],
                    "planned": pd.to_datetime(plan).astype("datetime64[us]"),
                    "actual": pd.to_datetime(actual).astype("datetime64[us]"),
                    "latest_start": pd.to_datetime(start).astype("datetime64[us]"),
                    "latest_finish": pd.to_datetime(finish).astype("datetime64[us]"),
                    "slack_days": slack,
                    "plan_too_late": (slack < 0).fillna(False).astype(bool),
                }
            )
            if day is not None:
                not_done = ~(pd.to_datetime(actual) <= day).fillna(False)
                piece["past_latest_finish"] = ((finish < day).fillna(False) & not_done).astype(
                    bool
                )
            piece["_pos"] = np.flatnonzero(mask.to_numpy())
            pieces.append(piece)
    if not pieces:
        cols = ["project_id", "name", "project_type", "stage", "stage_label", "duration_days"]
        cols += [
            "planned",
            "actual",
            "latest_start",
            "latest_finish",
            "slack_days",
            "plan_too_late",
        ]
        return pd.DataFrame(columns=cols)
    out = pd.concat(pieces, ignore_index=True).sort_values(["_pos", "stage_order"], kind="stable")
    return out.drop(columns=["_pos", "stage_order"]).reset_index(drop=True)


# --------------------------------------------------------------------------- comparison


def _to_progress(obj: Ledger | pd.DataFrame, as_of: Any, name: str, lang: str) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame) and "stage" in obj.columns:
        return obj
    if as_of is None:
        msg = (
            f"`{name}` is a ledger, not a progress table; pass `as_of=` (and `old_as_of=`) so "
            f"its progress can be computed, or pass project_progress output."
        )
        raise InputError(msg)
    return project_progress(obj, as_of=as_of, lang=lang)


def compare_ledgers(
    old: Ledger | pd.DataFrame,
    new: Ledger | pd.DataFrame,
    *,
    as_of: Any = None,
    old_as_of: Any = None,
    only_changed: bool = True,
    lang: str | None = None,
) -> pd.DataFrame:
    """
    Tell what moved between two ledgers: stage changes, newly overdue, signing changes.

    Parameters
    ----------
    old, new
        Two ledgers (`Ledger` or table) or two `project_progress` outputs, e.g. from
        last week's and this week's meeting.
    as_of
        Day at which `new` is assessed when it is a ledger (required then).
    old_as_of
        Day at which `old` is assessed when it is a ledger; defaults to `as_of`
        (so only changes in the data show), give last meeting's date to also see what
        became overdue with time.
    only_changed
        If True (default), keep only projects where something changed.
    lang
        Language of ``change`` and the stage labels; defaults to `settings.lang`.

    Returns
    -------
    changes
        One row per project (outer join on ``project_id``, in new order then removed
        ones): ``project_id``, ``name``, ``street``, ``old_stage``, ``new_stage``,
        ``old_stage_label``, ``new_stage_label``, ``stage_steps`` (stages advanced, negative
        if moved back), ``old_overdue``, ``new_overdue``, ``old_signing_rate``,
        ``new_signing_rate``, ``signing_rate_change``, ``old_signed_households``,
        ``new_signed_households``, ``signed_change``, flags ``is_new``, ``is_removed``,
        ``stage_changed``, ``newly_overdue``, ``overdue_cleared``, ``signing_changed`` and
        ``change`` (a readable summary).

    Raises
    ------
    InputError
        If a ledger is given without `as_of`, or either side repeats a project id.

    Examples
    --------
    >>> old = pd.DataFrame({"project_id": ["A", "B"], "project_type": ["demolish"] * 2,
    ...     "households": [100, 10], "signed_households": [50, 0],
    ...     "signing_planned": ["2024-05-01"] * 2})
    >>> new = old.assign(signed_households=[100, 0], signing_actual=["2024-04-20", None])
    >>> diff = compare_ledgers(read_ledger(old), read_ledger(new), as_of="2024-06-01",
    ...                        old_as_of="2024-04-01", lang="en")
    >>> diff[["project_id", "old_stage", "new_stage", "newly_overdue", "signing_rate_change"]]
      project_id old_stage   new_stage  newly_overdue  signing_rate_change
    0          A   signing  demolition          False                  0.5
    1          B   signing     signing           True                  0.0
    """
    lang = check_lang(lang)
    p_new = _to_progress(new, as_of, "new", lang)
    p_old = _to_progress(old, as_of if old_as_of is None else old_as_of, "old", lang)
    for name, p in (("old", p_old), ("new", p_new)):
        dup = p["project_id"].dropna()
        dup = dup[dup.duplicated()].unique().tolist()
        if dup:
            msg = f"`{name}` repeats project ids {dup}; fix the ledger so each id appears once."
            raise InputError(msg)
    keep = ["project_id", "name", "street", "project_type", "stage", "stage_label"]
    keep += ["stage_index", "overdue", "signing_rate", "signed_households"]

    def side(p: pd.DataFrame, prefix: str) -> pd.DataFrame:
        cols = [c for c in keep if c in p.columns]
        s = pd.DataFrame(p[cols]).dropna(subset=["project_id"]).set_index("project_id")
        return s.add_prefix(prefix)

    a, b = side(p_old, "old_"), side(p_new, "new_")
    ids = list(dict.fromkeys([*b.index.tolist(), *a.index.tolist()]))
    df = b.join(a, how="outer").reindex(ids)
    df.index.name = "project_id"
    is_new = ~df.index.isin(a.index)
    is_removed = ~df.index.isin(b.index)
    for col in ("name", "street", "project_type"):
        nc, oc = f"new_{col}", f"old_{col}"
        vals = df[nc] if nc in df else pd.Series(None, index=df.index)
        if oc in df:
            vals = vals.astype(object).where(vals.notna(), df[oc])
        df[col] = vals
    same_type = (df.get("new_project_type") == df.get("old_project_type")).fillna(False)
    steps = (df["new_stage_index"] - df["old_stage_index"]).where(same_type)
    stage_changed = (df["new_stage"] != df["old_stage"]).fillna(False) & ~is_new & ~is_removed
    old_over = df["old_overdue"].astype(object).fillna(False).astype(bool)
    new_over = df["new_overdue"].astype(object).fillna(False).astype(bool)
    newly_overdue = new_over & ~old_over & ~is_new
    cleared = old_over & ~new_over & ~is_removed
    rate_change = (df["new_signing_rate"] - df["old_signing_rate"]).astype(float)
    signed_change = (
        (df["new_signed_households"] - df["old_signed_households"]).astype(float)
        if "new_signed_households" in df and "old_signed_households" in df
        else pd.Series(np.nan, index=df.index)
    )
    signing_changed = (rate_change.abs() > 1e-12).fillna(False) | (signed_change.abs() > 0).fillna(
        False
    )
    out = pd.DataFrame(
        {
            "name": df["name"],
            "street": df["street"],
            "project_type": df["project_type"],
            "old_stage": df["old_stage"],
            "new_stage": df["new_stage"],
            "old_stage_label": df["old_stage_label"],
            "new_stage_label": df["new_stage_label"],
            "stage_steps": steps.astype(float),
            "old_overdue": df["old_overdue"].astype(object),
            "new_overdue": df["new_overdue"].astype(object),
            "old_signing_rate": df["old_signing_rate"].astype(float),
            "new_signing_rate": df["new_signing_rate"].astype(float),
            "signing_rate_change": rate_change,
            "old_signed_households": df.get("old_signed_households", np.nan),
            "new_signed_households": df.get("new_signed_households", np.nan),
            "signed_change": signed_change,
            "is_new": is_new,
            "is_removed": is_removed,
            "stage_changed": stage_changed.astype(bool),
            "newly_overdue": newly_overdue.astype(bool),
            "overdue_cleared": cleared.astype(bool),
            "signing_changed": signing_changed.astype(bool) & ~is_new & ~is_removed,
        },
        index=df.index,
    )
    out["change"] = _change_text(out, lang)
    out = out.reset_index()
    if only_changed:
        flags = ["is_new", "is_removed", "stage_changed", "newly_overdue", "overdue_cleared"]
        flags.append("signing_changed")
        out = out[out[flags].any(axis=1)].reset_index(drop=True)
    return out


def _change_text(out: pd.DataFrame, lang: str) -> list[str]:
    zh = lang == "zh"
    texts = []
    for r in out.itertuples():
        parts = []
        if r.is_new:
            parts.append("新增项目" if zh else "new project")
        if r.is_removed:
            parts.append("已移出台账" if zh else "removed from ledger")
        if r.stage_changed:
            parts.append(f"{r.old_stage_label} → {r.new_stage_label}")
        if r.newly_overdue:
            parts.append("新增逾期" if zh else "newly overdue")
        if r.overdue_cleared:
            parts.append("逾期已消除" if zh else "no longer overdue")
        if r.signing_changed and np.isfinite(r.signing_rate_change):
            pts = r.signing_rate_change * 100
            parts.append(f"签约率 {pts:+.1f} 个百分点" if zh else f"signing rate {pts:+.1f} pts")
        texts.append(("；" if zh else "; ").join(parts))
    return texts


# --------------------------------------------------------------------------- meeting tables

_SEVERITY_LABELS = {"error": ("错误", "error"), "warning": ("警告", "warning")}


def progress_tables(
    progress: pd.DataFrame,
    *,
    findings: pd.DataFrame | None = None,
    changes: pd.DataFrame | None = None,
    schedule: pd.DataFrame | None = None,
    lang: str | None = None,
) -> dict[str, pd.DataFrame]:
    """
    Return the progress tables of a meeting, ready for `geo_renewal.tables.write_tables`.

    Sheets: the progress of every project (项目进度), the summaries per street (按街道) and
    per type (按类型), and, when given, the ledger findings (台账问题), what changed since
    the last ledger (变化情况) and the backward schedule (倒排工期). Codes are kept in the
    code columns that `write_tables` translates (``stage``) and project types and
    severities are labelled in `lang`.

    Parameters
    ----------
    progress
        Output of `project_progress`.
    findings
        ``Ledger.findings`` of the ledger read.
    changes
        Output of `compare_ledgers`.
    schedule
        Output of `compare_schedule`.
    lang
        Language of sheet names and labelled values; defaults to `settings.lang`.

    Returns
    -------
    tables
        Sheet name -> DataFrame.

    Examples
    --------
    >>> raw = pd.DataFrame({"project_id": ["A"], "project_type": ["demolish"],
    ...                     "street": ["东关"], "signing_planned": ["2024-03-01"]})
    >>> ledger = read_ledger(raw)
    >>> sheets = progress_tables(project_progress(ledger, as_of="2024-06-01"),
    ...                          findings=ledger.findings, lang="en")
    >>> list(sheets)
    ['Progress', 'By street', 'By type', 'Ledger problems']
    >>> sheets["Progress"][["project_type", "stage", "overdue"]].to_dict("records")
    [{'project_type': 'Expropriate & demolish', 'stage': 'signing', 'overdue': True}]
    """
    lang = check_lang(lang)
    zh = lang == "zh"
    first = [
        "project_id",
        "name",
        "project_type",
        "street",
        "responsible_unit",
        "responsible_person",
        "stage",
        "stage_planned",
        "days_behind",
        "overdue",
        "overdue_stages",
        "households",
        "signed_households",
        "signing_rate",
        "demolished_floor_area",
        "target_date",
        "days_to_target",
    ]
    table = pd.DataFrame(progress.drop(columns="geometry", errors="ignore"))
    dates = [
        c
        for c in table.columns
        if c.endswith(("_planned", "_actual")) and c != "stage_planned" and table[c].notna().any()
    ]
    cols = [c for c in first if c in table.columns] + dates
    table = table[cols].copy()
    table["project_type"] = table["project_type"].map(
        lambda v: None if v is None or _isna(v) else schema.label(str(v), lang)
    )
    sheets = {
        ("项目进度" if zh else "Progress"): table,
        ("按街道" if zh else "By street"): progress_summary(progress, by="street"),
        ("按类型" if zh else "By type"): progress_summary(progress, by="project_type"),
    }
    if findings is not None:
        f = findings.rename(
            columns={
                "row": "ledger_row",
                "column": "ledger_column",
                "problem": "finding_problem",
                "severity": "finding_severity",
                "message": "finding_message",
            }
        ).copy()
        f["finding_severity"] = f["finding_severity"].map(
            lambda v: _SEVERITY_LABELS.get(v, (v, v))[0 if zh else 1]
        )
        sheets["台账问题" if zh else "Ledger problems"] = f
    if changes is not None:
        keep = [
            "project_id",
            "name",
            "street",
            "change",
            "old_stage_label",
            "new_stage_label",
            "stage_steps",
            "old_overdue",
            "new_overdue",
            "old_signing_rate",
            "new_signing_rate",
            "signing_rate_change",
            "signed_change",
        ]
        sheets["变化情况" if zh else "Changes"] = changes[[c for c in keep if c in changes]]
    if schedule is not None:
        sheets["倒排工期" if zh else "Backward schedule"] = schedule.drop(
            columns=["stage_label"], errors="ignore"
        )
    return sheets
