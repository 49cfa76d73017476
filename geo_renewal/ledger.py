"""
Project ledger (台账): read a ledger spreadsheet, check it, and join it to project polygons.

The ledger format (headers in Chinese or English, stage pipelines, dates) and the checks are
described in the guide, ``docs/guide/ledger.md``. Progress on a date is `geo_renewal.progress`,
deadlines set backwards (倒排工期) are `geo_renewal.schedule` (their names stay importable
from here). Reading a sheet is `geo_renewal._ledger_sheet` (cells, merges, formulas),
`geo_renewal._ledger_headers` (headers), `geo_renewal._ledger_rows` (total and note rows)
and `geo_renewal._ledger_cells` (values); joining polygons is `geo_renewal._ledger_join`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal import schema
from geo_renewal._errors import InputError, SchemaError
from geo_renewal._findings import Findings
from geo_renewal._headers import Header, find_header, normalise_header
from geo_renewal._ledger_cells import (
    _BLANKED,
    LedgerFindings,
    _fmt,
    _id_text,
    _isna,
    _parse_date,
    _parse_dates,
    _parse_numbers,
    _report,
    _unit_factor,
)
from geo_renewal._ledger_headers import (
    _DATES,
    _NUMERIC,
    _SPECIAL_STAGES,
    _TEXT,
    LEDGER_COLUMNS,
    _is_id_header,
    _known_header,
    _map_headers,
    _require_id_column,
    _type_lookup,
)
from geo_renewal._ledger_headers import _stage_lookup as _stage_lookup
from geo_renewal._ledger_join import _join_projects, _read_projects
from geo_renewal._ledger_rows import (
    compare_totals,
    error_cells,
    hidden_rows,
    merged_body_cells,
    special_rows,
    uncached_formulas,
)
from geo_renewal._ledger_sheet import (
    Sheet,
    column_letter,
    header_note,
    read_sheet,
    refuse_no_rows,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["LEDGER_COLUMNS", "Ledger", "read_ledger"]

logger = logging.getLogger(__name__)

#: The normaliser of headers and labels (schedule.py looks stages up with it too).
_normalise = normalise_header


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
        One row per project row, in file order (total, subtotal, note rows and section
        headings are not projects: they are in `findings`), with canonical columns
        (`LEDGER_COLUMNS`),
        ``<stage>_planned`` / ``<stage>_actual`` dates for every stage of every pipeline,
        any other columns of the file unchanged, ``ledger_row`` (spreadsheet row number;
        ``source_file`` and ``source_sheet`` too when several files are read)
        and, when polygons were given, ``has_polygon`` and ``geometry`` (a GeoDataFrame
        in the polygons' CRS; rows without a polygon have an empty geometry).
    findings
        One row per problem, with the columns of every findings table
        (`geo_renewal._findings.FINDING_COLUMNS`): ``row`` (the spreadsheet row a person sees;
        missing for problems of a column or a polygon), ``id`` (the project id),
        ``column`` (the header as written in the file), ``problem`` (a code),
        ``severity`` (error / warning / info), ``action`` (what the reader did), ``message``
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


def read_ledger(
    path: str | Path | pd.DataFrame | Sequence[str | Path],
    *,
    projects: gpd.GeoDataFrame | str | Path | None = None,
    projects_layer: str | None = None,
    pipelines: Mapping[str, Sequence[str]] | None = None,
    stages: Mapping[str, Sequence[str]] | None = None,
    sheet: str | int | None = None,
    header_row: int | Sequence[int] | None = None,
) -> Ledger:
    """
    Read a project ledger (台账) from CSV or XLSX, check it, and join it to project polygons.

    Headers may be Chinese or English (see ``docs/guide/ledger.md``), with units in
    brackets (户数（户）), spaces, line breaks or full-width characters. The header row is
    found below title rows; a two-row header (a stage name merged over 计划日期 / 实际日期)
    is read as one. Every cell problem is reported in `Ledger.findings` with its
    spreadsheet row and column; nothing is dropped: rows with problems stay in the table
    (an unreadable cell becomes blank), rows without a polygon get an empty geometry, and
    polygons without a row are kept in `Ledger.unmatched_projects`. Total, subtotal,
    breakdown (其中) and note rows are not projects: they are listed in the findings and
    the sums of a total row are compared with the sum of the project rows.

    Checks: missing or duplicate project ids, unknown project type, unknown stage (a stage
    column no pipeline knows, a date for a stage outside the project's pipeline, or an
    unknown ``当前阶段``), unparseable dates and numbers, negative counts, signed households
    exceeding households, actual dates out of stage order (a later stage finished before an
    earlier one), planned dates out of order, a stage finished while an earlier one is not,
    and a ``当前阶段`` that disagrees with the dates; formulas without a saved value,
    numbers in date columns that are no plausible date (a bare year, an Excel day before
    1990 or after 2100), merged number cells, headers that look like a ledger column
    without matching one, and totals that differ from the sum of their project rows.

    Parameters
    ----------
    path
        A ``.csv`` (UTF-8 with or without BOM, GBK, or Excel's UTF-16 "Unicode text" with
        tabs) or ``.xlsx`` file, a list of them read as one ledger (one file per street:
        each row keeps ``source_file`` and ``source_sheet``, and an id in two files is an
        error), or a DataFrame laid out the same way.
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
        Workbook sheet (name, or position from 0); by default the only sheet, else the
        one whose headers name most ledger columns (台账 on a tie).
    header_row
        The spreadsheet row of the header (from 1), or two consecutive rows of a two-row
        header; found by default (the row, or pair of rows, naming most ledger columns
        among the first 30), and the findings say which rows were taken when it is not
        row 1.

    Returns
    -------
    ledger
        A `Ledger`: ``ledger.table`` (a GeoDataFrame when `projects` is given),
        ``ledger.findings`` and the pipelines used.

    Raises
    ------
    InputError
        If the file cannot be read, no sheet looks like a ledger (the sheets are
        listed), or `pipelines` / `stages` / `header_row` are malformed.
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
    rows_given = _header_rows(header_row)
    paths = _ledger_paths(path)
    many = len(paths) > 1
    parts = [_read_part(p, sheet, rows_given, registry, resolved, many=many) for p in paths]
    df, back, file_stages, has_type = _combine(parts)
    source = (
        None
        if isinstance(path, pd.DataFrame)
        else "; ".join(
            str(p.table["source_sheet_name"].iloc[0]) if len(p.table) else str(p.source)
            for p in parts
        )
    )
    findings = LedgerFindings(
        df["ledger_row"].to_numpy(),
        df["project_id"].to_numpy(dtype=object),
        headers=back,
        prefixes=df["source_sheet_name"].to_numpy(dtype=object) if many else None,
    )
    _check_ids(df, findings, many=many)
    df["project_type"] = _check_types(df, resolved, findings, has_col=has_type)
    _check_counts(df, findings)
    _check_stage_dates(df, resolved, registry, findings, file_stages)
    _check_reported_stage(df, resolved, registry, findings)
    unmatched = None
    if projects is not None:
        polygons = _read_projects(projects, projects_layer)
        df, unmatched = _join_projects(df, polygons, resolved, findings)
    _require_types(df, resolved, source, has_col=has_type, joined=projects is not None)
    _check_missing_types(df, resolved, findings)
    if not many:
        df = df.drop(columns=["source_file", "source_sheet", "source_sheet_name"])
    else:
        df = df.drop(columns=["source_sheet_name"])
    result = Ledger(
        table=_ordered(df),
        findings=_findings_frame([(p.findings, p.source) for p in parts] + [(findings, None)]),
        pipelines=resolved,
        stages=registry,
        unmatched_projects=unmatched,
        source=source,
    )
    logger.info("%r", result)
    return result


