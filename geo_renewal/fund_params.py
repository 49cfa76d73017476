"""
Fund-balance parameters: `FundParams` and `load_fund_params`.

A TOML file over the bundled ``params/fund_default.toml``, merged and checked completely;
see the guide, ``docs/guide/fund.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal._errors import InputError
from geo_renewal._toml import parse_toml, read_toml

__all__ = [
    "FundOptions",
    "FundParams",
    "fund_options_from_doc",
    "load_fund_params",
    "placeholder_caveat",
    "placeholder_keys",
]

#: TOML section -> keys of `FundParams` in that section.
_SECTIONS: dict[str, tuple[str, ...]] = {
    "compensation": (
        "appraised_value_per_m2",
        "moving_per_household",
        "temporary_per_household_month",
        "temporary_months",
        "business_loss_per_m2",
        "incentive_per_household",
    ),
    "resettlement": (
        "cash_share",
        "floor_area_per_household",
        "construction_cost_per_m2",
        "settlement_price_per_m2",
    ),
    "costs": ("demolition_per_m2", "infrastructure_per_m2", "upgrade_per_household"),
    "financing": ("rate_per_year", "years"),
    "sale_plots": ("derive", "net_share", "far", "land_price_per_m2"),
    "cashflow": (
        "period",
        "discount_rate",
        "capital_share",
        "credit_line",
        "signing_months",
        "demolition_months",
        "infrastructure_months",
        "upgrade_months",
        "credit_lines",
    ),
    "sensitivity": (
        "land_price_changes",
        "delay_months",
        "cash_share_changes",
        "compensation_changes",
    ),
}
#: Keys that are not plain numbers: lists, tables, text, yes/no (never placeholders).
_NOT_NUMBERS = (
    "derive",
    "period",
    "credit_lines",
    "land_price_changes",
    "delay_months",
    "cash_share_changes",
    "compensation_changes",
)
_PERIODS = ("year", "quarter")
_SUBSIDY_KEYS = ("project_id", "bundle", "name", "date", "amount", "kind", "repay_date")
_SUBSIDY_KINDS = ("subsidy", "special_bond")
_SHARES = ("cash_share", "net_share", "capital_share")
_PLOT_KEYS = ("project_id", "plot_id", "area", "far", "land_price_per_m2")
#: Parameters a project column may override (numbers, per project).
_OVERRIDABLE = tuple(
    k for sec in ("compensation", "resettlement", "costs", "financing") for k in _SECTIONS[sec]
)


@dataclass(frozen=True)
class FundParams:
    """
    Parameters of the fund balance; see ``geo_renewal/params/fund_default.toml``.

    Money in 元, areas in m², rates as fractions. Build it with `load_fund_params`.
    """

    appraised_value_per_m2: float
    moving_per_household: float
    temporary_per_household_month: float
    temporary_months: float
    business_loss_per_m2: float
    incentive_per_household: float
    cash_share: float
    floor_area_per_household: float
    construction_cost_per_m2: float
    settlement_price_per_m2: float
    demolition_per_m2: float
    infrastructure_per_m2: float
    upgrade_per_household: float
    rate_per_year: float
    years: float
    derive: bool
    net_share: float
    far: float
    land_price_per_m2: float
    land_price_changes: tuple[float, ...]
    period: str = "year"
    discount_rate: float = 0.06
    capital_share: float = 0.2
    credit_line: float = 0.0
    signing_months: float = 6.0
    demolition_months: float = 4.0
    infrastructure_months: float = 12.0
    upgrade_months: float = 12.0
    credit_lines: Mapping[str, float] = field(default_factory=dict)
    delay_months: tuple[float, ...] = (6.0, 12.0)
    cash_share_changes: tuple[float, ...] = (-0.1, 0.1)
    compensation_changes: tuple[float, ...] = (-0.1, 0.1)
    subsidies: tuple[dict[str, Any], ...] = ()
    plots: tuple[dict[str, Any], ...] = ()
    source: str = field(default="(defaults)", compare=False)

    def to_dict(self) -> dict[str, Any]:
        """
        Return the parameters as nested TOML sections.

        Returns
        -------
        sections
            ``{"compensation": {...}, ..., "plots": [...]}``.
        """
        out: dict[str, Any] = {
            sec: {k: getattr(self, k) for k in keys} for sec, keys in _SECTIONS.items()
        }
        for k in ("land_price_changes", "delay_months", "cash_share_changes"):
            out["sensitivity"][k] = list(getattr(self, k))
        out["sensitivity"]["compensation_changes"] = list(self.compensation_changes)
        out["cashflow"]["credit_lines"] = dict(self.credit_lines)
        out["plots"] = [dict(p) for p in self.plots]
        out["subsidies"] = [dict(p) for p in self.subsidies]
        return out

    def table(self, lang: str | None = None) -> pd.DataFrame:
        """
        Return the parameters as a two-column table (section, key, value) for a report.

        Parameters
        ----------
        lang
            Language of the keys inside subsidy and plot rows; defaults to `settings.lang`.

        Returns
        -------
        params
            One row per parameter, plus one per declared plot.
        """
        rows = [
            {"param_section": sec, "param_name": k, "param_value": _cell(getattr(self, k), k)}
            for sec, keys in _SECTIONS.items()
            for k in keys
        ]
        rows += [
            {
                "param_section": "subsidies",
                "param_name": str(p.get("name", p.get("kind", i))),
                "param_value": _text(p, lang),
            }
            for i, p in enumerate(self.subsidies)
        ]
        rows += [
            {
                "param_section": "plots",
                "param_name": str(p.get("plot_id", i)),
                "param_value": _text(p, lang),
            }
            for i, p in enumerate(self.plots)
        ]
        rows.append({"param_section": None, "param_name": "source", "param_value": self.source})
        table = pd.DataFrame(rows)
        table.attrs["kind_by"] = {"param_value": "param_name"}  # cash_share as a percentage
        return table


def _cell(v: Any, key: str = "") -> Any:
    """Return a parameter as a table cell: numbers and yes/no as they are, lists as text."""
    if isinstance(v, Mapping):
        return ", ".join(f"{k}: {x:g}" for k, x in v.items())
    if key == "delay_months":
        return ", ".join(f"{x:g}" for x in v)
    if isinstance(v, tuple | list):
        return ", ".join(f"{x:+.0%}" if x else "0%" for x in v)
    return v


def _text(v: Any, lang: str | None = None) -> str:
    if isinstance(v, Mapping):
        from geo_renewal._checks import check_lang

        lang = check_lang(lang)
        return ", ".join(f"{_key_label(k, lang)} = {_text(x)}" for k, x in v.items())
    if isinstance(v, tuple | list):
        return ", ".join(f"{x:g}" for x in v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _key_label(key: str, lang: str) -> str:
    """Return a key of a subsidy or plot row in `lang` (column labels, else its own)."""
    from geo_renewal.schema import label
    from geo_renewal.text import say_or

    return say_or(f"fund.key.{key}", lang, None) or label(key, lang)


def _default_toml() -> dict[str, Any]:
    text = resources.files("geo_renewal").joinpath("params/fund_default.toml").read_text("utf-8")
    return parse_toml(text, source="bundled:fund_default", what="fund parameter file")


def _merge(base: dict[str, Any], override: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Merge `override` (nested sections or flat keys) onto `base`, refusing unknown keys."""
    key_section = {k: sec for sec, keys in _SECTIONS.items() for k in keys}
    out = {sec: dict(v) if isinstance(v, Mapping) else v for sec, v in base.items()}
    for name, value in override.items():
        if name in ("plots", "subsidies"):
            out[name] = list(value)
        elif name in _SECTIONS:
            if not isinstance(value, Mapping):
                msg = f"{source}: [{name}] must be a table of keys; got {value!r}."
                raise InputError(msg)
            for k, v in value.items():
                if k not in _SECTIONS[name]:
                    msg = (
                        f"{source}: unknown key {k!r} in [{name}]; valid keys are "
                        f"{list(_SECTIONS[name])}."
                    )
                    raise InputError(msg)
                out.setdefault(name, {})[k] = v
        elif name in key_section:
            out.setdefault(key_section[name], {})[name] = value
        else:
            msg = (
                f"{source}: unknown parameter {name!r}; valid sections are "
                f"{[*_SECTIONS, 'plots', 'subsidies']} and valid keys are {list(key_section)}."
            )
            raise InputError(msg)
    return out


