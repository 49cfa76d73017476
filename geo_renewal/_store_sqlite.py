"""
The SQLite / GeoPackage backend of `geo_renewal.store.LedgerStore`.

Private to `geo_renewal.store`. The file is a GeoPackage (QGIS opens it): the project
polygons are a feature table (``projects``), the snapshots, ledger rows, findings, tasks,
households and meeting decisions are attribute tables registered in ``gpkg_contents``.
Ledger rows and findings are kept per snapshot (``as_of``); tasks, households and
decisions are versioned (``valid_from`` / ``valid_to``: a row is stored again only when it
changes), so 52 weeks of 200,000 households stay small. Every import is one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import struct
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal._errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd

#: Tables kept whole per snapshot, and tables versioned over snapshots.
PER_SNAPSHOT = ("ledger_rows", "findings")
VERSIONED = ("tasks", "households", "decisions")
_APPLICATION_ID = 0x47504B47  # "GPKG"
_DESCRIPTIONS = {
    "snapshots": "台账快照 / ledger snapshots (one per weekly import)",
    "snapshot_files": "导入文件及其SHA-256 / imported files and their content hash",
    "ledger_rows": "台账（按快照） / ledger rows per snapshot (as_of)",
    "findings": "数据问题（按快照） / findings per snapshot",
    "tasks": "任务分解（valid_from–valid_to） / tasks, versioned",
    "households": "一户一档（valid_from–valid_to） / households, versioned",
    "decisions": "例会商定事项（valid_from–valid_to） / meeting decisions, versioned",
}


@dataclass
class SnapshotChange:
    """
    Everything one import writes, computed before the transaction opens.

    Attributes
    ----------
    as_of
        The snapshot's day.
    meta
        The ``snapshots`` row (n_projects, pipelines, stages as JSON text …).
    files
        One row per imported file: ``kind``, ``file``, ``sha256``.
    rows
        Per-snapshot table -> rows to add (without ``as_of``).
    inserts
        Versioned table -> rows that start on `as_of`.
    closes
        Versioned table -> fids of the rows that end on `as_of`.
    projects
        Project polygons to add or replace (by ``project_id``), or None.
    """

    as_of: dt.date
    meta: dict[str, Any]
    files: pd.DataFrame
    rows: dict[str, pd.DataFrame] = field(default_factory=dict)
    inserts: dict[str, pd.DataFrame] = field(default_factory=dict)
    closes: dict[str, list[int]] = field(default_factory=dict)
    projects: gpd.GeoDataFrame | None = None


# --------------------------------------------------------------------------- values


def column_kind(s: pd.Series) -> str:
    """Return how a column is stored: date, float, int, bool, tuple or text."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return "date"
    if pd.api.types.is_bool_dtype(s):
        return "bool"
    if pd.api.types.is_integer_dtype(s):
        return "int"
    if pd.api.types.is_float_dtype(s):
        return "float"
    filled = s.dropna()
    if len(filled) and all(isinstance(v, tuple) for v in filled.head(50)):
        return "tuple"
    if len(filled) and all(isinstance(v, pd.Timestamp | dt.date) for v in filled.head(50)):
        return "date"
    return "text"


_SQL_TYPE = {"date": "TEXT", "float": "REAL", "int": "INTEGER", "bool": "INTEGER"}


def encode(s: pd.Series, kind: str) -> list[Any]:
    """Return the values of `s` as SQLite values (dates as ISO text, None for missing)."""
    if kind == "date":
        d = pd.to_datetime(s, errors="coerce")
        return d.dt.strftime("%Y-%m-%d").astype(object).where(d.notna(), None).tolist()
    if kind == "int" and pd.api.types.is_integer_dtype(s):
        return s.astype("int64").tolist()  # exact: 64-bit row hashes do not fit a float
    if kind in ("float", "int"):
        a = pd.to_numeric(s, errors="coerce").astype(float)
        if kind == "int":
            return [None if v != v else int(v) for v in a.tolist()]
        return a.astype(object).where(a.notna(), None).tolist()
    if kind == "bool":
        return [None if v is None or v is pd.NA else int(bool(v)) for v in s.tolist()]
    if kind == "tuple":
        return [
            None
            if not isinstance(v, tuple)
            else ("[]" if not v else json.dumps(list(v), ensure_ascii=False))
            for v in s.tolist()
        ]
    arr = np.array(s.to_numpy(dtype=object), dtype=object)
    na = pd.isna(arr)
    if pd.api.types.infer_dtype(arr, skipna=True) not in ("string", "empty"):
        arr = np.array([v if isinstance(v, str) else str(v) for v in arr], dtype=object)
    arr[na] = None
    return arr.tolist()


