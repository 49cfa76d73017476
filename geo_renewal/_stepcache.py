"""
Reusing a workflow step's results across scenarios whose inputs to that step are equal.

`geo_renewal.workflow` declares which plan fields each computing step reads and which
earlier steps' results it uses (``STEP_INPUTS``). While a `StepCache` is active
(`StepCache.active`), the workflow's ``_step`` asks it to run a step: a step whose key (the
values of its fields and the keys of the steps it uses) was seen before gets the recorded
results of that earlier run instead of running again; otherwise it runs and its results
are recorded. A step the table does not know, or a plan field no step declares, is never
taken for unchanged: such a step always runs, and so does every step after it. See
docs/guide/scenarios.md.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

__all__ = ["StepCache", "active_cache"]

_ACTIVE: contextvars.ContextVar[StepCache | None] = contextvars.ContextVar(
    "geo_renewal_step_cache", default=None
)

_MISSING = object()

#: Attributes of a run result that are not a step's results.
_NOT_RESULTS = frozenset({"plan", "timings", "files"})


def active_cache() -> StepCache | None:
    """
    Return the step cache in use, or None outside `StepCache.active`.

    Returns
    -------
    cache
        The active `StepCache`, or None.

    Examples
    --------
    >>> active_cache() is None
    True
    """
    return _ACTIVE.get()


@dataclass
class _Changes:
    """What one step set on a run result: attributes, and keys of its dict attributes."""

    values: dict[str, Any] = field(default_factory=dict)
    items: dict[str, dict[Any, Any]] = field(default_factory=dict)


@dataclass
class StepCache:
    """
    Results of workflow steps by key, shared by the runs of several scenarios.

    Parameters
    ----------
    inputs
        Step name -> (plan fields it reads, earlier steps whose results it uses).
    ignored
        Plan fields no computing step reads (titles, output options); every other field a
        step does not declare is taken as read by every step.

    Attributes
    ----------
    ran, reused
        ``(scenario, step)`` pairs in order: the steps that ran, and those whose results
        were reused.

    Examples
    --------
    >>> cache = StepCache({"read": (("layers",), ())}, ignored=())
    >>> cache.ran, cache.reused
    ([], [])
    """

    inputs: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]
    ignored: tuple[str, ...] = ()
    ran: list[tuple[str, str]] = field(default_factory=list)
    reused: list[tuple[str, str]] = field(default_factory=list)
    _entries: dict[str, _Changes] = field(default_factory=dict, repr=False)
    _keys: dict[int, dict[str, str | None]] = field(default_factory=dict, repr=False)

    @contextlib.contextmanager
    def active(self) -> Iterator[StepCache]:
        """Use this cache for the workflow steps run inside the ``with`` block."""
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    def run(self, result: Any, name: str, func: Callable[[], Any]) -> Any:
        """Run step `name` of `result` (or reuse an equal earlier run's results)."""
        key = self._key(result, name)
        scenario = str(getattr(result.plan, "scenario", None) or "base")
        if key is not None and key in self._entries:
            _apply(result, self._entries[key])
            self.reused.append((scenario, name))
            return None
        before = _snapshot(result)
        value = func()
        if key is not None:
            self._entries[key] = _changes(before, result)
        self.ran.append((scenario, name))
        return value

    def _key(self, result: Any, name: str) -> str | None:
        """Return the step's key for this run: None when it must run (unknown, or after one)."""
        keys = self._keys.setdefault(id(result), {})
        if name not in self.inputs or None in keys.values():
            keys[name] = None
            return None
        reads, uses = self.inputs[name]
        plan = result.plan
        declared = {f for r, _ in self.inputs.values() for f in r} | set(self.ignored)
        undeclared = [f.name for f in fields(plan) if f.name not in declared]
        parts = [name]
        parts += [f"{f}={getattr(plan, f, None)!r}" for f in (*reads, *undeclared)]
        parts += [f"{u}:{keys.get(u)}" for u in uses]
        keys[name] = key = "\n".join(parts)
        return key


def _snapshot(result: Any) -> dict[str, Any]:
    """Return the result's attributes (dicts copied), to compare by identity after a step."""
    out: dict[str, Any] = {}
    for attr, value in vars(result).items():
        if attr in _NOT_RESULTS:
            continue
        out[attr] = dict(value) if isinstance(value, dict) else value
    return out


def _changes(before: dict[str, Any], result: Any) -> _Changes:
    changes = _Changes()
    for attr, value in vars(result).items():
        if attr in _NOT_RESULTS:
            continue
        old = before.get(attr, _MISSING)
        if isinstance(value, dict) and isinstance(old, dict):
            new = {k: v for k, v in value.items() if old.get(k, _MISSING) is not v}
            if new:
                changes.items[attr] = new
        elif old is not value:
            changes.values[attr] = value
    return changes


def _apply(result: Any, changes: _Changes) -> None:
    for attr, value in changes.values.items():
        setattr(result, attr, _own(value))
    for attr, items in changes.items.items():
        target = getattr(result, attr)
        target.update({k: _own(v) for k, v in items.items()})


def _own(value: Any) -> Any:
    """Return a frame of the run's own (a shallow copy: a new column leaves the other alone)."""
    if isinstance(value, pd.DataFrame):
        return value.copy(deep=False)
    if isinstance(value, dict):
        return {k: _own(v) for k, v in value.items()}
    return value
