"""
Coordinate reference systems: the working CRS, accurate areas, and checks.

Metric work (areas, buffers, distances) runs in a projected *working CRS*:
`settings.working_crs` if set; else the layer's own CRS if it already is a transverse
Mercator grid (a Gauss–Krüger or UTM zone); else the CGCS2000 3-degree Gauss–Krüger
zone (EPSG:4534–4554, "CM nnnE") by the layer's central longitude inside China, or the
UTM zone elsewhere. Web Mercator is never measured in (it inflates areas by 1/cos²φ).
`area` also divides out the grid's own scale error, so areas agree with the geodesic area.

Chinese web maps use shifted coordinates: GCJ-02 (Gaode/AutoNavi, Tencent) and BD-09
(Baidu). `wgs84_to_gcj02`, `gcj02_to_wgs84`, `wgs84_to_bd09`, `bd09_to_wgs84`,
`gcj02_to_bd09` and `bd09_to_gcj02` convert every vertex of a layer at once.

`check_coordinates` refuses coordinates that cannot be in the declared CRS: swapped
latitude/longitude, metres under a geographic CRS, Gauss–Krüger eastings with the zone
number in front declared with a "CM" CRS (or the reverse), swapped northing/easting.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import pyproj
import shapely
from pyproj import CRS

from geo_renewal import settings
from geo_renewal._errors import CRSError
from geo_renewal._geomcheck import format_coordinate as _fmt
from geo_renewal._geomcheck import format_span as _span
from geo_renewal._geomcheck import refuse_bad_coordinates
from geo_renewal._shift import (
    GCJ_BOX,
    _bd09_to_gcj02_xy,
    _bd09_to_wgs84_xy,
    _gcj02_to_bd09_xy,
    _gcj02_to_wgs84_xy,
    _map_vertices,
    _wgs84_to_bd09_xy,
    _wgs84_to_gcj02_xy,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "GCJ_BOX",
    "area",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_coordinates",
    "check_crs",
    "check_same_crs",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "gk_zone_crs",
    "is_projected",
    "swap_xy",
    "to_working",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
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
    crs = CRS.from_user_input(gdf.crs)
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        refuse_bad_coordinates(gdf.geometry, crs, name="layer")  # an infinite coordinate
        msg = "cannot choose a working CRS for an empty layer; pass a layer with geometries."
        raise CRSError(msg)
    if crs.is_geographic:
        lon, lat = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    else:
        tr = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
        lon, lat = tr.transform((minx + maxx) / 2.0, (miny + maxy) / 2.0)
    if not (abs(lon) <= 180.0 and abs(lat) <= 90.0):  # also False for NaN
        refuse_bad_coordinates(gdf.geometry, crs, name="layer")
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
        return _checked_setting(settings.working_crs)
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


def _checked_setting(value: str | int) -> CRS:
    """Return `settings.working_crs` as a CRS, refusing one that cannot measure metres."""
    crs = CRS.from_user_input(value)
    op = crs.coordinate_operation
    if not crs.is_projected or (op is not None and "pseudo" in op.method_name.lower()):
        msg = (
            f"`settings.working_crs = {value!r}` ({crs.name}) cannot be used for areas and "
            f"distances: geographic degrees are not metres, and Web Mercator inflates areas "
            f"by 1/cos²φ (1.56× at 36.7°N); set the city's Gauss–Krüger zone, e.g. "
            f"'EPSG:4548', or None to choose it automatically."
        )
        raise CRSError(msg)
    return crs


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


def area(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, name: str = "layer") -> pd.Series:
    """
    Return the area of every feature in m², agreeing with the geodesic area.

    The layer is projected to its working CRS (`working_crs`) and each planar area is
    divided by the projection's areal scale at the feature's centre: exactly ``k²`` for a
    transverse Mercator grid (Gauss–Krüger, UTM), ``pyproj``'s areal scale factor for any
    other projection. The result agrees with the ellipsoidal area of ``pyproj.Geod``
    within a few parts per million for parcel- and district-sized features, whatever the
    stored CRS (EPSG:4326, 4490, 3857, a Gauss–Krüger zone with or without zone prefix),
    even far from the grid's central meridian.

    Parameters
    ----------
    gdf
        A layer with a CRS.
    name
        How the layer is called in messages (argument name or file path).

    Returns
    -------
    area_m2
        Float Series aligned on `gdf.index` (0 for empty geometries, NaN for missing ones).

    Raises
    ------
    CRSError
        If `gdf` has no CRS.
    InputError
        If a geometry has a NaN or infinite coordinate, or lies outside the plausible range
        of the CRS (the message names the rows; `validate_layer` removes them).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> sq = gpd.GeoSeries([box(500_000, 4_000_000, 500_100, 4_000_100)], crs=4548)
    >>> round(float(area(sq).iloc[0]), 3)
    10000.0
    """
    geoms = gdf.geometry if hasattr(gdf, "geometry") else gdf
    target = working_crs(geoms)
    projected = to_working(geoms, crs=target)
    values = np.asarray(projected.values)
    with np.errstate(invalid="ignore", over="ignore"):
        planar = shapely.area(values).astype(float, copy=False)
    bounds = shapely.bounds(values)
    refuse_bad_coordinates(
        values, target, name=name, labels=gdf.index, bounds=bounds, measure=planar
    )
    planar[shapely.is_missing(values)] = np.nan
    scale = _areal_scale(values, target, bounds=bounds)
    return pd.Series(planar / scale, index=gdf.index, name="area")


def _areal_scale(geoms: np.ndarray, crs: CRS, *, bounds: np.ndarray | None = None) -> np.ndarray:
    """Areal scale factor of `crs` at the bounding-box centre of each geometry (1 if empty)."""
    if bounds is None:
        bounds = shapely.bounds(geoms)
    x = (bounds[:, 0] + bounds[:, 2]) / 2.0
    y = (bounds[:, 1] + bounds[:, 3]) / 2.0
    ok = np.isfinite(x) & np.isfinite(y)
    scale = np.ones(len(geoms))
    if not ok.any():
        return scale
    if _is_transverse_mercator(crs):
        op, ell = crs.coordinate_operation, crs.ellipsoid
        assert op is not None  # a transverse Mercator grid has an operation
        assert ell is not None  # and an ellipsoid
        params = {p.code: p.value for p in op.params}
        k0 = float(params.get("8805", 1.0))
        fe = float(params.get("8806", 0.0))
        fn = float(params.get("8807", 0.0))
        a, f = (
            ell.semi_major_metre,
            1.0 / ell.inverse_flattening if ell.inverse_flattening else 0.0,
        )
        e2 = f * (2.0 - f)
        # The Gaussian radius at the layer's mean latitude (from the northing, ≈ 110.9 km per
        # degree): its variation across a city changes the scale by < 1e-7.
        lat = np.radians(np.clip((np.mean(y[ok]) - fn) / 110_946.0, -89.0, 89.0))
        radius = a * np.sqrt(1.0 - e2) / (1.0 - e2 * np.sin(lat) ** 2)
        k = np.cosh((x[ok] - fe) * (1.0 / (k0 * radius)))
        k *= k0
        scale[ok] = k * k
        return scale
    geodetic = crs.geodetic_crs
    tr = pyproj.Transformer.from_crs(crs, geodetic, always_xy=True)
    lon, lat = tr.transform(x[ok], y[ok])
    factors = pyproj.Proj(crs).get_factors(lon, lat)
    areal = np.asarray(factors.areal_scale, dtype=float)
    scale[ok] = np.where(np.isfinite(areal) & (areal > 0), areal, 1.0)
    return scale


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


# ---------------------------------------------------------------------------------------
# GCJ-02 / BD-09 conversions of layers and geometries (the formulas are in `_shift`)
# ---------------------------------------------------------------------------------------

_GEOGRAPHIC_OK = (4326, 4490)


def _convert(data: Any, func: Callable[..., tuple[np.ndarray, np.ndarray]], name: str) -> Any:
    """Apply a lon/lat conversion to every vertex of `data`, returning the same type."""
    import geopandas as gpd

    def on_coords(coords: np.ndarray) -> np.ndarray:
        out = np.array(coords, dtype=float, copy=True)
        out[:, 0], out[:, 1] = func(out[:, 0], out[:, 1])
        return out

    if isinstance(data, gpd.GeoDataFrame | gpd.GeoSeries):
        _check_lonlat_crs(data, name)
    return _map_vertices(data, on_coords)


def _check_lonlat_crs(data: gpd.GeoDataFrame | gpd.GeoSeries, name: str) -> None:
    check_crs(data, "data")
    crs = CRS.from_user_input(data.crs)
    if not crs.is_geographic or crs.to_epsg() not in _GEOGRAPHIC_OK:
        msg = (
            f"{name} needs longitude/latitude in EPSG:4326 or EPSG:4490, but `data` is in "
            f"{crs.to_string()} ({crs.name}); call `data.to_crs(4326)` first."
        )
        raise CRSError(msg)


def wgs84_to_gcj02(data: Any) -> Any:
    """
    Shift WGS84 longitude/latitude to GCJ-02, the coordinates of Gaode and Tencent maps.

    Every vertex is converted at once (vectorised with ``shapely.transform``). Points
    outside `GCJ_BOX` are left unchanged. CGCS2000 (EPSG:4490) is treated as WGS84.

    Parameters
    ----------
    data
        A GeoSeries or GeoDataFrame in EPSG:4326 or EPSG:4490, a shapely geometry or an
        array of geometries, or a numeric array of (lon, lat) pairs with shape (..., 2).

    Returns
    -------
    shifted
        The same type as `data`: a copy with every vertex shifted. A GeoSeries or
        GeoDataFrame keeps its index, columns and CRS label (EPSG:4326: GCJ-02 has no EPSG
        code), so the result is ready to draw over GCJ-02 tiles.

    Raises
    ------
    CRSError
        If a GeoSeries/GeoDataFrame has no CRS or is not in EPSG:4326/4490.

    See Also
    --------
    gcj02_to_wgs84 : The inverse.
    wgs84_to_bd09 : The same for Baidu maps.

    Examples
    --------
    >>> import numpy as np
    >>> lon, lat = wgs84_to_gcj02(np.array([117.0, 36.67]))
    >>> round(float(lon - 117.0), 5), round(float(lat - 36.67), 5)
    (0.00584, 0.00026)
    """
    return _convert(data, _wgs84_to_gcj02_xy, "wgs84_to_gcj02")


def gcj02_to_wgs84(data: Any) -> Any:
    """
    Convert GCJ-02 longitude/latitude (Gaode, Tencent) back to WGS84.

    Solved by fixed-point iteration to 1e-10 degrees, so ``gcj02_to_wgs84(wgs84_to_gcj02(x))``
    returns `x` within millimetres anywhere in China. Points outside `GCJ_BOX` are unchanged.

    Parameters
    ----------
    data
        GCJ-02 coordinates: a GeoSeries or GeoDataFrame labelled EPSG:4326 or EPSG:4490, a
        shapely geometry or array of geometries, or an array of (lon, lat) pairs.

    Returns
    -------
    wgs84
        The same type as `data`, every vertex converted.

    Raises
    ------
    CRSError
        If a GeoSeries/GeoDataFrame has no CRS or is not in EPSG:4326/4490.

    See Also
    --------
    wgs84_to_gcj02 : The forward shift.

    Examples
    --------
    >>> from shapely import Point
    >>> p = gcj02_to_wgs84(wgs84_to_gcj02(Point(117.0, 36.67)))
    >>> round(p.x, 9), round(p.y, 9)
    (117.0, 36.67)
    """
    return _convert(data, _gcj02_to_wgs84_xy, "gcj02_to_wgs84")


def gcj02_to_bd09(data: Any) -> Any:
    """
    Shift GCJ-02 longitude/latitude to BD-09, the coordinates of Baidu maps.

    Parameters
    ----------
    data
        A GeoSeries/GeoDataFrame labelled EPSG:4326 or EPSG:4490, a shapely geometry or
        array of geometries, or an array of (lon, lat) pairs.

    Returns
    -------
    bd09
        The same type as `data`, every vertex converted.

    See Also
    --------
    bd09_to_gcj02 : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> lon, lat = gcj02_to_bd09(np.array([117.0, 36.67]))
    >>> round(float(lon), 4), round(float(lat), 4)
    (117.0064, 36.6763)
    """
    return _convert(data, _gcj02_to_bd09_xy, "gcj02_to_bd09")


def bd09_to_gcj02(data: Any) -> Any:
    """
    Convert BD-09 longitude/latitude (Baidu) to GCJ-02, iterating to 1e-10 degrees.

    Parameters
    ----------
    data
        A GeoSeries/GeoDataFrame labelled EPSG:4326 or EPSG:4490, a shapely geometry or
        array of geometries, or an array of (lon, lat) pairs.

    Returns
    -------
    gcj02
        The same type as `data`, every vertex converted.

    See Also
    --------
    gcj02_to_bd09 : The forward shift.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.array([[117.0, 36.67]])
    >>> bool(np.allclose(bd09_to_gcj02(gcj02_to_bd09(xy)), xy, atol=1e-9))
    True
    """
    return _convert(data, _bd09_to_gcj02_xy, "bd09_to_gcj02")


def wgs84_to_bd09(data: Any) -> Any:
    """
    Shift WGS84 longitude/latitude to BD-09 (Baidu), through GCJ-02.

    Parameters
    ----------
    data
        A GeoSeries/GeoDataFrame in EPSG:4326 or EPSG:4490, a shapely geometry or array of
        geometries, or an array of (lon, lat) pairs.

    Returns
    -------
    bd09
        The same type as `data`, every vertex converted; CRS label unchanged.

    See Also
    --------
    bd09_to_wgs84 : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> lon, lat = wgs84_to_bd09(np.array([117.0, 36.67]))
    >>> round(float(lon), 3), round(float(lat), 3)
    (117.012, 36.678)
    """
    return _convert(data, _wgs84_to_bd09_xy, "wgs84_to_bd09")


def bd09_to_wgs84(data: Any) -> Any:
    """
    Convert BD-09 longitude/latitude (Baidu) to WGS84, through GCJ-02.

    Parameters
    ----------
    data
        A GeoSeries/GeoDataFrame labelled EPSG:4326 or EPSG:4490, a shapely geometry or
        array of geometries, or an array of (lon, lat) pairs.

    Returns
    -------
    wgs84
        The same type as `data`, every vertex converted.

    See Also
    --------
    wgs84_to_bd09 : The forward shift.

    Examples
    --------
    >>> from shapely import Point
    >>> p = bd09_to_wgs84(wgs84_to_bd09(Point(117.0, 36.67)))
    >>> round(p.x, 9), round(p.y, 9)
    (117.0, 36.67)
    """
    return _convert(data, _bd09_to_wgs84_xy, "bd09_to_wgs84")


def swap_xy(data: Any) -> Any:
    """
    Swap the x and y of every vertex, to repair a layer written with its axes swapped.

    Parameters
    ----------
    data
        A GeoSeries or GeoDataFrame (the CRS label is kept), or a shapely geometry.

    Returns
    -------
    swapped
        The same type as `data`.

    Examples
    --------
    >>> from shapely import Point
    >>> swap_xy(Point(36.67, 117.0))
    <POINT (117 36.67)>
    """

    def flip(coords: np.ndarray) -> np.ndarray:
        out = np.array(coords, dtype=float, copy=True)
        out[:, [0, 1]] = out[:, [1, 0]]
        return out

    return _map_vertices(data, flip)


# ---------------------------------------------------------------------------------------
# Plausibility of coordinates against a CRS (swapped axes, Gauss–Krüger zone prefixes)
# ---------------------------------------------------------------------------------------

_GK_NAME = re.compile(
    r"^(?P<datum>.+) / (?P<three>3-degree )?Gauss-Kruger (?:zone (?P<zone>\d+)|CM (?P<cm>\d+)E)$"
)


@functools.lru_cache(maxsize=1)
def _gk_codes() -> dict[str, int]:
    """EPSG name -> code of every (non-deprecated) Gauss–Krüger CRS in the PROJ database."""
    from pyproj.database import query_crs_info
    from pyproj.enums import PJType

    return {
        info.name: int(info.code)
        for info in query_crs_info(auth_name="EPSG", pj_types=PJType.PROJECTED_CRS)
        if "Gauss-Kruger" in info.name and not info.deprecated
    }


def _gk_suggestion(
    datum: str, *, three: bool, zone: int | None = None, cm: int | None = None, prefixed: bool
) -> str:
    """Return 'EPSG:nnnn (name)' of the Gauss–Krüger CRS asked for, or a generic hint."""
    if zone is None and cm is not None:
        zone = cm // 3 if three else (cm + 3) // 6
    if cm is None and zone is not None:
        cm = 3 * zone if three else 6 * zone - 3
    family = "3-degree Gauss-Kruger" if three else "Gauss-Kruger"
    name = f"{datum} / {family} " + (f"zone {zone}" if prefixed else f"CM {cm}E")
    code = _gk_codes().get(name)
    if code is None:
        return f"the {'zone-prefixed' if prefixed else 'CM'} {datum} {family} CRS"
    return f"EPSG:{code} ({name})"


def _zone_family(zone: int) -> bool | None:
    """Return True for a 3-degree zone number (25–45), False for a 6-degree one (13–23)."""
    if 25 <= zone <= 45:
        return True
    if 13 <= zone <= 23:
        return False
    return None


def check_coordinates(
    gdf: gpd.GeoDataFrame | gpd.GeoSeries,
    name: str = "layer",
    *,
    crs: CRS | str | int | None = None,
) -> None:
    """
    Raise `CRSError` when the coordinates of `gdf` cannot be in its CRS.

    Catches the mistakes district data is known for: latitude/longitude swapped under a
    geographic CRS; metres under a geographic CRS or degrees under a projected one; a
    Gauss–Krüger file whose eastings carry the zone number in front (8 digits, e.g.
    39 500 000) declared with a "CM" CRS such as EPSG:4548, or 6-digit eastings declared with
    a zone-prefixed CRS such as EPSG:4527 (the message names the likely EPSG code); and
    northing/easting swapped in a Gauss–Krüger file. Only the layer's bounds are inspected.

    Parameters
    ----------
    gdf
        The layer to check.
    name
        How the layer is called in messages (argument name or file path).
    crs
        Check against this CRS instead of ``gdf.crs``.

    Raises
    ------
    CRSError
        Naming the layer, what its coordinates look like, and the likely fix.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> pts = gpd.GeoSeries([Point(39_500_000, 4_060_000)], crs=4548)
    >>> check_coordinates(pts, "parcels.shp")
    Traceback (most recent call last):
    ...
    geo_renewal._errors.CRSError: `parcels.shp`: eastings ... carry the Gauss–Krüger zone number 39 ...
    """
    if crs is None:
        check_crs(gdf, name)
        crs = gdf.crs
    _check_bounds(tuple(float(v) for v in gdf.total_bounds), CRS.from_user_input(crs), name)


_DECLARE = (
    "declare the right CRS with `read_layer(path, crs=...)` or "
    "`gdf.set_crs(..., allow_override=True)`"
)
_SWAP_FIX = (
    "swap the axes at the source (QGIS: Processing ▸ Swap X and Y coordinates) or in "
    "Python with `geo_renewal.crs.swap_xy(geopandas.read_file(path))`"
)


def _check_bounds(bounds: tuple[float, ...], crs: CRS, name: str) -> None:
    """Raise `CRSError` when a layer's `bounds` (minx, miny, maxx, maxy) cannot be in `crs`."""
    if not all(np.isfinite(bounds)):
        return
    if crs.is_geographic:
        _check_degrees(bounds, crs, name)
        return
    if not crs.is_projected:
        return
    _check_not_degrees(bounds, crs, name)
    if not _is_transverse_mercator(crs):
        return
    op = crs.coordinate_operation
    assert op is not None  # a transverse Mercator grid has one
    params = {p.code: float(p.value) for p in op.params}
    fe, fn = params.get("8806", 0.0), params.get("8807", 0.0)
    if fn != 0.0:
        return
    _check_northing_easting(bounds, crs, name)
    _check_zone_prefix(bounds, crs, name, fe)