@dataclass
class _Part:
    """One ledger sheet read: its project rows, findings, headers and stages."""

    table: pd.DataFrame
    findings: LedgerFindings
    back: dict[str, str]
    file_stages: list[str]
    has_type: bool
    source: str | None


def _header_rows(header_row: int | Sequence[int] | None) -> tuple[int, ...] | None:
    """Check `header_row` (spreadsheet rows, from 1) and return it as 0-based grid rows."""
    rows = _checked_header_row(header_row)
    return None if rows is None else tuple(r - 1 for r in rows)


def _checked_header_row(header_row: Any) -> tuple[int, ...] | None:
    """
    Check a header row given by hand: one spreadsheet row (from 1) or two consecutive ones.

    Returns the rows (from 1) as a tuple, None for None; anything else (0, a text, a float,
    two rows apart) is refused in one sentence. `geo_renewal.plan` checks
    ``[ledger] header_row`` with it.
    """
    if header_row is None:
        return None
    if isinstance(header_row, int | np.integer):
        rows: tuple[Any, ...] = (header_row,)
    elif isinstance(header_row, Sequence) and not isinstance(header_row, str):
        rows = tuple(header_row)
    else:
        rows = ()
    ok = 1 <= len(rows) <= 2 and all(
        isinstance(r, int | np.integer) and not isinstance(r, bool) and r >= 1 for r in rows
    )
    if not ok or (len(rows) == 2 and rows[1] != rows[0] + 1):
        msg = (
            f"`header_row` must be the spreadsheet row of the header (from 1), or two "
            f"consecutive rows for a two-row header, e.g. 3 or (3, 4); got {header_row!r}."
        )
        raise InputError(msg)
    return tuple(int(r) for r in rows)


