"""
GCJ-02 and BD-09, the shifted coordinates of Chinese web maps, as formulas on lon/lat arrays.

`geo_renewal.crs` exposes them on layers and geometries (`wgs84_to_gcj02` and its siblings):
it checks the CRS and applies these functions to every vertex with `_map_vertices`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import shapely

# ---------------------------------------------------------------------------------------
# GCJ-02 / BD-09 (the shifted coordinates of Chinese web maps)
#
# GCJ-02 ("Mars coordinates") is WGS84 plus a deliberate, smoothly varying offset of a few
# hundred metres, used by Gaode/AutoNavi and Tencent maps and their APIs. BD-09 (Baidu) is a
# further shift of GCJ-02. The forward formulas are the public reverse-engineered ones
# (eviltransform, BSD-2; prcoords, CC0). The inverses have no closed form: they are solved by
# fixed-point iteration to 1e-10 degrees (≈ 0.01 mm), so round trips agree within
# millimetres everywhere in China.
# ---------------------------------------------------------------------------------------

#: Box (lon_min, lon_max, lat_min, lat_max) in which GCJ-02 differs from WGS84. Outside it
#: (and outside China generally) the conversions leave coordinates unchanged. This is the
#: box used by eviltransform and most implementations; it is a rectangle, so it also covers
#: neighbouring countries' border areas, as the providers' own conversions do.
GCJ_BOX: tuple[float, float, float, float] = (72.004, 137.8347, 0.8293, 55.8271)

_GCJ_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_GCJ_EE = 0.00669342162296594323  # its first eccentricity squared
_BD_XPI = np.pi * 3000.0 / 180.0
_INVERSE_TOL = 1e-10  # degrees
_INVERSE_MAX_ITER = 50


def _in_gcj_box(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon >= GCJ_BOX[0]) & (lon <= GCJ_BOX[1]) & (lat >= GCJ_BOX[2]) & (lat <= GCJ_BOX[3])


def _gcj02_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the GCJ-02 offset (dlon, dlat) in degrees of WGS84 points; 0 outside `GCJ_BOX`."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    x, y = lon - 105.0, lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * np.pi * x) + 20.0 * np.sin(2.0 * np.pi * x)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(np.pi * y) + 40.0 * np.sin(np.pi / 3.0 * y)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(np.pi / 12.0 * y) + 320.0 * np.sin(np.pi / 30.0 * y)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(np.pi * x) + 40.0 * np.sin(np.pi / 3.0 * x)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(np.pi / 12.0 * x) + 300.0 * np.sin(np.pi / 30.0 * x)) * 2.0 / 3.0
    rad_lat = np.radians(lat)
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    inside = _in_gcj_box(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def _wgs84_to_gcj02_xy(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _gcj02_offset(lon, lat)
    return lon + dlon, lat + dlat


def _gcj02_to_bd09_xy(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_XPI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_XPI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02_approx(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 0.0065, lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_XPI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_XPI)
    return z * np.cos(theta), z * np.sin(theta)


def _wgs84_to_bd09_xy(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _gcj02_to_bd09_xy(*_wgs84_to_gcj02_xy(lon, lat))


def _invert(
    forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    lon: np.ndarray,
    lat: np.ndarray,
    start: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(x, y) == (lon, lat)`` by fixed-point iteration (the shifts are smooth)."""
    gx, gy = (lon.copy(), lat.copy()) if start is None else start
    finite = np.isfinite(lon) & np.isfinite(lat)
    for _ in range(_INVERSE_MAX_ITER):
        fx, fy = forward(gx, gy)
        ex, ey = fx - lon, fy - lat
        gx, gy = gx - ex, gy - ey
        err = np.abs(np.concatenate([ex[finite], ey[finite]]))
        if err.size == 0 or err.max() < _INVERSE_TOL:
            break
    return gx, gy


def _gcj02_to_wgs84_xy(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _invert(_wgs84_to_gcj02_xy, lon, lat)


def _bd09_to_gcj02_xy(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _invert(_gcj02_to_bd09_xy, lon, lat, start=_bd09_to_gcj02_approx(lon, lat))


def _bd09_to_wgs84_xy(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _gcj02_to_wgs84_xy(*_bd09_to_gcj02_xy(lon, lat))


def _map_vertices(data: Any, on_coords: Callable[[np.ndarray], np.ndarray]) -> Any:
    """Apply `on_coords` ((n, 2|3) array -> same shape) to every vertex; return `data`'s type."""
    import geopandas as gpd

    if isinstance(data, gpd.GeoDataFrame | gpd.GeoSeries):
        series = data.geometry
        geoms = shapely.transform(np.asarray(series.values), on_coords, include_z=None)
        out = gpd.GeoSeries(geoms, index=data.index, crs=data.crs, name=series.name)
        if isinstance(data, gpd.GeoDataFrame):
            return data.set_geometry(out)
        return out
    if isinstance(data, shapely.Geometry):
        return shapely.transform(data, on_coords, include_z=None)
    arr = np.asarray(data)
    if arr.dtype == object:
        return shapely.transform(arr, on_coords, include_z=None)
    if arr.ndim == 0 or arr.shape[-1] != 2:
        msg = (
            "`data` must be a GeoSeries, GeoDataFrame, shapely geometry or an array of "
            f"(lon, lat) pairs with shape (..., 2); got an array of shape {arr.shape}."
        )
        raise ValueError(msg)
    return on_coords(arr.reshape(-1, 2).astype(float)).reshape(arr.shape)
