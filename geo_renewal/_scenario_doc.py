"""
The ``[scenarios.NAME]`` tables of a project file, as whole project documents.

A scenario (方案) overrides any key of the project file. `split_scenarios` takes the
scenario tables out of the parsed document and deep-merges each over the rest, so that
`geo_renewal.plan.plan_from_doc` checks every scenario with exactly the checks of the file
itself; `scenario_error` names the scenario and its key in a refusal. See
docs/guide/scenarios.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from geo_renewal._errors import InputError

__all__ = ["BASE", "deep_merge", "scenario_error", "split_scenarios"]

#: The name of the project file's own values among the scenarios (基准方案).
BASE = "base"

#: A scenario name: letters (any script), digits, ``_`` and ``-``; no comma (the CLI's
#: ``--scenarios A,B`` separator) and no dot (a TOML key path).
_NAME = re.compile(r"^[\w-]{1,40}$")


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """
    Return `base` with `override` merged in: tables merge key by key, other values replace.

    Parameters
    ----------
    base
        A parsed TOML document (not changed).
    override
        The values to set (not changed).

    Returns
    -------
    merged
        A new document; tables are copied, so changing it leaves both inputs alone.

    Examples
    --------
    >>> deep_merge({"a": {"x": 1, "y": 2}, "b": [1]}, {"a": {"y": 3}, "b": [2]})
    {'a': {'x': 1, 'y': 3}, 'b': [2]}
    """
    out: dict[str, Any] = {
        k: deep_merge(v, {}) if isinstance(v, Mapping) else v for k, v in base.items()
    }
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        elif isinstance(value, Mapping):
            out[key] = deep_merge(value, {})
        else:
            out[key] = value
    return out


def split_scenarios(
    doc: Mapping[str, Any], path: Path
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """
    Split a project document into its own values and one merged document per scenario.

    Parameters
    ----------
    doc
        The parsed project file.
    path
        The project file, for messages.

    Returns
    -------
    base, scenarios
        The document without ``[scenarios]``, and scenario name -> the base document with
        that scenario's values merged in (`deep_merge`), in file order.

    Raises
    ------
    InputError
        If ``scenarios`` is not a table of tables, a name is not usable (``base``, a comma)
        or a scenario holds ``scenarios`` itself.

    Examples
    --------
    >>> doc = {"rules": {"set": "default"}, "scenarios": {"sz": {"rules": {"set": "shenzhen"}}}}
    >>> split_scenarios(doc, Path("plan.toml"))
    ({'rules': {'set': 'default'}}, {'sz': {'rules': {'set': 'shenzhen'}}})
    """
    base = {k: v for k, v in doc.items() if k != "scenarios"}
    tables = doc.get("scenarios", {})
    if not isinstance(tables, Mapping):
        msg = f"{path}: `scenarios` must be tables; write e.g. [scenarios.cash50.resettlement]."
        raise InputError(msg)
    out: dict[str, dict[str, Any]] = {}
    for name, override in tables.items():
        _check_name(name, override, path)
        out[name] = deep_merge(base, override)
    return base, out


def _check_name(name: str, override: Any, path: Path) -> None:
    where = f"{path}: `scenarios.{name}`"
    if name == BASE:
        msg = f"{where}: {BASE!r} names the file's own values; give the scenario another name."
        raise InputError(msg)
    if not _NAME.match(name):
        msg = (
            f"{where} is not a usable scenario name; use letters, digits, `_` or `-` "
            "(no comma, dot or space), e.g. [scenarios.cash50]."
        )
        raise InputError(msg)
    if not isinstance(override, Mapping):
        msg = f"{where} must be a table of overrides; write e.g. [scenarios.{name}.resettlement]."
        raise InputError(msg)
    if "scenarios" in override:
        msg = f"{where}.scenarios: a scenario cannot hold scenarios; move them to the top level."
        raise InputError(msg)


def scenario_error(error: InputError, path: Path, name: str) -> InputError:
    """
    Return `error` (raised checking scenario `name`) naming the scenario and its key.

    Parameters
    ----------
    error
        The refusal of the merged document, ``"<path>: `key` problem; fix"``.
    path
        The project file.
    name
        The scenario.

    Returns
    -------
    error
        An `InputError` ``"<path>: scenario 'name': `scenarios.name.key` problem; fix"``.

    Examples
    --------
    >>> e = InputError("plan.toml: `rules.zone` is not a key; did you mean `zone_dist`?")
    >>> str(scenario_error(e, Path("plan.toml"), "sz"))
    "plan.toml: scenario 'sz': `scenarios.sz.rules.zone` is not a key; did you mean `zone_dist`?"
    """
    text, head = str(error), f"{path}: "
    rest = text[len(head) :] if text.startswith(head) else text
    if rest.startswith("`"):
        rest = f"`scenarios.{name}.{rest[1:]}"
    return InputError(f"{path}: scenario {name!r}: {rest}")
