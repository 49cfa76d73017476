"""
Read and write vector layers: formats, Chinese encodings, declared CRSs, atomic writes.

`read_layer` loads whatever a district office hands over — GeoPackage, Shapefile (also
zipped, or a folder holding one), GeoJSON, GeoParquet, FlatGeobuf, File Geodatabase, and
CSV/XLSX tables with a WKT column or longitude/latitude columns — into a GeoDataFrame with a
checked CRS and, with ``kind=``, canonical column names and codes (`geo_renewal.schema`).

The details are in the user guide, docs/guide/reading.md.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import uuid
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from glob import escape as glob_escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pyproj import CRS

from geo_renewal import geoparquet, schema, settings
from geo_renewal._columns import _canonical, _is_text
from geo_renewal._encoding import (
    _SAMPLE_BYTES,
    TextChoice,
    _codec_name,
    _declared,
    _shapefile_encoding,
    _sidecar,
    _valid_text,
    choose_text_encoding,
)
from geo_renewal._errors import CRSError, InputError
from geo_renewal._tabular import _pick, _read_table, check_file
from geo_renewal.crs import (
    _check_bounds,
    _projected_hint,
    bd09_to_wgs84,
    check_crs,
    gcj02_to_wgs84,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "READ_FORMATS",
    "WRITE_FORMATS",
    "atomic_write",
    "layers_in",
    "read_layer",
    "read_named_layer",
    "write_layer",
]

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


_SHIFTED = {"gcj02": "GCJ-02", "bd09": "BD-09", "bd09ll": "BD-09"}


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
    n_jobs: int | None = None,
) -> gpd.GeoDataFrame:
    r"""
    Read a vector layer or a table with coordinates into a GeoDataFrame with a checked CRS.

    Formats are chosen by extension (see `READ_FORMATS`): GeoPackage, Shapefile (also a
    ``.zip`` or a folder holding Shapefiles), GeoJSON, GeoParquet, FlatGeobuf, File
    Geodatabase, and CSV/XLSX with a WKT column (``wkt``, ``geometry``, ``geom`` …) or
    longitude/latitude columns (``经度``/``纬度``, ``lon``/``lat``, ``lng``, ``longitude``/
    ``latitude``, ``x``/``y``). The encoding and CRS rules are in docs/guide/reading.md.

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
    n_jobs
        Threads for a GeoParquet file of many rows (WKB decoded while the next slice is
        read); None reads `settings.n_jobs`. The frame does not depend on it.

    Returns
    -------
    gdf
        The layer, with a CRS; in EPSG:4326 when `crs` is ``"gcj02"``/``"bd09"``. A
        dask-geopandas GeoDataFrame for a dataset or with `partitions`.

    Raises
    ------
    InputError
        If the file is missing, empty, damaged or unreadable, a Shapefile lacks its
        ``.dbf`` or ``.shx``, the layer/sheet is unknown (valid ones are listed), the
        extension or `kind` is unknown, a table has no geometry columns, no text encoding
        fits the bytes, or two columns with values would get one canonical name. The first
        line of the message is one sentence for the planner; the reader's own text follows.
    CRSError
        If the layer has no CRS and `crs` is not given, `crs` contradicts the file's CRS,
        or the coordinates cannot be in the CRS (swapped axes, zone prefix …).

    Warns
    -----
    UserWarning
        When the bytes overrule a declared text encoding (``.cpg``, the DBF language byte,
        `encoding=`), or columns clashing on one canonical name were resolved; the same is
        kept in ``gdf.attrs["read_findings"]`` and reported by `validate_layer`.

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
    _check_readable(path)
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
            renamed = _canonical(
                ddf._meta, kind=kind, columns=columns, name=name, lazy=True
            ).columns
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
    notes: list[dict[str, Any]] = []
    if ext in (".csv", ".xlsx", ".xlsm"):
        gdf, table_geometry = _read_table(path, layer=layer, kind=kind, encoding=encoding)
    elif ext in (".parquet", ".geoparquet"):
        if layer is not None:
            msg = f"`{name}` is GeoParquet, which holds one layer; drop `layer={layer!r}`."
            raise InputError(msg)
        try:
            gdf = geoparquet.read_file(path, n_jobs=n_jobs)
        except (ValueError, OSError) as e:
            raise _unreadable(path, e) from e
    else:
        gdf = _read_vector(path, layer=layer, kind=kind, encoding=encoding, notes=notes)
    gdf, repaired = _valid_text(gdf, name)
    notes.extend(_note("encoding_mismatch", m, action="read as GB18030") for m in repaired)
    gdf = _apply_crs(gdf, declared, shift, name=name, table_geometry=table_geometry)
    if kind is not None or columns:
        gdf = _canonical(gdf, kind=kind, columns=columns, name=name, notes=notes)
    _report_notes(gdf, notes)
    logger.info("read %d features from %s in %s", len(gdf), name, gdf.crs.to_string())
    # the row a person sees for the first feature: 2 below a spreadsheet's header, else 1
    gdf.attrs["first_row"] = 2 if ext in (".csv", ".xlsx", ".xlsm") else 1
    if partitions is not None:
        return geoparquet.partition_layer(gdf, partitions)
    return gdf


