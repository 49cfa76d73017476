"""
Coordinate reference systems: the working CRS, accurate areas, and checks.

Metric work (areas, buffers, distances) runs in a projected *working CRS*:
`settings.working_crs` if set; else the layer's own CRS if it already is a transverse
Mercator grid (a Gauss–Krüger or UTM zone); else the CGCS2000 3-degree Gauss–Krüger
zone (EPSG:4534–4554, "CM nnnE") by the layer's central longitude inside China, or the
UTM zone elsewhere. Web Mercator is never measured in (it inflates areas by 1/cos²φ).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

import pyproj
from pyproj import CRS

from geo_renewal import settings
from geo_renewal._errors import CRSError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "area",
    "check_crs",
    "check_same_crs",
    "gk_zone_crs",
    "is_projected",
    "to_working",
    "working_crs",
]

logger = logging.getLogger(__name__)

# Rough bounding box of China used to pick the CGCS2000 Gauss–Krüger grid.
_CHINA_LON = (73.0, 136.0)
_CHINA_LAT = (3.0, 54.0)


def is_projected(crs: CRS | str | int | None) -> bool:
    """
    Tell whether `crs` is a projected CRS (metres), the single test used in the toolkit.

    Parameters
    ----------
    crs
        Anything `pyproj.CRS.from_user_input` accepts, or None.

    Returns
    -------
    projected
        False for None and geographic CRSs.

    Examples
    --------
    >>> is_projected("EPSG:4548"), is_projected(4326), is_projected(None)
    (True, False, False)
    """
    if crs is None:
        return False
    return CRS.from_user_input(crs).is_projected


def gk_zone_crs(lon: float) -> CRS:
    """
    Return the CGCS2000 3-degree Gauss–Krüger CRS (CM form, no zone prefix) for `lon`.

    Parameters
    ----------
    lon
        Longitude in degrees east, 73.5–136.5.

    Returns
    -------
    crs
        One of EPSG:4534 (CM 75E) … EPSG:4554 (CM 135E).

    Examples
    --------
    >>> gk_zone_crs(117.02).to_epsg()
    4548
    """
    cm = round(lon / 3.0) * 3
    cm = min(max(cm, 75), 135)
    return CRS.from_epsg(4534 + (cm - 75) // 3)


def _lonlat_center(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> tuple[float, float]:
    minx, miny, maxx, maxy = gdf.total_bounds
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        msg = "cannot choose a working CRS for an empty layer; pass a layer with geometries."
        raise CRSError(msg)
    crs = CRS.from_user_input(gdf.crs)
    if crs.is_geographic:
        return (minx + maxx) / 2.0, (miny + maxy) / 2.0
    tr = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    lon, lat = tr.transform((minx + maxx) / 2.0, (miny + maxy) / 2.0)
    return float(lon), float(lat)


def working_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """
    Choose the projected CRS in which areas and distances of `gdf` are computed.

    Parameters
    ----------
    gdf
        A layer with a CRS.

    Returns
    -------
    crs
        `settings.working_crs` if set; the layer's own CRS if it is a transverse Mercator
        grid; otherwise the CGCS2000 Gauss–Krüger CM zone by central longitude inside China,
        or the UTM zone elsewhere.

    Raises
    ------
    CRSError
        If `gdf` has no CRS or no geometries.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> pts = gpd.GeoSeries([Point(117.0, 36.7)], crs=4326)
    >>> working_crs(pts).to_epsg()
    4548
    """
    if settings.working_crs is not None:
        return CRS.from_user_input(settings.working_crs)
    check_crs(gdf)
    crs = CRS.from_user_input(gdf.crs)
    if crs.is_projected and _is_transverse_mercator(crs):
        return crs
    lon, lat = _lonlat_center(gdf)
    if _CHINA_LON[0] <= lon <= _CHINA_LON[1] and _CHINA_LAT[0] <= lat <= _CHINA_LAT[1]:
        chosen = gk_zone_crs(lon)
    else:
        chosen = gdf.estimate_utm_crs()
    logger.info("working CRS %s chosen for a layer in %s", chosen.to_string(), crs.name)
    return chosen


def _is_transverse_mercator(crs: CRS) -> bool:
    op = crs.coordinate_operation
    return op is not None and "transverse mercator" in op.method_name.lower()


def to_working(
    gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, crs: CRS | None = None
) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """
    Return `gdf` in the working CRS (or in `crs` if given).

    Parameters
    ----------
    gdf
        A layer with a CRS.
    crs
        Target CRS; defaults to `working_crs(gdf)`.

    Returns
    -------
    projected
        A reprojected copy, or `gdf` itself when it already is in that CRS (callers must
        not mutate the result).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> to_working(gpd.GeoSeries([Point(117.0, 36.7)], crs=4326)).crs.to_epsg()
    4548
    """
    target = working_crs(gdf) if crs is None else CRS.from_user_input(crs)
    if CRS.from_user_input(gdf.crs) == target:
        return gdf
    logger.info("reprojecting %d features to %s", len(gdf), target.name)
    return gdf.to_crs(target)


def area(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> pd.Series:
    """
    Return the area of every feature in m², measured in the working CRS.

    Agrees with the geodesic (ellipsoidal) area within 0.1 % for district- and city-sized
    layers whatever their stored CRS (EPSG:4326, 4490, 3857, a Gauss–Krüger zone).

    Parameters
    ----------
    gdf
        A layer with a CRS.

    Returns
    -------
    area_m2
        Float Series aligned on `gdf.index`.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> sq = gpd.GeoSeries([box(500_000, 4_000_000, 500_100, 4_000_100)], crs=4548)
    >>> float(area(sq).iloc[0])
    10000.0
    """
    geoms = gdf.geometry if hasattr(gdf, "geometry") else gdf
    return pd.Series(np.asarray(to_working(geoms).area, dtype=float), index=gdf.index, name="area")


def check_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries, name: str = "layer") -> None:
    """
    Raise `CRSError` if `gdf` has no CRS.

    Parameters
    ----------
    gdf
        The layer to check.
    name
        How the layer is called in the message (argument name or file path).

    Raises
    ------
    CRSError
        Naming the layer and how to declare a CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> check_crs(gpd.GeoSeries([Point(0, 0)]), "parcels")
    Traceback (most recent call last):
    ...
    geo_renewal._errors.CRSError: `parcels` has no CRS; ...
    """
    if gdf.crs is None:
        msg = (
            f"`{name}` has no CRS; declare the one its coordinates are in, e.g. "
            f"`gdf.set_crs('EPSG:4490')` or `read_layer(path, crs='EPSG:4548')`."
        )
        raise CRSError(msg)


def check_same_crs(
    a: gpd.GeoDataFrame | gpd.GeoSeries,
    b: gpd.GeoDataFrame | gpd.GeoSeries,
    names: tuple[str, str] = ("left", "right"),
) -> None:
    """
    Raise `CRSError` unless `a` and `b` both have the same CRS.

    Parameters
    ----------
    a, b
        The two layers.
    names
        Their names in the message.

    Raises
    ------
    CRSError
        Quoting both CRSs and suggesting ``to_crs()``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> s = gpd.GeoSeries([Point(117, 36)], crs=4326)
    >>> check_same_crs(s, s.to_crs(4548), ("parcels", "heritage"))
    Traceback (most recent call last):
    ...
    geo_renewal._errors.CRSError: CRS mismatch between `parcels` ...
    """
    check_crs(a, names[0])
    check_crs(b, names[1])
    ca, cb = CRS.from_user_input(a.crs), CRS.from_user_input(b.crs)
    if ca != cb:
        msg = (
            f"CRS mismatch between `{names[0]}` ({ca.to_string()}, {ca.name}) and "
            f"`{names[1]}` ({cb.to_string()}, {cb.name}); reproject one of them first, "
            f"e.g. `{names[1]}.to_crs({names[0]}.crs)`."
        )
        raise CRSError(msg)
