"""
A rule set's classes and their roles: what each class means for the figures.

A rule set's category declares a ``role`` (`geo_renewal.schema.ROLES`; a built-in code is its
own): 深圳 拆除重建类 with ``role = "demolish"`` is demolished like 征收拆迁. Every figure that
depends on a class's meaning selects its parcels with `classes_with_role` / `in_role`, never
by a code. The classes travel with a classified frame in ``attrs[CLASSES_ATTR]`` (set by the
classification, kept by slicing and copying and by GeoPackage / GeoParquet files). Guide:
docs/guide/classification.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal import schema
from geo_renewal._checks import did_you_mean
from geo_renewal._errors import RuleError
from geo_renewal.rules import RuleSet, load_rules
from geo_renewal.schema import CATEGORIES, ROLES, UNCLASSIFIED, Category
from geo_renewal.text import say

__all__ = [
    "CLASSES_ATTR",
    "class_caveats",
    "class_colors",
    "class_labels",
    "class_roles",
    "class_table",
    "classes_of",
    "classes_with_role",
    "in_role",
    "role_caveat",
    "roleless_classes",
    "warn_unknown_classes",
]

#: Key of ``attrs`` under which a classified frame (and a statistics table of one) carries
#: its rule set's classes: code -> {zh, en, color, role} (plain values, kept by pandas'
#: slicing and copying and by the GeoPackage and GeoParquet files of `write_layer`).
CLASSES_ATTR = schema.CLASSES_ATTR


def class_table(categories: Mapping[str, Category]) -> dict[str, dict[str, str | None]]:
    """
    Return classes as plain values for a frame's ``attrs[CLASSES_ATTR]``.

    Parameters
    ----------
    categories
        Code -> `Category`, e.g. ``RuleSet.categories``.

    Returns
    -------
    table
        Code -> ``{"zh", "en", "color", "role"}``.

    Examples
    --------
    >>> class_table(load_rules("shenzhen").categories)["demolish_rebuild"]["role"]
    'demolish'
    """
    return {
        code: {"zh": c.zh, "en": c.en, "color": c.color, "role": c.role}
        for code, c in categories.items()
    }


def classes_of(source: Any = None, *, category_col: str = "category") -> dict[str, Category]:
    """
    Return the classes of a rule set, a mapping of categories or a classified frame.

    A frame classified by `geo_renewal.classify_parcels` carries its rule set's classes
    (``attrs[CLASSES_ATTR]``); a frame without them (e.g. read back from a file) gives the
    built-in classes and, for every other code in `category_col`, a class without a role.

    Parameters
    ----------
    source
        A `RuleSet`, a mapping code -> `Category`, a (Geo)DataFrame, or None (the built-in
        classes, `geo_renewal.schema.CATEGORIES`).
    category_col
        The column of a frame holding the codes.

    Returns
    -------
    classes
        Code -> `Category` (with its ``role``), in display order.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"category": ["demolish", "my_class"]})
    >>> {c: k.role for c, k in classes_of(frame).items() if c in frame["category"].values}
    {'demolish': 'demolish', 'my_class': None}
    """
    if source is None:
        return dict(CATEGORIES)
    if isinstance(source, RuleSet):
        return dict(source.categories)
    attrs = getattr(source, "attrs", None)
    if isinstance(attrs, Mapping) and isinstance(attrs.get(CLASSES_ATTR), Mapping):
        return {
            str(code): Category(str(code), v["zh"], v["en"], v["color"], v.get("role"))
            for code, v in attrs[CLASSES_ATTR].items()
        }
    if isinstance(source, pd.DataFrame):
        return _classes_in_column(source, category_col)
    return {str(code): _with_role(str(code), c) for code, c in dict(source).items()}


def _with_role(code: str, cat: Category) -> Category:
    """Return `cat` with its role: a built-in code given without one is its own."""
    if cat.role is None and code in CATEGORIES:
        return dataclasses.replace(cat, role=CATEGORIES[code].role)
    return cat


def _classes_in_column(frame: pd.DataFrame, col: str) -> dict[str, Category]:
    out = dict(CATEGORIES)
    if col not in frame.columns:
        return out
    s = frame[col]
    codes = s.cat.categories if isinstance(s.dtype, pd.CategoricalDtype) else s.dropna().unique()
    for code in map(str, codes):
        if code not in out and code != UNCLASSIFIED:
            out[code] = Category(code, code, code, "#999999", None)
    return out


def class_roles(source: Any = None, *, category_col: str = "category") -> dict[str, str | None]:
    """
    Return each class's role (None for a class that declares none).

    Parameters
    ----------
    source, category_col
        As in `classes_of`.

    Returns
    -------
    roles
        Code -> role, one of `geo_renewal.schema.ROLES`, or None.

    Examples
    --------
    >>> class_roles(load_rules("shenzhen"))["comprehensive_renovation"]
    'retain_upgrade'
    """
    return {code: c.role for code, c in classes_of(source, category_col=category_col).items()}


def classes_with_role(source: Any, role: str, *, category_col: str = "category") -> list[str]:
    """
    Return the codes of the classes that have `role`: the one test of what a class means.

    Every figure that depends on a class's meaning (demolished households and floor area,
    resettlement demand and sites, protected land, the 63号文 checks) selects its parcels
    with this, so a rule set's own classes (深圳 拆除重建类 with ``role = "demolish"``)
    count like the built-in codes.

    Parameters
    ----------
    source, category_col
        As in `classes_of`.
    role
        One of `geo_renewal.schema.ROLES`.

    Returns
    -------
    codes
        The class codes, in display order.

    Raises
    ------
    RuleError
        If `role` is not one of the roles.

    Examples
    --------
    >>> classes_with_role(load_rules("shenzhen"), "demolish")
    ['demolish_rebuild']
    >>> classes_with_role(None, "demolish")
    ['demolish']
    """
    if role not in ROLES:
        msg = f"unknown role {role!r}; roles: {list(ROLES)}. {did_you_mean(role, ROLES)}"
        raise RuleError(msg.rstrip())
    classes = classes_of(source, category_col=category_col)
    return [code for code, c in classes.items() if c.role == role]


def roleless_classes(source: Any, *, category_col: str = "category") -> list[str]:
    """
    Return the codes of classes without a role (counted under the class only).

    Parameters
    ----------
    source, category_col
        As in `classes_of`.

    Returns
    -------
    codes
        E.g. ``["change_of_use"]`` for a rule set declaring a class without ``role``.

    Examples
    --------
    >>> roleless_classes(load_rules("shenzhen"))
    []
    """
    return [c for c, k in classes_of(source, category_col=category_col).items() if k.role is None]


def class_labels(
    source: Any, lang: str = "zh", *, category_col: str = "category"
) -> dict[str, str]:
    """
    Return each class's label in `lang`: the rule set's own names (拆除重建类), not codes.

    Parameters
    ----------
    source, category_col
        As in `classes_of`.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    labels
        Code -> label.

    Examples
    --------
    >>> class_labels(load_rules("shenzhen"))["demolish_rebuild"]
    '拆除重建类'
    """
    classes = classes_of(source, category_col=category_col)
    return {code: c.label(lang) for code, c in classes.items()}


def in_role(
    frame: pd.DataFrame, role: str, *, category_col: str = "category", classes: Any = None
) -> np.ndarray:
    """
    Return which rows of a classified frame are in a class of `role`.

    Parameters
    ----------
    frame
        Classified parcels (or zones) with `category_col`.
    role
        One of `geo_renewal.schema.ROLES`.
    category_col
        The column of class codes.
    classes
        Where the classes' roles come from (see `classes_of`); default: `frame` itself.

    Returns
    -------
    mask
        Boolean array by position; missing classes are False.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"category": ["demolish_rebuild", "unchanged", None]})
    >>> in_role(frame, "demolish", classes=load_rules("shenzhen")).tolist()
    [True, False, False]
    """
    codes = classes_with_role(
        frame if classes is None else classes, role, category_col=category_col
    )
    values = frame[category_col].astype("string")
    return values.isin(codes).fillna(False).to_numpy(dtype=bool)


def role_caveat(classified: pd.DataFrame, lang: str = "zh", *, source: str = "") -> str:
    """
    Say which classes of a classified frame have no role, and what that leaves uncounted.

    Parameters
    ----------
    classified
        Classified parcels (their classes from `classes_of`).
    lang
        ``"zh"`` or ``"en"``.
    source
        The rule set's name, named in the text.

    Returns
    -------
    text
        One paragraph naming the classes by label with their parcels and households, or
        ``""`` when every class holding a parcel has a role.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"category": ["change_of_use", "demolish"], "households": [4, 6]})
    >>> role_caveat(frame, "en", source="mine")[:60]
    'The classes change_of_use of rule set mine declare no role: '
    """
    if "category" not in classified.columns:
        return ""
    classes = classes_of(classified)
    codes = classified["category"].astype("string")
    present = set(codes.dropna().unique())
    missing = [c for c, k in classes.items() if k.role is None and c in present]
    if not missing:
        return ""
    mask = codes.isin(missing).fillna(False).to_numpy(dtype=bool)
    households = 0.0
    if "households" in classified.columns:
        hh = pd.to_numeric(classified["households"], errors="coerce").to_numpy(dtype=float)
        households = float(np.nansum(hh[mask]))
    sep = say("progress.list_separator", lang)
    return say(
        "rules.no_role",
        lang,
        source=source or "-",
        classes=sep.join(classes[c].label(lang) for c in missing),
        n=int(mask.sum()),
        households=households,
        roles=sep.join(
            r if lang == "en" else CATEGORIES[r].label(lang) for r in ROLES
        ),  # codes to type
    )


def class_colors(source: Any) -> dict[str, str]:
    """
    Return the map colours a rule set declares for its classes (none for a bare frame).

    Parameters
    ----------
    source
        A `RuleSet`, or a frame carrying its classes (``attrs[CLASSES_ATTR]``); anything
        else gives no colours (maps then use the schema's and their fallback palette).

    Returns
    -------
    colors
        Code -> ``#rrggbb``.

    Examples
    --------
    >>> class_colors(load_rules("shenzhen"))["demolish_rebuild"]
    '#d7301f'
    """
    if isinstance(source, RuleSet):
        return {c: k.color for c, k in source.categories.items()}
    attrs = getattr(source, "attrs", None)
    if isinstance(attrs, Mapping) and isinstance(attrs.get(CLASSES_ATTR), Mapping):
        return {str(c): str(v["color"]) for c, v in attrs[CLASSES_ATTR].items()}
    return {}


def warn_unknown_classes(
    frame: Any, *, category_col: str = "category", stacklevel: int = 3
) -> None:
    """
    Warn once when a frame holds classes it does not say the meaning of.

    A layer classified by a rule set and written by `geo_renewal.write_layer` (GeoPackage,
    GeoParquet) carries its classes and roles; one from elsewhere with codes that are not
    built in (e.g. ``demolish_rebuild``) does not: its classes count under their own names
    only, never as demolition. Nothing is said for a frame that carries its classes.

    Parameters
    ----------
    frame
        Classified parcels (a partitioned frame is not checked).
    category_col
        The column of class codes.
    stacklevel
        Passed to `warnings.warn`.

    Examples
    --------
    >>> import pandas as pd, warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn_unknown_classes(pd.DataFrame({"category": ["demolish_rebuild"]}))
    >>> "not built-in codes" in str(w[0].message)
    True
    """
    if not isinstance(frame, pd.DataFrame) or CLASSES_ATTR in frame.attrs:
        return
    if category_col not in frame.columns:
        return
    unknown = roleless_classes(frame, category_col=category_col)
    if not unknown:
        return
    import warnings

    msg = (
        f"`parcels[{category_col!r}]` holds classes {unknown} that are not built-in codes, and "
        "the parcels do not carry the rule set that made them (a layer not written by "
        "geo_renewal): they are counted under their own names only, not as demolished "
        "households, floor area, resettlement demand or sites. Classify the parcels again "
        "with the rule set (its [categories] declare each class's role), or read a "
        "classified GeoPackage / GeoParquet written by geo_renewal."
    )
    warnings.warn(msg, UserWarning, stacklevel=stacklevel)


def class_caveats(classified: pd.DataFrame, plan: Any, resettlement: Any = None) -> dict[str, str]:
    """
    Say what a run's classes leave uncounted: classes without a role, no site class.

    Parameters
    ----------
    classified
        The run's classified parcels.
    plan
        The run's `geo_renewal.plan.Plan` (its rule set, language and layers).
    resettlement
        The run's `geo_renewal.resettlement.ResettlementPlan`, or None.

    Returns
    -------
    caveats
        ``"roles"`` when a class holding parcels declares no role (`role_caveat`: its
        households are not demolished), ``"sites"`` when households want a flat but neither
        a class of role ``resettlement_site`` nor a sites layer gives a site.
    """
    out: dict[str, str] = {}
    name = load_rules(plan.rules).name or str(plan.rules)
    text = role_caveat(classified, plan.lang, source=name)
    if text:
        out["roles"] = text
    flats = 0 if resettlement is None else int(resettlement.summary.get("flat_households", 0))
    no_site_class = not in_role(classified, "resettlement_site").any()
    if flats and no_site_class and "sites" not in plan.layers:
        out["sites"] = say("rules.no_sites", plan.lang, source=name, households=flats)
    return out