def _decoded(values: np.ndarray, kind: str) -> pd.Series:
    """Return one column of SQLite values (an object array) as the type it was written from."""
    s = pd.Series(values, dtype=object)
    if kind == "date":  # distinct days parsed once: a column holds a few hundred of them
        codes, days = pd.factorize(values)
        parsed = pd.to_datetime(pd.Series([*days, None], dtype=object)).astype("datetime64[us]")
        return pd.Series(parsed.to_numpy()[codes])  # code -1: the None appended, NaT
    if kind == "float":
        return pd.to_numeric(s).astype(float)
    if kind == "int":
        v = pd.to_numeric(s)
        return v.astype("int64") if v.notna().all() else v.astype(float)
    if kind == "bool":
        b = s.map(lambda v: None if v is None else bool(v))
        return b.astype(bool) if b.notna().all() else b
    if kind == "tuple":  # JSON lists: the distinct ones parsed as one JSON text
        texts = list(dict.fromkeys(v for v in values if v is not None))
        parsed = json.loads("[" + ",".join(texts) + "]")
        tuples: dict[Any, tuple[Any, ...]] = {None: ()}
        tuples.update((t, tuple(p)) for t, p in zip(texts, parsed, strict=True))
        return pd.Series([tuples[v] for v in values], dtype=object)
    return s  # text: None stays None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------- geometry


def _gpkg_blob(wkb: bytes | None, bounds: Sequence[float], srs_id: int) -> bytes | None:
    """Return a GeoPackage geometry blob: 'GP', version, flags, srs id, envelope, WKB."""
    if wkb is None:
        return None
    minx, miny, maxx, maxy = bounds
    if not np.all(np.isfinite(bounds)):  # empty geometry: no envelope, empty flag
        return b"GP" + bytes([0, 0x11]) + struct.pack("<i", srs_id) + wkb
    return b"GP" + bytes([0, 0x03]) + struct.pack("<i4d", srs_id, minx, maxx, miny, maxy) + wkb


def _wkb_of(blob: bytes | None) -> bytes | None:
    if blob is None:
        return None
    flags = blob[3]
    envelope = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(flags >> 1) & 0x07]
    return bytes(blob[8 + envelope :])


# --------------------------------------------------------------------------- backend


