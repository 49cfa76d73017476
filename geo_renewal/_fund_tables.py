"""
The fund balance's meeting tables: the sheets in 万元 with labelled headers, and the workbook.

Private to `geo_renewal.fund`, which re-exports `fund_tables` and `write_fund_tables`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from geo_renewal import schema
from geo_renewal._checks import check_lang
from geo_renewal._errors import InputError
from geo_renewal.fund_params import placeholder_caveat
from geo_renewal.text import say

if TYPE_CHECKING:
    from geo_renewal.fund import FundBalance

__all__ = ["MONEY_COLUMNS", "fund_tables", "write_fund_tables"]

#: Money columns of the result tables (元).
MONEY_COLUMNS: tuple[str, ...] = tuple(schema.FUND_MONEY_LABELS)


def fund_tables(
    balance: FundBalance, *, unit: str = "wan", lang: str | None = None
) -> dict[str, pd.DataFrame]:
    """
    Return the fund-balance tables ready for `geo_renewal.tables.write_tables`.

    Money columns are converted to 万元 (``unit="wan"``; columns renamed ``<name>_wan``,
    labelled "（万元）") or kept in 元 (``unit="yuan"``). Sheets: bundles (区域平衡),
    projects (项目测算), plots (出让地块), sensitivity (a wide table: one balance column per
    land price change) and the parameters used.

    Parameters
    ----------
    balance
        Output of `fund_balance`.
    unit
        ``"wan"`` (万元, default) or ``"yuan"`` (元).
    lang
        Sheet-name language; defaults to `settings.lang`.

    Returns
    -------
    tables
        Sheet name -> DataFrame.

    Examples
    --------
    >>> from geo_renewal.fund import fund_balance
    >>> projects = pd.DataFrame({"project_id": ["A"], "project_type": ["demolish"],
    ...     "households": [10], "demolished_floor_area": [1000.0], "land_area": [2000.0]})
    >>> sheets = fund_tables(fund_balance(projects), lang="en")
    >>> list(sheets), round(float(sheets["Bundles"]["comp_appraised_wan"].iloc[0]))
    (['Bundles', 'Projects', 'Sale plots', 'Sensitivity', 'Parameters'], 1500)
    """
    lang = check_lang(lang)
    if unit not in ("wan", "yuan"):
        msg = f"`unit` must be 'wan' (万元) or 'yuan' (元); got {unit!r}."
        raise InputError(msg)
    money = set(MONEY_COLUMNS) | set(schema.CASHFLOW_MONEY_LABELS)

    def convert(df: pd.DataFrame) -> pd.DataFrame:
        if unit == "yuan":
            return df
        out = df.copy()
        for c in df.columns:
            if c in money:
                out[c] = df[c] / 1e4
        return out.rename(columns={c: f"{c}_wan" for c in df.columns if c in money})

    sens = balance.sensitivity.copy()
    sens["change"] = sens["land_price_change"].map(lambda c: f"{c:+.0%}" if c else "0%")
    value = "balance" if unit == "yuan" else "balance_wan"
    wide = convert(sens).pivot_table(index="bundle", columns="change", values=value, sort=False)
    wide = wide.reindex(
        index=list(dict.fromkeys(sens["bundle"])),
        columns=list(dict.fromkeys(sens["change"])),
    )
    wide.columns = [say("fund.land_price", lang, change=c) for c in wide.columns]
    wide.index.name = "bundle"
    names = [
        say(f"fund.sheet.{k}", lang)
        for k in ("bundles", "projects", "plots", "sensitivity", "parameters")
    ]
    sheets = dict(
        zip(
            names,
            (
                convert(balance.bundles),
                convert(balance.projects.drop(columns="geometry", errors="ignore")),
                convert(balance.plots),
                wide,
                balance.params.table(lang),
            ),
            strict=True,
        )
    )
    from geo_renewal.cashflow import money_over_time_tables

    sheets.update(money_over_time_tables(balance, convert=convert, lang=lang))
    return sheets


def write_fund_tables(
    balance: FundBalance, path: str | Path, *, unit: str = "wan", lang: str | None = None
) -> Path:
    """
    Write the fund-balance tables (`fund_tables`) to a workbook (or CSV / Markdown).

    Parameters
    ----------
    balance
        Output of `fund_balance`.
    path
        File to write; the format follows the suffix, as for `geo_renewal.tables.write_tables`.
    unit
        ``"wan"`` (万元, default) or ``"yuan"`` (元).
    lang
        Sheet and header language; defaults to `settings.lang`.

    Returns
    -------
    path
        The file written.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from geo_renewal.fund import fund_balance
    >>> projects = pd.DataFrame({"project_id": ["A"], "project_type": ["demolish"],
    ...     "households": [10], "demolished_floor_area": [1000.0], "land_area": [2000.0]})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     written = write_fund_tables(fund_balance(projects), Path(tmp) / "fund.xlsx")
    ...     written.name
    'fund.xlsx'
    """
    from geo_renewal.cashflow import money_caveats
    from geo_renewal.tables import caveat_sheet, write_tables

    lang = check_lang(lang)
    values = balance.projects["balance"].to_numpy(dtype=float)
    caveats = {"fund": placeholder_caveat(balance.params, balance=values, lang=lang)}
    caveats.update(money_caveats(balance, lang=lang))  # the cash flow's and the scheme's
    tables = {
        **caveat_sheet(caveats.values(), lang=lang),
        **fund_tables(balance, unit=unit, lang=lang),
    }
    return write_tables(tables, path, lang=lang)
