"""
Validate and repair a layer: what is wrong, what was repaired, and nothing dropped silently.

`validate_layer` checks a GeoDataFrame against its layer kind (`schema.KINDS`) and returns a
`ValidationReport`. Every problem is a *finding* with a severity:

The details are in the user guide, docs/guide/validation.md.
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from geo_renewal import schema
from geo_renewal._checks import check_lang, check_threads
from geo_renewal._errors import InputError
from geo_renewal._findings import SEVERITIES, Findings
from geo_renewal._geomvalid import _check_geometry, _Removals, _s
from geo_renewal._overlaps import _overlapping_pairs
from geo_renewal._survey_fields import check_stated_area
from geo_renewal.crs import area
from geo_renewal.text import finding_action, finding_sentence, say, say_or

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "MAX_HOUSEHOLDS_PER_100M2",
    "MAX_PERSONS_PER_100M2",
    "PROBLEMS",
    "ValidationReport",
    "validate_layer",
]

logger = logging.getLogger(__name__)

#: Problem code -> short English description (the group headings of the report).
PROBLEMS: dict[str, str] = {
    "missing_crs": "layer has no CRS",
    "missing_column": "required column missing",
    "encoding_mismatch": "declared text encoding contradicts the bytes",
    "duplicate_column": "several columns for one canonical name",
    "null_geometry": "null or empty geometry",
    "bad_coordinates": "NaN, infinite or implausible coordinates",
    "invalid_geometry": "invalid geometry",
    "wrong_geometry_type": "geometry type not allowed for this kind of layer",
    "missing_id": "missing id",
    "exact_duplicate": "exact duplicate row",
    "duplicate_id": "duplicate id",
    "non_numeric": "non-numeric value in a numeric column",
    "implausible_value": "implausible value",
    "implausible_density": "implausibly many households or persons for the floor area",
    "fractional_count": "fraction where a whole number is expected",
    "non_boolean": "value is not yes/no",
    "unknown_code": "unknown code",
    "overlap": "overlapping polygons",
    "outside_districts": "outside every district",
}


# A blank yes/no cell reads as "no" here (validation only flags unreadable values).
_FALSE = schema.FALSE_VALUES | {""}
_GRADES = ("A", "B", "C", "D")
_CODE_COLUMNS = {
    "land_use": schema.LAND_USES,
    "planned_use": schema.LAND_USES,
    "structure": schema.STRUCTURES,
}
_OVERLAP_KINDS = ("parcels", "buildings", "districts", "sites")
_MAX_LISTED = 10  # rows listed per problem in str(report)
#: Households per 100 m² of floor area above which a count is implausible (a warning): less
#: than 12.5 m² of floor area per household, below any dwelling; typical old housing has 1-4.
#: It catches unit mistakes (floor area in 万㎡, persons in the households column).
MAX_HOUSEHOLDS_PER_100M2 = 8.0
#: Persons per 100 m² of floor area above which a count is implausible (a warning): less
#: than 4 m² of floor area per person, denser than a dormitory; typical is 3-11.
MAX_PERSONS_PER_100M2 = 25.0


@dataclass
class ValidationReport:
    """
    The outcome of `validate_layer`: findings, the cleaned layer and the removed rows.

    Attributes
    ----------
    kind
        The layer kind checked (a key of `schema.KINDS`).
    n_input
        Number of rows of the input layer.
    findings
        One row per finding; see `to_frame`.
    layer
        The cleaned layer: repaired geometries, coerced values, removed rows dropped; same
        index labels, columns and CRS as the input.
    removed
        The removed input rows (original geometry and values) with ``problem`` and
        ``reason`` columns added.
    overlaps
        Overlapping pairs above the tolerance: ``row_a``, ``id_a``, ``row_b``, ``id_b``,
        ``overlap_m2``, ``share_of_smaller``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(
    ...     {"parcel_id": ["P1", "P1"], "floors": [3, 0]},
    ...     geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=4548)
    >>> report = validate_layer(parcels, kind="parcels")
    >>> report.ok
    False
    >>> report.to_frame()["problem"].tolist()
    ['duplicate_id', 'duplicate_id', 'implausible_value']
    """

    kind: str
    n_input: int
    findings: pd.DataFrame
    layer: gpd.GeoDataFrame
    removed: gpd.GeoDataFrame
    overlaps: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def ok(self) -> bool:
        """True when there is no error-level finding."""
        return not bool((self.findings["severity"] == "error").any())

    def counts(self) -> pd.Series:
        """
        Return the number of findings per severity (error, warning, info).

        Returns
        -------
        counts
            Integer Series indexed by severity.
        """
        return self.findings["severity"].value_counts().reindex(list(SEVERITIES), fill_value=0)

    def to_frame(self) -> pd.DataFrame:
        """
        Return the findings as a table, one row per finding.

        Returns
        -------
        findings
            Columns ``row`` (index label of the input row, None for layer-wide findings),
            ``id`` (value of the id column), ``column``, ``problem`` (code, see `PROBLEMS`),
            ``severity``, ``action`` (what was done), ``message`` and ``value`` (the
            offending value as text).
        """
        return self.findings.copy()

    def summary_text(self, *, lang: str | None = None, first_row: int | None = None) -> str:
        """
        Return the report as ``geo-renewal validate`` prints it: counts, then each kind of problem.

        Parameters
        ----------
        lang
            ``"zh"`` or ``"en"``; defaults to `settings.lang`. Chinese labels problem kinds,
            severities and actions as `geo_renewal.tables.findings_table` does.
        first_row
            The row number of the source's first data row (``layer.attrs["first_row"]``
            of `geo_renewal.io.read_layer`), so that rows read as a person sees them in the
            file; None keeps the layer's row labels (0, 1, …).

        Returns
        -------
        text
            Lines; at most 20 findings are listed per kind.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import box
        >>> parcels = gpd.GeoDataFrame({"parcel_id": ["P1", "P2"]},
        ...     geometry=[box(0, 0, 10, 10), None], crs=4548)
        >>> print(validate_layer(parcels, kind="parcels").summary_text(lang="zh", first_row=1))
        数据检查：2 个地块，1 个错误、0 个警告、0 条提示——未通过
        保留 1 行，移除 1 行。
        <BLANKLINE>
        【错误】几何图形为空：1 条（处理：已移除该行）
          第 2 行：几何图形为空（编号“P2”），已移除该行。
        """
        lang = check_lang(lang)
        lines = _summary_head(self, lang)
        if self.findings.empty:
            return "\n".join([*lines, say("validate.none", lang)])
        f = self.findings
        order = {s: i for i, s in enumerate(SEVERITIES)}
        rank = {p: i for i, p in enumerate(PROBLEMS)}
        groups = (
            f.assign(_s=f["severity"].map(order), _p=f["problem"].map(rank).fillna(len(rank)))
            .groupby(["_s", "_p", "problem", "severity"], sort=True)
            .size()
        )
        for (_, _, problem, severity), n in groups.items():
            sub = f[(f["problem"] == problem) & (f["severity"] == severity)]
            lines += ["", _group_line(problem, severity, sub, lang)]
            lines += [
                _finding_line(r, lang, first_row) for r in sub.head(_MAX_LISTED).to_dict("records")
            ]
            if n > _MAX_LISTED:
                lines.append(say("validate.more", lang, n=n - _MAX_LISTED))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary_text(lang="en")

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        import html

        return f"<pre>{html.escape(str(self))}</pre>"


def _summary_head(report: ValidationReport, lang: str) -> list[str]:
    """Return the count line and the kept/removed line of `ValidationReport.summary_text`."""
    c = report.counts()
    head = say(
        "validate.head",
        lang,
        n=report.n_input,
        kind=say_or(f"validate.kind.{report.kind}", lang, report.kind),
        errors=c["error"],
        warnings=c["warning"],
        infos=c["info"],
        status=say("validate.ok" if report.ok else "validate.not_ok", lang),
    )
    kept = say("validate.kept", lang, kept=len(report.layer), removed=len(report.removed))
    if len(report.overlaps):
        kept += say("validate.overlaps", lang, n=len(report.overlaps))
    return [head, kept + say("validate.end", lang)]


def _group_line(problem: str, severity: str, sub: pd.DataFrame, lang: str) -> str:
    """Return the heading of one kind of problem: severity, kind, count, what was done."""
    actions = pd.unique(sub["action"])
    if lang == "zh":
        kind = say_or(f"findings.kind.{problem}", lang, problem)
        sev = say_or(f"findings.severity.{severity}", lang, severity)
        actions = pd.unique(pd.Series([finding_action(a, lang) for a in actions]))
    else:
        kind, sev = f"{problem}: {PROBLEMS.get(problem, problem)}", severity.upper()
    n = len(sub)
    joined = say("validate.action_separator", lang).join(map(str, actions))
    count = say("validate.count_one" if n == 1 else "validate.count", lang, n=n)
    return say("validate.group", lang, severity=sev, kind=kind, count=count, actions=joined)


def _finding_line(row: dict[str, object], lang: str, first_row: int | None) -> str:
    """Return one listed finding: where (row as the file shows it, id) and the sentence."""
    r = row["row"]
    if r is None or (isinstance(r, float) and np.isnan(r)):
        where = say("validate.layer", lang)
    else:
        shown = r + first_row if first_row is not None and isinstance(r, int | np.integer) else r
        where = say("validate.row", lang, row=shown)
    message = row["message"]
    if lang == "zh":  # a Chinese sentence that names the id
        message = finding_sentence(row, lang)
    elif row["id"] is not None and not pd.isna(row["id"]):
        where += say("validate.with_id", lang, id=row["id"])
    return say("validate.line", lang, where=where, message=message)


def validate_layer(
    gdf: gpd.GeoDataFrame,
    *,
    kind: str,
    districts: gpd.GeoDataFrame | None = None,
    repair: bool = True,
    overlap_tolerance: float = 1.0,
    n_jobs: int | None = None,
) -> ValidationReport:
    """
    Check a layer against its kind, repair what can be repaired, and report every problem.

    Parameters
    ----------
    gdf
        The layer, with canonical column names (as `read_layer(kind=...)` returns them).
    kind
        One of `schema.KINDS`: ``"parcels"``, ``"buildings"``, ``"districts"``,
        ``"projects"``, ``"sites"`` or ``"constraints"``.
    districts
        Optional district (street) polygons; features intersecting none of them are
        reported. Any CRS (reprojected to the layer's working CRS for the test).
    repair
        If True (default), repair invalid geometries, remove rows without usable
        geometry, and set non-numeric or implausible values to missing in
        ``report.layer``. If False, only report: ``report.layer`` is an unchanged copy
        and nothing is removed.
    overlap_tolerance
        Overlaps smaller than this many m² are ignored (digitising slivers).
    n_jobs
        Threads for the overlap search on big layers; None uses up to 4 (the CPU count).

    Returns
    -------
    report
        A `ValidationReport`; ``report.layer`` is the cleaned layer and
        ``report.removed`` the removed rows with their reason.

    Notes
    -----
    Geometry with a NaN or infinite coordinate, or outside the plausible range of the CRS
    (its area of use widened by `geo_renewal._geomcheck.MARGIN_DEG` = 30°), is an error
    (``bad_coordinates``) and removed. Warnings, the rows kept: households or floors that
    are not whole numbers (``fractional_count``); more than `MAX_HOUSEHOLDS_PER_100M2` = 8
    households or `MAX_PERSONS_PER_100M2` = 25 persons per 100 m² of ``floor_area``
    (``implausible_density``). What reading resolved (an encoding declaration the bytes
    overruled, two columns for one name) is in the findings too.

    Raises
    ------
    InputError
        If `gdf` is not a GeoDataFrame or `kind` is unknown.

    See Also
    --------
    geo_renewal.read_layer : Read a layer and map its column headers.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Polygon, box
    >>> bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    >>> parcels = gpd.GeoDataFrame(
    ...     {"parcel_id": ["P1", "P2", "P3"], "build_year": [2999, 1985, 1990]},
    ...     geometry=[box(20, 0, 30, 10), None, bowtie], crs="EPSG:4548")
    >>> report = validate_layer(parcels, kind="parcels")
    >>> report.ok, len(report.layer), len(report.removed)
    (False, 2, 1)
    >>> report.layer.geometry.is_valid.all()
    np.True_
    >>> print(report)  # doctest: +ELLIPSIS
    Validation of 3 parcels: 2 errors, 1 warnings, 0 notes — NOT OK
    2 rows kept, 1 removed.
    <BLANKLINE>
    ERROR null_geometry: null or empty geometry (1 finding; action: removed)
      row 1 (P2): geometry is null; the row is removed
    ...
    """
    _check_arguments(gdf, kind, districts)
    threads = check_threads(n_jobs)
    spec = schema.KINDS[kind]
    required = spec["required"]
    id_col = required[0] if required and required[0] in gdf.columns else None
    labels = np.asarray(gdf.index, dtype=object)
    ids = gdf[id_col].to_numpy(dtype=object) if id_col else None
    col = Findings(labels, ids)
    for f in gdf.attrs.get("read_findings", ()):  # what reading found (io, _columns, _tabular)
        col.add(
            f["problem"],
            f["message"],
            severity=f["severity"],
            row=f.get("row"),
            id=f.get("id"),
            column=f.get("column"),
            action=f["action"],
            value=f.get("value"),
        )
    act = (lambda done: done) if repair else (lambda _done: "none (repair=False)")

    _check_layer(gdf, kind, required, col)
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    new_geoms, removals = _check_geometry(
        geoms, spec["geometry"], col, crs=gdf.crs, repair=repair, act=act
    )
    if id_col:
        _check_ids(gdf, id_col, geoms, col, removals, repair=repair)
    values = _check_values(gdf, col, repair=repair, act=act)
    layer, removed, keep = _clean_layer(gdf, new_geoms, values, removals, repair=repair)
    none = np.zeros(0, dtype=np.intp)
    overlaps = _overlap_frame(none, none, labels, ids, np.zeros(0), np.zeros(0))
    kept_pos = np.flatnonzero(keep if repair else removals.pending())
    if gdf.crs is not None and kept_pos.size:
        measured = layer if repair else _measurable(gdf, kept_pos)
        if kind in _OVERLAP_KINDS:
            overlaps = _check_overlaps(
                measured, kept_pos, labels, ids, col, tolerance=overlap_tolerance, threads=threads
            )
        if districts is not None:
            _check_districts(measured, kept_pos, districts, col)
        if "stated_area" in gdf.columns:  # TBMJ / ZDMJ against the computed area
            stated = gdf["stated_area"].to_numpy(dtype=object)[kept_pos]
            check_stated_area(stated, area(measured).to_numpy(), col, positions=kept_pos)

    findings, n = col.frame(), len(gdf)
    report = ValidationReport(
        kind=kind, n_input=n, findings=findings, layer=layer, removed=removed, overlaps=overlaps
    )
    logger.info(
        "validated %d %s: %d findings, %d rows removed", n, kind, len(findings), len(removed)
    )
    return report


def _measurable(gdf: gpd.GeoDataFrame, pos: np.ndarray) -> gpd.GeoDataFrame:
    """Rows `pos` of `gdf` with invalid geometries made valid (for measuring; repair=False)."""
    geoms = np.asarray(gdf.geometry.array, dtype=object)[pos]
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    return gpd.GeoDataFrame(geometry=geoms, index=gdf.index[pos], crs=gdf.crs)


def _check_arguments(
    gdf: gpd.GeoDataFrame, kind: str, districts: gpd.GeoDataFrame | gpd.GeoSeries | None
) -> None:
    if kind not in schema.KINDS:
        msg = f"`kind` must be one of {sorted(schema.KINDS)}, got {kind!r}."
        raise InputError(msg)
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = (
            f"`gdf` must be a GeoDataFrame, got {type(gdf).__name__}; read files with "
            f"`geo_renewal.read_layer(path, kind={kind!r})`."
        )
        raise InputError(msg)
    if districts is not None and not isinstance(districts, gpd.GeoDataFrame | gpd.GeoSeries):
        msg = f"`districts` must be a GeoDataFrame, got {type(districts).__name__}."
        raise InputError(msg)


def _check_layer(gdf: gpd.GeoDataFrame, kind: str, required: Sequence[str], col: Findings) -> None:
    """Layer-wide findings: no CRS, required columns missing."""
    if gdf.crs is None:
        col.layer(
            column="geometry",
            problem="missing_crs",
            severity="error",
            action="overlap and district checks skipped",
            message="the layer has no CRS; declare it, e.g. `gdf.set_crs('EPSG:4490')` or "
            "`read_layer(path, crs='EPSG:4548')`",
        )
    missing = [c for c in required if c not in gdf.columns]
    for c in missing:
        col.layer(
            column=c,
            problem="missing_column",
            severity="error",
            action="none",
            message=f"required column {c!r} is missing (required for {kind}: "
            f"{list(required)}; present: {list(gdf.columns.drop(gdf.geometry.name))}); "
            f"rename the header or pass `columns={{'<header>': {c!r}}}` to `read_layer`",
        )


def _check_values(
    gdf: gpd.GeoDataFrame, col: Findings, *, repair: bool, act: Callable[[str], str]
) -> dict[str, pd.Series]:
    """Check numeric, grade, yes/no and code columns; return the coerced columns."""
    values: dict[str, pd.Series] = {}
    for c, (lo, hi, expect) in schema.NUMERIC_COLUMNS.items():
        if c in gdf.columns:
            values[c] = _check_numeric(gdf[c], c, lo, hi, expect, col, repair=repair, act=act)
    if "danger_grade" in gdf.columns:
        values["danger_grade"] = _check_grade(gdf["danger_grade"], col, act=act)
    for c in schema.BOOL_COLUMNS:
        if c in gdf.columns:
            values[c] = _check_bool(gdf[c], c, col, act=act)
    for c, codes in _CODE_COLUMNS.items():
        if c in gdf.columns:
            _check_codes(gdf[c], c, codes, col)
    _check_magnitudes(gdf, values, col)
    return values


def _numbers(gdf: gpd.GeoDataFrame, values: dict[str, pd.Series], c: str) -> np.ndarray | None:
    if c not in gdf.columns:
        return None
    s = pd.to_numeric(values.get(c, gdf[c]), errors="coerce")
    return s.to_numpy(dtype="float64", na_value=np.nan)


def _check_magnitudes(gdf: gpd.GeoDataFrame, values: dict[str, pd.Series], col: Findings) -> None:
    """Warn about fractional households and floors, and crowding beyond the bounds."""
    for c, what in (("households", "households"), ("floors", "storeys")):
        v = _numbers(gdf, values, c)
        if v is None:
            continue
        with np.errstate(invalid="ignore"):
            pos = np.flatnonzero(np.isfinite(v) & (v != np.round(v)))
        txt = _s(v[pos], lambda x: f"{x:g}")
        col.rows(
            pos,
            column=c,
            problem="fractional_count",
            severity="warning",
            action="none (kept)",
            message=f"{c} " + txt + f" is not a whole number of {what}; check the source",
            value=txt,
        )
    floor = _numbers(gdf, values, "floor_area")
    if floor is None:
        return
    for c, bound, unit in (
        ("households", MAX_HOUSEHOLDS_PER_100M2, "households"),
        ("population", MAX_PERSONS_PER_100M2, "persons"),
    ):
        v = _numbers(gdf, values, c)
        if v is None:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            density = v / floor * 100.0
            pos = np.flatnonzero((v > 0) & (floor >= 0) & (density > bound))
        col.rows(
            pos,
            column=c,
            problem="implausible_density",
            severity="warning",
            action="none (kept)",
            message=f"{c} "
            + _s(v[pos], lambda x: f"{x:g}")
            + " on "
            + _s(floor[pos], lambda x: f"{x:,.0f}")
            + f" m² of floor area is more than {bound:g} {unit} per 100 m²; check the count "
            "and the floor area",
            value=_s(v[pos], lambda x: f"{x:g}"),
        )


def _clean_layer(
    gdf: gpd.GeoDataFrame,
    new_geoms: np.ndarray,
    values: dict[str, pd.Series],
    removals: _Removals,
    *,
    repair: bool,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, np.ndarray]:
    """Return the cleaned layer, the removed rows with their reason, and the kept mask."""
    removed_mask = ~removals.pending()
    if not repair:
        removed_mask = np.zeros(len(gdf), dtype=bool)
    keep = ~removed_mask
    out = gdf.copy()
    if repair:
        for c, s in values.items():
            out[c] = s
        out[gdf.geometry.name] = gpd.GeoSeries(new_geoms, index=gdf.index, crs=gdf.crs)
    layer = out.iloc[np.flatnonzero(keep)]
    removed = gdf.iloc[np.flatnonzero(removed_mask)].copy()
    problem, reason = removals.problem[removed_mask], removals.reason[removed_mask]
    removed["problem"] = pd.Series(problem, index=removed.index, dtype=object)
    removed["reason"] = pd.Series(reason, index=removed.index, dtype=object)
    return layer, removed, keep


def _check_ids(
    gdf: gpd.GeoDataFrame,
    id_col: str,
    geoms: np.ndarray,
    col: Findings,
    removals: _Removals,
    *,
    repair: bool,
) -> None:
    """Missing ids, exact duplicate rows (removed) and ids shared by different rows."""
    ids = gdf[id_col]
    blank = (
        ids.isna().to_numpy() | (ids.astype("string").str.strip() == "").fillna(True).to_numpy()
    )
    col.rows(
        np.flatnonzero(blank),
        column=id_col,
        problem="missing_id",
        severity="error",
        action="none",
        message=f"{id_col} is missing; give the row a unique id",
    )
    # Rows already removed for their geometry take no part in the id checks.
    cand = np.flatnonzero(~blank & removals.pending())
    dpos = cand[ids.iloc[cand].duplicated(keep=False).to_numpy()]
    if dpos.size == 0:
        return
    exact_later = _check_exact_duplicates(gdf, id_col, geoms, dpos, col, removals, repair=repair)
    # Remaining rows that share an id with another remaining row.
    live = dpos[~exact_later] if repair else dpos
    lpos = live[ids.iloc[live].duplicated(keep=False).to_numpy()]
    if lpos.size:
        _report_shared_ids(gdf, id_col, lpos, col)


def _check_exact_duplicates(
    gdf: gpd.GeoDataFrame,
    id_col: str,
    geoms: np.ndarray,
    dpos: np.ndarray,
    col: Findings,
    removals: _Removals,
    *,
    repair: bool,
) -> np.ndarray:
    """Among rows `dpos` sharing an id, find the later copies of identical rows (mask)."""
    sub = gdf.iloc[dpos].drop(columns=gdf.geometry.name)
    key = pd.util.hash_pandas_object(sub.astype("string"), index=False).to_numpy()
    wkb = shapely.to_wkb(geoms[dpos], hex=True)
    key = pd.Series(_s(key) + _s(wkb), dtype=object)
    exact_later = key.duplicated(keep="first").to_numpy().copy()
    first_label = (
        pd.Series(np.asarray(gdf.index[dpos], dtype=object), dtype=object)
        .groupby(key.to_numpy())
        .transform("first")
        .to_numpy()
    )
    epos = dpos[exact_later]
    col.rows(
        epos,
        column=id_col,
        problem="exact_duplicate",
        severity="warning",
        action="removed" if repair else "none (repair=False)",
        message=_s(
            first_label[exact_later],
            lambda r: f"exact copy of row {r} (same id, values and geometry)",
        )
        + ("; the copy is removed" if repair else ""),
    )
    if repair:
        reason = _s(first_label[exact_later], lambda r: f"exact copy of row {r}")
        removals.mark(epos, "exact_duplicate", reason)
    return exact_later


def _report_shared_ids(
    gdf: gpd.GeoDataFrame, id_col: str, lpos: np.ndarray, col: Findings
) -> None:
    """Report the rows at `lpos`, each of which shares its id with another of them."""
    lab = pd.Series(np.asarray(gdf.index[lpos], dtype=object), dtype=object)
    grp = gdf[id_col].iloc[lpos].to_numpy(dtype=object)
    members = lab.groupby(grp).agg(
        lambda s: ", ".join(map(str, s.iloc[:5])) + (" …" if len(s) > 5 else "")
    )
    sizes = lab.groupby(grp).size()
    message = (
        f"{id_col} "
        + _s(grp, repr)
        + " is used by "
        + _s(grp, lambda v: str(sizes[v]))
        + " rows ("
        + _s(grp, lambda v: members[v])
        + "); make the ids unique"
    )
    col.rows(
        lpos,
        column=id_col,
        problem="duplicate_id",
        severity="error",
        action="none (kept)",
        message=message,
        value=grp,
    )


def _check_numeric(
    s: pd.Series,
    c: str,
    lo: float | None,
    hi: float | None,
    expect: str,
    col: Findings,
    *,
    repair: bool,
    act: Callable[[str], str],
) -> pd.Series:
    """Return the column as float with non-numeric and implausible values set to NaN."""
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        text = s.astype("string").str.strip()
        num = pd.to_numeric(text.replace("", pd.NA), errors="coerce")
        num = num.astype("float64") if num.dtype != "float64" else num
        bad = (num.isna() & text.notna() & (text != "")).to_numpy()
        pos = np.flatnonzero(bad)
        col.rows(
            pos,
            column=c,
            problem="non_numeric",
            severity="error",
            action=act("set to missing"),
            message=f"{c} is not a number: "
            + _s(text.iloc[pos], repr)
            + (f"; set to missing, enter {expect}" if repair else f"; enter {expect}"),
            value=s.iloc[pos].to_numpy(dtype=object),
        )
    else:
        num = s.astype("float64")
    v = num.to_numpy(dtype="float64", na_value=np.nan)
    if c == "build_year":
        hi = _dt.date.today().year
    with np.errstate(invalid="ignore"):
        low = v < lo if lo is not None else np.zeros(v.size, dtype=bool)
        if c == "floors":
            low = v <= 0
        high = v > hi if hi is not None else np.zeros(v.size, dtype=bool)
    bad = low | high
    pos = np.flatnonzero(bad)
    if pos.size:
        if c == "build_year":
            why = np.where(high[pos], "is in the future", f"is before {lo:g}")
        elif c == "floors":
            why = np.where(high[pos], f"is above {hi:g}", "is zero or negative")
        else:
            why = np.full(pos.size, "is negative", dtype=object)
        vals = _s(v[pos], lambda x: f"{x:g}")
        col.rows(
            pos,
            column=c,
            problem="implausible_value",
            severity="error",
            action=act("set to missing"),
            message=f"{c} "
            + vals
            + " "
            + _s(why)
            + f"; expected {expect}"
            + ("; set to missing" if repair else ""),
            value=vals,
        )
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) or pos.size:
        out = pd.Series(v, index=s.index, name=s.name)
        out.iloc[pos] = np.nan
        return out
    return s


def _check_grade(s: pd.Series, col: Findings, *, act: Callable[[str], str]) -> pd.Series:
    """Normalise danger grades to A–D ('c', 'C级' -> 'C'); report anything else."""
    text = s.astype("string").str.strip().str.upper().str.removesuffix("级")
    text = text.mask(text == "")
    bad = (text.notna() & ~text.isin(_GRADES)).to_numpy(dtype=bool, na_value=False)
    pos = np.flatnonzero(bad)
    col.rows(
        pos,
        column="danger_grade",
        problem="implausible_value",
        severity="error",
        action=act("set to missing"),
        message="danger_grade "
        + _s(s.iloc[pos], lambda v: repr(str(v)))
        + " is not a JGJ 125-2016 grade A, B, C or D",
        value=s.iloc[pos].to_numpy(dtype=object),
    )
    out = text.astype(object).where(text.notna(), None)
    out.iloc[pos] = None
    return out.astype("string") if pd.api.types.is_string_dtype(s) else out


def _check_bool(s: pd.Series, c: str, col: Findings, *, act: Callable[[str], str]) -> pd.Series:
    """Turn yes/no spellings (是/否, 1/0, true/false) into bool; blanks are False."""
    if pd.api.types.is_bool_dtype(s) and not s.isna().any():
        return s.astype(bool)
    text = s.astype("string").str.strip().str.lower().fillna("")
    is_true = text.isin(schema.TRUE_VALUES).to_numpy(dtype=bool)
    is_false = text.isin(_FALSE).to_numpy(dtype=bool)
    pos = np.flatnonzero(~is_true & ~is_false)
    col.rows(
        pos,
        column=c,
        problem="non_boolean",
        severity="error",
        action=act("set to False"),
        message=f"{c} "
        + _s(s.iloc[pos], lambda v: repr(str(v)))
        + " is not yes/no (是/否, 1/0, true/false)",
        value=s.iloc[pos].to_numpy(dtype=object),
    )
    return pd.Series(is_true, index=s.index, name=s.name)


def _check_codes(s: pd.Series, c: str, codes: dict[str, tuple[str, str]], col: Findings) -> None:
    text = s.astype("string")
    bad = (text.notna() & (text.str.strip() != "") & ~text.isin(list(codes))).to_numpy(
        dtype=bool, na_value=False
    )
    pos = np.flatnonzero(bad)
    col.rows(
        pos,
        column=c,
        problem="unknown_code",
        severity="warning",
        action="none (kept)",
        message=f"{c} "
        + _s(text.iloc[pos], repr)
        + f" is not one of the codes {list(codes)}; rules comparing {c} will not match it",
        value=s.iloc[pos].to_numpy(dtype=object),
    )


def _overlap_frame(
    pa: np.ndarray,
    pb: np.ndarray,
    labels: np.ndarray,
    ids: np.ndarray | None,
    ov: np.ndarray,
    share: np.ndarray,
) -> pd.DataFrame:
    """Return the table of overlapping pairs (`ValidationReport.overlaps`) at positions pa, pb."""
    ida = ids[pa] if ids is not None else np.full(pa.size, None, dtype=object)
    idb = ids[pb] if ids is not None else np.full(pa.size, None, dtype=object)
    return pd.DataFrame(
        {
            "row_a": pd.Series(labels[pa], dtype=object),
            "id_a": pd.Series(ida, dtype=object),
            "row_b": pd.Series(labels[pb], dtype=object),
            "id_b": pd.Series(idb, dtype=object),
            "overlap_m2": ov.astype(float),
            "share_of_smaller": share.astype(float),
        }
    )


def _check_overlaps(
    layer: gpd.GeoDataFrame,
    kept_pos: np.ndarray,
    labels: np.ndarray,
    ids: np.ndarray | None,
    col: Findings,
    *,
    tolerance: float,
    threads: int,
) -> pd.DataFrame:
    """Pairs of kept polygons whose interiors overlap by more than `tolerance` m²."""
    from geo_renewal.crs import to_working

    w = np.asarray(to_working(layer.geometry).array, dtype=object)
    a, b, ov, share = _overlapping_pairs(w, tolerance=tolerance, threads=threads)
    pa, pb = kept_pos[a], kept_pos[b]
    idb = ids[pb] if ids is not None else np.full(a.size, None, dtype=object)
    message = (
        "overlaps row "
        + _s(labels[pb])
        + _s(idb, lambda v: "" if v is None else f" ({v})")
        + " by "
        + _s(ov, lambda x: f"{x:,.1f}")
        + " m² ("
        + _s(share * 100, lambda x: f"{x:.0f}")
        + " % of the smaller polygon)"
    )
    area_txt = _s(ov, lambda x: f"{x:.1f}")
    severe = share >= 0.5
    for sel, severity in ((severe, "error"), (~severe, "warning")):
        col.rows(
            pa[sel],
            column="geometry",
            problem="overlap",
            severity=severity,
            action="none (kept)",
            message=message[sel],
            value=area_txt[sel],
        )
    return _overlap_frame(pa, pb, labels, ids, ov, share)


def _check_districts(
    layer: gpd.GeoDataFrame,
    kept_pos: np.ndarray,
    districts: gpd.GeoDataFrame | gpd.GeoSeries,
    col: Findings,
) -> None:
    """Features of `layer` that intersect no district polygon."""
    from geo_renewal.crs import check_crs, to_working, working_crs

    check_crs(districts, "districts")
    crs = working_crs(layer.geometry)
    w = np.asarray(to_working(layer.geometry, crs=crs).array, dtype=object)
    d = np.asarray(to_working(districts.geometry, crs=crs).array, dtype=object)
    d = d[~(shapely.is_missing(d) | shapely.is_empty(d))]
    d = shapely.make_valid(d)
    tree = shapely.STRtree(w)
    _, hit = tree.query(d, predicate="intersects")
    inside = np.zeros(w.size, dtype=bool)
    inside[hit] = True
    pos = kept_pos[~inside]
    col.rows(
        pos,
        column="geometry",
        problem="outside_districts",
        severity="warning",
        action="none (kept)",
        message="intersects no district polygon; it will be counted as 'outside every "
        "district' in statistics",
    )