def _note(problem: str, message: str, *, action: str, severity: str = "error") -> dict[str, Any]:
    """Return a finding of reading, keyed by `geo_renewal._findings.FINDING_COLUMNS`."""
    return {
        "row": None,
        "id": None,
        "column": None,
        "problem": problem,
        "severity": severity,
        "action": action,
        "message": message,
        "value": None,
    }


def _report_notes(gdf: gpd.GeoDataFrame, notes: list[dict[str, Any]]) -> None:
    """Warn about what reading resolved; add it to ``attrs["read_findings"]`` for validation."""
    for note in notes:
        warnings.warn(note["message"], UserWarning, stacklevel=3)
    if notes:
        earlier = tuple(gdf.attrs.get("read_findings", ()))
        gdf.attrs["read_findings"] = (*earlier, *(dict(n) for n in notes))


_FORMAT_NAMES = {
    ".gpkg": "a GeoPackage",
    ".shp": "a Shapefile",
    ".zip": "a zip file",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".parquet": "GeoParquet",
    ".geoparquet": "GeoParquet",
    ".fgb": "FlatGeobuf",
    ".gdb": "a File Geodatabase",
}


def _check_readable(path: Path) -> None:
    """Refuse an empty file, or a folder where a file is expected, in one sentence."""
    name, ext = str(path), path.suffix.lower()
    if path.is_dir():
        if ext in READ_FORMATS and ext != ".gdb" and not geoparquet._is_dataset(path):
            shps = [p for p in path.iterdir() if p.suffix.lower() == ".shp"]
            if not shps:
                msg = (
                    f"`{name}` is a folder, not {_FORMAT_NAMES.get(ext, 'a ' + ext + ' file')}; "
                    "pass the file itself (or a folder holding Shapefiles)."
                )
                raise InputError(msg)
        return
    check_file(path)


def _unreadable(path: Path, e: BaseException, *, layer: str | None = None) -> InputError:
    """One sentence on why `path` cannot be read and what to do, the library's text below."""
    name, ext = str(path), path.suffix.lower()
    what = _FORMAT_NAMES.get(ext, "a vector layer")
    where = f" layer {layer!r}" if layer else ""
    detail = str(e).strip() or type(e).__name__
    if ext == ".gpkg" and path.is_file():
        with path.open("rb") as f:
            magic = f.read(16)
        if magic != b"SQLite format 3\0":
            why = "is not a GeoPackage: it does not start like one (another kind of file renamed, or overwritten)"
        else:
            why = "is a damaged GeoPackage (cut short or corrupted, e.g. by an interrupted copy)"
    elif (
        "not recognized as being in a supported file format" in detail
        or "not recognised" in detail
    ):
        why = (
            f"is not readable as {what}: it is damaged or another kind of file with this extension"
        )
    else:
        why = f"cannot be read as {what}{where}"
    msg = (
        f"`{name}` {why}; ask for the file again, or open it in QGIS to check it.\n"
        f"(the reader said: {detail})"
    )
    return InputError(msg)


