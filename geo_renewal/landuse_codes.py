"""
Land-use codes of the office's own data: 三调 (GB/T 21010-2017), 用地用海 2023, GB 50137-2011.

The code tables and the crosswalk onto the toolkit's land-use classes are data files in
``geo_renewal/codes/`` (CSV, with their sources in the header). `read_layer(kind=...)` calls
`recognise_land_use` on the canonical columns: a code column (``dlbm``, ``ydyhfldm``,
``land_use_code``, or ``land_use`` / ``planned_use`` holding codes) or a name column
(``dlmc``, ``ydyhflmc``, ``land_use_name``) is read in either form; the original code, its
scheme and its official name are kept (``land_use_code``, ``land_use_scheme``,
``land_use_name``) and ``land_use`` is the class of the crosswalk. Unknown codes are
findings naming the closest valid code. The details are in docs/guide/reading.md.
"""

from __future__ import annotations

import csv
import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from geo_renewal import schema, settings
from geo_renewal._errors import InputError

__all__ = [
    "SCHEMES",
    "CodeTable",
    "LandUseCode",
    "closest_code",
    "code_tables",
    "crosswalk",
    "land_use_of",
    "normalise_code",
    "recognise_land_use",
]


@dataclass(frozen=True)
class LandUseCode:
    """
    One code of a classification.

    Attributes
    ----------
    code
        The code as the standard writes it (``"0702"``, ``"05H1"``, ``"R2"``).
    name_zh, name_en
        The official name and an English gloss.
    level
        1, 2 or 3 (一级, 二级, 三级类 / 大类, 中类, 小类).
    parent
        The code one level up, or ``""``.
    origin
        The document that defines it (``"GB/T 21010-2017"``, ``"三调"`` …).
    """

    code: str
    name_zh: str
    name_en: str
    level: int
    parent: str
    origin: str


@dataclass(frozen=True)
class CodeTable:
    """
    A classification: its codes and the lookup of its names.

    Attributes
    ----------
    scheme
        Key of `SCHEMES` (``"gbt21010"``, ``"ydyh2023"``, ``"gb50137"``).
    codes
        Code -> `LandUseCode`, in the order of the file.
    names
        Official name -> code (the first, highest-level code of that name).
    """

    scheme: str
    codes: dict[str, LandUseCode]
    names: dict[str, str]

    def name(self, code: str) -> str:
        """Return the official name of `code`."""
        return self.codes[code].name_zh


#: The classifications: key -> (file, label zh, label en, source).
SCHEMES: dict[str, tuple[str, str, str, str]] = {
    "gbt21010": (
        "gbt21010_2017.csv",
        "三调 / 土地利用现状分类",
        "3rd land survey (GB/T 21010-2017)",
        "GB/T 21010-2017 土地利用现状分类; 第三次全国国土调查工作分类 (TD/T 1055-2019)",
    ),
    "ydyh2023": (
        "ydyh_2023.csv",
        "用地用海分类",
        "Land and sea use classification 2023",
        "国土空间调查、规划、用途管制用地用海分类指南 (自然资发〔2023〕234号)",
    ),
    "gb50137": (
        "gb50137_2011.csv",
        "城市用地分类",
        "Urban land use (GB 50137-2011)",
        "GB 50137-2011 城市用地分类与规划建设用地标准",
    ),
}

#: Code column, name column and the scheme they are written in (None: recognised by values).
_SOURCES: tuple[tuple[str, str, str | None], ...] = (
    ("dlbm", "dlmc", "gbt21010"),
    ("ydyhfldm", "ydyhflmc", "ydyh2023"),
    ("land_use_code", "land_use_name", None),
)
#: Order in which an ambiguous column's scheme is assumed (codes valid in several).
_PREFERENCE = ("ydyh2023", "gbt21010", "gb50137")
_MIXED = re.compile(r"[/、,，+＋;；\s]+")


def _data_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _read_csv(path: Path | None, package_file: str) -> list[dict[str, str]]:
    if path is None:
        text = resources.files("geo_renewal.codes").joinpath(package_file).read_text("utf-8")
    else:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            msg = f"cannot read the land-use crosswalk `{path}` ({e}); give a UTF-8 CSV file."
            raise InputError(msg) from e
    return list(csv.DictReader(_data_lines(text)))


