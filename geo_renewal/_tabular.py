"""
Tables as layers: CSV and XLSX with a WKT column or longitude/latitude columns.

Identifier columns stay text (leading zeros matter); the geometry column is found by its
normalised header. Used by `geo_renewal.io.read_layer`.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal import schema
from geo_renewal._columns import _norm
from geo_renewal._encoding import _text_encoding
from geo_renewal._errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd


# Normalised header spellings of geometry columns in tables (checked in this order).
_WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape", "几何", "空间信息")


_LON_COLUMNS = ("经度", "lon", "lng", "long", "longitude", "x", "x坐标", "东坐标")


_LAT_COLUMNS = ("纬度", "lat", "latitude", "y", "y坐标", "北坐标")


# Identifier columns kept as text when reading tables (leading zeros matter: "001").
_ID_COLUMNS = ("parcel_id", "building_id", "project_id", "site_id", "district_id", "zone_id")


def _read_table(
    path: Path, *, layer: str | None, kind: str | None, encoding: str | None
) -> tuple[gpd.GeoDataFrame, str]:
    """Read a CSV/XLSX into a GeoDataFrame (no CRS); return it and a geometry description."""
    import geopandas as gpd
    import shapely

    name = str(path)
    aliases = schema.column_aliases()

    def id_dtypes(headers: list[Any]) -> dict[Any, type]:
        return {h: str for h in headers if aliases.get(_norm(h)) in _ID_COLUMNS}

    try:
        if path.suffix.lower() == ".csv":
            if layer is not None:
                msg = f"`{name}` is a CSV, which holds one table; drop `layer={layer!r}`."
                raise InputError(msg)
            enc = encoding or _text_encoding(path)
            headers = list(pd.read_csv(path, encoding=enc, nrows=0).columns)
            df = pd.read_csv(path, encoding=enc, dtype=id_dtypes(headers))
        else:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
                with pd.ExcelFile(path, engine="openpyxl") as xl:
                    sheets = [str(s) for s in xl.sheet_names]
                    sheet = _pick(sheets, sheets, layer=layer, kind=kind, what=f"`{name}`")
                    headers = list(pd.read_excel(xl, sheet_name=sheet, nrows=0).columns)
                    df = pd.read_excel(xl, sheet_name=sheet, dtype=id_dtypes(headers))
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        msg = f"cannot read `{name}` as a table: {e}; check the file, or pass `encoding=`."
        raise InputError(msg) from e
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        if isinstance(e, InputError):
            raise
        msg = f"cannot read `{name}` as a workbook: {e}"
        raise InputError(msg) from e
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
        return gpd.GeoDataFrame(df.drop(columns=[wkt_col]), geometry=geoms), f"column {wkt_col!r}"
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
    return gpd.GeoDataFrame(df, geometry=geoms), f"columns {lon_col!r}/{lat_col!r}"


def _row_label(df: pd.DataFrame, i: int) -> int:
    """Spreadsheet-style row number of data row `i` (header is row 1)."""
    del df
    return int(i) + 2


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
