"""Cross-part repair: put calls the parts could not place into any carer's round that fits.

Decomposition confines a call to the carers of its part; a part short of carers leaves calls
out that a neighbouring part's round could take. After stitching, each pass prices every
left-out call in every gap of every round at once (``PlacementIndex``), then inserts the
cheapest ones, at most one per round per pass so the prices stay exact.
"""

from __future__ import annotations

import time

import numpy as np

from solver.baseline import evaluate_rounds
from solver.insertion import Placement, PlacementIndex
from solver.problem import BoolArray, Problem
from solver.solution import Solution


def repair(
    problem: Problem,
    solution: Solution,
    feasible: BoolArray,
    *,
    deadline: float,
    max_passes: int = 50,
) -> tuple[list[list[int]], dict[int, int], list[int]]:
    """Insert left-out single calls and double-ups where they fit, cheapest first.

    Returns the new rounds, start times and departure times (for ``evaluate_rounds``).
    ``feasible`` (visit × carer) carries skills, gender, provider rights and shift reach;
    the provider-change cap is not re-checked here, so callers with a cap skip repair.
    """
    rounds = [list(r.visits) for r in solution.routes]
    start_s = {i: s for r in solution.routes for i, s in zip(r.visits, r.start_s, strict=True)}
    depart_s = [r.depart_s for r in solution.routes]
    partner = problem.partner
    pending = {u.visit for u in solution.unserved if feasible[u.visit].any()}
    current = solution
    for _ in range(max_passes):
        if not pending or time.perf_counter() > deadline:
            break
        index = PlacementIndex(problem, current)
        offers: list[tuple[int, tuple[int, ...], Placement | tuple[int, int]]] = []
        for i in sorted(pending):
            if partner[i] >= 0:
                if partner[i] < i or partner[i] not in pending:
                    continue
                pair = [problem.visits[i], problem.visits[partner[i]]]
                ok_carers = np.flatnonzero(feasible[i] & feasible[partner[i]])
                for placement in index.place(pair):
                    if all(ins.carer in ok_carers for ins in placement.insertions):
                        offers.append((placement.added_travel_s, (i, int(partner[i])), placement))
                        break
                continue
            priced = index.price(problem.visits[i])
            ok = priced["ok"] & feasible[i][index.gap_carer]
            if not ok.any():
                continue
            g = int(np.flatnonzero(ok)[np.argmin(priced["added"][ok])])
            offers.append((int(priced["added"][g]), (i,), (g, int(priced["start"][g]))))
        if not offers:
            break
        offers.sort(key=lambda o: (o[0], o[1]))
        touched: set[int] = set()
        inserted = 0
        for _, calls, how in offers:
            if isinstance(how, tuple):
                g, start = how
                moves = [(int(index.gap_carer[g]), int(index.gap_pos[g]), calls[0], start)]
            else:
                moves = [
                    (ins.carer, ins.position, calls[ins.call], ins.start_s)
                    for ins in how.insertions
                ]
            if any(k in touched for k, _, _, _ in moves):
                continue
            for k, pos, i, start in moves:
                rounds[k].insert(pos, int(i))
                start_s[int(i)] = start
                touched.add(k)
                pending.discard(int(i))
                if pos == 0:
                    depart_s[k] = problem.carers[k].shift_start_s
            inserted += 1
        if not inserted:
            break
        current = evaluate_rounds(problem, rounds, start_s=start_s, depart_s=depart_s)
        # Keep the stored starts in step with the re-timed rounds.
        start_s = {i: s for r in current.routes for i, s in zip(r.visits, r.start_s, strict=True)}
        depart_s = [r.depart_s for r in current.routes]
    return rounds, start_s, depart_s
