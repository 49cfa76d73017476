"""
The ledger store: the office's weekly ledger snapshots in one GeoPackage file.

`LedgerStore(path)` adds the ledgers of a week (one per street is normal), with the task
table, the household table (一户一档) and the meeting decisions, as one dated snapshot in
one transaction; a file imported before (same SHA-256) is refused or skipped. It answers
`snapshots`, `snapshot` (a `Ledger` of that day), `history`, `diff`, `tasks`,
`households` and `decisions`. The store works through the small `StoreBackend` interface;
`SQLiteBackend` (a GeoPackage QGIS opens) is the one implementation, and a PostGIS backend
would be a second one. See ``docs/guide/weekly.md``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from geo_renewal._checks import check_choice
from geo_renewal._errors import InputError
from geo_renewal._findings import FINDING_COLUMNS
from geo_renewal._store_sqlite import SnapshotChange, SQLiteBackend, column_kind, encode
from geo_renewal.ledger import Ledger, _as_timestamp, read_ledger

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["ImportResult", "LedgerStore", "SQLiteBackend", "StoreBackend"]

logger = logging.getLogger(__name__)

#: Versioned table -> (key columns, whether a row missing from an import ends).
_KEYS: dict[str, tuple[tuple[str, ...], bool]] = {
    "tasks": (("project_id", "task_id"), True),
    "households": (("household_id",), True),
    "decisions": (("decision_id",), False),  # carried until closed
}


class StoreBackend(Protocol):
    """
    What `LedgerStore` needs of a storage backend; `SQLiteBackend` is the one implementation.

    A backend stores snapshots (`SnapshotChange`, written all or nothing), per-snapshot
    tables (``ledger_rows``, ``findings``: rows with ``as_of``), versioned tables
    (``tasks``, ``households``, ``decisions``: rows with ``valid_from`` / ``valid_to``)
    and project polygons. A PostGIS backend implements these five methods.
    """

    def snapshots(self) -> pd.DataFrame:
        """Return one row per snapshot, oldest first, with ``as_of`` as ISO text."""
        ...

    def known_files(self) -> pd.DataFrame:
        """Return every imported file: ``as_of``, ``kind``, ``file``, ``sha256``."""
        ...

    def write(self, change: SnapshotChange) -> None:
        """Write one snapshot atomically."""
        ...

    def read(
        self,
        table: str,
        *,
        as_of: dt.date | None = None,
        where: Mapping[str, Any] | None = None,
        with_fid: bool = False,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Return the rows of a table on a day (or all / the current ones), some columns."""
        ...

    def read_projects(self) -> gpd.GeoDataFrame | None:
        """Return the project polygons, or None."""
        ...


@dataclass(frozen=True)
class ImportResult:
    """
    What one `LedgerStore.import_snapshot` did.

    Attributes
    ----------
    as_of
        The snapshot's day.
    imported
        True when a snapshot was written.
    n_projects
        Ledger rows of the snapshot.
    files
        The files imported (kind, file, sha256).
    skipped
        Files left out because they were imported before (file, earlier snapshot).
    findings
        The findings of the snapshot's ledger, tasks, households and decisions.
    changes
        Versioned table -> rows added or changed (``"households"`` …) and ended.
    message
        One sentence for the planner.
    """

    as_of: dt.date
    imported: bool
    n_projects: int
    files: pd.DataFrame
    skipped: pd.DataFrame
    findings: pd.DataFrame
    changes: dict[str, tuple[int, int]] = field(default_factory=dict)
    message: str = ""


def _day(value: Any, name: str) -> dt.date:
    return _as_timestamp(value, name).date()


def _hash(source: Any) -> tuple[str, str]:
    """Return (name, sha256) of a file or a DataFrame."""
    if isinstance(source, pd.DataFrame):
        h = hashlib.sha256(pd.util.hash_pandas_object(source, index=False).to_numpy().tobytes())
        h.update("|".join(map(str, source.columns)).encode())
        return "(DataFrame)", h.hexdigest()
    path = Path(source)
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as e:
        msg = f"cannot read {path}: {e.strerror}; check the path."
        raise InputError(msg) from e
    return path.name, h.hexdigest()


