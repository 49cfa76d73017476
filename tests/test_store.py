"""The ledger store: import → history → diff round trips, double imports, interrupted imports."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pandas as pd
import pytest

import geopandas as gpd
import pyogrio
import shapely

from geo_renewal._errors import InputError
from geo_renewal._store_sqlite import SQLiteBackend
from geo_renewal.store import LedgerStore


def _ledger(signed_a: int, *, signing_a: str | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "项目编号": ["A", "B"],
            "项目名称": ["甲片区", "乙片区"],
            "类型": ["征收拆迁", "征收拆迁"],
            "街道": ["东关街道", "西关街道"],
            "责任人": ["王", "李"],
            "户数": [10, 4],
            "已签约户数": [signed_a, 0],
            "签约计划日期": ["2026-11-25", "2026-11-18"],
            "签约实际日期": [signing_a, None],
            "拆除计划日期": ["2027-01-31", "2027-01-31"],
        }
    )


def _write(df: pd.DataFrame, path) -> object:
    df.to_excel(path, index=False, sheet_name="台账")
    return path


@pytest.fixture
def store(tmp_path):
    return LedgerStore(tmp_path / "renewal.gpkg")


@pytest.fixture
def polygons():
    return gpd.GeoDataFrame(
        {"project_id": ["A", "B"], "name": ["甲片区", "乙片区"]},
        geometry=[
            shapely.box(500000, 4060000, 500100, 4060100),
            shapely.box(500200, 4060000, 500300, 4060100),
        ],
        crs="EPSG:4548",
    )


def test_import_history_diff_round_trip(store, tmp_path, polygons):
    w1 = _write(_ledger(4), tmp_path / "w1.xlsx")
    w2 = _write(_ledger(10, signing_a="2026-11-19"), tmp_path / "w2.xlsx")
    r1 = store.import_snapshot([w1], as_of="2026-11-13", projects=polygons)
    r2 = store.import_snapshot([w2], as_of="2026-11-20")
    assert r1.imported
    assert r2.imported
    assert r1.n_projects == 2
    assert store.dates() == [dt.date(2026, 11, 13), dt.date(2026, 11, 20)]
    # the snapshot is the ledger as read, with the stored polygons
    old = store.snapshot("2026-11-13")
    assert old.table["signed_households"].tolist() == [4.0, 0.0]
    assert old.table["signing_planned"].iloc[0] == pd.Timestamp("2026-11-25")
    assert isinstance(old.table, gpd.GeoDataFrame)
    assert old.table.crs.to_epsg() == 4548
    assert old.table.geometry.area.tolist() == [10000.0, 10000.0]
    # history: A moves from signing to demolition
    h = store.history("A", lang="en")
    assert h["as_of"].tolist() == [dt.date(2026, 11, 13), dt.date(2026, 11, 20)]
    assert h["stage"].tolist() == ["signing", "demolition"]
    assert h["signed_households"].tolist() == [4.0, 10.0]
    assert h["stage_changed"].tolist() == [False, True]
    # diff: A changed stage and signing; B became overdue with time (planned 11-18)
    d = store.diff("2026-11-13", "2026-11-20", lang="en").set_index("project_id")
    assert d.loc["A", "stage_changed"]
    assert d.loc["A", "signed_change"] == 6.0
    assert d.loc["B", "newly_overdue"]
    assert not d.loc["B", "stage_changed"]


def test_store_is_a_geopackage_qgis_reads(store, tmp_path, polygons):
    store.import_snapshot([_ledger(4)], as_of="2026-11-13", projects=polygons)
    path = store.path
    layers = dict(pyogrio.list_layers(path))
    assert layers["projects"] is not None  # a feature table
    assert {"snapshots", "ledger_rows", "findings", "snapshot_files"} <= set(layers)
    proj = pyogrio.read_dataframe(path, layer="projects")
    assert proj["project_id"].tolist() == ["A", "B"]
    assert proj.crs.to_epsg() == 4548
    assert proj.geometry.area.tolist() == [10000.0, 10000.0]
    rows = pyogrio.read_dataframe(path, layer="ledger_rows")
    assert rows["as_of"].tolist() == ["2026-11-13"] * 2
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47


def test_a_double_import_is_recognised(store, tmp_path):
    w1 = _write(_ledger(4), tmp_path / "w1.xlsx")
    store.import_snapshot([w1], as_of="2026-11-13")
    copy = tmp_path / "copy_of_w1.xlsx"
    copy.write_bytes(w1.read_bytes())
    with pytest.raises(
        InputError, match=r"copy_of_w1.xlsx \(ledger\) was imported before.*2026-11-13"
    ):
        store.import_snapshot([copy], as_of="2026-11-20")
    skipped = store.import_snapshot([copy], as_of="2026-11-20", on_duplicate="skip")
    assert not skipped.imported
    assert "nothing imported" in skipped.message
    assert skipped.skipped["imported_with"].tolist() == ["2026-11-13"]
    assert store.dates() == [dt.date(2026, 11, 13)]
    with pytest.raises(InputError, match="has a snapshot of 2026-11-13 already"):
        store.import_snapshot([_ledger(5)], as_of="2026-11-13")
    with pytest.raises(InputError, match="date order"):
        store.import_snapshot([_ledger(5)], as_of="2026-11-06")


def _table_counts(path):
    with sqlite3.connect(path) as con:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def test_an_interrupted_import_leaves_the_store_as_it_was(store, tmp_path, monkeypatch):
    hh = pd.DataFrame(
        {
            "户编号": ["1", "2"],
            "项目编号": ["A", "A"],
            "状态": ["已签约", "未签约"],
            "日期": ["2026-11-10", None],
        }
    )
    store.import_snapshot([_ledger(4)], as_of="2026-11-13", households=hh)
    before = _table_counts(store.path)
    calls = []
    real = SQLiteBackend._write_table

    def failing(self, con, table, df):
        calls.append(table)
        real(self, con, table, df)
        if len(calls) == 1:
            msg = "disk pulled out"
            raise RuntimeError(msg)

    monkeypatch.setattr(SQLiteBackend, "_write_table", failing)
    hh2 = hh.assign(状态=["已签约", "已签约"], 日期=["2026-11-10", "2026-11-18"])
    with pytest.raises(RuntimeError, match="disk pulled out"):
        store.import_snapshot([_ledger(9)], as_of="2026-11-20", households=hh2)
    assert calls == ["snapshots"]
    assert _table_counts(store.path) == before
    assert store.dates() == [dt.date(2026, 11, 13)]
    assert store.households()["status"].tolist() == ["signed", "unsigned"]
    monkeypatch.undo()
    # and the same import then works
    store.import_snapshot([_ledger(9)], as_of="2026-11-20", households=hh2)
    assert store.households("2026-11-13")["status"].tolist() == ["signed", "unsigned"]
    assert sorted(store.households("2026-11-20")["status"]) == ["signed", "signed"]


def test_an_interrupted_first_import_leaves_no_file(tmp_path, monkeypatch):
    store = LedgerStore(tmp_path / "new.gpkg")

    def failing(self, con, table, df):
        msg = "stop"
        raise RuntimeError(msg)

    monkeypatch.setattr(SQLiteBackend, "_write_table", failing)
    with pytest.raises(RuntimeError):
        store.import_snapshot([_ledger(1)], as_of="2026-11-13")
    assert not store.path.exists()


def test_households_are_versioned_and_decisions_carried_until_closed(store):
    hh = pd.DataFrame(
        {
            "户编号": ["1", "2", "3"],
            "项目编号": "A",
            "状态": ["已签约", "未签约", "未签约"],
            "日期": ["2026-11-10", None, None],
        }
    )
    dec = pd.DataFrame(
        {
            "事项编号": ["D1", "D2"],
            "商定事项": ["协调供电", "补充评估"],
            "责任单位": ["供电公司", "征收中心"],
            "完成时限": ["2026-11-19", "2026-11-30"],
        }
    )
    store.import_snapshot([_ledger(1)], as_of="2026-11-13", households=hh, decisions=dec)
    hh2 = hh.assign(
        状态=["已签约", "已签约", "未签约"], 日期=["2026-11-10", "2026-11-17", None]
    ).iloc[:2]
    closed = pd.DataFrame(
        {
            "事项编号": ["D1"],
            "商定事项": ["协调供电"],
            "责任单位": ["供电公司"],
            "完成时限": ["2026-11-19"],
            "状态": ["已完成"],
            "完成日期": ["2026-11-18"],
        }
    )
    r = store.import_snapshot([_ledger(2)], as_of="2026-11-20", households=hh2, decisions=closed)
    assert r.changes["households"] == (1, 1)  # household 2 changed, household 3 ended
    assert r.changes["decisions"] == (1, 0)
    store.import_snapshot([_ledger(3)], as_of="2026-11-27")  # nothing but the ledger
    # household 3 left the table on 11-20: a row stays in the history, not in the snapshot
    assert store.households("2026-11-13")["household_id"].tolist() == ["1", "2", "3"]
    assert sorted(store.households("2026-11-27")["household_id"]) == ["1", "2"]
    d = store.decisions("2026-11-27").set_index("decision_id")
    assert d.loc["D1", "closed"]
    assert not d.loc["D2", "closed"]  # D2 carried, still open
    assert store.decisions("2026-11-13")["closed"].tolist() == [False, False]


def test_a_file_that_is_no_store_is_refused(tmp_path):
    bad = tmp_path / "x.gpkg"
    bad.write_text("not a database at all, just text " * 100)
    with pytest.raises(InputError, match="is not a ledger store"):
        LedgerStore(bad)
    other = tmp_path / "layer.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(0, 0)], crs="EPSG:4326").to_file(other)
    with pytest.raises(InputError, match="no ledger store"):
        LedgerStore(other)


def test_unknown_snapshot_and_project_are_one_sentence(store):
    with pytest.raises(InputError, match="no snapshot yet"):
        store.snapshot()
    store.import_snapshot([_ledger(1)], as_of="2026-11-13")
    with pytest.raises(InputError, match="no snapshot of 2026-11-20; its snapshots: 2026-11-13"):
        store.snapshot("2026-11-20")
    with pytest.raises(InputError, match=r"has project 'AA'.*did you mean `A`"):
        store.history("AA")
