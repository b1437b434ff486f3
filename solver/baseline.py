"""Cost a given set of rounds: today's baseline, or any proposal, by the same rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from solver._precheck import precheck
from solver.errors import InvalidRoundsError
from solver.problem import Problem
from solver.solution import RoundCost, Route, Solution, SolveStats, Unserved, UnservedReason


def today_rounds(problem: Problem) -> tuple[tuple[int, ...], ...]:
    """Today's rounds from the visits' ``carer`` fields, each in window-start order.

    ECM exports give check-in order; an app that has it should pass those rounds instead.
    """
    rounds: list[list[int]] = [[] for _ in problem.carers]
    for i, v in enumerate(problem.visits):
        if v.carer >= 0:
            rounds[v.carer].append(i)
    visits = problem.visits
    return tuple(
        tuple(sorted(r, key=lambda i: (visits[i].window_start_s, visits[i].window_end_s, i)))
        for r in rounds
    )


def just_in_time_departures(
    problem: Problem, rounds: Sequence[Sequence[int]], start_s: Mapping[int, int]
) -> list[int]:
    """Each carer's departure that reaches their first call just as it starts (an idle
    carer's: the start of their shift)."""
    out = []
    for carer, seq in zip(problem.carers, rounds, strict=True):
        if not seq:
            out.append(carer.shift_start_s)
            continue
        first = problem.visits[seq[0]]
        drive_s = problem.travel_s[carer.travel_mode][carer.start_location, first.location]
        out.append(int(start_s[seq[0]]) - int(drive_s))
    return out


def round_stops(problem: Problem, k: int, seq: Sequence[int]) -> list[int]:
    """Locations carer ``k`` passes on a round: home, each call of ``seq``, home."""
    carer = problem.carers[k]
    return [carer.start_location, *(problem.visits[i].location for i in seq), carer.end_location]


def _schedule(problem: Problem, k: int, seq: Sequence[int]) -> tuple[list[int], int]:
    """Start times for a sequence: as early as possible, then leave home as late as helps.

    Delaying departure by D cuts waiting by min(D, total waiting) and never adds lateness
    while D stays within the forward slack.
    """
    carer = problem.carers[k]
    travel = problem.travel_s[carer.travel_mode]
    t = carer.shift_start_s
    here = carer.start_location
    starts, waits, slack = [], 0, []
    for i in seq:
        v = problem.visits[i]
        arrive = t + int(travel[here, v.location])
        start = max(arrive, v.window_start_s)
        waits += start - arrive
        slack.append(waits + max(0, v.latest_start_s - start))
        starts.append(start)
        t, here = start + v.duration_s, v.location
    delay = min([waits, *slack]) if seq else 0
    if delay <= 0:
        return starts, carer.shift_start_s
    depart = carer.shift_start_s + delay
    t, here, out = depart, carer.start_location, []
    for i in seq:
        v = problem.visits[i]
        start = max(t + int(travel[here, v.location]), v.window_start_s)
        out.append(start)
        t, here = start + v.duration_s, v.location
    return out, depart


def _left_out(
    problem: Problem, rounds: Sequence[Sequence[int]], unserved: Sequence[Unserved]
) -> list[Unserved]:
    """One reason per call in no round: the one given, else the pre-check's, else not scheduled.

    Raises
    ------
    InvalidRoundsError
        If a given reason names an unknown visit or a visit that is in a round.
    """
    n = problem.num_visits
    carer_of = np.full(n, -1, dtype=np.int64)
    for k, seq in enumerate(rounds):
        carer_of[[int(i) for i in seq]] = k
    given: dict[int, Unserved] = {}
    for u in unserved:
        if not 0 <= u.visit < n:
            raise InvalidRoundsError(
                f"Unserved reason given for visit {u.visit}, which does not exist."
            )
        if carer_of[u.visit] >= 0:
            raise InvalidRoundsError(
                f"Unserved reason given for visit {u.visit}, which is in carer "
                f"{carer_of[u.visit]}'s round; a call is either routed or unserved."
            )
        given[u.visit] = u
    missing = [j for j in np.flatnonzero(carer_of < 0).tolist() if j not in given]
    # The pre-check costs a pass over the day; skip it when every left-out call has a reason.
    reasons = precheck(problem)[0] if missing else []
    filled = {j: reasons[j] or Unserved(j, UnservedReason.NOT_SCHEDULED) for j in missing}
    return [*given.values(), *filled.values()]


