"""
The ledger store's fast paths give what the plain ones gave.

Row hashes equal the hashes of every encoded cell (stores written before keep matching),
typed DataFrames read like the same cells as objects, the current rows read through
Arrow equal those read through sqlite3, and a diff across 30 weeks shows the net change
of rows stored again only when they changed.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import geopandas as gpd
import shapely

from geo_renewal._store_sqlite import SQLiteBackend, column_kind, encode
from geo_renewal._weekly_table import read_weekly_table
from geo_renewal.households import HOUSEHOLD_SPEC
from geo_renewal.progress import compare_ledgers
from geo_renewal.store import LedgerStore, _row_hash

START = dt.date(2026, 1, 2)


def _cellwise_hash(df: pd.DataFrame) -> np.ndarray:
    """The row hash as first defined: every cell encoded as stored, then hashed."""
    parts = {}
    for c in sorted(df.columns):
        if c in ("source_row", "source_file", "row_hash") or not df[c].notna().any():
            continue
        kind = column_kind(df[c])
        if kind in ("int", "float"):
            parts[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
        else:
            parts[c] = pd.Series(encode(df[c], kind), index=df.index, dtype=object)
    if not parts:
        return np.zeros(len(df), dtype="int64")
    frame = pd.DataFrame(parts, index=df.index)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy().view("int64")


_cells = st.one_of(
    st.none(),
    st.integers(-5, 900),
    st.sampled_from(["830", "830.0", "已签约", " ", "", "x"]),
    st.floats(allow_nan=True, allow_infinity=False, width=32),
    st.booleans(),
    st.tuples(st.sampled_from(["A-1", "A-2"])),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_cells, min_size=1, max_size=12),
    st.lists(
        st.one_of(st.none(), st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31))),
        min_size=1,
        max_size=12,
    ),
)
def test_row_hash_is_the_hash_of_every_encoded_cell(mixed, days):
    n = min(len(mixed), len(days))
    df = pd.DataFrame(
        {
            "mixed": pd.Series(mixed[:n], dtype=object),
            "day": pd.to_datetime(pd.Series(days[:n], dtype=object)),
            "day_cells": pd.Series(days[:n], dtype=object),
            "text": pd.Series([None if d is None else str(d) for d in days[:n]], dtype="str"),
            "n": np.arange(n),
            "source_row": np.arange(n) + 2,
        }
    )
    np.testing.assert_array_equal(_row_hash(df), _cellwise_hash(df))


def test_row_hash_of_the_weekly_tables_is_unchanged():
    from benchmarks.bench_store import synthetic_week
    from geo_renewal.households import read_households
    from geo_renewal.tasks import read_tasks

    week = synthetic_week(30, 3)
    hh, _ = read_households(week["一户一档"])
    tasks = read_tasks(week["任务分解"]).table
    for table in (hh, tasks):
        np.testing.assert_array_equal(_row_hash(table), _cellwise_hash(table))
    # the stored value is a fixed function of the cells: 830 and 830.0 are one value
    a = pd.DataFrame({"k": ["1"], "v": [830]})
    b = pd.DataFrame({"k": ["1"], "v": [830.0]})
    assert _row_hash(a)[0] == _row_hash(b)[0]
    assert _row_hash(a)[0] != _row_hash(a.assign(v=831))[0]


def test_typed_frames_read_like_their_cells():
    """A DataFrame's str and datetime columns give the table and findings of its cells."""
    raw = pd.DataFrame(
        {
            "户编号": ["H1", "H2", "   ", None, "H5", "H5", "H7"],
            "项目编号": ["A", "A", " ", "A", "B", "B", "B"],
            "状态": ["已签约", "未签约", None, "已签约", "已签约", "未签约", "已签约"],
            "日期": pd.to_datetime(
                [
                    "2026-01-05 10:30",
                    None,
                    None,
                    "2026-01-06 00:00",
                    "1899-03-01 00:00",
                    None,
                    "2026-02-01 00:00",
                ]
            ),
        }
    ).astype({"户编号": "str", "项目编号": "str", "状态": "str"})
    assert isinstance(raw["户编号"].dtype, pd.StringDtype)
    typed, typed_found = read_weekly_table(raw, HOUSEHOLD_SPEC)
    cells, cells_found = read_weekly_table(raw.astype(object), HOUSEHOLD_SPEC)
    pd.testing.assert_frame_equal(typed, cells)
    pd.testing.assert_frame_equal(typed_found, cells_found)
    # row 4 (the blank row of spaces) is left out without a finding; the rest by hand
    assert typed["household_id"].tolist() == ["H1", "H2", "H5", "H7"]
    assert typed["status_date"].tolist()[0] == pd.Timestamp("2026-01-05")  # the day
    assert sorted(typed_found["problem"]) == ["bad_date", "blank_key", "duplicate_key"]
    assert typed_found.set_index("problem").loc["bad_date", "row"] == 6
    assert pd.isna(typed.set_index("household_id").loc["H5", "status_date"])  # blanked