@functools.cache
def code_tables() -> dict[str, CodeTable]:
    """
    Return the bundled code tables by scheme.

    Returns
    -------
    tables
        ``{"gbt21010": CodeTable, "ydyh2023": ..., "gb50137": ...}``.

    Examples
    --------
    >>> tables = code_tables()
    >>> tables["gbt21010"].name("0702"), tables["ydyh2023"].name("0702")
    ('农村宅基地', '城镇社区服务设施用地')
    >>> tables["gb50137"].codes["R2"].name_zh
    '二类居住用地'
    """
    out = {}
    for scheme, (file, *_rest) in SCHEMES.items():
        codes: dict[str, LandUseCode] = {}
        for r in _read_csv(None, file):
            codes[r["code"]] = LandUseCode(
                r["code"], r["name_zh"], r["name_en"], int(r["level"]), r["parent"], r["origin"]
            )
        names: dict[str, str] = {}
        for c in sorted(codes.values(), key=lambda c: c.level):
            names.setdefault(c.name_zh, c.code)
        out[scheme] = CodeTable(scheme, codes, names)
    return out


def crosswalk(path: str | Path | None = None) -> dict[tuple[str, str], str]:
    """
    Return the crosswalk ``(scheme, code) -> land-use class`` (a key of `schema.LAND_USES`).

    Parameters
    ----------
    path
        An edited copy of ``geo_renewal/codes/crosswalk.csv`` (columns ``scheme``, ``code``,
        ``land_use``); default `settings.landuse_crosswalk`, else the bundled file. Codes a
        copy leaves out keep the bundled class.

    Returns
    -------
    crosswalk
        ``{("gbt21010", "0702"): "rural_homestead", ...}``.

    Raises
    ------
    InputError
        If a row names an unknown scheme, code or class (one sentence naming the row).

    Examples
    --------
    >>> cw = crosswalk()
    >>> cw["gbt21010", "0702"], cw["ydyh2023", "070301"], cw["gb50137", "B1"]
    ('rural_homestead', 'rural_homestead', 'commercial')
    """
    path = path if path is not None else getattr(settings, "landuse_crosswalk", None)
    table = dict(_bundled_crosswalk())
    if path is not None:
        table.update(_checked_rows(_read_csv(Path(path), ""), str(path)))
    return table


@functools.cache
def _bundled_crosswalk() -> tuple[tuple[tuple[str, str], str], ...]:
    return tuple(_checked_rows(_read_csv(None, "crosswalk.csv"), "crosswalk.csv").items())


def _checked_rows(rows: Iterable[Mapping[str, str]], name: str) -> dict[tuple[str, str], str]:
    tables = code_tables()
    out = {}
    for i, r in enumerate(rows, start=2):
        scheme, code, cls = (str(r.get(k) or "").strip() for k in ("scheme", "code", "land_use"))
        if scheme not in tables:
            msg = f"`{name}` row {i}: scheme {scheme!r} is not one of {list(tables)}."
            raise InputError(msg)
        if code not in tables[scheme].codes:
            hint = closest_code(code, scheme)
            msg = f"`{name}` row {i}: {code!r} is not a code of {scheme}" + (
                f"; did you mean {hint!r}?" if hint else "."
            )
            raise InputError(msg)
        if cls not in schema.LAND_USES:
            msg = (
                f"`{name}` row {i}: land_use {cls!r} is not one of {list(schema.LAND_USES)}; "
                "write one of them."
            )
            raise InputError(msg)
        out[scheme, code] = cls
    return out