_SIDECAR_ROLE = {
    ".dbf": "its attribute table (ids, uses, households …)",
    ".shx": "the index of its shapes",
}


def _check_sidecars(shp: Path) -> None:
    """Refuse a Shapefile without its .dbf or .shx: it is never read without attributes."""
    missing = [e for e in (".dbf", ".shx") if _sidecar(shp, e) is None]
    if missing:
        _refuse_missing_sidecars(str(shp), missing)


def _refuse_missing_sidecars(name: str, missing: list[str]) -> None:
    stem = Path(name.rpartition("::")[2] or name).stem
    parts = " and ".join(f"`{stem}{e}` ({_SIDECAR_ROLE[e]})" for e in missing)
    msg = (
        f"`{name}` is an incomplete Shapefile: {parts} {'is' if len(missing) == 1 else 'are'} "
        f"missing; copy {'it' if len(missing) == 1 else 'them'} into the same folder, or ask "
        "for the complete set (.shp, .shx, .dbf, .prj, .cpg) or a GeoPackage."
    )
    raise InputError(msg)


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
    path: Path,
    *,
    layer: str | None,
    kind: str | None,
    encoding: str | None,
    notes: list[dict[str, Any]],
) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import pyogrio

    name = str(path)
    source: str | Path = path
    ext = path.suffix.lower()
    choice = TextChoice(encoding)
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
    if ext == ".shp":
        _check_sidecars(Path(source))
        choice = _shapefile_encoding(Path(source), encoding)
    elif ext == ".zip":
        source, layer, choice = _zip_source(path, layer=layer, kind=kind, encoding=encoding)
    if ext in (".gpkg", ".gdb") or (ext == ".zip" and layer is None):
        layer = _pick_layer(source, layer=layer, kind=kind, name=name)
    enc = choice.encoding
    if choice.override:
        notes.append(_note("encoding_mismatch", choice.override, action=f"read as {enc}"))
    use_arrow = settings.use_arrow
    try:
        gdf = pyogrio.read_dataframe(source, layer=layer, encoding=enc, use_arrow=use_arrow)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as e:
        raise _unreadable(
            Path(source) if isinstance(source, Path) else path, e, layer=layer
        ) from e
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
    if ext == ".gpkg":
        _restore_classes(gdf, source, layer)
    return gdf


def _restore_classes(gdf: gpd.GeoDataFrame, source: str | Path, layer: str | None) -> None:
    """Put the classes a classified layer was written with (`write_layer`) back in ``attrs``."""
    import pyogrio

    meta = pyogrio.read_info(source, layer=layer).get("layer_metadata") or {}
    text = meta.get(schema.CLASSES_ATTR)
    if not text:
        return
    with contextlib.suppress(ValueError):  # foreign metadata: the classes stay unknown
        classes = json.loads(text)
        if isinstance(classes, dict):
            gdf.attrs[schema.CLASSES_ATTR] = classes


def _pick_layer(source: str | Path, *, layer: str | None, kind: str | None, name: str) -> str:
    names = _list_layers(source, name=name)
    return _pick(names, names, layer=layer, kind=kind, what=f"`{name}`")


def _list_layers(source: str | Path, *, name: str | None = None) -> list[str]:
    """
    Return the layer names of `source`; a damaged or foreign file is `_unreadable`.

    The one call of ``pyogrio.list_layers``: `read_layer`, `layers_in` and
    `read_named_layer` list layers through it, so a truncated GeoPackage or random bytes
    give the planner's sentence, never GDAL's or SQLite's text alone.
    """
    import pyogrio

    shown = Path(name if name is not None else source)
    if not str(source).startswith("/vsi") and not Path(source).is_dir():  # .gdb is a folder
        check_file(Path(source))
    try:
        return [str(n) for n in pyogrio.list_layers(source)[:, 0]]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as e:
        raise _unreadable(shown, e) from e