def _build(sections: Mapping[str, Any], source: str) -> FundParams:
    values: dict[str, Any] = {}
    problems: list[str] = []
    for sec, keys in _SECTIONS.items():
        for k in keys:
            v = sections.get(sec, {}).get(k)
            if v is None:
                problems.append(f"[{sec}] {k} is missing")
                continue
            if k == "derive":
                if not isinstance(v, bool):
                    problems.append(f"[{sec}] {k} must be true or false, got {v!r}")
                values[k] = bool(v)
                continue
            if k in _NOT_NUMBERS:
                values[k] = _special(sec, k, v, problems)
                continue
            if isinstance(v, bool) or not isinstance(v, int | float):
                problems.append(f"[{sec}] {k} must be a number, got {v!r}")
                continue
            v = float(v)
            if not np.isfinite(v) or v < 0:
                problems.append(f"[{sec}] {k} must be ≥ 0, got {v:g}")
            elif k in _SHARES and v > 1:
                problems.append(f"[{sec}] {k} is a share and must be between 0 and 1, got {v:g}")
            values[k] = v
    subsidies = _subsidies(sections.get("subsidies", []), problems)
    plots = []
    for i, p in enumerate(sections.get("plots", [])):
        if not isinstance(p, Mapping):
            problems.append(f"[[plots]] #{i + 1} must be a table, got {p!r}")
            continue
        unknown = [k for k in p if k not in _PLOT_KEYS]
        if unknown:
            problems.append(
                f"[[plots]] #{i + 1} has unknown keys {unknown}; valid keys are {list(_PLOT_KEYS)}"
            )
        if "project_id" not in p or "area" not in p:
            problems.append(f"[[plots]] #{i + 1} needs project_id and area")
            continue
        for k in ("area", "far", "land_price_per_m2"):
            if k in p and (
                isinstance(p[k], bool) or not isinstance(p[k], int | float) or p[k] < 0
            ):
                problems.append(f"[[plots]] #{i + 1} {k} must be a number ≥ 0, got {p[k]!r}")
        plots.append(
            {**{k: p[k] for k in _PLOT_KEYS if k in p}, "project_id": str(p["project_id"])}
        )
    if problems:
        msg = f"fund parameters {source} are invalid: " + "; ".join(problems) + "."
        raise InputError(msg)
    return FundParams(**values, plots=tuple(plots), subsidies=subsidies, source=source)


