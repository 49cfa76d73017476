"""
Whole households: cash and flat households are integers wherever a planner sees them.

The expected ``households × cash share`` are rounded by the largest-remainder method
(`geo_renewal.demand.split_households`): per unit cash + flat = households, the district's
cash households = round(total × share), a survey count takes precedence. Hand-computed.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import geopandas as gpd
from shapely.geometry import box

from geo_renewal.compensation import compensation_by_building
from geo_renewal.demand import resettlement_demand, split_households
from geo_renewal.fund import fund_balance, fund_tables

CRS = "EPSG:4548"


def test_three_units_of_7_5_9_at_30_percent():
    # exact cash 2.1, 1.5, 2.7 (6.3 → 6): floors 2, 1, 2 and one more for the largest part
    cash = split_households([7, 5, 9], 0.3)
    assert cash.tolist() == [2, 1, 3]
    assert (np.array([7, 5, 9]) - cash).tolist() == [5, 4, 6]


def test_half_rounds_up_and_ties_go_to_the_first():
    assert split_households([5, 5, 5], 0.5).tolist() == [3, 3, 2]  # 7.5 → 8
    assert split_households([1, 1], 0.25).tolist() == [1, 0]  # 0.5 → 1


def test_groups_get_their_share_first_then_their_rows():
    # P: 0.9 + 0.9 = 1.8, Q: 0.9; 2.7 → 3: P gets 2 and Q 1 (not P 1, Q 1 and one lost)
    assert split_households([3, 3, 3], 0.3, groups=["P", "P", "Q"]).tolist() == [1, 1, 1]
    # a survey count keeps precedence; the others share round(their exact total)
    cash = split_households([4, 6, 10], 0.3, groups=["A", "A", "B"], surveyed=[np.nan, np.nan, 9])
    assert cash.tolist() == [1, 2, 9]


@settings(max_examples=60, deadline=None)
@given(
    hh=st.lists(st.integers(0, 500), min_size=1, max_size=30),
    share=st.floats(0, 1),
    n_groups=st.integers(1, 5),
)
def test_split_conserves_every_household(hh, share, n_groups):
    groups = [f"G{i % n_groups}" for i in range(len(hh))]
    cash = split_households(hh, share, groups=groups)
    flats = np.array(hh) - cash
    assert (cash >= 0).all()
    assert (flats >= 0).all()
    assert cash.sum() == int(np.floor(sum(hh) * share + 0.5 + 1e-9))
    assert np.all(np.abs(cash - np.array(hh) * share) < 1)  # each row within one household


def _parcels(households, units):
    return gpd.GeoDataFrame(
        {"category": "demolish", "households": households, "project_id": units},
        geometry=[box(i * 20, 0, i * 20 + 10, 10) for i in range(len(households))],
        crs=CRS,
    )


def test_resettlement_demand_in_whole_households():
    d = resettlement_demand(_parcels([7, 5, 9], ["U1", "U2", "U3"]), by="project_id")
    assert d["cash_households"].tolist() == [2, 1, 3]
    assert d["flat_households"].tolist() == [5, 4, 6]
    assert d["flat_households"].dtype.kind == "i"


def _projects():
    return pd.DataFrame(
        {
            "project_id": ["A", "B", "C"],
            "project_type": "demolish",
            "households": [7, 5, 9],
            "demolished_floor_area": [700.0, 500.0, 900.0],
            "land_area": [1000.0, 1000.0, 1000.0],
        }
    )


def test_the_fund_builds_whole_flats():
    fb = fund_balance(_projects(), params={"resettlement": {"cash_share": 0.3}})
    pr = fb.projects
    assert pr["resettlement_households"].tolist() == [5.0, 4.0, 6.0]
    p = fb.params
    assert pr["resettlement_floor_area"].tolist() == [
        n * p.floor_area_per_household for n in (5, 4, 6)
    ]
    assert pr.loc[0, "comp_temporary"] == pytest.approx(
        p.temporary_per_household_month * p.temporary_months * 5
    )
    assert fb.bundles.loc["total", "resettlement_households"] == 15  # 21 − round(6.3)
    sheet = fund_tables(fb, lang="en")["Projects"]
    assert sheet["resettlement_households"].tolist() == [5, 4, 6]


def _buildings():
    return gpd.GeoDataFrame(
        {
            "building_id": ["B1", "B2", "B3", "B4"],
            "project_id": ["A", "A", "B", "C"],
            "floor_area": [400.0, 300.0, 500.0, 900.0],
            "households": [4, 3, 5, 9],
            "cash_households": [np.nan, np.nan, np.nan, 9],  # C's households were surveyed
            "structure": "frame",
            "build_year": 1990,
        },
        geometry=[box(i * 100, 0, i * 100 + 50, 50) for i in range(4)],
        crs=CRS,
    )


def test_compensation_whole_households_per_building_and_project():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = compensation_by_building(
            _buildings(), projects=_projects(), params={"resettlement": {"cash_share": 0.3}}
        )
    b = c.buildings.set_index("building_id")
    # A: 1.2 + 0.9 = 2.1, B: 1.5; 3.6 → 4: A 2 (B1 1.2 → 1, B2 0.9 → 1), B 2; C surveyed 9
    assert b["cash_households"].tolist() == [1, 1, 2, 9]
    assert b["flat_households"].tolist() == [3, 2, 3, 0]
    assert (b["cash_households"] + b["flat_households"] == b["households"]).all()
    pr = c.projects
    assert pr.loc["total", "cash_households"] == 9 + 4
    fb = fund_balance(_projects(), compensation=c, params={"resettlement": {"cash_share": 0.3}})
    assert fb.projects["resettlement_households"].tolist() == [5.0, 3.0, 0.0]


def test_the_cash_share_sensitivity_builds_whole_flats():
    projects = _projects().assign(signing_actual="2026-06-30")
    fb = fund_balance(
        projects,
        params={"resettlement": {"cash_share": 0.3}, "sensitivity": {"cash_share_changes": [0.1]}},
        cashflow=True,
        as_of=dt.date(2026, 1, 1),
    )
    cf = fb.cashflow
    # at 40 %: cash 2.8, 2.0, 3.6 (8.4 → 8): 3, 2, 3; flats 4, 3, 6 = 13 against 15
    s = cf.sensitivity
    row = s[(s["bundle"] == "A") & (s["factor"] == "cash_share")]
    assert not row.empty
    from geo_renewal.cashflow import _flat_factor

    factor = _flat_factor(fb.projects, np.full(3, 0.3), 0.1)
    assert factor.tolist() == pytest.approx([4 / 5, 3 / 4, 6 / 6])


def test_renewal_units_show_whole_households_nested_and_conserved():
    from geo_renewal.units import _whole_households

    table = pd.DataFrame(
        {
            "nearby_households": [0.4, 2.3, 1.3, 4.0],
            "flat_households": [0.9, 3.3, 1.8, 6.0],
            "demolish_households": [1.5, 4.0, 2.5, 8.0],
            "households": [2.0, 5.5, 2.5, 10.0],
        },
        index=["U1", "U2", "outside", "total"],
    )
    _whole_households(table)
    # nearby 4 → 1, 2, 1; the other flats 0.5, 1, 0.5 → 1, 1, 0 (a tie: the first) …
    assert table["nearby_households"].tolist() == [1, 2, 1, 4]
    assert table["flat_households"].tolist() == [2, 3, 1, 6]
    assert table["demolish_households"].tolist() == [2, 4, 2, 8]
    assert table["households"].tolist() == [3, 5, 2, 10]


def test_whole_counts_keep_the_total():
    from geo_renewal.demand import whole_counts

    assert whole_counts([0.4, 2.3, 1.3]).tolist() == [1, 2, 1]
    assert whole_counts([]).tolist() == []
