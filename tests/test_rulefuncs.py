"""The rule-function registry: one declaration is enough for the parser and the classifier."""

from __future__ import annotations

import numpy as np
import pytest

import geopandas as gpd
from shapely import box

import geo_renewal
from geo_renewal._rulefuncs import RULE_FUNCTIONS, RuleFunction
from geo_renewal.classify import classify_parcels
from geo_renewal.expression import FUNCTIONS
from geo_renewal.rules import parse_rules


def test_every_function_is_declared_where_it_is_computed():
    owners = {name: f.compute.__module__ for name, f in RULE_FUNCTIONS.items() if f.compute}
    assert owners == {
        "share_in": "geo_renewal.spatial",
        "intersects": "geo_renewal.spatial",
        "distance_to": "geo_renewal.spatial",
        "raster_mean": "geo_renewal.raster",
        "raster_max": "geo_renewal.raster",
        "raster_share_above": "geo_renewal.raster",
        "height_excess": "geo_renewal.corridors",
    }
    assert RULE_FUNCTIONS["isnull"].compute is None  # the interpreter's own
    assert dict(FUNCTIONS)["raster_share_above"] == (("raster", "number"), "number")


def test_keys_are_built_in_one_place():
    assert RULE_FUNCTIONS["distance_to"].key(("river",), 500.0) == ("distance_to", "river", 500.0)
    assert RULE_FUNCTIONS["raster_share_above"].key(("flood", 1)) == (
        "raster_share_above",
        "flood",
        1.0,
    )


def test_a_declared_function_is_usable_in_rules(grid_parcels, monkeypatch):
    calls = []

    def count_within_50m(index, geoms, key, rows):
        calls.append(key)
        near = index.tree.query(geoms, predicate="dwithin", distance=50.0)[1]
        return np.bincount(near, minlength=index.n).astype(float)

    declared = RuleFunction(
        "count_near", ("layer",), "number", "features within 50 m", count_within_50m
    )
    monkeypatch.setitem(RULE_FUNCTIONS._functions, "count_near", declared)
    rules = parse_rules(
        {
            "rules": [
                {
                    "id": "near",
                    "category": "demolish",
                    "when": "count_near('wells') >= 1",
                    "reason_zh": "近井",
                    "reason_en": "Near a well",
                }
            ]
        }
    )
    assert rules.layers == ["wells"]
    x, y = grid_parcels.total_bounds[:2]
    # a well in the road crossing between the first four parcels: 4–6 m from each
    wells = gpd.GeoDataFrame(
        geometry=[box(x + 104, y + 104, x + 106, y + 106)], crs=grid_parcels.crs
    )
    out = classify_parcels(grid_parcels, rules, layers={"wells": wells})
    assert calls == [("count_near", "wells")]
    assert set(out.loc[out["rule_id"] == "near", "parcel_id"]) == {"P00", "P01", "P10", "P11"}


def test_a_function_is_declared_once():
    with pytest.raises(ValueError, match="declared twice"):
        RULE_FUNCTIONS.add(RuleFunction("share_in", ("layer",), "number", ""))


def test_the_old_scale_module_warns_and_forwards():
    import geo_renewal.scale as scale

    with pytest.warns(FutureWarning, match="geo_renewal.partitioned.dask_client"):
        client = scale.dask_client
    assert client is geo_renewal.dask_client
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        _ = scale.no_such_name
