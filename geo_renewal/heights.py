"""
Heights in metres of existing buildings and the permitted height of planned plots.

Buildings: a height column, floors × a storey height by use, or a DSM raster minus the
ground; plots: 控规 限高, or FAR and building density. The sources and defaults are in ``params/heights_default.toml``;
see docs/guide/corridors.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal._errors import InputError
from geo_renewal._toml import parse_toml, read_toml

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["building_heights", "ground_levels", "load_storey_heights", "plot_heights"]

#: The sources a building's or plot's height can come from (column ``height_source``).
HEIGHT_SOURCES = ("column", "dsm", "floors", "height_limit", "far_density", "missing")


def load_storey_heights(path: str | Path | None = None) -> dict[str, float]:
    """
    Load the storey heights by land use (metres) over the bundled defaults.

    Parameters
    ----------
    path
        A TOML file with a ``[storey_height_m]`` table (and optionally ``[roof]
        allowance_m``); None: the bundled defaults.

    Returns
    -------
    heights
        Land-use code -> storey height in metres, with ``default`` for any other use and
        ``_roof`` for the roof allowance.

    Raises
    ------
    InputError
        If a value is not a positive number (the file and key are named).

    Examples
    --------
    >>> load_storey_heights()["residential"]
    3.0
    """
    text = (resources.files("geo_renewal") / "params" / "heights_default.toml").read_text("utf-8")
    data = parse_toml(text, source="bundled:heights_default", what="height parameters")
    where = "bundled:heights_default"
    if path is not None:
        own = read_toml(path, what="height parameters")
        for section in ("storey_height_m", "roof"):
            data[section] = {**data[section], **own.get(section, {})}
        unknown = sorted(set(own) - {"storey_height_m", "roof"})
        if unknown:
            msg = f"height parameters {str(path)!r}: unknown section(s) {unknown}; use [storey_height_m] and [roof]."
            raise InputError(msg)
        where = str(path)
    out: dict[str, float] = {}
    for key, value in {**data["storey_height_m"], "_roof": data["roof"]["allowance_m"]}.items():
        ok = (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )
        if not ok or value < 0 or (value == 0 and key != "_roof"):
            msg = f"height parameters {where!r}: {key} = {value!r} is not a positive number of metres; fix it."
            raise InputError(msg)
        out[key] = float(value)
    return out


def _numbers(frame: pd.DataFrame, col: str | None) -> np.ndarray:
    if col is None or col not in frame.columns:
        return np.full(len(frame), np.nan)
    values = (
        pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan).copy()
    )
    values[values < 0] = np.nan
    return values


def _storey(frame: pd.DataFrame, use_col: str, heights: Mapping[str, float]) -> np.ndarray:
    if use_col not in frame.columns:
        return np.full(len(frame), heights["default"])
    uses = frame[use_col].astype(object).to_numpy()
    return np.array(
        [
            heights.get(u, heights["default"]) if isinstance(u, str) else heights["default"]
            for u in uses
        ]
    )


def ground_levels(geoms: gpd.GeoDataFrame | gpd.GeoSeries, dem: str | Path) -> pd.Series:
    """
    Return the mean ground level (metres, the DEM's datum) under each footprint.

    Parameters
    ----------
    geoms
        Polygons or points with a CRS (points take the pixel they fall in).
    dem
        A DEM GeoTIFF (ground elevation).

    Returns
    -------
    ground
        Float Series aligned on `geoms.index`; null where the DEM has no valid pixel.

    Examples
    --------
    >>> import geopandas as gpd, numpy as np, tempfile, os, rasterio
    >>> from rasterio.transform import from_origin
    >>> from shapely import box
    >>> path = os.path.join(tempfile.mkdtemp(), "dem.tif")
    >>> with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32",
    ...                    crs="EPSG:4548", transform=from_origin(0, 10, 1, 1)) as f:
    ...     f.write(np.full((1, 10, 10), 12.5, dtype="float32"))
    >>> ground_levels(gpd.GeoSeries([box(2, 2, 5, 5)], crs="EPSG:4548"), path).tolist()
    [12.5]
    """
    import shapely

    from geo_renewal.raster import zonal_stats

    series = geoms.geometry if hasattr(geoms, "geometry") else geoms
    arr = np.asarray(series.array)
    points = shapely.get_type_id(arr) == shapely.GeometryType.POINT
    if points.any():  # a point takes the pixel it falls in (a 0.5 m square around it)
        arr = arr.copy()
        arr[points] = shapely.buffer(arr[points], 0.5, cap_style="square")
        series = type(series)(arr, index=series.index, crs=series.crs)
    stats = zonal_stats(series, dem, all_touched=True)
    return pd.Series(stats["mean"].to_numpy(dtype=float), index=geoms.index, name="ground_m")


def building_heights(
    buildings: gpd.GeoDataFrame,
    *,
    height_col: str = "height",
    floors_col: str = "floors",
    use_col: str = "land_use",
    params: str | Path | Mapping[str, float] | None = None,
    dsm: str | Path | None = None,
    dem: str | Path | None = None,
) -> pd.DataFrame:
    """
    Return each building's height in metres and where it came from.

    Per building, the first available of: the `height_col` value; the DSM's highest pixel
    on the footprint minus the ground (the DEM's mean under it, 0 without a DEM); floors ×
    the storey height of its use (`load_storey_heights`) + the roof allowance. A building
    with none of them keeps a null height and source ``missing`` (it is never dropped).

    Parameters
    ----------
    buildings
        Footprints with a CRS.
    height_col, floors_col, use_col
        Columns of the height (m), the number of floors and the land-use code.
    params
        Storey heights: a TOML file, a mapping like `load_storey_heights`' result, or None.
    dsm, dem
        Optional surface and terrain GeoTIFFs.

    Returns
    -------
    heights
        DataFrame aligned on `buildings.index` with ``height_m``, ``height_source`` and
        ``ground_m`` (the DEM's level, 0 without a DEM).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> b = gpd.GeoDataFrame({"height": [None, 25.0], "floors": [6, 9],
    ...                       "land_use": ["residential", "commercial"]},
    ...                      geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10)], crs="EPSG:4548")
    >>> building_heights(b)[["height_m", "height_source"]].values.tolist()
    [[18.0, 'floors'], [25.0, 'column']]
    """
    storey = params if isinstance(params, Mapping) else load_storey_heights(params)
    n = len(buildings)
    height = np.full(n, np.nan)
    source = np.full(n, "missing", dtype=object)
    ground = np.zeros(n) if dem is None else ground_levels(buildings, dem).to_numpy()
    given = _numbers(buildings, height_col)
    ok = ~np.isnan(given)
    height[ok], source[ok] = given[ok], "column"
    if dsm is not None:
        top = _dsm_max(buildings, dsm) - np.nan_to_num(ground)
        use = np.isnan(height) & ~np.isnan(top)
        height[use], source[use] = np.maximum(top[use], 0.0), "dsm"
    floors = _numbers(buildings, floors_col)
    use = np.isnan(height) & ~np.isnan(floors)
    est = floors * _storey(buildings, use_col, storey) + storey.get("_roof", 0.0)
    height[use], source[use] = est[use], "floors"
    return pd.DataFrame(
        {"height_m": height, "height_source": source, "ground_m": ground}, index=buildings.index
    )


def _dsm_max(buildings: gpd.GeoDataFrame, dsm: str | Path) -> np.ndarray:
    from geo_renewal.raster import zonal_stats

    return zonal_stats(buildings, dsm, all_touched=True)["max"].to_numpy(dtype=float)


def plot_heights(
    plots: gpd.GeoDataFrame | pd.DataFrame,
    *,
    limit_col: str = "height_limit",
    far_col: str = "far",
    density_col: str = "density",
    use_col: str = "land_use",
    params: str | Path | Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """
    Return the permitted height of planned plots (控规 限高, else from FAR and density).

    The 控规 height limit (`limit_col`, metres) wins; without it the plot's floors are
    FAR ÷ building density (建筑密度, a share 0–1), rounded up to whole floors, times the
    storey height of its use. Plots with neither keep a null height and source ``missing``.

    Parameters
    ----------
    plots
        Planned plots.
    limit_col, far_col, density_col, use_col
        Their columns.
    params
        Storey heights, as for `building_heights`.

    Returns
    -------
    heights
        DataFrame aligned on `plots.index` with ``height_m``, ``floors`` and
        ``height_source`` (``height_limit``, ``far_density`` or ``missing``).

    Raises
    ------
    InputError
        If a density is above 1 (a percentage written as 35 instead of 0.35), naming the row.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"height_limit": [None, 54.0], "far": [2.5, 3.0],
    ...                   "density": [0.25, 0.3], "land_use": ["residential"] * 2})
    >>> plot_heights(p)[["height_m", "height_source"]].values.tolist()
    [[30.0, 'far_density'], [54.0, 'height_limit']]
    """
    storey = params if isinstance(params, Mapping) else load_storey_heights(params)
    limit = _numbers(plots, limit_col)
    far, density = _numbers(plots, far_col), _numbers(plots, density_col)
    bad = np.flatnonzero(density > 1)
    if len(bad):
        label = plots.index[bad[0]]
        msg = (
            f"plots row {label!r}: {density_col} = {density[bad[0]]:g} is above 1; write the "
            f"building density as a share (0.35 for 35 %) ({len(bad)} row(s))."
        )
        raise InputError(msg)
    with np.errstate(divide="ignore", invalid="ignore"):
        floors = np.ceil(far / np.where(density > 0, density, np.nan) - 1e-9)
    derived = floors * _storey(plots, use_col, storey) + storey.get("_roof", 0.0)
    height = np.where(np.isnan(limit), derived, limit)
    source = np.where(
        ~np.isnan(limit), "height_limit", np.where(np.isnan(derived), "missing", "far_density")
    ).astype(object)
    out_floors = np.where(np.isnan(limit), floors, np.nan)
    return pd.DataFrame(
        {"height_m": height, "floors": out_floors, "height_source": source}, index=plots.index
    )


def _frame_heights(frame: Any, height_col: str) -> np.ndarray:
    """Heights of a frame for the rule function: `height_col`, else floors × the default."""
    if height_col in frame.columns:
        return _numbers(frame, height_col)
    if "floors" in frame.columns:
        return building_heights(frame, height_col=height_col)["height_m"].to_numpy()
    msg = (
        f"height_excess() needs the parcels' height: add a {height_col!r} column (metres) or "
        "'floors' (× the storey height by land use)."
    )
    raise InputError(msg)