def _ledger_paths(path: Any) -> list[Any]:
    if isinstance(path, pd.DataFrame | str | Path):
        return [path]
    if isinstance(path, Sequence) and path and all(isinstance(p, str | Path) for p in path):
        return list(path)
    msg = (
        f"`path` must be a ledger file (CSV / XLSX), a list of them (one per street) or a "
        f"DataFrame; got {type(path).__name__} {path!r:.80}."
    )
    raise InputError(msg)


def _sheet_of(
    path: str | Path | pd.DataFrame,
    sheet: str | int | None,
    rows_given: tuple[int, ...] | None,
    registry: Mapping[str, tuple[str, str, str]],
) -> tuple[Sheet, Header]:
    """Return the cells of the ledger sheet and its header."""
    known = _known_header(registry)
    if isinstance(path, pd.DataFrame):
        grid = [tuple(path.columns), *path.astype(object).itertuples(index=False, name=None)]
        book = Sheet(grid=grid)
        rows_given = rows_given or (0,)
    else:
        book = read_sheet(
            Path(path), sheet=sheet, known=known, required=_is_id_header, header_row=rows_given
        )
    if rows_given is not None and rows_given[-1] >= len(book.grid):
        msg = (
            f"`header_row` {rows_given[0] + 1} is below the last row of {book.source} "
            f"({len(book.grid)} rows); give the row the headers are in."
        )
        raise InputError(msg)
    return book, find_header(book.grid, known=known, merged=book.merged, header_row=rows_given)


def _blank_to_none(v: Any) -> Any:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    return None if isinstance(v, float) and v != v else v


