"""
The fund balance's inputs: sale plots normalised and priced, land areas, ids, files read.

Private to `geo_renewal.fund`: the plots' column aliases (出让面积, 容积率, 楼面地价 …), a
plot's 成交价 / 起始价 as its land price, the projects' land area (column or polygon), and
reading the projects (polygons joined to a ledger, or a ledger) and the plots from files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal._errors import InputError, SchemaError
from geo_renewal.fund_params import FundParams


def _land_area(projects: pd.DataFrame) -> pd.Series:
    if "land_area" in projects.columns:
        return pd.to_numeric(projects["land_area"], errors="coerce").astype(float)
    if hasattr(projects, "geometry") and "geometry" in projects.columns and projects.crs:
        from geo_renewal.crs import area

        geoms = projects.geometry
        ok = geoms.notna() & ~geoms.is_empty
        out = pd.Series(np.nan, index=projects.index)
        if ok.any():
            out[ok] = area(geoms[ok]).to_numpy()
        return out
    return pd.Series(np.nan, index=projects.index)


_PLOT_ALIASES = {
    "plot_area": ("plot_area", "area", "出让面积", "用地面积", "地块面积"),
    "far": ("far", "容积率", "plot_ratio"),
    "land_price_per_m2": ("land_price_per_m2", "land_price", "楼面地价", "楼面单价"),
    "plot_id": ("plot_id", "地块编号", "出让地块编号", "parcel_id"),
    "project_id": ("project_id", "项目编号"),
}


def _normalise_plots(plots: pd.DataFrame, p: FundParams) -> pd.DataFrame:
    lookup = {a: c for c, aliases in _PLOT_ALIASES.items() for a in aliases}
    df = pd.DataFrame(plots).rename(columns=lambda c: lookup.get(str(c).strip(), c))
    if "plot_area" not in df.columns and "geometry" in df.columns and plots.crs is not None:
        from geo_renewal.crs import area

        df["plot_area"] = area(plots.geometry).to_numpy()
    _require(df, ["project_id", "plot_area"], "plots")
    n = len(df)
    out = pd.DataFrame(
        {
            "project_id": df["project_id"].map(_id_text).to_numpy(),
            "plot_id": (
                df["plot_id"].astype(str).to_numpy()
                if "plot_id" in df
                else (
                    df["project_id"].map(_id_text)
                    + "-"
                    + (df.groupby(df["project_id"].map(_id_text)).cumcount() + 1).astype(str)
                ).to_numpy()
            ),
            "plot_area": pd.to_numeric(df["plot_area"], errors="coerce").to_numpy(dtype=float),
            "far": (
                pd.to_numeric(df["far"], errors="coerce").fillna(p.far).to_numpy(dtype=float)
                if "far" in df
                else np.full(n, p.far)
            ),
            "land_price_per_m2": (
                pd.to_numeric(df["land_price_per_m2"], errors="coerce")
                .fillna(p.land_price_per_m2)
                .to_numpy(dtype=float)
                if "land_price_per_m2" in df
                else np.full(n, p.land_price_per_m2)
            ),
            "plot_source": df["plot_source"].to_numpy() if "plot_source" in df else "declared",
        }
    )
    bad = out[["plot_area", "far", "land_price_per_m2"]].isna().any(axis=1) | (
        out[["plot_area", "far", "land_price_per_m2"]] < 0
    ).any(axis=1)
    if bad.any():
        msg = (
            f"`plots` rows {np.flatnonzero(bad.to_numpy()).tolist()} (0-based) have a missing or "
            f"negative plot area, FAR or land price; give numbers ≥ 0."
        )
        raise InputError(msg)
    return _priced(out, df)


def _priced(out: pd.DataFrame, df: pd.DataFrame) -> pd.DataFrame:
    """Use a plot's 成交价 (sold) or 起始价 (万元) where given: its land price follows from it."""
    if "expected_price" not in df.columns and not {"deal_price", "start_price"} & set(df.columns):
        return out
    from geo_renewal.supply import check_plots

    if "expected_price" not in df.columns:
        df = check_plots(df.assign(plot_id=out["plot_id"].to_numpy()), source="`plots`")
    price = pd.to_numeric(df["expected_price"], errors="coerce").to_numpy(dtype=float) * 1e4
    floor = out["plot_area"].to_numpy() * out["far"].to_numpy()
    use = np.isfinite(price) & (floor > 0)
    out["land_price_per_m2"] = np.where(
        use, price / np.where(floor > 0, floor, 1), out["land_price_per_m2"]
    )
    out["price_basis"] = np.where(use, df["price_basis"].to_numpy(dtype=object), "land_price")
    for col in ("status", "sale_date"):
        out[col] = df[col].to_numpy()
    return out


def _id_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _require(df: pd.DataFrame, cols: Sequence[str], name: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        msg = (
            f"`{name}` is missing columns {missing}; its columns are {list(df.columns)}; "
            f"rename them (e.g. 项目编号 -> project_id) or read the ledger with read_ledger."
        )
        raise SchemaError(msg)


_TABLE_SUFFIXES = (".csv", ".xlsx", ".xls", ".tsv", ".txt")


def _read_fund_projects(
    projects: str | Path,
    *,
    ledger: str | Path | None,
    layer: str | None,
    sheet: str | None,
    header_row: int | Sequence[int] | None = None,
) -> pd.DataFrame:
    """Read the projects: polygons joined to a ledger, a ledger alone, or a polygon layer."""
    from geo_renewal.ledger import read_ledger

    if ledger is not None:
        return read_ledger(
            ledger, projects=projects, projects_layer=layer, sheet=sheet, header_row=header_row
        ).table
    if Path(projects).suffix.lower() in _TABLE_SUFFIXES:
        return read_ledger(projects, sheet=sheet, header_row=header_row).table
    from geo_renewal.io import read_layer

    return read_layer(projects, layer=layer, kind="projects")


def _read_plots(path: str | Path) -> pd.DataFrame:
    """Read sale plots from a CSV (UTF-8, BOM allowed), a workbook or a polygon layer."""
    suffix = Path(path).suffix.lower()
    if suffix == ".gpkg":
        return _read_named(path, "plots", "plots")
    if suffix in (".csv", ".xlsx"):
        from geo_renewal._tabular import read_cells

        return read_cells(path, what="sale plots file")
    if suffix == ".xls":
        return pd.read_excel(path)
    from geo_renewal.io import read_layer

    return read_layer(path)


def _read_named(path: str | Path, name: str, kind: str) -> pd.DataFrame:
    """Read the layer called `name` of a GeoPackage if it has one, else its only layer."""
    from geo_renewal.io import layers_in, read_layer

    layer = name if layers_in(path, [name]) else None
    return read_layer(path, layer=layer, kind=kind)