class LedgerStore:
    """
    The office's ledger history: dated weekly snapshots in one GeoPackage file.

    Parameters
    ----------
    path
        The store file (``renewal.gpkg`` next to the project file); created by the first
        import. QGIS opens it: ``projects`` is a polygon layer, the other tables are
        attribute tables.
    backend
        Another `StoreBackend` (e.g. PostGIS); by default `SQLiteBackend` on `path`.

    Examples
    --------
    >>> import tempfile
    >>> store = LedgerStore(Path(tempfile.mkdtemp()) / "renewal.gpkg")
    >>> raw = pd.DataFrame({"项目编号": ["A"], "类型": ["征收拆迁"], "户数": [10],
    ...                     "已签约户数": [4], "签约计划日期": ["2026-12-01"]})
    >>> store.import_snapshot([raw], as_of="2026-11-13").n_projects
    1
    >>> store.import_snapshot([raw.assign(已签约户数=8)], as_of="2026-11-20").imported
    True
    >>> store.snapshots()["as_of"].tolist()
    [datetime.date(2026, 11, 13), datetime.date(2026, 11, 20)]
    >>> store.diff("2026-11-13", "2026-11-20")[["project_id", "signed_change"]].to_dict("records")
    [{'project_id': 'A', 'signed_change': 4.0}]
    """

    def __init__(self, path: str | Path, *, backend: StoreBackend | None = None) -> None:
        self.path = Path(path)
        self.backend: StoreBackend = backend if backend is not None else SQLiteBackend(self.path)
        if isinstance(self.backend, SQLiteBackend):
            self.backend.check()

    def __repr__(self) -> str:
        snaps = self.snapshots()
        span = f"{snaps['as_of'].iloc[0]} … {snaps['as_of'].iloc[-1]}" if len(snaps) else "empty"
        return f"<LedgerStore {self.path}: {len(snaps)} snapshots, {span}>"

    # ------------------------------------------------------------------ import

    def import_snapshot(
        self,
        files: Sequence[str | Path | pd.DataFrame] | str | Path,
        *,
        as_of: Any,
        projects: gpd.GeoDataFrame | str | Path | None = None,
        projects_layer: str | None = None,
        tasks: str | Path | pd.DataFrame | None = None,
        households: str | Path | pd.DataFrame | None = None,
        decisions: str | Path | pd.DataFrame | None = None,
        on_duplicate: str = "refuse",
        sheet: str | int | None = None,
    ) -> ImportResult:
        """
        Add the ledgers of one week (and its tasks, households, decisions) as one snapshot.

        The whole snapshot is written in one transaction: an error midway leaves the
        store as it was. Snapshots are added in date order. A file whose content
        (SHA-256) was imported before is refused (``on_duplicate="refuse"``) or left out
        (``"skip"``; nothing is written when no ledger file is left). Tasks and
        households given replace the last ones (a household missing from the new table
        ends); decisions are carried from snapshot to snapshot until closed (an import
        updates the items it names); a table not given is carried unchanged.

        Parameters
        ----------
        files
            The week's ledger files (CSV / XLSX, one per street) or DataFrames.
        as_of
            The snapshot's day (the meeting date).
        projects
            Project polygons (a layer or file) to keep in the store's ``projects`` layer.
        projects_layer
            Layer of `projects` in a multi-layer file.
        tasks, households, decisions
            The week's task table (`geo_renewal.tasks.read_tasks`), household table
            (`geo_renewal.households.read_households`) and meeting decisions
            (`geo_renewal.supervision.read_decisions`).
        on_duplicate
            ``"refuse"`` or ``"skip"`` files imported before.
        sheet
            Sheet of the ledger workbooks.

        Returns
        -------
        result
            An `ImportResult` (``result.message`` says what happened).

        Raises
        ------
        InputError
            If the day has a snapshot already, is before the latest one, or a file was
            imported before (with ``on_duplicate="refuse"``); the message names the file.
        """
        on_duplicate = check_choice(on_duplicate, ("refuse", "skip"), name="on_duplicate")
        day = _day(as_of, "as_of")
        self._check_order(day)
        ledgers = [files] if isinstance(files, str | Path | pd.DataFrame) else list(files)
        extra = {"tasks": tasks, "households": households, "decisions": decisions}
        entries, skipped = self._hash_files(ledgers, extra, on_duplicate)
        ledgers = [s for k, s, *_ in entries if k == "ledger"]
        given = {k: s for k, s, *_ in entries if k != "ledger"}
        files_df = pd.DataFrame(
            [(k, n, h) for k, _, n, h in entries], columns=["kind", "file", "sha256"]
        )
        if not ledgers:
            return self._nothing(day, files_df, skipped)
        ledger = read_ledger(
            _ledger_source(ledgers),
            projects=projects,
            projects_layer=projects_layer,
            sheet=sheet,
        )
        change, findings, counts = self._change(day, ledger, given, files_df)
        self.backend.write(change)
        msg = (
            f"snapshot {day} imported: {len(ledger.table)} projects from {len(ledgers)} "
            f"ledger file(s)"
            + "".join(f", {k} +{a}/-{e}" for k, (a, e) in counts.items())
            + (f"; {len(findings)} findings" if len(findings) else "")
            + (f"; skipped {len(skipped)} file(s) imported before" if len(skipped) else "")
            + "."
        )
        logger.info(msg)
        return ImportResult(day, True, len(ledger.table), files_df, skipped, findings, counts, msg)

    def _check_order(self, day: dt.date) -> None:
        dates = self.dates()
        if day in dates:
            msg = (
                f"the store {self.path} has a snapshot of {day} already; import all files of "
                f"a week at once, or give another --as-of date."
            )
            raise InputError(msg)
        if dates and day < dates[-1]:
            msg = (
                f"the store {self.path} already has a later snapshot ({dates[-1]}); snapshots "
                f"are added in date order, so {day} cannot be added now."
            )
            raise InputError(msg)

    def _hash_files(
        self, ledgers: list[Any], extra: Mapping[str, Any], on_duplicate: str
    ) -> tuple[list[tuple[str, Any, str, str]], pd.DataFrame]:
        known = self.backend.known_files()
        seen = dict(zip(known["sha256"], known["as_of"], strict=True))
        entries, skipped = [], []
        items = [("ledger", s) for s in ledgers] + [
            (k, s) for k, s in extra.items() if s is not None
        ]
        for kind, source in items:
            name, digest = _hash(source)
            if digest in seen:
                if on_duplicate == "refuse":
                    msg = (
                        f"{name} ({kind}) was imported before, identical, with the snapshot of "
                        f"{seen[digest]}; leave it out (an unchanged table is carried forward) "
                        f"or pass --skip-known to skip files imported before."
                    )
                    raise InputError(msg)
                skipped.append((kind, name, seen[digest]))
                continue
            entries.append((kind, source, name, digest))
        return entries, pd.DataFrame(skipped, columns=["kind", "file", "imported_with"])

    def _nothing(self, day: dt.date, files: pd.DataFrame, skipped: pd.DataFrame) -> ImportResult:
        msg = (
            f"nothing imported for {day}: every ledger file was imported before "
            f"({', '.join(f'{r.file} with {r.imported_with}' for r in skipped.itertuples())})."
        )
        empty = pd.DataFrame(columns=FINDING_COLUMNS)
        return ImportResult(day, False, 0, files, skipped, empty, {}, msg)

    def _change(
        self, day: dt.date, ledger: Ledger, given: Mapping[str, Any], files: pd.DataFrame
    ) -> tuple[SnapshotChange, pd.DataFrame, dict[str, tuple[int, int]]]:
        table = pd.DataFrame(ledger.table).drop(
            columns=["geometry", "has_polygon"], errors="ignore"
        )
        finding_parts = [ledger.findings.assign(kind="ledger")]
        change = SnapshotChange(
            as_of=day,
            meta={
                "imported_at": dt.datetime.now().isoformat(timespec="seconds"),
                "n_projects": len(table),
                "pipelines": json.dumps(ledger.pipelines, ensure_ascii=False),
                "stages": json.dumps(ledger.stages, ensure_ascii=False),
            },
            files=files,
        )
        change.rows["ledger_rows"] = table
        counts = {}
        for kind, source in given.items():
            frame, found = _read_weekly(kind, source)
            finding_parts.append(found.assign(kind=kind))
            inserts, closes, n_ended = self._versioned(kind, frame)
            change.inserts[kind], change.closes[kind] = inserts, closes
            counts[kind] = (len(inserts), n_ended)
        findings = pd.concat(
            [f for f in finding_parts if len(f)] or [finding_parts[0]], ignore_index=True
        )
        findings = findings.astype({"row": object})
        findings["row"] = findings["row"].map(
            lambda v: None if v is None or pd.isna(v) else str(v)
        )
        change.rows["findings"] = findings
        if "geometry" in ledger.table.columns:
            import geopandas as gpd

            polys = gpd.GeoDataFrame(ledger.table, geometry="geometry")
            change.projects = polys[~polys.geometry.is_empty & polys.geometry.notna()]
        return change, findings, counts

    def _versioned(self, table: str, new: pd.DataFrame) -> tuple[pd.DataFrame, list[int], int]:
        """
        Return the rows of `new` that start now, the fids of rows that end, how many end.

        Rows are compared by a hash of their values (``row_hash``, stored with each row), so
        an import reads only the keys and hashes of the current rows.
        """
        keys, ends = _KEYS[table]
        new = new.drop(columns=["valid_from", "valid_to", "row_hash"], errors="ignore")
        new = new.reset_index(drop=True)
        new["row_hash"] = _row_hash(new)
        current = self.backend.read(table, with_fid=True, columns=["fid", *keys, "row_hash"])
        if current.empty:
            return new, [], 0
        old_hash = current["row_hash"].to_numpy(dtype="int64")
        fid = current["fid"].to_numpy(dtype="int64")
        at = _key_index(current, keys).get_indexer(_key_index(new, keys))  # -1: a new key
        found = at >= 0
        changed = found & (old_hash[np.maximum(at, 0)] != new["row_hash"].to_numpy())
        kept = np.zeros(len(current), dtype=bool)
        kept[at[found]] = True
        gone = fid[~kept].tolist() if ends else []
        closes = fid[at[changed]].tolist()
        start = changed | ~found
        return new[start].reset_index(drop=True), [int(f) for f in closes + gone], len(gone)

    # ------------------------------------------------------------------ reading

    def dates(self) -> list[dt.date]:
        """
        Return the snapshot days, oldest first.

        Returns
        -------
        dates
            ``datetime.date`` values.
        """
        return [dt.date.fromisoformat(d) for d in self.backend.snapshots()["as_of"]]

    def snapshots(self) -> pd.DataFrame:
        """
        Return one row per snapshot: ``as_of``, ``n_projects``, ``imported_at``, ``files``.

        Returns
        -------
        snapshots
            Oldest first; ``files`` lists the files imported with each.
        """
        snaps = self.backend.snapshots()
        if snaps.empty:
            return pd.DataFrame(columns=["as_of", "n_projects", "imported_at", "files"])
        known = self.backend.known_files()
        files = known.groupby("as_of")["file"].apply(lambda s: "; ".join(s))
        out = pd.DataFrame(
            {
                "as_of": [dt.date.fromisoformat(d) for d in snaps["as_of"]],
                "n_projects": snaps["n_projects"].astype(int),
                "imported_at": snaps["imported_at"],
                "files": snaps["as_of"].map(files),
            }
        )
        return out

    def _resolve(self, as_of: Any, dates: list[dt.date] | None = None) -> dt.date:
        dates = self.dates() if dates is None else dates
        if not dates:
            msg = f"the store {self.path} has no snapshot yet; import one with `geo-renewal ledger import`."
            raise InputError(msg)
        if as_of is None:
            return dates[-1]
        day = _day(as_of, "as_of")
        if day not in dates:
            shown = ", ".join(str(d) for d in dates[-8:])
            msg = f"the store {self.path} has no snapshot of {day}; its snapshots: {shown}."
            raise InputError(msg)
        return day

    def previous(self, as_of: Any = None) -> dt.date | None:
        """
        Return the snapshot before `as_of` (the latest by default), or None.

        Parameters
        ----------
        as_of
            A snapshot day.

        Returns
        -------
        day
            The previous snapshot's day.
        """
        day = self._resolve(as_of)
        earlier = [d for d in self.dates() if d < day]
        return earlier[-1] if earlier else None

    def snapshot(self, as_of: Any = None) -> Ledger:
        """
        Return the ledger of one snapshot, as `read_ledger` returned it at import.

        Parameters
        ----------
        as_of
            The snapshot's day; the latest by default.

        Returns
        -------
        ledger
            A `Ledger` (its table a GeoDataFrame when the store has project polygons).

        Raises
        ------
        InputError
            If there is no snapshot of that day (the message lists the latest ones).
        """
        return self._ledger(self._resolve(as_of))

    def _ledger(self, day: dt.date, *, polygons: bool = True) -> Ledger:
        """Return the `Ledger` of snapshot `day` (without the project polygons if not asked)."""
        table = self._at("ledger_rows", day, drop=("as_of",))
        findings = self._at("findings", day)
        led_f = findings[findings["kind"] == "ledger"] if len(findings) else findings
        led_f = led_f.reindex(columns=FINDING_COLUMNS).reset_index(drop=True)
        led_f["row"] = [_row_number(v) for v in led_f["row"]]
        polys = self.backend.read_projects() if polygons else None
        if polys is not None:
            import geopandas as gpd

            geo = polys.set_index("project_id").geometry
            table = gpd.GeoDataFrame(
                table.assign(has_polygon=table["project_id"].isin(geo.index)),
                geometry=table["project_id"].map(geo).to_numpy(),
                crs=polys.crs,
            )
        pipelines, stages = self._stages()[day.isoformat()]
        return Ledger(
            table=table,
            findings=led_f,
            pipelines=pipelines,
            stages=stages,
            source=f"{self.path} @ {day}",
        )

    def _at(self, table: str, day: dt.date, *, drop: Sequence[str] = ()) -> pd.DataFrame:
        """
        Return the rows of `table` on snapshot `day`: the one query of a day's rows.

        A per-snapshot table's rows of that day, a versioned table's rows valid on it
        (`StoreBackend.read` with ``as_of``), without the columns in `drop`.
        """
        out = self.backend.read(table, as_of=day)
        return out.drop(columns=list(drop), errors="ignore") if len(out.columns) else out

    def _stages(self) -> dict[str, tuple[dict[str, tuple[str, ...]], dict[str, tuple[Any, ...]]]]:
        """Return snapshot day (ISO) -> the ledger's pipelines and stages of that import."""
        snaps = self.backend.snapshots()
        return {
            day: (
                {k: tuple(v) for k, v in json.loads(p).items()},
                {k: tuple(v) for k, v in json.loads(st).items()},
            )
            for day, p, st in zip(snaps["as_of"], snaps["pipelines"], snaps["stages"], strict=True)
        }

    def findings(self, as_of: Any = None) -> pd.DataFrame:
        """
        Return every finding of a snapshot (ledger, tasks, households, decisions).

        Parameters
        ----------
        as_of
            The snapshot's day; the latest by default.

        Returns
        -------
        findings
            `FINDING_COLUMNS` and ``kind`` (which table).
        """
        f = self._at("findings", self._resolve(as_of), drop=("as_of",))
        return f if len(f) else pd.DataFrame(columns=[*FINDING_COLUMNS, "kind"])

    def history(self, project_id: str, *, lang: str | None = None) -> pd.DataFrame:
        """
        Return one project across every snapshot: its stage, delay and signing each week.

        Parameters
        ----------
        project_id
            The project's id (项目编号).
        lang
            Language of the stage labels.

        Returns
        -------
        history
            One row per snapshot with the project: ``as_of``, ``stage``, ``stage_label``,
            ``overdue``, ``days_behind``, ``households``, ``signed_households``,
            ``signing_rate``, ``responsible_person``, ``stage_changed`` (since the
            snapshot before).

        Raises
        ------
        InputError
            If no snapshot has the project (the closest ids are named).
        """
        from geo_renewal.progress import project_progress

        rows = self.backend.read("ledger_rows", where={"project_id": str(project_id)})
        if rows.empty:
            ids = self._at("ledger_rows", self._resolve(None))["project_id"]
            from geo_renewal._checks import did_you_mean

            msg = (
                f"no snapshot of {self.path} has project {project_id!r}; "
                f"{did_you_mean(project_id, ids.astype(str).tolist())}check the 项目编号."
            )
            raise InputError(msg)
        plans = self._stages()
        pieces = []
        for day, one in rows.groupby("as_of", sort=True):
            pipelines, stages = plans[day]
            led = Ledger(
                one.drop(columns="as_of"), pd.DataFrame(columns=FINDING_COLUMNS), pipelines, stages
            )
            prog = project_progress(led, as_of=day, lang=lang)
            pieces.append(prog.assign(as_of=dt.date.fromisoformat(day)))
        out = pd.concat(pieces, ignore_index=True)
        cols = ["as_of", "stage", "stage_label", "overdue", "days_behind", "households"]
        cols += ["signed_households", "signing_rate", "responsible_unit", "responsible_person"]
        out = out[[c for c in cols if c in out.columns]].copy()
        out["stage_changed"] = out["stage"].ne(out["stage"].shift()) & out.index.to_series().gt(0)
        return out

    def diff(
        self,
        from_date: Any,
        to_date: Any = None,
        *,
        only_changed: bool = True,
        lang: str | None = None,
    ) -> pd.DataFrame:
        """
        Tell what moved between two snapshots (`geo_renewal.progress.compare_ledgers`).

        Each side is assessed on its own day, so projects that became overdue with time
        show as well as changes in the data.

        Parameters
        ----------
        from_date, to_date
            Two snapshot days (`to_date` defaults to the latest).
        only_changed
            Keep only the projects where something changed.
        lang
            Language of ``change`` and the stage labels.

        Returns
        -------
        changes
            The table of `compare_ledgers`.
        """
        from geo_renewal.progress import compare_ledgers

        dates = self.dates()
        d1, d2 = self._resolve(from_date, dates), self._resolve(to_date, dates)
        return compare_ledgers(
            self._ledger(d1, polygons=False),  # the diff's columns hold no geometry
            self._ledger(d2, polygons=False),
            as_of=d2,
            old_as_of=d1,
            only_changed=only_changed,
            lang=lang,
        )

    def _weekly(self, table: str, as_of: Any) -> pd.DataFrame:
        return self._at(table, self._resolve(as_of), drop=("valid_to", "row_hash"))

    def tasks(self, as_of: Any = None) -> pd.DataFrame:
        """
        Return the task table valid on a snapshot day (the latest by default).

        Parameters
        ----------
        as_of
            A snapshot day.

        Returns
        -------
        tasks
            The columns of `geo_renewal.tasks.TaskTable.table`; ``valid_from`` is the
            snapshot that brought each row.
        """
        return self._weekly("tasks", as_of)

    def households(self, as_of: Any = None) -> pd.DataFrame:
        """
        Return the household table valid on a snapshot day (the latest by default).

        Parameters
        ----------
        as_of
            A snapshot day.

        Returns
        -------
        households
            The columns of `geo_renewal.households.read_households`.
        """
        return self._weekly("households", as_of)

    def decisions(self, as_of: Any = None) -> pd.DataFrame:
        """
        Return the meeting decisions as carried to a snapshot day (the latest by default).

        Parameters
        ----------
        as_of
            A snapshot day.

        Returns
        -------
        decisions
            The columns of `geo_renewal.supervision.read_decisions`.
        """
        return self._weekly("decisions", as_of)

    def projects(self) -> gpd.GeoDataFrame | None:
        """
        Return the project polygons kept in the store (None when none were imported).

        Returns
        -------
        projects
            ``project_id``, ``name``, ``project_type``, ``street``, ``as_of`` and geometry.
        """
        return self.backend.read_projects()


