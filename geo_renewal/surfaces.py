"""
Permitted-height surfaces as a GeoTIFF and as exact contour bands.

`surface_raster` writes the permitted height above the ground (from a DEM where given),
`surface_contours` the bands, of the corridors and zones of `geo_renewal.corridors`. See docs/guide/corridors.md.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import shapely

from geo_renewal._compat import import_optional
from geo_renewal.corridors import _check_surfaces
from geo_renewal.io import atomic_write

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["surface_contours", "surface_raster"]


def surface_raster(
    surfaces: gpd.GeoDataFrame,
    path: str | Path,
    *,
    res: float = 5.0,
    dem: str | Path | None = None,
) -> Path:
    """
    Write the permitted height above the ground inside the surfaces as a GeoTIFF.

    Each pixel (its centre) takes the lowest plane of the surfaces over it minus the ground
    (the DEM's value; with a DEM the raster uses the DEM's grid); outside every surface
    the pixel is nodata (−9999).

    Parameters
    ----------
    surfaces
        Corridors and zones.
    path
        The GeoTIFF to write (atomically).
    res
        Pixel size in metres without a DEM.
    dem
        Ground elevation GeoTIFF in the surfaces' CRS.

    Returns
    -------
    path
        The file written.

    Examples
    --------
    >>> import geopandas as gpd, rasterio, tempfile, os
    >>> from shapely import Point
    >>> from geo_renewal.corridors import corridors_from_points
    >>> vp = gpd.GeoDataFrame({"eye_height": [0.0]}, geometry=[Point(0, 0)], crs="EPSG:4548")
    >>> lm = gpd.GeoDataFrame({"height": [100.0]}, geometry=[Point(0, 1000)], crs="EPSG:4548")
    >>> out = surface_raster(corridors_from_points(vp, lm, width=100),
    ...                      os.path.join(tempfile.mkdtemp(), "c.tif"), res=10)
    >>> with rasterio.open(out) as f:
    ...     float(f.read(1)[0, 5])  # top row: the pixel centred 5 m before the landmark
    99.5
    """
    rasterio = import_optional("rasterio", purpose="permitted-height rasters")
    _check_surfaces(surfaces)
    x, y, ground, profile = _grid(surfaces, res, dem, rasterio)
    value = _lowest_plane(surfaces, x, y) - ground
    data = np.where(np.isnan(value), -9999.0, value).astype("float32")
    profile.update(driver="GTiff", count=1, dtype="float32", nodata=-9999.0, compress="deflate")
    target = Path(path)
    with atomic_write(target) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data, 1)
    return target


def _grid(surfaces: gpd.GeoDataFrame, res: float, dem: Any, rasterio: Any) -> tuple[Any, ...]:
    from rasterio.transform import from_origin, xy

    if dem is None:
        x0, y0, x1, y1 = surfaces.total_bounds
        width, height = max(1, math.ceil((x1 - x0) / res)), max(1, math.ceil((y1 - y0) / res))
        transform = from_origin(x0, y0 + height * res, res, res)
        ground = np.zeros((height, width))
        profile = {"width": width, "height": height, "transform": transform, "crs": surfaces.crs}
    else:
        with rasterio.open(dem) as src:
            window = src.window(*surfaces.total_bounds).round_offsets().round_lengths()
            ground = (
                src.read(1, window=window, boundless=True, masked=True)
                .filled(np.nan)
                .astype(float)
            )
            transform = src.window_transform(window)
            profile = {
                "width": ground.shape[1],
                "height": ground.shape[0],
                "transform": transform,
                "crs": src.crs,
            }
    rows, cols = np.mgrid[0 : ground.shape[0], 0 : ground.shape[1]]
    x, y = xy(transform, rows.ravel(), cols.ravel())
    shape = ground.shape
    return np.asarray(x).reshape(shape), np.asarray(y).reshape(shape), ground, profile


def _lowest_plane(surfaces: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.full(x.shape, np.nan)
    for poly, a, b, c in zip(
        surfaces.geometry.array, surfaces.a, surfaces.b, surfaces.c, strict=True
    ):
        inside = shapely.contains_xy(poly, x, y)
        z = a * x + b * y + c
        out = np.where(inside, np.fmin(out, z), out)
    return out


def surface_contours(
    surfaces: gpd.GeoDataFrame, *, step: float = 10.0, dem: str | Path | None = None
) -> gpd.GeoDataFrame:
    """
    Return contour bands of the permitted height above the ground, as polygons.

    Without a DEM (flat ground) the bands are exact, one set per surface: strips across the
    sightline cut to the corridor. With a DEM the permitted height (the lowest surface minus
    the ground) is banded on the DEM's grid and the pixels of a band are polygonised.

    Parameters
    ----------
    surfaces
        Corridors and zones.
    step
        Band height in metres.
    dem
        Ground elevation GeoTIFF in the surfaces' CRS; None: flat ground.

    Returns
    -------
    bands
        GeoDataFrame with ``surface`` (null with a DEM: the lowest of all), ``from_m``,
        ``to_m`` (the band of permitted height) and the band polygon; bands below 0 m start
        at −inf (no building allowed).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> from geo_renewal.corridors import corridors_from_points
    >>> vp = gpd.GeoDataFrame({"eye_height": [0.0]}, geometry=[Point(0, 0)], crs="EPSG:4548")
    >>> lm = gpd.GeoDataFrame({"height": [30.0]}, geometry=[Point(0, 300)], crs="EPSG:4548")
    >>> bands = surface_contours(corridors_from_points(vp, lm, width=20), step=10)
    >>> bands[["from_m", "to_m"]].values.tolist(), bands.area.round(1).tolist()
    ([[0.0, 10.0], [10.0, 20.0], [20.0, 30.0]], [2000.0, 2000.0, 2000.0])
    """
    import geopandas as gpd

    _check_surfaces(surfaces)
    if dem is not None:
        return _dem_contours(surfaces, step, dem)
    rows, geoms = [], []
    for poly, name, a, b, c in zip(
        surfaces.geometry.array, surfaces.surface, surfaces.a, surfaces.b, surfaces.c, strict=True
    ):
        coords = shapely.get_coordinates(poly)
        z = a * coords[:, 0] + b * coords[:, 1] + c
        lo, hi = math.floor(z.min() / step), math.ceil(z.max() / step)
        for k in range(lo, max(hi, lo + 1)):
            band = poly if hi <= lo + 1 else _strip(poly, a, b, c, k * step, (k + 1) * step)
            if not band.is_empty and band.area > 0:
                rows.append(
                    {
                        "surface": name,
                        "from_m": float(k * step) if k >= 0 else -math.inf,
                        "to_m": float((k + 1) * step),
                    }
                )
                geoms.append(band)
    return gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["surface", "from_m", "to_m"]), geometry=geoms, crs=surfaces.crs
    )


def _dem_contours(surfaces: gpd.GeoDataFrame, step: float, dem: str | Path) -> gpd.GeoDataFrame:
    """Band the permitted height above a DEM on its grid and polygonise each band."""
    import geopandas as gpd

    rasterio = import_optional("rasterio", purpose="permitted-height contours over a DEM")
    from rasterio.features import shapes

    x, y, ground, profile = _grid(surfaces, 1.0, dem, rasterio)
    value = _lowest_plane(surfaces, x, y) - ground
    ok = ~np.isnan(value)
    band = np.where(ok, np.floor(np.where(ok, value, 0.0) / step), 0).astype("int32")
    rows, geoms = [], []
    for geom, k in shapes(band, mask=ok, transform=profile["transform"]):
        k = int(k)
        rows.append(
            {
                "surface": None,
                "from_m": float(k * step) if k >= 0 else -math.inf,
                "to_m": float((k + 1) * step),
            }
        )
        geoms.append(shapely.geometry.shape(geom))
    frame = pd.DataFrame(rows, columns=["surface", "from_m", "to_m"])
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=profile["crs"])


def _strip(poly: Any, a: float, b: float, c: float, lo: float, hi: float) -> Any:
    """Cut the part of `poly` where lo ≤ a·x + b·y + c < hi."""
    g = math.hypot(a, b)
    x0, y0, x1, y1 = poly.bounds
    big = 2 * math.hypot(x1 - x0, y1 - y0) + 1
    gx, gy = a / g, b / g
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    base = a * cx + b * cy + c
    s_lo, s_hi = (lo - base) / g, (hi - base) / g
    s_lo, s_hi = max(s_lo, -big), min(s_hi, big)
    corners = [
        (cx + s * gx - t * gy, cy + s * gy + t * gx)
        for s, t in ((s_lo, -big), (s_hi, -big), (s_hi, big), (s_lo, big))
    ]
    return shapely.intersection(poly, shapely.Polygon(corners))