def _special(sec: str, k: str, v: Any, problems: list[str]) -> Any:
    """Check a key that is not a plain number: yes/no, the period, a list, a table."""
    if k == "period":
        if v not in _PERIODS:
            problems.append(f"[{sec}] {k} must be one of {list(_PERIODS)}, got {v!r}")
        return str(v)
    if k == "credit_lines":
        if not isinstance(v, Mapping):
            problems.append(f"[{sec}] {k} must be a table of bundle = 元, got {v!r}")
            return {}
        bad = {
            b: x
            for b, x in v.items()
            if isinstance(x, bool) or not isinstance(x, int | float) or x < 0
        }
        if bad:
            problems.append(f"[{sec}] {k}: credit lines must be numbers ≥ 0 (元), got {bad}")
        return {str(b): float(x) for b, x in v.items() if b not in bad}
    try:
        changes = tuple(float(x) for x in v)
    except (TypeError, ValueError):
        problems.append(f"[{sec}] {k} must be a list of numbers, got {v!r}")
        return ()
    low = {"delay_months": 0.0, "cash_share_changes": -1.0}.get(k, -1.0)
    if k == "delay_months" and any(c < 0 for c in changes):
        problems.append(f"[{sec}] {k} must be months ≥ 0, got {list(changes)}")
    elif k != "delay_months" and any(c <= low for c in changes):
        problems.append(f"[{sec}] {k} must be > -1 (−100 %), got {list(changes)}")
    return changes