class SQLiteBackend:
    """
    A GeoPackage file as a ledger store (the one `StoreBackend` of the toolkit).

    Parameters
    ----------
    path
        The ``.gpkg`` file; created on the first import.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # ---- connection

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, isolation_level=None)
        try:
            yield con
        finally:
            con.close()

    def exists(self) -> bool:
        """Tell whether the store file holds a snapshot table."""
        if not self.path.exists():
            return False
        with self._connect() as con:
            return _has_table(con, "snapshots")

    def check(self) -> None:
        """Refuse a file that is not a store (not SQLite, or another GeoPackage)."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        try:
            with self._connect() as con:
                con.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
                ok = _has_table(con, "snapshots") or not _has_table(con, "gpkg_contents")
        except sqlite3.DatabaseError as e:
            msg = (
                f"{self.path} is not a ledger store (not a GeoPackage / SQLite file: {e}); "
                f"give a new file name such as renewal.gpkg."
            )
            raise InputError(msg) from e
        if not ok:
            msg = (
                f"{self.path} is a GeoPackage but no ledger store (it has no `snapshots` "
                f"table); give a new file name such as renewal.gpkg, not a data layer file."
            )
            raise InputError(msg)

    # ---- reading

    def snapshots(self) -> pd.DataFrame:
        """Return the snapshots, oldest first (``as_of`` as text, the meta columns)."""
        if not self.exists():
            return pd.DataFrame(
                columns=["as_of", "imported_at", "n_projects", "pipelines", "stages"]
            )
        with self._connect() as con:
            return pd.read_sql_query("SELECT * FROM snapshots ORDER BY as_of", con).drop(
                columns="fid"
            )

    def known_files(self) -> pd.DataFrame:
        """Return every imported file: ``as_of``, ``kind``, ``file``, ``sha256``."""
        if not self.exists():
            return pd.DataFrame(columns=["as_of", "kind", "file", "sha256"])
        with self._connect() as con:
            return pd.read_sql_query(
                "SELECT as_of, kind, file, sha256 FROM snapshot_files ORDER BY as_of", con
            )

    def read(
        self,
        table: str,
        *,
        as_of: dt.date | None = None,
        where: Mapping[str, Any] | None = None,
        with_fid: bool = False,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """
        Return the rows of `table` on a day, or all of them, filtered by `where`.

        Of snapshot `as_of` (a versioned table: the rows valid on that day); with None,
        every row, or for a versioned table the current ones when `with_fid`; `where`
        holds ``column = value`` pairs; `columns` selects columns (all by default).
        """
        if not self.exists():
            return pd.DataFrame()
        with self._connect() as con:
            if not _has_table(con, table):
                return pd.DataFrame()
            kinds = dict(
                con.execute(
                    "SELECT column_name, kind FROM store_columns WHERE table_name = ?", (table,)
                ).fetchall()
            )
            kinds["fid"] = "int"
            if with_fid and as_of is None and not where and columns and table in VERSIONED:
                fast = self._current_arrow(table, columns, kinds)
                if fast is not None:
                    return fast
            sql, args = _select(table, as_of, where, current=with_fid, columns=columns)
            cur = con.execute(sql, args)
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        grid = np.empty((len(rows), len(names)), dtype=object)  # cells stay Python values
        if rows:
            grid[:] = rows
        df = pd.DataFrame(
            {n: _decoded(grid[:, j], kinds.get(n, "text")) for j, n in enumerate(names)},
            columns=names,
        )
        return df if with_fid or "fid" not in df else df.drop(columns="fid")

    def _current_arrow(
        self, table: str, columns: Sequence[str], kinds: Mapping[str, str]
    ) -> pd.DataFrame | None:
        """
        Return some columns of a versioned table's current rows through GDAL's Arrow reader.

        What an import reads (fid, keys, row hashes of 200,000 rows) without a Python object
        per cell; None (read them with sqlite3) unless every column is text or a whole number
        and GDAL gives them as such.
        """
        import pyarrow as pa

        import pyogrio

        cols = [c for c in columns if c != "fid"]
        if "fid" not in columns or any(kinds.get(c) not in ("text", "int") for c in cols):
            return None
        try:
            _, tab = pyogrio.read_arrow(
                self.path,
                layer=table,
                columns=cols,
                where="valid_to IS NULL",
                return_fids=True,
                read_geometry=False,
            )
        except (
            pyogrio.errors.DataSourceError,
            pyogrio.errors.DataLayerError,
            pyogrio.errors.FieldError,
        ):
            return None
        out = {}
        for c in ["fid", *cols]:
            arr = tab.column("OGC_FID" if c == "fid" and "fid" not in tab.column_names else c)
            if kinds[c] == "int" and pa.types.is_integer(arr.type) and not arr.null_count:
                out[c] = arr.to_numpy().astype("int64")
            elif kinds[c] == "text" and (
                pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
            ):
                out[c] = pd.Series(arr.to_numpy(zero_copy_only=False), dtype=object)
            else:
                return None
        df = pd.DataFrame(out, columns=list(columns))
        return df.sort_values("fid", kind="stable", ignore_index=True)

    def read_projects(self) -> gpd.GeoDataFrame | None:
        """Return the project polygons, or None when none were imported."""
        import geopandas as gpd
        import shapely

        if not self.exists():
            return None
        with self._connect() as con:
            if not _has_table(con, "projects"):
                return None
            df = pd.read_sql_query("SELECT * FROM projects ORDER BY fid", con)
            crs = _projects_crs(con)
        geoms = shapely.from_wkb([_wkb_of(b) for b in df.pop("geom")])
        return gpd.GeoDataFrame(df.drop(columns="fid"), geometry=geoms, crs=crs)

    # ---- writing

    def write(self, change: SnapshotChange) -> None:
        """Write one snapshot in one transaction: all of it, or (on any error) nothing."""
        self.check()
        created = not self.path.exists()
        try:
            with self._connect() as con:
                con.execute("BEGIN IMMEDIATE")
                try:
                    self._write_all(con, change)
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
        except BaseException:
            if created:
                self.path.unlink(missing_ok=True)
            raise

    def _write_all(self, con: sqlite3.Connection, change: SnapshotChange) -> None:
        _init_gpkg(con)
        day = change.as_of.isoformat()
        meta = pd.DataFrame([{"as_of": day, **change.meta}])
        self._write_table(con, "snapshots", meta)
        self._write_table(con, "snapshot_files", change.files.assign(as_of=day))
        for table, rows in change.rows.items():
            self._write_table(con, table, rows.assign(as_of=day))
        for table, fids in change.closes.items():
            if not fids:
                continue
            con.executemany(
                f"UPDATE {_q(table)} SET valid_to = ? WHERE fid = ?", [(day, int(f)) for f in fids]
            )
        for table, rows in change.inserts.items():
            self._write_table(con, table, rows.assign(valid_from=day, valid_to=None))
        if change.projects is not None:
            _write_projects(con, change.projects, day)

    def _write_table(self, con: sqlite3.Connection, table: str, df: pd.DataFrame) -> None:
        """Append `df` to `table`, creating the table and any new column first."""
        kinds = {c: column_kind(df[c]) for c in df.columns}
        kinds["valid_to"] = kinds.get("valid_to", "text") if "valid_to" in df else "text"
        if "as_of" in kinds:
            kinds["as_of"] = "text"
        for c in ("valid_from", "valid_to"):
            if c in kinds:
                kinds[c] = "text"
        _ensure_table(con, table, kinds)
        if df.empty:
            return
        cols = list(df.columns)
        values = [
            encode(df[c], kinds[c])
            if c not in ("as_of", "valid_from", "valid_to")
            else df[c].tolist()
            for c in cols
        ]
        sql = f"INSERT INTO {_q(table)} ({', '.join(map(_q, cols))}) VALUES ({', '.join('?' * len(cols))})"
        con.executemany(sql, zip(*values, strict=True))


def _select(
    table: str,
    as_of: dt.date | None,
    where: Mapping[str, Any] | None,
    *,
    current: bool,
    columns: Sequence[str] | None,
) -> tuple[str, list[Any]]:
    """
    Return the one query of the store's rows: of a snapshot day, the current ones, or all.

    A per-snapshot table's rows of day D are ``as_of = D``; a versioned table's rows valid
    on D are ``valid_from <= D < valid_to`` (``valid_to`` NULL: still valid), its current
    rows ``valid_to IS NULL``; `where` adds ``column = value`` pairs.
    """
    what = "*" if columns is None else ", ".join(map(_q, columns))
    conds, args = [], []
    if as_of is not None:
        day = as_of.isoformat()
        if table in VERSIONED:
            conds.append("valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)")
            args += [day, day]
        else:
            conds.append("as_of = ?")
            args.append(day)
    elif current and table in VERSIONED:
        conds.append("valid_to IS NULL")
    for col, value in (where or {}).items():
        conds.append(f"{_q(col)} = ?")
        args.append(value)
    sql = f"SELECT {what} FROM {_q(table)}"
    if conds:
        sql += " WHERE " + " AND ".join(conds)
    return sql + " ORDER BY fid", args


def _has_table(con: sqlite3.Connection, name: str) -> bool:
    row = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return row.fetchone() is not None


_WGS84 = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
    'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],AUTHORITY["EPSG","4326"]]'
)


