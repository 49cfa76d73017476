"""
All-or-nothing output folders and the run manifest.

A run writes every output into a hidden staging folder next to the output folder (same
disk, so the final moves are renames) and swaps the files in only when all of them are
complete. An interrupted run — Ctrl-C, an error, a full disk — removes the staging folder
and leaves the previous outputs complete and byte-identical.

The rule for the output folder (``maps/`` in the README, where a planner also keeps maps
made with ``geo-renewal map`` and tables from notebooks): **the toolkit owns only its own
files there** — the names it writes, and the files the previous run's ``manifest.json``
lists. It never moves, replaces or deletes anything else, so a folder shared with other
work is safe. The swap:

1. a missing output folder: the staging folder is renamed into place (one rename);
2. an existing folder: the toolkit's previous files are moved into a hidden ``.old``
   folder beside it, the new files moved in (the manifest last), the old ones deleted.
   Ctrl-C is held back for these few renames. If a rename fails (on Windows a file open in
   Excel or WPS cannot be replaced), every file is put back where it was and the error says
   which file to close: the previous outputs stay as they were.

``manifest.json`` is written last: it lists the inputs (path, size, SHA-256), the rule set,
the parameters, the package versions, the start and end times and every output (size,
SHA-256). A folder whose manifest matches its files holds one complete run.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from geo_renewal._errors import InputError

__all__ = [
    "MANIFEST",
    "Staging",
    "file_entry",
    "output_error",
    "package_versions",
    "read_manifest",
    "shown_path",
]

logger = logging.getLogger(__name__)

#: Name of the run manifest inside an output folder.
MANIFEST = "manifest.json"
#: Packages whose versions the manifest records (missing optional ones are None).
_PACKAGES = (
    "geopandas",
    "shapely",
    "pandas",
    "numpy",
    "pyogrio",
    "pyproj",
    "openpyxl",
    "folium",
    "scipy",
    "rasterio",
    "dask",
)
_SIDECARS = (".dbf", ".shx", ".prj", ".cpg")
#: Names of temporary files (`geo_renewal.io.atomic_write`) and of staging/old folders.
_TMP_NAME = re.compile(r"^\.(?P<stem>.+)\.tmp-[0-9a-f]{8}(?P<ext>\.[^.]*)?$")
#: Name part of a staging folder made inside the output folder (when that is a mount point).
_INSIDE = "geo-renewal"
_STAGED_NAME = re.compile(r"^\.(?P<out>.+)\.(?:staging|old)-[0-9a-f]{8}$")
_CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def file_entry(path: str | os.PathLike[str]) -> dict[str, Any]:
    """
    Describe a file for the manifest: path, size in bytes and SHA-256.

    A folder (a GeoParquet dataset) is hashed as a whole: the relative names and contents
    of its files in sorted order. A Shapefile lists its sidecar files (``.dbf``, ``.shx``,
    ``.prj``, ``.cpg``) too: the attributes are in the ``.dbf``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = p.write_bytes(b"abc")
    >>> entry = file_entry(p)
    >>> entry["size"], entry["sha256"][:12]
    (3, 'ba7816bf8f01')
    """
    path = Path(path)
    if path.is_dir():
        h = hashlib.sha256()
        size = 0
        files = sorted(p for p in path.rglob("*") if p.is_file())
        for p in files:
            h.update(p.relative_to(path).as_posix().encode() + b"\0")
            h.update(_sha256(p).encode())
            size += p.stat().st_size
        return {"path": str(path), "size": size, "sha256": h.hexdigest(), "files": len(files)}
    entry: dict[str, Any] = {"path": str(path), "size": path.stat().st_size}
    entry["sha256"] = _sha256(path)
    if path.suffix.lower() == ".shp":
        entry["sidecars"] = [
            file_entry(side)
            for ext in _SIDECARS
            if (side := path.with_suffix(ext)).exists()
            or (side := path.with_suffix(ext.upper())).exists()
        ]
    return entry


def package_versions() -> dict[str, str | None]:
    """Return the versions of Python, geo_renewal and the packages a run depends on."""
    from geo_renewal import __version__

    versions: dict[str, str | None] = {
        "python": platform.python_version(),
        "geo_renewal": __version__,
    }
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Return the manifest of an output folder, or None if it has none or it is unreadable."""
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


