"""
The 63号文 checks: demolition share and 拆建比 per renewal unit (docs: domain.md §2).

`policy_checks` adds the indicators and their violations to a `zone_stats` table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo_renewal._checks import check_lang
from geo_renewal._errors import SchemaError
from geo_renewal.schema import RESERVED_ROWS
from geo_renewal.text import say

__all__ = ["MAX_DEMOLITION_SHARE", "MAX_REBUILD_RATIO", "policy_checks"]


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
