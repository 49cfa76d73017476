"""
The sample district as the office's own data: a 三调 land-use layer, 不动产 buildings, tiles.

``sample_survey.gpkg`` holds, for one street (`STREET`), ``dltb`` (三调 地类图斑: BSM, TBBH, DLBM/DLMC with real GB/T
21010-2017 and 三调 codes — 0701, 0702 农村宅基地, 05H1 … — QSDWMC, ZLDWMC, TBMJ, KCMJ) made
from the sample parcels, and ``zrz`` (不动产 自然幢: ZRZH, JZMJ, ZCS, FWJG codes, JGRQ dates,
ZZDMJ) made from the sample buildings. Two deliberate faults show the checks: one DLBM typo
(``07O2``) and one TBMJ 3 % off the drawn area. ``sample_tiles.mbtiles`` is a small offline
base map (zoom 13–16) drawn from the sample layers.

It draws from its own random generator (`SEED`), never from the district generator's, so the
other sample layers do not change.
"""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import geopandas as gpd

    from geo_renewal.datasets._generate import SampleDistrict

__all__ = ["SEED", "png_tile", "sample_tiles", "survey_layers"]

#: Seed of this module's own random generator.
SEED = 19_2023
#: 三调 codes drawn per land-use class of the sample parcels: (codes, probabilities).
_DLBM: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "residential": (("0701", "0702"), (0.8, 0.2)),
    "commercial": (("05H1", "0508"), (0.9, 0.1)),
    "industrial": (("0601",), (1.0,)),
    "public": (("08H1", "08H2", "0809"), (0.3, 0.5, 0.2)),
    "green": (("0810",), (1.0,)),
    "vacant": (("1201",), (1.0,)),
    "road": (("1004",), (1.0,)),
    "water": (("1101",), (1.0,)),
    "other": (("0103",), (1.0,)),
}
#: structure code -> 不动产 房屋结构 code (FWJG).
_FWJG = {
    "steel": "1",
    "frame": "3",
    "shear_wall": "3",
    "brick_concrete": "4",
    "brick_wood": "5",
    "simple": "6",
    "other": "6",
}
#: The street the survey layers cover (a small file: one street of the district).
STREET = "西关街道"
#: The zooms of the sample tile package.
TILE_ZOOMS = (13, 14, 15, 16)
_PALETTE = {
    "background": (242, 239, 233),
    "residential": (224, 214, 200),
    "commercial": (240, 200, 190),
    "industrial": (215, 205, 225),
    "public": (205, 220, 235),
    "green": (200, 225, 190),
    "vacant": (235, 232, 220),
    "water": (170, 205, 230),
    "eco_belt": (185, 215, 175),
}


def survey_layers(district: SampleDistrict) -> dict[str, gpd.GeoDataFrame]:
    """
    Return ``dltb`` and ``zrz``: the sample parcels and buildings with survey field names.

    Examples
    --------
    >>> from geo_renewal.datasets import generate_sample_district  # doctest: +SKIP
    >>> layers = survey_layers(generate_sample_district())  # doctest: +SKIP
    >>> sorted(layers)  # doctest: +SKIP
    ['dltb', 'zrz']
    """
    rng = np.random.default_rng(SEED)
    parcels = district.layers["parcels"]
    parcels = parcels[parcels["street"] == STREET]
    buildings = district.layers["buildings"]
    buildings = buildings[buildings["parcel_id"].isin(parcels["parcel_id"])]
    return {"dltb": _dltb(parcels, rng), "zrz": _zrz(buildings, rng)}


