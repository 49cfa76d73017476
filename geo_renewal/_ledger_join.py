"""
Ledger rows joined to project polygons: by project id, both sides reported when unmatched.

Private to `geo_renewal.ledger`. A ledger row without a polygon keeps an empty geometry,
a polygon without a row is kept in ``Ledger.unmatched_projects``, repeated polygons of one
id are merged, and blank names, streets and types are filled from the polygons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from geo_renewal import schema
from geo_renewal._errors import SchemaError
from geo_renewal._findings import Findings
from geo_renewal._headers import normalise_header as _normalise
from geo_renewal._ledger_cells import _id_text, _isna, _report
from geo_renewal._ledger_headers import _type_lookup

if TYPE_CHECKING:
    import geopandas as gpd


def _read_projects(projects: gpd.GeoDataFrame | str | Path, layer: str | None) -> gpd.GeoDataFrame:
    import geopandas as gpd

    if isinstance(projects, gpd.GeoDataFrame):
        gdf = projects
    else:
        try:
            from geo_renewal.io import read_layer
        except ImportError:  # pragma: no cover - io.py is part of the package
            gdf = gpd.read_file(projects, layer=layer)
        else:
            gdf = read_layer(projects, layer=layer, kind="projects")
    if "project_id" not in gdf.columns:
        lookup = schema.column_aliases()
        found = [c for c in gdf.columns if lookup.get(_normalise(c)) == "project_id"]
        if not found:
            msg = (
                f"`projects` has no project id column (项目编号 / project_id); its columns are "
                f"{list(gdf.columns)}; rename the id column to project_id."
            )
            raise SchemaError(msg)
        gdf = gdf.rename(columns={found[0]: "project_id"})
    return gdf


def _join_projects(
    df: pd.DataFrame,
    polygons: gpd.GeoDataFrame,
    pipelines: Mapping[str, Sequence[str]],
    findings: Findings,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Join the polygons on project id; report rows without and polygons without a partner."""
    import geopandas as gpd

    polys = polygons.copy()
    polys["project_id"] = polys["project_id"].map(lambda v: None if _isna(v) else _id_text(v))
    polys_by_id = _polygons_by_id(polys, findings)
    gname = polys_by_id.geometry.name
    geoms = df["project_id"].map(polys_by_id[gname])
    has_polygon = df["project_id"].isin(polys_by_id.index) & df["project_id"].notna()
    out = _fill_from_polygons(df, polys_by_id, pipelines, findings)
    pos = np.flatnonzero((~has_polygon & out["project_id"].notna()).to_numpy())
    _report(
        findings,
        pos,
        "no_polygon",
        "row {row}: project {pid!r} has no polygon in the projects layer; it is kept without "
        "geometry and will not show on maps.",
        severity="warning",
        action="kept without geometry",
        pid=out["project_id"].to_numpy(dtype=object)[pos],
    )
    out["has_polygon"] = has_polygon.to_numpy()
    gdf = gpd.GeoDataFrame(
        out, geometry=gpd.GeoSeries(geoms.to_numpy(), index=out.index), crs=polys.crs
    )
    gdf = gdf.rename_geometry("geometry") if gdf.geometry.name != "geometry" else gdf
    unmatched = polys.loc[polys["project_id"].isna() | ~polys["project_id"].isin(df["project_id"])]
    elsewhere = _other_streets(unmatched, out, findings)
    pids = unmatched.loc[~elsewhere, "project_id"].tolist()
    findings.add_many(
        "no_ledger_row",
        [
            f"project polygon {pid!r} has no ledger row; add a row for it or remove the polygon "
            f"(kept in `ledger.unmatched_projects`)."
            for pid in pids
        ],
        ids=pids,
        severity="warning",
        action="kept in ledger.unmatched_projects",
    )
    return gdf, unmatched