@contextmanager
def _held_interrupt() -> Iterator[None]:
    """Hold Ctrl-C back for the few renames of the swap (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        logger.warning("Ctrl-C during the final swap: the new outputs were completed first")


class Staging:
    """
    A staging folder for the outputs of one run, swapped into `out` by `commit`.

    Use it as a context manager: leaving the block without `commit` (an error, Ctrl-C)
    deletes the staging folder and leaves `out` as it was.

    Parameters
    ----------
    out
        The output folder (created by `commit` if missing).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "maps"
    >>> with Staging(out) as stage:
    ...     _ = (stage.path / "report.html").write_text("<p>ok</p>", encoding="utf-8")
    ...     files = stage.commit({"outputs": {}})
    >>> sorted(p.name for p in out.iterdir())
    ['manifest.json', 'report.html']
    """

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.out = Path(out)
        self.started = _now()
        # The staging folder is a sibling on the same disk; abspath: `--out .` has a parent.
        where = Path(os.path.abspath(self.out))
        self.path = where.parent / f".{where.name}.staging-{uuid.uuid4().hex[:8]}"

    def __enter__(self) -> Staging:
        if self.out.exists() and not self.out.is_dir():
            msg = f"the output folder {self.out} is a file; give a folder with --out."
            raise InputError(msg)
        try:
            self.path.mkdir(parents=True)
            if self.out.is_dir() and not _same_disk(self.out, self.path):
                # `out` is a mount point (a USB stick): stage inside it, on its own disk
                self.path.rmdir()
                self.path = self.out / f".{_INSIDE}.staging-{uuid.uuid4().hex[:8]}"
                self.path.mkdir()
        except OSError as e:
            raise output_error(self.out, e) from e
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def commit(self, manifest: dict[str, Any]) -> dict[str, Path]:
        """
        Write the manifest into the staging folder (last), then swap the files into `out`.

        Parameters
        ----------
        manifest
            The run's manifest; ``outputs`` (name -> entry), ``started`` and ``finished``
            are filled in here.

        Returns
        -------
        files
            File name -> final path in `out`.

        Raises
        ------
        InputError
            If a file could not be replaced; every file is back where it was.
        """
        names = sorted(p.name for p in self.path.iterdir() if p.name != MANIFEST)
        outputs = {name: file_entry(self.path / name) for name in names}
        for entry in outputs.values():
            entry["path"] = Path(entry["path"]).name
        manifest = {**manifest, "started": self.started, "finished": _now(), "outputs": outputs}
        text = json.dumps(manifest, ensure_ascii=False, indent=2, default=str) + "\n"
        try:
            (self.path / MANIFEST).write_text(text, encoding="utf-8")
        except OSError as e:
            raise output_error(self.out, e) from e
        with _held_interrupt():
            if self.out.exists():
                self._swap_files([*names, MANIFEST])
            else:
                try:
                    os.replace(self.path, self.out)
                except OSError as e:
                    raise output_error(self.out, e) from e
        return {name: self.out / name for name in [*names, MANIFEST]}

    def _owned(self, new: list[str]) -> list[str]:
        """Files of `out` the toolkit may move: its new names and the previous run's outputs."""
        previous = read_manifest(self.out) or {}
        old = previous.get("outputs", {})
        names = dict.fromkeys([*new, *(old if isinstance(old, dict) else ())])
        return [
            n for n in names if isinstance(n, str) and "/" not in n and (self.out / n).is_file()
        ]

    def _swap_files(self, new: list[str]) -> None:
        aside = self.path.with_name(self.path.name.replace(".staging-", ".old-"))
        moved_old: list[str] = []
        moved_new: list[str] = []
        try:
            aside.mkdir()
            for name in self._owned(new):
                os.replace(self.out / name, aside / name)
                moved_old.append(name)
            for name in new:  # the manifest last
                os.replace(self.path / name, self.out / name)
                moved_new.append(name)
        except OSError as e:
            for name in reversed(moved_new):
                _quiet_replace(self.out / name, self.path / name)
            for name in reversed(moved_old):
                _quiet_replace(aside / name, self.out / name)
            shutil.rmtree(aside, ignore_errors=True)
            raise output_error(self.out, e, kept=True) from e
        shutil.rmtree(aside, ignore_errors=True)


def _same_disk(a: Path, b: Path) -> bool:
    """Tell whether two folders are on one file system (a rename between them works)."""
    return os.stat(a).st_dev == os.stat(b).st_dev


def shown_path(path: str | os.PathLike[str]) -> Path:
    """
    Return the path a planner knows in place of a temporary one.

    That is the target of a temporary file (``.statistics.tmp-1a2b3c4d.xlsx`` →
    ``statistics.xlsx``), the output folder for a file in a staging folder, and the folder
    beside it for the staging folder itself.

    Examples
    --------
    >>> shown_path("/data/.maps.staging-1a2b3c4d/.statistics.tmp-5e6f7a8b.xlsx").as_posix()
    '/data/maps/statistics.xlsx'
    >>> shown_path("/data/.maps.staging-1a2b3c4d").as_posix()
    '/data'
    """
    p = Path(path)
    while m := _TMP_NAME.match(p.name):
        p = p.with_name(m["stem"] + (m["ext"] or ""))
    parts = p.parts
    for i, part in enumerate(parts):
        if m := _STAGED_NAME.match(part):
            if m["out"] == _INSIDE:  # a staging folder inside the output folder
                return Path(*parts[:i], *parts[i + 1 :])
            return (
                Path(*parts[:i], m["out"], *parts[i + 1 :]) if parts[i + 1 :] else Path(*parts[:i])
            )
    return p


def _quiet_replace(src: Path, dst: Path) -> None:
    try:
        os.replace(src, dst)
    except OSError:
        logger.exception("could not move %s back to %s", src, dst)


def output_error(out: Path, e: OSError, *, kept: bool = False) -> InputError:
    """One sentence for a failure to write or swap the outputs in `out`."""
    where = shown_path(e.filename or out)
    if e.errno == errno.ENOSPC:
        problem, fix = "the disk is full", "free some space or choose another --out folder"
    elif isinstance(e, PermissionError):
        problem = "permission denied"
        fix = (
            "close the file if it is open (Excel, WPS, a browser) and check that you may "
            "write to the folder, or choose another --out folder"
        )
    else:
        problem, fix = e.strerror or str(e), "check the folder or choose another --out folder"
    state = " the previous outputs are unchanged;" if kept or out.exists() else ""
    return InputError(f"cannot write the outputs to {out} ({where}: {problem});{state} {fix}.")
