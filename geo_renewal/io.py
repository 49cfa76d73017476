"""
Read and write vector layers: formats, Chinese encodings, declared CRSs, atomic writes.

`read_layer` loads whatever a district office hands over — GeoPackage, Shapefile (also
zipped, or a folder holding one), GeoJSON, GeoParquet, FlatGeobuf, File Geodatabase, and
CSV/XLSX tables with a WKT column or longitude/latitude columns — into a GeoDataFrame with a
checked CRS and, with ``kind=``, canonical column names and codes (`geo_renewal.schema`).

Decisions worth knowing:

- **Encodings.** A Shapefile with a ``.cpg`` is read as the ``.cpg`` says. Without one, the
  ``.dbf`` bytes (field names and a sample of records from its start and end) decide:
  strict UTF-8 if they decode as such, else GB18030 (a superset of GBK/GB2312). CSV files
  are detected the same way. ``encoding=`` overrides both.
- **CRS.** A layer without a CRS is refused (`CRSError`) unless ``crs=`` declares one; CSV
  and XLSX tables never carry one, so they always need ``crs=`` — longitude/latitude columns
  are *not* assumed to be WGS84, because tables exported from web maps are usually GCJ-02
  (Gaode, Tencent) or BD-09 (Baidu). ``crs="gcj02"`` / ``crs="bd09"`` (any case, also
  ``"GCJ-02"``, ``"BD-09"``) declare those; the data is converted to WGS84 (EPSG:4326) on
  read. They are also accepted on a file that is labelled EPSG:4326/4490, as web-map
  exports usually are.
- **crs= on a file that has a CRS.** Equal (or EPSG:4326 vs 4490, treated as equal): fine.
  Different: refused, because a silent relabelling moves the data — unless the file's own
  CRS does not fit its coordinates (e.g. Gauss–Krüger eastings with a zone prefix under a
  "CM" CRS) and the declared one does: then the declaration is the repair and wins
  (logged). To reproject, read without ``crs=`` and call ``.to_crs()``.
- **Plausibility.** Coordinates are checked against the final CRS with
  `geo_renewal.crs.check_coordinates` (swapped axes, zone prefixes, degrees vs metres).
- **Dirty values stay.** With ``kind=``, headers are renamed and coded values mapped, and
  numeric columns become numbers only when every value parses; otherwise the text is left
  for `validate_layer` to report row by row.

`write_layer` writes by extension, atomically, and `atomic_write` is the building block other
writers (tables, maps, reports) reuse.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import shutil
import uuid
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from glob import escape as glob_escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pyproj import CRS

from geo_renewal import geoparquet, schema, settings
from geo_renewal._errors import CRSError, InputError
from geo_renewal.crs import (
    _check_bounds,
    _projected_hint,
    bd09_to_wgs84,
    check_crs,
    gcj02_to_wgs84,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["READ_FORMATS", "WRITE_FORMATS", "atomic_write", "read_layer", "write_layer"]

logger = logging.getLogger(__name__)

#: File extensions `read_layer` understands -> format name.
READ_FORMATS: dict[str, str] = {
    ".gpkg": "GeoPackage",
    ".shp": "Shapefile",
    ".zip": "zipped Shapefile (or any zipped vector file)",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".parquet": "GeoParquet",
    ".geoparquet": "GeoParquet",
    ".fgb": "FlatGeobuf",
    ".gdb": "File Geodatabase (folder)",
    ".csv": "CSV with a WKT or longitude/latitude columns",
    ".xlsx": "Excel with a WKT or longitude/latitude columns",
    ".xlsm": "Excel with a WKT or longitude/latitude columns",
}

#: File extensions `write_layer` writes -> GDAL driver (or "parquet").
WRITE_FORMATS: dict[str, str] = {
    ".gpkg": "GPKG",
    ".parquet": "parquet",
    ".geoparquet": "parquet",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".fgb": "FlatGeobuf",
    ".shp": "ESRI Shapefile",
}

_SHAPEFILE_SIDECARS = (
    ".shp",
    ".shx",
    ".dbf",
    ".prj",
    ".cpg",
    ".qix",
    ".sbn",
    ".sbx",
    ".fbn",
    ".fbx",
    ".ain",
    ".aih",
    ".atx",
    ".ixs",
    ".mxs",
    ".qpj",
    ".qmd",
    ".shp.xml",
)

# Normalised header spellings of geometry columns in tables (checked in this order).
_WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape", "几何", "空间信息")
_LON_COLUMNS = ("经度", "lon", "lng", "long", "longitude", "x", "x坐标", "东坐标")
_LAT_COLUMNS = ("纬度", "lat", "latitude", "y", "y坐标", "北坐标")

# Identifier columns kept as text when reading tables (leading zeros matter: "001").
_ID_COLUMNS = ("parcel_id", "building_id", "project_id", "site_id", "district_id", "zone_id")

_SHIFTED = {"gcj02": "GCJ-02", "bd09": "BD-09", "bd09ll": "BD-09"}
_SAMPLE_BYTES = 1 << 20


# ---------------------------------------------------------------------------------------
# read_layer
# ---------------------------------------------------------------------------------------


def read_layer(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    kind: str | None = None,
    crs: Any = None,
    encoding: str | None = None,
    columns: Mapping[str, str] | None = None,
    partitions: int | str | None = None,
) -> gpd.GeoDataFrame:
    r"""
    Read a vector layer or a table with coordinates into a GeoDataFrame with a checked CRS.

    Formats are chosen by extension (see `READ_FORMATS`): GeoPackage, Shapefile (also a
    ``.zip`` or a folder holding Shapefiles), GeoJSON, GeoParquet, FlatGeobuf, File
    Geodatabase, and CSV/XLSX with a WKT column (``wkt``, ``geometry``, ``geom`` …) or
    longitude/latitude columns (``经度``/``纬度``, ``lon``/``lat``, ``lng``, ``longitude``/
    ``latitude``, ``x``/``y``). See the module docstring for the encoding and CRS rules.

    Parameters
    ----------
    path
        File (or Shapefile folder) to read. ``"file.gpkg::layer"`` names a layer too (the
        form the command line uses).
    layer
        Layer of a multi-layer file (GeoPackage, zip or folder of Shapefiles by file stem,
        Geodatabase), or sheet of a workbook. When a file holds several layers and `layer`
        is None, the layer named like `kind` is read if there is one.
    kind
        One of `geo_renewal.schema.KINDS` (``"parcels"``, ``"buildings"`` …): rename headers
        to canonical names (`schema.COLUMN_ALIASES`), map coded values
        (`schema.VALUE_ALIASES`, e.g. 砖木 -> ``brick_wood``), turn numeric and yes/no columns
        into numbers/booleans when every value parses. None reads the columns as they are.
    crs
        CRS of the coordinates when the file has none (required for CSV/XLSX): anything
        ``pyproj.CRS`` accepts (``"EPSG:4490"``, ``4548``), or ``"gcj02"`` / ``"bd09"`` for
        web-map coordinates, which are converted to WGS84 (EPSG:4326).
    encoding
        Text encoding of a Shapefile's ``.dbf`` or a CSV, overriding detection and ``.cpg``.
    columns
        Extra header renames ``{"原字段": "canonical"}``, applied before the aliases.
    partitions
        Return a partitioned (dask-geopandas) GeoDataFrame for province-scale runs (see
        `geo_renewal.scale`): the layer is read as usual and cut into this many
        Hilbert-sorted partitions (``"auto"``: about 100 000 features each). A *GeoParquet
        dataset* — a folder of ``.parquet`` files, as `write_layer` writes it — is always
        opened partitioned, one partition per file, reading nothing until computed; with
        `partitions` it is reshuffled into that many. On a dataset, `kind` and `columns`
        rename headers only (values are taken as written) and `crs` may only declare a
        missing CRS.

    Returns
    -------
    gdf
        The layer, with a CRS; in EPSG:4326 when `crs` is ``"gcj02"``/``"bd09"``. A
        dask-geopandas GeoDataFrame for a dataset or with `partitions`.

    Raises
    ------
    InputError
        If the file is missing or unreadable, the layer/sheet is unknown (valid ones are
        listed), the extension or `kind` is unknown, or a table has no geometry columns.
    CRSError
        If the layer has no CRS and `crs` is not given, `crs` contradicts the file's CRS,
        or the coordinates cannot be in the CRS (swapped axes, zone prefix …).

    See Also
    --------
    write_layer : Write a layer atomically.
    geo_renewal.validate_layer : Check the values read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "sites.csv").write_text("编号,经度,纬度,层数\nA,117.01,36.66,6\n", "utf-8")
    >>> sites = read_layer(folder / "sites.csv", crs="gcj02", columns={"编号": "site_id"})
    >>> sites.crs.to_epsg(), list(sites.columns)
    (4326, ['site_id', '经度', '纬度', '层数', 'geometry'])
    >>> round(float(sites.geometry.x.iloc[0]), 4)  # shifted back from GCJ-02 to WGS84
    117.0041
    """
    import geopandas as gpd

    path = Path(path).expanduser()
    if not path.exists() and "::" in str(path):
        file, _, in_file = str(path).rpartition("::")
        if layer is not None and layer != in_file:
            msg = f"`{path}` names layer {in_file!r} but `layer={layer!r}` was given; use one."
            raise InputError(msg)
        path, layer = Path(file), in_file
    name = str(path)
    if kind is not None and kind not in schema.KINDS:
        msg = f"unknown `kind` {kind!r}; expected one of {sorted(schema.KINDS)} or None."
        raise InputError(msg)
    declared, shift = _parse_crs(crs)
    if encoding is not None:
        encoding = _codec_name(encoding)
    if not path.exists():
        msg = f"`{name}` does not exist; check the path (the working directory is {Path.cwd()})."
        raise InputError(msg)
    ext = path.suffix.lower()
    if geoparquet._is_dataset(path):
        if layer is not None:
            msg = (
                f"`{name}` is a GeoParquet dataset, which holds one layer; drop `layer={layer!r}`."
            )
            raise InputError(msg)
        ddf = geoparquet._crs_of_dataset(
            geoparquet._read_dataset(path, name=name), declared, shift, name
        )
        if kind is not None or columns:
            renamed = _canonical(ddf._meta, kind=kind, columns=columns, name=name).columns
            rename = {a: b for a, b in zip(ddf.columns, renamed, strict=True) if a != b}
            if rename:
                sp = getattr(ddf, "spatial_partitions", None)
                ddf = ddf.rename(columns=rename)
                ddf.spatial_partitions = sp
        return ddf if partitions is None else geoparquet.partition_layer(ddf, partitions)
    is_shp_folder = path.is_dir() and ext != ".gdb"
    if not is_shp_folder and ext not in READ_FORMATS:
        msg = (
            f"cannot read `{name}`: unknown extension {path.suffix!r}; supported: "
            f"{', '.join(sorted(READ_FORMATS))} or a folder holding Shapefiles."
        )
        raise InputError(msg)
    logger.info("reading %s%s", name, f" (layer {layer!r})" if layer is not None else "")
    table_geometry = None
    if ext in (".csv", ".xlsx", ".xlsm"):
        gdf, table_geometry = _read_table(path, layer=layer, kind=kind, encoding=encoding)
    elif ext in (".parquet", ".geoparquet"):
        if layer is not None:
            msg = f"`{name}` is GeoParquet, which holds one layer; drop `layer={layer!r}`."
            raise InputError(msg)
        try:
            gdf = gpd.read_parquet(path)
        except (ValueError, OSError) as e:
            msg = f"cannot read `{name}` as GeoParquet: {e}"
            raise InputError(msg) from e
    else:
        gdf = _read_vector(path, layer=layer, kind=kind, encoding=encoding)
    gdf = _apply_crs(gdf, declared, shift, name=name, table_geometry=table_geometry)
    if kind is not None or columns:
        gdf = _canonical(gdf, kind=kind, columns=columns, name=name)
    logger.info("read %d features from %s in %s", len(gdf), name, gdf.crs.to_string())
    if partitions is not None:
        return geoparquet.partition_layer(gdf, partitions)
    return gdf


def _codec_name(encoding: str) -> str:
    """Return the canonical name of `encoding` (one GDAL/iconv also knows)."""
    try:
        return codecs.lookup(encoding).name
    except LookupError as e:
        msg = (
            f"unknown `encoding` {encoding!r}; pass a codec name such as 'GB18030', 'GBK', "
            "'UTF-8' or 'latin-1'."
        )
        raise InputError(msg) from e


def _parse_crs(crs: Any) -> tuple[CRS | None, str | None]:
    """Return (CRS, shift) for a `crs=` argument; shift is "gcj02"/"bd09" or None."""
    if crs is None:
        return None, None
    if isinstance(crs, str):
        key = crs.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
        if key in _SHIFTED:
            return CRS.from_epsg(4326), "bd09" if key.startswith("bd") else "gcj02"
    try:
        return CRS.from_user_input(crs), None
    except Exception as e:  # pyproj.exceptions.CRSError and TypeError
        msg = (
            f"`crs`={crs!r} is not a CRS; pass e.g. 'EPSG:4490' (CGCS2000 lon/lat), 4548 "
            f"(Gauss–Krüger CM 117E), 'gcj02' (Gaode/Tencent) or 'bd09' (Baidu) ({e})."
        )
        raise CRSError(msg) from e


def _same_crs(a: CRS, b: CRS) -> bool:
    if a == b or a.equals(b, ignore_axis_order=True):
        return True
    lonlat = (4326, 4490)
    if a.is_geographic and b.is_geographic:
        return a.to_epsg() in lonlat and b.to_epsg() in lonlat
    code = a.to_epsg()
    return code is not None and code == b.to_epsg()


def _no_crs_message(name: str, bounds: np.ndarray, table_geometry: str | None) -> str:
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    source = f"its coordinates come from {table_geometry}" if table_geometry else "it has no CRS"
    if not np.all(np.isfinite(bounds)):
        guess = ""
    elif minx >= 73 and maxx <= 136 and miny >= 3 and maxy <= 54:
        guess = (
            " Its coordinates look like longitude/latitude: EPSG:4490 (CGCS2000) or "
            "EPSG:4326 (GPS), or 'gcj02'/'bd09' if they come from Gaode/Tencent/Baidu maps."
        )
    else:
        guess = f" Its coordinates look like metres: {_projected_hint(minx, maxx, miny, maxy)}."
    return (
        f"`{name}`: {source}; declare the CRS its coordinates are in, e.g. "
        f"`read_layer({name!r}, crs='EPSG:4490')` (CGCS2000 longitude/latitude), "
        "crs='EPSG:4548' (Gauss–Krüger CM 117E), crs='EPSG:4527' (eastings with zone "
        f"prefix 39), crs='gcj02' (Gaode/Tencent) or crs='bd09' (Baidu).{guess}"
    )


def _sample_bounds(gdf: gpd.GeoDataFrame, n: int = 20_000) -> np.ndarray:
    """Bounds of (an evenly spaced sample of at most `n` of) the geometries.

    The plausibility checks look for a layer-wide mistake (swapped axes, zone prefix), which
    a sample shows as well as the whole layer, at a fraction of the cost on 1M features.
    """
    import shapely

    geoms = np.asarray(gdf.geometry.values)
    if len(geoms) > n:
        geoms = geoms[np.linspace(0, len(geoms) - 1, n).astype(np.int64)]
    if len(geoms) == 0:
        return np.full(4, np.nan)
    return shapely.total_bounds(geoms)


def _apply_crs(
    gdf: gpd.GeoDataFrame,
    declared: CRS | None,
    shift: str | None,
    *,
    name: str,
    table_geometry: str | None = None,
) -> gpd.GeoDataFrame:
    """Reconcile the file's CRS with `crs=`, check the coordinates, convert GCJ/BD."""
    bounds = _sample_bounds(gdf)
    bounds_t = tuple(float(v) for v in bounds)
    stored = None if gdf.crs is None else CRS.from_user_input(gdf.crs)
    if declared is None:
        if stored is None:
            raise CRSError(_no_crs_message(name, bounds, table_geometry))
        _check_bounds(bounds_t, stored, name)
        return gdf
    if shift is not None:
        if stored is not None and not (stored.is_geographic and stored.to_epsg() in (4326, 4490)):
            msg = (
                f"`{name}` declares its CRS as {stored.to_string()} ({stored.name}), but "
                f"crs={shift!r} means {_SHIFTED[shift]} longitude/latitude; drop `crs=` if the "
                "file's CRS is right."
            )
            raise CRSError(msg)
        _check_bounds(bounds_t, declared, name)
        out = gdf.set_crs(declared, allow_override=True)
        convert = gcj02_to_wgs84 if shift == "gcj02" else bd09_to_wgs84
        logger.info("converting %d features of %s from %s to WGS84", len(gdf), name, shift)
        return convert(out)
    if stored is None:
        _check_bounds(bounds_t, declared, name)
        return gdf.set_crs(declared)
    if _same_crs(stored, declared):
        _check_bounds(bounds_t, declared, name)
        return gdf.set_crs(declared, allow_override=True)
    try:
        _check_bounds(bounds_t, stored, name)
    except CRSError:
        _check_bounds(bounds_t, declared, name)
        logger.info(
            "%s: the file's CRS %s does not fit its coordinates; using the declared %s",
            name,
            stored.to_string(),
            declared.to_string(),
        )
        return gdf.set_crs(declared, allow_override=True)
    msg = (
        f"`{name}` declares its CRS as {stored.to_string()} ({stored.name}), but "
        f"crs={declared.to_string()!r} ({declared.name}) was passed; `crs=` declares, it does "
        "not reproject. To reproject, read without `crs=` and call "
        f"`.to_crs({declared.to_string()!r})`; if the file's CRS is wrong, fix it at the "
        f"source or after reading: `.set_crs({declared.to_string()!r}, allow_override=True)`."
    )
    raise CRSError(msg)


