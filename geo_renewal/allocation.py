"""
The resettlement allocation solver: households of demand units to sites with capacities.

Numpy and scipy (HiGHS through `scipy.optimize.milp`, the ``solver`` extra), no geometry:
`allocate` and `max_nearby` (the best 就地就近安置率); see ``docs/guide/resettlement.md``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from geo_renewal._compat import import_optional
from geo_renewal._errors import InputError

__all__ = ["AllocationResult", "allocate", "max_nearby", "require_solver"]

_PURPOSE = "resettlement allocation"


def require_solver() -> ModuleType:
    """
    Return `scipy.optimize`, or raise an `ImportError` naming the ``solver`` extra.

    `geo_renewal.resettlement.plan_resettlement` calls it before any other work, so that a
    missing scipy is one sentence rather than a traceback after the site checks.

    Returns
    -------
    optimize
        The `scipy.optimize` module.

    Raises
    ------
    ImportError
        If scipy is not installed: ``pip install "geo_renewal[solver]"``.

    Examples
    --------
    >>> require_solver().__name__
    'scipy.optimize'
    """
    return import_optional("scipy.optimize", purpose=_PURPOSE)


def _sparse() -> ModuleType:
    return import_optional("scipy.sparse", purpose=_PURPOSE)


@dataclass
class AllocationResult:
    """
    The result of `allocate`.

    Attributes
    ----------
    households
        Integer n × m matrix: households of unit i placed at site j.
    unmet
        Households per unit left without a site (``demand − households.sum(axis=1)``).
    solver
        ``method`` ("milp" keep-together / "lp" split), ``status``, ``message``,
        ``objective`` (total cost), ``split_objective`` (cost of the split optimum),
        ``bound_gap``, ``mip_gap``, ``time_s``, ``time_limit``, ``time_limit_hit``,
        ``fallback`` and, for keep-together, the heuristic's and the MILP's figures.
    oversized
        Units (row indices) that could not be kept whole and were split inside the model.
    refilled
        Units whose households left over after packing were split over the remaining
        capacity.
    split_households
        Households the split optimum places (keep-together never places more).
    """

    households: np.ndarray
    unmet: np.ndarray
    solver: dict[str, Any] = field(default_factory=dict)
    oversized: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="int64"))
    refilled: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="int64"))
    split_households: int = 0


def allocate(
    demand: Any,
    capacity: Any,
    cost: Any,
    *,
    allowed: Any = None,
    keep_together: bool = True,
    candidates: int | None = 20,
    time_limit: float = 20.0,
    mip_rel_gap: float = 0.005,
) -> AllocationResult:
    """
    Allocate the households of demand units to sites at least cost, capacities respected.

    First as many households are placed as capacities and allowed pairs permit (unmet
    demand is a slack with a penalty above any saving), then the total cost
    ``Σ households × cost`` is minimised. With ``keep_together=False`` units are split
    freely (a transportation LP, integral at its optimum). With ``keep_together=True``
    each unit goes whole to one site: a regret greedy and local search, and the HiGHS MILP
    over each unit's `candidates` cheapest sites; the better plan wins. A unit that no
    allowed site can hold whole, or that the packing leaves out, is split inside the model,
    and what is still left is split over the remaining capacity.

    Parameters
    ----------
    demand
        Households per unit, non-negative integers, length n.
    capacity
        Households (flats) per site, non-negative integers, length m.
    cost
        n × m cost of placing one household of unit i at site j (e.g. km), ≥ 0 and finite
        where allowed.
    allowed
        n × m booleans: the pairs that may be used. Default: where `cost` is finite.
    keep_together
        Send each unit whole to one site where capacities allow (default True).
    candidates
        With `keep_together`, the number of cheapest sites (that can hold the unit whole)
        offered to each unit in the MILP; None offers all.
    time_limit
        Seconds per solver call (HiGHS ``time_limit``).
    mip_rel_gap
        Relative optimality gap at which the MILP stops.

    Returns
    -------
    result
        An `AllocationResult`: integer households per pair, unmet per unit, solver info.

    Raises
    ------
    InputError
        If the arrays do not match in shape, or hold negative or non-finite values.
    ImportError
        If scipy is not installed.

    See Also
    --------
    max_nearby : The most households that a subset of pairs can take.
    geo_renewal.resettlement.plan_resettlement : Allocation of a district's demand units.

    Examples
    --------
    >>> res = allocate([3, 3], [4, 4], [[1.0, 2.0], [1.0, 3.0]])
    >>> res.households.tolist()  # whole units: A→1, B→0 costs 6 + 3
    [[0, 3], [3, 0]]
    >>> res.solver["objective"]
    9.0
    >>> allocate([3, 3], [4, 4], [[1.0, 2.0], [1.0, 3.0]], keep_together=False).households.tolist()
    [[1, 2], [3, 0]]
    """
    d, cap, cost_m, ok = _check_arrays(demand, capacity, cost, allowed)
    n, m = len(d), len(cap)
    ii, jj = np.nonzero(ok & (cap[None, :] > 0) & (d[:, None] > 0))
    c = cost_m[ii, jj]
    ref_x, ref_info = _solve_split(d, cap, ii, jj, c, time_limit=time_limit)
    ref_cost = float(d.sum() and (ref_x * c).sum())
    empty = np.zeros(0, dtype="int64")
    if keep_together:
        kw: dict[str, Any] = {
            "time_limit": time_limit,
            "mip_rel_gap": mip_rel_gap,
            "candidates": candidates,
        }
        x, info, oversized, refilled = _keep_together(d, cap, ii, jj, c, **kw)
    else:
        x, info, oversized, refilled = ref_x, {**ref_info, "fallback": False}, empty, empty
    x = np.asarray(x, dtype="int64")
    total = float((x * c).sum())
    info |= {
        "objective": total,
        "split_objective": ref_cost,
        "bound_gap": (total - ref_cost) / total if total > 0 else 0.0,
        "time_limit": float(time_limit),
        "time_limit_hit": info.get("status") == 1,
    }
    if keep_together:
        info["time_s"] = info.get("time_s", 0.0) + ref_info["time_s"]
    households = np.zeros((n, m), dtype="int64")
    households[ii, jj] = x
    unmet = d - households.sum(axis=1)
    if (unmet < 0).any() or (households.sum(axis=0) > cap).any() or (x < 0).any():
        msg = "internal error: the allocation breaks a demand or capacity constraint."
        raise RuntimeError(msg)
    return AllocationResult(
        households=households,
        unmet=unmet,
        solver=info,
        oversized=np.asarray(oversized, dtype="int64"),
        refilled=np.asarray(refilled, dtype="int64"),
        split_households=int(ref_x.sum()),
    )


def max_nearby(demand: Any, capacity: Any, allowed: Any, *, time_limit: float = 20.0) -> int:
    """
    Return the most households that capacities allow to place on the `allowed` pairs.

    The bound of the 就地就近安置率: with `allowed` the nearby (unit, site) pairs, no plan
    places more households nearby (a maximum flow, solved as an LP).

    Parameters
    ----------
    demand
        Households per unit, length n.
    capacity
        Flats per site, length m.
    allowed
        n × m booleans: the pairs that count.
    time_limit
        Seconds for the solver.

    Returns
    -------
    households
        The largest number of households placeable on those pairs.

    Raises
    ------
    InputError
        If the arrays do not match in shape or hold negative values.
    ImportError
        If scipy is not installed.

    Examples
    --------
    >>> max_nearby([3, 2], [4], [[True], [True]])
    4
    >>> max_nearby([3, 2], [4, 4], [[True, False], [False, False]])
    3
    """
    d, cap, _, ok = _check_arrays(demand, capacity, None, allowed)
    ii, jj = np.nonzero(ok & (cap[None, :] > 0) & (d[:, None] > 0))
    return _max_nearby(d, cap, ii, jj, time_limit=time_limit)


# --------------------------------------------------------------------------- checks


def _check_arrays(
    demand: Any, capacity: Any, cost: Any, allowed: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Demand, capacity (int64), cost (n × m float) and allowed (n × m bool), checked."""
    d = _counts(demand, "demand")
    cap = _counts(capacity, "capacity")
    shape = (len(d), len(cap))
    cost_m = np.zeros(shape) if cost is None else _matrix(cost, float, shape)
    if cost_m.shape != shape:
        msg = f"`cost` must be a {shape[0]} × {shape[1]} matrix (units × sites)."
        raise InputError(msg)
    ok = np.isfinite(cost_m) if allowed is None else _matrix(allowed, bool, shape)
    if ok.shape != shape:
        msg = f"`allowed` must be a {shape[0]} × {shape[1]} boolean matrix (units × sites)."
        raise InputError(msg)
    used = cost_m[ok]
    if not np.all(np.isfinite(used)) or (used < 0).any():
        msg = "`cost` must be finite and ≥ 0 on every allowed (unit, site) pair."
        raise InputError(msg)
    return d, cap, cost_m, ok