def _body(book: Sheet, header: Header) -> tuple[pd.DataFrame, np.ndarray, dict[Any, str]]:
    """Return the rows below the header as a frame of cells, blank rows dropped; their sheet rows."""
    names = _names_of(header)
    keys = dict(zip(names, header.keys, strict=True))
    width = len(names)
    start = header.rows[-1] + 1
    cells, rows = [], []
    for r in range(start, len(book.grid)):
        row = [_blank_to_none(v) for v in book.grid[r][:width]]
        if any(v is not None for v in row):
            cells.append(row + [None] * (width - len(row)))
            rows.append(r + 1)
    raw = (
        pd.DataFrame(cells, columns=names, dtype=object)
        if cells
        else pd.DataFrame({n: pd.Series([], dtype=object) for n in names})
    )
    keep = [not c.startswith("Unnamed:") or raw[c].notna().any() for c in raw.columns]
    return raw.loc[:, keep], np.asarray(rows, dtype=np.int64), keys


def _read_part(
    path: str | Path | pd.DataFrame,
    sheet: str | int | None,
    rows_given: tuple[int, ...] | None,
    registry: Mapping[str, tuple[str, str, str]],
    pipelines: Mapping[str, Sequence[str]],
    *,
    many: bool,
) -> _Part:
    """Read one ledger sheet: header, non-project rows, unreadable cells, values."""
    book, header = _sheet_of(path, sheet, rows_given, registry)
    raw, rows, keys = _body(book, header)
    refuse_no_rows(len(rows), header, book)
    prefix = None  # several files: the part's messages are prefixed in _findings_frame
    grid_col = {c: j for j, c in enumerate(_names_of(header)) if c in raw.columns}
    findings = LedgerFindings(rows, sheet=book.sheet)
    rename, back = _map_headers(raw, keys, registry, findings)
    findings.headers = back
    if book.file is not None:  # a DataFrame has no spreadsheet columns to name
        findings.letters = {
            v: column_letter(grid_col[k]) for k, v in rename.items() if k in grid_col
        }
    _require_id_column(back, raw, book.source, header)
    note = header_note(header, book)
    if note:
        findings.add("header_rows", note, severity="info", action="reported")
    numeric_raw = {c for c, v in rename.items() if v in _NUMERIC}
    positions = {int(r) - 1: i for i, r in enumerate(rows)}
    by_grid = {j: c for c, j in grid_col.items()}
    raw = merged_body_cells(raw, book, positions, by_grid, numeric_raw, findings, prefix=prefix)
    raw = error_cells(raw, book, rows, grid_col if book.file else {}, findings)
    labels = [back[c] for c in ("project_id", "name", "street") if c in back]
    kinds = special_rows(raw, labels, rows, findings, prefix=prefix)
    numeric = {v: c for c, v in rename.items() if v in _NUMERIC}
    compare_totals(raw, kinds, numeric, rows, findings, prefix=prefix)
    project = np.array([k is None for k in kinds], dtype=bool)
    uncached_formulas(
        book,
        {int(r) - 1: int(r) for r in rows[project]},
        by_grid,
        findings,
        prefix=prefix,
    )
    raw, rows = raw.loc[project].reset_index(drop=True), rows[project]
    hidden_rows(book, rows, findings)
    findings.labels = rows
    df = _part_table(raw, rename, back, pipelines, findings)
    df["source_file"] = book.file
    df["source_sheet"] = book.sheet
    df["source_sheet_name"] = book.source
    file_stages = [c.rsplit("_", 1)[0] for c in back if c.endswith(("_planned", "_actual"))]
    source = book.source if many else None
    return _Part(df, findings, back, file_stages, "project_type" in back, source)


def _names_of(header: Header) -> list[str]:
    names: list[str] = []
    for j, name in enumerate(header.names):
        label = name or f"Unnamed: {j}"
        while label in names:
            label += "*"
        names.append(label)
    return names


def _part_table(
    raw: pd.DataFrame,
    rename: Mapping[Any, str],
    back: Mapping[str, str],
    pipelines: Mapping[str, Sequence[str]],
    findings: LedgerFindings,
) -> pd.DataFrame:
    """Return the canonical columns of the project rows, cells parsed (bad cells reported)."""
    canon = {v: raw[k] for k, v in rename.items()}
    file_stages = [c.rsplit("_", 1)[0] for c in back if c.endswith(("_planned", "_actual"))]
    df = _text_columns(raw, canon)
    findings.ids = df["project_id"].to_numpy(dtype=object)
    _value_columns(df, canon, pipelines, file_stages, findings)
    for c in raw.columns:
        if c not in rename:
            df[str(c)] = raw[c]
    df["ledger_row"] = findings.labels
    return df


