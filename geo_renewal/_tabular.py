"""
Tables as layers: CSV and XLSX with a WKT column or longitude/latitude columns.

Identifier columns stay text (leading zeros matter); the geometry column is found by its
normalised header. Used by `geo_renewal.io.read_layer`.
"""

from __future__ import annotations

import logging
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal import schema
from geo_renewal._checks import check_file as _check_file
from geo_renewal._columns import _norm
from geo_renewal._encoding import _text_encoding
from geo_renewal._errors import InputError
from geo_renewal._findings import FINDING_COLUMNS
from geo_renewal._headers import HEADER_SCAN_ROWS, ROW_KINDS, find_header, row_kind

if TYPE_CHECKING:
    import geopandas as gpd

logger = logging.getLogger("geo_renewal.io")


def check_file(path: Path, what: str = "") -> None:
    """Refuse a missing, folder or empty table or layer file (`what` names its role)."""
    _check_file(path, f"{what} `{path}`" if what else f"`{path}`")


# Normalised header spellings of geometry columns in tables (checked in this order).
_WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape", "几何", "空间信息")


_LON_COLUMNS = ("经度", "lon", "lng", "long", "longitude", "x", "x坐标", "东坐标")


_LAT_COLUMNS = ("纬度", "lat", "latitude", "y", "y坐标", "北坐标")


# Identifier columns kept as text when reading tables (leading zeros matter: "001").
_ID_COLUMNS = ("parcel_id", "building_id", "project_id", "site_id", "district_id", "zone_id")