def _ledger_source(ledgers: list[Any]) -> Any:
    """Return what `read_ledger` reads: one file, a list of files, or the frames as one."""
    if len(ledgers) == 1:
        return ledgers[0]
    frames = [isinstance(x, pd.DataFrame) for x in ledgers]
    if all(frames):
        return pd.concat(ledgers, ignore_index=True)
    if any(frames):
        msg = "give the week's ledgers either all as files or all as DataFrames, not mixed."
        raise InputError(msg)
    return ledgers


def _read_weekly(kind: str, source: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    if kind == "tasks":
        from geo_renewal.tasks import read_tasks

        t = read_tasks(source)
        return t.table, t.findings
    if kind == "households":
        from geo_renewal.households import read_households

        return read_households(source)
    from geo_renewal.supervision import read_decisions

    return read_decisions(source)


def _row_hash(df: pd.DataFrame) -> np.ndarray:
    """
    Return one 64-bit hash per row of its values (not where it was read from).

    Numbers are hashed as floats (830 and 830.0 are one value), dates as ISO days, text as
    text; columns that are blank throughout are left out. A column is encoded once per
    distinct value (`_coded`), which gives the hashes of encoding every cell.
    """
    parts = {}
    for c in sorted(df.columns):
        if c in ("source_row", "source_file", "row_hash") or not df[c].notna().any():
            continue
        kind = column_kind(df[c])
        if kind in ("int", "float"):
            parts[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
        elif kind == "text" and isinstance(df[c].dtype, pd.StringDtype):
            parts[c] = df[c]  # stored as it is, and hashed as its encoded cells would be
        else:
            parts[c] = _coded(df[c], kind)
    if not parts:
        return np.zeros(len(df), dtype="int64")
    frame = pd.DataFrame(parts, index=df.index)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy().view("int64")


#: What object columns of one type of cell ``infer_dtype`` names (equal cells encode alike).
_ONE_TYPE = ("string", "empty", "date", "datetime", "boolean", "bytes")


def _coded(s: pd.Series, kind: str) -> pd.Series:
    """
    Return the stored values of a column (`encode`) as a categorical of its distinct values.

    ``hash_pandas_object`` hashes a text column by its distinct values and their codes, so
    the categorical hashes exactly as the encoded cells would; only the distinct values are
    encoded (a date column of 200,000 cells has a few hundred days). Object columns mixing
    kinds of cells (numbers and text, tuples) are encoded cell by cell.
    """
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) not in _ONE_TYPE:
        # 0, 0.0 and False are one value to factorize but encode as "0", "0.0" and "False"
        return pd.Series(encode(s, kind), index=s.index, dtype=object)
    codes, uniques = pd.factorize(s)
    encoded = np.array([*encode(pd.Series(uniques), kind), None], dtype=object)
    codes2, cats = pd.factorize(encoded)  # two values may encode alike (830 and "830")
    final = codes2[codes]  # code -1 of a blank cell: the None appended, code -1 again
    return pd.Series(pd.Categorical.from_codes(final, categories=pd.Index(cats)), index=s.index)


def _key_index(df: pd.DataFrame, keys: Sequence[str]) -> pd.Index:
    """Return the key columns of `df` as one text index (vectorised)."""
    text = df[keys[0]].astype(str)
    for k in keys[1:]:
        text = text + "\x1f" + df[k].astype(str)
    return pd.Index(text.to_numpy(dtype=object))


def _row_number(v: Any) -> Any:
    if v is None:
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        return v
