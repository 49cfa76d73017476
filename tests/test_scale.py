"""Province-scale runs: dask-geopandas partitions give the in-memory results."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely
from geopandas.testing import assert_geodataframe_equal

from geo_renewal._errors import CRSError, InputError, RuleError
from geo_renewal.classify import classify_parcels
from geo_renewal.geoparquet import auto_partitions, is_partitioned, partition_layer
from geo_renewal.io import read_layer, write_layer
from geo_renewal.partitioned import dask_client
from geo_renewal.stats import write_with_stats, zone_stats

dask = pytest.importorskip("dask")
pytest.importorskip("dask_geopandas")

LAYERS = ["heritage_core", "heritage_control", "eco_belt", "view_corridor", "river"]


@pytest.fixture(scope="module")
def sample(
    sample_path, sample_flood, sample_parcels, sample_layers, sample_districts, sample_classified
):
    """The session's sample district (tests/conftest.py): shared, do not modify."""
    return {
        "path": sample_path,
        "tif": sample_flood,
        "parcels": sample_parcels,
        "layers": sample_layers,
        "districts": sample_districts,
        "classified": sample_classified,
    }


@pytest.fixture(scope="module")
def partitioned(sample):
    """The sample parcels in 4 Hilbert partitions, classified lazily."""
    ddf = partition_layer(sample["parcels"], 4)
    lazy = classify_parcels(
        ddf, "default", layers=sample["layers"], rasters={"flood_depth": sample["tif"]}
    )
    return ddf, lazy


@pytest.fixture(scope="module")
def grid_zones(sample):
    """A 3 × 3 grid of boxes over the district: every box crosses partition borders."""
    minx, miny, maxx, maxy = sample["parcels"].total_bounds
    xs = np.linspace(minx - 10, maxx + 10, 4)
    ys = np.linspace(miny - 10, maxy - 200, 4)  # the north strip stays outside
    boxes = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for j in range(3) for i in range(3)]
    return gpd.GeoDataFrame(
        {"zone_id": [f"G{k}" for k in range(9)], "planned": np.arange(9) * 1000.0},
        geometry=boxes,
        crs=sample["parcels"].crs,
    )


def _partition_of(ddf) -> pd.Series:
    parts = [ddf.partitions[i].compute() for i in range(ddf.npartitions)]
    return pd.concat([pd.Series(i, index=p.index) for i, p in enumerate(parts)])


# ------------------------------------------------------------------ partitions


def test_partitions_are_hilbert_sorted_and_parcels_straddle_their_borders(sample, partitioned):
    parcels = sample["parcels"]
    ddf, _ = partitioned
    assert is_partitioned(ddf)
    assert not is_partitioned(parcels)
    assert ddf.npartitions == 4
    part = _partition_of(ddf).reindex(parcels.index)
    assert part.notna().all()
    assert part.index.is_unique
    # Compact partitions: their boxes cover far less than 4 × the district's box.
    boxes = ddf.spatial_partitions
    assert boxes.area.sum() < 2.0 * shapely.box(*parcels.total_bounds).area
    # Neighbouring parcels on either side of a partition border exist ...
    g = np.asarray(parcels.geometry.array)
    i, j = shapely.STRtree(g).query(g, predicate="touches")
    codes = part.to_numpy()
    assert (codes[i] != codes[j]).sum() > 20
    # ... and every district spans several partitions.
    for district in sample["districts"].geometry:
        inside = parcels.geometry.intersects(district).to_numpy()
        assert len(np.unique(codes[inside])) >= 2


def test_partition_layer_keeps_index_and_puts_missing_geometry_last(grid_parcels):
    gdf = grid_parcels.set_index(pd.Index([f"p{k}" for k in range(20)], name="pid"))
    gdf.loc["p3", "geometry"] = None
    ddf = partition_layer(gdf, 3)
    out = ddf.compute()
    assert out.index.name == "pid"
    assert sorted(out.index) == sorted(gdf.index)
    assert out.index[-1] == "p3"
    assert_geodataframe_equal(out.loc[gdf.index], gdf)
    assert auto_partitions(250_000) == 4
    assert auto_partitions(1_000_001) == 11
    with pytest.raises(InputError, match="npartitions"):
        partition_layer(gdf, 0)