def _read_cells(
    path: Path, *, layer: str | None, kind: str | None, encoding: str | None
) -> tuple[pd.DataFrame, int, str]:
    """Read the table below its header: the frame, the rows above the header, its name."""
    name = str(path)
    aliases = schema.column_aliases()

    def id_dtypes(headers: list[Any]) -> dict[Any, type]:
        return {h: str for h in headers if aliases.get(_norm(h)) in _ID_COLUMNS}

    try:
        if path.suffix.lower() == ".csv":
            if layer is not None:
                msg = f"`{name}` is a CSV, which holds one table; drop `layer={layer!r}`."
                raise InputError(msg)
            enc, sep = _csv_dialect(path, encoding)
            opts: dict[str, Any] = {"encoding": enc, "sep": sep, "skip_blank_lines": False}
            top = pd.read_csv(path, header=None, nrows=HEADER_SCAN_ROWS, dtype=str, **opts)
            skip, where = _header_row(top, aliases), name
            headers = list(pd.read_csv(path, skiprows=skip, nrows=0, **opts).columns)
            df = pd.read_csv(path, skiprows=skip, dtype=id_dtypes(headers), **opts)
        else:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
                with pd.ExcelFile(path, engine="openpyxl") as xl:
                    sheets = [str(s) for s in xl.sheet_names]
                    sheet = _pick(sheets, sheets, layer=layer, kind=kind, what=f"`{name}`")
                    top = pd.read_excel(
                        xl, sheet_name=sheet, header=None, nrows=HEADER_SCAN_ROWS, dtype=object
                    )
                    skip, where = _header_row(top, aliases), f"{name} [{sheet}]"
                    headers = list(
                        pd.read_excel(xl, sheet_name=sheet, skiprows=skip, nrows=0).columns
                    )
                    df = pd.read_excel(
                        xl, sheet_name=sheet, skiprows=skip, dtype=id_dtypes(headers)
                    )
    except (UnicodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        msg = (
            f"cannot read `{name}` as a table: it is empty, not text in the expected "
            f"encoding, or not comma/tab-separated; save it from Excel as 'CSV UTF-8', or "
            f"pass `encoding=`.\n{e}"
        )
        raise InputError(msg) from e
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        if isinstance(e, InputError):
            raise
        msg = (
            f"cannot read `{name}` as a workbook: it is damaged, encrypted or not an .xlsx "
            f"file; open it in Excel or WPS and save it as .xlsx.\n{e}"
        )
        raise InputError(msg) from e
    return df, skip, where


def read_cells(path: str | Path, *, what: str = "", sheet: str | None = None) -> pd.DataFrame:
    """
    Read a CSV or XLSX table without geometry (sale plots, parameters as tables …).

    The same reader as the layers' tables: the file checked first (`check_file`), the header
    found below title rows, UTF-8 / GB18030 / UTF-16 text, identifier columns kept as text;
    an unreadable file is one `InputError` naming it.
    """
    path = Path(path)
    check_file(path, what)
    df, skip, where = _read_cells(path, layer=sheet, kind=None, encoding=None)
    if df.dropna(how="all").empty:
        name = f"{what} `{where}`" if what else f"`{where}`"
        msg = (
            f"{name} has no rows below its header (row {skip + 1}): the export holds the "
            "headers only; export it again with its rows."
        )
        raise InputError(msg)
    return df


def _read_table(
    path: Path, *, layer: str | None, kind: str | None, encoding: str | None
) -> tuple[gpd.GeoDataFrame, str]:
    """Read a CSV/XLSX into a GeoDataFrame (no CRS); return it and a geometry description."""
    import geopandas as gpd
    import shapely

    name = str(path)
    aliases = schema.column_aliases()
    df, skip, where = _read_cells(path, layer=layer, kind=kind, encoding=encoding)
    df, found = _records(df, skip, where, aliases)
    norm: dict[str, Any] = {}
    for c in df.columns:
        norm.setdefault(_norm(c), c)
    wkt_col = next((norm[c] for c in _WKT_COLUMNS if c in norm), None)
    lon_col = next((norm[c] for c in _LON_COLUMNS if c in norm), None)
    lat_col = next((norm[c] for c in _LAT_COLUMNS if c in norm), None)
    if wkt_col is not None:
        text = df[wkt_col].astype(object).where(df[wkt_col].notna(), None)
        text = text.map(lambda v: v.strip() or None if isinstance(v, str) else v)
        geoms = shapely.from_wkt(text.to_numpy(dtype=object), on_invalid="ignore")
        bad = np.flatnonzero(shapely.is_missing(geoms) & text.notna().to_numpy())
        if bad.size:
            rows = [_row_label(df, i) for i in bad[:5]]
            msg = (
                f"`{name}`: column {wkt_col!r} holds text that is not WKT in rows {rows}"
                f"{' …' if bad.size > 5 else ''} ({bad.size} in all), e.g. "
                f"{str(text.iloc[bad[0]])[:60]!r}; fix or blank those cells."
            )
            raise InputError(msg)
        out = gpd.GeoDataFrame(df.drop(columns=[wkt_col]), geometry=geoms)
        return _with_findings(out, found), f"column {wkt_col!r}"
    if lon_col is None or lat_col is None:
        msg = (
            f"`{name}` has no geometry: expected a WKT column (one of {list(_WKT_COLUMNS)}) or "
            f"longitude and latitude columns (e.g. 经度/纬度, lon/lat, x/y); its columns are "
            f"{[str(c) for c in df.columns]}."
        )
        raise InputError(msg)
    xy = []
    for col in (lon_col, lat_col):
        values = pd.to_numeric(df[col], errors="coerce")
        blank = df[col].isna() | (df[col].astype(str).str.strip() == "")
        bad = np.flatnonzero((values.isna() & ~blank).to_numpy())
        if bad.size:
            rows = [_row_label(df, i) for i in bad[:5]]
            msg = (
                f"`{name}`: column {col!r} holds non-numeric coordinates in rows {rows}"
                f"{' …' if bad.size > 5 else ''}, e.g. {df[col].iloc[bad[0]]!r}; use decimal "
                "degrees (or metres) and fix those cells."
            )
            raise InputError(msg)
        xy.append(values.to_numpy(dtype=float))
    geoms = shapely.points(xy[0], xy[1])
    geoms[~(np.isfinite(xy[0]) & np.isfinite(xy[1]))] = None
    out = gpd.GeoDataFrame(df, geometry=geoms)
    return _with_findings(out, found), f"columns {lon_col!r}/{lat_col!r}"


def _row_label(df: pd.DataFrame, i: int) -> int:
    """Spreadsheet row number of data row `i` (the header row is above the first)."""
    rows = df.attrs.get(_SHEET_ROWS)
    return int(rows[i]) if rows is not None else int(i) + 2


_SHEET_ROWS = "sheet_rows"
#: Key of `DataFrame.attrs` holding what reading a table found (rows left out, title rows):
#: a tuple of findings, each a dict with the keys `FINDING_COLUMNS`; `validate_layer`
#: reports them.
READ_FINDINGS = "read_findings"


def _csv_dialect(path: Path, encoding: str | None) -> tuple[str, str]:
    """Return the encoding and separator of a CSV: Excel's "Unicode text" is UTF-16 with tabs."""
    with path.open("rb") as f:
        head = f.read(65_536)
    if encoding is None and head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    enc = encoding or _text_encoding(path)
    try:
        first = head.decode(enc, errors="ignore").lstrip("\ufeff").splitlines()[0]
    except IndexError:
        first = ""
    return enc, "\t" if first.count("\t") > first.count(",") else ","


def _header_row(top: pd.DataFrame, aliases: dict[str, str]) -> int:
    """Return the position of the header row among the first rows (0 unless a title is above it)."""
    names = {*aliases, *_WKT_COLUMNS, *_LON_COLUMNS, *_LAT_COLUMNS}
    grid = [tuple(r) for r in top.itertuples(index=False, name=None)]
    header = find_header(grid, known=names.__contains__, pairs=False)
    return header.rows[0] if header.score >= 2 else 0


def _records(
    df: pd.DataFrame, skip: int, where: str, aliases: dict[str, str]
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Drop blank rows and total / note rows (each a finding); note skipped title rows."""
    found: list[dict[str, Any]] = []
    if skip:
        found.append(
            _finding(
                None,
                "header_rows",
                f"{where}: the header is in row {skip + 1}; the {skip} row(s) above it "
                f"(a title) were skipped.",
                "info",
            )
        )
    rows = np.arange(len(df)) + skip + 2
    blank = df.isna().all(axis=1).to_numpy()
    labels = [c for c in df.columns if aliases.get(_norm(c)) in _ID_COLUMNS]
    keep = ~blank
    values = df.to_numpy(dtype=object)
    label_idx = [df.columns.get_loc(c) for c in labels]
    for i in np.flatnonzero(keep):
        row = values[i]
        first = next((v for v in row if isinstance(v, str) and v.strip()), None)
        kind = row_kind([first, *(row[j] for j in label_idx)])
        if kind is None:
            continue
        keep[i] = False
        found.append(
            _finding(
                int(rows[i]),
                f"{kind[0]}_row",
                f"{where}: row {rows[i]} is {ROW_KINDS[kind[0]]} ({kind[1]!r}), not a feature; "
                f"it was left out (delete it from the file to silence this).",
                "warning",
                value=kind[1],
            )
        )
    out = df if keep.all() else df.loc[keep].reset_index(drop=True)
    if skip or not keep.all():
        out.attrs[_SHEET_ROWS] = [int(r) for r in rows[keep]]
    return out, found


def _finding(
    row: int | None, problem: str, message: str, severity: str, value: Any = None
) -> dict[str, Any]:
    action = "left out" if problem.endswith("_row") else "reported"
    return dict(
        zip(
            FINDING_COLUMNS,
            [row, None, None, problem, severity, action, message, value],
            strict=True,
        )
    )


def _with_findings(gdf: gpd.GeoDataFrame, found: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    gdf.attrs.pop(_SHEET_ROWS, None)
    if found:
        for f in found:
            logger.warning("%s", f["message"])
        gdf.attrs[READ_FINDINGS] = tuple(found)
    return gdf


def _pick(
    items: list[Any], names: list[str], *, layer: str | None, kind: str | None, what: str
) -> Any:
    """Choose one of `items` by `layer` name, by `kind` name, or as the only one."""
    if layer is not None:
        if layer in names:
            return items[names.index(layer)]
        msg = f"{what} has no layer {layer!r}; its layers are {names}."
        raise InputError(msg)
    if len(items) == 1:
        return items[0]
    if not items:
        msg = f"{what} holds no layer to read."
        raise InputError(msg)
    if kind is not None and kind in names:
        return items[names.index(kind)]
    msg = (
        f"{what} holds several layers {names}; choose one with `layer=` "
        f"(on the command line: PATH::LAYER)."
    )
    raise InputError(msg)
