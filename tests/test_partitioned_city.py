"""The dask path on a city like a real one (benchmarks/city.py) equals the in-memory path.

Wiggly zones of ~1,000 vertices, sinuous river buffers, star-shaped heritage areas, view
corridors, a flood raster and resettlement sites, as in the end-to-end benchmark: every
parcel gets the same category, rule and reason, and the apportioned households, floor area
and area per zone are the in-memory ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import shapely

from geo_renewal import _geos
from geo_renewal.classify import classify_parcels
from geo_renewal.geoparquet import partition_layer
from geo_renewal.io import read_layer, write_layer
from geo_renewal.rules import load_rules
from geo_renewal.stats import zone_stats

dask = pytest.importorskip("dask")
pytest.importorskip("dask_geopandas")
city = pytest.importorskip("benchmarks.city")
synth = pytest.importorskip("benchmarks.synth")
e2e = pytest.importorskip("benchmarks.bench_end_to_end")

N = 6_000  # parcels: a 78 × 78 grid, 3.1 km across, every zone and buffer crossing it


@pytest.fixture(scope="module")
def real_city(tmp_path_factory):
    folder = tmp_path_factory.mktemp("real_city")
    rules_path = folder / "rules.toml"
    rules_path.write_text(e2e.RULES, encoding="utf-8")
    layers = {
        "heritage": city.heritage_areas(N),
        "river_buffer": city.river_buffers(N),
        "view_corridor": city.view_corridors(N),
        "sites": city.resettlement_sites(N),
    }
    return {
        "parcels": synth.synthetic_city(N),
        "zones": city.wiggly_zones(N),
        "layers": layers,
        "rasters": {"flood_depth": city.flood_raster(N, folder / "flood.tif")},
        "rules": load_rules(rules_path),
        "folder": folder,
    }


@pytest.fixture(scope="module")
def in_memory(real_city):
    c = real_city
    classified = classify_parcels(
        c["parcels"], c["rules"], layers=c["layers"], rasters=c["rasters"]
    )
    return classified, zone_stats(classified, zones=c["zones"], zone_col="zone_id")


def test_the_city_exercises_every_rule(in_memory):
    """Guard the data: each rule decides some parcels, some parcels straddle two zones."""
    classified, stats = in_memory
    assert set(classified["rule_id"]) == {
        "heritage", "river", "corridor", "flood", "danger", "site", "old", "default"
    }  # fmt: skip
    assert stats.loc["total", "households"] == classified["households"].sum()
    inside = stats.drop(index="total")["households"]
    assert inside.gt(0).sum() >= 25  # most zones hold households


@pytest.mark.parametrize("npartitions", [1, 3, 7])
def test_dask_classify_equals_in_memory_on_a_real_city(real_city, in_memory, npartitions):
    c = real_city
    lazy = classify_parcels(
        partition_layer(c["parcels"], npartitions),
        c["rules"],
        layers=c["layers"],
        rasters=c["rasters"],
    )
    got = lazy.compute().loc[in_memory[0].index]
    for col in ("category", "rule_id", "reason", "matched"):
        assert got[col].astype(str).tolist() == in_memory[0][col].astype(str).tolist(), col


def test_dask_job_persisted_written_and_summed_equals_in_memory(real_city, in_memory, tmp_path):
    """The benchmark's dask route: persist once, sum per zone, write each partition."""
    c = real_city
    expected, expected_stats = in_memory
    lazy = classify_parcels(
        partition_layer(c["parcels"], 4), c["rules"], layers=c["layers"], rasters=c["rasters"]
    ).persist()
    stats = zone_stats(lazy, zones=c["zones"], zone_col="zone_id")
    pd.testing.assert_frame_equal(stats, expected_stats, rtol=1e-9)
    households = stats.drop(index="total")["households"]
    assert households.sum() == pytest.approx(expected["households"].sum(), rel=1e-12)
    write_layer(lazy, tmp_path / "classified")
    back = read_layer(tmp_path / "classified").compute().loc[expected.index]
    assert back["category"].astype(str).tolist() == expected["category"].astype(str).tolist()


def test_dask_stats_of_a_real_city_add_up_across_partitions(real_city, in_memory):
    """Parcels straddling partition borders and zone borders: totals conserved exactly."""
    c = real_city
    expected = in_memory[1]
    got = zone_stats(partition_layer(in_memory[0], 5), zones=c["zones"], zone_col="zone_id")
    pd.testing.assert_frame_equal(got, expected, rtol=1e-9)
    for col in ("households", "floor_area_m2", "area_m2"):
        assert got.drop(index="total")[col].sum() == pytest.approx(
            got.loc["total", col], rel=1e-12
        )


# ------------------------------------------------------------------ computed once


def test_computed_once_is_keyed_by_content_and_read_only():
    calls = []

    def make(polys):
        calls.append(len(polys))
        return _geos.union_parts(polys)

    a = np.array([shapely.box(0, 0, 2, 1), shapely.box(1, 0, 3, 1)])
    first = _geos.computed_once("test-union", a, make)
    again = _geos.computed_once("test-union", np.array([shapely.box(0, 0, 2, 1), a[1]]), make)
    assert again is first
    assert calls == [2]
    other = _geos.computed_once("test-union", a[:1], make)  # other coordinates: computed
    assert calls == [2, 1]
    assert other[0].area == 2.0
    assert not first.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        first[0] = shapely.box(0, 0, 1, 1)


def test_computed_once_keeps_at_most_its_limit():
    for k in range(_geos._DERIVED_MAX + 5):
        _geos.computed_once(
            "test-limit", np.array([shapely.box(0, 0, 1, 1 + k)]), _geos.union_parts
        )
    assert len(_geos._derived) <= _geos._DERIVED_MAX


def test_computed_once_tiles_equal_fresh_tiles(real_city):
    """Tiles served from the cache are the tiles `tile_polygons` makes now."""
    zones = np.asarray(real_city["zones"].geometry.array)
    cached, owner = _geos.computed_once("tiles", zones, _geos.tile_polygons)
    fresh, fresh_owner = _geos.tile_polygons(zones)
    assert np.array_equal(owner, fresh_owner)
    assert shapely.equals_exact(cached, fresh, tolerance=0).all()