def _init_gpkg(con: sqlite3.Connection) -> None:
    """Create the GeoPackage metadata tables and the store's own tables when missing."""
    if _has_table(con, "gpkg_contents"):
        return
    con.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
    con.execute("PRAGMA user_version = 10300")
    con.execute(
        "CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, "
        "organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, "
        "definition TEXT NOT NULL, description TEXT)"
    )
    con.executemany(
        "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
        [
            ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", None),
            ("Undefined geographic SRS", 0, "NONE", 0, "undefined", None),
            ("WGS 84 geodetic", 4326, "EPSG", 4326, _WGS84, None),
        ],
    )
    con.execute(
        "CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT "
        "NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '', last_change DATETIME NOT "
        "NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, "
        "max_x DOUBLE, max_y DOUBLE, srs_id INTEGER REFERENCES gpkg_spatial_ref_sys(srs_id))"
    )
    con.execute(
        "CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT "
        "NULL, geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, "
        "m TINYINT NOT NULL, PRIMARY KEY (table_name, column_name))"
    )
    con.execute(
        "CREATE TABLE store_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
        "kind TEXT NOT NULL, PRIMARY KEY (table_name, column_name))"
    )


def _ensure_table(con: sqlite3.Connection, table: str, kinds: Mapping[str, str]) -> None:
    if not _has_table(con, table):
        con.execute(f"CREATE TABLE {_q(table)} (fid INTEGER PRIMARY KEY AUTOINCREMENT)")
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
            "VALUES (?, 'attributes', ?, ?)",
            (table, table, _DESCRIPTIONS.get(table, "")),
        )
        _index(con, table)
    have = dict(
        con.execute("SELECT column_name, kind FROM store_columns WHERE table_name = ?", (table,))
    )
    for col, kind in kinds.items():
        if col in have:
            continue
        con.execute(f"ALTER TABLE {_q(table)} ADD COLUMN {_q(col)} {_SQL_TYPE.get(kind, 'TEXT')}")
        con.execute("INSERT INTO store_columns VALUES (?, ?, ?)", (table, col, kind))
    if table in VERSIONED or table in PER_SNAPSHOT:
        _index(con, table)