# --- vector files ---------------------------------------------------------------------


def _read_vector(
    path: Path, *, layer: str | None, kind: str | None, encoding: str | None
) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import pyogrio

    name = str(path)
    source: str | Path = path
    ext = path.suffix.lower()
    detected: str | None = None
    if path.is_dir() and ext != ".gdb":
        shp = _pick(
            sorted(p for p in path.iterdir() if p.suffix.lower() == ".shp"),
            [p.stem for p in sorted(path.iterdir()) if p.suffix.lower() == ".shp"],
            layer=layer,
            kind=kind,
            what=f"folder `{name}`",
        )
        source, layer = shp, None
        ext = ".shp"
    if ext == ".shp" and encoding is None:
        detected = _shapefile_encoding(Path(source))
    elif ext == ".zip":
        source, layer, detected = _zip_source(path, layer=layer, kind=kind, encoding=encoding)
    if ext in (".gpkg", ".gdb") or (ext == ".zip" and layer is None):
        layer = _pick_layer(source, layer=layer, kind=kind, name=name)
    enc = encoding or detected
    use_arrow = settings.use_arrow
    try:
        gdf = pyogrio.read_dataframe(source, layer=layer, encoding=enc, use_arrow=use_arrow)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as e:
        msg = f"cannot read `{name}`{f' layer {layer!r}' if layer else ''}: {e}"
        raise InputError(msg) from e
    except UnicodeDecodeError as e:
        msg = f"cannot decode the text of `{name}` as {enc or 'UTF-8'}; pass `encoding=` ({e})."
        raise InputError(msg) from e
    except Exception as e:
        if use_arrow and "UTF-8" in str(e):
            msg = (
                f"the text of `{name}` is not UTF-8 and its encoding could not be detected; "
                f"pass it, e.g. `encoding='GB18030'` ({e})."
            )
            raise InputError(msg) from e
        raise
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"`{name}`{f' layer {layer!r}' if layer else ''} has no geometry column."
        raise InputError(msg)
    return gdf