def test_hilbert_shuffle_of_a_dask_frame_keeps_index(grid_parcels):
    dd = pytest.importorskip("dask.dataframe")
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(grid_parcels, npartitions=2)
    shuffled = partition_layer(ddf, 3)
    assert shuffled.npartitions == 3
    out = shuffled.compute()
    assert_geodataframe_equal(out.sort_index(), grid_parcels)


# ------------------------------------------------------------------ classification


def test_classify_dask_equals_in_memory(sample, partitioned):
    _, lazy = partitioned
    expected = sample["classified"]
    assert is_partitioned(lazy)
    pd.testing.assert_series_equal(lazy._meta.dtypes, expected.dtypes)
    assert list(lazy.columns) == list(expected.columns)
    got = lazy.compute()  # threads
    assert_geodataframe_equal(got.loc[expected.index], expected)
    assert got["category"].value_counts().min() > 0  # every category occurs


def test_classify_dask_refuses_buildings_and_reports_missing_layers(sample, partitioned):
    ddf, _ = partitioned
    with pytest.raises(InputError, match="aggregate the buildings"):
        classify_parcels(ddf, "default", buildings=sample["parcels"])
    with pytest.raises(RuleError, match="heritage_core"):
        classify_parcels(ddf, "default")  # raised now, not at compute time


# ------------------------------------------------------------------ statistics


@pytest.mark.parametrize(
    "kwargs",
    [
        {"by": "street"},
        {"by": "category"},
        {"by": "street", "planned_floor_area": {"东关街道": 5e4}},
        {"zones": "districts"},
        {"zones": "grid", "zone_col": "zone_id", "planned_floor_area": "planned"},
        {"zones": "grid", "zone_col": "zone_id", "how": "largest"},
        {"zones": "grid", "zone_col": "zone_id", "how": "centroid"},
    ],
    ids=["street", "category", "planned-map", "districts", "grid", "largest", "centroid"],
)
def test_zone_stats_dask_equals_in_memory(sample, partitioned, grid_zones, kwargs):
    _, lazy = partitioned
    kwargs = dict(kwargs)
    if "zones" in kwargs:
        kwargs["zones"] = sample["districts"] if kwargs["zones"] == "districts" else grid_zones
    expected = zone_stats(sample["classified"], **kwargs)
    got = zone_stats(lazy, **kwargs)
    assert isinstance(got, pd.DataFrame)
    pd.testing.assert_frame_equal(got, expected, rtol=1e-9)
    assert got.attrs == expected.attrs
    if kwargs.get("zone_col") and kwargs.get("how", "apportion") == "apportion":
        assert "outside" in got.index  # the grid leaves the north strip out
        rows = got.drop(index="total")
        for col in ("area_m2", "households", "population", "floor_area_m2"):
            np.testing.assert_allclose(rows[col].sum(), got.loc["total", col], rtol=1e-9)


def test_zone_stats_dask_text_categories_missing_values_and_one_warning(sample):
    parcels = sample["classified"].copy()
    parcels["category"] = parcels["category"].astype("str")  # text: groups are collected
    parcels.loc[parcels.index[:3], "category"] = None
    parcels.loc[parcels.index[5:9], "households"] = np.nan
    with pytest.warns(UserWarning, match="households.*missing for 4 rows") as caught:
        expected = zone_stats(parcels, by="street")
    ddf = partition_layer(parcels, 4)
    with pytest.warns(UserWarning, match="households.*missing for 4 rows") as got_warnings:
        got = zone_stats(ddf, by="street")
    assert len(got_warnings) == len(caught) == 1
    pd.testing.assert_frame_equal(got, expected, rtol=1e-9)
    assert "area_m2:unclassified" in got.columns
    with pytest.warns(UserWarning, match="households"):
        by_cat = zone_stats(ddf, by="category", policy=False)
    with pytest.warns(UserWarning, match="households"):
        pd.testing.assert_frame_equal(
            by_cat, zone_stats(parcels, by="category", policy=False), rtol=1e-9
        )
    assert "missing" in by_cat.index