def _combine(parts: Sequence[_Part]) -> tuple[pd.DataFrame, dict[str, str], list[str], bool]:
    """One table of the parts' rows; the first part's headers name the columns."""
    df = (
        pd.concat([p.table for p in parts], ignore_index=True)
        if len(parts) > 1
        else parts[0].table
    )
    back: dict[str, str] = {}
    for p in parts:
        for k, v in p.back.items():
            back.setdefault(k, v)
    stages = [s for p in parts for s in p.file_stages]
    has_type = any(p.has_type for p in parts)
    if has_type and not all(p.has_type for p in parts):
        df["project_type"] = df["project_type"].astype(object)
    return df, back, stages, has_type


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
        if col in canon:
            factor = _unit_factor(col, findings.header(col), findings)
            df[col] = _parse_numbers(canon[col], col, findings) * factor
        else:
            df[col] = pd.Series(np.nan, index=index)
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


def _findings_frame(parts: Sequence[tuple[Findings, str | None]]) -> pd.DataFrame:
    """
    Return the findings sorted by row (spreadsheet rows as integers; row-less last).

    Each part is a collector and the file and sheet its messages are prefixed with (None:
    as they are).
    """
    frames = []
    for k, (findings, source) in enumerate(parts):
        frame = findings.frame()
        if source is not None:
            named = frame["message"].str.startswith(f"{source}:")
            frame["message"] = frame["message"].where(named, f"{source}: " + frame["message"])
        frame["_part"] = k
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if frames else Findings().frame()
    if "_part" not in frame:
        frame["_part"] = 0
    row = pd.to_numeric(frame["row"], errors="coerce")
    frame = frame.assign(_row=row.fillna(np.inf)).sort_values(["_row"], kind="stable")
    frame = frame.drop(columns=["_part", "_row"]).reset_index(drop=True)
    frame["row"] = frame["row"].astype("Int64")
    return frame


def _flag_rows(findings: Findings, problem: str, df: pd.DataFrame) -> pd.Series:
    frame = findings.frame()
    flagged = set(frame.loc[frame["problem"] == problem, "row"].dropna())
    return df["ledger_row"].isin(flagged)


def _check_ids(df: pd.DataFrame, findings: Findings, *, many: bool = False) -> None:
    ids = df["project_id"].to_numpy(dtype=object)
    pos = np.flatnonzero(df["project_id"].isna().to_numpy())
    message = "row {row}: project id (项目编号) is blank; fill it in."
    _report(findings, pos, "missing_id", message, column="project_id")
    dup = df["project_id"].notna() & df["project_id"].duplicated(keep=False)
    first = pd.Series(np.arange(len(df)), index=df.index)[dup].groupby(df["project_id"][dup]).min()
    pos = np.flatnonzero((dup & df["project_id"].duplicated(keep="first")).to_numpy())
    first_pos = [int(first[pid]) for pid in ids[pos]]
    rows = df["ledger_row"].to_numpy()
    where = [f"row {rows[i]}" for i in first_pos]
    if many:
        sources = df["source_sheet_name"].to_numpy(dtype=object)
        where = [
            w if sources[i] == sources[p] else f"{sources[i]}, {w}"
            for w, i, p in zip(where, first_pos, pos, strict=True)
        ]
    _report(
        findings,
        pos,
        "duplicate_id",
        "row {row}: project id {value!r} already appears in {first}; "
        "give each project one row (merge or renumber).",
        column="project_id",
        values=ids[pos],
        first=where,
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