def _matrix(values: Any, dtype: type, shape: tuple[int, int]) -> np.ndarray:
    arr: np.ndarray = np.asarray(values, dtype=dtype)
    return arr.reshape(shape) if arr.size == 0 == shape[0] * shape[1] else arr


def _counts(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float).reshape(-1)
    if not np.all(np.isfinite(arr)) or (arr < 0).any() or (arr != np.round(arr)).any():
        msg = f"`{name}` must hold whole numbers ≥ 0 (households per row)."
        raise InputError(msg)
    return arr.astype("int64")


# --------------------------------------------------------------------------- split


def _pair_matrices(
    n: int, m: int, ii: np.ndarray, jj: np.ndarray, row_weight: np.ndarray
) -> tuple[Any, Any]:
    """Sparse unit rows (Σ_j var + slack) and site rows (Σ_i weight · var) over pair vars."""
    sparse = _sparse()
    k = len(ii)
    a_unit = sparse.csr_array(
        (np.ones(k + n), (np.r_[ii, np.arange(n)], np.r_[np.arange(k), k + np.arange(n)])),
        shape=(n, k + n),
    )
    a_site = sparse.csr_array((row_weight, (jj, np.arange(k))), shape=(m, k + n))
    return a_unit, a_site


def _penalty(cost: np.ndarray, n: int, m: int) -> float:
    """Per-household cost of leaving demand unmet: more than any reassignment chain saves."""
    top = float(cost.max()) if len(cost) else 1.0
    return top * max(1, min(n, m)) + 1.0