def _subsidies(entries: Any, problems: list[str]) -> tuple[dict[str, Any], ...]:
    """Check the [[subsidies]]: a project or bundle, a date, an amount ≥ 0, a kind."""
    import datetime as dt

    out = []
    for i, e in enumerate(entries):
        where = f"[[subsidies]] #{i + 1}"
        if not isinstance(e, Mapping):
            problems.append(f"{where} must be a table, got {e!r}")
            continue
        unknown = [k for k in e if k not in _SUBSIDY_KEYS]
        if unknown:
            problems.append(
                f"{where} has unknown keys {unknown}; valid keys are {list(_SUBSIDY_KEYS)}"
            )
        if ("project_id" in e) == ("bundle" in e):
            problems.append(f"{where} needs project_id or bundle (one of them)")
        for k in ("date", "repay_date"):
            if k in e and not isinstance(e[k], dt.date):
                problems.append(f"{where} {k} must be a TOML date like 2026-06-30, got {e[k]!r}")
        if "date" not in e:
            problems.append(f"{where} needs a date")
        amount = e.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
            problems.append(f"{where} amount must be a number ≥ 0 (元), got {amount!r}")
        kind = e.get("kind", "subsidy")
        if kind not in _SUBSIDY_KINDS:
            problems.append(f"{where} kind must be one of {list(_SUBSIDY_KINDS)}, got {kind!r}")
        out.append({**e, "kind": kind})
    return tuple(out)


def load_fund_params(
    path: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None
) -> FundParams:
    """
    Load fund-balance parameters from a TOML file over the bundled defaults.

    Parameters
    ----------
    path
        A TOML file with any of the sections of ``geo_renewal/params/fund_default.toml``
        (keys not given keep their defaults); None for the defaults alone.
    overrides
        Values applied last: nested sections (``{"compensation": {...}}``) or flat keys
        (``{"appraised_value_per_m2": 18000}``).

    Returns
    -------
    params
        Validated `FundParams`.

    Raises
    ------
    InputError
        If the file is missing or not TOML, a key is unknown (the message lists the valid
        ones), a value is negative or not a number, or a share is outside 0–1.

    Examples
    --------
    >>> p = load_fund_params(overrides={"appraised_value_per_m2": 18000})
    >>> p.appraised_value_per_m2, p.cash_share
    (18000.0, 0.3)
    >>> load_fund_params(overrides={"compensation": {"appraised_value": 1}})
    Traceback (most recent call last):
    ...
    geo_renewal._errors.InputError: overrides: unknown key 'appraised_value' in [compensation]; ...
    """
    sections = _default_toml()
    source = "(defaults)"
    if path is not None:
        p = Path(path)
        user = read_toml(p, what="fund parameter file")
        sections = _merge(sections, user, str(p))
        source = str(p)
    if overrides:
        sections = _merge(sections, overrides, "overrides")
        source = f"{source} + overrides"
    return _build(sections, source)


def _as_params(params: FundParams | str | Path | Mapping[str, Any] | None) -> FundParams:
    if params is None:
        return load_fund_params()
    if isinstance(params, FundParams):
        return params
    if isinstance(params, str | Path):
        return load_fund_params(params)
    if isinstance(params, Mapping):
        return load_fund_params(overrides=params)
    msg = f"`params` must be FundParams, a TOML path or a mapping; got {type(params).__name__}."
    raise InputError(msg)


def placeholder_keys(params: FundParams, *, cashflow: bool = False) -> list[str]:
    """
    Return the parameters still at the bundled placeholder values.

    The bundled ``params/fund_default.toml`` holds placeholders of the right order of
    magnitude, not a district's compensation scheme; every output built on them must say so.

    Parameters
    ----------
    params
        The parameters used.
    cashflow
        Count the ``[cashflow]`` parameters too (for outputs that show the cash flow).

    Returns
    -------
    keys
        Names of the parameters equal to the bundled defaults, in file order.

    Examples
    --------
    >>> len(placeholder_keys(load_fund_params())) > 10
    True
    >>> "appraised_value_per_m2" in placeholder_keys(
    ...     load_fund_params(overrides={"appraised_value_per_m2": 18000}))
    False
    """
    default = load_fund_params()
    return [
        k
        for sec, keys in _SECTIONS.items()
        for k in keys
        if k not in _NOT_NUMBERS
        and (cashflow or sec != "cashflow")
        and getattr(params, k) == getattr(default, k)
    ]