def _check_degrees(bounds: tuple[float, ...], crs: CRS, name: str) -> None:
    """Under a geographic CRS: refuse swapped latitude/longitude and metres."""
    minx, miny, maxx, maxy = bounds
    if (
        _CHINA_LAT[0] <= minx
        and maxx <= _CHINA_LAT[1]
        and _CHINA_LON[0] <= miny
        and maxy <= _CHINA_LON[1]
    ) or (max(abs(miny), abs(maxy)) > 90 and max(abs(minx), abs(maxx)) <= 90):
        msg = (
            f"`{name}`: coordinates look like (latitude, longitude) with the axes swapped "
            f"({_span(bounds)}) under the geographic CRS {crs.to_string()}; {_SWAP_FIX}."
        )
        raise CRSError(msg)
    if max(abs(minx), abs(maxx)) > 180 or max(abs(miny), abs(maxy)) > 90:
        msg = (
            f"`{name}`: coordinates look like metres ({_span(bounds)}) but the CRS "
            f"{crs.to_string()} ({crs.name}) is geographic (degrees); "
            f"{_projected_hint(minx, maxx, miny, maxy)}; {_DECLARE}."
        )
        raise CRSError(msg)


def _check_not_degrees(bounds: tuple[float, ...], crs: CRS, name: str) -> None:
    """Under a projected CRS: refuse longitude/latitude of China."""
    minx, miny, maxx, maxy = bounds
    if (
        _CHINA_LON[0] <= minx
        and maxx <= _CHINA_LON[1]
        and _CHINA_LAT[0] <= miny
        and maxy <= _CHINA_LAT[1]
    ):
        msg = (
            f"`{name}`: coordinates look like longitude/latitude in degrees ({_span(bounds)}) "
            f"but the CRS {crs.to_string()} ({crs.name}) is projected (metres); the likely CRS "
            f"is EPSG:4490 (CGCS2000) or EPSG:4326 (WGS84); {_DECLARE}."
        )
        raise CRSError(msg)


