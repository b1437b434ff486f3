"""Per-call feasibility checks run before any search, so unservable calls get a reason."""

from __future__ import annotations

import numpy as np

from solver.problem import HORIZON_S, BoolArray, IntArray, Problem
from solver.solution import Unserved, UnservedReason


def latest_starts(problem: Problem) -> IntArray:
    """Latest allowed start of each visit under the problem's window regime."""
    obj = problem.objective
    latest = np.array([v.latest_start_s for v in problem.visits], dtype=np.int64)
    if obj.hard_windows:
        return latest
    if obj.max_lateness_s is None:
        return np.full_like(latest, HORIZON_S)
    return np.minimum(latest + obj.max_lateness_s, HORIZON_S)


def feasible_carers(problem: Problem) -> BoolArray:
    """Boolean (n_visits, n_carers): compatible and reachable inside the carer's shift alone."""
    n, m = problem.num_visits, problem.num_carers
    ok = problem.compatible.copy()
    if n == 0 or m == 0:
        return ok
    loc = np.array([v.location for v in problem.visits], dtype=np.int64)
    ws = np.array([v.window_start_s for v in problem.visits], dtype=np.int64)
    dur = np.array([v.duration_s for v in problem.visits], dtype=np.int64)
    ls = latest_starts(problem)
    for mode, travel in enumerate(problem.travel_s):
        ks = np.array([k for k, c in enumerate(problem.carers) if c.travel_mode == mode])
        if ks.size == 0:
            continue
        cs = [problem.carers[k] for k in ks]
        start_loc = np.array([c.start_location for c in cs])
        end_loc = np.array([c.end_location for c in cs])
        shift_start = np.array([c.shift_start_s for c in cs])[None, :]
        shift_end = np.array([c.shift_end_s for c in cs])[None, :]
        cap = np.array([c.work_cap_s for c in cs])[None, :]
        go = travel[start_loc][:, loc].T  # (n, |ks|)
        back = travel[loc][:, end_loc]
        earliest = np.maximum(ws[:, None], shift_start + go)
        reach = (earliest <= ls[:, None]) & (earliest + dur[:, None] + back <= shift_end)
        reach &= go + dur[:, None] + back <= cap
        ok[:, ks] &= reach
    return ok


def precheck(problem: Problem) -> tuple[list[Unserved | None], BoolArray]:
    """Reason each call cannot be served whatever the others do, and the feasible carers.

    Returns
    -------
    reasons
        Per visit, an ``Unserved`` record or ``None`` when the call may be served.
    feasible
        Boolean (n_visits, n_carers) of carers that could serve the call on their own;
        rows of unservable calls are all False.
    """
    feasible = feasible_carers(problem)
    compatible = problem.compatible
    reasons: list[Unserved | None] = [None] * problem.num_visits
    hard = problem.objective.hard_windows
    for i, v in enumerate(problem.visits):
        if hard and v.window_end_s - v.window_start_s < v.duration_s:
            reasons[i] = Unserved(
                i,
                UnservedReason.WINDOW_TOO_SHORT,
                f"window {v.window_end_s - v.window_start_s} s < duration {v.duration_s} s",
            )
        elif not compatible[i].any():
            need = ", ".join(sorted(v.skills)) or "none"
            reasons[i] = Unserved(
                i,
                UnservedReason.NO_ELIGIBLE_CARER,
                f"skills [{need}], gender {v.gender or 'any'}, provider rights",
            )
        elif not feasible[i].any():
            reasons[i] = Unserved(
                i,
                UnservedReason.NO_CARER_IN_SHIFT,
                f"{int(compatible[i].sum())} eligible carers, none can reach it within shift",
            )

    ls = latest_starts(problem)
    for a, b in problem.sync_pairs:
        a, b = int(a), int(b)
        va, vb = problem.visits[a], problem.visits[b]
        if reasons[a] or reasons[b]:
            for x, y in ((a, b), (b, a)):
                if reasons[x] is None:
                    reasons[x] = Unserved(
                        x, UnservedReason.PARTNER_UNSERVED, f"other half is visit {y}"
                    )
            continue
        either = feasible[a] | feasible[b]
        if int(either.sum()) < 2:
            for x in (a, b):
                reasons[x] = Unserved(
                    x,
                    UnservedReason.DOUBLE_UP_ONE_CARER,
                    f"only carer {int(np.flatnonzero(either)[0])} can serve visits {a} and {b}",
                )
            continue
        lo = vb.window_start_s - int(ls[a])
        hi = int(ls[b]) - va.window_start_s
        if max(lo, va.sync_min_gap_s) > min(hi, va.sync_max_gap_s):
            for x in (a, b):
                reasons[x] = Unserved(
                    x,
                    UnservedReason.SYNC_BAND_INFEASIBLE,
                    f"start gap can be {lo}..{hi} s, band is "
                    f"{va.sync_min_gap_s}..{va.sync_max_gap_s} s",
                )
    for i, r in enumerate(reasons):
        if r is not None:
            feasible[i] = False
    return reasons, feasible
