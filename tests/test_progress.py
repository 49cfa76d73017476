"""Tests of geo_renewal.progress: the names kept in ledger, the common findings columns."""

from __future__ import annotations

import pandas as pd
import pytest

import geopandas as gpd
import shapely

import geo_renewal
from geo_renewal import ledger, progress, schedule
from geo_renewal._findings import FINDING_COLUMNS


@pytest.fixture
def raw() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "项目编号": ["A", "B", "C"],
            "项目名称": ["东关", "西关", "南苑"],
            "类型": ["征收拆迁", "征收拆迁", "保留提升"],
            "街道": ["东关街道", "西关街道", "东关街道"],
            "责任单位": ["区住建局", None, "街道办"],
            "户数": [100, 50, 30],
            "已签约户数": [80, 60, None],
            "签约计划日期": ["2024-03-01", "2024-09-01", None],
            "签约实际日期": [None, "2024-13-45", None],
            "方案计划日期": [None, None, "2024-05-01"],
        }
    )


@pytest.fixture
def polygons() -> gpd.GeoDataFrame:
    x0, y0 = 500_000.0, 4_063_000.0
    return gpd.GeoDataFrame(
        {"project_id": ["A", "B", "Z"]},
        geometry=[shapely.box(x0 + 200 * i, y0, x0 + 200 * i + 150, y0 + 150) for i in range(3)],
        crs="EPSG:4548",
    )


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("project_progress", progress),
        ("progress_summary", progress),
        ("compare_ledgers", progress),
        ("progress_tables", progress),
        ("backward_schedule", schedule),
        ("compare_schedule", schedule),
    ],
)
def test_moved_names_still_importable_from_ledger(name, module):
    assert getattr(ledger, name) is getattr(module, name)
    if name != "progress_tables":
        assert getattr(geo_renewal, name) is getattr(module, name)


def test_ledger_has_no_other_attribute():
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = ledger.no_such_name


def test_ledger_findings_have_the_common_columns(raw):
    book = ledger.read_ledger(raw)
    f = book.findings
    assert list(f.columns) == FINDING_COLUMNS
    assert f["row"].dtype.name == "Int64"
    bad = f[f["problem"] == "bad_date"].iloc[0]
    assert (bad["row"], bad["id"], bad["column"]) == (3, "B", "签约实际日期")
    assert (bad["action"], bad["value"]) == ("set to missing", "2024-13-45")
    over = f[f["problem"] == "signed_exceeds_households"].iloc[0]
    assert (over["id"], over["value"], over["action"]) == ("B", "60", "none (kept)")