def placeholder_caveat(
    params: FundParams, *, balance: Any = None, lang: str | None = None, cashflow: bool = False
) -> str:
    """
    Return the sentence every output built on placeholder parameters must carry ("" if none).

    Parameters
    ----------
    params
        The parameters used.
    balance
        The projects' balances (元), to say how many lose money under the placeholders.
    lang
        Language of the sentence; defaults to `settings.lang`.
    cashflow
        Count the ``[cashflow]`` parameters too (`placeholder_keys`).

    Returns
    -------
    caveat
        One sentence naming how many parameters are placeholders, the first few of them, and
        the fix; "" when every parameter is the district's own.

    Examples
    --------
    >>> placeholder_caveat(load_fund_params(), balance=[-1.0, 2.0], lang="en")[:60]
    '18 fund-balance parameters are still the bundled placeholder'
    """
    from geo_renewal.schema import label
    from geo_renewal.text import say

    keys = placeholder_keys(params, cashflow=cashflow)
    if not keys:
        return ""
    short = [label(k, lang or "zh").split("（")[0].split(" (")[0] for k in keys[:4]]
    names = say("progress.list_separator", lang).join(short)
    names += say("caveat.and_more", lang) if len(keys) > 4 else ""
    values = np.asarray([] if balance is None else balance, dtype=float)
    return say(
        "caveat.fund_placeholder",
        lang,
        n=len(keys),
        keys=names,
        n_loss=int((values < 0).sum()),
        n_projects=len(values),
    )


@dataclass(frozen=True)
class FundOptions:
    """
    The money keys of a project file's ``[fund]`` beyond ``params`` (`fund_options_from_doc`).

    Attributes
    ----------
    compensation
        The compensation scheme (TOML) to price the buildings with, or None (the bundled
        placeholders when ``[layers.buildings]`` is given).
    cashflow
        Place the fund balance on the calendar and finance it (default true).
    """

    compensation: Path | None = None
    cashflow: bool = True


def fund_options_from_doc(fund: Mapping[str, Any], *, base: Path, source: Path) -> FundOptions:
    """
    Check ``[fund] compensation`` and ``[fund] cashflow`` of a project file.

    Parameters
    ----------
    fund
        The ``[fund]`` table.
    base
        The project file's folder (relative paths start there).
    source
        The project file, for messages.

    Returns
    -------
    options
        The checked `FundOptions`.

    Raises
    ------
    InputError
        Naming the file and key: a scheme file that does not exist, ``cashflow`` not true
        or false.

    Examples
    --------
    >>> fund_options_from_doc({"cashflow": False}, base=Path("."), source=Path("plan.toml"))
    FundOptions(compensation=None, cashflow=False)
    """
    cashflow = fund.get("cashflow", True)
    if not isinstance(cashflow, bool):
        msg = f"{source}: `fund.cashflow` must be true or false, got {cashflow!r}; write e.g. true"
        raise InputError(msg)
    scheme = fund.get("compensation")
    if scheme is None:
        return FundOptions(cashflow=cashflow)
    if not isinstance(scheme, str) or not scheme:
        msg = f"{source}: `fund.compensation` must be a file path, got {scheme!r}; write it as a string"
        raise InputError(msg)
    path = Path(scheme) if Path(scheme).is_absolute() else base / scheme
    if not path.exists():
        msg = (
            f"{source}: `fund.compensation` names {path}, which does not exist; fix the path "
            f"(relative paths start at the project file)"
        )
        raise InputError(msg)
    return FundOptions(compensation=path.resolve(), cashflow=cashflow)