def test_number_columns_read_like_their_cells():
    from geo_renewal.tasks import TASK_SPEC

    raw = pd.DataFrame(
        {
            "项目编号": pd.Series(["A", "A", "B"], dtype="str"),
            "任务编号": [1, 2, 1],  # whole numbers as ids: 1, not 1.0
            "任务名称": pd.Series(["立项", "签约", "立项"], dtype="str"),
            "工期": [30, 90, 60],
            "完成进度": [100.0, -5.0, np.nan],
        }
    )
    typed, typed_found = read_weekly_table(raw, TASK_SPEC)
    cells, cells_found = read_weekly_table(raw.astype(object), TASK_SPEC)
    pd.testing.assert_frame_equal(typed, cells)
    pd.testing.assert_frame_equal(typed_found, cells_found)
    assert typed["task_id"].tolist() == ["1", "2", "1"]
    assert typed["duration_days"].tolist() == [30.0, 90.0, 60.0]
    assert typed_found["problem"].tolist() == ["negative_value"]
    assert typed_found["row"].tolist() == [3]
    ok, ok_found = read_weekly_table(raw.assign(完成进度=[100.0, 5.0, np.nan]), TASK_SPEC)
    assert ok["progress"].tolist()[:2] == [100.0, 5.0]
    assert ok_found.empty


def _households(n: int, signed: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "户编号": [f"H{i}" for i in range(n)],
            "项目编号": "A",
            "状态": ["已签约" if i < signed else "未签约" for i in range(n)],
            "日期": ["2026-01-05" if i < signed else None for i in range(n)],
        }
    )


def test_current_rows_through_arrow_equal_those_through_sqlite(tmp_path, monkeypatch):
    store = LedgerStore(tmp_path / "renewal.gpkg")
    store.import_snapshot([_ledger(1)], as_of=START, households=_households(50, 10))
    store.import_snapshot(
        [_ledger(2)], as_of=START + dt.timedelta(7), households=_households(40, 20)
    )
    backend = store.backend
    assert isinstance(backend, SQLiteBackend)
    cols = ["fid", "household_id", "row_hash"]
    fast = backend.read("households", with_fid=True, columns=cols)
    monkeypatch.setattr(SQLiteBackend, "_current_arrow", lambda *a: None)
    plain = backend.read("households", with_fid=True, columns=cols)
    pd.testing.assert_frame_equal(fast, plain)
    # 40 current rows: 10 unchanged of week 1, 10 signed since and 20 unsigned of week 2
    assert len(fast) == 40
    with sqlite3.connect(store.path) as con:
        assert con.execute("SELECT count(*) FROM households").fetchone()[0] == 60
        assert (
            con.execute("SELECT count(*) FROM households WHERE valid_to IS NOT NULL").fetchone()[0]
            == 20
        )  # 10 changed, 10 gone
    assert fast["fid"].dtype == np.int64
    assert fast["household_id"].dtype == object


def _ledger(signed_a: int, week: int = 0) -> pd.DataFrame:
    """Two projects; `week` fills a column the reader leaves alone (each week's file differs)."""
    return pd.DataFrame(
        {
            "项目编号": ["A", "B"],
            "项目名称": ["甲片区", "乙片区"],
            "类型": ["征收拆迁", "征收拆迁"],
            "街道": ["东关街道", "西关街道"],
            "户数": [10, 4],
            "已签约户数": [signed_a, 0],
            "签约计划日期": ["2026-11-25", "2026-11-18"],
            "填报周": week,
        }
    )