def _other_streets(
    unmatched: gpd.GeoDataFrame, rows: pd.DataFrame, findings: Findings
) -> pd.Series:
    """
    Mark the polygons without a row whose street has no row in this ledger (one info finding).

    A street's ledger (or the ledgers of some streets, read together) answers for the
    projects of its streets only: a polygon of another street is not a missing row. Such
    polygons stay in ``Ledger.unmatched_projects``; the finding names them and their streets.
    """
    if "street" not in unmatched.columns or "street" not in rows.columns:
        return pd.Series(False, index=unmatched.index)
    covered = {s for s in rows["street"].dropna().astype(str) if s.strip()}
    if not covered:  # a ledger without streets answers for every polygon
        return pd.Series(False, index=unmatched.index)
    street = unmatched["street"].map(lambda v: None if _isna(v) else str(v))
    other = street.notna() & ~street.isin(covered)
    if other.any():
        pids = unmatched.loc[other, "project_id"].astype(str).tolist()
        counts = street[other].value_counts(sort=False)
        shown = ", ".join(f"{k} {v}" for k, v in counts.items())
        findings.add(
            "other_street_polygons",
            f"{len(pids)} project polygon(s) lie in streets this ledger has no row of ({shown}): "
            f"{', '.join(pids[:8])}{' …' if len(pids) > 8 else ''}; they are not expected here "
            f"and are kept in `ledger.unmatched_projects` (give those streets' ledgers too to "
            f"join them).",
            severity="info",
            action="kept in ledger.unmatched_projects",
            value=f"{shown}: {', '.join(pids)}",
        )
    return other


def _polygons_by_id(polys: gpd.GeoDataFrame, findings: Findings) -> gpd.GeoDataFrame:
    """Index the polygons by project id, merging the polygons of a repeated id (warned)."""
    import geopandas as gpd

    dup = polys["project_id"].notna() & polys["project_id"].duplicated(keep=False)
    if not dup.any():
        return polys.loc[polys["project_id"].notna()].set_index("project_id")
    pids = polys.loc[dup, "project_id"].unique().tolist()
    counts = polys["project_id"].value_counts()
    findings.add_many(
        "duplicate_polygon",
        [
            f"project {pid!r} has {int(counts[pid])} polygons; they are merged into one "
            f"multipolygon."
            for pid in pids
        ],
        ids=pids,
        severity="warning",
        action="merged",
    )
    geom = polys.loc[polys["project_id"].notna()].dissolve(by="project_id")
    attrs = polys.loc[polys["project_id"].notna()].drop_duplicates("project_id")
    attrs = attrs.set_index("project_id").drop(columns=polys.geometry.name)
    return gpd.GeoDataFrame(
        attrs.join(geom[[geom.geometry.name]]), geometry=geom.geometry.name, crs=polys.crs
    )


def _fill_from_polygons(
    df: pd.DataFrame,
    polys_by_id: gpd.GeoDataFrame,
    pipelines: Mapping[str, Sequence[str]],
    findings: Findings,
) -> pd.DataFrame:
    """Fill blank name, street and type from the polygons; the ledger's type wins (warned)."""
    out = df.copy()
    type_lookup = _type_lookup(pipelines)
    for col in ("name", "street", "project_type"):
        if col not in polys_by_id.columns:
            continue
        poly_val = df["project_id"].map(polys_by_id[col])
        if col == "project_type":
            poly_val = poly_val.map(
                lambda v: None if _isna(v) else type_lookup.get(_normalise(v), str(v))
            )
            conflict = out[col].notna() & poly_val.notna() & (out[col] != poly_val)
            pos = np.flatnonzero(conflict.fillna(False).to_numpy())
            _report(
                findings,
                pos,
                "type_mismatch",
                "row {row}: ledger type {ledger} differs from the polygon's {polygon}; the "
                "ledger's is used, correct one of them.",
                column=col,
                severity="warning",
                action="ledger value used",
                values=[poly_val.iloc[i] for i in pos],
                ledger=[schema.label(out[col].iloc[i]) for i in pos],
                polygon=[schema.label(poly_val.iloc[i]) for i in pos],
            )
        fill = out[col].isna() & poly_val.notna()
        if fill.any():
            out[col] = out[col].astype(object).where(~fill, poly_val).astype("str")
            out.loc[out[col].isin(["None", "nan"]), col] = None
    return out
