"""Hand whole rounds to other carers: one assignment of rounds to carers at least cost.

On a county day most travel is the drive from a carer's home to the first call and back
from the last (281 of 448 hours on the county benchmark at 120 s), and a region's search
can only trade calls between carers whose rounds lie near each other. This move keeps
every round's calls and start times and gives each round to the carer who drives there
and back cheapest, over the whole day at once (a linear assignment, scipy's
``linear_sum_assignment``). The same start times keep double-ups together, and two
rounds never go to one carer, so the two halves stay on two carers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from solver.problem import BoolArray, Problem


def _cost_matrix(
    problem: Problem,
    rounds: Sequence[Sequence[int]],
    busy: Sequence[int],
    start_s: Mapping[int, int],
    feasible: BoolArray,
) -> tuple[np.ndarray, np.ndarray]:
    """Cost of each carer (rows) taking the round of each carer in ``busy`` (columns), and
    the carers' drive to each round's first call (the same shape); cost is infinite where
    they cannot.

    A carer can take a round when every call is feasible for them (``feasible``), the
    round's load fits, they reach the first call by its start from the start of their
    shift, get home by the shift's end, stay inside their working-hours cap, and the
    round's start times hold at their travel mode's speeds. The cost is the objective's:
    travel (home legs and the legs between calls at their mode), plus the carer-change
    penalty for each call whose carer today is someone else.
    """
    visits, carers = problem.visits, problem.carers
    objective, policy = problem.objective, problem.policy
    loc = np.array([v.location for v in visits], dtype=np.int64)
    duration = np.array([v.duration_s for v in visits], dtype=np.int64)
    load = np.array([v.load_units for v in visits], dtype=np.int64)
    today = np.array([v.carer for v in visits], dtype=np.int64)
    mode = np.array([c.travel_mode for c in carers], dtype=np.int64)
    home = np.array([c.start_location for c in carers], dtype=np.int64)
    end = np.array([c.end_location for c in carers], dtype=np.int64)
    shift_start = np.array([c.shift_start_s for c in carers], dtype=np.int64)
    shift_end = np.array([c.shift_end_s for c in carers], dtype=np.int64)
    work_cap = np.array([c.work_cap_s for c in carers], dtype=np.int64)
    no_cap = np.iinfo(np.int64).max
    capacity = np.array(
        [no_cap if c.capacity_units is None else c.capacity_units for c in carers], dtype=np.int64
    )
    cost = np.full((len(carers), len(busy)), np.inf)
    drive_in = np.zeros((len(carers), len(busy)), dtype=np.int64)
    for j, k in enumerate(busy):
        if any(int(i) not in start_s for i in rounds[k]):
            continue  # no schedule to keep: the round stays where it is
        seq = np.array(rounds[k], dtype=np.int64)
        starts = np.array([start_s[int(i)] for i in seq], dtype=np.int64)
        ends = starts + duration[seq]
        ok = feasible[seq].all(axis=0) & (load[seq].sum() <= capacity)
        back_from = ends[-1]
        changes = seq.size - np.bincount(today[seq][today[seq] >= 0], minlength=len(carers))
        for m, travel in enumerate(problem.travel_s):
            legs = travel[loc[seq[:-1]], loc[seq[1:]]]
            if np.any(ends[:-1] + legs > starts[1:]):
                continue
            ks = np.flatnonzero(ok & (mode == m))
            go = travel[home[ks], loc[seq[0]]]
            back = travel[loc[seq[-1]], end[ks]]
            fits = (shift_start[ks] + go <= starts[0]) & (back_from + back <= shift_end[ks])
            fits &= back_from + back - (starts[0] - go) <= work_cap[ks]
            ks, go, back = ks[fits], go[fits], back[fits]
            cost[ks, j] = objective.travel_weight * (go + back + int(legs.sum())) + (
                policy.carer_change_penalty * changes[ks]
            )
            drive_in[ks, j] = go
    return cost, drive_in


def reassign_rounds(
    problem: Problem,
    rounds: Sequence[Sequence[int]],
    start_s: Mapping[int, int],
    depart_s: Sequence[int],
    feasible: BoolArray,
) -> tuple[list[tuple[int, ...]], list[int]] | None:
    """Rounds handed to the carers who drive them cheapest, and each carer's departure.

    Parameters
    ----------
    problem
        The planning day.
    rounds
        One sequence of visit indices per carer, a feasible answer.
    start_s
        Start of every call in ``rounds``; kept as it is.
    depart_s
        Each carer's departure now (kept for a round that stays put unmodelled).
    feasible
        Boolean (n_visits, n_carers) of carers who could serve each call on their own.

    Returns
    -------
    The new rounds (one per carer) and departures (each carer leaves home just in time
    for their first call; an idle carer at the start of their shift), or ``None`` when no
    round changes hands. A carer keeps their own round where another costs the same.
    """
    busy = [k for k, seq in enumerate(rounds) if seq]
    if not busy:
        return None
    cost, drive_in = _cost_matrix(problem, rounds, busy, start_s, feasible)
    # Doubled, less one on each round's own carer: ties go to the carer who has it.
    own = (np.array(busy), np.arange(len(busy)))
    # A round its own carer fails these checks on (a schedule this move does not model)
    # stays where it is, as it is.
    stuck = set(np.flatnonzero(np.isinf(cost[own])).tolist())
    for j in stuck:
        cost[:, j] = np.inf
        cost[busy[j], j] = 0
    cost *= 2
    cost[own] -= 1
    idle = np.zeros((problem.num_carers, problem.num_carers - len(busy)))
    carer_of, column = linear_sum_assignment(np.hstack([cost, idle]))
    new: list[tuple[int, ...]] = [() for _ in problem.carers]
    depart = [c.shift_start_s for c in problem.carers]
    moved = False
    for k, j in zip(carer_of.tolist(), column.tolist(), strict=True):
        if j >= len(busy):
            continue
        new[k] = tuple(rounds[busy[j]])
        moved |= k != busy[j]
        kept = j in stuck
        depart[k] = int(depart_s[k]) if kept else start_s[new[k][0]] - int(drive_in[k, j])
    return (new, depart) if moved else None
