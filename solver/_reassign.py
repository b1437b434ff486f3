"""Hand whole rounds, or halves of rounds, to other carers: one assignment at least cost.

On a county day most travel is the drive from a carer's home to the first call and back
from the last (281 of 448 hours on the county benchmark at 120 s), and a region's search
can only trade calls between carers whose rounds lie near each other. These moves keep
every call's start time and give each round (``reassign_rounds``), or each morning or
evening half of a round with a long idle gap (``reassign_halves``), to the carer who
drives it cheapest, over the whole day at once (a linear assignment, scipy's
``linear_sum_assignment``). The same start times keep double-ups together, and two pieces
never go to one carer, so the two halves of a double-up stay on two carers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from solver.baseline import just_in_time_departures
from solver.problem import BoolArray, IntArray, Problem

HALF_ROUND_GAP_S = 1800
"""A round splits into halves at its longest idle gap when that gap is at least this long."""

_KEPT_BY_NONE = -1
_NEVER_SPLIT = np.iinfo(np.int64).max
"""A gap no round has: every round moves whole."""


@dataclass(frozen=True)
class _Day:
    """Per-call and per-carer arrays the cost of a hand-over needs."""

    loc: IntArray
    duration: IntArray
    load: IntArray
    today: IntArray
    mode: IntArray
    home: IntArray
    end: IntArray
    shift_start: IntArray
    shift_end: IntArray
    work_cap: IntArray
    capacity: IntArray

    @classmethod
    def of(cls, problem: Problem) -> _Day:
        visits, carers = problem.visits, problem.carers
        no_cap = np.iinfo(np.int64).max // 4

        def ints(values: object) -> IntArray:
            return np.array(values, dtype=np.int64)

        return cls(
            loc=ints([v.location for v in visits]),
            duration=ints([v.duration_s for v in visits]),
            load=ints([v.load_units for v in visits]),
            today=ints([v.carer for v in visits]),
            mode=ints([c.travel_mode for c in carers]),
            home=ints([c.start_location for c in carers]),
            end=ints([c.end_location for c in carers]),
            shift_start=ints([c.shift_start_s for c in carers]),
            shift_end=ints([c.shift_end_s for c in carers]),
            work_cap=ints([c.work_cap_s for c in carers]),
            capacity=ints(
                [no_cap if c.capacity_units is None else c.capacity_units for c in carers]
            ),
        )


@dataclass(frozen=True)
class _Stretch:
    """Calls in order with their first start, last end, load and place at either end;
    an empty stretch has ``first == -1``."""

    calls: tuple[int, ...]
    first: int
    last: int
    begin_s: int
    end_s: int
    load: int

    @classmethod
    def of(cls, day: _Day, calls: Sequence[int], start_s: Mapping[int, int]) -> _Stretch:
        if not calls:
            return cls((), -1, -1, 0, 0, 0)
        a, b = int(calls[0]), int(calls[-1])
        return cls(
            tuple(int(i) for i in calls),
            int(day.loc[a]),
            int(day.loc[b]),
            int(start_s[a]),
            int(start_s[b] + day.duration[b]),
            int(day.load[list(calls)].sum()),
        )


def _piece_matrices(
    problem: Problem,
    day: _Day,
    pieces: Sequence[_Stretch],
    kept: Sequence[_Stretch],
    start_s: Mapping[int, int],
    feasible: BoolArray,
    *,
    before_kept: bool,
    skip: set[int],
) -> tuple[np.ndarray, np.ndarray]:
    """Cost of each carer (rows) taking each piece (columns) beside the stretch they keep,
    and the cost of each carer keeping their stretch alone.

    A carer can take a piece when every call is feasible for them (``feasible``), the load
    fits, the piece's start times hold at their travel mode's speed, the piece ends in
    time to reach the kept stretch (``before_kept``) or starts after it, they leave home
    inside their shift and get back before it ends, and the whole round fits their
    working-hours cap. The cost is the objective's: travel (home legs, the piece's legs,
    the link to the kept stretch, the kept stretch's legs), the waiting in the gap between
    piece and kept stretch, and the carer-change penalty for each of the piece's calls
    whose carer today is someone else. Infinite where they cannot, and for the pieces in
    ``skip``.
    """
    m, n = problem.num_carers, len(pieces)
    objective = problem.objective
    has_kept = np.array([s.first >= 0 for s in kept])
    k_first = np.array([max(s.first, 0) for s in kept], dtype=np.int64)
    k_last = np.array([max(s.last, 0) for s in kept], dtype=np.int64)
    k_begin = np.array([s.begin_s for s in kept], dtype=np.int64)
    k_end = np.array([s.end_s for s in kept], dtype=np.int64)
    k_load = np.array([s.load for s in kept], dtype=np.int64)
    p_first = np.array([s.first for s in pieces], dtype=np.int64)
    p_last = np.array([s.last for s in pieces], dtype=np.int64)
    p_begin = np.array([s.begin_s for s in pieces], dtype=np.int64)
    p_end = np.array([s.end_s for s in pieces], dtype=np.int64)
    p_load = np.array([s.load for s in pieces], dtype=np.int64)

    keeper = np.full(problem.num_visits, _KEPT_BY_NONE, dtype=np.int64)
    for k, s in enumerate(kept):
        keeper[list(s.calls)] = k
    # Every piece's calls end to end, each with its piece; pieces in ``skip`` are kept
    # with their carer by the caller (e.g. no start times) and left out.
    live = np.array([j for j in range(n) if j not in skip], dtype=np.int64)
    sizes = np.array([len(pieces[j].calls) for j in live.tolist()], dtype=np.int64)
    calls = np.array([i for j in live.tolist() for i in pieces[j].calls], dtype=np.int64)
    piece = np.repeat(live, sizes)
    allowed = np.zeros((m, n), dtype=bool)
    if live.size:
        first_call = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        allowed[:, live] = np.logical_and.reduceat(feasible[calls], first_call, axis=0).T
    # The other half of a double-up kept by a carer: they cannot also take this half.
    other = problem.partner[calls]
    holder = np.where(other >= 0, keeper[np.maximum(other, 0)], _KEPT_BY_NONE)
    by_holder = holder >= 0
    allowed[holder[by_holder], piece[by_holder]] = False
    today = day.today[calls]
    known = today >= 0
    theirs = np.bincount(today[known] * n + piece[known], minlength=m * n).reshape(m, n)
    changes = np.bincount(piece, minlength=n)[None, :] - theirs
    starts = np.array([start_s[int(i)] for i in calls], dtype=np.int64)
    ends = starts + day.duration[calls]
    # Legs inside each piece at each travel mode, or -1 where its start times do not hold.
    inner = np.full((len(problem.travel_s), n), -1, dtype=np.int64)
    for mode, travel in enumerate(problem.travel_s):
        legs, late = _legs_within(travel, day.loc[calls], piece, n, starts=starts, ends=ends)
        inner[mode, live] = np.where(late[live], -1, legs[live])

    kept_calls = np.array([i for s in kept for i in s.calls], dtype=np.int64)
    kept_by = np.repeat(np.arange(m), [len(s.calls) for s in kept])
    cost = np.full((m, n), np.inf)
    alone = np.zeros(m)
    for mode, travel in enumerate(problem.travel_s):
        ks = np.flatnonzero(day.mode == mode)
        if ks.size == 0:
            continue
        all_kept_legs, _ = _legs_within(travel, day.loc[kept_calls], kept_by, m)
        home, end = day.home[ks, None], day.end[ks, None]
        kept_here = has_kept[ks, None]
        first, last = k_first[ks, None], k_last[ks, None]
        begin, finish = k_begin[ks, None], k_end[ks, None]
        kept_legs = all_kept_legs[ks, None]
        if before_kept:  # home, piece, kept stretch, home
            go = travel[home, p_first[None, :]]
            link = np.where(kept_here, travel[p_last[None, :], first], 0)
            gap = np.where(kept_here, begin - p_end[None, :], 0)
            back = np.where(kept_here, travel[last, end], travel[p_last[None, :], end])
            leave = p_begin[None, :] - go
            home_at = np.where(kept_here, finish, p_end[None, :]) + back
        else:  # home, kept stretch, piece, home
            go = np.where(kept_here, travel[home, first], travel[home, p_first[None, :]])
            link = np.where(kept_here, travel[last, p_first[None, :]], 0)
            gap = np.where(kept_here, p_begin[None, :] - finish, 0)
            back = travel[p_last[None, :], end]
            leave = np.where(kept_here, begin, p_begin[None, :]) - go
            home_at = p_end[None, :] + back
        fits = allowed[ks] & (inner[mode][None, :] >= 0) & (link <= gap)
        fits &= leave >= day.shift_start[ks, None]
        fits &= home_at <= day.shift_end[ks, None]
        fits &= home_at - leave <= day.work_cap[ks, None]
        fits &= p_load[None, :] + k_load[ks, None] <= day.capacity[ks, None]
        travel_s = go + link + back + inner[mode][None, :] + kept_legs
        priced = (
            objective.travel_weight * travel_s
            + objective.waiting_weight * (gap - link)
            + problem.policy.carer_change_penalty * changes[ks]
        )
        cost[ks] = np.where(fits, priced, np.inf)
        solo = travel[day.home[ks], k_first[ks]] + travel[k_last[ks], day.end[ks]]
        alone[ks] = np.where(has_kept[ks], objective.travel_weight * (solo + kept_legs[:, 0]), 0)
    return cost, alone


def _legs_within(
    travel: np.ndarray,
    loc: IntArray,
    group: IntArray,
    n_groups: int,
    *,
    starts: IntArray | None = None,
    ends: IntArray | None = None,
) -> tuple[IntArray, np.ndarray]:
    """Travel between consecutive calls of each group (calls at ``loc`` in order, each
    group's calls together), and whether a leg reaches a call after its start (with
    ``starts`` and ``ends`` of every call; else never)."""
    inside = group[1:] == group[:-1]
    legs = travel[loc[:-1], loc[1:]][inside]
    of = group[:-1][inside]
    total = np.bincount(of, weights=legs, minlength=n_groups).round().astype(np.int64)
    late = np.zeros(n_groups, dtype=bool)
    if starts is not None and ends is not None:
        late[of[ends[:-1][inside] + legs > starts[1:][inside]]] = True
    return total, late


def _hand_pieces(
    problem: Problem,
    day: _Day,
    pieces: Sequence[_Stretch],
    owner: Sequence[int],
    kept: Sequence[_Stretch],
    start_s: Mapping[int, int],
    depart_s: Sequence[int],
    feasible: BoolArray,
    *,
    before_kept: bool,
    stuck: set[int],
) -> tuple[list[tuple[int, ...]], list[int]] | None:
    """Each piece given to one carer at least total cost, each carer keeping their kept
    stretch; the new rounds and departures, or None when no piece changes hands.

    A piece in ``stuck``, or one whose own carer fails the checks (a schedule this move
    does not model), stays with its carer, as does that carer's departure.
    """
    n = len(pieces)
    cost, alone = _piece_matrices(
        problem, day, pieces, kept, start_s, feasible, before_kept=before_kept, skip=stuck
    )
    own = (np.array(owner, dtype=np.int64), np.arange(n))
    stuck = stuck | set(np.flatnonzero(np.isinf(cost[own])).tolist())
    for j in stuck:
        cost[:, j] = np.inf
        cost[owner[j], j] = alone[owner[j]]
    # Pieces (rows) to carers (columns), priced beyond what each carer's kept stretch costs
    # alone; doubled, less one on each piece's own carer, so ties keep today's hands.
    extra = 2 * (cost - alone[:, None])
    extra[own] -= 1
    piece_of, carer_of = linear_sum_assignment(np.where(np.isinf(extra), 1e18, extra).T)
    if np.any(np.isinf(cost[carer_of, piece_of])):
        return None  # no assignment without an impossible hand-over: keep the day as it is
    if all(carer_of[j] == owner[j] for j in piece_of.tolist()):
        return None
    rounds = [s.calls for s in kept]
    for j, k in zip(piece_of.tolist(), carer_of.tolist(), strict=True):
        calls = pieces[j].calls
        rounds[k] = calls + rounds[k] if before_kept else rounds[k] + calls
    held = {owner[j] for j in stuck}  # their rounds and departures stay as they were
    timed = [() if k in held else seq for k, seq in enumerate(rounds)]
    depart = just_in_time_departures(problem, timed, start_s)
    for k in held:
        depart[k] = int(depart_s[k])
    return rounds, depart


def _schedulable(rounds: Sequence[Sequence[int]], start_s: Mapping[int, int]) -> list[bool]:
    """Whether every call of each round has a start time (else the round stays put)."""
    return [all(int(i) in start_s for i in seq) for seq in rounds]


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
    return reassign_halves(
        problem, rounds, start_s, depart_s, feasible, morning=True, min_gap_s=_NEVER_SPLIT
    )


def reassign_halves(
    problem: Problem,
    rounds: Sequence[Sequence[int]],
    start_s: Mapping[int, int],
    depart_s: Sequence[int],
    feasible: BoolArray,
    *,
    morning: bool,
    min_gap_s: int = HALF_ROUND_GAP_S,
) -> tuple[list[tuple[int, ...]], list[int]] | None:
    """First (``morning``) or second halves of rounds handed to the carers who drive them
    cheapest, each carer keeping their other half.

    A round splits at its longest idle gap between calls when that gap is at least
    ``min_gap_s``; a round without one moves whole. Arguments and result as for
    ``reassign_rounds``: start times are kept, and a carer keeps their own half where
    another costs the same.
    """
    day = _Day.of(problem)
    ok = _schedulable(rounds, start_s)
    pieces: list[_Stretch] = []
    owner: list[int] = []
    stuck: set[int] = set()
    kept = [_Stretch.of(day, (), start_s)] * problem.num_carers
    for k, seq in enumerate(rounds):
        if not seq:
            continue
        owner.append(k)
        if not ok[k]:
            stuck.add(len(pieces))
            pieces.append(_Stretch(tuple(seq), 0, 0, 0, 0, 0))
            continue
        cut = _split(day, seq, start_s, min_gap_s)
        piece, rest = (seq[:cut], seq[cut:]) if morning else (seq[cut:], seq[:cut])
        if not piece:  # no gap long enough: the whole round moves
            piece, rest = rest, ()
        pieces.append(_Stretch.of(day, piece, start_s))
        kept[k] = _Stretch.of(day, rest, start_s)
    if not pieces:
        return None
    return _hand_pieces(
        problem,
        day,
        pieces,
        owner,
        kept,
        start_s,
        depart_s,
        feasible,
        before_kept=morning,
        stuck=stuck,
    )


def _split(day: _Day, seq: Sequence[int], start_s: Mapping[int, int], min_gap_s: int) -> int:
    """Index of the first call after the round's longest idle gap, or ``len(seq)`` when no
    gap is at least ``min_gap_s``."""
    if len(seq) < 2:
        return len(seq)
    calls = np.array(seq, dtype=np.int64)
    starts = np.array([start_s[int(i)] for i in seq], dtype=np.int64)
    gaps = starts[1:] - (starts[:-1] + day.duration[calls[:-1]])
    g = int(np.argmax(gaps))
    return g + 1 if gaps[g] >= min_gap_s else len(seq)