def _index(con: sqlite3.Connection, table: str) -> None:
    cols = {r[1] for r in con.execute(f"PRAGMA table_info({_q(table)})")}
    for idx_cols in (("as_of",), ("valid_from",), ("valid_to",), ("project_id",)):
        if set(idx_cols) <= cols:
            name = f"idx_{table}_{'_'.join(idx_cols)}"
            con.execute(
                f"CREATE INDEX IF NOT EXISTS {_q(name)} ON {_q(table)} ({', '.join(map(_q, idx_cols))})"
            )


def _projects_crs(con: sqlite3.Connection) -> Any:
    """Return the CRS of the projects table (by EPSG code when it has one), or None."""
    from pyproj import CRS

    row = con.execute(
        "SELECT s.organization, s.organization_coordsys_id, s.definition FROM "
        "gpkg_geometry_columns g JOIN gpkg_spatial_ref_sys s ON g.srs_id = s.srs_id "
        "WHERE g.table_name = 'projects'"
    ).fetchone()
    if row is None or row[2] == "undefined":
        return None
    return CRS.from_epsg(row[1]) if str(row[0]).upper() == "EPSG" else CRS.from_wkt(row[2])


def _srs_id(con: sqlite3.Connection, crs: Any) -> int:
    from pyproj import CRS

    if crs is None:
        return -1
    c = CRS.from_user_input(crs)
    epsg = c.to_epsg()
    srs_id = int(epsg) if epsg else 100_000
    row = con.execute("SELECT 1 FROM gpkg_spatial_ref_sys WHERE srs_id = ?", (srs_id,)).fetchone()
    if row is None:
        con.execute(
            "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
            (c.name, srs_id, "EPSG" if epsg else "NONE", srs_id, c.to_wkt("WKT1_GDAL"), None),
        )
    return srs_id


def _write_projects(con: sqlite3.Connection, projects: gpd.GeoDataFrame, day: str) -> None:
    """Add or replace the project polygons (by ``project_id``) in the feature table."""
    import shapely

    have = _has_table(con, "projects")
    if have:
        srs = con.execute(
            "SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = 'projects'"
        ).fetchone()[0]
        stored = con.execute(
            "SELECT definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?", (srs,)
        )
        wkt = stored.fetchone()[0]
        if projects.crs is not None and wkt != "undefined":
            projects = projects.to_crs(wkt)
    else:
        srs = _srs_id(con, projects.crs)
        con.execute(
            "CREATE TABLE projects (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom BLOB, "
            "project_id TEXT UNIQUE, name TEXT, project_type TEXT, street TEXT, as_of TEXT)"
        )
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
            "VALUES ('projects', 'features', 'projects', '项目范围 / project polygons', ?)",
            (srs,),
        )
        con.execute(
            "INSERT INTO gpkg_geometry_columns VALUES ('projects', 'geom', 'GEOMETRY', ?, 0, 0)",
            (srs,),
        )
    geoms = np.asarray(projects.geometry.array, dtype=object)
    wkbs = shapely.to_wkb(geoms, byte_order=1)
    bounds = shapely.bounds(geoms)
    cols = ("name", "project_type", "street")
    blobs = [
        None if g is None else _gpkg_blob(w, b, srs)
        for g, w, b in zip(geoms, wkbs, bounds, strict=True)
    ]
    extra = [
        [None if pd.isna(v) else str(v) for v in projects[c].tolist()]
        if c in projects
        else [None] * len(projects)
        for c in cols
    ]
    ids = projects["project_id"].astype(str).tolist()
    rows = [(*r, day) for r in zip(blobs, ids, *extra, strict=True)]
    con.executemany(
        "INSERT INTO projects (geom, project_id, name, project_type, street, as_of) VALUES "
        "(?, ?, ?, ?, ?, ?) ON CONFLICT(project_id) DO UPDATE SET geom = excluded.geom, "
        "name = excluded.name, project_type = excluded.project_type, street = excluded.street, "
        "as_of = excluded.as_of",
        rows,
    )
    ext = con.execute("SELECT min(fid) FROM projects").fetchone()
    if ext is not None:
        total = shapely.total_bounds(geoms) if len(geoms) else [None] * 4
        con.execute(
            "UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ? "
            "WHERE table_name = 'projects'",
            tuple(None if v is None or not np.isfinite(v) else float(v) for v in total),
        )