def _zip_source(
    path: Path, *, layer: str | None, kind: str | None, encoding: str | None
) -> tuple[str, str | None, TextChoice]:
    """Return (GDAL path, layer, text encoding) for a zip; Shapefiles chosen by stem."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.namelist()
            shps = sorted(m for m in members if m.lower().endswith(".shp"))
            if not shps:
                return f"/vsizip/{path.resolve()}", layer, TextChoice(encoding)
            stems = [Path(m).stem for m in shps]
            shp = _pick(shps, stems, layer=layer, kind=kind, what=f"zip `{path}`")
            base = shp[:-4]
            lowered = {m.lower(): m for m in members}
            missing = [e for e in (".dbf", ".shx") if (base + e).lower() not in lowered]
            if missing:
                _refuse_missing_sidecars(f"{path}::{shp}", missing)
            cpg = lowered.get((base + ".cpg").lower())
            cpg_text = zf.read(cpg).decode("latin-1") if cpg else None
            declared, source, _ = _declared(encoding, cpg_text)
            with zf.open(lowered[(base + ".dbf").lower()]) as f:
                head = f.read(_SAMPLE_BYTES)
            choice = choose_text_encoding(
                head, b"", declared=declared, source=source, name=f"{path}::{shp}"
            )
    except zipfile.BadZipFile as e:
        msg = (
            f"`{path}` is not a readable zip file: it is damaged or not a zip; ask for the "
            f"file again or re-pack the Shapefile.\n({e})"
        )
        raise InputError(msg) from e
    return f"/vsizip/{path.resolve()}/{shp}", None, choice


# --- tables -------------------------------------------------------------------------


# --- canonical columns and values ---------------------------------------------------


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


def layers_in(path: str | os.PathLike[str], names: Iterable[str]) -> list[str]:
    """
    Return which of `names` are layers of a GeoPackage (none for other files).

    Parameters
    ----------
    path
        A file path.
    names
        Layer names to look for (e.g. the layers a rule set names).

    Returns
    -------
    held
        The names the file holds, in the order of `names`.

    Examples
    --------
    >>> from geo_renewal.datasets import get_path
    >>> layers_in(get_path("sample_district"), ["heritage_core", "no_such_layer"])
    ['heritage_core']
    """
    p = Path(path)
    if p.suffix.lower() != ".gpkg" or not p.is_file():
        return []
    held = set(_list_layers(p))
    return [n for n in names if n in held]


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
        names = _list_layers(path)
        if len(names) > 1 and name in names:
            layer = name
    return read_layer(path, layer=layer or None)


def write_layer(
    gdf: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    partitions: int | str | None = None,
    n_jobs: int | None = None,
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
    n_jobs
        Threads for a GeoParquet file of many rows (WKB encoded while the last slice is
        written); None reads `settings.n_jobs`. The file's content does not depend on it.

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
            gdf = geoparquet.partition_layer(gdf, "auto" if partitions is None else partitions)
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
            _write_parquet(gdf, tmp, n_jobs=n_jobs)
    elif driver == "ESRI Shapefile":
        _write_shapefile(gdf, path)
    else:
        keep = driver == "GPKG" and layer is not None
        with atomic_write(path, keep_existing=keep) as tmp:
            _write_vector(gdf, tmp, driver=driver, layer=layer or path.stem)
    return path


def _write_parquet(gdf: gpd.GeoDataFrame, tmp: Path, *, n_jobs: int | None = None) -> None:
    geoparquet.write_file(gdf, tmp, n_jobs=n_jobs)


def _write_vector(
    gdf: gpd.GeoDataFrame, tmp: Path, *, driver: str, layer: str | None, **kwargs: Any
) -> None:
    use_arrow = settings.use_arrow and driver != "ESRI Shapefile"
    if driver == "FlatGeobuf":
        # The packed spatial index would reorder the features; keep the row order.
        kwargs.setdefault("SPATIAL_INDEX", "NO")
    if driver == "GPKG" and schema.CLASSES_ATTR in gdf.attrs:  # a rule set's classes and roles
        text = json.dumps(gdf.attrs[schema.CLASSES_ATTR], ensure_ascii=False)
        kwargs.setdefault("layer_metadata", {schema.CLASSES_ATTR: text})
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
