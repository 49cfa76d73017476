"""One GeoParquet file on two threads: the same frame and the same file as geopandas'."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import geopandas as gpd
import shapely
from geopandas.testing import assert_geodataframe_equal

from geo_renewal import geoparquet
from geo_renewal._wkb import wkb_array
from geo_renewal.io import read_layer, write_layer


@pytest.fixture(autouse=True)
def small_slices(monkeypatch):
    """Slices of 7 rows and the pipeline from 10 rows, so small frames take many slices."""
    monkeypatch.setattr(geoparquet, "PIPELINE_MIN_ROWS", 10)
    monkeypatch.setattr(geoparquet, "_SLICE_ROWS", 7)


def _mixed(n: int, seed: int = 0) -> np.ndarray:
    """Simple polygons of 4–40 vertices and, every few rows, every other kind of geometry."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        k = i % 9
        x, y = 500_000 + 50.0 * i, 4_000_000 + rng.uniform(0, 100)
        if k == 3:
            out.append(
                shapely.box(x, y, x + 30, y + 30).difference(
                    shapely.box(x + 5, y + 5, x + 9, y + 9)
                )
            )
        elif k == 5:
            out.append(
                shapely.MultiPolygon(
                    [shapely.box(x, y, x + 1, y + 1), shapely.box(x + 3, y, x + 4, y + 1)]
                )
            )
        elif k == 6:
            out.append(None)
        elif k == 7:
            out.append(shapely.Polygon([(x, y, 1.0), (x + 1, y, 2.0), (x + 1, y + 1, 3.0)]))
        elif k == 8 and i % 2:
            out.append(shapely.Polygon())
        else:
            out.append(shapely.Point(x, y).buffer(10, quad_segs=int(rng.integers(1, 10))))
    return np.array(out, dtype=object)


def _frame(n: int, *, index=None, crs="EPSG:4548") -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(
        {
            "parcel_id": [f"P{i}" for i in range(n)],
            "households": np.arange(n, dtype=float),
            "街道": ["历下区" if i % 2 else None for i in range(n)],
        },
        geometry=_mixed(n),
        crs=crs,
    )
    if index is not None:
        gdf.index = index
    return gdf


def test_wkb_array_writes_shapely_s_bytes_row_for_row():
    geoms = _mixed(200, seed=3)
    geoms = np.concatenate([geoms, [shapely.LineString([(0, 0), (1, 1)]), shapely.Point(1, 2)]])
    got = wkb_array(geoms)
    want = shapely.to_wkb(geoms, flavor="iso")
    assert got.null_count == sum(g is None for g in geoms)
    assert got.to_pylist() == list(want)
    got.validate(full=True)


def test_wkb_array_of_equal_sized_polygons_is_one_block():
    geoms = np.array([shapely.box(i, 0, i + 1, 1) for i in range(50)], dtype=object)
    assert wkb_array(geoms).to_pylist() == list(shapely.to_wkb(geoms, flavor="iso"))


def _same_geometries(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> bool:
    """The same geometries, vertex for vertex (missing ones in the same rows)."""
    wkb = [shapely.to_wkb(np.asarray(g.geometry.array), flavor="iso") for g in (a, b)]
    return list(wkb[0]) == list(wkb[1])


INDEXES = {
    "range": None,
    "labels": pd.Index([f"id{i}" for i in range(60)], name="parcel"),
    "shifted range": pd.RangeIndex(100, 160, name="n"),
    "multi": pd.MultiIndex.from_arrays([np.arange(60) % 3, np.arange(60)], names=["a", "b"]),
}


@pytest.mark.parametrize("kind", list(INDEXES))
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_read_file_equals_geopandas(tmp_path, kind, n_jobs):
    gdf = _frame(60, index=INDEXES[kind])
    gdf.attrs["source"] = "测绘院"
    path = tmp_path / "p.parquet"
    gdf.to_parquet(path)
    got, want = geoparquet.read_file(path, n_jobs=n_jobs), gpd.read_parquet(path)
    assert_geodataframe_equal(got, want)
    assert got.index.equals(want.index)
    assert list(got.index.names) == list(want.index.names)
    assert list(got.dtypes) == list(want.dtypes)
    assert got.crs == want.crs
    assert got.attrs == want.attrs == {"source": "测绘院"}
    assert _same_geometries(got, want)


def test_read_file_without_crs_and_with_a_bbox_column(tmp_path):
    gdf = _frame(30, crs=None)
    plain, covered = tmp_path / "plain.parquet", tmp_path / "covered.parquet"
    gdf.to_parquet(plain)
    gdf.to_parquet(covered, write_covering_bbox=True)  # not a plain file: geopandas reads it
    for path in (plain, covered):
        assert_geodataframe_equal(geoparquet.read_file(path, n_jobs=2), gpd.read_parquet(path))


@pytest.mark.parametrize("n", [0, 3, 60])
def test_write_file_writes_geopandas_table_and_metadata(tmp_path, n):
    gdf = _frame(n, index=INDEXES["labels"][:n])
    gdf.attrs["source"] = "测绘院"
    ours, theirs = tmp_path / "ours.parquet", tmp_path / "theirs.parquet"
    geoparquet.write_file(gdf, ours, n_jobs=2)
    gdf.to_parquet(theirs)
    a, b = pq.read_table(ours), pq.read_table(theirs)
    assert a.equals(b)
    assert a.schema.equals(b.schema, check_metadata=True)
    assert json.loads(a.schema.metadata[b"geo"]) == json.loads(b.schema.metadata[b"geo"])
    if n == 60:
        assert pq.ParquetFile(ours).metadata.num_row_groups == 9  # slices of 7 rows
    assert_geodataframe_equal(gpd.read_parquet(ours), gdf)


def test_read_layer_and_write_layer_on_two_threads_equal_one(tmp_path):
    gdf = _frame(100)
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    write_layer(gdf, one, n_jobs=1)
    write_layer(gdf, two, n_jobs=2)
    assert pq.read_table(one).equals(pq.read_table(two))
    a, b = read_layer(two, n_jobs=1), read_layer(two, n_jobs=2)
    assert_geodataframe_equal(a, b)
    assert _same_geometries(a, gdf)


def test_write_file_refuses_what_to_parquet_refuses(tmp_path):
    gdf = _frame(30)
    gdf[1] = 1.0  # a column name that is not text
    with pytest.raises(ValueError, match="string column names"):
        gdf.to_parquet(tmp_path / "theirs.parquet")
    with pytest.raises(ValueError, match="string column names"):
        geoparquet.write_file(gdf, tmp_path / "ours.parquet", n_jobs=2)


def test_read_file_keeps_a_geometry_column_in_the_middle(tmp_path):
    gdf = _frame(40).rename_geometry("geom")
    gdf = gdf[["parcel_id", "geom", "households", "街道"]]
    path = tmp_path / "p.parquet"
    gdf.to_parquet(path)
    got = geoparquet.read_file(path, n_jobs=2)
    assert list(got.columns) == ["parcel_id", "geom", "households", "街道"]
    assert got.geometry.name == "geom"
    assert_geodataframe_equal(got, gpd.read_parquet(path))