def _solve_split(
    d: np.ndarray,
    cap: np.ndarray,
    ii: np.ndarray,
    jj: np.ndarray,
    cost: np.ndarray,
    *,
    time_limit: float,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Min-cost transportation with unmet slack; returns households per pair (int)."""
    opt = require_solver()
    n, m, k = len(d), len(cap), len(ii)
    t0 = time.perf_counter()
    if k == 0:
        info = {"method": "lp", "status": 0, "message": "no allowed (unit, site) pair"}
        return np.zeros(0, dtype="int64"), {**info, "time_s": 0.0, "mip_gap": None}
    pen = _penalty(cost, n, m)
    c = np.r_[cost, np.full(n, pen)]
    a_unit, a_site = _pair_matrices(n, m, ii, jj, np.ones(k))
    cons = [opt.LinearConstraint(a_unit, d, d), opt.LinearConstraint(a_site, -np.inf, cap)]
    bounds = opt.Bounds(0, np.r_[d[ii], d].astype(float))
    opts = {"time_limit": float(time_limit)}
    res = opt.milp(c, constraints=cons, bounds=bounds, options=opts)
    if res.x is not None and np.abs(res.x - np.round(res.x)).max() > 1e-6:
        # a transportation LP has integral vertices; an interior answer is re-solved as MIP
        res = opt.milp(
            c, constraints=cons, bounds=bounds, integrality=np.ones(k + n), options=opts
        )
    if res.x is None:
        msg = f"the allocation LP failed: {res.message}"
        raise InputError(msg)
    x = np.round(res.x[:k]).astype("int64")
    info = {
        "method": "lp",
        "status": int(res.status),
        "message": str(res.message),
        "mip_gap": None,
        "time_s": time.perf_counter() - t0,
    }
    return x, info


def _max_nearby(
    d: np.ndarray, cap: np.ndarray, ii: np.ndarray, jj: np.ndarray, *, time_limit: float
) -> int:
    """Most flat households that capacities allow to place on pairs (ii, jj)."""
    opt = require_solver()
    n, m, k = len(d), len(cap), len(ii)
    if k == 0:
        return 0
    a_unit, a_site = _pair_matrices(n, m, ii, jj, np.ones(k))
    cons = [
        opt.LinearConstraint(a_unit[:, :k], -np.inf, d),
        opt.LinearConstraint(a_site[:, :k], -np.inf, cap),
    ]
    res = opt.milp(
        -np.ones(k),
        constraints=cons,
        bounds=opt.Bounds(0, d[ii].astype(float)),
        options={"time_limit": float(time_limit)},
    )
    return 0 if res.x is None else int(np.floor(-res.fun + 1e-6))


# --------------------------------------------------------------------------- keep together


def _keep_together(
    d: np.ndarray,
    cap: np.ndarray,
    ii: np.ndarray,
    jj: np.ndarray,
    cost: np.ndarray,
    *,
    time_limit: float,
    mip_rel_gap: float,
    candidates: int | None,
) -> tuple[np.ndarray, dict[str, Any], np.ndarray, np.ndarray]:
    """Whole units where possible; households per pair, info, oversized and refilled units."""
    n = len(d)
    kw: dict[str, Any] = {
        "time_limit": time_limit,
        "mip_rel_gap": mip_rel_gap,
        "candidates": candidates,
    }
    x, info = _solve_together(d, cap, ii, jj, cost, **kw)
    short = np.bincount(ii, weights=x, minlength=n) < d
    short &= ~np.isin(np.arange(n), info["oversized"])
    if short.any():
        # units the packing left out: solve again, splitting them inside the model
        x2, info2 = _solve_together(d, cap, ii, jj, cost, split=short, **kw)
        if (int(x2.sum()), -float((x2 * cost).sum())) >= (
            int(x.sum()),
            -float((x * cost).sum()),
        ):
            info2["time_s"] += info["time_s"]
            x, info = x2, info2
    big = info.pop("oversized")
    x, left, refilled = _refill(d, cap, ii, jj, cost, x, big, time_limit=time_limit)
    info["fallback"] = bool(len(left) or len(big))
    return x, info, big, refilled


def _refill(
    d: np.ndarray,
    cap: np.ndarray,
    ii: np.ndarray,
    jj: np.ndarray,
    cost: np.ndarray,
    x: np.ndarray,
    oversized: np.ndarray,
    *,
    time_limit: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split what packing left of each (not oversized) unit over the remaining capacity."""
    n, m = len(d), len(cap)
    placed = np.bincount(ii, weights=x, minlength=n).astype("int64")
    rest = np.where(np.isin(np.arange(n), oversized), 0, d - placed)
    left = np.flatnonzero(rest > 0)
    refilled = np.zeros(0, dtype="int64")
    if len(left):
        used = np.bincount(jj, weights=x, minlength=m).astype("int64")
        mask = np.isin(ii, left)
        x2, _ = _solve_split(
            rest, cap - used, ii[mask], jj[mask], cost[mask], time_limit=time_limit
        )
        if x2.sum():
            x = x.copy()
            np.add.at(x, np.flatnonzero(mask), x2)
            refilled = np.unique(ii[mask][x2 > 0])
    return x, left, refilled


def _top2(wf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and second-smallest value per row (inf when missing)."""
    if wf.shape[1] == 1:
        return wf[:, 0].copy(), np.full(len(wf), np.inf)
    part = np.partition(wf, 1, axis=1)
    return part[:, 0], part[:, 1]


def _greedy_together(d: np.ndarray, cap: np.ndarray, w: np.ndarray) -> np.ndarray:
    """
    Regret greedy for the generalised assignment problem (Martello & Toth).

    `w` is the n × m cost of sending unit i whole to site j (inf where forbidden). Units are
    placed one by one, the one that would lose most by missing its best site first (units
    with a single fitting site before all others), each at its cheapest site with room.
    Returns the site per unit, -1 where none has room.
    """
    n = w.shape[0]
    res = cap.astype(float).copy()
    assign = np.full(n, -1, dtype="int64")
    if w.shape[1] == 0:
        return assign
    wf = np.where(res[None, :] >= d[:, None], w, np.inf)
    wf[d <= 0] = np.inf
    best, second = _top2(wf)
    active = np.isfinite(best)
    big = np.finfo(float).max / 4
    while active.any():
        with np.errstate(invalid="ignore"):
            regret = np.where(np.isfinite(second), second - best, big)
        regret[~active] = -np.inf
        i = int(np.argmax(regret))
        j = int(np.argmin(wf[i]))
        assign[i] = j
        res[j] -= d[i]
        wf[i] = np.inf
        active[i] = False
        changed = np.flatnonzero(np.isfinite(wf[:, j]) & (d > res[j]))
        if len(changed):
            wf[changed, j] = np.inf
            best[changed], second[changed] = _top2(wf[changed])
            active[changed] = np.isfinite(best[changed])
    return assign


def _improve_together(
    d: np.ndarray, cap: np.ndarray, w: np.ndarray, assign: np.ndarray, *, deadline: float
) -> np.ndarray:
    """Local search on whole-unit assignments: insert, move, swap while anything improves."""
    n, m = w.shape
    assign = assign.copy()
    if m == 0:
        return assign
    on = assign >= 0
    res = cap - np.bincount(assign[on], weights=d[on], minlength=len(cap))
    units = np.arange(n)
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for i in range(n):
            a = assign[i]
            room = np.where(res >= d[i], w[i], np.inf)
            if a >= 0:
                room[a] = np.inf
            j = int(np.argmin(room))
            if np.isfinite(room[j]) and (a < 0 or room[j] < w[i, a] - 1e-9):
                if a >= 0:
                    res[a] += d[i]
                assign[i], res[j] = j, res[j] - d[i]
                improved = True
        for i in range(n):
            a = assign[i]
            if a < 0:
                continue
            b = np.where(assign >= 0, assign, a)
            with np.errstate(invalid="ignore"):
                gain = w[i, a] + w[units, b] - w[i, b] - w[units, a]
            ok = (b != a) & (res[a] + d[i] >= d) & (res[b] + d >= d[i]) & np.isfinite(gain)
            gain = np.where(ok, gain, 0.0)
            k = int(np.argmax(gain))
            if gain[k] > 1e-9:
                bk = assign[k]
                assign[i], assign[k] = bk, a
                res[a] += d[i] - d[k]
                res[bk] += d[k] - d[i]
                improved = True
    return assign


def _solve_together(
    d: np.ndarray,
    cap: np.ndarray,
    ii: np.ndarray,
    jj: np.ndarray,
    cost: np.ndarray,
    *,
    time_limit: float,
    mip_rel_gap: float,
    candidates: int | None,
    split: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """
    Each unit wholly to one site (or wholly unmet) where a site can hold it; households per pair.

    Units flagged in `split` (bool per unit) are split like oversized ones.

    A unit larger than every site it may use ("oversized") cannot be kept whole: it is split
    inside the same model (integer households per site), so that the rest of the plan
    leaves room for it. Two routes, the better plan wins (fewest unplaced households, then
    least household-distance): a regret greedy improved by local search (fast, no
    guarantee; oversized units then split over what is left), and the MILP solved by HiGHS
    with `time_limit` over each unit's `candidates` nearest sites that can hold it whole
    plus the site the heuristic chose (optimal within `mip_rel_gap` of that restricted
    problem when HiGHS finishes).
    """
    n, m = len(d), len(cap)
    t0 = time.perf_counter()
    fits, keepable, oversized = _keepable(d, cap, ii, jj, split)
    info: dict[str, Any] = {"method": "milp", "oversized": np.flatnonzero(oversized)}
    pair_of = np.full((n, m), -1, dtype="int64")
    pair_of[ii, jj] = np.arange(len(ii))
    deadline = t0 + max(1.0, 0.25 * time_limit)
    heur, x_heur = _heuristic(
        d, cap, ii, jj, cost, fits, oversized, pair_of, deadline=deadline, time_limit=time_limit
    )
    info["heuristic_s"] = time.perf_counter() - t0
    placed = heur >= 0
    heur_pairs = pair_of[np.flatnonzero(placed), heur[placed]]
    sel_y = np.flatnonzero(_candidate_pairs(ii, cost, fits, candidates, heur_pairs))
    sel_x = np.flatnonzero(oversized[ii])
    info["pairs"] = len(sel_y) + len(sel_x)
    if info["pairs"] == 0:
        info |= {"status": 0, "message": "no (unit, site) pair to decide", "mip_gap": 0.0}
        info |= {"time_s": time.perf_counter() - t0, "chosen": "milp"}
        info |= {"heuristic_objective": 0.0, "milp_objective": 0.0, "mip_dual_bound": None}
        return x_heur, info
    res = _milp_together(
        d,
        cap,
        ii,
        jj,
        cost,
        sel_y,
        sel_x,
        keepable,
        oversized,
        time_limit=time_limit,
        mip_rel_gap=mip_rel_gap,
    )
    info |= {
        "status": int(res.status),
        "message": str(res.message),
        "mip_gap": None if res.mip_gap is None else float(res.mip_gap),
        "mip_dual_bound": None if res.mip_dual_bound is None else float(res.mip_dual_bound),
        "mip_node_count": res.mip_node_count,
        "time_s": time.perf_counter() - t0,
    }
    x_milp = None
    if res.x is not None:
        ky, kx = len(sel_y), len(sel_x)
        x_milp = np.zeros(len(ii), dtype="int64")
        x_milp[sel_y] = np.where(res.x[:ky] > 0.5, d[ii[sel_y]], 0)
        x_milp[sel_x] = np.round(res.x[ky : ky + kx]).astype("int64")
    info["heuristic_objective"] = _score(d, x_heur, cost)[1]
    info["milp_objective"] = None if x_milp is None else _score(d, x_milp, cost)[1]
    if x_milp is not None and _score(d, x_milp, cost) <= _score(d, x_heur, cost):
        info["chosen"] = "milp"
        return x_milp, info
    info["chosen"] = "local_search"
    return x_heur, info


def _score(d: np.ndarray, x: np.ndarray, cost: np.ndarray) -> tuple[int, float]:
    """Unplaced households, then total cost: the order in which two plans compare."""
    return int(d.sum() - x.sum()), float((x * cost).sum())


def _keepable(
    d: np.ndarray, cap: np.ndarray, ii: np.ndarray, jj: np.ndarray, split: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs whose site holds the unit whole, units kept whole, units split (oversized)."""
    n = len(d)
    fits = (cap[jj] >= d[ii]) & (d[ii] > 0)
    keepable = np.zeros(n, dtype=bool)
    keepable[ii[fits]] = True
    if split is not None:
        keepable &= ~split
        fits &= keepable[ii]
    oversized = ~keepable & (d > 0) & np.isin(np.arange(n), ii)
    return fits, keepable, oversized


def _heuristic(
    d: np.ndarray,
    cap: np.ndarray,
    ii: np.ndarray,
    jj: np.ndarray,
    cost: np.ndarray,
    fits: np.ndarray,
    oversized: np.ndarray,
    pair_of: np.ndarray,
    *,
    deadline: float,
    time_limit: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Whole units by regret greedy and local search, oversized ones split over the rest."""
    n, m = len(d), len(cap)
    w = np.full((n, m), np.inf)
    w[ii[fits], jj[fits]] = d[ii[fits]] * cost[fits]
    heur = _greedy_together(d, cap, w)
    heur = _improve_together(d, cap, w, heur, deadline=deadline)
    x_heur = np.zeros(len(ii), dtype="int64")
    placed = heur >= 0
    x_heur[pair_of[np.flatnonzero(placed), heur[placed]]] = d[placed]
    big_pairs = np.flatnonzero(oversized[ii])
    if len(big_pairs):
        used = np.bincount(jj, weights=x_heur, minlength=m).astype("int64")
        xb, _ = _solve_split(
            np.where(oversized, d, 0),
            cap - used,
            ii[big_pairs],
            jj[big_pairs],
            cost[big_pairs],
            time_limit=time_limit,
        )
        x_heur[big_pairs] = xb
    return heur, x_heur


def _candidate_pairs(
    ii: np.ndarray,
    cost: np.ndarray,
    fits: np.ndarray,
    candidates: int | None,
    heur_pairs: np.ndarray,
) -> np.ndarray:
    """Pairs offered to the MILP: each unit's `candidates` cheapest fitting sites, the heuristic's."""
    keep = fits.copy()
    if candidates is None or not keep.any():
        return keep
    order = np.lexsort((cost, ii))
    order = order[keep[order]]
    ui = ii[order]
    first = np.searchsorted(ui, ui, side="left")
    rank = np.arange(len(order)) - first
    keep = np.zeros(len(ii), dtype=bool)
    keep[order[rank < candidates]] = True
    keep[heur_pairs] = True
    return keep


def _milp_together(
    d: np.ndarray,
    cap: np.ndarray,
    ii: np.ndarray,
    jj: np.ndarray,
    cost: np.ndarray,
    sel_y: np.ndarray,
    sel_x: np.ndarray,
    keepable: np.ndarray,
    oversized: np.ndarray,
    *,
    time_limit: float,
    mip_rel_gap: float,
) -> Any:
    """HiGHS MILP: binary y per whole-unit pair `sel_y`, integer x per split pair `sel_x`."""
    opt, sparse = require_solver(), _sparse()
    n, m = len(d), len(cap)
    ky, kx = len(sel_y), len(sel_x)
    yi, yj, yc = ii[sel_y], jj[sel_y], cost[sel_y]
    xi, xj, xc = ii[sel_x], jj[sel_x], cost[sel_x]
    pen = _penalty(cost[np.r_[sel_y, sel_x]], n, m)
    rhs = np.where(keepable, 1, np.where(oversized, d, 0)).astype(float)
    slack_cost = np.where(keepable, pen * d, pen)
    c = np.r_[d[yi] * yc, xc, slack_cost]
    nv = ky + kx + n
    a_unit = sparse.csr_array(
        (np.ones(nv), (np.r_[yi, xi, np.arange(n)], np.arange(nv))), shape=(n, nv)
    )
    a_site = sparse.csr_array(
        (np.r_[d[yi].astype(float), np.ones(kx)], (np.r_[yj, xj], np.arange(ky + kx))),
        shape=(m, nv),
    )
    return opt.milp(
        c,
        constraints=[
            opt.LinearConstraint(a_unit, rhs, rhs),
            opt.LinearConstraint(a_site, -np.inf, cap),
        ],
        bounds=opt.Bounds(0, np.r_[np.ones(ky), d[xi].astype(float), rhs]),
        integrality=np.ones(nv),
        options={"time_limit": float(time_limit), "mip_rel_gap": float(mip_rel_gap)},
    )