def _tasks(progress_t1: int, week: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "项目编号": ["A", "A", "B"],
            "任务编号": ["T1", "T2", "T1"],
            "任务名称": ["立项", "签约", "立项"],
            "计划开始日期": ["2026-01-01"] * 3,
            "计划完成日期": ["2026-06-30"] * 3,
            "前置任务": [None, "T1", None],
            "完成进度": [progress_t1, 0, 50],
            "填报周": week,
        }
    )


@pytest.mark.parametrize("weeks", [30])
def test_a_diff_across_30_weeks_shows_the_net_change(tmp_path, weeks):
    """A changes in week 3 and again in week 20: the diff of weeks 1 and 30 shows 4 → 9."""
    store = LedgerStore(tmp_path / "renewal.gpkg")
    days = [START + dt.timedelta(weeks=w) for w in range(weeks)]
    for w, day in enumerate(days, start=1):
        signed = 4 if w < 3 else (6 if w < 20 else 9)
        progress = 10 if w < 3 else (40 if w < 20 else 100)
        tasks = _tasks(progress, w)
        r = store.import_snapshot([_ledger(signed, w)], as_of=day, tasks=tasks[:: (-1) ** w])
        assert r.changes["tasks"] == ((3, 0) if w == 1 else ((1, 0) if w in (3, 20) else (0, 0)))
    d = store.diff(days[0], days[-1], lang="en").set_index("project_id")
    assert d.loc["A", "old_signed_households"] == 4.0
    assert d.loc["A", "new_signed_households"] == 9.0
    assert d.loc["A", "signed_change"] == 5.0  # the net change, not 2 + 3 in steps
    assert "B" not in d.index or not d.loc["B", "signing_changed"]
    assert store.diff(days[2], days[18])["project_id"].tolist() == []  # no change in 3..19
    assert (
        store.diff(days[18], days[19], lang="en").set_index("project_id").loc["A", "signed_change"]
        == 3.0
    )
    # the task valid on each day, stored three times in all
    for w, expected in ((1, 0.1), (2, 0.1), (3, 0.4), (19, 0.4), (20, 1.0), (30, 1.0)):
        t = store.tasks(days[w - 1]).set_index(["project_id", "task_id"])
        assert t.loc[("A", "T1"), "progress"] == expected, w
        assert (
            t.loc[("A", "T1"), "valid_from"]
            == days[{1: 0, 2: 0, 3: 2, 19: 2}.get(w, 19)].isoformat()
        )
        assert len(t) == 3
    with sqlite3.connect(store.path) as con:
        assert con.execute("SELECT count(*) FROM tasks").fetchone()[0] == 5
        assert con.execute(
            "SELECT valid_from, valid_to FROM tasks WHERE project_id = 'A' AND task_id = 'T1' "
            "ORDER BY fid"
        ).fetchall() == [
            (days[0].isoformat(), days[2].isoformat()),
            (days[2].isoformat(), days[19].isoformat()),
            (days[19].isoformat(), None),
        ]
    h = store.history("A")
    assert h["signed_households"].tolist() == [4.0] * 2 + [6.0] * 17 + [9.0] * 11


def test_diff_is_the_comparison_of_the_two_snapshots(tmp_path):
    polygons = gpd.GeoDataFrame(
        {"project_id": ["A", "B"], "name": ["甲片区", "乙片区"], "street": ["东关街道", None]},
        geometry=[shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)],
        crs="EPSG:4548",
    )
    store = LedgerStore(tmp_path / "renewal.gpkg")
    store.import_snapshot([_ledger(4)], as_of="2026-11-13", projects=polygons)
    store.import_snapshot([_ledger(10)], as_of="2026-11-20")
    old, new = store.snapshot("2026-11-13"), store.snapshot("2026-11-20")
    assert isinstance(old.table, gpd.GeoDataFrame)
    expected = compare_ledgers(
        old, new, as_of=dt.date(2026, 11, 20), old_as_of=dt.date(2026, 11, 13)
    )
    pd.testing.assert_frame_equal(store.diff("2026-11-13", "2026-11-20"), expected)
    kept = store.projects()
    assert kept["name"].tolist() == ["甲片区", "乙片区"]
    assert kept["street"].tolist() == ["东关街道", "西关街道"]  # the ledger's, not the layer's
    assert kept["project_type"].notna().all()
