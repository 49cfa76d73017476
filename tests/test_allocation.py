"""Tests of geo_renewal.allocation: the solver on small arrays, against brute force."""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pytest

from geo_renewal._errors import InputError
from geo_renewal.allocation import allocate, max_nearby, require_solver

T, F = True, False


# --------------------------------------------------------------------------- brute force


def _flows(d, cap, allowed, *, whole):
    """Every integer plan: households per allowed pair, within demand and capacity.

    With `whole`, a unit that some allowed site can hold whole gets all or nothing at a
    single site (the keep-together model); a unit no site can hold may be split.
    """
    n, m = len(d), len(cap)
    pairs = [(i, j) for i in range(n) for j in range(m) if allowed[i][j]]
    fits = [any(allowed[i][j] and cap[j] >= d[i] > 0 for j in range(m)) for i in range(n)]
    for values in itertools.product(*(range(min(d[i], cap[j]) + 1) for i, j in pairs)):
        x = np.zeros((n, m), dtype=int)
        for (i, j), v in zip(pairs, values, strict=True):
            x[i, j] = v
        if (x.sum(axis=1) > d).any() or (x.sum(axis=0) > cap).any():
            continue
        if whole and any(
            fits[i] and not (x[i].sum() == 0 or (x[i].max() == d[i] and (x[i] > 0).sum() == 1))
            for i in range(n)
        ):
            continue
        yield x


def _best(d, cap, cost, allowed, *, whole):
    """Most households placed, then least cost: (placed, cost, every optimal plan)."""
    cost = np.where(np.asarray(allowed), np.asarray(cost, dtype=float), 0.0)
    scored = [(-int(x.sum()), round(float((x * cost).sum()), 9), x) for x in
              _flows(np.asarray(d), np.asarray(cap), allowed, whole=whole)]  # fmt: skip
    top = min((p, c) for p, c, _ in scored)
    return -top[0], top[1], [x for p, c, x in scored if (p, c) == top]


def _check_feasible(res, d, cap, allowed):
    x = res.households
    assert x.dtype == np.int64
    assert (x >= 0).all()
    assert (x[~np.asarray(allowed)] == 0).all()
    assert (x.sum(axis=0) <= np.asarray(cap)).all()
    assert (res.unmet == np.asarray(d) - x.sum(axis=1)).all()
    assert (res.unmet >= 0).all()


# --------------------------------------------------------------------------- table of cases

