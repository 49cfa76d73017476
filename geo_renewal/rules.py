"""
Rule sets (TOML): ordered rules, each a condition and the category it assigns.

A rule set is an ordered list of rules. Each rule names a renewal category and a condition
(``when``) written like a planner's sentence::

    [[rules]]
    id = "danger_cd"
    category = "demolish"
    when = 'danger_grade in ["C", "D"]'
    reason_zh = "危房等级为C/D级"
    reason_en = "Dangerous building, grade C/D"

Rules are tried in order and the first match decides; a rule with ``force = true`` wins over
every rule without it (protective rules such as heritage). A parcel no rule matches gets the
set's ``default`` category.

The conditions are written in the safe expression language of `geo_renewal.expression`.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.resources
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal import schema, settings
from geo_renewal._checks import did_you_mean
from geo_renewal._errors import RuleError
from geo_renewal._toml import parse_toml, read_toml
from geo_renewal.expression import (
    _BOOL_NAMES,
    _CLI_OPTION,
    FUNCTIONS,
    SPECIAL_NAMES,
    _constant_value,
    _names,
    _normalize,
    _walk_calls,
    cheap_part,
    check_columns,
    evaluate_expression,
    parse_expression,
    spatial_keys,
)
from geo_renewal.schema import CATEGORIES, ROLES, Category
from geo_renewal.text import pick

__all__ = [
    "FUNCTIONS",
    "SPECIAL_NAMES",
    "Rule",
    "RuleSet",
    "bundled_rule_sets",
    "evaluate_expression",
    "load_rules",
    "parse_expression",
    "parse_rules",
]

logger = logging.getLogger(__name__)

_RULE_KEYS = ("id", "category", "when", "reason_zh", "reason_en", "force", "description")
_TOP_KEYS = (
    "name",
    "description",
    "language",
    "default",
    "default_reason_zh",
    "default_reason_en",
    "params",
    "categories",
    "rules",
)
_CATEGORY_KEYS = ("zh", "en", "color", "role")
_EXTRA_COLORS = ("#2b83ba", "#abdda4", "#e66101", "#5e3c99", "#b2abd2", "#f1b6da", "#4d4d4d")
_CODE_RE = re.compile(r"^[\w\-]+$")


@dataclass(frozen=True)
class Rule:
    """
    One classification rule: a condition and the category it assigns.

    Parameters
    ----------
    id
        Unique identifier, reported in the `rule_id` and `matched` columns.
    category
        Category code assigned when `when` holds.
    when
        The condition, in the expression language of this module.
    reason_zh, reason_en
        Why the rule assigns the category, in Chinese and English.
    force
        If True the rule wins over every non-forced rule (protective rules).
    description
        Optional free text.
    """

    id: str
    category: str
    when: str
    reason_zh: str
    reason_en: str
    force: bool = False
    description: str = ""
    tree: ast.Expression | None = field(default=None, repr=False, compare=False)

    def reason(self, lang: str = "zh") -> str:
        """Return the reason in `lang` (``"zh"`` or ``"en"``)."""
        return pick((self.reason_zh, self.reason_en), lang)

    def value_keys(self, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Keys of the spatial and raster values the condition needs (see `spatial_keys`)."""
        return spatial_keys(self.tree, params)

    def evaluate(
        self,
        frame: pd.DataFrame,
        *,
        params: Mapping[str, Any],
        values: Mapping[tuple[Any, ...], np.ndarray] | None = None,
        special: Mapping[str, np.ndarray] | None = None,
        cheap: bool = False,
    ) -> np.ndarray | None:
        """
        Evaluate the condition over `frame`, vectorised: a boolean mask by position.

        With `cheap`, evaluate only the conjuncts that read columns (`cheap_part`), or
        return None when the condition has no such part next to a spatial one.
        """
        tree = cheap_part(self.tree) if cheap else self.tree
        if tree is None:
            return None
        return evaluate_expression(
            tree,
            frame,
            values=values,
            special=special,
            params=params,
            rule_id=self.id,
            source=_normalize(self.when),
        )