def normalise_code(value: Any, scheme: str | None = None) -> str | None:
    """
    Return a code as the tables write it (full-width folded, upper case, zeros restored).

    Parameters
    ----------
    value
        A cell: ``"０７０２"``, ``" r2 "``, ``702`` (a code read as a number) …
    scheme
        With a scheme, numbers that lost their leading zero get it back when that makes a
        valid code.

    Returns
    -------
    code
        The code text, or None for a blank cell.

    Examples
    --------
    >>> normalise_code("０７０２"), normalise_code(" r2 "), normalise_code(702, "gbt21010")
    ('0702', 'R2', '0702')
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().upper()
    if not text or text in ("NAN", "NONE", "<NA>"):
        return None
    if scheme is not None and text.isdigit() and len(text) % 2 == 1:
        padded = "0" + text
        if padded in code_tables()[scheme].codes:
            return padded
    return text


def closest_code(value: Any, scheme: str) -> str | None:
    """
    Return the valid code of `scheme` closest to `value` (a code or a name), or None.

    Parameters
    ----------
    value
        The unknown code, e.g. ``"07O2"`` or ``"0712"``.
    scheme
        A key of `SCHEMES`.

    Returns
    -------
    code
        The closest code, or None if nothing is close.

    Examples
    --------
    >>> closest_code("07O2", "gbt21010"), closest_code("农村宅基", "ydyh2023")
    ('0702', '0703')
    """
    table = code_tables()[scheme]
    text = normalise_code(value) or ""
    if text in table.names:
        return table.names[text]
    close = difflib.get_close_matches(text, list(table.codes), n=1, cutoff=0.5)
    if close:
        return close[0]
    names = difflib.get_close_matches(str(value), list(table.names), n=1, cutoff=0.6)
    return table.names[names[0]] if names else None


def land_use_of(code: Any, scheme: str) -> str | None:
    """
    Return the land-use class of a code by the crosswalk, or None if it is not a code.

    Parameters
    ----------
    code
        The code (any spelling `normalise_code` folds) or its official name.
    scheme
        A key of `SCHEMES`.

    Returns
    -------
    land_use
        A key of `schema.LAND_USES`.

    Examples
    --------
    >>> land_use_of("0702", "gbt21010"), land_use_of("0702", "ydyh2023")
    ('rural_homestead', 'public')
    >>> land_use_of("二类居住用地", "gb50137")
    'residential'
    """
    found = _lookup(code, scheme)
    return None if found is None else crosswalk().get((scheme, found[0]))


def _lookup(value: Any, scheme: str) -> tuple[str, str] | None:
    """Return ``(code, how)`` of a cell in `scheme`: how is code, name or mixed; or None."""
    table = code_tables()[scheme]
    text = normalise_code(value, scheme)
    if text is None:
        return None
    if text in table.codes:
        return text, "code"
    name = unicodedata.normalize("NFKC", str(value)).strip()
    if name in table.names:
        return table.names[name], "name"
    parts = [p for p in _MIXED.split(text) if p]
    if len(parts) == 1 and scheme == "gb50137":
        parts = re.findall(r"[A-Z]\d{0,2}", text) if re.fullmatch(r"([A-Z]\d{0,2})+", text) else []
    if len(parts) > 1 and all(normalise_code(p, scheme) in table.codes for p in parts):
        return str(normalise_code(parts[0], scheme)), "mixed"
    return None


def _scheme_of(values: list[Any], preferred: str | None, names: list[Any] | None) -> str:
    """Return the scheme in which most distinct values are codes (ties: name agreement, preference)."""
    tables = code_tables()
    order = (preferred, *(s for s in _PREFERENCE if s != preferred)) if preferred else _PREFERENCE

    def score(s: str) -> tuple[int, int, int]:
        hits = sum(_lookup(v, s) is not None for v in values)
        agree = 0
        if names is not None:
            for v, n in zip(values, names, strict=True):
                found = _lookup(v, s)
                agree += found is not None and tables[s].name(found[0]) == str(n).strip()
        return hits, agree, -order.index(s)

    return max(order, key=score)


def recognise_land_use(frame: Any, *, name: str) -> tuple[Any, list[dict[str, Any]]]:
    """
    Read land-use codes or names of a layer with canonical headers; return it and findings.

    The first code column present (``dlbm``, ``ydyhfldm``, ``land_use_code``; else
    ``land_use`` when it holds codes rather than classes) gives ``land_use_code``,
    ``land_use_scheme``, ``land_use_name`` and, where ``land_use`` is missing, ``land_use``
    by the crosswalk. A ``planned_use`` holding codes (a 控规 layer: ``R2``, ``B1``) becomes
    classes too, its codes kept in ``planned_use_code``. Unknown codes keep their text, get
    no class and are findings with the closest valid code.

    Parameters
    ----------
    frame
        A (Geo)DataFrame with canonical column names.
    name
        The file, for messages.

    Returns
    -------
    frame, findings
        The frame with the columns added, and findings keyed by
        `geo_renewal._findings.FINDING_COLUMNS`.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"dlbm": ["0702", "05H1", "07O2"], "dlmc": ["农村宅基地", "", ""]})
    >>> out, findings = recognise_land_use(df, name="dltb.shp")
    >>> out[["land_use_code", "land_use_scheme", "land_use"]].values.tolist()
    [['0702', 'gbt21010', 'rural_homestead'], ['05H1', 'gbt21010', 'commercial'], ['07O2', 'gbt21010', None]]
    >>> findings[0]["message"]  # doctest: +ELLIPSIS
    "`dltb.shp`: dlbm '07O2' (1 row) is not a code of 三调 / 土地利用现状分类; the closest is '0702' (农村宅基地)..."
    """
    findings: list[dict[str, Any]] = []
    source = _source_of(frame)
    if source is not None:
        code_col, name_col, preferred = source
        updates = _decode(frame, code_col, name_col, preferred, "land_use", name, findings)
        frame = frame.assign(**updates)
    if "planned_use" in frame.columns and _holds_codes(frame["planned_use"]):
        updates = _decode(frame, "planned_use", None, None, "planned_use", name, findings)
        updates = {k: v for k, v in updates.items() if k.startswith("planned_use")}
        frame = frame.assign(**updates)
    return frame, findings


def _source_of(frame: Any) -> tuple[str, str | None, str | None] | None:
    for code_col, name_col, preferred in _SOURCES:
        if code_col in frame.columns:
            return code_col, name_col if name_col in frame.columns else None, preferred
        if name_col in frame.columns:
            return name_col, None, preferred
    if "land_use" in frame.columns and _holds_codes(frame["land_use"]):
        return "land_use", None, None
    return None


def _holds_codes(s: Any) -> bool:
    """Tell whether most values that are not land-use classes are codes or names of a table."""
    aliases = schema.VALUE_ALIASES.get("land_use", {})
    rest = [
        v
        for v in s.dropna().unique()
        if not (isinstance(v, str) and (v in schema.LAND_USES or v.strip() in aliases))
        and normalise_code(v) is not None
    ]
    if not rest:
        return False
    known = sum(any(_lookup(v, sc) is not None for sc in SCHEMES) for v in rest)
    return known * 2 >= len(rest)


def _decode(
    frame: Any,
    code_col: str,
    name_col: str | None,
    preferred: str | None,
    target: str,
    name: str,
    findings: list[dict[str, Any]],
) -> dict[str, Any]:
    """Return the new columns for `target` decoded from `code_col`; add findings."""
    import pandas as pd

    values = frame[code_col]
    names = frame[name_col] if name_col is not None else None
    distinct = [v for v in values.dropna().unique() if normalise_code(v) is not None]
    pairs = None
    if names is not None:
        sample = frame[[code_col, name_col]].drop_duplicates()
        pairs = (sample[code_col].tolist(), sample[name_col].tolist())
    scheme = _scheme_of(pairs[0] if pairs else distinct, preferred, pairs[1] if pairs else None)
    table, cw = code_tables()[scheme], crosswalk()
    decoded: dict[Any, tuple[str | None, str | None, str | None]] = {}
    bad: dict[str, list[Any]] = {}
    for v in distinct:
        found = _lookup(v, scheme)
        if found is None:
            decoded[v] = (normalise_code(v), None, None)
            bad.setdefault(str(v), [])
        else:
            decoded[v] = (found[0], table.name(found[0]), cw.get((scheme, found[0])))

    # one lookup per distinct value (factorize), then take: no Python call per row
    positions, uniques = pd.factorize(values)

    def part(i: int) -> pd.Series:
        table = [decoded.get(u, (None, None, None))[i] for u in uniques]
        taken = np.asarray([*table, None], dtype=object)[positions]
        return pd.Series(taken, index=values.index, dtype=object)

    codes = part(0)
    keep = codes.notna()
    out = {
        f"{target}_code": codes,
        f"{target}_scheme": pd.Series(scheme, index=frame.index, dtype=object).where(keep, None),
        f"{target}_name": part(1),
    }
    classes = part(2)
    if target not in frame.columns or target == code_col or frame[target].isna().all():
        out[target] = classes
    else:
        out[target] = frame[target].where(frame[target].notna(), classes)
    _report_unknown(values, names, bad, code_col, scheme, name, findings)
    if names is not None:
        _report_disagreement(values, names, decoded, code_col, name_col, scheme, name, findings)
    return out


def _rows_text(labels: list[Any]) -> str:
    return "1 row" if len(labels) == 1 else f"{len(labels)} rows"


def _report_unknown(
    values: Any,
    names: Any,
    bad: dict[str, list[Any]],
    code_col: str,
    scheme: str,
    name: str,
    findings: list[dict[str, Any]],
) -> None:
    if not bad:
        return
    table = code_tables()[scheme]
    label = SCHEMES[scheme][1]
    text = values.astype(str)
    for v in bad:
        rows = list(values.index[(text == v) & values.notna()])
        hint = None
        if names is not None:
            given = {str(n).strip() for n in names[rows]}
            hint = next((table.names[n] for n in given if n in table.names), None)
        hint = hint or closest_code(v, scheme)
        fix = f"the closest is {hint!r} ({table.name(hint)})" if hint else "nothing is close"
        message = (
            f"`{name}`: {code_col} {v!r} ({_rows_text(rows)}) is not a code of {label}; "
            f"{fix}. The rows are kept without a land-use class; correct the code, or add "
            f"it to the code table and the crosswalk (docs/guide/reading.md)"
        )
        findings.extend(  # one per row (the same sentence: warned once)
            _finding(
                message,
                column=code_col,
                problem="unknown_land_use_code",
                value=f"{v} → {hint}" if hint else v,
                row=r,
            )
            for r in rows
        )


def _report_disagreement(
    values: Any,
    names: Any,
    decoded: dict[Any, tuple[str | None, str | None, str | None]],
    code_col: str,
    name_col: str | None,
    scheme: str,
    name: str,
    findings: list[dict[str, Any]],
) -> None:
    """Report codes whose official name differs from the name column (the code is used)."""
    import pandas as pd

    ci, cu = pd.factorize(values)  # -1 for a missing value
    ni, nu = pd.factorize(names)
    width = len(nu) + 1
    keys, pair_ids = np.unique((ci.astype(np.int64) + 1) * width + ni + 1, return_inverse=True)
    pairs = []
    for key in keys:
        c, m = divmod(int(key), width)
        pairs.append((cu[c - 1] if c > 0 else None, nu[m - 1] if m > 0 else None))
    for k, (v, n) in enumerate(pairs):
        official = decoded.get(v, (None, None, None))[1]
        given = "" if n is None or n != n else unicodedata.normalize("NFKC", str(n)).strip()
        if official is None or not given or given == official:
            continue
        rows = list(values.index[pair_ids == k])
        message = (
            f"`{name}`: {code_col} {str(v)!r} is {official} but {name_col} says {given!r} "
            f"({_rows_text(rows)}); the code is used — check which one is right"
        )
        findings.extend(
            _finding(
                message,
                column=code_col,
                problem="code_name_mismatch",
                value=f"{v} ≠ {given}",
                row=r,
            )
            for r in rows
        )


def _finding(
    message: str, *, column: str, problem: str, value: Any, row: Any = None
) -> dict[str, Any]:
    return {
        "row": row,
        "id": None,
        "column": column,
        "problem": problem,
        "severity": "warning",
        "action": "kept; no land-use class" if problem.startswith("unknown") else "reported",
        "message": message,
        "value": value,
    }