def evaluate_rounds(
    problem: Problem,
    rounds: Sequence[Sequence[int]],
    *,
    start_s: Mapping[int, int] | None = None,
    depart_s: Sequence[int] | None = None,
    unserved: Sequence[Unserved] = (),
    stats: SolveStats | None = None,
) -> Solution:
    """Cost rounds: travel, waiting, contact, lateness and utilisation, per carer and in total.

    Parameters
    ----------
    problem
        The planning day.
    rounds
        One sequence of visit indices per carer, in service order; each visit at most once.
    start_s
        Optional start of service per visit (e.g. the solver's schedule). Missing visits
        start as early as possible; a start before the carer can arrive is moved to arrival.
        Without it each round starts as early as it can and leaves home as late as helps.
    depart_s
        Optional departure time per carer (with ``start_s``).
    unserved
        Reasons for calls left out of every round (the last one given for a call stands);
        other left-out calls get the pre-check reason or ``NOT_SCHEDULED``. A reason for a
        call that is in a round is a caller bug and is refused, not dropped.
    stats
        Search statistics to attach.

    Returns
    -------
    Solution
        Routes, unserved calls and every figure recomputed from the rounds.

    Raises
    ------
    InvalidRoundsError
        If the number of rounds differs from the number of carers, a visit is unknown
        or appears twice, or ``unserved`` names an unknown visit or one that is in a round.
    """
    n, m = problem.num_visits, problem.num_carers
    if len(rounds) != m:
        raise InvalidRoundsError(f"Expected {m} rounds (one per carer), got {len(rounds)}.")
    seen = np.zeros(n, dtype=bool)
    for k, seq in enumerate(rounds):
        for i in seq:
            if not 0 <= i < n:
                raise InvalidRoundsError(f"Carer {k}: visit {i} does not exist.")
            if seen[i]:
                raise InvalidRoundsError(f"Carer {k}: visit {i} appears in more than one place.")
            seen[i] = True
    left_out = _left_out(problem, rounds, unserved)

    obj, policy = problem.objective, problem.policy
    routes, costs = [], []
    for k, seq in enumerate(rounds):
        carer = problem.carers[k]
        travel = problem.travel_s[carer.travel_mode]
        dist = None if problem.distance_m is None else problem.distance_m[carer.travel_mode]
        seq = [int(i) for i in seq]
        if start_s is None:
            starts, depart = _schedule(problem, k, seq)
        else:
            depart = carer.shift_start_s if depart_s is None else int(depart_s[k])
            starts, t, here = [], depart, carer.start_location
            for i in seq:
                v = problem.visits[i]
                arrive = t + int(travel[here, v.location])
                start = max(arrive, v.window_start_s, int(start_s.get(i, arrive)))
                starts.append(start)
                t, here = start + v.duration_s, v.location
        stops = round_stops(problem, k, seq)
        legs = travel[stops[:-1], stops[1:]] if seq else np.zeros(0, dtype=np.int64)
        travel_s = int(legs.sum())
        distance = 0 if dist is None or not seq else int(dist[stops[:-1], stops[1:]].sum())
        contact = sum(problem.visits[i].duration_s for i in seq)
        late = [
            max(0, s - problem.visits[i].latest_start_s) for i, s in zip(seq, starts, strict=True)
        ]
        last = problem.visits[seq[-1]].duration_s + int(legs[-1]) if seq else 0
        back = starts[-1] + last if seq else depart
        span = back - depart
        changes = sum(1 for i in seq if 0 <= problem.visits[i].carer != k)
        routes.append(Route(k, tuple(seq), tuple(starts), depart, back))
        costs.append(
            RoundCost(
                carer=k,
                visits=len(seq),
                travel_s=travel_s,
                distance_m=distance,
                waiting_s=span - travel_s - contact,
                contact_s=contact,
                lateness_s=sum(late),
                max_lateness_s=max(late, default=0),
                span_s=span,
                carer_changes=changes,
                load_units=sum(problem.visits[i].load_units for i in seq),
            )
        )

    total = RoundCost(
        carer=-1,
        visits=sum(c.visits for c in costs),
        travel_s=sum(c.travel_s for c in costs),
        distance_m=sum(c.distance_m for c in costs),
        waiting_s=sum(c.waiting_s for c in costs),
        contact_s=sum(c.contact_s for c in costs),
        lateness_s=sum(c.lateness_s for c in costs),
        max_lateness_s=max((c.max_lateness_s for c in costs), default=0),
        span_s=sum(c.span_s for c in costs),
        carer_changes=sum(c.carer_changes for c in costs),
        load_units=sum(c.load_units for c in costs),
    )

    routes_t = tuple(routes)
    sol_carer = np.full(n, -1, dtype=np.int64)
    sol_start = np.full(n, -1, dtype=np.int64)
    for r in routes_t:
        sol_carer[list(r.visits)] = r.carer
        sol_start[list(r.visits)] = r.start_s
    provider_of = np.array([c.provider for c in problem.carers] + [-1], dtype=np.int64)
    moved_users: set[int] = set()
    for i, v in enumerate(problem.visits):
        if sol_carer[i] >= 0 and v.provider >= 0 and provider_of[sol_carer[i]] != v.provider:
            moved_users.add(v.service_user if v.service_user >= 0 else -1 - i)
    violations = 0
    for a, b in problem.sync_pairs:
        ca, cb = sol_carer[a], sol_carer[b]
        if (ca < 0) != (cb < 0):
            violations += 1
        elif ca >= 0:
            gap = sol_start[b] - sol_start[a]
            band = problem.visits[a]
            if ca == cb or not band.sync_min_gap_s <= gap <= band.sync_max_gap_s:
                violations += 1

    cost = (
        obj.travel_weight * total.travel_s
        + obj.waiting_weight * total.waiting_s
        + obj.lateness_weight * total.lateness_s
        + obj.max_lateness_weight * total.max_lateness_s
        + obj.unserved_penalty * len(left_out)
        + policy.carer_change_penalty * total.carer_changes
    )
    return Solution(
        routes=routes_t,
        unserved=tuple(sorted(left_out, key=lambda u: u.visit)),
        costs=tuple(costs),
        total=total,
        cost=int(cost),
        provider_changes=len(moved_users),
        sync_violations=violations,
        stats=stats or SolveStats(),
    )
