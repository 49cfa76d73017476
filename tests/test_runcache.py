"""`print` and `deck` after `run` reuse the computed run only while nothing it read changed."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner
from small_plan import write_small_plan

from geo_renewal import _runcache
from geo_renewal._runcache import cache_dir, load_run, plan_fingerprint, save_run
from geo_renewal.cli import cli
from geo_renewal.plan import load_plan
from geo_renewal.workflow import compute_plan


def _run(tmp_path, monkeypatch, grid_parcels):
    """`geo-renewal run` of the small plan, with the cache in a folder of the test."""
    monkeypatch.setenv("GEO_RENEWAL_CACHE", str(tmp_path / "cache"))
    path = write_small_plan(tmp_path, grid_parcels)
    res = CliRunner().invoke(cli, ["run", str(path), "--silent"])
    assert res.exit_code == 0, res.output
    return path, compute_plan(path)


def test_a_run_keeps_its_computation_and_gives_it_back_unchanged(
    tmp_path, monkeypatch, grid_parcels
):
    path, result = _run(tmp_path, monkeypatch, grid_parcels)
    assert [p.name for p in cache_dir().iterdir()] == [_runcache._cache_file(result.plan).name]
    assert not [p for p in (tmp_path / "maps").iterdir() if p.name.startswith(".")]
    kept = load_run(load_plan(path))
    assert kept is not None
    pd.testing.assert_frame_equal(kept.stats["street"], result.stats["street"])
    assert kept.classified["category"].tolist() == result.classified["category"].tolist()
    assert kept.files == {}  # the computation only, not the run's files


def test_a_changed_input_rules_or_plan_computes_again(tmp_path, monkeypatch, grid_parcels):
    path, _ = _run(tmp_path, monkeypatch, grid_parcels)
    before = plan_fingerprint(load_plan(path))
    rules = tmp_path / "rules.toml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("1985", "1975"), encoding="utf-8")
    assert plan_fingerprint(load_plan(path)) != before
    assert load_run(load_plan(path)) is None  # the rule file changed
    save_run(compute_plan(path))
    assert load_run(load_plan(path)) is not None
    text = path.read_text(encoding="utf-8").replace('name = "小片区"', 'name = "小片区二"')
    path.write_text(text, encoding="utf-8")
    assert load_run(load_plan(path)) is None  # the project file changed


def test_an_unreadable_cache_is_computed_again(tmp_path, monkeypatch, grid_parcels):
    path, _ = _run(tmp_path, monkeypatch, grid_parcels)
    next(cache_dir().iterdir()).write_bytes(b"not a pickle")
    assert load_run(load_plan(path)) is None


def test_print_after_run_says_it_reuses_the_run(tmp_path, monkeypatch, grid_parcels):
    path, _ = _run(tmp_path, monkeypatch, grid_parcels)
    out = tmp_path / "p.pdf"
    res = CliRunner().invoke(cli, ["print", str(path), "--paper", "A4", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "复用" in res.output
    assert out.stat().st_size > 1000
    (tmp_path / "rules.toml").write_text(
        (tmp_path / "rules.toml").read_text(encoding="utf-8") + "\n", encoding="utf-8"
    )
    res = CliRunner().invoke(cli, ["print", str(path), "--paper", "A4", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "复用" not in res.output


def test_the_cache_keeps_the_newest_runs_only(tmp_path, monkeypatch, grid_parcels):
    monkeypatch.setenv("GEO_RENEWAL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(_runcache, "KEEP", 2)
    result = compute_plan(write_small_plan(tmp_path, grid_parcels))
    for i in range(3):
        other = tmp_path / f"plan{i}.toml"
        other.write_bytes(result.plan.path.read_bytes())
        save_run(compute_plan(other))
    assert len(list(cache_dir().glob("run-*.pkl"))) == 2


def test_print_after_run_gives_the_runs_warnings_again(tmp_path, monkeypatch, grid_parcels):
    monkeypatch.setenv("GEO_RENEWAL_CACHE", str(tmp_path / "cache"))
    path = write_small_plan(tmp_path, grid_parcels.assign(层数=None))  # an empty twin of floors
    said = "columns 'floors' and '层数' both mean 'floors'"
    res = CliRunner().invoke(cli, ["run", str(path), "--silent"])
    assert res.exit_code == 0, res.output
    assert res.output.count(said) == 1
    out = tmp_path / "p.pdf"
    res = CliRunner().invoke(cli, ["print", str(path), "--paper", "A4", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "复用" in res.output  # the kept run, not a new computation …
    assert res.output.count(said) == 1  # … and its warning, once, as the run gave it
    res = CliRunner().invoke(cli, ["deck", str(path), "--out", str(tmp_path / "d.pptx")])
    assert res.exit_code == 0, res.output
    assert "复用" in res.output
    assert res.output.count(said) == 1
