"""
The 63号文 checks per renewal unit (更新单元): demolition share, 拆建比, nearby rate (DOMAIN.md §2).

`unit_policy` adds the three checks, the verdict and the reason in words to a table of real
renewal units (`geo_renewal.units.unit_checks`); `policy_checks` adds the first two
indicators to any `zone_stats` table (meaningful only when its groups are renewal units).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo_renewal._checks import check_lang
from geo_renewal._errors import SchemaError
from geo_renewal.schema import RESERVED_ROWS
from geo_renewal.text import say

__all__ = [
    "MAX_DEMOLITION_SHARE",
    "MAX_REBUILD_RATIO",
    "MIN_NEARBY_RATE",
    "policy_checks",
    "unit_policy",
]


#: 63号文: demolished floor area at most 20 % of the unit's existing floor area.
MAX_DEMOLITION_SHARE = 0.20


#: 63号文: 拆建比 (new floor area ÷ demolished floor area) at most 2.
MAX_REBUILD_RATIO = 2.0


def policy_checks(
    stats: pd.DataFrame,
    *,
    max_demolition_share: float = MAX_DEMOLITION_SHARE,
    max_rebuild_ratio: float = MAX_REBUILD_RATIO,
    lang: str | None = None,
) -> pd.DataFrame:
    """
    Add the 63号文 indicators and their violations to a `zone_stats` table.

    MOHURD 建科〔2021〕63号 (DOMAIN.md §2) limits, per renewal unit, the demolished floor area
    to 20 % of the unit's existing floor area — illegal structures and C/D dangerous
    buildings are exempt, so ``demolition_share = (demolish_floor_area_m2 −
    exempt_floor_area_m2) ÷ floor_area_m2`` — and the 拆建比 ``rebuild_ratio =
    planned_floor_area_m2 ÷ demolish_floor_area_m2`` to 2. A ratio whose denominator is 0
    is NaN (nothing to limit). Limits are checked on the group rows only: the outside,
    missing and total rows get indicators but no violations.

    Parameters
    ----------
    stats
        A table from `zone_stats` with ``floor_area_m2`` and ``demolish_floor_area_m2``
        (``exempt_floor_area_m2`` and ``planned_floor_area_m2`` when available).
    max_demolition_share
        Limit of the demolition share (fraction).
    max_rebuild_ratio
        Limit of the 拆建比.
    lang
        Language of the ``violations`` texts (``"zh"`` or ``"en"``); defaults to
        `settings.lang`.

    Returns
    -------
    checked
        A copy of `stats` with ``demolition_share``, ``rebuild_ratio`` (when planned floor
        area is known) and ``violations`` (the broken limits in words, "" if none).

    Raises
    ------
    SchemaError
        If `stats` lacks the floor-area columns.

    Examples
    --------
    >>> import pandas as pd
    >>> stats = pd.DataFrame({"floor_area_m2": [1000.0, 1000.0],
    ...     "demolish_floor_area_m2": [300.0, 100.0], "exempt_floor_area_m2": [0.0, 0.0],
    ...     "planned_floor_area_m2": [400.0, 500.0]}, index=["A", "B"])
    >>> policy_checks(stats, lang="en")["violations"].tolist()
    ['demolition share 30.0% > 20%', 'rebuild ratio 5.00 > 2']
    """
    lang = check_lang(lang)
    need = [c for c in ("floor_area_m2", "demolish_floor_area_m2") if c not in stats.columns]
    if need:
        msg = (
            f"`stats` lacks {need}; compute it with `zone_stats` on parcels that have "
            f"`floor_area` and `category` columns."
        )
        raise SchemaError(msg)
    out = stats.copy()
    floor = out["floor_area_m2"].to_numpy(dtype=float)
    demolished = out["demolish_floor_area_m2"].to_numpy(dtype=float)
    exempt = (
        out["exempt_floor_area_m2"].to_numpy(dtype=float)
        if "exempt_floor_area_m2" in out.columns
        else np.zeros(len(out))
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(floor > 0, (demolished - exempt) / floor, np.nan)
    out["demolition_share"] = share
    ratio = None
    if "planned_floor_area_m2" in out.columns:
        planned = out["planned_floor_area_m2"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(demolished > 0, planned / demolished, np.nan)
        out["rebuild_ratio"] = ratio
    sep = say("policy.separator", lang)
    texts = []
    for r, key in enumerate(out.index):
        if isinstance(key, str) and key in RESERVED_ROWS:
            texts.append("")
            continue
        broken = []
        if share[r] > max_demolition_share:
            broken.append(
                say("policy.demolition_share", lang, v=share[r], lim=max_demolition_share)
            )
        if ratio is not None and ratio[r] > max_rebuild_ratio:
            broken.append(say("policy.rebuild_ratio", lang, v=ratio[r], lim=max_rebuild_ratio))
        texts.append(sep.join(broken))
    out["violations"] = pd.Series(texts, index=out.index, dtype="string")
    return out


#: 63号文: at least 50 % of a unit's households needing a flat resettled on site or nearby.
MIN_NEARBY_RATE = 0.5


def unit_policy(
    table: pd.DataFrame,
    *,
    max_demolition_share: float = MAX_DEMOLITION_SHARE,
    max_rebuild_ratio: float = MAX_REBUILD_RATIO,
    min_nearby_rate: float = MIN_NEARBY_RATE,
    lang: str | None = None,
) -> pd.DataFrame:
    """
    Add the three 63号文 checks, their verdict and the reason in words to a units table.

    The checks are those of DOMAIN.md §2, per renewal unit (更新单元): the demolition share
    ``(demolish_floor_area_m2 − exempt_floor_area_m2) ÷ floor_area_m2`` at most 20 %
    (illegal structures and C/D dangerous buildings are exempt), the 拆建比
    ``planned_floor_area_m2 ÷ demolish_floor_area_m2`` at most 2 where the planned floor area
    is known, and the 就地就近安置率 ``nearby_households ÷ flat_households`` at least 50 %
    where households need a flat. A check without its data is "not checked", never passed.
    Rows labelled with a reserved row code (outside every unit, total) get the indicators
    but no verdict.

    Parameters
    ----------
    table
        One row per unit with ``floor_area_m2``, ``demolish_floor_area_m2`` and
        ``exempt_floor_area_m2``; optional ``planned_floor_area_m2``, ``flat_households`` and
        ``nearby_households``.
    max_demolition_share, max_rebuild_ratio, min_nearby_rate
        The limits.
    lang
        Language of the texts (``"zh"`` or ``"en"``); defaults to `settings.lang`.

    Returns
    -------
    checked
        A copy with ``demolition_share``, ``rebuild_ratio``, ``nearby_rate``, the nullable
        booleans ``meets_demolition_share``, ``meets_rebuild_ratio``, ``meets_nearby_rule``,
        ``violations`` (the broken limits, "" if none), ``verdict`` (passes / fails /
        incomplete) and ``reason`` (every check in words).

    Raises
    ------
    SchemaError
        If a floor-area column is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"floor_area_m2": [10_000.0], "demolish_floor_area_m2": [3_000.0],
    ...     "exempt_floor_area_m2": [1_500.0], "planned_floor_area_m2": [4_500.0],
    ...     "flat_households": [40.0], "nearby_households": [30.0]}, index=["老城单元"])
    >>> row = unit_policy(t, lang="en").iloc[0]
    >>> row["verdict"], float(row["demolition_share"]), float(row["rebuild_ratio"])
    ('passes', 0.15, 1.5)
    >>> row["reason"]
    'demolition share 15.0% ≤ 20% (exempt illegal and C/D buildings: 1,500 m²); rebuild ratio 1.50 ≤ 2; nearby rate 75.0% ≥ 50%'

    """
    lang = check_lang(lang)
    need = [
        c
        for c in ("floor_area_m2", "demolish_floor_area_m2", "exempt_floor_area_m2")
        if c not in table.columns
    ]
    if need:
        msg = f"the units table lacks {need}; compute it with `geo_renewal.units.unit_checks`."
        raise SchemaError(msg)
    out = table.copy()
    floor, demolished, exempt, planned, flats, nearby = (
        _column(out, c)
        for c in (
            "floor_area_m2",
            "demolish_floor_area_m2",
            "exempt_floor_area_m2",
            "planned_floor_area_m2",
            "flat_households",
            "nearby_households",
        )
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(floor > 0, (demolished - exempt) / floor, np.nan)
        ratio = np.where(demolished > 0, planned / demolished, np.nan)
        rate = np.where(flats > 0, nearby / flats, np.nan)
    out["demolition_share"] = share
    out["rebuild_ratio"] = ratio
    out["nearby_rate"] = rate
    limits = (max_demolition_share, max_rebuild_ratio, min_nearby_rate)
    tests = (share <= limits[0], ratio <= limits[1], rate >= limits[2])
    for name, value, test in zip(_MEETS, (share, ratio, rate), tests, strict=True):
        flag = pd.array(test, dtype="boolean")
        flag[np.isnan(value)] = pd.NA
        out[name] = flag
    words = [
        _unit_words(key, out.iloc[r], exempt[r], planned[r], flats[r], limits, lang)
        for r, key in enumerate(out.index)
    ]
    out["violations"] = pd.array([w[0] for w in words], dtype="string")
    out["verdict"] = pd.array([w[1] for w in words], dtype="string")
    out["reason"] = pd.array([w[2] for w in words], dtype="string")
    return out


#: The verdict columns of `unit_policy`, in check order.
_MEETS = ("meets_demolition_share", "meets_rebuild_ratio", "meets_nearby_rule")


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    if name not in table.columns:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)


def _unit_words(
    key: object,
    row: pd.Series,
    exempt: float,
    planned: float,
    flats: float,
    limits: tuple[float, float, float],
    lang: str,
) -> tuple[str, str, str]:
    """(violations, verdict, reason) of one unit; reserved rows get no verdict."""
    if isinstance(key, str) and key in RESERVED_ROWS:
        return "", "", ""
    share, ratio, rate = row["demolition_share"], row["rebuild_ratio"], row["nearby_rate"]
    parts: list[str] = []
    broken: list[str] = []
    missing = False
    if np.isnan(share):
        parts.append(say("policy.no_floor_area", lang))
        missing = True
    else:
        ok = bool(row["meets_demolition_share"])
        text = say(
            "policy.demolition_share" if not ok else "policy.demolition_share_ok",
            lang,
            v=share,
            lim=limits[0],
        )
        if exempt > 0:
            text += say("policy.exempt", lang, m2=exempt)
        parts.append(text)
        if not ok:
            broken.append(say("policy.demolition_share", lang, v=share, lim=limits[0]))
    if np.isnan(ratio):
        no_demolition = row["demolish_floor_area_m2"] <= 0
        parts.append(
            say("policy.rebuild_none" if no_demolition else "policy.rebuild_unknown", lang)
        )
        missing = missing or (not no_demolition and np.isnan(planned))
    else:
        ok = bool(row["meets_rebuild_ratio"])
        key_ = "policy.rebuild_ratio" if not ok else "policy.rebuild_ratio_ok"
        parts.append(say(key_, lang, v=ratio, lim=limits[1]))
        if not ok:
            broken.append(say("policy.rebuild_ratio", lang, v=ratio, lim=limits[1]))
    if np.isnan(rate):
        # No plan (flats unknown) with households to move: not checked; else nothing to check.
        moving = float(row.get("demolish_households", np.nan))  # NaN: households not known
        unknown = bool(np.isnan(flats) and (np.isnan(moving) or moving > 0))
        parts.append(say("policy.nearby_unknown" if unknown else "policy.nearby_none", lang))
        missing = missing or unknown
    else:
        ok = bool(row["meets_nearby_rule"])
        parts.append(
            say("policy.nearby_ok" if ok else "policy.nearby_bad", lang, v=rate, lim=limits[2])
        )
        if not ok:
            broken.append(say("policy.nearby_bad", lang, v=rate, lim=limits[2]))
    sep = say("policy.separator", lang)
    if broken:
        verdict = say("policy.verdict_fails", lang)
    elif missing:
        verdict = say("policy.verdict_incomplete", lang)
    else:
        verdict = say("policy.verdict_passes", lang)
    return sep.join(broken), verdict, sep.join(parts)
