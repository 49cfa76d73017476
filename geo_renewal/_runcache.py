"""
The computed run kept after ``geo-renewal run``, reused by ``print`` and ``deck``.

``geo-renewal run plan.toml`` (and ``demo``) keeps the computed `RunResult` (a pickle) in the
user's cache folder (``$GEO_RENEWAL_CACHE``, else ``$XDG_CACHE_HOME/geo_renewal``, else
``~/.cache/geo_renewal``; never in the output folder, whose files are the manifest's), one
file per project file, with the fingerprint of everything it was computed from: every file
the project file names (found by walking the `Plan`, so a new input is never missed), the
project file itself, the toolkit's own source files and version, and the settings.
``geo-renewal print plan.toml`` and ``deck plan.toml`` load it when the fingerprint of the
plan as it is now is the same, and compute the plan otherwise; they say which. A changed
input, rule set, parameter or toolkit version always computes again. The newest
`KEEP` runs are kept; delete the folder to drop them. The warnings the run gave (an encoding
guessed, a nearby rate below the best …) are kept with it and given again when it is reused
(`recorded_warnings`), so ``print`` after ``run`` warns as the run did.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import pickle
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geo_renewal.plan import Plan
    from geo_renewal.workflow import RunResult

__all__ = ["KEEP", "cache_dir", "load_run", "plan_fingerprint", "recorded_warnings", "save_run"]

logger = logging.getLogger(__name__)

#: How many project files' runs the cache keeps (the newest).
KEEP = 12
_FORMAT = 2  # 2: the run's warnings are kept with it
#: Text values of a plan that name a file (a rule set, a tile package …).
_FILE_SUFFIXES = (
    *(".toml", ".gpkg", ".shp", ".zip", ".geojson", ".json", ".parquet", ".fgb"),
    *(".mbtiles", ".pmtiles", ".tif", ".tiff", ".xlsx", ".xlsm", ".xls", ".csv"),
)


def _paths(value: Any, seen: set[int]) -> Iterator[Path]:
    """Every `Path` inside a plan (dataclasses, mappings, sequences), depth first."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, Path):
        yield value
    elif isinstance(value, str) and value.lower().endswith(_FILE_SUFFIXES):
        yield Path(value)  # e.g. `rules` is a bundled set's name or a file's path
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _paths(getattr(value, f.name), seen)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(k, seen)
            yield from _paths(v, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            yield from _paths(v, seen)


def _file_digest(h: Any, path: Path) -> None:
    h.update(str(path).encode())
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file():
                _file_digest(h, p)
    elif path.is_file():
        h.update(hashlib.sha256(path.read_bytes()).digest())
    else:
        h.update(b"<missing>")


def _code_digest(h: Any) -> None:
    import geo_renewal

    root = Path(geo_renewal.__file__).parent
    h.update(geo_renewal.__version__.encode())
    for p in sorted(root.rglob("*")):
        if p.suffix in (".py", ".toml", ".csv", ".js", ".css") and "__pycache__" not in p.parts:
            st = p.stat()
            h.update(f"{p.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}".encode())


def plan_fingerprint(plan: Plan) -> str:
    """
    Return the SHA-256 of everything a plan's computation reads.

    Every file the plan names (its own file, layers, rasters, ledger, parameters, rule
    files, stores …), the values of the plan, the toolkit's source files and version, and
    the settings.

    Examples
    --------
    >>> from geo_renewal.datasets import get_path
    >>> from geo_renewal.plan import load_plan
    >>> plan = load_plan(get_path("sample_plan"))
    >>> plan_fingerprint(plan) == plan_fingerprint(load_plan(get_path("sample_plan")))
    True
    """
    from geo_renewal import settings

    h = hashlib.sha256(f"format {_FORMAT}".encode())
    h.update(repr(plan).encode())
    out = Path(plan.out_dir).resolve()  # the outputs (and this cache) are not inputs
    for path in sorted({p.resolve() for p in _paths(plan, set())}, key=str):
        if path != out and out not in path.parents:
            _file_digest(h, path)
    _code_digest(h)
    public = {k: v for k, v in vars(settings).items() if not k.startswith("_")}
    h.update(repr(sorted((k, repr(v)) for k, v in public.items() if not callable(v))).encode())
    return h.hexdigest()


def cache_dir() -> Path:
    """
    Return the folder of the kept runs.

    Examples
    --------
    >>> cache_dir().name
    'geo_renewal'
    """
    import os

    given = os.environ.get("GEO_RENEWAL_CACHE")
    if given:
        return Path(given) / "geo_renewal"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "geo_renewal"


def _cache_file(plan: Plan) -> Path:
    key = hashlib.sha256(str(Path(plan.path).resolve()).encode()).hexdigest()[:20]
    return cache_dir() / f"run-{key}.pkl"


@contextlib.contextmanager
def recorded_warnings() -> Iterator[list[str]]:
    """
    Record the texts of the `UserWarning` s given inside, and give each on as it came.

    The list is filled when the block ends; pass it to `save_run` so that a reused run
    warns again. Warnings still reach the caller's handlers (the CLI's ``提示：…`` lines).

    Examples
    --------
    >>> with warnings.catch_warnings(record=True) as shown:
    ...     warnings.simplefilter("always")
    ...     with recorded_warnings() as texts:
    ...         warnings.warn("就近安置率低于可达值", UserWarning, stacklevel=1)
    >>> texts, [str(w.message) for w in shown]
    (['就近安置率低于可达值'], ['就近安置率低于可达值'])
    """
    texts: list[str] = []
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield texts
    finally:  # also when the run stops in an error: its warnings are still shown
        for w in caught:
            if issubclass(w.category, UserWarning) and str(w.message) not in texts:
                texts.append(str(w.message))
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def save_run(result: RunResult, warned: Iterable[str] = ()) -> Path | None:
    """
    Keep the computed run of a project file with its fingerprint; return the file.

    `warned` are the texts of the warnings the run gave (`recorded_warnings`): `load_run`
    gives them again. None when the result cannot be kept (only logged: the run's outputs
    are complete without it). Older runs beyond `KEEP` are removed.
    """
    from geo_renewal.io import atomic_write

    path = _cache_file(result.plan)
    computed = dataclasses.replace(result, files={}, comparison=None)
    try:
        payload = pickle.dumps(
            {
                "fingerprint": plan_fingerprint(result.plan),
                "result": computed,
                "warnings": list(warned),
            },
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as tmp:
            Path(tmp).write_bytes(payload)
        kept = sorted(path.parent.glob("run-*.pkl"), key=lambda p: p.stat().st_mtime)
        for old in kept[:-KEEP]:
            old.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError, TypeError, AttributeError) as e:
        logger.info("the computed run was not kept in %s: %s", path, e)
        return None
    return path


def load_run(plan: Plan) -> RunResult | None:
    """
    Return the run ``geo-renewal run`` computed for `plan`, if nothing it read changed.

    None when there is no kept run, it is unreadable, or its fingerprint differs from the
    plan's as it is now. The warnings the run gave are given again (`UserWarning`).
    """
    path = _cache_file(plan)
    if not path.is_file():
        return None
    try:
        with path.open("rb") as f:
            kept = pickle.load(f)  # the toolkit's own file, in the user's own cache
    except Exception as e:  # any unreadable cache is simply computed again
        logger.info("the kept run %s is unreadable (%s); computing again", path, e)
        return None
    if not isinstance(kept, dict) or kept.get("fingerprint") != plan_fingerprint(plan):
        return None
    result = kept.get("result")
    if result is None:
        return None
    for text in kept.get("warnings", []):
        warnings.warn(str(text), UserWarning, stacklevel=2)  # as the run that computed it did
    return dataclasses.replace(result, plan=plan)