def _check_northing_easting(bounds: tuple[float, ...], crs: CRS, name: str) -> None:
    """Under a transverse Mercator grid: refuse northing and easting swapped."""
    minx, miny, maxx, maxy = bounds
    x_northing = minx >= 1e6 and maxx < 1e7
    y_easting = miny >= 0 and (maxy < 1e6 or (miny >= 1e7 and maxy < 1e8))
    if x_northing and y_easting:
        msg = (
            f"`{name}`: northing and easting look swapped ({_span(bounds)}): under "
            f"{crs.to_string()} ({crs.name}) x is the easting and y the northing (about "
            f"2 000 000 to 6 000 000 m in China); {_SWAP_FIX}."
        )
        raise CRSError(msg)


def _check_zone_prefix(bounds: tuple[float, ...], crs: CRS, name: str, fe: float) -> None:
    """Under a Gauss–Krüger grid: refuse eastings with a zone prefix the CRS does not expect."""
    minx, maxx = bounds[0], bounds[2]
    match = _GK_NAME.match(crs.name)
    prefixed_x = minx >= 1e7 and maxx < 1e8
    zone_x = int(minx // 1e6) if prefixed_x else None
    if prefixed_x and int(maxx // 1e6) != zone_x:
        zone_x = None
    if fe < 1e6 and zone_x is not None:
        _refuse_zone_prefix(bounds, crs, name, fe, zone_x, match)
    if (
        fe >= 1e6
        and (zone_fe := int(fe // 1e6))
        and (maxx < 1e6 or (zone_x is not None and zone_x != zone_fe))
    ):
        _refuse_other_zone(bounds, crs, name, fe, zone_fe, zone_x, match)


def _refuse_zone_prefix(
    bounds: tuple[float, ...],
    crs: CRS,
    name: str,
    fe: float,
    zone_x: int,
    match: re.Match[str] | None,
) -> None:
    """8-digit eastings (zone `zone_x` in front) under a 'CM' CRS."""
    minx, maxx = bounds[0], bounds[2]
    datum = match["datum"] if match else "CGCS2000"
    three = _zone_family(zone_x)  # 3-degree zones are 25–45, 6-degree ones 13–23
    if three is None and match:
        three = bool(match["three"])
    hint = (
        _gk_suggestion(datum, three=three, zone=zone_x, prefixed=True)
        if three is not None
        else "the zone-prefixed Gauss–Krüger CRS of that zone"
    )
    msg = (
        f"`{name}`: eastings {_fmt(minx)} to {_fmt(maxx)} carry the Gauss–Krüger zone "
        f"number {zone_x} in front (8 digits), but {crs.to_string()} ({crs.name}) expects "
        f"eastings around {_fmt(fe)} without it; the likely CRS is {hint}; {_DECLARE}."
    )
    raise CRSError(msg)


def _refuse_other_zone(
    bounds: tuple[float, ...],
    crs: CRS,
    name: str,
    fe: float,
    zone_fe: int,
    zone_x: int | None,
    match: re.Match[str] | None,
) -> None:
    """Eastings without zone prefix, or with another zone's, under a zone-prefixed CRS."""
    minx, maxx = bounds[0], bounds[2]
    datum = match["datum"] if match else "CGCS2000"
    if maxx < 1e6:
        three = bool(match["three"]) if match else _zone_family(zone_fe)
        what = "have no zone number in front (6 digits)"
        hint = (
            _gk_suggestion(datum, three=three, zone=zone_fe, prefixed=False)
            if three is not None
            else "the matching Gauss–Krüger 'CM' CRS"
        )
    else:
        three = _zone_family(int(zone_x or 0))
        what = f"carry the zone number {zone_x}"
        hint = (
            _gk_suggestion(datum, three=three, zone=zone_x, prefixed=True)
            if three is not None
            else f"the Gauss–Krüger CRS of zone {zone_x}"
        )
    msg = (
        f"`{name}`: eastings {_fmt(minx)} to {_fmt(maxx)} {what}, but {crs.to_string()} "
        f"({crs.name}) expects eastings with zone number {zone_fe} in front (around "
        f"{_fmt(fe)}); the likely CRS is {hint}; {_DECLARE}."
    )
    raise CRSError(msg)


def _projected_hint(minx: float, maxx: float, miny: float, maxy: float) -> str:
    """Guess which projected CRS metre coordinates are in, for error messages."""
    if minx >= 1e7 and maxx < 1e8 and int(minx // 1e6) == int(maxx // 1e6):
        zone = int(minx // 1e6)
        three = _zone_family(zone)
        if three is not None:
            hint = _gk_suggestion("CGCS2000", three=three, zone=zone, prefixed=True)
            return f"the eastings carry Gauss–Krüger zone number {zone}: the likely CRS is {hint}"
    if minx > 0 and maxx < 1e6 and miny >= 1e6 and maxy < 1e7:
        return (
            "they look like Gauss–Krüger eastings/northings without zone number: the likely CRS "
            "is the CGCS2000 'CM' zone nearest the district, EPSG:4534–4554 "
            "(e.g. EPSG:4548 for CM 117E)"
        )
    return "find out which projected CRS the file was made in"
