"""
Land supply (供地计划): sale plots (出让地块), their status pipeline and the annual plan.

A plot moves through `schema.PLOT_STATUSES` (收储 → 组卷报批 → 净地 → 挂牌公告 → 成交), each
with a planned and an actual date; `check_plots` checks a plots layer or table and adds the
status reached, the next step and whether it is overdue; `supply_plan` is the annual table.
See ``docs/guide/fund.md``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal import schema
from geo_renewal._checks import check_lang, did_you_mean
from geo_renewal._errors import InputError, SchemaError
from geo_renewal._findings import Findings
from geo_renewal.text import say

__all__ = [
    "STATUS_CODES",
    "check_plots",
    "overdue_plot_layers",
    "overdue_plots",
    "read_plots",
    "supply_plan",
]

#: The supply pipeline, in order (codes of `schema.PLOT_STATUSES`).
STATUS_CODES: tuple[str, ...] = tuple(schema.PLOT_STATUSES)
_RANGES = {
    k: schema.NUMERIC_COLUMNS[k]
    for k in ("plot_area", "far", "height_limit", "density", "green_ratio")
}
_PRICES = ("start_price", "deal_price")


def read_plots(
    path: str | Path, *, layer: str | None = None, as_of: dt.date | None = None
) -> pd.DataFrame:
    """
    Read a plots layer (GeoPackage …) or table (CSV/XLSX) and check it (`check_plots`).

    Parameters
    ----------
    path
        The file; Chinese headers (出让地块编号, 容积率, 成交价 …) are understood.
    layer
        Layer or sheet to read (the layer named ``plots`` by default).
    as_of
        The date overdue steps are judged on; today by default.

    Returns
    -------
    plots
        As `check_plots` returns them.

    Examples
    --------
    >>> import geo_renewal as gr
    >>> plots = read_plots(gr.datasets.get_path("sample_district"), as_of=dt.date(2026, 11, 20))
    >>> plots["status"].iloc[0], bool(plots["overdue"].any())
    ('sold', True)
    """
    suffix = Path(path).suffix.lower()
    if suffix in (".csv", ".xlsx", ".xls", ".tsv", ".txt"):
        table = _read_table(path, sheet=layer)
    else:
        from geo_renewal.io import read_layer

        if layer is None and suffix in (".gpkg", ".sqlite"):
            layer = "plots"
        table = read_layer(path, layer=layer, kind="plots")
    return check_plots(table, as_of=as_of, source=str(path))


def _read_table(path: str | Path, *, sheet: str | None) -> pd.DataFrame:
    """Read a plots table (no geometry needed) with its headers mapped to canonical names."""
    from geo_renewal._headers import normalise_header
    from geo_renewal._tabular import read_cells

    df = read_cells(path, what="plots table", sheet=sheet)
    lookup = schema.column_aliases()
    rename = {c: lookup.get(normalise_header(c).lower(), c) for c in df.columns}
    targets = list(rename.values())
    twice = sorted({t for t in targets if targets.count(t) > 1})
    if twice:
        msg = (
            f"plots table `{path}` has several headers meaning {twice}; keep one of each "
            f"(its headers are {[str(c) for c in df.columns]})."
        )
        raise InputError(msg)
    return df.rename(columns=rename)


def check_plots(
    plots: pd.DataFrame, *, as_of: dt.date | None = None, source: str = "plots"
) -> pd.DataFrame:
    """
    Check sale plots and add their supply status, next step, overdue flag and price.

    Parameters
    ----------
    plots
        One row per plot with ``plot_id``; optional ``project_id``, ``bundle``,
        ``land_use``, ``plot_area`` (m²; else the polygon's area), ``far``,
        ``height_limit`` (m), ``density`` and ``green_ratio`` (0–1), ``status`` (a code or
        label of `schema.PLOT_STATUSES`), ``<status>_planned`` / ``<status>_actual`` dates,
        ``start_price`` and ``deal_price`` (万元).
    as_of
        The date overdue steps are judged on; today by default.
    source
        Name of the input, for messages.

    Returns
    -------
    plots
        A copy with ``status`` (the given one, else the last step with an actual date; None
        before 收储), ``status_index`` (0 = 收储 … 4 = 成交, −1 none), ``next_status``,
        ``next_planned``, ``overdue`` (a step not reached has its planned date before
        `as_of`), ``overdue_status`` (the first such step), ``days_overdue`` (since its
        planned date), ``sale_date`` (成交 actual, else planned), ``price_basis``
        (``deal`` / ``start`` / None) and ``expected_price`` (万元: 成交价 where sold, else
        起始价). Findings about dates out of order are in ``attrs["findings"]``.

    Raises
    ------
    SchemaError
        If ``plot_id`` is missing.
    InputError
        One sentence naming the plots and columns: repeated or blank ids, an unknown status
        (with the closest one), a negative price or an indicator out of range.

    Examples
    --------
    >>> plots = pd.DataFrame({"plot_id": ["A", "B"], "plot_area": [1000.0, 2000.0],
    ...     "sold_planned": ["2026-03-01", "2026-09-01"], "sold_actual": ["2026-03-05", None],
    ...     "deal_price": [900.0, None], "start_price": [800.0, 1500.0]})
    >>> out = check_plots(plots, as_of=dt.date(2026, 10, 1))
    >>> out[["status", "overdue", "days_overdue", "expected_price"]].to_dict("list")
    {'status': ['sold', None], 'overdue': [False, True], 'days_overdue': [0, 30], 'expected_price': [900.0, 1500.0]}
    """
    if "plot_id" not in plots.columns:
        msg = (
            f"{source} has no plot id column (plot_id / 出让地块编号); its columns are "
            f"{[str(c) for c in plots.columns]}."
        )
        raise SchemaError(msg)
    out = plots.copy()
    as_of = as_of or dt.date.today()
    _check_ids(out, source)
    _area(out)
    _check_numbers(out, source)
    findings = Findings(ids=out["plot_id"].to_numpy())
    dates = _dates(out, source)
    for k, v in dates.items():
        out[k] = v
    out["status"] = _status(out, dates, source)
    _pipeline(out, dates, as_of)
    _date_order(out, dates, findings)
    _price(out)
    out.attrs["findings"] = findings.frame()
    out.attrs["as_of"] = as_of
    return out


def _check_ids(out: pd.DataFrame, source: str) -> None:
    ids = out["plot_id"]
    blank = ids.isna() | (ids.astype(str).str.strip() == "")
    if blank.any():
        rows = np.flatnonzero(blank.to_numpy()).tolist()
        msg = f"{source}: rows {rows} (0-based) have no plot id; fill in 出让地块编号."
        raise InputError(msg)
    out["plot_id"] = ids.astype(str).str.strip()
    dup = out["plot_id"][out["plot_id"].duplicated()].unique().tolist()
    if dup:
        msg = f"{source} repeats plot ids {dup}; give each plot one row."
        raise InputError(msg)
    if "project_id" in out.columns:
        pid = out["project_id"]
        out["project_id"] = pid.map(_id_text).where(pid.notna(), None)


def _id_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _area(out: pd.DataFrame) -> None:
    """Fill ``plot_area`` from the polygons (working CRS) where it is not given."""
    given = (
        pd.to_numeric(out["plot_area"], errors="coerce")
        if "plot_area" in out.columns
        else pd.Series(np.nan, index=out.index)
    )
    crs = getattr(out, "crs", None)
    if given.isna().any() and "geometry" in out.columns and crs is not None:
        from geo_renewal.crs import area

        geoms = out.geometry
        ok = given.isna() & geoms.notna() & ~geoms.is_empty
        if ok.any():
            given[ok] = area(geoms[ok]).to_numpy()
    out["plot_area"] = given.astype(float)


def _check_numbers(out: pd.DataFrame, source: str) -> None:
    problems = []
    for col, (low, high, expect) in _RANGES.items():
        if col not in out.columns:
            continue
        v = pd.to_numeric(out[col], errors="coerce")
        bad = (v < low) | ((v > high) if high is not None else False)
        if bad.any():
            problems.append(
                f"{col} of plots {out.loc[bad, 'plot_id'].tolist()} (expected {expect})"
            )
        out[col] = v.astype(float)
    for col in _PRICES:
        if col not in out.columns:
            continue
        v = pd.to_numeric(out[col], errors="coerce")
        if (v < 0).any():
            problems.append(f"{col} of plots {out.loc[v < 0, 'plot_id'].tolist()} is negative")
        out[col] = v.astype(float)
    if problems:
        msg = f"{source}: " + "; ".join(problems) + "; correct these cells."
        raise InputError(msg)


def _dates(out: pd.DataFrame, source: str) -> dict[str, pd.Series]:
    """Return every ``<status>_planned`` / ``_actual`` column as datetimes (NaT if absent)."""
    dates = {}
    for code in STATUS_CODES:
        for kind in ("planned", "actual"):
            col = f"{code}_{kind}"
            if col not in out.columns:
                dates[col] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
                continue
            raw = out[col]
            parsed = pd.to_datetime(raw, errors="coerce")
            bad = parsed.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
            if bad.any():
                msg = (
                    f"{source}: column {col} of plots {out.loc[bad, 'plot_id'].tolist()} holds "
                    f"{raw[bad].astype(str).tolist()[:3]}, which are not dates; write them as "
                    f"2026-05-01."
                )
                raise InputError(msg)
            dates[col] = parsed.astype("datetime64[ns]")
    return dates


def _status(out: pd.DataFrame, dates: dict[str, pd.Series], source: str) -> pd.Series:
    """Return the given status (code or label), else the last step with an actual date."""
    reached = np.full(len(out), -1)
    for i, code in enumerate(STATUS_CODES):
        reached = np.where(dates[f"{code}_actual"].notna().to_numpy(), i, reached)
    derived = pd.Series(
        [STATUS_CODES[i] if i >= 0 else None for i in reached], index=out.index, dtype=object
    )
    if "status" not in out.columns:
        return derived
    given = out["status"].map(
        lambda v: schema.VALUE_ALIASES["status"].get(str(v).strip(), str(v).strip()),
        na_action="ignore",
    )
    unknown = given.notna() & ~given.isin(STATUS_CODES)
    if unknown.any():
        first = str(given[unknown].iloc[0])
        labels = [v[0] for v in schema.PLOT_STATUSES.values()]
        msg = (
            f"{source}: status {first!r} of plots {out.loc[unknown, 'plot_id'].tolist()} is "
            f"not a supply step; use one of {labels} or {list(STATUS_CODES)}"
            f"{did_you_mean(first, [*labels, *STATUS_CODES])}."
        )
        raise InputError(msg)
    out = given.astype(object).where(given.notna(), derived).astype(object)
    return pd.Series([None if pd.isna(v) else v for v in out], index=out.index, dtype=object)


def _pipeline(out: pd.DataFrame, dates: dict[str, pd.Series], as_of: dt.date) -> None:
    """Add the status index, the next step, its planned date, and whether it is overdue."""
    index = out["status"].map({c: i for i, c in enumerate(STATUS_CODES)}).fillna(-1).astype(int)
    n = len(STATUS_CODES)
    planned = np.stack([dates[f"{c}_planned"].to_numpy() for c in STATUS_CODES], axis=1)
    nxt = index.to_numpy() + 1
    has_next = nxt < n
    rows = np.arange(len(out))
    next_planned = np.full(len(out), np.datetime64("NaT"), dtype="datetime64[ns]")
    next_planned[has_next] = planned[rows[has_next], nxt[has_next]]
    out["status_index"] = index
    out["next_status"] = pd.Series(
        [STATUS_CODES[k] if k < n else None for k in nxt], index=out.index, dtype=object
    )
    out["next_planned"] = next_planned
    # overdue: a step not reached yet whose planned date has passed (the first such step)
    unreached = np.arange(n)[None, :] > index.to_numpy()[:, None]
    missed = unreached & (planned < np.datetime64(as_of, "ns"))
    first = np.where(missed.any(axis=1), missed.argmax(axis=1), -1)
    out["overdue"] = first >= 0
    out["overdue_status"] = pd.Series(
        [STATUS_CODES[k] if k >= 0 else None for k in first], index=out.index, dtype=object
    )
    since = np.full(len(out), np.datetime64("NaT"), dtype="datetime64[ns]")
    since[first >= 0] = planned[rows[first >= 0], first[first >= 0]]
    late = (pd.Timestamp(as_of) - pd.Series(since, index=out.index)).dt.days
    out["days_overdue"] = late.fillna(0).astype(int)
    sold = dates["sold_actual"]
    out["sale_date"] = sold.where(sold.notna(), dates["sold_planned"])


def _date_order(out: pd.DataFrame, dates: dict[str, pd.Series], findings: Findings) -> None:
    """Report actual dates earlier than the actual date of an earlier step."""
    for a, b in itertools.pairwise(STATUS_CODES):
        first, then = dates[f"{a}_actual"], dates[f"{b}_actual"]
        bad = (then < first).to_numpy()
        for i in np.flatnonzero(bad):
            pid = out["plot_id"].iat[i]
            findings.add(
                "date_order",
                f"plot {pid}: {schema.PLOT_STATUSES[b][0]} on {then.iat[i]:%Y-%m-%d} is before "
                f"{schema.PLOT_STATUSES[a][0]} on {first.iat[i]:%Y-%m-%d}; check both dates.",
                severity="warning",
                row=out.index[i],
                id=pid,
                column=f"{b}_actual",
                value=f"{then.iat[i]:%Y-%m-%d}",
            )


def _price(out: pd.DataFrame) -> None:
    """成交价 where sold, else 起始价 (万元); which one in ``price_basis``."""
    deal = out["deal_price"] if "deal_price" in out.columns else pd.Series(np.nan, index=out.index)
    start = (
        out["start_price"] if "start_price" in out.columns else pd.Series(np.nan, index=out.index)
    )
    use_deal = deal.notna() & (out["status"] == "sold")
    basis = pd.Series(None, index=out.index, dtype=object)
    basis[start.notna()] = "start"
    basis[use_deal] = "deal"
    out["price_basis"] = basis
    out["expected_price"] = deal.where(use_deal, start).astype(float)


def overdue_plots(plots: pd.DataFrame) -> pd.DataFrame:
    """
    Return the plots whose next supply step is overdue (checked plots, `check_plots`).

    Parameters
    ----------
    plots
        Output of `check_plots` or `read_plots`.

    Returns
    -------
    overdue
        The overdue rows, most days overdue first.

    Examples
    --------
    >>> plots = check_plots(pd.DataFrame({"plot_id": ["A"], "reserved_planned": ["2026-01-01"]}),
    ...                     as_of=dt.date(2026, 2, 1))
    >>> overdue_plots(plots)[["plot_id", "next_status", "days_overdue"]].to_dict("records")
    [{'plot_id': 'A', 'next_status': 'reserved', 'days_overdue': 31}]
    """
    if "overdue" not in plots.columns:
        msg = "`plots` has no column overdue; pass the output of check_plots or read_plots."
        raise SchemaError(msg)
    return plots[plots["overdue"]].sort_values("days_overdue", ascending=False, kind="stable")


def supply_plan(plots: pd.DataFrame, *, lang: str | None = None) -> pd.DataFrame:
    """
    Return the annual land supply plan (年度供地计划): plots, area and price per year and status.

    The year is the plot's sale year (成交 actual, else planned); plots without one form a
    row of their own. Totals over all rows equal the plots' totals.

    Parameters
    ----------
    plots
        Output of `check_plots` or `read_plots`.
    lang
        Language of the status labels; defaults to `settings.lang`.

    Returns
    -------
    plan
        Columns ``year``, ``status``, ``n_plots``, ``plot_area``, ``sale_floor_area``,
        ``expected_price_wan`` and ``n_overdue_plots``; a ``total`` row last.

    Examples
    --------
    >>> plots = check_plots(pd.DataFrame({"plot_id": ["A", "B"], "plot_area": [1.0, 2.0],
    ...     "sold_planned": ["2026-03-01", "2027-01-01"], "status": ["挂牌公告", None]}),
    ...     as_of=dt.date(2026, 1, 1))
    >>> supply_plan(plots, lang="en")[["year", "status", "n_plots", "plot_area"]].to_dict("list")
    {'year': ['2026', '2027', 'total'], 'status': ['Listed for sale', 'Not reserved yet', ''], 'n_plots': [1, 1, 2], 'plot_area': [1.0, 2.0, 3.0]}
    """
    lang = check_lang(lang)
    for col in ("status", "sale_date", "overdue", "expected_price"):
        if col not in plots.columns:
            msg = f"`plots` has no column {col}; pass the output of check_plots or read_plots."
            raise SchemaError(msg)
    year = plots["sale_date"].dt.year.astype("Int64").astype(str).replace("<NA>", "—")
    none_label = say("supply.not_reserved", lang)
    status = plots["status"].map(
        lambda c: schema.value_label("status", c, lang), na_action="ignore"
    )
    far = plots["far"] if "far" in plots.columns else pd.Series(np.nan, index=plots.index)
    frame = pd.DataFrame(
        {
            "year": year.to_numpy(),
            "_order": plots["status_index"].to_numpy(),
            "status": status.fillna(none_label).to_numpy(),
            "n_plots": 1,
            "plot_area": plots["plot_area"].to_numpy(dtype=float),
            "sale_floor_area": (plots["plot_area"] * far).to_numpy(dtype=float),
            "expected_price_wan": plots["expected_price"].to_numpy(dtype=float),
            "n_overdue_plots": plots["overdue"].astype(int).to_numpy(),
        }
    )
    table = (
        frame.groupby(["year", "_order", "status"], sort=True)
        .sum(min_count=1)
        .reset_index()
        .drop(columns="_order")
    )
    total = frame.drop(columns=["year", "_order", "status"]).sum(min_count=1)
    table.loc[len(table)] = {"year": schema.TOTAL_ROW, "status": "", **total.to_dict()}
    table["n_plots"] = table["n_plots"].astype(int)
    table["n_overdue_plots"] = table["n_overdue_plots"].astype(int)
    return table


def overdue_plot_layers(plots: pd.DataFrame | None, *, lang: str = "zh") -> dict[str, Any] | None:
    """
    Return the overdue plots as a map layer (``{name: polygons}``) for the progress map.

    Parameters
    ----------
    plots
        Checked plots with polygons (`check_plots`), or None.
    lang
        Language of the layer name.

    Returns
    -------
    layers
        ``{"逾期地块（n 宗）": GeoDataFrame}`` with ``plot_id``, ``name`` (the overdue step
        and days), or None when no plot with a polygon is overdue.

    Examples
    --------
    >>> overdue_plot_layers(None) is None
    True
    """
    if plots is None or "geometry" not in plots.columns or "overdue" not in plots.columns:
        return None
    late = overdue_plots(plots)
    late = late[late.geometry.notna()]
    if not len(late):
        return None
    step = late["overdue_status"].map(lambda c: schema.value_label("status", c, lang))
    names = [
        say("supply.overdue_item", lang, plot=p, step=st, days=d)
        for p, st, d in zip(late["plot_id"], step, late["days_overdue"], strict=True)
    ]
    layer = late[["plot_id", "geometry"]].assign(name=names)
    return {say("supply.overdue_layer", lang, n=len(late)): layer}