def _pick(items: list[Any], names: list[str], *, layer: str | None, kind: str | None, what: str):
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


def _pick_layer(source: str | Path, *, layer: str | None, kind: str | None, name: str) -> str:
    import pyogrio

    try:
        names = [str(n) for n in pyogrio.list_layers(source)[:, 0]]
    except pyogrio.errors.DataSourceError as e:
        msg = f"cannot open `{name}`: {e}"
        raise InputError(msg) from e
    return _pick(names, names, layer=layer, kind=kind, what=f"`{name}`")


def _zip_source(
    path: Path, *, layer: str | None, kind: str | None, encoding: str | None
) -> tuple[str, str | None, str | None]:
    """Return (GDAL path, layer, detected encoding) for a zip; Shapefiles chosen by stem."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.namelist()
            shps = sorted(m for m in members if m.lower().endswith(".shp"))
            if not shps:
                return f"/vsizip/{path.resolve()}", layer, None
            stems = [Path(m).stem for m in shps]
            shp = _pick(shps, stems, layer=layer, kind=kind, what=f"zip `{path}`")
            detected = None
            if encoding is None:
                base = shp[:-4]
                lowered = {m.lower(): m for m in members}
                if (base + ".cpg").lower() not in lowered and (
                    dbf := lowered.get((base + ".dbf").lower())
                ):
                    with zf.open(dbf) as f:
                        detected = _dbf_encoding(f.read(_SAMPLE_BYTES))
    except zipfile.BadZipFile as e:
        msg = f"`{path}` is not a readable zip file ({e})."
        raise InputError(msg) from e
    return f"/vsizip/{path.resolve()}/{shp}", None, detected


def _sidecar(shp: Path, ext: str) -> Path | None:
    for candidate in (shp.with_suffix(ext), shp.with_suffix(ext.upper())):
        if candidate.exists():
            return candidate
    return None


def _shapefile_encoding(shp: Path) -> str | None:
    """Guess the encoding of a Shapefile's .dbf without .cpg; None lets GDAL decide."""
    if _sidecar(shp, ".cpg") is not None:
        return None
    dbf = _sidecar(shp, ".dbf")
    if dbf is None:
        return None
    with dbf.open("rb") as f:
        head = f.read(_SAMPLE_BYTES)
        tail = b""
        size = dbf.stat().st_size
        if size > 2 * _SAMPLE_BYTES and len(head) >= 12:
            header_len = int.from_bytes(head[8:10], "little")
            record_len = max(int.from_bytes(head[10:12], "little"), 1)
            n_tail = _SAMPLE_BYTES // record_len
            n_records = (size - header_len) // record_len
            f.seek(header_len + max(n_records - n_tail, 0) * record_len)
            tail = f.read(n_tail * record_len)
    encoding = _dbf_encoding(head, tail)
    if encoding is not None:
        logger.info("%s has no .cpg; its text looks like %s", shp, encoding)
    return encoding