# id, demand, capacity, cost (per household), allowed (None: where cost is finite),
# expected keep-together plan, expected split plan (worked out by hand in the comment;
# the test also checks them against brute-force enumeration)
CASES = [
    pytest.param(
        [3, 2], [5, 5], [[1, 4], [3, 1]], None,
        [[3, 0], [0, 2]], [[3, 0], [0, 2]],
        id="every-unit-fits",  # each at its cheapest site: 3·1 + 2·1 = 5
    ),
    pytest.param(
        [3, 3], [4, 4], [[1, 2], [1, 3]], None,
        [[0, 3], [3, 0]], [[1, 2], [3, 0]],
        # whole: A→1, B→0 = 6 + 3 = 9 (A→0, B→1 = 3 + 9 = 12); split: B (saves 2 a
        # household at site 0) fills 3 of it, A the last flat: 1 + 4 + 3 = 8
        id="keeping-whole-costs-more",
    ),
    pytest.param(
        [7, 3], [5, 3, 2], [[1, 3, 5], [9, 1, 2]], None,
        [[5, 0, 2], [0, 3, 0]], [[5, 2, 0], [0, 1, 2]],
        # A (7) fits no site: split inside the model even when keeping together. Whole B at
        # site 1: A 5·1 + 2·5, B 3·1 = 18; split: A 5·1 + 2·3, B 1·1 + 2·2 = 16
        id="unit-too-big-for-any-site",
    ),
    pytest.param(
        [2, 3], [4, 4], [[1, 5], [2, 3]], [[T, T], [F, F]],
        [[2, 0], [0, 0]], [[2, 0], [0, 0]],
        id="distance-limit-no-pair-for-B",  # B may use no site: 3 unmet
    ),
    pytest.param(
        [2, 3], [4, 4], [[1, np.inf], [np.inf, np.inf]], None,
        [[2, 0], [0, 0]], [[2, 0], [0, 0]],
        id="infinite-cost-is-forbidden",
    ),
    pytest.param(
        [2, 3], [4, 4], [[1, 1], [1, 1]], [[F, F], [F, F]],
        [[0, 0], [0, 0]], [[0, 0], [0, 0]],
        id="no-allowed-pair-at-all",
    ),
    pytest.param(
        [0, 2], [0, 3], [[1, 1], [1, 2]], None,
        [[0, 0], [0, 2]], [[0, 0], [0, 2]],
        id="zero-demand-and-zero-capacity",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("d", "cap", "cost", "allowed", "keep", "split"), CASES)
def test_cases_against_hand_and_brute_force(d, cap, cost, allowed, keep, split):
    ok = np.isfinite(np.asarray(cost, dtype=float)) if allowed is None else np.asarray(allowed)
    cost_ok = np.where(ok, np.asarray(cost, dtype=float), 0.0)
    for keep_together, expected in ((True, keep), (False, split)):
        res = allocate(d, cap, cost, allowed=allowed, keep_together=keep_together)
        _check_feasible(res, d, cap, ok)
        assert res.households.tolist() == expected
        placed, best_cost, plans = _best(d, cap, cost, ok.tolist(), whole=keep_together)
        assert int(res.households.sum()) == placed
        assert res.solver["objective"] == pytest.approx(best_cost)
        assert any((p == res.households).all() for p in plans)
        assert res.solver["objective"] == pytest.approx(float((res.households * cost_ok).sum()))
        assert res.solver["method"] == ("milp" if keep_together else "lp")
    split_best = _best(d, cap, cost, ok.tolist(), whole=False)
    assert res.split_households == split_best[0]


def test_unit_too_big_is_reported_and_gap_to_split():
    res = allocate([7, 3], [5, 3, 2], [[1, 3, 5], [9, 1, 2]])
    assert res.oversized.tolist() == [0]
    assert res.solver["fallback"]
    assert res.solver["split_objective"] == pytest.approx(16.0)
    assert res.solver["bound_gap"] == pytest.approx((18 - 16) / 18)
    split = allocate([7, 3], [5, 3, 2], [[1, 3, 5], [9, 1, 2]], keep_together=False)
    assert split.oversized.tolist() == []
    assert not split.solver["fallback"]
    assert split.solver["bound_gap"] == 0.0


def test_capacity_shortfall_keeps_one_whole_and_splits_the_other():
    # 8 households, 5 flats. Split: A (cheaper) 4, B 1 → 4·1 + 1·2 = 6, 3 unmet.
    # Together: both cannot fit whole; A is kept whole (cheaper), B is split into the one
    # flat left rather than left out whole (most households placed first): the same plan.
    for keep_together in (True, False):
        res = allocate([4, 4], [5], [[1.0], [2.0]], keep_together=keep_together)
        assert res.households.tolist() == [[4], [1]]
        assert res.unmet.tolist() == [0, 3]
        assert res.solver["objective"] == pytest.approx(6.0)
        assert res.split_households == 5
    together = allocate([4, 4], [5], [[1.0], [2.0]])
    assert together.solver["fallback"]
    assert together.oversized.tolist() + together.refilled.tolist() == [1]
    # brute force: no plan places more than 5 households
    assert _best([4, 4], [5], [[1], [2]], [[T], [T]], whole=False)[:2] == (5, 6.0)


def test_placing_households_comes_before_distance():
    # A may use S0 (1 a household) or S1 (50), B only S0 (40). The cheapest plan sends A to
    # S0 and leaves B out (cost 2, 2 placed); placing both costs 100 + 80 = 180 and wins.
    cost, ok = [[1.0, 50.0], [40.0, np.inf]], [[T, T], [T, F]]
    for keep_together in (True, False):
        res = allocate([2, 2], [2, 2], cost, keep_together=keep_together)
        assert res.households.tolist() == [[0, 2], [2, 0]]
        assert res.unmet.tolist() == [0, 0]
        assert res.solver["objective"] == pytest.approx(180.0)
    assert _best([2, 2], [2, 2], cost, ok, whole=False)[:2] == (4, 180.0)


@pytest.mark.parametrize("keep_together", [True, False])
def test_ties_give_a_valid_optimum_and_the_same_one_every_time(keep_together):
    d, cap, cost = [2, 2], [2, 2], np.ones((2, 2))
    res = allocate(d, cap, cost, keep_together=keep_together)
    _check_feasible(res, d, cap, np.ones((2, 2), bool))
    assert res.solver["objective"] == pytest.approx(4.0)
    assert res.households.sum() == 4
    if keep_together:  # each unit whole at one site, each site full
        assert sorted(res.households.max(axis=1).tolist()) == [2, 2]
        assert ((res.households > 0).sum(axis=1) == 1).all()
    again = allocate(d, cap, cost, keep_together=keep_together)
    assert (again.households == res.households).all()
    one = allocate([3], [3, 3], [[1.0, 1.0]], keep_together=keep_together)
    assert one.solver["objective"] == pytest.approx(3.0)
    if keep_together:
        assert sorted(one.households[0].tolist()) == [0, 3]


def test_random_small_instances_against_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(15):
        n, m = int(rng.integers(1, 4)), int(rng.integers(1, 3))
        d = rng.integers(0, 4, n).tolist()
        cap = rng.integers(0, 5, m).tolist()
        cost = rng.integers(1, 6, (n, m)).astype(float)
        ok = rng.random((n, m)) < 0.8
        split = allocate(d, cap, cost, allowed=ok, keep_together=False)
        _check_feasible(split, d, cap, ok)
        placed, best_cost, _ = _best(d, cap, cost, ok.tolist(), whole=False)
        assert (int(split.households.sum()), split.solver["objective"]) == (
            placed,
            pytest.approx(best_cost),
        )
        together = allocate(d, cap, cost, allowed=ok)
        _check_feasible(together, d, cap, ok)
        assert together.households.sum() <= placed
        w_placed, w_cost, _ = _best(d, cap, cost, ok.tolist(), whole=True)
        if w_placed == sum(d):  # nothing to fall back on: the keep-together optimum
            assert together.solver["objective"] == pytest.approx(w_cost)
            assert together.households.sum() == w_placed


# --------------------------------------------------------------------------- max nearby


@pytest.mark.parametrize(
    ("d", "cap", "allowed", "expected"),
    [
        ([3, 2], [4], [[T], [T]], 4),
        ([3, 2], [2, 2], [[T, F], [T, F]], 2),
        ([3, 2], [2, 2], [[T, F], [F, T]], 4),
        ([3, 2], [5, 5], [[F, F], [F, F]], 0),
        ([3, 2], [0, 5], [[T, F], [T, T]], 2),
    ],
)
def test_max_nearby(d, cap, allowed, expected):
    assert max_nearby(d, cap, allowed) == expected
    assert _best(d, cap, np.zeros((len(d), len(cap))), allowed, whole=False)[0] == expected


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("args", "kw", "match"),
    [
        (([1, 2], [3], [[1.0, 2.0]]), {}, "2 × 1"),
        (([1], [3], [[1.0]]), {"allowed": [[T, F]]}, "allowed"),
        (([-1], [3], [[1.0]]), {}, "demand"),
        (([1.5], [3], [[1.0]]), {}, "demand"),
        (([1], [np.nan], [[1.0]]), {}, "capacity"),
        (([1], [3], [[-1.0]]), {}, "cost"),
        (([1], [3], [[np.nan]]), {"allowed": [[T]]}, "cost"),
    ],
)
def test_refusals(args, kw, match):
    with pytest.raises(InputError, match=match):
        allocate(*args, **kw)


def test_require_solver_names_the_extra(monkeypatch):
    assert require_solver().__name__ == "scipy.optimize"
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    with pytest.raises(ImportError, match=r'pip install "geo_renewal\[solver\]"'):
        require_solver()
    with pytest.raises(ImportError, match=r"geo_renewal\[solver\]"):
        allocate([1], [1], [[1.0]])