def _dltb(parcels: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    import geopandas as gpd

    from geo_renewal.crs import area
    from geo_renewal.landuse_codes import code_tables

    table = code_tables()["gbt21010"]
    n = len(parcels)
    codes = np.empty(n, dtype=object)
    for use, (options, p) in _DLBM.items():
        m = (parcels["land_use"] == use).to_numpy()
        if m.any():
            codes[m] = rng.choice(options, size=int(m.sum()), p=p)
    codes[pd.isna(codes)] = "1201"
    names = [table.name(c) for c in codes]
    homestead = codes == "0702"
    owner = np.where(homestead, parcels["community"].astype(str) + "村民委员会", "国有")
    tbmj = area(parcels).round(2).to_numpy().copy()
    kcmj = np.where(rng.random(n) < 0.1, (tbmj * 0.05).round(2), 0.0)
    typo = int(np.flatnonzero(codes == "0702")[0])
    codes[typo] = "07O2"  # a typo: found on read, with the closest code 0702
    off = int(np.flatnonzero(codes == "0701")[0])
    tbmj[off] = round(tbmj[off] * 1.03, 2)  # a stated area 3 % off: found by validation
    return gpd.GeoDataFrame(
        {
            "BSM": [f"3701020{i:07d}" for i in range(1, n + 1)],
            "TBBH": [str(i) for i in range(1, n + 1)],
            "DLBM": codes,
            "DLMC": names,
            "QSXZ": np.where(homestead, "30", "10"),  # 集体土地所有权 / 国有土地所有权
            "QSDWMC": owner,
            "ZLDWMC": parcels["community"].to_numpy(),
            "TBMJ": tbmj,
            "KCMJ": kcmj,
            "TBDLMJ": (tbmj - kcmj).round(2),
        },
        geometry=parcels.geometry.to_numpy(),
        crs=parcels.crs,
    )


def _zrz(buildings: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    import geopandas as gpd

    n = len(buildings)
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    years = buildings["build_year"].to_numpy()
    jgrq = [f"{y:04d}-{m:02d}-{d:02d}" for y, m, d in zip(years, month, day, strict=True)]
    return gpd.GeoDataFrame(
        {
            "ZRZH": buildings["building_id"].to_numpy(),
            "ZDDM": buildings["parcel_id"].to_numpy(),
            "JZMJ": buildings["floor_area"].to_numpy(),
            "ZZDMJ": buildings["footprint_area"].to_numpy(),
            "ZCS": buildings["floors"].to_numpy(),
            "FWJG": buildings["structure"].map(_FWJG).to_numpy(),
            "JGRQ": jgrq,
        },
        geometry=buildings.geometry.to_numpy(),
        crs=buildings.crs,
    )


def png_tile(pixels: np.ndarray, palette: list[tuple[int, int, int]]) -> bytes:
    r"""
    Encode a 2-D array of palette indices as a PNG (colour type 3, 8 bits).

    Examples
    --------
    >>> png_tile(np.zeros((2, 2), dtype=np.uint8), [(255, 0, 0)])[:8]
    b'\x89PNG\r\n\x1a\n'
    """
    h, w = pixels.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + pixels[i].astype(np.uint8).tobytes() for i in range(h))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
        + chunk(b"PLTE", b"".join(bytes(c) for c in palette))
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def sample_tiles(
    district: SampleDistrict, zooms: tuple[int, ...] = TILE_ZOOMS
) -> dict[str, bytes]:
    """
    Draw the sample district as Web Mercator PNG tiles keyed ``"z/x/y"`` (an offline base).

    Needs rasterio (extra ``raster``), as the rest of the sample data.
    """
    from geo_renewal._compat import import_optional

    features = import_optional("rasterio.features", purpose="the sample tile package")
    transform = import_optional("rasterio.transform", purpose="the sample tile package")
    names = list(_PALETTE)
    palette = [_PALETTE[k] for k in names]
    shapes = _shapes(district, names)
    west, south, east, north = district.layers["parcels"].to_crs(4326).total_bounds
    tiles: dict[str, bytes] = {}
    for z in zooms:
        x0, y0 = _tile_xy(west, north, z)
        x1, y1 = _tile_xy(east, south, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                bounds = _tile_bounds(x, y, z)
                aff = transform.from_bounds(*bounds, 256, 256)
                img = features.rasterize(shapes, out_shape=(256, 256), transform=aff, fill=0)
                tiles[f"{z}/{x}/{y}"] = png_tile(img, palette)
    return tiles


def _shapes(district: SampleDistrict, names: list[str]) -> list[tuple[Any, int]]:
    parcels = district.layers["parcels"].to_crs(3857)
    out: list[tuple[Any, int]] = []
    for layer in ("eco_belt", "river"):
        key = "water" if layer == "river" else layer
        for g in district.layers[layer].to_crs(3857).geometry:
            out.append((g, names.index(key)))
    for g, use in zip(parcels.geometry, parcels["land_use"], strict=True):
        out.append((g.buffer(-3), names.index(use) if use in names else names.index("vacant")))
    return [(g, v) for g, v in out if not g.is_empty]


_R = 6378137.0


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2.0 * n)
    return x, y


def _tile_bounds(x: int, y: int, z: int) -> tuple[float, float, float, float]:
    """Web Mercator bounds (west, south, east, north) in metres of tile x/y/z."""
    size = 2 * np.pi * _R / 2**z
    west = -np.pi * _R + x * size
    north = np.pi * _R - y * size
    return west, north - size, west + size, north