@dataclass(frozen=True)
class RuleSet:
    """
    An ordered, validated set of classification rules.

    Parameters
    ----------
    rules
        The rules in the order they are tried.
    default
        Category of parcels no rule matches.
    categories
        Category code -> `geo_renewal.schema.Category` (labels and colour), in display
        order; the order of the `category` column produced by `classify_parcels`.
    language
        Language of the `reason` column: ``"zh"`` or ``"en"``.
    params
        Named constants usable in expressions.
    name, source
        Name of the set and where it was read from.
    default_reason_zh, default_reason_en
        Reason given to parcels no rule matches.
    """

    rules: list[Rule]
    default: str
    categories: dict[str, Category]
    language: str = "zh"
    params: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    source: str = "<rules>"
    default_reason_zh: str = "未命中任何规则"
    default_reason_en: str = "No rule matched"
    description: str = ""

    @property
    def layers(self) -> list[str]:
        """Names of the vector layers the rules use, in first-use order."""
        return _arg_names(self, ("layer",))

    @property
    def rasters(self) -> list[str]:
        """Names of the rasters the rules use, in first-use order."""
        return _arg_names(self, ("raster",))

    @property
    def columns(self) -> list[str]:
        """Parcel columns the rules read (not params, not ``area``), in first-use order."""
        seen: dict[str, None] = {}
        for r in self.rules:
            for name, _ in _names(r.tree, self.params):
                seen.setdefault(name, None)
        return list(seen)

    def value_keys(self) -> list[tuple[Any, ...]]:
        """Keys of every spatial and raster value the rules need, each once, in first-use order."""
        keys: dict[tuple[Any, ...], None] = {}
        for rule in self.rules:
            keys.update(dict.fromkeys(rule.value_keys(self.params)))
        return list(keys)

    def uses(self, name: str) -> bool:
        """Tell whether any rule reads the computed name `name` (``area`` / ``floor_area``)."""
        return uses_special(self, name)

    def check_inputs(
        self, columns: Iterable[str], *, layers: Iterable[str], rasters: Iterable[str]
    ) -> None:
        """
        Refuse inputs that lack a column, layer or raster the rules read: all at once.

        Parameters
        ----------
        columns
            Columns of the parcels.
        layers, rasters
            Names of the layers and rasters given.

        Raises
        ------
        RuleError
            Listing every missing column (with a "did you mean"), layer and raster, and
            every param named like a column of the parcels (it would hide the column).
        """
        columns = pd.Index(list(columns))
        where = f"rule file {self.source!r}"
        problems = [
            _shadow_problem(where, str(p), f"the column {p!r} of the parcels")
            for p in self.params
            if p in columns
        ]
        problems += [p for rule in self.rules if (p := self._column_problem(rule, columns))]
        has_floor_area = "floor_area" in columns or {"footprint_area", "floors"} <= set(columns)
        if self.uses("floor_area") and not has_floor_area:
            problems.append(
                "the rules use `floor_area`, but the parcels have neither a floor_area "
                "column nor footprint_area and floors; add one, or pass buildings= to "
                "aggregate it"
            )
        given = {"layer": set(layers), "raster": set(rasters)}
        for kind, needed in (("layer", self.layers), ("raster", self.rasters)):
            for name in needed:
                if name not in given[kind]:
                    problems.append(self._source_problem(kind, name, sorted(given[kind])))
        if problems:
            raise RuleError("\n".join(problems))

    def _column_problem(self, rule: Rule, columns: pd.Index) -> str | None:
        try:
            check_columns(
                rule.tree,  # type: ignore[arg-type]
                columns,
                params=self.params,
                rule_id=rule.id,
                source=_normalize(rule.when),
            )
        except RuleError as e:
            return str(e)
        return None

    def _source_problem(self, kind: str, name: str, given: list[str]) -> str:
        users = [r.id for r in self.rules if any(k[1] == name for k in r.value_keys(self.params))]
        return (
            f"rules {users} need the {kind} {name!r}, which was not given (given: {given}); "
            f"pass {kind}s={{{name!r}: ...}} to classify_parcels, or --{_CLI_OPTION[kind]} {name}=PATH on "
            "the command line"
        )

    def needed_rows(
        self, frame: pd.DataFrame, special: Mapping[str, np.ndarray]
    ) -> dict[tuple[Any, ...], np.ndarray | None]:
        """
        Find, per spatial value, the parcels on which it can change a rule's result.

        A rule ``a and b and share_in("x") < 0.01`` only needs ``share_in("x")`` where the
        cheap conjuncts ``a and b`` hold: elsewhere the rule is False whatever the value.
        Each value is computed once, on the union of the parcels any rule needs it for.

        Returns
        -------
        rows
            Key -> boolean mask by position, or None for every parcel.
        """
        need: dict[tuple[Any, ...], np.ndarray | None] = {}
        for rule in self.rules:
            keys = rule.value_keys(self.params)
            if not keys:
                continue
            mask = rule.evaluate(frame, params=self.params, special=special, cheap=True)
            for key in keys:
                if key not in need:
                    need[key] = mask
                elif need[key] is not None:  # None: every parcel already
                    need[key] = None if mask is None else need[key] | mask
        return {k: need.get(k) for k in self.value_keys()}

    def evaluate(
        self,
        frame: pd.DataFrame,
        *,
        values: Mapping[tuple[Any, ...], np.ndarray],
        special: Mapping[str, np.ndarray],
    ) -> np.ndarray:
        """Evaluate every rule over `frame`: a (rules × parcels) boolean matrix."""
        masks = np.zeros((len(self.rules), len(frame)), dtype=bool)
        for i, rule in enumerate(self.rules):
            masks[i] = rule.evaluate(frame, params=self.params, values=values, special=special)
            logger.info(
                "rule %s matched %d of %d parcels", rule.id, int(masks[i].sum()), len(frame)
            )
        return masks

    def default_reason(self, lang: str | None = None) -> str:
        """Return the reason of the default category in `lang` (default: the set's)."""
        lang = lang or self.language
        return pick((self.default_reason_zh, self.default_reason_en), lang)

    def summary(self) -> str:
        """
        Describe the set in a few lines: rules, categories and the data it needs.

        Returns
        -------
        text
            Multi-line English text for the CLI and notebooks.
        """
        lines = [
            f"rule set {self.name or self.source!r}: {len(self.rules)} rules, "
            f"default {self.default!r}, reasons in {self.language!r}",
            "categories: "
            + ", ".join(
                f"{c} ({cat.zh} / {cat.en}; role {cat.role or '-'})"
                for c, cat in self.categories.items()
            ),
            f"columns used: {', '.join(self.columns) or '-'}",
            f"layers needed: {', '.join(self.layers) or '-'}",
            f"rasters needed: {', '.join(self.rasters) or '-'}",
        ]
        for r in self.rules:
            flag = " [force]" if r.force else ""
            lines.append(f"  {r.id:<28} -> {r.category}{flag}: {_normalize(r.when)}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- loading


def bundled_rule_sets() -> list[str]:
    """
    Return the names of the rule sets shipped with geo_renewal.

    Returns
    -------
    names
        E.g. ``["default", "shenzhen"]``.

    Examples
    --------
    >>> "default" in bundled_rule_sets()
    True
    """
    folder = importlib.resources.files("geo_renewal") / "rules"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_rules(path_or_name: str | Path | RuleSet, *, lang: str | None = None) -> RuleSet:
    """
    Load a rule set from a TOML file or by the name of a bundled set.

    Parameters
    ----------
    path_or_name
        Path of a ``.toml`` file, or the name of a bundled set (``"default"``,
        ``"shenzhen"``; see `bundled_rule_sets`). A `RuleSet` is returned as is (with
        its language switched if `lang` is given).
    lang
        Language of the reasons (``"zh"`` or ``"en"``); default: the file's ``language``,
        else ``settings.lang``.

    Returns
    -------
    rules
        The validated rule set.

    Raises
    ------
    RuleError
        If the file does not exist, is not valid TOML, or any rule is invalid; every
        problem of the file is listed at once.

    Examples
    --------
    >>> rules = load_rules("default")
    >>> rules.rules[0].force, list(rules.categories)[0]
    (True, 'demolish')
    >>> load_rules("default", lang="en").language
    'en'
    """
    if isinstance(path_or_name, RuleSet):
        if lang is None or lang == path_or_name.language:
            return path_or_name
        return dataclasses.replace(path_or_name, language=lang)
    text_name = str(path_or_name)
    path = Path(path_or_name)
    if path.suffix.lower() != ".toml" and not path.exists() and "/" not in text_name:
        names = bundled_rule_sets()
        if text_name not in names:
            msg = (
                f"rule set {text_name!r} is neither a file nor a bundled set; "
                f"bundled sets: {names}, or pass the path of a .toml file."
            )
            raise RuleError(msg)
        res = importlib.resources.files("geo_renewal") / "rules" / f"{text_name}.toml"
        source = f"bundled:{text_name}"
        text = res.read_text(encoding="utf-8")
        data = parse_toml(text, source=source, what="rule set", error=RuleError)
    else:
        source = str(path)
        hint = f"check the path or use a bundled set {bundled_rule_sets()}"
        data = read_toml(path, what="rule file", error=RuleError, hint=hint)
    return parse_rules(data, source=source, lang=lang)


def parse_rules(
    data: Mapping[str, Any], *, source: str = "<rules>", lang: str | None = None
) -> RuleSet:
    """
    Build a validated `RuleSet` from the contents of a rule file (a parsed TOML mapping).

    Parameters
    ----------
    data
        Mapping with ``rules`` (a list of tables with ``id``, ``category``, ``when``,
        ``reason_zh``, ``reason_en`` and optional ``force``), and optional ``default``,
        ``language``, ``params``, ``categories``, ``name``, ``description``,
        ``default_reason_zh`` and ``default_reason_en``.
    source
        Where the data came from, named in error messages.
    lang
        Overrides the ``language`` of the data.

    Returns
    -------
    rules
        The validated rule set.

    Raises
    ------
    RuleError
        Listing every problem found.

    Examples
    --------
    >>> rs = parse_rules({"rules": [{"id": "old", "category": "retain_upgrade",
    ...     "when": "build_year <= 2000", "reason_zh": "老旧小区", "reason_en": "Old"}]})
    >>> rs.default, rs.columns
    ('unchanged', ['build_year'])
    """
    problems: list[str] = []
    where = f"rule file {source!r}"
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(f"{where}: unknown key {key!r}; valid keys: {list(_TOP_KEYS)}")

    language = lang or data.get("language") or settings.lang
    if language not in ("zh", "en"):
        problems.append(f"{where}: language must be 'zh' or 'en', got {language!r}")

    params = _parse_params(data.get("params", {}), where, problems)
    declared = _parse_categories(data.get("categories", {}), where, problems)

    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        problems.append(f"{where}: no rules; add [[rules]] tables with id, category, when")
        raw_rules = []
    known = set(CATEGORIES) | set(declared)
    rules: list[Rule] = []
    ids: set[str] = set()
    for i, raw in enumerate(raw_rules):
        rule = _parse_rule(raw, i, where, known, params, ids, problems)
        if rule is not None:
            rules.append(rule)

    default = data.get("default", "unchanged")
    if not isinstance(default, str) or default not in known:
        problems.append(
            f"{where}: default category {default!r} is unknown; use one of {sorted(known)} "
            "or declare it under [categories]"
        )
    for key in ("name", "description", "default_reason_zh", "default_reason_en"):
        if key in data and not isinstance(data[key], str):
            problems.append(f"{where}: {key} must be text, got {data[key]!r}")
    if problems:
        raise RuleError("\n".join(problems))

    used = [r.category for r in rules] + [default]
    order = list(declared) + [c for c in CATEGORIES if c in used and c not in declared]
    order += [c for c in dict.fromkeys(used) if c not in order]
    categories = {c: declared.get(c) or CATEGORIES[c] for c in order}
    kwargs = {
        k: data[k] for k in ("default_reason_zh", "default_reason_en", "description") if k in data
    }
    return RuleSet(
        rules=rules,
        default=default,
        categories=categories,
        language=language,
        params=params,
        name=str(data.get("name", "")),
        source=source,
        **kwargs,
    )


def _parse_params(raw: Any, where: str, problems: list[str]) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: [params] must be a table of name = value")
        return {}
    params: dict[str, Any] = {}
    for name, value in raw.items():
        if not name.isidentifier() or name.startswith("__"):
            problems.append(f"{where}: param name {name!r} is not a valid name")
        elif name in FUNCTIONS or name in SPECIAL_NAMES or name.lower() in _BOOL_NAMES:
            problems.append(f"{where}: param name {name!r} is reserved; rename it")
        elif name in _canonical_columns():
            problems.append(_shadow_problem(where, name, f"the canonical column {name!r}"))
        elif isinstance(value, bool | int | float | str):
            params[name] = value
        else:
            problems.append(
                f"{where}: param {name!r} must be a number, text or true/false, got {value!r}"
            )
    return params


def _canonical_columns() -> set[str]:
    """Every canonical column name of `geo_renewal.schema` and the columns classify adds."""
    names = set(schema.COLUMN_ALIASES) | set(schema.NUMERIC_COLUMNS) | set(schema.BOOL_COLUMNS)
    for kind in schema.KINDS.values():
        names.update(kind["required"], kind["optional"])
    return names | {"category", "rule_id", "reason", "matched", "zone_id"}


def _shadow_problem(where: str, name: str, column: str) -> str:
    """Describe a param that would hide a column of the same name in the rules."""
    return (
        f"{where}: param {name!r} has the name of {column}: in the rules it would replace "
        f"the column's values (every parcel would compare the constant); rename the parameter "
        f"(e.g. max_{name} or {name}_limit)"
    )


def _parse_categories(raw: Any, where: str, problems: list[str]) -> dict[str, Category]:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: [categories] must be a table of code = {{zh, en, color, role}}")
        return {}
    out: dict[str, Category] = {}
    n_extra = 0
    for code, spec in raw.items():
        if not _CODE_RE.match(code) or code == "default":
            problems.append(
                f"{where}: category code {code!r} must be letters, digits, _ or - (not 'default')"
            )
            continue
        if not isinstance(spec, Mapping):
            problems.append(
                f"{where}: category {code!r} must be a table with zh, en, color (and role)"
            )
            continue
        bad = [k for k in spec if k not in _CATEGORY_KEYS]
        if bad:
            problems.append(
                f"{where}: category {code!r} has unknown keys {bad}; valid: {list(_CATEGORY_KEYS)}"
            )
        base = CATEGORIES.get(code)
        role = _parse_role(code, spec.get("role"), base, where, problems)
        zh = spec.get("zh", base.zh if base else None)
        en = spec.get("en", base.en if base else None)
        if base is None:
            color = spec.get("color", _EXTRA_COLORS[n_extra % len(_EXTRA_COLORS)])
            n_extra += 1
        else:
            color = spec.get("color", base.color)
        if not isinstance(zh, str) or not isinstance(en, str) or not zh or not en:
            problems.append(
                f"{where}: user-defined category {code!r} needs zh and en labels, "
                f'e.g. {code} = {{ zh = "拆除重建类", en = "Redevelopment" }}'
            )
            continue
        if not isinstance(color, str) or not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
            problems.append(f"{where}: category {code!r} color must be '#rrggbb', got {color!r}")
            continue
        out[code] = Category(code, zh, en, color, role)
    return out


def _parse_role(
    code: str, role: Any, base: Category | None, where: str, problems: list[str]
) -> str | None:
    """Return the role of category `code` (a built-in code is its own), or note a problem."""
    if base is not None:
        if role is not None and role != base.role:
            problems.append(
                f"{where}: category {code!r} is built in and has the role {base.role!r}; "
                f"remove role = {role!r}, or declare a class of your own with that role"
            )
        return base.role
    if role is None or role in ROLES:
        return role
    hint = did_you_mean(role, ROLES).rstrip()
    problems.append(
        f"{where}: category {code!r} has the unknown role {role!r}; allowed roles: "
        f"{list(ROLES)}{'; ' + hint if hint else ''}"
    )
    return None


def _parse_rule(
    raw: Any,
    i: int,
    where: str,
    known: set[str],
    params: Mapping[str, Any],
    ids: set[str],
    problems: list[str],
) -> Rule | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: rules[{i}] must be a table ([[rules]])")
        return None
    rid = raw.get("id")
    label = f"{where}: rule {rid!r}" if isinstance(rid, str) and rid else f"{where}: rules[{i}]"
    n_before = len(problems)
    bad = [k for k in raw if k not in _RULE_KEYS]
    if bad:
        hints = [(k, did_you_mean(k, _RULE_KEYS).rstrip()) for k in bad]
        hint = "".join(f"; for {k!r}: {h}" for k, h in hints if h)
        problems.append(f"{label} has unknown keys {bad}; valid keys: {list(_RULE_KEYS)}{hint}")
    if not isinstance(rid, str) or not rid.strip():
        problems.append(f"{label} needs an id (text)")
    elif ";" in rid or rid == "default" or rid != rid.strip():
        problems.append(f"{label}: id may not contain ';', surrounding spaces or be 'default'")
    elif rid in ids:
        problems.append(f"{label}: duplicate id; ids must be unique")
    else:
        ids.add(rid)
    category = raw.get("category")
    if not isinstance(category, str) or category not in known:
        hint = did_you_mean(category, sorted(known)).rstrip()
        hint = f"; {hint}" if hint else ""
        problems.append(
            f"{label}: category {category!r} is unknown; use one of {sorted(known)} or declare "
            f"it under [categories] with zh and en labels{hint}"
        )
    for key in ("reason_zh", "reason_en"):
        if not isinstance(raw.get(key), str) or not raw.get(key):
            problems.append(f"{label} needs {key} (text)")
    force = raw.get("force", False)
    if not isinstance(force, bool):
        problems.append(f"{label}: force must be true or false, got {force!r}")
    when = raw.get("when")
    tree = None
    if not isinstance(when, str) or not when.strip():
        problems.append(f"{label} needs when (an expression, as text)")
    else:
        try:
            tree = parse_expression(
                when, rule_id=rid if isinstance(rid, str) else f"#{i}", params=params
            )
        except RuleError as e:
            problems.append(f"{where}: {e}")
    if len(problems) > n_before:
        return None
    return Rule(
        id=str(rid),
        category=str(category),
        when=str(when),
        reason_zh=raw["reason_zh"],
        reason_en=raw["reason_en"],
        force=force,
        description=str(raw.get("description", "")),
        tree=tree,
    )


# --------------------------------------------------------------------------- parsing


# ------------------------------------------------------------------- requirements


def _arg_names(rules: RuleSet, kinds: tuple[str, ...]) -> list[str]:
    seen: dict[str, None] = {}
    for r in rules.rules:
        for call in _walk_calls(r.tree):
            fkinds, _ = FUNCTIONS[call.func.id]  # type: ignore[attr-defined]
            for arg, kind in zip(call.args, fkinds, strict=True):
                if kind in kinds:
                    seen.setdefault(_constant_value(arg, rules.params), None)
    return list(seen)


def uses_special(rules: RuleSet, name: str) -> bool:
    """Tell whether any rule reads the computed name `name` (``area`` / ``floor_area``)."""
    return any(
        isinstance(n, ast.Name) and n.id == name and name not in rules.params
        for r in rules.rules
        for n in ast.walk(r.tree)  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- evaluation
