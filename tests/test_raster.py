from __future__ import annotations

import numpy as np
import pytest

import geopandas as gpd
import rasterio
import rasterio.features
import shapely
from rasterio.transform import from_origin
from shapely import box

from geo_renewal import CRSError, InputError
from geo_renewal.raster import _burn, zonal_stats

X0, Y0 = 500_000.0, 4_063_000.0  # south-west corner of the raster
RES = 10.0


def _write(path, data, *, crs="EPSG:4548", nodata=-9999.0, origin=(X0, Y0 + 40.0)):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype="float32",
        crs=crs,
        nodata=nodata,
        transform=from_origin(origin[0], origin[1], RES, RES),
    ) as dst:
        dst.write(data.astype("float32"), 1)
    return path


@pytest.fixture
def depth_tif(tmp_path):
    # 4 × 4 cells of 10 m; rows north to south
    data = np.array(
        [
            [0.0, 0.1, 0.2, 0.3],
            [1.0, 1.1, 1.2, 1.3],
            [2.0, 2.1, -9999.0, 2.3],
            [3.0, 3.1, 3.2, 3.3],
        ]
    )
    return _write(tmp_path / "depth.tif", data)


def _parcels(*geoms, crs="EPSG:4548"):
    return gpd.GeoDataFrame({"pid": range(len(geoms))}, geometry=list(geoms), crs=crs)


def test_zonal_hand_computed(depth_tif):
    parcels = _parcels(
        box(X0, Y0 + 20, X0 + 20, Y0 + 40),  # top-left 2 × 2: 0, 0.1, 1, 1.1
        box(X0 + 20, Y0, X0 + 40, Y0 + 20),  # bottom-right 2 × 2: nodata, 2.3, 3.2, 3.3
        box(X0 + 100, Y0, X0 + 120, Y0 + 20),  # outside the raster
    )
    parcels.index = [11, 12, 13]
    got = zonal_stats(parcels, depth_tif, above=[1.05, 3.0])
    assert list(got.index) == [11, 12, 13]
    assert got.loc[11, "mean"] == pytest.approx(0.55)
    assert got.loc[11, "max"] == pytest.approx(1.1)
    assert got.loc[11, "share_above_1.05"] == pytest.approx(0.25)
    # nodata left out of mean/max but in the share's denominator
    assert got.loc[12, ["n_pixels", "n_valid"]].tolist() == [4, 3]
    assert got.loc[12, "mean"] == pytest.approx((2.3 + 3.2 + 3.3) / 3)
    assert got.loc[12, "share_above_3"] == pytest.approx(2 / 4)
    assert got.loc[13, ["n_pixels"]].tolist() == [0]
    assert got.loc[13, ["mean", "max", "share_above_3"]].isna().all()


def test_small_parcel_all_touched_modes(depth_tif):
    # 4 m square inside the cell of value 1.1 but away from its centre (X0+15, Y0+25)
    tiny = _parcels(box(X0 + 11, Y0 + 21, X0 + 15, Y0 + 24))
    assert np.isnan(zonal_stats(tiny, depth_tif, all_touched=False)["mean"].iloc[0])
    assert zonal_stats(tiny, depth_tif)["mean"].iloc[0] == pytest.approx(1.1)  # auto
    # a parcel across four cells' corner: auto and True give the four touched cells
    corner = _parcels(box(X0 + 18, Y0 + 18, X0 + 22, Y0 + 22))
    auto = zonal_stats(corner, depth_tif)
    assert auto["n_pixels"].iloc[0] == 4
    assert auto["max"].iloc[0] == pytest.approx(2.1)
    assert zonal_stats(corner, depth_tif, all_touched=True)["n_pixels"].iloc[0] == 4
    # large parcels are not inflated by their boundary pixels in auto mode
    big = _parcels(box(X0 + 1, Y0 + 1, X0 + 39, Y0 + 39))
    assert zonal_stats(big, depth_tif)["n_pixels"].iloc[0] == 16
    assert zonal_stats(big, depth_tif, all_touched=False)["n_pixels"].iloc[0] == 16
    with pytest.raises(InputError, match="all_touched"):
        zonal_stats(big, depth_tif, all_touched="yes")


def test_parcels_reprojected_to_raster_crs(depth_tif):
    parcels = _parcels(box(X0, Y0 + 20, X0 + 20, Y0 + 40))
    a = zonal_stats(parcels, depth_tif)
    b = zonal_stats(parcels.to_crs(4326), depth_tif)
    assert a["mean"].iloc[0] == pytest.approx(b["mean"].iloc[0])


def test_raster_errors(tmp_path, depth_tif):
    parcels = _parcels(box(X0, Y0, X0 + 10, Y0 + 10))
    with pytest.raises(InputError, match="cannot open raster"):
        zonal_stats(parcels, tmp_path / "missing.tif")
    with pytest.raises(InputError, match=r"bands 1\.\.1"):
        zonal_stats(parcels, depth_tif, band=2)
    nocrs = _write(tmp_path / "nocrs.tif", np.zeros((2, 2)), crs=None)
    with pytest.raises(CRSError, match="has no CRS"):
        zonal_stats(parcels, nocrs)


def _random_polygons(rng, n, extent):
    geoms = []
    for _ in range(n):
        cx, cy = rng.uniform(0, extent, 2)
        k = rng.integers(3, 12)
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        rad = rng.uniform(2, 40, k)
        poly = shapely.Polygon(np.c_[cx + rad * np.cos(ang), cy + rad * np.sin(ang)])
        geoms.append(shapely.make_valid(poly) if not poly.is_valid else poly)
    geoms.append(box(100, 100, 160, 160).difference(box(115, 115, 140, 140)))  # hole
    geoms.append(shapely.MultiPolygon([box(10, 200, 30, 230), box(40, 200, 70, 260)]))
    out = np.array(geoms, dtype=object)
    return out[np.isin(shapely.get_type_id(out), [3, 6])]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scanline_matches_gdal_centre_rule(seed):
    rng = np.random.default_rng(seed)
    geoms = _random_polygons(rng, 150, 300.0)
    transform = from_origin(-17.3, 323.1, 3.7, 3.7)
    shape = (92, 97)
    ids = np.arange(1, len(geoms) + 1)
    # one parcel at a time so overlaps do not depend on the burn order
    for g, v in zip(geoms[:40], ids[:40], strict=True):
        mine = _burn(np.array([g]), np.array([True]), transform, shape, False)
        ref = rasterio.features.rasterize([(g, 1)], out_shape=shape, transform=transform)
        assert ((mine > 0) == (ref > 0)).all(), v
    every = _burn(geoms, np.ones(len(geoms), bool), transform, shape, False)
    ref = rasterio.features.rasterize(
        zip(geoms, ids, strict=True), out_shape=shape, transform=transform
    )
    assert ((every > 0) == (ref > 0)).all()