# ------------------------------------------------------------------ files


def test_read_layer_partitions(sample):
    ddf = read_layer(sample["path"], layer="parcels", kind="parcels", partitions=4)
    assert is_partitioned(ddf)
    assert ddf.npartitions == 4
    assert_geodataframe_equal(ddf.compute().sort_index(), sample["parcels"])
    with pytest.raises(InputError, match="npartitions"):
        read_layer(sample["path"], layer="parcels", partitions=-1)


def test_partitioned_write_and_read_round_trip(sample, partitioned, tmp_path):
    _, lazy = partitioned
    expected = sample["classified"]
    out = tmp_path / "classified.parquet"
    assert write_layer(lazy, out) == out
    assert sorted(p.name for p in out.iterdir()) == [f"part.{i:05d}.parquet" for i in range(4)]
    back = read_layer(out)
    assert is_partitioned(back)
    assert back.npartitions == 4
    assert back.spatial_partitions is not None  # from the files' bbox metadata
    pd.testing.assert_series_equal(back._meta.dtypes, expected.dtypes)
    assert_geodataframe_equal(back.compute().loc[expected.index], expected)
    # Statistics straight from the files, only the needed columns read.
    pd.testing.assert_frame_equal(
        zone_stats(back, by="street"), zone_stats(expected, by="street"), rtol=1e-9
    )
    # Rewriting replaces the dataset as a whole; other folders are never replaced.
    write_layer(expected, out, partitions=2)
    assert len(list(out.iterdir())) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
    other = tmp_path / "notes"
    other.mkdir()
    (other / "readme.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(InputError, match="not a GeoParquet dataset"):
        write_layer(lazy, other)
    assert (other / "readme.txt").exists()
    with pytest.raises(InputError, match="dataset folder"):
        write_layer(lazy, tmp_path / "x.gpkg")


class _Counted:
    """A partition function that counts its calls (each partition computed how often)."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.calls = 0
        self.fail_at = fail_at

    def __call__(self, part):
        self.calls += 1
        if self.fail_at is not None and len(part) and part.index.min() == self.fail_at:
            msg = "a partition failed"
            raise RuntimeError(msg)
        return part


def test_write_with_stats_is_write_layer_and_zone_stats_in_one_pass(
    sample, partitioned, grid_zones, tmp_path
):
    _, lazy = partitioned
    expected = sample["classified"]
    counted = _Counted()
    once = lazy.map_partitions(counted, meta=lazy._meta)
    once.spatial_partitions = lazy.spatial_partitions
    out = tmp_path / "classified.parquet"
    options = {"zones": grid_zones, "zone_col": "zone_id", "planned_floor_area": "planned"}
    stats = write_with_stats(once, out, **options)
    assert counted.calls == lazy.npartitions  # every partition computed once, not twice
    pd.testing.assert_frame_equal(stats, zone_stats(expected, **options), rtol=1e-9)
    assert sorted(p.name for p in out.iterdir()) == [f"part.{i:05d}.parquet" for i in range(4)]
    assert_geodataframe_equal(read_layer(out).compute().loc[expected.index], expected)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def test_write_with_stats_is_all_or_nothing_and_checks_like_zone_stats(
    sample, partitioned, tmp_path
):
    _, lazy = partitioned
    out = tmp_path / "classified.parquet"
    write_layer(lazy, out)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in out.iterdir())
    first = int(sample["classified"].index.min())  # fails the partition holding it
    failing = lazy.map_partitions(_Counted(fail_at=first), meta=lazy._meta)
    with pytest.raises(RuntimeError, match="a partition failed"):
        write_with_stats(failing, out, by="street")
    with pytest.raises(InputError, match="exactly one of `by`"):
        write_with_stats(lazy, out)  # zone_stats' own checks, before anything is written
    with pytest.raises(InputError, match="partitioned"):
        write_with_stats(sample["classified"], out, by="street")
    assert sorted((p.name, p.stat().st_mtime_ns) for p in out.iterdir()) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_dataset_kind_renames_headers_and_crs_rules(sample, tmp_path):
    parcels = sample["parcels"][["parcel_id", "households", "geometry"]].rename(
        columns={"households": "户数"}
    )
    folder = write_layer(parcels, tmp_path / "raw", partitions=2)
    ddf = read_layer(folder, kind="parcels")
    assert "households" in ddf.columns
    assert ddf["households"].sum().compute() == sample["parcels"]["households"].sum()
    with pytest.raises(CRSError, match="does not reproject"):
        read_layer(folder, crs="EPSG:4326")
    with pytest.raises(InputError, match="one layer"):
        read_layer(folder, layer="parcels")


# ------------------------------------------------------------------ cluster and CLI


@pytest.fixture(scope="module")
def cluster():
    """A local cluster of 2 worker processes, started and stopped by this module."""
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        # distributed's own start-up notes, not ours
        warnings.filterwarnings("ignore", "Creating scratch directories", UserWarning)
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as c:
            yield c


def test_local_cluster_gives_the_in_memory_results(sample, partitioned, cluster):
    _, lazy = partitioned
    with dask_client(scheduler=cluster.scheduler_address) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        got = lazy.compute()
        stats = zone_stats(lazy, zones=sample["districts"])
    assert_geodataframe_equal(got.loc[sample["classified"].index], sample["classified"])
    pd.testing.assert_frame_equal(
        stats, zone_stats(sample["classified"], zones=sample["districts"]), rtol=1e-9
    )


def test_write_with_stats_on_the_cluster(sample, partitioned, cluster, tmp_path):
    _, lazy = partitioned
    out = tmp_path / "classified.parquet"
    with dask_client(scheduler=cluster.scheduler_address):
        stats = write_with_stats(lazy, out, zones=sample["districts"])
    expected = sample["classified"]
    pd.testing.assert_frame_equal(stats, zone_stats(expected, zones=sample["districts"]))
    assert_geodataframe_equal(read_layer(out).compute().loc[expected.index], expected)


def test_dask_client_options():
    with dask_client() as client:
        assert client is None
    with pytest.raises(InputError, match="not both"), dask_client(workers=2, scheduler="x"):
        pass
    with pytest.raises(InputError, match="positive"), dask_client(workers=0):
        pass


def test_cli_classify_and_stats_on_the_cluster(sample, cluster, tmp_path):
    from click.testing import CliRunner

    from geo_renewal.cli import cli

    path = str(sample["path"])
    out = tmp_path / "classified"
    args = ["classify", path, "--parcels-layer", "parcels", "--silent"]
    for name in LAYERS:
        args += ["--layer", f"{name}={path}"]
    args += ["--raster", f"flood_depth={sample['tif']}", "--out", str(out)]
    args += ["--scheduler", cluster.scheduler_address]
    runner = CliRunner()
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "partitioned GeoParquet" in res.output
    assert f"{len(sample['parcels']):,}" in res.output.splitlines()[-2]
    back = read_layer(out)
    assert_geodataframe_equal(back.compute().loc[sample["classified"].index], sample["classified"])

    res = runner.invoke(
        cli,
        [
            "stats",
            str(out),
            "--by",
            "street",
            "--lang",
            "en",
            "--scheduler",
            cluster.scheduler_address,
        ],
    )
    assert res.exit_code == 0, res.output
    plain = runner.invoke(cli, ["stats", str(out), "--by", "street", "--lang", "en"])
    assert res.stdout == plain.stdout  # same table with and without the cluster
    assert "Total" in res.stdout

    res = runner.invoke(cli, ["stats", path, "--workers", "0", "--by", "street"])
    assert res.exit_code == 2
    assert "--workers" in res.output
    assert "--scheduler ADDRESS" in runner.invoke(cli, ["classify", "--help"]).output