def _dbf_encoding(head: bytes, tail: bytes = b"") -> str | None:
    """Guess the encoding of dBASE bytes: UTF-8 if strictly valid, else GB18030; None if ASCII."""
    if len(head) < 32:
        return None
    header_len = int.from_bytes(head[8:10], "little")
    record_len = max(int.from_bytes(head[10:12], "little"), 1)
    names = []
    i = 32
    while i + 32 <= min(header_len, len(head)) and head[i] != 0x0D:
        names.append(head[i : i + 11].split(b"\0", 1)[0])
        i += 32
    records = head[header_len:]
    records = records[: len(records) // record_len * record_len]
    sample = b"\n".join([*names, records, tail])
    if sample.isascii():
        return None
    for enc in ("utf-8", "gb18030"):
        try:
            sample.decode(enc)
        except UnicodeDecodeError:
            continue
        return "UTF-8" if enc == "utf-8" else "GB18030"
    return None


# --- tables -------------------------------------------------------------------------


def _norm(header: Any) -> str:
    return str(header).strip().lower()


def _text_encoding(path: Path) -> str:
    """Guess a text file's encoding: UTF-8 (BOM or not) if its start decodes, else GB18030."""
    with path.open("rb") as f:
        head = f.read(4 * _SAMPLE_BYTES)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


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
    norm = {}
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


# --- canonical columns and values ---------------------------------------------------


def _canonical(
    gdf: gpd.GeoDataFrame, *, kind: str | None, columns: Mapping[str, str] | None, name: str
) -> gpd.GeoDataFrame:
    """Rename headers to canonical names and normalise coded/numeric values."""
    geom = gdf.geometry.name
    headers = [c for c in gdf.columns if c != geom]
    rename: dict[Any, str] = {}
    if columns:
        if not isinstance(columns, Mapping):
            msg = f"`columns` must be a mapping {{'原字段': 'canonical'}}; got {type(columns).__name__}."
            raise InputError(msg)
        by_norm = {}
        for h in headers:
            by_norm.setdefault(_norm(h), h)
        missing = []
        for src, dst in columns.items():
            h = src if src in headers else by_norm.get(_norm(src))
            if h is None:
                missing.append(src)
            else:
                rename[h] = dst
        if missing:
            msg = (
                f"`columns` names headers that `{name}` does not have: {missing}; its headers "
                f"are {[str(h) for h in headers]}."
            )
            raise InputError(msg)
    if kind is not None:
        lookup = schema.column_aliases()
        present = {h for h in headers if h not in rename} | set(rename.values())
        for h in headers:
            if h in rename:
                continue
            canonical = lookup.get(_norm(h))
            if canonical is None or canonical == h:
                continue
            if canonical in present:
                logger.info("%s: keeping %r as is; %r is already a column", name, h, canonical)
                continue
            rename[h] = canonical
            present.discard(h)
            present.add(canonical)
    targets = list(rename.values())
    if len(set(targets)) != len(targets):
        dupes = sorted({t for t in targets if targets.count(t) > 1})
        msg = f"`columns` maps several headers of `{name}` onto {dupes}; map one header each."
        raise InputError(msg)
    out = gdf.rename(columns=rename) if rename else gdf
    if rename:
        logger.info("%s: renamed columns %s", name, rename)
    if kind is None:
        return out
    updates: dict[str, pd.Series] = {}
    for col, aliases in schema.VALUE_ALIASES.items():
        if col in out.columns and col != geom:
            mapped = _map_values(out[col], aliases)
            if mapped is not None:
                updates[col] = mapped
    if "planned_use" in out.columns and "land_use" in schema.VALUE_ALIASES:
        mapped = _map_values(out["planned_use"], schema.VALUE_ALIASES["land_use"])
        if mapped is not None:
            updates["planned_use"] = mapped
    for col in schema.NUMERIC_COLUMNS:
        if col in out.columns and _is_text(out[col]):
            number = _to_number(out[col])
            if number is None:
                logger.info("%s: %r has values that are not numbers; left as text", name, col)
            else:
                updates[col] = number
    for col in schema.BOOL_COLUMNS:
        if col in out.columns:
            flag = _to_bool(out[col])
            if flag is not None:
                updates[col] = flag
    if updates:
        out = out.assign(**updates)
    return out


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or isinstance(s.dtype, pd.StringDtype)


def _map_values(s: pd.Series, aliases: Mapping[str, str]) -> pd.Series | None:
    """Replace alias values by codes (looked up once per distinct value); None if none match."""
    if not _is_text(s):
        return None
    mapping = {}
    for u in s.unique():
        if isinstance(u, str):
            key = u.strip()
            v = aliases.get(u) or aliases.get(key) or aliases.get(key.lower())
            if v is not None and v != u:
                mapping[u] = v
    if not mapping:
        return None
    codes, uniques = pd.factorize(s)
    table = np.asarray([*(mapping.get(u, u) for u in uniques), None], dtype=object)
    return pd.Series(table[codes], index=s.index, name=s.name, dtype=s.dtype)


def _to_number(s: pd.Series) -> pd.Series | None:
    """Numbers if every non-blank value parses; None (leave the text) otherwise."""
    values = pd.to_numeric(s, errors="coerce")
    unparsed = values.isna() & s.notna()
    if unparsed.any():
        blank = s[unparsed].astype(str).str.strip() == ""
        if not blank.all():
            return None
    return values


def _to_bool(s: pd.Series) -> pd.Series | None:
    """Booleans (nullable) if every value is a yes/no spelling; None otherwise."""
    if s.dtype == bool or isinstance(s.dtype, pd.BooleanDtype):
        return None
    codes, uniques = pd.factorize(s)
    mapping = []
    for u in uniques:
        key = str(u).strip().lower()
        if key.endswith(".0"):
            key = key[:-2]
        if key in schema.TRUE_VALUES:
            mapping.append(True)
        elif key in schema.FALSE_VALUES:
            mapping.append(False)
        else:
            return None
    table = np.asarray([*mapping, None], dtype=object)
    return pd.Series(table[codes], index=s.index, name=s.name, dtype="boolean")


# ---------------------------------------------------------------------------------------
# write_layer and atomic_write
# ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, keep_existing: bool = False) -> Iterator[Path]:
    """
    Yield a temporary path next to `path`; move it over `path` when the block succeeds.

    The temporary file is in the same folder (so the final ``os.replace`` is atomic), hidden
    (``.name.tmp-xxxxxxxx.ext``) and keeps the extension so writers pick the right format.
    If the block raises, the temporary file and any sidecars (``-journal``, ``-wal`` …) are
    removed and `path` is left untouched. Missing parent folders are created.

    Parameters
    ----------
    path
        The file to write.
    keep_existing
        Copy the current `path` (if any) to the temporary path first, so the block can
        update it (e.g. add a layer to a GeoPackage) without touching the original.

    Yields
    ------
    tmp
        The temporary path to write to. The block must create it.

    Raises
    ------
    InputError
        If the block finished without creating the temporary file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
    >>> with atomic_write(target) as tmp:
    ...     _ = tmp.write_text("签约率 80%", encoding="utf-8")
    >>> target.read_text(encoding="utf-8")
    '签约率 80%'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.stem}.tmp-{uuid.uuid4().hex[:8]}"
    tmp = path.parent / f"{prefix}{path.suffix}"
    try:
        if keep_existing and path.exists():
            shutil.copy2(path, tmp)
        yield tmp
        if not tmp.exists():
            msg = f"writing `{path}` produced no file; nothing was replaced."
            raise InputError(msg)
        os.replace(tmp, path)
    finally:
        _remove_temp(path.parent, prefix)


def _remove_temp(folder: Path, prefix: str) -> None:
    for leftover in folder.glob(glob_escape(prefix) + "*"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def read_named_layer(source: Any, name: str) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """
    Return the layer called `name` from a frame or a file, as rules and maps refer to layers.

    A GeoDataFrame or GeoSeries is returned as it is. A path is read with `read_layer`:
    ``"file.gpkg::layer"`` reads that layer, and a GeoPackage of several layers that holds
    one called `name` gives that one, so ``heritage_core=district.gpkg`` just works.

    Parameters
    ----------
    source
        A GeoDataFrame, GeoSeries or file path.
    name
        The layer's name in the rules or on the map (``"heritage_core"`` …).

    Returns
    -------
    layer
        The frame, or the layer read from the file.

    Raises
    ------
    InputError
        If `source` is neither a frame nor a path, or `read_layer` refuses the file.

    Examples
    --------
    >>> from geo_renewal.datasets import get_path
    >>> core = read_named_layer(get_path("sample_district"), "heritage_core")
    >>> len(core) >= 1
    True
    """
    import geopandas as gpd

    if isinstance(source, gpd.GeoDataFrame | gpd.GeoSeries):
        return source
    if not isinstance(source, str | os.PathLike):
        msg = (
            f"layer {name!r} must be a GeoDataFrame, GeoSeries or file path, "
            f"got {type(source).__name__}."
        )
        raise InputError(msg)
    path, sep, layer = str(source).partition("::")
    if not sep and Path(path).suffix.lower() == ".gpkg" and Path(path).is_file():
        import pyogrio

        names = [str(x) for x in pyogrio.list_layers(path)[:, 0]]
        if len(names) > 1 and name in names:
            layer = name
    return read_layer(path, layer=layer or None)


def write_layer(
    gdf: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    partitions: int | str | None = None,
) -> Path:
    """
    Write a layer atomically as GeoPackage, GeoParquet, GeoJSON, FlatGeobuf or Shapefile.

    The format follows the extension (`WRITE_FORMATS`). The file is written to a temporary
    file in the same folder and renamed over `path` only when complete, so a failure midway
    leaves any earlier file intact. With `layer`, a GeoPackage keeps its other layers (the
    file is copied, the layer added or replaced in the copy, the copy renamed); without
    `layer` the whole file is replaced by a single layer named after the file. Shapefiles
    are written in GBK with a ``.cpg`` (what Chinese desktop GIS expects); field names must
    fit 10 bytes in GBK (5 Chinese characters) and text 254 bytes, and the whole set of
    sidecar files is swapped in together (stale ``.qix``/``.sbn`` indexes removed).

    Parameters
    ----------
    gdf
        The layer; it must have a CRS.
    path
        Target file; its folder is created if missing.
    layer
        Layer name inside a GeoPackage.
    partitions
        Write a *partitioned GeoParquet dataset*: `path` is a folder (any name; ``.parquet``
        is customary) holding one ``part.NNNNN.parquet`` file per partition, which
        `read_layer` opens as a dask-geopandas frame. A dask-geopandas `gdf` is always
        written so, partition by partition by the workers (leave `partitions` None to
        keep its partitions); an in-memory `gdf` is cut into this many Hilbert-sorted
        partitions first (``"auto"``: about 100 000 features each). The files are written
        into a temporary folder that then replaces `path` (an existing folder is only
        replaced if it holds nothing but ``.parquet`` files).

    Returns
    -------
    path
        The path written.

    Raises
    ------
    InputError
        For an unknown extension (supported ones are listed), `layer` on a single-layer
        format, or a Shapefile field name/value that does not fit (naming it, suggesting
        GeoPackage).
    CRSError
        If `gdf` has no CRS.

    See Also
    --------
    read_layer : Read it back.
    atomic_write : The temporary-file-and-rename helper.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(
    ...     {"parcel_id": ["P1"]}, geometry=[box(500_000, 4_063_000, 500_100, 4_063_100)],
    ...     crs="EPSG:4548")
    >>> out = write_layer(parcels, pathlib.Path(tempfile.mkdtemp()) / "plan.gpkg", layer="parcels")
    >>> read_layer(out, layer="parcels")["parcel_id"].tolist()
    ['P1']
    """
    import geopandas as gpd

    path = Path(path)
    if geoparquet.is_partitioned(gdf) or partitions is not None:
        if layer is not None or path.suffix.lower() not in ("", ".parquet", ".geoparquet"):
            msg = (
                f"a partitioned layer is written as a GeoParquet dataset folder (`out/` or "
                f"`out.parquet/`), not `{path}`{f' with layer={layer!r}' if layer else ''}."
            )
            raise InputError(msg)
        if not geoparquet.is_partitioned(gdf):
            if not isinstance(gdf, gpd.GeoDataFrame):
                msg = f"`gdf` must be a GeoDataFrame; got {type(gdf).__name__}."
                raise InputError(msg)
            check_crs(gdf, "gdf")
            gdf = geoparquet.partition_layer(gdf, partitions)
        elif partitions is not None:
            gdf = geoparquet.partition_layer(gdf, partitions)
        check_crs(gdf, "gdf")
        return geoparquet._write_dataset(gdf, path)
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"`gdf` must be a GeoDataFrame; got {type(gdf).__name__}."
        raise InputError(msg)
    ext = path.suffix.lower()
    driver = WRITE_FORMATS.get(ext)
    if driver is None:
        msg = (
            f"cannot write `{path}`: unknown extension {path.suffix!r}; supported: "
            f"{', '.join(WRITE_FORMATS)}."
        )
        raise InputError(msg)
    check_crs(gdf, "gdf")
    if layer is not None and driver != "GPKG":
        msg = f"`layer={layer!r}` needs a GeoPackage (.gpkg); `{path}` holds a single layer."
        raise InputError(msg)
    logger.info("writing %d features to %s", len(gdf), path)
    if driver == "parquet":
        with atomic_write(path) as tmp:
            _write_parquet(gdf, tmp)
    elif driver == "ESRI Shapefile":
        _write_shapefile(gdf, path)
    else:
        keep = driver == "GPKG" and layer is not None
        with atomic_write(path, keep_existing=keep) as tmp:
            _write_vector(gdf, tmp, driver=driver, layer=layer or path.stem)
    return path


def _write_parquet(gdf: gpd.GeoDataFrame, tmp: Path) -> None:
    gdf.to_parquet(tmp)


def _write_vector(
    gdf: gpd.GeoDataFrame, tmp: Path, *, driver: str, layer: str | None, **kwargs: Any
) -> None:
    use_arrow = settings.use_arrow and driver != "ESRI Shapefile"
    if driver == "FlatGeobuf":
        # The packed spatial index would reorder the features; keep the row order.
        kwargs.setdefault("SPATIAL_INDEX", "NO")
    gdf.to_file(tmp, driver=driver, layer=layer, engine="pyogrio", use_arrow=use_arrow, **kwargs)


def _check_shapefile(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Refuse field names and text values a GBK Shapefile cannot hold."""
    geom = gdf.geometry.name
    too_long, unencodable = [], []
    for c in gdf.columns:
        if c == geom:
            continue
        try:
            n = len(str(c).encode("gbk"))
        except UnicodeEncodeError:
            unencodable.append(str(c))
            continue
        if n > 10:
            too_long.append(f"{c!s} ({n} bytes)")
    if too_long or unencodable:
        problems = []
        if too_long:
            problems.append(f"field names longer than 10 bytes in GBK: {too_long}")
        if unencodable:
            problems.append(f"field names with characters GBK cannot encode: {unencodable}")
        msg = (
            f"cannot write `{path}` as a Shapefile: {'; '.join(problems)}. A Chinese "
            "character takes 2 bytes, so at most 5 fit. Rename them, e.g. "
            "`gdf.rename(columns={...})`, or write a GeoPackage (.gpkg), which keeps full names."
        )
        raise InputError(msg)
    for c in gdf.columns:
        if c == geom or not _is_text(gdf[c]):
            continue
        for v in pd.unique(gdf[c].dropna()):
            if not isinstance(v, str):
                continue
            try:
                n = len(v.encode("gbk"))
            except UnicodeEncodeError:
                msg = (
                    f"cannot write `{path}` as a GBK Shapefile: column {c!r} holds {v[:40]!r}, "
                    "with characters GBK cannot encode; write a GeoPackage (.gpkg) instead."
                )
                raise InputError(msg) from None
            if n > 254:
                msg = (
                    f"cannot write `{path}` as a Shapefile: column {c!r} holds text of {n} "
                    f"bytes (limit 254), e.g. {v[:40]!r}…; write a GeoPackage (.gpkg) instead."
                )
                raise InputError(msg)


def _write_shapefile(gdf: gpd.GeoDataFrame, path: Path) -> None:
    _check_shapefile(gdf, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    prefix = f".{path.stem}.tmp-{token}"
    tmp = path.parent / f"{prefix}.shp"
    try:
        _write_vector(gdf, tmp, driver="ESRI Shapefile", layer=None, encoding="GBK")
        _swap_shapefile(path.parent, prefix, path.stem, token)
    finally:
        _remove_temp(path.parent, prefix)


def _swap_shapefile(folder: Path, prefix: str, stem: str, token: str) -> None:
    """Move the new sidecar set over the old one; roll back if a move fails."""
    new = {f.name[len(prefix) :]: f for f in folder.glob(glob_escape(prefix) + ".*")}
    old = [
        f
        for f in folder.glob(glob_escape(stem) + ".*")
        if f.name[len(stem) :].lower() in _SHAPEFILE_SIDECARS
    ]
    backups: list[tuple[Path, Path]] = []
    placed: list[Path] = []
    try:
        for f in old:
            backup = folder / f".{stem}.bak-{token}{f.name[len(stem) :]}"
            os.replace(f, backup)
            backups.append((f, backup))
        for ext, f in new.items():
            target = folder / f"{stem}{ext}"
            os.replace(f, target)
            placed.append(target)
    except BaseException:
        for target in placed:
            target.unlink(missing_ok=True)
        for original, backup in backups:
            os.replace(backup, original)
        raise
    for _, backup in backups:
        backup.unlink(missing_ok=True)
